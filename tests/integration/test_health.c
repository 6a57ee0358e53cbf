/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Health.Check as grpc.health.v1 has it, and `bilheteria top`, against a
 * real server: the whole server and each service SERVING, an unknown
 * service NOT_FOUND, NOT_SERVING while the server drains after SIGTERM
 * (a write held in its commit by the preloaded slow sync, failsync.c,
 * keeps it draining), and `top --once --json` after a few holds and a
 * payment. (NOT_SERVING after a disk error: test_disk; the counters left
 * out for callers who are not admins: test_auth.)
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

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bilheteria/services.h"
#include "harness.h"

#define SERVING     BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING
#define NOT_SERVING BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING

static bht_server srv;
static char tdir[64], slow[96], slow_in[112];

/* Check for service; the status, or -code of a failed call (message in
 * st). */
static int
check(bh_client *c, const char *service, bh_status *st)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *resp = NULL;
    req.service = (char *)service;
    int rc = bh_health_check(c, &req, &resp, NULL, st);
    if (rc != BH_OK)
        return -rc;
    int status = resp->status;
    bilheteria__v1__check_response__free_unpacked(resp, NULL);
    return status;
}

static int
setup(void **state)
{
    (void)state;
    snprintf(tdir, sizeof(tdir), "/tmp/bh-health-XXXXXX");
    if (mkdtemp(tdir) == NULL)
        return -1;
    snprintf(slow, sizeof(slow), "%s/slow", tdir);
    snprintf(slow_in, sizeof(slow_in), "%s.in", slow);
    setenv("BH_FAILSYNC_SLOW", slow, 1);
    /* The metrics registry on, so that Stats counts calls by method. */
    static const char *const flags[] = { "--metrics-listen", "http://127.0.0.1:0", NULL };
    return bht_start_preloaded(&srv, BH_FAILSYNC_PATH, flags);
}

static int
teardown(void **state)
{
    (void)state;
    unlink(slow);
    unlink(slow_in);
    rmdir(tdir);
    return bht_cleanup(&srv);
}

static void
test_services(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    bh_status st;
    assert_int_equal(check(c, "", &st), SERVING);
    size_t n = 0;
    for (; bh_services[n] != NULL; n++)
        if (check(c, bh_services[n]->name, &st) != SERVING)
            fail_msg("service %s: not SERVING (%s)", bh_services[n]->name, st.message);
    assert_true(n >= 7);
    const char *unknown[] = { "bilheteria.v1.NoSuchService", "grpc.health.v1.Health",
                              "bilheteria.v1.EventService/CreateEvent", " " };
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_int_equal(check(c, unknown[i], &st), -BH_NOT_FOUND);
        assert_non_null(strstr(st.message, unknown[i]));
    }
    /* The CLI's --service, and its exit status. */
    char *out = NULL, *err = NULL;
    assert_int_equal(bht_cli(&srv, &out, &err,
                             (const char *const[]){ "health", "--service",
                                                    "bilheteria.v1.PaymentService", NULL }),
                     0);
    assert_non_null(strstr(out, "SERVING"));
    free(out);
    free(err);
    assert_int_equal(
        bht_cli(&srv, &out, &err, (const char *const[]){ "health", "--service", "nope", NULL }), 1);
    assert_non_null(strstr(err, "NOT_FOUND"));
    free(out);
    free(err);
    bh_client_close(c);
}

typedef struct writer_call {
    bh_client *c;
    int rc;
    pthread_t th;
} writer_call;

static void *
create_event_main(void *arg)
{
    writer_call *w = arg;
    Bilheteria__V1__CreateEventRequest req = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    Bilheteria__V1__CreateEventResponse *resp = NULL;
    bh_status st;
    req.name = "held in its commit";
    w->rc = bh_event_create_event(w->c, &req, &resp, NULL, &st);
    if (w->rc == BH_OK)
        bilheteria__v1__create_event_response__free_unpacked(resp, NULL);
    return NULL;
}

/* SIGTERM while a write is held in its commit: the server drains (it owes
 * that write its answer) and says NOT_SERVING on a connection still open,
 * for the whole server and for each service; other calls are refused.
 * Once the write is let go, it is answered OK and the server exits 0. */
static void
test_not_serving_while_draining(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv), *w_client = bht_client(&srv);
    bh_status st;
    assert_int_equal(check(c, "", &st), SERVING);
    bht_touch(slow);
    writer_call w = { .c = w_client };
    assert_int_equal(pthread_create(&w.th, NULL, create_event_main, &w), 0);
    bht_wait_file(slow_in);
    kill(srv.pid, SIGTERM);
    int status = SERVING;
    for (int i = 0; i < 500 && (status = check(c, "", &st)) == SERVING; i++)
        bht_sleep_ms(10);
    if (status != NOT_SERVING)
        fail_msg("during the drain: %d (%s)", status, st.message);
    assert_int_equal(check(c, "bilheteria.v1.ReservationService", &st), NOT_SERVING);
    assert_int_equal(check(c, "bilheteria.v1.Nope", &st), -BH_NOT_FOUND);
    Bilheteria__V1__ListEventsRequest lr = BILHETERIA__V1__LIST_EVENTS_REQUEST__INIT;
    Bilheteria__V1__ListEventsResponse *lresp = NULL;
    assert_int_equal(bh_event_list_events(c, &lr, &lresp, NULL, &st), BH_UNAVAILABLE);
    assert_int_equal(unlink(slow), 0);
    pthread_join(w.th, NULL);
    assert_int_equal(w.rc, BH_OK);
    bh_client_close(c);
    bh_client_close(w_client);
    int ws = 0;
    assert_int_equal(waitpid(srv.pid, &ws, 0), srv.pid);
    srv.pid = 0;
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
}

static const cJSON *
field(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    if (f == NULL)
        fail_msg("top --once --json: no \"%s\"", name);
    return f;
}

static double
num(const cJSON *o, const char *name)
{
    const cJSON *f = field(o, name);
    if (!cJSON_IsNumber(f))
        fail_msg("top --once --json: \"%s\" is not a number", name);
    return f->valuedouble;
}

/* The calls the registry counted for method (0 if it lists none). */
static double
method_calls(const cJSON *top, const char *method)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, field(top, "methods"))
    {
        const cJSON *name = field(m, "method");
        if (cJSON_IsString(name) && strcmp(name->valuestring, method) == 0)
            return num(m, "calls");
    }
    return 0;
}

static uint64_t
hold(bh_client *c, uint64_t session, uint32_t best)
{
    Bilheteria__V1__CreateReservationRequest rq = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CreateReservationResponse *rr = NULL;
    bh_status st;
    rq.session_id = session;
    rq.user_id = "top";
    rq.best = best;
    assert_int_equal(bh_reservation_create_reservation(c, &rq, &rr, NULL, &st), BH_OK);
    uint64_t id = rr->reservation->id;
    bilheteria__v1__create_reservation_response__free_unpacked(rr, NULL);
    return id;
}

/* After three holds (2 + 3 + 1 seats, in two sessions) and the payment of
 * the first, `top --once --json` is one JSON object whose numbers add up:
 * the seats held and sold, the busiest session first, the writer's
 * counts, and (when the server's registry counts calls) the calls made. */
static void
test_top_once_json(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    uint64_t ev = bht_event(c, "top");
    uint64_t s1 = bht_session(c, ev, 4, 10, 1000), s2 = bht_session(c, ev, 2, 5, 1000);
    uint64_t paid = hold(c, s1, 2);
    hold(c, s1, 3);
    hold(c, s2, 1);
    Bilheteria__V1__ConfirmPaymentRequest pr = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__ConfirmPaymentResponse *presp = NULL;
    bh_call_opts o = { .idempotency_key = "top-pay-1" };
    bh_status st;
    pr.reservation_id = paid;
    pr.amount_cents = 2000;
    pr.method = "pix";
    assert_int_equal(bh_payment_confirm_payment(c, &pr, &presp, &o, &st), BH_OK);
    bilheteria__v1__confirm_payment_response__free_unpacked(presp, NULL);

    char *out = NULL, *err = NULL;
    int rc = bht_cli(&srv, &out, &err, (const char *const[]){ "--json", "top", "--once", NULL });
    if (rc != 0)
        fail_msg("top --once --json: exit %d: %s", rc, err);
    /* One object on one line. */
    const char *nl = strchr(out, '\n');
    assert_true(nl != NULL && nl[1] == '\0');
    cJSON *top = cJSON_Parse(out);
    if (top == NULL)
        fail_msg("top --once --json is not JSON: %s", out);
    double interval = num(top, "interval_ms");
    assert_true(interval >= 900 && interval < 10000);
    assert_true(num(top, "seats_held") >= 4);
    assert_true(num(top, "seats_sold") >= 2);
    assert_true(num(top, "writes") >= 7 && num(top, "commits") >= 1);
    assert_true(num(top, "calls_per_s") >= 0 && num(top, "seats_sold_per_min") >= 0);
    const cJSON *busiest = cJSON_GetArrayItem(field(top, "busiest_sessions"), 0);
    assert_non_null(busiest);
    assert_int_equal((uint64_t)num(busiest, "session_id"), s1);
    assert_int_equal((uint64_t)num(busiest, "seats_held"), 3);
    assert_int_equal((uint64_t)num(busiest, "seats_sold"), 2);
    const cJSON *on = field(top, "metrics_enabled");
    assert_true(cJSON_IsTrue(on));
    assert_true(method_calls(top, "bilheteria.v1.ReservationService/CreateReservation") >= 3);
    assert_true(method_calls(top, "bilheteria.v1.PaymentService/ConfirmPayment") >= 1);
    assert_true(method_calls(top, "bilheteria.v1.AdminService/Stats") >= 1);
    assert_true(num(top, "holds_active") >= 2);
    assert_true(num(top, "payments_total") >= 1);
    cJSON_Delete(top);
    free(out);
    free(err);

    /* Without --once, --json is a usage error. */
    assert_int_equal(bht_cli(&srv, &out, &err, (const char *const[]){ "--json", "top", NULL }), 2);
    free(out);
    free(err);
    bh_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_services, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_once_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_serving_while_draining, setup, teardown),
    };
    return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
