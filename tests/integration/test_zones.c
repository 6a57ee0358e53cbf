/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: price zones, the per-buyer limit and catalog edits
 * (UpdateEvent, UpdateSession, UpdateProduct), against a real server,
 * through libbilheteria and the CLI. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "harness.h"

#define ST(x) BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define FAR   1900000000000LL /* 2030: a start in the future */

typedef Bilheteria__V1__PriceZone Zone;

BHT_GROUP("--sweep-interval-ms", "100")

/* Any call by name; *field gets the answer's field (may be NULL). The
 * response (if OK and resp is not NULL) is the caller's to free. */
static int
call(bh_client *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
     bh_status *st, char *field)
{
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    ProtobufCMessage *r = NULL;
    co.info = &info;
    int rc = bh_call_ex(c, method, req, &r, &co, st);
    if (field != NULL)
        snprintf(field, BH_FIELD_PATH_MAX + 1, "%s", info.field);
    if (resp != NULL)
        *resp = r;
    else if (r != NULL)
        protobuf_c_message_free_unpacked(r, NULL);
    return rc;
}

/* A failure with code whose message holds want (and field, if not NULL). */
static void
expect_fail(int rc, const bh_status *st, int code, const char *want, const char *field,
            const char *got_field)
{
    if (rc != code || strstr(st->message, want) == NULL)
        fail_msg("want %d with \"%s\", got %d: %s", code, want, rc, st->message);
    if (field != NULL && strcmp(field, got_field) != 0)
        fail_msg("want field \"%s\", got \"%s\" (%s)", field, got_field, st->message);
}

static Zone
zone(const char *name, uint32_t first, uint32_t last, int64_t price)
{
    Zone z = BILHETERIA__V1__PRICE_ZONE__INIT;
    z.name = (char *)name;
    z.first_row = first;
    z.last_row = last;
    z.price_cents = price;
    return z;
}

/* Creates a session of rows x per with zones z[0..n) (none: at price) and
 * a per-user limit; returns its id, or 0 with *st and field set. */
static uint64_t
session_z(uint64_t ev, uint32_t rows, uint32_t per, int64_t price, Zone *z, size_t n,
          uint32_t max_per_user, bh_status *st, char *field)
{
    Bilheteria__V1__CreateSessionRequest req = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    Zone *zp[16];
    ProtobufCMessage *resp = NULL;
    for (size_t i = 0; i < n; i++)
        zp[i] = &z[i];
    req.event_id = ev;
    req.starts_at_ms = FAR;
    req.rows = rows;
    req.seats_per_row = per;
    req.price_cents = price;
    req.zones = zp;
    req.n_zones = n;
    req.max_per_user = max_per_user;
    if (call(cl, "bilheteria.v1.SessionService/CreateSession", &req.base, &resp, st, field) !=
        BH_OK)
        return 0;
    uint64_t id = ((Bilheteria__V1__CreateSessionResponse *)resp)->session->id;
    protobuf_c_message_free_unpacked(resp, NULL);
    return id;
}

static uint64_t
must_session(uint64_t ev, uint32_t rows, uint32_t per, int64_t price, Zone *z, size_t n,
             uint32_t max_per_user)
{
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    uint64_t id = session_z(ev, rows, per, price, z, n, max_per_user, &st, field);
    if (id == 0)
        fail_msg("create session: %s", st.message);
    return id;
}

/* A reservation on cl; field gets the answer's field. */
static int
reserve(const bht_hold *q, Bilheteria__V1__Reservation **out, bh_status *st, char *field)
{
    bht_hold h = *q;
    h.field = field;
    return bht_reserve(cl, &h, out, st);
}

/* Seats user has live in session, counted from the stored reservations
 * (PENDING and unexpired, or CONFIRMED), every page. */
static uint32_t
live_seats(bh_client *c, uint64_t session, const char *user)
{
    Bilheteria__V1__ListReservationsRequest q = BILHETERIA__V1__LIST_RESERVATIONS_REQUEST__INIT;
    uint32_t n = 0;
    char token[128] = "";
    q.user_id = (char *)user;
    q.page_size = 500;
    do {
        Bilheteria__V1__ListReservationsResponse *r = NULL;
        bh_status st;
        q.page_token = token;
        if (bh_reservation_list_reservations(c, &q, &r, NULL, &st) != BH_OK)
            fail_msg("list: %s", st.message);
        for (size_t i = 0; i < r->n_reservations; i++) {
            const Bilheteria__V1__Reservation *x = r->reservations[i];
            if (x->session_id == session &&
                (x->status == ST(PENDING) || x->status == ST(CONFIRMED)))
                n += (uint32_t)x->n_seats;
        }
        snprintf(token, sizeof(token), "%s", r->next_page_token);
        bilheteria__v1__list_reservations_response__free_unpacked(r, NULL);
    } while (token[0] != 0);
    return n;
}

/* UpdateSession with the request's set_* already filled. */
static int
update_session(Bilheteria__V1__UpdateSessionRequest *u, Bilheteria__V1__Session **out,
               bh_status *st, char *field)
{
    ProtobufCMessage *resp = NULL;
    int rc = call(cl, "bilheteria.v1.SessionService/UpdateSession", &u->base, &resp, st, field);
    if (rc == BH_OK) {
        Bilheteria__V1__UpdateSessionResponse *r = (void *)resp;
        if (out != NULL) {
            *out = r->session;
            r->session = NULL;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return rc;
}

/* ---- price zones ---- */

static void
test_zones_create_and_map(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Zoned");
    Zone z[] = { zone("VIP", 0, 2, 12000), zone("Plateia", 3, 9, 4000) };
    Bilheteria__V1__CreateSessionRequest req = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    Zone *zp[] = { &z[0], &z[1] };
    ProtobufCMessage *resp = NULL;
    bh_status st;
    req.event_id = ev;
    req.starts_at_ms = FAR;
    req.rows = 10;
    req.seats_per_row = 12;
    req.zones = zp;
    req.n_zones = 2;
    assert_int_equal(
        call(cl, "bilheteria.v1.SessionService/CreateSession", &req.base, &resp, &st, NULL), BH_OK);
    const Bilheteria__V1__Session *s = ((Bilheteria__V1__CreateSessionResponse *)resp)->session;
    assert_int_equal(s->n_zones, 2);
    assert_string_equal(s->zones[0]->name, "VIP");
    assert_int_equal(s->zones[0]->half_price_cents, 6000);
    assert_int_equal(s->zones[1]->half_price_cents, 2000);
    /* The session's own price is the cheapest zone's. */
    assert_int_equal(s->price_cents, 4000);
    assert_int_equal(s->half_price_cents, 2000);
    uint64_t sid = s->id;
    protobuf_c_message_free_unpacked(resp, NULL);

    Bilheteria__V1__GetSeatMapResponse *m = bht_seat_map(cl, sid);
    assert_int_equal(m->n_zones, 2);
    assert_string_equal(m->zones[1]->name, "Plateia");
    assert_int_equal(m->zones[1]->price_cents, 4000);
    for (size_t i = 0; i < m->n_rows; i++)
        assert_string_equal(m->rows[i]->zone, i <= 2 ? "VIP" : "Plateia");
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);

    /* Without zones: one implicit zone, no names anywhere (old clients). */
    uint64_t plain = bht_session(cl, ev, 3, 4, 3000);
    m = bht_seat_map(cl, plain);
    assert_int_equal(m->n_zones, 0);
    assert_string_equal(m->rows[0]->zone, "");
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);
    Bilheteria__V1__Reservation *r = NULL;
    char field[BH_FIELD_PATH_MAX + 1];
    bht_hold q = { .session = plain, .seats = "A1,A2", .half = 1 };
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    assert_int_equal(r->total_cents, 3000 + 1500);
    assert_string_equal(r->seats[0]->zone, "");
    bht_free_resv(r);
}

static void
test_zones_validation(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Bad zones");
    char name33[34];
    memset(name33, 'n', 33);
    name33[33] = 0;
    struct {
        Zone z[3];
        size_t n;
        int64_t price;
        const char *want, *field;
    } cases[] = {
        { { zone("VIP", 0, 2, 100), zone("Plateia", 4, 9, 50) },
          2,
          0,
          "row D (3) is in no zone",
          "zones" },
        { { zone("VIP", 0, 3, 100), zone("Plateia", 3, 9, 50) },
          2,
          0,
          "overlaps zones[0] \"VIP\" (rows A-D) at row D",
          "zones[1].first_row" },
        { { zone("VIP", 0, 2, 100), zone("VIP", 3, 9, 50) },
          2,
          0,
          "zones[1].name \"VIP\" is already the name of zones[0]",
          "zones[1].name" },
        { { zone("", 0, 9, 100) }, 1, 0, "zones[0].name is required", "zones[0].name" },
        { { zone(name33, 0, 9, 100) }, 1, 0, "zones[0].name is 33 bytes long", "zones[0].name" },
        { { zone("VIP", 0, 10, 100) },
          1,
          0,
          "last_row 10 is outside the room",
          "zones[0].last_row" },
        { { zone("VIP", 5, 2, 100), zone("R", 0, 9, 1) },
          2,
          0,
          "first_row 5 is after last_row 2",
          "zones[0].first_row" },
        { { zone("VIP", 0, 9, -1) }, 1, 0, "price_cents must be in 0..", "zones[0].price_cents" },
        { { zone("VIP", 0, 9, 100) },
          1,
          500,
          "price_cents must be 0 when zones are given",
          "price_cents" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bh_status st;
        char field[BH_FIELD_PATH_MAX + 1] = "";
        uint64_t id = session_z(ev, 10, 5, cases[i].price, cases[i].z, cases[i].n, 0, &st, field);
        if (id != 0)
            fail_msg("case %zu: created session %llu", i, (unsigned long long)id);
        expect_fail(st.code, &st, BH_INVALID_ARGUMENT, cases[i].want, cases[i].field, field);
    }
    /* A half price that is not half of the zone's. */
    {
        Zone hz = zone("VIP", 0, 9, 101);
        bh_status st;
        char field[BH_FIELD_PATH_MAX + 1] = "";
        hz.half_price_cents = 51;
        assert_int_equal(session_z(ev, 10, 5, 0, &hz, 1, 0, &st, field), 0);
        expect_fail(st.code, &st, BH_INVALID_ARGUMENT, "half_price_cents 51 is not half of",
                    "zones[0].half_price_cents", field);
        hz.half_price_cents = 50; /* rounded down: accepted */
        assert_true(session_z(ev, 10, 5, 0, &hz, 1, 0, &st, field) != 0);
    }
    /* Bad input changed nothing: the event has only the good session. */
    Bilheteria__V1__ListSessionsRequest lq = BILHETERIA__V1__LIST_SESSIONS_REQUEST__INIT;
    Bilheteria__V1__ListSessionsResponse *ls = NULL;
    lq.event_id = ev;
    assert_int_equal(bh_session_list_sessions(cl, &lq, &ls, NULL, NULL), BH_OK);
    assert_int_equal(ls->n_sessions, 1);
    bilheteria__v1__list_sessions_response__free_unpacked(ls, NULL);
}

static void
test_zone_best(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Best in zone");
    Zone z[] = { zone("VIP", 0, 1, 12000), zone("Plateia", 2, 6, 4000) };
    uint64_t s = must_session(ev, 7, 4, 0, z, 2, 0);
    Bilheteria__V1__Reservation *r = NULL;
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    /* The room's middle is row D (Plateia); VIP's best is row B, to one
     * side so as not to strand a lone seat on each side. */
    bht_hold q = { .session = s, .best = 2, .zone = "VIP", .half = 1 };
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    assert_string_equal(r->seats[0]->label, "B1");
    assert_string_equal(r->seats[1]->label, "B2");
    assert_string_equal(r->seats[0]->zone, "VIP");
    assert_int_equal(r->seats[0]->price_cents, 6000); /* meia: half the zone's price */
    assert_int_equal(r->seats[1]->price_cents, 12000);
    assert_int_equal(r->total_cents, 18000);
    bht_free_resv(r);
    /* Fill VIP: the 6 seats left, in 4s and 2s. */
    bht_hold fill[] = { { .session = s, .best = 4, .zone = "VIP" },
                        { .session = s, .best = 1, .zone = "VIP" },
                        { .session = s, .best = 1, .zone = "VIP" } };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(reserve(&fill[i], &r, &st, field), BH_OK);
        for (size_t k = 0; k < r->n_seats; k++)
            assert_true(r->seats[k]->label[0] <= 'B');
        bht_free_resv(r);
    }
    q.half = 0;
    q.best = 1;
    expect_fail(reserve(&q, NULL, &st, field), &st, BH_FAILED_PRECONDITION,
                "no 1 adjacent free seats left in one row of zone \"VIP\"", NULL, "");
    /* The room still has seats, in Plateia. */
    q.zone = "Plateia";
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    assert_int_equal(r->seats[0]->label[0], 'D'); /* the room's middle row */
    assert_int_equal(r->seats[0]->price_cents, 4000);
    bht_free_resv(r);
    /* Without a zone: the whole room, each seat at its zone's price. */
    q.zone = NULL;
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    assert_int_equal(r->seats[0]->price_cents, 4000);
    bht_free_resv(r);
    /* An unknown zone, and a zone with listed seats, are bad input. */
    q.zone = "Balcao";
    expect_fail(reserve(&q, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "zone \"Balcao\" is not a zone of session", "zone", field);
    bht_hold listed = { .session = s, .seats = "G1", .zone = "Plateia" };
    expect_fail(reserve(&listed, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "zone \"Plateia\" goes with best", "zone", field);
    /* Listed seats take their row's zone. */
    listed.zone = NULL;
    listed.seats = "G1,G2";
    assert_int_equal(reserve(&listed, &r, &st, field), BH_OK);
    assert_string_equal(r->seats[1]->zone, "Plateia");
    assert_int_equal(r->total_cents, 2 * 4000);
    bht_free_resv(r);
}

/* A reservation keeps the prices it was made at; prices and zones change
 * only while nothing is held or sold. */
static void
test_zone_price_snapshot(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Snapshot zones");
    Zone z[] = { zone("VIP", 0, 0, 10000), zone("Plateia", 1, 3, 3000) };
    uint64_t s = must_session(ev, 4, 5, 0, z, 2, 0);
    Bilheteria__V1__Reservation *r1 = NULL, *r2 = NULL, *r = NULL;
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    bht_hold q = { .session = s, .seats = "A1,B1" };
    assert_int_equal(reserve(&q, &r1, &st, field), BH_OK);
    assert_int_equal(r1->total_cents, 13000);

    Zone nz[] = { zone("VIP", 0, 1, 20000), zone("Plateia", 2, 3, 5000) };
    Zone *nzp[] = { &nz[0], &nz[1] };
    Bilheteria__V1__UpdateSessionRequest u = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    u.id = s;
    u.set_zones = 1;
    u.zones = nzp;
    u.n_zones = 2;
    expect_fail(update_session(&u, NULL, &st, field), &st, BH_FAILED_PRECONDITION,
                "has 2 seats held and 0 sold", NULL, "");
    assert_int_equal(bht_pay_full(cl, r1, "zones-snap-pay", NULL), BH_OK);
    q.seats = "C1";
    assert_int_equal(reserve(&q, &r2, &st, field), BH_OK);
    expect_fail(update_session(&u, NULL, &st, field), &st, BH_FAILED_PRECONDITION,
                "has 1 seats held and 2 sold", NULL, "");
    /* A layout change is refused alike, and nothing changed. */
    Bilheteria__V1__UpdateSessionRequest lay = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    lay.id = s;
    lay.set_layout = 1;
    lay.rows = 4;
    lay.seats_per_row = 8;
    expect_fail(update_session(&lay, NULL, &st, field), &st, BH_FAILED_PRECONDITION,
                "only while nothing is held or sold", NULL, "");
    Bilheteria__V1__GetSeatMapResponse *m = bht_seat_map(cl, s);
    assert_int_equal(m->session->seats_per_row, 5);
    assert_int_equal(m->zones[0]->price_cents, 10000);
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);

    /* A fresh session: hold, cancel, then the change goes through; the
     * cancelled reservation keeps its prices, a new one gets the new. */
    uint64_t s2 = must_session(ev, 4, 5, 0, z, 2, 0);
    bht_hold q2 = { .session = s2, .seats = "A1,B1" };
    assert_int_equal(reserve(&q2, &r, &st, field), BH_OK);
    uint64_t old = r->id;
    bht_free_resv(r);
    assert_int_equal(bht_cancel(cl, old, NULL, NULL, NULL), BH_OK);
    u.id = s2;
    Bilheteria__V1__Session *ns = NULL;
    assert_int_equal(update_session(&u, &ns, &st, field), BH_OK);
    assert_int_equal(ns->zones[0]->last_row, 1);
    assert_int_equal(ns->zones[0]->half_price_cents, 10000);
    assert_int_equal(ns->price_cents, 5000);
    bilheteria__v1__session__free_unpacked(ns, NULL);
    r = bht_reservation(cl, old);
    assert_int_equal(r->total_cents, 13000);
    assert_int_equal(r->seats[1]->price_cents, 3000);
    bht_free_resv(r);
    assert_int_equal(reserve(&q2, &r, &st, field), BH_OK);
    assert_int_equal(r->total_cents, 40000); /* A1 and B1 are both VIP now */
    assert_string_equal(r->seats[1]->zone, "VIP");
    bht_free_resv(r);
    /* The paid one of the first session is as it was. */
    r = bht_reservation(cl, r1->id);
    assert_int_equal(r->status, ST(CONFIRMED));
    assert_int_equal(r->total_cents, 13000);
    bht_free_resv(r);
    bht_free_resv(r1);
    bht_free_resv(r2);
}

/* ---- per-buyer limit ---- */

static void
test_user_limit(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Limit");
    uint64_t s = must_session(ev, 5, 10, 2000, NULL, 0, 4);
    Bilheteria__V1__Reservation *a = NULL, *b = NULL, *r = NULL;
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    bht_hold q = { .session = s, .user = "cambista", .best = 2 };
    assert_int_equal(reserve(&q, &a, &st, field), BH_OK);
    assert_int_equal(reserve(&q, &b, &st, field), BH_OK);
    q.best = 1;
    expect_fail(reserve(&q, NULL, &st, field), &st, BH_FAILED_PRECONDITION,
                "user \"cambista\" already has 4 seats in session", NULL, "");
    assert_non_null(strstr(st.message, "the limit is 4 per user"));
    /* Someone else is not affected. */
    bht_hold other = { .session = s, .user = "outra", .best = 4 };
    assert_int_equal(reserve(&other, &r, &st, field), BH_OK);
    bht_free_resv(r);
    /* Paid seats still count; cancelled ones no longer do. */
    assert_int_equal(bht_pay_full(cl, a, "limit-pay-a", NULL), BH_OK);
    assert_int_equal(bht_cancel(cl, b->id, NULL, NULL, NULL), BH_OK);
    q.best = 3;
    expect_fail(reserve(&q, NULL, &st, field), &st, BH_FAILED_PRECONDITION, "already has 2 seats",
                NULL, "");
    q.best = 2;
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    bht_free_resv(r);
    assert_int_equal(live_seats(cl, s, "cambista"), 4);
    /* Raising the limit lets the user go on; 0 lifts it. */
    Bilheteria__V1__UpdateSessionRequest u = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    u.id = s;
    u.set_max_per_user = 1;
    u.max_per_user = 0;
    assert_int_equal(update_session(&u, NULL, &st, field), BH_OK);
    q.best = 5;
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    bht_free_resv(r);
    bht_free_resv(a);
    bht_free_resv(b);
    assert_int_equal(live_seats(cl, s, "cambista"), 9);

    /* A limit set again (where there was none, so nothing was counted
     * meanwhile) counts the seats afresh: 9 live (2 paid + 2 + 5 held), so
     * at 10 one more goes and two do not. */
    u.max_per_user = 10;
    assert_int_equal(update_session(&u, NULL, &st, field), BH_OK);
    q.best = 2;
    expect_fail(reserve(&q, NULL, &st, field), &st, BH_FAILED_PRECONDITION, "already has 9 seats",
                NULL, "");
    q.best = 1;
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    bht_free_resv(r);
}

/* A session sold without a limit gets one later: the seats each user
 * already holds or bought, less those refunded, are counted then. */
static void
test_user_limit_set_later(void **state)
{
    (void)state;
    uint64_t s = must_session(bht_event(cl, "Limit later"), 4, 10, 1000, NULL, 0, 0);
    Bilheteria__V1__Reservation *a = NULL, *b = NULL, *r = NULL;
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    bht_hold q = { .session = s, .user = "fa", .best = 3 };
    assert_int_equal(reserve(&q, &a, &st, field), BH_OK); /* 3, paid, 1 refunded */
    assert_int_equal(reserve(&q, &b, &st, field), BH_OK); /* 3, held */
    assert_int_equal(bht_pay_full(cl, a, "later-pay-a", NULL), BH_OK);
    bht_hold other = { .session = s, .user = "outro", .best = 4 };
    assert_int_equal(reserve(&other, &r, &st, field), BH_OK); /* not fa's */
    bht_free_resv(r);
    Bilheteria__V1__Reservation *got = bht_reservation(cl, a->id);
    Bilheteria__V1__RefundPaymentRequest rq = BILHETERIA__V1__REFUND_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__RefundPaymentResponse *rr = NULL;
    char *seat[] = { got->seats[0]->label };
    rq.payment_id = got->payment_id;
    rq.seats = seat;
    rq.n_seats = 1;
    bh_call_opts o = { .idempotency_key = "later-refund" };
    assert_int_equal(bh_payment_refund_payment(cl, &rq, &rr, &o, &st), BH_OK);
    bilheteria__v1__refund_payment_response__free_unpacked(rr, NULL);
    bht_free_resv(got);

    Bilheteria__V1__UpdateSessionRequest u = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    u.id = s;
    u.set_max_per_user = 1;
    u.max_per_user = 6;
    assert_int_equal(update_session(&u, NULL, &st, field), BH_OK);
    q.best = 2;
    expect_fail(reserve(&q, NULL, &st, field), &st, BH_FAILED_PRECONDITION, "already has 5 seats",
                NULL, "");
    q.best = 1;
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    bht_free_resv(r);
    /* From here on the count follows: a cancelled hold gives its 3 back. */
    assert_int_equal(bht_cancel(cl, b->id, NULL, NULL, NULL), BH_OK);
    q.best = 3;
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    bht_free_resv(r);
    bht_free_resv(a);
    bht_free_resv(b);
}

struct racer {
    uint64_t session;
    int ok;
};

static void *
race_one(void *arg)
{
    struct racer *x = arg;
    bh_client *c = bht_client(&srv);
    bht_hold q = { .session = x->session, .user = "rush", .best = 1 };
    bh_status st;
    x->ok = bht_reserve(c, &q, NULL, &st) == BH_OK;
    bh_client_close(c);
    return NULL;
}

/* Many clients of one user at once: never above the limit. */
static void
test_user_limit_race(void **state)
{
    (void)state;
    enum { N = 24, LIMIT = 5 };
    uint64_t ev = bht_event(cl, "Limit race");
    uint64_t s = must_session(ev, 10, 10, 1000, NULL, 0, LIMIT);
    pthread_t th[N];
    struct racer x[N];
    int ok = 0;
    for (int i = 0; i < N; i++) {
        x[i].session = s;
        x[i].ok = 0;
        assert_int_equal(pthread_create(&th[i], NULL, race_one, &x[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ok += x[i].ok;
    }
    assert_int_equal(ok, LIMIT);
    assert_int_equal(live_seats(cl, s, "rush"), LIMIT);
    /* The stored counter agrees with the reservations. */
    bht_hold q = { .session = s, .user = "rush", .best = 1 };
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    expect_fail(reserve(&q, NULL, &st, field), &st, BH_FAILED_PRECONDITION, "already has 5 seats",
                NULL, "");
    Bilheteria__V1__GetSeatMapResponse *m = bht_seat_map(cl, s);
    assert_int_equal(m->held, LIMIT);
    bilheteria__v1__get_seat_map_response__free_unpacked(m, NULL);
}

/* A hold that lapses gives its seats back to the user's count. */
static void
test_user_limit_expiry(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Limit expiry");
    uint64_t s = must_session(ev, 3, 10, 1000, NULL, 0, 2);
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    bht_hold q = { .session = s, .user = "lapse", .best = 2, .ttl_s = 1 };
    assert_int_equal(reserve(&q, NULL, &st, field), BH_OK);
    q.ttl_s = 0;
    q.best = 1;
    expect_fail(reserve(&q, NULL, &st, field), &st, BH_FAILED_PRECONDITION, "already has 2", NULL,
                "");
    bht_sleep_ms(1300);
    q.best = 2;
    assert_int_equal(reserve(&q, NULL, &st, field), BH_OK);
    assert_int_equal(live_seats(cl, s, "lapse"), 2);
}

/* The counter is in the store: a crash and a restart keep it. */
static void
test_user_limit_kill9(void **state)
{
    (void)state;
    bht_server s2;
    static const char *const extra[] = { NULL };
    assert_int_equal(bht_start(&s2, extra), 0);
    bh_client *c = bht_client(&s2);
    uint64_t ev = bht_event(c, "Limit crash");
    Bilheteria__V1__CreateSessionRequest req = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    Bilheteria__V1__CreateSessionResponse *resp = NULL;
    bh_status st;
    req.event_id = ev;
    req.starts_at_ms = FAR;
    req.rows = 3;
    req.seats_per_row = 10;
    req.price_cents = 1000;
    req.max_per_user = 3;
    assert_int_equal(bh_session_create_session(c, &req, &resp, NULL, &st), BH_OK);
    uint64_t s = resp->session->id;
    bilheteria__v1__create_session_response__free_unpacked(resp, NULL);
    bht_hold q = { .session = s, .user = "crash", .best = 2 };
    assert_int_equal(bht_reserve(c, &q, NULL, &st), BH_OK);
    bh_client_close(c);
    bht_kill9(&s2);
    assert_int_equal(bht_restart(&s2), 0);
    c = bht_client(&s2);
    expect_fail(bht_reserve(c, &q, NULL, &st), &st, BH_FAILED_PRECONDITION, "already has 2 seats",
                NULL, "");
    q.best = 1;
    assert_int_equal(bht_reserve(c, &q, NULL, &st), BH_OK);
    assert_int_equal(live_seats(c, s, "crash"), 3);
    bh_client_close(c);
    assert_int_equal(bht_cleanup(&s2), 0);
}

/* ---- catalog edits ---- */

static void
test_update_event(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Old name");
    Bilheteria__V1__UpdateEventRequest u = BILHETERIA__V1__UPDATE_EVENT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    const char *m = "bilheteria.v1.EventService/UpdateEvent";
    u.id = ev;
    u.set_name = 1;
    u.name = "New name";
    u.set_venue = 1;
    u.venue = "";
    u.set_starts_at = 1;
    u.starts_at_ms = 1000;
    assert_int_equal(call(cl, m, &u.base, &resp, &st, field), BH_OK);
    const Bilheteria__V1__Event *e = ((Bilheteria__V1__UpdateEventResponse *)resp)->event;
    assert_string_equal(e->name, "New name");
    assert_string_equal(e->venue, "");
    assert_int_equal(e->starts_at_ms, 1000);
    assert_true(e->updated_at_ms > 0);
    protobuf_c_message_free_unpacked(resp, NULL);
    /* Refusals: an empty name, an end before the start, a value without
     * its flag, an unknown event. */
    Bilheteria__V1__UpdateEventRequest b = BILHETERIA__V1__UPDATE_EVENT_REQUEST__INIT;
    b.id = ev;
    b.set_name = 1;
    b.name = "";
    expect_fail(call(cl, m, &b.base, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "name is required", "name", field);
    b.set_name = 0;
    b.set_ends_at = 1;
    b.ends_at_ms = 500;
    expect_fail(call(cl, m, &b.base, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "ends_at_ms 500 would be before starts_at_ms 1000", "ends_at_ms", field);
    b.set_ends_at = 0;
    expect_fail(call(cl, m, &b.base, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "ends_at_ms is given but its set_ flag is not", "ends_at_ms", field);
    u.id = 987654;
    expect_fail(call(cl, m, &u.base, NULL, &st, field), &st, BH_NOT_FOUND, "event 987654", NULL,
                "");
}

static void
test_update_session(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Edit session");
    uint64_t s = bht_session(cl, ev, 5, 10, 3000);
    Bilheteria__V1__UpdateSessionRequest u = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    Bilheteria__V1__Session *ns = NULL;
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    /* Nothing held: price, layout and zones change together. */
    Zone z[] = { zone("Frente", 0, 1, 9000), zone("Fundo", 2, 7, 2000) };
    Zone *zp[] = { &z[0], &z[1] };
    u.id = s;
    u.set_layout = 1;
    u.rows = 8;
    u.seats_per_row = 6;
    u.set_zones = 1;
    u.zones = zp;
    u.n_zones = 2;
    u.set_room = 1;
    u.room = "Sala 9";
    assert_int_equal(update_session(&u, &ns, &st, field), BH_OK);
    assert_int_equal(ns->capacity, 48);
    assert_int_equal(ns->half_price_cap, 20); /* the default least follows the layout */
    assert_string_equal(ns->room, "Sala 9");
    assert_int_equal(ns->price_cents, 2000);
    bilheteria__v1__session__free_unpacked(ns, NULL);
    /* Zones that no longer fit a new layout are refused. */
    Bilheteria__V1__UpdateSessionRequest l = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    l.id = s;
    l.set_layout = 1;
    l.rows = 6;
    l.seats_per_row = 6;
    expect_fail(update_session(&l, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "zones[1] \"Fundo\": last_row 7 is outside the room", "zones[1].last_row", field);
    /* price_cents on a zoned session, a value without its flag, a start in
     * the past. */
    Bilheteria__V1__UpdateSessionRequest b = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    b.id = s;
    b.set_price = 1;
    b.price_cents = 100;
    expect_fail(update_session(&b, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "has zones: set each zone's price", "price_cents", field);
    b.set_price = 0;
    expect_fail(update_session(&b, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "price_cents is given but its set_ flag is not", "price_cents", field);
    b.price_cents = 0;
    b.set_starts_at = 1;
    b.starts_at_ms = 1000;
    expect_fail(update_session(&b, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "is not in the future", NULL, "");
    /* Back to one price, with no zones. */
    Bilheteria__V1__UpdateSessionRequest p = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    p.id = s;
    p.set_zones = 1;
    p.set_price = 1;
    p.price_cents = 0; /* free, which needs the flag */
    assert_int_equal(update_session(&p, &ns, &st, field), BH_OK);
    assert_int_equal(ns->n_zones, 0);
    assert_int_equal(ns->price_cents, 0);
    bilheteria__v1__session__free_unpacked(ns, NULL);
    /* Times, room, limit and cap change while seats are held; the cap never
     * below the meia-entrada tickets taken. */
    Bilheteria__V1__Reservation *r = NULL;
    bht_hold q = { .session = s, .best = 3, .half = 3 };
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    bht_free_resv(r);
    Bilheteria__V1__UpdateSessionRequest t = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    t.id = s;
    t.set_starts_at = 1;
    t.starts_at_ms = FAR + 3600000;
    t.set_max_per_user = 1;
    t.max_per_user = 8;
    t.set_room = 1;
    t.room = "";
    assert_int_equal(update_session(&t, &ns, &st, field), BH_OK);
    assert_int_equal(ns->starts_at_ms, FAR + 3600000);
    assert_int_equal(ns->max_per_user, 8);
    assert_string_equal(ns->room, "");
    bilheteria__v1__session__free_unpacked(ns, NULL);
    Bilheteria__V1__UpdateSessionRequest cap = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    cap.id = s;
    cap.set_half_price_cap = 1;
    cap.half_price_cap = 48;
    assert_int_equal(update_session(&cap, NULL, &st, field), BH_OK);
    cap.half_price_cap = 10;
    expect_fail(update_session(&cap, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "half_price_cap 10 is below 40%", NULL, "");
}

static void
test_update_product(void **state)
{
    (void)state;
    uint64_t ev = bht_event(cl, "Edit product");
    uint64_t s = bht_session(cl, ev, 3, 10, 1000);
    uint64_t pop = bht_product(cl, "Pipoca", 1500, 5);
    uint64_t soda = bht_product(cl, "Refri", 700, 0);
    Bilheteria__V1__UpdateProductRequest u = BILHETERIA__V1__UPDATE_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    Bilheteria__V1__Reservation *r1 = NULL, *r = NULL;
    bh_status st;
    char field[BH_FIELD_PATH_MAX + 1];
    const char *m = "bilheteria.v1.ProductService/UpdateProduct";
    bht_hold q = { .session = s, .best = 1, .items = { { pop, 2 } } };
    assert_int_equal(reserve(&q, &r1, &st, field), BH_OK);
    assert_int_equal(r1->items[0]->unit_price_cents, 1500);
    /* A new price for new reservations; stock added. */
    u.id = pop;
    u.set_price = 1;
    u.price_cents = 1800;
    u.stock_add = 10;
    assert_int_equal(call(cl, m, &u.base, &resp, &st, field), BH_OK);
    const Bilheteria__V1__Product *p = ((Bilheteria__V1__UpdateProductResponse *)resp)->product;
    assert_int_equal(p->stock, 13);
    assert_int_equal(p->price_cents, 1800);
    assert_true(p->active);
    protobuf_c_message_free_unpacked(resp, NULL);
    assert_int_equal(reserve(&q, &r, &st, field), BH_OK);
    assert_int_equal(r->items[0]->unit_price_cents, 1800);
    bht_free_resv(r);
    r = bht_reservation(cl, r1->id);
    assert_int_equal(r->items[0]->unit_price_cents, 1500);
    assert_int_equal(r->total_cents, r1->total_cents);
    bht_free_resv(r);
    /* Never below 0: the error says how much is left. */
    Bilheteria__V1__UpdateProductRequest rm = BILHETERIA__V1__UPDATE_PRODUCT_REQUEST__INIT;
    rm.id = pop;
    rm.stock_remove = 12;
    expect_fail(call(cl, m, &rm.base, NULL, &st, field), &st, BH_FAILED_PRECONDITION, "has 11 left",
                NULL, "");
    rm.stock_remove = 11;
    assert_int_equal(call(cl, m, &rm.base, NULL, &st, field), BH_OK);
    rm.stock_add = 1;
    expect_fail(call(cl, m, &rm.base, NULL, &st, field), &st, BH_INVALID_ARGUMENT, "not both",
                "stock_remove", field);
    /* Unlimited stock has nothing to move. */
    Bilheteria__V1__UpdateProductRequest un = BILHETERIA__V1__UPDATE_PRODUCT_REQUEST__INIT;
    un.id = soda;
    un.stock_add = 3;
    expect_fail(call(cl, m, &un.base, NULL, &st, field), &st, BH_FAILED_PRECONDITION,
                "has unlimited stock", NULL, "");
    /* Inactive: no new reservation may add it, and the refusal takes
     * nothing (seats or stock). */
    un.stock_add = 0;
    un.set_active = 1;
    un.active = 0;
    assert_int_equal(call(cl, m, &un.base, NULL, &st, field), BH_OK);
    Bilheteria__V1__GetSeatMapResponse *before = bht_seat_map(cl, s);
    bht_hold qs = { .session = s, .best = 1, .items = { { soda, 1 } } };
    expect_fail(reserve(&qs, NULL, &st, field), &st, BH_FAILED_PRECONDITION,
                "Refri) is not on sale (inactive)", NULL, "");
    Bilheteria__V1__GetSeatMapResponse *after = bht_seat_map(cl, s);
    assert_int_equal(after->held, before->held);
    bilheteria__v1__get_seat_map_response__free_unpacked(before, NULL);
    bilheteria__v1__get_seat_map_response__free_unpacked(after, NULL);
    un.active = 1;
    assert_int_equal(call(cl, m, &un.base, NULL, &st, field), BH_OK);
    assert_int_equal(reserve(&qs, NULL, &st, field), BH_OK);
    /* A value without its flag; an unknown product. */
    Bilheteria__V1__UpdateProductRequest b = BILHETERIA__V1__UPDATE_PRODUCT_REQUEST__INIT;
    b.id = pop;
    b.price_cents = 5;
    expect_fail(call(cl, m, &b.base, NULL, &st, field), &st, BH_INVALID_ARGUMENT,
                "price_cents is given but its set_ flag is not", "price_cents", field);
    b.price_cents = 0;
    b.id = 999999;
    b.set_active = 1;
    expect_fail(call(cl, m, &b.base, NULL, &st, field), &st, BH_NOT_FOUND, "product 999999", NULL,
                "");
    bht_free_resv(r1);
}

/* ---- the CLI ---- */

#define CLI(outp, errp, ...)                                                                       \
    bht_cli(&srv, (outp), (errp), (const char *const[]){ __VA_ARGS__, NULL })

static cJSON *
cli_json(const char *const *argv)
{
    char *out = NULL, *err = NULL;
    const char *args[40] = { "--json" };
    int n = 1;
    for (; argv[n - 1] != NULL; n++)
        args[n] = argv[n - 1];
    args[n] = NULL;
    int rc = bht_cli(&srv, &out, &err, args);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", argv[0], rc, err);
    cJSON *j = cJSON_Parse(out);
    if (j == NULL)
        fail_msg("not JSON: %s", out);
    free(out);
    free(err);
    return j;
}

#define JSON(...) cli_json((const char *const[]){ __VA_ARGS__, NULL })

static void
test_cli(void **state)
{
    (void)state;
    char ev[32], sid[32], pid[32];
    cJSON *j = JSON("event", "create", "--name", "CLI zones");
    snprintf(ev, sizeof(ev), "%d",
             cJSON_GetObjectItem(cJSON_GetObjectItem(j, "event"), "id")->valueint);
    cJSON_Delete(j);
    j = JSON("session", "create", "--event", ev, "--starts-at", "2030-03-01T20:00:00Z", "--rows",
             "10", "--seats-per-row", "8", "--zone", "VIP:a-c:12000", "--zone", "Plateia:D-J:4000",
             "--max-per-user", "4");
    cJSON *s = cJSON_GetObjectItem(j, "session");
    snprintf(sid, sizeof(sid), "%d", cJSON_GetObjectItem(s, "id")->valueint);
    cJSON *zs = cJSON_GetObjectItem(s, "zones");
    assert_int_equal(cJSON_GetArraySize(zs), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(zs, 0), "name")->valuestring, "VIP");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(zs, 1), "first_row")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(s, "max_per_user")->valueint, 4);
    cJSON_Delete(j);

    /* The seat map table: each row's zone, and the zones' legend. */
    char *out = NULL, *err = NULL;
    assert_int_equal(CLI(&out, &err, "session", "seats", sid), 0);
    assert_non_null(strstr(out, "A  ........  VIP\n"));
    assert_non_null(strstr(out, "J  ........  Plateia\n"));
    assert_non_null(strstr(out, "VIP      A-C   R$ 120.00  R$ 60.00"));
    free(out);
    free(err);

    j = JSON("reserve", "--session", sid, "--user", "cli", "--best", "2", "--zone", "VIP");
    cJSON *seats = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "reservation"), "seats");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(seats, 0), "zone")->valuestring,
                        "VIP");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(seats, 0), "label")->valuestring,
                        "C4");
    cJSON_Delete(j);
    assert_int_equal(CLI(&out, &err, "reserve", "--session", sid, "--user", "cli", "--best", "3"),
                     1);
    assert_non_null(strstr(err, "already has 2 seats"));
    free(out);
    free(err);
    assert_int_equal(
        CLI(&out, &err, "session", "update", sid, "--zone", "VIP:A-B:1", "--zone", "P:C-J:1"), 1);
    assert_non_null(strstr(err, "FAILED_PRECONDITION: session"));
    assert_non_null(strstr(err, "2 seats held and 0 sold"));
    free(out);
    free(err);

    /* Bad specs are usage errors, before any call. */
    const char *bad[] = { "VIP:A-C", "VIP:A-C:x", ":A-C:100", "VIP:A-3:100", "VIP:A-C:-5" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc =
            CLI(&out, &err, "session", "create", "--event", ev, "--starts-at",
                "2030-03-01T20:00:00Z", "--rows", "3", "--seats-per-row", "3", "--zone", bad[i]);
        if (rc != 2 || strstr(err, "--zone: expected NAME:ROWS:CENTS") == NULL)
            fail_msg("%s: exit %d, %s", bad[i], rc, err);
        free(out);
        free(err);
    }
    assert_int_equal(CLI(&out, &err, "session", "create", "--event", ev, "--starts-at",
                         "2030-03-01T20:00:00Z", "--rows", "3", "--seats-per-row", "3"),
                     2);
    assert_non_null(strstr(err, "give --price CENTS, or price zones with --zone"));
    free(out);
    free(err);
    /* The server's refusal of a gap, through the CLI. */
    assert_int_equal(CLI(&out, &err, "session", "create", "--event", ev, "--starts-at",
                         "2030-03-01T20:00:00Z", "--rows", "3", "--seats-per-row", "3", "--zone",
                         "X:A:1", "--zone", "Y:C:1"),
                     1);
    assert_non_null(strstr(err, "INVALID_ARGUMENT: row B (1) is in no zone"));
    free(out);
    free(err);

    /* Catalog edits. */
    j = JSON("event", "update", ev, "--name", "Renamed", "--venue", "");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "event"), "name")->valuestring,
                        "Renamed");
    cJSON_Delete(j);
    j = JSON("session", "update", sid, "--max-per-user", "0", "--room", "Sala 3");
    s = cJSON_GetObjectItem(j, "session");
    assert_int_equal(cJSON_GetObjectItem(s, "max_per_user") == NULL
                         ? 0
                         : cJSON_GetObjectItem(s, "max_per_user")->valueint,
                     0);
    assert_string_equal(cJSON_GetObjectItem(s, "room")->valuestring, "Sala 3");
    cJSON_Delete(j);
    j = JSON("product", "create", "--name", "Bala", "--price", "300", "--stock", "4");
    snprintf(pid, sizeof(pid), "%d",
             cJSON_GetObjectItem(cJSON_GetObjectItem(j, "product"), "id")->valueint);
    cJSON_Delete(j);
    j = JSON("product", "update", pid, "--price", "350", "--stock-remove", "1", "--active",
             "false");
    cJSON *p = cJSON_GetObjectItem(j, "product");
    assert_int_equal(cJSON_GetObjectItem(p, "stock")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(p, "price_cents")->valueint, 350);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(p, "active")));
    cJSON_Delete(j);
    assert_int_equal(CLI(&out, &err, "product", "update", pid, "--stock-remove", "9"), 1);
    assert_non_null(strstr(err, "has 3 left"));
    free(out);
    free(err);
    assert_int_equal(CLI(&out, &err, "product", "update", pid, "--active", "maybe"), 2);
    assert_non_null(strstr(err, "expected true or false"));
    free(out);
    free(err);
    assert_int_equal(CLI(&out, &err, "product", "update", pid), 2);
    assert_non_null(strstr(err, "nothing to change"));
    free(out);
    free(err);
    assert_int_equal(CLI(&out, &err, "product", "update", pid, "--active", "true"), 0);
    assert_non_null(strstr(out, "active:      yes"));
    free(out);
    free(err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zones_create_and_map),
        cmocka_unit_test(test_zones_validation),
        cmocka_unit_test(test_zone_best),
        cmocka_unit_test(test_zone_price_snapshot),
        cmocka_unit_test(test_user_limit),
        cmocka_unit_test(test_user_limit_set_later),
        cmocka_unit_test(test_user_limit_race),
        cmocka_unit_test(test_user_limit_expiry),
        cmocka_unit_test(test_user_limit_kill9),
        cmocka_unit_test(test_update_event),
        cmocka_unit_test(test_update_session),
        cmocka_unit_test(test_update_product),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
