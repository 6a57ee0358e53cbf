/* SPDX-License-Identifier: Apache-2.0 */
/* server/resv.c: the reservation rules over a real store in a fresh temp
 * directory per test -- the taken rule, release, sweep, quota and stock, and
 * the shortfall check that sweeps before it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resv.h"
#include "tmpstore.h"

#define ST(x) BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define MEIA  BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA
#define FULL  BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_INTEIRA
#define NONE  (-1)
#define SESS  7
#define PROD  3
#define UNLIM 4

struct fx {
    tmpstore ts;
    store_txn *t; /* a write transaction, aborted at teardown */
    bh__arena arena;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL || tmpstore_open(&f->ts, 1 << 22) != 0 ||
        bh__arena_init_alloc(&f->arena, 4096) != 0 || store_write_begin(f->ts.s, &f->t) != STORE_OK)
        return -1;
    /* A session of 2 rows of 5 seats, meia-entrada cap 4; a product with 10
     * in stock and one without a stock count. */
    Bilheteria__V1__Session s = BILHETERIA__V1__SESSION__INIT;
    s.id = SESS;
    s.event_id = 1;
    s.rows = 2;
    s.seats_per_row = 5;
    s.capacity = 10;
    s.half_price_cap = 4;
    s.room = "Sala 1";
    Bilheteria__V1__Product p = BILHETERIA__V1__PRODUCT__INIT;
    p.id = PROD;
    p.name = "pipoca";
    p.stock_tracked = 1;
    p.stock = 10;
    Bilheteria__V1__Product u = BILHETERIA__V1__PRODUCT__INIT;
    u.id = UNLIM;
    u.name = "agua";
    if (store_session_put(f->t, &s) != STORE_OK || store_product_put(f->t, &p) != STORE_OK ||
        store_product_put(f->t, &u) != STORE_OK)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    store_abort(f->t);
    bh__arena_fini(&f->arena);
    int rc = tmpstore_close(&f->ts);
    free(f);
    return rc;
}

/* A reservation as create_reservation would store it: seats A1 (meia) and
 * A2, items, quota and stock taken, expiry indexed. */
static Bilheteria__V1__Reservation *
hold(struct fx *f, uint64_t id, int64_t expires, const char *const *labels, size_t n_seats,
     int32_t qty)
{
    Bilheteria__V1__Reservation *r = bh__arena_alloc(&f->arena, sizeof(*r));
    assert_non_null(r);
    bilheteria__v1__reservation__init(r);
    r->id = id;
    r->session_id = SESS;
    r->user_id = "u1";
    r->status = ST(PENDING);
    r->expires_at_ms = expires;
    r->seats = bh__arena_alloc(&f->arena, n_seats * sizeof(*r->seats));
    uint32_t half = 0;
    for (size_t i = 0; i < n_seats; i++) {
        Bilheteria__V1__ReservedSeat *s = bh__arena_alloc(&f->arena, sizeof(*s));
        bilheteria__v1__reserved_seat__init(s);
        s->label = (char *)labels[i];
        s->type = i == 0 ? MEIA : FULL;
        half += i == 0;
        r->seats[r->n_seats++] = s;
        Bilheteria__V1__Session sess = BILHETERIA__V1__SESSION__INIT;
        sess.rows = 2;
        sess.seats_per_row = 5;
        uint32_t idx;
        assert_int_equal(srv_resv_seat_index(&sess, labels[i], &idx), 0);
        store_seat rec = { id, expires, i == 0 };
        assert_int_equal(store_seat_put(f->t, SESS, idx, &rec), STORE_OK);
    }
    if (qty > 0) {
        Bilheteria__V1__ReservedItem *it = bh__arena_alloc(&f->arena, sizeof(*it));
        bilheteria__v1__reserved_item__init(it);
        it->product_id = PROD;
        it->quantity = qty;
        r->items = bh__arena_alloc(&f->arena, sizeof(*r->items));
        r->items[r->n_items++] = it;
        assert_int_equal(srv_resv_stock_add(f->t, &f->arena.pc, PROD, -qty, NULL), STORE_OK);
    }
    assert_int_equal(srv_resv_quota_add(f->t, SESS, half), STORE_OK);
    assert_int_equal(store_resv_put(f->t, r, 1), STORE_OK);
    assert_int_equal(store_resv_expiry_add(f->t, expires, id), STORE_OK);
    return r;
}

static int64_t
stock(struct fx *f)
{
    Bilheteria__V1__Product *p = NULL;
    assert_int_equal(store_product_get(f->t, PROD, &f->arena.pc, &p), STORE_OK);
    return p->stock;
}

static uint32_t
quota(struct fx *f)
{
    uint32_t used = 0;
    assert_int_equal(store_session_state_get(f->t, SESS, &used), STORE_OK);
    return used;
}

/* The seat's reservation id, 0 if it has no record. */
static uint64_t
seat_owner(struct fx *f, uint32_t idx)
{
    store_seat s;
    int rc = store_seat_get(f->t, SESS, idx, &s);
    if (rc == STORE_NOTFOUND)
        return 0;
    assert_int_equal(rc, STORE_OK);
    return s.reservation_id;
}

static int
status_of(struct fx *f, uint64_t id)
{
    Bilheteria__V1__Reservation *r = NULL;
    assert_int_equal(store_resv_get(f->t, id, &f->arena.pc, &r), STORE_OK);
    return r->status;
}

static void
test_taken_rule(void **state)
{
    (void)state;
    static const struct {
        int64_t expires, now;
        int sold, taken;
    } cases[] = {
        { 0, 0, 1, 1 },                               /* sold: taken forever */
        { 0, INT64_MAX, 1, 1 }, { 2000, 1999, 0, 1 }, /* held, not lapsed */
        { 2000, 2000, 0, 0 },                         /* lapsed the moment its expiry is reached */
        { 2000, 3000, 0, 0 },                         /* lapsed, swept or not */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        store_seat s = { 9, cases[i].expires, 0 };
        assert_int_equal(srv_resv_seat_sold(&s), cases[i].sold);
        if (srv_resv_seat_taken(&s, cases[i].now) != cases[i].taken)
            fail_msg("case %zu: expiry %lld at %lld: taken %d", i, (long long)cases[i].expires,
                     (long long)cases[i].now, !cases[i].taken);
    }
}

static void
test_seat_index(void **state)
{
    (void)state;
    Bilheteria__V1__Session s = BILHETERIA__V1__SESSION__INIT;
    s.rows = 10;
    s.seats_per_row = 20;
    static const struct {
        const char *label;
        long want;
    } cases[] = {
        { "A1", 0 },     { "A20", 19 },  { "B1", 20 },    { "J20", 199 },
        { "C7", 46 },    { "K1", NONE }, { "A21", NONE }, { "A0", NONE },
        { "AA1", NONE }, { "", NONE },   { "a1", NONE },  { "J200", NONE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t idx = 0xdeadbeef;
        int rc = srv_resv_seat_index(&s, cases[i].label, &idx);
        if (cases[i].want == NONE) {
            assert_int_equal(rc, -1);
            assert_int_equal(idx, 0xdeadbeef);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(idx, (uint32_t)cases[i].want);
        }
    }
    s.rows = 676;
    s.seats_per_row = 3;
    uint32_t idx;
    assert_int_equal(srv_resv_seat_index(&s, "YZ3", &idx), 0);
    assert_int_equal(idx, 675 * 3 + 2);
    assert_int_equal(srv_resv_seat_index(&s, "ZA1", &idx), -1);
}

static void
test_release_gives_back(void **state)
{
    struct fx *f = *state;
    static const char *const seats[] = { "A1", "A2", "A3" };
    Bilheteria__V1__Reservation *r = hold(f, 1, 5000, seats, 3, 4);
    assert_int_equal(quota(f), 1);
    assert_int_equal(stock(f), 6);
    /* A3 has been taken over by another reservation since (its hold
     * lapsed): the release must leave it alone. */
    store_seat other = { 2, 9000, 0 };
    assert_int_equal(store_seat_put(f->t, SESS, 2, &other), STORE_OK);

    assert_int_equal(srv_resv_release(f->t, NULL, NULL, &f->arena.pc, r, ST(CANCELLED), 4000),
                     STORE_OK);
    assert_int_equal(seat_owner(f, 0), 0);
    assert_int_equal(seat_owner(f, 1), 0);
    assert_int_equal(seat_owner(f, 2), 2);
    assert_int_equal(quota(f), 0);
    assert_int_equal(stock(f), 10);
    Bilheteria__V1__Reservation *got = NULL;
    assert_int_equal(store_resv_get(f->t, 1, &f->arena.pc, &got), STORE_OK);
    assert_int_equal(got->status, ST(CANCELLED));
    assert_int_equal(got->updated_at_ms, 4000);
    /* Off the expiry index: a sweep long after finds nothing. */
    int64_t exp[4];
    uint64_t ids[4];
    size_t n = 9;
    assert_int_equal(store_resv_expired(f->t, INT64_MAX, exp, ids, 4, &n), STORE_OK);
    assert_int_equal(n, 0);
}

static void
test_quota_and_stock(void **state)
{
    struct fx *f = *state;
    assert_int_equal(srv_resv_quota_add(f->t, SESS, 3), STORE_OK);
    assert_int_equal(quota(f), 3);
    assert_int_equal(srv_resv_quota_add(f->t, SESS, -5), STORE_OK); /* never below 0 */
    assert_int_equal(quota(f), 0);

    Bilheteria__V1__Product *p = NULL;
    assert_int_equal(srv_resv_stock_add(f->t, &f->arena.pc, PROD, -3, &p), STORE_OK);
    assert_int_equal(p->id, PROD);
    assert_int_equal(stock(f), 7);
    /* Untracked stock is not counted. */
    assert_int_equal(srv_resv_stock_add(f->t, &f->arena.pc, UNLIM, -3, &p), STORE_OK);
    assert_false(p->stock_tracked);
    assert_int_equal(store_product_get(f->t, UNLIM, &f->arena.pc, &p), STORE_OK);
    assert_int_equal(p->stock, 0);
    assert_int_equal(srv_resv_stock_add(f->t, &f->arena.pc, 99, -1, NULL), STORE_NOTFOUND);
}

static void
test_sweep_expires_only_lapsed_pending(void **state)
{
    struct fx *f = *state;
    static const char *const s1[] = { "A1", "A2" }, *const s2[] = { "B1", "B2" },
                             *const s3[] = { "A4", "A5" };
    hold(f, 1, 1000, s1, 2, 2); /* lapsed at 2000 */
    hold(f, 2, 5000, s2, 2, 3); /* still held at 2000 */
    Bilheteria__V1__Reservation *paid = hold(f, 3, 1000, s3, 2, 0);
    /* Reservation 3 was paid: sold seats, CONFIRMED; its expiry entry is
     * left behind (stale). */
    paid->status = ST(CONFIRMED);
    assert_int_equal(store_resv_put(f->t, paid, 0), STORE_OK);
    store_seat sold = { 3, 0, 1 };
    assert_int_equal(store_seat_put(f->t, SESS, 3, &sold), STORE_OK);
    assert_int_equal(quota(f), 3);
    assert_int_equal(stock(f), 5);

    size_t n = 0;
    assert_int_equal(srv_resv_sweep(f->t, NULL, NULL, &f->arena, 2000, SIZE_MAX, &n), STORE_OK);
    assert_int_equal(n, 2); /* 1 expired, 3's stale entry dropped */
    assert_int_equal(status_of(f, 1), ST(EXPIRED));
    assert_int_equal(status_of(f, 2), ST(PENDING));
    assert_int_equal(status_of(f, 3), ST(CONFIRMED));
    assert_int_equal(seat_owner(f, 0), 0); /* A1, A2 freed */
    assert_int_equal(seat_owner(f, 1), 0);
    assert_int_equal(seat_owner(f, 5), 2); /* B1 still held */
    assert_int_equal(seat_owner(f, 3), 3); /* A4 still sold */
    assert_int_equal(quota(f), 2);
    assert_int_equal(stock(f), 7);
    /* Nothing more to do until reservation 2 lapses. */
    assert_int_equal(srv_resv_sweep(f->t, NULL, NULL, &f->arena, 2000, SIZE_MAX, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(srv_resv_sweep(f->t, NULL, NULL, &f->arena, 5000, 1, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(f, 2), ST(EXPIRED));
}

static void
test_taken_scan(void **state)
{
    struct fx *f = *state;
    static const char *const s1[] = { "A1", "A2" }, *const s2[] = { "B5" };
    hold(f, 1, 1000, s1, 2, 0);
    hold(f, 2, 3000, s2, 1, 0);
    store_seat sold = { 3, 0, 0 };
    assert_int_equal(store_seat_put(f->t, SESS, 4, &sold), STORE_OK); /* A5 */
    uint8_t bits[2] = { 0, 0 };
    int64_t min = INT64_MAX;
    assert_int_equal(srv_resv_taken_scan(f->t, SESS, 10, 500, bits, &min), STORE_OK);
    assert_int_equal(bits[0], 0x13); /* A1 A2 A5 */
    assert_int_equal(bits[1], 0x02); /* B5 = 9 */
    assert_int_equal(min, 1000);
    memset(bits, 0, sizeof(bits));
    min = INT64_MAX;
    assert_int_equal(srv_resv_taken_scan(f->t, SESS, 10, 1000, bits, &min), STORE_OK);
    assert_int_equal(bits[0], 0x10); /* A1, A2 lapsed */
    assert_int_equal(bits[1], 0x02);
    assert_int_equal(min, 3000);
}

static void
reserved_item(const void *items, size_t i, uint64_t *product_id, int32_t *quantity)
{
    const Bilheteria__V1__ReservedItem *it = ((Bilheteria__V1__ReservedItem *const *)items)[i];
    *product_id = it->product_id;
    *quantity = it->quantity;
}

static void
test_need_sweeps_before_refusing(void **state)
{
    struct fx *f = *state;
    static const char *const s1[] = { "A1" }, *const s2[] = { "A2" }, *const s3[] = { "A3" };
    hold(f, 1, 1000, s1, 1, 6); /* lapsed at 2000: 1 quota, 6 stock */
    hold(f, 2, 9000, s2, 1, 0);
    hold(f, 3, 9000, s3, 1, 0);
    assert_int_equal(quota(f), 3);
    assert_int_equal(stock(f), 4);
    Bilheteria__V1__Session *s = NULL;
    assert_int_equal(store_session_get(f->t, SESS, &f->arena.pc, &s), STORE_OK);

    Bilheteria__V1__ReservedItem it = BILHETERIA__V1__RESERVED_ITEM__INIT;
    Bilheteria__V1__ReservedItem *items[] = { &it };
    it.product_id = PROD;
    it.quantity = 8;
    srv_resv_need need = { s, 2, items, 1, reserved_item };
    srv_resv_check got;
    /* Short on quota (3 + 2 > 4) until the lapsed hold is swept; then the
     * stock (4 + 6 back = 10 >= 8) is enough too. */
    assert_int_equal(srv_resv_need_check(f->t, NULL, NULL, &f->arena, 2000, &need, &got), STORE_OK);
    assert_int_equal(got.what, SRV_RESV_ENOUGH);
    assert_int_equal(status_of(f, 1), ST(EXPIRED));
    assert_int_equal(quota(f), 2);
    assert_int_equal(stock(f), 10);
    /* Still short after a sweep: the refusal says what. */
    need.half = 3;
    assert_int_equal(srv_resv_need_check(f->t, NULL, NULL, &f->arena, 2000, &need, &got), STORE_OK);
    assert_int_equal(got.what, SRV_RESV_SHORT_QUOTA);
    assert_int_equal(got.half_used, 2);
    need.half = 2;
    it.quantity = 11;
    assert_int_equal(srv_resv_need_check(f->t, NULL, NULL, &f->arena, 2000, &need, &got), STORE_OK);
    assert_int_equal(got.what, SRV_RESV_SHORT_STOCK);
    assert_int_equal(got.item, 0);
    assert_int_equal(got.product->stock, 10);
    /* Nothing was taken by looking. */
    assert_int_equal(quota(f), 2);
    assert_int_equal(stock(f), 10);
    it.product_id = 99;
    assert_int_equal(srv_resv_need_check(f->t, NULL, NULL, &f->arena, 2000, &need, &got),
                     STORE_NOTFOUND);
    assert_int_equal(got.item, 0);
}

static void
test_stock_take(void **state)
{
    struct fx *f = *state;
    static const char *const s1[] = { "A1" };
    Bilheteria__V1__Reservation *r = hold(f, 1, 1000, s1, 1, 4);
    assert_int_equal(stock(f), 6);
    assert_int_equal(srv_resv_stock_take(f->t, &f->arena.pc, r), STORE_OK);
    assert_int_equal(stock(f), 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taken_rule),
        cmocka_unit_test(test_seat_index),
        T(test_release_gives_back),
        T(test_quota_and_stock),
        T(test_sweep_expires_only_lapsed_pending),
        T(test_taken_scan),
        T(test_need_sweeps_before_refusing),
        T(test_stock_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
