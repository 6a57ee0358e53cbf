/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reservation rules (resv.c): one home for what the reservation and payment
 * handlers, the seat cache and the writer's sweeper all rely on.
 *
 * A seat is held by writing its record (reservation id, expiry); sold seats
 * have expiry 0. A hold whose expiry has passed counts as free everywhere at
 * once: reads show it available and a new hold may take it over. The sweeper
 * (srv_resv_sweep, run by the writer) turns lapsed PENDING reservations into
 * EXPIRED and gives back their seats, meia-entrada quota and product stock.
 *
 * Store functions return store codes (STORE_OK, ...); objects they read are
 * allocated with a and live as long as it does.
 */
#ifndef BH_RESV_H
#define BH_RESV_H

#include <stddef.h>
#include <stdint.h>

#include "bh_arena.h"
#include "bilheteria/v1/rpc.pb-c.h"
#include "seatcache.h"
#include "store.h"

/* What the writes of a transaction did to the business counters
 * (metrics.h): moved where the change is made -- a reservation released
 * as expired in srv_resv_release, a payment in the payment handler's pay
 * step -- and published by the writer only once its batch has committed.
 * Whoever aborts a nested transaction puts back the tally it saved before
 * it (the writer for a call, srv_resv_sweep for one expiry), so that only
 * what commits is counted. Functions taking one accept NULL. */
typedef struct srv_tally {
    uint64_t expired;       /* PENDING reservations released as EXPIRED */
    uint64_t seats_sold;    /* seats of the reservations paid */
    uint64_t payments;      /* payments made */
    uint64_t revenue_cents; /* their amounts */
} srv_tally;

/* A sold seat: its record has no expiry. */
static inline int
srv_resv_seat_sold(const store_seat *s)
{
    return s->expires_at_ms == 0;
}

/* The one "is this seat taken" rule: sold, or held and not lapsed at now. */
static inline int
srv_resv_seat_taken(const store_seat *s, int64_t now)
{
    return srv_resv_seat_sold(s) || s->expires_at_ms > now;
}

/* Whether new reservations may add the product: a product stored before
 * the active flag existed (never updated, so never deactivated) is. */
static inline int
srv_product_active(const Bilheteria__V1__Product *p)
{
    return p->active || p->updated_at_ms == 0;
}

/* Seat label -> index in the session's layout; -1 if not in it (*idx
 * untouched). */
int srv_resv_seat_index(const Bilheteria__V1__Session *s, const char *label, uint32_t *idx);
const char *srv_resv_status_name(int status);
/* A PENDING reservation past its expiry reads as EXPIRED. */
void srv_resv_view(Bilheteria__V1__Reservation *r, int64_t now);

/* Sets bit idx%8 of taken[idx/8] for each seat of the session (of capacity
 * seats) taken at now; taken must be zeroed, capacity/8 + 1 bytes. If
 * min_expiry is not NULL, it is lowered to the earliest expiry of a hold
 * marked. */
int srv_resv_taken_scan(store_txn *t, uint64_t session_id, uint32_t capacity, int64_t now,
                        uint8_t *taken, int64_t *min_expiry);

/* Adds delta to the session's meia-entrada count (taken with delta > 0,
 * returned with delta < 0; never below 0). */
int srv_resv_quota_add(store_txn *t, uint64_t session_id, int64_t delta);

/* Adds delta to the seats user has in session s (the per-buyer limit's
 * counter: seats of the user's PENDING reservations not yet released and of
 * CONFIRMED ones, less refunded seats), never below 0. Whoever takes seats
 * for a user (a hold, a lapsed hold paid, a waiting-list offer) adds them;
 * srv_resv_release takes them off; a refund takes off the seats it gives
 * back. Counted only while s has a limit (max_per_user > 0): a session
 * without one pays nothing for it, and one that gets a limit later is
 * counted then (srv_resv_user_seats_rebuild). Check first with
 * srv_resv_need_check (need.user, need.seats). */
int srv_resv_user_seats_add(store_txn *t, const Bilheteria__V1__Session *s, const char *user,
                            int64_t delta);

/* Counts every user's seats in s afresh from its reservations (by the
 * by-session index): for a session that gets a limit it did not have. Its
 * cost is the session's reservations, once, in the admin's call. */
int srv_resv_user_seats_rebuild(store_txn *t, ProtobufCAllocator *a,
                                const Bilheteria__V1__Session *s);

/* Adds delta to a product's stock if it is tracked (takes with delta < 0).
 * *out (if not NULL) gets the product, tracked or not. STORE_NOTFOUND if the
 * product does not exist. */
int srv_resv_stock_add(store_txn *t, ProtobufCAllocator *a, uint64_t product_id, int64_t delta,
                       Bilheteria__V1__Product **out);
/* Takes the reservation's items out of stock again (a lapsed hold being
 * paid), after srv_resv_need said there is enough. */
int srv_resv_stock_take(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r);

/* Frees the reservation's seats (those still its own), meia-entrada quota
 * and stock, and stores it with new_status (counted in tally when that is
 * EXPIRED); then the waiting list's offer step runs on what was freed
 * (waitlist.h). sc and tally may be NULL. */
int srv_resv_release(store_txn *t, srv_seatcache *sc, srv_tally *tally, ProtobufCAllocator *a,
                     Bilheteria__V1__Reservation *r, int new_status, int64_t now);

/* Expires up to max PENDING reservations whose hold has lapsed at now_ms;
 * *n gets how many expiry entries were handled. sc and tally may be NULL. */
int srv_resv_sweep(store_txn *t, srv_seatcache *sc, srv_tally *tally, bh__arena *a, int64_t now_ms,
                   size_t max, size_t *n);

/* ---- is there enough quota and stock for a reservation ---- */

/* The i-th item of a list: its product and quantity. */
typedef void (*srv_resv_item_fn)(const void *items, size_t i, uint64_t *product_id,
                                 int32_t *quantity);

/* What a reservation would take: half meia-entrada seats of session s and
 * n_items items, read through item; and, when user is not NULL, seats seats
 * for user under the session's max_per_user. */
typedef struct srv_resv_need {
    const Bilheteria__V1__Session *s;
    uint32_t half;
    const void *items;
    size_t n_items;
    srv_resv_item_fn item;
    const char *user;
    uint32_t seats;
} srv_resv_need;

enum srv_resv_short {
    SRV_RESV_ENOUGH,
    SRV_RESV_SHORT_QUOTA,
    SRV_RESV_SHORT_STOCK,
    SRV_RESV_SHORT_USER /* over the session's max_per_user */
};

/* What srv_resv_need found. */
typedef struct srv_resv_check {
    enum srv_resv_short what;
    uint32_t half_used;               /* the session's meia-entrada count */
    uint32_t user_has;                /* SHORT_USER: seats the user already has */
    size_t item;                      /* SHORT_STOCK or STORE_NOTFOUND: which */
    Bilheteria__V1__Product *product; /* SHORT_STOCK: its product */
    const char *failed;               /* on a store error: what was being read */
} srv_resv_check;

/* Whether the quota and the stock can serve n. The counters still include
 * lapsed holds the sweeper has not reached yet: on a shortfall, this sweeps
 * them all (sc, tally and a as for srv_resv_sweep) and looks again, so that a
 * refusal is exact. STORE_OK with out->what saying what is still short;
 * STORE_NOTFOUND when an item's product does not exist (out->item), other
 * store codes with out->failed. Takes nothing. */
int srv_resv_need_check(store_txn *t, srv_seatcache *sc, srv_tally *tally, bh__arena *a,
                        int64_t now, const srv_resv_need *n, srv_resv_check *out);

#endif
