/* The nng side: one REP socket, many contexts, each with its own aio and
 * arena. A context's callback decodes the envelope, finds the method, and
 * either answers a read at once or hands a write to the writer thread and
 * returns: nng's callbacks never block. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "dispatch.h"
#include "listen.h"
#include "nng_compat.h"
#include "request.h"
#include "util.h"

/* The transport's hard limit is max_request plus this much: requests in
 * between get a clear RESOURCE_EXHAUSTED, larger ones make nng drop the
 * connection (so no connection can make the server hold more than this). */
#define RECV_SLACK (1u << 20)

typedef struct srv_worker {
    srv_listener *l;
    nng_ctx ctx;
    nng_aio *aio;
    int sending;
    uint64_t request_id;
    store_txn *rtxn; /* this context's read transaction, reused */
    bh__arena arena;
    srv_call call;
    srv_wslot wslot; /* the call's place in the writer's queue */
} srv_worker;

struct srv_listener {
    nng_socket sock;
    srv_worker *w;
    int n;
    store *st;
    srv_writer *wr;
    const srv_env *env; /* the writer's, for reads */
    const srv_config *cfg;
    atomic_int draining; /* stopping: new calls are refused */
    atomic_int closing;  /* closing: callbacks start nothing more */
    char urls[8][320];   /* the listen URLs, with the ports they got */
};

static void
start_recv(srv_worker *w)
{
    w->sending = 0;
    nng_ctx_recv(w->ctx, w->aio);
}

/* Builds the response envelope and sends it on the worker's context. */
static void
reply(void *arg)
{
    srv_worker *w = arg;
    Bilheteria__V1__ResponseEnvelope env;
    nng_msg *msg = NULL;
    srv_response_prepare(&w->call, w->request_id, &env);
    size_t n = bilheteria__v1__response_envelope__get_packed_size(&env);
    if (nng_msg_alloc(&msg, n) != 0) {
        /* Nothing to send: the caller times out. Take the next request. */
        start_recv(w);
        return;
    }
    bilheteria__v1__response_envelope__pack(&env, nng_msg_body(msg));
    nng_aio_set_msg(w->aio, msg);
    w->sending = 1;
    nng_ctx_send(w->ctx, w->aio);
}

static void
handle(srv_worker *w, nng_msg *msg)
{
    srv_listener *l = w->l;
    srv_call *c = &w->call;

    bh__arena_reset(&w->arena);
    srv_call_init(c, &w->arena, l->cfg, l->env);
    /* protobuf-c copies strings and bytes out of the buffer, so the message
     * can go back to nng right after decoding. */
    int kind = srv_request_decode(c, nng_msg_body(msg), nng_msg_len(msg), &w->request_id);
    nng_msg_free(msg);
    if (kind != SRV_DECODED_ANSWER && atomic_load(&l->draining)) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                 "the server is stopping; nothing was done");
        kind = SRV_DECODED_ANSWER;
    }
    if (kind == SRV_DECODED_WRITE) {
        srv_writer_submit(l->wr, &w->wslot, c, reply, w);
        return;
    }
    if (kind == SRV_DECODED_READ)
        srv_dispatch_read(c, w->rtxn);
    reply(w);
}

static void
worker_cb(void *arg)
{
    srv_worker *w = arg;
    int rv = nng_aio_result(w->aio);
    /* The aio keeps pointing at the last message set on it; take it off,
     * so that what is left on an aio at close is a message still ours. */
    nng_msg *msg = nng_aio_get_msg(w->aio);
    nng_aio_set_msg(w->aio, NULL);
    if (atomic_load(&w->l->closing)) {
        /* No send, no receive while nng closes the socket (a context
         * re-armed during the close can hang it: proto/compat/nng_compat.c).
         * A message still ours (a failed send, a request received) is
         * freed; its caller was told the server is stopping, or times out. */
        if ((w->sending && rv != 0) || (!w->sending && rv == 0))
            nng_msg_free(msg);
        return;
    }
    if (w->sending) {
        if (rv != 0)
            nng_msg_free(msg);
        if (rv == NNG_ECLOSED)
            return;
        start_recv(w);
        return;
    }
    if (rv != 0) {
        if (rv != NNG_ECLOSED)
            start_recv(w);
        return;
    }
    handle(w, msg);
}

/* The URL a client dials: a TCP port 0 replaced by the port it got. */
static void
bound_url(char *out, size_t len, const char *url, nng_listener lst)
{
    int port = 0;
    const char *colon = strrchr(url, ':');
    if (strncmp(url, "tcp", 3) == 0 && colon != NULL && strcmp(colon, ":0") == 0 &&
        nng_listener_get_int(lst, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
        snprintf(out, len, "%.*s:%d", (int)(colon - url), url, port);
    else
        snprintf(out, len, "%s", url);
}

int
srv_listener_start(srv_listener **out, const srv_config *cfg, store *st, srv_writer *wr, char *err,
                   size_t errlen)
{
    int rv;
    srv_listener *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->cfg = cfg;
    l->st = st;
    l->wr = wr;
    l->env = srv_writer_env(wr);
    if ((rv = nng_rep0_open(&l->sock)) != 0) {
        snprintf(err, errlen, "nng_rep0_open: %s", nng_strerror(rv));
        free(l);
        return -1;
    }
    size_t hard = cfg->max_request + RECV_SLACK;
    nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, hard);
    l->w = calloc((size_t)cfg->workers, sizeof(srv_worker));
    if (l->w == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < cfg->workers; i++) {
        srv_worker *w = &l->w[i];
        w->l = l;
        if (bh__arena_init_alloc(&w->arena, 1 << 16) != 0 ||
            store_read_alloc(st, &w->rtxn) != STORE_OK ||
            (rv = nng_aio_alloc(&w->aio, worker_cb, w)) != 0 ||
            (rv = nng_ctx_open(&w->ctx, l->sock)) != 0) {
            snprintf(err, errlen, "cannot set up context %d: %s", i,
                     rv ? nng_strerror(rv) : "out of memory");
            goto fail;
        }
        l->n = i + 1;
    }
    for (int i = 0; i < cfg->n_listen; i++) {
        nng_listener lst;
        if ((rv = nng_listener_create(&lst, l->sock, cfg->listen[i])) != 0 ||
            (rv = nng_listener_set_size(lst, NNG_OPT_RECVMAXSZ, hard)) != 0 ||
            (rv = nng_listener_start(lst, 0)) != 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen[i], nng_strerror(rv));
            goto fail;
        }
        bound_url(l->urls[i], sizeof(l->urls[i]), cfg->listen[i], lst);
    }
    /* Said once every listener has started: a later one may fail. */
    for (int i = 0; i < cfg->n_listen && !cfg->quiet; i++)
        fprintf(stderr, "bilheteria-server: listening on %s\n", l->urls[i]);
    for (int i = 0; i < l->n; i++)
        start_recv(&l->w[i]);
    *out = l;
    return 0;
fail:
    srv_listener_close(l);
    srv_listener_free(l);
    return -1;
}

const char *
srv_listener_url(const srv_listener *l)
{
    return l->urls[0];
}

void
srv_listener_drain(srv_listener *l)
{
    if (l != NULL)
        atomic_store(&l->draining, 1);
}

/* Stops every context's aio (nng_aio_stop waits for a running callback),
 * so that nothing of ours sends or receives any more. */
static void
stop_workers(void *arg)
{
    srv_listener *l = arg;
    for (int i = 0; i < l->n; i++) {
        nng_aio_stop(l->w[i].aio);
        /* A callback that passed the closing check before it was set may
         * have set an answer on its aio; a stopped aio's send drops it
         * without a callback, and it is still ours. */
        nng_msg *msg = nng_aio_get_msg(l->w[i].aio);
        nng_aio_set_msg(l->w[i].aio, NULL);
        if (msg != NULL)
            nng_msg_free(msg);
    }
}

void
srv_listener_close(srv_listener *l)
{
    if (l == NULL)
        return;
    atomic_store(&l->closing, 1);
    bh_nng_close_drained(l->sock, stop_workers, l);
}

void
srv_listener_free(srv_listener *l)
{
    if (l == NULL)
        return;
    for (int i = 0; i < l->n; i++) {
        nng_aio_stop(l->w[i].aio);
        nng_aio_free(l->w[i].aio);
        bh__arena_fini(&l->w[i].arena);
        store_read_free(l->w[i].rtxn);
    }
    free(l->w);
    free(l);
}
