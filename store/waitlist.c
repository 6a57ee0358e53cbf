/* SPDX-License-Identifier: Apache-2.0 */
/* Waiting lists: table waitlist (session id + seq -> WaitlistEntry), every
 * entry in arrival order; index waitlist_by_user (session id + user_id ->
 * seq) to a user's latest entry; and waitlist_waiting (session id + seq ->
 * nothing) holding the WAITING entries only, so that the offer step and a
 * position look at the line, not at its history. */
#include <string.h>

#include "bilheteria/wire.h"
#include "store_int.h"

#define USER_MAX BH_USER_ID_MAX

static void
seq_key(uint8_t k[16], uint64_t session_id, uint64_t seq)
{
    store_key_put_u64(k, session_id);
    store_key_put_u64(k + 8, seq);
}

static int
user_key(uint8_t k[8 + USER_MAX], uint64_t session_id, const char *user_id, size_t *klen)
{
    size_t n = strlen(user_id);
    if (n == 0 || n > USER_MAX)
        return STORE_INVALID;
    store_key_put_u64(k, session_id);
    memcpy(k + 8, user_id, n);
    *klen = 8 + n;
    return STORE_OK;
}

int
store_waitlist_put(store_txn *t, const Bilheteria__V1__WaitlistEntry *e, int is_new)
{
    uint8_t k[16], uk[8 + USER_MAX], v[8];
    size_t uklen;
    int rc;
    if (e->seq == 0 || e->session_id == 0)
        return STORE_INVALID;
    seq_key(k, e->session_id, e->seq);
    if ((rc = store__put_msg(t, T_WAITLIST, k, sizeof(k), &e->base)) != STORE_OK)
        return rc;
    if (e->status == BILHETERIA__V1__WAITLIST_STATUS__WAITLIST_STATUS_WAITING)
        rc = store__put(t, T_WAITLIST_WAITING, k, sizeof(k), "", 0);
    else if ((rc = store__del(t, T_WAITLIST_WAITING, k, sizeof(k))) == STORE_NOTFOUND)
        rc = STORE_OK;
    if (rc != STORE_OK || !is_new)
        return rc;
    if ((rc = user_key(uk, e->session_id, e->user_id, &uklen)) != STORE_OK)
        return rc;
    store_key_put_u64(v, e->seq);
    return store__put(t, T_WAITLIST_BY_USER, uk, uklen, v, sizeof(v));
}

int
store_waitlist_get(store_txn *t, uint64_t session_id, uint64_t seq, ProtobufCAllocator *a,
                   Bilheteria__V1__WaitlistEntry **out)
{
    uint8_t k[16];
    seq_key(k, session_id, seq);
    return store__get_msg(t, T_WAITLIST, k, sizeof(k), &bilheteria__v1__waitlist_entry__descriptor,
                          a, (ProtobufCMessage **)out);
}

int
store_waitlist_find(store_txn *t, uint64_t session_id, const char *user_id, ProtobufCAllocator *a,
                    Bilheteria__V1__WaitlistEntry **out)
{
    uint8_t uk[8 + USER_MAX];
    size_t uklen;
    MDB_val v;
    int rc = user_key(uk, session_id, user_id, &uklen);
    if (rc != STORE_OK || (rc = store__get(t, T_WAITLIST_BY_USER, uk, uklen, &v)) != STORE_OK)
        return rc;
    if (v.mv_size != 8)
        return STORE_CORRUPT;
    return store_waitlist_get(t, session_id, store_key_get_u64(v.mv_data), a, out);
}

/* Walks the session's WAITING keys from the first; fn returns nonzero to
 * stop. */
static int
waiting_walk(store_txn *t, uint64_t session_id, int (*fn)(void *arg, uint64_t seq), void *arg)
{
    MDB_cursor *cur = NULL;
    uint8_t k0[16];
    seq_key(k0, session_id, 0);
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_WAITLIST_WAITING], &cur));
    if (rc != STORE_OK)
        return rc;
    MDB_val k = { sizeof(k0), k0 }, v;
    int op = MDB_SET_RANGE, mrc;
    while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (k.mv_size != 16 || memcmp(k.mv_data, k0, 8) != 0)
            break;
        if (fn(arg, store_key_get_u64((const uint8_t *)k.mv_data + 8)) != 0)
            break;
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = store__rc(mrc);
    mdb_cursor_close(cur);
    return rc;
}

struct first_n {
    uint64_t *seqs;
    size_t max, n;
};

static int
take_seq(void *arg, uint64_t seq)
{
    struct first_n *f = arg;
    if (f->n == f->max)
        return 1;
    f->seqs[f->n++] = seq;
    return f->n == f->max;
}

int
store_waitlist_waiting(store_txn *t, uint64_t session_id, uint64_t *seqs, size_t max, size_t *n)
{
    struct first_n f = { seqs, max, 0 };
    *n = 0;
    if (max == 0)
        return STORE_OK;
    int rc = waiting_walk(t, session_id, take_seq, &f);
    if (rc == STORE_OK)
        *n = f.n;
    return rc;
}

struct count_to {
    uint64_t seq;
    uint32_t n;
};

static int
count_seq(void *arg, uint64_t seq)
{
    struct count_to *c = arg;
    if (seq > c->seq)
        return 1;
    c->n++;
    return 0;
}

int
store_waitlist_position(store_txn *t, uint64_t session_id, uint64_t seq, uint32_t *pos)
{
    struct count_to c = { seq, 0 };
    int rc = waiting_walk(t, session_id, count_seq, &c);
    if (rc == STORE_OK)
        *pos = c.n;
    return rc;
}

int
store_waitlist_list(store_txn *t, uint64_t session_id, uint64_t from_seq, size_t limit,
                    ProtobufCAllocator *a, store_page *out)
{
    uint8_t prefix[8];
    store_key_put_u64(prefix, session_id);
    return store__list_index(t, T_WAITLIST, prefix, sizeof(prefix), from_seq, 0, limit, T_WAITLIST,
                             &bilheteria__v1__waitlist_entry__descriptor, a, out);
}
