/* SPDX-License-Identifier: Apache-2.0 */
/* The nng side: one REP socket, many contexts, each with its own aio and
 * arena. A context's callback decodes the envelope, finds the method, and
 * either answers a read at once or hands a write to the writer thread and
 * returns: nng's callbacks never block.
 *
 * What one peer may hold. nng 1.5.2's rep0 reads one request at a time
 * from each connection (the next only once a context has taken it) and
 * hands them to contexts in turn, connection by connection, so a flood on
 * one connection waits its turn behind the others' requests. But an answer
 * goes out on its connection one at a time too: while one is being
 * written, the contexts answering the same connection wait in a queue,
 * with no deadline of nng's own. A peer that never reads its answers would
 * so keep every context waiting. Hence: each answer has a send deadline
 * (missed, the connection is closed, which gives back its waiting
 * contexts); a connection may have max_inflight_per_conn calls unanswered,
 * past which its calls are refused, or, if it is not taking its answers,
 * dropped unanswered; connections are capped and closed when idle; and
 * the bytes of requests and answers held by contexts are capped.
 *
 * A connection is closed here only once its answers have stood still for
 * the send deadline, or it has been idle, never the moment its answers
 * back up: closing a pipe during a partial write can hang nng 1.5.2 (see
 * BH_NNG_PIPE_CLOSE_LOSES_SEND in proto/compat/nng_compat.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>

#include "audit.h"
#include "clock.h"
#include "dispatch.h"
#include "feed.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "nng_compat.h"
#include "nng_tls.h"
#include "ratelimit.h"
#include "request.h"
#include "util.h"

/* The transport's hard limit is max_request plus this much: requests in
 * between get a clear RESOURCE_EXHAUSTED, larger ones make nng drop the
 * connection (so no connection can make the server hold more than this). */
#define RECV_SLACK (1u << 20)
/* Descriptors kept for LMDB, logs and nng's own when the connection cap is
 * derived from the fd limit, and the most connections it derives. */
#define FD_HEADROOM        64
#define CONN_DEFAULT_MAX   1024
#define INFLIGHT_BYTES_DEF ((size_t)64 << 20)
/* A cap that acts says so at most this often. */
#define NOTE_EVERY_MS 10000
/* Buckets kept per rate limiter (ratelimit.h): identities, anonymous peers. */
#define RL_KEYS_MAX 65536
/* How often denied calls' audit lines are flushed without a write. */
#define AUDIT_IDLE_FLUSH_MS 1000
/* Object ids an audit line names at most. */
#define AUDIT_IDS_MAX 8
/* A peer address as a rate limit key and an audit field. */
#define PEER_MAX 64

/* An open connection (nng pipe), in an open-addressing table keyed by the
 * pipe id. */
typedef struct srv_conn {
    uint32_t id;       /* 0 = free slot: nng pipe ids are never 0 */
    int inflight;      /* requests taken by a context, not yet answered */
    int sending;       /* of those, answers the connection has not taken */
    int64_t active_ms; /* last request or answer, srv_mono_ms() */
} srv_conn;

typedef struct srv_worker {
    srv_listener *l;
    nng_ctx ctx;
    nng_aio *aio;
    int sending;
    nng_pipe pipe;    /* the connection of the request in hand */
    int counted;      /* counted in its srv_conn's inflight */
    int conn_sending; /* counted in its srv_conn's sending */
    size_t held;      /* bytes counted in the listener's inflight_bytes */
    uint64_t request_id;
    int64_t recv_us; /* when the request was taken, monotonic microseconds */
    int limited;     /* refused by a rate limit (audited as a denial) */
    store_txn *rtxn; /* this context's read transaction, reused */
    bh__arena arena;
    srv_call call;
    srv_wslot wslot; /* the call's place in the writer's queue */
    /* A read that waits for a commit (SRV_STATUS_PARK: ListChanges): a
     * sleep on park_aio that a commit cancels (feed.h). */
    nng_aio *park_aio;
    srv_feed_waiter waiter;
} srv_worker;

struct srv_listener {
    nng_socket sock;
    srv_worker *w;
    int n;
    store *st;
    srv_writer *wr;
    const srv_env *env; /* env_own, for reads */
    srv_env env_own;    /* the writer's, with draining pointing at ours */
    const srv_config *cfg;
    atomic_int draining; /* stopping: new calls are refused */
    atomic_int closing;  /* closing: callbacks start nothing more */
    char urls[8][320];   /* the listen URLs, with the ports they got */
    nng_listener lst[8]; /* one per URL, in cfg->listen's order */

    /* TLS of the tls+tcp:// listeners; reloads are serialised by tls_mtx.
     * tls_prev is held one reload longer (BH_NNG_TLS_CONFIG_SWAP_RACE). */
    pthread_mutex_t tls_mtx;
    int tls_mtx_ok;
    nng_tls_config *tls, *tls_prev;

    pthread_mutex_t conn_mtx; /* guards conns and n_conns */
    int conn_mtx_ok;
    srv_conn *conns;
    size_t conn_slots; /* a power of two, at least twice max_conns */
    int n_conns, max_conns, per_conn;
    atomic_size_t inflight_bytes;
    size_t max_bytes;
    nng_aio *idle_aio;
    uint32_t *idle_ids; /* max_conns of them, for idle_cb alone */
    srv_log_every_state note_conns, note_per_conn, note_bytes, note_send, note_idle, note_rl;

    srv_rl *rl_ident, *rl_anon; /* --rate-limit, --anon-rate-limit; NULL = none */
    nng_aio *audit_aio;         /* flushes denied calls' audit lines when idle */

    /* Calls running on threads of their own (SRV_ALONE), counted so that
     * the drain waits for them: they use the store and the socket. */
    pthread_mutex_t alone_mtx;
    pthread_cond_t alone_cv;
    int alone_ok; /* the mutex and the condition are initialised */
    int alone_n;

    /* The listeners' watchdog (BH_NNG_HANDSHAKE_DROP_STOPS_LISTENER): the
     * connections each listener has handed to the socket (pipe_cb counts),
     * and the thread that checks they still come. */
    atomic_uint_fast64_t attached[8];
    atomic_int lst_id[8]; /* lst[i]'s id, for pipe_cb (relisten changes lst[i]) */
    pthread_t watch;
    pthread_mutex_t watch_mtx;
    pthread_cond_t watch_cv;
    int watch_on;
    atomic_int watch_stop;
};

/* A cap that acts: said at most once every NOTE_EVERY_MS. */
#define note(st, ...) srv_log_every(SRV_LOG_WARN, (st), NOTE_EVERY_MS, __VA_ARGS__)

/* The pipe of an nng pipe id. */
static nng_pipe
pipe_of(uint32_t id)
{
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = id;
    return p;
}

/* ---- the connection table, under conn_mtx ---- */

static size_t
conn_home(const srv_listener *l, uint32_t id)
{
    return (size_t)(id * 2654435761u) & (l->conn_slots - 1);
}

static srv_conn *
conn_find(srv_listener *l, uint32_t id)
{
    for (size_t i = conn_home(l, id);; i = (i + 1) & (l->conn_slots - 1)) {
        if (l->conns[i].id == id)
            return &l->conns[i];
        if (l->conns[i].id == 0)
            return NULL;
    }
}

static void
conn_add(srv_listener *l, uint32_t id, int64_t now)
{
    size_t i = conn_home(l, id);
    while (l->conns[i].id != 0)
        i = (i + 1) & (l->conn_slots - 1);
    l->conns[i] = (srv_conn){ .id = id, .active_ms = now };
    l->n_conns++;
}

/* Linear probing's deletion: the entries after the hole that could live in
 * it move back, so that no search stops early at the hole. */
static void
conn_del(srv_listener *l, srv_conn *c)
{
    size_t mask = l->conn_slots - 1, hole = (size_t)(c - l->conns);
    for (size_t j = (hole + 1) & mask; l->conns[j].id != 0; j = (j + 1) & mask) {
        size_t home = conn_home(l, l->conns[j].id);
        /* j's entry may move to the hole unless its home is in (hole, j]. */
        int stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            l->conns[hole] = l->conns[j];
            hole = j;
        }
    }
    l->conns[hole].id = 0;
    l->n_conns--;
}

/* Runs on nng's threads as connections come and go: a connection over the
 * cap is closed before it is read from. */
static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    srv_listener *l = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    int64_t now = srv_mono_ms();
    int full = 0, open;
    pthread_mutex_lock(&l->conn_mtx);
    int delta = 0;
    if (ev == NNG_PIPE_EV_ADD_PRE) {
        int lid = nng_listener_id(nng_pipe_listener(p));
        for (int i = 0; lid > 0 && i < l->cfg->n_listen && i < 8; i++)
            if (atomic_load(&l->lst_id[i]) == lid)
                atomic_fetch_add(&l->attached[i], 1);
        full = l->n_conns >= l->max_conns;
        if (!full) {
            conn_add(l, id, now);
            delta = 1;
        }
    } else {
        srv_conn *c = conn_find(l, id);
        if (c != NULL) {
            conn_del(l, c);
            delta = -1;
        }
    }
    open = l->n_conns;
    pthread_mutex_unlock(&l->conn_mtx);
    if (delta != 0)
        srv_metrics_connections_add(delta);
    if (full) {
        nng_pipe_close(p);
        note(&l->note_conns, "refused a connection: %d are open, the limit (--max-connections %d)",
             open, l->max_conns);
    }
}

enum { ADMIT_OK, ADMIT_DROP, ADMIT_CONN_FULL, ADMIT_BYTES_FULL };

/* Counts a request of len bytes just taken by w against its connection and
 * the bytes in flight, and says what to do with it. */
static int
admit(srv_worker *w, size_t len)
{
    srv_listener *l = w->l;
    int64_t now = srv_mono_ms();
    int verdict = ADMIT_OK;
    pthread_mutex_lock(&l->conn_mtx);
    srv_conn *c = conn_find(l, (uint32_t)nng_pipe_id(w->pipe));
    if (c != NULL) {
        c->active_ms = now;
        if (c->inflight >= l->per_conn && c->sending > 0) {
            /* Over its limit and not taking its answers: refusing would
             * only queue one more answer and hold one more context. */
            verdict = ADMIT_DROP;
        } else {
            if (c->inflight >= l->per_conn)
                verdict = ADMIT_CONN_FULL;
            c->inflight++;
            w->counted = 1;
        }
    }
    pthread_mutex_unlock(&l->conn_mtx);
    if (verdict != ADMIT_OK)
        return verdict;
    size_t before = atomic_fetch_add(&l->inflight_bytes, len);
    if (before > 0 && before + len > l->max_bytes) {
        atomic_fetch_sub(&l->inflight_bytes, len);
        return ADMIT_BYTES_FULL;
    }
    w->held = len;
    return ADMIT_OK;
}

/* The answer of w is about to be sent (n bytes): counted as held. */
static void
admit_answer(srv_worker *w, size_t n)
{
    srv_listener *l = w->l;
    if (w->counted) {
        pthread_mutex_lock(&l->conn_mtx);
        srv_conn *c = conn_find(l, (uint32_t)nng_pipe_id(w->pipe));
        if (c != NULL) {
            c->sending++;
            w->conn_sending = 1;
        }
        pthread_mutex_unlock(&l->conn_mtx);
    }
    atomic_fetch_add(&l->inflight_bytes, n);
    w->held += n;
}

/* The call of w is over (answered, or its answer dropped). */
static void
release(srv_worker *w)
{
    srv_listener *l = w->l;
    if (w->counted) {
        int64_t now = srv_mono_ms();
        pthread_mutex_lock(&l->conn_mtx);
        srv_conn *c = conn_find(l, (uint32_t)nng_pipe_id(w->pipe));
        if (c != NULL) {
            c->inflight--;
            c->sending -= w->conn_sending;
            c->active_ms = now;
        }
        pthread_mutex_unlock(&l->conn_mtx);
    }
    atomic_fetch_sub(&l->inflight_bytes, w->held);
    w->counted = w->conn_sending = 0;
    w->held = 0;
}

/* ---- what each call leaves behind: limits, metrics, logs, audit ---- */

/* The peer's address without its port ("10.0.0.7", "[::1]"): a caller
 * opening many connections is still one; every ipc:// peer is "ipc". */
static void
peer_name(nng_pipe p, char *out, size_t len)
{
    nng_sockaddr sa;
    char ip[INET6_ADDRSTRLEN];
    if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0) {
        snprintf(out, len, "unknown");
        return;
    }
    switch (sa.s_family) {
    case NNG_AF_INET:
        inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof(ip));
        snprintf(out, len, "%s", ip);
        return;
    case NNG_AF_INET6:
        inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof(ip));
        snprintf(out, len, "[%s]", ip);
        return;
    case NNG_AF_IPC: snprintf(out, len, "ipc"); return;
    default: snprintf(out, len, "other"); return;
    }
}

/* Takes a token for w's call, authenticated or not, from its identity's
 * bucket, or its peer's when it has no name (anonymous, a refused token,
 * open mode). Refused: RESOURCE_EXHAUSTED saying when to retry; 0 if it
 * may go on. */
static int
rate_limited(srv_worker *w)
{
    srv_listener *l = w->l;
    srv_call *c = &w->call;
    const srv_identity *id = &c->identity;
    const char *key = id->scope[0] != 0 ? id->scope : id->name;
    srv_rl *rl = l->rl_ident;
    double per_s = l->cfg->rate_limit;
    char peer[PEER_MAX + 5] = "peer ";
    const char *who = id->name[0] != 0 ? id->name : key;
    int64_t retry_ms = 0;

    if (key[0] == 0) {
        if (l->rl_anon == NULL)
            return 0;
        peer_name(w->pipe, peer + 5, sizeof(peer) - 5);
        key = peer + 5;
        who = peer;
        rl = l->rl_anon;
        per_s = l->cfg->anon_rate_limit;
    } else if (rl == NULL) {
        return 0;
    }
    if (srv_rl_take(rl, key, strlen(key), srv_mono_ms(), &retry_ms))
        return 0;
    srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
             "rate limit of %g/s for %s exceeded; retry in %lld ms; nothing was done", per_s, who,
             (long long)retry_ms);
    note(&l->note_rl, "refused calls over a rate limit (%g/s for %s)", per_s, who);
    w->limited = 1;
    return -1;
}

/* The objects a call named or made, for its audit line: the request's
 * uint64 fields "id" and "*_id", and on OK each message of the answer with
 * its "id" (named "<field>_id": reservation.id is reservation_id) and its
 * own "*_id" fields. Top level and one down only: cheap and generic. */
typedef struct audit_ids {
    srv_audit_id v[AUDIT_IDS_MAX];
    char names[AUDIT_IDS_MAX][64];
    size_t n;
} audit_ids;

static void
ids_add(audit_ids *a, const char *prefix, const char *field, uint64_t v)
{
    char name[64];
    if (prefix != NULL && strcmp(field, "id") == 0)
        snprintf(name, sizeof(name), "%s_id", prefix);
    else
        snprintf(name, sizeof(name), "%s", field);
    for (size_t k = 0; k < a->n; k++)
        if (strcmp(a->names[k], name) == 0)
            return;
    if (a->n == AUDIT_IDS_MAX)
        return;
    memcpy(a->names[a->n], name, sizeof(name));
    a->v[a->n] = (srv_audit_id){ .name = a->names[a->n], .num = v };
    a->n++;
}

static void
ids_of(audit_ids *a, const ProtobufCMessage *m, const char *prefix)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *at = (const char *)m + f->offset;
        size_t len = strlen(f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && prefix == NULL) {
            const ProtobufCMessage *sub;
            memcpy(&sub, at, sizeof(sub));
            if (sub != NULL)
                ids_of(a, sub, f->name);
        } else if (f->type == PROTOBUF_C_TYPE_UINT64 &&
                   (strcmp(f->name, "id") == 0 ||
                    (len > 3 && strcmp(f->name + len - 3, "_id") == 0))) {
            uint64_t v;
            memcpy(&v, at, sizeof(v));
            if (v != 0)
                ids_add(a, prefix, f->name, v);
        }
    }
}

/* An audit line for w's call if it wrote, or was denied: refused
 * credentials, a role not allowed, or a rate limit. Called once its answer
 * is final, before it is sent; a write's is added after its commit, and
 * the writer flushes the log after each commit. */
static void
audit_call(srv_worker *w)
{
    const srv_call *c = &w->call;
    int denied = c->code == BILHETERIA__V1__STATUS_CODE__UNAUTHENTICATED ||
                 c->code == BILHETERIA__V1__STATUS_CODE__PERMISSION_DENIED || w->limited;
    char peer[PEER_MAX];
    audit_ids ids;

    if (!denied && (c->m == NULL || c->m->kind != SRV_WRITE))
        return;
    ids.n = 0;
    if (c->req != NULL)
        ids_of(&ids, c->req, NULL);
    if (c->code == 0 && c->resp != NULL)
        ids_of(&ids, c->resp, NULL);
    if (denied)
        peer_name(w->pipe, peer, sizeof(peer));
    const srv_identity *id = &c->identity;
    srv_audit_rec r = {
        .identity = id->name[0] != 0 ? id->name : NULL,
        .role = id->role != SRV_ROLE_ANONYMOUS ? srv_role_name(id->role) : NULL,
        .peer = denied ? peer : NULL,
        .method = c->m != NULL ? c->m->name : NULL,
        .request_id = w->request_id,
        .code = c->code,
        .trace_id = c->trace_id,
        .ids = ids.v,
        .n_ids = ids.n,
    };
    srv_audit_add(w->l->cfg->audit, &r);
}

/* Everything a call leaves behind once its answer is final, just before it
 * goes to nng: its metrics, its access (and slow) line, its audit line. */
static void
call_done(srv_worker *w)
{
    const srv_call *c = &w->call;
    int64_t us = srv_mono_us() - w->recv_us;
    if (us < 0)
        us = 0;
    srv_metrics_request(c->m != NULL ? c->m->id : SRV_METRICS_METHOD_UNKNOWN, c->code, us);
    srv_access_rec r = {
        .method = c->m != NULL ? c->m->name : "",
        .code = c->code,
        .duration_us = (uint64_t)us,
        .request_id = w->request_id,
        .identity = c->identity.name,
        .trace_id = c->trace_id,
        .replayed = c->replayed,
    };
    srv_log_call_done(&r);
    if (w->l->cfg->audit != NULL)
        audit_call(w);
}

/* Every AUDIT_IDLE_FLUSH_MS: denied calls' lines do not wait for a write. */
static void
audit_idle_cb(void *arg)
{
    srv_listener *l = arg;
    if (nng_aio_result(l->audit_aio) != 0 || atomic_load(&l->closing))
        return;
    srv_audit_flush(l->cfg->audit);
    nng_sleep_aio(AUDIT_IDLE_FLUSH_MS, l->audit_aio);
}

static void
start_recv(srv_worker *w)
{
    w->sending = 0;
    nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
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
    call_done(w);
    size_t n = bilheteria__v1__response_envelope__get_packed_size(&env);
    if (nng_msg_alloc(&msg, n) != 0) {
        /* Nothing to send: the caller times out. Take the next request. */
        release(w);
        start_recv(w);
        return;
    }
    bilheteria__v1__response_envelope__pack(&env, nng_msg_body(msg));
    admit_answer(w, n);
    nng_aio_set_msg(w->aio, msg);
    w->sending = 1;
    const srv_config *cfg = w->l->cfg;
    nng_aio_set_timeout(w->aio,
                        cfg->send_timeout_ms > 0 ? cfg->send_timeout_ms : NNG_DURATION_INFINITE);
    nng_ctx_send(w->ctx, w->aio);
}

/* Answers the request msg RESOURCE_EXHAUSTED without decoding it. */
static void
refuse(srv_worker *w, nng_msg *msg, const char *why)
{
    srv_call *c = &w->call;
    bh__arena_reset(&w->arena);
    srv_call_init(c, &w->arena, w->l->cfg, w->l->env);
    w->request_id = srv_request_peek_id(nng_msg_body(msg), nng_msg_len(msg));
    nng_msg_free(msg);
    srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "%s; nothing was done", why);
    reply(w);
}

/* The thread of an SRV_ALONE call: runs it, answers, and is gone. */
static void *
alone_main(void *arg)
{
    srv_worker *w = arg;
    srv_listener *l = w->l;
    srv_call *c = &w->call;
    c->now_ms = srv_now_ms();
    if (c->deadline_ms != 0 && srv_mono_ms() > c->deadline_ms)
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__DEADLINE_EXCEEDED,
                 "deadline passed before the call started; nothing was done");
    else
        c->code = c->m->impl->alone(c, l->st);
    reply(w); /* w is nng's again from here */
    pthread_mutex_lock(&l->alone_mtx);
    if (--l->alone_n == 0)
        pthread_cond_broadcast(&l->alone_cv);
    pthread_mutex_unlock(&l->alone_mtx);
    return NULL;
}

/* Starts w's call on a thread of its own: it may take minutes, and nng's
 * callbacks must never block. The answer comes from that thread, as a
 * write's comes from the writer's. */
static void
run_alone(srv_worker *w)
{
    srv_listener *l = w->l;
    pthread_attr_t attr;
    pthread_t t;
    int rv = EAGAIN;
    pthread_mutex_lock(&l->alone_mtx);
    if (!atomic_load(&l->draining) && pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        l->alone_n++;
        if ((rv = pthread_create(&t, &attr, alone_main, w)) != 0)
            l->alone_n--;
        pthread_attr_destroy(&attr);
    }
    pthread_mutex_unlock(&l->alone_mtx);
    if (rv == 0)
        return;
    if (atomic_load(&l->draining))
        srv_fail(&w->call, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                 "the server is stopping; nothing was done");
    else
        srv_fail(&w->call, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
                 "cannot start a thread for %s: %s; nothing was done", w->call.m->name,
                 strerror(rv));
    reply(w);
}

/* Runs a parked read again, now that a commit went past its cursor or
 * its wait is over, and answers it. On one of nng's threads. */
static void
park_cb(void *arg)
{
    srv_worker *w = arg;
    srv_call *c = &w->call;
    srv_feed_unwait(&w->waiter);
    if (atomic_load(&w->l->closing))
        return; /* the socket is closing: its caller times out */
    c->resumed = 1;
    srv_dispatch_read(c, w->rtxn);
    reply(w);
}

/* A read asked to wait (SRV_STATUS_PARK): it waits on its worker's
 * park_aio, holding no thread, or runs again at once if it cannot wait. */
static void
park(srv_worker *w)
{
    srv_call *c = &w->call;
    if (srv_feed_wait(&w->waiter, w->park_aio, c->park_after, c->park_ms))
        return;
    c->resumed = 1;
    srv_dispatch_read(c, w->rtxn);
    reply(w);
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
    /* After authentication (a refused token counts against its peer) and
     * the payload's decode, before any handler or the writer. */
    if ((kind != SRV_DECODED_ANSWER || c->code == BILHETERIA__V1__STATUS_CODE__UNAUTHENTICATED) &&
        rate_limited(w) != 0)
        kind = SRV_DECODED_ANSWER;
    /* Health.Check still answers while draining: NOT_SERVING, so that a
     * load balancer stops sending calls here. */
    if (kind != SRV_DECODED_ANSWER && atomic_load(&l->draining) &&
        strcmp(c->m->name, BH_METHOD_NAME_HEALTH_CHECK) != 0) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                 "the server is stopping; nothing was done");
        kind = SRV_DECODED_ANSWER;
    }
    if (kind == SRV_DECODED_WRITE) {
        srv_writer_submit(l->wr, &w->wslot, c, reply, w);
        return;
    }
    if (kind == SRV_DECODED_READ && c->m->kind == SRV_ALONE) {
        run_alone(w);
        return;
    }
    if (kind == SRV_DECODED_READ)
        srv_dispatch_read(c, w->rtxn);
    if (kind == SRV_DECODED_READ && c->code == SRV_STATUS_PARK) {
        park(w);
        return;
    }
    reply(w);
}

/* A request just taken: served, refused, or its connection closed. */
static void
take(srv_worker *w, nng_msg *msg)
{
    srv_listener *l = w->l;
    char why[200];
    w->recv_us = srv_mono_us();
    w->limited = 0;
    w->pipe = nng_msg_get_pipe(msg);
    switch (admit(w, nng_msg_len(msg))) {
    case ADMIT_OK: handle(w, msg); return;
    case ADMIT_DROP:
        /* No answer: it would wait behind the others this connection does
         * not read. Its queued answers time out and close it. */
        nng_msg_free(msg);
        note(&l->note_per_conn,
             "dropped calls of a connection with %d unanswered that is not reading its "
             "answers (--max-inflight-per-conn)",
             l->per_conn);
        start_recv(w);
        return;
    case ADMIT_CONN_FULL:
        snprintf(why, sizeof(why),
                 "this connection has %d calls in flight, the server's limit per connection "
                 "(--max-inflight-per-conn); wait for answers or open another connection",
                 l->per_conn);
        note(&l->note_per_conn,
             "refused calls of a connection with %d in flight (--max-inflight-per-conn)",
             l->per_conn);
        refuse(w, msg, why);
        return;
    default:
        snprintf(why, sizeof(why),
                 "the server holds %zu MiB of calls in flight, its limit (--max-inflight-mb); "
                 "retry later",
                 l->max_bytes >> 20);
        note(&l->note_bytes, "refused calls: %zu MiB in flight (--max-inflight-mb %zu)",
             atomic_load(&l->inflight_bytes) >> 20, l->max_bytes >> 20);
        refuse(w, msg, why);
        return;
    }
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
        release(w);
        if (rv != 0)
            nng_msg_free(msg);
        if (rv == NNG_ECLOSED)
            return;
        if (rv == NNG_ETIMEDOUT) {
            /* Closing it gives back the contexts waiting to answer it. */
            nng_pipe_close(w->pipe);
            note(&w->l->note_send,
                 "closed a connection that took no answer for %d s (--send-timeout-s)",
                 w->l->cfg->send_timeout_ms / 1000);
        }
        start_recv(w);
        return;
    }
    if (rv != 0) {
        if (rv != NNG_ECLOSED)
            start_recv(w);
        return;
    }
    take(w, msg);
}

/* Every idle_period: closes the connections with nothing in flight that
 * have been silent for idle_timeout_ms. */
static int
idle_period(const srv_config *cfg)
{
    int p = cfg->idle_timeout_ms / 4;
    return p < 50 ? 50 : p > 5000 ? 5000 : p;
}

static void
idle_cb(void *arg)
{
    srv_listener *l = arg;
    if (nng_aio_result(l->idle_aio) != 0 || atomic_load(&l->closing))
        return;
    int64_t now = srv_mono_ms();
    int n = 0;
    pthread_mutex_lock(&l->conn_mtx);
    for (size_t i = 0; i < l->conn_slots && n < l->max_conns; i++) {
        srv_conn *c = &l->conns[i];
        if (c->id != 0 && c->inflight == 0 && now - c->active_ms >= l->cfg->idle_timeout_ms)
            l->idle_ids[n++] = c->id;
    }
    pthread_mutex_unlock(&l->conn_mtx);
    for (int i = 0; i < n; i++)
        nng_pipe_close(pipe_of(l->idle_ids[i]));
    if (n > 0)
        note(&l->note_idle, "closed %d connections idle for %d s (--idle-timeout-s)", n,
             l->cfg->idle_timeout_ms / 1000);
    nng_sleep_aio(idle_period(l->cfg), l->idle_aio);
}

/* The connection cap: as configured, or the fd limit less FD_HEADROOM, at
 * most CONN_DEFAULT_MAX. */
static int
conn_cap(const srv_config *cfg)
{
    struct rlimit rl;
    long long n = CONN_DEFAULT_MAX + FD_HEADROOM;
    if (cfg->max_connections > 0)
        return cfg->max_connections;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)n)
        n = (long long)rl.rlim_cur;
    n -= FD_HEADROOM;
    return n < 1 ? 1 : (int)n;
}

/* Sets up the connection table and the caps. 0, or -1 out of memory. */
static int
limits_init(srv_listener *l, const srv_config *cfg)
{
    l->max_conns = conn_cap(cfg);
    l->per_conn = cfg->max_inflight_per_conn > 0 ? cfg->max_inflight_per_conn
                  : cfg->workers > 1             ? cfg->workers / 2
                                                 : 1;
    l->max_bytes = cfg->max_inflight_bytes > 0 ? cfg->max_inflight_bytes : INFLIGHT_BYTES_DEF;
    for (l->conn_slots = 16; l->conn_slots < 2 * (size_t)l->max_conns; l->conn_slots *= 2)
        ;
    l->conns = calloc(l->conn_slots, sizeof(srv_conn));
    l->idle_ids = calloc((size_t)l->max_conns, sizeof(uint32_t));
    if (l->conns == NULL || l->idle_ids == NULL || pthread_mutex_init(&l->conn_mtx, NULL) != 0)
        return -1;
    l->conn_mtx_ok = 1;
    return 0;
}

/* The URL a client dials: a TCP port 0 replaced by the port it got. */
static void
bound_url(char *out, size_t len, const char *url, nng_listener lst)
{
    int port = 0;
    const char *colon = strrchr(url, ':');
    if ((strncmp(url, "tcp", 3) == 0 || strncmp(url, "tls+tcp", 7) == 0) && colon != NULL &&
        strcmp(colon, ":0") == 0 && nng_listener_get_int(lst, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
        snprintf(out, len, "%.*s:%d", (int)(colon - url), url, port);
    else
        snprintf(out, len, "%s", url);
}

/* A configuration from the --tls-* files of cfg. 0, or -1 with err set. */
static int
tls_build(const srv_config *cfg, nng_tls_config **out, char *err, size_t errlen)
{
    const bh_tls_files f = {
        .ca_file = cfg->tls_client_ca,
        .cert_file = cfg->tls_cert,
        .key_file = cfg->tls_key,
        .ca_what = "--tls-client-ca",
        .cert_what = "--tls-cert",
        .key_what = "--tls-key",
    };
    return bh_tls_config_new(out, NNG_TLS_MODE_SERVER, &f, err, errlen) == 0 ? 0 : -1;
}

/* ---- the listeners' watchdog ----
 *
 * nng 1.5.2 stops a listener from handing connections to the socket for
 * good when one closes in the middle of its handshake
 * (BH_NNG_HANDSHAKE_DROP_STOPS_LISTENER, nng #1518): it still accepts and
 * completes handshakes, so the server would sit deaf to every new
 * connection while the old ones go on. Every WATCH_EVERY_MS a thread
 * connects to each ipc:// and tcp:// listener and completes a REQ peer's
 * handshake by hand, then hangs up (after the handshake: an ordinary
 * disconnect); a listener that answered the handshake but did not hand
 * that connection to the socket (pipe_cb counts what it hands over) within
 * WATCH_ATTACH_MS, WATCH_MISSES times in a row, is closed and opened again on its
 * address. tls+tcp:// listeners are not probed (that would need a TLS
 * handshake). */
#define WATCH_EVERY_MS  1000
#define WATCH_ATTACH_MS 2000
#define WATCH_MISSES    3
/* How long a probe waits for the listener's half of the handshake. It
 * hangs up only after that half (or at the server's stop): hanging up in
 * the middle of a handshake is what stops the listener. */
#define WATCH_HANDSHAKE_MS 30000

/* A socket connected to url's address: ipc:// path, or tcp:// host:port
 * with a wildcard host as loopback. -1 if it cannot connect, -2 if url is
 * not one to probe. */
static int
probe_connect(const char *url)
{
    int fd;
    if (strncmp(url, "ipc://", 6) == 0) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(url + 6);
        if (n >= sizeof(sa.sun_path))
            return -2;
        memcpy(sa.sun_path, url + 6, n + 1);
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
            connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
            close(fd);
            fd = -1;
        }
        return fd;
    }
    if (strncmp(url, "tcp://", 6) != 0)
        return -2;
    char host[256];
    const char *hp = url + 6, *colon = strrchr(hp, ':'), *h = host;
    if (colon == NULL || (size_t)(colon - hp) >= sizeof(host))
        return -2;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = 0;
    if (host[0] == '[') { /* [::1] */
        h = host + 1;
        host[strlen(host) - 1] = 0;
    }
    if (h[0] == 0 || strcmp(h, "*") == 0 || strcmp(h, "0.0.0.0") == 0)
        h = "127.0.0.1";
    else if (strcmp(h, "::") == 0)
        h = "::1";
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    if (getaddrinfo(h, colon + 1, &hints, &ai) != 0 || ai == NULL)
        return -2;
    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
        connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Probes listener i: 1 if it handed the probe's connection to the socket,
 * 0 if it completed the handshake but did not hand the connection over
 * within WATCH_ATTACH_MS after it (the bug's mark: a stopped listener
 * still completes handshakes), -1 if it tells nothing (no connection, a
 * handshake not completed in time, as on an overloaded machine, or not a
 * listener to probe). */
static int
probe(srv_listener *l, int i)
{
    static const uint8_t hdr[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 }; /* a REQ0 peer */
    uint64_t before = atomic_load(&l->attached[i]);
    uint8_t got[8];
    size_t n = 0;
    int fd = probe_connect(l->urls[i]);
    if (fd < 0)
        return -1;
    int64_t end = srv_mono_ms() + WATCH_HANDSHAKE_MS;
    /* Our header first: the listener has all of it before we hang up. */
    if (write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr)) {
        while (n < sizeof(got) && !atomic_load(&l->watch_stop)) {
            int64_t left = end - srv_mono_ms();
            struct pollfd p = { .fd = fd, .events = POLLIN };
            int pr = left <= 0 ? 0 : poll(&p, 1, left < 100 ? (int)left : 100);
            if (pr < 0 || left <= 0)
                break;
            if (pr == 0)
                continue;
            ssize_t k = read(fd, got + n, sizeof(got) - n);
            if (k <= 0)
                break;
            n += (size_t)k;
        }
    }
    int ok = n == sizeof(got) ? 0 : -1;
    for (end = srv_mono_ms() + WATCH_ATTACH_MS; ok == 0;) {
        if (atomic_load(&l->attached[i]) != before)
            ok = 1;
        else if (srv_mono_ms() >= end)
            break;
        else
            nng_msleep(10);
    }
    close(fd);
    return ok;
}

/* Creates and starts a listener of l's socket on url, with the transport's
 * hard size limit and, for tls+tcp://, l's TLS configuration. 0 or an nng
 * error. */
static int
open_listener(srv_listener *l, const char *url, nng_listener *out)
{
    nng_listener lst;
    int rv;
    if ((rv = nng_listener_create(&lst, l->sock, url)) != 0)
        return rv;
    if ((rv = nng_listener_set_size(lst, NNG_OPT_RECVMAXSZ, l->cfg->max_request + RECV_SLACK)) !=
            0 ||
        (bh_tls_url(url) && (rv = nng_listener_set_ptr(lst, NNG_OPT_TLS_CONFIG, l->tls)) != 0) ||
        (rv = nng_listener_start(lst, 0)) != 0) {
        nng_listener_close(lst);
        return rv;
    }
    *out = lst;
    return 0;
}

/* Closes listener i and opens it again on the same address. */
static void
relisten(srv_listener *l, int i)
{
    nng_listener lst;
    int rv;
    nng_listener_close(l->lst[i]);
    if ((rv = open_listener(l, l->urls[i], &lst)) != 0) {
        srv_log(SRV_LOG_ERROR,
                "the listener on %s stopped taking connections and could not be opened "
                "again: %s; restart the server",
                l->urls[i], nng_strerror(rv));
        return;
    }
    l->lst[i] = lst;
    atomic_store(&l->lst_id[i], nng_listener_id(lst));
    srv_log(SRV_LOG_WARN,
            "the listener on %s stopped taking connections (one closed in its handshake: "
            "nng 1.5.2, #1518); opened it again",
            l->urls[i]);
}

static void *
watch_main(void *arg)
{
    srv_listener *l = arg;
    int missed[8] = { 0 };
    pthread_setname_np(pthread_self(), "bh:listen-watch");
    pthread_mutex_lock(&l->watch_mtx);
    while (!atomic_load(&l->watch_stop)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += WATCH_EVERY_MS / 1000;
        pthread_cond_timedwait(&l->watch_cv, &l->watch_mtx, &ts);
        if (atomic_load(&l->watch_stop))
            break;
        pthread_mutex_unlock(&l->watch_mtx);
        for (int i = 0; i < l->cfg->n_listen && i < 8 && !atomic_load(&l->draining); i++) {
            int ok = probe(l, i);
            missed[i] = ok == 0 ? missed[i] + 1 : ok == 1 ? 0 : missed[i];
            if (missed[i] >= WATCH_MISSES) {
                relisten(l, i);
                missed[i] = 0;
            }
        }
        pthread_mutex_lock(&l->watch_mtx);
    }
    pthread_mutex_unlock(&l->watch_mtx);
    return NULL;
}

static void
watch_start(srv_listener *l)
{
    if (!BH_NNG_HANDSHAKE_DROP_STOPS_LISTENER)
        return;
    if (pthread_mutex_init(&l->watch_mtx, NULL) != 0)
        return;
    if (pthread_cond_init(&l->watch_cv, NULL) != 0 ||
        pthread_create(&l->watch, NULL, watch_main, l) != 0) {
        pthread_mutex_destroy(&l->watch_mtx);
        srv_log(SRV_LOG_WARN, "cannot start the listeners' watchdog: a connection closed in its "
                              "handshake could leave the server deaf to new ones (nng #1518)");
        return;
    }
    l->watch_on = 1;
}

static void
watch_stop(srv_listener *l)
{
    if (!l->watch_on)
        return;
    pthread_mutex_lock(&l->watch_mtx);
    atomic_store(&l->watch_stop, 1);
    pthread_cond_signal(&l->watch_cv);
    pthread_mutex_unlock(&l->watch_mtx);
    pthread_join(l->watch, NULL);
    pthread_cond_destroy(&l->watch_cv);
    pthread_mutex_destroy(&l->watch_mtx);
    l->watch_on = 0;
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
    l->env_own = *srv_writer_env(wr);
    l->env_own.draining = &l->draining;
    l->env = &l->env_own;
    if ((rv = nng_rep0_open(&l->sock)) != 0) {
        snprintf(err, errlen, "nng_rep0_open: %s", nng_strerror(rv));
        free(l);
        return -1;
    }
    size_t hard = cfg->max_request + RECV_SLACK;
    nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, hard);
    if (limits_init(l, cfg) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((rv = nng_pipe_notify(l->sock, NNG_PIPE_EV_ADD_PRE, pipe_cb, l)) != 0 ||
        (rv = nng_pipe_notify(l->sock, NNG_PIPE_EV_REM_POST, pipe_cb, l)) != 0 ||
        (rv = nng_aio_alloc(&l->idle_aio, idle_cb, l)) != 0 ||
        (rv = nng_aio_alloc(&l->audit_aio, audit_idle_cb, l)) != 0) {
        snprintf(err, errlen, "cannot set up the connection limits: %s", nng_strerror(rv));
        goto fail;
    }
    /* A limit that is off has no limiter at all: a call then pays nothing,
     * not even the peer's address (rate_limited). */
    if ((cfg->rate_limit > 0 &&
         (rv = srv_rl_open(&l->rl_ident, cfg->rate_limit, cfg->rate_burst, RL_KEYS_MAX)) != 0) ||
        (cfg->anon_rate_limit > 0 && (rv = srv_rl_open(&l->rl_anon, cfg->anon_rate_limit,
                                                       cfg->anon_rate_burst, RL_KEYS_MAX)) != 0)) {
        snprintf(err, errlen, "cannot set up the rate limits: %s", strerror(rv));
        goto fail;
    }
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
            (rv = nng_aio_alloc(&w->park_aio, park_cb, w)) != 0 ||
            (rv = nng_ctx_open(&w->ctx, l->sock)) != 0) {
            snprintf(err, errlen, "cannot set up context %d: %s", i,
                     rv ? nng_strerror(rv) : "out of memory");
            goto fail;
        }
        l->n = i + 1;
    }
    if (pthread_mutex_init(&l->tls_mtx, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    l->tls_mtx_ok = 1;
    if (pthread_mutex_init(&l->alone_mtx, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (pthread_cond_init(&l->alone_cv, NULL) != 0) {
        pthread_mutex_destroy(&l->alone_mtx);
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    l->alone_ok = 1;
    for (int i = 0; i < cfg->n_listen; i++)
        if (bh_tls_url(cfg->listen[i]) && l->tls == NULL && tls_build(cfg, &l->tls, err, errlen))
            goto fail;
    for (int i = 0; i < cfg->n_listen; i++) {
        nng_listener lst;
        if ((rv = open_listener(l, cfg->listen[i], &lst)) != 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen[i], nng_strerror(rv));
            goto fail;
        }
        l->lst[i] = lst;
        atomic_store(&l->lst_id[i], nng_listener_id(lst));
        bound_url(l->urls[i], sizeof(l->urls[i]), cfg->listen[i], lst);
    }
    /* Said once every listener has started: a later one may fail. */
    for (int i = 0; i < cfg->n_listen && !cfg->quiet; i++)
        srv_log(SRV_LOG_INFO, "listening on %s%s", l->urls[i],
                !bh_tls_url(cfg->listen[i]) ? ""
                : cfg->tls_client_ca != NULL
                    ? " (TLS; clients need a certificate signed by --tls-client-ca)"
                    : " (TLS)");
    if (!cfg->quiet)
        srv_log(SRV_LOG_INFO,
                "at most %d connections, %d calls in flight on each, "
                "%zu MiB in flight; answers wait %d s for their connection; idle connections "
                "close after %d s (0 = never)",
                l->max_conns, l->per_conn, l->max_bytes >> 20, cfg->send_timeout_ms / 1000,
                cfg->idle_timeout_ms / 1000);
    for (int i = 0; i < l->n; i++)
        start_recv(&l->w[i]);
    if (cfg->idle_timeout_ms > 0)
        nng_sleep_aio(idle_period(cfg), l->idle_aio);
    if (cfg->audit != NULL)
        nng_sleep_aio(AUDIT_IDLE_FLUSH_MS, l->audit_aio);
    watch_start(l);
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

int
srv_listener_reload_tls(srv_listener *l, char *err, size_t errlen)
{
    nng_tls_config *fresh = NULL;
    int rv = 0;

    if (l->tls == NULL)
        return 0;
    pthread_mutex_lock(&l->tls_mtx);
    if (tls_build(l->cfg, &fresh, err, errlen) != 0) {
        rv = -1;
        goto out;
    }
    for (int i = 0; i < l->cfg->n_listen; i++) {
        int r;
        if (!bh_tls_url(l->cfg->listen[i]))
            continue;
        if ((r = nng_listener_set_ptr(l->lst[i], NNG_OPT_TLS_CONFIG, fresh)) != 0) {
            /* Listeners set before this one keep the new files: both are
             * valid, and the next reload retries the rest. */
            snprintf(err, errlen, "cannot use the new certificates on %s: %s", l->urls[i],
                     nng_strerror(r));
            rv = -1;
        }
    }
#if BH_NNG_TLS_CONFIG_SWAP_RACE
    if (l->tls_prev != NULL)
        nng_tls_config_free(l->tls_prev); /* replaced a whole reload ago */
    l->tls_prev = l->tls;
#else
    nng_tls_config_free(l->tls);
#endif
    l->tls = fresh;
out:
    pthread_mutex_unlock(&l->tls_mtx);
    return rv;
}

int
srv_listener_peer_verified(uint32_t pipe_id)
{
    bool verified = false;
    if (nng_pipe_get_bool(pipe_of(pipe_id), NNG_OPT_TLS_VERIFIED, &verified) != 0)
        return 0;
    return verified ? 1 : 0;
}

int
srv_listener_peer_cn(uint32_t pipe_id, char *buf, size_t len)
{
#ifdef NNG_OPT_TLS_PEER_CN
    char *cn = NULL;
    int rv = -1;
    if (!srv_listener_peer_verified(pipe_id) ||
        nng_pipe_get_string(pipe_of(pipe_id), NNG_OPT_TLS_PEER_CN, &cn) != 0)
        return -1;
    if (strlen(cn) < len) {
        memcpy(buf, cn, strlen(cn) + 1);
        rv = 0;
    }
    nng_strfree(cn);
    return rv;
#else
    (void)pipe_id;
    (void)buf;
    (void)len;
    return -1;
#endif
}

void
srv_listener_drain(srv_listener *l)
{
    if (l == NULL)
        return;
    atomic_store(&l->draining, 1);
    srv_feed_wake_all(); /* parked reads answer with what there is */
    if (!l->alone_ok)
        return;
    /* run_alone starts no thread once draining is set (it looks under this
     * mutex): the count can only fall. */
    pthread_mutex_lock(&l->alone_mtx);
    if (l->alone_n > 0 && !l->cfg->quiet)
        srv_log(SRV_LOG_INFO,
                "waiting for %d call(s) running on their own thread (a backup) to end", l->alone_n);
    while (l->alone_n > 0)
        pthread_cond_wait(&l->alone_cv, &l->alone_mtx);
    pthread_mutex_unlock(&l->alone_mtx);
}

/* Stops every context's aio (nng_aio_stop waits for a running callback),
 * so that nothing of ours sends or receives any more. */
static void
stop_workers(void *arg)
{
    srv_listener *l = arg;
    if (l->idle_aio != NULL)
        nng_aio_stop(l->idle_aio);
    if (l->audit_aio != NULL)
        nng_aio_stop(l->audit_aio);
    for (int i = 0; i < l->n; i++) {
        nng_aio_stop(l->w[i].park_aio);
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
    watch_stop(l);
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
        if (l->w[i].park_aio != NULL) {
            nng_aio_stop(l->w[i].park_aio);
            nng_aio_free(l->w[i].park_aio);
        }
        bh__arena_fini(&l->w[i].arena);
        store_read_free(l->w[i].rtxn);
    }
    free(l->w);
    if (l->idle_aio != NULL)
        nng_aio_free(l->idle_aio);
    if (l->audit_aio != NULL)
        nng_aio_free(l->audit_aio);
    srv_rl_close(l->rl_ident);
    srv_rl_close(l->rl_anon);
    if (l->conn_mtx_ok)
        pthread_mutex_destroy(&l->conn_mtx);
    free(l->conns);
    free(l->idle_ids);
    if (l->tls_mtx_ok)
        pthread_mutex_destroy(&l->tls_mtx);
    if (l->alone_ok) {
        pthread_mutex_destroy(&l->alone_mtx);
        pthread_cond_destroy(&l->alone_cv);
    }
    if (l->tls != NULL)
        nng_tls_config_free(l->tls);
    if (l->tls_prev != NULL)
        nng_tls_config_free(l->tls_prev);
    free(l);
}
