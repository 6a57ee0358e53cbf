/* SPDX-License-Identifier: Apache-2.0 */
/* A client program's token: from a flag, a file's first line, or the
 * environment (bh_token.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_token.h"
#include "bilheteria/wire.h"

/* Room for a token at the limit and some trailing blanks. */
#define BH__TOKEN_LINE (BH_AUTH_TOKEN_MAX + 64)

static int
bh__token_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* The first line of path, blanks stripped from its end, into *out. */
static int
bh__token_read(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t n;
    int whole, rc = -1;

    if (f == NULL) {
        snprintf(err, errlen, "--token-file %s: cannot open it: %s", path, strerror(errno));
        return -1;
    }
    if ((line = malloc(BH__TOKEN_LINE)) == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = -2;
        goto out;
    }
    if (fgets(line, BH__TOKEN_LINE, f) == NULL) {
        if (ferror(f))
            snprintf(err, errlen, "--token-file %s: cannot read it: %s", path, strerror(errno));
        else
            snprintf(err, errlen, "--token-file %s: the file is empty", path);
        goto out;
    }
    n = strlen(line);
    whole = (n > 0 && line[n - 1] == '\n') || feof(f);
    while (n > 0 && bh__token_blank(line[n - 1]))
        line[--n] = '\0';
    if (!whole || n > BH_AUTH_TOKEN_MAX) {
        snprintf(err, errlen, "--token-file %s: the token is longer than %d bytes", path,
                 BH_AUTH_TOKEN_MAX);
        goto out;
    }
    if (n == 0) {
        snprintf(err, errlen, "--token-file %s: its first line is empty", path);
        goto out;
    }
    *out = line;
    line = NULL;
    rc = 0;
out:
    free(line);
    fclose(f);
    return rc;
}

/* A copy of a token given as is, checked by length; what names its source. */
static int
bh__token_copy(const char *token, const char *what, char **out, char *err, size_t errlen)
{
    size_t n = strlen(token);

    if (n == 0) {
        snprintf(err, errlen, "%s: the token is empty", what);
        return -1;
    }
    if (n > BH_AUTH_TOKEN_MAX) {
        snprintf(err, errlen, "%s: the token is %zu bytes; the limit is %d", what, n,
                 BH_AUTH_TOKEN_MAX);
        return -1;
    }
    if ((*out = malloc(n + 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -2;
    }
    memcpy(*out, token, n + 1);
    return 0;
}

int
bh__token_pick(const char *token, const char *file, const char *env_name, char **out, char *err,
               size_t errlen)
{
    const char *env = env_name != NULL ? getenv(env_name) : NULL;
    char *tok = NULL;
    char what[64];
    int rc = 0;

    if (token != NULL && file != NULL) {
        snprintf(err, errlen, "--token and --token-file exclude each other; give one");
        return -1;
    }
    if (file != NULL) {
        rc = bh__token_read(file, &tok, err, errlen);
    } else if (token != NULL) {
        rc = bh__token_copy(token, "--token", &tok, err, errlen);
    } else if (env != NULL && *env != '\0') {
        snprintf(what, sizeof(what), "$%s", env_name);
        rc = bh__token_copy(env, what, &tok, err, errlen);
    }
    if (rc == 0)
        *out = tok;
    return rc;
}
