/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libbilheteria core: one nng REQ socket per server URL, one nng context
 * per call in flight, and the RPC envelope around each call's payload.
 *
 * Every call is asynchronous inside: a small state machine driven by nng's
 * aio callbacks (connect wait, send, receive, backoff), with retries and
 * failover between its steps. A blocking call is an asynchronous one and a
 * wait. The steps of one try: bh__attempt (envelope, the connection
 * check), bh__send, bh__recv, bh__decode; bh__attempt_failed decides
 * whether to try again.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>

#include "bh_arena.h"
#include "bh_trace.h"
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
/* Retry backoff: the first wait, its growth cap; each wait is drawn from
 * [d/2, d) ("equal jitter"), d doubling per retry. */
#define BH_BACKOFF_FIRST_MS 50
#define BH_BACKOFF_MAX_MS   1000
/* Waiting for a first connection, how often to look at it (doubling). */
#define BH_CONNECT_POLL_MAX_MS 20
/* What a bh_options of size 0 holds: the layout that introduced size. */
#define BH__OPTIONS_SIZE0 (offsetof(bh_options, tls_key_file) + sizeof(const char *))
/* bh_call_options' first layout: all of it, info included. */
#define BH__CALL_OPTIONS_SIZE0 (offsetof(bh_call_options, info) + sizeof(bh_call_info *))

/* A call's envelope is unpacked in the call's own buffer when it fits (most
 * answers do); larger ones go to the heap. */
#define BH__ENVELOPE_BUF 2048

struct bh__ep;

/* An nng context with its aio, kept for the next call: opening a context
 * per call costs a socket lock and an id-map insert on every call. */
struct bh__slot {
    struct bh__slot *next;
    struct bh__ep *ep;
    struct bh_call_handle *call; /* the call using it */
    nng_ctx ctx;
    nng_aio *aio; /* its callback is bh__io_cb */
};

/* One server URL: its socket, dialer and connection state. */
struct bh__ep {
    struct bh_client *c;
    nng_socket sock;
    nng_dialer dialer;
    char *url; /* owned */
    int sock_open;
    /* Pipes that got past ADD_PRE and have not been removed yet. */
    atomic_int pipes;
    /* A connection attempt failed and no pipe came since: calls fail fast. */
    atomic_int down;
    /* nng_clock() of the last call that timed out while connected: its
     * answer may still be on the way (see bh_client_close). */
    atomic_uint_fast64_t last_timeout;
    struct bh__slot *free_slots; /* under c->mtx */
};

enum bh__state {
    BH__IDLE,
    BH__POLL,    /* timer: waiting for a first connection */
    BH__SEND,    /* slot aio: sending */
    BH__RECV,    /* slot aio: receiving */
    BH__BACKOFF, /* timer: waiting before a retry */
    BH__FINISH,  /* timer: running the callback off the caller's thread */
};

/* One call (the handle is the call). Pooled per client, so its timer aio
 * is never freed from its own callback. */
struct bh_call_handle {
    struct bh_client *c;
    struct bh_call_handle *next;          /* in the pool */
    struct bh_call_handle *bprev, *bnext; /* in the busy list */
    pthread_cond_t cv;                    /* done, with c->mtx */
    nng_aio *timer;                       /* its callback is bh__timer_cb */
    int refs;                             /* under c->mtx: the library's, the caller's */
    int done;                             /* under c->mtx: the callback has returned */
    int cancelled;                        /* under c->mtx */
    atomic_int in_submit;                 /* bh_call_async has not returned yet */
    enum bh__state state;

    /* The call, as submitted. */
    char *method;                                /* owned */
    const ProtobufCMessageDescriptor *resp_desc; /* NULL: raw */
    bh_arena *arena;
    uint8_t *req; /* owned; req_cap bytes */
    size_t req_len, req_cap;
    char key[BH_IDEMPOTENCY_KEY_MAX + 1]; /* "" = none */
    char *token;                          /* owned: auth_token_fn's; NULL = the client's */
    char traceparent[BH_TRACEPARENT_LEN + 1];
    int safe_unsent_only; /* a write without a key: retry only what never went out */
    int32_t timeout_ms;
    nng_time deadline;
    int retries_left, wait_for_ready;
    bh_call_cb cb;
    void *arg;

    /* The try under way. */
    int ep_i;
    struct bh__slot *slot;
    nng_msg *msg;
    uint64_t fails0; /* the endpoint's dial failures when the try began */
    nng_duration poll_ms, backoff_ms, try_timeout;
    nng_time try_start;

    /* The outcome. */
    bh_status st;
    bh_call_info info;
    ProtobufCMessage *resp;
    uint8_t *raw;
    size_t raw_len;
    bh_arena ea;
    unsigned char ebuf[BH__ENVELOPE_BUF];
};

struct bh_client {
    struct bh__ep *eps; /* n_eps of them */
    size_t n_eps;
    char *auth_token; /* owned; NULL = anonymous, or a token per call: */
    int (*token_fn)(void *arg, char *buf, size_t size); /* bh_options.auth_token_fn */
    void *token_arg;
    int32_t timeout_ms;
    int max_retries; /* resolved: >= 0 */
    int wait_for_ready;
    int tls; /* TLS URLs: an unreachable server may be a failed handshake */
    uint64_t id_salt;
    atomic_uint_fast64_t seq;

    /* bh_client_close waits for calls in flight before freeing. */
    pthread_mutex_t mtx;
    pthread_cond_t cv;
    int inflight;
    int closing;
    struct bh_call_handle *free_calls; /* under mtx */
    struct bh_call_handle *busy;       /* calls in flight, under mtx */
    /* Slots that must not be reused, freed off nng's callbacks (an aio
     * cannot be freed from its own callback). Under mtx. */
    struct bh__slot *grave;
};

/* Set while this thread runs one of our aio callbacks (and so the user's
 * bh_call_cb): blocking there would stall nng. */
static _Thread_local int bh__in_cb;

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

const char *
bh_version(void)
{
    return BH_VERSION;
}

/* n random bytes: the kernel's, or nng's should getrandom fail. */
static void
bh__random(void *buf, size_t n)
{
    unsigned char *p = buf;
    ssize_t got = getrandom(p, n, 0);
    size_t i = got > 0 ? (size_t)got : 0;

    for (; i < n; i++)
        p[i] = (unsigned char)nng_random();
}

static void
bh__hex(char *out, const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* A UUIDv4 (RFC 9562) from b's 16 random bytes. */
static void
bh__uuid4(char out[37], unsigned char b[16])
{
    char hex[33];

    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    bh__hex(hex, b, 16);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

int
bh_idempotency_key_new(char out[BH_IDEMPOTENCY_KEY_MAX + 1])
{
    unsigned char b[16];

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        out[0] = '\0';
        return BH_INTERNAL;
    }
    bh__uuid4(out, b);
    return BH_OK;
}

/* A new trace: random trace and parent ids, sampled (flags 01). */
static void
bh__traceparent_new(char out[BH_TRACEPARENT_LEN + 1])
{
    unsigned char b[24];
    char hex[49];

    do
        bh__random(b, sizeof(b));
    while (b[0] == 0 && b[16] == 0); /* cheap guard against all-zero ids */
    bh__hex(hex, b, sizeof(b));
    snprintf(out, BH_TRACEPARENT_LEN + 1, "00-%.32s-%.16s-01", hex, hex + 32);
}

/*
 * Copies a caller's struct of n bytes (its size field) into dst (dst_size
 * bytes, this library's struct), the rest zero. Bytes past dst_size must
 * be zero: they are fields of a newer header this library would ignore.
 */
static int
bh__copy_sized(void *dst, size_t dst_size, const void *src, size_t n, size_t min, const char *what,
               bh_status *st)
{
    memset(dst, 0, dst_size);
    if (n < min)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "%s.size is %zu; it must be sizeof(%s) (%zu) or that of an older "
                        "header (at least %zu)",
                        what, n, what, dst_size, min);
    for (size_t i = dst_size; i < n; i++)
        if (((const unsigned char *)src)[i] != 0)
            return bh__fail(st, BH_INVALID_ARGUMENT,
                            "%s.size is %zu, and fields past this library's %zu "
                            "bytes are set: the program was built against a newer "
                            "libbilheteria than the one it runs with",
                            what, n, dst_size);
    memcpy(dst, src, n < dst_size ? n : dst_size);
    return BH_OK;
}

/*
 * Runs on nng's threads. ADD_PRE and REM_POST pair up (nng only reports
 * REM_POST for pipes it reported ADD_PRE for), so the count stays exact.
 */
static void
bh__pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct bh__ep *e = arg;

    (void)p;
    if (ev == NNG_PIPE_EV_ADD_PRE) {
        atomic_fetch_add(&e->pipes, 1);
        atomic_store(&e->down, 0);
    } else if (ev == NNG_PIPE_EV_REM_POST) {
        atomic_fetch_sub(&e->pipes, 1);
    }
}

/*
 * The statistics scope of the dialer with this id. Not nng_stat_find_dialer:
 * nng 1.5.2's returns the first dialer's scope whatever the dialer (seen
 * here with two sockets: a client with a standby URL then never saw its
 * first URL's failures).
 */
static nng_stat *
bh__stat_dialer(nng_stat *s, int id)
{
    for (; s != NULL; s = nng_stat_next(s)) {
        nng_stat *r;

        if (nng_stat_type(s) == NNG_STAT_SCOPE && strcmp(nng_stat_name(s), "dialer") == 0)
            for (nng_stat *k = nng_stat_child(s); k != NULL; k = nng_stat_next(k))
                if (strcmp(nng_stat_name(k), "id") == 0 && nng_stat_value(k) == (uint64_t)id)
                    return s;
        if ((r = bh__stat_dialer(nng_stat_child(s), id)) != NULL)
            return r;
    }
    return NULL;
}

/*
 * How many connection attempts of e's dialer have failed so far, from
 * nng's statistics (nng has no dialer event to tell us). 0 if nng was
 * built without statistics: calls then wait for a connection until their
 * deadline, as with wait_for_ready.
 */
static uint64_t
bh__dial_failures(struct bh__ep *e)
{
    static const char *const counted[] = { "refused", "other", "timeout", "proto",
                                           "auth",    "oom",   "reject" };
    nng_stat *all, *d;
    uint64_t n = 0;

    if (nng_stats_get(&all) != 0)
        return 0;
    if ((d = bh__stat_dialer(all, nng_dialer_id(e->dialer))) != NULL)
        for (nng_stat *s = nng_stat_child(d); s != NULL; s = nng_stat_next(s))
            for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]); i++)
                if (strcmp(nng_stat_name(s), counted[i]) == 0)
                    n += nng_stat_value(s);
    nng_stats_free(all);
    return n;
}
/* bh_options, copied (opts->size of them) and checked, with the defaults
 * resolved. */
struct bh__open {
    bh_options o;
    const char *urls[BH_URLS_MAX];
    size_t n_urls;
    int32_t timeout_ms;
    int max_retries;
};

static int
bh__open_opts(const bh_options *opts, struct bh__open *p, bh_status *st)
{
    bh_options *o = &p->o;
    size_t n = opts == NULL ? 0 : opts->size == 0 ? BH__OPTIONS_SIZE0 : opts->size;
    int rc;

    memset(p, 0, sizeof(*p));
    if (opts != NULL &&
        (rc = bh__copy_sized(o, sizeof(*o), opts, n, BH__OPTIONS_SIZE0, "bh_options", st)) != BH_OK)
        return rc;
    p->timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : BH_DEFAULT_TIMEOUT_MS;
    if (p->timeout_ms < 0)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "timeout_ms is %d; it must be > 0 (or 0 for %d ms)", (int)p->timeout_ms,
                        BH_DEFAULT_TIMEOUT_MS);
    /* Lengths only: a token never goes into a message. */
    if (o->auth_token != NULL && strnlen(o->auth_token, BH_AUTH_TOKEN_MAX + 1) > BH_AUTH_TOKEN_MAX)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "auth_token is %zu bytes; the limit is %d (BH_AUTH_TOKEN_MAX)",
                        strlen(o->auth_token), BH_AUTH_TOKEN_MAX);
    if (o->auth_token != NULL && o->auth_token_fn != NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "auth_token and auth_token_fn are both set; give one of them");
    if (o->max_retries > BH_MAX_RETRIES_MAX)
        return bh__fail(st, BH_INVALID_ARGUMENT, "max_retries is %d; the limit is %d",
                        (int)o->max_retries, BH_MAX_RETRIES_MAX);
    p->max_retries = o->max_retries == 0  ? BH_MAX_RETRIES_DEFAULT
                     : o->max_retries < 0 ? 0
                                          : o->max_retries;
    if (o->wait_for_ready != 0 && o->wait_for_ready != 1)
        return bh__fail(st, BH_INVALID_ARGUMENT, "wait_for_ready is %d; it must be 0 or 1",
                        o->wait_for_ready);
    if (o->n_urls > 0) {
        if (o->url != NULL)
            return bh__fail(st, BH_INVALID_ARGUMENT, "url and urls are both set; give one of them");
        if (o->urls == NULL || o->n_urls > BH_URLS_MAX)
            return bh__fail(st, BH_INVALID_ARGUMENT,
                            "n_urls is %zu; it must be 1..%d, with urls holding as many", o->n_urls,
                            BH_URLS_MAX);
        for (size_t i = 0; i < o->n_urls; i++) {
            if (o->urls[i] == NULL)
                return bh__fail(st, BH_INVALID_ARGUMENT, "urls[%zu] is NULL", i);
            p->urls[i] = o->urls[i];
        }
        p->n_urls = o->n_urls;
    } else {
        p->urls[0] = o->url != NULL ? o->url : BH_DEFAULT_URL;
        p->n_urls = 1;
    }
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

static void
bh__client_free(struct bh_client *c)
{
    for (size_t i = 0; i < c->n_eps; i++) {
        if (c->eps[i].sock_open)
            nng_close(c->eps[i].sock);
        free(c->eps[i].url);
    }
    free(c->eps);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mtx);
    free(c->auth_token);
    free(c);
}

/* A client without its sockets yet; NULL when out of memory. */
static struct bh_client *
bh__client_new(const struct bh__open *p)
{
    struct bh_client *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    if (pthread_mutex_init(&c->mtx, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mtx);
        free(c);
        return NULL;
    }
    c->timeout_ms = p->timeout_ms;
    c->max_retries = p->max_retries;
    c->wait_for_ready = p->o.wait_for_ready;
    c->token_fn = p->o.auth_token_fn;
    c->token_arg = p->o.auth_token_arg;
    atomic_init(&c->seq, 0);
    /* Request ids: a random salt per client mixed with a call counter. */
    c->id_salt = ((uint64_t)nng_random() << 32) | nng_random();
    if ((c->eps = calloc(p->n_urls, sizeof(*c->eps))) == NULL)
        goto fail;
    c->n_eps = p->n_urls;
    for (size_t i = 0; i < p->n_urls; i++) {
        struct bh__ep *e = &c->eps[i];

        e->c = c;
        atomic_init(&e->pipes, 0);
        atomic_init(&e->down, 0);
        atomic_init(&e->last_timeout, 0);
        if ((e->url = bh__strdup(p->urls[i])) == NULL)
            goto fail;
    }
    if (p->o.auth_token != NULL && (c->auth_token = bh__strdup(p->o.auth_token)) == NULL)
        goto fail;
    return c;
fail:
    bh__client_free(c);
    return NULL;
}

/* The socket's options, set before the first context is opened (contexts
 * copy them). Returns 0 or an NNG_ error. */
static int
bh__sock_setup(struct bh__ep *e)
{
    int rv;

    if ((rv = bh_nng_req_never_resend(e->sock)) != 0 ||
        (rv = nng_socket_set_size(e->sock, NNG_OPT_RECVMAXSZ, BH_RECV_MAX)) != 0 ||
        (rv = nng_socket_set_ms(e->sock, NNG_OPT_RECONNMINT, BH_RECONN_MIN_MS)) != 0 ||
        (rv = nng_socket_set_ms(e->sock, NNG_OPT_RECONNMAXT, BH_RECONN_MAX_MS)) != 0 ||
        (rv = nng_pipe_notify(e->sock, NNG_PIPE_EV_ADD_PRE, bh__pipe_cb, e)) != 0 ||
        (rv = nng_pipe_notify(e->sock, NNG_PIPE_EV_REM_POST, bh__pipe_cb, e)) != 0)
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

/* Opens e's socket and starts dialling, without blocking: an absent server
 * (or a failed TLS handshake) is retried in the background. tls is the
 * configuration of a TLS URL, else NULL. */
static int
bh__ep_open(struct bh__ep *e, nng_tls_config *tls, bh_status *st)
{
    int rv;

    if ((rv = nng_req0_open(&e->sock)) != 0)
        return bh__setup_fail(st, rv, e->url);
    e->sock_open = 1;
    if ((rv = bh__sock_setup(e)) != 0)
        return bh__setup_fail(st, rv, e->url);
    rv = nng_dialer_create(&e->dialer, e->sock, e->url);
    if (rv == 0 && tls != NULL)
        rv = nng_dialer_set_ptr(e->dialer, NNG_OPT_TLS_CONFIG, tls);
    if (rv == 0)
        rv = nng_dialer_start(e->dialer, NNG_FLAG_NONBLOCK);
    if (rv == NNG_EADDRINVAL || rv == NNG_EINVAL || rv == NNG_ENOTSUP)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "bad server URL \"%s\": %s (expected e.g. " BH_DEFAULT_URL
                        " or ipc:///path)",
                        e->url, nng_strerror(rv));
    if (rv != 0)
        return bh__setup_fail(st, rv, e->url);
    return BH_OK;
}

int
bh_client_open(bh_client **out, const bh_options *opts, bh_status *st)
{
    struct bh_client *c = NULL;
    struct bh__open p;
    nng_tls_config *tls = NULL;
    int rc = BH_OK;

    if (out == NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT, "bh_client_open: out is NULL");
    if ((rc = bh__open_opts(opts, &p, st)) != BH_OK)
        return rc;
    if ((c = bh__client_new(&p)) == NULL)
        return bh__oom(st);
    for (size_t i = 0; i < c->n_eps && rc == BH_OK; i++) {
        struct bh__ep *e = &c->eps[i];

        if (bh_tls_url(e->url)) {
            c->tls = 1;
            if ((rc = bh__tls_config(&p.o, e->url, &tls, st)) != BH_OK)
                break;
        }
        rc = bh__ep_open(e, tls, st);
        /* The dialer holds the configuration it was given. */
        if (tls != NULL)
            nng_tls_config_free(tls);
        tls = NULL;
    }
    if (rc != BH_OK) {
        bh__client_free(c);
        return rc;
    }
    *out = c;
    bh__ok(st, 0);
    return BH_OK;
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
bh__nng_err(bh_status *st, int rv, const char *what, const char *url)
{
    if (rv == NNG_ENOMEM)
        return bh__oom(st);
    if (rv == NNG_ECLOSED)
        return bh__fail(st, BH_CANCELLED, "client for %s was closed", url);
    return bh__fail(st, BH_UNAVAILABLE, "%s to %s failed: %s", what, url, nng_strerror(rv));
}

/* ---- slots ---- */

static void bh__io_cb(void *arg);

/* A context on e's socket: from its pool, or a new one. NULL on failure
 * (*rv says why). */
static struct bh__slot *
bh__slot_get(struct bh__ep *e, int *rv)
{
    struct bh_client *c = e->c;
    struct bh__slot *s;

    pthread_mutex_lock(&c->mtx);
    s = e->free_slots;
    if (s != NULL)
        e->free_slots = s->next;
    pthread_mutex_unlock(&c->mtx);
    if (s != NULL)
        return s;
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        *rv = NNG_ENOMEM;
        return NULL;
    }
    s->ep = e;
    if ((*rv = nng_aio_alloc(&s->aio, bh__io_cb, s)) != 0) {
        free(s);
        return NULL;
    }
    if ((*rv = nng_ctx_open(&s->ctx, e->sock)) != 0) {
        nng_aio_free(s->aio);
        free(s);
        return NULL;
    }
    return s;
}

/* k's slot, back to its pool after a clean exchange; else to the
 * graveyard, so that no context with a request still pending is ever
 * reused (its aio cannot be freed here: this may be its callback). */
static void
bh__slot_release(struct bh_call_handle *k, int clean)
{
    struct bh_client *c = k->c;
    struct bh__slot *s = k->slot;

    pthread_mutex_lock(&c->mtx);
    k->slot = NULL;
    s->call = NULL;
    if (clean) {
        s->next = s->ep->free_slots;
        s->ep->free_slots = s;
    } else {
        s->next = c->grave;
        c->grave = s;
    }
    pthread_mutex_unlock(&c->mtx);
}

/* Frees the graveyard's slots; not from our callbacks (nng_aio_free waits
 * for the aio's callback to return). */
static void
bh__sweep(struct bh_client *c)
{
    struct bh__slot *g;

    if (bh__in_cb)
        return;
    pthread_mutex_lock(&c->mtx);
    g = c->grave;
    c->grave = NULL;
    pthread_mutex_unlock(&c->mtx);
    for (struct bh__slot *next; g != NULL; g = next) {
        next = g->next;
        bh_nng_ctx_free(g->ctx, g->aio);
        free(g);
    }
}

/* ---- calls ---- */

static void bh__timer_cb(void *arg);

/* A call object: from the pool, or a new one. NULL when out of memory. */
static struct bh_call_handle *
bh__call_get(struct bh_client *c)
{
    struct bh_call_handle *k;

    pthread_mutex_lock(&c->mtx);
    k = c->free_calls;
    if (k != NULL)
        c->free_calls = k->next;
    pthread_mutex_unlock(&c->mtx);
    if (k != NULL)
        return k;
    if ((k = calloc(1, sizeof(*k))) == NULL)
        return NULL;
    if (pthread_cond_init(&k->cv, NULL) != 0) {
        free(k);
        return NULL;
    }
    if (nng_aio_alloc(&k->timer, bh__timer_cb, k) != 0) {
        pthread_cond_destroy(&k->cv);
        free(k);
        return NULL;
    }
    k->c = c;
    return k;
}

/* Under c->mtx. */
static void
bh__call_pool(struct bh_call_handle *k)
{
    k->next = k->c->free_calls;
    k->c->free_calls = k;
}

static void
bh__call_destroy(struct bh_call_handle *k)
{
    nng_aio_free(k->timer);
    pthread_cond_destroy(&k->cv);
    free(k->req);
    free(k);
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
        return bh__fail(st, BH_CANCELLED, "client for %s is closing", c->eps[0].url);
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

static const char *
bh__url(const struct bh_call_handle *k)
{
    return k->c->eps[k->ep_i].url;
}

static nng_duration
bh__left(const struct bh_call_handle *k)
{
    nng_time now = nng_clock();

    return now >= k->deadline ? 0 : (nng_duration)(k->deadline - now);
}

/* Takes c->mtx and returns 1 if k may start its next operation; else
 * (cancelled, or the client closing) sets k's status, lets go and returns
 * 0. Operations start under the lock, so that bh_call_cancel and
 * bh_client_close, which abort them under it, never miss one. */
static int
bh__lock_live(struct bh_call_handle *k)
{
    struct bh_client *c = k->c;
    int cancelled, closing;

    pthread_mutex_lock(&c->mtx);
    cancelled = k->cancelled;
    closing = c->closing;
    if (!cancelled && !closing)
        return 1;
    pthread_mutex_unlock(&c->mtx);
    if (closing)
        bh__fail(&k->st, BH_CANCELLED, "%s: client for %s was closed during the call", k->method,
                 bh__url(k));
    else
        bh__fail(&k->st, BH_CANCELLED, "%s: cancelled by the caller", k->method);
    return 0;
}

/* Runs the callback and lets the call go: the end of every call. */
static void
bh__complete(struct bh_call_handle *k)
{
    struct bh_client *c = k->c;
    bh_call_result r = {
        .status = &k->st,
        .info = &k->info,
        .resp = k->resp,
        .raw = k->raw,
        .raw_len = k->raw_len,
        .handle = k,
    };

    k->cb(k->arg, &r);
    if (r.resp != NULL && k->arena == NULL)
        protobuf_c_message_free_unpacked(r.resp, NULL);
    free(r.raw);
    k->resp = NULL;
    k->raw = NULL;
    free(k->method);
    k->method = NULL;
    free(k->token);
    k->token = NULL;

    pthread_mutex_lock(&c->mtx);
    if (k->bprev != NULL)
        k->bprev->bnext = k->bnext;
    else
        c->busy = k->bnext;
    if (k->bnext != NULL)
        k->bnext->bprev = k->bprev;
    k->bprev = k->bnext = NULL;
    k->done = 1;
    pthread_cond_broadcast(&k->cv);
    if (--k->refs == 0)
        bh__call_pool(k);
    if (--c->inflight == 0 && c->closing)
        pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mtx);
}

/* Ends the call with the status in k->st. The callback never runs on the
 * thread inside bh_call_async: from there it goes through the timer. */
static void
bh__finish(struct bh_call_handle *k)
{
    if (atomic_load(&k->in_submit)) {
        k->state = BH__FINISH;
        nng_sleep_aio(0, k->timer);
        return;
    }
    bh__complete(k);
}

static void bh__attempt(struct bh_call_handle *k);

/* Arms k's timer for ms in state s, unless k may not go on. */
static int
bh__timer_arm(struct bh_call_handle *k, enum bh__state s, nng_duration ms)
{
    if (!bh__lock_live(k))
        return 0;
    k->state = s;
    nng_sleep_aio(ms, k->timer);
    pthread_mutex_unlock(&k->c->mtx);
    return 1;
}

/*
 * Whether a try that failed with code may be made again: a request that
 * never went out always; one that did only if the server is sure to apply
 * it once (a read, or a call with an idempotency key). DEADLINE_EXCEEDED
 * only with a key (the deadline then bounds it).
 */
static int
bh__retryable(const struct bh_call_handle *k, int code, int sent)
{
    if (code == BH_UNAVAILABLE)
        return !sent || !k->safe_unsent_only;
    if (code == BH_DEADLINE_EXCEEDED)
        return k->key[0] != '\0';
    return 0;
}

/* A try failed (k->st says how): on to the next URL, a retry after a
 * backoff, or the end of the call. */
static void
bh__attempt_failed(struct bh_call_handle *k, int sent, int clean)
{
    nng_duration d, wait;
    unsigned char r[4];

    if (k->slot != NULL)
        bh__slot_release(k, clean);
    if (k->msg != NULL) {
        nng_msg_free(k->msg);
        k->msg = NULL;
    }
    if (!bh__retryable(k, k->st.code, sent)) {
        bh__finish(k);
        return;
    }
    if ((size_t)k->ep_i + 1 < k->c->n_eps) {
        k->ep_i++;
        bh__attempt(k);
        return;
    }
    if (k->retries_left == 0) {
        bh__finish(k);
        return;
    }
    d = k->backoff_ms;
    bh__random(r, sizeof(r));
    wait = d / 2 + (nng_duration)(((uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 |
                                   (uint32_t)r[2] << 8 | r[3]) %
                                  (uint32_t)(d - d / 2));
    k->backoff_ms = d * 2 < BH_BACKOFF_MAX_MS ? d * 2 : BH_BACKOFF_MAX_MS;
    if (wait >= bh__left(k)) { /* no time for another try: the last error stands */
        bh__finish(k);
        return;
    }
    k->retries_left--;
    k->ep_i = 0;
    if (!bh__timer_arm(k, BH__BACKOFF, wait))
        bh__finish(k);
}

/* The request envelope around the payload, packed into k->msg. */
static int
bh__envelope(struct bh_call_handle *k)
{
    Bilheteria__V1__RequestEnvelope env = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    struct bh_client *c = k->c;
    nng_duration left = bh__left(k);
    nng_msg *msg;
    int rv;

    k->info.request_id = bh__next_id(c);
    /* protobuf-c only reads these through pack; the casts drop const. */
    env.method = k->method;
    env.request_id = k->info.request_id;
    /* The first try carries the whole deadline; a retry what is left. */
    env.timeout_ms = (uint32_t)(k->info.attempts == 1 ? k->timeout_ms : left > 0 ? left : 1);
    if (k->token != NULL)
        env.auth_token = k->token;
    else if (c->auth_token != NULL)
        env.auth_token = c->auth_token;
    if (k->key[0] != '\0')
        env.idempotency_key = k->key;
    env.traceparent = k->traceparent;
    env.payload.data = k->req;
    env.payload.len = k->req_len;

    if ((rv = nng_msg_alloc(&msg, protobuf_c_message_get_packed_size(&env.base))) != 0)
        return bh__nng_err(&k->st, rv, "call", bh__url(k));
    protobuf_c_message_pack(&env.base, nng_msg_body(msg));
    k->msg = msg;
    return BH_OK;
}

static void
bh__unreachable(struct bh_call_handle *k, int timed_out)
{
    const char *tls = k->c->tls ? "; or the TLS handshake failed: a server certificate not "
                                  "signed by tls_ca_file or not for the expected name, or a "
                                  "client certificate the server wants and did not get"
                                : "";

    if (timed_out)
        bh__fail(&k->st, BH_UNAVAILABLE,
                 "cannot reach server at %s: no connection within %d ms (no "
                 "listener, refused, or slower to connect than the deadline%s)",
                 bh__url(k), (int)k->timeout_ms, tls);
    else
        bh__fail(&k->st, BH_UNAVAILABLE,
                 "cannot reach server at %s: connecting failed (no listener, or "
                 "refused%s); failing fast: set wait_for_ready to wait for it",
                 bh__url(k), tls);
}

/* Sends k->msg on a context of the try's endpoint, within what is left of
 * the deadline. */
static void
bh__send(struct bh_call_handle *k)
{
    struct bh__ep *e = &k->c->eps[k->ep_i];
    struct bh__slot *s;
    int rv;

    if ((s = bh__slot_get(e, &rv)) == NULL) {
        bh__nng_err(&k->st, rv, "call", e->url);
        bh__attempt_failed(k, 0, 0);
        return;
    }
    if (!bh__lock_live(k)) {
        k->slot = s;
        s->call = k;
        bh__attempt_failed(k, 0, 1); /* unused: back to the pool */
        return;
    }
    k->slot = s;
    s->call = k;
    k->state = BH__SEND;
    k->try_start = nng_clock();
    k->try_timeout = bh__left(k) > 0 ? bh__left(k) : 1;
    nng_aio_set_timeout(s->aio, k->try_timeout);
    nng_aio_set_msg(s->aio, k->msg);
    nng_ctx_send(s->ctx, s->aio);
    pthread_mutex_unlock(&k->c->mtx);
}

/* One try: the envelope, then a connection to send on. Without one, fail
 * fast if the endpoint's last connection attempt failed, else wait (poll)
 * for a connection or a failed attempt; wait_for_ready just sends: nng
 * holds the request until a connection comes or the deadline passes. */
static void
bh__attempt(struct bh_call_handle *k)
{
    struct bh__ep *e = &k->c->eps[k->ep_i];

    k->info.attempts++;
    k->info.url_index = k->ep_i;
    if (bh__envelope(k) != BH_OK) {
        bh__finish(k);
        return;
    }
    if (atomic_load(&e->pipes) > 0 || k->wait_for_ready) {
        bh__send(k);
        return;
    }
    if (atomic_load(&e->down)) {
        bh__unreachable(k, 0);
        bh__attempt_failed(k, 0, 0);
        return;
    }
    k->fails0 = bh__dial_failures(e);
    k->poll_ms = 1;
    if (!bh__timer_arm(k, BH__POLL, 1))
        bh__attempt_failed(k, 0, 0);
}

/* A tick of the wait for a connection. */
static void
bh__poll(struct bh_call_handle *k)
{
    struct bh__ep *e = &k->c->eps[k->ep_i];
    nng_duration left;

    if (atomic_load(&e->pipes) > 0) {
        bh__send(k);
        return;
    }
    if (bh__dial_failures(e) > k->fails0) {
        atomic_store(&e->down, 1);
        bh__unreachable(k, 0);
        bh__attempt_failed(k, 0, 0);
        return;
    }
    if ((left = bh__left(k)) == 0) {
        bh__unreachable(k, 1);
        bh__attempt_failed(k, 0, 0);
        return;
    }
    k->poll_ms = k->poll_ms * 2 < BH_CONNECT_POLL_MAX_MS ? k->poll_ms * 2 : BH_CONNECT_POLL_MAX_MS;
    if (!bh__timer_arm(k, BH__POLL, k->poll_ms < left ? k->poll_ms : left))
        bh__attempt_failed(k, 0, 0);
}

static void
bh__timer_cb(void *arg)
{
    struct bh_call_handle *k = arg;
    int rv = nng_aio_result(k->timer);
    int prev = bh__in_cb;

    bh__in_cb = 1;
    if (k->state == BH__FINISH) {
        bh__complete(k); /* its status is set: an abort changes nothing */
    } else if (rv != 0) {
        if (bh__lock_live(k)) { /* cancelled only through those two */
            pthread_mutex_unlock(&k->c->mtx);
            bh__nng_err(&k->st, rv, "call", bh__url(k));
        }
        bh__attempt_failed(k, 0, 0);
    } else if (k->state == BH__BACKOFF) {
        bh__attempt(k);
    } else {
        bh__poll(k);
    }
    bh__in_cb = prev;
}

/* The answer's envelope, unpacked into k->ea; BH_OK only for this call's
 * id and an OK status, with the response in k->resp or k->raw; else the
 * server's status and message (and the field it names). */
static int
bh__decode(struct bh_call_handle *k, nng_msg *msg)
{
    Bilheteria__V1__ResponseEnvelope *rep;
    bh__alloc_state as = { 0 };
    ProtobufCAllocator heap = { bh__pb_alloc, bh__pb_free, &as };
    bh_status *st = &k->st;
    int code, rc;

    bh_arena_init(&k->ea, k->ebuf, sizeof(k->ebuf));
    rep = (Bilheteria__V1__ResponseEnvelope *)protobuf_c_message_unpack(
        &bilheteria__v1__response_envelope__descriptor, &k->ea.pc, nng_msg_len(msg),
        nng_msg_body(msg));
    if (rep == NULL) {
        rc = k->ea.oom ? bh__oom(st)
                       : bh__fail(st, BH_INTERNAL, "malformed response from server (%s, %zu bytes)",
                                  k->method, nng_msg_len(msg));
        goto out;
    }
    /* A server that could not read the request (malformed or oversized)
     * cannot echo its id; it answers 0 with an error status. */
    if (rep->request_id != k->info.request_id && !(rep->request_id == 0 && rep->status != 0)) {
        rc = bh__fail(st, BH_INTERNAL,
                      "malformed response from server: request_id %llu, "
                      "expected %llu (%s)",
                      (unsigned long long)rep->request_id, (unsigned long long)k->info.request_id,
                      k->method);
        goto out;
    }
    snprintf(k->info.field, sizeof(k->info.field), "%s", rep->field != NULL ? rep->field : "");
    code = (int)rep->status;
    if (code != BH_OK) {
        if (code < 0 || code > BH_UNAUTHENTICATED)
            rc = bh__fail(st, BH_UNKNOWN, "server returned status %d: %s", code, rep->message);
        else if (rep->message[0] == '\0')
            rc = bh__fail(st, code, "%s: server returned %s", k->method, bh_code_name(code));
        else
            rc = bh__fail(st, code, "%s", rep->message);
        st->replayed = rep->replayed ? 1 : 0;
        goto out;
    }
    if (k->resp_desc == NULL) {
        k->raw = malloc(rep->payload.len > 0 ? rep->payload.len : 1);
        if (k->raw == NULL) {
            rc = bh__oom(st);
            goto out;
        }
        if (rep->payload.len > 0)
            memcpy(k->raw, rep->payload.data, rep->payload.len);
        k->raw_len = rep->payload.len;
    } else {
        /* Without an arena: the same malloc/free as the NULL allocator, so
         * the caller may free with protobuf_c_message_free_unpacked(msg,
         * NULL). */
        if (k->arena != NULL)
            k->arena->oom = 0;
        k->resp = protobuf_c_message_unpack(k->resp_desc, k->arena != NULL ? &k->arena->pc : &heap,
                                            rep->payload.len, rep->payload.data);
        if (k->resp == NULL) {
            rc = (k->arena != NULL ? k->arena->oom : as.oom)
                     ? bh__oom(st)
                     : bh__fail(st, BH_INTERNAL, "malformed %s payload from server (%s, %zu bytes)",
                                k->resp_desc->name, k->method, rep->payload.len);
            goto out;
        }
    }
    bh__ok(st, rep->replayed ? 1 : 0);
    rc = BH_OK;
out:
    bh_arena_fini(&k->ea);
    return rc;
}

/* The request went out (rv 0): receive the answer. Or it did not. */
static void
bh__sent(struct bh_call_handle *k, int rv)
{
    struct bh__slot *s = k->slot;

    if (rv == 0) {
        k->msg = NULL; /* nng's now */
        if (!bh__lock_live(k)) {
            bh__attempt_failed(k, 1, 0);
            return;
        }
        k->state = BH__RECV;
        nng_aio_set_timeout(s->aio, bh__left(k) > 0 ? bh__left(k) : 1);
        nng_ctx_recv(s->ctx, s->aio);
        pthread_mutex_unlock(&k->c->mtx);
        return;
    }
    k->msg = nng_aio_get_msg(s->aio); /* still ours */
    if (!bh__lock_live(k)) {
        /* k->st says CANCELLED */
    } else {
        pthread_mutex_unlock(&k->c->mtx);
        if (rv == NNG_ETIMEDOUT && atomic_load(&s->ep->pipes) == 0)
            bh__unreachable(k, 1);
        else if (rv == NNG_ETIMEDOUT)
            bh__fail(&k->st, BH_DEADLINE_EXCEEDED, "%s: request not sent to %s within %d ms",
                     k->method, bh__url(k), (int)k->timeout_ms);
        else
            bh__nng_err(&k->st, rv, k->method, bh__url(k));
    }
    bh__attempt_failed(k, 0, 0);
}

/* The answer came (rv 0), or not. */
static void
bh__recv(struct bh_call_handle *k, int rv)
{
    struct bh__slot *s = k->slot;

    if (rv == 0) {
        nng_msg *msg = nng_aio_get_msg(s->aio);
        int clean = bh_nng_ctx_reusable((nng_duration)(nng_clock() - k->try_start), k->try_timeout);
        int rc = bh__decode(k, msg);

        nng_msg_free(msg);
        bh__slot_release(k, clean);
        /* The server's own UNAVAILABLE (its disk failed, say) is its
         * answer to this request, not a lost connection: not retried. */
        if (rc == BH_OK || rc == BH_UNAVAILABLE || !bh__retryable(k, rc, 1))
            bh__finish(k);
        else
            bh__attempt_failed(k, 1, clean);
        return;
    }
    if (rv == NNG_ETIMEDOUT)
        atomic_store(&s->ep->last_timeout, nng_clock());
    /* Closing drops the pipes first, which reads as a lost connection. */
    if (bh__lock_live(k)) {
        pthread_mutex_unlock(&k->c->mtx);
        if (rv == NNG_ETIMEDOUT)
            bh__fail(&k->st, BH_DEADLINE_EXCEEDED, "%s: no answer from %s within %d ms", k->method,
                     bh__url(k), (int)k->timeout_ms);
        else if (rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT)
            bh__fail(&k->st, BH_UNAVAILABLE,
                     "%s: connection to %s was lost before the answer "
                     "came; the call may or may not have taken effect",
                     k->method, bh__url(k));
        else
            bh__nng_err(&k->st, rv, k->method, bh__url(k));
    }
    bh__attempt_failed(k, 1, 0);
}

static void
bh__io_cb(void *arg)
{
    struct bh__slot *s = arg;
    struct bh_call_handle *k = s->call;
    int rv = nng_aio_result(s->aio);
    int prev = bh__in_cb;

    bh__in_cb = 1;
    if (k->state == BH__SEND)
        bh__sent(k, rv);
    else
        bh__recv(k, rv);
    bh__in_cb = prev;
}

/* ---- calls: the public side ---- */

/* The call's arguments and options, checked before anything is sent; *o
 * is opts with the size rules applied. */
static int
bh__call_check(const char *method, const uint8_t *req, size_t len, const bh_call_options *opts,
               bh_call_options *o, bh_status *st)
{
    int rc;

    if (method == NULL || method[0] == '\0')
        return bh__fail(st, BH_INVALID_ARGUMENT, "method name is empty");
    if (req == NULL && len != 0)
        return bh__fail(st, BH_INVALID_ARGUMENT, "request payload is NULL but len is %zu", len);
    if (opts == NULL) {
        memset(o, 0, sizeof(*o));
        return BH_OK;
    }
    if ((rc = bh__copy_sized(o, sizeof(*o), opts, opts->size, BH__CALL_OPTIONS_SIZE0,
                             "bh_call_options", st)) != BH_OK)
        return rc;
    if (o->timeout_ms < 0)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "timeout_ms is %d; it must be > 0 (or 0 for the client's)",
                        (int)o->timeout_ms);
    if (o->max_retries > BH_MAX_RETRIES_MAX)
        return bh__fail(st, BH_INVALID_ARGUMENT, "max_retries is %d; the limit is %d",
                        (int)o->max_retries, BH_MAX_RETRIES_MAX);
    if (o->wait_for_ready < -1 || o->wait_for_ready > 1)
        return bh__fail(st, BH_INVALID_ARGUMENT, "wait_for_ready is %d; it must be -1, 0 or 1",
                        o->wait_for_ready);
    if (o->traceparent != NULL && !bh__traceparent_ok(o->traceparent))
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "traceparent \"%.64s\" is not a W3C traceparent of version 00 "
                        "(00-<32 hex>-<16 hex>-<2 hex>, lowercase, ids not all zero)",
                        o->traceparent);
    if (o->idempotency_key != NULL) {
        size_t klen = strnlen(o->idempotency_key, BH_IDEMPOTENCY_KEY_MAX + 1);

        if (klen == 0 || klen > BH_IDEMPOTENCY_KEY_MAX)
            return bh__fail(st, BH_INVALID_ARGUMENT,
                            "idempotency key is %s%d bytes; it must be 1..%d "
                            "bytes (or NULL for none)",
                            klen == 0 ? "" : "more than ", klen == 0 ? 0 : BH_IDEMPOTENCY_KEY_MAX,
                            BH_IDEMPOTENCY_KEY_MAX);
    }
    return BH_OK;
}

/* This call's token from the client's auth_token_fn; k->token stays NULL
 * for none. */
static int
bh__token(struct bh_call_handle *k, bh_status *st)
{
    char buf[BH_AUTH_TOKEN_MAX + 1];
    int n;

    buf[0] = '\0';
    n = k->c->token_fn(k->c->token_arg, buf, sizeof(buf));
    if (n < 0)
        return bh__fail(st, BH_UNAUTHENTICATED,
                        "%s: auth_token_fn returned %d: no token for this call; nothing was sent",
                        k->method, n);
    if ((size_t)n >= sizeof(buf))
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "auth_token_fn's token is %d bytes; the limit is %d (BH_AUTH_TOKEN_MAX)", n,
                        BH_AUTH_TOKEN_MAX);
    buf[n] = '\0'; /* the length it returned is the one sent */
    if (n > 0 && (k->token = bh__strdup(buf)) == NULL)
        return bh__oom(st);
    return BH_OK;
}

/* The request payload into k->req: msg packed, or req's len bytes. */
static int
bh__payload(struct bh_call_handle *k, const ProtobufCMessage *msg, const uint8_t *req, size_t len)
{
    if (msg != NULL)
        len = protobuf_c_message_get_packed_size(msg);
    if (len > k->req_cap || k->req == NULL) {
        uint8_t *p = malloc(len > 0 ? len : 1);

        if (p == NULL)
            return BH_RESOURCE_EXHAUSTED;
        free(k->req);
        k->req = p;
        k->req_cap = len > 0 ? len : 1;
    }
    if (msg != NULL)
        protobuf_c_message_pack(msg, k->req);
    else if (len > 0)
        memcpy(k->req, req, len);
    k->req_len = len;
    return BH_OK;
}

/* k, fresh from the pool, set up for the call (o checked). */
static int
bh__call_setup(struct bh_call_handle *k, const char *method, const ProtobufCMessage *msg,
               const uint8_t *req, size_t len, const ProtobufCMessageDescriptor *resp_desc,
               const bh_call_options *o, bh_status *st)
{
    struct bh_client *c = k->c;
    const bh_method_rules *rules = bh_find_method_rules(method);
    int retries = o->max_retries == 0 ? c->max_retries : o->max_retries < 0 ? 0 : o->max_retries;
    int rc;

    k->state = BH__IDLE;
    k->resp_desc = resp_desc;
    k->arena = o->arena;
    k->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : c->timeout_ms;
    k->retries_left = retries;
    k->wait_for_ready = o->wait_for_ready == 0 ? c->wait_for_ready : o->wait_for_ready > 0;
    k->ep_i = 0;
    k->slot = NULL;
    k->msg = NULL;
    k->backoff_ms = BH_BACKOFF_FIRST_MS;
    k->resp = NULL;
    k->raw = NULL;
    k->raw_len = 0;
    k->token = NULL;
    memset(&k->st, 0, sizeof(k->st));
    memset(&k->info, 0, sizeof(k->info));
    k->info.size = sizeof(k->info);
    if ((k->method = bh__strdup(method)) == NULL || bh__payload(k, msg, req, len) != BH_OK)
        return bh__oom(st);
    /* A write without a key gets one when it may be retried: made once
     * here, sent with every try. */
    k->key[0] = '\0';
    if (o->idempotency_key != NULL)
        snprintf(k->key, sizeof(k->key), "%s", o->idempotency_key);
    else if (retries > 0 && rules != NULL && rules->writes && !rules->idempotency_key_required)
        bh_idempotency_key_new(k->key);
    k->safe_unsent_only = k->key[0] == '\0' && (rules == NULL || rules->writes);
    snprintf(k->info.idempotency_key, sizeof(k->info.idempotency_key), "%s", k->key);
    if (o->traceparent != NULL)
        snprintf(k->traceparent, sizeof(k->traceparent), "%s", o->traceparent);
    else
        bh__traceparent_new(k->traceparent);
    snprintf(k->info.trace_id, sizeof(k->info.trace_id), "%.32s", k->traceparent + 3);
    if (c->token_fn != NULL && (rc = bh__token(k, st)) != BH_OK)
        return rc;
    k->deadline = nng_clock() + (nng_time)k->timeout_ms;
    return BH_OK;
}

/* The one way a call starts: checks, sets up and starts it; cb runs once
 * if this returns BH_OK. */
static int
bh__submit(bh_client *c, const char *method, const ProtobufCMessage *msg, const uint8_t *req,
           size_t len, const ProtobufCMessageDescriptor *resp_desc, const bh_call_options *opts,
           bh_call_cb cb, void *arg, bh_call_handle **out, bh_status *st)
{
    struct bh_call_handle *k;
    bh_call_options o;
    int rc;

    if ((rc = bh__call_check(method, msg != NULL ? (const uint8_t *)"" : req, len, opts, &o, st)) !=
        BH_OK)
        return rc;
    if ((rc = bh__enter(c, st)) != BH_OK)
        return rc;
    if ((k = bh__call_get(c)) == NULL) {
        bh__leave(c);
        return bh__oom(st);
    }
    if ((rc = bh__call_setup(k, method, msg, req, len, resp_desc, &o, st)) != BH_OK) {
        free(k->method);
        k->method = NULL;
        free(k->token);
        k->token = NULL;
        pthread_mutex_lock(&c->mtx);
        bh__call_pool(k);
        pthread_mutex_unlock(&c->mtx);
        bh__leave(c);
        return rc;
    }
    k->cb = cb;
    k->arg = arg;
    pthread_mutex_lock(&c->mtx);
    k->refs = out != NULL ? 2 : 1;
    k->done = 0;
    k->cancelled = 0;
    k->bprev = NULL;
    k->bnext = c->busy;
    if (c->busy != NULL)
        c->busy->bprev = k;
    c->busy = k;
    pthread_mutex_unlock(&c->mtx);

    /* Before the call starts: once it has, its callback may already be
     * filling the blocking caller's st. */
    bh__ok(st, 0);
    atomic_store(&k->in_submit, 1);
    bh__attempt(k);
    atomic_store(&k->in_submit, 0);
    if (out != NULL)
        *out = k;
    bh__sweep(c);
    return BH_OK;
}

void
bh_call_cancel(bh_call_handle *k)
{
    struct bh_client *c;

    if (k == NULL)
        return;
    c = k->c;
    pthread_mutex_lock(&c->mtx);
    if (!k->done && !k->cancelled) {
        k->cancelled = 1;
        nng_aio_abort(k->timer, NNG_ECANCELED);
        if (k->slot != NULL)
            nng_aio_abort(k->slot->aio, NNG_ECANCELED);
    }
    pthread_mutex_unlock(&c->mtx);
}

void
bh_call_wait(bh_call_handle *k)
{
    struct bh_client *c = k->c;

    pthread_mutex_lock(&c->mtx);
    while (!k->done)
        pthread_cond_wait(&k->cv, &c->mtx);
    pthread_mutex_unlock(&c->mtx);
}

void
bh_call_release(bh_call_handle *k)
{
    struct bh_client *c;

    if (k == NULL)
        return;
    c = k->c;
    pthread_mutex_lock(&c->mtx);
    if (--k->refs == 0)
        bh__call_pool(k);
    pthread_mutex_unlock(&c->mtx);
}

int
bh_call_async(bh_client *c, const char *method, const ProtobufCMessage *req,
              const bh_call_options *opts, bh_call_cb cb, void *arg, bh_call_handle **out,
              bh_status *st)
{
    const ProtobufCMethodDescriptor *m;

    if (c == NULL || req == NULL || cb == NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "bh_call_async: client, req and cb must not be NULL");
    if (method == NULL || (m = bh_find_method(method, NULL)) == NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "%s is no method of bilheteria's services (bh_call_raw_async "
                        "calls any)",
                        method != NULL ? method : "(null)");
    if (m->input != req->descriptor)
        return bh__fail(st, BH_INVALID_ARGUMENT, "%s takes %s; got %s", method, m->input->name,
                        req->descriptor->name);
    return bh__submit(c, method, req, NULL, 0, m->output, opts, cb, arg, out, st);
}

int
bh_call_raw_async(bh_client *c, const char *method, const uint8_t *req, size_t len,
                  const bh_call_options *opts, bh_call_cb cb, void *arg, bh_call_handle **out,
                  bh_status *st)
{
    if (c == NULL || cb == NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "bh_call_raw_async: client and cb must not be NULL");
    return bh__submit(c, method, NULL, req, len, NULL, opts, cb, arg, out, st);
}

/* ---- blocking calls: an asynchronous call and a wait ---- */

struct bh__waiter {
    int code;
    bh_status *st;
    ProtobufCMessage **resp;
    uint8_t **raw;
    size_t *raw_len;
    bh_call_info *info;
};

/* Copies what fits of the library's info into the caller's (its size). */
static void
bh__info_copy(bh_call_info *dst, const bh_call_info *src)
{
    size_t n = dst->size < sizeof(*src) ? dst->size : sizeof(*src);

    if (n > sizeof(dst->size))
        memcpy((char *)dst + sizeof(dst->size), (const char *)src + sizeof(src->size),
               n - sizeof(dst->size));
}

static void
bh__sync_cb(void *arg, bh_call_result *r)
{
    struct bh__waiter *w = arg;

    w->code = r->status->code;
    if (w->st != NULL)
        *w->st = *r->status;
    if (w->info != NULL)
        bh__info_copy(w->info, r->info);
    if (w->code != BH_OK)
        return;
    if (w->resp != NULL) {
        *w->resp = r->resp;
        r->resp = NULL;
    } else {
        *w->raw = r->raw;
        *w->raw_len = r->raw_len;
        r->raw = NULL;
    }
}

static int
bh__call_sync(bh_client *c, const char *method, const ProtobufCMessage *msg, const uint8_t *req,
              size_t len, const ProtobufCMessageDescriptor *resp_desc, const bh_call_options *o,
              struct bh__waiter *w)
{
    bh_call_handle *h;
    int rc;

    if (bh__in_cb)
        return bh__fail(w->st, BH_FAILED_PRECONDITION,
                        "%s: a blocking call from a bh_call_cb would stall nng's thread; "
                        "use bh_call_async there",
                        method != NULL ? method : "call");
    w->info = o != NULL && o->size >= BH__CALL_OPTIONS_SIZE0 ? o->info : NULL;
    if ((rc = bh__submit(c, method, msg, req, len, resp_desc, o, bh__sync_cb, w, &h, w->st)) !=
        BH_OK)
        return rc;
    bh_call_wait(h);
    bh_call_release(h);
    bh__sweep(c);
    return w->code;
}

/* The frozen per-call options as the newer ones. */
static const bh_call_options *
bh__opts_of(const bh_call_opts *opts, bh_call_options *o)
{
    if (opts == NULL)
        return NULL;
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
    o->idempotency_key = opts->idempotency_key;
    o->timeout_ms = opts->timeout_ms;
    o->arena = opts->arena;
    return o;
}

static int
bh__typed(bh_client *c, const char *method, const ProtobufCMessage *req,
          const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
          const bh_call_options *o, bh_status *st)
{
    struct bh__waiter w = { .st = st, .resp = resp };
    const ProtobufCMethodDescriptor *m;

    if (c == NULL || req == NULL || resp == NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "bh_call: client, req, resp_desc and resp must not be NULL");
    m = method != NULL ? bh_find_method(method, NULL) : NULL;
    if (resp_desc == NULL && m == NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "%s is no method of bilheteria's services (bh_call_raw_ex calls any)",
                        method != NULL ? method : "(null)");
    if (resp_desc == NULL)
        resp_desc = m->output;
    /* Catch a mismatched request or response type before it goes out. */
    if (m != NULL && (m->input != req->descriptor || m->output != resp_desc))
        return bh__fail(st, BH_INVALID_ARGUMENT, "%s takes %s and returns %s; got %s and %s",
                        method, m->input->name, m->output->name, req->descriptor->name,
                        resp_desc->name);
    return bh__call_sync(c, method, req, NULL, 0, resp_desc, o, &w);
}

static int
bh__raw(bh_client *c, const char *method, const uint8_t *req, size_t len, uint8_t **resp,
        size_t *resp_len, const bh_call_options *o, bh_status *st)
{
    struct bh__waiter w = { .st = st, .raw = resp, .raw_len = resp_len };

    if (c == NULL || resp == NULL || resp_len == NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "bh_call_raw: client, resp and resp_len must not be NULL");
    return bh__call_sync(c, method, NULL, req, len, NULL, o, &w);
}

int
bh_call(bh_client *c, const char *method, const ProtobufCMessage *req,
        const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
        const bh_call_opts *opts, bh_status *st)
{
    bh_call_options o;

    if (resp_desc == NULL)
        return bh__fail(st, BH_INVALID_ARGUMENT,
                        "bh_call: client, req, resp_desc and resp must not be NULL");
    return bh__typed(c, method, req, resp_desc, resp, bh__opts_of(opts, &o), st);
}

int
bh_call_ex(bh_client *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
           const bh_call_options *opts, bh_status *st)
{
    return bh__typed(c, method, req, NULL, resp, opts, st);
}

int
bh_call_raw(bh_client *c, const char *method, const uint8_t *req, size_t len, uint8_t **resp,
            size_t *resp_len, const bh_call_opts *opts, bh_status *st)
{
    bh_call_options o;

    return bh__raw(c, method, req, len, resp, resp_len, bh__opts_of(opts, &o), st);
}

int
bh_call_raw_ex(bh_client *c, const char *method, const uint8_t *req, size_t len, uint8_t **resp,
               size_t *resp_len, const bh_call_options *opts, bh_status *st)
{
    return bh__raw(c, method, req, len, resp, resp_len, opts, st);
}

/* ---- close ---- */

/* Ends the calls in flight: their operations aborted (a call between two
 * operations sees the client closing when it starts the next), and waited
 * for, callbacks included. */
static void
bh__drain(void *arg)
{
    struct bh_client *c = arg;

    pthread_mutex_lock(&c->mtx);
    for (struct bh_call_handle *k = c->busy; k != NULL; k = k->bnext) {
        nng_aio_abort(k->timer, NNG_ECLOSED);
        if (k->slot != NULL)
            nng_aio_abort(k->slot->aio, NNG_ECLOSED);
    }
    while (c->inflight > 0)
        pthread_cond_wait(&c->cv, &c->mtx);
    pthread_mutex_unlock(&c->mtx);
    /* Before the sockets close: a graveyard context's aio may still be
     * expiring (nng_compat.h's BH_NNG_CTX_EXPIRE_RACE), so each goes the
     * way bh_nng_ctx_free takes, not with its socket. */
    bh__sweep(c);
}

/* The rest of a close, from the sockets' on; possibly on a thread of its
 * own (see bh_client_close). */
static void
bh__close_rest(void *arg)
{
    struct bh_client *c = arg;

    for (size_t i = 0; i < c->n_eps; i++) {
        struct bh__ep *e = &c->eps[i];

        if (e->sock_open)
            bh_nng_close_drained(e->sock, i == 0 ? bh__drain : NULL, c);
        e->sock_open = 0;
        /* Their contexts closed with the socket. */
        for (struct bh__slot *s = e->free_slots, *next; s != NULL; s = next) {
            next = s->next;
            nng_aio_free(s->aio);
            free(s);
        }
    }
    bh__sweep(c); /* what calls ended after the drain left */
    for (struct bh_call_handle *k = c->free_calls, *next; k != NULL; k = next) {
        next = k->next;
        bh__call_destroy(k);
    }
    bh__client_free(c);
}

void
bh_client_close(bh_client *c)
{
    nng_time last = 0;

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mtx);
    c->closing = 1;
    pthread_mutex_unlock(&c->mtx);

    /* nng_close can hang (see proto/compat/nng_compat.c): let the answers
     * of timed-out calls land first, and should it hang all the same, stop
     * waiting after BH_CLOSE_WAIT_MS, leaving the client to the close
     * (freed if nng ever returns, else leaked). */
    for (size_t i = 0; i < c->n_eps; i++)
        if (atomic_load(&c->eps[i].last_timeout) > last)
            last = atomic_load(&c->eps[i].last_timeout);
    bh_nng_close_settle(last);
    bh_nng_run_bounded(bh__close_rest, c, BH_CLOSE_WAIT_MS);
}
