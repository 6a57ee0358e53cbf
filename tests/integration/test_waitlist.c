/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: the waiting list against a real server. Joining, leaving,
 * positions and bad input; offers made when a reservation is cancelled or a
 * hold lapses, in arrival order, paid (FULFILLED) or lapsing to the next in
 * line; a race of 64 joiners while many holds lapse; kill -9 after an
 * offer. */
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

#define ST(x) BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define WL(x) BILHETERIA__V1__WAITLIST_STATUS__WAITLIST_STATUS_##x

typedef Bilheteria__V1__WaitlistEntry Entry;
typedef Bilheteria__V1__Reservation Resv;

BHT_GROUP("--sweep-interval-ms", "50")

/* ---- calls ---- */

static int
join(bh_client *c, uint64_t session, const char *user, uint32_t seats, Entry **out, bh_status *st)
{
    Bilheteria__V1__JoinWaitlistRequest req = BILHETERIA__V1__JOIN_WAITLIST_REQUEST__INIT;
    Bilheteria__V1__JoinWaitlistResponse *resp = NULL;
    req.session_id = session;
    req.user_id = (char *)user;
    req.seats = seats;
    int rc = bh_waitlist_join_waitlist(c, &req, &resp, NULL, st);
    if (rc == BH_OK) {
        if (out != NULL) {
            *out = resp->entry;
            resp->entry = NULL;
        }
        bilheteria__v1__join_waitlist_response__free_unpacked(resp, NULL);
    }
    return rc;
}

static int
leave(bh_client *c, uint64_t session, const char *user, Entry **out, bh_status *st)
{
    Bilheteria__V1__LeaveWaitlistRequest req = BILHETERIA__V1__LEAVE_WAITLIST_REQUEST__INIT;
    Bilheteria__V1__LeaveWaitlistResponse *resp = NULL;
    req.session_id = session;
    req.user_id = (char *)user;
    int rc = bh_waitlist_leave_waitlist(c, &req, &resp, NULL, st);
    if (rc == BH_OK) {
        if (out != NULL) {
            *out = resp->entry;
            resp->entry = NULL;
        }
        bilheteria__v1__leave_waitlist_response__free_unpacked(resp, NULL);
    }
    return rc;
}

static int
get_entry(bh_client *c, uint64_t session, const char *user, Entry **out, bh_status *st)
{
    Bilheteria__V1__GetWaitlistEntryRequest req = BILHETERIA__V1__GET_WAITLIST_ENTRY_REQUEST__INIT;
    Bilheteria__V1__GetWaitlistEntryResponse *resp = NULL;
    req.session_id = session;
    req.user_id = (char *)user;
    int rc = bh_waitlist_get_waitlist_entry(c, &req, &resp, NULL, st);
    if (rc == BH_OK) {
        *out = resp->entry;
        resp->entry = NULL;
        bilheteria__v1__get_waitlist_entry_response__free_unpacked(resp, NULL);
    }
    return rc;
}

/* The entry, which must exist. Caller frees. */
static Entry *
entry(bh_client *c, uint64_t session, const char *user)
{
    Entry *e = NULL;
    bh_status st;
    if (get_entry(c, session, user, &e, &st) != BH_OK)
        fail_msg("get entry of %s: %s", user, st.message);
    return e;
}

static void
free_entry(Entry *e)
{
    if (e != NULL)
        bilheteria__v1__waitlist_entry__free_unpacked(e, NULL);
}

static Bilheteria__V1__ListWaitlistResponse *
list_all(bh_client *c, uint64_t session)
{
    Bilheteria__V1__ListWaitlistRequest req = BILHETERIA__V1__LIST_WAITLIST_REQUEST__INIT;
    Bilheteria__V1__ListWaitlistResponse *resp = NULL;
    bh_status st;
    req.session_id = session;
    req.page_size = 500;
    if (bh_waitlist_list_waitlist(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("list waitlist: %s", st.message);
    assert_string_equal(resp->next_page_token, "");
    return resp;
}

/* Holds the best n seats of session for user (the test fails if not). */
static Resv *
reserve(bh_client *c, uint64_t session, const char *user, uint32_t best, int32_t ttl_s)
{
    bht_hold h = { .session = session, .user = user, .best = best, .ttl_s = ttl_s };
    return bht_reserve_ok(c, &h);
}

static Bilheteria__V1__ListReservationsResponse *
user_resvs(bh_client *c, const char *user)
{
    Bilheteria__V1__ListReservationsRequest req = BILHETERIA__V1__LIST_RESERVATIONS_REQUEST__INIT;
    Bilheteria__V1__ListReservationsResponse *resp = NULL;
    bh_status st;
    req.user_id = (char *)user;
    req.page_size = 500;
    if (bh_reservation_list_reservations(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("list reservations of %s: %s", user, st.message);
    return resp;
}

/* "A1,A2" from a reservation's seats. */
static void
seats_of(const Resv *r, char *out, size_t len)
{
    out[0] = 0;
    for (size_t i = 0; i < r->n_seats; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", r->seats[i]->label);
}

/* Waits (at most 15 s) until user's entry has status want; returns it. */
static Entry *
wait_status(bh_client *c, uint64_t session, const char *user, int want)
{
    for (int i = 0; i < 300; i++) {
        Entry *e = entry(c, session, user);
        if ((int)e->status == want)
            return e;
        free_entry(e);
        bht_sleep_ms(50);
    }
    fail_msg("%s's entry never reached status %d", user, want);
    return NULL;
}

/* ---- tests ---- */

static void
test_join_leave_get(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "WL basics"), 1, 4, 5000);
    Entry *e = NULL;
    bh_status st;

    /* Seats are free: nobody waits for them. */
    assert_int_equal(join(cl, s, "bia", 2, NULL, &st), BH_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "2 adjacent seats are available"));
    Resv *r = reserve(cl, s, "ana", 4, 0);

    /* Bad input changes nothing. */
    static const struct {
        uint64_t session;
        const char *user;
        uint32_t seats;
        int code;
        const char *says;
    } bad[] = {
        { 0, "bia", 2, BH_INVALID_ARGUMENT, "session_id is required" },
        { 1, "", 2, BH_INVALID_ARGUMENT, "user_id is required" },
        { 1, "bia", 0, BH_INVALID_ARGUMENT, "seats must be in 1..10, got 0" },
        { 1, "bia", 11, BH_INVALID_ARGUMENT, "seats must be in 1..10, got 11" },
        { 0xFFFFFF, "bia", 2, BH_NOT_FOUND, "session 16777215 does not exist" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t sid = bad[i].session == 1 ? s : bad[i].session;
        assert_int_equal(join(cl, sid, bad[i].user, bad[i].seats, NULL, &st), bad[i].code);
        assert_non_null(strstr(st.message, bad[i].says));
    }
    assert_int_equal(join(cl, s, "bia", 5, NULL, &st), BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "no row of session"));
    Bilheteria__V1__ListWaitlistResponse *l = list_all(cl, s);
    assert_int_equal(l->n_entries, 0);
    bilheteria__v1__list_waitlist_response__free_unpacked(l, NULL);

    assert_int_equal(join(cl, s, "bia", 2, &e, &st), BH_OK);
    assert_int_equal(e->status, WL(WAITING));
    assert_int_equal(e->position, 1);
    assert_int_equal(e->seats, 2);
    free_entry(e);
    assert_int_equal(join(cl, s, "caio", 4, NULL, &st), BH_OK);
    assert_int_equal(join(cl, s, "duda", 1, &e, &st), BH_OK);
    assert_int_equal(e->position, 3);
    free_entry(e);

    /* Once per list: the refusal names the place. */
    assert_int_equal(join(cl, s, "bia", 3, NULL, &st), BH_ALREADY_EXISTS);
    assert_non_null(strstr(st.message, "at position 1"));

    e = entry(cl, s, "duda");
    assert_int_equal(e->status, WL(WAITING));
    assert_int_equal(e->position, 3);
    free_entry(e);
    assert_int_equal(leave(cl, s, "caio", &e, &st), BH_OK);
    assert_int_equal(e->status, WL(LEFT));
    assert_int_equal(e->position, 0);
    free_entry(e);
    e = entry(cl, s, "duda");
    assert_int_equal(e->position, 2);
    free_entry(e);
    assert_int_equal(leave(cl, s, "caio", NULL, &st), BH_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "LEFT"));
    assert_int_equal(get_entry(cl, s, "nobody", &e, &st), BH_NOT_FOUND);
    assert_int_equal(leave(cl, s, "nobody", NULL, &st), BH_NOT_FOUND);

    /* The list in arrival order, with the history; a new join goes last. */
    assert_int_equal(join(cl, s, "caio", 4, &e, &st), BH_OK);
    assert_int_equal(e->position, 3);
    free_entry(e);
    l = list_all(cl, s);
    assert_int_equal(l->n_entries, 4);
    static const char *const users[] = { "bia", "caio", "duda", "caio" };
    static const uint32_t pos[] = { 1, 0, 2, 3 };
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(l->entries[i]->user_id, users[i]);
        assert_int_equal(l->entries[i]->position, pos[i]);
    }
    assert_int_equal(l->entries[1]->status, WL(LEFT));
    bilheteria__v1__list_waitlist_response__free_unpacked(l, NULL);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
}

static void
test_offer_on_cancel_and_pay(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "WL offers"), 1, 4, 5000);
    Resv *r1 = reserve(cl, s, "ana", 2, 0); /* A1,A2 or A3,A4 */
    Resv *r2 = reserve(cl, s, "eva", 2, 0);
    Entry *e = NULL;
    bh_status st;
    char seats[64], want[64];

    assert_int_equal(join(cl, s, "bia", 3, NULL, &st), BH_OK);
    assert_int_equal(join(cl, s, "caio", 2, NULL, &st), BH_OK);
    assert_int_equal(join(cl, s, "duda", 2, NULL, &st), BH_OK);

    /* Two seats free: bia (3) cannot be seated, caio is the first who fits. */
    assert_int_equal(bht_cancel(cl, r1->id, NULL, NULL, NULL), BH_OK);
    e = entry(cl, s, "caio");
    assert_int_equal(e->status, WL(OFFERED));
    assert_int_equal(e->position, 0);
    Resv *offer = bht_reservation(cl, e->reservation_id);
    assert_int_equal(offer->status, ST(PENDING));
    assert_true(offer->waitlist_offer);
    assert_string_equal(offer->user_id, "caio");
    assert_int_equal(offer->total_cents, 2 * 5000);
    assert_int_equal(offer->expires_at_ms, e->offer_expires_at_ms);
    seats_of(offer, seats, sizeof(seats));
    seats_of(r1, want, sizeof(want));
    assert_string_equal(seats, want);
    free_entry(e);
    e = entry(cl, s, "bia");
    assert_int_equal(e->status, WL(WAITING));
    assert_int_equal(e->position, 1);
    free_entry(e);
    e = entry(cl, s, "duda");
    assert_int_equal(e->position, 2);
    free_entry(e);

    /* The offer is caio's reservation like any other. */
    Bilheteria__V1__ListReservationsResponse *lr = user_resvs(cl, "caio");
    assert_int_equal(lr->n_reservations, 1);
    assert_int_equal(lr->reservations[0]->id, offer->id);
    assert_true(lr->reservations[0]->waitlist_offer);
    bilheteria__v1__list_reservations_response__free_unpacked(lr, NULL);

    assert_int_equal(bht_pay_full(cl, offer, "wl-pay-caio", &st), BH_OK);
    e = entry(cl, s, "caio");
    assert_int_equal(e->status, WL(FULFILLED));
    assert_int_equal(e->reservation_id, offer->id);
    free_entry(e);
    /* Fulfilled is the end: caio may join again, at the back. */
    assert_int_equal(join(cl, s, "caio", 1, &e, &st), BH_OK);
    assert_int_equal(e->position, 3);
    free_entry(e);
    assert_int_equal(leave(cl, s, "caio", NULL, &st), BH_OK);

    /* eva cancels: bia still cannot be seated; duda gets eva's seats. */
    assert_int_equal(bht_cancel(cl, r2->id, NULL, NULL, NULL), BH_OK);
    e = entry(cl, s, "duda");
    assert_int_equal(e->status, WL(OFFERED));
    Resv *o2 = bht_reservation(cl, e->reservation_id);
    seats_of(o2, seats, sizeof(seats));
    seats_of(r2, want, sizeof(want));
    assert_string_equal(seats, want);
    free_entry(e);

    /* duda declines: the hold is cancelled, the entry LEFT; bia still
     * cannot be seated, and the two seats are free to reserve. */
    assert_int_equal(leave(cl, s, "duda", &e, &st), BH_OK);
    assert_int_equal(e->status, WL(LEFT));
    free_entry(e);
    Resv *o2b = bht_reservation(cl, o2->id);
    assert_int_equal(o2b->status, ST(CANCELLED));
    e = entry(cl, s, "bia");
    assert_int_equal(e->status, WL(WAITING));
    assert_int_equal(e->position, 1);
    free_entry(e);
    assert_int_equal(join(cl, s, "eli", 2, NULL, &st), BH_FAILED_PRECONDITION);
    Bilheteria__V1__GetSeatMapResponse *m = bht_seat_map(cl, s);
    assert_int_equal(m->available, 2);
    assert_int_equal(m->sold, 2);
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);

    bilheteria__v1__reservation__free_unpacked(o2b, NULL);
    bilheteria__v1__reservation__free_unpacked(o2, NULL);
    bilheteria__v1__reservation__free_unpacked(offer, NULL);
    bilheteria__v1__reservation__free_unpacked(r1, NULL);
    bilheteria__v1__reservation__free_unpacked(r2, NULL);
}

/* Seats a refund puts back on sale go to the waiting list in the same
 * transaction, at their zone's price; an entry whose offer would put its
 * user over the session's per-user limit keeps its place and is passed
 * over. */
static void
test_offer_on_refund_zones_and_limit(void **state)
{
    (void)state;
    Bilheteria__V1__CreateSessionRequest sq = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    Bilheteria__V1__CreateSessionResponse *sr = NULL;
    Bilheteria__V1__PriceZone vip = BILHETERIA__V1__PRICE_ZONE__INIT,
                              pla = BILHETERIA__V1__PRICE_ZONE__INIT, *zones[] = { &vip, &pla };
    bh_status st;
    sq.event_id = bht_event(cl, "WL refund");
    sq.starts_at_ms = 4102444800000; /* 2100 */
    sq.rows = 2;
    sq.seats_per_row = 3;
    sq.max_per_user = 3;
    vip.name = "VIP";
    vip.price_cents = 9000;
    pla.name = "Plateia";
    pla.first_row = pla.last_row = 1;
    pla.price_cents = 3000;
    sq.zones = zones;
    sq.n_zones = 2;
    assert_int_equal(bh_session_create_session(cl, &sq, &sr, NULL, &st), BH_OK);
    uint64_t s = sr->session->id;
    bilheteria__v1__create_session_response__free_unpacked(sr, NULL);

    Resv *ana = reserve(cl, s, "ana", 3, 0); /* row A, the room's best */
    Resv *bob = reserve(cl, s, "bob", 2, 0);
    Resv *cara = reserve(cl, s, "cara", 1, 0);
    assert_int_equal(bht_pay_full(cl, ana, "wl-refund-ana", &st), BH_OK);
    assert_int_equal(join(cl, s, "bob", 2, NULL, &st), BH_OK); /* would have 4 of 3 */
    assert_int_equal(join(cl, s, "dan", 2, NULL, &st), BH_OK);

    Resv *paid = bht_reservation(cl, ana->id);
    char two[16];
    snprintf(two, sizeof(two), "%s,%s", paid->seats[0]->label, paid->seats[1]->label);
    bht_refund_ask ra = { .payment = paid->payment_id, .seats = two, .key = "wl-refund-1" };
    assert_int_equal(bht_refund(cl, &ra, NULL, &st), BH_OK);

    Entry *e = entry(cl, s, "bob");
    assert_int_equal(e->status, WL(WAITING));
    assert_int_equal(e->position, 1);
    free_entry(e);
    e = entry(cl, s, "dan");
    assert_int_equal(e->status, WL(OFFERED));
    Resv *offer = bht_reservation(cl, e->reservation_id);
    free_entry(e);
    assert_int_equal(offer->n_seats, 2);
    assert_int_equal(offer->total_cents, 2 * 9000);
    for (size_t i = 0; i < offer->n_seats; i++) {
        assert_string_equal(offer->seats[i]->zone, "VIP");
        assert_int_equal(offer->seats[i]->price_cents, 9000);
    }
    char got[64];
    seats_of(offer, got, sizeof(got));
    assert_string_equal(got, two); /* the refunded seats, in order */

    bilheteria__v1__reservation__free_unpacked(offer, NULL);
    bilheteria__v1__reservation__free_unpacked(paid, NULL);
    bilheteria__v1__reservation__free_unpacked(cara, NULL);
    bilheteria__v1__reservation__free_unpacked(bob, NULL);
    bilheteria__v1__reservation__free_unpacked(ana, NULL);
}

/* Offers of 1 s: each lapses and moves on to the next in line. */
static void
test_offer_lapses_to_next(void **state)
{
    (void)state;
    bht_server s2 = { 0 };
    static const char *const extra[] = { "--sweep-interval-ms", "50", "--offer-ttl-s", "1", NULL };
    assert_int_equal(bht_start(&s2, extra), 0);
    bh_client *c = bht_client(&s2);
    uint64_t s = bht_session(c, bht_event(c, "WL lapse"), 1, 2, 3000);
    Resv *r = reserve(c, s, "ana", 2, 0);
    bh_status st;
    static const char *const users[] = { "bia", "caio", "duda" };
    static const uint32_t want[] = { 2, 2, 1 };
    for (int i = 0; i < 3; i++)
        assert_int_equal(join(c, s, users[i], want[i], NULL, &st), BH_OK);
    assert_int_equal(bht_cancel(c, r->id, NULL, NULL, NULL), BH_OK);
    /* Each offer lapses in turn; the last one too. */
    Entry *e[3];
    for (int i = 0; i < 3; i++)
        e[i] = wait_status(c, s, users[i], WL(EXPIRED));
    for (int i = 0; i < 3; i++) {
        Resv *o = bht_reservation(c, e[i]->reservation_id);
        assert_true(o->waitlist_offer);
        assert_int_equal(o->status, ST(EXPIRED));
        assert_string_equal(o->user_id, users[i]);
        assert_int_equal(o->n_seats, want[i]);
        if (i > 0) {
            /* In arrival order: made once the one before had lapsed. */
            assert_true(e[i]->reservation_id > e[i - 1]->reservation_id);
            assert_true(o->created_at_ms >= e[i - 1]->offer_expires_at_ms);
        }
        bilheteria__v1__reservation__free_unpacked(o, NULL);
    }
    Bilheteria__V1__GetSeatMapResponse *m = bht_seat_map(c, s);
    assert_int_equal(m->available, 2);
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);
    /* A late payment of a lapsed offer whose seats are still free goes
     * through, and fulfils the entry. */
    Resv *last = bht_reservation(c, e[2]->reservation_id);
    assert_int_equal(bht_pay_full(c, last, "wl-late", &st), BH_OK);
    free_entry(e[2]);
    e[2] = entry(c, s, "duda");
    assert_int_equal(e[2]->status, WL(FULFILLED));
    for (int i = 0; i < 3; i++)
        free_entry(e[i]);
    bilheteria__v1__reservation__free_unpacked(last, NULL);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
    bh_client_close(c);
    assert_int_equal(bht_cleanup(&s2), 0);
}

/* ---- the race ---- */

#define JOINERS 64
#define ROWS    4
#define PER_ROW 10

struct joiner {
    uint64_t session;
    int idx;
    int code; /* BH_OK or BH_FAILED_PRECONDITION */
    char msg[512];
};

static void *
race_join(void *arg)
{
    struct joiner *j = arg;
    bh_client *c = bht_client(&srv);
    char user[32];
    bh_status st;
    snprintf(user, sizeof(user), "racer-%02d", j->idx);
    bht_sleep_ms(j->idx / 8 * 150); /* bursts of 8 at once, across the lapse of the holds */
    j->code = join(c, j->session, user, 1, NULL, &st);
    snprintf(j->msg, sizeof(j->msg), "%s", st.message);
    bh_client_close(c);
    return NULL;
}

static void
test_race_join_while_holds_lapse(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "WL race"), ROWS, PER_ROW, 1000);
    /* Sold out with 1-second holds of 2 seats each. */
    for (int i = 0; i < ROWS * PER_ROW / 2; i++) {
        char user[32];
        snprintf(user, sizeof(user), "holder-%02d", i);
        Resv *r = reserve(cl, s, user, 2, 1);
        bilheteria__v1__reservation__free_unpacked(r, NULL);
    }
    static struct joiner js[JOINERS];
    pthread_t th[JOINERS];
    for (int i = 0; i < JOINERS; i++) {
        js[i] = (struct joiner){ .session = s, .idx = i };
        assert_int_equal(pthread_create(&th[i], NULL, race_join, &js[i]), 0);
    }
    int joined = 0;
    for (int i = 0; i < JOINERS; i++) {
        pthread_join(th[i], NULL);
        if (js[i].code == BH_OK)
            joined++;
        else if (js[i].code != BH_FAILED_PRECONDITION)
            fail_msg("racer %d: %d %s", i, js[i].code, js[i].msg);
    }
    assert_true(joined > 0);

    /* Settled: every hold has lapsed and been swept (the sweeper runs
     * every 50 ms; wait until no seat is held by a holder). */
    Bilheteria__V1__ListWaitlistResponse *l = NULL;
    Bilheteria__V1__GetSeatMapResponse *m = NULL;
    for (int tries = 0;; tries++) {
        assert_true(tries < 300);
        int holder_live = 0;
        for (int i = 0; i < ROWS * PER_ROW / 2 && !holder_live; i++) {
            char user[32];
            snprintf(user, sizeof(user), "holder-%02d", i);
            Bilheteria__V1__ListReservationsResponse *lr = user_resvs(cl, user);
            holder_live = lr->reservations[0]->status == ST(PENDING);
            bilheteria__v1__list_reservations_response__free_unpacked(lr, NULL);
        }
        if (!holder_live)
            break;
        bht_sleep_ms(50);
    }
    bht_sleep_ms(300); /* and the sweep after it */
    l = list_all(cl, s);
    m = bht_seat_map(cl, s);
    assert_int_equal((int)l->n_entries, joined);

    /* Every offer belongs to a distinct entry, is that entry's, and holds
     * seats no other live reservation holds. */
    uint8_t seat_owner[ROWS * PER_ROW] = { 0 };
    size_t offered = 0, waiting = 0, first_waiting = l->n_entries;
    for (size_t i = 0; i < l->n_entries; i++) {
        const Entry *e = l->entries[i];
        if (e->status == WL(WAITING)) {
            waiting++;
            if (first_waiting == l->n_entries)
                first_waiting = i;
            assert_int_equal(e->position, waiting);
            continue;
        }
        assert_int_equal(e->status, WL(OFFERED));
        /* In order: no WAITING entry (all want 1 seat) is before an offer. */
        assert_true(first_waiting == l->n_entries);
        offered++;
        Resv *o = bht_reservation(cl, e->reservation_id);
        assert_int_equal(o->status, ST(PENDING));
        assert_true(o->waitlist_offer);
        assert_string_equal(o->user_id, e->user_id);
        assert_int_equal(o->n_seats, 1);
        int row = o->seats[0]->label[0] - 'A', seat = atoi(o->seats[0]->label + 1) - 1;
        assert_int_equal(seat_owner[row * PER_ROW + seat], 0);
        seat_owner[row * PER_ROW + seat] = 1;
        Bilheteria__V1__ListReservationsResponse *lr = user_resvs(cl, e->user_id);
        assert_int_equal(lr->n_reservations, 1); /* one offer per user */
        bilheteria__v1__list_reservations_response__free_unpacked(lr, NULL);
        bilheteria__v1__reservation__free_unpacked(o, NULL);
    }
    print_message("race: %d of %d joined, %zu offered, %zu waiting\n", joined, JOINERS, offered,
                  waiting);
    /* The seat map agrees, and nothing is left both free and wanted. */
    assert_int_equal(m->held, offered);
    assert_int_equal(m->sold, 0);
    assert_true(waiting == 0 || m->available == 0);
    assert_int_equal(offered + m->available, ROWS * PER_ROW);
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);
    bilheteria__v1__list_waitlist_response__free_unpacked(l, NULL);
}

/* An acknowledged offer survives kill -9: the entry stays OFFERED and its
 * hold held. */
static void
test_kill9_keeps_offer(void **state)
{
    (void)state;
    bht_server s2 = { 0 };
    static const char *const extra[] = { "--sweep-interval-ms", "50", NULL };
    assert_int_equal(bht_start(&s2, extra), 0);
    bh_client *c = bht_client(&s2);
    uint64_t s = bht_session(c, bht_event(c, "WL crash"), 1, 3, 2000);
    Resv *r = reserve(c, s, "ana", 3, 0);
    bh_status st;
    assert_int_equal(join(c, s, "bia", 3, NULL, &st), BH_OK);
    assert_int_equal(join(c, s, "caio", 1, NULL, &st), BH_OK);
    assert_int_equal(bht_cancel(c, r->id, NULL, NULL, NULL),
                     BH_OK); /* acknowledged: bia's offer is durable */
    bh_client_close(c);
    bht_kill9(&s2);
    assert_int_equal(bht_restart(&s2), 0);
    c = bht_client(&s2);
    Entry *e = entry(c, s, "bia");
    assert_int_equal(e->status, WL(OFFERED));
    Resv *o = bht_reservation(c, e->reservation_id);
    assert_int_equal(o->status, ST(PENDING));
    assert_true(o->waitlist_offer);
    assert_int_equal(o->n_seats, 3);
    Bilheteria__V1__GetSeatMapResponse *m = bht_seat_map(c, s);
    assert_int_equal(m->held, 3);
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);
    free_entry(e);
    e = entry(c, s, "caio");
    assert_int_equal(e->status, WL(WAITING));
    assert_int_equal(e->position, 1);
    free_entry(e);
    assert_int_equal(bht_pay_full(c, o, "wl-crash-pay", &st), BH_OK);
    e = entry(c, s, "bia");
    assert_int_equal(e->status, WL(FULFILLED));
    free_entry(e);
    bilheteria__v1__reservation__free_unpacked(o, NULL);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
    bh_client_close(c);
    assert_int_equal(bht_cleanup(&s2), 0);
}

static void
test_cli(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "WL cli"), 1, 2, 1000);
    Resv *r = reserve(cl, s, "ana", 2, 0);
    char sid[24], *out = NULL, *err = NULL;
    snprintf(sid, sizeof(sid), "%llu", (unsigned long long)s);
    const char *const j[] = { "waitlist", "join",    "--session", sid,      "--user",
                              "bia",      "--seats", "2",         "--json", NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, j), 0);
    assert_non_null(strstr(out, "WAITLIST_STATUS_WAITING"));
    assert_non_null(strstr(out, "\"position\":1"));
    free(out);
    free(err);
    const char *const g[] = { "waitlist", "get", "--session", sid, "--user", "bia", NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, g), 0);
    assert_non_null(strstr(out, "status:"));
    assert_non_null(strstr(out, "WAITING"));
    assert_non_null(strstr(out, "position:"));
    free(out);
    free(err);
    assert_int_equal(bht_cancel(cl, r->id, NULL, NULL, NULL), BH_OK);
    const char *const l[] = { "waitlist", "list", "--session", sid, NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, l), 0);
    assert_non_null(strstr(out, "OFFERED"));
    assert_non_null(strstr(out, "bia"));
    free(out);
    free(err);
    const char *const bad[] = { "waitlist", "join", "--session", sid, "--user", "bia", NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, bad), 2); /* --seats is required */
    free(out);
    free(err);
    const char *const lv[] = { "waitlist", "leave", "--session", sid,
                               "--user",   "bia",   "--json",    NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, lv), 0);
    assert_non_null(strstr(out, "WAITLIST_STATUS_LEFT"));
    free(out);
    free(err);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_leave_get),
        cmocka_unit_test(test_offer_on_cancel_and_pay),
        cmocka_unit_test(test_offer_on_refund_zones_and_limit),
        cmocka_unit_test(test_offer_lapses_to_next),
        cmocka_unit_test(test_race_join_while_holds_lapse),
        cmocka_unit_test(test_kill9_keeps_offer),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
