/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Refunds (refund.c): money given back for some or all of a paid
 * reservation's seats and items, and the cancellation of a whole session,
 * which refunds each of its paid reservations through the same rule.
 *
 * A refund, in the writer's transaction: the amount is the snapshotted
 * prices of what it gives back; refunded seats are freed at once (or kept
 * sold with keep_seats_blocked), their meia-entrada quota returned, items
 * restocked; the reservation marks what was refunded, sums refunded_cents
 * (never above the payment's amount) and lists its refund ids, and becomes
 * REFUNDED or PARTIALLY_REFUNDED. Nothing can be refunded twice: a seat or
 * item already refunded is FAILED_PRECONDITION naming it.
 *
 * A cancelled session takes no reservations and no payments. Its holds
 * are released and its paid reservations refunded in batches: the first by
 * CancelSession itself, the rest by the writer (srv_refund_cancel_step)
 * at the start of its next batches, also after a restart, from the
 * progress kept in the store. The session's cancel_progress says how far.
 */
#ifndef BH_REFUND_H
#define BH_REFUND_H

#include <stddef.h>

#include "call.h"

/* Reservations handled per batch of a session's cancellation. */
#define SRV_REFUND_CANCEL_BATCH 256

/* FAILED_PRECONDITION "session N was cancelled ..." if s is; else 0. */
int srv_refund_on_sale(srv_call *c, const Bilheteria__V1__Session *s);

/* Refunds what q asks (q->payment_id is p's) of r, the reservation p paid;
 * q is checked against r first (bad input: INVALID_ARGUMENT naming the
 * field; already refunded: FAILED_PRECONDITION). Returns 0 with *out (in
 * c's arena) and r updated and stored, or the code it set. */
int srv_refund_make(srv_call *c, store_txn *t, const Bilheteria__V1__RefundPaymentRequest *q,
                    const Bilheteria__V1__Payment *p, Bilheteria__V1__Reservation *r,
                    Bilheteria__V1__Refund **out);

/* Fills p's refunds (read from r's refund_ids) and refunded_cents. */
int srv_refund_fill(srv_call *c, store_txn *t, Bilheteria__V1__Payment *p,
                    const Bilheteria__V1__Reservation *r);

/* CancelReservation of a paid (CONFIRMED or PARTIALLY_REFUNDED)
 * reservation r: a refund of everything left, which needs an idempotency
 * key and the admin or service role (as RefundPayment does). */
int srv_refund_cancel_paid(srv_call *c, store_txn *t, Bilheteria__V1__Reservation *r);

/* Marks s CANCELLED with reason, keeps the progress in the store and
 * handles the first batch of its reservations. s is stored. */
int srv_refund_cancel_session(srv_call *c, store_txn *t, Bilheteria__V1__Session *s,
                              const char *reason);

/* The writer's part: one batch of the first cancellation still under way,
 * in a nested transaction. *more is set when there is more to do. Returns
 * a store code about the transaction t only (a reservation that cannot be
 * handled is logged and skipped). env and a as the writer's calls get them. */
int srv_refund_cancel_step(store_txn *t, const srv_env *env, bh__arena *a, int64_t now_ms,
                           int *more);

#endif
