/* SPDX-License-Identifier: Apache-2.0 */
/* Reservation rules: the taken rule, seats, meia-entrada quota and stock
 * taken and given back, the release of a reservation and the sweep of lapsed
 * holds. A release only deletes seat records that still belong to the
 * reservation being released. */
#include <string.h>

#include "coupon.h"
#include "feed.h"
#include "log.h"
#include "report.h"
#include "resv.h"
#include "util.h"
#include "waitlist.h"

int
srv_resv_seat_index(const Bilheteria__V1__Session *s, const char *label, uint32_t *idx)
{
    uint32_t row, seat;
    if (srv_seat_parse(label, &row, &seat) != 0 || row >= s->rows || seat >= s->seats_per_row)
        return -1;
    *idx = row * s->seats_per_row + seat;
    return 0;
}

const char *
srv_resv_status_name(int status)
{
    const char *name = bh_enum_name(&bilheteria__v1__reservation_status__descriptor, status);

    return name != NULL ? name : "UNSPECIFIED";
}

/* What a reader sees: a PENDING hold past its expiry is EXPIRED already. */
void
srv_resv_view(Bilheteria__V1__Reservation *r, int64_t now)
{
    if (r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING &&
        r->expires_at_ms <= now)
        r->status = BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_EXPIRED;
}

struct taken_scan {
    uint8_t *taken;
    uint32_t capacity;
    int64_t now;
    int64_t *min_expiry;
};

static int
mark_taken(void *arg, uint32_t idx, const store_seat *seat)
{
    struct taken_scan *m = arg;
    if (idx >= m->capacity || !srv_resv_seat_taken(seat, m->now))
        return 0;
    m->taken[idx / 8] |= (uint8_t)(1u << (idx % 8));
    if (m->min_expiry != NULL && !srv_resv_seat_sold(seat) && seat->expires_at_ms < *m->min_expiry)
        *m->min_expiry = seat->expires_at_ms;
    return 0;
}

int
srv_resv_taken_scan(store_txn *t, uint64_t session_id, uint32_t capacity, int64_t now,
                    uint8_t *taken, int64_t *min_expiry)
{
    struct taken_scan m = { taken, capacity, now, min_expiry };
    return store_seat_scan(t, session_id, mark_taken, &m);
}

int
srv_resv_quota_add(store_txn *t, uint64_t session_id, int64_t delta)
{
    uint32_t used;
    int rc = store_session_state_get(t, session_id, &used);
    if (rc != STORE_OK || delta == 0)
        return rc;
    int64_t v = (int64_t)used + delta;
    return store_session_state_put(t, session_id, v < 0 ? 0 : (uint32_t)v);
}

int
srv_resv_user_seats_add(store_txn *t, const Bilheteria__V1__Session *s, const char *user,
                        int64_t delta)
{
    uint32_t has;
    if (s->max_per_user == 0 || delta == 0)
        return STORE_OK;
    int rc = store_user_seats_get(t, s->id, user, &has);
    if (rc != STORE_OK)
        return rc;
    int64_t v = (int64_t)has + delta;
    return store_user_seats_put(t, s->id, user, v < 0 ? 0 : (uint32_t)v);
}

/* The seats r counts for its user: all of a live hold (PENDING, lapsed or
 * not: the release takes them off) or a sale, a partial refund's unrefunded
 * ones, none otherwise. */
static uint32_t
user_seats_of(const Bilheteria__V1__Reservation *r)
{
    uint32_t n = 0;
    switch (r->status) {
    case BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING:
    case BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED:
        return (uint32_t)r->n_seats;
    case BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PARTIALLY_REFUNDED:
        for (size_t i = 0; i < r->n_seats; i++)
            n += !r->seats[i]->refunded;
        return n;
    default: return 0;
    }
}

int
srv_resv_user_seats_rebuild(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Session *s)
{
    uint64_t from = 0;
    int rc = store_user_seats_clear(t, s->id);
    while (rc == STORE_OK) {
        store_page pg;
        if ((rc = store_resv_list_by_session(t, s->id, from, 256, a, &pg)) != STORE_OK)
            break;
        for (size_t i = 0; i < pg.n && rc == STORE_OK; i++) {
            const Bilheteria__V1__Reservation *r = pg.items[i];
            uint32_t has, n = user_seats_of(r);
            if (n == 0)
                continue;
            if ((rc = store_user_seats_get(t, s->id, r->user_id, &has)) == STORE_OK)
                rc = store_user_seats_put(t, s->id, r->user_id, has + n);
        }
        if (pg.next_id == 0)
            break;
        from = pg.next_id;
    }
    return rc;
}

int
srv_resv_stock_add(store_txn *t, ProtobufCAllocator *a, uint64_t product_id, int64_t delta,
                   Bilheteria__V1__Product **out)
{
    Bilheteria__V1__Product *p = NULL;
    int rc = store_product_get(t, product_id, a, &p);
    if (rc != STORE_OK)
        return rc;
    if (p->stock_tracked) {
        p->stock += delta;
        if ((rc = store_product_put(t, p)) != STORE_OK)
            return rc;
    }
    if (out != NULL)
        *out = p;
    return STORE_OK;
}

int
srv_resv_stock_take(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r)
{
    for (size_t i = 0; i < r->n_items; i++) {
        int rc = srv_resv_stock_add(t, a, r->items[i]->product_id, -r->items[i]->quantity, NULL);
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

/* Gives the items back to stock; a product deleted since is skipped. */
static int
stock_return(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r)
{
    for (size_t i = 0; i < r->n_items; i++) {
        int rc = srv_resv_stock_add(t, a, r->items[i]->product_id, r->items[i]->quantity, NULL);
        if (rc != STORE_OK && rc != STORE_NOTFOUND)
            return rc;
    }
    return STORE_OK;
}

static uint32_t
count_half(const Bilheteria__V1__Reservation *r)
{
    uint32_t n = 0;
    for (size_t i = 0; i < r->n_seats; i++)
        n += r->seats[i]->type == BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA;
    return n;
}

int
srv_resv_release(store_txn *t, srv_seatcache *sc, srv_tally *tally, ProtobufCAllocator *a,
                 Bilheteria__V1__Reservation *r, int new_status, int64_t now)
{
    Bilheteria__V1__Session *s = NULL;
    int rc = store_session_get(t, r->session_id, a, &s);
    if (rc != STORE_OK)
        return rc;
    /* Its seats counted for the user while it was live. */
    if ((r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING ||
         r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED) &&
        (rc = srv_resv_user_seats_add(t, s, r->user_id, -(int64_t)r->n_seats)) != STORE_OK)
        return rc;
    for (size_t i = 0; i < r->n_seats; i++) {
        uint32_t idx;
        store_seat seat;
        if (srv_resv_seat_index(s, r->seats[i]->label, &idx) != 0)
            continue;
        rc = store_seat_get(t, s->id, idx, &seat);
        if (rc == STORE_NOTFOUND || (rc == STORE_OK && seat.reservation_id != r->id))
            continue;
        if (rc != STORE_OK || (rc = srv_seat_del(sc, t, s->id, idx)) != STORE_OK)
            return rc;
    }
    if ((rc = srv_resv_quota_add(t, s->id, -(int64_t)count_half(r))) != STORE_OK ||
        (rc = stock_return(t, a, r)) != STORE_OK ||
        (rc = store_resv_expiry_del(t, r->expires_at_ms, r->id)) != STORE_OK ||
        (rc = srv_coupon_release(t, a, r)) != STORE_OK ||
        (rc = srv_report_release(t, s, r, new_status, now)) != STORE_OK)
        return rc;
    r->status = new_status;
    r->updated_at_ms = now;
    if ((rc = store_resv_put(t, r, 0)) != STORE_OK)
        return rc;
    if (new_status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_EXPIRED) {
        if (tally != NULL)
            tally->expired++;
        /* No call says so: the feed's entry is made here, for the sweeper
         * and for a payment that finds its hold lapsed alike. */
        if ((rc = srv_feed_append(t, now, "reservation.expired", NULL, &r->base)) != STORE_OK)
            return rc;
    }
    /* The seats freed go to the waiting list, in this same transaction. */
    return srv_waitlist_released(t, sc, a, r, now);
}

/* Expires one lapsed reservation in a nested transaction of its own: one
 * that fails half-way leaves nothing half-done behind. */
static int
expire_one(store_txn *t, srv_seatcache *sc, srv_tally *tally, bh__arena *a, int64_t now_ms,
           int64_t exp, uint64_t id)
{
    store_txn *child = NULL;
    Bilheteria__V1__Reservation *r = NULL;
    srv_tally none = { 0 }, *tl = tally != NULL ? tally : &none, saved = *tl;
    int rc = store_nested_begin(t, &child);
    if (rc != STORE_OK)
        return rc;
    rc = store_resv_get(child, id, &a->pc, &r);
    if (rc == STORE_OK &&
        r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING &&
        r->expires_at_ms == exp) {
        rc = srv_resv_release(child, sc, tl, &a->pc, r,
                              BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_EXPIRED,
                              now_ms);
    } else if (rc == STORE_OK || rc == STORE_NOTFOUND) {
        rc = store_resv_expiry_del(child, exp, id); /* a stale entry */
    }
    if (rc == STORE_OK) {
        if ((rc = store_commit(child)) != STORE_OK)
            *tl = saved;
        return rc;
    }
    store_abort(child);
    *tl = saved;
    if (rc != STORE_CORRUPT && rc != STORE_NOTFOUND && rc != STORE_INVALID)
        return rc; /* about the transaction, not this record */
    /* A record that cannot be released must not block every later one: log
     * it and take it off the expiry index. */
    srv_log(SRV_LOG_ERROR, "cannot expire reservation %llu (%s); left as it is",
            (unsigned long long)id, store_strerror(rc));
    return store_resv_expiry_del(t, exp, id);
}

int
srv_resv_sweep(store_txn *t, srv_seatcache *sc, srv_tally *tally, bh__arena *a, int64_t now_ms,
               size_t max, size_t *n)
{
    int64_t exp[64];
    uint64_t ids[64];
    size_t got, done = 0;
    int rc = STORE_OK;
    *n = 0;
    while (done < max) {
        size_t want = max - done < 64 ? max - done : 64;
        if ((rc = store_resv_expired(t, now_ms, exp, ids, want, &got)) != STORE_OK || got == 0)
            break;
        for (size_t i = 0; i < got; i++)
            if ((rc = expire_one(t, sc, tally, a, now_ms, exp[i], ids[i])) != STORE_OK)
                return rc;
        done += got;
        if (got < want)
            break;
    }
    *n = done;
    return rc;
}

/* One look at the quota, then the stock: what is short, if anything. */
static int
need_look(store_txn *t, ProtobufCAllocator *a, const srv_resv_need *n, srv_resv_check *out)
{
    int rc = store_session_state_get(t, n->s->id, &out->half_used);
    out->what = SRV_RESV_ENOUGH;
    if (rc != STORE_OK) {
        out->failed = "session state";
        return rc;
    }
    if (out->half_used + n->half > n->s->half_price_cap) {
        out->what = SRV_RESV_SHORT_QUOTA;
        return STORE_OK;
    }
    if (n->user != NULL && n->s->max_per_user != 0) {
        if ((rc = store_user_seats_get(t, n->s->id, n->user, &out->user_has)) != STORE_OK) {
            out->failed = "user seats";
            return rc;
        }
        if ((uint64_t)out->user_has + n->seats > n->s->max_per_user) {
            out->what = SRV_RESV_SHORT_USER;
            return STORE_OK;
        }
    }
    for (size_t i = 0; i < n->n_items; i++) {
        uint64_t pid;
        int32_t qty;
        Bilheteria__V1__Product *p = NULL;
        n->item(n->items, i, &pid, &qty);
        out->item = i;
        if ((rc = store_product_get(t, pid, a, &p)) != STORE_OK) {
            out->failed = "product";
            return rc;
        }
        if (p->stock_tracked && p->stock < qty) {
            out->what = SRV_RESV_SHORT_STOCK;
            out->product = p;
            return STORE_OK;
        }
    }
    return STORE_OK;
}

int
srv_resv_need_check(store_txn *t, srv_seatcache *sc, srv_tally *tally, bh__arena *a, int64_t now,
                    const srv_resv_need *n, srv_resv_check *out)
{
    for (int swept = 0;; swept = 1) {
        int rc = need_look(t, &a->pc, n, out);
        if (rc != STORE_OK || out->what == SRV_RESV_ENOUGH || swept)
            return rc;
        size_t k;
        if ((rc = srv_resv_sweep(t, sc, tally, a, now, SIZE_MAX, &k)) != STORE_OK) {
            out->failed = "sweep";
            return rc;
        }
    }
}
