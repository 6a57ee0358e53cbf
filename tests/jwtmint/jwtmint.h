/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jwtmint: JWTs made by the tests, with keys made at start-up (mbedtls):
 * an RSA 2048 key, a second RSA key to forge signatures with, and an EC
 * P-256 key; and the JWKS that publishes the first and the EC one. For
 * the unit test of server/auth.c and the integration test of access
 * control. Any failure aborts the test process (a broken fixture, not a
 * verdict). Not thread-safe.
 */
#ifndef BH_JWTMINT_H
#define BH_JWTMINT_H

#include <stddef.h>

enum jwtmint_signer {
    JWTMINT_RSA,          /* RS256 with the published RSA key */
    JWTMINT_RSA_OTHER,    /* RS256 with an unpublished key: a bad signature */
    JWTMINT_EC,           /* ES256 with the published EC key */
    JWTMINT_NONE,         /* no signature (for alg "none") */
    JWTMINT_HS256_PUBKEY, /* HMAC-SHA256 keyed with the RSA public key's PEM */
};

/* Makes the keys. Call once before anything else. */
void jwtmint_init(void);
/* Frees the keys. */
void jwtmint_free(void);

/* The SHA-256 of s in lower-case hex: an auth file's hash of a token. */
void jwtmint_sha256_hex(const char *s, char out[65]);

/* base64url without padding of p[0..n) into out (cap bytes). */
void jwtmint_b64url(const void *p, size_t n, char *out, size_t cap);

/* header.payload.signature of the JSON texts header and claims, signed by
 * who; caller frees with free(). */
char *jwtmint_sign(const char *header, const char *claims, enum jwtmint_signer who);

/* A JWKS document into out (cap bytes): the RSA key as kid rsa_kid (use
 * sig, alg RS256), the EC key as kid "e1", an HMAC key "h1" and the RSA
 * key again as an encryption key "enc1" (both to be skipped). */
void jwtmint_jwks(const char *rsa_kid, char *out, size_t cap);

#endif
