/* SPDX-License-Identifier: Apache-2.0 */
/* Payments: table payments (id -> Payment) and payments_by_ref
 * (provider NUL provider_ref -> payment id), the business key that makes a
 * provider's reference confirm at most one payment. */
#include <string.h>

#include "store_int.h"

#define REF_KEY_MAX 500

static int
ref_key(uint8_t k[REF_KEY_MAX], const char *provider, const char *ref, size_t *klen)
{
    size_t pl = strlen(provider), rl = strlen(ref);
    if (pl + 1 + rl > REF_KEY_MAX)
        return STORE_INVALID;
    memcpy(k, provider, pl);
    k[pl] = 0;
    memcpy(k + pl + 1, ref, rl);
    *klen = pl + 1 + rl;
    return STORE_OK;
}

int
store__ref_put(store_txn *t, enum store__table tab, const char *provider, const char *ref,
               uint64_t id)
{
    uint8_t k[REF_KEY_MAX], v[8];
    size_t klen;
    int rc = ref_key(k, provider, ref, &klen);
    if (rc != STORE_OK)
        return rc;
    store_key_put_u64(v, id);
    return store__put(t, tab, k, klen, v, 8);
}

int
store__ref_get(store_txn *t, enum store__table tab, const char *provider, const char *ref,
               uint64_t *id)
{
    uint8_t k[REF_KEY_MAX];
    size_t klen;
    MDB_val v;
    int rc = ref_key(k, provider, ref, &klen);
    if (rc != STORE_OK)
        return rc;
    if ((rc = store__get(t, tab, k, klen, &v)) != STORE_OK)
        return rc;
    if (v.mv_size != 8)
        return STORE_CORRUPT;
    *id = store_key_get_u64(v.mv_data);
    return STORE_OK;
}

int
store_payment_put(store_txn *t, const Bilheteria__V1__Payment *p)
{
    int rc = store__put_id(t, T_PAYMENTS, p->id, &p->base);
    if (rc != STORE_OK || p->provider_ref[0] == 0)
        return rc;
    return store__ref_put(t, T_PAY_BY_REF, p->provider, p->provider_ref, p->id);
}

int
store_payment_get(store_txn *t, uint64_t id, ProtobufCAllocator *a, Bilheteria__V1__Payment **out)
{
    return store__get_id(t, T_PAYMENTS, id, &bilheteria__v1__payment__descriptor, a,
                         (ProtobufCMessage **)out);
}

int
store_payment_by_ref(store_txn *t, const char *provider, const char *ref, uint64_t *payment_id)
{
    return store__ref_get(t, T_PAY_BY_REF, provider, ref, payment_id);
}
