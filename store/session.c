/* SPDX-License-Identifier: Apache-2.0 */
/* Sessions: table sessions (id -> Session), index sessions_by_event
 * (event id + session id -> nothing) and session_state (id -> counters). */
#include "store_int.h"

int
store_session_put(store_txn *t, const Bilheteria__V1__Session *s)
{
    uint8_t k[16];
    int rc = store__put_id(t, T_SESSIONS, s->id, &s->base);
    if (rc != STORE_OK)
        return rc;
    store_key_put_u64(k, s->event_id);
    store_key_put_u64(k + 8, s->id);
    return store__put(t, T_SESS_BY_EVENT, k, sizeof(k), "", 0);
}

int
store_session_get(store_txn *t, uint64_t id, ProtobufCAllocator *a, Bilheteria__V1__Session **out)
{
    return store__get_id(t, T_SESSIONS, id, &bilheteria__v1__session__descriptor, a,
                         (ProtobufCMessage **)out);
}

static int
list(store_txn *t, uint64_t event_id, uint64_t from_id, size_t limit,
     const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a, store_page *out)
{
    if (event_id == 0)
        return store__list_id(t, T_SESSIONS, from_id, limit, d, a, out);
    uint8_t prefix[8];
    store_key_put_u64(prefix, event_id);
    return store__list_index(t, T_SESS_BY_EVENT, prefix, 8, from_id, 0, limit, T_SESSIONS, d, a,
                             out);
}

int
store_session_list(store_txn *t, uint64_t event_id, uint64_t from_id, size_t limit,
                   ProtobufCAllocator *a, store_page *out)
{
    return list(t, event_id, from_id, limit, &bilheteria__v1__session__descriptor, a, out);
}

int
store_session_list_raw(store_txn *t, uint64_t event_id, uint64_t from_id, size_t limit,
                       ProtobufCAllocator *a, store_page *out)
{
    return list(t, event_id, from_id, limit, NULL, a, out);
}

int
store_session_state_get(store_txn *t, uint64_t id, uint32_t *half_used)
{
    uint8_t k[8];
    MDB_val v;
    store_key_put_u64(k, id);
    int rc = store__get(t, T_SESS_STATE, k, 8, &v);
    if (rc == STORE_NOTFOUND) {
        *half_used = 0;
        return STORE_OK;
    }
    if (rc != STORE_OK)
        return rc;
    Bilheteria__Store__SessionState *st =
        bilheteria__store__session_state__unpack(NULL, v.mv_size, v.mv_data);
    if (st == NULL)
        return STORE_CORRUPT;
    *half_used = st->half_used;
    bilheteria__store__session_state__free_unpacked(st, NULL);
    return STORE_OK;
}

int
store_session_state_put(store_txn *t, uint64_t id, uint32_t half_used)
{
    uint8_t k[8];
    Bilheteria__Store__SessionState st = BILHETERIA__STORE__SESSION_STATE__INIT;
    st.half_used = half_used;
    store_key_put_u64(k, id);
    return store__put_msg(t, T_SESS_STATE, k, 8, &st.base);
}
