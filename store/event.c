/* SPDX-License-Identifier: Apache-2.0 */
/* Events: table events, id -> Event. */
#include "store_int.h"

int
store_event_put(store_txn *t, const Bilheteria__V1__Event *ev)
{
    return store__put_id(t, T_EVENTS, ev->id, &ev->base);
}

int
store_event_get(store_txn *t, uint64_t id, ProtobufCAllocator *a, Bilheteria__V1__Event **out)
{
    return store__get_id(t, T_EVENTS, id, &bilheteria__v1__event__descriptor, a,
                         (ProtobufCMessage **)out);
}

int
store_event_list(store_txn *t, uint64_t from_id, size_t limit, ProtobufCAllocator *a,
                 store_page *out)
{
    return store__list_id(t, T_EVENTS, from_id, limit, &bilheteria__v1__event__descriptor, a, out);
}

int
store_event_list_raw(store_txn *t, uint64_t from_id, size_t limit, ProtobufCAllocator *a,
                     store_page *out)
{
    return store__list_id(t, T_EVENTS, from_id, limit, NULL, a, out);
}
