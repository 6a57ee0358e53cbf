/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A disk error stops the writes: each test starts a server with a
 * preloaded fdatasync that fails on demand (failsync.c), once in LMDB's
 * commit and once in the syncer's sync after it. The failed write is
 * refused (and, when the commit failed, not kept); later writes are refused
 * until a restart, reads go on and Health.Check says NOT_SERVING. The
 * restart is a clean one on a healthy disk (the page cache is intact: this
 * shows what was kept, not what a power loss would keep), after which
 * writes work again. The same preloaded library also steps the wall
 * clock, for the server that started with the wrong time.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static int
create_event(bh_client *c, const char *name, bh_status *st)
{
    Bilheteria__V1__CreateEventRequest req = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    Bilheteria__V1__CreateEventResponse *resp = NULL;
    req.name = (char *)name;
    int rc = bh_event_create_event(c, &req, &resp, NULL, st);
    if (rc == BH_OK)
        bilheteria__v1__create_event_response__free_unpacked(resp, NULL);
    return rc;
}

static int
serving(bh_client *c)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *resp = NULL;
    assert_int_equal(bh_health_check(c, &req, &resp, NULL, NULL), BH_OK);
    int status = resp->status;
    bilheteria__v1__check_response__free_unpacked(resp, NULL);
    return status;
}

/* Each test's server, with the failing disk preloaded; the teardown stops
 * it even when an assertion failed half-way. */
static bht_server srv;
static char tdir[64], trigger[96];

enum fail_on { FAIL_ALL, FAIL_SYNCER, FAIL_COMMIT, FAIL_COMMIT_SYNCER_SLOW };

static char slow[96], slow_in[112], clockfile[96];

static void set_clock(long long offset_s);

static int
start(enum fail_on on, long long clock_s)
{
    snprintf(tdir, sizeof(tdir), "/tmp/bh-failsync-XXXXXX");
    if (mkdtemp(tdir) == NULL)
        return -1;
    snprintf(trigger, sizeof(trigger), "%s/fail", tdir);
    snprintf(slow, sizeof(slow), "%s/slow", tdir);
    snprintf(slow_in, sizeof(slow_in), "%s.in", slow);
    snprintf(clockfile, sizeof(clockfile), "%s/clock", tdir);
    if (clock_s != 0)
        set_clock(clock_s);
    /* Only the server gets the failing disk (bht_start_preloaded). */
    setenv("BH_FAILSYNC_FILE", trigger, 1);
    setenv("BH_FAILSYNC_SLOW", slow, 1);
    setenv("BH_FAKECLOCK_FILE", clockfile, 1);
    if (on == FAIL_COMMIT_SYNCER_SLOW)
        setenv("BH_FAILSYNC_SLOW_SYNCER", "1", 1);
    else
        unsetenv("BH_FAILSYNC_SLOW_SYNCER");
    unsetenv("BH_FAILSYNC_SYNCER");
    unsetenv("BH_FAILSYNC_COMMIT");
    if (on == FAIL_SYNCER)
        setenv("BH_FAILSYNC_SYNCER", "1", 1);
    else if (on == FAIL_COMMIT || on == FAIL_COMMIT_SYNCER_SLOW)
        setenv("BH_FAILSYNC_COMMIT", "1", 1);
    /* Short sweep intervals: an idle writer wakes often, so one that
     * spins instead of waiting shows at once. */
    static const char *const flags[] = { "--sweep-interval-ms", "50", NULL };
    return bht_start_preloaded(&srv, BH_FAILSYNC_PATH, flags);
}

static int
setup_commit(void **state)
{
    (void)state;
    return start(FAIL_ALL, 0);
}

static int
setup_syncer(void **state)
{
    (void)state;
    return start(FAIL_SYNCER, 0);
}

static int
setup_commit_only(void **state)
{
    (void)state;
    return start(FAIL_COMMIT, 0);
}

static int
teardown(void **state)
{
    (void)state;
    unlink(trigger);
    unlink(slow);
    unlink(slow_in);
    unlink(clockfile);
    rmdir(tdir);
    return bht_cleanup(&srv);
}

static void
fail_disk(void)
{
    bht_touch(trigger);
}

/* The server's CPU time so far, in seconds (/proc/PID/stat). */
static double
server_cpu_s(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)srv.pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Fields after the command's closing parenthesis: state is the 3rd,
     * utime and stime the 14th and 15th. */
    const char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long long ut = 0, st = 0;
    assert_int_equal(
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st), 2);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* After the disk is fine again, nobody knows what reached it: writes are
 * still refused (even ones that would be refused anyway), reads go on, and
 * the writer waits rather than spins. */
static void
check_stopped(bh_client *c, uint64_t before)
{
    bh_status st;
    assert_int_equal(unlink(trigger), 0);
    assert_int_equal(create_event(c, "after the disk error", &st), BH_UNAVAILABLE);
    assert_non_null(strstr(st.message, "restart"));
    assert_int_equal(create_event(c, "", &st), BH_UNAVAILABLE);
    assert_int_equal(serving(c), BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING);
    Bilheteria__V1__GetEventRequest g = BILHETERIA__V1__GET_EVENT_REQUEST__INIT;
    Bilheteria__V1__GetEventResponse *gr = NULL;
    g.id = before;
    assert_int_equal(bh_event_get_event(c, &g, &gr, NULL, &st), BH_OK);
    assert_string_equal(gr->event->name, "before the disk error");
    bilheteria__v1__get_event_response__free_unpacked(gr, NULL);
    /* Idle and refusing writes: well under a CPU (a spinning writer
     * thread takes a whole one). */
    double cpu0 = server_cpu_s();
    bht_sleep_ms(1000);
    assert_true(server_cpu_s() - cpu0 < 0.5);
}

/* A clean restart on a healthy disk: `want` events are there, and writes
 * work again. */
static void
check_restart(size_t want)
{
    bh_status st;
    assert_int_equal(bht_stop(&srv), 0);
    assert_int_equal(bht_restart(&srv), 0);
    bh_client *c = bht_client(&srv);
    assert_int_equal(serving(c), BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    assert_int_equal(bht_count_events(c), want);
    assert_int_equal(create_event(c, "after the restart", &st), BH_OK);
    assert_int_equal(bht_count_events(c), want + 1);
    bh_client_close(c);
}

/* LMDB's commit fails: the write is refused and nothing of it is kept. */
static void
test_failed_commit(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    bh_status st;
    uint64_t before = bht_event(c, "before the disk error");
    assert_int_equal(serving(c), BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    fail_disk();
    assert_int_equal(create_event(c, "during the disk error", &st), BH_UNAVAILABLE);
    assert_non_null(strstr(st.message, "the disk failed the commit"));
    check_stopped(c, before);
    assert_int_equal(bht_count_events(c), 1);
    bh_client_close(c);
    check_restart(1);
}

/* The commit goes through but the syncer's sync fails: the write is not
 * reported as done (it may or may not survive a power loss), a refusal
 * stays a refusal, and writes stop. */
static void
test_failed_sync(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    bh_status st;
    uint64_t before = bht_event(c, "before the disk error");
    fail_disk();
    /* Nothing to sync for a refusal alone. */
    assert_int_equal(create_event(c, "", &st), BH_INVALID_ARGUMENT);
    assert_int_equal(serving(c), BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    assert_int_equal(create_event(c, "during the disk error", &st), BH_UNAVAILABLE);
    assert_non_null(strstr(st.message, "applied but the disk sync failed"));
    check_stopped(c, before);
    assert_int_equal(bht_count_events(c), 2); /* applied: visible */
    bh_client_close(c);
    check_restart(2);
}

/* A new event with a 1×4 session of price 1000, and a hold of its seat A1:
 * the reservation's id. */
static uint64_t
hold_a1(bh_client *c, const char *event)
{
    bh_status st;
    uint64_t s = bht_session(c, bht_event(c, event), 1, 4, 1000);
    Bilheteria__V1__CreateReservationRequest rq = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CreateReservationResponse *rr = NULL;
    char *seats[] = { "A1" };
    rq.session_id = s;
    rq.user_id = "u";
    rq.seats = seats;
    rq.n_seats = 1;
    assert_int_equal(bh_reservation_create_reservation(c, &rq, &rr, NULL, &st), BH_OK);
    uint64_t rid = rr->reservation->id;
    bilheteria__v1__create_reservation_response__free_unpacked(rr, NULL);
    return rid;
}

/* A refusal recorded under its idempotency key is a write too: it is
 * synced before it is answered, and when that sync fails it is not
 * answered as final. */
static void
test_failed_sync_of_a_recorded_refusal(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    bh_status st;
    uint64_t rid = hold_a1(c, "recorded refusal");
    fail_disk();
    Bilheteria__V1__ConfirmPaymentRequest pq = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__ConfirmPaymentResponse *pr = NULL;
    bh_call_opts o = { .idempotency_key = "wrong-amount" };
    pq.reservation_id = rid;
    pq.amount_cents = 999; /* the total is 1000: a definite refusal, recorded */
    pq.method = "pix";
    assert_int_equal(bh_payment_confirm_payment(c, &pq, &pr, &o, &st), BH_UNAVAILABLE);
    assert_non_null(strstr(st.message, "the disk sync failed"));
    bh_client_close(c);
}

/* One call on its own thread. */
typedef struct call {
    pthread_t th;
    bh_client *c;
    const char *what; /* "event" or "pay" */
    uint64_t reservation;
    const char *key;
    int rc;
    bh_status st;
} call;

static void *
call_main(void *arg)
{
    call *k = arg;
    if (strcmp(k->what, "event") == 0) {
        k->rc = create_event(k->c, "blocker", &k->st);
        return NULL;
    }
    Bilheteria__V1__ConfirmPaymentRequest req = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__ConfirmPaymentResponse *resp = NULL;
    bh_call_opts o = { .idempotency_key = k->key };
    req.reservation_id = k->reservation;
    req.amount_cents = 1000;
    req.method = "pix";
    k->rc = bh_payment_confirm_payment(k->c, &req, &resp, &o, &k->st);
    if (k->rc == BH_OK)
        bilheteria__v1__confirm_payment_response__free_unpacked(resp, NULL);
    return NULL;
}

/* Two payments of one reservation under two keys land in one batch, whose
 * commit fails. The first was applied and the second refused as "already
 * paid" -- by a payment that never reached the disk. Neither answer may
 * stand: both are UNAVAILABLE (retry), and after a restart the reservation
 * is still pending and payable. */
static void
test_failed_commit_takes_refusals_back(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    bh_status st;
    uint64_t rid = hold_a1(c, "refusals");

    /* Hold the writer in a commit, send both payments meanwhile, then let
     * the commit go and fail the next one (LMDB's sync only). */
    bht_touch(slow);
    call blocker = { .c = c, .what = "event" };
    assert_int_equal(pthread_create(&blocker.th, NULL, call_main, &blocker), 0);
    bht_wait_file(slow_in);
    fail_disk();
    call p[2] = { { .c = c, .what = "pay", .reservation = rid, .key = "redirect-1" },
                  { .c = c, .what = "pay", .reservation = rid, .key = "webhook-1" } };
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&p[i].th, NULL, call_main, &p[i]), 0);
    bht_sleep_ms(1000); /* both reach the writer's queue (a second: plenty, even under ASan) */
    assert_int_equal(unlink(slow), 0);
    pthread_join(blocker.th, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(p[i].th, NULL);
    /* The blocker was committed; whether it is answered OK depends on
     * whether its own sync ran before the failure was seen. */
    assert_true(blocker.rc == BH_OK || blocker.rc == BH_UNAVAILABLE);
    for (int i = 0; i < 2; i++) {
        if (p[i].rc != BH_UNAVAILABLE)
            fail_msg("payment %d: %s: %s", i, bh_code_name(p[i].rc), p[i].st.message);
        assert_non_null(strstr(p[i].st.message, "the disk failed the commit"));
    }
    bh_client_close(c);

    assert_int_equal(unlink(trigger), 0);
    assert_int_equal(bht_stop(&srv), 0);
    assert_int_equal(bht_restart(&srv), 0);
    c = bht_client(&srv);
    Bilheteria__V1__GetReservationRequest g = BILHETERIA__V1__GET_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__GetReservationResponse *gr = NULL;
    g.id = rid;
    assert_int_equal(bh_reservation_get_reservation(c, &g, &gr, NULL, &st), BH_OK);
    assert_int_equal(gr->reservation->status,
                     BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING);
    bilheteria__v1__get_reservation_response__free_unpacked(gr, NULL);
    /* The retry under the second key now pays it. */
    call retry = { .c = c, .what = "pay", .reservation = rid, .key = "webhook-1" };
    call_main(&retry);
    assert_int_equal(retry.rc, BH_OK);
    bh_client_close(c);
}

static void
set_clock(long long offset_s)
{
    FILE *f = fopen(clockfile, "w");
    assert_non_null(f);
    fprintf(f, "%lld\n", offset_s);
    fclose(f);
}

static int64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
health(bh_client *c, int64_t *now_ms, int64_t *uptime_ms)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *resp = NULL;
    assert_int_equal(bh_health_check(c, &req, &resp, NULL, NULL), BH_OK);
    *now_ms = resp->now_ms;
    *uptime_ms = resp->uptime_ms;
    bilheteria__v1__check_response__free_unpacked(resp, NULL);
}

/* A server started while the system clock was a day ahead (before NTP set
 * it) follows the clock when it steps back: the time it reports and stamps
 * holds with is right again, and the uptime does not jump. */
static void
test_clock_step(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    int64_t now, up0, up1;
    health(c, &now, &up0);
    assert_true(now > wall_ms() + 86400000 - 60000);
    set_clock(0);
    health(c, &now, &up1);
    int64_t skew = now - wall_ms();
    assert_true(skew > -60000 && skew < 60000);
    assert_true(up1 >= up0 && up1 - up0 < 60000);
    /* A hold made now expires ttl_s from now, not from tomorrow. */
    uint64_t ev = bht_event(c, "clock");
    uint64_t s = bht_session(c, ev, 1, 4, 1000);
    Bilheteria__V1__CreateReservationRequest rq = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CreateReservationResponse *rr = NULL;
    bh_status st;
    rq.session_id = s;
    rq.user_id = "u";
    rq.best = 1;
    rq.ttl_s = 60;
    assert_int_equal(bh_reservation_create_reservation(c, &rq, &rr, NULL, &st), BH_OK);
    int64_t left = rr->reservation->expires_at_ms - wall_ms();
    assert_true(left > 0 && left <= 60000);
    bilheteria__v1__create_reservation_response__free_unpacked(rr, NULL);
    bh_client_close(c);
}

static int
setup_clock_ahead(void **state)
{
    (void)state;
    return start(FAIL_ALL, 86400);
}

/* nng 1.5.2's close can hang for good; a stop still ends, within seconds,
 * with every acknowledged write kept. */
static void
test_stop_when_nng_close_hangs(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    bht_event(c, "before the stop");
    bh_client_close(c);
    kill(srv.pid, SIGTERM);
    int st = 0, waited_ms = 0;
    pid_t r = 0;
    while ((r = waitpid(srv.pid, &st, WNOHANG)) == 0 && waited_ms < 20000) {
        bht_sleep_ms(50);
        waited_ms += 50;
    }
    if (r == 0) {
        kill(srv.pid, SIGKILL);
        waitpid(srv.pid, NULL, 0);
        srv.pid = 0;
        fail_msg("the server did not stop within 20 s of SIGTERM");
    }
    srv.pid = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(bht_restart(&srv), 0); /* a plain server again */
    c = bht_client(&srv);
    assert_int_equal(bht_count_events(c), 1);
    bh_client_close(c);
}

/* A batch whose sync succeeded is durable, even if the next batch's commit
 * failed while that sync ran: it is answered OK, not "may not survive". */
static void
test_durable_batch_stays_ok(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    bht_touch(slow); /* the syncer waits in its next sync */
    call durable = { .c = c, .what = "event" };
    assert_int_equal(pthread_create(&durable.th, NULL, call_main, &durable), 0);
    bht_wait_file(slow_in);
    fail_disk(); /* commits fail from now on; the syncer's syncs do not */
    call lost = { .c = c, .what = "event" };
    assert_int_equal(pthread_create(&lost.th, NULL, call_main, &lost), 0);
    /* Its answer waits behind the held batch's; the failed commit shows
     * in Health.Check at once (reads do not wait for the syncer). */
    for (int i = 0;
         i < 500 && serving(c) != BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING; i++)
        bht_sleep_ms(10);
    assert_int_equal(serving(c), BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING);
    assert_int_equal(unlink(slow), 0);
    pthread_join(durable.th, NULL);
    pthread_join(lost.th, NULL);
    if (durable.rc != BH_OK)
        fail_msg("the durable batch: %s: %s", bh_code_name(durable.rc), durable.st.message);
    assert_int_equal(lost.rc, BH_UNAVAILABLE);
    bh_client_close(c);
}

static int
setup_commit_syncer_slow(void **state)
{
    (void)state;
    return start(FAIL_COMMIT_SYNCER_SLOW, 0);
}

static int
setup_hanging_close(void **state)
{
    (void)state;
    setenv("BH_HANG_NNG_CLOSE", "1", 1);
    int rc = start(FAIL_ALL, 0);
    unsetenv("BH_HANG_NNG_CLOSE");
    return rc;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_commit, setup_commit, teardown),
        cmocka_unit_test_setup_teardown(test_failed_sync, setup_syncer, teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_takes_refusals_back, setup_commit_only,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_sync_of_a_recorded_refusal, setup_syncer,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clock_step, setup_clock_ahead, teardown),
        cmocka_unit_test_setup_teardown(test_stop_when_nng_close_hangs, setup_hanging_close,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_durable_batch_stays_ok, setup_commit_syncer_slow,
                                        teardown),
    };
    return cmocka_run_group_tests_name("disk", tests, NULL, NULL);
}
