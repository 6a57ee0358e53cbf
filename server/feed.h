/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The change feed (feed.c): every committed state change, appended to the
 * store's feed table (store_feed_*) in the transaction that commits the
 * change, with a gapless seq in commit order.
 *
 * Who appends: the writer, once for each successful write call
 * (srv_feed_call: the types come from the method, see feed.c), in the
 * batch's transaction right after the call's nested one committed into it
 * (so the batch commits both or neither, and the feed's pages are not
 * copied into every call's nested transaction); and rules that change
 * state outside a call of their own (srv_feed_append, in the nested
 * transaction of what they do: the sweeper's "reservation.expired", a
 * waiting-list offer, a session cancellation's refunds). Appends run on
 * the writer thread only.
 *
 * Who waits: ListChanges (h_feed.c) parks a call that finds nothing new
 * (srv_feed_wait) until the writer says a commit went past it
 * (srv_feed_committed) or its time is up; the JetStream bridge (bridge.c)
 * waits on srv_feed_wait_commit.
 */
#ifndef BH_FEED_H
#define BH_FEED_H

#include <stdint.h>

#include <nng/nng.h>

#include "call.h"
#include "store.h"

/* The longest a ListChanges call waits for a commit. */
#define SRV_FEED_WAIT_MAX_MS 30000
/* Most changes one ListChanges answer carries, and the default. */
#define SRV_FEED_MAX     1000
#define SRV_FEED_MAX_DEF 100

/* The ids a change names; 0 or NULL for none. */
typedef struct srv_feed_ids {
    uint64_t reservation_id, session_id, event_id, payment_id, product_id;
    const char *user_id;
} srv_feed_ids;

/* Appends one change of type ("reservation.expired") at now_ms with the
 * object obj as it is now (borrowed for the call) in t. ids NULL: the ids
 * are read from obj (its "id" and "*_id" fields). Writer thread only. A
 * store code. */
int srv_feed_append(store_txn *t, int64_t now_ms, const char *type, const srv_feed_ids *ids,
                    const ProtobufCMessage *obj);

/* The writer's append for write call c that succeeded (c->resp set), in
 * the batch's transaction t once c's nested one has committed into it: one
 * change per object of the answer. A store code: on an error the batch
 * must not commit (c's changes are in t without their entries). Nothing
 * for c->unchanged. */
int srv_feed_call(srv_call *c, store_txn *t);

/* "reservation.created" for method "bilheteria.v1.ReservationService/
 * CreateReservation" and object field "reservation" (NULL: from the
 * method's noun), into out (len bytes). For tests and the docs. */
void srv_feed_type_name(const char *method, const char *field, char *out, size_t len);

/* Starts the feed's shared state: its last seq read from st, retention
 * (ms), and the most calls that may wait at once. 0, or -1. */
int srv_feed_init(store *st, int64_t retention_ms, int max_waiters);
void srv_feed_fini(void);

/* The writer, after a commit whose last seq is last: wakes the waiters
 * past whose cursor it went. Cheap when none waits. */
void srv_feed_committed(uint64_t last);
/* The last committed seq the writer told of. Any thread. */
uint64_t srv_feed_last(void);

/* The writer's housekeeping in its batch transaction (its sweep): trims
 * changes older than the retention (never past what the bridge has
 * acknowledged), a bounded step at a time, and stores the bridge's
 * acknowledged position. A store code. */
int srv_feed_housekeep(store_txn *t, int64_t now_ms, int64_t mono_ms);

/* A parked ListChanges call (listen.c): storage its worker provides. */
typedef struct srv_feed_waiter {
    struct srv_feed_waiter *next, *prev;
    nng_aio *aio; /* a sleep, cancelled by a commit past after */
    uint64_t after;
    int parked;
} srv_feed_waiter;

/* Parks w until a commit goes past after or ms pass: starts a sleep of ms
 * on aio, whose callback must call srv_feed_unwait and run the call again.
 * Returns 1 when parked, 0 when the call should run again now (a commit
 * went past after already, too many wait, or the server is draining). */
int srv_feed_wait(srv_feed_waiter *w, nng_aio *aio, uint64_t after, int64_t ms);
void srv_feed_unwait(srv_feed_waiter *w);
/* Draining: wakes every parked call and parks no more. */
void srv_feed_wake_all(void);

/* The bridge: waits up to ms for a commit past after (a condition
 * variable, for its own thread). Returns the last seq. */
uint64_t srv_feed_wait_commit(uint64_t after, int64_t ms);
/* The bridge's acknowledged seq: kept from trimming, and stored (mark
 * "nats") by the writer's housekeeping. on = a bridge runs. */
void srv_feed_bridge_set(int on, uint64_t acked);
void srv_feed_bridge_acked(uint64_t acked);

#endif
