/* SPDX-License-Identifier: Apache-2.0 */
/* server/waitlist.c: the offer step over a real store in a fresh temp
 * directory per test -- best fit in arrival order, the bound on the entries
 * one step looks at, no offers once a session has started, and an offer's
 * end when its hold is released or paid. */
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
#include "waitlist.h"

#define ST(x) BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define WL(x) BILHETERIA__V1__WAITLIST_STATUS__WAITLIST_STATUS_##x
#define SESS  9
#define NOW   1000000

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
    /* One row of 5 seats at R$ 20.00; A1 sold. */
    Bilheteria__V1__Session s = BILHETERIA__V1__SESSION__INIT;
    s.id = SESS;
    s.event_id = 1;
    s.rows = 1;
    s.seats_per_row = 5;
    s.capacity = 5;
    s.price_cents = 2000;
    s.starts_at_ms = NOW + 3600000;
    store_seat sold = { 99, 0, 0 };
    if (store_session_put(f->t, &s) != STORE_OK || store_seat_put(f->t, SESS, 0, &sold) != STORE_OK)
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

static void
waiter(struct fx *f, const char *user, uint32_t seats)
{
    Bilheteria__V1__WaitlistEntry e = BILHETERIA__V1__WAITLIST_ENTRY__INIT;
    assert_int_equal(store_next_id(f->t, STORE_SEQ_WAITLIST, &e.seq), STORE_OK);
    e.session_id = SESS;
    e.user_id = (char *)user;
    e.seats = seats;
    e.status = WL(WAITING);
    assert_int_equal(store_waitlist_put(f->t, &e, 1), STORE_OK);
}

static Bilheteria__V1__WaitlistEntry *
entry_of(struct fx *f, const char *user)
{
    Bilheteria__V1__WaitlistEntry *e = NULL;
    assert_int_equal(store_waitlist_find(f->t, SESS, user, &f->arena.pc, &e), STORE_OK);
    return e;
}

/* The first entry that fits is offered; one that does not keeps its place. */
static void
test_best_fit_in_order(void **state)
{
    struct fx *f = *state;
    uint32_t n = 0;
    waiter(f, "bia", 5); /* more than is free */
    waiter(f, "caio", 2);
    waiter(f, "duda", 2);
    waiter(f, "eli", 1);
    assert_int_equal(srv_waitlist_offer(f->t, NULL, &f->arena.pc, SESS, NOW, &n), STORE_OK);
    assert_int_equal(n, 2); /* caio and duda: 4 seats */
    assert_int_equal(entry_of(f, "bia")->status, WL(WAITING));
    assert_int_equal(entry_of(f, "eli")->status, WL(WAITING));
    Bilheteria__V1__WaitlistEntry *c = entry_of(f, "caio");
    assert_int_equal(c->status, WL(OFFERED));
    assert_int_equal(c->offer_expires_at_ms, NOW + srv_waitlist_offer_ttl());
    Bilheteria__V1__Reservation *r = NULL;
    assert_int_equal(store_resv_get(f->t, c->reservation_id, &f->arena.pc, &r), STORE_OK);
    assert_true(r->waitlist_offer);
    assert_int_equal(r->status, ST(PENDING));
    assert_int_equal(r->total_cents, 2 * 2000);
    assert_int_equal(r->n_seats, 2);
    /* Nothing left: a second step offers nothing. */
    assert_int_equal(srv_waitlist_offer(f->t, NULL, &f->arena.pc, SESS, NOW, &n), STORE_OK);
    assert_int_equal(n, 0);

    /* caio's offer lapses: its entry ends, its seats go to eli (bia still
     * does not fit). */
    assert_int_equal(
        srv_resv_release(f->t, NULL, NULL, &f->arena.pc, r, ST(EXPIRED), r->expires_at_ms),
        STORE_OK);
    assert_int_equal(entry_of(f, "caio")->status, WL(EXPIRED));
    Bilheteria__V1__WaitlistEntry *e = entry_of(f, "eli");
    assert_int_equal(e->status, WL(OFFERED));
    assert_int_equal(entry_of(f, "bia")->status, WL(WAITING));
    /* eli pays. */
    Bilheteria__V1__Reservation *er = NULL;
    assert_int_equal(store_resv_get(f->t, e->reservation_id, &f->arena.pc, &er), STORE_OK);
    er->status = ST(CONFIRMED);
    assert_int_equal(srv_waitlist_paid(f->t, &f->arena.pc, er, NOW), STORE_OK);
    assert_int_equal(entry_of(f, "eli")->status, WL(FULFILLED));
}

/* One step looks at SRV_WAITLIST_SCAN_MAX entries, however long the line. */
static void
test_step_is_bounded(void **state)
{
    struct fx *f = *state;
    char user[16];
    uint32_t n = 0;
    for (int i = 0; i < SRV_WAITLIST_SCAN_MAX; i++) {
        snprintf(user, sizeof(user), "big-%02d", i);
        waiter(f, user, 5);
    }
    waiter(f, "small", 1);
    assert_int_equal(srv_waitlist_offer(f->t, NULL, &f->arena.pc, SESS, NOW, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(entry_of(f, "small")->status, WL(WAITING));
    /* One of those ahead leaves: "small" is within reach now. */
    Bilheteria__V1__WaitlistEntry *b = entry_of(f, "big-00");
    b->status = WL(LEFT);
    assert_int_equal(store_waitlist_put(f->t, b, 0), STORE_OK);
    assert_int_equal(srv_waitlist_offer(f->t, NULL, &f->arena.pc, SESS, NOW, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(entry_of(f, "small")->status, WL(OFFERED));
}

static void
test_no_offer_once_started(void **state)
{
    struct fx *f = *state;
    uint32_t n = 7;
    waiter(f, "bia", 1);
    assert_int_equal(srv_waitlist_offer(f->t, NULL, &f->arena.pc, SESS, NOW + 3600000, &n),
                     STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(entry_of(f, "bia")->status, WL(WAITING));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_best_fit_in_order),
        T(test_step_is_bounded),
        T(test_no_offer_once_started),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
