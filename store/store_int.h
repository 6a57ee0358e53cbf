/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to store/: the environment, its tables and generic helpers. */
#ifndef BH_STORE_INT_H
#define BH_STORE_INT_H

#include <pthread.h>

#include <lmdb.h>

#include "store.h"

enum store__table {
    T_META,
    T_EVENTS,
    T_SESSIONS,
    T_SESS_BY_EVENT,
    T_SESS_STATE,
    T_PRODUCTS,
    T_SEATS,
    T_RESV,
    T_RESV_BY_USER,
    T_RESV_BY_EXPIRY,
    T_PAYMENTS,
    T_PAY_BY_REF,
    T_IDEM,
    T_IDEM_BY_TIME,
    T_COUPONS,
    T_COUPON_USERS,
    T_RULES,
    T_USER_SEATS,
    T_REFUNDS,
    T_REFUND_BY_REF,
    T_RESV_BY_SESSION,
    T_SESSION_CANCELS,
    T_WAITLIST,
    T_WAITLIST_BY_USER,
    T_WAITLIST_WAITING,
    T_FEED, /* the change feed: seq -> bilheteria.v1.Change (feed.c) */
    T_SALES,
    T_COPURCHASE,
    T__COUNT
};

struct store {
    MDB_env *env;
    MDB_dbi dbi[T__COUNT];
    size_t map_size;
    /* Readers hold it shared; store_grow holds it exclusive, because
     * mdb_env_set_mapsize needs every transaction of the process closed. */
    pthread_rwlock_t resize_lock;
    /* store_sync's own descriptor on data.mdb (defer_meta_sync only): a
     * write-back error is reported once per open file description, so a
     * sync through LMDB's descriptor could take the error that the writer's
     * next commit must see, or the other way round. -1 when not open. */
    int sync_fd;
    int lock_fd; /* store_config.exclusive: the flocked directory; -1 when not */
    /* Set (under resize_lock, held exclusive) when a growth left LMDB with
     * no map: no transaction may start after it. */
    int map_lost;
};

struct store_txn {
    store *s;
    MDB_txn *txn;
    int is_read;
};

int store__rc(int mdb_rc);

/* Raw access; values borrowed until the transaction ends. */
int store__get(store_txn *t, enum store__table tab, const void *k, size_t klen, MDB_val *v);
int store__put(store_txn *t, enum store__table tab, const void *k, size_t klen, const void *v,
               size_t vlen);
int store__del(store_txn *t, enum store__table tab, const void *k, size_t klen);

/* Messages: packed straight into LMDB's reserved space; unpacked with a. */
int store__put_msg(store_txn *t, enum store__table tab, const void *k, size_t klen,
                   const ProtobufCMessage *m);
int store__get_msg(store_txn *t, enum store__table tab, const void *k, size_t klen,
                   const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a,
                   ProtobufCMessage **out);
int store__put_id(store_txn *t, enum store__table tab, uint64_t id, const ProtobufCMessage *m);
/* The same for an id above every id of tab (a new record from a sequence,
 * a feed entry): LMDB appends it to the last page without a search
 * (MDB_APPEND). STORE_EXISTS if it is not above them all. */
int store__append_id(store_txn *t, enum store__table tab, uint64_t id, const ProtobufCMessage *m);
int store__get_id(store_txn *t, enum store__table tab, uint64_t id,
                  const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a,
                  ProtobufCMessage **out);
/* Pages over a table keyed by 8-byte id, from from_id upward. */
int store__list_id(store_txn *t, enum store__table tab, uint64_t from_id, size_t limit,
                   const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a, store_page *out);
/* Pages over an index whose keys are prefix + 8-byte id (big-endian, maybe
 * inverted), loading each record from table `rec`: unpacked with d, or as
 * store_raw (borrowed bytes) when d is NULL. */
int store__list_index(store_txn *t, enum store__table idx, const void *prefix, size_t plen,
                      uint64_t from_key, int inverted, size_t limit, enum store__table rec,
                      const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a, store_page *out);

/* A business-key index (payment.c): provider NUL ref -> 8-byte id. */
int store__ref_put(store_txn *t, enum store__table tab, const char *provider, const char *ref,
                   uint64_t id);
int store__ref_get(store_txn *t, enum store__table tab, const char *provider, const char *ref,
                   uint64_t *id);

/* Adds a reservation to its session's index (refund.c). */

void *store__alloc(ProtobufCAllocator *a, size_t n);

#endif
