/* SPDX-License-Identifier: Apache-2.0 */
/* Seats: table seats, session id + seat index -> SeatRecord. A seat with no
 * record is available; a record is a hold (expires_at_ms > 0) or a sale. */
#include <string.h>

#include "bh_varint.h"
#include "store_int.h"

static void
seat_key(uint8_t k[12], uint64_t session_id, uint32_t idx)
{
    store_key_put_u64(k, session_id);
    store_key_put_u32(k + 8, idx);
}

/* Seat records are read on every seat-map and best-N scan, so they are
 * decoded here without protobuf-c's allocations. The bytes are ordinary
 * protobuf (SeatRecord in records.proto); anything unexpected goes through
 * protobuf-c instead. */
static int
seat_decode(const MDB_val *v, store_seat *out)
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    store_seat s = { 0, 0, 0 };
    while (p < end) {
        uint64_t tag, val;
        if (bh__varint_get(&p, end, &tag) != 0 || (tag & 7) != 0 ||
            bh__varint_get(&p, end, &val) != 0)
            goto slow;
        switch (tag >> 3) {
        case 1: s.reservation_id = val; break;
        case 2: s.expires_at_ms = (int64_t)val; break;
        case 3: s.half = val != 0; break;
        default: goto slow;
        }
    }
    *out = s;
    return STORE_OK;
slow:;
    Bilheteria__Store__SeatRecord *r =
        bilheteria__store__seat_record__unpack(NULL, v->mv_size, v->mv_data);
    if (r == NULL)
        return STORE_CORRUPT;
    out->reservation_id = r->reservation_id;
    out->expires_at_ms = r->expires_at_ms;
    out->half = r->half;
    bilheteria__store__seat_record__free_unpacked(r, NULL);
    return STORE_OK;
}

int
store_seat_get(store_txn *t, uint64_t session_id, uint32_t idx, store_seat *out)
{
    uint8_t k[12];
    MDB_val v;
    seat_key(k, session_id, idx);
    int rc = store__get(t, T_SEATS, k, sizeof(k), &v);
    if (rc != STORE_OK)
        return rc;
    return seat_decode(&v, out);
}

int
store_seat_put(store_txn *t, uint64_t session_id, uint32_t idx, const store_seat *seat)
{
    uint8_t k[12];
    Bilheteria__Store__SeatRecord r = BILHETERIA__STORE__SEAT_RECORD__INIT;
    r.reservation_id = seat->reservation_id;
    r.expires_at_ms = seat->expires_at_ms;
    r.half = seat->half != 0;
    seat_key(k, session_id, idx);
    return store__put_msg(t, T_SEATS, k, sizeof(k), &r.base);
}

int
store_seat_del(store_txn *t, uint64_t session_id, uint32_t idx)
{
    uint8_t k[12];
    seat_key(k, session_id, idx);
    return store__del(t, T_SEATS, k, sizeof(k));
}

int
store_seat_scan(store_txn *t, uint64_t session_id, store_seat_fn fn, void *arg)
{
    MDB_cursor *cur = NULL;
    uint8_t k0[12];
    seat_key(k0, session_id, 0);
    int rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[T_SEATS], &cur));
    if (rc != STORE_OK)
        return rc;
    MDB_val k = { sizeof(k0), k0 }, v;
    int op = MDB_SET_RANGE, mrc;
    rc = STORE_OK;
    while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (k.mv_size != 12 || memcmp(k.mv_data, k0, 8) != 0)
            break;
        store_seat seat;
        if ((rc = seat_decode(&v, &seat)) != STORE_OK)
            break;
        if ((rc = fn(arg, store_key_get_u32((const uint8_t *)k.mv_data + 8), &seat)) != 0)
            break;
    }
    if (rc == STORE_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = store__rc(mrc);
    mdb_cursor_close(cur);
    return rc;
}
