/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libbilheteria: the C client of the Bilheteria box-office service.
 *
 * A client holds one nng REQ socket per server URL (one, or several tried
 * in order: a standby). Every call in flight uses an nng context of its
 * own on that socket, so one bh_client serves many calls at once: from
 * many threads (bh_call, blocking), or from one (bh_call_async, with a
 * callback). A blocking call is an asynchronous call plus a wait. Every
 * call is bounded by a deadline, retries included: it never runs past it.
 *
 * Typed functions, one per RPC (bh_event_create_event, ...), are generated
 * at build time from the service descriptors into
 * <bilheteria/bilheteria_api.h>, which this header includes.
 *
 * Errors: every call returns a gRPC status code (BH_OK = 0) and, if st is not
 * NULL, fills *st with the code and a message saying what was wrong.
 * Transport failures map to codes too: an unreachable server is
 * BH_UNAVAILABLE, a call that ran out of time is BH_DEADLINE_EXCEEDED.
 * More about a call (its request id, trace id, the field an error is
 * about) is in a bh_call_info, for callers that ask for one.
 *
 * Fail fast: a call to a server that refuses connections or cannot be
 * reached fails with BH_UNAVAILABLE as soon as the connection attempt
 * fails (gRPC's default), not at its deadline; wait_for_ready waits for
 * the server until the deadline instead.
 *
 * Retries: a call that fails with BH_UNAVAILABLE because the server could
 * not be reached or the connection dropped is retried, with jittered
 * exponential backoff (50 ms doubling to 1 s, each wait drawn from its
 * upper half) and within its deadline, when that is safe: the request never
 * went out, or the method only reads, or the call carries an idempotency
 * key (such a call is retried after BH_DEADLINE_EXCEEDED too, while its
 * deadline leaves time). An UNAVAILABLE the server answered itself (its
 * disk failed) is its answer, not retried. A mutating call without a key
 * gets one automatically, made once per call and sent with every retry of
 * it, so the server applies it once (Stripe's SDKs do the same); except
 * methods whose rules require a key (ConfirmPayment): their key must come
 * from the caller, who keeps it across its own restarts
 * (bh_idempotency_key_new). max_retries bounds the retries. The library turns off nng's own REQ
 * resend (NNG_OPT_REQ_RESENDTIME): only these rules ever send a request again.
 *
 * Out of memory: the library returns BH_RESOURCE_EXHAUSTED with the message
 * "out of memory"; it never aborts.
 *
 * ABI and SONAME: the shared library is libbilheteria.so.N, N =
 * BH_SOVERSION. N goes up with any change that breaks a program built
 * against the previous N (a struct whose layout changes, a function whose
 * signature changes or that goes away); adding functions, or fields at the
 * end of a struct that carries its size (bh_options, bh_call_options,
 * bh_call_info) or that only the library allocates (bh_call_result), does
 * not. bh_status and bh_call_opts are frozen. bh_version() says which
 * release is loaded at run time.
 */
#ifndef BILHETERIA_H
#define BILHETERIA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "bilheteria/arena.h" /* bh_arena */
#include "bilheteria/services.h"
#include "bilheteria/wire.h" /* BH_VERSION, BH_DEFAULT_URL, the limits */

#ifdef __cplusplus
extern "C" {
#endif

/* gRPC status codes (same numbers as bilheteria.v1.StatusCode). */
enum bh_code {
    BH_OK = 0,
    BH_CANCELLED = 1,
    BH_UNKNOWN = 2,
    BH_INVALID_ARGUMENT = 3,
    BH_DEADLINE_EXCEEDED = 4,
    BH_NOT_FOUND = 5,
    BH_ALREADY_EXISTS = 6,
    BH_PERMISSION_DENIED = 7,
    BH_RESOURCE_EXHAUSTED = 8,
    BH_FAILED_PRECONDITION = 9,
    BH_ABORTED = 10,
    BH_OUT_OF_RANGE = 11,
    BH_UNIMPLEMENTED = 12,
    BH_INTERNAL = 13,
    BH_UNAVAILABLE = 14,
    BH_DATA_LOSS = 15,
    BH_UNAUTHENTICATED = 16,
};

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN" for a number out of range. */
const char *bh_code_name(int code);

/* The loaded library's release, "0.2.0" (BH_VERSION of the build that made
 * it; the header a program was built with has its own BH_VERSION). Static
 * storage. */
const char *bh_version(void);

/*
 * Writes a new random idempotency key into out: a UUIDv4 (36 characters
 * and a NUL) from getrandom. For a caller that must keep a key across its
 * own restarts (store it with the order, send it with every try); within
 * one process the library makes keys itself (see Retries above).
 * Returns BH_OK, or BH_INTERNAL if the system has no randomness to give
 * (out is then an empty string).
 */
int bh_idempotency_key_new(char out[BH_IDEMPOTENCY_KEY_MAX + 1]);

/* The outcome of a call. Its layout is frozen (callers allocate it without
 * a size): what more there is to say about a call is in bh_call_info. */
typedef struct bh_status {
    int code;          /* enum bh_code */
    int replayed;      /* 1 if the server answered from its idempotency store */
    char message[512]; /* NUL-terminated; empty on BH_OK */
} bh_status;

/*
 * Options of bh_client_open. Zero what you do not set (designated
 * initializers do).
 *
 * Growth: size says how much of the struct the caller knows, so that
 * fields can be added later without breaking callers built against this
 * header. Set it with BH_OPTIONS_INIT, or to sizeof(bh_options); 0 means
 * the fields up to tls_key_file (libbilheteria.so.2's first layout). A
 * smaller size than this header's (a program built against an older
 * header) leaves the fields it does not cover at their defaults. A
 * size larger than this library's bh_options is accepted only if the
 * bytes it does not know are zero. (libbilheteria.so.1's bh_options had
 * only url, timeout_ms and auth_token, and no size: hence SOVERSION 2.)
 *
 * Credentials: auth_token, a fixed token (a service token), or
 * auth_token_fn, which gives a token per call (a JWT that expires and is
 * refreshed); not both. A token is at most BH_AUTH_TOKEN_MAX bytes. The
 * library never puts a token in a bh_status message.
 *
 * TLS: a tls+tcp:// URL (or tls+tcp4://, tls+tcp6://) needs tls_ca_file;
 * the server is always verified against it, and its certificate must
 * carry the expected name. There is no "verify none". Every path is read
 * during bh_client_open and not kept: a reconnection reuses what was read.
 */
typedef struct bh_options {
    const char *url;    /* "tcp://HOST:PORT", "ipc:///tmp/bh.sock"; NULL = BH_DEFAULT_URL; copied */
    int32_t timeout_ms; /* default per-call deadline; 0 = 5000; < 0 is BH_INVALID_ARGUMENT */
    const char *auth_token; /* caller identity sent with every call; NULL = none; copied */
    size_t size;            /* sizeof(bh_options), or 0: see above */
    /* PEM file of the CA(s) the server's certificate must chain to.
     * Required for a TLS URL; not used for others. */
    const char *tls_ca_file;
    /* The name the server's certificate must carry (a DNS name in its
     * subjectAltName, or its CN). NULL = the URL's host. */
    const char *tls_server_name;
    /* Mutual TLS: the client's certificate (PEM, a chain allowed) and its
     * private key (PEM, not encrypted); both or neither. */
    const char *tls_cert_file;
    const char *tls_key_file;
    /*
     * A fresh token for each call, for tokens that expire (JWTs); NULL =
     * none. Called at the start of every call, before anything is sent,
     * with auth_token_arg (borrowed until bh_client_close returns), buf
     * and size = BH_AUTH_TOKEN_MAX + 1. It writes the token into buf,
     * NUL-terminated, and returns its length as snprintf does (the length
     * it has, even if that does not fit: the call then fails with
     * BH_INVALID_ARGUMENT, "auth_token_fn's token is N bytes ..."); 0 for
     * a call without a token; -1 if it has no token to give (the call
     * fails with BH_UNAUTHENTICATED, nothing sent). The token is copied
     * into the request at once; buf is the library's and gone after the
     * callback's call returns.
     * Thread-safety: it is called from every thread that calls with this
     * client, possibly from several at once; it must be safe so (e.g.
     * copy the current token under a lock of its own: a snprintf of it
     * under the lock suffices). It must not call this client.
     */
    int (*auth_token_fn)(void *arg, char *buf, size_t size);
    void *auth_token_arg;
    /* ---- the second .so.2 layout (size covers what a caller knows) ---- */
    /*
     * Several servers, tried in this order (a primary and its standbys):
     * a call that fails with BH_UNAVAILABLE on one, where retrying is safe
     * (see Retries above), goes on to the next at once; after the last it
     * waits its backoff and starts again from the first. n_urls entries,
     * each copied; at most BH_URLS_MAX. Give url or urls, not both; TLS
     * options apply to every URL.
     */
    const char *const *urls;
    size_t n_urls;
    /* Retries of a call after its first try: 0 = BH_MAX_RETRIES_DEFAULT;
     * < 0 = none (and no automatic idempotency key: a key without a
     * retry protects nothing); at most BH_MAX_RETRIES_MAX. */
    int32_t max_retries;
    /* 0: fail fast (BH_UNAVAILABLE once a connection attempt fails);
     * 1: wait for a connection until the call's deadline. */
    int wait_for_ready;
} bh_options;

#define BH_URLS_MAX            16
#define BH_MAX_RETRIES_DEFAULT 3
#define BH_MAX_RETRIES_MAX     10

/* An initializer that sets size: bh_options o = BH_OPTIONS_INIT; */
#define BH_OPTIONS_INIT                                                                            \
    {                                                                                              \
        .size = sizeof(bh_options)                                                                 \
    }

/*
 * An arena for responses. A call given one (bh_call_opts.arena) unpacks its
 * response into it: a few bump allocations instead of one malloc per
 * field, message and string, and no free per field afterwards. The
 * response then belongs to the arena: do NOT free it with
 * protobuf_c_message_free_unpacked; it stays valid until bh_arena_reset or
 * bh_arena_fini. The first bytes come from a buffer the caller gives (on
 * the stack, say; may be NULL), the rest from malloc'd blocks that
 * bh_arena_reset recycles and bh_arena_fini frees.
 *
 * The fields (in <bilheteria/arena.h>) are private. One arena must not be
 * used by two threads at once; a thread making calls in a loop keeps one
 * and resets it per call.
 */

/* buf may be NULL (size is then ignored); it must outlive the arena. Not
 * on an arena that still holds blocks: bh_arena_fini it first. */
void bh_arena_init(bh_arena *a, void *buf, size_t size);
/* Forgets every response in the arena; keeps its largest block for reuse. */
void bh_arena_reset(bh_arena *a);
/* Frees the arena's blocks (not the caller's buffer); the arena is then
 * empty and may be used again. Accepts NULL. */
void bh_arena_fini(bh_arena *a);

/* Per-call options of bh_call, bh_call_raw and the typed functions; pass
 * NULL for the defaults. Frozen: the struct has no size field, so it cannot
 * grow; newer options are in bh_call_options (bh_call_ex, bh_call_async). */
typedef struct bh_call_opts {
    const char *idempotency_key; /* NULL or 1..255 bytes; copied */
    int32_t timeout_ms;          /* 0 = the client's default; < 0 is BH_INVALID_ARGUMENT */
    bh_arena *arena;             /* NULL: the response is malloc'd (see bh_call) */
} bh_call_opts;

/* The longest field path a bh_call_info holds (longer ones are cut). */
#define BH_FIELD_PATH_MAX 127
/* A W3C trace id: 32 lowercase hex digits. */
#define BH_TRACE_ID_LEN 32

/*
 * What a call did, beyond its status: filled by the library when a call
 * ends (bh_call_options.info, and bh_call_result.info). The caller sets
 * size (BH_CALL_INFO_INIT) and the library writes only that many bytes,
 * so the struct can grow.
 */
typedef struct bh_call_info {
    size_t size;         /* set by the caller: sizeof(bh_call_info) */
    uint64_t request_id; /* the last try's request id, as the server logs it; 0 if none went out */
    char trace_id[BH_TRACE_ID_LEN + 1]; /* the call's trace id (hex); every try sends it */
    /* For an error about one request field (INVALID_ARGUMENT, ...): its
     * path, "items[2].quantity", when the server names it; else empty. */
    char field[BH_FIELD_PATH_MAX + 1];
    int attempts;  /* tries sent or attempted (1 + retries + failovers) */
    int url_index; /* which of the client's URLs the last try went to */
    /* The idempotency key sent: the caller's, or the automatic one; empty
     * if none. */
    char idempotency_key[BH_IDEMPOTENCY_KEY_MAX + 1];
} bh_call_info;

#define BH_CALL_INFO_INIT                                                                          \
    {                                                                                              \
        .size = sizeof(bh_call_info)                                                               \
    }

/*
 * Per-call options of bh_call_ex, bh_call_raw_ex, bh_call_async and
 * bh_call_raw_async. Zero what you do not set, and set size to
 * sizeof(bh_call_options) (BH_CALL_OPTIONS_INIT): a program built against
 * an older header passes its smaller size, a newer one's unknown fields
 * must be zero (as for bh_options). size 0 is refused.
 */
typedef struct bh_call_options {
    size_t size; /* sizeof(bh_call_options) */
    const char
        *idempotency_key; /* NULL (automatic for writes, see Retries) or 1..255 bytes; copied */
    int32_t timeout_ms;   /* the whole call's deadline, retries included; 0 = the client's */
    bh_arena *arena;      /* NULL: the response is malloc'd */
    int32_t max_retries;  /* 0 = the client's; < 0 = none; at most BH_MAX_RETRIES_MAX */
    int wait_for_ready;   /* 0 = the client's; 1 = wait; -1 = fail fast */
    /* The caller's W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>",
     * BH_TRACEPARENT_LEN chars), copied; NULL = a new trace (random ids,
     * flags 01). */
    const char *traceparent;
    /* Blocking calls: if not NULL, filled when the call ends (set its
     * size). Asynchronous calls: ignored (see bh_call_result.info). */
    bh_call_info *info;
} bh_call_options;

#define BH_CALL_OPTIONS_INIT                                                                       \
    {                                                                                              \
        .size = sizeof(bh_call_options)                                                            \
    }

typedef struct bh_client bh_client;

/*
 * Creates a client for opts->url and starts dialling it in the background
 * (an unreachable server is reported by the first call, within its
 * deadline). opts may be NULL for all the defaults. On success *out is
 * set; caller frees with bh_client_close. On failure *out is untouched.
 * Returns BH_OK, or BH_INVALID_ARGUMENT for a bad URL (the message names
 * it), a negative timeout, a bad opts->size, an auth_token longer than
 * BH_AUTH_TOKEN_MAX, both auth_token and auth_token_fn, a TLS URL without
 * tls_ca_file, or a TLS file that cannot be read or parsed (the message
 * names the field and the file), BH_RESOURCE_EXHAUSTED when out of memory,
 * BH_UNAVAILABLE when nng fails.
 *
 * A server whose certificate does not verify (another CA, another name,
 * or one that wants a client certificate and gets none) is not reported
 * here: the TLS handshake happens in the background, is retried, and the
 * first call fails with BH_UNAVAILABLE within its deadline.
 */
int bh_client_open(bh_client **out, const bh_options *opts, bh_status *st);

/*
 * Closes the sockets; calls in flight fail with BH_CANCELLED, and
 * bh_client_close waits for them to return (asynchronous ones: for their
 * callbacks) before freeing the client. Every bh_call_handle must have
 * been released first. No call may start on c once bh_client_close has
 * been called, and it must not be called from a callback. Accepts NULL.
 * It returns within about 2 s even if nng's close deadlocks (nng 1.5.2 can:
 * issues #1543, #1813; see the library's proto/compat/nng_compat.c): the
 * close then goes on in the background, and the client's memory is leaked
 * if it never ends. Calls still in flight then
 * return in the background too; after such a return, do not unload the
 * library or call nng_fini.
 */
void bh_client_close(bh_client *c);

/*
 * Calls `method` (full name, "bilheteria.v1.EventService/CreateEvent") with
 * a request message and unpacks the answer with resp_desc. On BH_OK, *resp
 * is set and the caller frees it with protobuf_c_message_free_unpacked(*resp,
 * NULL) -- or, if opts->arena was given, *resp lives in that arena and is
 * not freed on its own (see bh_arena). On any other code *resp is left
 * untouched.
 *
 * Returns the server's status (with its message in st->message, and
 * st->replayed set if the answer came from the idempotency store), or:
 *   BH_INVALID_ARGUMENT  NULL arguments, an empty method, an idempotency
 *                        key that is empty or longer than 255 bytes, a
 *                        negative timeout, a token from auth_token_fn
 *                        longer than BH_AUTH_TOKEN_MAX, or (for a method in
 *                        bh_services) a req/resp_desc of the wrong type;
 *                        nothing is sent;
 *   BH_UNAUTHENTICATED   auth_token_fn returned -1 (nothing is sent), or
 *                        the server's: no or bad credentials;
 *   BH_UNAVAILABLE       the server could not be reached within the
 *                        deadline, or the connection dropped after the
 *                        request went out (the call may or may not have
 *                        taken effect; it is never resent by the library);
 *   BH_DEADLINE_EXCEEDED no answer within the deadline;
 *   BH_INTERNAL          an answer that does not decode, or whose
 *                        request_id is not this call's;
 *   BH_CANCELLED         the client was closed during the call;
 *   BH_FAILED_PRECONDITION called from a bh_call_cb (it would block nng's
 *                        thread): nothing is sent;
 *   BH_RESOURCE_EXHAUSTED out of memory.
 * BH_UNAVAILABLE and BH_DEADLINE_EXCEEDED come after the retries the
 * rules above allow, within the one deadline.
 * Thread-safe: any number of threads may call with one client.
 */
int bh_call(bh_client *c, const char *method, const ProtobufCMessage *req,
            const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
            const bh_call_opts *opts, bh_status *st);

/*
 * The same with serialized messages: sends req (len bytes; NULL if len is
 * 0) as the payload. On BH_OK, *resp points to the response payload (never
 * NULL, even when *resp_len is 0) and *resp_len is its size; caller frees
 * *resp with free(). On any other code both are left untouched. Return codes
 * as bh_call's, less the type check; opts->arena is not used (the answer is
 * one malloc'd buffer). Used by the CLI's `call` and the bench.
 */
int bh_call_raw(bh_client *c, const char *method, const uint8_t *req, size_t len, uint8_t **resp,
                size_t *resp_len, const bh_call_opts *opts, bh_status *st);

/* bh_call and bh_call_raw with the newer options (opts may be NULL):
 * the same ownership and return codes, plus BH_INVALID_ARGUMENT for a bad
 * opts->size, max_retries or traceparent. bh_call_ex takes the response
 * type from the method (BH_INVALID_ARGUMENT for a method not in
 * bh_services: use bh_call_raw_ex). */
int bh_call_ex(bh_client *c, const char *method, const ProtobufCMessage *req,
               ProtobufCMessage **resp, const bh_call_options *opts, bh_status *st);
int bh_call_raw_ex(bh_client *c, const char *method, const uint8_t *req, size_t len, uint8_t **resp,
                   size_t *resp_len, const bh_call_options *opts, bh_status *st);

/* ---- asynchronous calls ---- */

typedef struct bh_call_handle bh_call_handle;

/*
 * What an asynchronous call's callback gets: the library's, valid until the
 * callback returns (it may grow at its end: only the library allocates it).
 * On BH_OK, resp (bh_call_async) or raw and raw_len (bh_call_raw_async)
 * hold the response. To keep it, take it and set r->resp (r->raw) to
 * NULL: it is then the caller's, freed with
 * protobuf_c_message_free_unpacked(resp, NULL) (free(raw)); a response in
 * opts->arena is the arena's. What is not taken is freed after the
 * callback returns.
 */
typedef struct bh_call_result {
    const bh_status *status;  /* code, replayed, message */
    const bh_call_info *info; /* request id, trace id, field, attempts, key */
    ProtobufCMessage *resp;   /* bh_call_async, on BH_OK; else NULL */
    uint8_t *raw;             /* bh_call_raw_async, on BH_OK (never NULL then); else NULL */
    size_t raw_len;
    bh_call_handle *handle; /* the call's handle (borrowed) */
} bh_call_result;

/*
 * An asynchronous call's callback: runs exactly once per call that
 * bh_call_async accepted (BH_OK), on one of nng's threads, never on the
 * thread inside bh_call_async. It must not block: it may copy the
 * result, take the response, signal or queue work to other threads, and
 * start other asynchronous calls (bh_call_async) or cancel calls; it must
 * not make blocking calls (bh_call and the typed functions fail with
 * BH_FAILED_PRECONDITION there), wait (bh_call_wait) or close the client.
 * Callbacks of different calls may run at the same time on different
 * threads.
 */
typedef void (*bh_call_cb)(void *arg, bh_call_result *r);

/*
 * Starts a call of `method` (its request and response types from
 * bh_services) and returns at once; cb(arg, result) runs when the call
 * ends: answered, failed after its retries, past its deadline, cancelled,
 * or the client closed. req is packed before bh_call_async returns (the
 * caller may free it then); opts is read then too (its strings copied).
 *
 * If out is not NULL, *out is set to the call's handle on success: caller
 * releases it with bh_call_release (before bh_client_close), and may
 * bh_call_cancel or bh_call_wait it until then; the handle stays valid
 * after the callback has run.
 *
 * Returns BH_OK when the call was started (cb will run once), or, with
 * nothing sent, cb never run, *out untouched and *st filled:
 * BH_INVALID_ARGUMENT (as bh_call_ex's), BH_UNAUTHENTICATED
 * (auth_token_fn returned -1), BH_CANCELLED (client closing),
 * BH_RESOURCE_EXHAUSTED (out of memory).
 *
 * Many calls may be in flight on one client (each on its own nng
 * context): there is no limit but memory. auth_token_fn is called here,
 * on the caller's thread, once per call.
 */
int bh_call_async(bh_client *c, const char *method, const ProtobufCMessage *req,
                  const bh_call_options *opts, bh_call_cb cb, void *arg, bh_call_handle **out,
                  bh_status *st);

/* The same with a serialized request (len bytes, copied before it returns)
 * and the answer's payload in result->raw. Any method name. */
int bh_call_raw_async(bh_client *c, const char *method, const uint8_t *req, size_t len,
                      const bh_call_options *opts, bh_call_cb cb, void *arg, bh_call_handle **out,
                      bh_status *st);

/*
 * Cancels the call: its callback runs once, with BH_CANCELLED ("cancelled
 * by the caller"), unless it has ended already (then nothing happens).
 * A request already sent may still be applied by the server: cancel is
 * the caller giving up on the answer, as in gRPC. Does not wait for the
 * callback. From any thread, callbacks included.
 */
void bh_call_cancel(bh_call_handle *h);

/* Waits until the call's callback has returned. Not from a callback. */
void bh_call_wait(bh_call_handle *h);

/* Lets go of the handle; the call goes on if it has not ended. Accepts
 * NULL. */
void bh_call_release(bh_call_handle *h);

#ifdef __cplusplus
}
#endif

#include "bilheteria/bilheteria_api.h"

#endif
