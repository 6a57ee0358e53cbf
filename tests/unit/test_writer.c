/* SPDX-License-Identifier: Apache-2.0 */
/* server/writer.c: the batch logic over a real temp store. Calls are decoded
 * from packed envelopes (srv_request_decode) and submitted as the listener
 * does; an LMDB write transaction held by the test keeps the writer waiting,
 * so that what is submitted meanwhile forms at most two batches. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "audit.h"
#include "metrics.h"
#include "slurp.h"
#include "srv.h"
#include "tmpstore.h"

#define CREATE_EVENT "bilheteria.v1.EventService/CreateEvent"
#define CREATE_RESV  "bilheteria.v1.ReservationService/CreateReservation"
#define S(x)         BILHETERIA__V1__STATUS_CODE__##x

/* One call in flight, with what its done callback saw. */
typedef struct pending {
    struct fx *f;
    bh__arena arena;
    srv_call c;
    srv_wslot slot;
    int64_t deadline_ms; /* if set, given to the call before it is submitted */
    int done;
    int visible; /* at done: its event is in a new read transaction */
} pending;

struct fx {
    tmpstore ts;
    srv_config cfg;
    srv_writer *w;
    store_txn *hold; /* the write lock, while held */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n_done;
    srv_audit *audit; /* if set: done adds a line per call, as the request path does */
};

static int
group_setup(void **state)
{
    (void)state;
    return srv_registry_init() == 0 ? 0 : -1;
}

static int
start(struct fx *f, size_t map_size)
{
    srv_config cfg = { .max_request = 1 << 20,
                       .hold_ttl_ms = 600000,
                       .idem_retention_ms = 86400000,
                       .max_seats = 10,
                       .sweep_interval_ms = 60000,
                       .quiet = 1 };
    f->cfg = cfg;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (tmpstore_open(&f->ts, map_size) != 0)
        return -1;
    return srv_writer_start(&f->w, f->ts.s, &f->cfg);
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL || start(f, 1 << 22) != 0)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    srv_writer_stop(f->w);
    srv_writer_free(f->w);
    srv_audit_close(f->audit);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    int rc = tmpstore_close(&f->ts);
    free(f);
    return rc;
}

/* The id of the event a CreateEvent answer carries (packed or not); 0 if
 * none. */
static uint64_t
event_id(const srv_call *c)
{
    if (c->code != 0)
        return 0;
    if (c->resp != NULL)
        return ((const Bilheteria__V1__CreateEventResponse *)c->resp)->event->id;
    Bilheteria__V1__CreateEventResponse *r =
        bilheteria__v1__create_event_response__unpack(NULL, c->resp_len, c->resp_bytes);
    if (r == NULL)
        return 0;
    uint64_t id = r->event != NULL ? r->event->id : 0;
    bilheteria__v1__create_event_response__free_unpacked(r, NULL);
    return id;
}

/* Runs on the writer's responder thread, after the commit (and sync). */
static void
done(void *arg)
{
    pending *p = arg;
    struct fx *f = p->f;
    uint64_t id = strcmp(p->c.m->name, CREATE_EVENT) == 0 ? event_id(&p->c) : 0;
    if (id != 0) {
        store_txn *t = NULL;
        Bilheteria__V1__Event *ev = NULL;
        if (store_read_begin(f->ts.s, &t) == STORE_OK) {
            p->visible = store_event_get(t, id, NULL, &ev) == STORE_OK;
            if (ev != NULL)
                bilheteria__v1__event__free_unpacked(ev, NULL);
            store_read_end(t);
        }
    }
    if (f->audit != NULL) {
        srv_audit_rec rec = { .method = p->c.m->name, .request_id = 1, .code = p->c.code };
        assert_int_equal(srv_audit_add(f->audit, &rec), 0);
    }
    pthread_mutex_lock(&f->mu);
    p->done = 1;
    f->n_done++;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* Decodes an envelope for method with payload req and submits it. */
static void
submit(struct fx *f, pending *p, const char *method, const ProtobufCMessage *req, const char *key)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *payload = malloc(n ? n : 1);
    assert_non_null(payload);
    protobuf_c_message_pack(req, payload);
    Bilheteria__V1__RequestEnvelope env = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    env.method = (char *)method;
    env.request_id = 1;
    env.idempotency_key = (char *)(key ? key : "");
    env.payload.data = payload;
    env.payload.len = n;
    size_t len = bilheteria__v1__request_envelope__get_packed_size(&env);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    bilheteria__v1__request_envelope__pack(&env, buf);
    p->f = f;
    assert_int_equal(bh__arena_init_alloc(&p->arena, 4096), 0);
    srv_call_init(&p->c, &p->arena, &f->cfg, srv_writer_env(f->w));
    uint64_t request_id;
    assert_int_equal(srv_request_decode(&p->c, buf, len, &request_id), SRV_DECODED_WRITE);
    free(buf);
    free(payload);
    if (p->deadline_ms != 0)
        p->c.deadline_ms = p->deadline_ms;
    srv_writer_submit(f->w, &p->slot, &p->c, done, p);
}

static void
create_event(struct fx *f, pending *p, const char *name, const char *key)
{
    Bilheteria__V1__CreateEventRequest r = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    r.name = (char *)name;
    submit(f, p, CREATE_EVENT, &r.base, key);
}

static void
create_resv(struct fx *f, pending *p, uint64_t session_id, const char *key)
{
    Bilheteria__V1__CreateReservationRequest r = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    r.user_id = "u1";
    r.session_id = session_id;
    r.best = 1;
    submit(f, p, CREATE_RESV, &r.base, key);
}

static void
wait_all(struct fx *f, int n)
{
    pthread_mutex_lock(&f->mu);
    while (f->n_done < n)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static void
lock_writer(struct fx *f)
{
    assert_int_equal(store_write_begin(f->ts.s, &f->hold), STORE_OK);
}

static void
unlock_writer(struct fx *f)
{
    store_abort(f->hold);
    f->hold = NULL;
}

static void
finish(pending *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bh__arena_fini(&p[i].arena);
}

static void
test_one_failure_spoils_nothing(void **state)
{
    struct fx *f = *state;
    pending p[3];
    memset(p, 0, sizeof(p));
    srv_health before, after;
    srv_writer_health(f->w, &before);
    lock_writer(f);
    create_event(f, &p[0], "Show A", NULL);
    create_resv(f, &p[1], 999, NULL); /* no such session */
    create_event(f, &p[2], "Show B", NULL);
    unlock_writer(f);
    wait_all(f, 3);
    assert_int_equal(p[0].c.code, 0);
    assert_int_equal(p[1].c.code, S(NOT_FOUND));
    assert_non_null(strstr(p[1].c.msg, "session 999"));
    assert_int_equal(p[2].c.code, 0);
    /* Answered after the commit: a new read transaction saw each write. */
    assert_true(p[0].visible);
    assert_true(p[2].visible);
    assert_int_not_equal(event_id(&p[0].c), event_id(&p[2].c));
    srv_writer_health(f->w, &after);
    assert_false(after.broken);
    assert_int_equal(after.writes - before.writes, 3);
    /* The failing call shared a batch with at least one of the others. */
    assert_in_range(after.commits - before.commits, 1, 2);
    const srv_env *env = srv_writer_env(f->w);
    srv_health h;
    env->health(env->health_arg, &h);
    assert_int_equal(h.writes, after.writes);
    assert_null(env->seats); /* reads get no seat cache */
    finish(p, 3);
}

static void
test_idempotent_replay(void **state)
{
    struct fx *f = *state;
    pending p[6];
    memset(p, 0, sizeof(p));
    create_event(f, &p[0], "Show A", "k1");
    wait_all(f, 1);
    assert_int_equal(p[0].c.code, 0);
    assert_false(p[0].c.replayed);
    uint64_t id = event_id(&p[0].c);
    assert_true(id != 0);
    /* The same request under the same key: the stored answer, nothing new. */
    create_event(f, &p[1], "Show A", "k1");
    wait_all(f, 2);
    assert_int_equal(p[1].c.code, 0);
    assert_true(p[1].c.replayed);
    assert_int_equal(event_id(&p[1].c), id);
    /* Another request under that key is refused. */
    create_event(f, &p[2], "Show B", "k1");
    wait_all(f, 3);
    assert_int_equal(p[2].c.code, S(INVALID_ARGUMENT));
    assert_non_null(strstr(p[2].c.msg, "already used"));
    /* A definite refusal is kept under its key too. */
    create_resv(f, &p[3], 999, "k2");
    create_resv(f, &p[4], 999, "k2");
    wait_all(f, 5);
    assert_int_equal(p[3].c.code, S(NOT_FOUND));
    assert_false(p[3].c.replayed);
    assert_int_equal(p[4].c.code, S(NOT_FOUND));
    assert_true(p[4].c.replayed);
    assert_string_equal(p[4].c.msg, p[3].c.msg);
    /* No event was made by the replay or the refusal. */
    create_event(f, &p[5], "Show C", NULL);
    wait_all(f, 6);
    assert_int_equal(event_id(&p[5].c), id + 1);
    finish(p, 6);
}

static void
test_deadline_passed(void **state)
{
    struct fx *f = *state;
    pending p[2];
    memset(p, 0, sizeof(p));
    p[0].deadline_ms = 1; /* long past on the monotonic clock */
    create_event(f, &p[0], "Late", NULL);
    wait_all(f, 1);
    assert_int_equal(p[0].c.code, S(DEADLINE_EXCEEDED));
    create_event(f, &p[1], "On time", NULL);
    wait_all(f, 2);
    assert_int_equal(event_id(&p[1].c), 1); /* the late one wrote nothing */
    finish(p, 2);
}

/* A batch that fills the map: the writer grows it and runs the batch again,
 * and no call sees the full map. */
static void
test_map_full_grows(void **state)
{
    (void)state;
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(start(f, 1 << 20), 0);
    size_t before = store_map_size(f->ts.s), n = 400;
    pending *p = calloc(n, sizeof(*p));
    assert_non_null(p);
    char desc[2001];
    memset(desc, 'd', 2000);
    desc[2000] = 0;
    lock_writer(f);
    for (size_t i = 0; i < n; i++) {
        Bilheteria__V1__CreateEventRequest r = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
        r.name = "Big";
        r.description = desc;
        submit(f, &p[i], CREATE_EVENT, &r.base, NULL);
    }
    unlock_writer(f);
    wait_all(f, (int)n);
    for (size_t i = 0; i < n; i++)
        if (p[i].c.code != 0 || !p[i].visible)
            fail_msg("call %zu: code %d (%s)", i, p[i].c.code, p[i].c.msg);
    assert_true(store_map_size(f->ts.s) > before);
    finish(p, n);
    free(p);
    void *fs = f;
    assert_int_equal(teardown(&fs), 0);
}

/* ---- metrics: what the writer counts, and only once it committed ---- */

#define CREATE_SESSION "bilheteria.v1.SessionService/CreateSession"
#define CANCEL_RESV    "bilheteria.v1.ReservationService/CancelReservation"
#define CONFIRM_PAY    "bilheteria.v1.PaymentService/ConfirmPayment"

/* The value of an unlabelled series in a fresh rendering; fails the test if
 * it is not there. */
static double
metric(const char *name)
{
    char *text = NULL, key[128];
    size_t len = 0;
    assert_int_equal(srv_metrics_render(&text, &len), 0);
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *at = strstr(text, key);
    if (at == NULL)
        fail_msg("no series %s in:\n%s", name, text);
    double v = strtod(at + strlen(key), NULL);
    free(text);
    return v;
}

/* The business series, in the order expect_business takes them. */
static const char *const business[] = {
    "bilheteria_holds_active",
    "bilheteria_payments_total",
    "bilheteria_revenue_cents_total",
    "bilheteria_seats_sold_total",
    "bilheteria_reservations_expired_total",
    "bilheteria_idempotent_replays_total",
};
#define N_BUSINESS (sizeof(business) / sizeof(business[0]))

static void
expect_business(const double want[N_BUSINESS])
{
    for (size_t i = 0; i < N_BUSINESS; i++) {
        double got = metric(business[i]);
        if (got != want[i])
            fail_msg("%s is %g, want %g", business[i], got, want[i]);
    }
}

static void
create_session(struct fx *f, pending *p, uint64_t event_id, uint32_t rows)
{
    Bilheteria__V1__CreateSessionRequest r = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    r.event_id = event_id;
    r.starts_at_ms = srv_now_ms() + 86400000;
    r.rows = rows;
    r.seats_per_row = 20;
    r.price_cents = 1000;
    submit(f, p, CREATE_SESSION, &r.base, NULL);
}

static void
hold(struct fx *f, pending *p, uint32_t best, int32_t ttl_s)
{
    Bilheteria__V1__CreateReservationRequest r = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    r.user_id = "u1";
    r.session_id = 1;
    r.best = best;
    r.ttl_s = ttl_s;
    submit(f, p, CREATE_RESV, &r.base, NULL);
}

static void
cancel(struct fx *f, pending *p, uint64_t id)
{
    Bilheteria__V1__CancelReservationRequest r = BILHETERIA__V1__CANCEL_RESERVATION_REQUEST__INIT;
    r.id = id;
    submit(f, p, CANCEL_RESV, &r.base, NULL);
}

static void
pay(struct fx *f, pending *p, uint64_t id, int64_t amount, const char *key)
{
    Bilheteria__V1__ConfirmPaymentRequest r = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    r.reservation_id = id;
    r.amount_cents = amount;
    submit(f, p, CONFIRM_PAY, &r.base, key);
}

/* An event and session 1 of rows x 20 seats at 1000 cents. */
static void
make_session(struct fx *f, pending *p, uint32_t rows)
{
    create_event(f, &p[0], "Show", NULL);
    wait_all(f, f->n_done + 1);
    create_session(f, &p[1], 1, rows);
    wait_all(f, f->n_done + 1);
    assert_int_equal(p[0].c.code, 0);
    assert_int_equal(p[1].c.code, 0);
}

static void
test_business_counters(void **state)
{
    struct fx *f = *state;
    pending p[12];
    memset(p, 0, sizeof(p));
    srv_metrics_reset();
    srv_metrics_enable(1);
    make_session(f, p, 2);
    assert_int_equal(metric("bilheteria_commit_batch_size_count"), 2);
    assert_int_equal(metric("bilheteria_commit_duration_seconds_count"), 2);
    /* Holds 1 (2 seats), 2 and 3. */
    lock_writer(f);
    hold(f, &p[2], 2, 0);
    hold(f, &p[3], 1, 0);
    hold(f, &p[4], 1, 0);
    unlock_writer(f);
    wait_all(f, 5);
    for (int i = 2; i <= 4; i++)
        assert_int_equal(p[i].c.code, 0);
    assert_int_equal(metric("bilheteria_holds_active"), 3);
    assert_int_equal(metric("bilheteria_writer_queue_depth"), 0);
    /* 1 is paid, 2 cancelled; paying 3 the wrong amount fails in its own
     * nested transaction and counts nothing. */
    lock_writer(f);
    pay(f, &p[5], 1, 2000, "pay-1");
    cancel(f, &p[6], 2);
    pay(f, &p[7], 3, 999, "pay-3");
    unlock_writer(f);
    wait_all(f, 8);
    assert_int_equal(p[5].c.code, 0);
    assert_int_equal(p[6].c.code, 0);
    assert_int_equal(p[7].c.code, S(FAILED_PRECONDITION));
    expect_business((const double[]){ 1, 1, 2000, 2, 0, 0 });
    /* The payment again under its key: a replay, not a second payment. */
    pay(f, &p[8], 1, 2000, "pay-1");
    wait_all(f, 9);
    assert_int_equal(p[8].c.code, 0);
    assert_true(p[8].c.replayed);
    expect_business((const double[]){ 1, 1, 2000, 2, 0, 1 });
    assert_int_equal(metric("bilheteria_commit_failures_total"), 0);
    /* Every call was in a commit. */
    assert_int_equal(metric("bilheteria_commit_batch_size_sum"), 9);
    srv_metrics_enable(0);
    finish(p, 9);
}

/* A lapsed hold released by a call that then fails is put back with the
 * call's transaction: the sweep expires it later, and it is counted once.
 * The writer's sweep takes 512 at a time, so the 513th is still there for
 * the call to find. */
static void
test_expiry_counted_once(void **state)
{
    struct fx *f = *state;
    enum { N = 513 };
    pending *p = calloc(N + 4, sizeof(*p));
    assert_non_null(p);
    srv_metrics_reset();
    srv_metrics_enable(1);
    make_session(f, p, 26);
    lock_writer(f); /* one batch: one expiry time, so ids sort the index */
    for (int i = 0; i < N; i++)
        hold(f, &p[2 + i], 1, 1);
    unlock_writer(f);
    wait_all(f, N + 2);
    for (int i = 0; i < N; i++)
        assert_int_equal(p[2 + i].c.code, 0);
    assert_int_equal(metric("bilheteria_holds_active"), N);
    struct timespec nap = { 1, 200000000 };
    nanosleep(&nap, NULL);
    /* Its batch sweeps 512; the cancel finds 513 lapsed, releases it as
     * EXPIRED and refuses: a cancel comes too late. */
    cancel(f, &p[N + 2], N);
    wait_all(f, N + 3);
    assert_int_equal(p[N + 2].c.code, S(FAILED_PRECONDITION));
    assert_non_null(strstr(p[N + 2].c.msg, "EXPIRED"));
    /* Any later batch has seen the writer's next sweep. */
    create_event(f, &p[N + 3], "After", NULL);
    wait_all(f, N + 4);
    assert_int_equal(metric("bilheteria_reservations_expired_total"), N);
    assert_int_equal(metric("bilheteria_holds_active"), 0);
    srv_metrics_enable(0);
    finish(p, N + 4);
    free(p);
}

/* The store's gauges: the writer registers them with the metrics. */
static void
test_store_stats(void **state)
{
    struct fx *f = *state;
    store_stats_info si;
    store_txn *t = NULL;
    assert_int_equal(store_stats(f->ts.s, &si), STORE_OK);
    assert_int_equal(si.map_size, store_map_size(f->ts.s));
    assert_true(si.used_bytes > 0);
    assert_true(si.used_bytes <= si.map_size);
    assert_true(si.max_readers > 0);
    uint64_t idle = si.readers;
    /* A read transaction takes a slot while it runs. */
    assert_int_equal(store_read_begin(f->ts.s, &t), STORE_OK);
    assert_int_equal(store_stats(f->ts.s, &si), STORE_OK);
    assert_int_equal(si.readers, idle + 1);
    store_read_end(t);
    srv_metrics_enable(1);
    assert_int_equal(metric("bilheteria_store_map_size_bytes"), (double)si.map_size);
    assert_true(metric("bilheteria_store_used_bytes") > 0);
    srv_metrics_enable(0);
}

/* The audit lines of a batch's calls are written once the batch is
 * answered: the next batch's answer finds them in the file. */
static void
test_audit_flushed(void **state)
{
    struct fx *f = *state;
    pending p[2];
    char path[128], err[256];
    memset(p, 0, sizeof(p));
    snprintf(path, sizeof(path), "%s/audit.log", f->ts.root);
    assert_int_equal(srv_audit_open(&f->audit, path, err, sizeof(err)), 0);
    srv_writer_set_audit(f->w, f->audit);
    create_event(f, &p[0], "Audited", NULL);
    wait_all(f, 1);
    create_event(f, &p[1], "Audited too", NULL);
    wait_all(f, 2);
    char *text = bh_test_slurp(path, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"method\":\"" CREATE_EVENT "\""));
    assert_non_null(strstr(text, "\"code\":\"OK\""));
    free(text);
    finish(p, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_one_failure_spoils_nothing),
        T(test_idempotent_replay),
        T(test_deadline_passed),
        T(test_business_counters),
        T(test_expiry_counted_once),
        T(test_store_stats),
        T(test_audit_flushed),
        cmocka_unit_test(test_map_full_grows),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
