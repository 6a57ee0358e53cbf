/* SPDX-License-Identifier: Apache-2.0 */
/* srv_pick_best (server/pick.c): the best block of n adjacent
 * free seats. Per its comment: the score is the squared distance of the
 * block's centre from the room's centre in half-seat units,
 *   dr = 2*row - (rows - 1),  ds = 2*start + n - 1 - (seats_per_row - 1),
 *   score = dr*dr + ds*ds (+ SRV_PICK_ORPHAN_PENALTY for each lone free seat the
 *   block would strand next to it),
 * lowest wins; ties go to the lower row, then the leftmost seat, i.e. the
 * lower seat index. Layouts below are one string per row, '.' free and 'x'
 * taken; the bits array has 1 bit per seat, bit idx%8 of byte idx/8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pick.h"

#define MAX_ROWS 16
#define NONE     (-1)

struct layout_case {
    const char *name;
    uint32_t rows, per, n;
    const char *row[MAX_ROWS]; /* NULL rows are all free */
    long want;                 /* start index, or NONE */
};

static uint8_t *
make_bits(uint32_t rows, uint32_t per, const char *const *layout)
{
    uint32_t cap = rows * per;
    uint8_t *bits = calloc(cap / 8 + 1, 1);
    assert_non_null(bits);
    for (uint32_t r = 0; r < rows && r < MAX_ROWS; r++) {
        if (layout == NULL || layout[r] == NULL)
            continue;
        assert_int_equal(strlen(layout[r]), per);
        for (uint32_t s = 0; s < per; s++)
            if (layout[r][s] == 'x')
                bits[(r * per + s) / 8] |= (uint8_t)(1u << ((r * per + s) % 8));
    }
    return bits;
}

struct room {
    uint32_t rows, per;
};

static struct room
room(uint32_t rows, uint32_t per)
{
    struct room s = { rows, per };
    return s;
}

static const struct layout_case layout_cases[] = {
    /* Orphans (0-based seats). 1 row of 7 with seats 0 and 6 taken, n=2:
     * the centred pairs 2-3 and 3-4 score 1 but strand seat 1 or seat 5
     * (+16 each); pairs 1-2 and 4-5 score 9 and strand nothing. Tie: left. */
    { "orphan: shift to avoid a lone seat", 1, 7, 2, { "x.....x" }, 1 },
    /* An empty row of 7: the centred pair 2-3 leaves 2 and 3 seats free. */
    { "orphan: none in an empty row", 1, 7, 2, { "......." }, 2 },
    /* Seats 8..10 free between taken 7 and 11, n=2: pair 9-10 (score 0+16,
     * strands 8) beats pair 8-9 (4+16) and the orphan-free pair 12-13 (36):
     * a lone seat is accepted when the alternative is far. */
    { "orphan: accepted when the alternative is far", 1, 20, 2, { ".......x...x........" }, 9 },
    /* Empty rooms: the centred block of the middle row. */
    { "5x10 n=2", 5, 10, 2, { NULL }, 2 * 10 + 4 },
    { "5x10 n=3 (tie of ds=-1/+1: left)", 5, 10, 3, { NULL }, 2 * 10 + 3 },
    { "5x9 n=3 (odd seats, odd n)", 5, 9, 3, { NULL }, 2 * 9 + 3 },
    { "5x9 n=2 (odd seats, even n)", 5, 9, 2, { NULL }, 2 * 9 + 3 },
    { "4x10 n=2 (even rows: the front one of the middle two)", 4, 10, 2, { NULL }, 1 * 10 + 4 },
    { "6x10 n=1", 6, 10, 1, { NULL }, 2 * 10 + 4 },
    { "1x1 n=1", 1, 1, 1, { NULL }, 0 },
    { "1x10 n=10 (a whole row)", 1, 10, 10, { NULL }, 0 },
    { "3x7 n=7", 3, 7, 7, { NULL }, 7 },
    { "5x10 n=9", 5, 10, 9, { NULL }, 20 },
    /* The middle row is full: the nearest rows tie, the front one wins. */
    { "5x10 middle full", 5, 10, 2, { NULL, NULL, "xxxxxxxxxx", NULL, NULL }, 1 * 10 + 4 },
    { "5x10 middle and front-middle full",
      5,
      10,
      2,
      { NULL, "xxxxxxxxxx", "xxxxxxxxxx", NULL, NULL },
      3 * 10 + 4 },
    { "6x10 middle two full",
      6,
      10,
      2,
      { NULL, NULL, "xxxxxxxxxx", "xxxxxxxxxx", NULL, NULL },
      1 * 10 + 4 },
    { "6x10 same row distance: centred beats the wall",
      6,
      10,
      2,
      { NULL, "..xxxxxxxx", "xxxxxxxxxx", "xxxxxxxxxx", NULL, NULL },
      4 * 10 + 4 },
    /* A centred block two rows off beats the middle row at the wall:
     * 16 (dr=4, ds=0) against 64 (dr=0, ds=8). */
    { "middle row only at the wall",
      5,
      10,
      2,
      { NULL, "xxxxxxxxxx", "xxxxxxxx..", "xxxxxxxxxx", NULL },
      4 },
    /* ... and an exact tie (16 against 16) goes to the front row. */
    { "tie between middle row off-centre and front row",
      5,
      10,
      2,
      { NULL, "xxxxxxxxxx", "xxxxxx..xx", "xxxxxxxxxx", NULL },
      4 },
    /* ... while a slightly off-centre middle block (4) wins. */
    { "middle row slightly off centre",
      5,
      10,
      2,
      { NULL, "xxxxxxxxxx", "xxxxx..xxx", "xxxxxxxxxx", NULL },
      2 * 10 + 5 },
    /* A tie reached only at row distance 6 (36 = 6*6 + 0 = 0 + 6*6): the
     * search must not stop at dr*dr == best, row A is in front. */
    { "tie found three rows out",
      7,
      13,
      1,
      { NULL, "xxxxxxxxxxxxx", "xxxxxxxxxxxxx", "xxx.xxxxxxxxx", "xxxxxxxxxxxxx", "xxxxxxxxxxxxx",
        NULL },
      6 },
    { "7x20 n=4, near rows only at walls",
      7,
      20,
      4,
      { NULL, NULL, "....xxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxx....", NULL,
        NULL },
      1 * 20 + 8 },
    /* Fragmented rows: only one run of 3 anywhere. */
    { "fragments, one block fits",
      5,
      10,
      3,
      { "..x..x..x.", ".x..x..x..", "x..x..x..x", "..x..x..x.", "xx...xxxxx" },
      4 * 10 + 2 },
    { "fragments, the block is at the row end",
      3,
      10,
      3,
      { "..x..x..x.", "x..x..x...", "..x..x..x." },
      1 * 10 + 7 },
    { "fragments, the block is at the row start",
      3,
      10,
      3,
      { "..x..x..x.", "...x..x..x", "..x..x..x." },
      1 * 10 + 0 },
    /* Runs do not continue into the next row. */
    { "no wrap between rows", 3, 4, 2, { "xxx.", ".xxx", "xxxx" }, NONE },
    { "no wrap, n=3 across a row end", 2, 5, 3, { "xxx..", ".xxxx" }, NONE },
    /* Byte boundaries of the bit array inside a row. */
    { "bits across bytes", 1, 20, 2, { "xxxxxxx..xxxxxxxxxxx" }, 7 },
    { "bits across bytes, n=9", 2, 12, 9, { "xxxxxxxxxxxx", "x.........xx" }, 12 + 1 },
    /* Nothing fits. */
    { "n > seats_per_row", 5, 10, 11, { NULL }, NONE },
    { "n = 0", 5, 10, 0, { NULL }, NONE },
    { "fully taken", 2, 3, 1, { "xxx", "xxx" }, NONE },
    { "runs of 2, n=3", 3, 5, 3, { "..x..", "x..x.", ".x..x" }, NONE },
};

static void
test_pick_best_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(layout_cases) / sizeof(layout_cases[0]); i++) {
        const struct layout_case *c = &layout_cases[i];
        struct room s = room(c->rows, c->per);
        uint8_t *bits = make_bits(c->rows, c->per, c->row);
        uint32_t start = 0xdeadbeef;
        int rc = srv_pick_best(s.rows, s.per, bits, c->n, &start);
        free(bits);
        if (c->want == NONE) {
            if (rc != -1)
                fail_msg("%s: picked %u, want none", c->name, start);
            assert_int_equal(start, 0xdeadbeef);
        } else {
            if (rc != 0)
                fail_msg("%s: found none, want %ld", c->name, c->want);
            if (start != (uint32_t)c->want)
                fail_msg("%s: picked %u (row %u seat %u), want %ld (row %ld seat %ld)", c->name,
                         start, start / c->per, start % c->per, c->want, c->want / c->per,
                         c->want % c->per);
        }
    }
}

static int
taken(const uint8_t *bits, uint32_t idx)
{
    return (bits[idx / 8] >> (idx % 8)) & 1;
}

/* The reference: every block scored, no early stop. */
static long
brute_best(uint32_t rows, uint32_t per, const uint8_t *bits, uint32_t n)
{
    uint64_t best = UINT64_MAX;
    long best_idx = NONE;
    if (n == 0 || n > per)
        return NONE;
    for (uint32_t r = 0; r < rows; r++) {
        for (uint32_t st = 0; st + n <= per; st++) {
            int ok = 1;
            for (uint32_t k = 0; k < n && ok; k++) {
                uint32_t idx = r * per + st + k;
                ok = !((bits[idx / 8] >> (idx % 8)) & 1);
            }
            if (!ok)
                continue;
            int64_t dr = 2 * (int64_t)r - ((int64_t)rows - 1);
            int64_t ds = 2 * (int64_t)st + n - 1 - ((int64_t)per - 1);
            uint64_t score = (uint64_t)(dr * dr + ds * ds);
            /* Stranding one free seat on either side costs a penalty. */
            uint32_t end = st + n;
            if (st >= 1 && !taken(bits, r * per + st - 1) &&
                (st == 1 || taken(bits, r * per + st - 2)))
                score += SRV_PICK_ORPHAN_PENALTY;
            if (end < per && !taken(bits, r * per + end) &&
                (end + 1 == per || taken(bits, r * per + end + 1)))
                score += SRV_PICK_ORPHAN_PENALTY;
            if (score < best) { /* visited in index order: ties keep the lower */
                best = score;
                best_idx = (long)(r * per + st);
            }
        }
    }
    return best_idx;
}

static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 16) & 0x7fff;
}

/* Picks in the room and compares with the reference; frees bits. On a
 * difference, fails with the case described by fmt. */
static void expect_reference(uint32_t rows, uint32_t per, uint8_t *bits, uint32_t n,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
expect_reference(uint32_t rows, uint32_t per, uint8_t *bits, uint32_t n, const char *fmt, ...)
{
    struct room s = room(rows, per);
    uint32_t start = 0;
    long want = brute_best(rows, per, bits, n);
    int rc = srv_pick_best(s.rows, s.per, bits, n, &start);
    free(bits);
    if (want == NONE ? rc == -1 : rc == 0 && (long)start == want)
        return;
    char what[160], got[32], ref[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(got, sizeof(got), rc ? "none" : "%u", start);
    snprintf(ref, sizeof(ref), want == NONE ? "none" : "%ld", want);
    fail_msg("%s: %ux%u n=%u: picked %s, reference %s", what, rows, per, n, got, ref);
}

/* Random rooms and occupancy against the reference: catches a wrong row
 * order or an early stop that skips a better row. */
static void
test_pick_best_matches_reference(void **state)
{
    (void)state;
    for (int iter = 0; iter < 5000; iter++) {
        uint32_t rows = 1 + rng() % 12, per = 1 + rng() % 25;
        uint32_t n = 1 + rng() % (per < 6 ? per : 6);
        uint32_t fill = rng() % 100; /* percent taken */
        uint32_t cap = rows * per;
        uint8_t *bits = calloc(cap / 8 + 1, 1);
        assert_non_null(bits);
        for (uint32_t i = 0; i < cap; i++)
            if (rng() % 100 < fill)
                bits[i / 8] |= (uint8_t)(1u << (i % 8));
        expect_reference(rows, per, bits, n, "iter %d, fill %u%%", iter, fill);
    }
}

/* Wider rows (whole bytes of the map taken or free, long runs) and the
 * shapes a rush leaves: filled from the centre outward, with holes. */
static void
test_pick_best_wide_rows_match_reference(void **state)
{
    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        uint32_t rows = 1 + rng() % 30, per = 1 + rng() % 130;
        uint32_t n = 1 + rng() % (per < 8 ? per : 8);
        uint32_t cap = rows * per, mode = rng() % 3, fill = rng() % 100;
        uint8_t *bits = calloc(cap / 8 + 1, 1);
        assert_non_null(bits);
        for (uint32_t r = 0; r < rows; r++) {
            int64_t dr = 2 * (int64_t)r - ((int64_t)rows - 1);
            for (uint32_t st = 0; st < per; st++) {
                int64_t ds = 2 * (int64_t)st - ((int64_t)per - 1);
                int take;
                if (mode == 0) /* random */
                    take = rng() % 100 < fill;
                else if (mode == 1) /* a centre block, taken, with a few holes */
                    take =
                        (uint64_t)(dr * dr + ds * ds) < (uint64_t)fill * per * 4 && rng() % 20 != 0;
                else /* runs of random length */
                    take = (st / (1 + fill % 17)) % 2 == (r % 2);
                if (take)
                    bits[(r * per + st) / 8] |= (uint8_t)(1u << ((r * per + st) % 8));
            }
        }
        expect_reference(rows, per, bits, n, "iter %d, mode %u, fill %u", iter, mode, fill);
    }
}

/* Runs that end or start at every distance from every bit alignment: the
 * pick reads the map 64 seats at a time from any seat, so a run edge just
 * inside or outside a 64-seat window must still be seen. */
static void
test_pick_best_run_edges(void **state)
{
    (void)state;
    static const uint32_t pers[] = { 9, 63, 64, 65, 71, 100, 127, 128, 129, 140 };
    for (size_t pi = 0; pi < sizeof(pers) / sizeof(pers[0]); pi++) {
        uint32_t per = pers[pi], rows = 3, cap = rows * per;
        for (uint32_t row = 0; row < rows; row++)
            for (uint32_t len = 0; len <= per; len++)
                for (int pattern = 0; pattern < 2; pattern++)
                    for (uint32_t n = 1; n <= 3 && n <= per; n++) {
                        /* Other rows full; this row: `len` free seats then one
                         * taken then free (pattern 0), or `len` taken then free. */
                        uint8_t *bits = calloc(cap / 8 + 1, 1);
                        assert_non_null(bits);
                        for (uint32_t i = 0; i < cap; i++) {
                            uint32_t r = i / per, st = i % per;
                            int take = r != row || (pattern == 0 ? st == len : st < len);
                            if (take)
                                bits[i / 8] |= (uint8_t)(1u << (i % 8));
                        }
                        expect_reference(rows, per, bits, n, "row %u, len %u, pattern %d", row, len,
                                         pattern);
                    }
    }
}

/* A row all taken but one block of exactly n free seats, at every start:
 * the pick must find it, whichever 57-seat windows of the row it crosses,
 * and must find nothing when the gap is one seat short. Blocks up to 32
 * long are looked for a window at a time, longer ones seat by seat. */
static void
test_pick_best_lone_block_everywhere(void **state)
{
    (void)state;
    static const uint32_t pers[] = { 33, 64, 100, 130, 200 };
    static const uint32_t ns[] = { 1, 2, 5, 17, 31, 32, 33 };
    for (size_t pi = 0; pi < sizeof(pers) / sizeof(pers[0]); pi++) {
        uint32_t per = pers[pi], rows = 2;
        struct room s = room(rows, per);
        for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++) {
            uint32_t n = ns[ni];
            for (uint32_t gap = n - 1; gap <= n && gap <= per; gap++) {
                for (uint32_t p = 0; p + gap <= per; p++) {
                    uint8_t *bits = calloc(rows * per / 8 + 1, 1);
                    assert_non_null(bits);
                    memset(bits, 0xff, rows * per / 8 + 1);
                    for (uint32_t i = 0; i < gap; i++) /* in the second row */
                        bits[(per + p + i) / 8] &= (uint8_t) ~(1u << ((per + p + i) % 8));
                    uint32_t start = 0;
                    int rc = srv_pick_best(s.rows, s.per, bits, n, &start);
                    if (gap < n && rc != -1)
                        fail_msg("per %u n %u: a gap of %u at %u is not a block, picked %u", per, n,
                                 gap, p, start);
                    if (gap == n && (rc != 0 || start != per + p))
                        fail_msg("per %u n %u: the only block starts at %u, got %s %u", per, n,
                                 per + p, rc ? "none" : "", rc ? 0 : start);
                    free(bits);
                }
            }
        }
    }
}

/* The largest room a session may have (676 rows of 1000): the middle. */
static void
test_pick_best_large_room(void **state)
{
    (void)state;
    uint32_t rows = 676, per = 1000;
    struct room s = room(rows, per);
    uint8_t *bits = make_bits(rows, per, NULL);
    uint32_t start = 0;
    assert_int_equal(srv_pick_best(s.rows, s.per, bits, 2, &start), 0);
    /* Even rows: 337 (front of 337/338); ds = 2*st + 1 - 999 = 0 at 499. */
    assert_int_equal(start, 337 * per + 499);
    assert_int_equal(srv_pick_best(s.rows, s.per, bits, 1000, &start), 0);
    assert_int_equal(start, 337 * per);
    /* Take the whole room except the last seat. */
    memset(bits, 0xff, rows * per / 8 + 1);
    uint32_t last = rows * per - 1;
    bits[last / 8] &= (uint8_t) ~(1u << (last % 8));
    assert_int_equal(srv_pick_best(s.rows, s.per, bits, 1, &start), 0);
    assert_int_equal(start, last);
    assert_int_equal(srv_pick_best(s.rows, s.per, bits, 2, &start), -1);
    free(bits);
}

/* A row range (a price zone): the pick stays inside it, nearest the
 * room's centre, and none is found when only seats outside it are free. */
static void
test_pick_best_rows(void **state)
{
    (void)state;
    uint32_t rows = 10, per = 10, start = 0;
    uint8_t *bits = make_bits(rows, per, NULL);
    /* Rows 0..2 (A-C): the middle is row 4, so row 2 (C), centred. */
    assert_int_equal(srv_pick_best_rows(rows, per, bits, 2, 0, 2, &start), 0);
    assert_int_equal(start, 2 * per + 4);
    /* Rows 7..9: row 7 is the nearest to the middle rows (4 and 5). */
    assert_int_equal(srv_pick_best_rows(rows, per, bits, 3, 7, 9, &start), 0);
    assert_int_equal(start, 7 * per + 3);
    /* The whole room, as srv_pick_best. */
    uint32_t whole = 0;
    assert_int_equal(srv_pick_best_rows(rows, per, bits, 2, 0, rows - 1, &start), 0);
    assert_int_equal(srv_pick_best(rows, per, bits, 2, &whole), 0);
    assert_int_equal(start, whole);
    /* Fill rows 0..2: nothing there any more, though the room has room. */
    memset(bits, 0, rows * per / 8 + 1);
    for (uint32_t i = 0; i < 3 * per; i++)
        bits[i / 8] |= (uint8_t)(1u << (i % 8));
    start = 0xdeadbeef;
    assert_int_equal(srv_pick_best_rows(rows, per, bits, 1, 0, 2, &start), -1);
    assert_int_equal(start, 0xdeadbeef);
    assert_int_equal(srv_pick_best_rows(rows, per, bits, 1, 0, 3, &start), 0);
    assert_int_equal(start / per, 3);
    /* Empty or outside ranges find nothing. */
    assert_int_equal(srv_pick_best_rows(rows, per, bits, 1, 5, 4, &start), -1);
    assert_int_equal(srv_pick_best_rows(rows, per, bits, 1, 5, 10, &start), -1);
    free(bits);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_best_table),
        cmocka_unit_test(test_pick_best_matches_reference),
        cmocka_unit_test(test_pick_best_wide_rows_match_reference),
        cmocka_unit_test(test_pick_best_run_edges),
        cmocka_unit_test(test_pick_best_lone_block_everywhere),
        cmocka_unit_test(test_pick_best_large_room),
        cmocka_unit_test(test_pick_best_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
