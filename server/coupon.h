/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Discounts (coupon.c): automatic rules and coupons priced into a
 * reservation, and the life of a coupon's use.
 *
 * How they combine (one place, also in coupon.proto and the README):
 *  1. quantity rules: the active rule with the highest percent whose
 *     min_tickets the reservation's inteira tickets reach takes that percent
 *     off each inteira ticket (meia-entrada is half price by law already);
 *  2. combo rules: while the items not yet in a combo fill one, the combo
 *     that saves the most is applied (greedy by savings), its saving spread
 *     over its units;
 *  3. the reservation's one coupon, on what 1 and 2 left of the lines it
 *     applies to.
 * No line is discounted below 0, so neither is the total.
 *
 * A coupon's use: taken when the hold is made (Coupon.held_uses and the
 * (code, user) counter, inside the writer's transaction, so the last use
 * cannot go to two holds), given back when the hold is released (expired or
 * cancelled), made final at payment (held_uses -> uses), and given back by
 * a full refund (uses and the user's counter).
 *
 * Every function runs inside the writer's transaction t. Those taking a
 * srv_call return 0 or the code they set with srv_fail (a refusal changes
 * nothing the caller keeps: the writer aborts the call's transaction); the
 * others return store codes.
 */
#ifndef BH_COUPON_H
#define BH_COUPON_H

#include "call.h"

/* At most this many active discount rules (CreateComboRule and
 * CreateQuantityRule refuse more); every reservation reads them. */
#define SRV_RULES_ACTIVE_MAX 64

/* Checks a coupon code (1..BH_COUPON_CODE_MAX of [A-Za-z0-9_-]) and writes
 * it upper-case into out. Returns 0, or INVALID_ARGUMENT naming field. */
int srv_coupon_code(srv_call *c, const char *field, const char *in,
                    char out[BH_COUPON_CODE_MAX + 1]);

/* The one entry point of the reservation handler: after r's seats and items
 * are priced (price_cents, subtotal_cents, the two subtotals), applies the
 * active rules and the coupon code ("" = none) of session s, fills r's
 * discounts, discount_cents (per seat, per item and in all), coupon_code and
 * total_cents, and takes the coupon's use for r->user_id. A code that
 * cannot be used is FAILED_PRECONDITION saying why; a malformed one
 * INVALID_ARGUMENT (field coupon_code). */
int srv_coupon_price(srv_call *c, store_txn *t, const Bilheteria__V1__Session *s, const char *code,
                     Bilheteria__V1__Reservation *r);

/* Gives back the use held by r, a PENDING reservation being released
 * (srv_resv_release calls it before r's status changes). Nothing for a
 * reservation with no coupon or in another status. */
int srv_coupon_release(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r);

/* Makes r's coupon use final as r is paid (before its status becomes
 * CONFIRMED): a PENDING r holds its use; an EXPIRED one gave it back and
 * takes it again only if the coupon's max_uses and max_uses_per_user leave
 * room, else FAILED_PRECONDITION (nothing is charged). */
int srv_coupon_pay(srv_call *c, store_txn *t, const Bilheteria__V1__Reservation *r);

/* A fully refunded reservation returns its coupon use: uses and the
 * (code, user) counter go down by one. For the refund path; nothing for a
 * reservation with no coupon. Call it once per reservation. */
int srv_coupon_refund(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r);

#endif
