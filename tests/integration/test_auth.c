/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Access control against a real server: an auth file with an admin and a
 * service token, a JWKS of keys this test makes (tests/jwtmint), and the
 * customers' JWTs it signs. Every method is called by every role, JWTs
 * that must be refused are, customers stay within their own reservations,
 * idempotency keys are per identity, SIGHUP reloads the credentials
 * without dropping calls, and open mode keeps to loopback.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bilheteria/services.h"
#include "harness.h"
#include "jwtmint.h"

#define ISS "https://idp.example/pool"
#define AUD "bh-api"

#define LIST_EVENTS  "bilheteria.v1.EventService/ListEvents"
#define HEALTH_CHECK "bilheteria.v1.HealthService/Check"

#define ADMIN_TOKEN   "adm-0123456789abcdefghijklmnopqrstuv"
#define SERVICE_TOKEN "svc-0123456789abcdefghijklmnopqrstuv"
#define NEW_TOKEN     "new-0123456789abcdefghijklmnopqrstuv"

static char dir[64];
static char auth_path[128], jwks_path[128];
static bht_server srv, pub; /* auth on; the same with --public-reads */
static char *alice, *bob;   /* customers' JWTs */

/* ---- files and tokens ---- */

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* The auth file with one line per "NAME ROLE TOKEN" given, NULL-ended. */
static void
write_auth(const char *first, ...)
{
    char text[1024] = "# written by test_auth\n", name[32], role[32], tok[128], hex[65];
    va_list ap;
    va_start(ap, first);
    for (const char *l = first; l != NULL; l = va_arg(ap, const char *)) {
        assert_int_equal(sscanf(l, "%31s %31s %127s", name, role, tok), 3);
        jwtmint_sha256_hex(tok, hex);
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s %s %s\n", name, role, hex);
    }
    va_end(ap);
    write_text(auth_path, text);
}

/* A JWT signed by who with the header given, its claims made of iss, aud,
 * sub and exp (one hour from now) unless extra (more JSON members) says
 * them. Caller frees. */
static char *
jwt_as(const char *header, enum jwtmint_signer who, const char *extra)
{
    size_t room = 512 + strlen(extra);
    char *claims = malloc(room + 1), *p = claims + 1, *tok;
    int n;
    assert_non_null(claims);
    claims[0] = '{';
#define ADD(...) (n = snprintf(p, room, __VA_ARGS__), p += n, room -= (size_t)n)
    if (!strstr(extra, "\"iss\""))
        ADD("\"iss\":\"%s\",", ISS);
    if (!strstr(extra, "\"aud\""))
        ADD("\"aud\":\"%s\",", AUD);
    if (!strstr(extra, "\"exp\""))
        ADD("\"exp\":%lld,", (long long)time(NULL) + 3600);
    ADD("%s", extra);
#undef ADD
    if (p[-1] == ',')
        p--;
    snprintf(p, room, "}");
    tok = jwtmint_sign(header, claims, who);
    free(claims);
    return tok;
}

#define RS_R1 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"r1\"}"
#define ES_E1 "{\"alg\":\"ES256\",\"kid\":\"e1\"}"

static char *
customer(const char *sub)
{
    char extra[128];
    snprintf(extra, sizeof(extra), "\"sub\":\"%s\"", sub);
    return jwt_as(RS_R1, JWTMINT_RSA, extra);
}

/* Calls method with an empty request (and a key, for methods that need
 * one); returns the code, the message in st. */
static int
call_empty(bh_client *c, const char *method, bh_status *st)
{
    const bh_method_rules *r = bh_find_method_rules(method);
    bh_call_opts o = { .idempotency_key = r && r->idempotency_key_required ? "k-empty" : NULL };
    uint8_t *resp = NULL;
    size_t len = 0;
    int rc = bh_call_raw(c, method, (const uint8_t *)"", 0, &resp, &len, &o, st);
    free(resp);
    return rc;
}

static const char *const server_flags[] = {
    "--auth-file", auth_path, "--jwks", jwks_path, "--jwt-issuer", ISS, "--jwt-audience", AUD, NULL
};
static const char *const public_flags[] = {
    "--auth-file", auth_path,        "--jwks", jwks_path,        "--jwt-issuer",
    ISS,           "--jwt-audience", AUD,      "--public-reads", NULL
};

static int
group_setup(void **state)
{
    (void)state;
    char jwks[2048];
    jwtmint_init();
    snprintf(dir, sizeof(dir), "/tmp/bh-authz-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(auth_path, sizeof(auth_path), "%s/auth.txt", dir);
    snprintf(jwks_path, sizeof(jwks_path), "%s/jwks.json", dir);
    write_auth("ops admin " ADMIN_TOKEN, "web service " SERVICE_TOKEN, NULL);
    jwtmint_jwks("r1", jwks, sizeof(jwks));
    write_text(jwks_path, jwks);
    alice = customer("alice");
    bob = customer("bob");
    memset(&srv, 0, sizeof(srv));
    memset(&pub, 0, sizeof(pub));
    return bht_start(&srv, server_flags) == 0 && bht_start(&pub, public_flags) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    int rc = bht_cleanup(&srv) | bht_cleanup(&pub);
    free(alice);
    free(bob);
    unlink(auth_path);
    unlink(jwks_path);
    rmdir(dir);
    jwtmint_free();
    return rc;
}

/* ---- every method x every role ---- */

enum { ADM, SVC, CUS, ANON, PUB, NROLES };
static const char *const role_names[NROLES] = { "admin", "service", "customer", "anonymous",
                                                "anonymous --public-reads" };

/* 'A' allowed (the call may still fail, but not for who made it), 'U'
 * UNAUTHENTICATED, 'P' PERMISSION_DENIED. Written out by hand: the
 * .proto's roles are what is under test. */
static const struct {
    const char *method;
    const char want[NROLES + 1]; /* admin service customer anonymous public */
} matrix[] = {
    { "bilheteria.v1.EventService/CreateEvent", "APPUU" },
    { "bilheteria.v1.EventService/GetEvent", "AAAUA" },
    { "bilheteria.v1.EventService/ListEvents", "AAAUA" },
    { "bilheteria.v1.EventService/UpdateEvent", "APPUU" },
    { "bilheteria.v1.SessionService/CreateSession", "APPUU" },
    { "bilheteria.v1.SessionService/GetSession", "AAAUA" },
    { "bilheteria.v1.SessionService/ListSessions", "AAAUA" },
    { "bilheteria.v1.SessionService/GetSeatMap", "AAAUA" },
    { "bilheteria.v1.SessionService/UpdateSession", "APPUU" },
    { "bilheteria.v1.SessionService/CancelSession", "APPUU" },
    { "bilheteria.v1.ProductService/CreateProduct", "APPUU" },
    { "bilheteria.v1.ProductService/ListProducts", "AAAUA" },
    { "bilheteria.v1.ProductService/UpdateProduct", "APPUU" },
    { "bilheteria.v1.ReservationService/CreateReservation", "AAAUU" },
    { "bilheteria.v1.ReservationService/GetReservation", "AAAUU" },
    { "bilheteria.v1.ReservationService/ListReservations", "AAAUU" },
    { "bilheteria.v1.ReservationService/CancelReservation", "AAAUU" },
    { "bilheteria.v1.PaymentService/ConfirmPayment", "AAAUU" },
    { "bilheteria.v1.PaymentService/GetPayment", "AAAUU" },
    { "bilheteria.v1.PaymentService/RefundPayment", "AAPUU" },
    { "bilheteria.v1.HealthService/Check", "AAAAA" },
    { "bilheteria.v1.AdminService/Backup", "APPUU" },
    { "bilheteria.v1.AdminService/Stats", "APPUU" },
    { "bilheteria.v1.CouponService/CreateCoupon", "APPUU" },
    { "bilheteria.v1.CouponService/GetCoupon", "AAPUU" },
    { "bilheteria.v1.CouponService/ListCoupons", "AAPUU" },
    { "bilheteria.v1.CouponService/DeactivateCoupon", "APPUU" },
    { "bilheteria.v1.CouponService/CreateComboRule", "APPUU" },
    { "bilheteria.v1.CouponService/CreateQuantityRule", "APPUU" },
    { "bilheteria.v1.CouponService/ListRules", "AAPUU" },
    { "bilheteria.v1.CouponService/DeactivateRule", "APPUU" },
    { "bilheteria.v1.WaitlistService/JoinWaitlist", "AAAUU" },
    { "bilheteria.v1.WaitlistService/LeaveWaitlist", "AAAUU" },
    { "bilheteria.v1.WaitlistService/GetWaitlistEntry", "AAAUU" },
    { "bilheteria.v1.WaitlistService/ListWaitlist", "AAPUU" },
    { "bilheteria.v1.FeedService/ListChanges", "AAPUU" },
    { "bilheteria.v1.ReportService/GetSalesReport", "APPUU" },
    { "bilheteria.v1.ReportService/RecommendProducts", "AAAUA" },
};
#define NMATRIX (sizeof(matrix) / sizeof(matrix[0]))

static void
test_matrix(void **state)
{
    (void)state;
    bh_client *c[NROLES] = {
        bht_client_as(&srv, ADMIN_TOKEN), bht_client_as(&srv, SERVICE_TOKEN),
        bht_client_as(&srv, alice),       bht_client_as(&srv, NULL),
        bht_client_as(&pub, NULL),
    };
    /* The table names every method the server has, once. */
    size_t n = 0;
    for (size_t s = 0; bh_services[s] != NULL; s++)
        n += bh_services[s]->n_methods;
    assert_int_equal(n, NMATRIX);
    for (size_t i = 0; i < NMATRIX; i++) {
        assert_non_null(bh_find_method_rules(matrix[i].method));
        for (int r = 0; r < NROLES; r++) {
            bh_status st;
            int rc = call_empty(c[r], matrix[i].method, &st);
            char w = matrix[i].want[r];
            int ok = w == 'A'   ? rc != BH_UNAUTHENTICATED && rc != BH_PERMISSION_DENIED
                     : w == 'U' ? rc == BH_UNAUTHENTICATED
                                : rc == BH_PERMISSION_DENIED;
            if (!ok)
                fail_msg("%s as %s: %s \"%s\"; want %s", matrix[i].method, role_names[r],
                         bh_code_name(rc), st.message,
                         w == 'A'   ? "allowed"
                         : w == 'U' ? "UNAUTHENTICATED"
                                    : "PERMISSION_DENIED");
            /* A refusal names who and what. */
            if (w == 'P' && (!strstr(st.message, "role ") || !strstr(st.message, role_names[r]) ||
                             !strstr(st.message, matrix[i].method)))
                fail_msg("%s as %s: message \"%s\" names neither", matrix[i].method, role_names[r],
                         st.message);
        }
    }
    for (int r = 0; r < NROLES; r++)
        bh_client_close(c[r]);
}

/* Health.Check answers anyone, but only admins see the counters: not a
 * service, a customer or an anonymous caller. */
static void
test_health_anonymous(void **state)
{
    (void)state;
    bh_client *c[] = { bht_client_as(&srv, ADMIN_TOKEN), bht_client_as(&srv, SERVICE_TOKEN),
                       bht_client_as(&srv, alice), bht_client_as(&srv, NULL) };
    bht_event(c[0], "health counters");
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
        Bilheteria__V1__CheckResponse *r = NULL;
        bh_status st;
        assert_int_equal(bh_health_check(c[i], &rq, &r, NULL, &st), BH_OK);
        assert_int_equal(r->status, BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
        assert_string_equal(r->version, BH_VERSION);
        if (i == 0)
            assert_true(r->writes > 0 && r->commits > 0 && r->uptime_ms >= 0 && r->now_ms > 0 &&
                        r->schema_version > 0);
        else
            assert_true(r->writes == 0 && r->commits == 0 && r->now_ms == 0 && r->uptime_ms == 0 &&
                        r->schema_version == 0);
        bilheteria__v1__check_response__free_unpacked(r, NULL);
        bh_client_close(c[i]);
    }
}

/* ---- JWTs against the real server ---- */

/* ListEvents's code for a caller with token on server s. */
static int
code_as(const bht_server *s, const char *token)
{
    bh_client *c = bht_client_as(s, token);
    bh_status st;
    int rc = call_empty(c, LIST_EVENTS, &st);
    bh_client_close(c);
    return rc;
}

static void
test_jwts(void **state)
{
    (void)state;
    long long now = (long long)time(NULL);
    char expired[64], future[64];
    snprintf(expired, sizeof(expired), "\"sub\":\"u\",\"exp\":%lld", now - 3600);
    snprintf(future, sizeof(future), "\"sub\":\"u\",\"nbf\":%lld", now + 3600);
    static char tampered[8192];
    {
        /* A valid token whose payload is swapped for another's. */
        char *a = jwt_as(RS_R1, JWTMINT_RSA, "\"sub\":\"u\"");
        char *b = jwt_as(RS_R1, JWTMINT_RSA, "\"sub\":\"admin-wannabe\"");
        char *a1 = strchr(a, '.'), *a2 = strchr(a1 + 1, '.');
        char *b1 = strchr(b, '.'), *b2 = strchr(b1 + 1, '.');
        snprintf(tampered, sizeof(tampered), "%.*s%.*s%s", (int)(a1 - a), a, (int)(b2 - b1), b1,
                 a2);
        free(a);
        free(b);
    }
    static const struct {
        const char *what, *header;
        enum jwtmint_signer who;
        const char *extra; /* NULL: tampered */
        int want;          /* on ListEvents */
    } cases[] = {
        { "valid RS256", RS_R1, JWTMINT_RSA, "\"sub\":\"u\"", BH_OK },
        { "valid ES256", ES_E1, JWTMINT_EC, "\"sub\":\"u\"", BH_OK },
        { "expired", RS_R1, JWTMINT_RSA, "E", BH_UNAUTHENTICATED },
        { "not yet valid", RS_R1, JWTMINT_RSA, "F", BH_UNAUTHENTICATED },
        { "wrong issuer", RS_R1, JWTMINT_RSA, "\"sub\":\"u\",\"iss\":\"https://evil\"",
          BH_UNAUTHENTICATED },
        { "wrong audience", RS_R1, JWTMINT_RSA, "\"sub\":\"u\",\"aud\":\"other\"",
          BH_UNAUTHENTICATED },
        { "bad signature", RS_R1, JWTMINT_RSA_OTHER, "\"sub\":\"u\"", BH_UNAUTHENTICATED },
        { "tampered payload", RS_R1, JWTMINT_RSA, NULL, BH_UNAUTHENTICATED },
        { "alg none", "{\"alg\":\"none\",\"kid\":\"r1\"}", JWTMINT_NONE, "\"sub\":\"u\"",
          BH_UNAUTHENTICATED },
        { "HS256 with the public key", "{\"alg\":\"HS256\",\"kid\":\"r1\"}", JWTMINT_HS256_PUBKEY,
          "\"sub\":\"u\"", BH_UNAUTHENTICATED },
        { "unknown kid", "{\"alg\":\"RS256\",\"kid\":\"zz\"}", JWTMINT_RSA, "\"sub\":\"u\"",
          BH_UNAUTHENTICATED },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *extra = cases[i].extra;
        char *tok = extra == NULL             ? strdup(tampered)
                    : strcmp(extra, "E") == 0 ? jwt_as(cases[i].header, cases[i].who, expired)
                    : strcmp(extra, "F") == 0 ? jwt_as(cases[i].header, cases[i].who, future)
                                              : jwt_as(cases[i].header, cases[i].who, extra);
        bh_client *c = bht_client_as(&srv, tok);
        bh_status st;
        int rc = call_empty(c, LIST_EVENTS, &st);
        if (rc != cases[i].want)
            fail_msg("%s: %s \"%s\"; want %s", cases[i].what, bh_code_name(rc), st.message,
                     bh_code_name(cases[i].want));
        /* A bad token is refused even where no token is needed, and the
         * token itself is never echoed. */
        if (cases[i].want != BH_OK) {
            assert_int_equal(call_empty(c, HEALTH_CHECK, &st), BH_UNAUTHENTICATED);
            assert_null(strstr(st.message, tok));
        }
        bh_client_close(c);
        free(tok);
    }
    /* The admin group's JWT is admin: it may write the catalog. */
    char *adm = jwt_as(RS_R1, JWTMINT_RSA,
                       "\"sub\":\"root\",\"cognito:groups\":[\"x\","
                       "\"bilheteria-admin\"]");
    bh_client *c = bht_client_as(&srv, adm);
    bht_event(c, "made by an admin JWT");
    bh_client_close(c);
    free(adm);
    /* Real JWTs are long (Cognito's about 1 KiB): a 5 KiB one passes; a
     * token over the envelope's limit is refused unread. */
    {
        char extra[4200], *big = NULL;
        memset(extra, 'x', sizeof(extra));
        static const char head[] = "\"sub\":\"u\",\"pad\":\"";
        memcpy(extra, head, sizeof(head) - 1);
        memcpy(extra + sizeof(extra) - 2, "\"", 2);
        big = jwt_as(RS_R1, JWTMINT_RSA, extra);
        assert_true(strlen(big) > 5000 && strlen(big) <= 8192);
        assert_int_equal(code_as(&srv, big), BH_OK);
        free(big);
        big = malloc(BH_AUTH_TOKEN_MAX + 2);
        assert_non_null(big);
        memset(big, 'a', BH_AUTH_TOKEN_MAX + 1);
        big[BH_AUTH_TOKEN_MAX + 1] = 0;
        /* The library refuses it before sending ... */
        bh_client *c0 = NULL;
        bh_options o = { .url = srv.url, .auth_token = big };
        bh_status st0;
        assert_int_equal(bh_client_open(&c0, &o, &st0), BH_INVALID_ARGUMENT);
        assert_null(strstr(st0.message, "aaaa"));
        /* ... and the server too, sent raw. */
        Bilheteria__V1__RequestEnvelope req = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
        req.method = (char *)LIST_EVENTS;
        req.request_id = 9;
        req.auth_token = big;
        size_t n = bilheteria__v1__request_envelope__get_packed_size(&req);
        uint8_t *buf = malloc(n);
        assert_non_null(buf);
        bilheteria__v1__request_envelope__pack(&req, buf);
        Bilheteria__V1__ResponseEnvelope *env = bht_raw_envelope(&srv, buf, n);
        assert_int_equal(env->status, BH_INVALID_ARGUMENT);
        assert_non_null(strstr(env->message, "auth_token is"));
        bilheteria__v1__response_envelope__free_unpacked(env, NULL);
        free(buf);
        big[BH_AUTH_TOKEN_MAX] = 0;
        assert_int_equal(code_as(&srv, big), BH_UNAUTHENTICATED);
        free(big);
    }
    /* A service token that is not in the file. */
    c = bht_client_as(&srv, "nobody-knows-this-token");
    bh_status st;
    assert_int_equal(call_empty(c, LIST_EVENTS, &st), BH_UNAUTHENTICATED);
    bh_client_close(c);
}

/* ---- customers keep to their own ---- */

static uint64_t
reserve(bh_client *c, uint64_t session, const char *user, const char *key, int *code,
        char *user_out, size_t ulen)
{
    Bilheteria__V1__CreateReservationRequest rq = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CreateReservationResponse *rs = NULL;
    bh_call_opts o = { .idempotency_key = key };
    bh_status st;
    rq.session_id = session;
    rq.user_id = (char *)user;
    rq.best = 1;
    *code = bh_reservation_create_reservation(c, &rq, &rs, key ? &o : NULL, &st);
    if (*code != BH_OK)
        return 0;
    uint64_t id = rs->reservation->id;
    if (user_out)
        snprintf(user_out, ulen, "%s", rs->reservation->user_id);
    bilheteria__v1__create_reservation_response__free_unpacked(rs, NULL);
    return id;
}

static int
get_resv(bh_client *c, uint64_t id, bh_status *st)
{
    Bilheteria__V1__GetReservationRequest rq = BILHETERIA__V1__GET_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__GetReservationResponse *rs = NULL;
    rq.id = id;
    int rc = bh_reservation_get_reservation(c, &rq, &rs, NULL, st);
    if (rc == BH_OK)
        bilheteria__v1__get_reservation_response__free_unpacked(rs, NULL);
    return rc;
}

static void
test_customer_own(void **state)
{
    (void)state;
    bh_client *adm = bht_client_as(&srv, ADMIN_TOKEN), *svc = bht_client_as(&srv, SERVICE_TOKEN),
              *ca = bht_client_as(&srv, alice), *cb = bht_client_as(&srv, bob);
    uint64_t sess = bht_session(adm, bht_event(adm, "own"), 2, 10, 1000);
    char who[160];
    int code;
    bh_status st;

    uint64_t bobs = reserve(svc, sess, "bob", NULL, &code, who, sizeof(who));
    assert_int_equal(code, BH_OK);
    /* Naming another user is refused; naming none or itself is its own. */
    assert_int_equal(reserve(ca, sess, "bob", NULL, &code, NULL, 0), 0);
    assert_int_equal(code, BH_PERMISSION_DENIED);
    uint64_t alices = reserve(ca, sess, "", NULL, &code, who, sizeof(who));
    assert_int_equal(code, BH_OK);
    assert_string_equal(who, "alice");
    reserve(ca, sess, "alice", NULL, &code, who, sizeof(who));
    assert_int_equal(code, BH_OK);

    /* Another's reservation reads as one that does not exist, word for
     * word. */
    char missing[512];
    assert_int_equal(get_resv(ca, 999999, &st), BH_NOT_FOUND);
    snprintf(missing, sizeof(missing), "%s", st.message);
    assert_int_equal(get_resv(ca, bobs, &st), BH_NOT_FOUND);
    char want[512];
    snprintf(want, sizeof(want), "reservation %llu does not exist", (unsigned long long)bobs);
    assert_string_equal(st.message, want);
    assert_non_null(strstr(missing, "does not exist"));
    assert_int_equal(get_resv(ca, alices, &st), BH_OK);
    assert_int_equal(get_resv(cb, bobs, &st), BH_OK);
    assert_int_equal(get_resv(svc, alices, &st), BH_OK);

    Bilheteria__V1__CancelReservationRequest cq = BILHETERIA__V1__CANCEL_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CancelReservationResponse *cr = NULL;
    cq.id = bobs;
    assert_int_equal(bh_reservation_cancel_reservation(ca, &cq, &cr, NULL, &st), BH_NOT_FOUND);

    /* Listing: another's is refused, one's own (named or not) is only one's own. */
    Bilheteria__V1__ListReservationsRequest lq = BILHETERIA__V1__LIST_RESERVATIONS_REQUEST__INIT;
    Bilheteria__V1__ListReservationsResponse *lr = NULL;
    lq.user_id = "bob";
    assert_int_equal(bh_reservation_list_reservations(ca, &lq, &lr, NULL, &st),
                     BH_PERMISSION_DENIED);
    lq.user_id = "";
    assert_int_equal(bh_reservation_list_reservations(ca, &lq, &lr, NULL, &st), BH_OK);
    assert_int_equal(lr->n_reservations, 2);
    for (size_t i = 0; i < lr->n_reservations; i++)
        assert_string_equal(lr->reservations[i]->user_id, "alice");
    bilheteria__v1__list_reservations_response__free_unpacked(lr, NULL);

    /* Paying or reading the payment of another's: NOT_FOUND. */
    Bilheteria__V1__ConfirmPaymentRequest pq = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__ConfirmPaymentResponse *pr = NULL;
    bh_call_opts key = { .idempotency_key = "pay-bob" };
    pq.reservation_id = bobs;
    pq.amount_cents = 1000;
    assert_int_equal(bh_payment_confirm_payment(ca, &pq, &pr, &key, &st), BH_NOT_FOUND);
    if (bh_payment_confirm_payment(svc, &pq, &pr, &key, &st) != BH_OK)
        fail_msg("service pays for bob: %s", st.message);
    uint64_t pay = pr->payment->id;
    bilheteria__v1__confirm_payment_response__free_unpacked(pr, NULL);
    Bilheteria__V1__GetPaymentRequest gq = BILHETERIA__V1__GET_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__GetPaymentResponse *gr = NULL;
    gq.id = pay;
    assert_int_equal(bh_payment_get_payment(ca, &gq, &gr, NULL, &st), BH_NOT_FOUND);
    snprintf(want, sizeof(want), "payment %llu does not exist", (unsigned long long)pay);
    assert_string_equal(st.message, want);
    assert_int_equal(bh_payment_get_payment(cb, &gq, &gr, NULL, &st), BH_OK);
    bilheteria__v1__get_payment_response__free_unpacked(gr, NULL);

    /* A refund is the box office's: a customer may neither refund its own
     * payment nor cancel its paid reservation (which refunds it). */
    Bilheteria__V1__RefundPaymentRequest fq = BILHETERIA__V1__REFUND_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__RefundPaymentResponse *fr = NULL;
    bh_call_opts rkey = { .idempotency_key = "refund-bob" };
    fq.payment_id = pay;
    fq.all = 1;
    assert_int_equal(bh_payment_refund_payment(cb, &fq, &fr, &rkey, &st), BH_PERMISSION_DENIED);
    cq.id = bobs;
    assert_int_equal(bh_reservation_cancel_reservation(cb, &cq, &cr, &rkey, &st),
                     BH_PERMISSION_DENIED);
    assert_non_null(strstr(st.message, "is paid"));
    if (bh_payment_refund_payment(svc, &fq, &fr, &rkey, &st) != BH_OK)
        fail_msg("service refunds bob: %s", st.message);
    assert_int_equal(fr->reservation->status,
                     BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_REFUNDED);
    bilheteria__v1__refund_payment_response__free_unpacked(fr, NULL);

    bh_client_close(adm);
    bh_client_close(svc);
    bh_client_close(ca);
    bh_client_close(cb);
}

/* A customer waits, looks and leaves as itself only; an offer made to it
 * is its own reservation. */
static void
test_customer_waitlist(void **state)
{
    (void)state;
    bh_client *adm = bht_client_as(&srv, ADMIN_TOKEN), *ca = bht_client_as(&srv, alice);
    uint64_t sess = bht_session(adm, bht_event(adm, "wl own"), 1, 2, 1000);
    bh_status st;
    uint64_t held = 0;
    Bilheteria__V1__CreateReservationRequest rq = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CreateReservationResponse *rs = NULL;
    rq.session_id = sess;
    rq.user_id = "carol";
    rq.best = 2;
    assert_int_equal(bh_reservation_create_reservation(adm, &rq, &rs, NULL, &st), BH_OK);
    held = rs->reservation->id;
    bilheteria__v1__create_reservation_response__free_unpacked(rs, NULL);

    Bilheteria__V1__JoinWaitlistRequest jq = BILHETERIA__V1__JOIN_WAITLIST_REQUEST__INIT;
    Bilheteria__V1__JoinWaitlistResponse *jr = NULL;
    jq.session_id = sess;
    jq.seats = 2;
    jq.user_id = "bob";
    assert_int_equal(bh_waitlist_join_waitlist(ca, &jq, &jr, NULL, &st), BH_PERMISSION_DENIED);
    jq.user_id = "";
    assert_int_equal(bh_waitlist_join_waitlist(ca, &jq, &jr, NULL, &st), BH_OK);
    assert_string_equal(jr->entry->user_id, "alice");
    bilheteria__v1__join_waitlist_response__free_unpacked(jr, NULL);

    Bilheteria__V1__GetWaitlistEntryRequest gq = BILHETERIA__V1__GET_WAITLIST_ENTRY_REQUEST__INIT;
    Bilheteria__V1__GetWaitlistEntryResponse *gr = NULL;
    gq.session_id = sess;
    gq.user_id = "carol";
    assert_int_equal(bh_waitlist_get_waitlist_entry(ca, &gq, &gr, NULL, &st), BH_PERMISSION_DENIED);
    Bilheteria__V1__CancelReservationRequest cq = BILHETERIA__V1__CANCEL_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CancelReservationResponse *cr = NULL;
    cq.id = held;
    assert_int_equal(bh_reservation_cancel_reservation(adm, &cq, &cr, NULL, &st), BH_OK);
    bilheteria__v1__cancel_reservation_response__free_unpacked(cr, NULL);
    gq.user_id = "";
    assert_int_equal(bh_waitlist_get_waitlist_entry(ca, &gq, &gr, NULL, &st), BH_OK);
    assert_int_equal(gr->entry->status, BILHETERIA__V1__WAITLIST_STATUS__WAITLIST_STATUS_OFFERED);
    uint64_t offer = gr->entry->reservation_id;
    bilheteria__v1__get_waitlist_entry_response__free_unpacked(gr, NULL);
    assert_int_equal(get_resv(ca, offer, &st), BH_OK);

    Bilheteria__V1__LeaveWaitlistRequest lq = BILHETERIA__V1__LEAVE_WAITLIST_REQUEST__INIT;
    Bilheteria__V1__LeaveWaitlistResponse *lr = NULL;
    lq.session_id = sess;
    lq.user_id = "carol";
    assert_int_equal(bh_waitlist_leave_waitlist(ca, &lq, &lr, NULL, &st), BH_PERMISSION_DENIED);
    lq.user_id = "alice";
    assert_int_equal(bh_waitlist_leave_waitlist(ca, &lq, &lr, NULL, &st), BH_OK);
    bilheteria__v1__leave_waitlist_response__free_unpacked(lr, NULL);
    bh_client_close(adm);
    bh_client_close(ca);
}

/* The same key from two identities: two requests, two answers. */
static void
test_idempotency_per_identity(void **state)
{
    (void)state;
    bh_client *adm = bht_client_as(&srv, ADMIN_TOKEN), *svc = bht_client_as(&srv, SERVICE_TOKEN),
              *ca = bht_client_as(&srv, alice);
    uint64_t sess = bht_session(adm, bht_event(adm, "idem"), 2, 10, 1000);
    int c1, c2, c3;
    uint64_t a = reserve(adm, sess, "u-adm", "same-key", &c1, NULL, 0);
    uint64_t b = reserve(svc, sess, "u-svc", "same-key", &c2, NULL, 0);
    uint64_t c = reserve(ca, sess, "", "same-key", &c3, NULL, 0);
    assert_int_equal(c1, BH_OK);
    assert_int_equal(c2, BH_OK);
    assert_int_equal(c3, BH_OK);
    assert_true(a != b && b != c && a != c);
    /* Each replays its own. */
    assert_int_equal(reserve(svc, sess, "u-svc", "same-key", &c2, NULL, 0), b);
    assert_int_equal(reserve(ca, sess, "", "same-key", &c3, NULL, 0), c);
    assert_int_equal(reserve(adm, sess, "u-adm", "same-key", &c1, NULL, 0), a);
    bh_client_close(adm);
    bh_client_close(svc);
    bh_client_close(ca);
}

/* ---- SIGHUP ---- */

struct looper {
    const char *url;
    atomic_int stop;
    atomic_int calls, errors;
    char last[600];
};

static void *
loop_calls(void *arg)
{
    struct looper *l = arg;
    bh_options o = { .url = l->url, .timeout_ms = 10000, .auth_token = SERVICE_TOKEN };
    bh_client *c = NULL;
    bh_status st;
    if (bh_client_open(&c, &o, &st) != BH_OK) {
        atomic_fetch_add(&l->errors, 1);
        return NULL;
    }
    while (!atomic_load(&l->stop)) {
        if (call_empty(c, LIST_EVENTS, &st) != BH_OK) {
            atomic_fetch_add(&l->errors, 1);
            snprintf(l->last, sizeof(l->last), "%s: %s", bh_code_name(st.code), st.message);
        }
        atomic_fetch_add(&l->calls, 1);
    }
    bh_client_close(c);
    return NULL;
}

/* How many times the server's log says s. */
static int
log_count(const bht_server *s, const char *what)
{
    char buf[16384];
    FILE *f = fopen(s->log, "r");
    int n = 0;
    assert_non_null(f);
    buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
    fclose(f);
    for (const char *p = buf; (p = strstr(p, what)) != NULL; p++)
        n++;
    return n;
}

static void
wait_log(const bht_server *s, const char *what, int n)
{
    for (int i = 0; i < 500 && log_count(s, what) < n; i++)
        bht_sleep_ms(10);
    assert_int_equal(log_count(s, what), n);
}

static void
test_sighup_reload(void **state)
{
    (void)state;
    bht_server s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(bht_start(&s, server_flags), 0);

    /* Calls keep being answered through five reloads. */
    struct looper l = { .url = s.url };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, loop_calls, &l), 0);
    for (int i = 0; i < 5; i++) {
        bht_sleep_ms(40);
        kill(s.pid, SIGHUP);
        wait_log(&s, "SIGHUP: credentials reloaded", i + 1);
    }
    bht_sleep_ms(40);
    atomic_store(&l.stop, 1);
    pthread_join(th, NULL);
    if (atomic_load(&l.errors) != 0)
        fail_msg("%d of %d calls failed during the reloads; last: %s", atomic_load(&l.errors),
                 atomic_load(&l.calls), l.last);
    assert_true(atomic_load(&l.calls) > 5);

    /* A new token works after the reload, a removed one stops. */
    assert_int_equal(code_as(&s, NEW_TOKEN), BH_UNAUTHENTICATED);
    write_auth("ops admin " ADMIN_TOKEN, "fresh service " NEW_TOKEN, NULL);
    kill(s.pid, SIGHUP);
    wait_log(&s, "SIGHUP: credentials reloaded", 6);
    assert_int_equal(code_as(&s, NEW_TOKEN), BH_OK);
    assert_int_equal(code_as(&s, SERVICE_TOKEN), BH_UNAUTHENTICATED);

    /* A broken file is not loaded: the last good set stays. */
    write_text(auth_path, "fresh service nothex\n");
    kill(s.pid, SIGHUP);
    wait_log(&s, "credentials NOT reloaded, the old ones stay", 1);
    assert_int_equal(code_as(&s, NEW_TOKEN), BH_OK);

    write_auth("ops admin " ADMIN_TOKEN, "web service " SERVICE_TOKEN, NULL);
    assert_int_equal(bht_cleanup(&s), 0);
}

/* ---- open mode ---- */

static void
test_open_mode_listen(void **state)
{
    (void)state;
    bht_server s;
    static const char *const any[] = { "--listen", "tcp://0.0.0.0:0", NULL };
    static const char *const any_insecure[] = { "--listen", "tcp://0.0.0.0:0", "--insecure", NULL };
    memset(&s, 0, sizeof(s));
    assert_int_not_equal(bht_start(&s, any), 0);
    bht_cleanup(&s);
    memset(&s, 0, sizeof(s));
    assert_int_equal(bht_start(&s, any_insecure), 0);
    assert_int_equal(log_count(&s, "auth: off (open mode, --insecure"), 1);
    /* Open: anyone is admin. */
    bh_client *c = bht_client_as(&s, NULL);
    bht_event(c, "open");
    bh_client_close(c);
    assert_int_equal(bht_cleanup(&s), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_health_anonymous),
        cmocka_unit_test(test_jwts),
        cmocka_unit_test(test_customer_own),
        cmocka_unit_test(test_customer_waitlist),
        cmocka_unit_test(test_idempotency_per_identity),
        cmocka_unit_test(test_sighup_reload),
        cmocka_unit_test(test_open_mode_listen),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
