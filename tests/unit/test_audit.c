/* SPDX-License-Identifier: Apache-2.0 */
/* server/audit.c: the audit log's lines (each parsed back with cJSON), its
 * escaping, buffering until flush, reopen after a rename, and adds from
 * several threads at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "audit.h"
#include "slurp.h"
#include "util.h"

struct fx {
    char dir[64];
    char path[96];
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/bh-audit-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/audit.log", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char p[128];
    unlink(f->path);
    snprintf(p, sizeof(p), "%s.1", f->path);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Parses one formatted line; asserts it is one line of valid UTF-8 with no
 * raw control byte but its '\n'. Caller frees with cJSON_Delete. */
static cJSON *
parse_line(const char *line, size_t len)
{
    assert_true(len > 0);
    assert_int_equal(line[len - 1], '\n');
    assert_int_equal(srv_utf8_valid(line, len), len);
    for (size_t i = 0; i + 1 < len; i++)
        assert_true((unsigned char)line[i] >= 0x20);
    cJSON *j = cJSON_ParseWithLength(line, len);
    assert_non_null(j);
    return j;
}

static cJSON *
format(const srv_audit_rec *r)
{
    char *line;
    size_t len;
    assert_int_equal(srv_audit_format(r, &line, &len), 0);
    assert_int_equal(strlen(line), len);
    cJSON *j = parse_line(line, len);
    free(line);
    return j;
}

static const char *
str_of(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void
test_fields(void **state)
{
    (void)state;
    const srv_audit_id ids[] = {
        { .name = "reservation_id", .num = 7 },
        { .name = "session_id", .num = UINT64_MAX },
        { .name = "idempotency_key", .str = "k-1" },
    };
    const srv_audit_rec r = {
        .time_ms = 1796468918123, /* 2026-12-05T11:08:38.123Z */
        .identity = "box-office",
        .role = "service",
        .peer = "tcp://10.0.0.7:51234",
        .method = "ReservationService.Hold",
        .request_id = 42,
        .code = 0,
        .ids = ids,
        .n_ids = 3,
    };
    cJSON *j = format(&r);
    assert_string_equal(str_of(j, "time"), "2026-12-05T11:08:38.123Z");
    assert_string_equal(str_of(j, "identity"), "box-office");
    assert_string_equal(str_of(j, "role"), "service");
    assert_string_equal(str_of(j, "peer"), "tcp://10.0.0.7:51234");
    assert_string_equal(str_of(j, "method"), "ReservationService.Hold");
    assert_string_equal(str_of(j, "request_id"), "42");
    assert_string_equal(str_of(j, "code"), "OK");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "ids");
    assert_true(cJSON_IsObject(o));
    assert_int_equal(cJSON_GetArraySize(o), 3);
    assert_string_equal(str_of(o, "reservation_id"), "7");
    assert_string_equal(str_of(o, "session_id"), "18446744073709551615");
    assert_string_equal(str_of(o, "idempotency_key"), "k-1");
    assert_int_equal(cJSON_GetArraySize(j), 8);
    cJSON_Delete(j);
}

/* An anonymous caller denied: null identity and role, no peer field, no
 * ids; codes by name from status.h; the time defaults to now. */
static void
test_anonymous_and_codes(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
    } codes[] = {
        { 7, "PERMISSION_DENIED" }, { 8, "RESOURCE_EXHAUSTED" }, { 16, "UNAUTHENTICATED" },
        { 17, "UNKNOWN" },          { -1, "UNKNOWN" },
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const srv_audit_rec r = { .method = "EventService.Create", .code = codes[i].code };
        cJSON *j = format(&r);
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "identity")));
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "role")));
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "peer"));
        assert_string_equal(str_of(j, "code"), codes[i].name);
        assert_string_equal(str_of(j, "request_id"), "0");
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "ids")), 0);
        const char *t = str_of(j, "time");
        assert_int_equal(strlen(t), 24); /* YYYY-MM-DDTHH:MM:SS.mmmZ */
        assert_int_equal(t[10], 'T');
        assert_int_equal(t[19], '.');
        assert_int_equal(t[23], 'Z');
        assert_true(strncmp(t, "20", 2) == 0);
        cJSON_Delete(j);
    }
}

/* Every string field is escaped the same way: what cJSON reads back is the
 * input, with each byte that is not UTF-8 replaced by U+FFFD. */
static void
test_escaping(void **state)
{
    (void)state;
    static const struct {
        const char *in, *raw, *back;
    } cases[] = {
        { "plain", "\"plain\"", "plain" },
        { "say \"hi\"", "\"say \\\"hi\\\"\"", "say \"hi\"" },
        { "C:\\path", "\"C:\\\\path\"", "C:\\path" },
        { "a\nb\rc\td", "\"a\\nb\\rc\\td\"", "a\nb\rc\td" },
        { "\x01\x1f\x7f\b\f", "\"\\u0001\\u001f\\u007f\\u0008\\u000c\"", "\x01\x1f\x7f\b\f" },
        { "ação €5 😀", "\"ação €5 😀\"", "ação €5 😀" },
        { "\xff", "\"\\ufffd\"", "\xef\xbf\xbd" },
        { "a\xe2\x82x", "\"a\\ufffd\\ufffdx\"", "a\xef\xbf\xbd\xef\xbf\xbdx" },
        { "\xc0\xaf", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong */
        { "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "", "\"\"", "" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const srv_audit_id id = { .name = cases[i].in, .str = cases[i].in };
        const srv_audit_rec r = {
            .time_ms = 1,
            .identity = cases[i].in,
            .role = cases[i].in,
            .peer = cases[i].in,
            .method = cases[i].in,
            .ids = &id,
            .n_ids = 1,
        };
        char *line;
        size_t len;
        assert_int_equal(srv_audit_format(&r, &line, &len), 0);
        char want[128];
        snprintf(want, sizeof(want), "\"identity\":%s,", cases[i].raw);
        if (strstr(line, want) == NULL)
            fail_msg("case %zu: %s not in %s", i, want, line);
        cJSON *j = parse_line(line, len);
        free(line);
        assert_string_equal(str_of(j, "identity"), cases[i].back);
        assert_string_equal(str_of(j, "role"), cases[i].back);
        assert_string_equal(str_of(j, "peer"), cases[i].back);
        assert_string_equal(str_of(j, "method"), cases[i].back);
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(j, "ids");
        assert_string_equal(ids->child->string, cases[i].back);
        assert_string_equal(ids->child->valuestring, cases[i].back);
        cJSON_Delete(j);
    }
}

static void
add_n(srv_audit *a, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        const srv_audit_id id = { .name = "payment_id", .num = (uint64_t)i };
        const srv_audit_rec r = {
            .identity = "svc",
            .role = "service",
            .method = "PaymentService.Confirm",
            .request_id = (uint64_t)i,
            .ids = &id,
            .n_ids = 1,
        };
        assert_int_equal(srv_audit_add(a, &r), 0);
    }
}

/* Check that the file's lines are request ids from..from+n-1 in order. */
static void
check_file(const char *path, int from, int n)
{
    size_t len;
    char *s = bh_test_slurp(path, &len);
    assert_non_null(s);
    assert_int_equal(count_lines(s), (size_t)n);
    char *line = s;
    for (int i = from; i < from + n; i++) {
        char *nl = strchr(line, '\n');
        cJSON *j = parse_line(line, (size_t)(nl - line) + 1);
        char want[24];
        snprintf(want, sizeof(want), "%d", i);
        assert_string_equal(str_of(j, "request_id"), want);
        cJSON_Delete(j);
        line = nl + 1;
    }
    free(s);
}

static void
test_buffered_until_flush(void **state)
{
    struct fx *f = *state;
    srv_audit *a;
    char err[256];
    struct stat st;
    uint64_t written, lost;

    assert_int_equal(srv_audit_open(&a, f->path, err, sizeof(err)), 0);
    add_n(a, 0, 10);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(srv_audit_flush(a), 0);
    check_file(f->path, 0, 10);
    add_n(a, 10, 5);
    check_file(f->path, 0, 10);
    assert_int_equal(srv_audit_flush(a), 0);
    assert_int_equal(srv_audit_flush(a), 0); /* nothing new: nothing written */
    check_file(f->path, 0, 15);
    srv_audit_stats(a, &written, &lost);
    assert_int_equal(written, 15);
    assert_int_equal(lost, 0);
    add_n(a, 15, 1);
    srv_audit_close(a); /* close flushes */
    check_file(f->path, 0, 16);

    /* Opening again appends. */
    assert_int_equal(srv_audit_open(&a, f->path, err, sizeof(err)), 0);
    add_n(a, 16, 2);
    srv_audit_close(a);
    check_file(f->path, 0, 18);
    /* No --audit-log: a NULL log does nothing. */
    const srv_audit_rec r = { .method = "M" };
    assert_int_equal(srv_audit_add(NULL, &r), 0);
    assert_int_equal(srv_audit_flush(NULL), 0);
    assert_int_equal(srv_audit_reopen(NULL, err, sizeof(err)), 0);
    srv_audit_close(NULL);
}

/* A buffer past the high-water mark goes out without waiting for a flush. */
static void
test_high_water(void **state)
{
    struct fx *f = *state;
    srv_audit *a;
    char err[256];
    struct stat st;
    size_t big = 100000;
    char *s = malloc(big + 1);

    assert_non_null(s);
    memset(s, 'x', big);
    s[big] = '\0';
    assert_int_equal(srv_audit_open(&a, f->path, err, sizeof(err)), 0);
    const srv_audit_rec r = { .identity = s, .method = "M" };
    int n = 0;
    do {
        assert_int_equal(srv_audit_add(a, &r), 0);
        n++;
        assert_int_equal(stat(f->path, &st), 0);
    } while (st.st_size == 0 && n < 100);
    assert_true((size_t)n * big >= SRV_AUDIT_HIGH_WATER);
    assert_true((size_t)st.st_size >= SRV_AUDIT_HIGH_WATER);
    srv_audit_close(a);
    free(s);
}

static void
test_reopen_after_rename(void **state)
{
    struct fx *f = *state;
    srv_audit *a;
    char err[256];
    char old[128];

    snprintf(old, sizeof(old), "%s.1", f->path);
    assert_int_equal(srv_audit_open(&a, f->path, err, sizeof(err)), 0);
    add_n(a, 0, 3);
    assert_int_equal(srv_audit_flush(a), 0);
    assert_int_equal(rename(f->path, old), 0);
    add_n(a, 3, 2); /* before the reopen: still to the old file */
    assert_int_equal(srv_audit_flush(a), 0);
    assert_int_equal(srv_audit_reopen(a, err, sizeof(err)), 0);
    add_n(a, 5, 4);
    assert_int_equal(srv_audit_flush(a), 0);
    check_file(old, 0, 5);
    check_file(f->path, 5, 4);
    srv_audit_close(a);

    /* A path that cannot be opened: the error names the flag and the file. */
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/no/such/dir/audit.log", f->dir);
    a = (srv_audit *)&bad;
    assert_int_not_equal(srv_audit_open(&a, bad, err, sizeof(err)), 0);
    assert_ptr_equal(a, (srv_audit *)&bad);
    assert_non_null(strstr(err, "--audit-log"));
    assert_non_null(strstr(err, "no/such/dir"));
}

/* Four threads add while a fifth flushes: every line arrives whole, once,
 * and each thread's lines in the order it added them. */
#define THREADS    4
#define PER_THREAD 3000

struct worker {
    srv_audit *a;
    int id;
};

static void *
adder(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        const srv_audit_id id = { .name = "seq", .num = (uint64_t)i };
        const srv_audit_rec r = { .identity = w->id % 2 ? "a\"b" : "c\\d",
                                  .method = "M",
                                  .request_id = (uint64_t)w->id,
                                  .code = 7,
                                  .ids = &id,
                                  .n_ids = 1 };
        if (srv_audit_add(w->a, &r) != 0)
            return (void *)1;
    }
    return NULL;
}

static void *
flusher(void *arg)
{
    srv_audit *a = arg;
    for (int i = 0; i < 200; i++)
        srv_audit_flush(a);
    return NULL;
}

static void
test_concurrent(void **state)
{
    struct fx *f = *state;
    srv_audit *a;
    char err[256];
    pthread_t th[THREADS], fl;
    struct worker w[THREADS];
    int next[THREADS] = { 0 };

    assert_int_equal(srv_audit_open(&a, f->path, err, sizeof(err)), 0);
    assert_int_equal(pthread_create(&fl, NULL, flusher, a), 0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){ .a = a, .id = i };
        assert_int_equal(pthread_create(&th[i], NULL, adder, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    pthread_join(fl, NULL);
    srv_audit_close(a);

    char *s = bh_test_slurp(f->path, NULL);
    assert_non_null(s);
    assert_int_equal(count_lines(s), THREADS * PER_THREAD);
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        cJSON *j = parse_line(line, (size_t)(nl - line) + 1);
        int t = (int)strtol(str_of(j, "request_id"), NULL, 10);
        assert_true(t >= 0 && t < THREADS);
        assert_string_equal(str_of(j, "identity"), t % 2 ? "a\"b" : "c\\d");
        char want[24];
        snprintf(want, sizeof(want), "%d", next[t]++);
        assert_string_equal(str_of(cJSON_GetObjectItemCaseSensitive(j, "ids"), "seq"), want);
        cJSON_Delete(j);
        line = nl + 1;
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(next[i], PER_THREAD);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_anonymous_and_codes),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test_setup_teardown(test_buffered_until_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_high_water, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
