/* SPDX-License-Identifier: Apache-2.0 */
/* server/auth.c: the auth file, service tokens, JWTs against a JWKS, the
 * cache and reload. Every key is made here at start-up with mbedtls (an RSA
 * 2048 key, a second one to forge with, an EC P-256 key: tests/jwtmint),
 * every JWT is signed here, and the files live in a fresh mkdtemp
 * directory. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "jwtmint.h"

#define NOW_S  1700000000LL
#define NOW_MS (NOW_S * 1000)
#define ISS    "https://idp.example/pool"
#define AUD    "bh-api"

static char dir[64];

/* ---- files ---- */

static const char *
path_of(const char *name)
{
    static char p[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
    return p[k];
}

static void
write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* ---- JWTs (tests/jwtmint) ---- */

enum signer {
    S_RSA = JWTMINT_RSA,
    S_RSA_OTHER = JWTMINT_RSA_OTHER,
    S_EC = JWTMINT_EC,
    S_NONE = JWTMINT_NONE,
    S_HS256_PUBKEY = JWTMINT_HS256_PUBKEY,
};

/* header.payload.signature, signed by who; the caller frees it. */
static char *
jwt(const char *header, const char *claims, enum signer who)
{
    return jwtmint_sign(header, claims, (enum jwtmint_signer)who);
}

/* Claims with iss, aud, sub and exp filled unless the extra says them. */
static char *
claims(char *out, size_t cap, const char *extra)
{
    char base[256] = "";
    if (!strstr(extra, "\"iss\""))
        strcat(base, "\"iss\":\"" ISS "\",");
    if (!strstr(extra, "\"aud\""))
        strcat(base, "\"aud\":\"" AUD "\",");
    if (!strstr(extra, "\"sub\""))
        strcat(base, "\"sub\":\"user-1\",");
    if (!strstr(extra, "\"exp\""))
        snprintf(base + strlen(base), sizeof(base) - strlen(base), "\"exp\":%lld,", NOW_S + 3600);
    snprintf(out, cap, "{%s%s}", base, extra);
    if (out[strlen(out) - 2] == ',') { /* no extra: drop the trailing comma */
        out[strlen(out) - 2] = '}';
        out[strlen(out) - 1] = 0;
    }
    return out;
}

static void
write_jwks(const char *name, int with_rsa_other_kid)
{
    char text[2048];
    jwtmint_jwks(with_rsa_other_kid ? "r2" : "r1", text, sizeof(text));
    write_file(name, text);
}

/* ---- fixtures ---- */

static int
group_setup(void **state)
{
    (void)state;
    jwtmint_init();
    snprintf(dir, sizeof(dir), "/tmp/bh-auth-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    const char *files[] = { "auth.txt", "jwks.json", "bad.json" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(path_of(files[i]));
    jwtmint_free();
    return rmdir(dir);
}

/* Opens over the named files of dir (NULL: none); a JWKS comes with ISS
 * and AUD. Returns srv_auth_open's code. */
static int
try_open(srv_auth **a, const char *auth_file, const char *jwks, const char *user_claim,
         size_t cache_max, char *err, size_t errlen)
{
    srv_auth_config cfg;
    srv_auth_config_init(&cfg);
    cfg.auth_file = auth_file ? path_of(auth_file) : NULL;
    if (jwks) {
        cfg.jwks_file = path_of(jwks);
        cfg.jwt_issuer = ISS;
        cfg.jwt_audience = AUD;
    }
    if (user_claim)
        cfg.jwt_user_claim = user_claim;
    if (cache_max)
        cfg.cache_max = cache_max;
    return srv_auth_open(a, &cfg, err, errlen);
}

static srv_auth *
open_auth(const char *auth_file, const char *jwks, const char *user_claim)
{
    srv_auth *a = NULL;
    char err[256];
    if (try_open(&a, auth_file, jwks, user_claim, 0, err, sizeof(err)) != 0)
        fail_msg("srv_auth_open: %s", err);
    return a;
}

/* ---- roles ---- */

static void
test_roles(void **state)
{
    (void)state;
    enum srv_role r = SRV_ROLE_ANONYMOUS;
    for (int i = SRV_ROLE_ANONYMOUS; i <= SRV_ROLE_ADMIN; i++) {
        assert_int_equal(srv_role_parse(srv_role_name((enum srv_role)i), &r), 0);
        assert_int_equal(r, i);
    }
    assert_string_equal(srv_role_name(SRV_ROLE_ADMIN), "admin");
    assert_int_equal(srv_role_parse("root", &r), -1);
    assert_int_equal(srv_role_parse(NULL, &r), -1);
    assert_int_equal(r, SRV_ROLE_ADMIN);
}

/* ---- the auth file ---- */

#define H64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H64B "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

static const struct {
    const char *text;
    const char *err; /* NULL: opens */
} auth_files[] = {
    { "", NULL },
    { "# comment\n\n  \t\n   # indented comment\nweb service " H64 "\nops admin " H64B "\n", NULL },
    { "web\tservice\t" H64 "\r\nops admin " H64B, NULL },
    { "web service " H64 "\nx customer " H64B "\n",
      "auth.txt:2: role \"customer\" comes only from JWTs" },
    { "web root " H64 "\n", "auth.txt:1: role \"root\" is not admin or service" },
    { "\n\nweb service 0123\n", "auth.txt:3: the hash is not 64 hex digits" },
    { "web service " H64 "0\n", "auth.txt:1: the hash is not 64 hex digits" },
    { "web service 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n",
      "auth.txt:1: the hash is not 64 hex digits" },
    { "web service " H64 "\nweb admin " H64B "\n",
      "auth.txt:2: name \"web\" again (first on line 1)" },
    { "web service " H64 "\nops admin " H64 "\n",
      "auth.txt:2: the hash of \"web\" again (line 1)" },
    { "web service\n", "auth.txt:1: want NAME ROLE SHA256_HEX, found 2 fields" },
    { "web service " H64 " extra\n", "auth.txt:1: want NAME ROLE SHA256_HEX, found 4 fields" },
    { "we/b service " H64 "\n", "auth.txt:1: name \"we/b\" is not" },
};

static void
test_auth_file(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(auth_files) / sizeof(auth_files[0]); i++) {
        srv_auth *a = NULL;
        char err[256] = "";
        write_file("auth.txt", auth_files[i].text);
        int rc = try_open(&a, "auth.txt", NULL, NULL, 0, err, sizeof(err));
        if (!auth_files[i].err) {
            if (rc != 0)
                fail_msg("case %zu: %s", i, err);
            assert_int_equal(srv_auth_enabled(a), 1);
            srv_auth_close(a);
            continue;
        }
        assert_int_equal(rc, -1);
        assert_null(a);
        if (!strstr(err, auth_files[i].err))
            fail_msg("case %zu: want \"%s\" in \"%s\"", i, auth_files[i].err, err);
        assert_non_null(strstr(err, dir)); /* the whole path */
    }
}

static void
test_config_errors(void **state)
{
    (void)state;
    static const struct {
        int jwks, iss, aud, leeway;
        const char *err;
    } cases[] = {
        { 1, 0, 1, 30, "a JWKS needs a JWT issuer and audience" },
        { 1, 1, 0, 30, "a JWKS needs a JWT issuer and audience" },
        { 0, 1, 0, 30, "a JWT issuer is set but no JWKS" },
        { 1, 1, 1, -1, "JWT leeway -1 s is not 0..3600" },
    };
    write_jwks("jwks.json", 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        srv_auth_config cfg;
        srv_auth *a = NULL;
        char err[256] = "";
        srv_auth_config_init(&cfg);
        cfg.jwks_file = cases[i].jwks ? path_of("jwks.json") : NULL;
        cfg.jwt_issuer = cases[i].iss ? ISS : NULL;
        cfg.jwt_audience = cases[i].aud ? AUD : NULL;
        cfg.jwt_leeway_s = cases[i].leeway;
        assert_int_equal(srv_auth_open(&a, &cfg, err, sizeof(err)), -1);
        assert_null(a);
        assert_string_equal(err, cases[i].err);
    }
    /* Nothing configured: open mode, and any token is refused. */
    srv_auth_config cfg;
    srv_auth *a = NULL;
    srv_identity id;
    char msg[256];
    srv_auth_config_init(&cfg);
    assert_int_equal(srv_auth_open(&a, &cfg, msg, sizeof(msg)), 0);
    assert_int_equal(srv_auth_enabled(a), 0);
    assert_int_equal(srv_auth_check(a, "", NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(id.role, SRV_ROLE_ANONYMOUS);
    assert_int_equal(srv_auth_check(a, "abc", NOW_MS, &id, msg, sizeof(msg)), -1);
    srv_auth_close(a);
    srv_auth_close(NULL);
}

static void
test_jwks_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *err;
    } cases[] = {
        { "{\"keys\": [\n{\"kty\":\"RSA\",\n\"n\": }]}", "bad.json:3: not valid JSON" },
        { "{\"kids\": []}", "bad.json: not a JWKS (no \"keys\" array)" },
        { "{\"keys\": [{\"kty\":\"oct\",\"k\":\"AAAA\"}]}",
          "bad.json: no RSA or EC P-256 signing key" },
        { "{\"keys\": [{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
          "bad.json: keys[0]: RSA n is 24 bits; 2048..8192 are accepted" },
        { "{\"keys\": [{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQAB\",\"y\":\"AQAB\"}]}",
          "bad.json: keys[0]: EC x and y must be base64url strings of 32 bytes" },
        { "{\"keys\": "
          "[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
          "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
          "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
          "bad.json: keys[0]: not a point of P-256" },
        { "{\"keys\": [7]}", "bad.json: keys[0]: not an object with a kty" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        srv_auth *a = NULL;
        char err[256] = "";
        write_file("bad.json", cases[i].text);
        assert_int_equal(try_open(&a, NULL, "bad.json", NULL, 0, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].err))
            fail_msg("case %zu: want \"%s\" in \"%s\"", i, cases[i].err, err);
    }
}

/* ---- service tokens ---- */

static void
test_service_tokens(void **state)
{
    (void)state;
    char tok[64], tok2[64], line[200], line2[200], text[512], err[256], msg[256];
    srv_identity id;
    assert_int_equal(srv_auth_token_new("billing", "service", tok, sizeof(tok), line, sizeof(line),
                                        err, sizeof(err)),
                     0);
    assert_int_equal(strlen(tok), 43);
    assert_int_equal(
        strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_int_equal(strncmp(line, "billing service ", 16), 0);
    assert_int_equal(strlen(line), 16 + 64);
    assert_null(strstr(line, tok));
    assert_int_equal(srv_auth_token_new("ops", "admin", tok2, sizeof(tok2), line2, sizeof(line2),
                                        err, sizeof(err)),
                     0);
    assert_string_not_equal(tok, tok2);

    /* Bad arguments say why. */
    assert_int_equal(srv_auth_token_new("ops", "customer", tok2, sizeof(tok2), line2, sizeof(line2),
                                        err, sizeof(err)),
                     -1);
    assert_string_equal(err, "role \"customer\" comes only from JWTs");
    assert_int_equal(srv_auth_token_new("a b", "admin", tok2, sizeof(tok2), line2, sizeof(line2),
                                        err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "name \"a b\" is not"));
    assert_int_equal(
        srv_auth_token_new("ops", "admin", tok2, 43, line2, sizeof(line2), err, sizeof(err)), -1);

    snprintf(text, sizeof(text), "# made by token new\n%s\n", line);
    write_file("auth.txt", text);
    srv_auth *a = open_auth("auth.txt", NULL, NULL);
    assert_int_equal(srv_auth_check(a, tok, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(id.role, SRV_ROLE_SERVICE);
    assert_string_equal(id.scope, "svc:billing");
    assert_string_equal(id.name, "billing");
    assert_string_equal(id.user_id, "");
    assert_int_equal(id.expires_ms, 0);

    /* Another token, or the same one cut short, is refused, and the message
     * does not quote it. */
    const char *bad[] = { tok2, "x", "billing" };
    char cut[64];
    snprintf(cut, sizeof(cut), "%.42s", tok);
    for (size_t i = 0; i < 3; i++) {
        memset(&id, 0x5a, sizeof(id));
        assert_int_equal(srv_auth_check(a, bad[i], NOW_MS, &id, msg, sizeof(msg)), -1);
        assert_string_equal(msg, "token is not a known service token or a valid JWT: no service "
                                 "token matches");
        assert_int_equal(id.scope[0], 0x5a); /* untouched */
    }
    assert_int_equal(srv_auth_check(a, cut, NOW_MS, &id, msg, sizeof(msg)), -1);
    /* A JWT where no JWKS is configured. */
    assert_int_equal(srv_auth_check(a, "a.b.c", NOW_MS, &id, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "token is not a known service token or a valid JWT: no JWKS is "
                             "configured");
    /* Empty is anonymous. */
    assert_int_equal(srv_auth_check(a, "", NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(id.role, SRV_ROLE_ANONYMOUS);
    assert_string_equal(id.scope, "");
    srv_auth_close(a);
}

/* ---- JWTs ---- */

#define RS_R1 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"r1\"}"
#define ES_E1 "{\"alg\":\"ES256\",\"kid\":\"e1\"}"

static const struct jcase {
    const char *what, *header, *extra;
    enum signer who;
    const char *err;    /* NULL: accepted */
    enum srv_role role; /* when accepted */
    const char *user;   /* when accepted */
} jcases[] = {
    { "valid RS256", RS_R1, "", S_RSA, NULL, SRV_ROLE_CUSTOMER, "user-1" },
    { "valid ES256", ES_E1, "", S_EC, NULL, SRV_ROLE_CUSTOMER, "user-1" },
    { "no kid, one RSA key", "{\"alg\":\"RS256\"}", "", S_RSA, NULL, SRV_ROLE_CUSTOMER, "user-1" },
    { "expired", RS_R1, "\"exp\":1699996400", S_RSA, "expired 3600 s ago" },
    { "expired past the leeway", RS_R1, "\"exp\":1699999969", S_RSA, "expired 31 s ago" },
    { "expired within the leeway", RS_R1, "\"exp\":1699999971", S_RSA, NULL, SRV_ROLE_CUSTOMER,
      "user-1" },
    { "not yet valid", RS_R1, "\"nbf\":1700003600", S_RSA, "not valid for another 3600 s" },
    { "nbf within the leeway", ES_E1, "\"nbf\":1700000029", S_EC, NULL, SRV_ROLE_CUSTOMER,
      "user-1" },
    { "no exp", RS_R1, "\"exp\":\"tomorrow\"", S_RSA, "exp is missing or not a time" },
    { "wrong issuer", RS_R1, "\"iss\":\"https://evil.example\"", S_RSA,
      "iss \"https://evil.example\" is not the configured issuer" },
    { "wrong audience", RS_R1, "\"aud\":\"other\"", S_RSA,
      "aud does not name the configured audience" },
    { "no audience", RS_R1, "\"aud\":[]", S_RSA, "aud does not name the configured audience" },
    { "audience array", ES_E1, "\"aud\":[\"other\",\"" AUD "\"]", S_EC, NULL, SRV_ROLE_CUSTOMER,
      "user-1" },
    { "bad signature", RS_R1, "", S_RSA_OTHER, "bad signature" },
    { "ES256 header, RSA signature", ES_E1, "", S_RSA, "bad signature" },
    { "alg none", "{\"alg\":\"none\",\"kid\":\"r1\"}", "", S_NONE,
      "alg \"none\" is refused: only RS256 and ES256 are accepted" },
    { "no alg", "{\"kid\":\"r1\"}", "", S_RSA, "alg \"\" is refused" },
    { "HS256 with the public key", "{\"alg\":\"HS256\",\"kid\":\"r1\"}", "", S_HS256_PUBKEY,
      "alg \"HS256\" is refused: only RS256 and ES256 are accepted" },
    { "HS256 naming the oct key", "{\"alg\":\"HS256\",\"kid\":\"h1\"}", "", S_HS256_PUBKEY,
      "alg \"HS256\" is refused" },
    { "PS256", "{\"alg\":\"PS256\",\"kid\":\"r1\"}", "", S_RSA, "alg \"PS256\" is refused" },
    { "unknown kid", "{\"alg\":\"RS256\",\"kid\":\"zz\"}", "", S_RSA,
      "kid \"zz\" is not in the JWKS" },
    { "kid of an encryption key", "{\"alg\":\"RS256\",\"kid\":\"enc1\"}", "", S_RSA,
      "kid \"enc1\" is not in the JWKS" },
    { "kid of the other type", "{\"alg\":\"RS256\",\"kid\":\"e1\"}", "", S_RSA,
      "kid \"e1\" is not a key for its alg" },
    { "crit", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"b64\"]}", "", S_RSA,
      "the header has crit extensions" },
    { "admin group", RS_R1, "\"cognito:groups\":[\"staff\",\"bilheteria-admin\"]", S_RSA, NULL,
      SRV_ROLE_ADMIN, "" },
    { "admin group as a string", ES_E1, "\"cognito:groups\":\"bilheteria-admin\"", S_EC, NULL,
      SRV_ROLE_ADMIN, "" },
    { "other groups", RS_R1, "\"cognito:groups\":[\"staff\"]", S_RSA, NULL, SRV_ROLE_CUSTOMER,
      "user-1" },
    { "no sub", RS_R1, "\"sub\":7", S_RSA, "sub is missing" },
    { "sub with a newline", RS_R1, "\"sub\":\"a\\nb\"", S_RSA, "sub is missing" },
};

static void
check_refused(srv_auth *a, const char *tok, const char *want, const char *what)
{
    srv_identity id;
    char msg[256];
    if (srv_auth_check(a, tok, NOW_MS, &id, msg, sizeof(msg)) == 0)
        fail_msg("%s: accepted", what);
    if (strncmp(msg, "token is not a known service token or a valid JWT: ", 51) != 0 ||
        !strstr(msg, want))
        fail_msg("%s: want \"%s\" in \"%s\"", what, want, msg);
    /* Neither the token nor its signature is echoed. */
    assert_null(strstr(msg, tok));
    const char *sig = strrchr(tok, '.');
    if (sig && strlen(sig + 1) >= 8)
        assert_null(strstr(msg, sig + 1));
}

static void
test_jwts(void **state)
{
    (void)state;
    char c[512];
    write_jwks("jwks.json", 0);
    srv_auth *a = open_auth(NULL, "jwks.json", NULL);
    for (size_t i = 0; i < sizeof(jcases) / sizeof(jcases[0]); i++) {
        const struct jcase *k = &jcases[i];
        char *tok = jwt(k->header, claims(c, sizeof(c), k->extra), k->who);
        if (k->err) {
            check_refused(a, tok, k->err, k->what);
        } else {
            srv_identity id;
            char msg[256];
            if (srv_auth_check(a, tok, NOW_MS, &id, msg, sizeof(msg)) != 0)
                fail_msg("%s: %s", k->what, msg);
            assert_int_equal(id.role, k->role);
            assert_string_equal(id.user_id, k->user);
            assert_string_equal(id.name, "user-1");
            assert_string_equal(id.scope, "jwt:" ISS "|user-1");
            assert_true(id.expires_ms > 0);
        }
        free(tok);
    }

    /* Tampered payload: a valid token's claims swapped for another user's. */
    char *good = jwt(RS_R1, claims(c, sizeof(c), ""), S_RSA);
    char *evil = jwt(RS_R1, claims(c, sizeof(c), "\"sub\":\"user-2\""), S_RSA);
    char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.'), *e1 = strchr(evil, '.'),
         *e2 = strrchr(evil, '.');
    char forged[4096];
    snprintf(forged, sizeof(forged), "%.*s%.*s%s", (int)(d1 - good), good, (int)(e2 - e1), e1, d2);
    check_refused(a, forged, "bad signature", "tampered payload");
    /* Malformed. */
    check_refused(a, "a.b", "not a JWS compact serialization", "two parts");
    check_refused(a, "a.b.c.d", "not a JWS compact serialization", "four parts");
    check_refused(a, "!!.b.c", "the header is not base64url JSON", "not base64url");
    check_refused(a, "WzFd.e30.AAAA", "the header is not base64url JSON", "header not an object");
    char trunc[4096];
    snprintf(trunc, sizeof(trunc), "%.*s", (int)(strlen(good) - 2), good);
    check_refused(a, trunc, "bad signature", "truncated signature");
    free(good);
    free(evil);
    srv_auth_close(a);
}

static void
test_user_claim(void **state)
{
    (void)state;
    char c[512], msg[256];
    srv_identity id;
    write_jwks("jwks.json", 0);
    srv_auth *a = open_auth(NULL, "jwks.json", "custom:uid");
    char *tok = jwt(ES_E1, claims(c, sizeof(c), "\"custom:uid\":\"u-42\""), S_EC);
    assert_int_equal(srv_auth_check(a, tok, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(id.role, SRV_ROLE_CUSTOMER);
    assert_string_equal(id.user_id, "u-42");
    assert_string_equal(id.name, "user-1");
    assert_string_equal(id.scope, "jwt:" ISS "|user-1");
    free(tok);
    tok = jwt(ES_E1, claims(c, sizeof(c), ""), S_EC);
    check_refused(a, tok, "claim \"custom:uid\" (the user id) is missing", "no user claim");
    free(tok);
    srv_auth_close(a);
}

static void
test_cache(void **state)
{
    (void)state;
    char c[512], msg[256];
    srv_identity id;
    srv_auth_stats st;
    write_jwks("jwks.json", 0);
    srv_auth *a = open_auth(NULL, "jwks.json", NULL);
    char *tok = jwt(RS_R1, claims(c, sizeof(c), ""), S_RSA);
    assert_int_equal(srv_auth_check(a, tok, NOW_MS, &id, msg, sizeof(msg)), 0);
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.jwt_verifies, 1);
    assert_int_equal(st.cache_hits, 0);
    assert_int_equal(st.cache_entries, 1);
    memset(&id, 0, sizeof(id));
    assert_int_equal(srv_auth_check(a, tok, NOW_MS + 1000, &id, msg, sizeof(msg)), 0);
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.jwt_verifies, 1); /* no second signature check */
    assert_int_equal(st.cache_hits, 1);
    assert_string_equal(id.user_id, "user-1");
    assert_int_equal(id.expires_ms, (NOW_S + 3600) * 1000);
    /* Past exp + leeway the cached entry does not answer. */
    assert_int_equal(srv_auth_check(a, tok, (NOW_S + 3600 + 31) * 1000, &id, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "expired 31 s ago"));
    /* Refused tokens are not cached. */
    char *bad = jwt(RS_R1, claims(c, sizeof(c), ""), S_RSA_OTHER);
    check_refused(a, bad, "bad signature", "bad");
    check_refused(a, bad, "bad signature", "bad again");
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.jwt_verifies, 4);
    assert_int_equal(st.cache_entries, 1);
    free(bad);
    free(tok);
    srv_auth_close(a);

    /* Bounded: with room for 2, the oldest goes first. */
    assert_int_equal(try_open(&a, NULL, "jwks.json", NULL, 2, msg, sizeof(msg)), 0);
    char *t[3];
    for (int i = 0; i < 3; i++) {
        char extra[64];
        snprintf(extra, sizeof(extra), "\"sub\":\"u%d\"", i);
        t[i] = jwt(ES_E1, claims(c, sizeof(c), extra), S_EC);
        assert_int_equal(srv_auth_check(a, t[i], NOW_MS, &id, msg, sizeof(msg)), 0);
    }
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.cache_entries, 2);
    assert_int_equal(st.jwt_verifies, 3);
    assert_int_equal(srv_auth_check(a, t[2], NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(srv_auth_check(a, t[1], NOW_MS, &id, msg, sizeof(msg)), 0);
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.jwt_verifies, 3);
    assert_int_equal(srv_auth_check(a, t[0], NOW_MS, &id, msg, sizeof(msg)), 0); /* evicted */
    assert_string_equal(id.name, "u0");
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.jwt_verifies, 4);
    assert_int_equal(st.cache_entries, 2);
    for (int i = 0; i < 3; i++)
        free(t[i]);
    srv_auth_close(a);
}

static void
test_reload(void **state)
{
    (void)state;
    char tok1[64], tok2[64], l1[200], l2[200], text[512], err[256], msg[256], c[512];
    srv_identity id;
    srv_auth_stats st;
    assert_int_equal(
        srv_auth_token_new("a", "service", tok1, sizeof(tok1), l1, sizeof(l1), err, sizeof(err)),
        0);
    assert_int_equal(
        srv_auth_token_new("b", "admin", tok2, sizeof(tok2), l2, sizeof(l2), err, sizeof(err)), 0);
    snprintf(text, sizeof(text), "%s\n", l1);
    write_file("auth.txt", text);
    write_jwks("jwks.json", 0);
    srv_auth *a = open_auth("auth.txt", "jwks.json", NULL);
    char *tok = jwt(RS_R1, claims(c, sizeof(c), ""), S_RSA);
    assert_int_equal(srv_auth_check(a, tok, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(srv_auth_check(a, tok2, NOW_MS, &id, msg, sizeof(msg)), -1);

    /* A broken file: the old set stays. */
    snprintf(text, sizeof(text), "%s\n%s\nc nobody " H64 "\n", l1, l2);
    write_file("auth.txt", text);
    assert_int_equal(srv_auth_reload(a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "auth.txt:3: role \"nobody\" is not admin or service"));
    assert_int_equal(srv_auth_check(a, tok1, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(srv_auth_check(a, tok2, NOW_MS, &id, msg, sizeof(msg)), -1);
    assert_int_equal(srv_auth_check(a, tok, NOW_MS, &id, msg, sizeof(msg)), 0);
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.reloads, 0);
    assert_int_equal(st.cache_hits, 1);

    /* A good one: tok2 comes in, tok1 goes, the JWKS's kid changes, the
     * cache is emptied. */
    snprintf(text, sizeof(text), "%s\n", l2);
    write_file("auth.txt", text);
    write_jwks("jwks.json", 1);
    assert_int_equal(srv_auth_reload(a, err, sizeof(err)), 0);
    assert_int_equal(srv_auth_check(a, tok2, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(id.role, SRV_ROLE_ADMIN);
    assert_string_equal(id.scope, "svc:b");
    assert_int_equal(srv_auth_check(a, tok1, NOW_MS, &id, msg, sizeof(msg)), -1);
    check_refused(a, tok, "kid \"r1\" is not in the JWKS", "kid gone after reload");
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.reloads, 1);
    assert_int_equal(st.cache_entries, 0);
    free(tok);
    srv_auth_close(a);
}

/* A copy of tok with the byte at `at` changed; the caller frees it. */
static char *
one_off(const char *tok, size_t at)
{
    char *t = strdup(tok);
    assert_non_null(t);
    t[at] = t[at] == 'A' ? 'B' : 'A';
    return t;
}

/* Service tokens go through the cache too: the first check hashes the
 * token and scans the auth file's set, the next ones do not. A token of
 * the same length that differs is not taken for it, and a reload that
 * drops a token ends it even though it was cached. */
static void
test_service_cache(void **state)
{
    (void)state;
    char tok1[64], tok2[64], l1[200], l2[200], text[512], err[256], msg[256];
    srv_identity id;
    srv_auth_stats st;
    assert_int_equal(
        srv_auth_token_new("a", "service", tok1, sizeof(tok1), l1, sizeof(l1), err, sizeof(err)),
        0);
    assert_int_equal(
        srv_auth_token_new("b", "admin", tok2, sizeof(tok2), l2, sizeof(l2), err, sizeof(err)), 0);
    snprintf(text, sizeof(text), "%s\n%s\n", l1, l2);
    write_file("auth.txt", text);
    srv_auth *a = open_auth("auth.txt", NULL, NULL);

    assert_int_equal(srv_auth_check(a, tok1, NOW_MS, &id, msg, sizeof(msg)), 0);
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.svc_scans, 1);
    assert_int_equal(st.svc_cache_hits, 0);
    assert_int_equal(st.svc_cache_entries, 1);
    assert_int_equal(st.cache_entries, 0); /* JWTs only */
    memset(&id, 0, sizeof(id));
    assert_int_equal(srv_auth_check(a, tok1, NOW_MS + 1000, &id, msg, sizeof(msg)), 0);
    assert_int_equal(id.role, SRV_ROLE_SERVICE);
    assert_string_equal(id.scope, "svc:a");
    assert_string_equal(id.name, "a");
    assert_int_equal(id.expires_ms, 0);
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.svc_scans, 1); /* not hashed again */
    assert_int_equal(st.svc_cache_hits, 1);
    assert_int_equal(st.cache_hits, 0);

    /* The same length, one byte off (first, middle, last): not a hit, and
     * refused; refusals are not cached. */
    size_t n = strlen(tok1);
    size_t at[] = { 0, n / 2, n - 1 };
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        char *near = one_off(tok1, at[i]);
        assert_int_equal(srv_auth_check(a, near, NOW_MS, &id, msg, sizeof(msg)), -1);
        assert_string_equal(msg, "token is not a known service token or a valid JWT: no service "
                                 "token matches");
        free(near);
    }
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.svc_scans, 4);
    assert_int_equal(st.svc_cache_hits, 1);
    assert_int_equal(st.svc_cache_entries, 1);
    /* Another known token of the same length gets its own identity. */
    assert_int_equal(srv_auth_check(a, tok2, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_string_equal(id.scope, "svc:b");
    assert_int_equal(srv_auth_check(a, tok2, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(id.role, SRV_ROLE_ADMIN);
    assert_string_equal(id.scope, "svc:b");
    assert_int_equal(srv_auth_check(a, tok1, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_string_equal(id.scope, "svc:a");
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.svc_scans, 5);
    assert_int_equal(st.svc_cache_hits, 3);
    assert_int_equal(st.svc_cache_entries, 2);

    /* tok1 leaves the auth file: cached or not, it stops working. */
    snprintf(text, sizeof(text), "%s\n", l2);
    write_file("auth.txt", text);
    assert_int_equal(srv_auth_reload(a, err, sizeof(err)), 0);
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.svc_cache_entries, 0);
    memset(&id, 0x5a, sizeof(id));
    assert_int_equal(srv_auth_check(a, tok1, NOW_MS, &id, msg, sizeof(msg)), -1);
    assert_int_equal(id.scope[0], 0x5a);
    assert_int_equal(srv_auth_check(a, tok1, NOW_MS, &id, msg, sizeof(msg)), -1);
    assert_int_equal(srv_auth_check(a, tok2, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_string_equal(id.scope, "svc:b");
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.svc_scans, 8);
    assert_int_equal(st.svc_cache_hits, 3);
    assert_int_equal(st.svc_cache_entries, 1);
    srv_auth_close(a);
}

/* A JWT of the same length as a cached one, one byte off, is not answered
 * from the cache: its signature is checked, and fails. */
static void
test_cache_same_length(void **state)
{
    (void)state;
    char c[512], msg[256];
    srv_identity id;
    srv_auth_stats st;
    write_jwks("jwks.json", 0);
    srv_auth *a = open_auth(NULL, "jwks.json", NULL);
    char *tok = jwt(RS_R1, claims(c, sizeof(c), ""), S_RSA);
    assert_int_equal(srv_auth_check(a, tok, NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_int_equal(srv_auth_check(a, tok, NOW_MS, &id, msg, sizeof(msg)), 0);
    char *sig = strrchr(tok, '.') + 1;
    size_t at[] = { 0, strlen(sig) / 2 };
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        char *near = one_off(tok, (size_t)(sig - tok) + at[i]);
        check_refused(a, near, "bad signature", "one byte off");
        free(near);
    }
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.jwt_verifies, 3);
    assert_int_equal(st.cache_hits, 1);
    assert_int_equal(st.cache_entries, 1);
    free(tok);
    srv_auth_close(a);
}

/* Every token in one chain (srv_auth__test_collide): only the whole-token
 * compare tells them apart, to the last byte; eviction unlinks from the
 * shared chain. */
static void
test_cache_collisions(void **state)
{
    (void)state;
    char tok[3][64], line[3][200], text[1024], err[256], msg[256];
    const char *names[3] = { "a", "b", "c" };
    srv_identity id;
    srv_auth_stats st;
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_auth_token_new(names[i], "service", tok[i], sizeof(tok[i]), line[i],
                                            sizeof(line[i]), err, sizeof(err)),
                         0);
    snprintf(text, sizeof(text), "%s\n%s\n%s\n", line[0], line[1], line[2]);
    write_file("auth.txt", text);
    srv_auth *a = NULL;
    assert_int_equal(try_open(&a, "auth.txt", NULL, NULL, 2, err, sizeof(err)), 0);
    srv_auth__test_collide(a);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 2; i++) {
            assert_int_equal(srv_auth_check(a, tok[i], NOW_MS, &id, msg, sizeof(msg)), 0);
            assert_string_equal(id.name, names[i]);
        }
    }
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.svc_scans, 2);
    assert_int_equal(st.svc_cache_hits, 2);
    size_t n = strlen(tok[0]);
    size_t at[] = { 0, 7, 8, n / 2, n - 4, n - 1 }; /* word edges and the tail */
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        char *near = one_off(tok[0], at[i]);
        assert_int_equal(srv_auth_check(a, near, NOW_MS, &id, msg, sizeof(msg)), -1);
        free(near);
    }
    /* A prefix and an extension of a cached token. */
    char cut[64], longer[80];
    snprintf(cut, sizeof(cut), "%.*s", (int)n - 1, tok[0]);
    snprintf(longer, sizeof(longer), "%sA", tok[0]);
    assert_int_equal(srv_auth_check(a, cut, NOW_MS, &id, msg, sizeof(msg)), -1);
    assert_int_equal(srv_auth_check(a, longer, NOW_MS, &id, msg, sizeof(msg)), -1);
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.svc_scans, 4 + sizeof(at) / sizeof(at[0]));
    assert_int_equal(st.svc_cache_hits, 2);
    /* A third token evicts the oldest (a) from the chain; b still hits. */
    assert_int_equal(srv_auth_check(a, tok[2], NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_string_equal(id.name, "c");
    assert_int_equal(srv_auth_check(a, tok[1], NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_string_equal(id.name, "b");
    assert_int_equal(srv_auth_check(a, tok[0], NOW_MS, &id, msg, sizeof(msg)), 0);
    assert_string_equal(id.name, "a");
    srv_auth_stats_get(a, &st);
    assert_int_equal(st.svc_scans, 6 + sizeof(at) / sizeof(at[0]));
    assert_int_equal(st.svc_cache_hits, 3);
    assert_int_equal(st.svc_cache_entries, 2);
    srv_auth_close(a);
}

/* Checks on two threads while the main one reloads: every check of a token
 * present in both sets succeeds (run under the sanitizers too). */
struct hammer {
    srv_auth *a;
    const char *tok[2];
    int fails;
};

static void *
hammer_run(void *p)
{
    struct hammer *h = p;
    for (int i = 0; i < 2000; i++) {
        srv_identity id;
        char msg[256];
        if (srv_auth_check(h->a, h->tok[i % 2], NOW_MS, &id, msg, sizeof(msg)) != 0)
            h->fails++;
    }
    return NULL;
}

static void
test_reload_concurrent(void **state)
{
    (void)state;
    char tok1[64], l1[200], text[512], err[256], c[512];
    assert_int_equal(
        srv_auth_token_new("a", "service", tok1, sizeof(tok1), l1, sizeof(l1), err, sizeof(err)),
        0);
    snprintf(text, sizeof(text), "%s\n", l1);
    write_file("auth.txt", text);
    write_jwks("jwks.json", 0);
    srv_auth *a = open_auth("auth.txt", "jwks.json", NULL);
    char *tok = jwt(ES_E1, claims(c, sizeof(c), ""), S_EC);
    struct hammer h[2] = { { a, { tok1, tok }, 0 }, { a, { tok, tok1 }, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(srv_auth_reload(a, err, sizeof(err)), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(h[i].fails, 0);
    }
    free(tok);
    srv_auth_close(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_auth_file),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_jwks_errors),
        cmocka_unit_test(test_service_tokens),
        cmocka_unit_test(test_jwts),
        cmocka_unit_test(test_user_claim),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_reload_concurrent),
        cmocka_unit_test(test_service_cache),
        cmocka_unit_test(test_cache_same_length),
        cmocka_unit_test(test_cache_collisions),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
