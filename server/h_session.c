/* SPDX-License-Identifier: Apache-2.0 */
/* SessionService: showtimes with a rectangular seat layout, and the seat map. */
#include <string.h>

#include "refund.h"
#include "report.h"
#include "resv.h"
#include "util.h"
#include "zone.h"

#define PRICE_MAX SRV_PRICE_MAX

/* The least meia-entrada cap of a room: Lei 12.933/2013 assures
 * meia-entrada on 40% of the tickets, so a cap may give more, not less.
 * Rounded up: 40% of 7 seats is 3 tickets, and a room of 2 still has one. */
static uint32_t
half_cap_least(uint32_t capacity)
{
    return (capacity * 2 + 4) / 5;
}

/* A session's start: a valid time, in the future. */
static int
check_start(srv_call *c, int64_t starts_at_ms)
{
    if (starts_at_ms <= 0)
        return srv_fail(c, SRV_E_INVALID,
                        "starts_at_ms must be a positive Unix time in ms, got %lld",
                        (long long)starts_at_ms);
    if (srv_check_time(c, "starts_at_ms", starts_at_ms))
        return c->code;
    if (starts_at_ms <= c->now_ms) {
        /* It would take no reservations at all. */
        char when[SRV_TIME_LEN], now[SRV_TIME_LEN];
        srv_fmt_time(starts_at_ms, when);
        srv_fmt_time(c->now_ms, now);
        return srv_fail(c, SRV_E_INVALID,
                        "starts_at_ms %s is not in the future (now %s): a session that has "
                        "started takes no reservations",
                        when, now);
    }
    return 0;
}

static int
check_layout(srv_call *c, uint32_t rows, uint32_t seats_per_row)
{
    if (rows < 1 || rows > BH_ROWS_MAX)
        return srv_fail(c, SRV_E_INVALID, "rows must be in 1..%d (A..YZ), got %u", BH_ROWS_MAX,
                        rows);
    if (seats_per_row < 1 || seats_per_row > BH_SEATS_PER_ROW_MAX)
        return srv_fail(c, SRV_E_INVALID, "seats_per_row must be in 1..%d, got %u",
                        BH_SEATS_PER_ROW_MAX, seats_per_row);
    return 0;
}

static int
check_price(srv_call *c, int64_t price_cents)
{
    if (price_cents < 0 || price_cents > PRICE_MAX) {
        c->field = "price_cents";
        return srv_fail(c, SRV_E_INVALID, "price_cents must be in 0..%d, got %lld", PRICE_MAX,
                        (long long)price_cents);
    }
    return 0;
}

/* The meia-entrada cap (0 = the least) for a room of capacity seats. */
static int
check_cap(srv_call *c, uint32_t cap, uint32_t capacity)
{
    uint32_t least = half_cap_least(capacity);
    if (cap > capacity)
        return srv_fail(c, SRV_E_INVALID, "half_price_cap %u is above the capacity of %u seats",
                        cap, capacity);
    if (cap != 0 && cap < least)
        return srv_fail(c, SRV_E_INVALID,
                        "half_price_cap %u is below 40%% of the capacity of %u seats (%u): the "
                        "law assures meia-entrada on 40%% of the tickets (0 = that 40%%)",
                        cap, capacity, least);
    return 0;
}

/* The layout, the price or zones, the half price and the meia-entrada cap. */
static int
check_room(srv_call *c, const Bilheteria__V1__CreateSessionRequest *r)
{
    if (check_layout(c, r->rows, r->seats_per_row))
        return c->code;
    if (r->n_zones > 0) {
        if (r->price_cents != 0 || r->half_price_cents != 0) {
            c->field = r->price_cents != 0 ? "price_cents" : "half_price_cents";
            return srv_fail(
                c, SRV_E_INVALID,
                "%s must be 0 when zones are given (%lld): each zone has its price", c->field,
                (long long)(r->price_cents != 0 ? r->price_cents : r->half_price_cents));
        }
        if (srv_zone_check(c, "zones", r->zones, r->n_zones, r->rows))
            return c->code;
    } else if (check_price(c, r->price_cents)) {
        return c->code;
    }
    int64_t half = r->price_cents / 2;
    if (r->half_price_cents != 0 && r->half_price_cents != half)
        return srv_fail(c, SRV_E_INVALID,
                        "half_price_cents %lld is not half of price_cents %lld: meia-entrada "
                        "is exactly half (%lld), never another discount",
                        (long long)r->half_price_cents, (long long)r->price_cents, (long long)half);
    return check_cap(c, r->half_price_cap, r->rows * r->seats_per_row);
}

static int
create_session(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CreateSessionRequest *r = (const void *)c->req;
    Bilheteria__V1__Event *ev = NULL;
    int rc;
    if (srv_check_str(c, "room", r->room, 100, 0))
        return c->code;
    if (r->event_id == 0)
        return srv_fail(c, SRV_E_INVALID, "event_id is required");
    if (check_start(c, r->starts_at_ms) || check_room(c, r))
        return c->code;
    rc = store_event_get(t, r->event_id, &c->arena->pc, &ev);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__NOT_FOUND, "event %llu does not exist",
                        (unsigned long long)r->event_id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "event");

    Bilheteria__V1__Session *s = SRV_NEW(c, Bilheteria__V1__Session, bilheteria__v1__session);
    Bilheteria__V1__CreateSessionResponse *resp =
        SRV_NEW(c, Bilheteria__V1__CreateSessionResponse, bilheteria__v1__create_session_response);
    if (s == NULL || resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if ((rc = store_next_id(t, STORE_SEQ_SESSION, &s->id)) != STORE_OK)
        return srv_store_fail(c, rc, "session id");
    s->event_id = r->event_id;
    s->starts_at_ms = r->starts_at_ms;
    s->room = r->room;
    s->rows = r->rows;
    s->seats_per_row = r->seats_per_row;
    s->capacity = r->rows * r->seats_per_row;
    s->price_cents = r->price_cents;
    s->half_price_cents = r->price_cents / 2;
    /* By default the least the law allows. */
    s->half_price_cap = r->half_price_cap ? r->half_price_cap : half_cap_least(s->capacity);
    s->max_per_user = r->max_per_user;
    s->created_at_ms = s->updated_at_ms = c->now_ms;
    s->status = BILHETERIA__V1__SESSION_STATUS__SESSION_STATUS_ON_SALE;
    if (srv_zone_set(c, s, r->zones, r->n_zones))
        return c->code;
    if ((rc = store_session_put(t, s)) != STORE_OK)
        return srv_store_fail(c, rc, "session");
    resp->session = s;
    c->resp = &resp->base;
    return 0;
}

static int
load_session(srv_call *c, store_txn *t, const char *field, uint64_t id,
             Bilheteria__V1__Session **out)
{
    if (id == 0)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT, "%s is required", field);
    int rc = store_session_get(t, id, &c->arena->pc, out);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__NOT_FOUND, "session %llu does not exist",
                        (unsigned long long)id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "session");
    return 0;
}

static int
get_session(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__GetSessionRequest *r = (const void *)c->req;
    Bilheteria__V1__GetSessionResponse *resp =
        SRV_NEW(c, Bilheteria__V1__GetSessionResponse, bilheteria__v1__get_session_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (load_session(c, t, "id", r->id, &resp->session))
        return c->code;
    c->resp = &resp->base;
    return 0;
}

static int
list_sessions(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ListSessionsRequest *r = (const void *)c->req;
    size_t limit;
    uint64_t from;
    store_page pg;
    if (srv_page_size(c, r->page_size, &limit) ||
        srv_page_token_parse(c, 's', r->page_token, &from))
        return c->code;
    if (r->event_id != 0) {
        Bilheteria__V1__Event *ev = NULL;
        int rc = store_event_get(t, r->event_id, &c->arena->pc, &ev);
        if (rc == STORE_NOTFOUND)
            return srv_fail(c, BILHETERIA__V1__STATUS_CODE__NOT_FOUND, "event %llu does not exist",
                            (unsigned long long)r->event_id);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "event");
    }
    /* Stored sessions are answered as they are stored. */
    int rc = store_session_list_raw(t, r->event_id, from, limit, &c->arena->pc, &pg);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "sessions");
    return srv_resp_raw_page(c, &pg, 's');
}

/* Stops the sales and refunds what was sold (refund.c). */
static int
cancel_session(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CancelSessionRequest *r = (const void *)c->req;
    Bilheteria__V1__CancelSessionResponse *resp =
        SRV_NEW(c, Bilheteria__V1__CancelSessionResponse, bilheteria__v1__cancel_session_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (srv_check_str(c, "reason", r->reason, BH_REASON_MAX, 0) ||
        load_session(c, t, "id", r->id, &resp->session) ||
        srv_refund_cancel_session(c, t, resp->session, r->reason))
        return c->code;
    c->resp = &resp->base;
    return 0;
}

struct map_scan {
    Bilheteria__V1__GetSeatMapResponse *resp;
    uint32_t per_row, capacity;
    int64_t now;
    uint32_t half_live;
};

static int
map_seat(void *arg, uint32_t idx, const store_seat *seat)
{
    struct map_scan *ms = arg;
    if (idx >= ms->capacity)
        return 0;
    if (!srv_resv_seat_taken(seat, ms->now))
        return 0; /* an expired hold is available, swept or not */
    char *cell = &ms->resp->rows[idx / ms->per_row]->states[idx % ms->per_row];
    if (srv_resv_seat_sold(seat)) {
        *cell = 'x';
        ms->resp->sold++;
    } else {
        *cell = 'h';
        ms->resp->held++;
    }
    if (seat->half)
        ms->half_live++;
    return 0;
}

static int
get_seat_map(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__GetSeatMapRequest *r = (const void *)c->req;
    Bilheteria__V1__GetSeatMapResponse *resp =
        SRV_NEW(c, Bilheteria__V1__GetSeatMapResponse, bilheteria__v1__get_seat_map_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (load_session(c, t, "session_id", r->session_id, &resp->session))
        return c->code;
    const Bilheteria__V1__Session *s = resp->session;
    resp->rows = bh__arena_alloc(c->arena, s->rows * sizeof(*resp->rows));
    if (resp->rows == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < s->rows; i++) {
        Bilheteria__V1__SeatRow *row =
            SRV_NEW(c, Bilheteria__V1__SeatRow, bilheteria__v1__seat_row);
        char *label = bh__arena_alloc(c->arena, 4);
        char *states = bh__arena_alloc(c->arena, s->seats_per_row + 1);
        if (row == NULL || label == NULL || states == NULL)
            return srv_fail(c, SRV_E_NOMEM, "out of memory");
        srv_row_label(i, label);
        memset(states, '.', s->seats_per_row);
        states[s->seats_per_row] = 0;
        row->label = label;
        row->states = states;
        const Bilheteria__V1__PriceZone *z = srv_zone_of_row(s, i);
        row->zone = z != NULL ? z->name : "";
        resp->rows[i] = row;
    }
    resp->n_rows = s->rows;
    struct map_scan ms = { resp, s->seats_per_row, s->capacity, c->now_ms, 0 };
    int rc = store_seat_scan(t, s->id, map_seat, &ms);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "seats");
    resp->available = s->capacity - resp->held - resp->sold;
    resp->half_price_remaining =
        ms.half_live >= s->half_price_cap ? 0 : s->half_price_cap - ms.half_live;
    resp->as_of_ms = c->now_ms;
    resp->zones = s->zones;
    resp->n_zones = s->n_zones;
    c->resp = &resp->base;
    return 0;
}

/* ---- UpdateSession ---- */

/* Seats of a session held (live) and sold, and meia-entrada among them. */
struct live_count {
    uint32_t capacity, held, sold;
    int64_t now;
};

static int
count_live(void *arg, uint32_t idx, const store_seat *seat)
{
    struct live_count *lc = arg;
    if (idx < lc->capacity && srv_resv_seat_taken(seat, lc->now)) {
        if (srv_resv_seat_sold(seat))
            lc->sold++;
        else
            lc->held++;
    }
    return 0;
}

/* Refuses a change of prices, zones or layout while any seat is held or
 * sold. Lapsed holds are swept first, so that they neither count nor leave
 * seat records behind a new layout. The scan is bounded by the session's
 * capacity and runs for an admin's edit only. */
static int
check_untouched(srv_call *c, store_txn *t, const Bilheteria__V1__Session *s, const char *what)
{
    size_t swept;
    int rc = srv_resv_sweep(t, c->env->seats, c->env->tally, c->arena, c->now_ms, SIZE_MAX, &swept);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "sweep");
    struct live_count lc = { s->capacity, 0, 0, c->now_ms };
    if ((rc = store_seat_scan(t, s->id, count_live, &lc)) != STORE_OK)
        return srv_store_fail(c, rc, "seats");
    if (lc.held + lc.sold > 0)
        return srv_fail(c, SRV_E_PRECOND,
                        "session %llu has %u seats held and %u sold; its %s change only while "
                        "nothing is held or sold",
                        (unsigned long long)s->id, lc.held, lc.sold, what);
    return 0;
}

/* The fields of an update that are not set must be left empty: a value
 * without its set_* flag is a mistake the caller should hear about. */
static int
check_unset(srv_call *c, const Bilheteria__V1__UpdateSessionRequest *r)
{
    const char *bad = !r->set_starts_at && r->starts_at_ms              ? "starts_at_ms"
                      : !r->set_room && r->room[0]                      ? "room"
                      : !r->set_price && r->price_cents                 ? "price_cents"
                      : !r->set_zones && r->n_zones                     ? "zones"
                      : !r->set_layout && (r->rows || r->seats_per_row) ? "rows"
                      : !r->set_max_per_user && r->max_per_user         ? "max_per_user"
                      : !r->set_half_price_cap && r->half_price_cap     ? "half_price_cap"
                                                                        : NULL;
    return srv_check_unset(c, bad);
}

/* Prices, zones and layout: only while the session is untouched. */
static int
update_room(srv_call *c, store_txn *t, const Bilheteria__V1__UpdateSessionRequest *r,
            Bilheteria__V1__Session *s)
{
    if (!r->set_price && !r->set_zones && !r->set_layout)
        return 0;
    if (r->set_layout && check_layout(c, r->rows, r->seats_per_row))
        return c->code;
    if (r->set_price && check_price(c, r->price_cents))
        return c->code;
    uint32_t rows = r->set_layout ? r->rows : s->rows;
    /* Zones kept across a layout change must still fit it. */
    Bilheteria__V1__PriceZone *const *z = r->set_zones ? r->zones : s->zones;
    size_t nz = r->set_zones ? r->n_zones : s->n_zones;
    if (r->set_price && nz > 0) {
        c->field = "price_cents";
        return srv_fail(c, SRV_E_INVALID,
                        "session %llu has zones: set each zone's price (set_zones), not "
                        "price_cents",
                        (unsigned long long)s->id);
    }
    if (srv_zone_check(c, "zones", z, nz, rows))
        return c->code;
    if (check_untouched(c, t, s, "prices, zones and layout"))
        return c->code;
    if (r->set_layout) {
        s->rows = r->rows;
        s->seats_per_row = r->seats_per_row;
        s->capacity = r->rows * r->seats_per_row;
    }
    int64_t price = r->set_price ? r->price_cents : s->price_cents;
    int rc = r->set_zones ? srv_report_zones_moved(t, c->arena, s, z, nz) : STORE_OK;
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "sales counters");
    if (srv_zone_set(c, s, z, nz))
        return c->code;
    if (nz == 0) {
        s->price_cents = price;
        s->half_price_cents = price / 2;
    }
    return 0;
}

static int
update_session(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__UpdateSessionRequest *r = (const void *)c->req;
    Bilheteria__V1__UpdateSessionResponse *resp =
        SRV_NEW(c, Bilheteria__V1__UpdateSessionResponse, bilheteria__v1__update_session_response);
    Bilheteria__V1__Session *s = NULL;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (check_unset(c, r) || load_session(c, t, "id", r->id, &s))
        return c->code;
    if (s->status == BILHETERIA__V1__SESSION_STATUS__SESSION_STATUS_CANCELLED)
        return srv_fail(c, SRV_E_PRECOND, "session %llu was cancelled: it cannot change",
                        (unsigned long long)s->id);
    if (r->set_starts_at && check_start(c, r->starts_at_ms))
        return c->code;
    if (r->set_room && srv_check_str(c, "room", r->room, 100, 0))
        return c->code;
    uint32_t cap_was_least = s->half_price_cap == half_cap_least(s->capacity);
    if (update_room(c, t, r, s))
        return c->code;
    uint32_t cap = r->set_half_price_cap ? r->half_price_cap
                   : cap_was_least       ? 0 /* the least follows the layout */
                                         : s->half_price_cap;
    if (check_cap(c, cap, s->capacity))
        return c->code;
    cap = cap ? cap : half_cap_least(s->capacity);
    uint32_t half_used;
    int rc = store_session_state_get(t, s->id, &half_used);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "session state");
    if (cap < half_used) {
        c->field = "half_price_cap";
        return srv_fail(c, SRV_E_PRECOND,
                        "half_price_cap %u is below the %u meia-entrada tickets already held or "
                        "sold in session %llu",
                        cap, half_used, (unsigned long long)s->id);
    }
    s->half_price_cap = cap;
    if (r->set_starts_at)
        s->starts_at_ms = r->starts_at_ms;
    if (r->set_room)
        s->room = r->room;
    if (r->set_max_per_user && r->max_per_user != s->max_per_user) {
        /* Seats are counted per user only while there is a limit: a limit
         * set where there was none counts them afresh, and one lifted
         * drops the counts (a later limit counts again). */
        uint32_t was = s->max_per_user;
        s->max_per_user = r->max_per_user;
        rc = was == 0               ? srv_resv_user_seats_rebuild(t, &c->arena->pc, s)
             : s->max_per_user == 0 ? store_user_seats_clear(t, s->id)
                                    : STORE_OK;
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "per-user seat counts");
    }
    s->updated_at_ms = c->now_ms;
    if ((rc = store_session_put(t, s)) != STORE_OK)
        return srv_store_fail(c, rc, "session");
    resp->session = s;
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_session_impls[] = {
    { .method = BH_METHOD_NAME_SESSION_CREATE_SESSION, .fn = create_session },
    { .method = BH_METHOD_NAME_SESSION_GET_SESSION, .fn = get_session },
    { .method = BH_METHOD_NAME_SESSION_LIST_SESSIONS, .fn = list_sessions },
    { .method = BH_METHOD_NAME_SESSION_GET_SEAT_MAP, .fn = get_seat_map },
    { .method = BH_METHOD_NAME_SESSION_UPDATE_SESSION, .fn = update_session },
    { .method = BH_METHOD_NAME_SESSION_CANCEL_SESSION, .fn = cancel_session },
    { .method = NULL },
};
