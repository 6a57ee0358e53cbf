/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: refunds (full, partial, kept blocked), their guards (twice,
 * above the payment, the provider's reference, idempotency), the cancel of
 * a paid reservation, cancelled sessions refunded in batches, and kill -9
 * in the middle of each, against a real server. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define ST(x)   BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define SESS(x) BILHETERIA__V1__SESSION_STATUS__SESSION_STATUS_##x

BHT_GROUP("--sweep-interval-ms", "100")

/* ---- helpers ---- */

/* Holds seats ("A1,A2", the first half of them meia) and product pid x qty
 * (pid 0: none) for user, with coupon code (NULL: none); returns the
 * reservation (caller frees) or NULL with the status in st. */
static Bilheteria__V1__Reservation *
hold_coupon(bh_client *c, uint64_t session, const char *user, const char *seats, uint32_t half,
            uint64_t pid, int32_t qty, const char *code, bh_status *st)
{
    bht_hold h = { .session = session,
                   .user = user,
                   .seats = seats,
                   .half = half,
                   .coupon = code,
                   .items = { { pid, qty } } };
    Bilheteria__V1__Reservation *r = NULL;
    return bht_reserve(c, &h, &r, st) == BH_OK ? r : NULL;
}

static Bilheteria__V1__Reservation *
hold(bh_client *c, uint64_t session, const char *user, const char *seats, uint32_t half,
     uint64_t pid, int32_t qty, bh_status *st)
{
    return hold_coupon(c, session, user, seats, half, pid, qty, NULL, st);
}

/* Pays r in full (no method named); returns the payment id. */
static uint64_t
pay(bh_client *c, const Bilheteria__V1__Reservation *r)
{
    Bilheteria__V1__ConfirmPaymentResponse *resp = NULL;
    char key[64];
    bh_status st;
    snprintf(key, sizeof(key), "pay-%llu", (unsigned long long)r->id);
    bht_payment p = { .reservation = r->id, .amount = r->total_cents, .key = key, .method = "" };
    if (bht_pay(c, &p, &resp, &st) != BH_OK)
        fail_msg("pay %llu: %s", (unsigned long long)r->id, st.message);
    uint64_t id = resp->payment->id;
    bilheteria__v1__confirm_payment_response__free_unpacked(resp, NULL);
    return id;
}

/* Holds and pays; returns the payment id, the reservation in *out if
 * asked (caller frees). */
static uint64_t
sold(uint64_t session, const char *user, const char *seats, uint32_t half, uint64_t pid,
     int32_t qty, Bilheteria__V1__Reservation **out)
{
    bh_status st;
    Bilheteria__V1__Reservation *r = hold(cl, session, user, seats, half, pid, qty, &st);
    if (r == NULL)
        fail_msg("hold %s: %s", seats, st.message);
    uint64_t p = pay(cl, r);
    if (out != NULL)
        *out = r;
    else
        bilheteria__v1__reservation__free_unpacked(r, NULL);
    return p;
}

typedef bht_refund_ask ask;

/* RefundPayment on cl with key. */
static int
refund(const ask *a, const char *key, Bilheteria__V1__RefundPaymentResponse **out, bh_status *st)
{
    ask k = *a;
    k.key = key;
    return bht_refund(cl, &k, out, st);
}

/* Refunds and expects OK; returns the answer (caller frees). */
static Bilheteria__V1__RefundPaymentResponse *
refund_ok(const ask *a, const char *key)
{
    Bilheteria__V1__RefundPaymentResponse *r = NULL;
    bh_status st;
    if (refund(a, key, &r, &st) != BH_OK)
        fail_msg("refund with key %s: %s: %s", key, bh_code_name(st.code), st.message);
    return r;
}

static Bilheteria__V1__Session *
get_session(uint64_t id)
{
    Bilheteria__V1__GetSessionRequest req = BILHETERIA__V1__GET_SESSION_REQUEST__INIT;
    Bilheteria__V1__GetSessionResponse *resp = NULL;
    bh_status st;
    req.id = id;
    if (bh_session_get_session(cl, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("get session %llu: %s", (unsigned long long)id, st.message);
    Bilheteria__V1__Session *s = resp->session;
    resp->session = NULL;
    bilheteria__v1__get_session_response__free_unpacked(resp, NULL);
    return s;
}

/* The seat map's state of one seat ('.', 'h', 'x') and the meia-entrada
 * tickets left. */
static char
seat_state(uint64_t session, const char *label, uint32_t *half_left)
{
    Bilheteria__V1__GetSeatMapResponse *m = bht_seat_map(cl, session);
    char c = bht_seat_state(m, label);
    if (half_left != NULL)
        *half_left = m->half_price_remaining;
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);
    return c;
}

static int64_t
stock_of(uint64_t pid)
{
    return bht_product_stock(cl, pid);
}

/* Whether a new hold can take the seat. */
static int
can_hold(uint64_t session, const char *seat)
{
    bh_status st;
    Bilheteria__V1__Reservation *r = hold(cl, session, "probe", seat, 0, 0, 0, &st);
    if (r == NULL)
        return 0;
    if (bht_cancel(cl, r->id, NULL, NULL, &st) != BH_OK)
        fail_msg("cancel probe: %s", st.message);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
    return 1;
}

/* ---- refunds ---- */

/* A partial refund, then the rest: amounts from the snapshot, seats back
 * on sale, stock and meia-entrada quota returned, statuses, the sum equal
 * to the payment and never above it. */
static void
test_partial_then_full(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "Refunds"), 3, 10, 4000);
    uint64_t pop = bht_product(cl, "Pipoca", 1500, 10);
    uint32_t half_before, half;
    seat_state(s, "A1", &half_before);
    Bilheteria__V1__Reservation *r = NULL;
    uint64_t p = sold(s, "ana", "A1,A2,A3", 1, pop, 2, &r);
    assert_int_equal(r->total_cents, 2000 + 4000 + 4000 + 3000);
    assert_int_equal(stock_of(pop), 8);
    assert_int_equal(seat_state(s, "A2", &half), 'x');
    assert_int_equal(half, half_before - 1);

    ask a = { .payment = p, .seats = "A2", .items = { { pop, 1 } }, .reason = "asked" };
    Bilheteria__V1__RefundPaymentResponse *f = refund_ok(&a, "rf-1");
    assert_int_equal(f->refund->amount_cents, 4000 + 1500);
    assert_int_equal(f->refund->n_seats, 1);
    assert_string_equal(f->refund->seats[0], "A2");
    assert_string_equal(f->refund->reason, "asked");
    assert_int_equal(f->reservation->status, ST(PARTIALLY_REFUNDED));
    assert_int_equal(f->reservation->refunded_cents, 5500);
    assert_true(f->reservation->seats[1]->refunded && !f->reservation->seats[0]->refunded);
    assert_int_equal(f->reservation->items[0]->refunded_quantity, 1);
    assert_int_equal(f->payment->refunded_cents, 5500);
    assert_int_equal(f->payment->n_refunds, 1);
    bilheteria__v1__refund_payment_response__free_unpacked(f, NULL);
    assert_int_equal(stock_of(pop), 9);
    assert_int_equal(seat_state(s, "A2", &half), '.');
    assert_int_equal(half, half_before - 1); /* A2 was inteira */
    assert_true(can_hold(s, "A2"));
    assert_false(can_hold(s, "A1"));

    /* The rest: the meia seat, the inteira one and the other pipoca. */
    ask rest = { .payment = p, .all = 1 };
    f = refund_ok(&rest, "rf-2");
    assert_int_equal(f->refund->amount_cents, 2000 + 4000 + 1500);
    assert_int_equal(f->reservation->status, ST(REFUNDED));
    assert_int_equal(f->reservation->refunded_cents, r->total_cents);
    assert_int_equal(f->reservation->n_refund_ids, 2);
    bilheteria__v1__refund_payment_response__free_unpacked(f, NULL);
    assert_int_equal(stock_of(pop), 10);
    assert_int_equal(seat_state(s, "A1", &half), '.');
    assert_int_equal(half, half_before);

    /* Nothing is left: a third refund would go above the payment. */
    bh_status st;
    assert_int_equal(refund(&rest, "rf-3", NULL, &st), BH_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "refunded in full already"));
    Bilheteria__V1__Payment *pm = bht_get_payment(cl, p);
    assert_int_equal(pm->n_refunds, 2);
    assert_int_equal(pm->refunded_cents, pm->amount_cents);
    assert_int_equal(pm->refunds[0]->amount_cents + pm->refunds[1]->amount_cents, pm->amount_cents);
    bilheteria__v1__payment__free_unpacked(pm, NULL);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
}

/* --keep-seats-blocked: money back, the seat stays sold. */
static void
test_keep_blocked(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "Blocked"), 2, 5, 3000);
    uint32_t half_before, half;
    seat_state(s, "B1", &half_before);
    uint64_t p = sold(s, "bia", "B1,B2", 1, 0, 0, NULL);
    ask a = { .payment = p, .seats = "B1", .keep = 1 };
    Bilheteria__V1__RefundPaymentResponse *f = refund_ok(&a, "blk-1");
    assert_true(f->refund->keep_seats_blocked);
    assert_int_equal(f->refund->amount_cents, 1500);
    bilheteria__v1__refund_payment_response__free_unpacked(f, NULL);
    assert_int_equal(seat_state(s, "B1", &half), 'x');
    assert_int_equal(half, half_before); /* the meia ticket is given back */
    assert_false(can_hold(s, "B1"));
    /* The other seat, refunded plainly, is on sale again. */
    ask b = { .payment = p, .seats = "B2" };
    bilheteria__v1__refund_payment_response__free_unpacked(refund_ok(&b, "blk-2"), NULL);
    assert_true(can_hold(s, "B2"));
    assert_false(can_hold(s, "B1"));
}

/* What may not be refunded, and bad requests: each changes nothing. */
static void
test_refusals(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "Refusals"), 2, 10, 5000);
    uint64_t choc = bht_product(cl, "Chocolate", 800, 5);
    uint64_t p = sold(s, "caio", "A1,A2", 0, choc, 2, NULL);
    bh_status st;
    ask a = { .payment = p, .seats = "A1" };
    bilheteria__v1__refund_payment_response__free_unpacked(refund_ok(&a, "ref-1"), NULL);

    /* The same seat again under a new key. */
    assert_int_equal(refund(&a, "ref-2", NULL, &st), BH_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "seat A1"));
    assert_non_null(strstr(st.message, "refunded already"));
    /* Bad input. */
    ask bad[] = {
        { .payment = p, .seats = "C9" },                   /* not in the reservation */
        { .payment = p, .seats = "A2,A2" },                /* twice */
        { .payment = p, .items = { { choc, 3 } } },        /* more than bought */
        { .payment = p, .items = { { choc + 100, 1 } } },  /* not bought */
        { .payment = p },                                  /* nothing */
        { .payment = p, .all = 1, .seats = "A2" },         /* all and seats */
        { .payment = p, .seats = "A2", .provider = "pix" } /* half a business key */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char key[32];
        snprintf(key, sizeof(key), "bad-%zu", i);
        if (refund(&bad[i], key, NULL, &st) != BH_INVALID_ARGUMENT)
            fail_msg("bad[%zu]: %s: %s", i, bh_code_name(st.code), st.message);
    }
    ask none = { .payment = 999999, .all = 1 };
    assert_int_equal(refund(&none, "ref-none", NULL, &st), BH_NOT_FOUND);

    /* A provider's refund reference books one refund. */
    ask r1 = { .payment = p, .items = { { choc, 1 } }, .provider = "pix", .ref = "E-77" };
    bilheteria__v1__refund_payment_response__free_unpacked(refund_ok(&r1, "ref-3"), NULL);
    ask r2 = { .payment = p, .seats = "A2", .provider = "pix", .ref = "E-77" };
    assert_int_equal(refund(&r2, "ref-4", NULL, &st), BH_ALREADY_EXISTS);
    assert_non_null(strstr(st.message, "E-77"));
    /* ... per provider. */
    ask r3 = { .payment = p, .seats = "A2", .provider = "card", .ref = "E-77" };
    bilheteria__v1__refund_payment_response__free_unpacked(refund_ok(&r3, "ref-5"), NULL);
    Bilheteria__V1__Payment *pm = bht_get_payment(cl, p);
    Bilheteria__V1__Reservation *r = bht_reservation(cl, pm->reservation_id);
    bilheteria__v1__payment__free_unpacked(pm, NULL);
    assert_int_equal(r->status, ST(PARTIALLY_REFUNDED)); /* one chocolate left */
    assert_int_equal(r->refunded_cents, 5000 + 800 + 5000);
    assert_int_equal(r->n_refund_ids, 3);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
    assert_int_equal(stock_of(choc), 5 - 2 + 1);

    /* An unpaid reservation has no payment to refund; cancelling it
     * needs no key. */
    Bilheteria__V1__Reservation *h = hold(cl, s, "caio", "B1", 0, 0, 0, &st);
    assert_non_null(h);
    assert_int_equal(h->status, ST(PENDING));
    bilheteria__v1__reservation__free_unpacked(h, NULL);
}

/* Idempotency: a replay gets the first answer, the same key with another
 * request is refused, a second key for the same seats finds them refunded. */
static void
test_idempotency(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "Idem"), 2, 10, 2000);
    uint64_t p = sold(s, "dani", "A5,A6", 0, 0, 0, NULL);
    ask a = { .payment = p, .seats = "A5", .reason = "once" };
    Bilheteria__V1__RefundPaymentResponse *f1 = NULL, *f2 = NULL;
    bh_status st;
    assert_int_equal(refund(&a, "idem-1", &f1, &st), BH_OK);
    assert_false(st.replayed);
    assert_int_equal(refund(&a, "idem-1", &f2, &st), BH_OK);
    assert_true(st.replayed);
    assert_int_equal(f1->refund->id, f2->refund->id);
    assert_int_equal(f1->refund->amount_cents, f2->refund->amount_cents);
    bilheteria__v1__refund_payment_response__free_unpacked(f1, NULL);
    bilheteria__v1__refund_payment_response__free_unpacked(f2, NULL);
    ask other = { .payment = p, .seats = "A6" };
    assert_int_equal(refund(&other, "idem-1", NULL, &st), BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "different"));
    assert_int_equal(refund(&a, "idem-2", NULL, &st), BH_FAILED_PRECONDITION);
    Bilheteria__V1__Payment *pm = bht_get_payment(cl, p);
    assert_int_equal(pm->n_refunds, 1);
    assert_int_equal(pm->refunded_cents, 2000);
    bilheteria__v1__payment__free_unpacked(pm, NULL);
    assert_true(can_hold(s, "A5"));
    assert_false(can_hold(s, "A6"));
    /* The key is required. */
    assert_int_equal(refund(&other, NULL, NULL, &st), BH_INVALID_ARGUMENT);
}

/* Simultaneous refunds of the same seat under different keys, each from a
 * client of its own: one refunds, the others find it refunded. */
enum { RACERS = 8 };
struct racer {
    uint64_t payment;
    int i, code;
};

static void *
race_refund(void *arg)
{
    struct racer *r = arg;
    char key[32];
    bh_client *c = bht_client(&srv);
    snprintf(key, sizeof(key), "race-%d", r->i);
    bht_refund_ask a = { .payment = r->payment, .seats = "C3", .key = key };
    r->code = bht_refund(c, &a, NULL, NULL);
    bh_client_close(c);
    return NULL;
}

static void
test_race(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "Race"), 3, 10, 3500);
    uint64_t p = sold(s, "hugo", "C3,C4", 0, 0, 0, NULL);
    struct racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (struct racer){ .payment = p, .i = i };
        assert_int_equal(pthread_create(&th[i], NULL, race_refund, &rs[i]), 0);
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        ok += rs[i].code == BH_OK;
        refused += rs[i].code == BH_FAILED_PRECONDITION;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(refused, RACERS - 1);
    Bilheteria__V1__Payment *pm = bht_get_payment(cl, p);
    assert_int_equal(pm->n_refunds, 1);
    assert_int_equal(pm->refunded_cents, 3500);
    bilheteria__v1__payment__free_unpacked(pm, NULL);
}

/* Cancelling a paid reservation refunds what is left of it; it needs an
 * idempotency key (the library sends one of its own unless told not to). */
static void
test_cancel_confirmed(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "Cancel paid"), 2, 10, 3000);
    Bilheteria__V1__Reservation *r = NULL, *c = NULL;
    uint64_t p = sold(s, "edu", "B3,B4", 0, 0, 0, &r);
    ask a = { .payment = p, .seats = "B3" };
    bilheteria__v1__refund_payment_response__free_unpacked(refund_ok(&a, "cc-1"), NULL);

    bh_options o = BH_OPTIONS_INIT;
    o.url = srv.url;
    o.timeout_ms = 10000;
    o.max_retries = -1; /* and so no automatic key */
    bh_client *bare = NULL;
    bh_status st;
    assert_int_equal(bh_client_open(&bare, &o, &st), BH_OK);
    assert_int_equal(bht_cancel(bare, r->id, NULL, NULL, &st), BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "idempotency key"));
    assert_false(can_hold(s, "B4"));

    assert_int_equal(bht_cancel(bare, r->id, "cc-2", &c, &st), BH_OK);
    assert_int_equal(c->status, ST(REFUNDED));
    assert_int_equal(c->refunded_cents, 6000);
    assert_int_equal(c->n_refund_ids, 2);
    bilheteria__v1__reservation__free_unpacked(c, NULL);
    assert_int_equal(bht_cancel(bare, r->id, "cc-2", &c, &st), BH_OK);
    assert_true(st.replayed);
    bilheteria__v1__reservation__free_unpacked(c, NULL);
    assert_int_equal(bht_cancel(bare, r->id, "cc-3", NULL, &st), BH_FAILED_PRECONDITION);
    assert_true(can_hold(s, "B4"));
    Bilheteria__V1__Payment *pm = bht_get_payment(cl, p);
    assert_int_equal(pm->n_refunds, 2);
    assert_string_equal(pm->refunds[1]->reason, "reservation cancelled");
    bilheteria__v1__payment__free_unpacked(pm, NULL);
    bh_client_close(bare);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
}

/* Acknowledged refunds survive kill -9. */
static void
test_kill9_refunds(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "Crash"), 2, 10, 2500);
    uint64_t pop = bht_product(cl, "Pipoca crash", 1000, 4);
    uint64_t p1 = sold(s, "fabi", "A1,A2", 0, pop, 2, NULL);
    uint64_t p2 = sold(s, "gil", "A3", 0, 0, 0, NULL);
    ask a = {
        .payment = p1, .seats = "A2", .items = { { pop, 2 } }, .provider = "pix", .ref = "K9"
    };
    bilheteria__v1__refund_payment_response__free_unpacked(refund_ok(&a, "k9-1"), NULL);
    ask b = { .payment = p2, .all = 1 };
    bilheteria__v1__refund_payment_response__free_unpacked(refund_ok(&b, "k9-2"), NULL);
    bh_client_close(cl);
    bht_kill9(&srv);
    assert_int_equal(bht_restart(&srv), 0);
    cl = bht_client(&srv);

    Bilheteria__V1__Payment *pm = bht_get_payment(cl, p1);
    assert_int_equal(pm->n_refunds, 1);
    assert_int_equal(pm->refunded_cents, 2500 + 2000);
    bilheteria__v1__payment__free_unpacked(pm, NULL);
    pm = bht_get_payment(cl, p2);
    Bilheteria__V1__Reservation *r = bht_reservation(cl, pm->reservation_id);
    assert_int_equal(r->status, ST(REFUNDED));
    bilheteria__v1__reservation__free_unpacked(r, NULL);
    bilheteria__v1__payment__free_unpacked(pm, NULL);
    assert_int_equal(stock_of(pop), 4);
    assert_true(can_hold(s, "A2"));
    assert_true(can_hold(s, "A3"));
    assert_false(can_hold(s, "A1"));
    /* The replay and the reference still hold after the restart. */
    bh_status st;
    Bilheteria__V1__RefundPaymentResponse *f = NULL;
    assert_int_equal(refund(&a, "k9-1", &f, &st), BH_OK);
    assert_true(st.replayed);
    bilheteria__v1__refund_payment_response__free_unpacked(f, NULL);
    ask c = { .payment = p1, .seats = "A1", .provider = "pix", .ref = "K9" };
    assert_int_equal(refund(&c, "k9-3", NULL, &st), BH_ALREADY_EXISTS);
}

/* ---- cancelled sessions ---- */

static int
cancel_session(uint64_t id, const char *reason, const char *key, Bilheteria__V1__Session **out,
               bh_status *st)
{
    Bilheteria__V1__CancelSessionRequest req = BILHETERIA__V1__CANCEL_SESSION_REQUEST__INIT;
    Bilheteria__V1__CancelSessionResponse *resp = NULL;
    bh_call_opts o = { .idempotency_key = key };
    req.id = id;
    req.reason = (char *)reason;
    int rc = bh_session_cancel_session(cl, &req, &resp, &o, st);
    if (rc == BH_OK) {
        if (out != NULL) {
            *out = resp->session;
            resp->session = NULL;
        }
        bilheteria__v1__cancel_session_response__free_unpacked(resp, NULL);
    }
    return rc;
}

/* A session with n paid reservations (one seat each, from A1 on, rows of
 * 40) and holds more holds after them; the reservation ids in ids. */
static uint64_t
busy_session(const char *name, size_t n, size_t holds, uint64_t *ids)
{
    uint32_t rows = (uint32_t)((n + holds) / 40 + 1);
    assert_true(rows <= 26);
    uint64_t s = bht_session(cl, bht_event(cl, name), rows, 40, 1000);
    for (size_t i = 0; i < n + holds; i++) {
        char seat[8], user[16];
        bh_status st;
        snprintf(seat, sizeof(seat), "%c%zu", (char)('A' + i / 40), i % 40 + 1);
        snprintf(user, sizeof(user), "u%zu", i % 37);
        Bilheteria__V1__Reservation *r = hold(cl, s, user, seat, 0, 0, 0, &st);
        if (r == NULL)
            fail_msg("hold %s: %s", seat, st.message);
        ids[i] = r->id;
        if (i < n)
            pay(cl, r);
        bilheteria__v1__reservation__free_unpacked(r, NULL);
    }
    return s;
}

/* Polls the session until its refunds are done (at most ~30 s). */
static Bilheteria__V1__Session *
wait_done(uint64_t id)
{
    for (int i = 0; i < 600; i++) {
        Bilheteria__V1__Session *s = get_session(id);
        if (s->cancel_progress != NULL && s->cancel_progress->done)
            return s;
        bilheteria__v1__session__free_unpacked(s, NULL);
        bht_sleep_ms(50);
    }
    fail_msg("session %llu: refunds never done", (unsigned long long)id);
    return NULL;
}

/* Exactly one refund per paid reservation, the holds released. */
static void
check_cancelled(const uint64_t *ids, size_t n, size_t holds, const char *reason)
{
    for (size_t i = 0; i < n + holds; i++) {
        Bilheteria__V1__Reservation *r = bht_reservation(cl, ids[i]);
        if (i < n) {
            if (r->status != ST(REFUNDED) || r->n_refund_ids != 1 ||
                r->refunded_cents != r->total_cents)
                fail_msg("reservation %llu: %d with %zu refunds", (unsigned long long)r->id,
                         r->status, r->n_refund_ids);
            if (i % 50 == 0) {
                Bilheteria__V1__Payment *p = bht_get_payment(cl, r->payment_id);
                assert_int_equal(p->n_refunds, 1);
                assert_string_equal(p->refunds[0]->reason, reason);
                bilheteria__v1__payment__free_unpacked(p, NULL);
            }
        } else {
            assert_int_equal(r->status, ST(CANCELLED));
            assert_int_equal(r->n_refund_ids, 0);
        }
        bilheteria__v1__reservation__free_unpacked(r, NULL);
    }
}

static void
test_cancel_session(void **state)
{
    (void)state;
    enum { N = 310, H = 7 };
    uint64_t *ids = calloc(N + H, sizeof(*ids));
    assert_non_null(ids);
    uint64_t s = busy_session("Cancelled", N, H, ids);
    Bilheteria__V1__Session *got = NULL;
    bh_status st;
    /* Not without a key; not for a customer (test_auth). */
    assert_int_equal(cancel_session(s, "rain", NULL, NULL, &st), BH_INVALID_ARGUMENT);
    assert_int_equal(cancel_session(s, "rain", "cs-1", &got, &st), BH_OK);
    assert_int_equal(got->status, SESS(CANCELLED));
    assert_string_equal(got->cancel_reason, "rain");
    assert_true(got->cancelled_at_ms > 0);
    assert_non_null(got->cancel_progress);
    assert_false(got->cancel_progress->done); /* 317 > one batch of 256 */
    bilheteria__v1__session__free_unpacked(got, NULL);

    /* No sales from now on, also while the refunds go on. */
    Bilheteria__V1__Reservation *r = hold(cl, s, "late", "H40", 0, 0, 0, &st);
    assert_null(r);
    assert_int_equal(st.code, BH_FAILED_PRECONDITION);
    char want[64];
    snprintf(want, sizeof(want), "session %llu was cancelled", (unsigned long long)s);
    assert_non_null(strstr(st.message, want));

    /* A hold the refunds have not reached yet cannot be paid either. */
    r = bht_reservation(cl, ids[N + H - 1]);
    bht_payment late = {
        .reservation = r->id, .amount = r->total_cents, .key = "cs-late-pay", .method = ""
    };
    assert_int_equal(bht_pay(cl, &late, NULL, &st), BH_FAILED_PRECONDITION);
    bilheteria__v1__reservation__free_unpacked(r, NULL);

    got = wait_done(s);
    assert_int_equal(got->cancel_progress->refunded, N);
    assert_int_equal(got->cancel_progress->released, H);
    assert_int_equal(got->cancel_progress->refunded_cents, N * 1000);
    bilheteria__v1__session__free_unpacked(got, NULL);
    check_cancelled(ids, N, H, "rain");
    /* A second cancel under a new key says when; the first key replays. */
    assert_int_equal(cancel_session(s, "rain", "cs-2", NULL, &st), BH_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "cancelled already"));
    assert_int_equal(cancel_session(s, "rain", "cs-1", NULL, &st), BH_OK);
    assert_true(st.replayed);
    uint32_t half;
    assert_int_equal(seat_state(s, "A1", &half), '.');
    free(ids);
}

/* kill -9 half-way: the restarted writer finishes the refunds, each paid
 * reservation refunded exactly once. */
static void
test_cancel_session_kill9(void **state)
{
    (void)state;
    enum { N = 600, H = 3 };
    uint64_t *ids = calloc(N + H, sizeof(*ids));
    assert_non_null(ids);
    uint64_t s = busy_session("Cancelled crash", N, H, ids);
    Bilheteria__V1__Session *got = NULL;
    bh_status st;
    assert_int_equal(cancel_session(s, "", "csk-1", &got, &st), BH_OK);
    assert_false(got->cancel_progress->done);
    assert_true(got->cancel_progress->refunded + got->cancel_progress->released <= 256);
    bilheteria__v1__session__free_unpacked(got, NULL);
    bh_client_close(cl);
    bht_kill9(&srv);
    assert_int_equal(bht_restart(&srv), 0);
    cl = bht_client(&srv);
    got = get_session(s);
    assert_int_equal(got->status, SESS(CANCELLED));
    bilheteria__v1__session__free_unpacked(got, NULL);
    got = wait_done(s);
    assert_int_equal(got->cancel_progress->refunded, N);
    assert_int_equal(got->cancel_progress->released, H);
    bilheteria__v1__session__free_unpacked(got, NULL);
    check_cancelled(ids, N, H, "session cancelled");
    free(ids);
}

/* A discounted order (a 10% coupon on the whole order) is refunded at what
 * was paid: each seat at its price less its discount, the product's units
 * at their share of the line's discount, and the steps add up to the
 * payment exactly; the full refund gives the coupon's use back. */
static void
test_discounted_refunds(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "RefundDiscount");
    uint64_t s = bht_session(cl, ev, 2, 5, 1000);
    uint64_t pid = bht_product(cl, "Bala", 333, 0);
    Bilheteria__V1__CreateCouponRequest cq = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    Bilheteria__V1__CreateCouponResponse *cr = NULL;
    bh_status st;
    cq.code = "REFUND10";
    cq.percent = 10;
    cq.applies_to = BILHETERIA__V1__COUPON_APPLIES_TO__COUPON_APPLIES_TO_ORDER;
    cq.max_uses = 1;
    assert_int_equal(bh_coupon_create_coupon(cl, &cq, &cr, NULL, &st), BH_OK);
    bilheteria__v1__create_coupon_response__free_unpacked(cr, NULL);

    Bilheteria__V1__Reservation *r =
        hold_coupon(cl, s, "dora", "A1,A2", 0, pid, 3, "refund10", &st);
    assert_non_null(r);
    /* 2 x 1000 + 3 x 333 = 2999, less 10% (299, shared over the lines). */
    assert_int_equal(r->total_cents, 2999 - 299);
    assert_int_equal(r->seats[0]->discount_cents + r->seats[1]->discount_cents +
                         r->items[0]->discount_cents,
                     299);
    uint64_t p = pay(cl, r);
    int64_t got = 0;

    ask a1 = { .payment = p, .seats = "A1" };
    Bilheteria__V1__RefundPaymentResponse *f = refund_ok(&a1, "disc-1");
    assert_int_equal(f->refund->amount_cents, 1000 - r->seats[0]->discount_cents);
    got += f->refund->amount_cents;
    bilheteria__v1__refund_payment_response__free_unpacked(f, NULL);
    ask a2 = { .payment = p, .items = { { pid, 1 } } };
    f = refund_ok(&a2, "disc-2");
    /* One unit of three: a third of the line's discount, rounded down. */
    assert_int_equal(f->refund->amount_cents, 333 - r->items[0]->discount_cents / 3);
    got += f->refund->amount_cents;
    bilheteria__v1__refund_payment_response__free_unpacked(f, NULL);
    ask a3 = { .payment = p, .all = 1 };
    f = refund_ok(&a3, "disc-3");
    got += f->refund->amount_cents;
    assert_int_equal(got, r->total_cents);
    assert_int_equal(f->reservation->status,
                     BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_REFUNDED);
    bilheteria__v1__refund_payment_response__free_unpacked(f, NULL);
    bilheteria__v1__reservation__free_unpacked(r, NULL);

    /* The use came back: another buyer may take the coupon's one use. */
    r = hold_coupon(cl, s, "eva", "B1", 0, 0, 0, "REFUND10", &st);
    assert_non_null(r);
    assert_string_equal(r->coupon_code, "REFUND10");
    bilheteria__v1__reservation__free_unpacked(r, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_then_full),
        cmocka_unit_test(test_keep_blocked),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_idempotency),
        cmocka_unit_test(test_race),
        cmocka_unit_test(test_cancel_confirmed),
        cmocka_unit_test(test_kill9_refunds),
        cmocka_unit_test(test_cancel_session),
        cmocka_unit_test(test_cancel_session_kill9),
        cmocka_unit_test(test_discounted_refunds),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
