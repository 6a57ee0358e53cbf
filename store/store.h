/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: Bilheteria's LMDB storage. One environment in a directory, one
 * named database per table, values protobuf-serialized, integer keys
 * big-endian so that LMDB's byte order is numeric order.
 *
 * Threads: any number of read transactions at once, from any thread
 * (MDB_NOTLS); one writer thread holding at most one write transaction with
 * nested children. store_grow must be called with no transaction of the
 * calling thread open; it waits for readers to finish.
 *
 * Ownership: messages returned by store_*_get / _list are allocated with the
 * allocator passed in (NULL = malloc) and unpacked before the transaction
 * ends; the caller frees them with protobuf_c_message_free_unpacked (or
 * drops its arena). Messages passed in are borrowed for the call.
 *
 * This module knows nothing of nng or of the wire.
 */
#ifndef BH_STORE_H
#define BH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "bilheteria/v1/coupon.pb-c.h"
#include "bilheteria/v1/event.pb-c.h"
#include "bilheteria/v1/feed.pb-c.h"
#include "bilheteria/v1/payment.pb-c.h"
#include "bilheteria/v1/product.pb-c.h"
#include "bilheteria/v1/reservation.pb-c.h"
#include "bilheteria/v1/session.pb-c.h"
#include "bilheteria/v1/waitlist.pb-c.h"
#include "records.pb-c.h"

#define STORE_SCHEMA_VERSION 1

enum store_rc {
    STORE_OK = 0,
    STORE_NOTFOUND, /* no such record */
    STORE_EXISTS,   /* key already present */
    STORE_MAP_FULL, /* the map is full: abort, store_grow, retry */
    STORE_CORRUPT,  /* a value did not decode */
    STORE_IO,       /* the OS refused: a failing disk (EIO), permissions */
    STORE_NOMEM,
    STORE_SCHEMA,   /* the data directory holds another schema version */
    STORE_BUSY,     /* too many readers */
    STORE_INVALID,  /* a bad argument from the caller */
    STORE_TXN_FULL, /* one transaction touched too many pages: not retryable */
    STORE_BAD_TXN,  /* an earlier failure spoiled the transaction: abort it */
    STORE_NOSPC,    /* the file system is full (ENOSPC): nothing of the commit was kept */
    STORE_QUOTA,    /* the disk quota is used up (EDQUOT): likewise */
    STORE_NOMAP,    /* the map was lost in a failed growth: close the store and open it again */
};

const char *store_strerror(int rc);

/* The version of the LMDB headers the store was built with ("0.9.24"):
 * static, for --version. */
const char *store_lmdb_version(void);

typedef struct store store;
typedef struct store_txn store_txn;

typedef struct store_config {
    const char *dir;      /* created if missing */
    size_t map_size;      /* bytes; 0 = 1 GiB */
    int no_sync;          /* 1 = MDB_NOSYNC: fast, loses the last commits on a crash */
    unsigned max_readers; /* 0 = 512 */
    /* 1 = MDB_NOMETASYNC: a commit syncs its data pages, then writes its
     * meta page without waiting for it to reach the disk. The commit is
     * durable once store_sync (or the next commit) has returned; a crash
     * before that undoes it, and never corrupts the store. */
    int defer_meta_sync;
    /* 1 = the only store on cfg->dir: an flock on the directory, taken
     * before LMDB is touched and held until store_close; a second
     * exclusive open fails (STORE_BUSY) naming the directory. */
    int exclusive;
} store_config;

/*
 * Opens (creating if needed) the environment in cfg->dir, checks stale
 * readers (mdb_reader_check) and the schema version. On success *out is set;
 * caller frees with store_close. On failure *errbuf says why.
 */
int store_open(store **out, const store_config *cfg, char *errbuf, size_t errlen);
void store_close(store *s); /* accepts NULL; no transaction may be open */
size_t store_map_size(const store *s);
/* Doubles the map. No transaction of the calling thread may be open. When
 * the larger map cannot be had (mmap refused: address space or memory),
 * returns its error (STORE_NOMEM, most often) with *errbuf saying why, and
 * the store goes on with the map it had: reads and writes that fit still
 * work. Only if LMDB's own mmap fails after the store's trial one worked
 * (something took the room in between) is the map lost: then this and every
 * later transaction fail with STORE_NOMAP until the store is reopened. */
int store_grow(store *s, char *errbuf, size_t errlen);
/* Forces every commit so far to the disk (fdatasync). Any thread, at any
 * time, also while another thread writes or grows the map (the store never
 * uses MDB_WRITEMAP, under which a sync would read the map). With
 * defer_meta_sync it syncs through a descriptor of its own, so that a
 * write-back error is reported to it and, independently, to the writer's
 * next commit. */
int store_sync(store *s);

/* What the environment holds, for the store's gauges. */
typedef struct store_stats_info {
    uint64_t map_size;    /* bytes the map spans (grows with store_grow) */
    uint64_t used_bytes;  /* pages up to the last one in use, times the page size */
    uint64_t readers;     /* reader slots taken now (a kept read transaction holds
                             its slot while reset too) */
    uint64_t max_readers; /* the reader table's size */
} store_stats_info;
/* Fills *out: STORE_OK, or STORE_NOMAP after a lost map, or another store
 * code (*out untouched). Any thread, at any time, next to transactions and
 * store_grow (it waits for a growth to end). The numbers are a moment's:
 * used_bytes is the last commit's (LMDB's mdb_env_info), readers a walk of
 * the reader table (mdb_reader_list: MDB_envinfo's me_numreaders is the
 * most slots ever used, not those in use). */
int store_stats(store *s, store_stats_info *out);

/* ---- backup (backup.c) ---- */
typedef struct store_backup_info {
    uint64_t bytes;      /* the copy's size (its data.mdb) */
    uint64_t last_txnid; /* the last commit when the copy began: it and every one
                            before are in the copy (later ones may be too) */
    int64_t duration_ms; /* how long it took, sync and rename included */
} store_backup_info;

/*
 * Writes a consistent, compacted copy of the store (LMDB's mdb_env_copyfd2
 * with MDB_CP_COMPACT: one snapshot, free pages left out) as a new data
 * directory out_dir, which must not exist or be an empty directory; its
 * parent must exist. Restoring is opening a store on out_dir (a server
 * with --data-dir out_dir). A relative out_dir is taken from the process's
 * working directory.
 *
 * The copy goes to a temporary directory beside out_dir
 * ("out_dir.tmp-XXXXXX"), is fsync'd, and is renamed into place, the parent
 * directory fsync'd after: out_dir is either absent or a whole copy, also
 * after a crash (a crash may leave the temporary directory behind).
 *
 * Any thread, while other threads read and write: the copy reads in one
 * read transaction of its own (one reader slot) and never takes the write
 * lock. While it runs, pages freed by later commits cannot be reused, so
 * the data file may grow; and a map growth (store_grow) waits for it to
 * end, with the reads that come after that growth. No transaction of the
 * calling thread may be open.
 *
 * Returns STORE_OK and fills *info (if not NULL); or STORE_EXISTS (out_dir
 * exists and is not an empty directory), STORE_INVALID (an empty or too
 * long path), STORE_IO (the file system refused: no parent, no permission),
 * STORE_NOSPC, STORE_QUOTA, STORE_NOMEM, STORE_CORRUPT, STORE_NOMAP, with
 * err (errlen bytes) naming the path and the system's reason. Nothing is
 * left behind on failure, but in one case: when only the last step, the
 * sync of out_dir's parent directory, fails, the whole copy is in out_dir
 * and err says so.
 */
int store_backup(store *s, const char *out_dir, store_backup_info *info, char *err, size_t errlen);

/* Read transactions: short, never across a blocking wait. */
int store_read_begin(store *s, store_txn **out);
void store_read_end(store_txn *t); /* accepts NULL */

/* A read transaction kept for reuse: its LMDB reader slot stays reserved
 * between uses, so starting one takes no lock on the reader table. Create
 * it once with store_read_alloc (it starts reset), then pair
 * store_read_renew / store_read_reset around each use, from any one thread
 * at a time; free with store_read_free (accepts NULL). */
int store_read_alloc(store *s, store_txn **out);
int store_read_renew(store_txn *t);
void store_read_reset(store_txn *t);
void store_read_free(store_txn *t);

/* The write transaction (one at a time, writer thread only). */
int store_write_begin(store *s, store_txn **out);
/* Nested transaction inside parent (write only). */
int store_nested_begin(store_txn *parent, store_txn **out);
/* Commits and frees t whatever the outcome. */
int store_commit(store_txn *t);
void store_abort(store_txn *t); /* accepts NULL */

/* ---- sequences: ids start at 1 and only grow ---- */
enum store_seq {
    STORE_SEQ_EVENT,
    STORE_SEQ_SESSION,
    STORE_SEQ_PRODUCT,
    STORE_SEQ_RESERVATION,
    STORE_SEQ_PAYMENT,
    STORE_SEQ_RULE,
    STORE_SEQ_REFUND,
    STORE_SEQ_WAITLIST,
    STORE_SEQ_FEED, /* the change feed's seq (store_feed_append) */
    STORE_SEQ__COUNT
};
int store_next_id(store_txn *t, enum store_seq seq, uint64_t *out);

/* ---- generic paging over a table keyed by id ---- */
typedef struct store_page {
    void **items; /* unpacked messages, allocated with the allocator
                     (store_raw * from the _raw listings) */
    size_t n;
    uint64_t next_id; /* 0 = no more */
} store_page;

/* A record as stored: the serialized message, borrowed from the map. Valid
 * until its transaction ends or is reset; never written through. The
 * _raw listings let a read answer with stored bytes without unpacking and
 * packing them again. */
typedef struct store_raw {
    const uint8_t *data;
    size_t len;
} store_raw;

/* ---- events (event.c) ---- */
int store_event_put(store_txn *t, const Bilheteria__V1__Event *ev);
int store_event_get(store_txn *t, uint64_t id, ProtobufCAllocator *a, Bilheteria__V1__Event **out);
int store_event_list(store_txn *t, uint64_t from_id, size_t limit, ProtobufCAllocator *a,
                     store_page *out);

int store_event_list_raw(store_txn *t, uint64_t from_id, size_t limit, ProtobufCAllocator *a,
                         store_page *out);

/* ---- sessions (session.c) ---- */
int store_session_put(store_txn *t, const Bilheteria__V1__Session *s);
int store_session_get(store_txn *t, uint64_t id, ProtobufCAllocator *a,
                      Bilheteria__V1__Session **out);
/* event_id 0 = all sessions by id; otherwise that event's, by id. */
int store_session_list(store_txn *t, uint64_t event_id, uint64_t from_id, size_t limit,
                       ProtobufCAllocator *a, store_page *out);
int store_session_list_raw(store_txn *t, uint64_t event_id, uint64_t from_id, size_t limit,
                           ProtobufCAllocator *a, store_page *out);
int store_session_state_get(store_txn *t, uint64_t id, uint32_t *half_used);
int store_session_state_put(store_txn *t, uint64_t id, uint32_t half_used);
/* Seats user_id has in the session (the per-buyer limit's counter, kept by
 * the server's rules): 0 when there is no record. Putting 0 deletes it. */
int store_user_seats_get(store_txn *t, uint64_t session_id, const char *user_id, uint32_t *seats);
int store_user_seats_put(store_txn *t, uint64_t session_id, const char *user_id, uint32_t seats);
/* Deletes every count of the session. */
int store_user_seats_clear(store_txn *t, uint64_t session_id);

/* ---- products (product.c) ---- */
int store_product_put(store_txn *t, const Bilheteria__V1__Product *p);
int store_product_get(store_txn *t, uint64_t id, ProtobufCAllocator *a,
                      Bilheteria__V1__Product **out);
int store_product_list(store_txn *t, uint64_t from_id, size_t limit, ProtobufCAllocator *a,
                       store_page *out);

/* ---- seats (seat.c): only seats that are held or sold have a record ---- */
typedef struct store_seat {
    uint64_t reservation_id;
    int64_t expires_at_ms; /* 0 = sold */
    int half;
} store_seat;

int store_seat_get(store_txn *t, uint64_t session_id, uint32_t idx, store_seat *out);
int store_seat_put(store_txn *t, uint64_t session_id, uint32_t idx, const store_seat *seat);
int store_seat_del(store_txn *t, uint64_t session_id, uint32_t idx);
/* Calls fn for each seat record of the session in index order; a non-zero
 * return from fn stops the scan and is returned. */
typedef int (*store_seat_fn)(void *arg, uint32_t idx, const store_seat *seat);
int store_seat_scan(store_txn *t, uint64_t session_id, store_seat_fn fn, void *arg);

/* ---- reservations (reservation.c) ---- */
/* Writes the record; indexes it by user on first write (is_new), when
 * r->id must be above every reservation's id, as the sequence's next is (it
 * is appended: STORE_EXISTS otherwise). The by-session index is the
 * caller's to add (store_resv_session_add), so that it can be written
 * where it costs least. */
int store_resv_put(store_txn *t, const Bilheteria__V1__Reservation *r, int is_new);
int store_resv_get(store_txn *t, uint64_t id, ProtobufCAllocator *a,
                   Bilheteria__V1__Reservation **out);
/* A user's reservations, newest first, starting at id from_id (0 = newest). */
int store_resv_list_by_user(store_txn *t, const char *user_id, uint64_t from_id, size_t limit,
                            ProtobufCAllocator *a, store_page *out);
/* Expiry index: (expires_at_ms, id) of PENDING reservations. */
int store_resv_expiry_add(store_txn *t, int64_t expires_at_ms, uint64_t id);
int store_resv_expiry_del(store_txn *t, int64_t expires_at_ms, uint64_t id);
/* How many reservations are PENDING in t: the entries of the expiry
 * index, one per PENDING reservation (O(1): LMDB keeps the count). A hold
 * that has lapsed counts until the sweeper or a call releases it. */
int store_resv_pending(store_txn *t, uint64_t *n);
/* Up to max (expiry, id) pairs with expiry <= now_ms, earliest first. */
int store_resv_expired(store_txn *t, int64_t now_ms, int64_t *expires, uint64_t *ids, size_t max,
                       size_t *n);

/* ---- payments (payment.c) ---- */
/* Writes the payment and its (provider, provider_ref) index when ref is set. */
int store_payment_put(store_txn *t, const Bilheteria__V1__Payment *p);
int store_payment_get(store_txn *t, uint64_t id, ProtobufCAllocator *a,
                      Bilheteria__V1__Payment **out);
int store_payment_by_ref(store_txn *t, const char *provider, const char *ref, uint64_t *payment_id);

/* ---- coupons and discount rules (coupon.c) ---- */
/* Coupons by code (normalized by the caller: the store compares bytes). */
int store_coupon_put(store_txn *t, const Bilheteria__V1__Coupon *c);
int store_coupon_get(store_txn *t, const char *code, ProtobufCAllocator *a,
                     Bilheteria__V1__Coupon **out);
/* Up to limit coupons with codes after `after` ("" = from the first), in
 * byte order; *more is set to 1 when there are others after the last. */
int store_coupon_list(store_txn *t, const char *after, size_t limit, ProtobufCAllocator *a,
                      store_page *out, int *more);
/* How many uses of code user has (held and paid); 0 when none. Putting 0
 * deletes the counter. */
int store_coupon_user_get(store_txn *t, const char *code, const char *user, uint32_t *n);
int store_coupon_user_put(store_txn *t, const char *code, const char *user, uint32_t n);
/* Discount rules by id. */
int store_rule_put(store_txn *t, const Bilheteria__V1__DiscountRule *r);
int store_rule_get(store_txn *t, uint64_t id, ProtobufCAllocator *a,
                   Bilheteria__V1__DiscountRule **out);
int store_rule_list(store_txn *t, uint64_t from_id, size_t limit, ProtobufCAllocator *a,
                    store_page *out);

/* ---- refunds and session cancellations (refund.c) ---- */
/* Writes the refund and its (provider, provider_ref) index when ref is set. */
int store_refund_put(store_txn *t, const Bilheteria__V1__Refund *r);
int store_refund_get(store_txn *t, uint64_t id, ProtobufCAllocator *a,
                     Bilheteria__V1__Refund **out);
int store_refund_by_ref(store_txn *t, const char *provider, const char *ref, uint64_t *refund_id);
/* A session's reservations by id from from_id up (index
 * reservations_by_session, written by store_resv_put on a first write):
 * a page of Reservation, next_id 0 when there are no more. */
/* Adds reservation id to session_id's (index reservations_by_session). */
int store_resv_session_add(store_txn *t, uint64_t session_id, uint64_t id);
int store_resv_list_by_session(store_txn *t, uint64_t session_id, uint64_t from_id, size_t limit,
                               ProtobufCAllocator *a, store_page *out);
/* The progress of a session cancellation still under way. */
int store_cancel_put(store_txn *t, uint64_t session_id, const Bilheteria__Store__SessionCancel *c);
int store_cancel_get(store_txn *t, uint64_t session_id, ProtobufCAllocator *a,
                     Bilheteria__Store__SessionCancel **out);
int store_cancel_del(store_txn *t, uint64_t session_id); /* none: STORE_OK */
/* The lowest session id with a cancellation under way: STORE_NOTFOUND when
 * none is. */
int store_cancel_first(store_txn *t, uint64_t *session_id);

/* ---- waiting lists (waitlist.c): entries keyed by session + seq ---- */
/* Writes the entry (e->seq and e->session_id set; position is the reader's
 * to compute, store 0) and keeps the WAITING index in step with its status;
 * is_new points the (session, user) index at it. */
int store_waitlist_put(store_txn *t, const Bilheteria__V1__WaitlistEntry *e, int is_new);
int store_waitlist_get(store_txn *t, uint64_t session_id, uint64_t seq, ProtobufCAllocator *a,
                       Bilheteria__V1__WaitlistEntry **out);
/* The user's latest entry in the session's list; STORE_NOTFOUND if none. */
int store_waitlist_find(store_txn *t, uint64_t session_id, const char *user_id,
                        ProtobufCAllocator *a, Bilheteria__V1__WaitlistEntry **out);
/* The seqs of the session's first (at most max) WAITING entries, in
 * arrival order. */
int store_waitlist_waiting(store_txn *t, uint64_t session_id, uint64_t *seqs, size_t max,
                           size_t *n);
/* How many WAITING entries of the session have a seq <= seq: the 1-based
 * position of a WAITING entry. O(position). */
int store_waitlist_position(store_txn *t, uint64_t session_id, uint64_t seq, uint32_t *pos);
/* Every entry of the session from seq from_seq on, in arrival order. */
int store_waitlist_list(store_txn *t, uint64_t session_id, uint64_t from_seq, size_t limit,
                        ProtobufCAllocator *a, store_page *out);

/* ---- idempotency records (idem.c): key = (identity, key) ---- */
int store_idem_get(store_txn *t, const char *identity, const char *key, ProtobufCAllocator *a,
                   Bilheteria__Store__IdemRecord **out);
int store_idem_put(store_txn *t, const char *identity, const char *key,
                   const Bilheteria__Store__IdemRecord *rec);
/* Deletes up to max records created before before_ms; *n = how many. */
int store_idem_sweep(store_txn *t, int64_t before_ms, size_t max, size_t *n);

/* ---- the change feed (feed.c): seq (gapless, from 1) -> Change ---- */
/* Gives ch the next seq (STORE_SEQ_FEED, so an aborted transaction gives
 * it back) and appends it. */
int store_feed_append(store_txn *t, Bilheteria__V1__Change *ch);
/* The last seq given (0: none yet), trimmed or not. */
int store_feed_last(store_txn *t, uint64_t *seq);
/* The oldest seq kept; 0 when the feed is empty. */
int store_feed_first(store_txn *t, uint64_t *seq);
/* Up to limit changes with seq > after, as stored (store_raw, borrowed
 * until t ends); out->next_id is the seq after the last one given. */
int store_feed_list_raw(store_txn *t, uint64_t after, size_t limit, ProtobufCAllocator *a,
                        store_page *out);
/* Deletes up to limit of the oldest changes made before before_ms with seq
 * <= max_seq; *n = how many. */
int store_feed_trim(store_txn *t, int64_t before_ms, uint64_t max_seq, size_t limit, size_t *n);
/* A named position in the feed (a consumer's acknowledged seq), 0 if never
 * set. */
int store_feed_mark_get(store_txn *t, const char *name, uint64_t *seq);
int store_feed_mark_put(store_txn *t, const char *name, uint64_t seq);

/* ---- report counters (report.c) ---- */
/* Sales counters: one CounterRecord per (event, session, UTC day, zone
 * index), in that key order. What the fields count is the server's. */
typedef struct store_sales_key {
    uint64_t event_id;
    uint64_t session_id;
    uint32_t day;  /* days since 1970-01-01, UTC */
    uint32_t zone; /* the zone's index in its session */
} store_sales_key;
/* The counters of key into *out (a record of scalars, nothing to free); all
 * zero with STORE_OK when none were kept yet. */
int store_sales_get(store_txn *t, const store_sales_key *key,
                    Bilheteria__Store__CounterRecord *out);
int store_sales_put(store_txn *t, const store_sales_key *key,
                    const Bilheteria__Store__CounterRecord *c);
/* Removes key's row (STORE_OK if there was none). */
int store_sales_del(store_txn *t, const store_sales_key *key);
/* Calls fn for each counter row of event_id with from_day <= day < to_day:
 * of session_id alone, or of every session of the event when session_id is
 * 0, in key order (session, day, zone). Rows outside the days are skipped by
 * seeking, not read. c is borrowed for the call. A non-zero return from fn
 * stops the scan and is returned. */
typedef int (*store_sales_fn)(void *arg, const store_sales_key *key,
                              const Bilheteria__Store__CounterRecord *c);
int store_sales_scan(store_txn *t, uint64_t event_id, uint64_t session_id, uint32_t from_day,
                     uint32_t to_day, store_sales_fn fn, void *arg);

/* Co-purchase counts: a count per (scope, a, b), 0 when absent. The server
 * gives the keys their meaning (recommend.c). */
int store_copurchase_get(store_txn *t, uint64_t scope, uint64_t a, uint64_t b, uint64_t *n);
/* Adds delta (never below 0). */
int store_copurchase_add(store_txn *t, uint64_t scope, uint64_t a, uint64_t b, int64_t delta);
/* Calls fn for up to max counts (scope, a, b > 0), in order of b; a
 * non-zero return from fn stops the scan and is returned. */
typedef int (*store_copurchase_fn)(void *arg, uint64_t b, uint64_t n);
int store_copurchase_scan(store_txn *t, uint64_t scope, uint64_t a, size_t max,
                          store_copurchase_fn fn, void *arg);

/* ---- key encoding (key.c) ---- */
void store_key_put_u64(uint8_t *p, uint64_t v);
uint64_t store_key_get_u64(const uint8_t *p);
void store_key_put_u32(uint8_t *p, uint32_t v);
uint32_t store_key_get_u32(const uint8_t *p);

#endif
