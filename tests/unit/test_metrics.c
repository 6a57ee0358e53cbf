/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server/metrics.c: series land where they should, histograms are
 * cumulative, the text parses back and passes `promtool check metrics`,
 * threads lose no count.
 *
 * `test_metrics bench [N]` instead times srv_metrics_request from two
 * threads (by hand; tests do not time).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bilheteria/wire.h"
#include "metrics.h"

#define GET_EVENT   "bilheteria.v1.EventService/GetEvent"
#define CREATE_RESV "bilheteria.v1.ReservationService/CreateReservation"

static char *
render(void)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(srv_metrics_render(&text, &len), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* The value of the sample whose series (name and labels, as rendered) is
 * exactly series; fails the test if there is none. */
static double
value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; *p != '\0';) {
        const char *eol = strchr(p, '\n');
        assert_non_null(eol);
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = eol + 1;
    }
    fail_msg("no sample %s", series);
    return 0;
}

static int
has(const char *text, const char *series)
{
    char line[512];
    snprintf(line, sizeof(line), "\n%s ", series);
    return strstr(text, line) != NULL;
}

static int
setup(void **state)
{
    (void)state;
    srv_metrics_reset();
    srv_metrics_set_store(NULL, NULL);
    srv_metrics_enable(1);
    return 0;
}

static void
test_requests_by_method_and_code(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        srv_metrics_request(BH_METHOD_EVENT_GET_EVENT, 0, 40);
    srv_metrics_request(BH_METHOD_EVENT_GET_EVENT, 5, 40);
    srv_metrics_request(BH_METHOD_RESERVATION_CREATE_RESERVATION, 9, 40);
    srv_metrics_request(SRV_METRICS_METHOD_UNKNOWN, 12, 40);
    srv_metrics_request(-7, 0, 40); /* out of range: unknown */
    srv_metrics_request(BH_METHOD_COUNT + 5, 0, 40);
    srv_metrics_request(BH_METHOD_HEALTH_CHECK, 42, 40); /* code out of range: UNKNOWN */
    srv_metrics_request(BH_METHOD_HEALTH_CHECK, -1, 40);

    char *t = render();
    assert_true(value(t, "bilheteria_requests_total{method=\"" GET_EVENT "\",code=\"OK\"}") == 3);
    assert_true(
        value(t, "bilheteria_requests_total{method=\"" GET_EVENT "\",code=\"NOT_FOUND\"}") == 1);
    assert_true(value(t, "bilheteria_requests_total{method=\"" CREATE_RESV
                         "\",code=\"FAILED_PRECONDITION\"}") == 1);
    assert_true(value(t, "bilheteria_requests_total{method=\"unknown\",code=\"UNIMPLEMENTED\"}") ==
                1);
    assert_true(value(t, "bilheteria_requests_total{method=\"unknown\",code=\"OK\"}") == 2);
    assert_true(value(t, "bilheteria_requests_total{method=\"bilheteria.v1.HealthService/"
                         "Check\",code=\"UNKNOWN\"}") == 2);
    /* Every known method shows OK from the start; other codes once seen. */
    assert_true(value(t, "bilheteria_requests_total{method=\"bilheteria.v1.SessionService/"
                         "GetSeatMap\",code=\"OK\"}") == 0);
    assert_false(has(t, "bilheteria_requests_total{method=\"bilheteria.v1.SessionService/"
                        "GetSeatMap\",code=\"INTERNAL\"}"));
    assert_true(value(t, "bilheteria_request_duration_seconds_count{method=\"" GET_EVENT "\"}") ==
                4);
    assert_true(value(t, "bilheteria_request_duration_seconds_count{method=\"unknown\"}") == 3);
    free(t);
}

/* The values read back (for AdminService.Stats) are the rendered ones. */
static void
test_sample_reads_back(void **state)
{
    (void)state;
    srv_metrics_request(BH_METHOD_EVENT_GET_EVENT, 0, 40);
    srv_metrics_request(BH_METHOD_EVENT_GET_EVENT, 5, 3000);
    srv_metrics_commit(4, 100, 700, 0);
    srv_metrics_commit(2, 100, -1, 1);
    srv_metrics_holds_active_set(7);
    srv_metrics_seats_sold(3);
    srv_metrics_payments(1, 2500);
    srv_metrics_sample *s = malloc(sizeof(*s));
    assert_non_null(s);
    srv_metrics_sample_get(s);
    assert_int_equal(s->requests[BH_METHOD_EVENT_GET_EVENT][0], 1);
    assert_int_equal(s->requests[BH_METHOD_EVENT_GET_EVENT][5], 1);
    const uint64_t *b = srv_metrics_latency_bounds_us();
    assert_int_equal(b[0], 100);
    assert_int_equal(b[SRV_METRICS_NLAT - 2], 10000000);
    assert_int_equal(s->lat[BH_METHOD_EVENT_GET_EVENT][0], 1); /* 40 us <= 100 */
    assert_int_equal(s->lat[BH_METHOD_EVENT_GET_EVENT][5], 1); /* 3 ms <= 5 ms */
    assert_int_equal(s->commits, 2);
    assert_int_equal(s->syncs, 1);
    assert_int_equal(s->sync_us, 700);
    assert_int_equal(s->commit_failures, 1);
    assert_int_equal(s->holds_active, 7);
    assert_int_equal(s->seats_sold, 3);
    assert_int_equal(s->payments, 1);
    assert_int_equal(s->revenue_cents, 2500);
    assert_string_equal(srv_metrics_method_name(BH_METHOD_EVENT_GET_EVENT), GET_EVENT);
    assert_string_equal(srv_metrics_method_name(SRV_METRICS_METHOD_UNKNOWN), "unknown");
    assert_null(srv_metrics_method_name(SRV_METRICS_NMETHOD));
    assert_string_equal(srv_metrics_code_name(5), "NOT_FOUND");
    assert_null(srv_metrics_code_name(-1));
    free(s);
}

static void
test_off_counts_nothing(void **state)
{
    (void)state;
    srv_metrics_enable(0);
    assert_int_equal(srv_metrics_enabled(), 0);
    srv_metrics_request(BH_METHOD_EVENT_GET_EVENT, 0, 40);
    srv_metrics_commit(4, 100, 100, 1);
    srv_metrics_payments(1, 500);
    srv_metrics_holds_active_add(3);
    srv_metrics_connections_add(1);
    char *t = render();
    assert_true(value(t, "bilheteria_requests_total{method=\"" GET_EVENT "\",code=\"OK\"}") == 0);
    assert_true(value(t, "bilheteria_commit_batch_size_count") == 0);
    assert_true(value(t, "bilheteria_commit_failures_total") == 0);
    assert_true(value(t, "bilheteria_payments_total") == 0);
    assert_true(value(t, "bilheteria_holds_active") == 0);
    assert_true(value(t, "bilheteria_connections_open") == 0);
    assert_false(has(t, "bilheteria_request_duration_seconds_count{method=\"unknown\"}"));
    free(t);
}

#define DUR             "bilheteria_request_duration_seconds"
#define DUR_GET(suffix) DUR suffix "{method=\"" GET_EVENT "\""

/* Bounds are inclusive (le): 100 µs lands in le="0.0001". */
static void
test_duration_histogram_cumulative(void **state)
{
    (void)state;
    static const int64_t us[] = { -5, 0, 100, 101, 999, 1000, 3000000, 10000000, 20000000 };
    double sum = 0;
    for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
        srv_metrics_request(BH_METHOD_EVENT_GET_EVENT, 0, us[i]);
        sum += us[i] > 0 ? (double)us[i] / 1e6 : 0;
    }
    char *t = render();
    static const struct {
        const char *le;
        double n;
    } cases[] = {
        { "0.0001", 3 }, { "0.00025", 4 }, { "0.001", 6 }, { "2.5", 6 },
        { "5", 7 },      { "10", 8 },      { "+Inf", 9 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char series[256];
        snprintf(series, sizeof(series), "%s,le=\"%s\"}", DUR_GET("_bucket"), cases[i].le);
        assert_true(value(t, series) == cases[i].n);
    }
    assert_true(value(t, DUR_GET("_count") "}") == 9);
    assert_true(fabs(value(t, DUR_GET("_sum") "}") - sum) < 1e-6);

    /* Buckets never go down, in the order rendered. */
    double last = -1;
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%s,le=", DUR_GET("_bucket"));
    for (const char *p = strstr(t, prefix); p != NULL; p = strstr(p + 1, prefix)) {
        double v = strtod(strchr(p, ' ') + 1, NULL);
        assert_true(v >= last);
        last = v;
    }
    assert_true(last == 9);
    free(t);
}

static void
test_writer_series(void **state)
{
    (void)state;
    srv_metrics_commit(1, 200, 1500, 0);
    srv_metrics_commit(3, 300, -1, 0); /* no sync */
    srv_metrics_commit(2000, 400, 2500, 1);
    srv_metrics_queue_depth(17);
    srv_metrics_queue_depth(5);
    char *t = render();
    assert_true(value(t, "bilheteria_commit_batch_size_bucket{le=\"1\"}") == 1);
    assert_true(value(t, "bilheteria_commit_batch_size_bucket{le=\"2\"}") == 1);
    assert_true(value(t, "bilheteria_commit_batch_size_bucket{le=\"4\"}") == 2);
    assert_true(value(t, "bilheteria_commit_batch_size_bucket{le=\"1024\"}") == 2);
    assert_true(value(t, "bilheteria_commit_batch_size_bucket{le=\"+Inf\"}") == 3);
    assert_true(value(t, "bilheteria_commit_batch_size_sum") == 2004);
    assert_true(value(t, "bilheteria_commit_batch_size_count") == 3);
    assert_true(value(t, "bilheteria_commit_duration_seconds_count") == 3);
    assert_true(fabs(value(t, "bilheteria_commit_duration_seconds_sum") - 0.0009) < 1e-9);
    assert_true(value(t, "bilheteria_sync_duration_seconds_count") == 2);
    assert_true(value(t, "bilheteria_sync_duration_seconds_bucket{le=\"0.001\"}") == 0);
    assert_true(value(t, "bilheteria_sync_duration_seconds_bucket{le=\"0.0025\"}") == 2);
    assert_true(fabs(value(t, "bilheteria_sync_duration_seconds_sum") - 0.004) < 1e-9);
    assert_true(value(t, "bilheteria_commit_failures_total") == 1);
    assert_true(value(t, "bilheteria_writer_queue_depth") == 5);
    free(t);
}

static int
fake_store(void *arg, srv_metrics_store_stats *st)
{
    int *fail = arg;
    if (*fail)
        return -1;
    st->map_size_bytes = 1 << 30;
    st->used_bytes = 123 * 4096;
    st->readers_in_use = 3;
    return 0;
}

static void
test_business_store_build_process(void **state)
{
    (void)state;
    int fail = 0;
    srv_metrics_holds_active_add(5);
    srv_metrics_holds_active_add(-2);
    srv_metrics_seats_sold(4);
    srv_metrics_seats_sold(2);
    srv_metrics_payments(1, 12000);
    srv_metrics_payments(1, 550);
    srv_metrics_reservations_expired(7);
    srv_metrics_idempotent_replay();
    srv_metrics_connections_add(2);
    srv_metrics_connections_add(-1);
    srv_metrics_set_store(fake_store, &fail);

    char *t = render();
    assert_true(value(t, "bilheteria_holds_active") == 3);
    assert_true(value(t, "bilheteria_seats_sold_total") == 6);
    assert_true(value(t, "bilheteria_payments_total") == 2);
    assert_true(value(t, "bilheteria_revenue_cents_total") == 12550);
    assert_true(value(t, "bilheteria_reservations_expired_total") == 7);
    assert_true(value(t, "bilheteria_idempotent_replays_total") == 1);
    assert_true(value(t, "bilheteria_connections_open") == 1);
    assert_true(value(t, "bilheteria_store_map_size_bytes") == 1 << 30);
    assert_true(value(t, "bilheteria_store_used_bytes") == 123 * 4096);
    assert_true(value(t, "bilheteria_store_readers_in_use") == 3);
    assert_non_null(strstr(t, "bilheteria_build_info{version=\"" BH_VERSION "\",commit=\""));
    assert_true(value(t, "process_cpu_seconds_total") > 0);
    assert_true(value(t, "process_resident_memory_bytes") > 1 << 20);
    assert_true(value(t, "process_open_fds") >= 3);
    assert_true(value(t, "process_max_fds") >= value(t, "process_open_fds"));
    double start = value(t, "process_start_time_seconds");
    double now = (double)time(NULL);
    assert_true(start > now - 3600 && start <= now + 1);
    free(t);

    srv_metrics_holds_active_set(42);
    fail = 1; /* the store gauges are left out */
    t = render();
    assert_true(value(t, "bilheteria_holds_active") == 42);
    assert_false(has(t, "bilheteria_store_used_bytes"));
    assert_null(strstr(t, "bilheteria_store_"));
    free(t);
    srv_metrics_set_store(NULL, NULL);
}

/* Every line is a comment (# HELP / # TYPE, each family once) or a sample
 * `name{labels} value` whose family was declared before it. */
static void
test_render_parses_back(void **state)
{
    (void)state;
    srv_metrics_request(BH_METHOD_EVENT_GET_EVENT, 0, 40);
    srv_metrics_request(SRV_METRICS_METHOD_UNKNOWN, 12, 40);
    srv_metrics_commit(4, 100, 200, 0);
    char *t = render();
    assert_true(strlen(t) > 0 && t[strlen(t) - 1] == '\n');

    regex_t sample, help, type;
    assert_int_equal(regcomp(&sample,
                             "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
                             "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"\\\\]*\""
                             "(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"\\\\]*\")*\\})? "
                             "(-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|\\+Inf|NaN)$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^ ].*$", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$",
                             REG_EXTENDED),
                     0);
    char family[128] = "";
    char seen[64][128];
    char line[1024];
    int samples = 0, types = 0;
    for (char *p = t; *p != '\0';) {
        char *eol = strchr(p, '\n');
        size_t n = (size_t)(eol - p);
        assert_true(n < sizeof(line));
        memcpy(line, p, n);
        line[n] = '\0';
        p = eol + 1;
        regmatch_t m[2];
        if (regexec(&help, line, 2, m, 0) == 0)
            continue;
        if (regexec(&type, line, 2, m, 0) == 0) {
            snprintf(family, sizeof(family), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
                     line + m[1].rm_so);
            for (int i = 0; i < types; i++) /* declared once */
                assert_string_not_equal(seen[i], family);
            assert_true(types < 64);
            snprintf(seen[types], sizeof(seen[types]), "%s", family);
            types++;
            continue;
        }
        if (regexec(&sample, line, 2, m, 0) != 0)
            fail_msg("not a sample: %s", line);
        /* The sample belongs to the last family declared. */
        assert_int_equal(strncmp(line, family, strlen(family)), 0);
        samples++;
    }
    assert_true(types >= 21); /* 15 bilheteria_ (no store callback) + 6 process_ */
    assert_true(samples > 100);
    regfree(&sample);
    regfree(&help);
    regfree(&type);
    free(t);
}

/* promtool from Debian's prometheus package (tools/deps installs it):
 * missing is a failure, not a skip. */
static void
test_promtool_check_metrics(void **state)
{
    (void)state;
    srv_metrics_request(BH_METHOD_EVENT_GET_EVENT, 0, 40);
    srv_metrics_request(SRV_METRICS_METHOD_UNKNOWN, 12, 40);
    srv_metrics_commit(4, 100, 200, 1);
    srv_metrics_payments(1, 100);
    int fail = 0;
    srv_metrics_set_store(fake_store, &fail);
    char *t = render();
    srv_metrics_set_store(NULL, NULL);

    if (system("command -v promtool >/dev/null 2>&1") != 0)
        fail_msg("promtool is missing: tools/deps installs it (Debian's prometheus package)");
    char path[] = "/tmp/bh_metrics_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(t);
    assert_int_equal(write(fd, t, len), (ssize_t)len);
    close(fd);
    free(t);

    char cmd[256];
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(path);
    if (n != 0)
        fail_msg("promtool says: %s", out);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

#define THREADS 4
#define PER     200000

static void *
hammer(void *arg)
{
    int m = *(int *)arg;
    for (int i = 0; i < PER; i++) {
        srv_metrics_request(m, 0, i % 3000);
        srv_metrics_seats_sold(1);
    }
    return NULL;
}

/* Two threads share each method, so shards and shared cells both count. */
static void
test_threads_lose_nothing(void **state)
{
    (void)state;
    pthread_t th[THREADS];
    int ms[THREADS] = { BH_METHOD_EVENT_GET_EVENT, BH_METHOD_EVENT_GET_EVENT,
                        BH_METHOD_HEALTH_CHECK, BH_METHOD_HEALTH_CHECK };
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &ms[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    char *t = render();
    assert_true(value(t, "bilheteria_requests_total{method=\"" GET_EVENT "\",code=\"OK\"}") ==
                2 * PER);
    assert_true(value(t, "bilheteria_requests_total{method=\"bilheteria.v1.HealthService/"
                         "Check\",code=\"OK\"}") == 2 * PER);
    assert_true(value(t, DUR_GET("_count") "}") == 2 * PER);
    assert_true(value(t, DUR_GET("_bucket") ",le=\"+Inf\"}") == 2 * PER);
    assert_true(value(t, "bilheteria_seats_sold_total") == THREADS * PER);
    free(t);
}

/* ---- by hand: ns per srv_metrics_request, from two threads ---- */

static long bench_n;

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
bench_thread(void *arg)
{
    double *ns = arg;
    double t0 = now_s();
    for (long i = 0; i < bench_n; i++)
        srv_metrics_request((int)(i & 7), 0, (int64_t)(i & 1023));
    *ns = (now_s() - t0) * 1e9 / (double)bench_n;
    return NULL;
}

static void
bench_run(const char *what, int threads)
{
    pthread_t th[2];
    double ns[2];
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, bench_thread, &ns[i]);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("%-4s %d thread(s): %.1f ns/call", what, threads, ns[0]);
    if (threads == 2)
        printf(", %.1f ns/call", ns[1]);
    printf("\n");
}

static int
bench(long n)
{
    bench_n = n;
    srv_metrics_enable(0);
    bench_run("off", 2);
    srv_metrics_enable(1);
    bench_run("on", 1);
    bench_run("on", 2);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "bench") == 0)
        return bench(argc >= 3 ? strtol(argv[2], NULL, 10) : 20000000);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_requests_by_method_and_code, setup),
        cmocka_unit_test_setup(test_sample_reads_back, setup),
        cmocka_unit_test_setup(test_off_counts_nothing, setup),
        cmocka_unit_test_setup(test_duration_histogram_cumulative, setup),
        cmocka_unit_test_setup(test_writer_series, setup),
        cmocka_unit_test_setup(test_business_store_build_process, setup),
        cmocka_unit_test_setup(test_render_parses_back, setup),
        cmocka_unit_test_setup(test_promtool_check_metrics, setup),
        cmocka_unit_test_setup(test_threads_lose_nothing, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
