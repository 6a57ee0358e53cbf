/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Waiting-list rules (waitlist.c): offers of freed seats, in arrival order,
 * made in the transaction that freed them.
 *
 * A user waits in a session's list for N adjacent seats (WAITING). When
 * seats of the session are freed -- a hold lapses (the sweeper), a
 * reservation is cancelled, an offer lapses or is declined -- the release
 * (srv_resv_release) calls srv_waitlist_released, which walks the first
 * SRV_WAITLIST_SCAN_MAX WAITING entries in arrival order and, for each whose
 * N adjacent seats best-N (pick.c) finds, creates a PENDING reservation for
 * the user (waitlist_offer set, expiring after the offer TTL) and marks the
 * entry OFFERED (the sales report counts the offer as a hold made). An
 * entry that cannot be seated stays WAITING, so a later entry needing fewer
 * seats may be offered before it. The offer is paid as any reservation
 * (srv_waitlist_paid marks the entry FULFILLED); one that lapses marks its
 * entry EXPIRED and offers its seats again.
 *
 * Writer thread only; store codes as resv.h's functions. Objects are
 * allocated with a and live as long as it does.
 */
#ifndef BH_WAITLIST_H
#define BH_WAITLIST_H

#include <stdint.h>

#include "seatcache.h"
#include "store.h"

/* Most WAITING entries one offer step looks at: the work a freed-seat
 * event adds to its transaction is bounded by it, whatever the list's
 * length. */
#define SRV_WAITLIST_SCAN_MAX 32

/* The offer TTL in ms (--offer-ttl-s; default 600 s): set once by main
 * before the writer starts, read by the writer only. */
void srv_waitlist_set_offer_ttl(int64_t ms);
int64_t srv_waitlist_offer_ttl(void);

/* The offer step: offers the session's free seats to its first WAITING
 * entries (see above). *offered (if not NULL) gets how many offers it
 * made. Nothing is offered once the session has started. sc may be NULL
 * (then the seats are read from the store). */
int srv_waitlist_offer(store_txn *t, srv_seatcache *sc, ProtobufCAllocator *a, uint64_t session_id,
                       int64_t now, uint32_t *offered);

/* After r was released (stored with its new status): ends r's entry if r
 * was an offer (EXPIRED, or LEFT when it was cancelled), then runs the
 * offer step for r's session. */
int srv_waitlist_released(store_txn *t, srv_seatcache *sc, ProtobufCAllocator *a,
                          const Bilheteria__V1__Reservation *r, int64_t now);

/* After r was paid: its entry, if r was an offer, becomes FULFILLED. */
int srv_waitlist_paid(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r,
                      int64_t now);

/* What a reader sees: an OFFERED entry whose offer has lapsed is EXPIRED
 * already (as srv_resv_view does for its hold). */
void srv_waitlist_view(Bilheteria__V1__WaitlistEntry *e, int64_t now);

/* 1 if n adjacent seats of session s are free now (best-N finds them). */
int srv_waitlist_seats_free(store_txn *t, srv_seatcache *sc, ProtobufCAllocator *a,
                            const Bilheteria__V1__Session *s, uint32_t n, int64_t now, int *rc);

#endif
