/* SPDX-License-Identifier: Apache-2.0 */
/* server/feed.c and store/feed.c: change types from method names, ids from
 * objects, the seq rolled back with an aborted nested transaction, and the
 * retention trim, over a real store in a fresh temp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feed.h"
#include "tmpstore.h"

struct fx {
    tmpstore ts;
    store_txn *t; /* a write transaction, aborted at teardown */
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL || tmpstore_open(&f->ts, 1 << 22) != 0 ||
        store_write_begin(f->ts.s, &f->t) != STORE_OK)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    store_abort(f->t);
    int rc = tmpstore_close(&f->ts);
    free(f);
    return rc;
}

/* Types for methods that exist and for ones other slices add later. */
static void
test_type_names(void **state)
{
    (void)state;
    static const struct {
        const char *method, *field, *want;
    } cases[] = {
        { "bilheteria.v1.ReservationService/CreateReservation", "reservation",
          "reservation.created" },
        { "bilheteria.v1.ReservationService/CancelReservation", "reservation",
          "reservation.cancelled" },
        { "bilheteria.v1.PaymentService/ConfirmPayment", "payment", "payment.confirmed" },
        { "bilheteria.v1.EventService/CreateEvent", "event", "event.created" },
        { "bilheteria.v1.PaymentService/RefundPayment", "payment", "payment.refunded" },
        { "bilheteria.v1.SessionService/UpdateSession", "session", "session.updated" },
        { "bilheteria.v1.CouponService/CreateCoupon", NULL, "coupon.created" },
        { "bilheteria.v1.CouponService/ApplyCoupon", "reservation", "reservation.applied" },
        { "bilheteria.v1.WaitlistService/JoinWaitlist", NULL, "waitlist.joined" },
        { "bilheteria.v1.WaitlistService/LeaveWaitlist", NULL, "waitlist.left" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[64];
        srv_feed_type_name(cases[i].method, cases[i].field, got, sizeof(got));
        assert_string_equal(got, cases[i].want);
    }
}

static Bilheteria__V1__Change *
get(store_txn *t, uint64_t after)
{
    store_page pg;
    assert_int_equal(store_feed_list_raw(t, after, 1, NULL, &pg), STORE_OK);
    if (pg.n == 0) {
        free(pg.items);
        return NULL;
    }
    store_raw *r = pg.items[0];
    Bilheteria__V1__Change *ch = bilheteria__v1__change__unpack(NULL, r->len, r->data);
    free(r);
    free(pg.items);
    return ch;
}

/* An append in a nested transaction that aborts leaves neither the entry
 * nor its seq; the next append takes that seq. Ids come from the object. */
static void
test_abort_gives_back_the_seq(void **state)
{
    struct fx *f = *state;
    store_txn *n = NULL;
    uint64_t last = 99;
    Bilheteria__V1__Reservation r = BILHETERIA__V1__RESERVATION__INIT;
    r.id = 12;
    r.session_id = 5;
    r.user_id = "ana";
    r.payment_id = 0;
    assert_int_equal(store_nested_begin(f->t, &n), STORE_OK);
    assert_int_equal(srv_feed_append(n, 1000, "reservation.created", NULL, &r.base), STORE_OK);
    store_abort(n);
    assert_int_equal(store_feed_last(f->t, &last), STORE_OK);
    assert_int_equal(last, 0);
    assert_null(get(f->t, 0));
    assert_int_equal(store_nested_begin(f->t, &n), STORE_OK);
    assert_int_equal(srv_feed_append(n, 1000, "reservation.expired", NULL, &r.base), STORE_OK);
    assert_int_equal(store_commit(n), STORE_OK);
    Bilheteria__V1__Change *ch = get(f->t, 0);
    assert_non_null(ch);
    assert_int_equal(ch->seq, 1);
    assert_string_equal(ch->type, "reservation.expired");
    assert_int_equal(ch->reservation_id, 12);
    assert_int_equal(ch->session_id, 5);
    assert_string_equal(ch->user_id, "ana");
    assert_int_equal(ch->payment_id, 0);
    assert_string_equal(ch->object->type_url, "type.googleapis.com/bilheteria.v1.Reservation");
    bilheteria__v1__change__free_unpacked(ch, NULL);
}

/* The trim deletes the oldest changes made before the cutoff, never past
 * max_seq, at most limit a step; the last seq stays. */
static void
test_trim(void **state)
{
    struct fx *f = *state;
    Bilheteria__V1__Event ev = BILHETERIA__V1__EVENT__INIT;
    size_t n;
    uint64_t first, last;
    for (int i = 1; i <= 6; i++) {
        ev.id = (uint64_t)i;
        assert_int_equal(srv_feed_append(f->t, i * 100, "event.created", NULL, &ev.base), STORE_OK);
    }
    assert_int_equal(store_feed_trim(f->t, 450, 2, 10, &n), STORE_OK); /* held at 2 */
    assert_int_equal(n, 2);
    assert_int_equal(store_feed_trim(f->t, 450, UINT64_MAX, 1, &n), STORE_OK); /* one step */
    assert_int_equal(n, 1);
    assert_int_equal(store_feed_first(f->t, &first), STORE_OK);
    assert_int_equal(first, 4);
    assert_int_equal(store_feed_trim(f->t, 10000, UINT64_MAX, 10, &n), STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(store_feed_first(f->t, &first), STORE_OK);
    assert_int_equal(first, 0); /* empty */
    assert_int_equal(store_feed_last(f->t, &last), STORE_OK);
    assert_int_equal(last, 6);
    assert_int_equal(srv_feed_append(f->t, 1, "event.created", NULL, &ev.base), STORE_OK);
    assert_int_equal(store_feed_last(f->t, &last), STORE_OK);
    assert_int_equal(last, 7);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test_setup_teardown(test_abort_gives_back_the_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
