/* SPDX-License-Identifier: Apache-2.0 */
/* bh-jwtmint DIR: writes DIR/jwks.json and prints an admin JWT (iss and
 * aud "bilheteria-bench", an hour to live, cognito:groups holding
 * bilheteria-admin) signed with its RSA key: for measuring JWT
 * authentication with the bench (tools/bench/compare auth). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "jwtmint.h"

int
main(int argc, char **argv)
{
    char path[4096], jwks[8192], claims[512];
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: bh-jwtmint DIR (writes DIR/jwks.json, prints a JWT)\n");
        return 2;
    }
    jwtmint_init();
    jwtmint_jwks("r1", jwks, sizeof(jwks));
    snprintf(path, sizeof(path), "%s/jwks.json", argv[1]);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(jwks, f) == EOF || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"bilheteria-bench\",\"aud\":\"bilheteria-bench\",\"sub\":\"bench\","
             "\"exp\":%lld,\"cognito:groups\":[\"bilheteria-admin\"]}",
             (long long)time(NULL) + 3600);
    char *jwt =
        jwtmint_sign("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"r1\"}", claims, JWTMINT_RSA);
    printf("%s\n", jwt);
    free(jwt);
    jwtmint_free();
    return 0;
}
