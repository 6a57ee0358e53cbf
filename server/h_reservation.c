/* ReservationService: seat holds with add-ons, their expiry and cancel.
 *
 * A seat is held by writing its record (reservation id, expiry); sold seats
 * have expiry 0. A hold whose expiry has passed counts as free everywhere at
 * once: reads show it available and a new hold may take it over. The
 * sweeper (srv_resv_sweep, run by the writer) turns lapsed PENDING
 * reservations into EXPIRED and gives back their seats, meia-entrada quota
 * and product stock; a release only deletes seat records that still belong
 * to the reservation being released. */
#include <stdio.h>
#include <stdlib.h>
#include <endian.h>
#include <string.h>

#include "bilheteria/v1/rpc.pb-c.h"
#include "resv.h"
#include "seatcache.h"
#include "srv.h"

#define E_INVALID  BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT
#define E_PRECOND  BILHETERIA__V1__STATUS_CODE__FAILED_PRECONDITION
#define E_NOTFOUND BILHETERIA__V1__STATUS_CODE__NOT_FOUND
#define E_NOMEM    BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED
#define ITEMS_MAX  20
#define QTY_MAX    1000
#define USER_MAX   128

static int
seat_free(const store_seat *s, int64_t now)
{
    return s->expires_at_ms != 0 && s->expires_at_ms <= now;
}

int
srv_resv_seat_index(const Bilheteria__V1__Session *s, const char *label, uint32_t *idx)
{
    uint32_t row, seat;
    if (srv_seat_parse(label, &row, &seat) != 0 || row >= s->rows || seat >= s->seats_per_row)
        return -1;
    *idx = row * s->seats_per_row + seat;
    return 0;
}

const char *
srv_resv_status_name(int status)
{
    const char *name = bh_enum_name(&bilheteria__v1__reservation_status__descriptor, status);

    return name != NULL ? name : "UNSPECIFIED";
}

/* What a reader sees: a PENDING hold past its expiry is EXPIRED already. */
void
srv_resv_view(Bilheteria__V1__Reservation *r, int64_t now)
{
    if (r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING &&
        r->expires_at_ms <= now)
        r->status = BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_EXPIRED;
}

static uint32_t
count_half(const Bilheteria__V1__Reservation *r)
{
    uint32_t n = 0;
    for (size_t i = 0; i < r->n_seats; i++)
        n += r->seats[i]->type == BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA;
    return n;
}

/* Adds delta to the session's meia-entrada count. */
static int
half_adjust(store_txn *t, uint64_t session_id, int64_t delta)
{
    uint32_t used;
    int rc = store_session_state_get(t, session_id, &used);
    if (rc != STORE_OK || delta == 0)
        return rc;
    int64_t v = (int64_t)used + delta;
    return store_session_state_put(t, session_id, v < 0 ? 0 : (uint32_t)v);
}

/* Adds sign * quantity of each tracked item back to (or out of) stock. */
static int
stock_adjust(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r, int sign)
{
    for (size_t i = 0; i < r->n_items; i++) {
        Bilheteria__V1__Product *p = NULL;
        int rc = store_product_get(t, r->items[i]->product_id, a, &p);
        if (rc == STORE_NOTFOUND)
            continue;
        if (rc != STORE_OK)
            return rc;
        if (!p->stock_tracked)
            continue;
        p->stock += sign * r->items[i]->quantity;
        if ((rc = store_product_put(t, p)) != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

int
srv_resv_release(store_txn *t, srv_seatcache *sc, ProtobufCAllocator *a,
                 Bilheteria__V1__Reservation *r, int new_status, int64_t now)
{
    Bilheteria__V1__Session *s = NULL;
    int rc = store_session_get(t, r->session_id, a, &s);
    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; i < r->n_seats; i++) {
        uint32_t idx;
        store_seat seat;
        if (srv_resv_seat_index(s, r->seats[i]->label, &idx) != 0)
            continue;
        rc = store_seat_get(t, s->id, idx, &seat);
        if (rc == STORE_NOTFOUND || (rc == STORE_OK && seat.reservation_id != r->id))
            continue;
        if (rc != STORE_OK || (rc = srv_seat_del(sc, t, s->id, idx)) != STORE_OK)
            return rc;
    }
    if ((rc = half_adjust(t, s->id, -(int64_t)count_half(r))) != STORE_OK ||
        (rc = stock_adjust(t, a, r, +1)) != STORE_OK ||
        (rc = store_resv_expiry_del(t, r->expires_at_ms, r->id)) != STORE_OK)
        return rc;
    r->status = new_status;
    r->updated_at_ms = now;
    return store_resv_put(t, r, 0);
}

int
srv_resv_sweep(store_txn *t, srv_seatcache *sc, srv_arena *a, int64_t now_ms, size_t max, size_t *n)
{
    int64_t exp[64];
    uint64_t ids[64];
    size_t got, done = 0;
    int rc = STORE_OK;
    *n = 0;
    while (done < max) {
        size_t want = max - done < 64 ? max - done : 64;
        if ((rc = store_resv_expired(t, now_ms, exp, ids, want, &got)) != STORE_OK || got == 0)
            break;
        for (size_t i = 0; i < got; i++) {
            /* Each release in its own nested transaction: one that fails
             * half-way leaves nothing half-done behind. */
            store_txn *child = NULL;
            Bilheteria__V1__Reservation *r = NULL;
            if ((rc = store_nested_begin(t, &child)) != STORE_OK)
                return rc;
            rc = store_resv_get(child, ids[i], &a->pc, &r);
            if (rc == STORE_OK &&
                r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING &&
                r->expires_at_ms == exp[i]) {
                rc = srv_resv_release(
                    child, sc, &a->pc, r,
                    BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_EXPIRED, now_ms);
            } else if (rc == STORE_OK || rc == STORE_NOTFOUND) {
                rc = store_resv_expiry_del(child, exp[i], ids[i]); /* a stale entry */
            }
            if (rc == STORE_OK) {
                if ((rc = store_commit(child)) != STORE_OK)
                    return rc;
                continue;
            }
            store_abort(child);
            if (rc != STORE_CORRUPT && rc != STORE_NOTFOUND && rc != STORE_INVALID)
                return rc; /* about the transaction, not this record */
            /* A record that cannot be released must not block every later
             * one: log it and take it off the expiry index. */
            fprintf(stderr,
                    "bilheteria-server: cannot expire reservation %llu (%s); left as it is\n",
                    (unsigned long long)ids[i], store_strerror(rc));
            if ((rc = store_resv_expiry_del(t, exp[i], ids[i])) != STORE_OK)
                return rc;
        }
        done += got;
        if (got < want)
            break;
    }
    *n = done;
    return rc;
}

/* ---- choosing the best N adjacent seats ---- */

struct build_map {
    uint8_t *taken; /* bit idx%8 of byte idx/8, 1 = taken */
    uint32_t capacity;
    int64_t now;
};

static int
mark_taken(void *arg, uint32_t idx, const store_seat *seat)
{
    struct build_map *m = arg;
    if (idx < m->capacity && !seat_free(seat, m->now))
        m->taken[idx / 8] |= (uint8_t)(1u << (idx % 8));
    return 0;
}

static int
is_taken(const uint8_t *bits, uint32_t idx)
{
    return (bits[idx / 8] >> (idx % 8)) & 1;
}

/* A block's score: see srv_resv_pick_best. */
static uint64_t
block_score(const uint8_t *bits, uint32_t base, uint32_t per, uint32_t n, int64_t dr,
            uint32_t start)
{
    int64_t ds = 2 * (int64_t)start + n - 1 - (int64_t)(per - 1);
    uint64_t score = (uint64_t)(dr * dr + ds * ds);
    /* A lone free seat just left or right of the block. */
    if (start >= 1 && !is_taken(bits, base + start - 1) &&
        (start == 1 || is_taken(bits, base + start - 2)))
        score += SRV_ORPHAN_PENALTY;
    uint32_t end = start + n; /* first seat after the block */
    if (end < per && !is_taken(bits, base + end) &&
        (end + 1 == per || is_taken(bits, base + end + 1)))
        score += SRV_ORPHAN_PENALTY;
    return score;
}

/* A word with its low n bits set (n <= 64). */
static uint64_t
low_bits(uint32_t n)
{
    return n < 64 ? ((uint64_t)1 << n) - 1 : ~(uint64_t)0;
}

/* The states of the row's seats from `seat` on, seat `seat` in bit 0 (1 =
 * taken): *valid (at least 57, fewer only at the row's end) say how many. */
static uint64_t
seat_word(const uint8_t *bits, uint32_t base, uint32_t per, uint32_t seat, uint32_t *valid)
{
    uint32_t idx = base + seat, first = idx / 8, shift = idx % 8;
    uint32_t last = (base + per - 1) / 8; /* the row's last byte */
    uint64_t w = 0;
    if (last - first >= 7) {
        memcpy(&w, bits + first, 8);
        w = le64toh(w);
        *valid = 64 - shift;
    } else {
        for (uint32_t k = 0; k <= last - first; k++)
            w |= (uint64_t)bits[first + k] << (8 * k);
        *valid = (last - first + 1) * 8 - shift;
    }
    if (*valid > per - seat)
        *valid = per - seat;
    return (w >> shift) & low_bits(*valid);
}

/* The first seat from `seat` on (up to per) whose state is not `taken`. */
static uint32_t
skip_while(const uint8_t *bits, uint32_t base, uint32_t per, uint32_t seat, int taken)
{
    while (seat < per) {
        uint32_t valid;
        uint64_t w = seat_word(bits, base, per, seat, &valid);
        uint64_t other = (taken ? ~w : w) & low_bits(valid); /* 1 where the state differs */
        if (other != 0)
            return seat + (uint32_t)__builtin_ctzll(other);
        seat += valid;
    }
    return per;
}

/* Whether the row holds n adjacent free seats, looked at 57 seats at a time
 * (windows overlapping by n - 1): a rush spends most of a pick on the rows
 * it has filled, or left with single seats, nearer the middle. Says yes,
 * so the row is scanned, for blocks too long to look at this way. */
static int
row_has_block(const uint8_t *bits, uint32_t base, uint32_t per, uint32_t n)
{
    if (n > 32)
        return 1;
    for (uint32_t seat = 0; seat + n <= per;) {
        uint32_t valid;
        uint64_t w = seat_word(bits, base, per, seat, &valid);
        uint64_t free = ~w & low_bits(valid);
        uint64_t starts = free; /* bit i: seats i..i+k free, for k up to n - 1 */
        for (uint32_t k = 1; k < n && starts != 0; k++)
            starts &= free >> k;
        if (starts != 0)
            return 1;
        seat += valid - (n - 1); /* valid >= n here: seat + n <= per */
    }
    return 0;
}

/*
 * Scores a block by the squared distance of its centre from the centre of
 * the room, in half-seat units: rows and seats weigh alike, so a centred
 * block two rows off the middle beats one in the middle row pushed to the
 * wall. A block that would leave a single free seat stranded between it and
 * a taken seat or the wall adds SRV_ORPHAN_PENALTY per such seat (nobody
 * buying two can use it): worth shifting the block up to two seats.
 * Ties go to the block nearer the front (lower row), then the left.
 * Rows are visited outward from the middle and the search stops when the
 * row distance alone cannot beat the best found.
 *
 * Within a row only the free runs are visited, and in a run only the starts
 * near the row's centre (clamped into the run): the distance part of the
 * score grows away from the centre, and the penalty falls on at most two
 * starts of a run (one seat in from either end), so a start more than a few
 * seats farther out always loses to one nearer in. tests/unit/test_best.c
 * checks this against scoring every block.
 */
int
srv_resv_pick_best(const Bilheteria__V1__Session *s, const uint8_t *bits, uint32_t n, uint32_t *out)
{
    uint64_t best = UINT64_MAX;
    uint32_t best_idx = 0, rows = s->rows, per = s->seats_per_row;
    if (n == 0 || n > per)
        return -1;
    uint32_t centre = (per - n) / 2; /* the start with the block centred (rounded down) */
    for (uint32_t k = 0; k < rows; k++) {
        /* Rows by distance from the middle, the front one first on a tie. */
        int64_t row;
        if (rows % 2 == 1) {
            int64_t mid = (rows - 1) / 2;
            row = k == 0 ? mid : (k % 2 ? mid - (k + 1) / 2 : mid + k / 2);
        } else {
            int64_t lo = rows / 2 - 1;
            row = k % 2 == 0 ? lo - k / 2 : lo + 1 + k / 2;
        }
        int64_t dr = 2 * row - (int64_t)(rows - 1);
        if ((uint64_t)(dr * dr) > best)
            break;
        uint32_t base = (uint32_t)row * per, seat = 0;
        if (!row_has_block(bits, base, per, n))
            continue;
        while (seat < per) {
            uint32_t a = skip_while(bits, base, per, seat, 1); /* first free */
            uint32_t b = skip_while(bits, base, per, a, 0);    /* first taken after */
            seat = b;
            if (b - a < n)
                continue;
            uint32_t lo = a, hi = b - n; /* the run's possible starts */
            uint32_t c = centre < lo ? lo : centre > hi ? hi : centre;
            /* No start of this run scores under its distance part at c. */
            int64_t dc = 2 * (int64_t)c + n - 1 - (int64_t)(per - 1);
            if ((uint64_t)(dr * dr + dc * dc) > best)
                continue;
            uint32_t from = c - lo > 3 ? c - 3 : lo, to = hi - c > 4 ? c + 4 : hi;
            for (uint32_t start = from; start <= to; start++) {
                uint64_t score = block_score(bits, base, per, n, dr, start);
                if (score < best || (score == best && base + start < best_idx)) {
                    best = score;
                    best_idx = base + start;
                }
            }
        }
    }
    if (best == UINT64_MAX)
        return -1;
    *out = best_idx;
    return 0;
}

/* ---- handlers ---- */

static int
load_resv(srv_call *c, store_txn *t, uint64_t id, Bilheteria__V1__Reservation **out)
{
    if (id == 0)
        return srv_fail(c, E_INVALID, "id is required");
    int rc = store_resv_get(t, id, &c->arena->pc, out);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, E_NOTFOUND, "reservation %llu does not exist", (unsigned long long)id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "reservation");
    return 0;
}

static int
validate_create(srv_call *c, const Bilheteria__V1__CreateReservationRequest *r, uint32_t *n_seats,
                int64_t *ttl_ms)
{
    if (srv_check_str(c, "user_id", r->user_id, USER_MAX, 1))
        return c->code;
    if (r->session_id == 0)
        return srv_fail(c, E_INVALID, "session_id is required");
    if (r->n_seats > 0 && r->best > 0)
        return srv_fail(c, E_INVALID, "give either seats (%zu listed) or best (%u), not both",
                        r->n_seats, r->best);
    size_t n = r->n_seats ? r->n_seats : r->best;
    if (n == 0)
        return srv_fail(c, E_INVALID, "no seats asked: give seats (\"A1\", ...) or best > 0");
    if (n > c->cfg->max_seats)
        return srv_fail(c, E_INVALID, "%zu seats asked; at most %u per reservation", n,
                        c->cfg->max_seats);
    if (r->half_price > n)
        return srv_fail(c, E_INVALID, "half_price %u is more than the %zu seats asked",
                        r->half_price, n);
    if (r->n_items > ITEMS_MAX)
        return srv_fail(c, E_INVALID, "%zu items; at most %d", r->n_items, ITEMS_MAX);
    for (size_t i = 0; i < r->n_items; i++) {
        const Bilheteria__V1__ItemRequest *it = r->items[i];
        if (it->product_id == 0)
            return srv_fail(c, E_INVALID, "items[%zu].product_id is required", i);
        if (it->quantity <= 0 || it->quantity > QTY_MAX)
            return srv_fail(c, E_INVALID,
                            "items[%zu].quantity must be in 1..%d, got %d (product %llu)", i,
                            QTY_MAX, it->quantity, (unsigned long long)it->product_id);
        for (size_t j = 0; j < i; j++)
            if (r->items[j]->product_id == it->product_id)
                return srv_fail(c, E_INVALID, "product %llu is listed twice in items",
                                (unsigned long long)it->product_id);
    }
    int64_t max_ttl = c->cfg->hold_ttl_ms;
    if (r->ttl_s < 0)
        return srv_fail(c, E_INVALID,
                        "ttl_s must not be negative (0 = the server's default), got %d", r->ttl_s);
    if ((int64_t)r->ttl_s * 1000 > max_ttl)
        return srv_fail(c, E_INVALID, "ttl_s %d is above the server's longest hold of %lld s",
                        r->ttl_s, (long long)(max_ttl / 1000));
    *ttl_ms = r->ttl_s ? (int64_t)r->ttl_s * 1000 : max_ttl;
    *n_seats = (uint32_t)n;
    return 0;
}

/* The taken map for best-N: the writer's cache when there is one (it is),
 * else a scan of the session's seat records. */
static const uint8_t *
taken_map(srv_call *c, store_txn *t, const Bilheteria__V1__Session *s, int rebuild, int *stale)
{
    int rc;
    *stale = 0;
    if (c->seats != NULL) {
        const uint8_t *m = srv_seatcache_get(c->seats, t, s, c->now_ms, rebuild, stale, &rc);
        if (m == NULL)
            srv_store_fail(c, rc, "seats");
        return m;
    }
    struct build_map bm = { srv_arena_alloc(c->arena, s->capacity / 8 + 1), s->capacity,
                            c->now_ms };
    if (bm.taken == NULL) {
        srv_fail(c, E_NOMEM, "out of memory");
        return NULL;
    }
    memset(bm.taken, 0, s->capacity / 8 + 1);
    if ((rc = store_seat_scan(t, s->id, mark_taken, &bm)) != STORE_OK) {
        srv_store_fail(c, rc, "seats");
        return NULL;
    }
    return bm.taken;
}

static int
pick_best(srv_call *c, store_txn *t, const Bilheteria__V1__Session *s, uint32_t n, uint32_t *idx)
{
    int stale;
    uint32_t start;
    for (int attempt = 0; attempt < 2; attempt++) {
        const uint8_t *taken = taken_map(c, t, s, attempt > 0, &stale);
        if (taken == NULL)
            return c->code;
        if (srv_resv_pick_best(s, taken, n, &start) != 0) {
            if (stale && attempt == 0)
                continue; /* a lapsed hold may have left room: look again */
            return srv_fail(c, E_PRECOND,
                            "no %u adjacent free seats left in one row of session %llu", n,
                            (unsigned long long)s->id);
        }
        /* Trust, but verify: the seats picked must be free in the store. */
        int ok = 1;
        for (uint32_t i = 0; i < n && ok; i++) {
            store_seat seat;
            int rc = store_seat_get(t, s->id, start + i, &seat);
            if (rc == STORE_OK && !seat_free(&seat, c->now_ms))
                ok = 0;
            else if (rc != STORE_OK && rc != STORE_NOTFOUND)
                return srv_store_fail(c, rc, "seat");
        }
        if (ok) {
            for (uint32_t i = 0; i < n; i++)
                idx[i] = start + i;
            return 0;
        }
    }
    return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INTERNAL,
                    "seat cache of session %llu disagrees with the store",
                    (unsigned long long)s->id);
}

/* Fills idx[] with the seats asked, checking labels, layout, duplicates and
 * that each is free. */
static int
resolve_seats(srv_call *c, store_txn *t, const Bilheteria__V1__CreateReservationRequest *r,
              const Bilheteria__V1__Session *s, uint32_t n, uint32_t *idx)
{
    char last_row[4];
    srv_row_label(s->rows - 1, last_row);
    if (r->best > 0) {
        if (n > s->seats_per_row) /* the layout never changes: as a label outside it */
            return srv_fail(c, E_INVALID, "no row of session %llu has %u seats (rows have %u)",
                            (unsigned long long)s->id, n, s->seats_per_row);
        return pick_best(c, t, s, n, idx);
    }
    /* Every label is checked before any seat is looked up, so a typo is
     * reported as such even when another seat of the list is taken. */
    for (uint32_t i = 0; i < n; i++) {
        const char *label = r->seats[i];
        if (srv_resv_seat_index(s, label, &idx[i]) != 0)
            return srv_fail(c, E_INVALID,
                            "seat \"%.20s\" is not in session %llu (rows A-%s, seats 1-%u)", label,
                            (unsigned long long)s->id, last_row, s->seats_per_row);
        for (uint32_t j = 0; j < i; j++)
            if (idx[j] == idx[i])
                return srv_fail(c, E_INVALID, "seat %s is listed twice", label);
    }
    for (uint32_t i = 0; i < n; i++) {
        store_seat seat;
        int rc = store_seat_get(t, s->id, idx[i], &seat);
        if (rc == STORE_OK && !seat_free(&seat, c->now_ms))
            return srv_fail(c, E_PRECOND, "seat %s of session %llu is already %s", r->seats[i],
                            (unsigned long long)s->id, seat.expires_at_ms ? "held" : "sold");
        if (rc != STORE_OK && rc != STORE_NOTFOUND)
            return srv_store_fail(c, rc, "seat");
    }
    return 0;
}

/* Returns 1 if some tracked product has less stock than asked, 0 if all
 * can be served, or an error status (with c->msg set). */
static int
items_short(srv_call *c, store_txn *t, const Bilheteria__V1__CreateReservationRequest *r,
            int report)
{
    for (size_t i = 0; i < r->n_items; i++) {
        const Bilheteria__V1__ItemRequest *it = r->items[i];
        Bilheteria__V1__Product *p = NULL;
        int rc = store_product_get(t, it->product_id, &c->arena->pc, &p);
        if (rc == STORE_NOTFOUND)
            return srv_fail(c, E_NOTFOUND, "product %llu does not exist",
                            (unsigned long long)it->product_id);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "product");
        if (p->stock_tracked && p->stock < it->quantity) {
            if (report)
                return srv_fail(c, E_PRECOND, "product %llu (%s) has %lld left; %d asked",
                                (unsigned long long)p->id, p->name, (long long)p->stock,
                                it->quantity);
            return 1;
        }
    }
    return 0;
}

/* Takes the items out of stock (items_short said there is enough) and
 * snapshots their prices into the reservation. */
static int
take_items(srv_call *c, store_txn *t, const Bilheteria__V1__CreateReservationRequest *r,
           Bilheteria__V1__Reservation *res)
{
    res->items = srv_arena_alloc(c->arena, (r->n_items + 1) * sizeof(*res->items));
    if (res->items == NULL)
        return srv_fail(c, E_NOMEM, "out of memory");
    for (size_t i = 0; i < r->n_items; i++) {
        const Bilheteria__V1__ItemRequest *it = r->items[i];
        Bilheteria__V1__Product *p = NULL;
        int rc = store_product_get(t, it->product_id, &c->arena->pc, &p);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "product");
        if (p->stock_tracked) {
            p->stock -= it->quantity;
            if ((rc = store_product_put(t, p)) != STORE_OK)
                return srv_store_fail(c, rc, "product");
        }
        Bilheteria__V1__ReservedItem *ri =
            SRV_NEW(c, Bilheteria__V1__ReservedItem, bilheteria__v1__reserved_item);
        if (ri == NULL)
            return srv_fail(c, E_NOMEM, "out of memory");
        ri->product_id = p->id;
        ri->name = p->name;
        ri->quantity = it->quantity;
        ri->unit_price_cents = p->price_cents;
        ri->subtotal_cents = p->price_cents * it->quantity;
        res->items[res->n_items++] = ri;
        res->items_subtotal_cents += ri->subtotal_cents;
    }
    return 0;
}

static int
create_reservation(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CreateReservationRequest *r = (const void *)c->req;
    Bilheteria__V1__Session *s = NULL;
    uint32_t n = 0, idx[1000], half_used;
    int64_t ttl_ms = 0;
    int rc, swept = 0;
    if (validate_create(c, r, &n, &ttl_ms))
        return c->code;
    rc = store_session_get(t, r->session_id, &c->arena->pc, &s);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, E_NOTFOUND, "session %llu does not exist",
                        (unsigned long long)r->session_id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "session");
    if (c->now_ms >= s->starts_at_ms) {
        /* Holds made before the start may still be paid; no new ones. */
        char when[SRV_TIME_LEN];
        srv_fmt_time(s->starts_at_ms, when);
        return srv_fail(c, E_PRECOND, "session %llu started at %s; it no longer takes reservations",
                        (unsigned long long)s->id, when);
    }
    if (resolve_seats(c, t, r, s, n, idx))
        return c->code;
    Bilheteria__V1__Reservation *res =
        SRV_NEW(c, Bilheteria__V1__Reservation, bilheteria__v1__reservation);
    Bilheteria__V1__CreateReservationResponse *resp = SRV_NEW(
        c, Bilheteria__V1__CreateReservationResponse, bilheteria__v1__create_reservation_response);
    if (res == NULL || resp == NULL)
        return srv_fail(c, E_NOMEM, "out of memory");
    /* The quota and stock counters still include lapsed holds the sweeper
     * has not reached yet; on a shortfall, sweep them all and look again. */
    for (;;) {
        if ((rc = store_session_state_get(t, s->id, &half_used)) != STORE_OK)
            return srv_store_fail(c, rc, "session state");
        int half_short = half_used + r->half_price > s->half_price_cap;
        int short_items = half_short ? 0 : items_short(c, t, r, swept);
        if (short_items > 1)
            return c->code;
        if (!half_short && !short_items)
            break;
        if (half_short && swept) {
            uint32_t left = half_used >= s->half_price_cap ? 0 : s->half_price_cap - half_used;
            return srv_fail(c, E_PRECOND,
                            "only %u half-price (meia-entrada) tickets left in session %llu; "
                            "%u asked",
                            left, (unsigned long long)s->id, r->half_price);
        }
        size_t k;
        if ((rc = srv_resv_sweep(t, c->seats, c->arena, c->now_ms, SIZE_MAX, &k)) != STORE_OK)
            return srv_store_fail(c, rc, "sweep");
        swept = 1;
    }
    if (take_items(c, t, r, res))
        return c->code;

    if ((rc = store_next_id(t, STORE_SEQ_RESERVATION, &res->id)) != STORE_OK)
        return srv_store_fail(c, rc, "reservation id");
    res->session_id = s->id;
    res->user_id = r->user_id;
    res->status = BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING;
    res->created_at_ms = res->updated_at_ms = c->now_ms;
    res->expires_at_ms = c->now_ms + ttl_ms;
    res->seats = srv_arena_alloc(c->arena, n * sizeof(*res->seats));
    if (res->seats == NULL)
        return srv_fail(c, E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        Bilheteria__V1__ReservedSeat *rs =
            SRV_NEW(c, Bilheteria__V1__ReservedSeat, bilheteria__v1__reserved_seat);
        char *label = srv_arena_alloc(c->arena, 16);
        if (rs == NULL || label == NULL)
            return srv_fail(c, E_NOMEM, "out of memory");
        uint32_t row = idx[i] / s->seats_per_row, seat = idx[i] % s->seats_per_row;
        srv_row_label(row, label);
        snprintf(label + strlen(label), 13, "%u", seat + 1);
        int half = i < r->half_price;
        rs->label = label;
        rs->type = half ? BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA
                        : BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_INTEIRA;
        rs->price_cents = half ? s->half_price_cents : s->price_cents;
        res->seats_subtotal_cents += rs->price_cents;
        res->seats[i] = rs;
        store_seat rec = { res->id, res->expires_at_ms, half };
        if ((rc = srv_seat_put(c->seats, t, s->id, idx[i], &rec)) != STORE_OK)
            return srv_store_fail(c, rc, "seat");
    }
    res->n_seats = n;
    res->total_cents = res->seats_subtotal_cents + res->items_subtotal_cents;
    if ((rc = half_adjust(t, s->id, r->half_price)) != STORE_OK ||
        (rc = store_resv_put(t, res, 1)) != STORE_OK ||
        (rc = store_resv_expiry_add(t, res->expires_at_ms, res->id)) != STORE_OK)
        return srv_store_fail(c, rc, "reservation");
    resp->reservation = res;
    c->resp = &resp->base;
    return 0;
}

static int
get_reservation(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__GetReservationRequest *r = (const void *)c->req;
    Bilheteria__V1__GetReservationResponse *resp = SRV_NEW(
        c, Bilheteria__V1__GetReservationResponse, bilheteria__v1__get_reservation_response);
    if (resp == NULL)
        return srv_fail(c, E_NOMEM, "out of memory");
    if (load_resv(c, t, r->id, &resp->reservation))
        return c->code;
    srv_resv_view(resp->reservation, c->now_ms);
    c->resp = &resp->base;
    return 0;
}

static int
list_reservations(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ListReservationsRequest *r = (const void *)c->req;
    size_t limit;
    uint64_t from;
    store_page pg;
    if (srv_check_str(c, "user_id", r->user_id, USER_MAX, 1) ||
        srv_page_size(c, r->page_size, &limit) ||
        srv_page_token_parse(c, 'r', r->page_token, &from))
        return c->code;
    Bilheteria__V1__ListReservationsResponse *resp = SRV_NEW(
        c, Bilheteria__V1__ListReservationsResponse, bilheteria__v1__list_reservations_response);
    if (resp == NULL)
        return srv_fail(c, E_NOMEM, "out of memory");
    int rc = store_resv_list_by_user(t, r->user_id, from, limit, &c->arena->pc, &pg);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "reservations");
    resp->reservations = (Bilheteria__V1__Reservation **)pg.items;
    resp->n_reservations = pg.n;
    for (size_t i = 0; i < pg.n; i++)
        srv_resv_view(resp->reservations[i], c->now_ms);
    srv_page_token(c, 'r', pg.next_id, &resp->next_page_token);
    c->resp = &resp->base;
    return 0;
}

static int
cancel_reservation(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CancelReservationRequest *r = (const void *)c->req;
    Bilheteria__V1__CancelReservationResponse *resp = SRV_NEW(
        c, Bilheteria__V1__CancelReservationResponse, bilheteria__v1__cancel_reservation_response);
    Bilheteria__V1__Reservation *res = NULL;
    if (resp == NULL)
        return srv_fail(c, E_NOMEM, "out of memory");
    if (load_resv(c, t, r->id, &res))
        return c->code;
    int status = res->status;
    if (status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING &&
        res->expires_at_ms <= c->now_ms) {
        /* Lapsed: release it as the sweeper would, and say so. */
        int rc = srv_resv_release(t, c->seats, &c->arena->pc, res,
                                  BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_EXPIRED,
                                  c->now_ms);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "reservation");
        status = res->status;
    }
    if (status != BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING)
        return srv_fail(c, E_PRECOND, "reservation %llu is %s; only a PENDING one can be cancelled",
                        (unsigned long long)res->id, srv_resv_status_name(status));
    int rc = srv_resv_release(t, c->seats, &c->arena->pc, res,
                              BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CANCELLED,
                              c->now_ms);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "reservation");
    resp->reservation = res;
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_reservation_impls[] = {
    { .method = BH_METHOD_NAME_RESERVATION_CREATE_RESERVATION, .fn = create_reservation },
    { .method = BH_METHOD_NAME_RESERVATION_GET_RESERVATION, .fn = get_reservation },
    { .method = BH_METHOD_NAME_RESERVATION_LIST_RESERVATIONS, .fn = list_reservations },
    { .method = BH_METHOD_NAME_RESERVATION_CANCEL_RESERVATION, .fn = cancel_reservation },
    { .method = NULL },
};
