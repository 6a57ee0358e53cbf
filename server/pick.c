/* SPDX-License-Identifier: Apache-2.0 */
/* Choosing the best N adjacent seats of a session: a pure function of the
 * taken-seat bitmap and the room's geometry (no store, no transport), so that
 * tests/unit/test_best.c checks it against scoring every block. */
#include <endian.h>
#include <string.h>

#include "pick.h"

static int
is_taken(const uint8_t *bits, uint32_t idx)
{
    return (bits[idx / 8] >> (idx % 8)) & 1;
}

/* A block's score: see srv_pick_best. */
static uint64_t
block_score(const uint8_t *bits, uint32_t base, uint32_t per, uint32_t n, int64_t dr,
            uint32_t start)
{
    int64_t ds = 2 * (int64_t)start + n - 1 - (int64_t)(per - 1);
    uint64_t score = (uint64_t)(dr * dr + ds * ds);
    /* A lone free seat just left or right of the block. */
    if (start >= 1 && !is_taken(bits, base + start - 1) &&
        (start == 1 || is_taken(bits, base + start - 2)))
        score += SRV_PICK_ORPHAN_PENALTY;
    uint32_t end = start + n; /* first seat after the block */
    if (end < per && !is_taken(bits, base + end) &&
        (end + 1 == per || is_taken(bits, base + end + 1)))
        score += SRV_PICK_ORPHAN_PENALTY;
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
 * a taken seat or the wall adds SRV_PICK_ORPHAN_PENALTY per such seat (nobody
 * buying two can use it): worth shifting the block up to two seats.
 * Ties go to the block nearer the front (lower row), then the left.
 * Rows are visited outward from the middle and the search stops when the
 * row distance alone cannot beat the best found; rows outside the range
 * asked are passed over.
 *
 * Within a row only the free runs are visited, and in a run only the starts
 * near the row's centre (clamped into the run): the distance part of the
 * score grows away from the centre, and the penalty falls on at most two
 * starts of a run (one seat in from either end), so a start more than a few
 * seats farther out always loses to one nearer in. tests/unit/test_best.c
 * checks this against scoring every block.
 */
int
srv_pick_best(uint32_t rows, uint32_t per, const uint8_t *bits, uint32_t n, uint32_t *out)
{
    return rows == 0 ? -1 : srv_pick_best_rows(rows, per, bits, n, 0, rows - 1, out);
}

int
srv_pick_best_rows(uint32_t rows, uint32_t per, const uint8_t *bits, uint32_t n, uint32_t first_row,
                   uint32_t last_row, uint32_t *out)
{
    uint64_t best = UINT64_MAX;
    uint32_t best_idx = 0;
    if (n == 0 || n > per || first_row > last_row || last_row >= rows)
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
        if ((uint32_t)row < first_row || (uint32_t)row > last_row)
            continue;
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
