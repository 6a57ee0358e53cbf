/* SPDX-License-Identifier: Apache-2.0 */
/* server/seatcache.c: the writer's taken-seat maps stay in step with the
 * store through get, the seat wrappers, begin/rollback and clear. Each test
 * runs on a fresh temp store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resv.h"
#include "seatcache.h"
#include "tmpstore.h"

#define CAP 20

struct fx {
    tmpstore ts;
    store_txn *t;
    srv_seatcache *sc;
    Bilheteria__V1__Session s;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL || tmpstore_open(&f->ts, 1 << 22) != 0 ||
        store_write_begin(f->ts.s, &f->t) != STORE_OK || (f->sc = srv_seatcache_new()) == NULL)
        return -1;
    Bilheteria__V1__Session s = BILHETERIA__V1__SESSION__INIT;
    s.id = 5;
    s.rows = 4;
    s.seats_per_row = 5;
    s.capacity = CAP;
    f->s = s;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    store_abort(f->t);
    srv_seatcache_free(f->sc);
    int rc = tmpstore_close(&f->ts);
    free(f);
    return rc;
}

/* The cached map of the session at now (no rebuild). */
static const uint8_t *
cached(struct fx *f, store_txn *t, int64_t now, int *stale)
{
    int rc = -1;
    const uint8_t *m = srv_seatcache_get(f->sc, t, &f->s, now, 0, stale, &rc);
    assert_non_null(m);
    assert_int_equal(rc, STORE_OK);
    return m;
}

/* Fails unless the cached map equals the store's, as the rules read it. */
static void
expect_in_step(struct fx *f, store_txn *t, int64_t now)
{
    uint8_t want[CAP / 8 + 1] = { 0 };
    int stale;
    assert_int_equal(srv_resv_taken_scan(t, f->s.id, CAP, now, want, NULL), STORE_OK);
    assert_memory_equal(cached(f, t, now, &stale), want, sizeof(want));
}

static int
bit(const uint8_t *m, uint32_t idx)
{
    return (m[idx / 8] >> (idx % 8)) & 1;
}

static void
test_get_builds_from_store(void **state)
{
    struct fx *f = *state;
    store_seat sold = { 1, 0, 0 }, held = { 2, 3000, 0 }, lapsed = { 3, 500, 0 };
    assert_int_equal(store_seat_put(f->t, 5, 0, &sold), STORE_OK);
    assert_int_equal(store_seat_put(f->t, 5, 9, &held), STORE_OK);
    assert_int_equal(store_seat_put(f->t, 5, 19, &lapsed), STORE_OK);
    int stale = -1;
    const uint8_t *m = cached(f, f->t, 1000, &stale);
    assert_int_equal(stale, 0);
    assert_true(bit(m, 0));
    assert_true(bit(m, 9));
    assert_false(bit(m, 19));
    assert_false(bit(m, 1));
    /* Once the hold of seat 9 may have lapsed, the map says it is stale
     * (conservative: the seat is still marked taken). */
    m = cached(f, f->t, 3000, &stale);
    assert_int_equal(stale, 1);
    assert_true(bit(m, 9));
    int rc;
    m = srv_seatcache_get(f->sc, f->t, &f->s, 3000, 1, &stale, &rc); /* rebuild */
    assert_non_null(m);
    assert_int_equal(stale, 0);
    assert_false(bit(m, 9));
    assert_true(bit(m, 0));
}

static void
test_put_and_del_keep_step(void **state)
{
    struct fx *f = *state;
    int stale;
    (void)cached(f, f->t, 1000, &stale); /* cache the empty session */
    store_seat held = { 2, 3000, 1 };
    assert_int_equal(srv_seat_put(f->sc, f->t, 5, 7, &held), STORE_OK);
    assert_int_equal(srv_seat_put(f->sc, f->t, 5, 8, &held), STORE_OK);
    assert_true(bit(cached(f, f->t, 1000, &stale), 7));
    expect_in_step(f, f->t, 1000);
    assert_int_equal(srv_seat_del(f->sc, f->t, 5, 7), STORE_OK);
    assert_false(bit(cached(f, f->t, 1000, &stale), 7));
    assert_true(bit(cached(f, f->t, 1000, &stale), 8));
    expect_in_step(f, f->t, 1000);
    store_seat got;
    assert_int_equal(store_seat_get(f->t, 5, 7, &got), STORE_NOTFOUND);
    /* A put marks the hold's expiry: the map goes stale when it passes. */
    (void)cached(f, f->t, 2999, &stale);
    assert_int_equal(stale, 0);
    (void)cached(f, f->t, 3000, &stale);
    assert_int_equal(stale, 1);
    /* A NULL cache writes the store alone. */
    assert_int_equal(srv_seat_put(NULL, f->t, 5, 1, &held), STORE_OK);
    assert_int_equal(store_seat_get(f->t, 5, 1, &got), STORE_OK);
    assert_int_equal(srv_seat_del(NULL, f->t, 5, 1), STORE_OK);
    srv_seatcache_begin(NULL);
    srv_seatcache_rollback(NULL);
    srv_seatcache_clear(NULL);
    srv_seatcache_free(NULL);
}

static void
test_rollback_forgets_aborted_call(void **state)
{
    struct fx *f = *state;
    int stale;
    store_seat sold = { 1, 0, 0 };
    assert_int_equal(srv_seat_put(f->sc, f->t, 5, 3, &sold), STORE_OK);
    (void)cached(f, f->t, 1000, &stale);
    /* A call in a nested transaction takes seat 4, then is aborted. */
    srv_seatcache_begin(f->sc);
    store_txn *child = NULL;
    assert_int_equal(store_nested_begin(f->t, &child), STORE_OK);
    assert_int_equal(srv_seat_put(f->sc, child, 5, 4, &sold), STORE_OK);
    assert_true(bit(cached(f, child, 1000, &stale), 4));
    store_abort(child);
    srv_seatcache_rollback(f->sc);
    assert_false(bit(cached(f, f->t, 1000, &stale), 4));
    assert_true(bit(cached(f, f->t, 1000, &stale), 3));
    expect_in_step(f, f->t, 1000);
    /* A committed call's changes stay. */
    srv_seatcache_begin(f->sc);
    assert_int_equal(store_nested_begin(f->t, &child), STORE_OK);
    assert_int_equal(srv_seat_del(f->sc, child, 5, 3), STORE_OK);
    assert_int_equal(store_commit(child), STORE_OK);
    assert_false(bit(cached(f, f->t, 1000, &stale), 3));
    expect_in_step(f, f->t, 1000);
}

/* A map rebuilt by a call before it changed any seat is the enclosing
 * transaction's too: a refused call (aborted) keeps it, so the next call
 * does not scan the session again. One the call then changes is forgotten
 * with the call. */
static void
test_rebuild_outlives_refused_call(void **state)
{
    struct fx *f = *state;
    int stale, rc = -1;
    store_seat sold = { 1, 0, 0 };
    store_txn *child = NULL;
    srv_seatcache_begin(f->sc);
    assert_int_equal(store_nested_begin(f->t, &child), STORE_OK);
    assert_non_null(srv_seatcache_get(f->sc, child, &f->s, 1000, 1, &stale, &rc));
    store_abort(child);
    srv_seatcache_rollback(f->sc);
    /* Kept: a seat written behind the cache's back (as a test only can)
     * does not show, because nothing was scanned again. */
    assert_int_equal(store_seat_put(f->t, 5, 7, &sold), STORE_OK);
    assert_false(bit(cached(f, f->t, 1000, &stale), 7));
    srv_seatcache_clear(f->sc);
    assert_true(bit(cached(f, f->t, 1000, &stale), 7));

    /* Rebuilt, then a seat taken, then aborted: forgotten, so the seat the
     * aborted call took is free again in the map. */
    srv_seatcache_begin(f->sc);
    assert_int_equal(store_nested_begin(f->t, &child), STORE_OK);
    assert_non_null(srv_seatcache_get(f->sc, child, &f->s, 1000, 1, &stale, &rc));
    assert_int_equal(srv_seat_put(f->sc, child, 5, 9, &sold), STORE_OK);
    store_abort(child);
    srv_seatcache_rollback(f->sc);
    assert_false(bit(cached(f, f->t, 1000, &stale), 9));
    expect_in_step(f, f->t, 1000);
}

static void
test_rollback_of_many_sessions(void **state)
{
    struct fx *f = *state;
    int stale;
    (void)cached(f, f->t, 1000, &stale);
    /* A call touching more sessions than the cache tracks: rollback
     * forgets everything, and the map comes back from the store. */
    srv_seatcache_begin(f->sc);
    store_txn *child = NULL;
    assert_int_equal(store_nested_begin(f->t, &child), STORE_OK);
    store_seat sold = { 1, 0, 0 };
    for (uint64_t sid = 100; sid < 120; sid++)
        assert_int_equal(srv_seat_put(f->sc, child, sid, 0, &sold), STORE_OK);
    assert_int_equal(srv_seat_put(f->sc, child, 5, 2, &sold), STORE_OK);
    store_abort(child);
    srv_seatcache_rollback(f->sc);
    assert_false(bit(cached(f, f->t, 1000, &stale), 2));
    expect_in_step(f, f->t, 1000);
}

static void
test_clear_and_layout_change(void **state)
{
    struct fx *f = *state;
    int stale;
    (void)cached(f, f->t, 1000, &stale);
    /* A batch that did not commit: a write the cache never saw must show
     * after clear. */
    store_seat sold = { 1, 0, 0 };
    assert_int_equal(store_seat_put(f->t, 5, 6, &sold), STORE_OK);
    assert_false(bit(cached(f, f->t, 1000, &stale), 6)); /* the cache did not see it */
    srv_seatcache_clear(f->sc);
    assert_true(bit(cached(f, f->t, 1000, &stale), 6));
    expect_in_step(f, f->t, 1000);
    /* A session whose capacity differs from the cached map is rebuilt. */
    assert_int_equal(store_seat_put(f->t, 5, 22, &sold), STORE_OK);
    f->s.rows = 5;
    f->s.capacity = 25;
    assert_true(bit(cached(f, f->t, 1000, &stale), 22));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_get_builds_from_store),         T(test_put_and_del_keep_step),
        T(test_rollback_forgets_aborted_call), T(test_rebuild_outlives_refused_call),
        T(test_rollback_of_many_sessions),     T(test_clear_and_layout_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
