/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libbilheteria: the C client of the Bilheteria box-office service.
 *
 * A client holds one nng REQ socket dialled to one server URL. Every call
 * opens its own nng context on that socket, so one bh_client may be used
 * from many threads at once. Calls are synchronous and bounded by a
 * deadline: they never hang past it.
 *
 * Typed functions, one per RPC (bh_event_create_event, ...), are generated
 * at build time from the service descriptors into
 * <bilheteria/bilheteria_api.h>, which this header includes.
 *
 * Errors: every call returns a gRPC status code (BH_OK = 0) and, if st is not
 * NULL, fills *st with the code and a message saying what was wrong.
 * Transport failures map to codes too: an unreachable server is
 * BH_UNAVAILABLE, a call that ran out of time is BH_DEADLINE_EXCEEDED.
 *
 * Out of memory: the library returns BH_RESOURCE_EXHAUSTED with the message
 * "out of memory"; it never aborts.
 *
 * The library turns off nng's REQ resend (NNG_OPT_REQ_RESENDTIME), so a
 * transport retry can never send a mutating call twice.
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

/* The outcome of a call. */
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
    const char *url; /* "tcp://127.0.0.1:7450", "ipc:///tmp/bh.sock"; NULL = that default; copied */
    int32_t timeout_ms;     /* default per-call deadline; 0 = 5000; < 0 is BH_INVALID_ARGUMENT */
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
} bh_options;

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

/* Per-call options; pass NULL for the defaults. The struct has no size
 * field, so it cannot grow without a new SOVERSION: a per-call token waits
 * for that (use one client per identity, or bh_options.auth_token_fn). */
typedef struct bh_call_opts {
    const char *idempotency_key; /* NULL or 1..255 bytes; copied */
    int32_t timeout_ms;          /* 0 = the client's default; < 0 is BH_INVALID_ARGUMENT */
    bh_arena *arena;             /* NULL: the response is malloc'd (see bh_call) */
} bh_call_opts;

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
 * Closes the socket; calls in flight fail with BH_CANCELLED, and
 * bh_client_close waits for them to return before freeing the client.
 * No call may start on c once bh_client_close has been called. Accepts NULL.
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
 *   BH_RESOURCE_EXHAUSTED out of memory.
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

#ifdef __cplusplus
}
#endif

#include "bilheteria/bilheteria_api.h"

#endif
