/* SPDX-License-Identifier: Apache-2.0 */
/* Reservations: table reservations (id -> Reservation), index
 * reservations_by_user (user_id NUL + ~id -> nothing, so newest come first)
 * and reservations_by_expiry (expires_at + id -> nothing) for PENDING ones,
 * which lets the sweeper find expired holds without scanning everything. */
#include <string.h>

#include "bilheteria/wire.h"
#include "store_int.h"

#define USER_MAX BH_USER_ID_MAX

static int
user_prefix(uint8_t *buf, const char *user_id, size_t *plen)
{
    size_t n = strlen(user_id);
    if (n == 0 || n > USER_MAX)
        return STORE_INVALID;
    memcpy(buf, user_id, n);
    buf[n] = 0;
    *plen = n + 1;
    return STORE_OK;
}

int
store_resv_put(store_txn *t, const Bilheteria__V1__Reservation *r, int is_new)
{
    /* A new reservation's id is the sequence's next: above every other. */
    int rc = is_new ? store__append_id(t, T_RESV, r->id, &r->base)
                    : store__put_id(t, T_RESV, r->id, &r->base);
    if (rc != STORE_OK || !is_new)
        return rc;
    uint8_t k[USER_MAX + 1 + 8];
    size_t plen;
    if ((rc = user_prefix(k, r->user_id, &plen)) != STORE_OK)
        return rc;
    store_key_put_u64(k + plen, ~r->id);
    return store__put(t, T_RESV_BY_USER, k, plen + 8, "", 0);
}

int
store_resv_get(store_txn *t, uint64_t id, ProtobufCAllocator *a, Bilheteria__V1__Reservation **out)
{
    return store__get_id(t, T_RESV, id, &bilheteria__v1__reservation__descriptor, a,
                         (ProtobufCMessage **)out);
}

int
store_resv_list_by_user(store_txn *t, const char *user_id, uint64_t from_id, size_t limit,
                        ProtobufCAllocator *a, store_page *out)
{
    uint8_t prefix[USER_MAX + 1];
    size_t plen;
    int rc = user_prefix(prefix, user_id, &plen);
    if (rc != STORE_OK)
        return rc;
    /* ~0 is the smallest inverted key: start from the newest. */
    return store__list_index(t, T_RESV_BY_USER, prefix, plen, from_id ? from_id : UINT64_MAX, 1,
                             limit, T_RESV, &bilheteria__v1__reservation__descriptor, a, out);
}

static void
expiry_key(uint8_t k[16], int64_t expires_at_ms, uint64_t id)
{
    store_key_put_u64(k, (uint64_t)expires_at_ms);
    store_key_put_u64(k + 8, id);
}

int
store_resv_expiry_add(store_txn *t, int64_t expires_at_ms, uint64_t id)
{
    uint8_t k[16];
    expiry_key(k, expires_at_ms, id);
    return store__put(t, T_RESV_BY_EXPIRY, k, sizeof(k), "", 0);
}

int
store_resv_expiry_del(store_txn *t, int64_t expires_at_ms, uint64_t id)
{
    uint8_t k[16];
    expiry_key(k, expires_at_ms, id);
    int rc = store__del(t, T_RESV_BY_EXPIRY, k, sizeof(k));
    return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

int
store_resv_pending(store_txn *t, uint64_t *n)
{
    MDB_stat st;
    int rc = store__rc(mdb_stat(t->txn, t->s->dbi[T_RESV_BY_EXPIRY], &st));
    if (rc == STORE_OK)
        *n = st.ms_entries;
    return rc;
}

int
store_resv_expired(store_txn *t, int64_t now_ms, int64_t *expires, uint64_t *ids, size_t max,
                   size_t *n)
{
    MDB_cursor *cur = NULL;
    *n = 0;
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_RESV_BY_EXPIRY], &cur));
    if (rc != STORE_OK)
        return rc;
    MDB_val k, v;
    int op = MDB_FIRST, mrc;
    while (*n < max && (mrc = mdb_cursor_get(cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (k.mv_size != 16)
            continue;
        int64_t exp = (int64_t)store_key_get_u64(k.mv_data);
        if (exp > now_ms)
            break;
        expires[*n] = exp;
        ids[(*n)++] = store_key_get_u64((const uint8_t *)k.mv_data + 8);
    }
    mdb_cursor_close(cur);
    return STORE_OK;
}
