/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libbilheteria's SDK features against a real server: many asynchronous
 * calls in flight, cancel, fail-fast and wait_for_ready across a server
 * stop, retries whose first answer is lost (with the automatic key, across
 * a kill -9 and restart; with a caller's key for a payment), failover to a
 * second URL, and the details of an error.
 *
 * An answer is lost by a proxy in this process: raw nng REP and REQ
 * sockets forwarding between the client and the server, which drops the
 * first answer it is told to and closes the client's connection instead.
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

#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "harness.h"

static bht_server srv;
static bh_client *cl;

static int64_t
since(nng_time t0)
{
    return (int64_t)(nng_clock() - t0);
}

/* ---- the answer-dropping proxy ---- */

typedef struct proxy {
    nng_socket front, back; /* raw REP (the client's side), raw REQ (the server's) */
    nng_thread *fwd, *rev;
    char url[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    nng_pipe last_pipe; /* the client connection of the last request */
    int drop;           /* answers to drop */
    int restart;        /* after a drop: kill -9 the server and restart it */
    int paused;         /* no forwarding while the server restarts */
    atomic_int forwarded, dropped;
} proxy;

static void
proxy_fwd(void *arg)
{
    proxy *p = arg;
    nng_msg *m;

    while (nng_recvmsg(p->front, &m, 0) == 0) {
        pthread_mutex_lock(&p->mu);
        while (p->paused)
            pthread_cond_wait(&p->cv, &p->mu);
        p->last_pipe = nng_msg_get_pipe(m);
        pthread_mutex_unlock(&p->mu);
        atomic_fetch_add(&p->forwarded, 1);
        if (nng_sendmsg(p->back, m, 0) != 0)
            nng_msg_free(m);
    }
}

static void
proxy_rev(void *arg)
{
    proxy *p = arg;
    nng_msg *m;

    while (nng_recvmsg(p->back, &m, 0) == 0) {
        int drop, restart;

        pthread_mutex_lock(&p->mu);
        drop = p->drop > 0;
        restart = drop && p->restart;
        if (drop) {
            p->drop--;
            p->paused = restart;
        }
        pthread_mutex_unlock(&p->mu);
        if (!drop) {
            if (nng_sendmsg(p->front, m, 0) != 0)
                nng_msg_free(m);
            continue;
        }
        /* The server has answered (so committed); the client never hears. */
        nng_msg_free(m);
        atomic_fetch_add(&p->dropped, 1);
        if (restart) {
            bht_kill9(&srv);
            assert_int_equal(bht_restart(&srv), 0);
        }
        pthread_mutex_lock(&p->mu);
        nng_pipe_close(p->last_pipe);
        p->paused = 0;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static void
proxy_start(proxy *p, int drop, int restart)
{
    nng_listener l;
    int port = 0;

    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->drop = drop;
    p->restart = restart;
    assert_int_equal(nng_rep0_open_raw(&p->front), 0);
    assert_int_equal(nng_req0_open_raw(&p->back), 0);
    assert_int_equal(nng_socket_set_ms(p->back, NNG_OPT_RECONNMINT, 20), 0);
    assert_int_equal(nng_socket_set_ms(p->back, NNG_OPT_RECONNMAXT, 100), 0);
    assert_int_equal(nng_listen(p->front, "tcp://127.0.0.1:0", &l, 0), 0);
    assert_int_equal(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port), 0);
    snprintf(p->url, sizeof(p->url), "tcp://127.0.0.1:%d", port);
    assert_int_equal(nng_dial(p->back, srv.url, NULL, NNG_FLAG_NONBLOCK), 0);
    assert_int_equal(nng_thread_create(&p->fwd, proxy_fwd, p), 0);
    assert_int_equal(nng_thread_create(&p->rev, proxy_rev, p), 0);
}

static void
proxy_stop(proxy *p)
{
    nng_close(p->front);
    nng_close(p->back);
    pthread_mutex_lock(&p->mu);
    p->paused = 0;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    nng_thread_destroy(p->fwd);
    nng_thread_destroy(p->rev);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

static bh_client *
client_for(const char *url, int32_t timeout_ms, int wait_for_ready)
{
    bh_options o = BH_OPTIONS_INIT;
    bh_client *c = NULL;
    bh_status st;

    o.url = url;
    o.timeout_ms = timeout_ms;
    o.wait_for_ready = wait_for_ready;
    if (bh_client_open(&c, &o, &st) != BH_OK)
        fail_msg("bh_client_open(%s): %s", url, st.message);
    return c;
}

/* ---- asynchronous calls ---- */

#define INFLIGHT 200

typedef struct many {
    atomic_int calls, ok;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int left;
} many;

static void
many_cb(void *arg, bh_call_result *r)
{
    many *m = arg;
    Bilheteria__V1__GetEventResponse *g = (Bilheteria__V1__GetEventResponse *)r->resp;

    atomic_fetch_add(&m->calls, 1);
    if (r->status->code == BH_OK && g != NULL && g->event != NULL && g->event->id != 0)
        atomic_fetch_add(&m->ok, 1);

    pthread_mutex_lock(&m->mu);
    if (--m->left == 0)
        pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* 200 calls from one thread, none waited for before all are out. */
static void
test_async_many_in_flight(void **state)
{
    Bilheteria__V1__GetEventRequest req = BILHETERIA__V1__GET_EVENT_REQUEST__INIT;
    many m = { .left = INFLIGHT };
    bh_status st;

    (void)state;
    req.id = bht_event(cl, "async");
    pthread_mutex_init(&m.mu, NULL);
    pthread_cond_init(&m.cv, NULL);
    for (int i = 0; i < INFLIGHT; i++)
        assert_int_equal(bh_call_async(cl, "bilheteria.v1.EventService/GetEvent", &req.base, NULL,
                                       many_cb, &m, NULL, &st),
                         BH_OK);
    pthread_mutex_lock(&m.mu);
    while (m.left > 0)
        pthread_cond_wait(&m.cv, &m.mu);
    pthread_mutex_unlock(&m.mu);
    assert_int_equal(atomic_load(&m.calls), INFLIGHT);
    assert_int_equal(atomic_load(&m.ok), INFLIGHT);
    pthread_cond_destroy(&m.cv);
    pthread_mutex_destroy(&m.mu);
}

/* Waits until the process is stopped ('T' in /proc/PID/stat). */
static void
wait_stopped(pid_t pid)
{
    char path[64], buf[256];

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(path, "r");
        char *p = NULL;

        if (f != NULL) {
            p = fgets(buf, sizeof(buf), f);
            fclose(f);
        }
        if (p != NULL && (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'T')
            return;
        bht_sleep_ms(10);
    }
    fail_msg("pid %d did not stop", (int)pid);
}

typedef struct once {
    atomic_int calls, code, replayed;
} once;

static void
once_cb(void *arg, bh_call_result *r)
{
    once *o = arg;

    atomic_fetch_add(&o->calls, 1);
    atomic_store(&o->code, r->status->code);
    atomic_store(&o->replayed, r->status->replayed);
}

/* A call the server holds (stopped with SIGSTOP) is cancelled: its
 * callback runs once, with CANCELLED. */
static void
test_async_cancel(void **state)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    bh_call_handle *h = NULL;
    once o = { 0 };
    bh_status st;

    (void)state;
    co.timeout_ms = 30000;
    assert_int_equal(kill(srv.pid, SIGSTOP), 0);
    wait_stopped(srv.pid);
    assert_int_equal(bh_call_async(cl, "bilheteria.v1.HealthService/Check", &req.base, &co, once_cb,
                                   &o, &h, &st),
                     BH_OK);
    bht_sleep_ms(100);
    if (atomic_load(&o.calls) != 0)
        fail_msg("ended before the cancel: %s", bh_code_name(atomic_load(&o.code)));
    bh_call_cancel(h);
    bh_call_wait(h);
    bh_call_release(h);
    assert_int_equal(kill(srv.pid, SIGCONT), 0);
    assert_int_equal(atomic_load(&o.calls), 1);
    assert_int_equal(atomic_load(&o.code), BH_CANCELLED);
    bht_event(cl, "after the cancel"); /* the client goes on */
}

/* ---- fail fast, wait for ready ---- */

/* The server is down: a call fails well before its deadline; with
 * wait_for_ready, one started then is answered once the server is back. */
static void
test_fail_fast_and_wait_for_ready(void **state)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *resp = NULL;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    bh_client *c = client_for(srv.url, 5000, 0);
    bh_call_handle *h = NULL;
    once o = { 0 };
    bh_status st;
    nng_time t0;

    (void)state;
    assert_int_equal(bh_health_check(c, &req, &resp, NULL, &st), BH_OK);
    bilheteria__v1__check_response__free_unpacked(resp, NULL);
    assert_int_equal(bht_stop(&srv), 0);

    t0 = nng_clock();
    assert_int_equal(bh_health_check(c, &req, &resp, NULL, &st), BH_UNAVAILABLE);
    if (since(t0) > 2500)
        fail_msg("UNAVAILABLE after %lld ms of a 5000 ms deadline", (long long)since(t0));

    co.wait_for_ready = 1;
    co.timeout_ms = 30000;
    assert_int_equal(
        bh_call_async(c, "bilheteria.v1.HealthService/Check", &req.base, &co, once_cb, &o, &h, &st),
        BH_OK);
    bht_sleep_ms(300);
    assert_int_equal(atomic_load(&o.calls), 0); /* still waiting */
    assert_int_equal(bht_restart(&srv), 0);
    bh_call_wait(h);
    bh_call_release(h);
    assert_int_equal(atomic_load(&o.code), BH_OK);
    bh_client_close(c);
}

/* ---- retries whose first answer is lost ---- */

/* CreateEvent without a key: the library makes one. The server commits,
 * its answer is lost, the server is killed and restarted; the retry,
 * with the same key, gets the stored answer: one event, not two. */
static void
test_retry_auto_key_across_restart(void **state)
{
    Bilheteria__V1__CreateEventRequest req = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    Bilheteria__V1__CreateEventResponse *resp = NULL;
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    uint64_t before = bht_count_events(cl);
    proxy p;
    bh_client *c;
    bh_status st;

    (void)state;
    proxy_start(&p, 1, 1);
    c = client_for(p.url, 20000, 1);
    co.info = &info;
    req.name = "once, across a restart";
    assert_int_equal(bh_call_ex(c, "bilheteria.v1.EventService/CreateEvent", &req.base,
                                (ProtobufCMessage **)&resp, &co, &st),
                     BH_OK);
    assert_int_equal(atomic_load(&p.dropped), 1);
    assert_true(info.attempts >= 2);
    assert_int_equal(strlen(info.idempotency_key), 36);
    assert_int_equal(st.replayed, 1);
    bilheteria__v1__create_event_response__free_unpacked(resp, NULL);
    bh_client_close(c);
    proxy_stop(&p);

    /* The harness's client reconnects to the restarted server. */
    bh_client_close(cl);
    cl = bht_client(&srv);
    assert_int_equal(bht_count_events(cl), before + 1);
}

/* ConfirmPayment with the caller's key: its answer is lost, the retry
 * answers from the idempotency store, and there is one payment. */
static void
test_retry_payment_once(void **state)
{
    Bilheteria__V1__CreateReservationRequest rr = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CreateReservationResponse *rs = NULL;
    Bilheteria__V1__ConfirmPaymentRequest pr = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__ConfirmPaymentResponse *ps = NULL;
    Bilheteria__V1__GetPaymentRequest gr = BILHETERIA__V1__GET_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__GetPaymentResponse *gs = NULL;
    char key[BH_IDEMPOTENCY_KEY_MAX + 1];
    char *seats[] = { "A1" };
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    proxy p;
    bh_client *c;
    bh_status st;

    (void)state;
    rr.session_id = bht_session(cl, bht_event(cl, "pay once"), 2, 5, 2000);
    rr.user_id = "maria";
    rr.seats = seats;
    rr.n_seats = 1;
    assert_int_equal(bh_reservation_create_reservation(cl, &rr, &rs, NULL, &st), BH_OK);

    assert_int_equal(bh_idempotency_key_new(key), BH_OK);
    proxy_start(&p, 1, 0);
    c = client_for(p.url, 10000, 0);
    pr.reservation_id = rs->reservation->id;
    pr.amount_cents = rs->reservation->total_cents;
    pr.method = "pix";
    co.idempotency_key = key;
    co.info = &info;
    assert_int_equal(bh_call_ex(c, "bilheteria.v1.PaymentService/ConfirmPayment", &pr.base,
                                (ProtobufCMessage **)&ps, &co, &st),
                     BH_OK);
    assert_int_equal(atomic_load(&p.dropped), 1);
    assert_int_equal(info.attempts, 2);
    assert_string_equal(info.idempotency_key, key);
    assert_int_equal(st.replayed, 1);

    /* One payment: this one, and none after it. */
    gr.id = ps->payment->id;
    assert_int_equal(bh_payment_get_payment(cl, &gr, &gs, NULL, &st), BH_OK);
    assert_int_equal(gs->payment->reservation_id, pr.reservation_id);
    bilheteria__v1__get_payment_response__free_unpacked(gs, NULL);
    gs = NULL;
    gr.id = ps->payment->id + 1;
    assert_int_equal(bh_payment_get_payment(cl, &gr, &gs, NULL, &st), BH_NOT_FOUND);

    bilheteria__v1__confirm_payment_response__free_unpacked(ps, NULL);
    bilheteria__v1__create_reservation_response__free_unpacked(rs, NULL);
    bh_client_close(c);
    proxy_stop(&p);
}

/* ---- failover, error details ---- */

static void
test_failover(void **state)
{
    char dead[400];
    const char *urls[2];
    bh_options o = BH_OPTIONS_INIT;
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    bh_client *c = NULL;
    bh_status st;

    (void)state;
    snprintf(dead, sizeof(dead), "ipc://%s/nobody-listens.sock", srv.dir);
    urls[0] = dead;
    urls[1] = srv.url;
    o.urls = urls;
    o.n_urls = 2;
    assert_int_equal(bh_client_open(&c, &o, &st), BH_OK);
    co.info = &info;
    if (bh_call_ex(c, "bilheteria.v1.HealthService/Check", &req.base, &resp, &co, &st) != BH_OK)
        fail_msg("%s (tries %d, url %d)", st.message, info.attempts, info.url_index);
    assert_int_equal(info.url_index, 1);
    protobuf_c_message_free_unpacked(resp, NULL);
    bh_client_close(c);
}

static void
test_error_details(void **state)
{
    Bilheteria__V1__GetEventRequest req = BILHETERIA__V1__GET_EVENT_REQUEST__INIT;
    Bilheteria__V1__CreateEventRequest bad = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    bh_status st;

    (void)state;
    co.info = &info;
    req.id = 987654321;
    assert_int_equal(
        bh_call_ex(cl, "bilheteria.v1.EventService/GetEvent", &req.base, &resp, &co, &st),
        BH_NOT_FOUND);
    assert_true(info.request_id != 0);
    assert_int_equal(strlen(info.trace_id), BH_TRACE_ID_LEN);
    assert_int_equal(info.attempts, 1);

    /* An INVALID_ARGUMENT names its field, in the answer's field. */
    bad.name = "";
    assert_int_equal(
        bh_call_ex(cl, "bilheteria.v1.EventService/CreateEvent", &bad.base, &resp, &co, &st),
        BH_INVALID_ARGUMENT);
    assert_true(info.request_id != 0);
    assert_string_equal(info.field, "name");
    /* ... and so does a string with a NUL inside, by its path. */
    static const uint8_t nul_name[] = { 0x0a, 0x03, 'a', 0x00, 'b' }; /* name "a\0b" */
    uint8_t *out = NULL;
    size_t outlen = 0;
    bh_call_options co2 = co;
    assert_int_equal(bh_call_raw_ex(cl, "bilheteria.v1.EventService/CreateEvent", nul_name,
                                    sizeof(nul_name), &out, &outlen, &co2, &st),
                     BH_INVALID_ARGUMENT);
    assert_string_equal(info.field, "name");
    free(out);
    assert_null(resp);

    /* A refusal whose message starts with a request field's path names it
     * too, nested and indexed ("items[0].quantity must be ..."); one that
     * starts with words names none. */
    Bilheteria__V1__CreateReservationRequest rr = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__ItemRequest it = BILHETERIA__V1__ITEM_REQUEST__INIT, *items[] = { &it };
    char *labels[] = { "A1" };
    rr.session_id = 1;
    rr.user_id = "ana";
    rr.best = 1;
    rr.n_items = 1;
    rr.items = items;
    it.product_id = 1;
    assert_int_equal(bh_call_ex(cl, "bilheteria.v1.ReservationService/CreateReservation", &rr.base,
                                &resp, &co, &st),
                     BH_INVALID_ARGUMENT);
    assert_string_equal(info.field, "items[0].quantity");
    rr.n_items = 0;
    rr.n_seats = 1;
    rr.seats = labels;
    assert_int_equal(bh_call_ex(cl, "bilheteria.v1.ReservationService/CreateReservation", &rr.base,
                                &resp, &co, &st),
                     BH_INVALID_ARGUMENT);
    assert_string_equal(info.field, "");
    assert_null(resp);
}

static int
setup(void **state)
{
    (void)state;
    /* 200 calls in flight on one connection: past the server's default
     * limit of a connection's unanswered calls. */
    static const char *const extra[] = { "--max-inflight-per-conn", "256", NULL };

    return bht_group_start(&srv, &cl, extra);
}

static int
teardown(void **state)
{
    (void)state;
    return bht_group_stop(&srv, cl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_many_in_flight),
        cmocka_unit_test(test_async_cancel),
        cmocka_unit_test(test_error_details),
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_retry_payment_once),
        cmocka_unit_test(test_retry_auto_key_across_restart),
        cmocka_unit_test(test_fail_fast_and_wait_for_ready),
    };
    return cmocka_run_group_tests_name("sdk", tests, setup, teardown);
}
