/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operations against a real server: rate limits per identity, the audit
 * log, /metrics (checked by promtool), /healthz and /readyz, the access log
 * in text and json, the slow-call log and the trace id of a traceparent.
 * The server runs with an auth file of three service tokens and an admin.
 * (/readyz's 503 while draining is test_http's, through the callback: a
 * drain is over before a test could look.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bilheteria/services.h"
#include "bilheteria/v1/rpc.pb-c.h"
#include "harness.h"
#include "jwtmint.h"

#define LIST_EVENTS  "bilheteria.v1.EventService/ListEvents"
#define CREATE_EVENT "bilheteria.v1.EventService/CreateEvent"

#define ADMIN_TOKEN "adm-ops-0123456789abcdefghijklmnopqrstuv"
#define A_TOKEN     "svc-a-0123456789abcdefghijklmnopqrstuv"
#define B_TOKEN     "svc-b-0123456789abcdefghijklmnopqrstuv"
#define TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TRACE_ID    "4bf92f3577b34da6a3ce929d0e0e4736"

static char dir[64], auth_path[128], access_path[128], audit_path[128], json_access[128];
static bht_server srv, js; /* text logs, and json logs */
static char metrics_url[128];

static void
write_auth(void)
{
    static const char *const lines[][3] = {
        { "ops-admin", "admin", ADMIN_TOKEN },
        { "svc-a", "service", A_TOKEN },
        { "svc-b", "service", B_TOKEN },
    };
    FILE *f = fopen(auth_path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        char hex[65];
        jwtmint_sha256_hex(lines[i][2], hex);
        fprintf(f, "%s %s %s\n", lines[i][0], lines[i][1], hex);
    }
    assert_int_equal(fclose(f), 0);
}

/* The whole of a file, NUL-terminated ("" if absent). Caller frees. */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    if (f != NULL) {
        size_t n = fread(buf, 1, (1 << 20) - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    return buf;
}

/* Waits (up to 10 s: the audit log flushes every second) until path holds
 * needle. Returns the file (caller frees). */
static char *
wait_for(const char *path, const char *needle)
{
    for (int i = 0; i < 200; i++) {
        char *s = slurp(path);
        if (strstr(s, needle) != NULL)
            return s;
        free(s);
        bht_sleep_ms(50);
    }
    fail_msg("%s never held \"%s\"", path, needle);
    return NULL;
}

static int
list_events(bh_client *c, bh_status *st)
{
    uint8_t *resp = NULL;
    size_t len = 0;
    int rc = bh_call_raw(c, LIST_EVENTS, (const uint8_t *)"", 0, &resp, &len, NULL, st);
    free(resp);
    return rc;
}

/* An envelope sent as it is: method, token and traceparent as given. */
static Bilheteria__V1__ResponseEnvelope *
raw_call(const bht_server *s, const char *method, const char *token, const char *tp,
         uint64_t request_id)
{
    Bilheteria__V1__RequestEnvelope env = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    uint8_t buf[1024];
    env.method = (char *)method;
    env.request_id = request_id;
    env.auth_token = (char *)token;
    env.traceparent = (char *)tp;
    size_t n = bilheteria__v1__request_envelope__get_packed_size(&env);
    assert_true(n <= sizeof(buf));
    bilheteria__v1__request_envelope__pack(&env, buf);
    return bht_raw_envelope(s, buf, n);
}

/* ---- HTTP, over a raw socket (curl may not be installed) ---- */

typedef struct answer {
    int status;
    char body[1 << 19];
} answer;

static void
http_get(const char *path, answer *a)
{
    unsigned port;
    assert_int_equal(sscanf(metrics_url, "http://127.0.0.1:%u", &port), 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char req[256];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    static char raw[sizeof(a->body) + 4096];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fd, raw + len, sizeof(raw) - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    raw[len] = 0;
    char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    assert_int_equal(sscanf(raw, "HTTP/1.1 %d ", &a->status), 1);
    snprintf(a->body, sizeof(a->body), "%s", end + 4);
}

/* The value of the series line that starts with series (name and labels). */
static double
series(const char *text, const char *name_labels)
{
    size_t n = strlen(name_labels);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, name_labels, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("no series %s in /metrics", name_labels);
    return -1;
}

/* ---- setup ---- */

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/bh-ops-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(auth_path, sizeof(auth_path), "%s/auth", dir);
    snprintf(access_path, sizeof(access_path), "%s/access.log", dir);
    snprintf(audit_path, sizeof(audit_path), "%s/audit.log", dir);
    snprintf(json_access, sizeof(json_access), "%s/access.json", dir);
    write_auth();
    const char *const flags[] = { "--auth-file",
                                  auth_path,
                                  "--rate-limit",
                                  "1",
                                  "--rate-burst",
                                  "10",
                                  "--metrics-listen",
                                  "http://127.0.0.1:0",
                                  "--access-log",
                                  access_path,
                                  "--slow-ms",
                                  "0",
                                  "--audit-log",
                                  audit_path,
                                  NULL };
    if (bht_start(&srv, flags) != 0)
        return -1;
    /* "metrics on http://127.0.0.1:PORT/metrics" in the server's log. */
    char *log = slurp(srv.log), *m = strstr(log, "metrics on http://");
    int ok = m != NULL && sscanf(m, "metrics on %127[^ ]", metrics_url) == 1 &&
             strstr(metrics_url, "/metrics") != NULL;
    if (ok)
        *strstr(metrics_url, "/metrics") = 0;
    free(log);
    const char *const jflags[] = { "--log-format", "json", "--access-log", json_access, NULL };
    return ok && bht_start(&js, jflags) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    int a = bht_cleanup(&srv), b = bht_cleanup(&js);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)system(cmd);
    return a == 0 && b == 0 ? 0 : -1;
}

/* ---- the tests ---- */

/* Each identity has a bucket of 10 at 1/s: the tests below spend svc-b's
 * and the admin's with care. svc-a floods and is refused past its burst, naming itself and when to
 * retry; svc-b, calling meanwhile, is not. The refusals are audited. */
static void
test_rate_limit(void **state)
{
    (void)state;
    bh_client *a = bht_client_as(&srv, A_TOKEN), *b = bht_client_as(&srv, B_TOKEN);
    bh_status st;
    int ok = 0, refused = 0;
    for (int i = 0; i < 25; i++) {
        int rc = list_events(a, &st);
        if (rc == BH_OK) {
            ok++;
        } else {
            assert_int_equal(rc, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED);
            if (strstr(st.message, "rate limit of 1/s for svc-a exceeded; retry in ") == NULL ||
                strstr(st.message, " ms") == NULL || strstr(st.message, A_TOKEN) != NULL)
                fail_msg("refusal says \"%s\"", st.message);
            refused++;
        }
    }
    assert_true(ok >= 10);
    assert_true(refused >= 1);
    for (int i = 0; i < 3; i++)
        if (list_events(b, &st) != BH_OK)
            fail_msg("svc-b refused while svc-a floods: %s", st.message);
    bh_client_close(a);
    bh_client_close(b);

    char *audit = wait_for(audit_path, "\"code\":\"RESOURCE_EXHAUSTED\"");
    assert_non_null(strstr(audit, "\"identity\":\"svc-a\""));
    free(audit);
}

/* A write and two denials each leave one JSON line; no token anywhere. */
static void
test_audit(void **state)
{
    (void)state;
    bh_client *adm = bht_client_as(&srv, ADMIN_TOKEN);
    uint64_t ev = bht_event(adm, "audited");
    bh_client_close(adm);
    Bilheteria__V1__ResponseEnvelope *r = raw_call(&srv, CREATE_EVENT, B_TOKEN, TRACEPARENT, 71);
    assert_int_equal(r->status, BILHETERIA__V1__STATUS_CODE__PERMISSION_DENIED);
    bilheteria__v1__response_envelope__free_unpacked(r, NULL);
    r = raw_call(&srv, LIST_EVENTS, "not-a-token", "", 72);
    assert_int_equal(r->status, BILHETERIA__V1__STATUS_CODE__UNAUTHENTICATED);
    bilheteria__v1__response_envelope__free_unpacked(r, NULL);

    char *text = wait_for(audit_path, "\"code\":\"UNAUTHENTICATED\"");
    int wrote = 0, denied = 0, unauth = 0;
    char want_id[32];
    snprintf(want_id, sizeof(want_id), "%llu", (unsigned long long)ev);
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        if (j == NULL)
            fail_msg("audit line is not JSON: %s", line);
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(j, "code"));
        const char *method = cJSON_GetStringValue(cJSON_GetObjectItem(j, "method"));
        const char *who = cJSON_GetStringValue(cJSON_GetObjectItem(j, "identity"));
        cJSON *ids = cJSON_GetObjectItem(j, "ids");
        assert_non_null(cJSON_GetObjectItem(j, "time"));
        assert_non_null(code);
        if (method != NULL && strcmp(method, CREATE_EVENT) == 0 && strcmp(code, "OK") == 0) {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(ids, "event_id"));
            assert_string_equal(who, "ops-admin");
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "role")), "admin");
            if (id != NULL && strcmp(id, want_id) == 0)
                wrote++;
        }
        if (strcmp(code, "PERMISSION_DENIED") == 0) {
            assert_string_equal(who, "svc-b");
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "request_id")), "71");
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "trace_id")), TRACE_ID);
            denied++;
        }
        if (strcmp(code, "UNAUTHENTICATED") == 0) {
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "identity")));
            assert_non_null(cJSON_GetObjectItem(j, "peer"));
            unauth++;
        }
        cJSON_Delete(j);
    }
    free(text);
    assert_int_equal(wrote, 1);
    assert_int_equal(denied, 1);
    assert_int_equal(unauth, 1);
    text = slurp(audit_path);
    assert_null(strstr(text, "not-a-token"));
    assert_null(strstr(text, ADMIN_TOKEN));
    assert_null(strstr(text, B_TOKEN));
    free(text);
}

/* /metrics counts the calls made, promtool accepts it; /healthz and
 * /readyz answer 200 while serving. */
static void
test_metrics(void **state)
{
    (void)state;
    static answer a;
    http_get("/metrics", &a);
    assert_int_equal(a.status, 200);
    double before =
        series(a.body, "bilheteria_requests_total{method=\"" LIST_EVENTS "\",code=\"OK\"}");
    bh_client *b = bht_client_as(&srv, ADMIN_TOKEN);
    bh_status st;
    for (int i = 0; i < 2; i++)
        assert_int_equal(list_events(b, &st), BH_OK);
    bh_client_close(b);
    http_get("/metrics", &a);
    assert_int_equal(a.status, 200);
    double after =
        series(a.body, "bilheteria_requests_total{method=\"" LIST_EVENTS "\",code=\"OK\"}");
    assert_true(after >= before + 2);
    assert_true(series(a.body, "bilheteria_requests_total{method=\"" LIST_EVENTS
                               "\",code=\"RESOURCE_EXHAUSTED\"}") >= 1);
    assert_true(series(a.body, "bilheteria_request_duration_seconds_count{method=\"" LIST_EVENTS
                               "\"}") >= after);
    series(a.body, "bilheteria_connections_open");

    char path[160], cmd[320];
    snprintf(path, sizeof(path), "%s/metrics.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(a.body, f);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
    if (system(cmd) != 0)
        fail_msg("promtool check metrics refused (or promtool is missing): %s", path);

    http_get("/healthz", &a);
    assert_int_equal(a.status, 200);
    http_get("/readyz", &a);
    assert_int_equal(a.status, 200);
}

/* The access log's text lines, the slow log (--slow-ms 0: every call) in
 * the main log, and json access lines with a trace id. */
static void
test_access_and_slow(void **state)
{
    (void)state;
    Bilheteria__V1__ResponseEnvelope *r = raw_call(&srv, LIST_EVENTS, ADMIN_TOKEN, TRACEPARENT, 81);
    assert_int_equal(r->status, 0);
    bilheteria__v1__response_envelope__free_unpacked(r, NULL);
    char *text = wait_for(access_path, "request_id=81 ");
    char *line = strstr(text, "method=" LIST_EVENTS " code=OK duration_us=");
    assert_non_null(line);
    line = strstr(text, "request_id=81 ");
    char *eol = strchr(line, '\n');
    *eol = 0;
    while (line > text && line[-1] != '\n')
        line--;
    assert_non_null(strstr(line, "identity=ops-admin trace_id=" TRACE_ID " replayed=false"));
    assert_true(line[4] == '-' && strstr(line, "Z method=") != NULL); /* RFC 3339 time */
    free(text);
    text = wait_for(srv.log, "slow call");
    assert_non_null(strstr(text, " warn  slow call method="));
    free(text);

    r = raw_call(&js, LIST_EVENTS, "", TRACEPARENT, 91);
    assert_int_equal(r->status, 0);
    bilheteria__v1__response_envelope__free_unpacked(r, NULL);
    text = wait_for(json_access, "\"request_id\":\"91\"");
    int seen = 0;
    for (char *l = strtok(text, "\n"); l != NULL; l = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(l);
        if (j == NULL)
            fail_msg("access line is not JSON: %s", l);
        const char *rid = cJSON_GetStringValue(cJSON_GetObjectItem(j, "request_id"));
        if (rid != NULL && strcmp(rid, "91") == 0) {
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "method")),
                                LIST_EVENTS);
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "code")), "OK");
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "trace_id")), TRACE_ID);
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "duration_us")));
            assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "replayed")));
            seen++;
        }
        cJSON_Delete(j);
    }
    free(text);
    assert_int_equal(seen, 1);
    /* The json server's own lines are json too. */
    text = slurp(js.log);
    assert_non_null(strstr(text, "\"msg\":\"listening on ipc://"));
    free(text);
}

/* A malformed traceparent is INVALID_ARGUMENT naming the field. */
static void
test_bad_traceparent(void **state)
{
    (void)state;
    Bilheteria__V1__ResponseEnvelope *r = raw_call(
        &js, LIST_EVENTS, "", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", 5);
    assert_int_equal(r->status, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT);
    assert_non_null(strstr(r->message, "traceparent"));
    bilheteria__v1__response_envelope__free_unpacked(r, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_limit),      cmocka_unit_test(test_audit),
        cmocka_unit_test(test_metrics),         cmocka_unit_test(test_access_and_slow),
        cmocka_unit_test(test_bad_traceparent),
    };
    return cmocka_run_group_tests_name("ops", tests, setup, teardown);
}
