/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server/http.c in-process: srv_http on http://127.0.0.1:0, asked over a
 * plain TCP socket (HTTP/1.1, Connection: close) for /metrics, /healthz
 * and /readyz, ready and not; bad URLs refused; stop ends readiness.
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

#include <cmocka.h>

#include "http.h"
#include "metrics.h"

typedef struct answer {
    int status;
    char head[2048];
    char body[65536 * 4];
} answer;

/* GET path from url ("http://127.0.0.1:PORT"); 0 on a complete answer. */
static int
get(const char *url, const char *method, const char *path, answer *a)
{
    unsigned port;
    assert_int_equal(sscanf(url, "http://127.0.0.1:%u", &port), 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    char req[256];
    int n =
        snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                 method, path);
    assert_int_equal(write(fd, req, (size_t)n), n);

    static char raw[sizeof(a->head) + sizeof(a->body)];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fd, raw + len, sizeof(raw) - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    raw[len] = '\0';
    char *end = strstr(raw, "\r\n\r\n");
    if (end == NULL || sscanf(raw, "HTTP/1.1 %d ", &a->status) != 1)
        return -1;
    size_t hl = (size_t)(end - raw);
    assert_true(hl < sizeof(a->head));
    memcpy(a->head, raw, hl);
    a->head[hl] = '\0';
    snprintf(a->body, sizeof(a->body), "%s", end + 4);
    return 0;
}

typedef struct readiness {
    int ready;
    const char *why;
    int calls;
} readiness;

static int
ready_cb(void *arg, char *why, size_t n)
{
    readiness *r = arg;
    r->calls++;
    if (!r->ready)
        snprintf(why, n, "%s", r->why);
    return r->ready;
}

static void
test_endpoints(void **state)
{
    (void)state;
    readiness rd = { .ready = 1, .why = "draining" };
    srv_http *h = NULL;
    char err[256] = "";
    answer *a = malloc(sizeof(*a));
    assert_non_null(a);

    srv_metrics_reset();
    srv_metrics_enable(1);
    srv_metrics_request(BH_METHOD_EVENT_GET_EVENT, 5, 120);

    assert_int_equal(srv_http_start(&h, "http://127.0.0.1:0", ready_cb, &rd, err, sizeof(err)), 0);
    const char *url = srv_http_url(h);
    assert_int_equal(strncmp(url, "http://127.0.0.1:", 17), 0);
    assert_int_not_equal(strcmp(url, "http://127.0.0.1:0"), 0);

    assert_int_equal(get(url, "GET", "/metrics", a), 0);
    assert_int_equal(a->status, 200);
    assert_non_null(strstr(a->head, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(a->body, "bilheteria_requests_total{method=\"bilheteria.v1."
                                    "EventService/GetEvent\",code=\"NOT_FOUND\"} 1\n"));
    assert_non_null(strstr(a->body, "# TYPE process_open_fds gauge\n"));
    /* The answer is the whole rendering. */
    char *text;
    size_t len;
    assert_int_equal(srv_metrics_render(&text, &len), 0);
    assert_true(strlen(a->body) + 200 > len && strlen(a->body) < len + 200);
    free(text);

    assert_int_equal(get(url, "GET", "/metrics?x=1", a), 0);
    assert_int_equal(a->status, 200);

    assert_int_equal(get(url, "GET", "/healthz", a), 0);
    assert_int_equal(a->status, 200);
    assert_string_equal(a->body, "ok\n");

    assert_int_equal(get(url, "GET", "/readyz", a), 0);
    assert_int_equal(a->status, 200);
    assert_string_equal(a->body, "ready\n");
    assert_int_equal(rd.calls, 1);

    rd.ready = 0;
    assert_int_equal(get(url, "GET", "/readyz", a), 0);
    assert_int_equal(a->status, 503);
    assert_string_equal(a->body, "not ready: draining\n");
    rd.why = "store not writable: MDB_MAP_FULL";
    assert_int_equal(get(url, "GET", "/readyz", a), 0);
    assert_int_equal(a->status, 503);
    assert_string_equal(a->body, "not ready: store not writable: MDB_MAP_FULL\n");
    assert_int_equal(rd.calls, 3);

    /* Unknown paths and other methods are nng's. */
    assert_int_equal(get(url, "GET", "/nope", a), 0);
    assert_int_equal(a->status, 404);
    assert_int_equal(get(url, "POST", "/metrics", a), 0);
    assert_int_equal(a->status, 405);

    /* After stop the callback is never called again; nothing listens. */
    char saved[128];
    snprintf(saved, sizeof(saved), "%s", url);
    srv_http_stop(h);
    srv_http_stop(h); /* idempotent */
    assert_int_not_equal(get(saved, "GET", "/healthz", a), 0);
    assert_int_equal(rd.calls, 3);
    srv_http_free(h);
    srv_http_free(NULL);
    free(a);
}

/* Without a ready callback /readyz is always 200. */
static void
test_no_ready_callback(void **state)
{
    (void)state;
    srv_http *h = NULL;
    char err[256] = "";
    answer *a = malloc(sizeof(*a));
    assert_non_null(a);
    assert_int_equal(srv_http_start(&h, "http://127.0.0.1:0", NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(get(srv_http_url(h), "GET", "/readyz", a), 0);
    assert_int_equal(a->status, 200);
    srv_http_free(h);
    free(a);
}

static void
test_bad_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        const char *says;
    } cases[] = {
        { "tcp://127.0.0.1:9450", "scheme must be http://" },
        { "https://127.0.0.1:0", "scheme must be http://" },
        { "not a url", "parse" },
        { "http://256.1.1.1:9450", "metrics listen http://256.1.1.1:9450" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        srv_http *h = (srv_http *)&cases; /* must stay untouched */
        char err[256] = "";
        assert_int_equal(srv_http_start(&h, cases[i].url, NULL, NULL, err, sizeof(err)), -1);
        assert_ptr_equal(h, (srv_http *)&cases);
        if (strstr(err, cases[i].says) == NULL)
            fail_msg("%s: error \"%s\" does not say \"%s\"", cases[i].url, err, cases[i].says);
    }
}

/* A port already taken by another srv_http is refused, with the reason. */
static void
test_port_in_use(void **state)
{
    (void)state;
    srv_http *h = NULL, *h2 = (srv_http *)state;
    char err[256] = "";
    assert_int_equal(srv_http_start(&h, "http://127.0.0.1:0", NULL, NULL, err, sizeof(err)), 0);
    char url[128];
    snprintf(url, sizeof(url), "%s", srv_http_url(h));
    assert_int_equal(srv_http_start(&h2, url, NULL, NULL, err, sizeof(err)), -1);
    assert_ptr_equal(h2, (srv_http *)state);
    assert_non_null(strstr(err, url));
    srv_http_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_no_ready_callback),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_port_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
