/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials: who is calling. Turns the envelope's auth_token into an
 * identity (role, idempotency scope, name, user id) from two sources:
 *
 *  - service tokens: an auth file, one credential a line,
 *      NAME ROLE SHA256_HEX
 *    (blank lines and lines starting with '#' are skipped). NAME is 1..64
 *    of [A-Za-z0-9._-]; ROLE is admin or service (customer comes only from
 *    JWTs); SHA256_HEX is the SHA-256 of the token's bytes, 64 hex digits.
 *    Only hashes are stored. A name or hash given twice is an error.
 *  - end-user JWTs from an OpenID Connect provider, verified against its
 *    JWKS document (RSA keys with n/e, EC P-256 keys with x/y; other keys,
 *    and keys whose "use" is not "sig", are skipped). RS256 and ES256 only:
 *    "none", HS* and everything else is refused before any key is touched.
 *    A token with a kid must name a key of the JWKS whose type fits its alg;
 *    a token without a kid is accepted only when the JWKS holds exactly one
 *    key for its alg. The claims exp (required), nbf (optional), iss (equal
 *    to the configured issuer) and aud (a string equal to the configured
 *    audience, or an array holding it) are checked with the leeway; sub is
 *    required.
 *
 * A token with a '.' is taken for a JWT, any other for a service token.
 * Tokens are never logged nor copied into a message; messages quote a claim
 * only after the signature is verified, and then only printable ASCII.
 *
 * Verified tokens are cached: JWTs until their exp plus the leeway, service
 * tokens until a reload. The cache keeps a copy of each token and finds it
 * by a SipHash-1-3 of the token under a random key drawn at open; a hit is
 * confirmed by comparing the whole token in constant time, so a hit costs
 * a short hash and a compare, no SHA-256 and no signature check. Refused
 * tokens are never cached. The cache is bounded (cache_max entries, the
 * oldest goes first, JWTs and service tokens alike) and emptied by a
 * reload: a token removed from the auth file or a key removed from the
 * JWKS stops working at once.
 *
 * Timing: a token not in the cache is hashed with SHA-256 and its digest is
 * compared with every stored digest in constant time, with no early exit,
 * so how long a check takes depends only on the number of service tokens,
 * never on how close a guess came. A cached token is compared whole, also
 * without an early exit, and only with entries whose keyed hash and length
 * equal its own: an attacker without the key cannot aim at an entry, and
 * learns at most a token's length.
 *
 * Thread-safety: srv_auth_check and srv_auth_stats may be called from any
 * thread at once, and concurrently with srv_auth_reload (the credential set
 * is swapped under a mutex and freed when the last check using it ends).
 * srv_auth_open and srv_auth_close must not race with anything.
 */
#ifndef BH_AUTH_H
#define BH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "bilheteria/wire.h"

enum srv_role {
    SRV_ROLE_ANONYMOUS = 0,
    SRV_ROLE_CUSTOMER,
    SRV_ROLE_SERVICE,
    SRV_ROLE_ADMIN,
};

/* "anonymous", "customer", "service", "admin"; "?" for a value not in the
 * enum. Static strings. */
const char *srv_role_name(enum srv_role r);
/* Parses one of the names above into *out (written only on success).
 * Returns 0, or -1 if s is NULL or not a role name. */
int srv_role_parse(const char *s, enum srv_role *out);

/* Sizes of srv_identity's strings, their NUL included. */
#define SRV_AUTH_NAME_MAX  129                               /* 128 bytes */
#define SRV_AUTH_SCOPE_MAX (4 + 255 + 1 + SRV_AUTH_NAME_MAX) /* jwt:ISS|SUB */
#define SRV_AUTH_USER_MAX  (BH_USER_ID_MAX + 1)

typedef struct srv_identity {
    enum srv_role role;
    /* The idempotency scope: "svc:NAME" or "jwt:ISS|SUB"; "" for anonymous. */
    char scope[SRV_AUTH_SCOPE_MAX];
    /* For logs and the audit: the service's name or the JWT's sub. */
    char name[SRV_AUTH_NAME_MAX];
    /* A customer's user id (the user claim, sub by default); "" otherwise. */
    char user_id[SRV_AUTH_USER_MAX];
    /* The JWT's exp in Unix ms; 0 for service tokens and anonymous. */
    int64_t expires_ms;
} srv_identity;

/* Defaults, applied by srv_auth_config_init. */
#define SRV_AUTH_LEEWAY_DEFAULT_S    30
#define SRV_AUTH_LEEWAY_MAX_S        3600
#define SRV_AUTH_USER_CLAIM_DEFAULT  "sub"
#define SRV_AUTH_ADMIN_CLAIM_DEFAULT "cognito:groups"
#define SRV_AUTH_ADMIN_VALUE_DEFAULT "bilheteria-admin"
#define SRV_AUTH_CACHE_DEFAULT       4096
/* The longest JWT looked at; the envelope's BH_AUTH_TOKEN_MAX is checked
 * before (request.c). Auth files and JWKS documents are at most 1 MiB. */
#define SRV_AUTH_JWT_MAX  16384
#define SRV_AUTH_FILE_MAX (1 << 20)

/* Strings are borrowed for the duration of srv_auth_open (it copies them). */
typedef struct srv_auth_config {
    const char *auth_file;       /* NULL: no service tokens */
    const char *jwks_file;       /* NULL: no JWTs */
    const char *jwt_issuer;      /* required with jwks_file, refused without */
    const char *jwt_audience;    /* required with jwks_file, refused without */
    int jwt_leeway_s;            /* 0..SRV_AUTH_LEEWAY_MAX_S */
    const char *jwt_user_claim;  /* NULL: "sub" */
    const char *jwt_admin_claim; /* NULL: "cognito:groups" */
    const char *jwt_admin_value; /* NULL: "bilheteria-admin" */
    /* Verified tokens kept (JWTs and service tokens); 0: the default. Each
     * entry holds a copy of its token, so the cache takes at most
     * cache_max * BH_AUTH_TOKEN_MAX bytes (32 MiB at the default; JWTs of
     * ~1 KiB make it ~4 MiB); a longer token is not cached. */
    size_t cache_max;
} srv_auth_config;

/* Zeroes cfg and sets every default above (leeway 30 s included). */
void srv_auth_config_init(srv_auth_config *cfg);

typedef struct srv_auth srv_auth;

/* Reads the auth file and the JWKS named by cfg. Returns 0 and sets *out
 * (caller frees with srv_auth_close), or -1 with err saying what is wrong
 * and where ("auth.txt:7: role \"customer\" comes only from JWTs",
 * "jwks.json: keys[1]: RSA n is 1024 bits; at least 2048 are needed");
 * *out is untouched then. Configuring neither file is not an error (open
 * mode: srv_auth_enabled says 0); an issuer or an audience without a JWKS,
 * or a JWKS without both, is. */
int srv_auth_open(srv_auth **out, const srv_auth_config *cfg, char *err, size_t errlen);

/* 1 if an auth file or a JWKS is configured, else 0 (open mode). */
int srv_auth_enabled(const srv_auth *a);

/* Re-reads the auth file and the JWKS (SIGHUP). Returns 0 and swaps in the
 * new set, emptying the cache; or -1 with err saying why, keeping the old
 * set whole. Checks in flight finish with the set they started with. Not to
 * be called from two threads at once. */
int srv_auth_reload(srv_auth *a, char *err, size_t errlen);

/* Who sent token (NUL-terminated; NULL or "" is anonymous) at now_ms (Unix
 * ms). Returns 0 and fills *id, or -1 (the caller answers UNAUTHENTICATED)
 * with msg set to "token is not a known service token or a valid JWT:
 * <reason>"; *id is untouched then. With no source configured every
 * non-empty token is refused: whether to look at tokens in open mode is the
 * caller's choice. */
int srv_auth_check(srv_auth *a, const char *token, int64_t now_ms, srv_identity *id, char *msg,
                   size_t msglen);

/* Counters since open, for tests and Health. */
typedef struct srv_auth_stats {
    uint64_t cache_hits;        /* JWTs answered from the cache */
    uint64_t jwt_verifies;      /* JWT signature checks made (any outcome) */
    uint64_t cache_entries;     /* JWTs in the cache now */
    uint64_t reloads;           /* successful srv_auth_reload calls */
    uint64_t svc_cache_hits;    /* service tokens answered from the cache */
    uint64_t svc_scans;         /* service tokens hashed with SHA-256 and looked up in
                                 * the auth file's set (any outcome) */
    uint64_t svc_cache_entries; /* service tokens in the cache now */
} srv_auth_stats;
void srv_auth_stats_get(srv_auth *a, srv_auth_stats *st);

/* For tests only: empties the cache and from then on gives every token the
 * same cache hash, so every lookup lands on the whole-token compare. No
 * check may be running. */
void srv_auth__test_collide(srv_auth *a);

/* Accepts NULL. No check may be running. */
void srv_auth_close(srv_auth *a);

/* Makes a fresh service token: 256 random bits from the kernel
 * (getrandom), base64url without padding (43 characters), into token
 * (tlen >= 44), and the auth file's line "NAME ROLE SHA256_HEX" for it,
 * without a newline, into line. name and role follow the auth file's
 * rules. Returns 0, or -1 with err saying what is wrong. */
int srv_auth_token_new(const char *name, const char *role, char *token, size_t tlen, char *line,
                       size_t llen, char *err, size_t errlen);

#endif
