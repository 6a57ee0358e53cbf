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
#include <unistd.h>

#include "bench.h"

#define MAX_PICK            4
#define REPLAY_PERCENT      10
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
append_paid(bench_thread *t, uint64_t resv, uint64_t pay)
{
    if (t->n_paid == t->cap_paid) {
        size_t nc = t->cap_paid ? t->cap_paid * 2 : 256;
        bench_paid *p = realloc(t->paid, nc * sizeof(bench_paid));
        if (p == NULL)
            return -1;
        t->paid = p;
        t->cap_paid = nc;
    }
    t->paid[t->n_paid++] = (bench_paid){ resv, pay };
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

static int
op_read(bench_thread *t)
{
    bench *b = t->b;
    bh_status st;
    int rc;
    if (bench_rand(t) & 1) {
        Bilheteria__V1__GetSeatMapRequest rq = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
        Bilheteria__V1__GetSeatMapResponse *rs = NULL;
        rq.session_id = b->session_ids[bench_rand(t) % b->n_sessions];
        TIMED(t, OP_SEAT_MAP, rc, bh_session_get_seat_map(t->cli, &rq, &rs, t->opts, &st));
        if (rc != BH_OK) {
            bench_unexpected(t, "GetSeatMap %llu: %s %s", (unsigned long long)rq.session_id,
                             bh_code_name(st.code), st.message);
            return 0;
        }
        if (rs->n_rows != b->rows) {
            bench_unexpected(t, "GetSeatMap %llu: %zu rows, expected %u",
                             (unsigned long long)rq.session_id, rs->n_rows, b->rows);
            t->violations++;
        }
        resp_done(t, &rs->base);
    } else {
        Bilheteria__V1__ListEventsRequest rq = BILHETERIA__V1__LIST_EVENTS_REQUEST__INIT;
        Bilheteria__V1__ListEventsResponse *rs = NULL;
        TIMED(t, OP_LIST_EVENTS, rc, bh_event_list_events(t->cli, &rq, &rs, t->opts, &st));
        if (rc != BH_OK) {
            bench_unexpected(t, "ListEvents: %s %s", bh_code_name(st.code), st.message);
            return 0;
        }
        resp_done(t, &rs->base);
    }
    return 0;
}

/* CreateReservation of k chosen seats. On BH_OK *out is the reservation
 * (caller frees the response *rs_out). A refusal is allowed only when seats
 * are shared between threads. Returns the code, or -1 when out of seats. */
static int
hold_seats(bench_thread *t, uint32_t k, size_t *si, uint32_t idx[MAX_PICK],
           Bilheteria__V1__CreateReservationResponse **rs_out)
{
    bench *b = t->b;
    char labels[MAX_PICK][16], user[32];
    char *lp[MAX_PICK];
    bh_status st;
    if (pick_seats(t, k, si, idx) != 0) {
        t->out_of_seats = 1;
        return -1;
    }
    for (uint32_t i = 0; i < k; i++) {
        seat_label(b, idx[i], labels[i]);
        lp[i] = labels[i];
    }
    snprintf(user, sizeof(user), "bench-%d", t->id);
    Bilheteria__V1__CreateReservationRequest rq = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    rq.session_id = b->session_ids[*si];
    rq.user_id = user;
    rq.seats = lp;
    rq.n_seats = k;
    int rc;
    TIMED(t, OP_HOLD, rc, bh_reservation_create_reservation(t->cli, &rq, rs_out, t->opts, &st));
    if (rc != BH_OK && (b->owned || rc != BH_FAILED_PRECONDITION))
        bench_unexpected(t, "CreateReservation %s.. in session %llu: %s %s", labels[0],
                         (unsigned long long)rq.session_id, bh_code_name(rc), st.message);
    return rc;
}

static int
op_hold(bench_thread *t)
{
    size_t si;
    uint32_t idx[MAX_PICK], k = 1 + (uint32_t)(bench_rand(t) % MAX_PICK);
    Bilheteria__V1__CreateReservationResponse *rs = NULL;
    int rc = hold_seats(t, k, &si, idx, &rs);
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
    if (rc != BH_OK) {
        bench_unexpected(t, "CancelReservation %llu: %s %s", (unsigned long long)cq.id,
                         bh_code_name(st.code), st.message);
        mark_sold(t, si, idx, k); /* still held: never pick them again */
        return 0;
    }
    if (cs->reservation == NULL ||
        cs->reservation->status !=
            BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CANCELLED) {
        bench_unexpected(t, "CancelReservation %llu: answer is not CANCELLED",
                         (unsigned long long)cq.id);
        t->violations++;
    }
    resp_done(t, &cs->base);
    return 0;
}

static int
op_pay(bench_thread *t)
{
    size_t si;
    uint32_t idx[MAX_PICK];
    Bilheteria__V1__CreateReservationResponse *rs = NULL;
    int rc = hold_seats(t, 2, &si, idx, &rs);
    if (rc < 0)
        return 1;
    if (rc != BH_OK)
        return 0;
    mark_sold(t, si, idx, 2);

    char key[96];
    snprintf(key, sizeof(key), "bench-%d-%d-%llu-%llu", (int)getpid(), t->id,
             (unsigned long long)++t->seq, (unsigned long long)(bench_rand(t) & 0xffffffff));
    Bilheteria__V1__ConfirmPaymentRequest pq = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    pq.reservation_id = rs->reservation->id;
    pq.amount_cents = rs->reservation->total_cents;
    pq.method = "pix";
    pq.provider = "bench";
    pq.provider_ref = key;
    resp_done(t, &rs->base);

    bh_call_opts o = { .idempotency_key = key, .arena = t->opts ? t->opts->arena : NULL };
    Bilheteria__V1__ConfirmPaymentResponse *ps = NULL;
    bh_status st;
    TIMED(t, OP_CONFIRM, rc, bh_payment_confirm_payment(t->cli, &pq, &ps, &o, &st));
    if (rc != BH_OK) {
        bench_unexpected(t, "ConfirmPayment of reservation %llu: %s %s",
                         (unsigned long long)pq.reservation_id, bh_code_name(st.code), st.message);
        return 0;
    }
    uint64_t pay_id = ps->payment ? ps->payment->id : 0;
    resp_done(t, &ps->base);
    if (pay_id == 0 || st.replayed) {
        bench_unexpected(t, "ConfirmPayment of reservation %llu: %s",
                         (unsigned long long)pq.reservation_id,
                         pay_id == 0 ? "no payment in the answer" : "a first call was replayed");
        t->violations++;
    }
    if (append_paid(t, pq.reservation_id, pay_id) != 0)
        bench_unexpected(t, "out of memory");

    if (bench_rand(t) % 100 < REPLAY_PERCENT) {
        TIMED(t, OP_REPLAY, rc, bh_payment_confirm_payment(t->cli, &pq, &ps, &o, &st));
        if (rc != BH_OK) {
            bench_unexpected(t, "ConfirmPayment replay of reservation %llu: %s %s",
                             (unsigned long long)pq.reservation_id, bh_code_name(rc), st.message);
            t->violations++;
            return 0;
        }
        uint64_t again = ps->payment ? ps->payment->id : 0;
        resp_done(t, &ps->base);
        if (!st.replayed || again != pay_id) {
            bench_unexpected(t,
                             "ConfirmPayment replay of reservation %llu: replayed=%d, "
                             "payment %llu then %llu",
                             (unsigned long long)pq.reservation_id, st.replayed,
                             (unsigned long long)pay_id, (unsigned long long)again);
            t->violations++;
        }
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
    int rc;
    TIMED(t, OP_HOLD, rc, bh_reservation_create_reservation(t->cli, &rq, &rs, t->opts, &st));
    if (rc == BH_OK) {
        if (append_u64(&t->resv, &t->n_resv, &t->cap_resv, rs->reservation->id) != 0)
            bench_unexpected(t, "out of memory");
        resp_done(t, &rs->base);
        return 0;
    }
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
    int64_t *owner;         /* rush: seat index -> reservation id */
    const char *const *map; /* rush: seat map row strings */
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

static int
check_pay_one(check *ck, bh_client *c, const bench_paid *it)
{
    Bilheteria__V1__GetReservationResponse *rs = NULL;
    if (get_reservation(ck, c, it->resv_id, &rs) == BH_OK) {
        Bilheteria__V1__Reservation *r = rs->reservation;
        if (r->status != BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED ||
            r->payment_id != it->pay_id)
            violation(ck,
                      "reservation %llu: state %d, payment %llu; expected CONFIRMED "
                      "with payment %llu",
                      (unsigned long long)it->resv_id, (int)r->status,
                      (unsigned long long)r->payment_id, (unsigned long long)it->pay_id);
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
    if (ps->payment->reservation_id != it->resv_id)
        violation(ck, "payment %llu belongs to reservation %llu, expected %llu",
                  (unsigned long long)it->pay_id, (unsigned long long)ps->payment->reservation_id,
                  (unsigned long long)it->resv_id);
    protobuf_c_message_free_unpacked(&ps->base, NULL);
    return 0;
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
    snprintf(summary, sumlen,
             "%zu holds of 2 seats; seat map: held %u, sold %u, available %u "
             "of %u; %zu of %d clients saw sold out",
             n, held, sold, rs->available, b->capacity, ended, b->clients);
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
    ck->fn = check_pay_one;
    check_all(ck);
    snprintf(summary, sumlen,
             "%zu reservations confirmed once each (%llu replays answered "
             "from the idempotency store)",
             n, (unsigned long long)replays);
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
