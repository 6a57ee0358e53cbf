/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writer's cache of which seats are taken, per session, so that picking
 * the best N adjacent seats does not scan every seat record of a session on
 * every request (a sell-out would cost quadratic time on the one writer
 * thread).
 *
 * Owned and used by the writer thread only. It is kept in step with the
 * store by the seat wrappers below, which every seat write goes through.
 * It may be conservative (a lapsed hold still marked taken until the
 * sweeper frees it, or until a failed pick forces a rebuild), never
 * optimistic: a seat the cache calls free is free in the transaction, and
 * the caller still re-reads the seats it picked before writing them.
 */
#ifndef BH_SEATCACHE_H
#define BH_SEATCACHE_H

#include <stdint.h>

#include "store.h"

typedef struct srv_seatcache srv_seatcache;

srv_seatcache *srv_seatcache_new(void);     /* NULL when out of memory */
void srv_seatcache_free(srv_seatcache *sc); /* accepts NULL */

/*
 * The taken map of a session (bit idx%8 of byte idx/8, 1 = taken), built from the
 * store on first use or when rebuild is set. *stale is set when a hold
 * counted as taken may have lapsed since (a failed pick should then retry
 * with rebuild). Borrowed until the next call on sc. NULL on a store error
 * (*rc says which) or out of memory (STORE_NOMEM).
 */
const uint8_t *srv_seatcache_get(srv_seatcache *sc, store_txn *t, const Bilheteria__V1__Session *s,
                                 int64_t now, int rebuild, int *stale, int *rc);

/* Seat writes: the store call, then the cache. sc may be NULL. */
int srv_seat_put(srv_seatcache *sc, store_txn *t, uint64_t session_id, uint32_t idx,
                 const store_seat *seat);
int srv_seat_del(srv_seatcache *sc, store_txn *t, uint64_t session_id, uint32_t idx);

/* The writer marks where a call starts; if the call's nested transaction is
 * aborted, srv_seatcache_rollback forgets every session it touched. */
void srv_seatcache_begin(srv_seatcache *sc);
void srv_seatcache_rollback(srv_seatcache *sc);
/* Forgets everything (a batch that did not commit). */
void srv_seatcache_clear(srv_seatcache *sc);

#endif
