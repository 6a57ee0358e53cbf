/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slow and hostile peers against a real server, through raw sockets that
 * speak nng's SP protocol over ipc:// (so that a peer can do what nng's own
 * sockets never do: stop reading its answers): a connection that pipelines
 * and never reads costs only its own calls, connections over the cap are
 * closed on arrival, idle ones are closed, and many connections sending
 * near-limit requests do not take memory past a bound set by the caps.
 * Deadlines here are generous; nothing is timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bilheteria/v1/rpc.pb-c.h"
#include "harness.h"

#define SP_HEAD 13 /* ipc: type 1, 8-byte length; REQ: 4-byte request id */

static bht_server s; /* each test's server; stopped by teardown if it fails */

static int
teardown(void **state)
{
    (void)state;
    int rc = bht_cleanup(&s);
    memset(&s, 0, sizeof(s));
    return rc;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A non-blocking ipc connection to s that has sent the REQ side of the SP
 * handshake (the server's half is left unread). */
static int
sp_connect(void)
{
    static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 }; /* REQ0 */
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    const char *path = s.url + strlen("ipc://");
    assert_true(strlen(path) < sizeof(a.sun_path));
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(send(fd, hello, sizeof(hello), MSG_NOSIGNAL), (ssize_t)sizeof(hello));
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

/* Frames body as one SP request with id into out (SP_HEAD + n bytes). */
static size_t
sp_frame(uint8_t *out, uint32_t id, const uint8_t *body, size_t n)
{
    uint64_t len = 4 + n;
    out[0] = 1;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(len >> (56 - 8 * i));
    id |= 0x80000000u;
    for (int i = 0; i < 4; i++)
        out[9 + i] = (uint8_t)(id >> (24 - 8 * i));
    memcpy(out + SP_HEAD, body, n);
    return SP_HEAD + n;
}

/* 1 if the server closes fd within ms, else 0. Nothing is read: a closed
 * Unix socket polls POLLHUP with its unread data still queued. */
static int
sp_closed_within(int fd, int ms)
{
    int64_t end = now_ms() + ms;
    for (int64_t left; (left = end - now_ms()) > 0;) {
        struct pollfd p = { .fd = fd, .events = 0 };
        if (poll(&p, 1, (int)left) > 0 && (p.revents & (POLLHUP | POLLERR)))
            return 1;
    }
    return 0;
}

static void
health_ok(bh_client *c, int timeout_ms)
{
    Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *rs = NULL;
    bh_call_opts o = { .timeout_ms = timeout_ms };
    bh_status st;
    int rc = bh_health_check(c, &rq, &rs, &o, &st);
    if (rc != BH_OK)
        fail_msg("Health.Check: %s: %s", bh_code_name(st.code), st.message);
    bilheteria__v1__check_response__free_unpacked(rs, NULL);
}

/* 1 once a Health.Check is answered OK within ms, retried: a connection
 * made while the server is at its connection cap is closed, and its calls
 * fail UNAVAILABLE. */
static int
health_within(bh_client *c, int ms)
{
    for (int64_t end = now_ms() + ms; now_ms() < end;) {
        Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
        Bilheteria__V1__CheckResponse *rs = NULL;
        bh_call_opts o = { .timeout_ms = 1000 };
        if (bh_health_check(c, &rq, &rs, &o, NULL) == BH_OK) {
            bilheteria__v1__check_response__free_unpacked(rs, NULL);
            return 1;
        }
        bht_sleep_ms(100);
    }
    return 0;
}

/* The server's VmHWM (peak resident memory), in KiB. */
static long
peak_kb(void)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)s.pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    assert_true(kb > 0);
    return kb;
}

/* One connection pipelines GetSeatMap calls of a big session and never
 * reads: past its in-flight limit its calls are dropped, so another
 * client's calls are answered meanwhile, and once its answers have waited
 * the send deadline (10 s by default) the server closes it. (Before, every
 * context ended up waiting to answer that connection, and the other client
 * got DEADLINE_EXCEEDED until it closed.) */
static void
test_stuck_reader(void **state)
{
    (void)state;
    assert_int_equal(bht_start(&s, NULL), 0);
    bh_client *c = bht_client(&s);
    uint64_t ev = bht_event(c, "peers");
    uint64_t sess = bht_session(c, ev, 100, 100, 1000);

    Bilheteria__V1__GetSeatMapRequest gm = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
    gm.session_id = sess;
    uint8_t payload[32];
    Bilheteria__V1__RequestEnvelope env = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    env.method = "bilheteria.v1.SessionService/GetSeatMap";
    env.payload.data = payload;
    env.payload.len = bilheteria__v1__get_seat_map_request__pack(&gm, payload);
    enum { CALLS = 3000 };
    uint8_t one[256], frame[SP_HEAD + 256];
    static uint8_t flood[CALLS * (SP_HEAD + 64)];
    size_t total = 0;
    for (uint32_t i = 1; i <= CALLS; i++) {
        env.request_id = i;
        size_t n = bilheteria__v1__request_envelope__pack(&env, one);
        assert_true(n <= 64);
        size_t f = sp_frame(frame, i, one, n);
        memcpy(flood + total, frame, f);
        total += f;
    }

    int fd = sp_connect();
    size_t sent = 0;
    for (int64_t end = now_ms() + 3000; sent < total && now_ms() < end;) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t w = send(fd, flood + sent, total - sent, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            break; /* closed by the server */
        if (w > 0)
            sent += (size_t)w;
    }
    assert_true(sent > 0);
    /* Calls over a few seconds while the server works through the flood
     * (it would have every context stuck within the first). */
    for (int i = 0; i < 10; i++) {
        bht_sleep_ms(200);
        health_ok(c, 3000);
    }
    /* Closed by the server, not left to hold its calls. */
    assert_true(sp_closed_within(fd, 20000));
    close(fd);
    health_ok(c, 3000);
    bh_client_close(c);
}

/* Connections past --max-connections are closed on arrival; the server
 * stays up and takes a new one once one has gone. */
static void
test_connection_cap(void **state)
{
    (void)state;
    static const char *const extra[] = { "--max-connections", "4", NULL };
    assert_int_equal(bht_start(&s, extra), 0);
    bht_sleep_ms(500); /* the start-up check's connection gone */
    enum { N = 10 };
    int fd[N], closed[N] = { 0 }, n_closed = 0;
    for (int i = 0; i < N; i++)
        fd[i] = sp_connect();
    /* Those over the cap see the end of the stream; wait a little past the
     * last, in case one more would be closed. */
    for (int64_t end = now_ms() + 5000, extra_wait = 0; now_ms() < end;) {
        for (int i = 0; i < N; i++)
            if (!closed[i] && sp_closed_within(fd[i], 10))
                closed[i] = 1, n_closed++;
        if (n_closed >= N - 4 && extra_wait == 0)
            end = extra_wait = now_ms() + 500;
    }
    /* At most 4 left open; 3 if the start-up check's connection was still
     * counted (its close is asynchronous). */
    print_message("%d of %d connections closed\n", n_closed, N);
    assert_true(n_closed >= N - 4 && n_closed <= N - 3);
    for (int i = 0; i < N; i++)
        if (!closed[i]) {
            close(fd[i]);
            break;
        }
    /* Until the server has seen that close, a new connection is over the
     * cap too, and its calls fail UNAVAILABLE: retry for a while. */
    bh_client *c = bht_client(&s);
    assert_true(health_within(c, 10000));
    bh_client_close(c);
    for (int i = 0; i < N; i++)
        close(fd[i]);
}

/* A connection that hangs up before its handshake is over stops an nng
 * 1.5.2 listener from taking connections for good (nng #1518: on ipc://,
 * every time); the server's watchdog sees it and opens the listener again,
 * so new clients are served within seconds. Opening it again closes the
 * connections it had: their clients connect again on their own. */
static void
test_handshake_cut(void **state)
{
    (void)state;
    /* nng's stopped listener keeps the connections it negotiated and never
     * handed over, and never frees them: a sanitizer build's server would
     * report them at exit. They are nng's (#1518), not ours to free: leak
     * checks are off for this test's server only. */
    const char *was = getenv("ASAN_OPTIONS");
    char *saved = was != NULL ? strdup(was) : NULL, opts[512];
    snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", was != NULL ? was : "",
             was != NULL && *was != 0 ? ":" : "");
    assert_int_equal(setenv("ASAN_OPTIONS", opts, 1), 0);
    int started = bht_start(&s, NULL);
    if (saved != NULL)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    assert_int_equal(started, 0);
    bh_client *old = bht_client(&s);
    health_ok(old, 2000);
    for (int i = 0; i < 3; i++) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        const char *path = s.url + strlen("ipc://");
        memcpy(a.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        close(fd); /* before any byte of the handshake */
        bht_sleep_ms(100);
    }
    bh_client *c = bht_client(&s);
    assert_true(health_within(c, 15000));
    assert_true(health_within(old, 5000));
    bh_client_close(c);
    bh_client_close(old);
}

/* A silent connection is closed after --idle-timeout-s; one in use is
 * not. */
static void
test_idle_timeout(void **state)
{
    (void)state;
    static const char *const extra[] = { "--idle-timeout-s", "1", NULL };
    assert_int_equal(bht_start(&s, extra), 0);
    int fd = sp_connect();
    bh_client *c = bht_client(&s);
    for (int i = 0; i < 12; i++) {
        health_ok(c, 2000);
        bht_sleep_ms(200);
    }
    assert_true(sp_closed_within(fd, 10000));
    close(fd);
    health_ok(c, 2000);
    bh_client_close(c);
}

/* 96 connections each send a request just under the transport's hard
 * limit (64 KiB + 1 MiB), all at once: with 8 connections allowed, the
 * server's peak RSS grows by about 8 such requests, not 96. */
static void
test_memory_bounded(void **state)
{
    (void)state;
    enum { N = 96, CAP = 8 };
    static const char *const extra[] = { "--max-connections", "8", "--max-request-kb", "64", NULL };
    assert_int_equal(bht_start(&s, extra), 0);
    long base = peak_kb();
    size_t body = (64u << 10) + (1u << 20) - 4096, len = SP_HEAD + body;
    uint8_t *msg = calloc(1, len);
    assert_non_null(msg);
    sp_frame(msg, 1, msg + SP_HEAD, 0); /* the header; the body stays zeros */
    uint64_t blen = 4 + body;
    for (int i = 0; i < 8; i++)
        msg[1 + i] = (uint8_t)(blen >> (56 - 8 * i));

    int fd[N];
    size_t off[N];
    int done = 0;
    for (int i = 0; i < N; i++) {
        fd[i] = sp_connect();
        off[i] = 0;
    }
    /* Round-robin, 64 KiB at a time, so that the server reads them all at
     * once if it takes them all. */
    for (int64_t end = now_ms() + 10000; done < N && now_ms() < end;) {
        for (int i = 0; i < N; i++) {
            if (off[i] == len)
                continue;
            size_t n = len - off[i] < 65536 ? len - off[i] : 65536;
            ssize_t w = send(fd[i], msg + off[i], n, MSG_NOSIGNAL);
            if (w > 0)
                off[i] += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                off[i] = len; /* closed: over the cap */
            if (off[i] == len)
                done++;
        }
        bht_sleep_ms(1);
    }
    assert_int_equal(done, N);
    bht_sleep_ms(300); /* let the server read what it took */
    long grown = peak_kb() - base;
    /* Each request is held once by nng; twice that per connection, plus
     * room for the contexts' arenas and allocator slack. */
    long bound = CAP * (long)(len >> 10) * 2 + 24 * 1024;
    print_message("peak RSS grew by %ld KiB (bound %ld KiB)\n", grown, bound);
    assert_true(grown < bound);
    for (int i = 0; i < N; i++)
        close(fd[i]);
    free(msg);
    bh_client *c = bht_client(&s);
    assert_true(health_within(c, 10000));
    bh_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stuck_reader, teardown),
        cmocka_unit_test_teardown(test_connection_cap, teardown),
        cmocka_unit_test_teardown(test_idle_timeout, teardown),
        cmocka_unit_test_teardown(test_handshake_cut, teardown),
        cmocka_unit_test_teardown(test_memory_bounded, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
