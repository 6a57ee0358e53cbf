/* SPDX-License-Identifier: Apache-2.0 */
/* Idempotency records: table idempotency ((identity NUL key) -> IdemRecord)
 * and idempotency_by_time (created_at + identity NUL key -> nothing), which
 * the retention sweep walks from the oldest. */
#include <string.h>

#include "store_int.h"

#define IDEM_KEY_MAX 490 /* LMDB's default max key size is 511 */

static int
idem_key(uint8_t *k, const char *identity, const char *key, size_t *klen)
{
    size_t il = strlen(identity), kl = strlen(key);
    if (kl == 0 || il + 1 + kl > IDEM_KEY_MAX)
        return STORE_INVALID;
    memcpy(k, identity, il);
    k[il] = 0;
    memcpy(k + il + 1, key, kl);
    *klen = il + 1 + kl;
    return STORE_OK;
}

int
store_idem_get(store_txn *t, const char *identity, const char *key, ProtobufCAllocator *a,
               Bilheteria__Store__IdemRecord **out)
{
    uint8_t k[IDEM_KEY_MAX];
    size_t klen;
    int rc = idem_key(k, identity, key, &klen);
    if (rc != STORE_OK)
        return rc;
    return store__get_msg(t, T_IDEM, k, klen, &bilheteria__store__idem_record__descriptor, a,
                          (ProtobufCMessage **)out);
}

int
store_idem_put(store_txn *t, const char *identity, const char *key,
               const Bilheteria__Store__IdemRecord *rec)
{
    uint8_t k[8 + IDEM_KEY_MAX];
    size_t klen;
    int rc = idem_key(k + 8, identity, key, &klen);
    if (rc != STORE_OK)
        return rc;
    /* A rewrite must not leave the old time-index entry behind, or the
     * retention sweep would delete the new record early. */
    MDB_val old;
    if (store__get(t, T_IDEM, k + 8, klen, &old) == STORE_OK) {
        Bilheteria__Store__IdemRecord *prev =
            bilheteria__store__idem_record__unpack(NULL, old.mv_size, old.mv_data);
        if (prev != NULL) {
            store_key_put_u64(k, (uint64_t)prev->created_at_ms);
            bilheteria__store__idem_record__free_unpacked(prev, NULL);
            rc = store__del(t, T_IDEM_BY_TIME, k, klen + 8);
            if (rc != STORE_OK && rc != STORE_NOTFOUND)
                return rc;
        }
    }
    if ((rc = store__put_msg(t, T_IDEM, k + 8, klen, &rec->base)) != STORE_OK)
        return rc;
    store_key_put_u64(k, (uint64_t)rec->created_at_ms);
    return store__put(t, T_IDEM_BY_TIME, k, klen + 8, "", 0);
}

int
store_idem_sweep(store_txn *t, int64_t before_ms, size_t max, size_t *n)
{
    MDB_cursor *cur = NULL;
    *n = 0;
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_IDEM_BY_TIME], &cur));
    if (rc != STORE_OK)
        return rc;
    MDB_val k, v;
    int mrc;
    while (*n < max && (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == MDB_SUCCESS) {
        if (k.mv_size <= 8 || (int64_t)store_key_get_u64(k.mv_data) >= before_ms)
            break;
        MDB_val rk = { k.mv_size - 8, (uint8_t *)k.mv_data + 8 };
        mrc = mdb_del(t->txn, t->s->dbi[T_IDEM], &rk, NULL);
        if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
            rc = store__rc(mrc);
            break;
        }
        if ((mrc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS) {
            rc = store__rc(mrc);
            break;
        }
        (*n)++;
    }
    mdb_cursor_close(cur);
    return rc;
}
