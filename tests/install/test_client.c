/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libbilheteria's core without a real server: argument checks, an
 * unreachable server, and the wire as seen by a scripted fake REP server
 * in this process (envelope fields, server errors, malformed answers,
 * deadlines, a dropped connection, concurrency, close during a call).
 */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "bilheteria/bilheteria.h"

/* Nothing listens on port 1 of the loopback interface. */
#define UNREACHABLE_URL "tcp://127.0.0.1:1"

/* ---- the fake server ---- */

enum fake_mode {
    FAKE_ECHO,        /* OK, payload = request payload, replayed = key set */
    FAKE_HEALTH,      /* OK, payload = a CheckResponse */
    FAKE_ERROR,       /* NOT_FOUND with a message */
    FAKE_BAD_ID,      /* OK but with another request_id */
    FAKE_GARBAGE,     /* bytes that are no ResponseEnvelope */
    FAKE_BAD_PAYLOAD, /* OK with a payload that is no message */
    FAKE_SILENT,      /* never answers */
    FAKE_DROP,        /* closes the connection instead of answering */
    FAKE_DROP_ONCE,   /* FAKE_DROP for this request, then FAKE_ECHO */
};

typedef struct fake {
    nng_socket sock;
    nng_thread *thr;
    char url[64];
    atomic_int mode;
    atomic_int nreq;
    pthread_mutex_t mtx; /* guards the last request's fields below */
    char method[BH_METHOD_NAME_MAX];
    char key[300];
    char token[BH_AUTH_TOKEN_MAX + 1];
    char first_key[300]; /* the key of the request FAKE_DROP_ONCE dropped */
    char traceparent[64];
    uint64_t request_id;
    uint32_t timeout_ms;
} fake;

static fake g_fake;
/* The client test_async_cancel's callback tries a blocking call with. */
static bh_client *bh_test_client;

static void
fake_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void
fake_loop(void *arg)
{
    fake *f = arg;

    for (;;) {
        Bilheteria__V1__ResponseEnvelope rep = BILHETERIA__V1__RESPONSE_ENVELOPE__INIT;
        Bilheteria__V1__CheckResponse health = BILHETERIA__V1__CHECK_RESPONSE__INIT;
        Bilheteria__V1__RequestEnvelope *req;
        static uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff };
        uint8_t hbuf[64];
        nng_msg *m, *out;
        int mode;

        if (nng_recvmsg(f->sock, &m, 0) != 0)
            return;
        req = bilheteria__v1__request_envelope__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
        if (req == NULL) {
            nng_msg_free(m);
            continue;
        }
        pthread_mutex_lock(&f->mtx);
        fake_copy(f->method, sizeof(f->method), req->method);
        fake_copy(f->key, sizeof(f->key), req->idempotency_key);
        fake_copy(f->token, sizeof(f->token), req->auth_token);
        f->timeout_ms = req->timeout_ms;
        f->request_id = req->request_id;
        fake_copy(f->traceparent, sizeof(f->traceparent), req->traceparent);
        mode = atomic_load(&f->mode);
        if (mode == FAKE_DROP_ONCE) {
            fake_copy(f->first_key, sizeof(f->first_key), req->idempotency_key);
            atomic_store(&f->mode, FAKE_ECHO);
            mode = FAKE_DROP;
        }
        pthread_mutex_unlock(&f->mtx);
        atomic_fetch_add(&f->nreq, 1);

        rep.request_id = req->request_id;
        switch (mode) {
        case FAKE_ECHO:
            rep.payload = req->payload;
            rep.replayed = req->idempotency_key[0] != '\0';
            break;
        case FAKE_HEALTH:
            health.status = BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING;
            health.version = "fake-1";
            health.uptime_ms = 1234;
            rep.payload.len = bilheteria__v1__check_response__pack(&health, hbuf);
            rep.payload.data = hbuf;
            break;
        case FAKE_ERROR:
            rep.status = BILHETERIA__V1__STATUS_CODE__NOT_FOUND;
            rep.message = "event 42 does not exist";
            rep.field = "event_id";
            break;
        case FAKE_BAD_ID: rep.request_id = req->request_id + 1; break;
        case FAKE_BAD_PAYLOAD:
            rep.payload.data = junk;
            rep.payload.len = sizeof(junk);
            break;
        default: break;
        }

        if (mode == FAKE_SILENT) {
            nng_msg_free(m);
        } else if (mode == FAKE_DROP) {
            nng_pipe_close(nng_msg_get_pipe(m));
            nng_msg_free(m);
        } else if (mode == FAKE_GARBAGE) {
            nng_msg_clear(m);
            nng_msg_append(m, junk, sizeof(junk));
            if (nng_sendmsg(f->sock, m, 0) != 0)
                nng_msg_free(m);
        } else {
            size_t n = bilheteria__v1__response_envelope__get_packed_size(&rep);

            nng_msg_free(m);
            if (nng_msg_alloc(&out, n) == 0) {
                bilheteria__v1__response_envelope__pack(&rep, nng_msg_body(out));
                if (nng_sendmsg(f->sock, out, 0) != 0)
                    nng_msg_free(out);
            }
        }
        bilheteria__v1__request_envelope__free_unpacked(req, NULL);
    }
}

static int
fake_start(void **state)
{
    fake *f = &g_fake;
    nng_listener l;
    int port = 0;

    (void)state;
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mtx, NULL);
    if (nng_rep0_open(&f->sock) != 0 || nng_listen(f->sock, "tcp://127.0.0.1:0", &l, 0) != 0 ||
        nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0)
        return -1;
    snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", port);
    return nng_thread_create(&f->thr, fake_loop, f) == 0 ? 0 : -1;
}

static int
fake_stop(void **state)
{
    (void)state;
    nng_close(g_fake.sock); /* ends fake_loop's nng_recvmsg */
    nng_thread_destroy(g_fake.thr);
    pthread_mutex_destroy(&g_fake.mtx);
    return 0;
}

static bh_client *
open_client(const char *url, int32_t timeout_ms, const char *token)
{
    bh_options o = { .url = url, .timeout_ms = timeout_ms, .auth_token = token };
    bh_client *c = NULL;
    bh_status st;

    assert_int_equal(bh_client_open(&c, &o, &st), BH_OK);
    assert_int_equal(st.code, BH_OK);
    assert_non_null(c);
    return c;
}

/* ---- tests that need no server ---- */

static void
test_code_names(void **state)
{
    static const struct {
        int code;
        const char *name;
    } cases[] = {
        { BH_OK, "OK" },
        { BH_CANCELLED, "CANCELLED" },
        { BH_UNKNOWN, "UNKNOWN" },
        { BH_INVALID_ARGUMENT, "INVALID_ARGUMENT" },
        { BH_DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED" },
        { BH_NOT_FOUND, "NOT_FOUND" },
        { BH_ALREADY_EXISTS, "ALREADY_EXISTS" },
        { BH_PERMISSION_DENIED, "PERMISSION_DENIED" },
        { BH_RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED" },
        { BH_FAILED_PRECONDITION, "FAILED_PRECONDITION" },
        { BH_ABORTED, "ABORTED" },
        { BH_OUT_OF_RANGE, "OUT_OF_RANGE" },
        { BH_UNIMPLEMENTED, "UNIMPLEMENTED" },
        { BH_INTERNAL, "INTERNAL" },
        { BH_UNAVAILABLE, "UNAVAILABLE" },
        { BH_DATA_LOSS, "DATA_LOSS" },
        { BH_UNAUTHENTICATED, "UNAUTHENTICATED" },
        { -1, "UNKNOWN" },
        { 17, "UNKNOWN" },
        { INT_MAX, "UNKNOWN" },
        { INT_MIN, "UNKNOWN" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(bh_code_name(cases[i].code), cases[i].name);

    /* Same numbers and names as the wire's StatusCode enum. */
    for (int code = 0; code <= BH_UNAUTHENTICATED; code++) {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value(&bilheteria__v1__status_code__descriptor, code);

        assert_non_null(v);
        assert_string_equal(bh_code_name(code), v->name);
    }
}

static void
test_bad_url(void **state)
{
    static const char *const urls[] = {
        "nope://127.0.0.1:7450", "tcp://", "not a url", "", "tcp://127.0.0.1",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        bh_options o = { .url = urls[i], .timeout_ms = 300 };
        bh_client *c = (bh_client *)&o; /* must stay untouched */
        bh_status st;
        char want[128];

        memset(&st, 0, sizeof(st));
        assert_int_equal(bh_client_open(&c, &o, &st), BH_INVALID_ARGUMENT);
        assert_int_equal(st.code, BH_INVALID_ARGUMENT);
        assert_ptr_equal(c, (bh_client *)&o);
        snprintf(want, sizeof(want), "\"%s\"", urls[i]);
        if (strstr(st.message, want) == NULL)
            fail_msg("URL %s: message does not name it: %s", urls[i], st.message);
    }
}

static void
test_bad_options(void **state)
{
    bh_options o = { .url = UNREACHABLE_URL, .timeout_ms = -5 };
    bh_client *c = NULL;
    bh_status st;
    uint8_t *resp = NULL;
    size_t len = 0;
    bh_call_opts co = { .timeout_ms = -1 };

    (void)state;
    assert_int_equal(bh_client_open(&c, &o, &st), BH_INVALID_ARGUMENT);
    assert_null(c);
    assert_int_equal(bh_client_open(NULL, &o, &st), BH_INVALID_ARGUMENT);

    c = open_client(UNREACHABLE_URL, 300, NULL);
    assert_int_equal(
        bh_call_raw(c, "bilheteria.v1.HealthService/Check", NULL, 0, &resp, &len, &co, &st),
        BH_INVALID_ARGUMENT);
    assert_int_equal(bh_call_raw(c, "", NULL, 0, &resp, &len, NULL, &st), BH_INVALID_ARGUMENT);
    assert_int_equal(bh_call_raw(c, NULL, NULL, 0, &resp, &len, NULL, &st), BH_INVALID_ARGUMENT);
    assert_int_equal(bh_call_raw(NULL, "x/y", NULL, 0, &resp, &len, NULL, &st),
                     BH_INVALID_ARGUMENT);
    assert_int_equal(bh_call_raw(c, "x/y", NULL, 0, NULL, &len, NULL, &st), BH_INVALID_ARGUMENT);
    /* st may be NULL. */
    assert_int_equal(bh_call_raw(c, "", NULL, 0, &resp, &len, NULL, NULL), BH_INVALID_ARGUMENT);
    assert_null(resp);
    bh_client_close(c);
    bh_client_close(NULL);
}

static int
no_token(void *arg, char *buf, size_t size)
{
    (void)arg;
    (void)buf;
    (void)size;
    return 0;
}

/* A token one byte over the limit: refused by length, never echoed. */
static void
test_token_options(void **state)
{
    char tok[BH_AUTH_TOKEN_MAX + 2];
    bh_options o = BH_OPTIONS_INIT;
    bh_client *c = NULL;
    bh_status st;

    (void)state;
    memset(tok, 'T', sizeof(tok) - 1);
    tok[sizeof(tok) - 1] = '\0';
    o.url = UNREACHABLE_URL;
    o.auth_token = tok;
    assert_int_equal(bh_client_open(&c, &o, &st), BH_INVALID_ARGUMENT);
    assert_null(c);
    assert_non_null(strstr(st.message, "auth_token is"));
    assert_null(strstr(st.message, "TTTT"));

    /* At the limit it is fine. */
    tok[BH_AUTH_TOKEN_MAX] = '\0';
    assert_int_equal(bh_client_open(&c, &o, &st), BH_OK);
    bh_client_close(c);
    c = NULL;

    /* A fixed token and a callback exclude each other. */
    o.auth_token = "fixed";
    o.auth_token_fn = no_token;
    assert_int_equal(bh_client_open(&c, &o, &st), BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "auth_token_fn"));
    assert_null(c);
}

static void
test_unreachable(void **state)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *resp =
        (Bilheteria__V1__CheckResponse *)&req; /* must stay untouched */
    uint8_t *raw = NULL;
    size_t len = 0;
    bh_client *c;
    bh_status st;

    (void)state;
    c = open_client(UNREACHABLE_URL, 300, NULL);
    assert_int_equal(bh_health_check(c, &req, &resp, NULL, &st), BH_UNAVAILABLE);
    assert_int_equal(st.code, BH_UNAVAILABLE);
    assert_ptr_equal(resp, (Bilheteria__V1__CheckResponse *)&req);
    assert_non_null(strstr(st.message, "cannot reach server at " UNREACHABLE_URL));

    assert_int_equal(
        bh_call_raw(c, "bilheteria.v1.HealthService/Check", NULL, 0, &raw, &len, NULL, &st),
        BH_UNAVAILABLE);
    assert_null(raw);
    bh_client_close(c);
}

static void
test_type_mismatch(void **state)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    bh_client *c;
    bh_status st;

    (void)state;
    c = open_client(UNREACHABLE_URL, 300, NULL);
    assert_int_equal(bh_call(c, "bilheteria.v1.EventService/CreateEvent", &req.base,
                             &bilheteria__v1__create_event_response__descriptor, &resp, NULL, &st),
                     BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "bilheteria.v1.CreateEventRequest"));
    assert_null(resp);
    bh_client_close(c);
}

/* ---- tests against the fake server ---- */

static void
test_idempotency_key(void **state)
{
    static char k255[256], k256[257];
    static const struct {
        const char *key;
        int want;
    } cases[] = {
        { "", BH_INVALID_ARGUMENT }, { k256, BH_INVALID_ARGUMENT }, { k255, BH_OK }, { "k", BH_OK },
        { "pay-7f3a", BH_OK },
    };
    bh_client *c;

    (void)state;
    memset(k255, 'x', 255);
    memset(k256, 'y', 256);
    atomic_store(&g_fake.mode, FAKE_ECHO);
    c = open_client(g_fake.url, 2000, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bh_call_opts co = { .idempotency_key = cases[i].key };
        uint8_t *resp = NULL;
        size_t len = 0;
        bh_status st;
        int before = atomic_load(&g_fake.nreq);
        int rc;

        rc = bh_call_raw(c, "bilheteria.v1.PaymentService/ConfirmPayment", (const uint8_t *)"p", 1,
                         &resp, &len, &co, &st);
        if (rc != cases[i].want)
            fail_msg("key of %zu bytes: got %s (%s), want %s", strlen(cases[i].key),
                     bh_code_name(rc), st.message, bh_code_name(cases[i].want));
        if (rc != BH_OK) {
            /* Refused locally: nothing went out. */
            assert_int_equal(atomic_load(&g_fake.nreq), before);
            assert_null(resp);
            continue;
        }
        pthread_mutex_lock(&g_fake.mtx);
        assert_string_equal(g_fake.key, cases[i].key);
        pthread_mutex_unlock(&g_fake.mtx);
        assert_int_equal(st.replayed, 1);
        free(resp);
    }
    bh_client_close(c);
}

static void
test_envelope(void **state)
{
    static const char payload[] = "hello, box office";
    bh_call_opts co = { .idempotency_key = "key-1", .timeout_ms = 1500 };
    uint8_t *resp = NULL;
    size_t len = 0;
    bh_client *c;
    bh_status st;

    (void)state;
    atomic_store(&g_fake.mode, FAKE_ECHO);
    c = open_client(g_fake.url, 2000, "user-9");
    assert_int_equal(bh_call_raw(c, "bilheteria.v1.EventService/CreateEvent",
                                 (const uint8_t *)payload, sizeof(payload), &resp, &len, &co, &st),
                     BH_OK);
    assert_int_equal(st.code, BH_OK);
    assert_string_equal(st.message, "");
    assert_int_equal(st.replayed, 1);
    assert_int_equal(len, sizeof(payload));
    assert_memory_equal(resp, payload, sizeof(payload));
    free(resp);

    pthread_mutex_lock(&g_fake.mtx);
    assert_string_equal(g_fake.method, "bilheteria.v1.EventService/CreateEvent");
    assert_string_equal(g_fake.key, "key-1");
    assert_string_equal(g_fake.token, "user-9");
    assert_int_equal(g_fake.timeout_ms, 1500);
    pthread_mutex_unlock(&g_fake.mtx);

    /* Defaults: the client's timeout, no key, empty payload. */
    assert_int_equal(
        bh_call_raw(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &resp, &len, NULL, &st),
        BH_OK);
    assert_int_equal(len, 0);
    assert_int_equal(st.replayed, 0);
    free(resp);
    pthread_mutex_lock(&g_fake.mtx);
    assert_string_equal(g_fake.key, "");
    assert_int_equal(g_fake.timeout_ms, 2000);
    pthread_mutex_unlock(&g_fake.mtx);
    bh_client_close(c);
}

/* What the token callback of test_token_fn gives: a fresh token per call
 * ("jwt-1", "jwt-2", ...), none, a failure, or one over the limit. */
typedef struct token_src {
    atomic_int calls;
    int mode; /* 0 fresh, 1 none, 2 fails, 3 too long */
} token_src;

static int
token_fn(void *arg, char *buf, size_t size)
{
    token_src *t = arg;
    int n = atomic_fetch_add(&t->calls, 1) + 1;

    assert_int_equal(size, BH_AUTH_TOKEN_MAX + 1);
    switch (t->mode) {
    case 0: return snprintf(buf, size, "jwt-%d", n);
    case 1: return 0;
    case 2: return -1;
    default: memset(buf, 'S', size); return BH_AUTH_TOKEN_MAX + 1;
    }
}

static void
test_token_fn(void **state)
{
    token_src src = { .mode = 0 };
    bh_options o = BH_OPTIONS_INIT;
    uint8_t *resp = NULL;
    size_t len = 0;
    bh_client *c = NULL;
    bh_status st;
    int before;

    (void)state;
    atomic_store(&g_fake.mode, FAKE_ECHO);
    o.url = g_fake.url;
    o.timeout_ms = 2000;
    o.auth_token_fn = token_fn;
    o.auth_token_arg = &src;
    assert_int_equal(bh_client_open(&c, &o, &st), BH_OK);
    assert_int_equal(atomic_load(&src.calls), 0); /* not at open: per call */

    /* Asked before every call; each call carries the token it got. */
    for (int i = 1; i <= 2; i++) {
        char want[16];
        assert_int_equal(
            bh_call_raw(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &resp, &len, NULL, &st),
            BH_OK);
        free(resp);
        snprintf(want, sizeof(want), "jwt-%d", i);
        pthread_mutex_lock(&g_fake.mtx);
        assert_string_equal(g_fake.token, want);
        pthread_mutex_unlock(&g_fake.mtx);
    }
    assert_int_equal(atomic_load(&src.calls), 2);

    /* None: the call goes out without a token. */
    src.mode = 1;
    assert_int_equal(
        bh_call_raw(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &resp, &len, NULL, &st),
        BH_OK);
    free(resp);
    pthread_mutex_lock(&g_fake.mtx);
    assert_string_equal(g_fake.token, "");
    pthread_mutex_unlock(&g_fake.mtx);

    /* A failure, or a token over the limit: nothing is sent, and the
     * message does not carry the token. */
    before = atomic_load(&g_fake.nreq);
    src.mode = 2;
    assert_int_equal(
        bh_call_raw(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &resp, &len, NULL, &st),
        BH_UNAUTHENTICATED);
    assert_non_null(strstr(st.message, "auth_token_fn returned -1"));
    src.mode = 3;
    assert_int_equal(
        bh_call_raw(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &resp, &len, NULL, &st),
        BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "auth_token_fn's token is"));
    assert_null(strstr(st.message, "SSSS"));
    assert_int_equal(atomic_load(&g_fake.nreq), before);
    bh_client_close(c);
}

static void
test_typed_call(void **state)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *resp = NULL;
    bh_client *c;
    bh_status st;

    (void)state;
    atomic_store(&g_fake.mode, FAKE_HEALTH);
    c = open_client(g_fake.url, 2000, NULL);
    assert_int_equal(bh_health_check(c, &req, &resp, NULL, &st), BH_OK);
    assert_non_null(resp);
    assert_int_equal(resp->status, BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    assert_string_equal(resp->version, "fake-1");
    assert_int_equal(resp->uptime_ms, 1234);
    bilheteria__v1__check_response__free_unpacked(resp, NULL);
    pthread_mutex_lock(&g_fake.mtx);
    assert_string_equal(g_fake.method, "bilheteria.v1.HealthService/Check");
    pthread_mutex_unlock(&g_fake.mtx);
    bh_client_close(c);
}

static void
test_server_error(void **state)
{
    Bilheteria__V1__GetEventRequest req = BILHETERIA__V1__GET_EVENT_REQUEST__INIT;
    Bilheteria__V1__GetEventResponse *resp = NULL;
    bh_client *c;
    bh_status st;

    (void)state;
    atomic_store(&g_fake.mode, FAKE_ERROR);
    c = open_client(g_fake.url, 2000, NULL);
    assert_int_equal(bh_event_get_event(c, &req, &resp, NULL, &st), BH_NOT_FOUND);
    assert_int_equal(st.code, BH_NOT_FOUND);
    assert_string_equal(st.message, "event 42 does not exist");
    assert_null(resp);
    bh_client_close(c);
}

static void
test_malformed(void **state)
{
    static const struct {
        int mode;
        int typed;
        const char *want;
    } cases[] = {
        { FAKE_GARBAGE, 0, "malformed response from server" },
        { FAKE_BAD_ID, 0, "malformed response from server: request_id" },
        { FAKE_GARBAGE, 1, "malformed response from server" },
        { FAKE_BAD_PAYLOAD, 1, "malformed bilheteria.v1.CheckResponse payload" },
    };
    bh_client *c;

    (void)state;
    c = open_client(g_fake.url, 2000, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
        Bilheteria__V1__CheckResponse *resp = NULL;
        uint8_t *raw = NULL;
        size_t len = 0;
        bh_status st;
        int rc;

        atomic_store(&g_fake.mode, cases[i].mode);
        if (cases[i].typed)
            rc = bh_health_check(c, &req, &resp, NULL, &st);
        else
            rc =
                bh_call_raw(c, "bilheteria.v1.HealthService/Check", NULL, 0, &raw, &len, NULL, &st);
        assert_int_equal(rc, BH_INTERNAL);
        assert_int_equal(st.code, BH_INTERNAL);
        if (strstr(st.message, cases[i].want) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, st.message, cases[i].want);
        assert_null(resp);
        assert_null(raw);
    }
    bh_client_close(c);
}

static void
test_deadline(void **state)
{
    bh_call_opts co = { .timeout_ms = 200 };
    uint8_t *raw = NULL;
    size_t len = 0;
    bh_client *c;
    bh_status st;

    (void)state;
    atomic_store(&g_fake.mode, FAKE_SILENT);
    c = open_client(g_fake.url, 5000, NULL);
    assert_int_equal(
        bh_call_raw(c, "bilheteria.v1.HealthService/Check", NULL, 0, &raw, &len, &co, &st),
        BH_DEADLINE_EXCEEDED);
    assert_null(raw);
    bh_client_close(c);
}

/*
 * The server drops the connection after reading a request: the call fails
 * at once with UNAVAILABLE, and nng must not send the request again on the
 * next connection (the next call's request is the only other one the
 * server sees, and it comes in order after any resend would).
 */
static void
test_dropped_connection_no_resend(void **state)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    bh_client *c;
    bh_status st;
    bh_options o = BH_OPTIONS_INIT;
    bh_status ost;

    (void)state;
    /* Without the library's retries: this is about nng's own resend. */
    o.url = g_fake.url;
    o.timeout_ms = 3000;
    o.max_retries = -1;
    assert_int_equal(bh_client_open(&c, &o, &ost), BH_OK);
    atomic_store(&g_fake.mode, FAKE_DROP);
    atomic_store(&g_fake.nreq, 0);
    assert_int_equal(bh_call_raw(c, "bilheteria.v1.PaymentService/ConfirmPayment",
                                 (const uint8_t *)"pay", 3, &raw, &len, NULL, &st),
                     BH_UNAVAILABLE);
    assert_non_null(strstr(st.message, "may or may not have taken effect"));
    assert_null(raw);

    atomic_store(&g_fake.mode, FAKE_ECHO);
    assert_int_equal(bh_call_raw(c, "bilheteria.v1.EventService/GetEvent", (const uint8_t *)"get",
                                 3, &raw, &len, NULL, &st),
                     BH_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(raw, "get", 3);
    free(raw);
    assert_int_equal(atomic_load(&g_fake.nreq), 2);
    pthread_mutex_lock(&g_fake.mtx);
    assert_string_equal(g_fake.method, "bilheteria.v1.EventService/GetEvent");
    pthread_mutex_unlock(&g_fake.mtx);
    bh_client_close(c);
}

#define CONC_THREADS 8
#define CONC_CALLS   40

typedef struct conc_arg {
    bh_client *c;
    int id;
    int failures;
} conc_arg;

static void *
conc_worker(void *p)
{
    conc_arg *a = p;

    for (int i = 0; i < CONC_CALLS; i++) {
        char payload[32];
        uint8_t *raw = NULL;
        size_t len = 0;
        bh_status st;
        int n = snprintf(payload, sizeof(payload), "t%d-c%d", a->id, i);

        if (bh_call_raw(a->c, "bilheteria.v1.EventService/GetEvent", (const uint8_t *)payload,
                        (size_t)n, &raw, &len, NULL, &st) != BH_OK ||
            len != (size_t)n || memcmp(raw, payload, len) != 0)
            a->failures++;
        free(raw);
    }
    return NULL;
}

/* One client, many threads: each gets its own answer back. */
static void
test_concurrent_calls(void **state)
{
    pthread_t t[CONC_THREADS];
    conc_arg args[CONC_THREADS];
    bh_client *c;

    (void)state;
    atomic_store(&g_fake.mode, FAKE_ECHO);
    c = open_client(g_fake.url, 10000, NULL);
    for (int i = 0; i < CONC_THREADS; i++) {
        args[i] = (conc_arg){ .c = c, .id = i };
        assert_int_equal(pthread_create(&t[i], NULL, conc_worker, &args[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    bh_client_close(c);
}

typedef struct close_arg {
    bh_client *c;
    int rc;
} close_arg;

static void *
close_worker(void *p)
{
    close_arg *a = p;
    uint8_t *raw = NULL;
    size_t len = 0;
    bh_status st;

    a->rc = bh_call_raw(a->c, "bilheteria.v1.HealthService/Check", NULL, 0, &raw, &len, NULL, &st);
    free(raw);
    return NULL;
}

/* bh_client_close during a call: the call fails, nothing is freed early. */
static void
test_close_during_call(void **state)
{
    close_arg a;
    pthread_t t;

    (void)state;
    atomic_store(&g_fake.mode, FAKE_SILENT);
    atomic_store(&g_fake.nreq, 0);
    a.c = open_client(g_fake.url, 60000, NULL);
    a.rc = -1;
    assert_int_equal(pthread_create(&t, NULL, close_worker, &a), 0);
    /* Wait until the request is at the server, so the call is in flight. */
    while (atomic_load(&g_fake.nreq) == 0)
        nng_msleep(5);
    bh_client_close(a.c);
    pthread_join(t, NULL);
    assert_int_equal(a.rc, BH_CANCELLED);
}

/* ---- bh_arena ---- */

static void
test_arena_alloc(void **state)
{
    max_align_t store[16];
    unsigned char *buf = (unsigned char *)store + 1; /* deliberately misaligned */
    size_t size = sizeof(store) - 1;
    bh_arena a;
    void *p, *q, *r;

    (void)state;
    bh_arena_init(&a, buf, size);
    p = a.pc.alloc(a.pc.allocator_data, 1);
    q = a.pc.alloc(a.pc.allocator_data, 3);
    assert_non_null(p);
    assert_non_null(q);
    /* From the caller's buffer, each aligned for any type, never shared. */
    assert_true((unsigned char *)p >= buf && (unsigned char *)p < buf + size);
    assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    assert_int_equal((uintptr_t)q % _Alignof(max_align_t), 0);
    assert_true((unsigned char *)q >= (unsigned char *)p + 1);
    /* Larger than what is left: a malloc'd block, still aligned. */
    r = a.pc.alloc(a.pc.allocator_data, 10000);
    assert_non_null(r);
    assert_true((unsigned char *)r < buf || (unsigned char *)r >= buf + size);
    assert_int_equal((uintptr_t)r % _Alignof(max_align_t), 0);
    memset(r, 0xab, 10000);
    /* An impossible size fails and says so. */
    assert_null(a.pc.alloc(a.pc.allocator_data, SIZE_MAX - 8));
    assert_int_equal(a.oom, 1);
    /* Reset: the buffer is handed out again from its start, the flag is
     * cleared, the block is kept for reuse. */
    bh_arena_reset(&a);
    assert_int_equal(a.oom, 0);
    assert_ptr_equal(a.pc.alloc(a.pc.allocator_data, 1), p);
    assert_non_null(a.blocks);
    bh_arena_fini(&a);
    assert_null(a.blocks);
    bh_arena_fini(NULL);

    /* Without a buffer every allocation comes from blocks. */
    bh_arena_init(&a, NULL, 0);
    p = a.pc.alloc(a.pc.allocator_data, 24);
    assert_non_null(p);
    memset(p, 0, 24);
    bh_arena_fini(&a);
}

/* A response larger than the caller's buffer, unpacked into an arena,
 * is the message that was sent (the fake server echoes the payload). */
static void
test_arena_call(void **state)
{
    enum { ROWS = 60, WIDTH = 120 };
    Bilheteria__V1__GetSeatMapResponse msg = BILHETERIA__V1__GET_SEAT_MAP_RESPONSE__INIT;
    Bilheteria__V1__SeatRow rows[ROWS], *rowp[ROWS];
    char labels[ROWS][8], states[ROWS][WIDTH + 1];
    ProtobufCMessage *out = NULL, *first;
    max_align_t small[32];
    uint8_t *want, *got;
    size_t n;
    bh_arena a;
    bh_client *c;
    bh_status st;

    (void)state;
    for (int i = 0; i < ROWS; i++) {
        bilheteria__v1__seat_row__init(&rows[i]);
        snprintf(labels[i], sizeof(labels[i]), "R%d", i);
        for (int k = 0; k < WIDTH; k++)
            states[i][k] = ".hx"[(i + k) % 3];
        states[i][WIDTH] = 0;
        rows[i].label = labels[i];
        rows[i].states = states[i];
        rowp[i] = &rows[i];
    }
    msg.rows = rowp;
    msg.n_rows = ROWS;
    msg.available = 4242;
    n = bilheteria__v1__get_seat_map_response__get_packed_size(&msg);
    assert_true(n > sizeof(small) + 2048); /* overflows both stack buffers */
    want = malloc(n);
    got = malloc(n);
    assert_non_null(want);
    assert_non_null(got);
    bilheteria__v1__get_seat_map_response__pack(&msg, want);

    atomic_store(&g_fake.mode, FAKE_ECHO);
    c = open_client(g_fake.url, 2000, NULL);
    bh_arena_init(&a, small, sizeof(small));
    bh_call_opts o = { .arena = &a };
    assert_int_equal(bh_call(c, "test.Echo/Echo", &msg.base,
                             &bilheteria__v1__get_seat_map_response__descriptor, &out, &o, &st),
                     BH_OK);
    assert_non_null(out);
    /* The message itself is the arena's first allocation. */
    assert_true((unsigned char *)out >= (unsigned char *)small &&
                (unsigned char *)out < (unsigned char *)small + sizeof(small));
    assert_int_equal(protobuf_c_message_get_packed_size(out), n);
    protobuf_c_message_pack(out, got);
    assert_memory_equal(got, want, n);
    assert_int_equal(((Bilheteria__V1__GetSeatMapResponse *)out)->n_rows, ROWS);
    assert_string_equal(((Bilheteria__V1__GetSeatMapResponse *)out)->rows[ROWS - 1]->label, "R59");

    /* Reset and call again: same place, same answer. */
    first = out;
    bh_arena_reset(&a);
    out = NULL;
    assert_int_equal(bh_call(c, "test.Echo/Echo", &msg.base,
                             &bilheteria__v1__get_seat_map_response__descriptor, &out, &o, &st),
                     BH_OK);
    assert_ptr_equal(out, first);
    memset(got, 0, n);
    protobuf_c_message_pack(out, got);
    assert_memory_equal(got, want, n);

    bh_arena_fini(&a);
    bh_client_close(c);
    free(want);
    free(got);
}

/* ---- the SDK's newer features ---- */

static void
test_version_and_keys(void **state)
{
    char a[BH_IDEMPOTENCY_KEY_MAX + 1], b[BH_IDEMPOTENCY_KEY_MAX + 1];

    (void)state;
    assert_string_equal(bh_version(), BH_VERSION);
    assert_int_equal(bh_idempotency_key_new(a), BH_OK);
    assert_int_equal(bh_idempotency_key_new(b), BH_OK);
    /* A UUIDv4: 8-4-4-4-12 hex, version 4, variant 10xx. */
    assert_int_equal(strlen(a), 36);
    assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    assert_string_not_equal(a, b);
}

/* bh_options and bh_call_options carry their size: an older caller's
 * smaller struct works, a newer caller's unknown fields must be zero. */
static void
test_abi_sizes(void **state)
{
    struct {
        bh_options o;
        unsigned char newer[16];
    } big;
    bh_options old;
    bh_client *c = NULL;
    bh_status st;
    uint8_t *raw = NULL;
    size_t len = 0;

    (void)state;
    /* The first .so.2 layout (up to tls_key_file), by size and by 0. */
    memset(&old, 0, sizeof(old));
    old.url = UNREACHABLE_URL;
    old.size = offsetof(bh_options, auth_token_fn);
    old.max_retries = 999; /* past the caller's size: never read */
    assert_int_equal(bh_client_open(&c, &old, &st), BH_OK);
    bh_client_close(c);
    c = NULL;
    old.size = 0;
    assert_int_equal(bh_client_open(&c, &old, &st), BH_OK);
    bh_client_close(c);
    c = NULL;
    /* The layout before urls. */
    old.size = offsetof(bh_options, urls);
    assert_int_equal(bh_client_open(&c, &old, &st), BH_OK);
    bh_client_close(c);
    c = NULL;
    /* Too small to be any layout. */
    old.size = offsetof(bh_options, tls_ca_file);
    assert_int_equal(bh_client_open(&c, &old, &st), BH_INVALID_ARGUMENT);
    assert_null(c);

    /* A newer header's struct: fine while its new fields are zero. */
    memset(&big, 0, sizeof(big));
    big.o.url = UNREACHABLE_URL;
    big.o.size = sizeof(big);
    assert_int_equal(bh_client_open(&c, &big.o, &st), BH_OK);
    bh_client_close(c);
    c = NULL;
    big.newer[3] = 1;
    assert_int_equal(bh_client_open(&c, &big.o, &st), BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "built against a newer libbilheteria"));
    assert_null(c);

    /* bh_call_options: size 0 is refused, unknown bytes likewise. */
    c = open_client(UNREACHABLE_URL, 300, NULL);
    {
        struct {
            bh_call_options o;
            unsigned char newer[8];
        } co;

        memset(&co, 0, sizeof(co));
        assert_int_equal(bh_call_raw_ex(c, "x/y", NULL, 0, &raw, &len, &co.o, &st),
                         BH_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "bh_call_options.size is 0"));
        co.o.size = sizeof(co);
        co.newer[0] = 7;
        assert_int_equal(bh_call_raw_ex(c, "x/y", NULL, 0, &raw, &len, &co.o, &st),
                         BH_INVALID_ARGUMENT);
        assert_null(raw);
    }
    bh_client_close(c);
}

/* Many calls in flight from one thread, each answered with its own
 * payload, each callback run once. */
#define ASYNC_N 200

typedef struct async_rec {
    atomic_int calls, ok, bad;
    atomic_int codes[ASYNC_N];
} async_rec;

typedef struct async_one {
    async_rec *rec;
    int i;
} async_one;

static void
async_cb(void *arg, bh_call_result *r)
{
    async_one *one = arg;
    char want[16];
    int n = snprintf(want, sizeof(want), "call-%d", one->i);

    atomic_fetch_add(&one->rec->calls, 1);
    atomic_store(&one->rec->codes[one->i], r->status->code + 1);
    if (r->status->code == BH_OK && r->raw_len == (size_t)n && memcmp(r->raw, want, (size_t)n) == 0)
        atomic_fetch_add(&one->rec->ok, 1);
    else
        atomic_fetch_add(&one->rec->bad, 1);
}

static void
test_async_many(void **state)
{
    static async_rec rec;
    static async_one ones[ASYNC_N];
    bh_call_handle *h[ASYNC_N];
    bh_client *c;
    bh_status st;

    (void)state;
    memset(&rec, 0, sizeof(rec));
    atomic_store(&g_fake.mode, FAKE_ECHO);
    c = open_client(g_fake.url, 10000, NULL);
    for (int i = 0; i < ASYNC_N; i++) {
        char p[16];
        int n = snprintf(p, sizeof(p), "call-%d", i);

        ones[i] = (async_one){ .rec = &rec, .i = i };
        assert_int_equal(bh_call_raw_async(c, "bilheteria.v1.EventService/GetEvent",
                                           (const uint8_t *)p, (size_t)n, NULL, async_cb, &ones[i],
                                           &h[i], &st),
                         BH_OK);
    }
    for (int i = 0; i < ASYNC_N; i++) {
        bh_call_wait(h[i]);
        bh_call_release(h[i]);
    }
    assert_int_equal(atomic_load(&rec.calls), ASYNC_N);
    assert_int_equal(atomic_load(&rec.ok), ASYNC_N);
    assert_int_equal(atomic_load(&rec.bad), 0);
    /* A submission refused up front runs no callback. */
    assert_int_equal(bh_call_raw_async(c, "", NULL, 0, NULL, async_cb, &ones[0], NULL, &st),
                     BH_INVALID_ARGUMENT);
    assert_int_equal(atomic_load(&rec.calls), ASYNC_N);
    bh_client_close(c);
}

typedef struct cancel_rec {
    atomic_int calls, code, blocked;
} cancel_rec;

static void
cancel_cb(void *arg, bh_call_result *r)
{
    cancel_rec *cr = arg;
    uint8_t *raw = NULL;
    size_t len = 0;
    bh_status st;

    atomic_fetch_add(&cr->calls, 1);
    atomic_store(&cr->code, r->status->code);
    /* A blocking call from a callback is refused, not a deadlock. */
    atomic_store(&cr->blocked, bh_call_raw(bh_test_client, "x/y", NULL, 0, &raw, &len, NULL, &st));
}

static void
test_async_cancel(void **state)
{
    cancel_rec cr;
    bh_call_handle *h = NULL;
    bh_status st;

    (void)state;
    memset(&cr, 0, sizeof(cr));
    atomic_store(&g_fake.mode, FAKE_SILENT);
    atomic_store(&g_fake.nreq, 0);
    bh_test_client = open_client(g_fake.url, 60000, NULL);
    assert_int_equal(bh_call_raw_async(bh_test_client, "bilheteria.v1.HealthService/Check", NULL, 0,
                                       NULL, cancel_cb, &cr, &h, &st),
                     BH_OK);
    while (atomic_load(&g_fake.nreq) == 0) /* in flight at the server */
        nng_msleep(5);
    bh_call_cancel(h);
    bh_call_wait(h);
    bh_call_cancel(h); /* ended: nothing happens */
    bh_call_release(h);
    assert_int_equal(atomic_load(&cr.calls), 1);
    assert_int_equal(atomic_load(&cr.code), BH_CANCELLED);
    assert_int_equal(atomic_load(&cr.blocked), BH_FAILED_PRECONDITION);
    bh_client_close(bh_test_client);
    bh_test_client = NULL;
    assert_int_equal(atomic_load(&cr.calls), 1);
}

/* Elapsed milliseconds of nng's clock since t0. */
static int64_t
since(nng_time t0)
{
    return (int64_t)(nng_clock() - t0);
}

/* A refused server fails the call long before its deadline (retries
 * included); wait_for_ready waits for it instead. */
static void
test_fail_fast(void **state)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    bh_client *c;
    bh_status st;
    nng_time t0;

    (void)state;
    c = open_client(UNREACHABLE_URL, 5000, NULL);
    co.info = &info;
    for (int i = 0; i < 2; i++) { /* a fresh client, then one that knows */
        t0 = nng_clock();
        assert_int_equal(
            bh_call_ex(c, "bilheteria.v1.HealthService/Check", &req.base, &resp, &co, &st),
            BH_UNAVAILABLE);
        if (since(t0) > 2500)
            fail_msg("a refused call took %lld ms of its 5000", (long long)since(t0));
        assert_non_null(strstr(st.message, "cannot reach server at " UNREACHABLE_URL));
        /* Nothing went out: retried, with the default 3 retries. */
        assert_int_equal(info.attempts, 1 + BH_MAX_RETRIES_DEFAULT);
    }
    assert_null(resp);

    co.wait_for_ready = 1;
    co.timeout_ms = 600;
    t0 = nng_clock();
    assert_int_equal(bh_call_ex(c, "bilheteria.v1.HealthService/Check", &req.base, &resp, &co, &st),
                     BH_UNAVAILABLE);
    assert_true(since(t0) >= 500); /* it waited (about) its deadline */
    assert_non_null(strstr(st.message, "no connection within 600 ms"));
    bh_client_close(c);
}

/* The answer to a write is lost: the library retries it with the key it
 * made for it, the same key on both tries. A read is retried without a
 * key; a method the library does not know is not retried. */
static void
test_retry_auto_key(void **state)
{
    static const char payload[] = "create";
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    uint8_t *raw = NULL;
    size_t len = 0;
    bh_client *c;
    bh_status st;

    (void)state;
    c = open_client(g_fake.url, 5000, NULL);
    co.info = &info;
    atomic_store(&g_fake.nreq, 0);
    atomic_store(&g_fake.mode, FAKE_DROP_ONCE);
    assert_int_equal(bh_call_raw_ex(c, "bilheteria.v1.EventService/CreateEvent",
                                    (const uint8_t *)payload, sizeof(payload), &raw, &len, &co,
                                    &st),
                     BH_OK);
    assert_int_equal(len, sizeof(payload));
    free(raw);
    raw = NULL;
    assert_int_equal(atomic_load(&g_fake.nreq), 2);
    assert_int_equal(info.attempts, 2);
    assert_int_equal(strlen(info.idempotency_key), 36);
    pthread_mutex_lock(&g_fake.mtx);
    assert_string_equal(g_fake.first_key, info.idempotency_key);
    assert_string_equal(g_fake.key, info.idempotency_key);
    pthread_mutex_unlock(&g_fake.mtx);

    /* A read: retried, no key. */
    atomic_store(&g_fake.mode, FAKE_DROP_ONCE);
    assert_int_equal(
        bh_call_raw_ex(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &raw, &len, &co, &st),
        BH_OK);
    free(raw);
    raw = NULL;
    assert_int_equal(info.attempts, 2);
    assert_string_equal(info.idempotency_key, "");

    /* Unknown: it may write, and has no key: the lost answer stands. */
    atomic_store(&g_fake.nreq, 0);
    atomic_store(&g_fake.mode, FAKE_DROP_ONCE);
    assert_int_equal(bh_call_raw_ex(c, "test.Other/Write", NULL, 0, &raw, &len, &co, &st),
                     BH_UNAVAILABLE);
    assert_int_equal(atomic_load(&g_fake.nreq), 1);
    assert_int_equal(info.attempts, 1);

    /* max_retries < 0: no retry, and so no automatic key. */
    co.max_retries = -1;
    atomic_store(&g_fake.mode, FAKE_DROP_ONCE);
    assert_int_equal(
        bh_call_raw_ex(c, "bilheteria.v1.EventService/CreateEvent", NULL, 0, &raw, &len, &co, &st),
        BH_UNAVAILABLE);
    assert_string_equal(info.idempotency_key, "");
    bh_client_close(c);
}

/* The first URL refuses: the call goes to the second. */
static void
test_failover(void **state)
{
    const char *urls[2] = { UNREACHABLE_URL, g_fake.url };
    bh_options o = BH_OPTIONS_INIT;
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    uint8_t *raw = NULL;
    size_t len = 0;
    bh_client *c = NULL;
    bh_status st;

    bh_client *other;
    nng_time t0;

    (void)state;
    atomic_store(&g_fake.mode, FAKE_ECHO);
    /* Another client's dialer first: nng 1.5.2's nng_stat_find_dialer
     * would hand its (failure-free) statistics to the dead URL's. */
    other = open_client(g_fake.url, 5000, NULL);
    o.urls = urls;
    o.n_urls = 2;
    o.timeout_ms = 5000;
    assert_int_equal(bh_client_open(&c, &o, &st), BH_OK);
    co.info = &info;
    for (int i = 0; i < 3; i++) {
        t0 = nng_clock();
        assert_int_equal(bh_call_raw_ex(c, "bilheteria.v1.EventService/GetEvent",
                                        (const uint8_t *)"x", 1, &raw, &len, &co, &st),
                         BH_OK);
        if (since(t0) > 2500)
            fail_msg("failover took %lld ms of 5000", (long long)since(t0));
        free(raw);
        raw = NULL;
        assert_int_equal(info.url_index, 1);
    }
    bh_client_close(c);

    bh_client_close(other);
    /* url and urls exclude each other. */
    o.url = g_fake.url;
    c = NULL;
    assert_int_equal(bh_client_open(&c, &o, &st), BH_INVALID_ARGUMENT);
    assert_null(c);
}

/* An error's details: the request id the server saw, the field it names,
 * the trace the call carried (the caller's, or a new one). */
static void
test_error_details(void **state)
{
    static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    uint8_t *raw = NULL;
    size_t len = 0;
    bh_client *c;
    bh_status st;

    (void)state;
    atomic_store(&g_fake.mode, FAKE_ERROR);
    c = open_client(g_fake.url, 2000, NULL);
    co.info = &info;
    co.traceparent = tp;
    assert_int_equal(
        bh_call_raw_ex(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &raw, &len, &co, &st),
        BH_NOT_FOUND);
    assert_string_equal(st.message, "event 42 does not exist");
    assert_string_equal(info.field, "event_id");
    assert_string_equal(info.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    pthread_mutex_lock(&g_fake.mtx);
    assert_true(info.request_id != 0);
    assert_true(info.request_id == g_fake.request_id);
    assert_string_equal(g_fake.traceparent, tp);
    pthread_mutex_unlock(&g_fake.mtx);

    /* Without one: a new trace, sampled, its id the one reported. */
    co.traceparent = NULL;
    assert_int_equal(
        bh_call_raw_ex(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &raw, &len, &co, &st),
        BH_NOT_FOUND);
    assert_int_equal(strlen(info.trace_id), BH_TRACE_ID_LEN);
    pthread_mutex_lock(&g_fake.mtx);
    assert_int_equal(strlen(g_fake.traceparent), BH_TRACEPARENT_LEN);
    assert_memory_equal(g_fake.traceparent + 3, info.trace_id, BH_TRACE_ID_LEN);
    assert_string_equal(g_fake.traceparent + 52, "-01");
    pthread_mutex_unlock(&g_fake.mtx);

    /* A caller's info of an older, smaller layout: nothing past it written. */
    {
        bh_call_info small;

        memset(&small, 0x5a, sizeof(small));
        small.size = offsetof(bh_call_info, trace_id);
        co.info = &small;
        assert_int_equal(
            bh_call_raw_ex(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &raw, &len, &co, &st),
            BH_NOT_FOUND);
        assert_true(small.request_id != 0);
        assert_int_equal((unsigned char)small.trace_id[0], 0x5a);
    }

    /* A malformed traceparent is refused before anything is sent. */
    co.traceparent = "00-nothex-00f067aa0ba902b7-01";
    assert_int_equal(
        bh_call_raw_ex(c, "bilheteria.v1.EventService/GetEvent", NULL, 0, &raw, &len, &co, &st),
        BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "traceparent"));
    bh_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest local[] = {
        cmocka_unit_test(test_code_names),    cmocka_unit_test(test_bad_url),
        cmocka_unit_test(test_bad_options),   cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_type_mismatch), cmocka_unit_test(test_arena_alloc),
        cmocka_unit_test(test_token_options), cmocka_unit_test(test_version_and_keys),
        cmocka_unit_test(test_abi_sizes),     cmocka_unit_test(test_fail_fast),
    };
    const struct CMUnitTest wire[] = {
        cmocka_unit_test(test_idempotency_key),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_token_fn),
        cmocka_unit_test(test_typed_call),
        cmocka_unit_test(test_arena_call),
        cmocka_unit_test(test_server_error),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_dropped_connection_no_resend),
        cmocka_unit_test(test_concurrent_calls),
        cmocka_unit_test(test_close_during_call),
        cmocka_unit_test(test_async_many),
        cmocka_unit_test(test_async_cancel),
        cmocka_unit_test(test_retry_auto_key),
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_error_details),
    };
    int failed = 0;

    failed += cmocka_run_group_tests_name("client_local", local, NULL, NULL);
    failed += cmocka_run_group_tests_name("client_wire", wire, fake_start, fake_stop);
    /* Stops nng's worker threads, so valgrind sees no leftovers of them. */
    nng_fini();
    return failed == 0 ? 0 : 1;
}
