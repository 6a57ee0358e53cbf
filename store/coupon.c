/* SPDX-License-Identifier: Apache-2.0 */
/* Coupons and discount rules: table coupons, code -> Coupon; table
 * coupon_users, code + NUL + user -> uses (4 bytes BE); table
 * discount_rules, id -> DiscountRule. */
#include <string.h>

#include "store_int.h"

int
store_coupon_put(store_txn *t, const Bilheteria__V1__Coupon *c)
{
    size_t n = strlen(c->code);
    if (n == 0 || n > 64)
        return STORE_INVALID;
    return store__put_msg(t, T_COUPONS, c->code, n, &c->base);
}

int
store_coupon_get(store_txn *t, const char *code, ProtobufCAllocator *a,
                 Bilheteria__V1__Coupon **out)
{
    size_t n = strlen(code);
    if (n == 0 || n > 64)
        return STORE_NOTFOUND;
    return store__get_msg(t, T_COUPONS, code, n, &bilheteria__v1__coupon__descriptor, a,
                          (ProtobufCMessage **)out);
}

int
store_coupon_list(store_txn *t, const char *after, size_t limit, ProtobufCAllocator *a,
                  store_page *out, int *more)
{
    MDB_cursor *cur = NULL;
    size_t alen = strlen(after);
    int rc;
    *more = 0;
    if (limit == 0 || alen > 64)
        return STORE_INVALID;
    out->items = store__alloc(a, limit * sizeof(void *));
    out->n = 0;
    out->next_id = 0;
    if (out->items == NULL)
        return STORE_NOMEM;
    if ((rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_COUPONS], &cur))) != STORE_OK)
        return rc;
    MDB_val k = { alen, (void *)after }, v;
    int op = alen ? MDB_SET_RANGE : MDB_FIRST;
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (alen && k.mv_size == alen && memcmp(k.mv_data, after, alen) == 0)
            continue; /* the page starts after `after` */
        if (out->n == limit) {
            *more = 1;
            break;
        }
        void *m =
            protobuf_c_message_unpack(&bilheteria__v1__coupon__descriptor, a, v.mv_size, v.mv_data);
        if (m == NULL) {
            rc = STORE_CORRUPT;
            goto out;
        }
        out->items[out->n++] = m;
    }
    rc = (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) ? STORE_OK : store__rc(rc);
out:
    mdb_cursor_close(cur);
    return rc;
}

/* code NUL user: codes never hold a NUL, so no two pairs share a key. */
static int
user_key(const char *code, const char *user, uint8_t *k, size_t *klen)
{
    size_t c = strlen(code), u = strlen(user);
    if (c == 0 || c > 64 || u > 256)
        return STORE_INVALID;
    memcpy(k, code, c);
    k[c] = 0;
    memcpy(k + c + 1, user, u);
    *klen = c + 1 + u;
    return STORE_OK;
}

int
store_coupon_user_get(store_txn *t, const char *code, const char *user, uint32_t *n)
{
    uint8_t k[64 + 1 + 256];
    size_t klen;
    MDB_val v;
    int rc = user_key(code, user, k, &klen);
    if (rc != STORE_OK)
        return rc;
    rc = store__get(t, T_COUPON_USERS, k, klen, &v);
    if (rc == STORE_NOTFOUND) {
        *n = 0;
        return STORE_OK;
    }
    if (rc != STORE_OK)
        return rc;
    if (v.mv_size != 4)
        return STORE_CORRUPT;
    *n = store_key_get_u32(v.mv_data);
    return STORE_OK;
}

int
store_coupon_user_put(store_txn *t, const char *code, const char *user, uint32_t n)
{
    uint8_t k[64 + 1 + 256], v[4];
    size_t klen;
    int rc = user_key(code, user, k, &klen);
    if (rc != STORE_OK)
        return rc;
    if (n == 0) {
        rc = store__del(t, T_COUPON_USERS, k, klen);
        return rc == STORE_NOTFOUND ? STORE_OK : rc;
    }
    store_key_put_u32(v, n);
    return store__put(t, T_COUPON_USERS, k, klen, v, 4);
}

int
store_rule_put(store_txn *t, const Bilheteria__V1__DiscountRule *r)
{
    return store__put_id(t, T_RULES, r->id, &r->base);
}

int
store_rule_get(store_txn *t, uint64_t id, ProtobufCAllocator *a, Bilheteria__V1__DiscountRule **out)
{
    return store__get_id(t, T_RULES, id, &bilheteria__v1__discount_rule__descriptor, a,
                         (ProtobufCMessage **)out);
}

int
store_rule_list(store_txn *t, uint64_t from_id, size_t limit, ProtobufCAllocator *a,
                store_page *out)
{
    return store__list_id(t, T_RULES, from_id, limit, &bilheteria__v1__discount_rule__descriptor, a,
                          out);
}
