/* SPDX-License-Identifier: Apache-2.0 */
/* The change feed: table feed (seq, 8 bytes BE -> bilheteria.v1.Change).
 * The seq comes from STORE_SEQ_FEED in the meta table, written in the same
 * transaction as the entry: a nested transaction that aborts gives both
 * back, and a trimmed feed still knows its last seq. Marks (a consumer's
 * acknowledged seq) live in meta too, as "feed.mark.<name>". */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

#define META_FEED_SEQ "seq.feed"

int
store_feed_append(store_txn *t, Bilheteria__V1__Change *ch)
{
    uint64_t seq;
    int rc = store_next_id(t, STORE_SEQ_FEED, &seq);
    if (rc != STORE_OK)
        return rc;
    ch->seq = seq;
    return store__append_id(t, T_FEED, seq, &ch->base);
}

/* An 8-byte value of the meta table; 0 when it is not there. */
static int
meta_u64(store_txn *t, const char *k, size_t klen, uint64_t *out)
{
    MDB_val v;
    int rc = store__get(t, T_META, k, klen, &v);
    if (rc == STORE_NOTFOUND) {
        *out = 0;
        return STORE_OK;
    }
    if (rc != STORE_OK)
        return rc;
    if (v.mv_size != 8)
        return STORE_CORRUPT;
    *out = store_key_get_u64(v.mv_data);
    return STORE_OK;
}

int
store_feed_last(store_txn *t, uint64_t *seq)
{
    return meta_u64(t, META_FEED_SEQ, strlen(META_FEED_SEQ), seq);
}

int
store_feed_first(store_txn *t, uint64_t *seq)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_FEED], &cur));
    if (rc != STORE_OK)
        return rc;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    mdb_cursor_close(cur);
    if (mrc == MDB_NOTFOUND) {
        *seq = 0;
        return STORE_OK;
    }
    if (mrc != MDB_SUCCESS)
        return store__rc(mrc);
    if (k.mv_size != 8)
        return STORE_CORRUPT;
    *seq = store_key_get_u64(k.mv_data);
    return STORE_OK;
}

int
store_feed_list_raw(store_txn *t, uint64_t after, size_t limit, ProtobufCAllocator *a,
                    store_page *out)
{
    if (after == UINT64_MAX)
        return STORE_INVALID;
    return store__list_id(t, T_FEED, after + 1, limit, NULL, a, out);
}

int
store_feed_trim(store_txn *t, int64_t before_ms, uint64_t max_seq, size_t limit, size_t *n)
{
    MDB_cursor *cur = NULL;
    *n = 0;
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_FEED], &cur));
    if (rc != STORE_OK)
        return rc;
    MDB_val k, v;
    int mrc;
    while (*n < limit && (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == MDB_SUCCESS) {
        if (k.mv_size != 8 || store_key_get_u64(k.mv_data) > max_seq)
            break;
        /* Only time_ms is needed: read it without unpacking the object. */
        Bilheteria__V1__Change *ch = bilheteria__v1__change__unpack(NULL, v.mv_size, v.mv_data);
        int64_t at = ch != NULL ? ch->time_ms : 0;
        bilheteria__v1__change__free_unpacked(ch, NULL);
        if (ch != NULL && at >= before_ms)
            break;
        if ((mrc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS) {
            rc = store__rc(mrc);
            break;
        }
        (*n)++;
    }
    mdb_cursor_close(cur);
    return rc;
}

static int
mark_key(char *k, size_t len, const char *name, size_t *klen)
{
    int n = snprintf(k, len, "feed.mark.%s", name);
    if (n < 0 || (size_t)n >= len)
        return STORE_INVALID;
    *klen = (size_t)n;
    return STORE_OK;
}

int
store_feed_mark_get(store_txn *t, const char *name, uint64_t *seq)
{
    char k[128];
    size_t klen;
    int rc = mark_key(k, sizeof(k), name, &klen);
    return rc != STORE_OK ? rc : meta_u64(t, k, klen, seq);
}

int
store_feed_mark_put(store_txn *t, const char *name, uint64_t seq)
{
    char k[128];
    size_t klen;
    uint8_t v[8];
    int rc = mark_key(k, sizeof(k), name, &klen);
    if (rc != STORE_OK)
        return rc;
    store_key_put_u64(v, seq);
    return store__put(t, T_META, k, klen, v, 8);
}
