/* SPDX-License-Identifier: Apache-2.0 */
/* Refunds: table refunds (id -> Refund) and refunds_by_ref (provider NUL
 * provider_ref -> refund id), the business key that makes a provider's
 * refund reference book at most one refund. Also what a session's
 * cancellation walks: reservations_by_session (session id + reservation id
 * -> nothing) and session_cancels (session id -> SessionCancel) for the
 * cancellations still refunding. */
#include "store_int.h"

int
store_refund_put(store_txn *t, const Bilheteria__V1__Refund *r)
{
    int rc = store__put_id(t, T_REFUNDS, r->id, &r->base);
    if (rc != STORE_OK || r->provider_ref[0] == 0)
        return rc;
    return store__ref_put(t, T_REFUND_BY_REF, r->provider, r->provider_ref, r->id);
}

int
store_refund_get(store_txn *t, uint64_t id, ProtobufCAllocator *a, Bilheteria__V1__Refund **out)
{
    return store__get_id(t, T_REFUNDS, id, &bilheteria__v1__refund__descriptor, a,
                         (ProtobufCMessage **)out);
}

int
store_refund_by_ref(store_txn *t, const char *provider, const char *ref, uint64_t *refund_id)
{
    return store__ref_get(t, T_REFUND_BY_REF, provider, ref, refund_id);
}

int
store_resv_session_add(store_txn *t, uint64_t session_id, uint64_t resv_id)
{
    uint8_t k[16];
    store_key_put_u64(k, session_id);
    store_key_put_u64(k + 8, resv_id);
    return store__put(t, T_RESV_BY_SESSION, k, sizeof(k), "", 0);
}

int
store_resv_list_by_session(store_txn *t, uint64_t session_id, uint64_t from_id, size_t limit,
                           ProtobufCAllocator *a, store_page *out)
{
    uint8_t prefix[8];
    store_key_put_u64(prefix, session_id);
    return store__list_index(t, T_RESV_BY_SESSION, prefix, sizeof(prefix), from_id, 0, limit,
                             T_RESV, &bilheteria__v1__reservation__descriptor, a, out);
}

int
store_cancel_put(store_txn *t, uint64_t session_id, const Bilheteria__Store__SessionCancel *c)
{
    return store__put_id(t, T_SESSION_CANCELS, session_id, &c->base);
}

int
store_cancel_get(store_txn *t, uint64_t session_id, ProtobufCAllocator *a,
                 Bilheteria__Store__SessionCancel **out)
{
    return store__get_id(t, T_SESSION_CANCELS, session_id,
                         &bilheteria__store__session_cancel__descriptor, a,
                         (ProtobufCMessage **)out);
}

int
store_cancel_del(store_txn *t, uint64_t session_id)
{
    uint8_t k[8];
    store_key_put_u64(k, session_id);
    int rc = store__del(t, T_SESSION_CANCELS, k, sizeof(k));
    return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

int
store_cancel_first(store_txn *t, uint64_t *session_id)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_SESSION_CANCELS], &cur));
    if (rc != STORE_OK)
        return rc;
    rc = store__rc(mdb_cursor_get(cur, &k, &v, MDB_FIRST));
    if (rc == STORE_OK && k.mv_size != 8)
        rc = STORE_CORRUPT;
    if (rc == STORE_OK)
        *session_id = store_key_get_u64(k.mv_data);
    mdb_cursor_close(cur);
    return rc;
}
