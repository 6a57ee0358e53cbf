/*
 * Internal header of the server: the per-request call, the handler
 * registry, the writer, and the helpers shared by the handler files.
 */
#ifndef BH_SRV_H
#define BH_SRV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "bilheteria/services.h"
#include "store.h"

#define SRV_VERSION "0.2.0"
#define SRV_MSG_MAX 512

/* ---- arena: one per request context, reset between requests ---- */
typedef struct srv_arena_block srv_arena_block;
typedef struct srv_arena {
    srv_arena_block *head;  /* current block */
    srv_arena_block *first; /* kept across resets */
    ProtobufCAllocator pc;  /* protobuf-c allocator over this arena */
} srv_arena;

int srv_arena_init(srv_arena *a, size_t first_block);
void *srv_arena_alloc(srv_arena *a, size_t n); /* NULL when out of memory */
char *srv_arena_strdup(srv_arena *a, const char *s);
void srv_arena_reset(srv_arena *a);
void srv_arena_fini(srv_arena *a);

/* ---- configuration ---- */
typedef struct srv_config {
    const char *listen[8];
    int n_listen;
    const char *data_dir;
    size_t map_size_mb;
    int no_sync;
    int workers;         /* nng contexts */
    size_t max_request;  /* bytes answered with RESOURCE_EXHAUSTED above */
    int64_t hold_ttl_ms; /* default and maximum hold time */
    int64_t idem_retention_ms;
    uint32_t max_seats; /* per reservation */
    int sweep_interval_ms;
    int quiet;
    /* What one peer may hold (listen.c); 0 = derived there. */
    int max_connections;       /* 0: from RLIMIT_NOFILE, see listen.c */
    int max_inflight_per_conn; /* 0: workers / 2 */
    size_t max_inflight_bytes; /* requests being served and their answers */
    int send_timeout_ms;       /* an answer not taken by then closes its connection */
    int idle_timeout_ms;       /* 0 = connections are never closed for idling */
} srv_config;

/* ---- one call in flight ---- */
typedef struct srv_method srv_method;
struct srv_seatcache;
typedef struct srv_call {
    const srv_method *m;
    const ProtobufCMessage *req; /* in the arena */
    ProtobufCMessage *resp;      /* set by the handler on OK, in the arena */
    const char *identity;        /* auth token; "" = anonymous */
    const char *idem_key;        /* "" = none */
    int64_t now_ms;              /* when the handler runs */
    int64_t deadline_ms;         /* srv_mono_ms() time; 0 = none */
    int code;                    /* gRPC status */
    int replayed;
    char msg[SRV_MSG_MAX];
    srv_arena *arena;
    const srv_config *cfg;
    struct srv_seatcache *seats; /* the writer's seat cache; NULL for reads */
    const uint8_t *resp_bytes;   /* packed answer, if already packed */
    size_t resp_len;
    int map_full;      /* a store call hit MDB_MAP_FULL */
    int idem_conflict; /* refused: the key was used for another request */
    int idem_stored;   /* a refusal recorded under its key: to be synced */
    /* The writer's queue. */
    void (*done)(void *arg);
    void *done_arg;
    struct srv_call *wnext;
} srv_call;

typedef int (*srv_handler)(srv_call *c, store_txn *t);

enum srv_kind { SRV_READ, SRV_WRITE };

/* A handler file's table entry, keyed by full method name. */
typedef struct srv_impl {
    const char *method; /* "bilheteria.v1.EventService/CreateEvent" */
    enum srv_kind kind;
    srv_handler fn;
    int idem_required; /* the call must carry an idempotency key */
} srv_impl;

struct srv_method {
    char name[BH_METHOD_NAME_MAX];
    const ProtobufCMethodDescriptor *desc;
    const srv_impl *impl; /* NULL = UNIMPLEMENTED */
};

extern const srv_impl srv_event_impls[];
extern const srv_impl srv_session_impls[];
extern const srv_impl srv_product_impls[];
extern const srv_impl srv_health_impls[];
extern const srv_impl srv_reservation_impls[];
extern const srv_impl srv_payment_impls[];

/* ---- registry (dispatch.c) ---- */
int srv_registry_init(void);
const srv_method *srv_registry_find(const char *full_name);
size_t srv_registry_count(void);
const srv_method *srv_registry_at(size_t i);

/* Runs a read call's handler in t, a reusable read transaction (renewed and
 * reset here). Sets c->code, c->msg, c->resp. */
void srv_dispatch_read(srv_call *c, store_txn *t);

/* ---- helpers (util.c) ---- */
int64_t srv_now_ms(void);  /* wall clock, ms since the epoch */
int64_t srv_mono_ms(void); /* monotonic clock, for intervals */
/* When the process started (set by srv_registry_init). */
int64_t srv_started_ms(void);
/* The length of the longest prefix of s[0..n) that is valid UTF-8 (n if
 * all of it is): no overlong forms, surrogates or code points past
 * U+10FFFF. */
size_t srv_utf8_valid(const char *s, size_t n);
/* The first string field of m, nested messages included, that is not valid
 * UTF-8: 1 with its path ("items[2].note") in path, else 0. */
int srv_find_bad_utf8(const ProtobufCMessage *m, char *path, size_t len);
/* Sets c->code and c->msg (a byte that is not UTF-8 becomes '?'); returns
 * code. */
int srv_fail(srv_call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps a store error to a status with a message naming what failed. */
int srv_store_fail(srv_call *c, int rc, const char *what);
/* Checks 1 <= len <= max (or 0 <= len when !required). */
int srv_check_str(srv_call *c, const char *field, const char *v, size_t max, int required);
/* Times are Unix ms from 0 to the end of the year 9999 (RFC 3339's range). */
#define SRV_TIME_MAX 253402300799999LL
#define SRV_TIME_LEN 32
int srv_check_time(srv_call *c, const char *field, int64_t ms);
void srv_fmt_time(int64_t ms, char out[SRV_TIME_LEN]); /* 2030-12-20T23:00:00Z */
/* Page size: 0 -> default 50; above 500 -> INVALID_ARGUMENT. */
int srv_page_size(srv_call *c, uint32_t asked, size_t *out);
/* Opaque page tokens carrying the next id, tagged with a kind. */
void srv_page_token(srv_call *c, char kind, uint64_t next_id, char **out);
/* Answers a listing with stored records as they are (a _raw store page):
 * field 1 repeats each record's bytes, field 2 is the page token of
 * pg->next_id. Every List*Response has this shape. Returns 0, or the code
 * of srv_fail. */
int srv_resp_raw_page(srv_call *c, const store_page *pg, char kind);
int srv_page_token_parse(srv_call *c, char kind, const char *tok, uint64_t *next_id);
/* Row labels: 0 -> "A", 25 -> "Z", 26 -> "AA" (bijective base 26). */
void srv_row_label(uint32_t row, char out[4]);
/* Parses "B12" into zero-based row and seat; -1 if malformed. */
int srv_seat_parse(const char *label, uint32_t *row, uint32_t *seat);

/* Allocates a message of descriptor d in the arena, initialised. */
void *srv_new_msg(srv_call *c, const ProtobufCMessageDescriptor *d);
#define SRV_NEW(c, type, lower) ((type *)srv_new_msg((c), &lower##__descriptor))

/* ---- reservations: shared with the writer's sweeper ---- */
/* Expires up to max PENDING reservations whose hold has lapsed. */
int srv_resv_sweep(store_txn *t, struct srv_seatcache *sc, srv_arena *a, int64_t now_ms, size_t max,
                   size_t *n);

/* ---- the writer (writer.c) ---- */
typedef struct srv_writer srv_writer;
typedef void (*srv_done_fn)(void *arg); /* called after commit, from the writer */
int srv_writer_start(srv_writer **out, store *st, const srv_config *cfg);
/* Queues a write call; done(arg) runs once it is durable or failed. */
void srv_writer_submit(srv_writer *w, srv_call *c, srv_done_fn done, void *arg);
/* Applies what is queued, answers it, and stops the threads; later submits
 * are answered UNAVAILABLE at once. */
void srv_writer_stop(srv_writer *w);
/* Writes and commits since start (all writers of the process). */
void srv_writer_stats(uint64_t *writes, uint64_t *commits);
/* 1 once a commit or a sync has failed with a disk error: writes are
 * refused from then on (Health.Check reports NOT_SERVING). */
int srv_writer_broken(void);
/* Frees the writer; call after srv_listener_free. Accepts NULL. */
void srv_writer_free(srv_writer *w);

/* ---- requests and responses, without a transport (request.c) ---- */
struct Bilheteria__V1__ResponseEnvelope;
enum { SRV_DECODED_ANSWER, SRV_DECODED_READ, SRV_DECODED_WRITE };
/* Clears c for a new request using arena and cfg. */
void srv_call_init(srv_call *c, srv_arena *arena, const srv_config *cfg);
/* Decodes a request envelope into c (strings are copied into c->arena, so
 * buf may be released after). Returns SRV_DECODED_READ or _WRITE when the
 * call is to run (srv_dispatch_read, srv_writer_submit), SRV_DECODED_ANSWER
 * when c already holds the answer (an error). *request_id is always set. */
int srv_request_decode(srv_call *c, const uint8_t *buf, size_t len, uint64_t *request_id);
/* Reads field 2 (request_id) of an envelope without unpacking it, so that
 * even a request refused unread gets an answer its caller can match; 0 if
 * it is not found. */
uint64_t srv_request_peek_id(const uint8_t *buf, size_t len);
/* Fills env (borrowing from c) with the answer of c. */
void srv_response_prepare(srv_call *c, uint64_t request_id,
                          struct Bilheteria__V1__ResponseEnvelope *env);

/* ---- the listener (listen.c) ---- */
typedef struct srv_listener srv_listener;
int srv_listener_start(srv_listener **out, const srv_config *cfg, store *st, srv_writer *w,
                       char *err, size_t errlen);
/* The first listen URL with the port it got (tcp://127.0.0.1:0 listens on
 * some free port: this names it), for the start-up banner. */
const char *srv_listener_url(const srv_listener *l);
/* From now on new calls are answered UNAVAILABLE (the socket stays open,
 * so the writer can still send the answers it owes). */
void srv_listener_drain(srv_listener *l);
/* Closes the socket. Call after srv_writer_stop: nothing of ours may send
 * on a context while nng closes it. */
void srv_listener_close(srv_listener *l);
/* Waits for nng callbacks in flight and frees the listener; call after
 * srv_writer_stop and before srv_writer_free. Accepts NULL. */
void srv_listener_free(srv_listener *l);

#endif
