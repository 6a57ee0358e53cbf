/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: the NATS JetStream bridge against a real nats-server
 * (Debian's, `nats-server -js` on a temp dir and a free loopback port).
 * Changes are made while NATS runs, while it is down and after it comes
 * back, and Bilheteria is killed (-9) mid-stream and restarted; then the
 * stream, read with a JetStream consumer, must hold every seq 1..N exactly
 * once, in order. Without nats-server the test fails, saying how to get
 * it (tools/deps installs it). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <nats/nats.h>

#include "harness.h"

#define SUBJECT "bhtest"
#define STREAM  "BHTEST"

static const char *const nats_paths[] = { "/usr/sbin/nats-server", "/usr/bin/nats-server",
                                          "/usr/local/bin/nats-server" };

static const char *
nats_server_path(void)
{
    for (size_t i = 0; i < sizeof(nats_paths) / sizeof(nats_paths[0]); i++)
        if (access(nats_paths[i], X_OK) == 0)
            return nats_paths[i];
    return NULL;
}

static int
free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

typedef struct nats_proc {
    char dir[256], url[64], port[16];
    pid_t pid;
} nats_proc;

/* Starts nats-server -js on np's dir and port; waits until it answers. */
static void
nats_start(nats_proc *np)
{
    const char *bin = nats_server_path();
    char log[300];
    snprintf(log, sizeof(log), "%s/nats.log", np->dir);
    np->pid = fork();
    assert_true(np->pid >= 0);
    if (np->pid == 0) {
        FILE *f = freopen(log, "a", stdout);
        (void)f;
        dup2(1, 2);
        execl(bin, bin, "-js", "-sd", np->dir, "-p", np->port, "-a", "127.0.0.1", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) { /* up to 10 s */
        natsConnection *nc = NULL;
        if (natsConnection_ConnectTo(&nc, np->url) == NATS_OK) {
            natsConnection_Destroy(nc);
            return;
        }
        bht_sleep_ms(100);
    }
    fail_msg("nats-server did not answer on %s (see %s)", np->url, log);
}

static void
nats_stop(nats_proc *np)
{
    if (np->pid > 0) {
        kill(np->pid, SIGTERM);
        waitpid(np->pid, NULL, 0);
        np->pid = 0;
    }
}

static void
reserve(bh_client *c, uint64_t session, int i)
{
    Bilheteria__V1__CreateReservationRequest q = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CreateReservationResponse *r = NULL;
    char seat[8], *seats[1] = { seat };
    bh_status st;
    snprintf(seat, sizeof(seat), "%c%d", 'A' + i / 20, i % 20 + 1);
    q.session_id = session;
    q.user_id = "nats";
    q.seats = seats;
    q.n_seats = 1;
    if (bh_reservation_create_reservation(c, &q, &r, NULL, &st) != BH_OK)
        fail_msg("reserve %s: %s", seat, st.message);
    bilheteria__v1__create_reservation_response__free_unpacked(r, NULL);
}

static uint64_t
feed_last(bh_client *c)
{
    Bilheteria__V1__ListChangesRequest q = BILHETERIA__V1__LIST_CHANGES_REQUEST__INIT;
    Bilheteria__V1__ListChangesResponse *r = NULL;
    bh_status st;
    q.max = 1;
    if (bh_feed_list_changes(c, &q, &r, NULL, &st) != BH_OK)
        fail_msg("ListChanges: %s", st.message);
    uint64_t last = r->last_seq;
    bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
    return last;
}

/* How many messages the stream holds (0 while it cannot be read). */
static uint64_t
stream_msgs(jsCtx *js)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    if (js_GetStreamInfo(&si, js, STREAM, NULL, &jerr) != NATS_OK)
        return 0;
    uint64_t n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

static void
test_stream_holds_each_change_once_in_order(void **state)
{
    (void)state;
    nats_proc np = { .pid = 0 };
    bht_server s;
    int port = free_port();
    assert_non_null(nats_server_path()); /* checked in main, with the reason */
    assert_true(port > 0);
    snprintf(np.dir, sizeof(np.dir), "/tmp/bh-nats-XXXXXX");
    assert_non_null(mkdtemp(np.dir));
    snprintf(np.port, sizeof(np.port), "%d", port);
    snprintf(np.url, sizeof(np.url), "nats://127.0.0.1:%d", port);
    nats_start(&np);

    const char *const extra[] = { "--nats-url", np.url, "--nats-subject", SUBJECT, NULL };
    assert_int_equal(bht_start(&s, extra), 0);
    bh_client *c = bht_client(&s);
    uint64_t session = bht_session(c, bht_event(c, "NATS"), 10, 20, 1000);
    int i = 0;
    for (; i < 20; i++)
        reserve(c, session, i);
    nats_stop(&np); /* NATS goes away mid-stream ... */
    for (; i < 40; i++)
        reserve(c, session, i); /* ... the writer does not wait for it */
    nats_start(&np);
    for (; i < 60; i++)
        reserve(c, session, i);
    bh_client_close(c);
    bht_kill9(&s); /* Bilheteria dies mid-stream */
    assert_int_equal(bht_restart(&s), 0);
    c = bht_client(&s);
    for (; i < 80; i++)
        reserve(c, session, i);
    uint64_t n = feed_last(c);
    assert_int_equal(n, 82); /* the event, the session, 80 holds */

    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    assert_int_equal(natsConnection_ConnectTo(&nc, np.url), NATS_OK);
    assert_int_equal(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    for (int k = 0; k < 300 && stream_msgs(js) < n; k++) /* up to 30 s */
        bht_sleep_ms(100);
    assert_int_equal(stream_msgs(js), n);

    natsSubscription *sub = NULL;
    jsSubOptions so;
    jsErrCode jerr = 0;
    jsSubOptions_Init(&so);
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.AckPolicy = js_AckNone;
    assert_int_equal(js_SubscribeSync(&sub, js, SUBJECT ".>", NULL, &so, &jerr), NATS_OK);
    for (uint64_t want = 1; want <= n; want++) {
        natsMsg *m = NULL;
        const char *id = NULL, *seq = NULL;
        char want_id[64];
        assert_int_equal(natsSubscription_NextMsg(&m, sub, 10000), NATS_OK);
        assert_int_equal(natsMsgHeader_Get(m, "Nats-Msg-Id", &id), NATS_OK);
        assert_int_equal(natsMsgHeader_Get(m, "Bilheteria-Seq", &seq), NATS_OK);
        snprintf(want_id, sizeof(want_id), "bilheteria-%llu", (unsigned long long)want);
        assert_string_equal(id, want_id);
        assert_int_equal(strtoull(seq, NULL, 10), want);
        Bilheteria__V1__Change *ch = bilheteria__v1__change__unpack(
            NULL, (size_t)natsMsg_GetDataLength(m), (const uint8_t *)natsMsg_GetData(m));
        assert_non_null(ch);
        assert_int_equal(ch->seq, want);
        char subj[128];
        snprintf(subj, sizeof(subj), SUBJECT ".%s", ch->type);
        assert_string_equal(natsMsg_GetSubject(m), subj);
        bilheteria__v1__change__free_unpacked(ch, NULL);
        natsMsg_Destroy(m);
    }
    natsMsg *extra_msg = NULL; /* and nothing more: no duplicate */
    assert_int_equal(natsSubscription_NextMsg(&extra_msg, sub, 500), NATS_TIMEOUT);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    bh_client_close(c);
    assert_int_equal(bht_cleanup(&s), 0);
    nats_stop(&np);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", np.dir);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    if (nats_server_path() == NULL) {
        fprintf(stderr, "test_nats: nats-server not found (looked in /usr/sbin, /usr/bin, "
                        "/usr/local/bin): install it with tools/deps (Debian's nats-server "
                        "package) to test the JetStream bridge\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_holds_each_change_once_in_order),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
