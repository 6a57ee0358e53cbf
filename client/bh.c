/*
 * libbilheteria core: one nng REQ socket per client, one nng context per
 * call, and the RPC envelope around each call's payload.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "bilheteria/bilheteria.h"
#include "bilheteria/status.h"

#define BH_DEFAULT_URL         "tcp://127.0.0.1:7450"
#define BH_DEFAULT_TIMEOUT_MS  5000
#define BH_IDEMPOTENCY_KEY_MAX 255
/* Big enough for the largest seat map; anything larger drops the pipe. */
#define BH_RECV_MAX       (64u * 1024u * 1024u)
#define BH_LATE_ANSWER_MS 200
/* A call that finishes this close to its deadline does not give its nng
 * context and aio back to the pool: in nng 1.5.x the timer thread may
 * already be expiring the aio, and would then cancel the next call made
 * with it, with NNG_ETIMEDOUT, at once (seen as a spurious
 * DEADLINE_EXCEEDED after a run of 1 ms calls). */
#define BH_REUSE_MARGIN_MS 50
#define BH_RECONN_MIN_MS   20
#define BH_RECONN_MAX_MS   500
/* The longest bh_client_close waits for nng_close (which nng 1.5.2 can
 * hang in for good) and for the calls in flight to return. */
#define BH_CLOSE_WAIT_MS 2000

/* An nng context with its aio, kept for the next call: opening a context
 * per call costs a socket lock and an id-map insert on every call. */
struct bh__slot {
    struct bh__slot *next;
    struct bh__slot *bprev, *bnext; /* in the client's busy list */
    nng_ctx ctx;
    nng_aio *aio;
};

struct bh_client {
    nng_socket sock;
    char *url;        /* owned */
    char *auth_token; /* owned; NULL = anonymous */
    int32_t timeout_ms;
    uint64_t id_salt;

    atomic_uint_fast64_t seq;
    /* Pipes that got past ADD_PRE and have not been removed yet. */
    atomic_int pipes;
    /* nng_clock() of the last call that timed out while connected: its
     * answer may still be on the way (see bh_client_close). */
    atomic_uint_fast64_t last_timeout;

    /* bh_client_close waits for calls in flight before freeing. */
    pthread_mutex_t mtx;
    pthread_cond_t cv;
    int inflight;
    int closing;
    struct bh__slot *free_slots; /* under mtx */
    struct bh__slot *busy;       /* slots of calls in flight, under mtx */
};

#define BH__CODE_NAME(n, name) [n] = #name,
static const char *const bh_code_names[] = { BH_STATUS_MAP(BH__CODE_NAME) };
#undef BH__CODE_NAME

/* The library's codes and the wire's are those of the one list. */
#define BH__SAME_CODE(n, name)                                                                     \
    _Static_assert(BH_##name == (n) && BILHETERIA__V1__STATUS_CODE__##name == (n),                 \
                   "BH_" #name " differs from status.h or rpc.proto");
BH_STATUS_MAP(BH__SAME_CODE)
#undef BH__SAME_CODE

const char *
bh_code_name(int code)
{
    if (code < 0 || (size_t)code >= sizeof(bh_code_names) / sizeof(bh_code_names[0]) ||
        bh_code_names[code] == NULL)
        return "UNKNOWN";
    return bh_code_names[code];
}

/* Fills *st (if any) and returns code, so callers can `rc = bh__fail(...)`. */
static int bh__fail(bh_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bh__fail(bh_status *st, int code, const char *fmt, ...)
{
    va_list ap;

    if (st == NULL)
        return code;
    st->code = code;
    st->replayed = 0;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof(st->message), fmt, ap);
    va_end(ap);
    return code;
}

static int
bh__oom(bh_status *st)
{
    return bh__fail(st, BH_RESOURCE_EXHAUSTED, "out of memory");
}

static void
bh__ok(bh_status *st, int replayed)
{
    if (st == NULL)
        return;
    st->code = BH_OK;
    st->replayed = replayed;
    st->message[0] = '\0';
}

static char *
bh__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/*
 * Runs on nng's threads. ADD_PRE and REM_POST pair up (nng only reports
 * REM_POST for pipes it reported ADD_PRE for), so the count stays exact.
 */
static void
bh__pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct bh_client *c = arg;

    (void)p;
    if (ev == NNG_PIPE_EV_ADD_PRE)
        atomic_fetch_add(&c->pipes, 1);
    else if (ev == NNG_PIPE_EV_REM_POST)
        atomic_fetch_sub(&c->pipes, 1);
}

int
bh_client_open(bh_client **out, const bh_options *opts, bh_status *st)
{
    struct bh_client *c = NULL;
    const char *url = BH_DEFAULT_URL;
    int32_t timeout_ms = BH_DEFAULT_TIMEOUT_MS;
    int sock_open = 0, sync_init = 0;
    int rc, rv;

    if (out == NULL) {
        rc = bh__fail(st, BH_INVALID_ARGUMENT, "bh_client_open: out is NULL");
        goto out;
    }
    if (opts != NULL && opts->url != NULL)
        url = opts->url;
    if (opts != NULL && opts->timeout_ms != 0)
        timeout_ms = opts->timeout_ms;
    if (timeout_ms < 0) {
        rc = bh__fail(st, BH_INVALID_ARGUMENT, "timeout_ms is %d; it must be > 0 (or 0 for %d ms)",
                      (int)timeout_ms, BH_DEFAULT_TIMEOUT_MS);
        goto out;
    }

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        rc = bh__oom(st);
        goto out;
    }
    c->timeout_ms = timeout_ms;
    atomic_init(&c->seq, 0);
    atomic_init(&c->pipes, 0);
    c->url = bh__strdup(url);
    if (c->url == NULL) {
        rc = bh__oom(st);
        goto out;
    }
    if (opts != NULL && opts->auth_token != NULL) {
        c->auth_token = bh__strdup(opts->auth_token);
        if (c->auth_token == NULL) {
            rc = bh__oom(st);
            goto out;
        }
    }
    if (pthread_mutex_init(&c->mtx, NULL) != 0) {
        rc = bh__oom(st);
        goto out;
    }
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mtx);
        rc = bh__oom(st);
        goto out;
    }
    sync_init = 1;

    /* Request ids: a random salt per client mixed with a call counter. */
    c->id_salt = ((uint64_t)nng_random() << 32) | nng_random();

    if ((rv = nng_req0_open(&c->sock)) != 0)
        goto nng_fail;
    sock_open = 1;

    /*
     * nng's REQ resends a request whose reply is late (60 s by default) and
     * re-sends it on a new connection when the old one drops. Either could
     * apply a mutating call twice. With an infinite resend time nng 1.5.2
     * never resends and fails the receive with NNG_ECONNRESET when the pipe
     * closes. Contexts copy this value when opened, so set it first.
     */
    if ((rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0 ||
        (rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, BH_RECV_MAX)) != 0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, BH_RECONN_MIN_MS)) != 0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, BH_RECONN_MAX_MS)) != 0)
        goto nng_fail;

    if ((rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_PRE, bh__pipe_cb, c)) != 0 ||
        (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, bh__pipe_cb, c)) != 0)
        goto nng_fail;

    /* Non-blocking: an absent server is retried in the background. */
    rv = nng_dial(c->sock, c->url, NULL, NNG_FLAG_NONBLOCK);
    if (rv == NNG_EADDRINVAL || rv == NNG_EINVAL || rv == NNG_ENOTSUP) {
        rc = bh__fail(st, BH_INVALID_ARGUMENT,
                      "bad server URL \"%s\": %s (expected e.g. "
                      "tcp://127.0.0.1:7450 or ipc:///path)",
                      url, nng_strerror(rv));
        goto out;
    }
    if (rv != 0)
        goto nng_fail;

    *out = c;
    c = NULL;
    bh__ok(st, 0);
    rc = BH_OK;
    goto out;

nng_fail:
    if (rv == NNG_ENOMEM)
        rc = bh__oom(st);
    else
        rc = bh__fail(st, BH_UNAVAILABLE, "cannot set up client for %s: %s", url, nng_strerror(rv));
out:
    if (c != NULL) {
        if (sock_open)
            nng_close(c->sock);
        if (sync_init) {
            pthread_cond_destroy(&c->cv);
            pthread_mutex_destroy(&c->mtx);
        }
        free(c->auth_token);
        free(c->url);
        free(c);
    }
    return rc;
}

/* The rest of a close, from nng_close on: on a thread of its own, so that
 * bh_client_close can stop waiting for it (see BH_CLOSE_WAIT_MS). The
 * last of the two to let go of k frees it. */
struct bh__closer {
    bh_client *c;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    int done, refs;
};

/* Lets go of k (with k->mu held, which it releases); the last one frees
 * it. A finished close signals and lets go in one step, so a caller that
 * saw it done is the last. */
static void
bh__closer_release(struct bh__closer *k)
{
    int last = --k->refs == 0;
    pthread_mutex_unlock(&k->mu);
    if (last) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
    }
}

static void
bh__close_rest(bh_client *c)
{
    /* The calls in flight end first, their operations aborted: closing the
     * socket under them frees their contexts, and nng 1.5.2's expire thread
     * may then run a context's cancel callback on freed memory (a client
     * hung so when closed amid 1-3 ms calls). A call between two
     * operations is not aborted; it ends by its deadline. */
    pthread_mutex_lock(&c->mtx);
    for (struct bh__slot *s = c->busy; s != NULL; s = s->bnext)
        nng_aio_abort(s->aio, NNG_ECLOSED);
    while (c->inflight > 0)
        pthread_cond_wait(&c->cv, &c->mtx);
    pthread_mutex_unlock(&c->mtx);
    nng_close(c->sock);

    for (struct bh__slot *s = c->free_slots, *next; s != NULL; s = next) {
        next = s->next;
        nng_aio_free(s->aio); /* its context closed with the socket */
        free(s);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mtx);
    free(c->auth_token);
    free(c->url);
    free(c);
}

static void *
bh__closer_main(void *arg)
{
    struct bh__closer *k = arg;
    bh__close_rest(k->c);
    pthread_mutex_lock(&k->mu);
    k->done = 1;
    pthread_cond_signal(&k->cv);
    bh__closer_release(k);
    return NULL;
}

void
bh_client_close(bh_client *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mtx);
    c->closing = 1;
    pthread_mutex_unlock(&c->mtx);

    /* nng 1.5.2 can deadlock in nng_close when an answer arrives on a pipe
     * while the socket closes (nng issues #1543, #1813). Answers to calls
     * that timed out may still be on their way: give them a moment to land
     * (and be dropped) first. Only after such a timeout, so a normal close
     * costs nothing. */
    uint64_t last = atomic_load(&c->last_timeout);
    if (last != 0) {
        nng_time now = nng_clock();
        if (now < last + BH_LATE_ANSWER_MS)
            nng_msleep((nng_duration)(last + BH_LATE_ANSWER_MS - now));
    }
    /* And should it deadlock all the same, the caller is not held for
     * good: the close goes on on a thread of its own, and after
     * BH_CLOSE_WAIT_MS the caller returns, leaving the client to that
     * thread (freed if nng ever returns, else leaked). */
    struct bh__closer *k = calloc(1, sizeof(*k));
    pthread_condattr_t ca;
    pthread_t th;
    if (k == NULL || pthread_condattr_init(&ca) != 0) {
        free(k);
        bh__close_rest(c);
        return;
    }
    k->c = c;
    k->refs = 2;
    pthread_mutex_init(&k->mu, NULL);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&th, NULL, bh__closer_main, k) != 0) {
        pthread_mutex_lock(&k->mu);
        k->refs = 1;
        bh__closer_release(k);
        bh__close_rest(c);
        return;
    }
    pthread_detach(th);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += BH_CLOSE_WAIT_MS / 1000;
    until.tv_nsec += (long)(BH_CLOSE_WAIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&k->mu);
    while (!k->done && pthread_cond_timedwait(&k->cv, &k->mu, &until) != ETIMEDOUT)
        ;
    bh__closer_release(k);
}

/* splitmix64's finalizer: a bijection, so distinct inputs stay distinct. */
static uint64_t
bh__mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static uint64_t
bh__next_id(struct bh_client *c)
{
    uint64_t id;

    do
        id = bh__mix(c->id_salt + atomic_fetch_add(&c->seq, 1));
    while (id == 0); /* 0 reads as "unset" in proto3 */
    return id;
}

/* Lets protobuf-c's unpack tell "out of memory" from "malformed". */
typedef struct bh__alloc_state {
    int oom;
} bh__alloc_state;

static void *
bh__pb_alloc(void *data, size_t size)
{
    void *p = malloc(size);

    if (p == NULL)
        ((bh__alloc_state *)data)->oom = 1;
    return p;
}

static void
bh__pb_free(void *data, void *p)
{
    (void)data;
    free(p);
}

/* ---- bh_arena ---- */

#define BH__ALIGN (_Alignof(max_align_t))
/* A call's envelope is unpacked on the stack when it fits (most answers
 * do), and a request packed there; larger ones go to the heap. */
#define BH__ENVELOPE_BUF 2048
#define BH__REQUEST_BUF  512
#define BH__BLOCK_FIRST  4096

struct bh__block {
    struct bh__block *next;
    size_t size, used;
    max_align_t data[];
};

static void *
bh__arena_alloc(void *data, size_t n)
{
    bh_arena *a = data;
    struct bh__block *b = a->blocks;
    unsigned char *p;

    if (n > SIZE_MAX / 4) {
        a->oom = 1;
        return NULL;
    }
    n = n == 0 ? BH__ALIGN : (n + BH__ALIGN - 1) & ~(BH__ALIGN - 1);
    if (a->size - a->used >= n) {
        p = a->buf + a->used;
        a->used += n;
        return p;
    }
    if (b == NULL || b->size - b->used < n) {
        size_t size = b != NULL && b->size <= SIZE_MAX / 4 ? b->size * 2 : BH__BLOCK_FIRST;
        struct bh__block *nb;

        if (size < n)
            size = n;
        if ((nb = malloc(sizeof(*nb) + size)) == NULL) {
            a->oom = 1;
            return NULL;
        }
        nb->size = size;
        nb->used = 0;
        nb->next = b;
        a->blocks = b = nb;
    }
    p = (unsigned char *)b->data + b->used;
    b->used += n;
    return p;
}

static void
bh__arena_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

void
bh_arena_init(bh_arena *a, void *buf, size_t size)
{
    uintptr_t start = (uintptr_t)buf, aligned;

    a->pc.alloc = bh__arena_alloc;
    a->pc.free = bh__arena_free;
    a->pc.allocator_data = a;
    a->buf = NULL;
    a->size = a->used = 0;
    a->blocks = NULL;
    a->oom = 0;
    if (buf == NULL)
        return;
    aligned = (start + BH__ALIGN - 1) & ~(uintptr_t)(BH__ALIGN - 1);
    if (aligned - start < size) {
        a->buf = (unsigned char *)aligned;
        a->size = size - (aligned - start);
    }
}

static void
bh__blocks_free(struct bh__block *b)
{
    struct bh__block *next;

    for (; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
}

void
bh_arena_reset(bh_arena *a)
{
    struct bh__block *keep = a->blocks;

    /* The newest block is the largest: keep it, free the others. */
    if (keep != NULL) {
        bh__blocks_free(keep->next);
        keep->next = NULL;
        keep->used = 0;
    }
    a->used = 0;
    a->oom = 0;
}

void
bh_arena_fini(bh_arena *a)
{
    if (a == NULL)
        return;
    bh__blocks_free(a->blocks);
    a->blocks = NULL;
    a->used = 0;
    a->oom = 0;
}

static int
bh__closing(struct bh_client *c)
{
    int closing;

    pthread_mutex_lock(&c->mtx);
    closing = c->closing;
    pthread_mutex_unlock(&c->mtx);
    return closing;
}

static int
bh__nng_err(bh_status *st, int rv, const char *what, const char *url)
{
    if (rv == NNG_ENOMEM)
        return bh__oom(st);
    if (rv == NNG_ECLOSED)
        return bh__fail(st, BH_CANCELLED, "client for %s was closed", url);
    return bh__fail(st, BH_UNAVAILABLE, "%s to %s failed: %s", what, url, nng_strerror(rv));
}

/* A context for one call: from the pool, or a new one. NULL on failure
 * (*rv says why). */
static struct bh__slot *
bh__slot_get(struct bh_client *c, int *rv)
{
    struct bh__slot *s;

    pthread_mutex_lock(&c->mtx);
    s = c->free_slots;
    if (s != NULL)
        c->free_slots = s->next;
    pthread_mutex_unlock(&c->mtx);
    if (s != NULL)
        return s;
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        *rv = NNG_ENOMEM;
        return NULL;
    }
    if ((*rv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0) {
        free(s);
        return NULL;
    }
    if ((*rv = nng_ctx_open(&s->ctx, c->sock)) != 0) {
        nng_aio_free(s->aio);
        free(s);
        return NULL;
    }
    return s;
}

/* The busy list: the slots whose calls bh_client_close must abort. Linking
 * fails (0) once the client is closing, so that no call starts after the
 * close has looked at the list. */
static int
bh__busy_link(struct bh_client *c, struct bh__slot *s)
{
    pthread_mutex_lock(&c->mtx);
    int ok = !c->closing;
    if (ok) {
        s->bprev = NULL;
        s->bnext = c->busy;
        if (c->busy != NULL)
            c->busy->bprev = s;
        c->busy = s;
    }
    pthread_mutex_unlock(&c->mtx);
    return ok;
}

static void
bh__busy_unlink(struct bh_client *c, struct bh__slot *s)
{
    pthread_mutex_lock(&c->mtx);
    if (s->bprev != NULL)
        s->bprev->bnext = s->bnext;
    else
        c->busy = s->bnext;
    if (s->bnext != NULL)
        s->bnext->bprev = s->bprev;
    s->bprev = s->bnext = NULL;
    pthread_mutex_unlock(&c->mtx);
}

/* Back to the pool after a clean exchange; closed after anything else, so
 * that no context with a request still pending is ever reused. */
static void
bh__slot_put(struct bh_client *c, struct bh__slot *s, int clean)
{
    if (s == NULL)
        return;
    if (clean) {
        pthread_mutex_lock(&c->mtx);
        s->next = c->free_slots;
        c->free_slots = s;
        pthread_mutex_unlock(&c->mtx);
        return;
    }
    /* The aio first: nng_aio_free waits for nng's expire thread to let go
     * of it, and that thread may be about to run the context's cancel
     * callback with the context as its argument (an answer that landed as
     * the deadline fired). nng_ctx_close frees the context: closed first,
     * that callback read freed memory (nng 1.5.2, req0_ctx_cancel_recv;
     * it crashed or hung within a second of 1-3 ms deadlines). */
    nng_aio_free(s->aio);
    nng_ctx_close(s->ctx);
    free(s);
}

/*
 * One REQ/REP exchange. On BH_OK, *env_out is the decoded response
 * envelope with status OK; caller frees with
 * nothing: the envelope lives in ea, which the caller finalises.
 */
static int
bh__exchange(struct bh_client *c, const char *method, const uint8_t *req, size_t len,
             const bh_call_opts *opts, bh_status *st, bh_arena *ea,
             Bilheteria__V1__ResponseEnvelope **env_out)
{
    Bilheteria__V1__RequestEnvelope env = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    Bilheteria__V1__ResponseEnvelope *rep = NULL;
    const char *key = NULL;
    int32_t timeout_ms = c->timeout_ms;
    struct bh__slot *slot = NULL;
    int clean = 0, linked = 0;
    nng_ctx ctx;
    nng_aio *aio = NULL;
    nng_msg *msg = NULL;
    nng_time start, now;
    nng_duration left;
    uint64_t id;
    int code, rc, rv;

    if (method == NULL || method[0] == '\0') {
        rc = bh__fail(st, BH_INVALID_ARGUMENT, "method name is empty");
        goto out;
    }
    if (req == NULL && len != 0) {
        rc = bh__fail(st, BH_INVALID_ARGUMENT, "request payload is NULL but len is %zu", len);
        goto out;
    }
    if (opts != NULL) {
        key = opts->idempotency_key;
        if (opts->timeout_ms < 0) {
            rc = bh__fail(st, BH_INVALID_ARGUMENT,
                          "timeout_ms is %d; it must be > 0 (or 0 for the "
                          "client's %d ms)",
                          (int)opts->timeout_ms, (int)c->timeout_ms);
            goto out;
        }
        if (opts->timeout_ms > 0)
            timeout_ms = opts->timeout_ms;
    }
    if (key != NULL) {
        size_t klen = strnlen(key, BH_IDEMPOTENCY_KEY_MAX + 1);

        if (klen == 0 || klen > BH_IDEMPOTENCY_KEY_MAX) {
            rc = bh__fail(st, BH_INVALID_ARGUMENT,
                          "idempotency key is %s bytes; it must be 1..%d "
                          "bytes (or NULL for none)",
                          klen == 0 ? "0" : "more than 255", BH_IDEMPOTENCY_KEY_MAX);
            goto out;
        }
    }

    id = bh__next_id(c);
    /* protobuf-c only reads these through pack; the casts drop const. */
    env.method = (char *)method;
    env.request_id = id;
    env.timeout_ms = (uint32_t)timeout_ms;
    if (c->auth_token != NULL)
        env.auth_token = c->auth_token;
    if (key != NULL)
        env.idempotency_key = (char *)key;
    env.payload.data = (uint8_t *)req;
    env.payload.len = len;

    if ((rv = nng_msg_alloc(&msg, protobuf_c_message_get_packed_size(&env.base))) != 0) {
        rc = bh__nng_err(st, rv, "call", c->url);
        goto out;
    }
    protobuf_c_message_pack(&env.base, nng_msg_body(msg));

    if ((slot = bh__slot_get(c, &rv)) == NULL) {
        rc = bh__nng_err(st, rv, "call", c->url);
        goto out;
    }
    if (!bh__busy_link(c, slot)) {
        clean = 1; /* unused: back to the pool, freed by the close */
        rc = bh__fail(st, BH_CANCELLED, "%s: client for %s was closed during the call", method,
                      c->url);
        goto out;
    }
    linked = 1;
    ctx = slot->ctx;
    aio = slot->aio;

    start = nng_clock();
    nng_aio_set_timeout(aio, timeout_ms);
    nng_aio_set_msg(aio, msg);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        /* On a failed send the message is still ours. */
        msg = nng_aio_get_msg(aio);
        if (bh__closing(c))
            rc = bh__fail(st, BH_CANCELLED, "%s: client for %s was closed during the call", method,
                          c->url);
        else if (rv == NNG_ETIMEDOUT && atomic_load(&c->pipes) == 0)
            rc = bh__fail(st, BH_UNAVAILABLE,
                          "cannot reach server at %s: no connection within %d ms (no "
                          "listener, refused, or slower to connect than the deadline)",
                          c->url, (int)timeout_ms);
        else if (rv == NNG_ETIMEDOUT)
            rc = bh__fail(st, BH_DEADLINE_EXCEEDED, "%s: request not sent to %s within %d ms",
                          method, c->url, (int)timeout_ms);
        else
            rc = bh__nng_err(st, rv, method, c->url);
        goto out;
    }
    msg = NULL; /* the context owns it now */

    now = nng_clock();
    left = (nng_duration)(timeout_ms - (int64_t)(now - start));
    nng_aio_set_timeout(aio, left > 0 ? left : 1);
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        if (rv == NNG_ETIMEDOUT)
            atomic_store(&c->last_timeout, nng_clock());
        /* Closing drops the pipes first, which reads as a lost connection. */
        if (bh__closing(c))
            rc = bh__fail(st, BH_CANCELLED, "%s: client for %s was closed during the call", method,
                          c->url);
        else if (rv == NNG_ETIMEDOUT)
            rc = bh__fail(st, BH_DEADLINE_EXCEEDED, "%s: no answer from %s within %d ms", method,
                          c->url, (int)timeout_ms);
        else if (rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT)
            rc = bh__fail(st, BH_UNAVAILABLE,
                          "%s: connection to %s was lost before the answer "
                          "came; the call may or may not have taken effect",
                          method, c->url);
        else
            rc = bh__nng_err(st, rv, method, c->url);
        goto out;
    }
    msg = nng_aio_get_msg(aio);
    /* The exchange is complete: the context is free again, unless its
     * timer may still fire (see BH_REUSE_MARGIN_MS). */
    clean = (int64_t)(nng_clock() - start) + BH_REUSE_MARGIN_MS < (int64_t)timeout_ms;

    rep = (Bilheteria__V1__ResponseEnvelope *)protobuf_c_message_unpack(
        &bilheteria__v1__response_envelope__descriptor, &ea->pc, nng_msg_len(msg),
        nng_msg_body(msg));
    if (rep == NULL) {
        rc = ea->oom ? bh__oom(st)
                     : bh__fail(st, BH_INTERNAL,
                                "malformed response from server (%s, %zu "
                                "bytes)",
                                method, nng_msg_len(msg));
        goto out;
    }
    /* A server that could not read the request (malformed or oversized)
     * cannot echo its id; it answers 0 with an error status. */
    if (rep->request_id != id && !(rep->request_id == 0 && rep->status != 0)) {
        rc = bh__fail(st, BH_INTERNAL,
                      "malformed response from server: request_id %llu, "
                      "expected %llu (%s)",
                      (unsigned long long)rep->request_id, (unsigned long long)id, method);
        goto out;
    }
    code = (int)rep->status;
    if (code != BH_OK) {
        if (code < 0 || code > BH_UNAUTHENTICATED)
            rc = bh__fail(st, BH_UNKNOWN, "server returned status %d: %s", code, rep->message);
        else if (rep->message[0] == '\0')
            rc = bh__fail(st, code, "%s: server returned %s", method, bh_code_name(code));
        else
            rc = bh__fail(st, code, "%s", rep->message);
        if (st != NULL)
            st->replayed = rep->replayed ? 1 : 0;
        goto out;
    }

    bh__ok(st, rep->replayed ? 1 : 0);
    *env_out = rep;
    rep = NULL;
    rc = BH_OK;
out:
    if (msg != NULL)
        nng_msg_free(msg);
    if (linked)
        bh__busy_unlink(c, slot);
    bh__slot_put(c, slot, clean);
    return rc;
}

/* Calls in flight are counted so bh_client_close can wait for them. */
static int
bh__enter(struct bh_client *c, bh_status *st)
{
    int closing;

    pthread_mutex_lock(&c->mtx);
    closing = c->closing;
    if (!closing)
        c->inflight++;
    pthread_mutex_unlock(&c->mtx);
    if (closing)
        return bh__fail(st, BH_CANCELLED, "client for %s is closing", c->url);
    return BH_OK;
}

static void
bh__leave(struct bh_client *c)
{
    pthread_mutex_lock(&c->mtx);
    if (--c->inflight == 0 && c->closing)
        pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mtx);
}

int
bh_call_raw(bh_client *c, const char *method, const uint8_t *req, size_t len, uint8_t **resp,
            size_t *resp_len, const bh_call_opts *opts, bh_status *st)
{
    Bilheteria__V1__ResponseEnvelope *rep = NULL;
    uint8_t *buf;
    unsigned char ebuf[BH__ENVELOPE_BUF];
    bh_arena ea;
    int entered = 0;
    int rc;

    bh_arena_init(&ea, ebuf, sizeof(ebuf));
    if (c == NULL || resp == NULL || resp_len == NULL) {
        rc = bh__fail(st, BH_INVALID_ARGUMENT,
                      "bh_call_raw: client, resp and resp_len must not be "
                      "NULL");
        goto out;
    }
    if ((rc = bh__enter(c, st)) != BH_OK)
        goto out;
    entered = 1;
    if ((rc = bh__exchange(c, method, req, len, opts, st, &ea, &rep)) != BH_OK)
        goto out;

    buf = malloc(rep->payload.len > 0 ? rep->payload.len : 1);
    if (buf == NULL) {
        rc = bh__oom(st);
        goto out;
    }
    if (rep->payload.len > 0)
        memcpy(buf, rep->payload.data, rep->payload.len);
    *resp = buf;
    *resp_len = rep->payload.len;
    rc = BH_OK;
out:
    bh_arena_fini(&ea);
    if (entered)
        bh__leave(c);
    return rc;
}

int
bh_call(bh_client *c, const char *method, const ProtobufCMessage *req,
        const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
        const bh_call_opts *opts, bh_status *st)
{
    Bilheteria__V1__ResponseEnvelope *rep = NULL;
    const ProtobufCMethodDescriptor *m;
    ProtobufCMessage *msg;
    bh__alloc_state as = { 0 };
    ProtobufCAllocator heap = { bh__pb_alloc, bh__pb_free, &as };
    bh_arena *ra = opts != NULL ? opts->arena : NULL;
    unsigned char ebuf[BH__ENVELOPE_BUF];
    uint8_t small[BH__REQUEST_BUF];
    bh_arena ea;
    uint8_t *buf = NULL;
    size_t len;
    int entered = 0;
    int rc;

    bh_arena_init(&ea, ebuf, sizeof(ebuf));
    if (c == NULL || req == NULL || resp_desc == NULL || resp == NULL) {
        rc = bh__fail(st, BH_INVALID_ARGUMENT,
                      "bh_call: client, req, resp_desc and resp must not be "
                      "NULL");
        goto out;
    }
    /* Catch a mismatched request or response type before it goes out. */
    if (method != NULL && (m = bh_find_method(method, NULL)) != NULL &&
        (m->input != req->descriptor || m->output != resp_desc)) {
        rc = bh__fail(st, BH_INVALID_ARGUMENT, "%s takes %s and returns %s; got %s and %s", method,
                      m->input->name, m->output->name, req->descriptor->name, resp_desc->name);
        goto out;
    }
    if ((rc = bh__enter(c, st)) != BH_OK)
        goto out;
    entered = 1;

    len = protobuf_c_message_get_packed_size(req);
    buf = len <= sizeof(small) ? small : malloc(len);
    if (buf == NULL) {
        rc = bh__oom(st);
        goto out;
    }
    protobuf_c_message_pack(req, buf);

    if ((rc = bh__exchange(c, method, buf, len, opts, st, &ea, &rep)) != BH_OK)
        goto out;

    /* Without an arena: the same malloc/free as the NULL allocator, so the
     * caller may free with protobuf_c_message_free_unpacked(msg, NULL). */
    if (ra != NULL)
        ra->oom = 0;
    msg = protobuf_c_message_unpack(resp_desc, ra != NULL ? &ra->pc : &heap, rep->payload.len,
                                    rep->payload.data);
    if (msg == NULL) {
        rc = (ra != NULL ? ra->oom : as.oom) ? bh__oom(st)
                                             : bh__fail(st, BH_INTERNAL,
                                                        "malformed %s payload from server (%s, %zu "
                                                        "bytes)",
                                                        resp_desc->name, method, rep->payload.len);
        goto out;
    }
    *resp = msg;
    rc = BH_OK;
out:
    bh_arena_fini(&ea);
    if (buf != small)
        free(buf);
    if (entered)
        bh__leave(c);
    return rc;
}
