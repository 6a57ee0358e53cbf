/* SPDX-License-Identifier: Apache-2.0 */
/* Products: table products, id -> Product (stock kept in the record). */
#include "store_int.h"

int
store_product_put(store_txn *t, const Bilheteria__V1__Product *p)
{
    return store__put_id(t, T_PRODUCTS, p->id, &p->base);
}

int
store_product_get(store_txn *t, uint64_t id, ProtobufCAllocator *a, Bilheteria__V1__Product **out)
{
    return store__get_id(t, T_PRODUCTS, id, &bilheteria__v1__product__descriptor, a,
                         (ProtobufCMessage **)out);
}

int
store_product_list(store_txn *t, uint64_t from_id, size_t limit, ProtobufCAllocator *a,
                   store_page *out)
{
    return store__list_id(t, T_PRODUCTS, from_id, limit, &bilheteria__v1__product__descriptor, a,
                          out);
}
