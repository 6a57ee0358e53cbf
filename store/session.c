/* SPDX-License-Identifier: Apache-2.0 */
/* Sessions: table sessions (id -> Session), index sessions_by_event
 * (event id + session id -> nothing), session_state (id -> counters) and
 * user_seats (session id + user id -> UserSeats). */
#include <string.h>

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

/* Session id + user id; 0 if the user id does not fit a key. */
static size_t
user_key(uint8_t *k, size_t cap, uint64_t session_id, const char *user_id)
{
    size_t n = strlen(user_id);
    if (8 + n > cap)
        return 0;
    store_key_put_u64(k, session_id);
    memcpy(k + 8, user_id, n);
    return 8 + n;
}

#define USER_KEY_MAX 400 /* under LMDB's 511-byte key limit */

int
store_user_seats_get(store_txn *t, uint64_t session_id, const char *user_id, uint32_t *seats)
{
    uint8_t k[USER_KEY_MAX];
    MDB_val v;
    size_t klen = user_key(k, sizeof(k), session_id, user_id);
    if (klen == 0)
        return STORE_INVALID;
    int rc = store__get(t, T_USER_SEATS, k, klen, &v);
    if (rc == STORE_NOTFOUND) {
        *seats = 0;
        return STORE_OK;
    }
    if (rc != STORE_OK)
        return rc;
    Bilheteria__Store__UserSeats *us =
        bilheteria__store__user_seats__unpack(NULL, v.mv_size, v.mv_data);
    if (us == NULL)
        return STORE_CORRUPT;
    *seats = us->seats;
    bilheteria__store__user_seats__free_unpacked(us, NULL);
    return STORE_OK;
}

int
store_user_seats_put(store_txn *t, uint64_t session_id, const char *user_id, uint32_t seats)
{
    uint8_t k[USER_KEY_MAX];
    size_t klen = user_key(k, sizeof(k), session_id, user_id);
    if (klen == 0)
        return STORE_INVALID;
    if (seats == 0) {
        int rc = store__del(t, T_USER_SEATS, k, klen);
        return rc == STORE_NOTFOUND ? STORE_OK : rc;
    }
    Bilheteria__Store__UserSeats us = BILHETERIA__STORE__USER_SEATS__INIT;
    us.seats = seats;
    return store__put_msg(t, T_USER_SEATS, k, klen, &us.base);
}

int
store_user_seats_clear(store_txn *t, uint64_t session_id)
{
    MDB_cursor *cur = NULL;
    uint8_t prefix[8];
    MDB_val k = { sizeof(prefix), prefix }, v;
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_USER_SEATS], &cur)), mrc;
    if (rc != STORE_OK)
        return rc;
    store_key_put_u64(prefix, session_id);
    /* Seek the prefix again after each delete (as the feed's trim does). */
    while ((mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) == MDB_SUCCESS && k.mv_size >= 8 &&
           memcmp(k.mv_data, prefix, 8) == 0) {
        if ((mrc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
            break;
        k.mv_size = sizeof(prefix);
        k.mv_data = prefix;
    }
    mdb_cursor_close(cur);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND ? STORE_OK : store__rc(mrc);
}
