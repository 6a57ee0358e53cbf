/* SPDX-License-Identifier: Apache-2.0 */
/* JWTs and a JWKS for the tests, with mbedtls. See jwtmint.h. */
#include "jwtmint.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static mbedtls_rsa_context rsa, rsa_other;
static mbedtls_ecdsa_context ec;

/* A fixture that cannot be made ends the test run. */
#define MUST(x)                                                                                    \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "jwtmint: %s:%d: %s failed\n", __FILE__, __LINE__, #x);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

void
jwtmint_init(void)
{
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V15, 0);
    mbedtls_rsa_init(&rsa_other, MBEDTLS_RSA_PKCS_V15, 0);
    mbedtls_ecdsa_init(&ec);
    MUST(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) == 0);
    MUST(mbedtls_rsa_gen_key(&rsa, mbedtls_ctr_drbg_random, &drbg, 2048, 65537) == 0);
    MUST(mbedtls_rsa_gen_key(&rsa_other, mbedtls_ctr_drbg_random, &drbg, 2048, 65537) == 0);
    MUST(mbedtls_ecdsa_genkey(&ec, MBEDTLS_ECP_DP_SECP256R1, mbedtls_ctr_drbg_random, &drbg) == 0);
}

void
jwtmint_free(void)
{
    mbedtls_rsa_free(&rsa);
    mbedtls_rsa_free(&rsa_other);
    mbedtls_ecdsa_free(&ec);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
}

void
jwtmint_sha256_hex(const char *s, char out[65])
{
    uint8_t d[32];
    mbedtls_sha256_ret((const uint8_t *)s, strlen(s), d, 0);
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

void
jwtmint_b64url(const void *p, size_t n, char *out, size_t cap)
{
    size_t olen;
    MUST(mbedtls_base64_encode((unsigned char *)out, cap, &olen, p, n) == 0);
    while (olen > 0 && out[olen - 1] == '=')
        olen--;
    out[olen] = 0;
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
}

char *
jwtmint_sign(const char *header, const char *claims, enum jwtmint_signer who)
{
    size_t cap = 4096 + 2 * strlen(claims);
    char *t = malloc(cap), sigb64[1024] = "";
    uint8_t hash[32], sig[512];
    size_t nsig = 0;
    MUST(t != NULL);
    jwtmint_b64url(header, strlen(header), t, cap);
    size_t n = strlen(t);
    t[n++] = '.';
    jwtmint_b64url(claims, strlen(claims), t + n, cap - n);
    mbedtls_sha256_ret((const uint8_t *)t, strlen(t), hash, 0);
    if (who == JWTMINT_RSA || who == JWTMINT_RSA_OTHER) {
        mbedtls_rsa_context *k = who == JWTMINT_RSA ? &rsa : &rsa_other;
        MUST(mbedtls_rsa_pkcs1_sign(k, mbedtls_ctr_drbg_random, &drbg, MBEDTLS_RSA_PRIVATE,
                                    MBEDTLS_MD_SHA256, 32, hash, sig) == 0);
        nsig = mbedtls_rsa_get_len(k);
    } else if (who == JWTMINT_EC) {
        mbedtls_mpi r, s;
        mbedtls_mpi_init(&r);
        mbedtls_mpi_init(&s);
        MUST(mbedtls_ecdsa_sign(&ec.grp, &r, &s, &ec.d, hash, 32, mbedtls_ctr_drbg_random, &drbg) ==
             0);
        MUST(mbedtls_mpi_write_binary(&r, sig, 32) == 0);
        MUST(mbedtls_mpi_write_binary(&s, sig + 32, 32) == 0);
        mbedtls_mpi_free(&r);
        mbedtls_mpi_free(&s);
        nsig = 64;
    } else if (who == JWTMINT_HS256_PUBKEY) {
        /* The algorithm confusion attack: HMAC keyed with the public key's
         * PEM, which a naive verifier would use as the HMAC secret. */
        mbedtls_pk_context pk;
        unsigned char pem[2048];
        mbedtls_pk_init(&pk);
        MUST(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) == 0);
        MUST(mbedtls_rsa_copy(mbedtls_pk_rsa(pk), &rsa) == 0);
        MUST(mbedtls_pk_write_pubkey_pem(&pk, pem, sizeof(pem)) == 0);
        MUST(mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), pem, strlen((char *)pem),
                             (const uint8_t *)t, strlen(t), sig) == 0);
        mbedtls_pk_free(&pk);
        nsig = 32;
    }
    if (nsig)
        jwtmint_b64url(sig, nsig, sigb64, sizeof(sigb64));
    n = strlen(t);
    snprintf(t + n, cap - n, ".%s", sigb64);
    return t;
}

void
jwtmint_jwks(const char *rsa_kid, char *out, size_t cap)
{
    uint8_t nb[256], eb[3], pt[65];
    char n64[400], e64[8], x64[64], y64[64];
    size_t olen;
    MUST(mbedtls_rsa_export_raw(&rsa, nb, sizeof(nb), NULL, 0, NULL, 0, NULL, 0, eb, sizeof(eb)) ==
         0);
    MUST(mbedtls_ecp_point_write_binary(&ec.grp, &ec.Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, pt,
                                        sizeof(pt)) == 0);
    jwtmint_b64url(nb, sizeof(nb), n64, sizeof(n64));
    jwtmint_b64url(eb, sizeof(eb), e64, sizeof(e64));
    jwtmint_b64url(pt + 1, 32, x64, sizeof(x64));
    jwtmint_b64url(pt + 33, 32, y64, sizeof(y64));
    int n =
        snprintf(out, cap,
                 "{\"keys\": [\n"
                 "  {\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"RS256\","
                 "\"n\":\"%s\",\"e\":\"%s\"},\n"
                 "  {\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},\n"
                 "  {\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"c2VjcmV0\"},\n"
                 "  {\"kty\":\"RSA\",\"kid\":\"enc1\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"%s\"}\n"
                 "]}\n",
                 rsa_kid, n64, e64, x64, y64, n64, e64);
    MUST(n > 0 && (size_t)n < cap);
}
