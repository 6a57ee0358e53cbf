/* SPDX-License-Identifier: Apache-2.0 */
/* Report counters: table sales_counters ((event, session, day, zone) ->
 * CounterRecord) and table copurchase ((scope, a, b) -> 8-byte count). The
 * store keeps and walks them; what they count is the server's (report.c,
 * recommend.c). */
#include <string.h>

#include "store_int.h"

#define SALES_KEY_LEN 24
#define COP_KEY_LEN   24

static void
sales_key(uint8_t *p, uint64_t event_id, uint64_t session_id, uint32_t day, uint32_t zone)
{
    store_key_put_u64(p, event_id);
    store_key_put_u64(p + 8, session_id);
    store_key_put_u32(p + 16, day);
    store_key_put_u32(p + 20, zone);
}

/* Copies an unpacked record into *out: scalars only, unknown fields left
 * behind (they are freed with the record). */
static int
sales_decode(const MDB_val *v, Bilheteria__Store__CounterRecord *out)
{
    Bilheteria__Store__CounterRecord *c =
        bilheteria__store__counter_record__unpack(NULL, v->mv_size, v->mv_data);
    if (c == NULL)
        return STORE_CORRUPT;
    *out = *c;
    out->base.n_unknown_fields = 0;
    out->base.unknown_fields = NULL;
    bilheteria__store__counter_record__free_unpacked(c, NULL);
    return STORE_OK;
}

int
store_sales_get(store_txn *t, const store_sales_key *key, Bilheteria__Store__CounterRecord *out)
{
    uint8_t k[SALES_KEY_LEN];
    MDB_val v;
    sales_key(k, key->event_id, key->session_id, key->day, key->zone);
    int rc = store__get(t, T_SALES, k, sizeof(k), &v);
    if (rc == STORE_NOTFOUND) {
        Bilheteria__Store__CounterRecord zero = BILHETERIA__STORE__COUNTER_RECORD__INIT;
        *out = zero;
        return STORE_OK;
    }
    return rc != STORE_OK ? rc : sales_decode(&v, out);
}

int
store_sales_put(store_txn *t, const store_sales_key *key, const Bilheteria__Store__CounterRecord *c)
{
    uint8_t k[SALES_KEY_LEN];
    sales_key(k, key->event_id, key->session_id, key->day, key->zone);
    return store__put_msg(t, T_SALES, k, sizeof(k), &c->base);
}

int
store_sales_del(store_txn *t, const store_sales_key *key)
{
    uint8_t k[SALES_KEY_LEN];
    sales_key(k, key->event_id, key->session_id, key->day, key->zone);
    int rc = store__del(t, T_SALES, k, sizeof(k));
    return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

int
store_sales_scan(store_txn *t, uint64_t event_id, uint64_t session_id, uint32_t from_day,
                 uint32_t to_day, store_sales_fn fn, void *arg)
{
    MDB_cursor *cur = NULL;
    uint8_t k0[SALES_KEY_LEN];
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_SALES], &cur));
    if (rc != STORE_OK)
        return rc;
    /* Seek to (session, from_day) of each session in turn: the rows read
     * are those in the range, plus one per session to find the next. */
    uint64_t sess = session_id;
    int mrc = MDB_NOTFOUND, done = from_day >= to_day;
    while (!done) {
        sales_key(k0, event_id, sess, from_day, 0);
        MDB_val k = { sizeof(k0), k0 }, v;
        int op = MDB_SET_RANGE;
        done = 1; /* unless a seek is wanted */
        while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == MDB_SUCCESS) {
            op = MDB_NEXT;
            const uint8_t *p = k.mv_data;
            if (k.mv_size != SALES_KEY_LEN || store_key_get_u64(p) != event_id)
                break;
            store_sales_key sk = { event_id, store_key_get_u64(p + 8), store_key_get_u32(p + 16),
                                   store_key_get_u32(p + 20) };
            if (sk.session_id != sess) {
                if (session_id != 0)
                    break;
                sess = sk.session_id;
                if (sk.day < from_day) {
                    done = 0; /* seek into its range */
                    break;
                }
            }
            if (sk.day >= to_day) {
                if (session_id == 0 && sess != UINT64_MAX) {
                    sess++;
                    done = 0;
                }
                break;
            }
            Bilheteria__Store__CounterRecord c;
            if ((rc = sales_decode(&v, &c)) != STORE_OK || (rc = fn(arg, &sk, &c)) != 0) {
                done = 1;
                break;
            }
        }
        if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
            done = 1;
    }
    if (rc == STORE_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = store__rc(mrc);
    mdb_cursor_close(cur);
    return rc;
}

static void
cop_key(uint8_t *p, uint64_t scope, uint64_t a, uint64_t b)
{
    store_key_put_u64(p, scope);
    store_key_put_u64(p + 8, a);
    store_key_put_u64(p + 16, b);
}

int
store_copurchase_get(store_txn *t, uint64_t scope, uint64_t a, uint64_t b, uint64_t *n)
{
    uint8_t k[COP_KEY_LEN];
    MDB_val v;
    cop_key(k, scope, a, b);
    int rc = store__get(t, T_COPURCHASE, k, sizeof(k), &v);
    if (rc == STORE_NOTFOUND) {
        *n = 0;
        return STORE_OK;
    }
    if (rc != STORE_OK)
        return rc;
    if (v.mv_size != 8)
        return STORE_CORRUPT;
    *n = store_key_get_u64(v.mv_data);
    return STORE_OK;
}

int
store_copurchase_add(store_txn *t, uint64_t scope, uint64_t a, uint64_t b, int64_t delta)
{
    uint64_t n;
    uint8_t k[COP_KEY_LEN], v[8];
    int rc = store_copurchase_get(t, scope, a, b, &n);
    if (rc != STORE_OK)
        return rc;
    n = delta < 0 && (uint64_t)-delta > n ? 0 : n + (uint64_t)delta;
    cop_key(k, scope, a, b);
    store_key_put_u64(v, n);
    return store__put(t, T_COPURCHASE, k, sizeof(k), v, sizeof(v));
}

int
store_copurchase_scan(store_txn *t, uint64_t scope, uint64_t a, size_t max, store_copurchase_fn fn,
                      void *arg)
{
    MDB_cursor *cur = NULL;
    uint8_t k0[COP_KEY_LEN];
    size_t seen = 0;
    cop_key(k0, scope, a, 1);
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_COPURCHASE], &cur));
    if (rc != STORE_OK)
        return rc;
    MDB_val k = { sizeof(k0), k0 }, v;
    int op = MDB_SET_RANGE, mrc = MDB_NOTFOUND;
    while (seen < max && (mrc = mdb_cursor_get(cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (k.mv_size != COP_KEY_LEN || memcmp(k.mv_data, k0, 16) != 0)
            break;
        if (v.mv_size != 8) {
            rc = STORE_CORRUPT;
            break;
        }
        seen++;
        if ((rc = fn(arg, store_key_get_u64((const uint8_t *)k.mv_data + 16),
                     store_key_get_u64(v.mv_data))) != 0)
            break;
    }
    if (rc == STORE_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = store__rc(mrc);
    mdb_cursor_close(cur);
    return rc;
}
