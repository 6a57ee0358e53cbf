/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: coupons and automatic discounts against a real server --
 * every rule and refusal, a use's life (hold, expiry, cancel, payment), the
 * race for the last uses, idempotency and kill -9. */
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
#define KIND(x) BILHETERIA__V1__DISCOUNT_KIND__DISCOUNT_KIND_##x
#define TO(x)   BILHETERIA__V1__COUPON_APPLIES_TO__COUPON_APPLIES_TO_##x
#define MEIA    BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA

typedef Bilheteria__V1__Reservation Resv;
typedef Bilheteria__V1__CreateCouponRequest CouponReq;

BHT_GROUP("--sweep-interval-ms", "100")

/* ---- helpers ---- */

static int
mk_coupon(bh_client *c, CouponReq *req, bh_status *st)
{
    Bilheteria__V1__CreateCouponResponse *resp = NULL;
    int rc = bh_coupon_create_coupon(c, req, &resp, NULL, st);
    if (rc == BH_OK)
        bilheteria__v1__create_coupon_response__free_unpacked(resp, NULL);
    return rc;
}

/* A coupon of percent p (or amount a) with everything else from *base. */
static void
coupon(bh_client *c, const char *code, uint32_t p, int64_t a, const CouponReq *base)
{
    CouponReq req = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    bh_status st;
    if (base != NULL)
        req = *base;
    req.code = (char *)code;
    req.percent = p;
    req.amount_cents = a;
    if (mk_coupon(c, &req, &st) != BH_OK)
        fail_msg("create coupon %s: %s: %s", code, bh_code_name(st.code), st.message);
}

static Bilheteria__V1__Coupon *
get_coupon(bh_client *c, const char *code)
{
    Bilheteria__V1__GetCouponRequest req = BILHETERIA__V1__GET_COUPON_REQUEST__INIT;
    Bilheteria__V1__GetCouponResponse *resp = NULL;
    bh_status st;
    req.code = (char *)code;
    if (bh_coupon_get_coupon(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("get coupon %s: %s", code, st.message);
    Bilheteria__V1__Coupon *k = resp->coupon;
    resp->coupon = NULL;
    bilheteria__v1__get_coupon_response__free_unpacked(resp, NULL);
    return k;
}

/* held and final uses of a coupon. */
static void
uses(bh_client *c, const char *code, uint32_t *held, uint32_t *final)
{
    Bilheteria__V1__Coupon *k = get_coupon(c, code);
    *held = k->held_uses;
    *final = k->uses;
    bilheteria__v1__coupon__free_unpacked(k, NULL);
}

/* Seats held or sold in session. */
static uint32_t
held_seats(bh_client *c, uint64_t session)
{
    Bilheteria__V1__GetSeatMapResponse *m = bht_seat_map(c, session);
    uint32_t n = m->held + m->sold;
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);
    return n;
}

/* A percent coupon with at most max_uses uses, per_user each (0: no
 * limit). */
static void
limited(bh_client *c, const char *code, uint32_t percent, uint32_t max_uses, uint32_t per_user)
{
    CouponReq base = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    base.max_uses = max_uses;
    base.max_uses_per_user = per_user;
    coupon(c, code, percent, 0, &base);
}

/* The sums agree: lines, per seat and per item, and the total. */
static void
check_sums(const Resv *r)
{
    int64_t lines = 0, parts = 0;
    for (size_t i = 0; i < r->n_discounts; i++) {
        assert_true(r->discounts[i]->amount_cents > 0);
        lines += r->discounts[i]->amount_cents;
    }
    for (size_t i = 0; i < r->n_seats; i++) {
        assert_true(r->seats[i]->discount_cents <= r->seats[i]->price_cents);
        parts += r->seats[i]->discount_cents;
    }
    for (size_t i = 0; i < r->n_items; i++) {
        assert_true(r->items[i]->discount_cents <= r->items[i]->subtotal_cents);
        parts += r->items[i]->discount_cents;
    }
    assert_int_equal(lines, r->discount_cents);
    assert_int_equal(parts, r->discount_cents);
    assert_int_equal(r->total_cents,
                     r->seats_subtotal_cents + r->items_subtotal_cents - r->discount_cents);
    assert_true(r->total_cents >= 0);
}

/* A refused reservation: code, a message naming the reason, no seat held. */
static void
refused(const bht_hold *q, int code, const char *why)
{
    bh_status st;
    uint32_t before = held_seats(cl, q->session);
    assert_int_equal(bht_reserve(cl, q, NULL, &st), code);
    if (strstr(st.message, why) == NULL)
        fail_msg("expected \"%s\" in: %s", why, st.message);
    assert_int_equal(held_seats(cl, q->session), before);
}

/* ---- tests ---- */

static void
test_create_get_list_deactivate(void **state)
{
    (void)state;
    CouponReq req = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    bh_status st;
    coupon(cl, "Save-10_x", 10, 0, NULL);
    Bilheteria__V1__Coupon *k = get_coupon(cl, "sAVE-10_X");
    assert_string_equal(k->code, "SAVE-10_X");
    assert_int_equal(k->applies_to, TO(TICKETS));
    assert_true(k->active);
    assert_false(k->include_meia);
    assert_int_equal(k->uses + k->held_uses, 0);
    assert_true(k->created_at_ms > 0);
    bilheteria__v1__coupon__free_unpacked(k, NULL);

    /* Codes are case-insensitive and unique. */
    req.code = "save-10_X";
    req.percent = 5;
    assert_int_equal(mk_coupon(cl, &req, &st), BH_ALREADY_EXISTS);

    /* Bad input, each refused by name. */
    static const struct {
        const char *code;
        uint32_t percent;
        int64_t amount, from, until;
        uint64_t event, session, product;
        int applies_to;
        int want;
        const char *why;
    } bad[] = {
        { "A B", 10, 0, 0, 0, 0, 0, 0, 0, BH_INVALID_ARGUMENT, "letters, digits" },
        { "", 10, 0, 0, 0, 0, 0, 0, 0, BH_INVALID_ARGUMENT, "code must be 1..32" },
        { "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", 10, 0, 0, 0, 0, 0, 0, 0, BH_INVALID_ARGUMENT,
          "1..32" },
        { "BOTH", 10, 500, 0, 0, 0, 0, 0, 0, BH_INVALID_ARGUMENT, "exactly one" },
        { "NEITHER", 0, 0, 0, 0, 0, 0, 0, 0, BH_INVALID_ARGUMENT, "exactly one" },
        { "P101", 101, 0, 0, 0, 0, 0, 0, 0, BH_INVALID_ARGUMENT, "1..100" },
        { "NEG", 0, -5, 0, 0, 0, 0, 0, 0, BH_INVALID_ARGUMENT, "amount_cents must be" },
        { "TIMES", 10, 0, 2000000000000, 1000000000000, 0, 0, 0, 0, BH_INVALID_ARGUMENT,
          "not after" },
        { "SCOPES", 10, 0, 0, 0, 1, 1, 0, 0, BH_INVALID_ARGUMENT, "at most one" },
        { "NOEVENT", 10, 0, 0, 0, 999999, 0, 0, 0, BH_NOT_FOUND, "event 999999" },
        { "NOSESS", 10, 0, 0, 0, 0, 999999, 0, 0, BH_NOT_FOUND, "session 999999" },
        { "NOPROD", 10, 0, 0, 0, 0, 0, 999999, 0, BH_NOT_FOUND, "product 999999" },
        { "APPLY9", 10, 0, 0, 0, 0, 0, 0, 9, BH_INVALID_ARGUMENT, "applies_to" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CouponReq b = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
        b.code = (char *)bad[i].code;
        b.percent = bad[i].percent;
        b.amount_cents = bad[i].amount;
        b.valid_from_ms = bad[i].from;
        b.valid_until_ms = bad[i].until;
        b.event_id = bad[i].event;
        b.session_id = bad[i].session;
        b.product_id = bad[i].product;
        b.applies_to = bad[i].applies_to;
        assert_int_equal(mk_coupon(cl, &b, &st), bad[i].want);
        if (strstr(st.message, bad[i].why) == NULL)
            fail_msg("case %zu: expected \"%s\" in: %s", i, bad[i].why, st.message);
    }
    /* A product's coupon applies to products unless told otherwise, and
     * never to tickets only. */
    uint64_t pop = bht_product(cl, "Pipoca", 2500, 0);
    req = (CouponReq)BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    req.code = "PRODT";
    req.percent = 10;
    req.product_id = pop;
    req.applies_to = TO(TICKETS);
    assert_int_equal(mk_coupon(cl, &req, &st), BH_INVALID_ARGUMENT);
    req.applies_to = TO(UNSPECIFIED);
    assert_int_equal(mk_coupon(cl, &req, &st), BH_OK);
    k = get_coupon(cl, "prodt");
    assert_int_equal(k->applies_to, TO(PRODUCTS));
    bilheteria__v1__coupon__free_unpacked(k, NULL);

    /* List pages by code; deactivate is idempotent in effect. */
    Bilheteria__V1__ListCouponsRequest lr = BILHETERIA__V1__LIST_COUPONS_REQUEST__INIT;
    Bilheteria__V1__ListCouponsResponse *ls = NULL;
    lr.page_size = 1;
    assert_int_equal(bh_coupon_list_coupons(cl, &lr, &ls, NULL, &st), BH_OK);
    assert_int_equal(ls->n_coupons, 1);
    assert_string_equal(ls->coupons[0]->code, "PRODT");
    assert_string_equal(ls->next_page_token, "PRODT");
    bilheteria__v1__list_coupons_response__free_unpacked(ls, NULL);
    lr.page_token = "PRODT";
    assert_int_equal(bh_coupon_list_coupons(cl, &lr, &ls, NULL, &st), BH_OK);
    assert_int_equal(ls->n_coupons, 1);
    assert_string_equal(ls->coupons[0]->code, "SAVE-10_X");
    bilheteria__v1__list_coupons_response__free_unpacked(ls, NULL);

    Bilheteria__V1__DeactivateCouponRequest dr = BILHETERIA__V1__DEACTIVATE_COUPON_REQUEST__INIT;
    Bilheteria__V1__DeactivateCouponResponse *ds = NULL;
    dr.code = "prodt";
    assert_int_equal(bh_coupon_deactivate_coupon(cl, &dr, &ds, NULL, &st), BH_OK);
    assert_false(ds->coupon->active);
    bilheteria__v1__deactivate_coupon_response__free_unpacked(ds, NULL);
    dr.code = "NOSUCH";
    assert_int_equal(bh_coupon_deactivate_coupon(cl, &dr, &ds, NULL, &st), BH_NOT_FOUND);
    Bilheteria__V1__GetCouponRequest gr = BILHETERIA__V1__GET_COUPON_REQUEST__INIT;
    Bilheteria__V1__GetCouponResponse *gs = NULL;
    gr.code = "NOSUCH";
    assert_int_equal(bh_coupon_get_coupon(cl, &gr, &gs, NULL, &st), BH_NOT_FOUND);
}

static void
test_percent_inteira_only(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Percent");
    uint64_t s = bht_session(cl, ev, 4, 10, 4000);
    CouponReq base = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    coupon(cl, "PCT10", 10, 0, NULL);
    base.include_meia = 1;
    coupon(cl, "PCTALL", 10, 0, &base);
    Resv *r = NULL;
    bh_status st;
    bht_hold q = { .session = s, .seats = "A1,A2,A3", .half = 1, .coupon = "pct10" };
    assert_int_equal(bht_reserve(cl, &q, &r, &st), BH_OK);
    assert_string_equal(r->coupon_code, "PCT10");
    assert_int_equal(r->seats[0]->type, MEIA);
    assert_int_equal(r->seats[0]->discount_cents, 0); /* meia untouched */
    assert_int_equal(r->seats[1]->discount_cents, 400);
    assert_int_equal(r->seats[2]->discount_cents, 400);
    assert_int_equal(r->n_discounts, 1);
    assert_int_equal(r->discounts[0]->kind, KIND(COUPON));
    assert_string_equal(r->discounts[0]->code, "PCT10");
    assert_int_equal(r->discount_cents, 800);
    assert_int_equal(r->total_cents, 2000 + 8000 - 800);
    check_sums(r);
    bht_free_resv(r);
    q = (bht_hold){ .session = s, .seats = "B1,B2", .half = 1, .coupon = "PCTALL" };
    assert_int_equal(bht_reserve(cl, &q, &r, &st), BH_OK);
    assert_int_equal(r->seats[0]->discount_cents, 200);
    assert_int_equal(r->discount_cents, 600);
    check_sums(r);
    bht_free_resv(r);
    /* One meia ticket alone: a tickets coupon has nothing to discount. */
    q = (bht_hold){ .session = s, .seats = "C1", .half = 1, .coupon = "PCT10" };
    refused(&q, BH_FAILED_PRECONDITION, "inteira tickets only");
}

static void
test_amount_products_order(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Amount");
    uint64_t s = bht_session(cl, ev, 4, 10, 3000);
    uint64_t pop = bht_product(cl, "Pipoca", 2500, 0);
    uint64_t soda = bht_product(cl, "Refri", 1000, 0);
    CouponReq base = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    base.applies_to = TO(ORDER);
    coupon(cl, "ORDER50", 0, 5000, &base);
    coupon(cl, "HUGE", 0, 10000000, &base);
    base.applies_to = TO(PRODUCTS);
    coupon(cl, "FOOD20", 20, 0, &base);
    base = (CouponReq)BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    base.product_id = soda;
    coupon(cl, "SODA", 50, 0, &base);
    Resv *r = NULL;
    bh_status st;
    /* 2 x 3000 + 2 x 2500 + 1 x 1000 = 12000; 5000 spread over every line. */
    bht_hold q = {
        .session = s, .seats = "A1,A2", .items = { { pop, 2 }, { soda, 1 } }, .coupon = "order50"
    };
    assert_int_equal(bht_reserve(cl, &q, &r, &st), BH_OK);
    assert_int_equal(r->discount_cents, 5000);
    assert_int_equal(r->total_cents, 7000);
    assert_true(r->seats[0]->discount_cents > 0 && r->items[0]->discount_cents > 0 &&
                r->items[1]->discount_cents > 0);
    check_sums(r);
    bht_free_resv(r);
    /* More off than the order costs: the total stops at 0. */
    q.seats = "A3,A4";
    q.coupon = "HUGE";
    assert_int_equal(bht_reserve(cl, &q, &r, &st), BH_OK);
    assert_int_equal(r->total_cents, 0);
    assert_int_equal(r->discount_cents, 12000);
    check_sums(r);
    bht_free_resv(r);
    /* Products only: the seats keep their price. */
    q.seats = "B1";
    q.coupon = "FOOD20";
    assert_int_equal(bht_reserve(cl, &q, &r, &st), BH_OK);
    assert_int_equal(r->seats[0]->discount_cents, 0);
    assert_int_equal(r->discount_cents, 1200);
    check_sums(r);
    bht_free_resv(r);
    /* One product only. */
    q.seats = "B2";
    q.coupon = "SODA";
    assert_int_equal(bht_reserve(cl, &q, &r, &st), BH_OK);
    assert_int_equal(r->items[0]->discount_cents, 0);
    assert_int_equal(r->items[1]->discount_cents, 500);
    assert_int_equal(r->discount_cents, 500);
    bht_free_resv(r);
    q = (bht_hold){ .session = s, .seats = "B3", .items = { { pop, 1 } }, .coupon = "SODA" };
    refused(&q, BH_FAILED_PRECONDITION, "applies to product");
    q = (bht_hold){ .session = s, .seats = "B3", .coupon = "FOOD20" };
    refused(&q, BH_FAILED_PRECONDITION, "applies to products");
}

static void
test_refusals(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Refusals"), other = bht_event(cl, "Other");
    uint64_t s = bht_session(cl, ev, 4, 10, 3000);
    uint64_t s2 = bht_session(cl, other, 4, 10, 3000);
    CouponReq base = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    coupon(cl, "OFF", 10, 0, NULL);
    Bilheteria__V1__DeactivateCouponRequest dr = BILHETERIA__V1__DEACTIVATE_COUPON_REQUEST__INIT;
    Bilheteria__V1__DeactivateCouponResponse *ds = NULL;
    dr.code = "OFF";
    assert_int_equal(bh_coupon_deactivate_coupon(cl, &dr, &ds, NULL, NULL), BH_OK);
    bilheteria__v1__deactivate_coupon_response__free_unpacked(ds, NULL);
    base.valid_from_ms = 4102444800000; /* 2100 */
    coupon(cl, "LATER", 10, 0, &base);
    base = (CouponReq)BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    base.valid_from_ms = 1000;
    base.valid_until_ms = 2000;
    coupon(cl, "GONE", 10, 0, &base);
    base = (CouponReq)BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    base.event_id = other;
    coupon(cl, "EVOTHER", 10, 0, &base);
    base = (CouponReq)BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    base.session_id = s2;
    coupon(cl, "SESSOTHER", 10, 0, &base);
    base = (CouponReq)BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    base.max_uses = 1;
    coupon(cl, "ONCE", 10, 0, &base);
    base = (CouponReq)BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    base.max_uses_per_user = 1;
    coupon(cl, "ONEEACH", 10, 0, &base);
    base = (CouponReq)BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    base.min_total_cents = 6001;
    coupon(cl, "BIG", 10, 0, &base);

    static const struct {
        const char *code;
        int rc;
        const char *why;
    } no[] = {
        { "NOPE", BH_FAILED_PRECONDITION, "coupon NOPE does not exist" },
        { "OFF", BH_FAILED_PRECONDITION, "inactive" },
        { "LATER", BH_FAILED_PRECONDITION, "not valid yet" },
        { "GONE", BH_FAILED_PRECONDITION, "has expired" },
        { "EVOTHER", BH_FAILED_PRECONDITION, "only for event" },
        { "SESSOTHER", BH_FAILED_PRECONDITION, "only for session" },
        { "BIG", BH_FAILED_PRECONDITION, "at least 6001 cents; this one is 6000" },
        { "bad code!", BH_INVALID_ARGUMENT, "coupon_code" },
    };
    bht_hold q = { .session = s, .seats = "A1,A2" };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        q.coupon = no[i].code;
        refused(&q, no[i].rc, no[i].why);
    }

    /* The last use, then used up; per user, then another user may. */
    Resv *r = NULL;
    q.coupon = "ONCE";
    assert_int_equal(bht_reserve(cl, &q, &r, NULL), BH_OK);
    bht_free_resv(r);
    q.seats = "A3";
    refused(&q, BH_FAILED_PRECONDITION, "used up: max_uses 1 reached (0 paid, 1 held)");
    q.coupon = "ONEEACH";
    q.user = "joana";
    assert_int_equal(bht_reserve(cl, &q, &r, NULL), BH_OK);
    bht_free_resv(r);
    q.seats = "A4";
    refused(&q, BH_FAILED_PRECONDITION, "user joana already has 1 use(s) of coupon ONEEACH");
    q.user = "pedro";
    assert_int_equal(bht_reserve(cl, &q, &r, NULL), BH_OK);
    bht_free_resv(r);
    uint32_t held, final;
    uses(cl, "ONEEACH", &held, &final);
    assert_int_equal(held, 2);
    assert_int_equal(final, 0);
    uses(cl, "BIG", &held, &final);
    assert_int_equal(held + final, 0); /* refusals take nothing */
}

static void
test_expiry_returns_use(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "CouponExpiry");
    uint64_t s = bht_session(cl, ev, 2, 5, 1000);
    limited(cl, "SHORT", 10, 1, 1);
    Resv *r = NULL;
    uint32_t held, final;
    bht_hold q = { .session = s, .seats = "A1", .coupon = "SHORT", .ttl_s = 1 };
    assert_int_equal(bht_reserve(cl, &q, &r, NULL), BH_OK);
    bht_free_resv(r);
    q.seats = "A2";
    q.ttl_s = 0;
    refused(&q, BH_FAILED_PRECONDITION, "used up");
    bht_sleep_ms(1600); /* TTL 1 s + sweeper every 100 ms */
    uses(cl, "SHORT", &held, &final);
    assert_int_equal(held, 0);
    /* The same user may use it again: the per-user count came back too. */
    assert_int_equal(bht_reserve(cl, &q, &r, NULL), BH_OK);
    bht_free_resv(r);
    uses(cl, "SHORT", &held, &final);
    assert_int_equal(held, 1);
    assert_int_equal(final, 0);
}

static void
test_cancel_returns_use_and_payment_makes_it_final(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "CouponCancel");
    uint64_t s = bht_session(cl, ev, 2, 5, 1000);
    limited(cl, "CANCELME", 10, 1, 1);
    Resv *r = NULL;
    bh_status st;
    uint32_t held, final;
    bht_hold q = { .session = s, .seats = "A1", .coupon = "CANCELME" };
    assert_int_equal(bht_reserve(cl, &q, &r, NULL), BH_OK);
    assert_int_equal(bht_cancel(cl, r->id, NULL, NULL, NULL), BH_OK);
    bht_free_resv(r);
    uses(cl, "CANCELME", &held, &final);
    assert_int_equal(held + final, 0);
    q.seats = "A2";
    assert_int_equal(bht_reserve(cl, &q, &r, NULL), BH_OK);
    assert_int_equal(r->total_cents, 900);
    assert_int_equal(bht_pay_full(cl, r, "cancelme-pay", &st), BH_OK);
    uses(cl, "CANCELME", &held, &final);
    assert_int_equal(held, 0);
    assert_int_equal(final, 1);
    /* Final: used up for everyone else. */
    Resv *r3 = NULL;
    q.seats = "A3";
    q.user = "other";
    refused(&q, BH_FAILED_PRECONDITION, "used up: max_uses 1 reached (1 paid, 0 held)");
    /* Cancelling the paid reservation refunds it in full, and a fully
     * refunded reservation gives its use back. */
    assert_int_equal(bht_cancel(cl, r->id, NULL, NULL, NULL), BH_OK);
    bht_free_resv(r);
    uses(cl, "CANCELME", &held, &final);
    assert_int_equal(held + final, 0);
    assert_int_equal(bht_reserve(cl, &q, &r3, NULL), BH_OK);
    assert_int_equal(r3->total_cents, 900);
    bht_free_resv(r3);
}

static void
test_pay_after_expiry(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "CouponLapse");
    uint64_t s = bht_session(cl, ev, 2, 5, 1000);
    limited(cl, "LAPSE1", 10, 1, 0);
    limited(cl, "LAPSE2", 10, 1, 0);
    Resv *r = NULL, *r2 = NULL;
    bh_status st;
    uint32_t held, final;
    /* The use went back and nobody took it: paying takes it again. */
    bht_hold q = { .session = s, .seats = "A1", .coupon = "LAPSE1", .ttl_s = 1 };
    assert_int_equal(bht_reserve(cl, &q, &r, NULL), BH_OK);
    bht_sleep_ms(1600);
    uses(cl, "LAPSE1", &held, &final);
    assert_int_equal(held, 0);
    assert_int_equal(bht_pay_full(cl, r, "lapse1-pay", &st), BH_OK);
    uses(cl, "LAPSE1", &held, &final);
    assert_int_equal(final, 1);
    bht_free_resv(r);
    /* Someone else took the last use since: nothing is charged. */
    q.seats = "A2";
    q.coupon = "LAPSE2";
    assert_int_equal(bht_reserve(cl, &q, &r, NULL), BH_OK);
    bht_sleep_ms(1600);
    bht_hold q2 = { .session = s, .seats = "A3", .coupon = "LAPSE2", .user = "quick" };
    assert_int_equal(bht_reserve(cl, &q2, &r2, NULL), BH_OK);
    assert_int_equal(bht_pay_full(cl, r, "lapse2-pay", &st), BH_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "used up since"));
    uses(cl, "LAPSE2", &held, &final);
    assert_int_equal(held, 1);
    assert_int_equal(final, 0);
    bht_free_resv(r);
    bht_free_resv(r2);
}

static void
test_idempotent_replay(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "CouponIdem");
    uint64_t s = bht_session(cl, ev, 2, 5, 1000);
    coupon(cl, "IDEM", 10, 0, NULL);
    Resv *r1 = NULL, *r2 = NULL;
    bh_status st;
    bht_hold q = { .session = s, .seats = "A1", .coupon = "IDEM", .key = "idem-coupon-1" };
    assert_int_equal(bht_reserve(cl, &q, &r1, &st), BH_OK);
    assert_false(st.replayed);
    assert_int_equal(bht_reserve(cl, &q, &r2, &st), BH_OK);
    assert_true(st.replayed);
    assert_int_equal(r1->id, r2->id);
    assert_int_equal(r2->discount_cents, 100);
    uint32_t held, final;
    uses(cl, "IDEM", &held, &final);
    assert_int_equal(held, 1); /* one use for one reservation */
    bht_free_resv(r1);
    bht_free_resv(r2);
}

/* ---- the race for the last uses ---- */

#define RACERS 64

struct racer {
    uint64_t session;
    int idx;
    int ok, refused, bad;
    uint64_t id;
};

static void *
race_one(void *arg)
{
    struct racer *p = arg;
    bh_client *c = bht_client(&srv);
    char user[32];
    Resv *r = NULL;
    bh_status st;
    snprintf(user, sizeof(user), "racer-%d", p->idx);
    bht_hold q = { .session = p->session, .best = 1, .coupon = "RUSH5", .user = user };
    int code = bht_reserve(c, &q, &r, &st);
    if (code == BH_OK) {
        p->ok = 1;
        p->id = r->id;
        if (strcmp(r->coupon_code, "RUSH5") != 0)
            p->bad = 1;
        bht_free_resv(r);
    } else if (code == BH_FAILED_PRECONDITION && strstr(st.message, "used up") != NULL) {
        p->refused = 1;
    } else {
        fprintf(stderr, "race: unexpected %s: %s\n", bh_code_name(code), st.message);
        p->bad = 1;
    }
    bh_client_close(c);
    return NULL;
}

static void
test_race_last_uses(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "CouponRush");
    uint64_t s = bht_session(cl, ev, 8, 10, 2000);
    limited(cl, "RUSH5", 50, 5, 0);
    static struct racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (struct racer){ .session = s, .idx = i };
        assert_int_equal(pthread_create(&th[i], NULL, race_one, &rs[i]), 0);
    }
    int ok = 0, no = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rs[i].bad, 0);
        ok += rs[i].ok;
        no += rs[i].refused;
    }
    assert_int_equal(ok, 5);
    assert_int_equal(no, RACERS - 5);
    assert_int_equal(held_seats(cl, s), 5); /* the refused took no seat */
    uint32_t held, final;
    uses(cl, "RUSH5", &held, &final);
    assert_int_equal(held, 5);
    assert_int_equal(final, 0);
}

/* ---- automatic rules (a server of their own: rules apply everywhere) ---- */

static Bilheteria__V1__DiscountRule *
combo(bh_client *c, const char *name, uint64_t a, int32_t qa, uint64_t b, int32_t qb, uint64_t d,
      int32_t qd, int64_t price, int want)
{
    Bilheteria__V1__CreateComboRuleRequest req = BILHETERIA__V1__CREATE_COMBO_RULE_REQUEST__INIT;
    Bilheteria__V1__CreateComboRuleResponse *resp = NULL;
    Bilheteria__V1__ComboItem it[3] = { BILHETERIA__V1__COMBO_ITEM__INIT,
                                        BILHETERIA__V1__COMBO_ITEM__INIT,
                                        BILHETERIA__V1__COMBO_ITEM__INIT };
    Bilheteria__V1__ComboItem *itp[3] = { &it[0], &it[1], &it[2] };
    bh_status st;
    it[0].product_id = a;
    it[0].quantity = qa;
    it[1].product_id = b;
    it[1].quantity = qb;
    it[2].product_id = d;
    it[2].quantity = qd;
    req.name = (char *)name;
    req.items = itp;
    req.n_items = d ? 3 : b ? 2 : 1;
    req.price_cents = price;
    assert_int_equal(bh_coupon_create_combo_rule(c, &req, &resp, NULL, &st), want);
    if (want != BH_OK)
        return NULL;
    Bilheteria__V1__DiscountRule *r = resp->rule;
    resp->rule = NULL;
    bilheteria__v1__create_combo_rule_response__free_unpacked(resp, NULL);
    return r;
}

static uint64_t
quantity(bh_client *c, uint32_t min, uint32_t pct, int want)
{
    Bilheteria__V1__CreateQuantityRuleRequest req =
        BILHETERIA__V1__CREATE_QUANTITY_RULE_REQUEST__INIT;
    Bilheteria__V1__CreateQuantityRuleResponse *resp = NULL;
    bh_status st;
    req.min_tickets = min;
    req.percent = pct;
    assert_int_equal(bh_coupon_create_quantity_rule(c, &req, &resp, NULL, &st), want);
    if (want != BH_OK)
        return 0;
    uint64_t id = resp->rule->id;
    bilheteria__v1__create_quantity_rule_response__free_unpacked(resp, NULL);
    return id;
}

static const Bilheteria__V1__DiscountLine *
line_of(const Resv *r, int kind, uint64_t rule)
{
    for (size_t i = 0; i < r->n_discounts; i++)
        if ((int)r->discounts[i]->kind == kind && r->discounts[i]->rule_id == rule)
            return r->discounts[i];
    return NULL;
}

static void
test_rules(void **state)
{
    (void)state;
    bht_server s2;
    assert_int_equal(bht_start(&s2, NULL), 0);
    bh_client *c = bht_client(&s2);
    uint64_t ev = bht_event(c, "Rules");
    uint64_t s = bht_session(c, ev, 4, 10, 4000);
    uint64_t pop = bht_product(c, "Pipoca", 2500, 0);
    uint64_t soda = bht_product(c, "Refri", 1000, 0);
    uint64_t choc = bht_product(c, "Chocolate", 800, 0);

    /* Bad rules. */
    combo(c, "too dear", pop, 1, soda, 1, 0, 0, 3500, BH_INVALID_ARGUMENT);
    combo(c, "twice", pop, 1, pop, 1, 0, 0, 1000, BH_INVALID_ARGUMENT);
    combo(c, "nothing", 999999, 1, 0, 0, 0, 0, 10, BH_NOT_FOUND);
    quantity(c, 0, 10, BH_INVALID_ARGUMENT);
    quantity(c, 3, 0, BH_INVALID_ARGUMENT);
    quantity(c, 3, 101, BH_INVALID_ARGUMENT);

    uint64_t q3 = quantity(c, 3, 10, BH_OK);
    uint64_t q5 = quantity(c, 5, 20, BH_OK);
    Bilheteria__V1__DiscountRule *duo = combo(c, "Duo", pop, 1, soda, 1, 0, 0, 3000, BH_OK);
    Bilheteria__V1__DiscountRule *trio = combo(c, "Trio", pop, 1, soda, 1, choc, 1, 3300, BH_OK);

    Resv *r = NULL;
    bh_status st;
    /* 2 inteira + 1 meia: meia does not count toward 3. */
    bht_hold q = { .session = s, .seats = "A1,A2,A3", .half = 1 };
    assert_int_equal(bht_reserve(c, &q, &r, &st), BH_OK);
    assert_int_equal(r->n_discounts, 0);
    assert_int_equal(r->total_cents, 10000);
    bht_free_resv(r);
    /* 3 inteira: 10%; 5 inteira: the better 20%, meia untouched. */
    q = (bht_hold){ .session = s, .seats = "B1,B2,B3" };
    assert_int_equal(bht_reserve(c, &q, &r, &st), BH_OK);
    assert_non_null(line_of(r, KIND(QUANTITY), q3));
    assert_int_equal(r->discount_cents, 1200);
    bht_free_resv(r);
    q = (bht_hold){ .session = s, .seats = "C1,C2,C3,C4,C5,C6", .half = 1 };
    assert_int_equal(bht_reserve(c, &q, &r, &st), BH_OK);
    assert_int_equal(r->n_discounts, 1);
    assert_non_null(line_of(r, KIND(QUANTITY), q5));
    assert_int_equal(r->seats[0]->discount_cents, 0);
    assert_int_equal(r->discount_cents, 5 * 800);
    check_sums(r);
    bht_free_resv(r);
    /* Combos: 2 pipoca + 2 refri fill Duo twice (Trio needs a chocolate). */
    q = (bht_hold){ .session = s, .seats = "D1", .items = { { pop, 2 }, { soda, 2 } } };
    assert_int_equal(bht_reserve(c, &q, &r, &st), BH_OK);
    assert_non_null(line_of(r, KIND(COMBO), duo->id));
    assert_int_equal(line_of(r, KIND(COMBO), duo->id)->amount_cents, 1000); /* x2 */
    assert_null(line_of(r, KIND(COMBO), trio->id));
    check_sums(r);
    bht_free_resv(r);
    /* With the chocolate: Trio once, then Duo once. A coupon on what is
     * left, after the rules. */
    CouponReq food = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    food.applies_to = TO(PRODUCTS);
    coupon(c, "FOOD10", 10, 0, &food);
    q = (bht_hold){ .session = s,
                    .seats = "D2",
                    .items = { { pop, 2 }, { soda, 2 }, { choc, 1 } },
                    .coupon = "food10" };
    assert_int_equal(bht_reserve(c, &q, &r, &st), BH_OK);
    assert_int_equal(line_of(r, KIND(COMBO), trio->id)->amount_cents, 1000);
    assert_int_equal(line_of(r, KIND(COMBO), duo->id)->amount_cents, 500);
    /* items 5000 + 2000 + 800 = 7800, combos take 1500, 10% of 6300. */
    assert_int_equal(line_of(r, KIND(COUPON), 0)->amount_cents, 630);
    assert_int_equal(r->discounts[r->n_discounts - 1]->kind, KIND(COUPON));
    assert_int_equal(r->total_cents, 4000 + 7800 - 1500 - 630);
    check_sums(r);
    bht_free_resv(r);

    /* Deactivated rules stop applying; the list shows them. */
    Bilheteria__V1__DeactivateRuleRequest dr = BILHETERIA__V1__DEACTIVATE_RULE_REQUEST__INIT;
    Bilheteria__V1__DeactivateRuleResponse *ds = NULL;
    dr.id = q3;
    assert_int_equal(bh_coupon_deactivate_rule(c, &dr, &ds, NULL, &st), BH_OK);
    assert_false(ds->rule->active);
    bilheteria__v1__deactivate_rule_response__free_unpacked(ds, NULL);
    dr.id = 999;
    assert_int_equal(bh_coupon_deactivate_rule(c, &dr, &ds, NULL, &st), BH_NOT_FOUND);
    q = (bht_hold){ .session = s, .seats = "B4,B5,B6" };
    assert_int_equal(bht_reserve(c, &q, &r, &st), BH_OK);
    assert_int_equal(r->n_discounts, 0);
    bht_free_resv(r);
    Bilheteria__V1__ListRulesRequest lr = BILHETERIA__V1__LIST_RULES_REQUEST__INIT;
    Bilheteria__V1__ListRulesResponse *ls = NULL;
    assert_int_equal(bh_coupon_list_rules(c, &lr, &ls, NULL, &st), BH_OK);
    assert_int_equal(ls->n_rules, 4);
    assert_false(ls->rules[0]->active);
    assert_true(ls->rules[1]->active);
    bilheteria__v1__list_rules_response__free_unpacked(ls, NULL);
    bilheteria__v1__discount_rule__free_unpacked(duo, NULL);
    bilheteria__v1__discount_rule__free_unpacked(trio, NULL);
    bh_client_close(c);
    assert_int_equal(bht_cleanup(&s2), 0);
}

static void
test_crash_keeps_uses(void **state)
{
    (void)state;
    bht_server s2;
    assert_int_equal(bht_start(&s2, NULL), 0);
    bh_client *c = bht_client(&s2);
    uint64_t ev = bht_event(c, "CouponCrash");
    uint64_t s = bht_session(c, ev, 2, 5, 1000);
    limited(c, "CRASH", 10, 3, 0);
    Resv *r1 = NULL, *r2 = NULL, *r3 = NULL;
    bh_status st;
    bht_hold q = { .session = s, .seats = "A1", .coupon = "CRASH" };
    assert_int_equal(bht_reserve(c, &q, &r1, NULL), BH_OK);
    q.seats = "A2";
    assert_int_equal(bht_reserve(c, &q, &r2, NULL), BH_OK);
    q.seats = "A3";
    assert_int_equal(bht_reserve(c, &q, &r3, NULL), BH_OK);
    assert_int_equal(bht_pay_full(c, r1, "crash-coupon-pay", &st), BH_OK);
    bh_client_close(c);
    bht_kill9(&s2);
    assert_int_equal(bht_restart(&s2), 0);
    c = bht_client(&s2);
    uint32_t held, final;
    uses(c, "crash", &held, &final);
    assert_int_equal(held, 2);
    assert_int_equal(final, 1);
    q.seats = "A4";
    assert_int_equal(bht_reserve(c, &q, NULL, &st), BH_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "used up"));
    bht_free_resv(r1);
    bht_free_resv(r2);
    bht_free_resv(r3);
    bh_client_close(c);
    assert_int_equal(bht_cleanup(&s2), 0);
}

static void
test_cli(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    uint64_t ev = bht_event(cl, "CouponCli");
    uint64_t s = bht_session(cl, ev, 2, 5, 5000);
    char sid[32];
    snprintf(sid, sizeof(sid), "%llu", (unsigned long long)s);
    const char *create[] = { "coupon", "create",     "--code", "cli15", "--percent",
                             "15",     "--max-uses", "2",      NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, create), 0);
    assert_non_null(strstr(out, "CLI15"));
    free(out);
    free(err);
    const char *both[] = { "coupon", "create",   "--code", "X", "--percent",
                           "1",      "--amount", "100",    NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, both), 2);
    assert_non_null(strstr(err, "--percent and --amount"));
    free(out);
    free(err);
    const char *reserve[] = { "reserve", "--session", sid,        "--user", "ana",
                              "--seats", "A1,A2",     "--coupon", "Cli15",  NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, reserve), 0);
    assert_non_null(strstr(out, "discounts:"));
    assert_non_null(strstr(out, "COUPON"));
    assert_non_null(strstr(out, "R$ -15.00"));
    assert_non_null(strstr(out, "R$ 85.00")); /* total */
    free(out);
    free(err);
    const char *get[] = { "coupon", "get", "cli15", NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, get), 0);
    assert_non_null(strstr(out, "held_uses:"));
    free(out);
    free(err);
    const char *bad[] = { "reserve", "--session", sid,        "--user", "ana",
                          "--seats", "A3",        "--coupon", "NOPE",   NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, bad), 1);
    assert_non_null(strstr(err, "FAILED_PRECONDITION: coupon NOPE does not exist"));
    free(out);
    free(err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_get_list_deactivate),
        cmocka_unit_test(test_percent_inteira_only),
        cmocka_unit_test(test_amount_products_order),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_expiry_returns_use),
        cmocka_unit_test(test_cancel_returns_use_and_payment_makes_it_final),
        cmocka_unit_test(test_pay_after_expiry),
        cmocka_unit_test(test_idempotent_replay),
        cmocka_unit_test(test_race_last_uses),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_crash_keeps_uses),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
