/* SPDX-License-Identifier: Apache-2.0 */
/* The on-sale scenario: an open loop on the asynchronous API. Buyers arrive
 * at fixed intended times (R a second, or a linear ramp), whether or not the
 * server keeps up, and every call's latency counts from the time it was
 * meant to be sent (wrk2's way: a slow server cannot slow the arrivals down
 * and hide its queue, no coordinated omission). A few driver threads send;
 * the answers come back in callbacks on nng's threads, which queue each
 * buyer's next call. A bounded window of calls in flight keeps an
 * overloaded server's queue in the latency figures, not in the bench's
 * memory; calls that wait for the window are sent late, and counted.
 *
 * Each buyer asks for the best 1-6 seats; 70% pay within the hold time,
 * 20% walk away (the hold lapses and the seats are sold again), 10% cancel.
 * The run ends when every seat is sold; then the seat map, the payments and
 * the confirmed reservations must agree: capacity sold, no seat twice. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "bilheteria/bh_methods.h"
#include "spawn.h"

#define MAX_WANT 6
/* --zones, --coupons: the share of buyers who ask for a zone, who bring a
 * coupon. */
#define ZONE_SHARE_PCT   25
#define COUPON_SHARE_PCT 25
#define PAY_PCT          70
#define ABANDON_PCT      20 /* the other 10% cancel */
/* A call sent more than this after its intended time is late. */
#define LATE_NS 1000000ull
/* How often the monitor looks at the run, and reads the seat map. */
#define TICK_NS     100000000ull
#define MAP_EVERY_S 1
/* Calls still out when the run stops are waited for this long (their
 * deadline is the bench's 10 s). */
#define DRAIN_NS 15000000000ull

enum os_op { OS_HOLD, OS_SOLD_OUT, OS_CONFIRM, OS_CANCEL, OS__N };
static const char *const os_names[OS__N] = { "hold", "hold_sold_out", "confirm", "cancel" };

enum os_fate { FATE_PAY, FATE_ABANDON, FATE_CANCEL };

typedef struct os_drv os_drv;
typedef struct os_run os_run;

/* One buyer, from arrival to its last answer. */
typedef struct buyer {
    os_drv *d;
    uint64_t n;      /* arrival number, from 0 */
    uint64_t due_ns; /* when its next call is meant to be sent */
    uint64_t think_ns;
    uint64_t resv_id;
    int64_t total_cents;
    uint32_t want, n_seats;
    int fate;
    int step;   /* the call in flight or queued: OS_HOLD, OS_CONFIRM, OS_CANCEL */
    int zone;   /* --zones: 0 any seats, 1 VIP's, 2 Plateia's */
    int coupon; /* --coupons: enum bench_coupon */
} buyer;

/* A driver thread: sends its share of the arrivals (n = id mod drivers)
 * and the follow-up calls its buyers' callbacks queue. */
struct os_drv {
    os_run *o;
    int id;
    pthread_t th;
    bh_client *cli;
    uint64_t rng;
    pthread_mutex_t mu; /* heap, wake_ns */
    pthread_cond_t cv;
    buyer **heap; /* by due_ns */
    size_t n, cap;
    uint64_t wake_ns;       /* when the sleeping driver wakes; 0 while awake */
    atomic_long in_flight;  /* calls of this driver's connection */
    atomic_int window_full; /* the driver waits for an answer to free the window */
};

typedef struct os_sec {
    bench_hist *h;      /* calls meant to be sent in this second */
    uint64_t offered;   /* arrivals meant in it */
    uint64_t sent;      /* arrivals sent in it */
    uint64_t answered;  /* answers received in it */
    uint64_t late;      /* calls sent late in it */
    int64_t unsold;     /* at its end, from the seat map; -1 unread */
    int64_t free_seats; /* likewise */
} os_sec;

typedef struct os_conf {
    uint64_t resv_id, pay_id;
    uint32_t n_seats;
    int64_t amount;
    uint8_t zone, coupon; /* what the buyer asked for (buyer's zone, coupon) */
} os_conf;

struct os_run {
    bench *b;
    uint64_t t0, stop_ns;
    atomic_int stop;
    atomic_long in_flight;
    atomic_uint_fast64_t paid_seats, sold_out_ns;

    pthread_mutex_t mu; /* everything below */
    bench_hist *all, *op[OS__N];
    uint64_t n_op[OS__N], err[OS__N][BENCH_N_CODES];
    os_sec *sec;
    size_t n_sec;
    uint64_t sent, late, max_lag_ns;
    uint64_t paid, abandoned, cancelled, sold_out, late_pay, lapsed_cancel, failed, cut;
    /* --zones, --coupons: buyers who asked, and refusals (zone full, coupon
     * used up; the buyer leaves, as on sold out) */
    uint64_t zone_asked, zone_full, coupon_asked, coupon_used_up;
    os_conf *conf;
    size_t n_conf, cap_conf;
    uint64_t *unsure; /* reservations whose payment's outcome is unknown */
    size_t n_unsure, cap_unsure;
    uint64_t unexpected;
    char first_err[400];

    os_drv *drv;
    int n_drv;
};

/* ---- the arrival schedule ---- */

/* Seconds from the start to arrival n: n / R, or along the linear ramp
 * R1 -> R2 over ramp_s seconds (N(t) = R1 t + (R2 - R1) t^2 / 2T), then
 * at R2. */
static double
arrival_s(const bench *b, uint64_t n)
{
    double x = (double)n;
    if (b->ramp_to <= 0)
        return x / b->rate;
    double r1 = b->ramp_from, r2 = b->ramp_to, T = b->ramp_s;
    double a = (r2 - r1) / (2 * T), in_ramp = r1 * T + a * T * T;
    if (x >= in_ramp)
        return T + (x - in_ramp) / r2;
    if (x == 0)
        return 0;
    /* The positive root of a t^2 + r1 t - x = 0, in the form that is
     * stable for either sign of a. */
    return 2 * x / (r1 + sqrt(r1 * r1 + 4 * a * x));
}

/* How many arrivals were meant before s seconds from the start. */
static uint64_t
arrivals_before(const bench *b, double s)
{
    double x;
    if (b->ramp_to <= 0) {
        x = s * b->rate;
    } else {
        double r1 = b->ramp_from, r2 = b->ramp_to, T = b->ramp_s, a = (r2 - r1) / (2 * T);
        x = s <= T ? r1 * s + a * s * s : r1 * T + a * T * T + (s - T) * r2;
    }
    return x <= 0 ? 0 : (uint64_t)ceil(x);
}

/* ---- recording ---- */

static os_sec *
sec_at(os_run *o, uint64_t ns)
{
    size_t k = ns > o->t0 ? (size_t)((ns - o->t0) / 1000000000u) : 0;
    if (k >= o->n_sec) {
        size_t n = k + 16;
        os_sec *p = realloc(o->sec, n * sizeof(*p));
        if (p == NULL)
            return NULL;
        for (size_t i = o->n_sec; i < n; i++)
            p[i] = (os_sec){ .unsold = -1, .free_seats = -1 };
        o->sec = p;
        o->n_sec = n;
    }
    return &o->sec[k];
}

static void os_unexpected(os_run *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Under o->mu. */
static void
os_unexpected(os_run *o, const char *fmt, ...)
{
    if (o->unexpected++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->first_err, sizeof(o->first_err), fmt, ap);
        va_end(ap);
    }
}

/* One call's outcome; latency from its intended send time. Under o->mu. */
static void
record(os_run *o, int op, int code, uint64_t due_ns, uint64_t now)
{
    uint64_t ns = now > due_ns ? now - due_ns : 0;
    bench_hist_record(o->all, ns);
    bench_hist_record(o->op[op], ns);
    o->n_op[op]++;
    if (code != BH_OK)
        o->err[op][code > 0 && code < BENCH_N_CODES ? code : BH_UNKNOWN]++;
    os_sec *s = sec_at(o, due_ns);
    if (s != NULL && (s->h != NULL || (s->h = bench_hist_new()) != NULL))
        bench_hist_record(s->h, ns);
    if ((s = sec_at(o, now)) != NULL)
        s->answered++;
}

static int
grow(void **a, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 1024;
    void *p = realloc(*a, nc * size);
    if (p == NULL)
        return -1;
    *a = p;
    *cap = nc;
    return 0;
}

/* ---- the drivers' queues ---- */

static void
heap_push(os_drv *d, buyer *u)
{
    pthread_mutex_lock(&d->mu);
    if (grow((void **)&d->heap, &d->cap, d->n, sizeof(buyer *)) != 0) {
        pthread_mutex_unlock(&d->mu);
        pthread_mutex_lock(&d->o->mu);
        os_unexpected(d->o, "out of memory");
        d->o->cut++;
        pthread_mutex_unlock(&d->o->mu);
        free(u);
        return;
    }
    size_t i = d->n++;
    while (i > 0 && d->heap[(i - 1) / 2]->due_ns > u->due_ns) {
        d->heap[i] = d->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    d->heap[i] = u;
    if (d->wake_ns != 0 && u->due_ns < d->wake_ns)
        pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

/* The first buyer due by now, or NULL. Under d->mu. */
static buyer *
heap_pop_due(os_drv *d, uint64_t now)
{
    if (d->n == 0 || d->heap[0]->due_ns > now)
        return NULL;
    buyer *top = d->heap[0], *last = d->heap[--d->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= d->n)
            break;
        if (c + 1 < d->n && d->heap[c + 1]->due_ns < d->heap[c]->due_ns)
            c++;
        if (d->heap[c]->due_ns >= last->due_ns)
            break;
        d->heap[i] = d->heap[c];
        i = c;
    }
    if (d->n > 0)
        d->heap[i] = last;
    return top;
}

/* ---- a buyer's calls ---- */

static void on_answer(void *arg, bh_call_result *r);

static int
send_hold(buyer *u, bh_status *st)
{
    bench *b = u->d->o->b;
    char user[32];
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    Bilheteria__V1__CreateReservationRequest rq = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    snprintf(user, sizeof(user), "buyer-%llu", (unsigned long long)u->n);
    rq.session_id = b->session_ids[0];
    rq.user_id = user;
    rq.best = u->want;
    rq.ttl_s = b->ttl_s;
    if (u->zone)
        rq.zone = u->zone == 1 ? BENCH_ZONE_VIP : BENCH_ZONE_PLATEIA;
    if (u->coupon)
        rq.coupon_code = b->coupon_code[u->coupon]; /* paid net of it: after_hold's total */
    return bh_call_async(u->d->cli, BH_METHOD_NAME_RESERVATION_CREATE_RESERVATION, &rq.base, &co,
                         on_answer, u, NULL, st);
}

static int
send_confirm(buyer *u, bh_status *st)
{
    char key[64];
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    Bilheteria__V1__ConfirmPaymentRequest rq = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    snprintf(key, sizeof(key), "onsale-%d-%llu-%llu", (int)getpid(),
             (unsigned long long)u->d->o->b->seed, (unsigned long long)u->n);
    co.idempotency_key = key;
    rq.reservation_id = u->resv_id;
    rq.amount_cents = u->total_cents;
    rq.method = "pix";
    rq.provider = "bench";
    rq.provider_ref = key;
    return bh_call_async(u->d->cli, BH_METHOD_NAME_PAYMENT_CONFIRM_PAYMENT, &rq.base, &co,
                         on_answer, u, NULL, st);
}

static int
send_cancel(buyer *u, bh_status *st)
{
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    Bilheteria__V1__CancelReservationRequest rq = BILHETERIA__V1__CANCEL_RESERVATION_REQUEST__INIT;
    rq.id = u->resv_id;
    return bh_call_async(u->d->cli, BH_METHOD_NAME_RESERVATION_CANCEL_RESERVATION, &rq.base, &co,
                         on_answer, u, NULL, st);
}

/* Sends u's next call; late if now is past its intended time. An arrival
 * counts as sent. */
static void
buyer_send(buyer *u, uint64_t now)
{
    os_run *o = u->d->o;
    bh_status st;
    int rc;
    pthread_mutex_lock(&o->mu);
    uint64_t lag = now > u->due_ns ? now - u->due_ns : 0;
    os_sec *s = sec_at(o, now);
    if (u->step == OS_HOLD) {
        o->sent++;
        if (s != NULL)
            s->sent++;
        if ((s = sec_at(o, u->due_ns)) != NULL)
            s->offered++;
    }
    if (lag > LATE_NS) {
        o->late++;
        if ((s = sec_at(o, now)) != NULL)
            s->late++;
    }
    if (lag > o->max_lag_ns)
        o->max_lag_ns = lag;
    pthread_mutex_unlock(&o->mu);
    atomic_fetch_add(&u->d->in_flight, 1);
    atomic_fetch_add(&o->in_flight, 1);
    rc = u->step == OS_HOLD      ? send_hold(u, &st)
         : u->step == OS_CONFIRM ? send_confirm(u, &st)
                                 : send_cancel(u, &st);
    if (rc != BH_OK) {
        pthread_mutex_lock(&o->mu);
        record(o, u->step, rc, u->due_ns, bench_now_ns());
        o->failed++;
        os_unexpected(o, "%s not sent: %s %s", os_names[u->step], bh_code_name(rc), st.message);
        pthread_mutex_unlock(&o->mu);
        atomic_fetch_sub(&u->d->in_flight, 1);
        atomic_fetch_sub(&o->in_flight, 1);
        free(u);
    }
}

/* Failures that an overloaded or stopping server may give, as opposed to
 * answers that say the bench or the server is wrong. */
static int
transient(int code)
{
    return code == BH_DEADLINE_EXCEEDED || code == BH_UNAVAILABLE || code == BH_CANCELLED ||
           code == BH_RESOURCE_EXHAUSTED;
}

/* What the answer to u's hold means; returns 1 if u has a next call. Under
 * o->mu. */
static int
after_hold(os_run *o, buyer *u, int code, const bh_call_result *r, uint64_t now)
{
    if (code != BH_OK) {
        if (code == BH_FAILED_PRECONDITION) {
            if (u->coupon && strstr(r->status->message, "used up") != NULL)
                o->coupon_used_up++;
            else if (u->zone)
                o->zone_full++;
            else
                o->sold_out++;
            return 0;
        }
        o->failed++;
        if (!transient(code))
            os_unexpected(o, "CreateReservation best=%u: %s %s", u->want, bh_code_name(code),
                          r->status->message);
        return 0;
    }
    const Bilheteria__V1__Reservation *res =
        ((const Bilheteria__V1__CreateReservationResponse *)r->resp)->reservation;
    if (res == NULL || res->n_seats != u->want) {
        os_unexpected(o, "CreateReservation best=%u: an answer with %zu seats", u->want,
                      res ? res->n_seats : 0);
        return 0;
    }
    u->resv_id = res->id;
    u->total_cents = res->total_cents;
    u->n_seats = (uint32_t)res->n_seats;
    if (u->fate == FATE_ABANDON) {
        o->abandoned++;
        return 0;
    }
    u->step = u->fate == FATE_PAY ? OS_CONFIRM : OS_CANCEL;
    u->due_ns = now + u->think_ns;
    return 1;
}

static void
after_confirm(os_run *o, buyer *u, int code, const bh_call_result *r, uint64_t now)
{
    if (code == BH_OK) {
        const Bilheteria__V1__Payment *p =
            ((const Bilheteria__V1__ConfirmPaymentResponse *)r->resp)->payment;
        if (p == NULL || r->status->replayed) {
            os_unexpected(o, "ConfirmPayment of reservation %llu: %s",
                          (unsigned long long)u->resv_id,
                          p == NULL ? "no payment in the answer" : "a first call was replayed");
            return;
        }
        if (grow((void **)&o->conf, &o->cap_conf, o->n_conf, sizeof(os_conf)) != 0) {
            os_unexpected(o, "out of memory");
            return;
        }
        o->conf[o->n_conf++] =
            (os_conf){ u->resv_id,        p->id, u->n_seats, u->total_cents, (uint8_t)u->zone,
                       (uint8_t)u->coupon };
        o->paid++;
        uint64_t seats = atomic_fetch_add(&o->paid_seats, u->n_seats) + u->n_seats;
        uint64_t zero = 0;
        if (seats >= o->b->capacity) {
            atomic_compare_exchange_strong(&o->sold_out_ns, &zero, now);
            atomic_store(&o->stop, 1); /* no more arrivals: the monitor ends the run */
        }
        return;
    }
    if (code == BH_FAILED_PRECONDITION) {
        o->late_pay++; /* the hold lapsed and a seat went to someone else */
        return;
    }
    o->failed++;
    if (!transient(code)) {
        os_unexpected(o, "ConfirmPayment of reservation %llu: %s %s",
                      (unsigned long long)u->resv_id, bh_code_name(code), r->status->message);
        return;
    }
    /* It may have been applied: the check reads it back. */
    if (grow((void **)&o->unsure, &o->cap_unsure, o->n_unsure, sizeof(uint64_t)) == 0)
        o->unsure[o->n_unsure++] = u->resv_id;
}

static void
after_cancel(os_run *o, buyer *u, int code, const bh_call_result *r)
{
    if (code == BH_OK)
        o->cancelled++;
    else if (code == BH_FAILED_PRECONDITION)
        o->lapsed_cancel++;
    else {
        o->failed++;
        if (!transient(code))
            os_unexpected(o, "CancelReservation %llu: %s %s", (unsigned long long)u->resv_id,
                          bh_code_name(code), r->status->message);
    }
}

/* The callback, on one of nng's threads: records the call and queues the
 * buyer's next one (or lets the buyer go). */
static void
on_answer(void *arg, bh_call_result *r)
{
    buyer *u = arg;
    os_drv *d = u->d;
    os_run *o = d->o;
    uint64_t now = bench_now_ns();
    int code = r->status->code, op = u->step, next = 0;
    if (op == OS_HOLD && code == BH_FAILED_PRECONDITION)
        op = OS_SOLD_OUT; /* no u->want adjacent seats left: the buyer leaves */
    pthread_mutex_lock(&o->mu);
    record(o, op, code, u->due_ns, now);
    if (u->step == OS_HOLD)
        next = after_hold(o, u, code, r, now);
    else if (u->step == OS_CONFIRM)
        after_confirm(o, u, code, r, now);
    else
        after_cancel(o, u, code, r);
    if (next && atomic_load(&o->stop)) {
        o->cut++;
        next = 0;
    }
    pthread_mutex_unlock(&o->mu);
    if (next)
        heap_push(d, u);
    else
        free(u);
    atomic_fetch_sub(&d->in_flight, 1);
    atomic_fetch_sub(&o->in_flight, 1);
    /* The driver sets window_full before it looks at in_flight a last
     * time, so one of the two sees the other's change. */
    if (atomic_load(&d->window_full)) {
        pthread_mutex_lock(&d->mu);
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
}

/* ---- the drivers ---- */

static buyer *
buyer_new(os_drv *d, uint64_t n, uint64_t due_ns)
{
    bench *b = d->o->b;
    buyer *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return NULL;
    u->d = d;
    u->n = n;
    u->due_ns = due_ns;
    u->step = OS_HOLD;
    u->want = 1 + (uint32_t)(bench_rand_next(&d->rng) % MAX_WANT);
    uint64_t f = bench_rand_next(&d->rng) % 100;
    u->fate = f < PAY_PCT ? FATE_PAY : f < PAY_PCT + ABANDON_PCT ? FATE_ABANDON : FATE_CANCEL;
    /* Payers and cancellers take up to a third of the hold time to decide. */
    u->think_ns = bench_rand_next(&d->rng) % ((uint64_t)b->ttl_s * 1000000000u / 3);
    if (b->zones && bench_rand_next(&d->rng) % 100 < ZONE_SHARE_PCT)
        u->zone = 1 + (int)(bench_rand_next(&d->rng) % 2);
    if (b->coupons && bench_rand_next(&d->rng) % 100 < COUPON_SHARE_PCT)
        u->coupon = bench_rand_next(&d->rng) % 2 ? COUPON_PCT : COUPON_FIX;
    pthread_mutex_lock(&d->o->mu);
    d->o->zone_asked += u->zone != 0;
    d->o->coupon_asked += u->coupon != 0;
    pthread_mutex_unlock(&d->o->mu);
    return u;
}

/* Sleeps until wake, an earlier follow-up, or (full) an answer that frees
 * the window. */
static void
drv_sleep(os_drv *d, uint64_t wake, int full)
{
    pthread_mutex_lock(&d->mu);
    if (full) {
        atomic_store(&d->window_full, 1);
        if (atomic_load(&d->in_flight) < d->o->b->window)
            wake = 0;
    } else if (d->n > 0 && d->heap[0]->due_ns < wake)
        wake = d->heap[0]->due_ns;
    if (wake > bench_now_ns() && !atomic_load(&d->o->stop)) {
        struct timespec ts = { .tv_sec = (time_t)(wake / 1000000000u),
                               .tv_nsec = (long)(wake % 1000000000u) };
        d->wake_ns = wake;
        pthread_cond_timedwait(&d->cv, &d->mu, &ts);
        d->wake_ns = 0;
    }
    atomic_store(&d->window_full, 0);
    pthread_mutex_unlock(&d->mu);
}

static void *
drv_main(void *arg)
{
    os_drv *d = arg;
    os_run *o = d->o;
    bench *b = o->b;
    long window = b->window;
    uint64_t n = (uint64_t)d->id;
    uint64_t next = o->t0 + (uint64_t)(arrival_s(b, n) * 1e9);
    while (!atomic_load(&o->stop)) {
        uint64_t now = bench_now_ns();
        int full = 0;
        /* Follow-ups first: those buyers are further along. */
        for (;;) {
            if (atomic_load(&d->in_flight) >= window) {
                full = 1;
                break;
            }
            pthread_mutex_lock(&d->mu);
            buyer *u = heap_pop_due(d, now);
            pthread_mutex_unlock(&d->mu);
            if (u == NULL)
                break;
            buyer_send(u, now);
            now = bench_now_ns();
        }
        while (!full && next <= now && !atomic_load(&o->stop)) {
            if (atomic_load(&d->in_flight) >= window) {
                full = 1;
                break;
            }
            buyer *u = buyer_new(d, n, next);
            if (u == NULL) {
                pthread_mutex_lock(&o->mu);
                os_unexpected(o, "out of memory");
                pthread_mutex_unlock(&o->mu);
                atomic_store(&o->stop, 1);
                break;
            }
            buyer_send(u, now);
            n += (uint64_t)o->n_drv;
            next = o->t0 + (uint64_t)(arrival_s(b, n) * 1e9);
            now = bench_now_ns();
        }
        drv_sleep(d, full ? now + 10000000 : next, full);
    }
    return NULL;
}

/* ---- the run ---- */

static int
read_map(os_run *o, bh_client *c, Bilheteria__V1__GetSeatMapResponse **rs, bh_status *st)
{
    Bilheteria__V1__GetSeatMapRequest rq = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
    rq.session_id = o->b->session_ids[0];
    return bh_session_get_seat_map(c, &rq, rs, NULL, st);
}

/* Watches the run until the venue is sold out (the payments made cover
 * it, or the seat map shows it) or the time is up; reads the seat map
 * every second for the seats left. Returns 1 if sold out. */
static int
monitor(os_run *o, double max_s)
{
    bench *b = o->b;
    uint64_t tick = o->t0, next_map = o->t0 + MAP_EVERY_S * 1000000000ull;
    for (;;) {
        tick += TICK_NS;
        struct timespec ts = { .tv_sec = (time_t)(tick / 1000000000u),
                               .tv_nsec = (long)(tick % 1000000000u) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        uint64_t now = bench_now_ns();
        if (atomic_load(&o->sold_out_ns) != 0)
            return 1;
        if (atomic_load(&o->stop))
            return 0;
        if (now >= next_map) {
            Bilheteria__V1__GetSeatMapResponse *rs = NULL;
            bh_status st;
            int rc = read_map(o, o->drv[0].cli, &rs, &st);
            if (rc == BH_OK) {
                pthread_mutex_lock(&o->mu);
                os_sec *s = sec_at(o, next_map - 1);
                if (s != NULL) {
                    s->unsold = (int64_t)b->capacity - rs->sold;
                    s->free_seats = rs->available;
                }
                pthread_mutex_unlock(&o->mu);
                uint32_t sold = rs->sold;
                protobuf_c_message_free_unpacked(&rs->base, NULL);
                if (sold >= b->capacity) {
                    uint64_t zero = 0;
                    atomic_compare_exchange_strong(&o->sold_out_ns, &zero, bench_now_ns());
                    return 1;
                }
            }
            next_map += MAP_EVERY_S * 1000000000ull;
        }
        if ((double)(now - o->t0) / 1e9 >= max_s)
            return 0;
    }
}

/* Stops the drivers, waits for the calls still out, lets go of the
 * buyers still queued. */
static void
drain(os_run *o)
{
    atomic_store(&o->stop, 1);
    for (int i = 0; i < o->n_drv; i++) {
        pthread_mutex_lock(&o->drv[i].mu);
        pthread_cond_signal(&o->drv[i].cv);
        pthread_mutex_unlock(&o->drv[i].mu);
    }
    for (int i = 0; i < o->n_drv; i++)
        pthread_join(o->drv[i].th, NULL);
    uint64_t until = bench_now_ns() + DRAIN_NS;
    while (atomic_load(&o->in_flight) > 0 && bench_now_ns() < until) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < o->n_drv; i++) {
        os_drv *d = &o->drv[i];
        pthread_mutex_lock(&d->mu);
        for (size_t k = 0; k < d->n; k++)
            free(d->heap[k]);
        pthread_mutex_lock(&o->mu);
        o->cut += d->n;
        pthread_mutex_unlock(&o->mu);
        d->n = 0;
        pthread_mutex_unlock(&d->mu);
    }
}

/* ---- the end check ---- */

typedef struct os_check {
    os_run *o;
    pthread_mutex_t mu;
    char *viol;
    size_t violen;
    int n_viol;
    uint64_t *ids; /* reservations to read back: the confirmed, then the unsure */
    size_t n_ids, n_confirmed;
    atomic_int gone;
    int64_t *owner;                  /* seat index -> the confirmed reservation that has it */
    uint64_t seats;                  /* seats of the CONFIRMED reservations read back */
    uint64_t coupon_seen[COUPON__N]; /* CONFIRMED read back carrying coupon k */
    uint64_t unsure_confirmed, unsure_seats;
} os_check;

static void os_violation(os_check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
os_violation(os_check *ck, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bench_vviolation(&ck->mu, ck->viol, ck->violen, &ck->n_viol, fmt, ap);
    va_end(ap);
}

static int
by_resv(const void *a, const void *b)
{
    const os_conf *x = a, *y = b;
    return x->resv_id < y->resv_id ? -1 : x->resv_id > y->resv_id;
}

static const os_conf *
find_conf(const os_run *o, uint64_t id)
{
    os_conf key = { .resv_id = id };
    return bsearch(&key, o->conf, o->n_conf, sizeof(os_conf), by_resv);
}

/* --zones, --coupons: a paid reservation read back has what its buyer
 * asked for: every seat in the zone, the coupon with a discount. */
static void
check_asked(os_check *ck, const os_conf *cf, const Bilheteria__V1__Reservation *r)
{
    const bench *b = ck->o->b;
    if (cf->zone) {
        const char *zone = cf->zone == 1 ? BENCH_ZONE_VIP : BENCH_ZONE_PLATEIA;
        for (size_t k = 0; k < r->n_seats; k++)
            if (r->seats[k]->zone == NULL || strcmp(r->seats[k]->zone, zone) != 0)
                os_violation(ck, "reservation %llu asked for zone %s, has seat %s of zone \"%s\"",
                             (unsigned long long)r->id, zone, r->seats[k]->label,
                             r->seats[k]->zone ? r->seats[k]->zone : "");
    }
    const char *code = cf->coupon ? b->coupon_code[cf->coupon] : "";
    if (strcasecmp(r->coupon_code ? r->coupon_code : "", code) != 0 ||
        (cf->coupon && r->discount_cents <= 0))
        os_violation(ck,
                     "reservation %llu was held with coupon \"%s\", carries \"%s\" (discount %lld)",
                     (unsigned long long)r->id, code, r->coupon_code ? r->coupon_code : "",
                     (long long)r->discount_cents);
}

/* --coupons: each coupon's paid uses are the CONFIRMED reservations read
 * back that carry it, and uses + held uses never pass max_uses. Appends
 * "CODE uses/max" to out. */
static void
check_coupons(os_check *ck, bh_client *c, char *out, size_t outlen)
{
    const bench *b = ck->o->b;
    for (int k = COUPON_PCT; k < COUPON__N; k++) {
        if (b->coupon_code[k][0] == 0)
            continue;
        Bilheteria__V1__GetCouponRequest rq = BILHETERIA__V1__GET_COUPON_REQUEST__INIT;
        Bilheteria__V1__GetCouponResponse *rs = NULL;
        bh_status st;
        rq.code = (char *)b->coupon_code[k];
        int rc = bh_coupon_get_coupon(c, &rq, &rs, NULL, &st);
        if (rc != BH_OK) {
            os_violation(ck, "GetCoupon %s: %s %s", rq.code, bh_code_name(rc), st.message);
            continue;
        }
        const Bilheteria__V1__Coupon *cp = rs->coupon;
        if (cp->uses != ck->coupon_seen[k] ||
            (cp->max_uses != 0 && (uint64_t)cp->uses + cp->held_uses > cp->max_uses))
            os_violation(ck,
                         "coupon %s: %u uses + %u held (max_uses %u), but %llu CONFIRMED "
                         "reservations read back carry it",
                         cp->code, cp->uses, cp->held_uses, cp->max_uses,
                         (unsigned long long)ck->coupon_seen[k]);
        size_t used = strlen(out);
        if (used < outlen && cp->max_uses)
            snprintf(out + used, outlen - used, ", coupon %s %u used of %u", cp->code, cp->uses,
                     cp->max_uses);
        else if (used < outlen)
            snprintf(out + used, outlen - used, ", coupon %s %u used", cp->code, cp->uses);
        protobuf_c_message_free_unpacked(&rs->base, NULL);
    }
}

/* Reads reservation ck->ids[i] back and claims its seats. */
static void
check_one(os_check *ck, bh_client *c, size_t i)
{
    os_run *o = ck->o;
    uint64_t id = ck->ids[i];
    int unsure = i >= ck->n_confirmed;
    Bilheteria__V1__GetReservationRequest rq = BILHETERIA__V1__GET_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__GetReservationResponse *rs = NULL;
    bh_status st;
    rq.id = id;
    int rc = bh_reservation_get_reservation(c, &rq, &rs, NULL, &st);
    if (rc != BH_OK) {
        if (transient(rc))
            atomic_store(&ck->gone, 1);
        os_violation(ck, "GetReservation %llu: %s %s", (unsigned long long)id, bh_code_name(rc),
                     st.message);
        return;
    }
    const Bilheteria__V1__Reservation *r = rs->reservation;
    int confirmed = r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED;
    if (!unsure) {
        const os_conf *cf = find_conf(o, id);
        if (!confirmed || r->payment_id != cf->pay_id || r->n_seats != cf->n_seats ||
            r->total_cents != cf->amount)
            os_violation(ck,
                         "reservation %llu: state %d, payment %llu, %zu seats, total %lld; "
                         "the bench paid it: CONFIRMED, payment %llu, %u seats, %lld",
                         (unsigned long long)id, (int)r->status, (unsigned long long)r->payment_id,
                         r->n_seats, (long long)r->total_cents, (unsigned long long)cf->pay_id,
                         cf->n_seats, (long long)cf->amount);
    }
    if (!unsure)
        check_asked(ck, find_conf(o, id), r);
    if (confirmed) {
        pthread_mutex_lock(&ck->mu);
        ck->seats += r->n_seats;
        for (int k = COUPON_PCT; k < COUPON__N; k++)
            ck->coupon_seen[k] += o->b->coupon_code[k][0] && r->coupon_code != NULL &&
                                  strcasecmp(r->coupon_code, o->b->coupon_code[k]) == 0;
        if (unsure) {
            ck->unsure_confirmed++;
            ck->unsure_seats += r->n_seats;
        }
        pthread_mutex_unlock(&ck->mu);
        for (size_t k = 0; k < r->n_seats; k++) {
            long x = bench_seat_index(o->b, r->seats[k]->label);
            if (x < 0) {
                os_violation(ck, "reservation %llu has seat \"%s\", not in the layout",
                             (unsigned long long)id, r->seats[k]->label);
                continue;
            }
            pthread_mutex_lock(&ck->mu);
            int64_t prev = ck->owner[x];
            if (prev == 0)
                ck->owner[x] = (int64_t)id;
            pthread_mutex_unlock(&ck->mu);
            if (prev != 0)
                os_violation(ck, "seat %s sold twice: reservations %lld and %llu",
                             r->seats[k]->label, (long long)prev, (unsigned long long)id);
        }
    }
    protobuf_c_message_free_unpacked(&rs->base, NULL);
}

static void
check_item(void *ctx, bh_client *c, size_t i)
{
    check_one(ctx, c, i);
}

/* The seat map against the reservations read back: every seat sold, each
 * to one confirmed reservation of the bench's, and no other. */
static void
check_map(os_check *ck, const Bilheteria__V1__GetSeatMapResponse *rs, int sold_out)
{
    bench *b = ck->o->b;
    if (sold_out && (rs->sold != b->capacity || rs->held != 0 || rs->available != 0))
        os_violation(ck, "sold out, but the seat map shows sold %u, held %u, available %u of %u",
                     rs->sold, rs->held, rs->available, b->capacity);
    if (rs->sold != ck->seats)
        os_violation(ck, "the seat map shows %u seats sold, the confirmed reservations hold %llu",
                     rs->sold, (unsigned long long)ck->seats);
    if (rs->n_rows != b->rows)
        return;
    uint32_t shown = 0;
    for (uint32_t r = 0; r < b->rows; r++) {
        const char *s = rs->rows[r]->states;
        for (uint32_t x = 0; x < b->seats_per_row && s[x]; x++) {
            int64_t owner = ck->owner[r * b->seats_per_row + x];
            if ((s[x] == 'x') != (owner != 0) && shown++ < 3)
                os_violation(ck, "seat %s%u shows '%c' in the seat map, %s", rs->rows[r]->label,
                             x + 1, s[x],
                             owner ? "yet a confirmed reservation has it"
                                   : "yet no confirmed reservation has it");
        }
    }
}

/* Seats sold by each count the check makes; -1 where it did not get
 * that far. */
typedef struct os_sold {
    int64_t seat_map, paid, read_back;
} os_sold;

static int
os_check_run(os_run *o, int sold_out, os_sold *sold, char *viol, size_t violen, char *summary,
             size_t sumlen)
{
    bench *b = o->b;
    os_check ck = { .o = o, .viol = viol, .violen = violen };
    viol[0] = summary[0] = 0;
    *sold = (os_sold){ -1, -1, -1 };
    pthread_mutex_init(&ck.mu, NULL);
    qsort(o->conf, o->n_conf, sizeof(os_conf), by_resv);
    ck.ids = calloc(o->n_conf + o->n_unsure + 1, sizeof(uint64_t));
    ck.owner = calloc(b->capacity, sizeof(int64_t));
    if (ck.ids == NULL || ck.owner == NULL) {
        os_violation(&ck, "out of memory for the check");
        goto out;
    }
    uint64_t paid_seats = 0;
    for (size_t i = 0; i < o->n_conf; i++) {
        if (i > 0 && o->conf[i].resv_id == o->conf[i - 1].resv_id)
            os_violation(&ck, "reservation %llu paid twice: payments %llu and %llu",
                         (unsigned long long)o->conf[i].resv_id,
                         (unsigned long long)o->conf[i - 1].pay_id,
                         (unsigned long long)o->conf[i].pay_id);
        ck.ids[ck.n_ids++] = o->conf[i].resv_id;
        paid_seats += o->conf[i].n_seats;
    }
    ck.n_confirmed = ck.n_ids;
    sold->paid = (int64_t)paid_seats;
    for (size_t i = 0; i < o->n_unsure; i++)
        ck.ids[ck.n_ids++] = o->unsure[i];

    bench_for_each(b, ck.n_ids, check_item, &ck, &ck.gone);
    if (atomic_load(&ck.gone)) {
        os_violation(&ck, "the server stopped answering: the check was cut short");
        goto out;
    }
    sold->read_back = (int64_t)ck.seats;

    Bilheteria__V1__GetSeatMapResponse *rs = NULL;
    bh_status st;
    int rc = read_map(o, o->drv[0].cli, &rs, &st);
    if (rc != BH_OK) {
        os_violation(&ck, "GetSeatMap: %s %s", bh_code_name(rc), st.message);
        goto out;
    }
    if (sold_out && paid_seats + ck.unsure_seats != b->capacity)
        os_violation(&ck, "sold out, but the payments made cover %llu seats of %u",
                     (unsigned long long)(paid_seats + ck.unsure_seats), b->capacity);
    sold->seat_map = rs->sold;
    sold->paid += (int64_t)ck.unsure_seats;
    check_map(&ck, rs, sold_out);
    char coupons[200] = "";
    if (b->coupons)
        check_coupons(&ck, o->drv[0].cli, coupons, sizeof(coupons));
    snprintf(summary, sumlen,
             "seat map: %u of %u sold, %u held; %zu payments for %llu seats "
             "(+%llu payments whose answer was lost, %llu seats); %llu seats in CONFIRMED "
             "reservations read back, none twice%s",
             rs->sold, b->capacity, rs->held, o->n_conf, (unsigned long long)paid_seats,
             (unsigned long long)ck.unsure_confirmed, (unsigned long long)ck.unsure_seats,
             (unsigned long long)ck.seats, coupons);
    protobuf_c_message_free_unpacked(&rs->base, NULL);
out:
    free(ck.ids);
    free(ck.owner);
    pthread_mutex_destroy(&ck.mu);
    return ck.n_viol;
}

/* ---- the report ---- */

typedef struct os_result {
    os_sold sold;
    int sold_out, n_viol;
    double elapsed_s, sell_out_s, achieved, bench_cpu_s, srv_cpu_s;
    uint64_t offered, requests, not_sent;
    long srv_rss_kib;
    char viol[4096], summary[600];
} os_result;

static double
ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static void
rate_text(const bench *b, char *out, size_t n)
{
    if (b->ramp_to > 0)
        snprintf(out, n, "a ramp of %.0f -> %.0f buyers/s over %.0f s", b->ramp_from, b->ramp_to,
                 b->ramp_s);
    else
        snprintf(out, n, "%.0f buyers/s", b->rate);
}

static void
print_text(const os_run *o, const os_result *r, const struct bh_spawn_server *srv)
{
    const bench *b = o->b;
    char rate[128];
    rate_text(b, rate, sizeof(rate));
    printf("bilheteria-bench onsale: server %s%s; venue %u seats (%u rows x %u), %s offered, "
           "hold %d s, %d driver threads, window %d calls each\n",
           b->url, srv ? " (spawned)" : "", b->capacity, b->rows, b->seats_per_row, rate, b->ttl_s,
           o->n_drv, b->window);
    if (r->sold_out)
        printf("sold out in %.3f s\n", r->sell_out_s);
    else
        printf("NOT SOLD OUT: stopped after %.3f s\n", r->elapsed_s);
    printf("buyers: %llu offered, %llu sent (achieved %.0f/s); paid %llu, abandoned %llu, "
           "cancelled %llu, refused (no adjacent seats) %llu, payments too late %llu, "
           "cancels too late %llu, failed %llu, cut at the end %llu\n",
           (unsigned long long)r->offered, (unsigned long long)o->sent, r->achieved,
           (unsigned long long)o->paid, (unsigned long long)o->abandoned,
           (unsigned long long)o->cancelled, (unsigned long long)o->sold_out,
           (unsigned long long)o->late_pay, (unsigned long long)o->lapsed_cancel,
           (unsigned long long)o->failed, (unsigned long long)o->cut);
    if (b->zones || b->coupons)
        printf("buyers who asked for a zone %llu (refused, zone full: %llu), who brought a coupon "
               "%llu (refused, used up: %llu)\n",
               (unsigned long long)o->zone_asked, (unsigned long long)o->zone_full,
               (unsigned long long)o->coupon_asked, (unsigned long long)o->coupon_used_up);
    printf("calls: %llu in %.3f s = %.0f calls/s; sent late (> 1 ms after their time) %llu, "
           "worst %.3f ms; arrivals never sent %llu\n",
           (unsigned long long)r->requests, r->elapsed_s,
           r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s : 0.0, (unsigned long long)o->late,
           ms(o->max_lag_ns), (unsigned long long)r->not_sent);
    printf("latency ms, from the intended send time: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  "
           "max %.3f\n",
           ms(bench_hist_percentile(o->all, 50)), ms(bench_hist_percentile(o->all, 90)),
           ms(bench_hist_percentile(o->all, 99)), ms(bench_hist_percentile(o->all, 99.9)),
           ms(bench_hist_max(o->all)));
    printf("  %-14s %9s %8s %8s %8s %8s %7s\n", "call", "count", "p50", "p99", "p99.9", "max",
           "not-ok");
    for (int k = 0; k < OS__N; k++) {
        uint64_t bad = 0;
        for (int c = 1; c < BENCH_N_CODES; c++)
            bad += o->err[k][c];
        if (o->n_op[k])
            printf("  %-14s %9llu %8.3f %8.3f %8.3f %8.3f %7llu\n", os_names[k],
                   (unsigned long long)o->n_op[k], ms(bench_hist_percentile(o->op[k], 50)),
                   ms(bench_hist_percentile(o->op[k], 99)),
                   ms(bench_hist_percentile(o->op[k], 99.9)), ms(bench_hist_max(o->op[k])),
                   (unsigned long long)bad);
    }
    printf("status codes not OK:");
    int any = 0;
    for (int c = 1; c < BENCH_N_CODES; c++) {
        uint64_t n = 0;
        for (int k = 0; k < OS__N; k++)
            n += o->err[k][c];
        if (n) {
            printf(" %s %llu", bh_code_name(c), (unsigned long long)n);
            any = 1;
        }
    }
    printf("%s\n", any ? "" : " none");
    printf("per second (calls by their intended second; seats at the second's end):\n");
    printf("  %4s %8s %8s %8s %6s %8s %8s %8s %8s %8s\n", "s", "offered", "sent", "answers", "late",
           "p50", "p99", "p99.9", "unsold", "free");
    for (size_t k = 0; k < o->n_sec; k++) {
        const os_sec *s = &o->sec[k];
        if (s->h == NULL && s->offered == 0 && s->answered == 0 && s->unsold < 0)
            continue;
        printf("  %4zu %8llu %8llu %8llu %6llu %8.3f %8.3f %8.3f %8lld %8lld\n", k,
               (unsigned long long)s->offered, (unsigned long long)s->sent,
               (unsigned long long)s->answered, (unsigned long long)s->late,
               s->h ? ms(bench_hist_percentile(s->h, 50)) : 0.0,
               s->h ? ms(bench_hist_percentile(s->h, 99)) : 0.0,
               s->h ? ms(bench_hist_percentile(s->h, 99.9)) : 0.0, (long long)s->unsold,
               (long long)s->free_seats);
    }
    if (srv != NULL)
        printf("server: peak RSS %.1f MiB; CPU %.2f s during the run (%.1f us/call)\n",
               (double)r->srv_rss_kib / 1024.0, r->srv_cpu_s,
               r->requests ? r->srv_cpu_s * 1e6 / (double)r->requests : 0.0);
    printf("bench: CPU %.2f s during the run, %ld CPUs online\n", r->bench_cpu_s,
           sysconf(_SC_NPROCESSORS_ONLN));
    if (o->unexpected)
        printf("UNEXPECTED: %llu; first: %s\n", (unsigned long long)o->unexpected, o->first_err);
    if (r->n_viol == 0)
        printf("check: ok: %s\n", r->summary);
    else
        printf("CHECK FAILED (%d):\n%s", r->n_viol, r->viol);
}

static void
json_buyers(cJSON *j, const os_run *o, const os_result *r)
{
    cJSON *u = cJSON_AddObjectToObject(j, "buyers");
    cJSON_AddNumberToObject(u, "offered", (double)r->offered);
    cJSON_AddNumberToObject(u, "sent", (double)o->sent);
    cJSON_AddNumberToObject(u, "not_sent", (double)r->not_sent);
    cJSON_AddNumberToObject(u, "paid", (double)o->paid);
    cJSON_AddNumberToObject(u, "abandoned", (double)o->abandoned);
    cJSON_AddNumberToObject(u, "cancelled", (double)o->cancelled);
    cJSON_AddNumberToObject(u, "refused_no_seats", (double)o->sold_out);
    cJSON_AddNumberToObject(u, "payments_too_late", (double)o->late_pay);
    cJSON_AddNumberToObject(u, "cancels_too_late", (double)o->lapsed_cancel);
    cJSON_AddNumberToObject(u, "failed", (double)o->failed);
    cJSON_AddNumberToObject(u, "cut", (double)o->cut);
    if (o->b->zones) {
        cJSON_AddNumberToObject(u, "asked_zone", (double)o->zone_asked);
        cJSON_AddNumberToObject(u, "refused_zone_full", (double)o->zone_full);
    }
    if (o->b->coupons) {
        cJSON_AddNumberToObject(u, "brought_coupon", (double)o->coupon_asked);
        cJSON_AddNumberToObject(u, "refused_coupon_used_up", (double)o->coupon_used_up);
    }
}

static void
json_calls(cJSON *j, const os_run *o, const os_result *r)
{
    cJSON_AddNumberToObject(j, "requests", (double)r->requests);
    cJSON_AddNumberToObject(j, "calls_per_s",
                            r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s : 0);
    cJSON_AddNumberToObject(j, "late_sends", (double)o->late);
    cJSON_AddNumberToObject(j, "max_send_lag_ms", ms(o->max_lag_ns));
    cJSON_AddItemToObject(j, "latency_ms", bench_lat_json(o->all));
    cJSON *ops = cJSON_AddObjectToObject(j, "ops");
    for (int k = 0; k < OS__N; k++) {
        if (o->n_op[k] == 0)
            continue;
        cJSON *x = cJSON_AddObjectToObject(ops, os_names[k]);
        cJSON_AddNumberToObject(x, "count", (double)o->n_op[k]);
        cJSON_AddItemToObject(x, "latency_ms", bench_lat_json(o->op[k]));
    }
    cJSON *codes = cJSON_AddObjectToObject(j, "errors_by_status");
    for (int c = 1; c < BENCH_N_CODES; c++) {
        uint64_t n = 0;
        for (int k = 0; k < OS__N; k++)
            n += o->err[k][c];
        if (n)
            cJSON_AddNumberToObject(codes, bh_code_name(c), (double)n);
    }
    cJSON *per = cJSON_AddArrayToObject(j, "per_second");
    double worst = 0;
    for (size_t k = 0; k < o->n_sec; k++) {
        const os_sec *s = &o->sec[k];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "s", (double)k);
        cJSON_AddNumberToObject(x, "offered", (double)s->offered);
        cJSON_AddNumberToObject(x, "sent", (double)s->sent);
        cJSON_AddNumberToObject(x, "answers", (double)s->answered);
        cJSON_AddNumberToObject(x, "late", (double)s->late);
        if (s->h != NULL) {
            cJSON_AddItemToObject(x, "latency_ms", bench_lat_json(s->h));
            if (ms(bench_hist_percentile(s->h, 99)) > worst)
                worst = ms(bench_hist_percentile(s->h, 99));
        }
        if (s->unsold >= 0) {
            cJSON_AddNumberToObject(x, "unsold", (double)s->unsold);
            cJSON_AddNumberToObject(x, "free", (double)s->free_seats);
        }
        cJSON_AddItemToArray(per, x);
    }
    cJSON_AddNumberToObject(j, "worst_second_p99_ms", worst);
}

static void
print_json(const os_run *o, const os_result *r, const struct bh_spawn_server *srv, int ok)
{
    const bench *b = o->b;
    cJSON *j = cJSON_CreateObject();
    if (j == NULL)
        return;
    cJSON_AddStringToObject(j, "scenario", "onsale");
    cJSON_AddStringToObject(j, "url", b->url);
    cJSON_AddBoolToObject(j, "spawned", srv != NULL);
    cJSON *v = cJSON_AddObjectToObject(j, "venue");
    cJSON_AddNumberToObject(v, "seats", b->capacity);
    cJSON_AddNumberToObject(v, "rows", b->rows);
    cJSON_AddNumberToObject(v, "seats_per_row", b->seats_per_row);
    if (b->ramp_to > 0) {
        cJSON_AddNumberToObject(j, "ramp_from", b->ramp_from);
        cJSON_AddNumberToObject(j, "ramp_to", b->ramp_to);
        cJSON_AddNumberToObject(j, "ramp_s", b->ramp_s);
    } else
        cJSON_AddNumberToObject(j, "rate", b->rate);
    cJSON_AddNumberToObject(j, "ttl_s", b->ttl_s);
    cJSON_AddNumberToObject(j, "drivers", o->n_drv);
    cJSON_AddNumberToObject(j, "window", b->window);
    cJSON_AddBoolToObject(j, "sold_out", r->sold_out);
    cJSON_AddNumberToObject(j, "sell_out_s", r->sold_out ? r->sell_out_s : -1);
    cJSON_AddNumberToObject(j, "duration_s", r->elapsed_s);
    cJSON_AddNumberToObject(j, "achieved_rate", r->achieved);
    json_buyers(j, o, r);
    json_calls(j, o, r);
    if (srv != NULL) {
        cJSON *s = cJSON_AddObjectToObject(j, "server");
        cJSON_AddNumberToObject(s, "peak_rss_kib", (double)r->srv_rss_kib);
        cJSON_AddNumberToObject(s, "run_cpu_s", r->srv_cpu_s);
        cJSON_AddNumberToObject(s, "cpu_us_per_request",
                                r->requests ? r->srv_cpu_s * 1e6 / (double)r->requests : 0.0);
    } else
        cJSON_AddNullToObject(j, "server");
    cJSON_AddNumberToObject(j, "bench_cpu_s", r->bench_cpu_s);
    cJSON_AddNumberToObject(j, "unexpected_errors", (double)o->unexpected);
    if (o->unexpected)
        cJSON_AddStringToObject(j, "first_unexpected", o->first_err);
    cJSON *inv = cJSON_AddObjectToObject(j, "invariants");
    cJSON_AddBoolToObject(inv, "checked", 1);
    cJSON_AddBoolToObject(inv, "ok", r->n_viol == 0);
    cJSON *sold = cJSON_AddObjectToObject(inv, "sold");
    cJSON_AddNumberToObject(sold, "capacity", b->capacity);
    cJSON_AddNumberToObject(sold, "seat_map", (double)r->sold.seat_map);
    cJSON_AddNumberToObject(sold, "paid", (double)r->sold.paid);
    cJSON_AddNumberToObject(sold, "read_back", (double)r->sold.read_back);
    cJSON_AddStringToObject(inv, "summary", r->summary);
    bench_json_lines(cJSON_AddArrayToObject(inv, "violations"), r->viol);
    cJSON_AddBoolToObject(j, "ok", ok);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (text != NULL)
        puts(text);
    cJSON_free(text);
}

/* ---- the plot: a .dat and a gnuplot script next to FILE, then gnuplot ---- */

static int
write_plot_files(const os_run *o, const char *dat, const char *gp, const char *out, int svg)
{
    const bench *b = o->b;
    FILE *f = fopen(dat, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "# s offered sent answers late p50_ms p99_ms p999_ms unsold free\n");
    for (size_t k = 0; k < o->n_sec; k++) {
        const os_sec *s = &o->sec[k];
        if (s->h == NULL && s->offered == 0 && s->answered == 0 && s->unsold < 0)
            continue;
        fprintf(f, "%zu %llu %llu %llu %llu", k, (unsigned long long)s->offered,
                (unsigned long long)s->sent, (unsigned long long)s->answered,
                (unsigned long long)s->late);
        if (s->h != NULL)
            fprintf(f, " %.3f %.3f %.3f", ms(bench_hist_percentile(s->h, 50)),
                    ms(bench_hist_percentile(s->h, 99)), ms(bench_hist_percentile(s->h, 99.9)));
        else
            fprintf(f, " ? ? ?");
        if (s->unsold >= 0)
            fprintf(f, " %lld %lld\n", (long long)s->unsold, (long long)s->free_seats);
        else
            fprintf(f, " ? ?\n");
    }
    if (fclose(f) != 0)
        return -1;
    char rate[128];
    rate_text(b, rate, sizeof(rate));
    if ((f = fopen(gp, "w")) == NULL)
        return -1;
    fprintf(f,
            "set terminal %s size 1000,900 font 'sans,10' noenhanced\n"
            "set output '%s'\n"
            "set datafile missing '?'\n"
            "set key outside right top\n"
            "set grid\n"
            "set lmargin 12\n"
            "set rmargin 22\n"
            "set multiplot layout 3,1 title 'bilheteria-bench onsale: %u seats, %s, hold %d s'\n"
            "set ylabel 'per second'\n"
            "plot '%s' using ($1+0.5):2 with lines lw 2 title 'buyers offered', "
            "'' using ($1+0.5):3 with lines title 'buyers sent', "
            "'' using ($1+0.5):4 with lines title 'calls answered'\n"
            "set ylabel 'latency (ms)'\n"
            "set logscale y\n"
            "plot '%s' using ($1+0.5):6 with linespoints title 'p50', "
            "'' using ($1+0.5):7 with linespoints lw 2 title 'p99', "
            "'' using ($1+0.5):8 with linespoints title 'p99.9', "
            "10 with lines dt 2 lc rgb 'red' title '10 ms'\n"
            "unset logscale y\n"
            "set ylabel 'seats'\n"
            "set xlabel 'seconds since the on-sale opened'\n"
            "set yrange [0:*]\n"
            "plot '%s' using ($1+1):9 with linespoints lw 2 title 'not sold', "
            "'' using ($1+1):10 with linespoints title 'free (not held)'\n"
            "unset multiplot\n",
            svg ? "svg" : "pngcairo", out, b->capacity, rate, b->ttl_s, dat, dat, dat);
    return fclose(f);
}

/* FILE.png -> FILE.dat and FILE.gp (kept beside the picture). */
static int
plot(const os_run *o, const char *out)
{
    char dat[1024], gp[1024];
    const char *dot = strrchr(out, '.');
    int svg = dot != NULL && strcmp(dot, ".svg") == 0;
    size_t stem = dot != NULL && strchr(dot, '/') == NULL ? (size_t)(dot - out) : strlen(out);
    if (stem > 1000 || strchr(out, '\'') != NULL) {
        fprintf(stderr, "bilheteria-bench: --plot %s: too long, or has a quote\n", out);
        return -1;
    }
    snprintf(dat, sizeof(dat), "%.*s.dat", (int)stem, out);
    snprintf(gp, sizeof(gp), "%.*s.gp", (int)stem, out);
    if (write_plot_files(o, dat, gp, out, svg) != 0) {
        fprintf(stderr, "bilheteria-bench: --plot: cannot write %s or %s: %s\n", dat, gp,
                strerror(errno));
        return -1;
    }
    /* (tools/spawn's spawn.h shadows <spawn.h> here: fork and exec.) */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", gp, (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        fprintf(stderr, "bilheteria-bench: --plot: gnuplot %s failed (%s); the figures are in %s\n",
                gp, WIFEXITED(ws) && WEXITSTATUS(ws) == 127 ? "gnuplot not found" : "see above",
                dat);
        return -1;
    }
    return 0;
}

/* ---- entry ---- */

static int
os_init(os_run *o, bench *b)
{
    o->b = b;
    o->n_drv = b->clients;
    pthread_mutex_init(&o->mu, NULL);
    o->all = bench_hist_new();
    for (int k = 0; k < OS__N; k++)
        o->op[k] = bench_hist_new();
    o->drv = calloc((size_t)o->n_drv, sizeof(os_drv));
    if (o->all == NULL || o->drv == NULL)
        return -1;
    for (int k = 0; k < OS__N; k++)
        if (o->op[k] == NULL)
            return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    for (int i = 0; i < o->n_drv; i++) {
        os_drv *d = &o->drv[i];
        d->o = o;
        d->id = i;
        d->cli = b->t[i].cli;
        d->rng = b->t[i].rng;
        pthread_mutex_init(&d->mu, NULL);
        pthread_cond_init(&d->cv, &ca);
    }
    pthread_condattr_destroy(&ca);
    return 0;
}

static void
os_fini(os_run *o)
{
    for (int i = 0; o->drv != NULL && i < o->n_drv; i++) {
        free(o->drv[i].heap);
        pthread_mutex_destroy(&o->drv[i].mu);
        pthread_cond_destroy(&o->drv[i].cv);
    }
    free(o->drv);
    bench_hist_free(o->all);
    for (int k = 0; k < OS__N; k++)
        bench_hist_free(o->op[k]);
    for (size_t k = 0; k < o->n_sec; k++)
        bench_hist_free(o->sec[k].h);
    free(o->sec);
    free(o->conf);
    free(o->unsure);
    pthread_mutex_destroy(&o->mu);
}

int
bench_onsale(bench *b, const struct bh_spawn_server *srv)
{
    static os_run o;
    static os_result r;
    int status = 3, started = 0;
    if (os_init(&o, b) != 0) {
        fprintf(stderr, "bilheteria-bench: out of memory\n");
        goto out;
    }
    double srv_cpu0 = srv ? bh_spawn_cpu_s(srv) : 0, cpu0 = bench_self_cpu_s();
    /* A little ahead, so every driver starts on time. */
    o.t0 = bench_now_ns() + 20000000u;
    for (; started < o.n_drv; started++)
        if (pthread_create(&o.drv[started].th, NULL, drv_main, &o.drv[started]) != 0)
            break;
    if (started < o.n_drv) {
        fprintf(stderr, "bilheteria-bench: cannot start driver thread %d\n", started);
        o.n_drv = started;
        drain(&o);
        goto out;
    }
    r.sold_out = monitor(&o, b->duration_s);
    o.stop_ns = bench_now_ns();
    drain(&o);
    r.bench_cpu_s = bench_self_cpu_s() - cpu0;
    if (srv != NULL) {
        r.srv_cpu_s = bh_spawn_cpu_s(srv) - srv_cpu0;
        r.srv_rss_kib = bh_spawn_peak_rss_kib(srv);
    }
    uint64_t end = r.sold_out ? atomic_load(&o.sold_out_ns) : o.stop_ns;
    r.elapsed_s = (double)(o.stop_ns - o.t0) / 1e9;
    r.sell_out_s = (double)(end - o.t0) / 1e9;
    /* Arrivals stop when the last seat is paid for (or at the stop). */
    r.offered = arrivals_before(b, r.sell_out_s);
    r.not_sent = r.offered > o.sent ? r.offered - o.sent : 0;
    r.achieved = r.elapsed_s > 0 ? (double)o.sent / r.elapsed_s : 0;
    for (int k = 0; k < OS__N; k++)
        r.requests += o.n_op[k];
    r.n_viol =
        os_check_run(&o, r.sold_out, &r.sold, r.viol, sizeof(r.viol), r.summary, sizeof(r.summary));
    if (!r.sold_out) {
        size_t used = strlen(r.viol);
        snprintf(r.viol + used, sizeof(r.viol) - used, "not sold out within %.0f s (--duration)\n",
                 b->duration_s);
        r.n_viol++;
    }
    int ok = r.n_viol == 0 && o.unexpected == 0;
    if (b->json)
        print_json(&o, &r, srv, ok);
    else
        print_text(&o, &r, srv);
    status = ok ? 0 : 1;
    if (b->plot != NULL && plot(&o, b->plot) != 0 && status == 0)
        status = 3;
out:
    os_fini(&o);
    return status;
}
