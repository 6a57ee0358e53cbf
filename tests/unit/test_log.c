/* SPDX-License-Identifier: Apache-2.0 */
/* server/log.c: main-log lines in text and json for each level (json
 * parsed back with cJSON), the time format, level filtering, escaping, cut
 * lines, the access and slow-call logs, reopen after a rename, four threads
 * at once and srv_log_every. `test_log bench` measures the cost of a line
 * instead (not a test: tests do not time). */
#define _GNU_SOURCE /* strptime, timegm */
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "log.h"
#include "slurp.h"
#include "util.h"

struct fx {
    char dir[64];
    char path[96];   /* the main log */
    char access[96]; /* the access log */
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/bh-log-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/server.log", f->dir);
    snprintf(f->access, sizeof(f->access), "%s/access.log", f->dir);
    if (srv_log_open(f->path, err, sizeof(err)) != 0) {
        free(f);
        return -1;
    }
    srv_log_config(SRV_LOG_INFO, SRV_LOG_TEXT);
    srv_log_slow_threshold_us(0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char p[128];
    srv_log_close();
    unlink(f->path);
    unlink(f->access);
    snprintf(p, sizeof(p), "%s.1", f->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s.1", f->access);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The whole file, NUL-terminated; caller frees. A missing file is "". */
static char *
slurp(const char *path)
{
    char *s = bh_test_slurp(path, NULL);
    return s != NULL ? s : strdup("");
}

/* Splits s into its lines (s is cut at each '\n'); returns their count and
 * checks the text ends with one. */
static size_t
split_lines(char *s, char **lines, size_t max)
{
    size_t n = 0;
    char *p = s;
    while (*p != '\0') {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line whole */
        *nl = '\0';
        if (n < max)
            lines[n] = p;
        n++;
        p = nl + 1;
    }
    return n;
}

static void
assert_match(const char *re, const char *s)
{
    regex_t r;
    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&r, s, 0, NULL, 0);
    if (rc != 0)
        fail_msg("\"%s\" does not match /%s/", s, re);
    regfree(&r);
}

/* RFC 3339 UTC with ms, and within a minute of now. */
static void
assert_time(const char *t)
{
    struct tm tm = { 0 };
    assert_match("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$", t);
    const char *rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(rest);
    assert_string_equal(rest + 4, "Z");
    long long d = (long long)(timegm(&tm) - time(NULL));
    assert_true(d > -60 && d < 60);
}

static const char *const levels[] = { "error", "warn", "info", "debug" };

static void
test_levels_text(void **state)
{
    struct fx *f = *state;
    char *lines[8];

    srv_log_config(SRV_LOG_DEBUG, SRV_LOG_TEXT);
    for (int i = SRV_LOG_ERROR; i <= SRV_LOG_DEBUG; i++)
        srv_log((enum srv_log_level)i, "line %d of %s", i, levels[i]);
    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 8), 4);
    assert_match("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z error line 0 of error$",
                 lines[0]);
    assert_match("^[^ ]+Z warn  line 1 of warn$", lines[1]);
    assert_match("^[^ ]+Z info  line 2 of info$", lines[2]);
    assert_match("^[^ ]+Z debug line 3 of debug$", lines[3]);
    for (int i = 0; i < 4; i++) {
        lines[i][24] = '\0';
        assert_time(lines[i]);
    }
    free(s);
}

static void
test_levels_json(void **state)
{
    struct fx *f = *state;
    char *lines[8];

    srv_log_config(SRV_LOG_DEBUG, SRV_LOG_JSON);
    for (int i = SRV_LOG_ERROR; i <= SRV_LOG_DEBUG; i++)
        srv_log_kv((enum srv_log_level)i, "a message", "n", levels[i], "empty", "", NULL);
    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 8), 4);
    for (int i = 0; i < 4; i++) {
        cJSON *j = cJSON_Parse(lines[i]);
        assert_non_null(j);
        assert_time(cJSON_GetObjectItem(j, "time")->valuestring);
        assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, levels[i]);
        assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring, "a message");
        assert_string_equal(cJSON_GetObjectItem(j, "n")->valuestring, levels[i]);
        assert_string_equal(cJSON_GetObjectItem(j, "empty")->valuestring, "");
        assert_int_equal(cJSON_GetArraySize(j), 5);
        cJSON_Delete(j);
    }
    free(s);
}

static void
test_filter(void **state)
{
    struct fx *f = *state;
    char *lines[8];

    /* Default info: debug is not written. */
    srv_log(SRV_LOG_DEBUG, "not at info");
    srv_log_kv(SRV_LOG_DEBUG, "nor this", "k", "v", NULL);
    assert_false(srv_log_enabled(SRV_LOG_DEBUG));
    assert_true(srv_log_enabled(SRV_LOG_INFO));
    srv_log(SRV_LOG_INFO, "at info");
    srv_log_config(SRV_LOG_ERROR, SRV_LOG_TEXT);
    srv_log(SRV_LOG_WARN, "not at error");
    srv_log_fields(SRV_LOG_INFO, "nor this", NULL, 0);
    srv_log(SRV_LOG_ERROR, "at error");
    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 8), 2);
    assert_match(" info  at info$", lines[0]);
    assert_match(" error at error$", lines[1]);
    free(s);
}

static void
test_parse(void **state)
{
    enum srv_log_level l = SRV_LOG_ERROR;
    enum srv_log_format fm = SRV_LOG_TEXT;
    (void)state;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(srv_log_level_parse(levels[i], &l), 0);
        assert_int_equal(l, i);
        assert_string_equal(srv_log_level_name(l), levels[i]);
    }
    assert_int_equal(srv_log_level_parse("trace", &l), -1);
    assert_int_equal(l, SRV_LOG_DEBUG);
    assert_int_equal(srv_log_format_parse("json", &fm), 0);
    assert_int_equal(fm, SRV_LOG_JSON);
    assert_int_equal(srv_log_format_parse("text", &fm), 0);
    assert_int_equal(fm, SRV_LOG_TEXT);
    assert_int_equal(srv_log_format_parse("xml", &fm), -1);
}

/* Quote, backslash, newline, a control byte, valid UTF-8 (é) and a byte
 * that is not UTF-8 (0xff). */
#define NASTY "a \"q\" \\ b\nc\x01 \xc3\xa9 \xff."

static void
test_escape_json(void **state)
{
    struct fx *f = *state;
    char *lines[4];

    srv_log_config(SRV_LOG_INFO, SRV_LOG_JSON);
    srv_log(SRV_LOG_INFO, "%s", NASTY);
    srv_log_kv(SRV_LOG_INFO, "m", "k\"ey", NASTY, "null", NULL, NULL);
    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 4), 2);
    assert_non_null(strstr(lines[0], "\\u0001"));
    assert_non_null(strstr(lines[0], "\\ufffd"));
    for (int i = 0; i < 2; i++) {
        cJSON *j = cJSON_Parse(lines[i]);
        assert_non_null(j);
        const char *v = i == 0 ? cJSON_GetObjectItem(j, "msg")->valuestring
                               : cJSON_GetObjectItem(j, "k\"ey")->valuestring;
        assert_string_equal(v, "a \"q\" \\ b\nc\x01 \xc3\xa9 \xef\xbf\xbd.");
        if (i == 1)
            assert_string_equal(cJSON_GetObjectItem(j, "null")->valuestring, "");
        cJSON_Delete(j);
    }
    free(s);
}

static void
test_escape_text(void **state)
{
    struct fx *f = *state;
    char *lines[4];

    srv_log_kv(SRV_LOG_WARN, "msg\nwith \"newline\"", "bare", "v1", "spaced", "a b", "empty", "",
               "eq", "a=b", "nasty", NASTY, NULL);
    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 4), 1); /* the newline is escaped */
    assert_match(" warn  msg\\\\nwith \"newline\" bare=v1 spaced=\"a b\" empty=\"\" eq=\"a=b\" "
                 "nasty=\"a \\\\\"q\\\\\" \\\\\\\\ b\\\\nc\\\\u0001 \xc3\xa9 \\\\ufffd\\.\"$",
                 lines[0]);
    free(s);
}

/* A line longer than the buffer is cut at a character boundary and still
 * parses; fields past the cut are dropped. */
static void
test_long_line(void **state)
{
    struct fx *f = *state;
    char *lines[4];
    char *big = malloc(3 * SRV_LOG_LINE_MAX + 1);
    assert_non_null(big);
    for (size_t i = 0; i < 3 * SRV_LOG_LINE_MAX; i += 3)
        memcpy(big + i, i % 2 ? "\"\xc3\xa9" : "x\xc3\xa9", 3);
    big[3 * SRV_LOG_LINE_MAX] = '\0';

    srv_log_config(SRV_LOG_INFO, SRV_LOG_JSON);
    srv_log_kv(SRV_LOG_INFO, "short", "big", big, "after", "x", NULL);
    srv_log(SRV_LOG_INFO, "%s", big);
    srv_log_config(SRV_LOG_INFO, SRV_LOG_TEXT);
    srv_log_kv(SRV_LOG_INFO, "short", "big", big, "after", "x", NULL);
    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 4), 3);
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lines[i]);
        assert_true(n + 1 <= SRV_LOG_LINE_MAX);
        assert_true(n + 1 > SRV_LOG_LINE_MAX - 16); /* filled, not given up */
        assert_int_equal(srv_utf8_valid(lines[i], n), n);
    }
    for (int i = 0; i < 2; i++) {
        cJSON *j = cJSON_Parse(lines[i]);
        assert_non_null(j);
        assert_null(cJSON_GetObjectItem(j, "after"));
        cJSON_Delete(j);
    }
    free(s);
    free(big);
}

static const srv_access_rec rec_full = {
    .method = "ReservationService.Hold",
    .code = 8,
    .duration_us = 1234567,
    .request_id = 18446744073709551615ull,
    .identity = "box office",
    .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
    .replayed = 1,
};

static void
test_access_text(void **state)
{
    struct fx *f = *state;
    char err[256];
    char *lines[4];
    srv_access_rec anon = { .method = "HealthService.Check", .code = 0, .duration_us = 0 };
    srv_access_rec odd = { .method = NULL, .code = 99 };

    srv_log_access(&rec_full); /* no access log yet: nothing */
    assert_false(srv_log_access_enabled());
    assert_int_equal(srv_log_access_open(f->access, err, sizeof(err)), 0);
    assert_true(srv_log_access_enabled());
    srv_log_access(&rec_full);
    srv_log_access(&anon);
    srv_log_access(&odd);
    char *s = slurp(f->access);
    assert_int_equal(split_lines(s, lines, 4), 3);
    assert_match("^[^ ]+Z method=ReservationService.Hold code=RESOURCE_EXHAUSTED "
                 "duration_us=1234567 request_id=18446744073709551615 identity=\"box office\" "
                 "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 replayed=true$",
                 lines[0]);
    assert_match("^[^ ]+Z method=HealthService.Check code=OK duration_us=0 request_id=0 "
                 "identity=\"\" trace_id=\"\" replayed=false$",
                 lines[1]);
    assert_match(" method=\"\" code=UNKNOWN ", lines[2]);
    lines[0][24] = '\0';
    assert_time(lines[0]);
    free(s);
    s = slurp(f->path);
    assert_string_equal(s, ""); /* not in the main log */
    free(s);
}

static void
test_access_json(void **state)
{
    struct fx *f = *state;
    char err[256];
    char *lines[4];
    srv_access_rec anon = { .method = "HealthService.Check", .code = 0, .duration_us = 17 };

    srv_log_config(SRV_LOG_INFO, SRV_LOG_JSON);
    assert_int_equal(srv_log_access_open(f->access, err, sizeof(err)), 0);
    srv_log_access(&rec_full);
    srv_log_access(&anon);
    char *s = slurp(f->access);
    assert_int_equal(split_lines(s, lines, 4), 2);

    cJSON *j = cJSON_Parse(lines[0]);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(j), 8);
    assert_time(cJSON_GetObjectItem(j, "time")->valuestring);
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "ReservationService.Hold");
    assert_string_equal(cJSON_GetObjectItem(j, "code")->valuestring, "RESOURCE_EXHAUSTED");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "duration_us")));
    assert_int_equal((long long)cJSON_GetObjectItem(j, "duration_us")->valuedouble, 1234567);
    assert_string_equal(cJSON_GetObjectItem(j, "request_id")->valuestring, "18446744073709551615");
    assert_string_equal(cJSON_GetObjectItem(j, "identity")->valuestring, "box office");
    assert_string_equal(cJSON_GetObjectItem(j, "trace_id")->valuestring,
                        "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "replayed")));
    cJSON_Delete(j);

    j = cJSON_Parse(lines[1]);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "code")->valuestring, "OK");
    assert_string_equal(cJSON_GetObjectItem(j, "identity")->valuestring, "");
    assert_string_equal(cJSON_GetObjectItem(j, "trace_id")->valuestring, "");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "replayed")));
    cJSON_Delete(j);
    free(s);
}

/* A call at or past the threshold is a warn line in the main log, with or
 * without the access log; a faster one, or any with the threshold off, is
 * not. */
static void
test_slow(void **state)
{
    struct fx *f = *state;
    char err[256];
    char *lines[8];
    srv_access_rec r = rec_full;

    srv_log_config(SRV_LOG_INFO, SRV_LOG_JSON);
    srv_log_call_done(&r); /* threshold off */
    srv_log_slow_threshold_us(1000);
    r.duration_us = 999;
    srv_log_call_done(&r);
    r.duration_us = 1000;
    srv_log_call_done(&r); /* slow, no access log */
    assert_int_equal(srv_log_access_open(f->access, err, sizeof(err)), 0);
    r.duration_us = 5000;
    srv_log_call_done(&r); /* slow, and an access line */
    r.duration_us = 10;
    srv_log_call_done(&r); /* an access line only */
    srv_log_config(SRV_LOG_ERROR, SRV_LOG_JSON);
    r.duration_us = 6000;
    srv_log_call_done(&r); /* warn is filtered at error: access line only */

    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 8), 2);
    long long want[] = { 1000, 5000 };
    for (int i = 0; i < 2; i++) {
        cJSON *j = cJSON_Parse(lines[i]);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "warn");
        assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring, "slow call");
        assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring,
                            "ReservationService.Hold");
        assert_int_equal((long long)cJSON_GetObjectItem(j, "duration_us")->valuedouble, want[i]);
        assert_string_equal(cJSON_GetObjectItem(j, "trace_id")->valuestring,
                            "4bf92f3577b34da6a3ce929d0e0e4736");
        cJSON_Delete(j);
    }
    free(s);
    s = slurp(f->access);
    assert_int_equal(split_lines(s, lines, 8), 3);
    free(s);

    /* Text: the same fields after the level and message. */
    srv_log_config(SRV_LOG_INFO, SRV_LOG_TEXT);
    r.duration_us = 2000;
    srv_log_call_done(&r);
    s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 8), 3);
    assert_match("^[^ ]+Z warn  slow call method=ReservationService.Hold code=RESOURCE_EXHAUSTED "
                 "duration_us=2000 request_id=18446744073709551615 ",
                 lines[2]);
    free(s);
}

/* logrotate: rename, then reopen; the next lines go to the new files. */
static void
test_reopen(void **state)
{
    struct fx *f = *state;
    char err[256], old_main[128], old_access[128];
    char *lines[4];

    snprintf(old_main, sizeof(old_main), "%s.1", f->path);
    snprintf(old_access, sizeof(old_access), "%s.1", f->access);
    assert_int_equal(srv_log_access_open(f->access, err, sizeof(err)), 0);
    srv_log(SRV_LOG_INFO, "before");
    srv_log_access(&rec_full);
    assert_int_equal(rename(f->path, old_main), 0);
    assert_int_equal(rename(f->access, old_access), 0);
    srv_log(SRV_LOG_INFO, "renamed, not reopened");
    assert_int_equal(srv_log_reopen(err, sizeof(err)), 0);
    srv_log(SRV_LOG_INFO, "after");
    srv_log_access(&rec_full);
    srv_log_access(&rec_full);

    char *s = slurp(old_main);
    assert_int_equal(split_lines(s, lines, 4), 2);
    assert_match(" before$", lines[0]);
    free(s);
    s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 4), 1);
    assert_match(" after$", lines[0]);
    free(s);
    s = slurp(old_access);
    assert_int_equal(split_lines(s, lines, 4), 1);
    free(s);
    s = slurp(f->access);
    assert_int_equal(split_lines(s, lines, 4), 2);
    free(s);

    /* The stdout access log is never reopened. */
    assert_int_equal(srv_log_access_open("-", err, sizeof(err)), 0);
    assert_int_equal(srv_log_reopen(err, sizeof(err)), 0);
}

static void
test_reopen_fails(void **state)
{
    struct fx *f = *state;
    char err[256] = "";
    char sub[128];
    char *lines[4];

    snprintf(sub, sizeof(sub), "%s/d", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    char p[160];
    snprintf(p, sizeof(p), "%s/access.log", sub);
    assert_int_equal(srv_log_access_open(p, err, sizeof(err)), 0);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(rmdir(sub), 0); /* the path can no longer be opened */
    assert_int_not_equal(srv_log_reopen(err, sizeof(err)), 0);
    assert_non_null(strstr(err, "--access-log"));
    assert_non_null(strstr(err, "access.log"));
    srv_log(SRV_LOG_INFO, "main log still fine");
    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 4), 1);
    free(s);
    assert_int_not_equal(srv_log_access_open(p, err, sizeof(err)), 0);
}

#define THREADS 4
#define PER     1000

static void *
writer_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    char id[8];
    snprintf(id, sizeof(id), "%d", t);
    srv_access_rec r = rec_full;
    for (int i = 0; i < PER; i++) {
        srv_log_kv(SRV_LOG_INFO, "a line from a thread, padded to be long enough to matter",
                   "thread", id, "pad",
                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                   NULL);
        r.request_id = (uint64_t)(t * PER + i);
        srv_log_access(&r);
    }
    return NULL;
}

/* Four threads, 1000 lines each in both logs: 4000 whole lines each. */
static void
test_threads(void **state)
{
    struct fx *f = *state;
    char err[256];
    pthread_t th[THREADS];
    static char *lines[THREADS * PER + 1];
    int per[THREADS] = { 0 };

    srv_log_config(SRV_LOG_INFO, SRV_LOG_JSON);
    assert_int_equal(srv_log_access_open(f->access, err, sizeof(err)), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, writer_thread, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);

    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, THREADS * PER + 1), THREADS * PER);
    for (int i = 0; i < THREADS * PER; i++) {
        cJSON *j = cJSON_Parse(lines[i]);
        assert_non_null(j);
        int t = atoi(cJSON_GetObjectItem(j, "thread")->valuestring);
        assert_true(t >= 0 && t < THREADS);
        per[t]++;
        cJSON_Delete(j);
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(per[t], PER);
    free(s);

    char *seen = calloc(THREADS * PER, 1);
    assert_non_null(seen);
    s = slurp(f->access);
    assert_int_equal(split_lines(s, lines, THREADS * PER + 1), THREADS * PER);
    for (int i = 0; i < THREADS * PER; i++) {
        cJSON *j = cJSON_Parse(lines[i]);
        assert_non_null(j);
        long id = strtol(cJSON_GetObjectItem(j, "request_id")->valuestring, NULL, 10);
        assert_true(id >= 0 && id < THREADS * PER);
        assert_false(seen[id]);
        seen[id] = 1;
        cJSON_Delete(j);
    }
    free(seen);
    free(s);
}

/* A repeated condition is said once per interval; the next line said
 * counts the ones held back. */
static void
test_every(void **state)
{
    struct fx *f = *state;
    srv_log_every_state st = SRV_LOG_EVERY_INIT;
    srv_log_every_state quiet = SRV_LOG_EVERY_INIT;
    char *lines[4];
    int said = 0;

    for (int i = 0; i < 10; i++)
        said += srv_log_every(SRV_LOG_WARN, &st, 3600000, "cap hit %d", i);
    assert_int_equal(said, 1);
    assert_int_equal(atomic_load(&st.held), 9);
    /* Filtered by level: neither said nor counted. */
    assert_int_equal(srv_log_every(SRV_LOG_DEBUG, &quiet, 1, "never"), 0);
    assert_int_equal(atomic_load(&quiet.held), 0);
    assert_int_equal(atomic_load(&quiet.next_ms), 0);
    /* The hour is up (set, rather than waited for). */
    atomic_store(&st.next_ms, 0);
    assert_int_equal(srv_log_every(SRV_LOG_WARN, &st, 1500, "cap hit again"), 1);
    atomic_store(&st.next_ms, 0);
    assert_int_equal(srv_log_every(SRV_LOG_WARN, &st, 1500, "cap hit alone"), 1);

    char *s = slurp(f->path);
    assert_int_equal(split_lines(s, lines, 4), 3);
    assert_match(" warn  cap hit 0$", lines[0]);
    assert_match(" warn  cap hit again \\(and 9 more times in the last 1500 ms\\)$", lines[1]);
    assert_match(" warn  cap hit alone$", lines[2]);
    free(s);
}

/* ---- `test_log bench`: ns per line ---- */

static double
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
bench(const char *dir)
{
    const int n = 1000000;
    char err[256], path[256];
    srv_access_rec r = rec_full;
    const char *targets[2] = { "/dev/null", path };

    snprintf(path, sizeof(path), "%s/bench-access.log", dir);
    for (int fm = 0; fm < 2; fm++) {
        for (int t = 0; t < 2; t++) {
            srv_log_config(SRV_LOG_INFO, (enum srv_log_format)fm);
            unlink(path);
            if (srv_log_access_open(targets[t], err, sizeof(err)) != 0) {
                fprintf(stderr, "%s\n", err);
                exit(1);
            }
            double t0 = now_ns();
            for (int i = 0; i < n; i++) {
                r.request_id = (uint64_t)i;
                r.duration_us = (uint64_t)i & 4095;
                srv_log_call_done(&r);
            }
            double t1 = now_ns();
            printf("access line, %s, to %s: %.0f ns/line\n", fm ? "json" : "text", targets[t],
                   (t1 - t0) / n);
            srv_log_close();
        }
    }
    unlink(path);
    srv_log_config(SRV_LOG_INFO, SRV_LOG_TEXT);
    srv_log_set_fd(-1);
    double t0 = now_ns();
    for (int i = 0; i < n * 10; i++)
        srv_log(SRV_LOG_DEBUG, "filtered %d", i);
    printf("filtered debug line: %.1f ns\n", (now_ns() - t0) / (n * 10));
    t0 = now_ns();
    for (int i = 0; i < n * 10; i++)
        srv_log_call_done(&r);
    printf("srv_log_call_done, no access log, not slow: %.1f ns\n", (now_ns() - t0) / (n * 10));
    srv_log_close();
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        bench(argc > 2 ? argv[2] : "/tmp");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_levels_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_escape_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escape_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
