/* SPDX-License-Identifier: Apache-2.0 */
/* Credentials: service tokens from the auth file, JWTs against a JWKS, and
 * the cache of verified JWTs. The contract is in auth.h. */
#include "auth.h"

#include <cjson/cJSON.h>
#include <endian.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>

#include "bilheteria/roles.h"

#include "util.h"

#define DIGEST_LEN    32
#define SVC_NAME_MAX  64
#define ISS_MAX       255
#define KID_MAX       128
#define RSA_MIN_BITS  2048
#define RSA_MAX_BYTES 1024 /* 8192-bit keys */
#define P256_COORD    32
#define NIL           UINT32_MAX
#define REFUSED       "token is not a known service token or a valid JWT: "

/* The callers' names are roles.h's (bit == srv_role; "public" is not a
 * caller, so it falls past SRV_ROLE_ADMIN and is left out). */
#define AUTH__ROLE(id, name, bit) [bit] = name,
static const char *const role_names[] = { BH_ROLE_MAP(AUTH__ROLE) };
#undef AUTH__ROLE
_Static_assert(BH_ROLE_ANONYMOUS == 1u << SRV_ROLE_ANONYMOUS, "roles.h and auth.h disagree");
_Static_assert(BH_ROLE_CUSTOMER == 1u << SRV_ROLE_CUSTOMER, "roles.h and auth.h disagree");
_Static_assert(BH_ROLE_SERVICE == 1u << SRV_ROLE_SERVICE, "roles.h and auth.h disagree");
_Static_assert(BH_ROLE_ADMIN == 1u << SRV_ROLE_ADMIN, "roles.h and auth.h disagree");
#define N_CALLER_ROLES (SRV_ROLE_ADMIN + 1)

const char *
srv_role_name(enum srv_role r)
{
    return (unsigned)r < N_CALLER_ROLES ? role_names[r] : "?";
}

int
srv_role_parse(const char *s, enum srv_role *out)
{
    for (size_t i = 0; s && i < N_CALLER_ROLES; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum srv_role)i;
            return 0;
        }
    }
    return -1;
}

/* ---- the credential set: immutable once built, shared by reference ---- */

struct svc {
    uint8_t digest[DIGEST_LEN];
    enum srv_role role;
    char name[SVC_NAME_MAX + 1];
    int line;
};

enum jwk_type { JWK_RSA, JWK_EC };

struct jwk {
    enum jwk_type type;
    char kid[KID_MAX + 1];
    int has_kid;
    /* mbedtls caches values in the key contexts during a verification (the
     * RSA blinding and Montgomery constants, the EC comb table), so checks
     * with one key take turns; the JWT cache keeps this off the hot path. */
    pthread_mutex_t mu;
    mbedtls_rsa_context rsa;
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
};

struct keyset {
    int refs; /* under srv_auth.mu */
    struct svc *svc;
    size_t n_svc;
    struct jwk *jwk;
    size_t n_jwk;
};

/* ---- the cache of verified tokens: a ring in insertion order (the oldest
 * is overwritten first) indexed by a chained hash on the token's SipHash.
 * The hash only finds the entry: a hit is the whole token, compared in
 * constant time. Only tokens that verified go in, so nobody can fill a
 * chain with collisions, and the SipHash key is secret anyway. ---- */

struct centry {
    char *tok; /* the token's bytes, no NUL (malloc'd); NULL: the slot is free */
    size_t len;
    uint64_t hash;
    uint32_t next;    /* the bucket's chain */
    int jwt;          /* counted in cache_entries */
    int64_t until_ms; /* exp + leeway; INT64_MAX for a service token */
    srv_identity id;
};

/* How many srv_auth were opened: each one's uid (see tl_find). */
static atomic_uint_fast64_t auth_instances;

struct srv_auth {
    char *auth_file, *jwks_file, *iss, *aud, *user_claim, *admin_claim, *admin_value;
    int64_t leeway_ms;

    pthread_mutex_t mu; /* set, gen, the cache */
    struct keyset *set;
    uint64_t gen; /* bumped by a reload: a check verified against the old set
                   * does not fill the cache of the new one */
    struct centry *ents;
    size_t n_ents, head, used, used_jwt;
    uint32_t *buckets;
    size_t n_buckets;   /* a power of two */
    uint64_t sipkey[2]; /* from getrandom at open; never leaves this struct */
    int collide;        /* srv_auth__test_collide */
    uint64_t uid;       /* this instance among all opened: the per-thread entry's owner */

    atomic_uint_least64_t hits, verifies, reloads, svc_hits, svc_scans;
};

static void errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
errf(char *err, size_t len, const char *fmt, ...)
{
    if (!err || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* Copies s for a message: printable ASCII but '"' and '\\', at most 64
 * bytes; anything else becomes '?'. */
static const char *
safe(const char *s, char out[68])
{
    size_t i = 0;
    for (; s[i] && i < 64; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = 0;
    return out;
}

static void
sha256(const void *p, size_t n, uint8_t out[DIGEST_LEN])
{
    mbedtls_sha256_ret(p, n, out, 0);
}

/* SipHash-1-3 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * with the round counts Rust and Python use for their hash tables): a
 * keyed hash an attacker cannot aim without the key. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static uint64_t
le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return le64toh(v);
}

static uint64_t
siphash13(const uint64_t key[2], const void *data, size_t n)
{
    const uint8_t *p = data, *end = p + n - n % 8;
    uint64_t v0 = key[0] ^ 0x736f6d6570736575ULL, v1 = key[1] ^ 0x646f72616e646f6dULL,
             v2 = key[0] ^ 0x6c7967656e657261ULL, v3 = key[1] ^ 0x7465646279746573ULL;
    for (; p != end; p += 8) {
        uint64_t m = le64(p);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)n << 56;
    for (size_t i = 0; i < n % 8; i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* 0 if the n bytes at p and q are equal, else 1. Every byte is read, with
 * no early exit: the barrier hides the running value from the compiler, so
 * it cannot stop once a difference is found. Eight bytes a step, as
 * mbedtls_ct_memcmp (a byte a step through volatiles) takes 1.4 us for a
 * 555-byte JWT, more than the cache saves. */
static int
ct_differ(const void *p, const void *q, size_t n)
{
    const uint8_t *a = p, *b = q;
    uint64_t acc = 0, x, y;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        acc |= x ^ y;
        __asm__("" : "+r"(acc));
    }
    for (; i < n; i++) {
        acc |= (uint64_t)(a[i] ^ b[i]);
        __asm__("" : "+r"(acc));
    }
    return acc != 0;
}

/* n bytes from the kernel's CSPRNG, or -1 with err. */
static int
random_bytes(void *buf, size_t n, char *err, size_t errlen)
{
    for (size_t got = 0; got < n;) {
        ssize_t k = getrandom((uint8_t *)buf + got, n - got, 0);
        if (k < 0 && errno != EINTR) {
            errf(err, errlen, "getrandom: %s", strerror(errno));
            return -1;
        }
        got += k > 0 ? (size_t)k : 0;
    }
    return 0;
}

static char *
dup_or(const char *s, const char *dflt)
{
    return strdup(s ? s : dflt);
}

/* Reads path whole, NUL-terminated; the caller frees *out. */
static int
read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        errf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(SRV_AUTH_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, SRV_AUTH_FILE_MAX + 1, f) : 0;
    int rc = -1;
    if (!buf)
        errf(err, errlen, "%s: out of memory", path);
    else if (ferror(f))
        errf(err, errlen, "%s: cannot read it", path);
    else if (n > SRV_AUTH_FILE_MAX)
        errf(err, errlen, "%s: larger than %d bytes", path, SRV_AUTH_FILE_MAX);
    else if (memchr(buf, 0, n))
        errf(err, errlen, "%s: holds a NUL byte", path);
    else
        rc = 0;
    fclose(f);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* ---- base64url (RFC 4648 section 5, no padding), over mbedtls' base64 ---- */

static int
b64url_decode(const char *s, size_t n, uint8_t **out, size_t *olen)
{
    if (n % 4 == 1)
        return -1;
    char *std = malloc(n + 4);
    uint8_t *dst = malloc(n / 4 * 3 + 3);
    int rc = -1;
    if (!std || !dst)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            goto out;
        std[i] = c;
    }
    size_t m = n;
    while (m % 4)
        std[m++] = '=';
    if (mbedtls_base64_decode(dst, n / 4 * 3 + 3, olen, (const unsigned char *)std, m) != 0)
        goto out;
    *out = dst;
    dst = NULL;
    rc = 0;
out:
    free(std);
    free(dst);
    return rc;
}

static int
b64url_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t olen;
    if (mbedtls_base64_encode((unsigned char *)out, cap, &olen, p, n) != 0)
        return -1;
    while (olen > 0 && out[olen - 1] == '=')
        olen--;
    out[olen] = 0;
    for (size_t i = 0; i < olen; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return 0;
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int
unhex(const char *s, uint8_t out[DIGEST_LEN])
{
    if (strlen(s) != 2 * DIGEST_LEN)
        return -1;
    for (size_t i = 0; i < 2 * DIGEST_LEN; i++) {
        int c = s[i], v = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
        if (v < 0)
            return -1;
        out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
    }
    return 0;
}

/* ---- the auth file ---- */

static int
name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SVC_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The role of an auth file line, or -1 with the reason in err. */
static int
file_role(const char *s, enum srv_role *role, char *err, size_t errlen)
{
    char q[68];
    if (srv_role_parse(s, role) == 0 && (*role == SRV_ROLE_ADMIN || *role == SRV_ROLE_SERVICE))
        return 0;
    if (srv_role_parse(s, role) == 0)
        errf(err, errlen, "role \"%s\" comes only from %s", s,
             *role == SRV_ROLE_CUSTOMER ? "JWTs" : "a missing token");
    else
        errf(err, errlen, "role \"%s\" is not admin or service", safe(s, q));
    return -1;
}

static int
parse_auth_file(const char *path, struct keyset *ks, char *err, size_t errlen)
{
    char *buf = NULL, *save = NULL, why[160], q[68];
    size_t len, cap = 0;
    int rc = -1, line = 0;
    if (read_file(path, &buf, &len, err, errlen) != 0)
        return -1;
    for (char *p = buf, *nl; p < buf + len; p = nl + 1) {
        line++;
        nl = strchr(p, '\n');
        if (!nl)
            nl = buf + len;
        *nl = 0;
        char *f[4] = { 0 };
        int n = 0;
        for (char *t = strtok_r(p, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save))
            if (n < 4)
                f[n++] = t;
        if (n == 0 || f[0][0] == '#')
            continue;
        if (n != 3) {
            errf(err, errlen, "%s:%d: want NAME ROLE SHA256_HEX, found %d field%s", path, line, n,
                 n == 1 ? "" : "s");
            goto out;
        }
        struct svc s = { .line = line };
        if (!name_ok(f[0])) {
            errf(err, errlen, "%s:%d: name \"%s\" is not 1..%d of A-Z a-z 0-9 . _ -", path, line,
                 safe(f[0], q), SVC_NAME_MAX);
            goto out;
        }
        if (file_role(f[1], &s.role, why, sizeof(why)) != 0) {
            errf(err, errlen, "%s:%d: %s", path, line, why);
            goto out;
        }
        if (unhex(f[2], s.digest) != 0) {
            /* Not quoted: a token pasted here by mistake must not reach a log. */
            errf(err, errlen, "%s:%d: the hash is not 64 hex digits (a SHA-256)", path, line);
            goto out;
        }
        snprintf(s.name, sizeof(s.name), "%s", f[0]);
        for (size_t i = 0; i < ks->n_svc; i++) {
            if (strcmp(ks->svc[i].name, s.name) == 0) {
                errf(err, errlen, "%s:%d: name \"%s\" again (first on line %d)", path, line, s.name,
                     ks->svc[i].line);
                goto out;
            }
            if (memcmp(ks->svc[i].digest, s.digest, DIGEST_LEN) == 0) {
                errf(err, errlen, "%s:%d: the hash of \"%s\" again (line %d)", path, line,
                     ks->svc[i].name, ks->svc[i].line);
                goto out;
            }
        }
        if (ks->n_svc == cap) {
            cap = cap ? 2 * cap : 16;
            struct svc *v = realloc(ks->svc, cap * sizeof(*v));
            if (!v) {
                errf(err, errlen, "%s: out of memory", path);
                goto out;
            }
            ks->svc = v;
        }
        ks->svc[ks->n_svc++] = s;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* ---- the JWKS ---- */

static const char *
str_member(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
member_bytes(const cJSON *k, const char *name, uint8_t **out, size_t *len)
{
    const char *s = str_member(k, name);
    return s ? b64url_decode(s, strlen(s), out, len) : -1;
}

static int
load_rsa(struct jwk *j, const cJSON *k, char *why, size_t wlen)
{
    uint8_t *n = NULL, *e = NULL;
    size_t nn, ne;
    int rc = -1;
    if (member_bytes(k, "n", &n, &nn) != 0 || member_bytes(k, "e", &e, &ne) != 0) {
        errf(why, wlen, "RSA n and e must be base64url strings");
        goto out;
    }
    while (nn > 0 && n[0] == 0) /* a leading zero byte is not a bit of the key */
        memmove(n, n + 1, --nn);
    if (nn * 8 < RSA_MIN_BITS || nn > RSA_MAX_BYTES) {
        errf(why, wlen, "RSA n is %zu bits; %d..%d are accepted", nn * 8, RSA_MIN_BITS,
             RSA_MAX_BYTES * 8);
        goto out;
    }
    if (mbedtls_rsa_import_raw(&j->rsa, n, nn, NULL, 0, NULL, 0, NULL, 0, e, ne) != 0 ||
        mbedtls_rsa_complete(&j->rsa) != 0 || mbedtls_rsa_check_pubkey(&j->rsa) != 0) {
        errf(why, wlen, "not a valid RSA public key");
        goto out;
    }
    rc = 0;
out:
    free(n);
    free(e);
    return rc;
}

static int
load_ec(struct jwk *j, const cJSON *k, char *why, size_t wlen)
{
    uint8_t *x = NULL, *y = NULL, pt[1 + 2 * P256_COORD];
    size_t nx, ny;
    int rc = -1;
    if (member_bytes(k, "x", &x, &nx) != 0 || member_bytes(k, "y", &y, &ny) != 0 ||
        nx != P256_COORD || ny != P256_COORD) {
        errf(why, wlen, "EC x and y must be base64url strings of %d bytes", P256_COORD);
        goto out;
    }
    pt[0] = 0x04; /* uncompressed point: 04 || x || y (SEC 1, 2.3.3) */
    memcpy(pt + 1, x, P256_COORD);
    memcpy(pt + 1 + P256_COORD, y, P256_COORD);
    if (mbedtls_ecp_group_load(&j->grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
        mbedtls_ecp_point_read_binary(&j->grp, &j->q, pt, sizeof(pt)) != 0 ||
        mbedtls_ecp_check_pubkey(&j->grp, &j->q) != 0) {
        errf(why, wlen, "not a point of P-256");
        goto out;
    }
    rc = 0;
out:
    free(x);
    free(y);
    return rc;
}

static void
jwk_free(struct jwk *j)
{
    mbedtls_rsa_free(&j->rsa);
    mbedtls_ecp_group_free(&j->grp);
    mbedtls_ecp_point_free(&j->q);
    pthread_mutex_destroy(&j->mu);
}

/* 1 if key k is one we verify with (filling *j), 0 if it is to be skipped,
 * -1 if it is one but broken. */
static int
load_jwk(struct jwk *j, const cJSON *k, char *why, size_t wlen)
{
    const char *kty = str_member(k, "kty"), *use = str_member(k, "use"),
               *alg = str_member(k, "alg"), *crv = str_member(k, "crv"),
               *kid = str_member(k, "kid");
    if (!cJSON_IsObject(k) || !kty) {
        errf(why, wlen, "not an object with a kty");
        return -1;
    }
    if (use && strcmp(use, "sig") != 0)
        return 0;
    if (strcmp(kty, "RSA") == 0 && (!alg || strcmp(alg, "RS256") == 0))
        j->type = JWK_RSA;
    else if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0 &&
             (!alg || strcmp(alg, "ES256") == 0))
        j->type = JWK_EC;
    else
        return 0; /* another kty, curve or alg: tokens using it are refused */
    if (cJSON_GetObjectItemCaseSensitive(k, "kid") && (!kid || strlen(kid) > KID_MAX)) {
        errf(why, wlen, "kid is not a string of at most %d bytes", KID_MAX);
        return -1;
    }
    j->has_kid = kid != NULL;
    snprintf(j->kid, sizeof(j->kid), "%s", kid ? kid : "");
    mbedtls_rsa_init(&j->rsa, MBEDTLS_RSA_PKCS_V15, 0);
    mbedtls_ecp_group_init(&j->grp);
    mbedtls_ecp_point_init(&j->q);
    pthread_mutex_init(&j->mu, NULL);
    int rc = j->type == JWK_RSA ? load_rsa(j, k, why, wlen) : load_ec(j, k, why, wlen);
    if (rc != 0) {
        jwk_free(j);
        return -1;
    }
    return 1;
}

static int
parse_jwks(const char *path, struct keyset *ks, char *err, size_t errlen)
{
    char *buf = NULL, why[160], q[68];
    size_t len;
    cJSON *doc = NULL;
    int rc = -1;
    if (read_file(path, &buf, &len, err, errlen) != 0)
        return -1;
    const char *end = NULL;
    doc = cJSON_ParseWithOpts(buf, &end, 1);
    if (!doc) {
        int line = 1;
        for (const char *p = buf; end && p < end; p++)
            line += *p == '\n';
        errf(err, errlen, "%s:%d: not valid JSON", path, line);
        goto out;
    }
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
    if (!cJSON_IsArray(keys)) {
        errf(err, errlen, "%s: not a JWKS (no \"keys\" array)", path);
        goto out;
    }
    int n = cJSON_GetArraySize(keys);
    ks->jwk = calloc(n > 0 ? (size_t)n : 1, sizeof(*ks->jwk));
    if (!ks->jwk) {
        errf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        struct jwk *j = &ks->jwk[ks->n_jwk];
        int got = load_jwk(j, cJSON_GetArrayItem(keys, i), why, sizeof(why));
        if (got < 0) {
            errf(err, errlen, "%s: keys[%d]: %s", path, i, why);
            goto out;
        }
        if (got == 0)
            continue;
        ks->n_jwk++;
        for (size_t o = 0; j->has_kid && o + 1 < ks->n_jwk; o++) {
            if (ks->jwk[o].has_kid && strcmp(ks->jwk[o].kid, j->kid) == 0) {
                errf(err, errlen, "%s: keys[%d]: kid \"%s\" again", path, i, safe(j->kid, q));
                goto out;
            }
        }
    }
    if (ks->n_jwk == 0) {
        errf(err, errlen, "%s: no RSA or EC P-256 signing key", path);
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(doc);
    free(buf);
    return rc;
}

static void
keyset_free(struct keyset *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n_jwk; i++)
        jwk_free(&ks->jwk[i]);
    free(ks->jwk);
    free(ks->svc);
    free(ks);
}

static struct keyset *
keyset_load(const srv_auth *a, char *err, size_t errlen)
{
    struct keyset *ks = calloc(1, sizeof(*ks));
    if (!ks) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    ks->refs = 1;
    if ((a->auth_file && parse_auth_file(a->auth_file, ks, err, errlen) != 0) ||
        (a->jwks_file && parse_jwks(a->jwks_file, ks, err, errlen) != 0)) {
        keyset_free(ks);
        return NULL;
    }
    return ks;
}

static struct keyset *
keyset_get(srv_auth *a, uint64_t *gen)
{
    pthread_mutex_lock(&a->mu);
    struct keyset *ks = a->set;
    ks->refs++;
    *gen = a->gen;
    pthread_mutex_unlock(&a->mu);
    return ks;
}

static void
keyset_put(srv_auth *a, struct keyset *ks)
{
    pthread_mutex_lock(&a->mu);
    int last = --ks->refs == 0;
    pthread_mutex_unlock(&a->mu);
    if (last)
        keyset_free(ks);
}

/* ---- the cache (every function here runs under a->mu) ---- */

static uint32_t *
bucket(srv_auth *a, uint64_t hash)
{
    return &a->buckets[hash & (a->n_buckets - 1)];
}

static struct centry *
cache_find(srv_auth *a, uint64_t hash, const char *tok, size_t n)
{
    for (uint32_t i = *bucket(a, hash); i != NIL; i = a->ents[i].next) {
        struct centry *e = &a->ents[i];
        if (e->hash == hash && e->len == n && !ct_differ(e->tok, tok, n))
            return e;
    }
    return NULL;
}

/* Unlinks the entry in slot and hands back its token (and its length in
 * *len) for the caller to wipe and free outside the lock. */
static char *
cache_evict(srv_auth *a, uint32_t slot, size_t *len)
{
    struct centry *e = &a->ents[slot];
    uint32_t *p = bucket(a, e->hash);
    while (*p != slot)
        p = &a->ents[*p].next;
    *p = e->next;
    a->used--;
    a->used_jwt -= e->jwt != 0;
    char *tok = e->tok;
    *len = e->len;
    e->tok = NULL;
    return tok;
}

/* Takes tok (malloc'd, n bytes) into the cache. Returns what the caller is
 * to wipe and free, *oldlen bytes: the evicted entry's token, or tok itself
 * if the token is there already (two threads verified it at once). */
static char *
cache_put(srv_auth *a, uint64_t hash, char *tok, size_t n, int jwt, int64_t until_ms,
          const srv_identity *id, size_t *oldlen)
{
    *oldlen = n;
    if (cache_find(a, hash, tok, n))
        return tok;
    uint32_t slot = (uint32_t)a->head;
    char *old = a->ents[slot].tok ? cache_evict(a, slot, oldlen) : NULL;
    struct centry *e = &a->ents[slot];
    e->tok = tok;
    e->len = n;
    e->hash = hash;
    e->jwt = jwt;
    e->until_ms = until_ms;
    e->id = *id;
    uint32_t *b = bucket(a, hash);
    e->next = *b;
    *b = slot;
    a->used++;
    a->used_jwt += jwt != 0;
    a->head = (a->head + 1) % a->n_ents;
    return old;
}

static void
wipe_free(char *p, size_t n)
{
    if (p) {
        mbedtls_platform_zeroize(p, n);
        free(p);
    }
}

/* Empties the cache (at open, reload and close); it runs once per reload,
 * so its frees may run under the lock. */
static void
cache_clear(srv_auth *a)
{
    for (size_t i = 0; i < a->n_ents; i++) {
        wipe_free(a->ents[i].tok, a->ents[i].len);
        a->ents[i].tok = NULL;
    }
    for (size_t i = 0; i < a->n_buckets; i++)
        a->buckets[i] = NIL;
    a->head = a->used = a->used_jwt = 0;
}

/* ---- open, reload, close ---- */

void
srv_auth_config_init(srv_auth_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->jwt_leeway_s = SRV_AUTH_LEEWAY_DEFAULT_S;
    cfg->jwt_user_claim = SRV_AUTH_USER_CLAIM_DEFAULT;
    cfg->jwt_admin_claim = SRV_AUTH_ADMIN_CLAIM_DEFAULT;
    cfg->jwt_admin_value = SRV_AUTH_ADMIN_VALUE_DEFAULT;
    cfg->cache_max = SRV_AUTH_CACHE_DEFAULT;
}

static int
check_config(const srv_auth_config *cfg, char *err, size_t errlen)
{
    const char *iss = cfg->jwt_issuer, *aud = cfg->jwt_audience;
    if (!cfg->jwks_file && (iss || aud)) {
        errf(err, errlen, "a JWT %s is set but no JWKS", iss ? "issuer" : "audience");
        return -1;
    }
    if (cfg->jwks_file && (!iss || !*iss || !aud || !*aud)) {
        errf(err, errlen, "a JWKS needs a JWT issuer and audience");
        return -1;
    }
    if (iss && strlen(iss) > ISS_MAX) {
        errf(err, errlen, "the JWT issuer is longer than %d bytes", ISS_MAX);
        return -1;
    }
    if (cfg->jwt_leeway_s < 0 || cfg->jwt_leeway_s > SRV_AUTH_LEEWAY_MAX_S) {
        errf(err, errlen, "JWT leeway %d s is not 0..%d", cfg->jwt_leeway_s, SRV_AUTH_LEEWAY_MAX_S);
        return -1;
    }
    const char *claims[] = { cfg->jwt_user_claim, cfg->jwt_admin_claim, cfg->jwt_admin_value };
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
        if (claims[i] && !*claims[i]) {
            errf(err, errlen, "an empty JWT claim name or value");
            return -1;
        }
    }
    return 0;
}

int
srv_auth_open(srv_auth **out, const srv_auth_config *cfg, char *err, size_t errlen)
{
    if (check_config(cfg, err, errlen) != 0)
        return -1;
    srv_auth *a = calloc(1, sizeof(*a));
    if (!a) {
        errf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&a->mu, NULL);
    a->uid = atomic_fetch_add(&auth_instances, 1) + 1;
    a->leeway_ms = (int64_t)cfg->jwt_leeway_s * 1000;
    a->auth_file = cfg->auth_file ? strdup(cfg->auth_file) : NULL;
    a->jwks_file = cfg->jwks_file ? strdup(cfg->jwks_file) : NULL;
    a->iss = dup_or(cfg->jwt_issuer, "");
    a->aud = dup_or(cfg->jwt_audience, "");
    a->user_claim = dup_or(cfg->jwt_user_claim, SRV_AUTH_USER_CLAIM_DEFAULT);
    a->admin_claim = dup_or(cfg->jwt_admin_claim, SRV_AUTH_ADMIN_CLAIM_DEFAULT);
    a->admin_value = dup_or(cfg->jwt_admin_value, SRV_AUTH_ADMIN_VALUE_DEFAULT);
    a->n_ents = cfg->cache_max ? cfg->cache_max : SRV_AUTH_CACHE_DEFAULT;
    if (a->n_ents > (1u << 24))
        a->n_ents = 1u << 24;
    for (a->n_buckets = 1; a->n_buckets < a->n_ents; a->n_buckets *= 2)
        ;
    a->ents = calloc(a->n_ents, sizeof(*a->ents));
    a->buckets = malloc(a->n_buckets * sizeof(*a->buckets));
    if ((cfg->auth_file && !a->auth_file) || (cfg->jwks_file && !a->jwks_file) || !a->iss ||
        !a->aud || !a->user_claim || !a->admin_claim || !a->admin_value || !a->ents ||
        !a->buckets) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    cache_clear(a);
    if (random_bytes(a->sipkey, sizeof(a->sipkey), err, errlen) != 0)
        goto fail;
    a->set = keyset_load(a, err, errlen);
    if (!a->set)
        goto fail;
    *out = a;
    return 0;
fail:
    srv_auth_close(a);
    return -1;
}

int
srv_auth_enabled(const srv_auth *a)
{
    return a && (a->auth_file || a->jwks_file);
}

int
srv_auth_reload(srv_auth *a, char *err, size_t errlen)
{
    struct keyset *ks = keyset_load(a, err, errlen);
    if (!ks)
        return -1;
    pthread_mutex_lock(&a->mu);
    struct keyset *old = a->set;
    a->set = ks;
    __atomic_add_fetch(&a->gen, 1, __ATOMIC_RELEASE);
    cache_clear(a);
    pthread_mutex_unlock(&a->mu);
    keyset_put(a, old);
    atomic_fetch_add(&a->reloads, 1);
    return 0;
}

void
srv_auth_close(srv_auth *a)
{
    if (!a)
        return;
    keyset_free(a->set);
    if (a->ents && a->buckets)
        cache_clear(a);
    free(a->ents);
    free(a->buckets);
    free(a->auth_file);
    free(a->jwks_file);
    free(a->iss);
    free(a->aud);
    free(a->user_claim);
    free(a->admin_claim);
    free(a->admin_value);
    pthread_mutex_destroy(&a->mu);
    mbedtls_platform_zeroize(a->sipkey, sizeof(a->sipkey));
    free(a);
}

void
srv_auth__test_collide(srv_auth *a)
{
    pthread_mutex_lock(&a->mu);
    __atomic_add_fetch(&a->gen, 1, __ATOMIC_RELEASE);
    cache_clear(a);
    a->collide = 1;
    pthread_mutex_unlock(&a->mu);
}

void
srv_auth_stats_get(srv_auth *a, srv_auth_stats *st)
{
    pthread_mutex_lock(&a->mu);
    st->cache_entries = a->used_jwt;
    st->svc_cache_entries = a->used - a->used_jwt;
    pthread_mutex_unlock(&a->mu);
    st->cache_hits = atomic_load(&a->hits);
    st->jwt_verifies = atomic_load(&a->verifies);
    st->reloads = atomic_load(&a->reloads);
    st->svc_cache_hits = atomic_load(&a->svc_hits);
    st->svc_scans = atomic_load(&a->svc_scans);
}

/* ---- checks ---- */

static int
check_service(srv_auth *a, const struct keyset *ks, const char *tok, size_t n, srv_identity *id,
              char *why, size_t wlen)
{
    const struct svc *hit = NULL;
    uint8_t digest[DIGEST_LEN];
    sha256(tok, n, digest);
    atomic_fetch_add(&a->svc_scans, 1);
    /* Every entry is compared, to the last byte: no early exit. */
    for (size_t i = 0; i < ks->n_svc; i++) {
        int differs = mbedtls_ct_memcmp(ks->svc[i].digest, digest, DIGEST_LEN);
        hit = differs ? hit : &ks->svc[i];
    }
    if (!hit) {
        errf(why, wlen, "%s", ks->n_svc ? "no service token matches" : "no service tokens");
        return -1;
    }
    memset(id, 0, sizeof(*id));
    id->role = hit->role;
    snprintf(id->scope, sizeof(id->scope), "svc:%s", hit->name);
    snprintf(id->name, sizeof(id->name), "%s", hit->name);
    return 0;
}

/* A NumericDate claim in ms: 0, 1 if absent, -1 if not a number in range. */
static int
claim_time(const cJSON *claims, const char *name, int64_t *ms)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    if (!v)
        return 1;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble * 1000 > (double)SRV_TIME_MAX)
        return -1;
    *ms = (int64_t)(v->valuedouble * 1000);
    return 0;
}

/* 1 if claim v is the string want or an array holding it. */
static int
claim_has(const cJSON *v, const char *want)
{
    if (cJSON_IsString(v))
        return strcmp(v->valuestring, want) == 0;
    if (!cJSON_IsArray(v))
        return 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, want) == 0)
            return 1;
    }
    return 0;
}

/* A claim that names someone: 1..max-1 bytes of UTF-8 without control
 * characters. */
static int
name_claim_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max || srv_utf8_valid(s, n) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static cJSON *
decode_json(const char *s, size_t n)
{
    uint8_t *raw;
    size_t len;
    if (b64url_decode(s, n, &raw, &len) != 0)
        return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)raw, len);
    free(raw);
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

/* The key for a token with this alg and kid (NULL: none), or NULL with why. */
static struct jwk *
pick_key(struct keyset *ks, enum jwk_type want, const char *kid, char *why, size_t wlen)
{
    char q[68];
    struct jwk *found = NULL;
    size_t fits = 0;
    for (size_t i = 0; i < ks->n_jwk; i++) {
        struct jwk *j = &ks->jwk[i];
        if (kid && j->has_kid && strcmp(j->kid, kid) == 0)
            found = j;
        if (!kid && j->type == want && fits++ == 0)
            found = j;
    }
    if (kid && !found)
        errf(why, wlen, "kid \"%s\" is not in the JWKS", safe(kid, q));
    else if (kid && found->type != want)
        errf(why, wlen, "kid \"%s\" is not a key for its alg", safe(kid, q));
    else if (!kid && fits != 1)
        errf(why, wlen, "no kid, and the JWKS has %zu keys for its alg", fits);
    else
        return found;
    return NULL;
}

static int
verify_sig(struct jwk *j, const uint8_t hash[DIGEST_LEN], const uint8_t *sig, size_t n)
{
    int rc = -1;
    pthread_mutex_lock(&j->mu);
    if (j->type == JWK_RSA) {
        if (n == mbedtls_rsa_get_len(&j->rsa))
            rc = mbedtls_rsa_pkcs1_verify(&j->rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC,
                                          MBEDTLS_MD_SHA256, DIGEST_LEN, hash, sig);
    } else if (n == 2 * P256_COORD) {
        /* JWS ES256 signatures are r || s, 32 bytes each (RFC 7518 3.4). */
        mbedtls_mpi r, s;
        mbedtls_mpi_init(&r);
        mbedtls_mpi_init(&s);
        if (mbedtls_mpi_read_binary(&r, sig, P256_COORD) == 0 &&
            mbedtls_mpi_read_binary(&s, sig + P256_COORD, P256_COORD) == 0)
            rc = mbedtls_ecdsa_verify(&j->grp, hash, DIGEST_LEN, &j->q, &r, &s);
        mbedtls_mpi_free(&r);
        mbedtls_mpi_free(&s);
    }
    pthread_mutex_unlock(&j->mu);
    return rc == 0 ? 0 : -1;
}

/* The claims after the signature: fills *id or says why not. */
static int
check_claims(const srv_auth *a, const cJSON *c, int64_t now_ms, srv_identity *id, char *why,
             size_t wlen)
{
    char q[68];
    int64_t exp_ms = 0, nbf_ms = 0;
    const char *iss = str_member(c, "iss"), *sub = str_member(c, "sub");
    if (!iss || strcmp(iss, a->iss) != 0) {
        errf(why, wlen, "iss \"%s\" is not the configured issuer", iss ? safe(iss, q) : "");
        return -1;
    }
    if (!claim_has(cJSON_GetObjectItemCaseSensitive(c, "aud"), a->aud)) {
        errf(why, wlen, "aud does not name the configured audience");
        return -1;
    }
    if (claim_time(c, "exp", &exp_ms) != 0) {
        errf(why, wlen, "exp is missing or not a time");
        return -1;
    }
    if (now_ms > exp_ms + a->leeway_ms) {
        errf(why, wlen, "expired %lld s ago", (long long)((now_ms - exp_ms) / 1000));
        return -1;
    }
    int nbf = claim_time(c, "nbf", &nbf_ms);
    if (nbf < 0) {
        errf(why, wlen, "nbf is not a time");
        return -1;
    }
    if (nbf == 0 && now_ms + a->leeway_ms < nbf_ms) {
        errf(why, wlen, "not valid for another %lld s", (long long)((nbf_ms - now_ms) / 1000));
        return -1;
    }
    if (!sub || !name_claim_ok(sub, SRV_AUTH_NAME_MAX)) {
        errf(why, wlen, "sub is missing, or not 1..%d bytes of printable UTF-8",
             SRV_AUTH_NAME_MAX - 1);
        return -1;
    }
    int admin = claim_has(cJSON_GetObjectItemCaseSensitive(c, a->admin_claim), a->admin_value);
    const char *user = str_member(c, a->user_claim);
    if (!admin && (!user || !name_claim_ok(user, SRV_AUTH_USER_MAX))) {
        errf(why, wlen,
             "claim \"%s\" (the user id) is missing, or not 1..%d bytes of printable "
             "UTF-8",
             safe(a->user_claim, q), BH_USER_ID_MAX);
        return -1;
    }
    memset(id, 0, sizeof(*id));
    id->role = admin ? SRV_ROLE_ADMIN : SRV_ROLE_CUSTOMER;
    snprintf(id->scope, sizeof(id->scope), "jwt:%s|%s", iss, sub);
    snprintf(id->name, sizeof(id->name), "%s", sub);
    if (!admin)
        snprintf(id->user_id, sizeof(id->user_id), "%s", user);
    id->expires_ms = exp_ms;
    return 0;
}

static int
check_jwt(srv_auth *a, struct keyset *ks, const char *tok, size_t n, int64_t now_ms,
          srv_identity *id, char *why, size_t wlen)
{
    char q[68];
    cJSON *hdr = NULL, *claims = NULL;
    uint8_t *sig = NULL, hash[DIGEST_LEN];
    size_t nsig;
    int rc = -1;
    const char *d1 = memchr(tok, '.', n),
               *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - tok)) : NULL;
    if (!ks->n_jwk) {
        errf(why, wlen, "no JWKS is configured");
        goto out;
    }
    if (n > SRV_AUTH_JWT_MAX || !d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - tok))) {
        errf(why, wlen, "not a JWS compact serialization");
        goto out;
    }
    hdr = decode_json(tok, (size_t)(d1 - tok));
    if (!hdr) {
        errf(why, wlen, "the header is not base64url JSON");
        goto out;
    }
    const char *alg = str_member(hdr, "alg"), *kid = str_member(hdr, "kid");
    enum jwk_type want;
    if (alg && strcmp(alg, "RS256") == 0)
        want = JWK_RSA;
    else if (alg && strcmp(alg, "ES256") == 0)
        want = JWK_EC;
    else {
        errf(why, wlen, "alg \"%s\" is refused: only RS256 and ES256 are accepted",
             alg ? safe(alg, q) : "");
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(hdr, "crit")) {
        errf(why, wlen, "the header has crit extensions");
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(hdr, "kid") && !kid) {
        errf(why, wlen, "kid is not a string");
        goto out;
    }
    struct jwk *key = pick_key(ks, want, kid, why, wlen);
    if (!key)
        goto out;
    if (b64url_decode(d2 + 1, n - (size_t)(d2 + 1 - tok), &sig, &nsig) != 0) {
        errf(why, wlen, "the signature is not base64url");
        goto out;
    }
    sha256(tok, (size_t)(d2 - tok), hash);
    atomic_fetch_add(&a->verifies, 1);
    if (verify_sig(key, hash, sig, nsig) != 0) {
        errf(why, wlen, "bad signature");
        goto out;
    }
    claims = decode_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!claims) {
        errf(why, wlen, "the payload is not base64url JSON");
        goto out;
    }
    rc = check_claims(a, claims, now_ms, id, why, wlen);
out:
    cJSON_Delete(hdr);
    cJSON_Delete(claims);
    free(sig);
    return rc;
}

/* Each thread's last token, checked against nothing shared: an nng thread
 * serves a connection's calls one after another, so a busy caller's calls
 * skip the cache's lock (contended by every thread) and its hash. The same
 * rules as the shared cache: whole-token constant-time compare, the
 * expiry, and a reload (gen) or another instance (uid) voids it. */
#define TL_TOKEN_MAX 2048
static _Thread_local struct {
    uint64_t uid, gen;
    size_t n;
    int64_t until_ms;
    srv_identity id;
    char tok[TL_TOKEN_MAX];
} tl;

static int
tl_find(const srv_auth *a, const char *token, size_t n, int64_t now_ms, srv_identity *id)
{
    if (tl.uid != a->uid || tl.n != n || a->collide ||
        tl.gen != __atomic_load_n(&a->gen, __ATOMIC_ACQUIRE) || now_ms > tl.until_ms ||
        ct_differ(tl.tok, token, n))
        return 0;
    *id = tl.id;
    return 1;
}

static void
tl_keep(const srv_auth *a, uint64_t gen, const char *token, size_t n, int64_t until_ms,
        const srv_identity *id)
{
    if (n > TL_TOKEN_MAX || a->collide)
        return;
    tl.uid = a->uid;
    tl.gen = gen;
    tl.n = n;
    tl.until_ms = until_ms;
    tl.id = *id;
    memcpy(tl.tok, token, n);
}

int
srv_auth_check(srv_auth *a, const char *token, int64_t now_ms, srv_identity *id, char *msg,
               size_t msglen)
{
    char why[200];
    srv_identity got;
    if (!token || !*token) {
        memset(id, 0, sizeof(*id));
        return 0;
    }
    if (!srv_auth_enabled(a)) {
        errf(msg, msglen, REFUSED "the server has no credentials configured");
        return -1;
    }
    size_t n = strlen(token);
    int jwt = memchr(token, '.', n) != NULL;
    if (tl_find(a, token, n, now_ms, id)) {
        atomic_fetch_add_explicit(jwt ? &a->hits : &a->svc_hits, 1, memory_order_relaxed);
        return 0;
    }
    uint64_t hash = a->collide ? 0 : siphash13(a->sipkey, token, n);
    pthread_mutex_lock(&a->mu);
    const struct centry *e = cache_find(a, hash, token, n);
    int hit = e && now_ms <= e->until_ms;
    uint64_t hgen = a->gen;
    int64_t huntil = hit ? e->until_ms : 0;
    if (hit)
        *id = e->id;
    pthread_mutex_unlock(&a->mu);
    if (hit) {
        atomic_fetch_add(jwt ? &a->hits : &a->svc_hits, 1);
        tl_keep(a, hgen, token, n, huntil, id);
        return 0;
    }
    uint64_t gen;
    struct keyset *ks = keyset_get(a, &gen);
    int rc = jwt ? check_jwt(a, ks, token, n, now_ms, &got, why, sizeof(why))
                 : check_service(a, ks, token, n, &got, why, sizeof(why));
    keyset_put(a, ks);
    if (rc != 0) {
        errf(msg, msglen, REFUSED "%s", why);
        return -1;
    }
    /* Verified: cached until exp + leeway, a service token until a reload.
     * Longer tokens than the envelope allows are not kept, which bounds
     * the cache's memory (auth.h). Out of memory only skips the cache. */
    char *copy = n <= BH_AUTH_TOKEN_MAX ? malloc(n) : NULL, *old = copy;
    size_t oldlen = n;
    int64_t until = jwt ? got.expires_ms + a->leeway_ms : INT64_MAX;
    if (copy) {
        memcpy(copy, token, n);
        pthread_mutex_lock(&a->mu);
        if (a->gen == gen) /* else a reload came between: not for the new set */
            old = cache_put(a, hash, copy, n, jwt, until, &got, &oldlen);
        pthread_mutex_unlock(&a->mu);
        wipe_free(old, oldlen);
    }
    tl_keep(a, gen, token, n, until, &got);
    *id = got;
    return 0;
}

/* ---- token new ---- */

int
srv_auth_token_new(const char *name, const char *role, char *token, size_t tlen, char *line,
                   size_t llen, char *err, size_t errlen)
{
    uint8_t raw[32], digest[DIGEST_LEN];
    char tok[64], hx[2 * DIGEST_LEN + 1], q[68];
    enum srv_role r;
    if (!name || !name_ok(name)) {
        errf(err, errlen, "name \"%s\" is not 1..%d of A-Z a-z 0-9 . _ -",
             name ? safe(name, q) : "", SVC_NAME_MAX);
        return -1;
    }
    if (file_role(role ? role : "", &r, err, errlen) != 0)
        return -1;
    if (random_bytes(raw, sizeof(raw), err, errlen) != 0)
        return -1;
    if (b64url_encode(raw, sizeof(raw), tok, sizeof(tok)) != 0)
        return -1;
    sha256(tok, strlen(tok), digest);
    hex(digest, DIGEST_LEN, hx);
    if (strlen(tok) >= tlen || (size_t)snprintf(line, llen, "%s %s %s", name, role, hx) >= llen) {
        errf(err, errlen, "buffer too small");
        return -1;
    }
    memcpy(token, tok, strlen(tok) + 1);
    mbedtls_platform_zeroize(raw, sizeof(raw));
    mbedtls_platform_zeroize(tok, sizeof(tok));
    return 0;
}
