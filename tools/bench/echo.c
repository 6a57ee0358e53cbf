/* SPDX-License-Identifier: Apache-2.0 */
/* The echo scenario: a bare nng REP server inside the bench process that
 * sends every message back unchanged, and raw REQ clients sending a message
 * the size of a typical Bilheteria request envelope. No decoding, no store:
 * the transport's ceiling, to which the other scenarios are compared.
 *
 * Two variants give the ceilings of the other scenarios' costs:
 * --reply-bytes N answers every request with N bytes (a read's answer is
 * larger than its request), and --durable makes every answer wait for a
 * group commit built as bilheteria-server's writer is: a committer thread
 * takes all the requests that have arrived, writes a data page
 * (--durable-pages N: N pages, none adjacent to another) and fdatasyncs it,
 * then writes a "meta" page without waiting (LMDB's two barriers, the
 * second deferred); a syncer thread's fdatasync makes the batch durable
 * while the committer goes on; a responder thread sends the answers. No
 * encoding, no B-tree: the least a durable write costs on this machine
 * with this many clients. --durable-flushes 1 leaves out the committer's
 * fdatasync: one flush per batch, as a design with a write-ahead log in
 * front of its store would need; not crash-safe as written here, it only
 * measures what such a design could reach. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "bilheteria/v1/reservation.pb-c.h"
#include "bilheteria/v1/rpc.pb-c.h"
#include "nng_compat.h"

/* As many contexts as bilheteria-server has by default, so that neither
 * side queues more than the other. */
#define ECHO_CTXS       128
#define ECHO_TIMEOUT_MS 5000

#define PAGE 4096
/* Data pages are written at 2, 4, 6, ... of the file, in turn. */
#define ECHO_SLOTS 1024

typedef struct echo_ctx echo_ctx;

struct echo_ctx {
    nng_ctx ctx;
    nng_aio *aio;
    int sending;
    bench_echo_server *srv;
    nng_msg *msg; /* durable: the answer, waiting for its commit */
    echo_ctx *next;
};

/* A queue of contexts and the thread that serves it. */
typedef struct echo_queue {
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    echo_ctx *head, *tail;
    int stop;
} echo_queue;

struct bench_echo_server {
    nng_socket sock;
    echo_ctx c[ECHO_CTXS];
    int n;
    size_t reply_len; /* 0: send the request back */
    int durable;
    int pages;     /* data pages written per commit */
    int one_flush; /* no barrier between the data and the meta page */
    int fd;        /* the commit file */
    char path[512];
    atomic_uint_fast64_t commits, writes;
    atomic_int failed; /* a write or a sync failed: answers say so */
    echo_queue commit, sync, respond;
    uint8_t page[PAGE];
};

static void
queue_init(echo_queue *q)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
}

static void
queue_push(echo_queue *q, echo_ctx *first)
{
    echo_ctx *last = first;
    while (last->next != NULL)
        last = last->next;
    pthread_mutex_lock(&q->mu);
    if (q->tail != NULL)
        q->tail->next = first;
    else
        q->head = first;
    q->tail = last;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* Takes everything queued, waiting for something; NULL once stopped and
 * empty. */
static echo_ctx *
queue_take(echo_queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->head == NULL && !q->stop)
        pthread_cond_wait(&q->cv, &q->mu);
    echo_ctx *list = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return list;
}

static void
queue_stop(echo_queue *q)
{
    if (!q->started)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->th, NULL);
    q->started = 0;
}

static void
send_answer(echo_ctx *e, nng_msg *msg)
{
    nng_aio_set_msg(e->aio, msg);
    e->sending = 1;
    nng_ctx_send(e->ctx, e->aio);
}

/* A write or a sync failed: say so once, and answer nothing as durable
 * from now on. */
static void
durable_failed(bench_echo_server *s)
{
    if (!atomic_exchange(&s->failed, 1))
        fprintf(stderr, "bilheteria-bench: durable echo: %s: %s\n", s->path, strerror(errno));
}

/* The committer: one page and two barriers per batch, like an LMDB commit
 * (data pages, fdatasync, then the meta page, whose sync is the syncer's). */
static void *
committer_main(void *arg)
{
    bench_echo_server *s = arg;
    echo_ctx *list;
    while ((list = queue_take(&s->commit)) != NULL) {
        size_t n = 0, off = 0;
        for (echo_ctx *e = list; e != NULL; e = e->next, n++) {
            size_t len = nng_msg_len(e->msg);
            if (len > 64)
                len = 64;
            if (off + len <= PAGE) {
                memcpy(s->page + off, nng_msg_body(e->msg), len);
                off += len;
            }
        }
        /* Data pages at scattered offsets (every other page of the file, in
         * turn, so that no two are adjacent), page 0 for the meta. */
        uint64_t commit = atomic_load(&s->commits);
        memcpy(s->page, &commit, sizeof(commit));
        int bad = 0;
        for (int k = 0; k < s->pages && !bad; k++) {
            uint64_t slot = (commit * (uint64_t)s->pages + (uint64_t)k) % ECHO_SLOTS;
            bad = pwrite(s->fd, s->page, PAGE, (off_t)PAGE * (off_t)(2 + 2 * slot)) != PAGE;
        }
        if (bad || (!s->one_flush && fdatasync(s->fd) != 0) ||
            pwrite(s->fd, s->page, PAGE, 0) != PAGE)
            durable_failed(s);
        atomic_fetch_add(&s->commits, 1);
        atomic_fetch_add(&s->writes, n);
        queue_push(&s->sync, list);
    }
    return NULL;
}

/* The syncer: one fdatasync makes the meta pages of every batch committed
 * before it durable, while the committer goes on with the next batch. */
static void *
syncer_main(void *arg)
{
    bench_echo_server *s = arg;
    echo_ctx *list;
    while ((list = queue_take(&s->sync)) != NULL) {
        if (fdatasync(s->fd) != 0)
            durable_failed(s);
        queue_push(&s->respond, list);
    }
    return NULL;
}

static void *
responder_main(void *arg)
{
    bench_echo_server *s = arg;
    echo_ctx *list;
    while ((list = queue_take(&s->respond)) != NULL) {
        for (echo_ctx *e = list, *next; e != NULL; e = next) {
            next = e->next;
            nng_msg *msg = e->msg;
            e->msg = NULL;
            if (atomic_load(&s->failed))
                nng_msg_clear(msg); /* an empty answer: the client counts DATA_LOSS */
            send_answer(e, msg);
        }
    }
    return NULL;
}

static void
echo_cb(void *arg)
{
    echo_ctx *e = arg;
    bench_echo_server *s = e->srv;
    int rv = nng_aio_result(e->aio);
    if (e->sending) {
        if (rv != 0)
            nng_msg_free(nng_aio_get_msg(e->aio));
        if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
            return;
        e->sending = 0;
        nng_ctx_recv(e->ctx, e->aio);
        return;
    }
    if (rv != 0) {
        if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
            nng_ctx_recv(e->ctx, e->aio);
        return;
    }
    /* The received message goes straight back: same bytes, no copy. */
    nng_msg *msg = nng_aio_get_msg(e->aio);
    if (s->reply_len != 0) {
        nng_msg *r;
        if (nng_msg_alloc(&r, s->reply_len) != 0) {
            nng_msg_free(msg);
            nng_ctx_recv(e->ctx, e->aio); /* the client times out */
            return;
        }
        memset(nng_msg_body(r), 0x5a, s->reply_len);
        nng_msg_free(msg);
        msg = r;
    }
    if (s->durable) {
        e->msg = msg;
        e->next = NULL;
        queue_push(&s->commit, e);
        return;
    }
    send_answer(e, msg);
}

/* The envelope libbilheteria sends for a two-seat CreateReservation. */
static int
make_payload(bench *b)
{
    Bilheteria__V1__CreateReservationRequest r = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    char *seats[2] = { "C7", "C8" };
    r.session_id = 1234;
    r.user_id = "bench-7";
    r.seats = seats;
    r.n_seats = 2;
    size_t plen = bilheteria__v1__create_reservation_request__get_packed_size(&r);
    uint8_t *p = malloc(plen);
    if (p == NULL)
        return -1;
    bilheteria__v1__create_reservation_request__pack(&r, p);

    Bilheteria__V1__RequestEnvelope env = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    env.method = "bilheteria.v1.ReservationService/CreateReservation";
    env.request_id = 0x9e3779b97f4a7c15ull;
    env.timeout_ms = 5000;
    if (b->token != NULL)
        env.auth_token = b->token; /* the size of an authenticated request */
    env.payload.data = p;
    env.payload.len = plen;
    b->echo_len = bilheteria__v1__request_envelope__get_packed_size(&env);
    b->echo_payload = malloc(b->echo_len);
    if (b->echo_payload == NULL) {
        free(p);
        return -1;
    }
    bilheteria__v1__request_envelope__pack(&env, b->echo_payload);
    free(p);
    return 0;
}

/* The commit file goes where the spawned servers keep their data. */
static int
durable_open(bench_echo_server *e, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(e->path, sizeof(e->path), "%s/bh-bench-durable-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if ((e->fd = mkstemp(e->path)) < 0 ||
        ftruncate(e->fd, (off_t)PAGE * (2 + 2 * ECHO_SLOTS)) != 0 || fdatasync(e->fd) != 0) {
        snprintf(err, errlen, "durable echo: %s: %s", e->path, strerror(errno));
        return -1;
    }
    if (pthread_create(&e->commit.th, NULL, committer_main, e) != 0) {
        snprintf(err, errlen, "durable echo: cannot start a thread");
        return -1;
    }
    e->commit.started = 1;
    if (pthread_create(&e->sync.th, NULL, syncer_main, e) != 0) {
        snprintf(err, errlen, "durable echo: cannot start a thread");
        return -1;
    }
    e->sync.started = 1;
    if (pthread_create(&e->respond.th, NULL, responder_main, e) != 0) {
        snprintf(err, errlen, "durable echo: cannot start a thread");
        return -1;
    }
    e->respond.started = 1;
    return 0;
}

/* Stops the threads (after the clients: nothing is queued any more) and
 * removes the file. */
static void
durable_close(bench_echo_server *e)
{
    queue_stop(&e->commit);
    queue_stop(&e->sync);
    queue_stop(&e->respond);
    if (e->fd >= 0) {
        close(e->fd);
        unlink(e->path);
    }
    e->fd = -1;
}

static void
durable_drain(void *e)
{
    durable_close(e);
}

void
bench_echo_stats(const bench_echo_server *e, uint64_t *writes, uint64_t *commits)
{
    *writes = atomic_load(&e->writes);
    *commits = atomic_load(&e->commits);
}

int
bench_echo_start(bench *b, bench_echo_server **out, char *err, size_t errlen)
{
    int rv;
    nng_listener lst;
    bench_echo_server *e = calloc(1, sizeof(*e));
    if (e == NULL || make_payload(b) != 0) {
        snprintf(err, errlen, "out of memory");
        free(e);
        return -1;
    }
    e->fd = -1;
    e->reply_len = b->echo_reply_len;
    e->durable = b->echo_durable;
    e->pages = b->echo_pages ? b->echo_pages : 1;
    e->one_flush = b->echo_one_flush;
    queue_init(&e->commit);
    queue_init(&e->sync);
    queue_init(&e->respond);
    if (e->durable && durable_open(e, err, errlen) != 0) {
        durable_close(e);
        free(e);
        return -1;
    }
    if ((rv = nng_rep0_open(&e->sock)) != 0) {
        snprintf(err, errlen, "nng_rep0_open: %s", nng_strerror(rv));
        durable_close(e);
        free(e);
        return -1;
    }
    for (int i = 0; i < ECHO_CTXS; i++) {
        e->c[i].srv = e;
        if ((rv = nng_aio_alloc(&e->c[i].aio, echo_cb, &e->c[i])) != 0)
            goto fail;
        if ((rv = nng_ctx_open(&e->c[i].ctx, e->sock)) != 0) {
            nng_aio_free(e->c[i].aio);
            goto fail;
        }
        e->n = i + 1;
    }
    if (b->ipc)
        snprintf(b->echo_url, sizeof(b->echo_url), "ipc:///tmp/bh-bench-echo-%d.sock",
                 (int)getpid());
    const char *url = b->ipc ? b->echo_url : "tcp://127.0.0.1:0";
    if ((rv = nng_listener_create(&lst, e->sock, url)) != 0 ||
        (rv = nng_listener_start(lst, 0)) != 0)
        goto fail;
    if (!b->ipc) {
        int port = 0;
        if ((rv = nng_listener_get_int(lst, NNG_OPT_TCP_BOUND_PORT, &port)) != 0)
            goto fail;
        snprintf(b->echo_url, sizeof(b->echo_url), "tcp://127.0.0.1:%d", port);
    }
    for (int i = 0; i < e->n; i++)
        nng_ctx_recv(e->c[i].ctx, e->c[i].aio);
    *out = e;
    return 0;
fail:
    snprintf(err, errlen, "echo server: %s", nng_strerror(rv));
    bench_echo_stop(e);
    return -1;
}

void
bench_echo_stop(bench_echo_server *e)
{
    if (e == NULL)
        return;
    /* Called after every client has stopped, so nothing is in flight; the
     * commit threads, which send answers, stop before the socket closes
     * (see bh_nng_close_drained). */
    bh_nng_close_drained(e->sock, durable_drain, e);
    for (int i = 0; i < e->n; i++) {
        nng_aio_stop(e->c[i].aio);
        nng_aio_free(e->c[i].aio);
    }
    free(e);
}

static int
open_req(nng_socket *s, const char *url)
{
    int rv;
    if ((rv = nng_req0_open(s)) != 0)
        return rv;
    /* Like libbilheteria: never resend. */
    if ((rv = bh_nng_req_never_resend(*s)) != 0 || (rv = nng_dial(*s, url, NULL, 0)) != 0) {
        nng_close(*s);
        return rv;
    }
    return 0;
}

/* A client thread's context: on its own socket (own TCP connection), or on
 * the socket that every thread shares. */
int
bench_echo_client_open(bench *b, bench_thread *t, nng_socket shared, int use_shared)
{
    int rv;
    if (use_shared) {
        t->esock = shared;
    } else if ((rv = open_req(&t->esock, b->echo_url)) != 0) {
        bench_unexpected(t, "echo client cannot dial %s: %s", b->echo_url, nng_strerror(rv));
        return -1;
    }
    if ((rv = nng_ctx_open(&t->ectx, t->esock)) != 0 ||
        (rv = nng_aio_alloc(&t->eaio, NULL, NULL)) != 0) {
        bench_unexpected(t, "echo client: %s", nng_strerror(rv));
        return -1;
    }
    nng_aio_set_timeout(t->eaio, ECHO_TIMEOUT_MS);
    return 0;
}

void
bench_echo_client_close(bench_thread *t, int own_socket)
{
    if (t->eaio != NULL) {
        nng_aio_free(t->eaio);
        t->eaio = NULL;
        nng_ctx_close(t->ectx);
    }
    if (own_socket)
        nng_close(t->esock);
}

int
bench_echo_shared_open(nng_socket *s, const char *url)
{
    return open_req(s, url);
}

int
bench_echo_op(bench_thread *t)
{
    bench *b = t->b;
    nng_msg *msg;
    int code = BH_OK;
    uint64_t t0 = bench_now_ns();
    if (nng_msg_alloc(&msg, b->echo_len) != 0) {
        code = BH_RESOURCE_EXHAUSTED;
        goto out;
    }
    memcpy(nng_msg_body(msg), b->echo_payload, b->echo_len);
    nng_aio_set_msg(t->eaio, msg);
    nng_ctx_send(t->ectx, t->eaio);
    nng_aio_wait(t->eaio);
    if (nng_aio_result(t->eaio) != 0) {
        nng_msg_free(msg);
        code = BH_UNAVAILABLE;
        goto out;
    }
    nng_ctx_recv(t->ectx, t->eaio);
    nng_aio_wait(t->eaio);
    int rv = nng_aio_result(t->eaio);
    if (rv != 0) {
        code = rv == NNG_ETIMEDOUT ? BH_DEADLINE_EXCEEDED : BH_UNAVAILABLE;
        goto out;
    }
    msg = nng_aio_get_msg(t->eaio);
    if (b->echo_reply_len != 0 ? nng_msg_len(msg) != b->echo_reply_len
                               : nng_msg_len(msg) != b->echo_len ||
                                     memcmp(nng_msg_body(msg), b->echo_payload, b->echo_len) != 0)
        code = BH_DATA_LOSS;
    nng_msg_free(msg);
out:
    bench_record(t, OP_ECHO, code, bench_now_ns() - t0);
    if (code != BH_OK)
        bench_unexpected(t, "echo: %s", bh_code_name(code));
    return 0;
}
