/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sales reports (report.c) and add-on recommendations (recommend.c).
 *
 * Both read counters only, never reservations: the writer keeps them in
 * the same nested transaction as the change they count, so a report or a
 * ranking costs the same at 10 orders or 10 million, and never disagrees
 * with the store.
 *
 * Sales counters: one row per (event, session, UTC day, zone index). Each
 * change is booked on the day it happened:
 *   a hold made       holds_created, on its created_at_ms;
 *   a hold lapsed     holds_expired, on its expires_at_ms (booked when it is
 *                     released; unbooked if the lapsed hold is paid after all);
 *   a hold cancelled  holds_cancelled, on the day of the cancellation;
 *   a payment         holds_converted, tickets by type, gross (list prices of
 *                     tickets and products), products, discounts, on its day;
 *   a refund          refund_cents and refunds, on its day.
 * Tickets, their gross and discounts go to each seat's zone; the rest to the
 * zone of the reservation's first seat. One row is read and written per
 * call when a reservation's seats are in one zone and the change in one day.
 *
 * The srv_report_* functions take the writer's transaction t and return
 * store codes; objects read are allocated with a.
 */
#ifndef BH_REPORT_H
#define BH_REPORT_H

#include <stdint.h>

#include "call.h"
#include "store.h"

/* A hold was made: r is new (PENDING), s its session. */
int srv_report_hold(store_txn *t, const Bilheteria__V1__Session *s,
                    const Bilheteria__V1__Reservation *r);

/* r (still with its old status) is being released as new_status at now:
 * a PENDING one as EXPIRED or CANCELLED is counted; anything else is not. */
int srv_report_release(store_txn *t, const Bilheteria__V1__Session *s,
                       const Bilheteria__V1__Reservation *r, int new_status, int64_t now);

/* r was paid at now (it is CONFIRMED); was_expired: it had been released as
 * EXPIRED before (its expiry is unbooked). Also counts the order's add-ons
 * for the recommendations (srv_recommend_count_order). */
int srv_report_pay(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r,
                   int was_expired, int64_t now);

/* refund_cents of r were refunded at now (one refund). */
int srv_report_refund(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r,
                      int64_t refund_cents, int64_t now);

/* Session s's zones become z[0..nz) (UpdateSession, nothing held or sold):
 * its counter rows move to the index of their zone's name in z (a zone
 * gone, to 0, where its seats would book now), so that a report never
 * shows one zone's history under another's name. */
int srv_report_zones_moved(store_txn *t, bh__arena *a, const Bilheteria__V1__Session *s,
                           Bilheteria__V1__PriceZone *const *z, size_t nz);

/* Adds every counter of d into to. */
void srv_report_counter_add(Bilheteria__Store__CounterRecord *to,
                            const Bilheteria__Store__CounterRecord *d);

/* 0 if event event_id exists, else NOT_FOUND naming it (or the store's
 * failure), set on c. */
int srv_report_event_check(srv_call *c, store_txn *t, uint64_t event_id);

/* ---- recommend.c ---- */

/* A paid order of event_id: counts its distinct products, each pair of
 * them and the order, globally and for the event (nothing for an order
 * without add-ons). */
int srv_recommend_count_order(store_txn *t, uint64_t event_id,
                              const Bilheteria__V1__Reservation *r);

/* ReportService.RecommendProducts. */
int srv_recommend_products(srv_call *c, store_txn *t);

#endif
