/* SPDX-License-Identifier: Apache-2.0 */
/* The scenarios' operations, and the checks that run after rush, pay and
 * mixed. Each thread owns the seats whose index is its id modulo the
 * number of threads (when every thread gets at least MAX_PICK seats per
 * session), so holds never collide: any refusal is then a server bug, not
 * contention, except in rush where colliding is the point. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bench.h"
#include "bilheteria/bh_methods.h"

#define MAX_PICK       4
#define REPLAY_PERCENT 10
/* mixed: holds that carry a coupon, and paid reservations refunded. */
#define COUPON_PCT_PERCENT  30
#define COUPON_FIX_PERCENT  20
#define REFUND_SEAT_PERCENT 20
#define REFUND_ALL_PERCENT  10
#define MAX_VIOLATION_LINES 20

static void
row_label(uint32_t row, char out[4])
{
    if (row < 26) {
        out[0] = (char)('A' + row);
        out[1] = 0;
    } else {
        row -= 26;
        out[0] = (char)('A' + row / 26);
        out[1] = (char)('A' + row % 26);
        out[2] = 0;
    }
}

static void
seat_label(const bench *b, uint32_t idx, char out[16])
{
    char row[4];
    row_label(idx / b->seats_per_row, row);
    snprintf(out, 16, "%s%u", row, idx % b->seats_per_row + 1);
}

long
bench_seat_index(const bench *b, const char *label)
{
    uint32_t row, i = 0;
    if (label[0] < 'A' || label[0] > 'Z')
        return -1;
    if (label[1] >= 'A' && label[1] <= 'Z') {
        row = 26 + (uint32_t)(label[0] - 'A') * 26 + (uint32_t)(label[1] - 'A');
        i = 2;
    } else {
        row = (uint32_t)(label[0] - 'A');
        i = 1;
    }
    char *end;
    long seat = strtol(label + i, &end, 10);
    if (*end != 0 || seat < 1 || seat > (long)b->seats_per_row || row >= b->rows)
        return -1;
    return (long)row * b->seats_per_row + seat - 1;
}

static int
append_u64(uint64_t **a, size_t *n, size_t *cap, uint64_t v)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        uint64_t *p = realloc(*a, nc * sizeof(uint64_t));
        if (p == NULL)
            return -1;
        *a = p;
        *cap = nc;
    }
    (*a)[(*n)++] = v;
    return 0;
}

static int
append_paid(bench_thread *t, uint64_t resv, uint64_t pay, int coupon)
{
    if (t->n_paid == t->cap_paid) {
        size_t nc = t->cap_paid ? t->cap_paid * 2 : 256;
        bench_paid *p = realloc(t->paid, nc * sizeof(bench_paid));
        if (p == NULL)
            return -1;
        t->paid = p;
        t->cap_paid = nc;
    }
    t->paid[t->n_paid++] = (bench_paid){ resv, pay, (uint8_t)coupon, REFUND_NONE };
    return 0;
}

/* ---- choosing seats ---- */

/* Picks k free seats of one session into idx[]; 0, or -1 when this thread
 * has no k free seats left anywhere. */
static int
pick_seats(bench_thread *t, uint32_t k, size_t *si_out, uint32_t idx[MAX_PICK])
{
    bench *b = t->b;
    uint32_t n = (uint32_t)b->clients, cap = b->capacity;
    size_t start = (size_t)(bench_rand(t) % b->n_sessions);
    for (size_t s = 0; s < b->n_sessions; s++) {
        size_t si = (start + s) % b->n_sessions;
        uint8_t *sold = b->sold + si * cap;
        uint32_t got = 0;
        if (!b->owned) {
            while (got < k) {
                uint32_t x = (uint32_t)(bench_rand(t) % cap), dup = 0;
                for (uint32_t i = 0; i < got; i++)
                    dup |= idx[i] == x;
                if (!dup)
                    idx[got++] = x;
            }
            *si_out = si;
            return 0;
        }
        uint32_t owned = (cap - (uint32_t)t->id + n - 1) / n;
        /* Random tries first; a scan when the session is nearly used up. */
        for (int tries = 0; tries < 16 && got < k; tries++) {
            uint32_t x = (uint32_t)t->id + n * (uint32_t)(bench_rand(t) % owned), dup = 0;
            for (uint32_t i = 0; i < got; i++)
                dup |= idx[i] == x;
            if (!dup && !sold[x])
                idx[got++] = x;
        }
        if (got < k) {
            uint32_t j0 = (uint32_t)(bench_rand(t) % owned);
            for (uint32_t j = 0; j < owned && got < k; j++) {
                uint32_t x = (uint32_t)t->id + n * ((j0 + j) % owned), dup = 0;
                for (uint32_t i = 0; i < got; i++)
                    dup |= idx[i] == x;
                if (!dup && !sold[x])
                    idx[got++] = x;
            }
        }
        if (got == k) {
            *si_out = si;
            return 0;
        }
    }
    return -1;
}

static void
mark_sold(bench_thread *t, size_t si, const uint32_t *idx, uint32_t k)
{
    if (!t->b->owned)
        return;
    for (uint32_t i = 0; i < k; i++)
        t->b->sold[si * t->b->capacity + idx[i]] = 1;
}

/* Refunded seats are on sale again: this thread may hold them anew. */
static void
mark_unsold(bench_thread *t, size_t si, const uint32_t *idx, uint32_t k)
{
    if (!t->b->owned)
        return;
    for (uint32_t i = 0; i < k; i++)
        t->b->sold[si * t->b->capacity + idx[i]] = 0;
}

/* ---- timed calls ---- */

/* A response is done with: freed, unless it lives in the thread's arena
 * (reset before every operation). */
static void
resp_done(bench_thread *t, ProtobufCMessage *m)
{
    if (t->opts == NULL)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* rc = expr, timed and recorded as one call of op. */
#define TIMED(t, op, rc, expr)                                                                     \
    do {                                                                                           \
        uint64_t t0_ = bench_now_ns();                                                             \
        (rc) = (expr);                                                                             \
        bench_record((t), (op), (rc), bench_now_ns() - t0_);                                       \
    } while (0)

static int
op_ping(bench_thread *t)
{
    Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *rs = NULL;
    bh_status st;
    int rc;
    TIMED(t, OP_PING, rc, bh_health_check(t->cli, &rq, &rs, t->opts, &st));
    if (rc != BH_OK) {
        bench_unexpected(t, "Check: %s %s", bh_code_name(st.code), st.message);
        return 0;
    }
    resp_done(t, &rs->base);
    return 0;
}

/* read: the seat map of a random session (*session set), or the events. */
static int
read_pick(bench_thread *t, uint64_t *session)
{
    *session = 0;
    if ((bench_rand(t) & 1) == 0)
        return OP_LIST_EVENTS;
    *session = t->b->session_ids[bench_rand(t) % t->b->n_sessions];
    return OP_SEAT_MAP;
}

/* The answer rs (NULL unless rc is BH_OK) to read_pick's op; a seat map
 * must have every row. */
static void
read_answered(bench_thread *t, int op, uint64_t session, int rc, const bh_status *st,
              const ProtobufCMessage *rs)
{
    if (rc != BH_OK) {
        if (op == OP_SEAT_MAP)
            bench_unexpected(t, "GetSeatMap %llu: %s %s", (unsigned long long)session,
                             bh_code_name(st->code), st->message);
        else
            bench_unexpected(t, "ListEvents: %s %s", bh_code_name(st->code), st->message);
        return;
    }
    const Bilheteria__V1__GetSeatMapResponse *m = (const void *)rs;
    if (op == OP_SEAT_MAP && m->n_rows != t->b->rows) {
        bench_unexpected(t, "GetSeatMap %llu: %zu rows, expected %u", (unsigned long long)session,
                         m->n_rows, t->b->rows);
        t->violations++;
    }
}

static int
op_read(bench_thread *t)
{
    bh_status st;
    uint64_t session;
    int rc, op = read_pick(t, &session);
    ProtobufCMessage *rs = NULL;
    if (op == OP_SEAT_MAP) {
        Bilheteria__V1__GetSeatMapRequest rq = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
        rq.session_id = session;
        TIMED(t, op, rc,
              bh_session_get_seat_map(t->cli, &rq, (Bilheteria__V1__GetSeatMapResponse **)&rs,
                                      t->opts, &st));
    } else {
        Bilheteria__V1__ListEventsRequest rq = BILHETERIA__V1__LIST_EVENTS_REQUEST__INIT;
        TIMED(t, op, rc,
              bh_event_list_events(t->cli, &rq, (Bilheteria__V1__ListEventsResponse **)&rs, t->opts,
                                   &st));
    }
    read_answered(t, op, session, rc, &st, rs);
    if (rc == BH_OK)
        resp_done(t, rs);
    return 0;
}

/* mixed: the coupon a hold carries, or COUPON_NONE (30% PCT, 20% FIX);
 * always none when the run seeded no coupons (pay, hold). */
static int
pick_coupon(bench_thread *t)
{
    if (t->b->coupon_code[COUPON_PCT][0] == 0)
        return COUPON_NONE;
    uint64_t r = bench_rand(t) % 100;
    /* Once refused, a client tries the used-up code again one time in ten
     * (a refund of all may have given a use back) and holds without it
     * otherwise, so refusals do not crowd out the holds. */
    if (r < COUPON_PCT_PERCENT && t->coupon_gone && bench_rand(t) % 10 != 0)
        return COUPON_NONE;
    return r < COUPON_PCT_PERCENT                        ? COUPON_PCT
           : r < COUPON_PCT_PERCENT + COUPON_FIX_PERCENT ? COUPON_FIX
                                                         : COUPON_NONE;
}

/* A hold refused because its coupon is used up: an expected answer,
 * counted apart. */
static int
coupon_used_up(bench_thread *t, int coupon, int rc, const bh_status *st)
{
    if (coupon == COUPON_NONE || rc != BH_FAILED_PRECONDITION ||
        strstr(st->message, "used up") == NULL)
        return 0;
    t->coupon_refused++;
    t->coupon_gone = 1;
    return 1;
}

/* A hold's request: k seats idx[] of session si, and the strings rq
 * points to. Built by hold_prepare; the caller sends rq. */
typedef struct hold_req {
    size_t si;
    uint32_t idx[MAX_PICK], k;
    int coupon;
    char labels[MAX_PICK][16], user[32];
    char *lp[MAX_PICK];
    Bilheteria__V1__CreateReservationRequest rq;
} hold_req;

/* Picks k free seats and builds h's request; -1 (and out_of_seats) when
 * this client has none left. h must not move once built. */
static int
hold_prepare(bench_thread *t, uint32_t k, int coupon, hold_req *h)
{
    bench *b = t->b;
    if (pick_seats(t, k, &h->si, h->idx) != 0) {
        t->out_of_seats = 1;
        return -1;
    }
    h->k = k;
    h->coupon = coupon;
    for (uint32_t i = 0; i < k; i++) {
        seat_label(b, h->idx[i], h->labels[i]);
        h->lp[i] = h->labels[i];
    }
    snprintf(h->user, sizeof(h->user), "bench-%d", t->id);
    h->rq =
        (Bilheteria__V1__CreateReservationRequest)BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    h->rq.session_id = b->session_ids[h->si];
    h->rq.user_id = h->user;
    h->rq.seats = h->lp;
    h->rq.n_seats = k;
    if (coupon != COUPON_NONE)
        h->rq.coupon_code = b->coupon_code[coupon];
    return 0;
}

/* The answer to h: a refusal is allowed only when seats are shared
 * between clients, or when its coupon is used up. */
static void
hold_answered(bench_thread *t, const hold_req *h, int rc, const bh_status *st)
{
    if (rc != BH_OK && !coupon_used_up(t, h->coupon, rc, st) &&
        (t->b->owned || rc != BH_FAILED_PRECONDITION))
        bench_unexpected(t, "CreateReservation %s.. in session %llu: %s %s", h->labels[0],
                         (unsigned long long)h->rq.session_id, bh_code_name(rc), st->message);
}

/* CreateReservation of k chosen seats (h). On BH_OK *rs_out is the answer
 * (freed with resp_done). Returns the code, or -1 when out of seats. */
static int
hold_seats(bench_thread *t, uint32_t k, int coupon, hold_req *h,
           Bilheteria__V1__CreateReservationResponse **rs_out)
{
    bh_status st;
    if (hold_prepare(t, k, coupon, h) != 0)
        return -1;
    int rc;
    TIMED(t, OP_HOLD, rc, bh_reservation_create_reservation(t->cli, &h->rq, rs_out, t->opts, &st));
    hold_answered(t, h, rc, &st);
    return rc;
}

/* The answer to the cancel of h's reservation id: it must say CANCELLED;
 * if it failed, the seats stay held and are never picked again. */
static void
cancel_answered(bench_thread *t, const hold_req *h, uint64_t id, int rc, const bh_status *st,
                const Bilheteria__V1__CancelReservationResponse *cs)
{
    if (rc != BH_OK) {
        bench_unexpected(t, "CancelReservation %llu: %s %s", (unsigned long long)id,
                         bh_code_name(st->code), st->message);
        mark_sold(t, h->si, h->idx, h->k);
        return;
    }
    if (cs->reservation == NULL ||
        cs->reservation->status !=
            BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CANCELLED) {
        bench_unexpected(t, "CancelReservation %llu: answer is not CANCELLED",
                         (unsigned long long)id);
        t->violations++;
    }
}

static int
op_hold(bench_thread *t)
{
    hold_req h;
    uint32_t k = 1 + (uint32_t)(bench_rand(t) % MAX_PICK);
    Bilheteria__V1__CreateReservationResponse *rs = NULL;
    int rc = hold_seats(t, k, pick_coupon(t), &h, &rs);
    if (rc < 0)
        return 1;
    if (rc != BH_OK)
        return 0;
    Bilheteria__V1__CancelReservationRequest cq = BILHETERIA__V1__CANCEL_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CancelReservationResponse *cs = NULL;
    bh_status st;
    cq.id = rs->reservation->id;
    resp_done(t, &rs->base);
    TIMED(t, OP_CANCEL, rc, bh_reservation_cancel_reservation(t->cli, &cq, &cs, t->opts, &st));
    cancel_answered(t, &h, cq.id, rc, &st, cs);
    if (rc == BH_OK)
        resp_done(t, &cs->base);
    return 0;
}

/* A fresh idempotency key (and provider reference) of this thread. */
static void
fresh_key(bench_thread *t, const char *what, char key[96])
{
    snprintf(key, 96, "bench-%s%d-%d-%llu-%llu", what, (int)getpid(), t->id,
             (unsigned long long)++t->seq, (unsigned long long)(bench_rand(t) & 0xffffffff));
}

/* mixed: refunds the paid reservation just appended (its seats idx[0..1]
 * of session si): one seat of REFUND_SEAT_PERCENT, all of
 * REFUND_ALL_PERCENT; REPLAY_PERCENT of those are sent again and must
 * replay. The refunded seats may be sold again. */
static void
refund_some(bench_thread *t, size_t si, uint32_t idx[MAX_PICK])
{
    bench_paid *p = &t->paid[t->n_paid - 1];
    uint64_t r = bench_rand(t) % 100;
    if (p->pay_id == 0 || r >= REFUND_SEAT_PERCENT + REFUND_ALL_PERCENT)
        return;
    int all = r >= REFUND_SEAT_PERCENT;
    char key[96], label[16];
    char *lp[1] = { label };
    fresh_key(t, "rf-", key);
    seat_label(t->b, idx[0], label);
    Bilheteria__V1__RefundPaymentRequest rq = BILHETERIA__V1__REFUND_PAYMENT_REQUEST__INIT;
    rq.payment_id = p->pay_id;
    rq.all = all;
    if (!all) {
        rq.seats = lp;
        rq.n_seats = 1;
    }
    rq.reason = "bench";
    rq.provider = "bench";
    rq.provider_ref = key;
    bh_call_opts o = { .idempotency_key = key, .arena = t->opts ? t->opts->arena : NULL };
    Bilheteria__V1__RefundPaymentResponse *rs = NULL;
    bh_status st;
    int rc;
    TIMED(t, OP_REFUND, rc, bh_payment_refund_payment(t->cli, &rq, &rs, &o, &st));
    if (rc != BH_OK) {
        bench_unexpected(t, "RefundPayment %s of payment %llu: %s %s", all ? "all" : label,
                         (unsigned long long)rq.payment_id, bh_code_name(rc), st.message);
        return;
    }
    uint64_t id = rs->refund ? rs->refund->id : 0;
    if (id == 0 || rs->payment == NULL || st.replayed ||
        rs->payment->refunded_cents > rs->payment->amount_cents) {
        bench_unexpected(t, "RefundPayment of payment %llu: %s", (unsigned long long)rq.payment_id,
                         id == 0 || rs->payment == NULL ? "no refund or payment in the answer"
                         : st.replayed                  ? "a first call was replayed"
                                                        : "refunded more than was paid");
        t->violations++;
    }
    resp_done(t, &rs->base);
    p->refund = all ? REFUND_ALL : REFUND_SEAT;
    mark_unsold(t, si, idx, all ? 2 : 1);
    if (bench_rand(t) % 100 >= REPLAY_PERCENT)
        return;
    TIMED(t, OP_REFUND_REPLAY, rc, bh_payment_refund_payment(t->cli, &rq, &rs, &o, &st));
    if (rc != BH_OK) {
        bench_unexpected(t, "RefundPayment replay of payment %llu: %s %s",
                         (unsigned long long)rq.payment_id, bh_code_name(rc), st.message);
        t->violations++;
        return;
    }
    uint64_t again = rs->refund ? rs->refund->id : 0;
    resp_done(t, &rs->base);
    if (!st.replayed || again != id) {
        bench_unexpected(t,
                         "RefundPayment replay of payment %llu: replayed=%d, refund %llu then %llu",
                         (unsigned long long)rq.payment_id, st.replayed, (unsigned long long)id,
                         (unsigned long long)again);
        t->violations++;
    }
}

/* pay: the payment of reservation resv (total cents) under key, which is
 * also its provider reference. */
static void
confirm_request(Bilheteria__V1__ConfirmPaymentRequest *pq, uint64_t resv, int64_t total, char *key)
{
    *pq = (Bilheteria__V1__ConfirmPaymentRequest)BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    pq->reservation_id = resv;
    pq->amount_cents = total;
    pq->method = "pix";
    pq->provider = "bench";
    pq->provider_ref = key;
}

/* The answer to the first ConfirmPayment of resv: a payment, not replayed,
 * kept for the check. Returns its id, or 0 when the call failed. */
static uint64_t
confirm_answered(bench_thread *t, uint64_t resv, int coupon, int rc, const bh_status *st,
                 const Bilheteria__V1__ConfirmPaymentResponse *ps)
{
    if (rc != BH_OK) {
        bench_unexpected(t, "ConfirmPayment of reservation %llu: %s %s", (unsigned long long)resv,
                         bh_code_name(st->code), st->message);
        return 0;
    }
    uint64_t pay_id = ps->payment ? ps->payment->id : 0;
    if (pay_id == 0 || st->replayed) {
        bench_unexpected(t, "ConfirmPayment of reservation %llu: %s", (unsigned long long)resv,
                         pay_id == 0 ? "no payment in the answer" : "a first call was replayed");
        t->violations++;
    }
    if (append_paid(t, resv, pay_id, coupon) != 0)
        bench_unexpected(t, "out of memory");
    return pay_id;
}

/* The answer to the same ConfirmPayment sent again: the same payment,
 * replayed. */
static void
replay_answered(bench_thread *t, uint64_t resv, uint64_t pay_id, int rc, const bh_status *st,
                const Bilheteria__V1__ConfirmPaymentResponse *ps)
{
    if (rc != BH_OK) {
        bench_unexpected(t, "ConfirmPayment replay of reservation %llu: %s %s",
                         (unsigned long long)resv, bh_code_name(rc), st->message);
        t->violations++;
        return;
    }
    uint64_t again = ps->payment ? ps->payment->id : 0;
    if (!st->replayed || again != pay_id) {
        bench_unexpected(t,
                         "ConfirmPayment replay of reservation %llu: replayed=%d, "
                         "payment %llu then %llu",
                         (unsigned long long)resv, st->replayed, (unsigned long long)pay_id,
                         (unsigned long long)again);
        t->violations++;
    }
}

static int
op_pay(bench_thread *t)
{
    hold_req h;
    Bilheteria__V1__CreateReservationResponse *rs = NULL;
    int coupon = pick_coupon(t);
    int rc = hold_seats(t, 2, coupon, &h, &rs);
    if (rc < 0)
        return 1;
    if (rc != BH_OK)
        return 0;
    mark_sold(t, h.si, h.idx, 2);

    char key[96];
    fresh_key(t, "", key);
    Bilheteria__V1__ConfirmPaymentRequest pq;
    confirm_request(&pq, rs->reservation->id, rs->reservation->total_cents, key);
    resp_done(t, &rs->base);

    bh_call_opts o = { .idempotency_key = key, .arena = t->opts ? t->opts->arena : NULL };
    Bilheteria__V1__ConfirmPaymentResponse *ps = NULL;
    bh_status st;
    TIMED(t, OP_CONFIRM, rc, bh_payment_confirm_payment(t->cli, &pq, &ps, &o, &st));
    uint64_t pay_id = confirm_answered(t, pq.reservation_id, coupon, rc, &st, ps);
    if (rc != BH_OK)
        return 0;
    resp_done(t, &ps->base);
    if (t->b->refunds)
        refund_some(t, h.si, h.idx);

    if (bench_rand(t) % 100 < REPLAY_PERCENT) {
        TIMED(t, OP_REPLAY, rc, bh_payment_confirm_payment(t->cli, &pq, &ps, &o, &st));
        replay_answered(t, pq.reservation_id, pay_id, rc, &st, ps);
        if (rc == BH_OK)
            resp_done(t, &ps->base);
    }
    return 0;
}

static int
op_rush(bench_thread *t)
{
    bench *b = t->b;
    char user[32];
    bh_status st;
    snprintf(user, sizeof(user), "bench-%d", t->id);
    Bilheteria__V1__CreateReservationRequest rq = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CreateReservationResponse *rs = NULL;
    rq.session_id = b->session_ids[0];
    rq.user_id = user;
    rq.best = 2;
    /* Odd clients bring the rush coupon until it runs out for them. */
    int coupon = b->coupon_code[COUPON_RUSH][0] && (t->id & 1) && !t->coupon_gone ? COUPON_RUSH
                                                                                  : COUPON_NONE;
    if (coupon != COUPON_NONE)
        rq.coupon_code = b->coupon_code[COUPON_RUSH];
    int rc;
    TIMED(t, OP_HOLD, rc, bh_reservation_create_reservation(t->cli, &rq, &rs, t->opts, &st));
    if (rc == BH_OK) {
        if (append_u64(&t->resv, &t->n_resv, &t->cap_resv, rs->reservation->id) != 0)
            bench_unexpected(t, "out of memory");
        t->rush_coupon_holds += coupon != COUPON_NONE;
        resp_done(t, &rs->base);
        return 0;
    }
    if (coupon_used_up(t, coupon, rc, &st))
        return 0;
    if (rc == BH_FAILED_PRECONDITION && strstr(st.message, "adjacent") != NULL)
        return 1; /* sold out for pairs: this client is done */
    bench_unexpected(t, "CreateReservation best=2: %s %s", bh_code_name(rc), st.message);
    return 1;
}

int
bench_op(bench_thread *t)
{
    const char *s = t->b->scenario;
    if (strcmp(s, "echo") == 0)
        return bench_echo_op(t);
    if (strcmp(s, "ping") == 0)
        return op_ping(t);
    if (strcmp(s, "read") == 0)
        return op_read(t);
    if (strcmp(s, "hold") == 0)
        return op_hold(t);
    if (strcmp(s, "rush") == 0)
        return op_rush(t);
    if (strcmp(s, "pay") == 0)
        return op_pay(t);
    /* mixed: 80% reads, 15% holds, 5% payments */
    uint64_t r = bench_rand(t) % 100;
    if (r < 80)
        return op_read(t);
    if (r < 95)
        return op_hold(t);
    return op_pay(t);
}

/* ---- --async: each client a state machine on the asynchronous API ---- */

/* The run: how many clients have not ended yet. */
typedef struct async_run {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int live;
} async_run;

/* One client: its one call in flight (op, sent at t0) and what the answer
 * is checked against. Only that call's callback touches it. */
typedef struct async_client {
    bench_thread *t;
    async_run *run;
    int op;
    uint64_t t0;
    uint64_t id;     /* hold, pay: the reservation; read: the session */
    int64_t total;   /* pay: its total */
    uint64_t pay_id; /* pay: the payment made */
    char key[96];    /* pay: its idempotency key */
    hold_req h;
} async_client;

static void async_answer(void *arg, bh_call_result *r);

/* Sends c's call of c->op; 0, or -1 when it could not be sent (recorded
 * and unexpected). */
static int
async_send(async_client *c, const char *method, const ProtobufCMessage *rq, const char *key)
{
    bench_thread *t = c->t;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    bh_status st;
    co.arena = t->opts != NULL ? t->opts->arena : NULL;
    co.idempotency_key = key;
    c->t0 = bench_now_ns();
    int rc = bh_call_async(t->cli, method, rq, &co, async_answer, c, NULL, &st);
    if (rc != BH_OK) {
        bench_record(t, c->op, rc, bench_now_ns() - c->t0);
        bench_unexpected(t, "%s not sent: %s %s", method, bh_code_name(rc), st.message);
        return -1;
    }
    return 0;
}

/* c has ended: the last client wakes bench_async_run. c is not touched
 * after this. */
static void
async_done(async_client *c)
{
    async_run *run = c->run;
    pthread_mutex_lock(&run->mu);
    if (--run->live == 0)
        pthread_cond_signal(&run->cv);
    pthread_mutex_unlock(&run->mu);
}

/* Starts c's next operation with its first call, or ends c (the run is
 * over, out of seats, or a call could not be sent). */
static void
async_next(async_client *c)
{
    bench_thread *t = c->t;
    const char *s = t->b->scenario;
    int sent = -1;
    if (!bench_go_on(t->b)) {
        async_done(c);
        return;
    }
    if (t->opts != NULL)
        bh_arena_reset(&t->arena);
    if (strcmp(s, "hold") == 0 || strcmp(s, "pay") == 0) {
        uint32_t k = s[0] == 'p' ? 2 : 1 + (uint32_t)(bench_rand(t) % MAX_PICK);
        c->op = OP_HOLD;
        if (hold_prepare(t, k, pick_coupon(t), &c->h) == 0)
            sent =
                async_send(c, BH_METHOD_NAME_RESERVATION_CREATE_RESERVATION, &c->h.rq.base, NULL);
    } else if (strcmp(s, "ping") == 0) {
        Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
        c->op = OP_PING;
        sent = async_send(c, BH_METHOD_NAME_HEALTH_CHECK, &rq.base, NULL);
    } else if ((c->op = read_pick(t, &c->id)) == OP_SEAT_MAP) {
        Bilheteria__V1__GetSeatMapRequest rq = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
        rq.session_id = c->id;
        sent = async_send(c, BH_METHOD_NAME_SESSION_GET_SEAT_MAP, &rq.base, NULL);
    } else {
        Bilheteria__V1__ListEventsRequest rq = BILHETERIA__V1__LIST_EVENTS_REQUEST__INIT;
        sent = async_send(c, BH_METHOD_NAME_EVENT_LIST_EVENTS, &rq.base, NULL);
    }
    if (sent != 0)
        async_done(c);
}

/* Sends pay's ConfirmPayment of c's reservation under c's key, as op
 * (OP_CONFIRM, or OP_REPLAY for the same request again); ends c if it
 * could not be sent. */
static void
async_confirm(async_client *c, int op)
{
    Bilheteria__V1__ConfirmPaymentRequest pq;
    confirm_request(&pq, c->id, c->total, c->key);
    c->op = op;
    if (async_send(c, BH_METHOD_NAME_PAYMENT_CONFIRM_PAYMENT, &pq.base, c->key) != 0)
        async_done(c);
}

/* c's hold of reservation res is answered: hold cancels it, pay pays
 * for it (its seats are then sold). */
static void
async_held(async_client *c, const Bilheteria__V1__Reservation *res)
{
    bench_thread *t = c->t;
    c->id = res->id;
    if (t->b->scenario[0] == 'p') {
        mark_sold(t, c->h.si, c->h.idx, c->h.k);
        c->total = res->total_cents;
        fresh_key(t, "", c->key);
        async_confirm(c, OP_CONFIRM);
        return;
    }
    Bilheteria__V1__CancelReservationRequest cq = BILHETERIA__V1__CANCEL_RESERVATION_REQUEST__INIT;
    cq.id = c->id;
    c->op = OP_CANCEL;
    if (async_send(c, BH_METHOD_NAME_RESERVATION_CANCEL_RESERVATION, &cq.base, NULL) != 0)
        async_done(c);
}

/* The callback, on one of nng's threads: records and checks the answer as
 * the blocking scenarios do, then sends c's next call from here (never
 * waiting). The response, if not in the arena, is freed by the library
 * after this returns. */
static void
async_answer(void *arg, bh_call_result *r)
{
    async_client *c = arg;
    bench_thread *t = c->t;
    int rc = r->status->code;
    bench_record(t, c->op, rc, bench_now_ns() - c->t0);
    if (c->op == OP_HOLD) {
        hold_answered(t, &c->h, rc, r->status);
        if (rc == BH_OK) {
            async_held(c, ((Bilheteria__V1__CreateReservationResponse *)r->resp)->reservation);
            return;
        }
    } else if (c->op == OP_CONFIRM) {
        c->pay_id = confirm_answered(t, c->id, c->h.coupon, rc, r->status, (const void *)r->resp);
        if (rc == BH_OK && bench_rand(t) % 100 < REPLAY_PERCENT) {
            async_confirm(c, OP_REPLAY);
            return;
        }
    } else if (c->op == OP_REPLAY) {
        replay_answered(t, c->id, c->pay_id, rc, r->status, (const void *)r->resp);
    } else if (c->op == OP_CANCEL) {
        cancel_answered(t, &c->h, c->id, rc, r->status, (const void *)r->resp);
    } else if (c->op == OP_PING) {
        if (rc != BH_OK)
            bench_unexpected(t, "Check: %s %s", bh_code_name(rc), r->status->message);
    } else {
        read_answered(t, c->op, c->id, rc, r->status, r->resp);
    }
    async_next(c);
}

int
bench_async_run(bench *b)
{
    async_run run = { .live = b->clients };
    async_client *cs = calloc((size_t)b->clients, sizeof(*cs));
    if (cs == NULL)
        return -1;
    pthread_mutex_init(&run.mu, NULL);
    pthread_cond_init(&run.cv, NULL);
    for (int i = 0; i < b->clients; i++) {
        cs[i].t = &b->t[i];
        cs[i].run = &run;
    }
    for (int i = 0; i < b->clients; i++)
        async_next(&cs[i]);
    pthread_mutex_lock(&run.mu);
    while (run.live > 0)
        pthread_cond_wait(&run.cv, &run.mu);
    pthread_mutex_unlock(&run.mu);
    pthread_cond_destroy(&run.cv);
    pthread_mutex_destroy(&run.mu);
    free(cs);
    return 0;
}

/* ---- end-of-run checks ---- */

typedef struct check {
    bench *b;
    pthread_mutex_t mu;
    char *viol;
    size_t violen;
    int n_viol;
    bench_paid *items;
    size_t n_items;
    atomic_size_t next;
    int64_t *owner;         /* rush: seat index -> reservation id; pay, mixed:
                               session index * capacity + seat index -> the
                               paid reservation that holds it, not refunded */
    const char *const *map; /* rush: seat map row strings */
    /* Reservations read back that carry coupon k: [k][0] paid (CONFIRMED or
     * PARTIALLY_REFUNDED), [k][1] PENDING. */
    atomic_uint_fast64_t coupon_seen[COUPON__N][2];
    atomic_uint_fast64_t refunds[3]; /* by enum bench_refund, as read back */
    int (*fn)(struct check *ck, bh_client *c, const bench_paid *it);
    atomic_int gone; /* the server stopped answering: stop checking */
} check;

/* A check call that failed for want of a server (not for what it found):
 * the rest would each wait their whole deadline, so the check stops. */
static void
check_call_failed(check *ck, int rc)
{
    if (rc == BH_UNAVAILABLE || rc == BH_DEADLINE_EXCEEDED || rc == BH_CANCELLED)
        atomic_store(&ck->gone, 1);
}

static void violation(check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void
bench_vviolation(pthread_mutex_t *mu, char *viol, size_t violen, int *n_viol, const char *fmt,
                 va_list ap)
{
    pthread_mutex_lock(mu);
    if (*n_viol < MAX_VIOLATION_LINES) {
        size_t used = strlen(viol);
        if (used < violen)
            vsnprintf(viol + used, violen - used, fmt, ap);
        used = strlen(viol);
        if (used + 1 < violen) {
            viol[used] = '\n';
            viol[used + 1] = 0;
        }
    }
    (*n_viol)++;
    pthread_mutex_unlock(mu);
}

static void
violation(check *ck, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bench_vviolation(&ck->mu, ck->viol, ck->violen, &ck->n_viol, fmt, ap);
    va_end(ap);
}

typedef struct each_job {
    size_t n;
    atomic_size_t next;
    void (*fn)(void *ctx, bh_client *c, size_t i);
    void *ctx;
    const atomic_int *stop;
} each_job;

typedef struct each_arg {
    each_job *j;
    bh_client *c;
} each_arg;

static void *
each_worker(void *arg)
{
    each_arg *a = arg;
    size_t i;
    while (!atomic_load(a->j->stop) && (i = atomic_fetch_add(&a->j->next, 1)) < a->j->n)
        a->j->fn(a->j->ctx, a->c, i);
    return NULL;
}

size_t
bench_for_each(bench *b, size_t n, void (*fn)(void *ctx, bh_client *c, size_t i), void *ctx,
               const atomic_int *stop)
{
    each_job j = { .n = n, .fn = fn, .ctx = ctx, .stop = stop };
    int k = b->clients < 16 ? b->clients : 16, started = 0;
    pthread_t th[16];
    each_arg args[16];
    for (int i = 0; i < k; i++) {
        args[i] = (each_arg){ &j, b->t[i].cli };
        if (pthread_create(&th[i], NULL, each_worker, &args[i]) != 0)
            break;
        started++;
    }
    if (started == 0) {
        args[0] = (each_arg){ &j, b->t[0].cli };
        each_worker(&args[0]);
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    size_t done = atomic_load(&j.next);
    return done < n ? done : n;
}

static void
check_item(void *ctx, bh_client *c, size_t i)
{
    check *ck = ctx;
    ck->fn(ck, c, &ck->items[i]);
}

/* Runs ck->fn over every item from up to 16 threads, each on its own
 * bench thread's client. */
static void
check_all(check *ck)
{
    atomic_store(&ck->next, bench_for_each(ck->b, ck->n_items, check_item, ck, &ck->gone));
    if (atomic_load(&ck->gone))
        violation(ck, "the server stopped answering: the check was cut short, %zu of %zu left",
                  ck->n_items -
                      (atomic_load(&ck->next) < ck->n_items ? atomic_load(&ck->next) : ck->n_items),
                  ck->n_items);
}

static int
get_reservation(check *ck, bh_client *c, uint64_t id, Bilheteria__V1__GetReservationResponse **rs)
{
    Bilheteria__V1__GetReservationRequest rq = BILHETERIA__V1__GET_RESERVATION_REQUEST__INIT;
    bh_status st;
    rq.id = id;
    int rc = bh_reservation_get_reservation(c, &rq, rs, NULL, &st);
    check_call_failed(ck, rc);
    if (rc != BH_OK)
        violation(ck, "GetReservation %llu: %s %s", (unsigned long long)id, bh_code_name(rc),
                  st.message);
    return rc;
}

/* The coupon r carries as one of the run's, or -1 for another code. */
static int
coupon_of(const bench *b, const Bilheteria__V1__Reservation *r)
{
    if (r->coupon_code == NULL || r->coupon_code[0] == 0)
        return COUPON_NONE;
    for (int k = COUPON_PCT; k < COUPON__N; k++)
        if (b->coupon_code[k][0] && strcasecmp(r->coupon_code, b->coupon_code[k]) == 0)
            return k;
    return -1;
}

/* Counts r's coupon, as read back, by state. */
static void
count_coupon(check *ck, const Bilheteria__V1__Reservation *r, int k)
{
    if (k <= COUPON_NONE)
        return;
    if (r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING)
        atomic_fetch_add(&ck->coupon_seen[k][1], 1);
    else if (r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED ||
             r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PARTIALLY_REFUNDED)
        atomic_fetch_add(&ck->coupon_seen[k][0], 1);
}

/* The session index of a session id, or -1. */
static long
session_index(const bench *b, uint64_t id)
{
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->session_ids[i] == id)
            return (long)i;
    return -1;
}

static int
check_rush_one(check *ck, bh_client *c, const bench_paid *it)
{
    bench *b = ck->b;
    Bilheteria__V1__GetReservationResponse *rs = NULL;
    if (get_reservation(ck, c, it->resv_id, &rs) != BH_OK)
        return -1;
    Bilheteria__V1__Reservation *r = rs->reservation;
    if (r->status != BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING)
        violation(ck, "reservation %llu is in state %d, not PENDING", (unsigned long long)r->id,
                  (int)r->status);
    if (r->n_seats != 2)
        violation(ck, "reservation %llu holds %zu seats, asked for 2", (unsigned long long)r->id,
                  r->n_seats);
    count_coupon(ck, r, coupon_of(b, r));
    for (size_t i = 0; i < r->n_seats; i++) {
        long x = bench_seat_index(b, r->seats[i]->label);
        if (x < 0) {
            violation(ck, "reservation %llu has seat \"%s\", not in the layout",
                      (unsigned long long)r->id, r->seats[i]->label);
            continue;
        }
        pthread_mutex_lock(&ck->mu);
        int64_t prev = ck->owner[x];
        if (prev == 0)
            ck->owner[x] = (int64_t)r->id;
        pthread_mutex_unlock(&ck->mu);
        if (prev != 0)
            violation(ck, "seat %s is in two live reservations: %lld and %llu", r->seats[i]->label,
                      (long long)prev, (unsigned long long)r->id);
        char state = ck->map[x / b->seats_per_row][x % b->seats_per_row];
        if (state != 'h')
            violation(ck, "seat %s of pending reservation %llu shows '%c' in the seat map",
                      r->seats[i]->label, (unsigned long long)r->id, state);
    }
    protobuf_c_message_free_unpacked(&rs->base, NULL);
    return 0;
}

/* A paid reservation read back: the state its refunds make, the coupon it
 * was held with and its total net of the discount, the refunded seats,
 * and its seats not refunded owned by it alone. */
static void
check_paid_resv(check *ck, const bench_paid *it, const Bilheteria__V1__Reservation *r)
{
    static const Bilheteria__V1__ReservationStatus want[3] = {
        BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED,
        BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PARTIALLY_REFUNDED,
        BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_REFUNDED,
    };
    bench *b = ck->b;
    unsigned long long id = (unsigned long long)it->resv_id;
    if (r->status != want[it->refund] || r->payment_id != it->pay_id)
        violation(ck,
                  "reservation %llu: state %d, payment %llu; expected state %d with payment %llu",
                  id, (int)r->status, (unsigned long long)r->payment_id, (int)want[it->refund],
                  (unsigned long long)it->pay_id);
    int k = coupon_of(b, r);
    if (k != it->coupon)
        violation(ck, "reservation %llu carries coupon \"%s\", held with %s", id,
                  r->coupon_code ? r->coupon_code : "",
                  it->coupon ? b->coupon_code[it->coupon] : "none");
    count_coupon(ck, r, k);
    int64_t net = r->seats_subtotal_cents + r->items_subtotal_cents - r->discount_cents;
    if ((it->coupon != COUPON_NONE && r->discount_cents <= 0) ||
        r->total_cents != (net > 0 ? net : 0))
        violation(ck,
                  "reservation %llu: total %lld with subtotals %lld + %lld and discount %lld "
                  "(coupon %s)",
                  id, (long long)r->total_cents, (long long)r->seats_subtotal_cents,
                  (long long)r->items_subtotal_cents, (long long)r->discount_cents,
                  it->coupon ? b->coupon_code[it->coupon] : "none");
    size_t refunded = 0;
    for (size_t i = 0; i < r->n_seats; i++)
        refunded += r->seats[i]->refunded;
    size_t want_refunded = it->refund == REFUND_ALL ? r->n_seats : it->refund == REFUND_SEAT;
    if (refunded != want_refunded)
        violation(ck, "reservation %llu has %zu of %zu seats refunded, expected %zu", id, refunded,
                  r->n_seats, want_refunded);
    atomic_fetch_add(&ck->refunds[it->refund], 1);
    if (r->status == want[2])
        return;
    long si = session_index(b, r->session_id);
    for (size_t i = 0; si >= 0 && i < r->n_seats; i++) {
        long x = bench_seat_index(b, r->seats[i]->label);
        if (r->seats[i]->refunded)
            continue;
        if (x < 0) {
            violation(ck, "reservation %llu has seat \"%s\", not in the layout", id,
                      r->seats[i]->label);
            continue;
        }
        size_t at = (size_t)si * b->capacity + (size_t)x;
        pthread_mutex_lock(&ck->mu);
        int64_t prev = ck->owner[at];
        if (prev == 0)
            ck->owner[at] = (int64_t)r->id;
        pthread_mutex_unlock(&ck->mu);
        if (prev != 0)
            violation(
                ck, "seat %s of session %llu is sold (not refunded) to reservations %lld and %llu",
                r->seats[i]->label, (unsigned long long)r->session_id, (long long)prev, id);
    }
    if (si < 0)
        violation(ck, "reservation %llu is in session %llu, not one the bench seeded", id,
                  (unsigned long long)r->session_id);
}

/* A payment read back: its reservation, and its refunds summing to its
 * refunded_cents (the reservation's too), never above what was paid. */
static void
check_payment(check *ck, const bench_paid *it, const Bilheteria__V1__Payment *p,
              int64_t resv_refunded)
{
    unsigned long long id = (unsigned long long)it->pay_id;
    if (p->reservation_id != it->resv_id)
        violation(ck, "payment %llu belongs to reservation %llu, expected %llu", id,
                  (unsigned long long)p->reservation_id, (unsigned long long)it->resv_id);
    int64_t sum = 0;
    for (size_t i = 0; i < p->n_refunds; i++)
        sum += p->refunds[i]->amount_cents;
    if (sum != p->refunded_cents || p->refunded_cents > p->amount_cents ||
        (resv_refunded >= 0 && resv_refunded != p->refunded_cents))
        violation(ck,
                  "payment %llu of %lld: %zu refunds sum to %lld, refunded_cents %lld, its "
                  "reservation's %lld",
                  id, (long long)p->amount_cents, p->n_refunds, (long long)sum,
                  (long long)p->refunded_cents, (long long)resv_refunded);
    size_t want_n = it->refund != REFUND_NONE;
    if (p->n_refunds != want_n || (it->refund == REFUND_ALL && sum != p->amount_cents) ||
        (it->refund == REFUND_SEAT && (sum <= 0 || sum >= p->amount_cents)))
        violation(ck, "payment %llu of %lld: %zu refunds of %lld in all, expected %s", id,
                  (long long)p->amount_cents, p->n_refunds, (long long)sum,
                  it->refund == REFUND_ALL    ? "one of everything"
                  : it->refund == REFUND_SEAT ? "one of one seat"
                                              : "none");
}

static int
check_pay_one(check *ck, bh_client *c, const bench_paid *it)
{
    Bilheteria__V1__GetReservationResponse *rs = NULL;
    int64_t resv_refunded = -1;
    if (get_reservation(ck, c, it->resv_id, &rs) == BH_OK) {
        check_paid_resv(ck, it, rs->reservation);
        resv_refunded = rs->reservation->refunded_cents;
        protobuf_c_message_free_unpacked(&rs->base, NULL);
    }
    if (atomic_load(&ck->gone))
        return -1;
    Bilheteria__V1__GetPaymentRequest pq = BILHETERIA__V1__GET_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__GetPaymentResponse *ps = NULL;
    bh_status st;
    pq.id = it->pay_id;
    int rc = bh_payment_get_payment(c, &pq, &ps, NULL, &st);
    check_call_failed(ck, rc);
    if (rc != BH_OK) {
        violation(ck, "GetPayment %llu: %s %s", (unsigned long long)it->pay_id, bh_code_name(rc),
                  st.message);
        return -1;
    }
    check_payment(ck, it, ps->payment, resv_refunded);
    protobuf_c_message_free_unpacked(&ps->base, NULL);
    return 0;
}

/* One session's seat map against the paid seats read back: every one
 * shows sold, and the map sells no other (nothing else is held at the
 * end of pay or mixed). */
static void
check_map_one(void *ctx, bh_client *c, size_t si)
{
    check *ck = ctx;
    bench *b = ck->b;
    Bilheteria__V1__GetSeatMapRequest rq = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
    Bilheteria__V1__GetSeatMapResponse *rs = NULL;
    bh_status st;
    rq.session_id = b->session_ids[si];
    int rc = bh_session_get_seat_map(c, &rq, &rs, NULL, &st);
    check_call_failed(ck, rc);
    if (rc != BH_OK) {
        violation(ck, "GetSeatMap %llu: %s %s", (unsigned long long)rq.session_id, bh_code_name(rc),
                  st.message);
        return;
    }
    const int64_t *own = ck->owner + si * b->capacity;
    uint32_t paid = 0, shown = 0;
    for (uint32_t x = 0; x < b->capacity; x++)
        paid += own[x] != 0;
    for (size_t r = 0; r < rs->n_rows && r < b->rows; r++) {
        const char *m = rs->rows[r]->states;
        for (uint32_t x = 0; m[x] != 0 && x < b->seats_per_row; x++) {
            shown += m[x] == 'x';
            if (own[r * b->seats_per_row + x] != 0 && m[x] != 'x')
                violation(ck,
                          "seat %s%u of session %llu is paid by reservation %lld but shows '%c'",
                          rs->rows[r]->label, x + 1, (unsigned long long)rq.session_id,
                          (long long)own[r * b->seats_per_row + x], m[x]);
        }
    }
    if (shown != paid || rs->sold != paid)
        violation(ck,
                  "session %llu: %u seats paid and not refunded, but the seat map shows %u sold "
                  "(counts %u)",
                  (unsigned long long)rq.session_id, paid, shown, rs->sold);
    protobuf_c_message_free_unpacked(&rs->base, NULL);
}

/* Coupon k read back: uses and held uses are the reservations read back
 * that carry it (seen[0] paid, seen[1] held), and never above max_uses.
 * Appends "CODE u/max" to out. */
static void
check_coupon(check *ck, bh_client *c, int k, uint64_t seen_paid, uint64_t seen_held, char *out,
             size_t outlen)
{
    bench *b = ck->b;
    Bilheteria__V1__GetCouponRequest rq = BILHETERIA__V1__GET_COUPON_REQUEST__INIT;
    Bilheteria__V1__GetCouponResponse *rs = NULL;
    bh_status st;
    rq.code = b->coupon_code[k];
    int rc = bh_coupon_get_coupon(c, &rq, &rs, NULL, &st);
    check_call_failed(ck, rc);
    if (rc != BH_OK) {
        violation(ck, "GetCoupon %s: %s %s", rq.code, bh_code_name(rc), st.message);
        return;
    }
    const Bilheteria__V1__Coupon *cp = rs->coupon;
    if (cp->max_uses != b->coupon_max[k] ||
        (cp->max_uses != 0 && (uint64_t)cp->uses + cp->held_uses > cp->max_uses))
        violation(ck, "coupon %s: %u uses + %u held, max_uses %u (seeded with %u)", cp->code,
                  cp->uses, cp->held_uses, cp->max_uses, b->coupon_max[k]);
    if (cp->uses != seen_paid || cp->held_uses != seen_held)
        violation(ck,
                  "coupon %s counts %u uses and %u held, but the reservations read back that "
                  "carry it are %llu paid and %llu held",
                  cp->code, cp->uses, cp->held_uses, (unsigned long long)seen_paid,
                  (unsigned long long)seen_held);
    size_t used = strlen(out);
    if (used < outlen) {
        if (cp->max_uses)
            snprintf(out + used, outlen - used, "%s%s %u/%u", used ? ", " : "", cp->code,
                     cp->uses + cp->held_uses, cp->max_uses);
        else
            snprintf(out + used, outlen - used, "%s%s %u", used ? ", " : "", cp->code,
                     cp->uses + cp->held_uses);
    }
    protobuf_c_message_free_unpacked(&rs->base, NULL);
}

static int
by_pay(const void *a, const void *b)
{
    const bench_paid *x = a, *y = b;
    return x->pay_id < y->pay_id ? -1 : x->pay_id > y->pay_id;
}

static int
by_resv(const void *a, const void *b)
{
    const bench_paid *x = a, *y = b;
    return x->resv_id < y->resv_id ? -1 : x->resv_id > y->resv_id;
}

static void
check_rush(check *ck, char *summary, size_t sumlen)
{
    bench *b = ck->b;
    size_t n = 0, ended = 0;
    for (int i = 0; i < b->clients; i++) {
        n += b->t[i].n_resv;
        ended += b->t[i].err[OP_HOLD][BH_FAILED_PRECONDITION] > 0;
    }
    ck->items = calloc(n ? n : 1, sizeof(bench_paid));
    ck->owner = calloc(b->capacity, sizeof(int64_t));
    char **map = calloc(b->rows, sizeof(char *));
    if (ck->items == NULL || ck->owner == NULL || map == NULL) {
        violation(ck, "out of memory for the checks");
        free(map);
        return;
    }
    for (int i = 0; i < b->clients; i++)
        for (size_t j = 0; j < b->t[i].n_resv; j++)
            ck->items[ck->n_items++].resv_id = b->t[i].resv[j];

    Bilheteria__V1__GetSeatMapRequest rq = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
    Bilheteria__V1__GetSeatMapResponse *rs = NULL;
    bh_status st;
    rq.session_id = b->session_ids[0];
    int rc = bh_session_get_seat_map(b->t[0].cli, &rq, &rs, NULL, &st);
    if (rc != BH_OK) {
        violation(ck, "GetSeatMap %llu: %s %s", (unsigned long long)rq.session_id, bh_code_name(rc),
                  st.message);
        free(map);
        return;
    }
    if (rs->n_rows != b->rows) {
        violation(ck, "seat map has %zu rows, expected %u", rs->n_rows, b->rows);
        goto out;
    }
    uint32_t held = 0, sold = 0, pairs = 0;
    for (uint32_t r = 0; r < b->rows; r++) {
        const char *s = rs->rows[r]->states;
        if (strlen(s) != b->seats_per_row) {
            violation(ck, "seat map row %s has %zu seats, expected %u", rs->rows[r]->label,
                      strlen(s), b->seats_per_row);
            goto out;
        }
        map[r] = rs->rows[r]->states;
        for (uint32_t x = 0; x < b->seats_per_row; x++) {
            held += s[x] == 'h';
            sold += s[x] == 'x';
            pairs += x + 1 < b->seats_per_row && s[x] == '.' && s[x + 1] == '.';
        }
    }
    if (held != rs->held || sold != rs->sold)
        violation(ck, "seat map counts held %u sold %u, but its rows show %u and %u", rs->held,
                  rs->sold, held, sold);
    if (held + sold > b->capacity)
        violation(ck, "sold %u + held %u > capacity %u", sold, held, b->capacity);
    if ((uint64_t)n * 2 != (uint64_t)held + sold)
        violation(ck,
                  "%zu successful holds of 2 seats, but %u seats are taken (held %u, "
                  "sold %u)",
                  n, held + sold, held, sold);
    /* Every client stopped on "no 2 adjacent free seats": the map must agree. */
    if (ended == (size_t)b->clients && pairs > 0)
        violation(ck,
                  "the server said no 2 adjacent free seats were left, but the seat "
                  "map shows %u free pairs",
                  pairs);
    ck->map = (const char *const *)map;
    ck->fn = check_rush_one;
    check_all(ck);
    uint64_t with = 0, refused = 0;
    char coupons[120] = "";
    for (int i = 0; i < b->clients; i++) {
        with += b->t[i].rush_coupon_holds;
        refused += b->t[i].coupon_refused;
    }
    if (b->coupon_code[COUPON_RUSH][0] && !atomic_load(&ck->gone)) {
        uint64_t seen = atomic_load(&ck->coupon_seen[COUPON_RUSH][1]);
        if (seen != with || atomic_load(&ck->coupon_seen[COUPON_RUSH][0]) != 0)
            violation(ck, "%llu holds were made with coupon %s, %llu read back carry it",
                      (unsigned long long)with, b->coupon_code[COUPON_RUSH],
                      (unsigned long long)seen);
        check_coupon(ck, b->t[0].cli, COUPON_RUSH, 0, seen, coupons, sizeof(coupons));
    }
    int n0 = snprintf(summary, sumlen,
                      "%zu holds of 2 seats; seat map: held %u, sold %u, available %u "
                      "of %u; %zu of %d clients saw sold out",
                      n, held, sold, rs->available, b->capacity, ended, b->clients);
    if (b->coupon_code[COUPON_RUSH][0] && n0 > 0 && (size_t)n0 < sumlen)
        snprintf(summary + n0, sumlen - (size_t)n0,
                 "; coupon held uses %s = the holds that carry it (%llu refused: used up)", coupons,
                 (unsigned long long)refused);
out:
    protobuf_c_message_free_unpacked(&rs->base, NULL);
    free(map);
}

static void
check_pay(check *ck, char *summary, size_t sumlen)
{
    bench *b = ck->b;
    size_t n = 0;
    uint64_t replays = 0;
    for (int i = 0; i < b->clients; i++) {
        n += b->t[i].n_paid;
        replays += b->t[i].ok[OP_REPLAY];
    }
    ck->items = calloc(n ? n : 1, sizeof(bench_paid));
    if (ck->items == NULL) {
        violation(ck, "out of memory for the checks");
        return;
    }
    for (int i = 0; i < b->clients; i++)
        for (size_t j = 0; j < b->t[i].n_paid; j++)
            ck->items[ck->n_items++] = b->t[i].paid[j];
    qsort(ck->items, n, sizeof(bench_paid), by_pay);
    for (size_t i = 1; i < n; i++)
        if (ck->items[i].pay_id == ck->items[i - 1].pay_id)
            violation(ck, "payment %llu confirms reservations %llu and %llu",
                      (unsigned long long)ck->items[i].pay_id,
                      (unsigned long long)ck->items[i - 1].resv_id,
                      (unsigned long long)ck->items[i].resv_id);
    qsort(ck->items, n, sizeof(bench_paid), by_resv);
    for (size_t i = 1; i < n; i++)
        if (ck->items[i].resv_id == ck->items[i - 1].resv_id)
            violation(ck, "reservation %llu paid twice: payments %llu and %llu",
                      (unsigned long long)ck->items[i].resv_id,
                      (unsigned long long)ck->items[i - 1].pay_id,
                      (unsigned long long)ck->items[i].pay_id);
    ck->owner = calloc(b->n_sessions * b->capacity, sizeof(int64_t));
    if (ck->owner == NULL) {
        violation(ck, "out of memory for the checks");
        return;
    }
    ck->fn = check_pay_one;
    check_all(ck);
    if (!atomic_load(&ck->gone))
        bench_for_each(b, b->n_sessions, check_map_one, ck, &ck->gone);
    int wrote = snprintf(summary, sumlen,
                         "%zu reservations paid once each (%llu replays answered from the "
                         "idempotency store); no seat sold twice, %zu seat maps agree",
                         n, (unsigned long long)replays, b->n_sessions);
    if (!b->refunds || wrote < 0 || (size_t)wrote >= sumlen)
        return;
    char coupons[200] = "";
    uint64_t refused = 0, refund_replays = 0;
    for (int i = 0; i < b->clients; i++) {
        refused += b->t[i].coupon_refused;
        refund_replays += b->t[i].ok[OP_REFUND_REPLAY];
    }
    for (int k = COUPON_PCT; k < COUPON__N && !atomic_load(&ck->gone); k++)
        if (b->coupon_code[k][0])
            check_coupon(ck, b->t[0].cli, k, atomic_load(&ck->coupon_seen[k][0]),
                         atomic_load(&ck->coupon_seen[k][1]), coupons, sizeof(coupons));
    snprintf(summary + wrote, sumlen - (size_t)wrote,
             "; refunds: %llu of one seat, %llu of all (%llu replays), each payment's "
             "within what was paid; coupon uses (paid + held) = the reservations that "
             "carry them: %s (%llu holds refused: used up)",
             (unsigned long long)atomic_load(&ck->refunds[REFUND_SEAT]),
             (unsigned long long)atomic_load(&ck->refunds[REFUND_ALL]),
             (unsigned long long)refund_replays, coupons, (unsigned long long)refused);
}

int
bench_check(bench *b, char *viol, size_t violen, char *summary, size_t sumlen)
{
    check ck;
    memset(&ck, 0, sizeof(ck));
    ck.b = b;
    ck.viol = viol;
    ck.violen = violen;
    viol[0] = 0;
    summary[0] = 0;
    pthread_mutex_init(&ck.mu, NULL);
    if (strcmp(b->scenario, "rush") == 0)
        check_rush(&ck, summary, sumlen);
    else if (strcmp(b->scenario, "pay") == 0 || strcmp(b->scenario, "mixed") == 0)
        check_pay(&ck, summary, sumlen);
    free(ck.items);
    free(ck.owner);
    pthread_mutex_destroy(&ck.mu);
    return ck.n_viol;
}
