/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria-bench: shared types of the benchmark's files. */
#ifndef BENCH_H
#define BENCH_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nng/nng.h>

#include "bilheteria/bilheteria.h"

/* ---- hist.c: log-linear latency histogram (nanoseconds) ---- */
typedef struct bench_hist bench_hist;
bench_hist *bench_hist_new(void);    /* caller frees with bench_hist_free */
void bench_hist_free(bench_hist *h); /* accepts NULL */
void bench_hist_record(bench_hist *h, uint64_t ns);
void bench_hist_merge(bench_hist *into, const bench_hist *from);
uint64_t bench_hist_count(const bench_hist *h);
uint64_t bench_hist_max(const bench_hist *h);
double bench_hist_mean(const bench_hist *h);
uint64_t bench_hist_percentile(const bench_hist *h, double p);

/* ---- the run ---- */
enum bench_op {
    OP_ECHO,
    OP_PING,
    OP_SEAT_MAP,
    OP_LIST_EVENTS,
    OP_HOLD,
    OP_CANCEL,
    OP_CONFIRM,
    OP_REPLAY,
    OP_REFUND,
    OP_REFUND_REPLAY,
    OP__N
};
extern const char *const bench_op_names[OP__N];

#define BENCH_N_CODES 17

/* The seeded coupons (seed.c): mixed holds carry the first two, rush holds
 * the third; onsale --coupons uses the first two. */
enum bench_coupon {
    COUPON_NONE,
    COUPON_PCT,  /* 10% off, max_uses small enough to run out in a run */
    COUPON_FIX,  /* 5.00 off, unlimited */
    COUPON_RUSH, /* rush: 20% off, max_uses a quarter of the pairs */
    COUPON__N
};

/* What the bench refunded of a paid reservation. */
enum bench_refund { REFUND_NONE, REFUND_SEAT, REFUND_ALL };

typedef struct bench_paid {
    uint64_t resv_id;
    uint64_t pay_id;
    uint8_t coupon; /* enum bench_coupon */
    uint8_t refund; /* enum bench_refund */
} bench_paid;

typedef struct bench bench;

typedef struct bench_thread {
    bench *b;
    int id;
    pthread_t th;
    bh_client *cli; /* own, or the shared one */
    /* Responses are unpacked into this arena, reset before every operation
     * (opts = &aopts), unless --malloc-responses (opts = NULL). */
    bh_arena arena;
    bh_call_opts aopts;
    const bh_call_opts *opts;
    nng_socket esock; /* echo: the raw REQ socket (own or shared) */
    nng_ctx ectx;
    nng_aio *eaio;
    uint64_t rng;
    uint64_t seq;
    bench_hist *all;
    bench_hist *op[OP__N];
    uint64_t ok[OP__N];
    uint64_t err[OP__N][BENCH_N_CODES];
    uint64_t unexpected; /* failures that the scenario does not allow */
    char first_err[400];
    int out_of_seats;
    bench_paid *paid; /* pay and mixed: each confirmed reservation */
    size_t n_paid, cap_paid;
    uint64_t *resv; /* rush: each successful hold */
    size_t n_resv, cap_resv;
    uint64_t coupon_refused;    /* holds refused because their coupon was used up */
    uint64_t rush_coupon_holds; /* rush: successful holds that carry COUPON_RUSH */
    int coupon_gone;            /* this client saw its coupon used up (rush: hold
                                   without from then on; mixed: retry it 1 in 10) */
    uint64_t violations;        /* replays that did not replay, and the like */
} bench_thread;

struct bench {
    /* options */
    const char *scenario;
    const char *url;
    /* --tls-*: bh_options' tls_* for a tls+tcp:// --server; NULL if not given. */
    const char *tls_ca, *tls_server_name, *tls_cert, *tls_key;
    /* The token every call carries (--token, --token-file, or --spawn-auth's
     * service token); NULL = none. Owned. */
    char *token;
    /* --spawn-auth: the admin token that seeds the catalog (a service may
     * not write it); NULL = seed with token. Owned. */
    char *seed_token;
    int spawn_auth;
    int spawn;
    const char *server_path;
    int ipc;
    int shared_client;
    int clients;
    /* --async: each client a callback-driven state machine on the
     * asynchronous API, over `drivers` connections (drv[], owned). */
    int async;
    int drivers;
    bh_client **drv;
    double duration_s;
    uint64_t requests; /* 0 = run for duration_s */
    uint32_t events, sessions, rows, seats_per_row;
    int json;
    uint64_t seed;
    char **server_args;
    int n_server_args;

    /* seeded data */
    uint64_t *event_ids;
    size_t n_events;
    uint64_t *session_ids;
    size_t n_sessions;
    uint32_t capacity;     /* seats per session */
    int owned;             /* seats are split between threads (no contention) */
    uint8_t *sold;         /* n_sessions * capacity; a seat's byte is written
                              only by the thread that owns it */
    uint8_t *echo_payload; /* echo: a typical request envelope */
    size_t echo_len;
    size_t echo_reply_len; /* echo --reply-bytes; 0 = the request back */
    int echo_durable;      /* echo --durable */
    int echo_pages;        /* echo --durable-pages; 0 = 1 */
    int echo_one_flush;    /* echo --durable-flushes 1 */
    int malloc_responses;  /* --malloc-responses: no arena */
    char echo_url[128];

    /* onsale: buyers a second (--rate), or a linear ramp from ramp_from to
     * ramp_to over ramp_s seconds, then at ramp_to (ramp_to 0: no ramp) */
    double rate, ramp_from, ramp_to, ramp_s;
    uint32_t venue;   /* --venue: seats of the one session */
    int ttl_s;        /* --ttl-s: each hold's time */
    int window;       /* --window: calls in flight at most */
    const char *plot; /* --plot FILE.png|FILE.svg, or NULL */
    int zones;        /* onsale --zones: a zoned session, some buyers ask a zone */
    int coupons;      /* onsale --coupons: some buyers bring a coupon */
    int no_coupons;   /* --no-coupons: rush and mixed hold without them */
    int refunds;      /* mixed: a share of the paid reservations is refunded */

    /* the seeded coupons (mixed, rush, onsale --coupons): code "" = none */
    char coupon_code[COUPON__N][33];
    uint32_t coupon_max[COUPON__N]; /* max_uses; 0 = unlimited */

    /* run control */
    atomic_int stop;
    atomic_uint_fast64_t claimed;
    uint64_t end_ns;
    /* The start gate: client threads wait until go is set (with stop set
     * too when not every thread could be started). */
    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv;
    int go;

    bench_thread *t;
};

uint64_t bench_now_ns(void);
uint64_t bench_rand_next(uint64_t *state); /* xorshift64*; state never 0 */
uint64_t bench_rand(bench_thread *t);      /* bench_rand_next(&t->rng) */

/* Whether a client starts another operation: not stopped, and within
 * --requests (claiming one) or before the end of --duration. */
int bench_go_on(bench *b);
/* Records one call's outcome; code is a bh_code. */
void bench_record(bench_thread *t, int op, int code, uint64_t ns);
/* The CPU time of this process so far, user and system, in seconds. */
double bench_self_cpu_s(void);
/* {p50, p90, p99, p99_9, max, mean} of h in milliseconds; NULL when out of
 * memory. Caller frees with cJSON_Delete (or adds it to an object). */
struct cJSON;
struct cJSON *bench_lat_json(const bench_hist *h);
/* Adds each line of text to the JSON array arr as a string. */
void bench_json_lines(struct cJSON *arr, const char *text);
/* Appends one violation line (fmt, ap) to viol (violen bytes), keeping
 * the first 20, and counts it in *n_viol; under mu. */
void bench_vviolation(pthread_mutex_t *mu, char *viol, size_t violen, int *n_viol, const char *fmt,
                      va_list ap) __attribute__((format(printf, 5, 0)));

/* Notes a failure the scenario does not allow (first message kept). */
void bench_unexpected(bench_thread *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- echo.c ---- */
typedef struct bench_echo_server bench_echo_server;
int bench_echo_start(bench *b, bench_echo_server **out, char *err, size_t errlen);
void bench_echo_stop(bench_echo_server *e); /* accepts NULL */
/* --durable: answers and group commits so far. */
void bench_echo_stats(const bench_echo_server *e, uint64_t *writes, uint64_t *commits);
int bench_echo_client_open(bench *b, bench_thread *t, nng_socket shared, int use_shared);
void bench_echo_client_close(bench_thread *t, int own_socket);
int bench_echo_shared_open(nng_socket *s, const char *url); /* an NNG_* code */
int bench_echo_op(bench_thread *t);

/* ---- seed.c ---- */
int bench_seed(bench *b, bh_client *shared, char *err, size_t errlen);
/* The zones of onsale --zones: VIP (the first fifth of the rows, at 3x the
 * price), then Plateia. */
#define BENCH_ZONE_VIP     "VIP"
#define BENCH_ZONE_PLATEIA "Plateia"

/* ---- scenarios.c ---- */
/* One operation of the scenario; returns 0 to go on, 1 when this thread is
 * done (sold out, out of seats). */
int bench_op(bench_thread *t);
/* The end-of-run checks of rush, pay and mixed; appends violations to
 * viol (one per line). Returns the number of violations, or 0. */
int bench_check(bench *b, char *viol, size_t violen, char *summary, size_t sumlen);
/* Calls fn(ctx, client, i) for every i in [0, n) from up to 16 threads,
 * each with the client of one of b->t[]; stops early once *stop is set.
 * Returns how many were started. */
size_t bench_for_each(bench *b, size_t n, void (*fn)(void *ctx, bh_client *c, size_t i), void *ctx,
                      const atomic_int *stop);
/* --async (ping, read, hold, pay): starts every client of b->t[] and returns
 * when all have ended. 0, or -1 when out of memory. */
int bench_async_run(bench *b);
/* A seat label ("A1", "AB12") -> its index in b's layout, or -1. */
long bench_seat_index(const bench *b, const char *label);

/* ---- onsale.c ---- */
struct bh_spawn_server;
/* The open-loop on-sale run on b's seeded session, with the clients of
 * b->t[] as its drivers; prints its report (and --plot). srv: the spawned
 * server, or NULL. Returns the exit status: 0, 1 (the check failed or a
 * call failed that should not), 3 (set-up or the plot failed). */
int bench_onsale(bench *b, const struct bh_spawn_server *srv);

#endif
