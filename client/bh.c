/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libbilheteria core: one nng REQ socket per client, one nng context per
 * call, and the RPC envelope around each call's payload.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>

#include "bh_arena.h"
#include "bilheteria/bilheteria.h"
#include "bilheteria/status.h"
#include "nng_compat.h"
#include "nng_tls.h"

#define BH_DEFAULT_TIMEOUT_MS 5000
/* Big enough for the largest seat map; anything larger drops the pipe. */
#define BH_RECV_MAX      (64u * 1024u * 1024u)
#define BH_RECONN_MIN_MS 20
#define BH_RECONN_MAX_MS 500
/* The longest bh_client_close waits for nng_close (which can hang: see
 * proto/compat/nng_compat.c) and for the calls in flight to return. */
#define BH_CLOSE_WAIT_MS 2000
/* What a bh_options of size 0 holds: the layout that introduced size. */
#define BH__OPTIONS_SIZE0 (offsetof(bh_options, tls_key_file) + sizeof(const char *))

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
    char *auth_token; /* owned; NULL = anonymous, or a token per call: */
    int (*token_fn)(void *arg, char *buf, size_t size); /* bh_options.auth_token_fn */
    void *token_arg;
    int32_t timeout_ms;
    int tls; /* a TLS URL: an unreachable server may be a failed handshake */
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

/* Copies the caller's options (opts->size of them) into *o, the rest
 * zero, and checks them; *url and *timeout_ms are written only on
 * success. */
static int
bh__open_opts(const bh_options *opts, bh_options *o, const char **url, int32_t *timeout_ms,
              bh_status *st)
{
    int32_t t = BH_DEFAULT_TIMEOUT_MS;
    size_t n = opts == NULL ? 0 : opts->size == 0 ? BH__OPTIONS_SIZE0 : opts->size;

    memset(o, 0, sizeof(*o));
    if (opts != NULL && n < BH__OPTIONS_SIZE0)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "bh_options.size is %zu; it must be 0 or sizeof(bh_options) (%zu)",
                        opts->size, sizeof(bh_options));
    /* Fields of a newer header than this library's may be given only if
     * unset: this library would ignore them. */
    for (size_t i = sizeof(*o); i < n; i++)
        if (((const unsigned char *)opts)[i] != 0)
            return bh__fail(st, BH_INVALID_ARGUMENT,
                            "bh_options.size is %zu, and fields past this library's %zu "
                            "bytes are set: the program was built against a newer "
                            "libbilheteria than the one it runs with",
                            opts->size, sizeof(bh_options));
    if (opts != NULL)
        memcpy(o, opts, n < sizeof(*o) ? n : sizeof(*o));
    if (o->timeout_ms != 0)
        t = o->timeout_ms;
    if (t < 0)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "timeout_ms is %d; it must be > 0 (or 0 for %d ms)", (int)t,
                        BH_DEFAULT_TIMEOUT_MS);
    /* Lengths only: a token never goes into a message. */
    if (o->auth_token != NULL && strnlen(o->auth_token, BH_AUTH_TOKEN_MAX + 1) > BH_AUTH_TOKEN_MAX)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "auth_token is %zu bytes; the limit is %d (BH_AUTH_TOKEN_MAX)",
                        strlen(o->auth_token), BH_AUTH_TOKEN_MAX);
    if (o->auth_token != NULL && o->auth_token_fn != NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "auth_token and auth_token_fn are both set; give one of them");
    *url = o->url != NULL ? o->url : BH_DEFAULT_URL;
    *timeout_ms = t;
    return BH_OK;
}

/* The TLS configuration of a TLS URL, from o's files; the server name is
 * the URL's host unless o names one. On success *out is set, caller frees
 * with nng_tls_config_free. */
static int
bh__tls_config(const bh_options *o, const char *url, nng_tls_config **out, bh_status *st)
{
    bh_tls_files f = {
        .ca_file = o->tls_ca_file,
        .cert_file = o->tls_cert_file,
        .key_file = o->tls_key_file,
        .server_name = o->tls_server_name,
        .ca_what = "tls_ca_file",
        .cert_what = "tls_cert_file",
        .key_what = "tls_key_file",
    };
    nng_url *u = NULL;
    char err[sizeof(st->message)];
    int rv;

    if (f.server_name == NULL) {
        if ((rv = nng_url_parse(&u, url)) != 0)
            return rv == NNG_ENOMEM ? bh__oom(st)
                                    : bh__fail(st, BH_INVALID_ARGUMENT, "bad server URL \"%s\": %s",
                                               url, nng_strerror(rv));
        f.server_name = u->u_hostname;
    }
    rv = bh_tls_config_new(out, NNG_TLS_MODE_CLIENT, &f, err, sizeof(err));
    if (u != NULL)
        nng_url_free(u);
    if (rv == NNG_ENOMEM)
        return bh__oom(st);
    if (rv != 0)
        return bh__fail(st, BH_INVALID_ARGUMENT, "%s", err);
    return BH_OK;
}

/* Frees a client whose socket is open only if sock_open (a failed open, or
 * the end of a close). */
static void
bh__client_free(struct bh_client *c, int sock_open)
{
    if (sock_open)
        nng_close(c->sock);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mtx);
    free(c->auth_token);
    free(c->url);
    free(c);
}

/* A client without its socket yet; NULL when out of memory. */
static struct bh_client *
bh__client_new(const char *url, int32_t timeout_ms, const char *auth_token)
{
    struct bh_client *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->timeout_ms = timeout_ms;
    atomic_init(&c->seq, 0);
    atomic_init(&c->pipes, 0);
    /* Request ids: a random salt per client mixed with a call counter. */
    c->id_salt = ((uint64_t)nng_random() << 32) | nng_random();
    c->url = bh__strdup(url);
    if (auth_token != NULL)
        c->auth_token = bh__strdup(auth_token);
    if (c->url == NULL || (auth_token != NULL && c->auth_token == NULL) ||
        pthread_mutex_init(&c->mtx, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mtx);
        goto fail;
    }
    return c;
fail:
    free(c->auth_token);
    free(c->url);
    free(c);
    return NULL;
}

/* The socket's options, set before the first context is opened (contexts
 * copy them). Returns 0 or an NNG_ error. */
static int
bh__sock_setup(struct bh_client *c)
{
    int rv;

    if ((rv = bh_nng_req_never_resend(c->sock)) != 0 ||
        (rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, BH_RECV_MAX)) != 0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, BH_RECONN_MIN_MS)) != 0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, BH_RECONN_MAX_MS)) != 0 ||
        (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_PRE, bh__pipe_cb, c)) != 0 ||
        (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, bh__pipe_cb, c)) != 0)
        return rv;
    return 0;
}

static int
bh__setup_fail(bh_status *st, int rv, const char *url)
{
    if (rv == NNG_ENOMEM)
        return bh__oom(st);
    return bh__fail(st, BH_UNAVAILABLE, "cannot set up client for %s: %s", url, nng_strerror(rv));
}

/* Non-blocking: an absent server (or a failed TLS handshake) is retried in
 * the background. tls is the configuration of a TLS URL, else NULL. */
static int
bh__dial(struct bh_client *c, nng_tls_config *tls, bh_status *st)
{
    nng_dialer d;
    int rv = nng_dialer_create(&d, c->sock, c->url);

    if (rv == 0 && tls != NULL)
        rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls);
    if (rv == 0)
        rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);

    if (rv == NNG_EADDRINVAL || rv == NNG_EINVAL || rv == NNG_ENOTSUP)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "bad server URL \"%s\": %s (expected e.g. " BH_DEFAULT_URL
                        " or ipc:///path)",
                        c->url, nng_strerror(rv));
    if (rv != 0)
        return bh__setup_fail(st, rv, c->url);
    return BH_OK;
}

int
bh_client_open(bh_client **out, const bh_options *opts, bh_status *st)
{
    struct bh_client *c;
    bh_options o;
    nng_tls_config *tls = NULL;
    const char *url = NULL;
    int32_t timeout_ms = 0;
    int rc, rv;

    if (out == NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT, "bh_client_open: out is NULL");
    if ((rc = bh__open_opts(opts, &o, &url, &timeout_ms, st)) != BH_OK)
        return rc;
    if (bh_tls_url(url) && (rc = bh__tls_config(&o, url, &tls, st)) != BH_OK)
        return rc;
    c = bh__client_new(url, timeout_ms, o.auth_token);
    if (c == NULL) {
        rc = bh__oom(st);
        goto out;
    }
    c->tls = tls != NULL;
    c->token_fn = o.auth_token_fn;
    c->token_arg = o.auth_token_arg;
    if ((rv = nng_req0_open(&c->sock)) != 0) {
        bh__client_free(c, 0);
        rc = bh__setup_fail(st, rv, url);
        goto out;
    }
    if ((rv = bh__sock_setup(c)) != 0)
        rc = bh__setup_fail(st, rv, url);
    else
        rc = bh__dial(c, tls, st);
    if (rc != BH_OK) {
        bh__client_free(c, 1);
        goto out;
    }
    *out = c;
    bh__ok(st, 0);
out:
    /* The dialer holds the configuration it was given. */
    if (tls != NULL)
        nng_tls_config_free(tls);
    return rc;
}

/* Ends the calls in flight: their operations aborted, and waited for. A
 * call between two operations is not aborted; it ends by its deadline. */
static void
bh__drain(void *arg)
{
    struct bh_client *c = arg;

    pthread_mutex_lock(&c->mtx);
    for (struct bh__slot *s = c->busy; s != NULL; s = s->bnext)
        nng_aio_abort(s->aio, NNG_ECLOSED);
    while (c->inflight > 0)
        pthread_cond_wait(&c->cv, &c->mtx);
    pthread_mutex_unlock(&c->mtx);
}

/* The rest of a close, from the socket's on; possibly on a thread of its
 * own (see bh_client_close). */
static void
bh__close_rest(void *arg)
{
    struct bh_client *c = arg;

    bh_nng_close_drained(c->sock, bh__drain, c);
    for (struct bh__slot *s = c->free_slots, *next; s != NULL; s = next) {
        next = s->next;
        nng_aio_free(s->aio); /* its context closed with the socket */
        free(s);
    }
    bh__client_free(c, 0);
}

void
bh_client_close(bh_client *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mtx);
    c->closing = 1;
    pthread_mutex_unlock(&c->mtx);

    /* nng_close can hang (see proto/compat/nng_compat.c): let the answers
     * of timed-out calls land first, and should it hang all the same, stop
     * waiting after BH_CLOSE_WAIT_MS, leaving the client to the close
     * (freed if nng ever returns, else leaked). */
    bh_nng_close_settle(atomic_load(&c->last_timeout));
    bh_nng_run_bounded(bh__close_rest, c, BH_CLOSE_WAIT_MS);
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

/* A call's envelope is unpacked on the stack when it fits (most answers
 * do), and a request packed there; larger ones go to the heap. */
#define BH__ENVELOPE_BUF 2048
#define BH__REQUEST_BUF  512

/* The arena is proto/common's (bh_arena.h). */
void
bh_arena_init(bh_arena *a, void *buf, size_t size)
{
    bh__arena_init(a, buf, size);
}

void
bh_arena_reset(bh_arena *a)
{
    bh__arena_reset(a);
}

void
bh_arena_fini(bh_arena *a)
{
    bh__arena_fini(a);
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
    bh_nng_ctx_free(s->ctx, s->aio);
    free(s);
}

/* One call, as bh__exchange carries it through its steps. */
struct bh__call {
    struct bh_client *c;
    const char *method;
    const char *key; /* NULL: none */
    int32_t timeout_ms;
    uint64_t id;
    nng_time start;
};

/* The call's arguments, checked before anything is sent; sets k->key and
 * k->timeout_ms. */
static int
bh__call_check(struct bh__call *k, const uint8_t *req, size_t len, const bh_call_opts *opts,
               bh_status *st)
{
    k->timeout_ms = k->c->timeout_ms;
    if (k->method == NULL || k->method[0] == '\0')
        return bh__fail(st, BH_INVALID_ARGUMENT, "method name is empty");
    if (req == NULL && len != 0)
        return bh__fail(st, BH_INVALID_ARGUMENT, "request payload is NULL but len is %zu", len);
    if (opts == NULL)
        return BH_OK;
    if (opts->timeout_ms < 0)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "timeout_ms is %d; it must be > 0 (or 0 for the "
                        "client's %d ms)",
                        (int)opts->timeout_ms, (int)k->c->timeout_ms);
    if (opts->timeout_ms > 0)
        k->timeout_ms = opts->timeout_ms;
    k->key = opts->idempotency_key;
    if (k->key != NULL) {
        size_t klen = strnlen(k->key, BH_IDEMPOTENCY_KEY_MAX + 1);

        if (klen == 0 || klen > BH_IDEMPOTENCY_KEY_MAX)
            return bh__fail(st, BH_INVALID_ARGUMENT,
                            "idempotency key is %s%d bytes; it must be 1..%d "
                            "bytes (or NULL for none)",
                            klen == 0 ? "" : "more than ", klen == 0 ? 0 : BH_IDEMPOTENCY_KEY_MAX,
                            BH_IDEMPOTENCY_KEY_MAX);
    }
    return BH_OK;
}

/* This call's token from the client's auth_token_fn, into buf (size
 * bytes); *tok is set to buf unless the token is empty (none). */
static int
bh__token(struct bh__call *k, char *buf, size_t size, char **tok, bh_status *st)
{
    int n;

    buf[0] = '\0';
    n = k->c->token_fn(k->c->token_arg, buf, size);
    if (n < 0)
        return bh__fail(st, BH_UNAUTHENTICATED,
                        "%s: auth_token_fn returned %d: no token for this call; nothing was sent",
                        k->method, n);
    if ((size_t)n >= size)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "auth_token_fn's token is %d bytes; the limit is %d (BH_AUTH_TOKEN_MAX)", n,
                        BH_AUTH_TOKEN_MAX);
    buf[n] = '\0'; /* the length it returned is the one sent */
    if (n > 0)
        *tok = buf;
    return BH_OK;
}

/* The request envelope around the payload, packed into a new message
 * (*out; caller frees with nng_msg_free, or hands it to nng). Sets k->id. */
static int
bh__envelope(struct bh__call *k, const uint8_t *req, size_t len, nng_msg **out, bh_status *st)
{
    Bilheteria__V1__RequestEnvelope env = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    char tokbuf[BH_AUTH_TOKEN_MAX + 1];
    nng_msg *msg;
    int rc, rv;

    if (k->c->token_fn != NULL &&
        (rc = bh__token(k, tokbuf, sizeof(tokbuf), &env.auth_token, st)) != BH_OK)
        return rc;
    k->id = bh__next_id(k->c);
    /* protobuf-c only reads these through pack; the casts drop const. */
    env.method = (char *)k->method;
    env.request_id = k->id;
    env.timeout_ms = (uint32_t)k->timeout_ms;
    if (k->c->auth_token != NULL)
        env.auth_token = k->c->auth_token;

    if (k->key != NULL)
        env.idempotency_key = (char *)k->key;
    env.payload.data = (uint8_t *)req;
    env.payload.len = len;

    if ((rv = nng_msg_alloc(&msg, protobuf_c_message_get_packed_size(&env.base))) != 0)
        return bh__nng_err(st, rv, "call", k->c->url);
    protobuf_c_message_pack(&env.base, nng_msg_body(msg));
    *out = msg;
    return BH_OK;
}

static int
bh__cancelled(const struct bh__call *k, bh_status *st)
{
    return bh__fail(st, BH_CANCELLED, "%s: client for %s was closed during the call", k->method,
                    k->c->url);
}

/* Sends *msg on the slot's context within the deadline, which starts now.
 * On success the context owns the message and *msg is NULL; on failure it
 * is still the caller's. */
static int
bh__send(struct bh__call *k, struct bh__slot *s, nng_msg **msg, bh_status *st)
{
    struct bh_client *c = k->c;
    int rv;

    k->start = nng_clock();
    nng_aio_set_timeout(s->aio, k->timeout_ms);
    nng_aio_set_msg(s->aio, *msg);
    nng_ctx_send(s->ctx, s->aio);
    nng_aio_wait(s->aio);
    if ((rv = nng_aio_result(s->aio)) == 0) {
        *msg = NULL;
        return BH_OK;
    }
    *msg = nng_aio_get_msg(s->aio);
    if (bh__closing(c))
        return bh__cancelled(k, st);
    if (rv == NNG_ETIMEDOUT && atomic_load(&c->pipes) == 0)
        return bh__fail(st, BH_UNAVAILABLE,
                        "cannot reach server at %s: no connection within %d ms (no "
                        "listener, refused, or slower to connect than the deadline%s)",
                        c->url, (int)k->timeout_ms,
                        c->tls ? "; or the TLS handshake failed: a server certificate not "
                                 "signed by tls_ca_file or not for the expected name, or a "
                                 "client certificate the server wants and did not get"
                               : "");
    if (rv == NNG_ETIMEDOUT)
        return bh__fail(st, BH_DEADLINE_EXCEEDED, "%s: request not sent to %s within %d ms",
                        k->method, c->url, (int)k->timeout_ms);
    return bh__nng_err(st, rv, k->method, c->url);
}

/* Receives the answer (*msg; caller frees) within what is left of the
 * deadline. *clean says whether the slot may serve another call. */
static int
bh__recv(struct bh__call *k, struct bh__slot *s, nng_msg **msg, int *clean, bh_status *st)
{
    struct bh_client *c = k->c;
    nng_duration left = (nng_duration)(k->timeout_ms - (int64_t)(nng_clock() - k->start));
    int rv;

    nng_aio_set_timeout(s->aio, left > 0 ? left : 1);
    nng_ctx_recv(s->ctx, s->aio);
    nng_aio_wait(s->aio);
    if ((rv = nng_aio_result(s->aio)) == 0) {
        *msg = nng_aio_get_msg(s->aio);
        *clean = bh_nng_ctx_reusable((nng_duration)(nng_clock() - k->start), k->timeout_ms);
        return BH_OK;
    }
    if (rv == NNG_ETIMEDOUT)
        atomic_store(&c->last_timeout, nng_clock());
    /* Closing drops the pipes first, which reads as a lost connection. */
    if (bh__closing(c))
        return bh__cancelled(k, st);
    if (rv == NNG_ETIMEDOUT)
        return bh__fail(st, BH_DEADLINE_EXCEEDED, "%s: no answer from %s within %d ms", k->method,
                        c->url, (int)k->timeout_ms);
    if (rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT)
        return bh__fail(st, BH_UNAVAILABLE,
                        "%s: connection to %s was lost before the answer "
                        "came; the call may or may not have taken effect",
                        k->method, c->url);
    return bh__nng_err(st, rv, k->method, c->url);
}

/* The answer's envelope, unpacked into ea; BH_OK only for this call's id
 * and an OK status, else the server's status and message. */
static int
bh__decode(const struct bh__call *k, nng_msg *msg, bh_arena *ea,
           Bilheteria__V1__ResponseEnvelope **env_out, bh_status *st)
{
    Bilheteria__V1__ResponseEnvelope *rep;
    int code, rc;

    rep = (Bilheteria__V1__ResponseEnvelope *)protobuf_c_message_unpack(
        &bilheteria__v1__response_envelope__descriptor, &ea->pc, nng_msg_len(msg),
        nng_msg_body(msg));
    if (rep == NULL)
        return ea->oom ? bh__oom(st)
                       : bh__fail(st, BH_INTERNAL, "malformed response from server (%s, %zu bytes)",
                                  k->method, nng_msg_len(msg));
    /* A server that could not read the request (malformed or oversized)
     * cannot echo its id; it answers 0 with an error status. */
    if (rep->request_id != k->id && !(rep->request_id == 0 && rep->status != 0))
        return bh__fail(st, BH_INTERNAL,
                        "malformed response from server: request_id %llu, "
                        "expected %llu (%s)",
                        (unsigned long long)rep->request_id, (unsigned long long)k->id, k->method);
    code = (int)rep->status;
    if (code == BH_OK) {
        bh__ok(st, rep->replayed ? 1 : 0);
        *env_out = rep;
        return BH_OK;
    }
    if (code < 0 || code > BH_UNAUTHENTICATED)
        rc = bh__fail(st, BH_UNKNOWN, "server returned status %d: %s", code, rep->message);
    else if (rep->message[0] == '\0')
        rc = bh__fail(st, code, "%s: server returned %s", k->method, bh_code_name(code));
    else
        rc = bh__fail(st, code, "%s", rep->message);
    if (st != NULL)
        st->replayed = rep->replayed ? 1 : 0;
    return rc;
}

/*
 * One REQ/REP exchange: check the call, build the envelope, send and
 * receive on a pooled context within the deadline, decode the answer. On
 * BH_OK, *env_out is the decoded response envelope with status OK; it
 * lives in ea, which the caller finalises.
 */
static int
bh__exchange(struct bh_client *c, const char *method, const uint8_t *req, size_t len,
             const bh_call_opts *opts, bh_status *st, bh_arena *ea,
             Bilheteria__V1__ResponseEnvelope **env_out)
{
    struct bh__call k = { .c = c, .method = method };
    struct bh__slot *slot = NULL;
    nng_msg *msg = NULL;
    int clean = 0, linked = 0;
    int rc, rv;

    if ((rc = bh__call_check(&k, req, len, opts, st)) != BH_OK ||
        (rc = bh__envelope(&k, req, len, &msg, st)) != BH_OK)
        goto out;
    if ((slot = bh__slot_get(c, &rv)) == NULL) {
        rc = bh__nng_err(st, rv, "call", c->url);
        goto out;
    }
    if (!bh__busy_link(c, slot)) {
        clean = 1; /* unused: back to the pool, freed by the close */
        rc = bh__cancelled(&k, st);
        goto out;
    }
    linked = 1;
    if ((rc = bh__send(&k, slot, &msg, st)) != BH_OK ||
        (rc = bh__recv(&k, slot, &msg, &clean, st)) != BH_OK)
        goto out;
    rc = bh__decode(&k, msg, ea, env_out, st);
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
