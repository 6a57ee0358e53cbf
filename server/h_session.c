/* SPDX-License-Identifier: Apache-2.0 */
/* SessionService: showtimes with a rectangular seat layout, and the seat map. */
#include <string.h>

#include "refund.h"
#include "resv.h"
#include "util.h"

#define PRICE_MAX 100000000

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
check_start(srv_call *c, const Bilheteria__V1__CreateSessionRequest *r)
{
    if (r->starts_at_ms <= 0)
        return srv_fail(c, SRV_E_INVALID,
                        "starts_at_ms must be a positive Unix time in ms, got %lld",
                        (long long)r->starts_at_ms);
    if (srv_check_time(c, "starts_at_ms", r->starts_at_ms))
        return c->code;
    if (r->starts_at_ms <= c->now_ms) {
        /* It would take no reservations at all. */
        char when[SRV_TIME_LEN], now[SRV_TIME_LEN];
        srv_fmt_time(r->starts_at_ms, when);
        srv_fmt_time(c->now_ms, now);
        return srv_fail(c, SRV_E_INVALID,
                        "starts_at_ms %s is not in the future (now %s): a session that has "
                        "started takes no reservations",
                        when, now);
    }
    return 0;
}

/* The layout, the price, the half price and the meia-entrada cap. */
static int
check_room(srv_call *c, const Bilheteria__V1__CreateSessionRequest *r)
{
    if (r->rows < 1 || r->rows > BH_ROWS_MAX)
        return srv_fail(c, SRV_E_INVALID, "rows must be in 1..%d (A..YZ), got %u", BH_ROWS_MAX,
                        r->rows);
    if (r->seats_per_row < 1 || r->seats_per_row > BH_SEATS_PER_ROW_MAX)
        return srv_fail(c, SRV_E_INVALID, "seats_per_row must be in 1..%d, got %u",
                        BH_SEATS_PER_ROW_MAX, r->seats_per_row);
    if (r->price_cents < 0 || r->price_cents > PRICE_MAX)
        return srv_fail(c, SRV_E_INVALID, "price_cents must be in 0..%d, got %lld", PRICE_MAX,
                        (long long)r->price_cents);
    int64_t half = r->price_cents / 2;
    if (r->half_price_cents != 0 && r->half_price_cents != half)
        return srv_fail(c, SRV_E_INVALID,
                        "half_price_cents %lld is not half of price_cents %lld: meia-entrada "
                        "is exactly half (%lld), never another discount",
                        (long long)r->half_price_cents, (long long)r->price_cents, (long long)half);
    uint32_t capacity = r->rows * r->seats_per_row, least = half_cap_least(capacity);
    if (r->half_price_cap > capacity)
        return srv_fail(c, SRV_E_INVALID, "half_price_cap %u is above the capacity of %u seats",
                        r->half_price_cap, capacity);
    if (r->half_price_cap != 0 && r->half_price_cap < least)
        return srv_fail(c, SRV_E_INVALID,
                        "half_price_cap %u is below 40%% of the capacity of %u seats (%u): the "
                        "law assures meia-entrada on 40%% of the tickets (0 = that 40%%)",
                        r->half_price_cap, capacity, least);
    return 0;
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
    if (check_start(c, r) || check_room(c, r))
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
    s->created_at_ms = s->updated_at_ms = c->now_ms;
    s->status = BILHETERIA__V1__SESSION_STATUS__SESSION_STATUS_ON_SALE;
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
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_session_impls[] = {
    { .method = BH_METHOD_NAME_SESSION_CREATE_SESSION, .fn = create_session },
    { .method = BH_METHOD_NAME_SESSION_GET_SESSION, .fn = get_session },
    { .method = BH_METHOD_NAME_SESSION_LIST_SESSIONS, .fn = list_sessions },
    { .method = BH_METHOD_NAME_SESSION_GET_SEAT_MAP, .fn = get_seat_map },
    { .method = BH_METHOD_NAME_SESSION_CANCEL_SESSION, .fn = cancel_session },
    { .method = NULL },
};
