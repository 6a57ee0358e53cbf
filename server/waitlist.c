/* SPDX-License-Identifier: Apache-2.0 */
/* Waiting-list rules: the offer step and what ends an entry (waitlist.h).
 * The offer step runs in the transaction that freed the seats, so an offer
 * is made exactly when the seats are, survives kill -9 with them, and two
 * offers never take the same seat. */
#include <stdio.h>
#include <string.h>

#include "feed.h"
#include "pick.h"
#include "report.h"
#include "resv.h"
#include "util.h"
#include "waitlist.h"
#include "zone.h"

#define ST(x) BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define WL(x) BILHETERIA__V1__WAITLIST_STATUS__WAITLIST_STATUS_##x

static int64_t offer_ttl_ms = 600 * 1000;

void
srv_waitlist_set_offer_ttl(int64_t ms)
{
    offer_ttl_ms = ms;
}

int64_t
srv_waitlist_offer_ttl(void)
{
    return offer_ttl_ms;
}

static void *
wl_alloc(ProtobufCAllocator *a, size_t n)
{
    return a->alloc(a->allocator_data, n);
}

void
srv_waitlist_view(Bilheteria__V1__WaitlistEntry *e, int64_t now)
{
    if (e->status == WL(OFFERED) && e->offer_expires_at_ms <= now)
        e->status = WL(EXPIRED);
}

/* A copy of the session's taken map that the offer step may mark: the
 * writer's seat cache when there is one (conservative: a lapsed hold not
 * swept yet still counts as taken, and its sweep will offer its seats), else
 * a scan of the seat records. */
static uint8_t *
taken_copy(store_txn *t, srv_seatcache *sc, ProtobufCAllocator *a, const Bilheteria__V1__Session *s,
           int64_t now, int *rc)
{
    size_t size = s->capacity / 8 + 1;
    uint8_t *m = wl_alloc(a, size);
    int stale;
    if (m == NULL) {
        *rc = STORE_NOMEM;
        return NULL;
    }
    if (sc != NULL) {
        const uint8_t *cached = srv_seatcache_get(sc, t, s, now, 0, &stale, rc);
        if (cached == NULL)
            return NULL;
        memcpy(m, cached, size);
        return m;
    }
    memset(m, 0, size);
    *rc = srv_resv_taken_scan(t, s->id, s->capacity, now, m, NULL);
    return *rc == STORE_OK ? m : NULL;
}

static void
mark(uint8_t *m, uint32_t idx)
{
    m[idx / 8] |= (uint8_t)(1u << (idx % 8));
}

/* Best-N on m, each seat picked checked in the store (a seat the map calls
 * free but the store does not is marked and the pick tried again). 1 with
 * *start set, 0 if n adjacent free seats are not there. */
static int
pick(store_txn *t, const Bilheteria__V1__Session *s, uint8_t *m, uint32_t n, int64_t now,
     uint32_t *start, int *rc)
{
    *rc = STORE_OK;
    for (int tries = 0; tries < 4; tries++) {
        uint32_t first;
        int ok = 1;
        if (srv_pick_best(s->rows, s->seats_per_row, m, n, &first) != 0)
            return 0;
        for (uint32_t i = 0; i < n; i++) {
            store_seat seat;
            int r = store_seat_get(t, s->id, first + i, &seat);
            if (r == STORE_OK && srv_resv_seat_taken(&seat, now)) {
                mark(m, first + i);
                ok = 0;
            } else if (r != STORE_OK && r != STORE_NOTFOUND) {
                *rc = r;
                return 0;
            }
        }
        if (ok) {
            *start = first;
            return 1;
        }
    }
    return 0;
}

int
srv_waitlist_seats_free(store_txn *t, srv_seatcache *sc, ProtobufCAllocator *a,
                        const Bilheteria__V1__Session *s, uint32_t n, int64_t now, int *rc)
{
    uint32_t start;
    uint8_t *m = taken_copy(t, sc, a, s, now, rc);
    return m != NULL && pick(t, s, m, n, now, &start, rc);
}

/* Holds seats start..start+n-1 for e's user as a PENDING reservation marked
 * as an offer, and marks e OFFERED. */
static int
make_offer(store_txn *t, srv_seatcache *sc, ProtobufCAllocator *a, const Bilheteria__V1__Session *s,
           Bilheteria__V1__WaitlistEntry *e, uint32_t start, int64_t now)
{
    uint32_t n = e->seats;
    Bilheteria__V1__Reservation *r = wl_alloc(a, sizeof(*r));
    if (r == NULL)
        return STORE_NOMEM;
    bilheteria__v1__reservation__init(r);
    if ((r->seats = wl_alloc(a, n * sizeof(*r->seats))) == NULL)
        return STORE_NOMEM;
    int rc = store_next_id(t, STORE_SEQ_RESERVATION, &r->id);
    if (rc != STORE_OK)
        return rc;
    r->session_id = s->id;
    r->user_id = e->user_id;
    r->status = ST(PENDING);
    r->created_at_ms = r->updated_at_ms = now;
    r->expires_at_ms = now + offer_ttl_ms;
    r->waitlist_offer = 1;
    for (uint32_t i = 0; i < n; i++) {
        Bilheteria__V1__ReservedSeat *rs = wl_alloc(a, sizeof(*rs));
        char *label = wl_alloc(a, 16);
        uint32_t idx = start + i;
        if (rs == NULL || label == NULL)
            return STORE_NOMEM;
        bilheteria__v1__reserved_seat__init(rs);
        srv_row_label(idx / s->seats_per_row, label);
        snprintf(label + strlen(label), 13, "%u", idx % s->seats_per_row + 1);
        rs->label = label;
        rs->type = BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_INTEIRA;
        const Bilheteria__V1__PriceZone *z = srv_zone_of_row(s, idx / s->seats_per_row);
        rs->price_cents = srv_zone_price(s, idx / s->seats_per_row, 0);
        rs->zone = z != NULL ? z->name : "";
        r->seats_subtotal_cents += rs->price_cents;
        r->seats[r->n_seats++] = rs;
        store_seat rec = { r->id, r->expires_at_ms, 0 };
        if ((rc = srv_seat_put(sc, t, s->id, idx, &rec)) != STORE_OK)
            return rc;
    }
    r->total_cents = r->seats_subtotal_cents;
    if ((rc = store_resv_put(t, r, 1)) != STORE_OK ||
        (rc = store_resv_session_add(t, s->id, r->id)) != STORE_OK ||
        (rc = store_resv_expiry_add(t, r->expires_at_ms, r->id)) != STORE_OK ||
        (rc = srv_resv_user_seats_add(t, s, r->user_id, n)) != STORE_OK ||
        (rc = srv_report_hold(t, s, r)) != STORE_OK) /* its expiry or payment is booked too */
        return rc;
    /* No call's answer carries the offer: its feed entry is made here. */
    if ((rc = srv_feed_append(t, now, "reservation.offered", NULL, &r->base)) != STORE_OK)
        return rc;
    e->status = WL(OFFERED);
    e->position = 0;
    e->reservation_id = r->id;
    e->offer_expires_at_ms = r->expires_at_ms;
    e->updated_at_ms = now;
    return store_waitlist_put(t, e, 0);
}

int
srv_waitlist_offer(store_txn *t, srv_seatcache *sc, ProtobufCAllocator *a, uint64_t session_id,
                   int64_t now, uint32_t *offered)
{
    uint64_t seqs[SRV_WAITLIST_SCAN_MAX];
    size_t n = 0;
    uint32_t made = 0;
    Bilheteria__V1__Session *s = NULL;
    uint8_t *m = NULL;
    int rc = store_waitlist_waiting(t, session_id, seqs, SRV_WAITLIST_SCAN_MAX, &n);
    if (rc != STORE_OK || n == 0)
        goto out;
    if ((rc = store_session_get(t, session_id, a, &s)) != STORE_OK)
        goto out;
    /* No new holds once it started or was cancelled: none offered either. */
    if (now >= s->starts_at_ms ||
        s->status == BILHETERIA__V1__SESSION_STATUS__SESSION_STATUS_CANCELLED)
        goto out;
    if ((m = taken_copy(t, sc, a, s, now, &rc)) == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        Bilheteria__V1__WaitlistEntry *e = NULL;
        uint32_t start;
        if ((rc = store_waitlist_get(t, session_id, seqs[i], a, &e)) != STORE_OK)
            goto out;
        if (e->seats == 0 || e->seats > s->seats_per_row)
            continue;
        /* An offer counts in the user's per-session seats: one that would
         * put them over the session's limit is not made (the entry keeps
         * its place, for when they have fewer). */
        if (s->max_per_user > 0) {
            uint32_t has = 0;
            if ((rc = store_user_seats_get(t, session_id, e->user_id, &has)) != STORE_OK)
                goto out;
            if ((uint64_t)has + e->seats > s->max_per_user)
                continue;
        }
        if (!pick(t, s, m, e->seats, now, &start, &rc)) {
            if (rc != STORE_OK)
                goto out;
            continue; /* cannot be seated yet: stays WAITING, in its place */
        }
        if ((rc = make_offer(t, sc, a, s, e, start, now)) != STORE_OK)
            goto out;
        for (uint32_t k = 0; k < e->seats; k++)
            mark(m, start + k);
        made++;
    }
out:
    if (rc == STORE_OK && offered != NULL)
        *offered = made;
    return rc;
}

int
srv_waitlist_released(store_txn *t, srv_seatcache *sc, ProtobufCAllocator *a,
                      const Bilheteria__V1__Reservation *r, int64_t now)
{
    if (r->waitlist_offer) {
        Bilheteria__V1__WaitlistEntry *e = NULL;
        int rc = store_waitlist_find(t, r->session_id, r->user_id, a, &e);
        if (rc != STORE_OK && rc != STORE_NOTFOUND)
            return rc;
        if (rc == STORE_OK && e->status == WL(OFFERED) && e->reservation_id == r->id) {
            e->status = r->status == ST(CANCELLED) ? WL(LEFT) : WL(EXPIRED);
            e->updated_at_ms = now;
            if ((rc = store_waitlist_put(t, e, 0)) != STORE_OK)
                return rc;
        }
    }
    return srv_waitlist_offer(t, sc, a, r->session_id, now, NULL);
}

int
srv_waitlist_paid(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r,
                  int64_t now)
{
    Bilheteria__V1__WaitlistEntry *e = NULL;
    if (!r->waitlist_offer)
        return STORE_OK;
    int rc = store_waitlist_find(t, r->session_id, r->user_id, a, &e);
    if (rc == STORE_NOTFOUND)
        return STORE_OK;
    if (rc != STORE_OK)
        return rc;
    /* EXPIRED too: a lapsed offer paid while its seats were still free. */
    if (e->reservation_id != r->id || (e->status != WL(OFFERED) && e->status != WL(EXPIRED)))
        return STORE_OK;
    e->status = WL(FULFILLED);
    e->updated_at_ms = now;
    return store_waitlist_put(t, e, 0);
}
