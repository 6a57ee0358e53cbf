/* SPDX-License-Identifier: Apache-2.0 */
/* ReservationService: seat holds with add-ons, their expiry and cancel. The
 * rules they follow (what is taken, what a release gives back, the sweep of
 * lapsed holds) are in resv.c; the seat picker for best-N in pick.c. */
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "coupon.h"
#include "pick.h"
#include "refund.h"
#include "report.h"
#include "resv.h"
#include "seatcache.h"
#include "util.h"
#include "zone.h"

/* ---- handlers ---- */

/* user is the one the call acts for (srv_authz_user). */
static int
validate_create(srv_call *c, const Bilheteria__V1__CreateReservationRequest *r, const char *user,
                uint32_t *n_seats, int64_t *ttl_ms)
{
    if (srv_check_str(c, "user_id", user, BH_USER_ID_MAX, 1))
        return c->code;
    if (r->session_id == 0)
        return srv_fail(c, SRV_E_INVALID, "session_id is required");
    if (r->n_seats > 0 && r->best > 0)
        return srv_fail(c, SRV_E_INVALID, "give either seats (%zu listed) or best (%u), not both",
                        r->n_seats, r->best);
    size_t n = r->n_seats ? r->n_seats : r->best;
    if (n == 0)
        return srv_fail(c, SRV_E_INVALID, "no seats asked: give seats (\"A1\", ...) or best > 0");
    if (n > c->cfg->max_seats)
        return srv_fail(c, SRV_E_INVALID, "%zu seats asked; at most %u per reservation", n,
                        c->cfg->max_seats);
    if (srv_check_str(c, "zone", r->zone, SRV_ZONE_NAME_MAX, 0))
        return c->code;
    if (r->zone[0] != 0 && r->n_seats > 0) {
        c->field = "zone";
        return srv_fail(c, SRV_E_INVALID,
                        "zone \"%s\" goes with best; listed seats are in their own zones", r->zone);
    }
    if (r->half_price > n)
        return srv_fail(c, SRV_E_INVALID, "half_price %u is more than the %zu seats asked",
                        r->half_price, n);
    if (r->n_items > BH_RESERVATION_ITEMS_MAX)
        return srv_fail(c, SRV_E_INVALID, "%zu items; at most %d", r->n_items,
                        BH_RESERVATION_ITEMS_MAX);
    for (size_t i = 0; i < r->n_items; i++) {
        const Bilheteria__V1__ItemRequest *it = r->items[i];
        if (it->product_id == 0)
            return srv_fail(c, SRV_E_INVALID, "items[%zu].product_id is required", i);
        if (it->quantity <= 0 || it->quantity > BH_ITEM_QUANTITY_MAX)
            return srv_fail(c, SRV_E_INVALID,
                            "items[%zu].quantity must be in 1..%d, got %d (product %llu)", i,
                            BH_ITEM_QUANTITY_MAX, it->quantity, (unsigned long long)it->product_id);
        for (size_t j = 0; j < i; j++)
            if (r->items[j]->product_id == it->product_id)
                return srv_fail(c, SRV_E_INVALID, "product %llu is listed twice in items",
                                (unsigned long long)it->product_id);
    }
    int64_t max_ttl = c->cfg->hold_ttl_ms;
    if (r->ttl_s < 0)
        return srv_fail(c, SRV_E_INVALID,
                        "ttl_s must not be negative (0 = the server's default), got %d", r->ttl_s);
    if ((int64_t)r->ttl_s * 1000 > max_ttl)
        return srv_fail(c, SRV_E_INVALID, "ttl_s %d is above the server's longest hold of %lld s",
                        r->ttl_s, (long long)(max_ttl / 1000));
    *ttl_ms = r->ttl_s ? (int64_t)r->ttl_s * 1000 : max_ttl;
    *n_seats = (uint32_t)n;
    return 0;
}

/* The taken map for best-N: the writer's cache when there is one (it is),
 * else a scan of the session's seat records. */
static const uint8_t *
taken_map(srv_call *c, store_txn *t, const Bilheteria__V1__Session *s, int rebuild, int *stale)
{
    int rc;
    *stale = 0;
    if (c->env->seats != NULL) {
        const uint8_t *m = srv_seatcache_get(c->env->seats, t, s, c->now_ms, rebuild, stale, &rc);
        if (m == NULL)
            srv_store_fail(c, rc, "seats");
        return m;
    }
    uint8_t *taken = bh__arena_alloc(c->arena, s->capacity / 8 + 1);
    if (taken == NULL) {
        srv_fail(c, SRV_E_NOMEM, "out of memory");
        return NULL;
    }
    memset(taken, 0, s->capacity / 8 + 1);
    if ((rc = srv_resv_taken_scan(t, s->id, s->capacity, c->now_ms, taken, NULL)) != STORE_OK) {
        srv_store_fail(c, rc, "seats");
        return NULL;
    }
    return taken;
}

/* Best-N inside rows z's rows (the whole room when z is NULL). */
static int
pick_best(srv_call *c, store_txn *t, const Bilheteria__V1__Session *s,
          const Bilheteria__V1__PriceZone *z, uint32_t n, uint32_t *idx)
{
    uint32_t lo = z != NULL ? z->first_row : 0, hi = z != NULL ? z->last_row : s->rows - 1;
    int stale;
    uint32_t start;
    for (int attempt = 0; attempt < 2; attempt++) {
        const uint8_t *taken = taken_map(c, t, s, attempt > 0, &stale);
        if (taken == NULL)
            return c->code;
        if (srv_pick_best_rows(s->rows, s->seats_per_row, taken, n, lo, hi, &start) != 0) {
            if (stale && attempt == 0)
                continue; /* a lapsed hold may have left room: look again */
            if (z != NULL)
                return srv_fail(c, SRV_E_PRECOND,
                                "no %u adjacent free seats left in one row of zone \"%s\" of "
                                "session %llu",
                                n, z->name, (unsigned long long)s->id);
            return srv_fail(c, SRV_E_PRECOND,
                            "no %u adjacent free seats left in one row of session %llu", n,
                            (unsigned long long)s->id);
        }
        /* Trust, but verify: the seats picked must be free in the store. */
        int ok = 1;
        for (uint32_t i = 0; i < n && ok; i++) {
            store_seat seat;
            int rc = store_seat_get(t, s->id, start + i, &seat);
            if (rc == STORE_OK && srv_resv_seat_taken(&seat, c->now_ms))
                ok = 0;
            else if (rc != STORE_OK && rc != STORE_NOTFOUND)
                return srv_store_fail(c, rc, "seat");
        }
        if (ok) {
            for (uint32_t i = 0; i < n; i++)
                idx[i] = start + i;
            return 0;
        }
    }
    return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INTERNAL,
                    "seat cache of session %llu disagrees with the store",
                    (unsigned long long)s->id);
}

/* Fills idx[] with the seats asked, checking labels, layout, duplicates and
 * that each is free. */
static int
resolve_seats(srv_call *c, store_txn *t, const Bilheteria__V1__CreateReservationRequest *r,
              const Bilheteria__V1__Session *s, uint32_t n, uint32_t *idx)
{
    char last_row[4];
    srv_row_label(s->rows - 1, last_row);
    if (r->best > 0) {
        if (n > s->seats_per_row) /* the layout never changes: as a label outside it */
            return srv_fail(c, SRV_E_INVALID, "no row of session %llu has %u seats (rows have %u)",
                            (unsigned long long)s->id, n, s->seats_per_row);
        const Bilheteria__V1__PriceZone *z = NULL;
        if (r->zone[0] != 0 && (z = srv_zone_find(s, r->zone)) == NULL) {
            c->field = "zone";
            return srv_fail(c, SRV_E_INVALID, "zone \"%s\" is not a zone of session %llu%s",
                            r->zone, (unsigned long long)s->id,
                            s->n_zones == 0 ? " (it has no zones)" : "");
        }
        return pick_best(c, t, s, z, n, idx);
    }
    /* Every label is checked before any seat is looked up, so a typo is
     * reported as such even when another seat of the list is taken. */
    for (uint32_t i = 0; i < n; i++) {
        const char *label = r->seats[i];
        if (srv_resv_seat_index(s, label, &idx[i]) != 0)
            return srv_fail(c, SRV_E_INVALID,
                            "seat \"%.20s\" is not in session %llu (rows A-%s, seats 1-%u)", label,
                            (unsigned long long)s->id, last_row, s->seats_per_row);
        for (uint32_t j = 0; j < i; j++)
            if (idx[j] == idx[i])
                return srv_fail(c, SRV_E_INVALID, "seat %s is listed twice", label);
    }
    for (uint32_t i = 0; i < n; i++) {
        store_seat seat;
        int rc = store_seat_get(t, s->id, idx[i], &seat);
        if (rc == STORE_OK && srv_resv_seat_taken(&seat, c->now_ms))
            return srv_fail(c, SRV_E_PRECOND, "seat %s of session %llu is already %s", r->seats[i],
                            (unsigned long long)s->id, srv_resv_seat_sold(&seat) ? "sold" : "held");
        if (rc != STORE_OK && rc != STORE_NOTFOUND)
            return srv_store_fail(c, rc, "seat");
    }
    return 0;
}

static void
request_item(const void *items, size_t i, uint64_t *product_id, int32_t *quantity)
{
    const Bilheteria__V1__ItemRequest *it = ((Bilheteria__V1__ItemRequest *const *)items)[i];
    *product_id = it->product_id;
    *quantity = it->quantity;
}

/* Whether the session's meia-entrada quota and the products' stock can
 * serve the request (sweeping lapsed holds on a shortfall). */
static int
check_need(srv_call *c, store_txn *t, const Bilheteria__V1__CreateReservationRequest *r,
           const Bilheteria__V1__Session *s, const char *user, uint32_t n)
{
    srv_resv_need need = { s, r->half_price, r->items, r->n_items, request_item, user, n };
    srv_resv_check got;
    int rc = srv_resv_need_check(t, c->env->seats, c->env->tally, c->arena, c->now_ms, &need, &got);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "product %llu does not exist",
                        (unsigned long long)r->items[got.item]->product_id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, got.failed);
    if (got.what == SRV_RESV_SHORT_QUOTA) {
        uint32_t used = got.half_used, cap = s->half_price_cap;
        return srv_fail(c, SRV_E_PRECOND,
                        "only %u half-price (meia-entrada) tickets left in session %llu; %u asked",
                        used >= cap ? 0 : cap - used, (unsigned long long)s->id, r->half_price);
    }
    if (got.what == SRV_RESV_SHORT_USER)
        return srv_fail(c, SRV_E_PRECOND,
                        "user \"%s\" already has %u seats in session %llu; the limit is %u per "
                        "user, %u asked",
                        user, got.user_has, (unsigned long long)s->id, s->max_per_user, n);
    if (got.what == SRV_RESV_SHORT_STOCK)
        return srv_fail(c, SRV_E_PRECOND, "product %llu (%s) has %lld left; %d asked",
                        (unsigned long long)got.product->id, got.product->name,
                        (long long)got.product->stock, r->items[got.item]->quantity);
    return 0;
}

/* Takes the items out of stock (check_need said there is enough) and
 * snapshots their prices into the reservation. */
static int
take_items(srv_call *c, store_txn *t, const Bilheteria__V1__CreateReservationRequest *r,
           Bilheteria__V1__Reservation *res)
{
    res->items = bh__arena_alloc(c->arena, (r->n_items + 1) * sizeof(*res->items));
    if (res->items == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < r->n_items; i++) {
        const Bilheteria__V1__ItemRequest *it = r->items[i];
        Bilheteria__V1__Product *p = NULL;
        int rc = srv_resv_stock_add(t, &c->arena->pc, it->product_id, -it->quantity, &p);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "product");
        if (!srv_product_active(p)) /* the stock taken goes back with the call's abort */
            return srv_fail(c, SRV_E_PRECOND,
                            "product %llu (%s) is not on sale (inactive); it cannot be added to "
                            "a new reservation",
                            (unsigned long long)p->id, p->name);
        Bilheteria__V1__ReservedItem *ri =
            SRV_NEW(c, Bilheteria__V1__ReservedItem, bilheteria__v1__reserved_item);
        if (ri == NULL)
            return srv_fail(c, SRV_E_NOMEM, "out of memory");
        ri->product_id = p->id;
        ri->name = p->name;
        ri->quantity = it->quantity;
        ri->unit_price_cents = p->price_cents;
        ri->subtotal_cents = p->price_cents * it->quantity;
        res->items[res->n_items++] = ri;
        res->items_subtotal_cents += ri->subtotal_cents;
    }
    return 0;
}

/* Holds the seats idx[0..n) for res: the first half_price at half price. */
static int
hold_seats(srv_call *c, store_txn *t, const Bilheteria__V1__Session *s, const uint32_t *idx,
           uint32_t n, uint32_t half_price, Bilheteria__V1__Reservation *res)
{
    res->seats = bh__arena_alloc(c->arena, n * sizeof(*res->seats));
    if (res->seats == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        Bilheteria__V1__ReservedSeat *rs =
            SRV_NEW(c, Bilheteria__V1__ReservedSeat, bilheteria__v1__reserved_seat);
        char *label = bh__arena_alloc(c->arena, 16);
        if (rs == NULL || label == NULL)
            return srv_fail(c, SRV_E_NOMEM, "out of memory");
        uint32_t row = idx[i] / s->seats_per_row, seat = idx[i] % s->seats_per_row;
        srv_row_label(row, label);
        snprintf(label + strlen(label), 13, "%u", seat + 1);
        int half = i < half_price;
        rs->label = label;
        rs->type = half ? BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA
                        : BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_INTEIRA;
        const Bilheteria__V1__PriceZone *z = srv_zone_of_row(s, row);
        rs->price_cents = srv_zone_price(s, row, half);
        rs->zone = z != NULL ? z->name : "";
        res->seats_subtotal_cents += rs->price_cents;
        res->seats[i] = rs;
        store_seat rec = { res->id, res->expires_at_ms, half };
        int rc = srv_seat_put(c->env->seats, t, s->id, idx[i], &rec);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "seat");
    }
    res->n_seats = n;
    return 0;
}

/* What a hold leaves for the batch's transaction (srv_call_after). */
struct hold_after {
    const Bilheteria__V1__Session *s;
    const Bilheteria__V1__Reservation *r;
};

static int
hold_after(store_txn *t, void *arg)
{
    const struct hold_after *ha = arg;
    int rc = store_resv_session_add(t, ha->s->id, ha->r->id);
    return rc != STORE_OK ? rc : srv_report_hold(t, ha->s, ha->r);
}

static int
create_reservation(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CreateReservationRequest *r = (const void *)c->req;
    Bilheteria__V1__Session *s = NULL;
    const char *user = NULL;
    uint32_t n = 0;
    int64_t ttl_ms = 0;
    int rc;
    if (srv_authz_user(c, r->user_id, &user) || validate_create(c, r, user, &n, &ttl_ms))
        return c->code;
    rc = store_session_get(t, r->session_id, &c->arena->pc, &s);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "session %llu does not exist",
                        (unsigned long long)r->session_id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "session");
    if (srv_refund_on_sale(c, s))
        return c->code;
    if (c->now_ms >= s->starts_at_ms) {
        /* Holds made before the start may still be paid; no new ones. */
        char when[SRV_TIME_LEN];
        srv_fmt_time(s->starts_at_ms, when);
        return srv_fail(c, SRV_E_PRECOND,
                        "session %llu started at %s; it no longer takes reservations",
                        (unsigned long long)s->id, when);
    }
    uint32_t *idx = bh__arena_alloc(c->arena, n * sizeof(*idx)); /* n <= cfg->max_seats */
    if (idx == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (resolve_seats(c, t, r, s, n, idx))
        return c->code;
    Bilheteria__V1__Reservation *res =
        SRV_NEW(c, Bilheteria__V1__Reservation, bilheteria__v1__reservation);
    Bilheteria__V1__CreateReservationResponse *resp = SRV_NEW(
        c, Bilheteria__V1__CreateReservationResponse, bilheteria__v1__create_reservation_response);
    if (res == NULL || resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (check_need(c, t, r, s, user, n) || take_items(c, t, r, res))
        return c->code;
    if ((rc = store_next_id(t, STORE_SEQ_RESERVATION, &res->id)) != STORE_OK)
        return srv_store_fail(c, rc, "reservation id");
    res->session_id = s->id;
    res->user_id = (char *)user;
    res->status = BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING;
    res->created_at_ms = res->updated_at_ms = c->now_ms;
    res->expires_at_ms = c->now_ms + ttl_ms;
    if (hold_seats(c, t, s, idx, n, r->half_price, res))
        return c->code;
    if (srv_coupon_price(c, t, s, r->coupon_code, res)) /* sets total_cents */
        return c->code;
    if ((rc = srv_resv_quota_add(t, s->id, r->half_price)) != STORE_OK ||
        (rc = srv_resv_user_seats_add(t, s, user, n)) != STORE_OK ||
        (rc = store_resv_put(t, res, 1)) != STORE_OK ||
        (rc = store_resv_expiry_add(t, res->expires_at_ms, res->id)) != STORE_OK)
        return srv_store_fail(c, rc, "reservation");
    /* The by-session index and the sales counters: only this call writes
     * them, nothing in it reads them back. */
    struct hold_after *ha = bh__arena_alloc(c->arena, sizeof(*ha));
    if (ha == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    ha->s = s;
    ha->r = res;
    if (srv_call_after(c, hold_after, ha))
        return c->code;
    resp->reservation = res;
    c->resp = &resp->base;
    return 0;
}

static int
get_reservation(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__GetReservationRequest *r = (const void *)c->req;
    Bilheteria__V1__GetReservationResponse *resp = SRV_NEW(
        c, Bilheteria__V1__GetReservationResponse, bilheteria__v1__get_reservation_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (srv_authz_resv_get(c, t, "id", r->id, &resp->reservation))
        return c->code;
    srv_resv_view(resp->reservation, c->now_ms);
    c->resp = &resp->base;
    return 0;
}

static int
list_reservations(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ListReservationsRequest *r = (const void *)c->req;
    size_t limit;
    uint64_t from;
    store_page pg;
    const char *user = NULL;
    if (srv_authz_user(c, r->user_id, &user) ||
        srv_check_str(c, "user_id", user, BH_USER_ID_MAX, 1) ||
        srv_page_size(c, r->page_size, &limit) ||
        srv_page_token_parse(c, 'r', r->page_token, &from))
        return c->code;
    Bilheteria__V1__ListReservationsResponse *resp = SRV_NEW(
        c, Bilheteria__V1__ListReservationsResponse, bilheteria__v1__list_reservations_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    int rc = store_resv_list_by_user(t, user, from, limit, &c->arena->pc, &pg);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "reservations");
    resp->reservations = (Bilheteria__V1__Reservation **)pg.items;
    resp->n_reservations = pg.n;
    for (size_t i = 0; i < pg.n; i++)
        srv_resv_view(resp->reservations[i], c->now_ms);
    srv_page_token(c, 'r', pg.next_id, &resp->next_page_token);
    c->resp = &resp->base;
    return 0;
}

static int
cancel_reservation(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CancelReservationRequest *r = (const void *)c->req;
    Bilheteria__V1__CancelReservationResponse *resp = SRV_NEW(
        c, Bilheteria__V1__CancelReservationResponse, bilheteria__v1__cancel_reservation_response);
    Bilheteria__V1__Reservation *res = NULL;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (srv_authz_resv_get(c, t, "id", r->id, &res))
        return c->code;
    int status = res->status;
    if (status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING &&
        res->expires_at_ms <= c->now_ms) {
        /* Lapsed: release it as the sweeper would, and say so. */
        int rc = srv_resv_release(t, c->env->seats, c->env->tally, &c->arena->pc, res,
                                  BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_EXPIRED,
                                  c->now_ms);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "reservation");
        status = res->status;
    }
    if (status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED ||
        status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PARTIALLY_REFUNDED) {
        if (srv_refund_cancel_paid(c, t, res)) /* a refund of what is left */
            return c->code;
        resp->reservation = res;
        c->resp = &resp->base;
        return 0;
    }
    if (status != BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING)
        return srv_fail(c, SRV_E_PRECOND,
                        "reservation %llu is %s; only a PENDING or paid one can be cancelled",
                        (unsigned long long)res->id, srv_resv_status_name(status));
    int rc = srv_resv_release(t, c->env->seats, c->env->tally, &c->arena->pc, res,
                              BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CANCELLED,
                              c->now_ms);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "reservation");
    resp->reservation = res;
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_reservation_impls[] = {
    { .method = BH_METHOD_NAME_RESERVATION_CREATE_RESERVATION, .fn = create_reservation },
    { .method = BH_METHOD_NAME_RESERVATION_GET_RESERVATION, .fn = get_reservation },
    { .method = BH_METHOD_NAME_RESERVATION_LIST_RESERVATIONS, .fn = list_reservations },
    { .method = BH_METHOD_NAME_RESERVATION_CANCEL_RESERVATION, .fn = cancel_reservation },
    { .method = NULL },
};
