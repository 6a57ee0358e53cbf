/* SPDX-License-Identifier: Apache-2.0 */
/* server/util.c and the arena it uses (proto/common): seat labels, page
 * tokens and sizes, string checks, and the per-request arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bilheteria/v1/reservation.pb-c.h"
#include "bilheteria/v1/rpc.pb-c.h"
#include "srv.h"

#define E_INVALID BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT

struct fx {
    bh__arena arena;
    srv_call call;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL || bh__arena_init_alloc(&f->arena, 256) != 0) {
        free(f);
        return -1;
    }
    f->call.arena = &f->arena;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    bh__arena_fini(&f->arena);
    free(f);
    return 0;
}

/* ---- row labels and seat labels ---- */

static void
test_row_label_table(void **state)
{
    (void)state;
    static const struct {
        uint32_t row;
        const char *label;
    } cases[] = {
        { 0, "A" },   { 1, "B" },   { 25, "Z" },  { 26, "AA" },  { 27, "AB" },  { 51, "AZ" },
        { 52, "BA" }, { 77, "BZ" }, { 78, "CA" }, { 650, "YA" }, { 675, "YZ" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[4];
        memset(out, 'q', sizeof(out));
        srv_row_label(cases[i].row, out);
        assert_string_equal(out, cases[i].label);
    }
}

/* Every row a session can have (1..676 rows, A..YZ) round-trips through
 * its label, and labels are distinct. */
static void
test_row_label_seat_parse_inverse(void **state)
{
    (void)state;
    static const uint32_t seats[] = { 0, 1, 8, 9, 10, 99, 999, 999998 };
    char prev[4] = "";
    for (uint32_t row = 0; row < 676; row++) {
        char label[4], full[16];
        srv_row_label(row, label);
        assert_true(strlen(label) == (row < 26 ? 1u : 2u));
        for (size_t k = 0; label[k]; k++)
            assert_in_range(label[k], 'A', 'Z');
        /* Labels sort like rows within a width: no duplicates. */
        if (strlen(prev) == strlen(label))
            assert_true(strcmp(prev, label) < 0);
        memcpy(prev, label, sizeof(prev));
        for (size_t s = 0; s < sizeof(seats) / sizeof(seats[0]); s++) {
            uint32_t r = 12345, n = 12345;
            snprintf(full, sizeof(full), "%s%u", label, seats[s] + 1);
            assert_int_equal(srv_seat_parse(full, &r, &n), 0);
            assert_int_equal(r, row);
            assert_int_equal(n, seats[s]);
        }
    }
}

static void
test_seat_parse_good(void **state)
{
    (void)state;
    static const struct {
        const char *label;
        uint32_t row, seat;
    } cases[] = {
        { "A1", 0, 0 },    { "B12", 1, 11 },         { "Z20", 25, 19 }, { "AA1", 26, 0 },
        { "ZZ1", 701, 0 }, { "A999999", 0, 999998 }, { "J10", 9, 9 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t r = 0, s = 0;
        assert_int_equal(srv_seat_parse(cases[i].label, &r, &s), 0);
        assert_int_equal(r, cases[i].row);
        assert_int_equal(s, cases[i].seat);
    }
}

static void
test_seat_parse_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",         "A",    "A0",  "A01", "A001", "1A",   "1",    "a1",
        "Aa1",      "AAA1", "A1x", "A1 ", " A1",  "A-1",  "A+1",  "A9999999",
        "A1000000", "A 1",  "@1",  "[1",  "A1A1", "A1.0", "ZZZ9",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t r = 4242, s = 4343;
        if (srv_seat_parse(bad[i], &r, &s) != -1)
            fail_msg("seat label \"%s\" was accepted as row %u seat %u", bad[i], r, s);
        /* Out-parameters untouched on failure. */
        assert_int_equal(r, 4242);
        assert_int_equal(s, 4343);
    }
}

/* ---- page tokens ---- */

static void
test_page_token_round_trip(void **state)
{
    struct fx *f = *state;
    static const uint64_t ids[] = { 1, 2, 255, 256, 1ULL << 32, 0x0123456789abcdefULL, UINT64_MAX };
    static const char kinds[] = { 'e', 's', 'p', 'r', 'E', 'z' };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        for (size_t k = 0; k < sizeof(kinds); k++) {
            char *tok = NULL;
            uint64_t back = 0;
            srv_page_token(&f->call, kinds[k], ids[i], &tok);
            assert_non_null(tok);
            assert_int_equal(strlen(tok), 19);
            assert_int_equal(tok[0], kinds[k]);
            f->call.code = 0;
            assert_int_equal(srv_page_token_parse(&f->call, kinds[k], tok, &back), 0);
            assert_int_equal(f->call.code, 0);
            assert_int_equal(back, ids[i]);
        }
    }
    /* next_id 0 means no more pages: no token is written. */
    char *keep = "untouched";
    srv_page_token(&f->call, 'e', 0, &keep);
    assert_string_equal(keep, "untouched");
    /* An empty token is the first page. */
    uint64_t back = 77;
    assert_int_equal(srv_page_token_parse(&f->call, 'e', "", &back), 0);
    assert_int_equal(back, 0);
}

static void
expect_bad_token(struct fx *f, char kind, const char *tok)
{
    uint64_t back = 4242;
    f->call.code = 0;
    f->call.msg[0] = 0;
    int rc = srv_page_token_parse(&f->call, kind, tok, &back);
    if (rc != E_INVALID)
        fail_msg("token \"%s\" (kind %c) gave %d, want INVALID_ARGUMENT", tok, kind, rc);
    assert_int_equal(f->call.code, E_INVALID);
    assert_int_equal(back, 4242);
    assert_non_null(strstr(f->call.msg, "page_token"));
}

static void
test_page_token_tampered(void **state)
{
    struct fx *f = *state;
    char *tok = NULL;
    srv_page_token(&f->call, 'e', 0x1234, &tok);
    assert_non_null(tok);
    char good[32];
    snprintf(good, sizeof(good), "%s", tok);

    expect_bad_token(f, 's', good); /* another list's token */
    expect_bad_token(f, 'E', good);

    /* Flip every hex digit, in the id and in the check byte. */
    for (size_t i = 1; i < 19; i++) {
        char t[32];
        snprintf(t, sizeof(t), "%s", good);
        t[i] = t[i] == '0' ? '1' : '0';
        expect_bad_token(f, 'e', t);
        /* Upper case and non-hex are not tokens either. */
        snprintf(t, sizeof(t), "%s", good);
        t[i] = 'g';
        expect_bad_token(f, 'e', t);
    }
    char t[80];
    /* Wrong lengths. */
    snprintf(t, sizeof(t), "%.18s", good);
    expect_bad_token(f, 'e', t);
    snprintf(t, sizeof(t), "%s0", good);
    expect_bad_token(f, 'e', t);
    snprintf(t, sizeof(t), "%s%s", good, good);
    expect_bad_token(f, 'e', t);
    expect_bad_token(f, 'e', "e");
    expect_bad_token(f, 'e', "x");
    /* Upper-case hex of a valid token. */
    snprintf(t, sizeof(t), "%s", good);
    for (size_t i = 1; i < 19; i++)
        if (t[i] >= 'a' && t[i] <= 'f')
            t[i] = (char)(t[i] - 'a' + 'A');
    if (strcmp(t, good) != 0)
        expect_bad_token(f, 'e', t);
    /* Id 0 never comes from a list, even with a matching check byte. */
    for (unsigned c = 0; c < 256; c++) {
        snprintf(t, sizeof(t), "e0000000000000000%02x", c);
        expect_bad_token(f, 'e', t);
    }
    /* The message quotes the token, bounded. */
    char longtok[200];
    memset(longtok, 'e', sizeof(longtok) - 1);
    longtok[sizeof(longtok) - 1] = 0;
    expect_bad_token(f, 'e', longtok);
    assert_true(strlen(f->call.msg) < 120);
}

/* ---- page size ---- */

static void
test_page_size(void **state)
{
    struct fx *f = *state;
    static const struct {
        uint32_t asked;
        int ok;
        size_t want;
    } cases[] = {
        { 0, 1, 50 },    { 1, 1, 1 },   { 50, 1, 50 },  { 499, 1, 499 },
        { 500, 1, 500 }, { 501, 0, 0 }, { 1000, 0, 0 }, { UINT32_MAX, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t out = 12345;
        f->call.code = 0;
        f->call.msg[0] = 0;
        int rc = srv_page_size(&f->call, cases[i].asked, &out);
        if (cases[i].ok) {
            assert_int_equal(rc, 0);
            assert_int_equal(f->call.code, 0);
            assert_int_equal(out, cases[i].want);
        } else {
            char num[16];
            snprintf(num, sizeof(num), "%u", cases[i].asked);
            assert_int_equal(rc, E_INVALID);
            assert_int_equal(f->call.code, E_INVALID);
            assert_int_equal(out, 12345);
            assert_non_null(strstr(f->call.msg, num));
            assert_non_null(strstr(f->call.msg, "500"));
            assert_non_null(strstr(f->call.msg, "page_size"));
        }
    }
}

/* ---- string checks ---- */

static void
test_check_str(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *v;
        size_t max;
        int required, rc;
        const char *msg;
    } cases[] = {
        { "", 10, 1, E_INVALID, "name is required" },
        { "", 10, 0, 0, "" },
        { "a", 10, 1, 0, "" },
        { "0123456789", 10, 1, 0, "" },
        { "0123456789x", 10, 1, E_INVALID, "name is 11 bytes long; the limit is 10" },
        { "0123456789x", 10, 0, E_INVALID, "name is 11 bytes long; the limit is 10" },
        { "\xc3\xa9", 1, 0, E_INVALID, "name is 2 bytes long; the limit is 1" },
        { "x", 0, 0, E_INVALID, "name is 1 bytes long; the limit is 0" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f->call.code = 0;
        f->call.msg[0] = 0;
        int rc = srv_check_str(&f->call, "name", cases[i].v, cases[i].max, cases[i].required);
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(f->call.code, cases[i].rc);
        assert_string_equal(f->call.msg, cases[i].msg);
    }
}

static void
test_fail_and_store_fail(void **state)
{
    struct fx *f = *state;
    assert_int_equal(srv_fail(&f->call, 5, "event %d does not exist", 9), 5);
    assert_int_equal(f->call.code, 5);
    assert_string_equal(f->call.msg, "event 9 does not exist");
    /* Long messages are cut, not overflowed. */
    char big[SRV_MSG_MAX * 2];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    srv_fail(&f->call, 13, "%s", big);
    assert_int_equal(strlen(f->call.msg), SRV_MSG_MAX - 1);

    /* A full map is told to the writer by a status of its own (it grows
     * the map and retries), never a side flag. */
    static const struct {
        int rc, code;
    } cases[] = {
        { STORE_MAP_FULL, SRV_STATUS_MAP_FULL },
        { STORE_BUSY, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE },
        { STORE_NOMEM, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED },
        { STORE_CORRUPT, BILHETERIA__V1__STATUS_CODE__INTERNAL },
        { STORE_IO, BILHETERIA__V1__STATUS_CODE__INTERNAL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(srv_store_fail(&f->call, cases[i].rc, "event 3"), cases[i].code);
        assert_int_equal(f->call.code, cases[i].code);
        assert_memory_equal(f->call.msg, "event 3: ", 9);
    }
}

/* ---- UTF-8 ---- */

static void
test_utf8_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t want; /* the valid prefix */
    } cases[] = {
        { "", 0 },
        { "Sala 1", 6 },
        { "meia-entrada: R$ 20", 19 },
        { "S\xc3\xa3o Jo\xc3\xa3o", 10 }, /* São João */
        { "\xe2\x82\xac 5", 5 },          /* € */
        { "\xf0\x9f\x8d\xbf!", 5 },       /* popcorn, U+1F37F */
        { "\xf4\x8f\xbf\xbf", 4 },        /* U+10FFFF, the last */
        { "ab\xff", 2 },                  /* never in UTF-8 */
        { "\x80", 0 },                    /* a lone continuation byte */
        { "a\xc3", 1 },                   /* cut after the lead byte */
        { "a\xe2\x82", 1 },               /* cut inside a 3-byte form */
        { "\xc0\x80", 0 },                /* overlong NUL */
        { "\xc1\xbf", 0 },                /* overlong */
        { "\xe0\x80\xaf", 0 },            /* overlong '/' */
        { "\xf0\x80\x80\xaf", 0 },        /* overlong '/' */
        { "x\xed\xa0\x80", 1 },           /* a UTF-16 surrogate */
        { "\xed\x9f\xbf", 3 },            /* U+D7FF, just below them */
        { "\xf4\x90\x80\x80", 0 },        /* past U+10FFFF */
        { "\xf5\x80\x80\x80", 0 },        /* past U+10FFFF */
        { "\xc3\xa3\xc3(", 2 },           /* a lead byte, then ASCII */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got = srv_utf8_valid(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].want)
            fail_msg("case %zu: valid prefix %zu, want %zu", i, got, cases[i].want);
    }
}

static void
test_find_bad_utf8(void **state)
{
    (void)state;
    char path[160] = "";
    char *seats[] = { "A1", "B\xff", "C3" };
    Bilheteria__V1__CreateReservationRequest q = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    q.user_id = "jo\xc3\xa3o";
    q.n_seats = 1;
    q.seats = seats;
    assert_int_equal(srv_find_bad_utf8(&q.base, path, sizeof(path)), 0);
    q.n_seats = 3;
    assert_int_equal(srv_find_bad_utf8(&q.base, path, sizeof(path)), 1);
    assert_string_equal(path, "seats[1]");
    q.user_id = "\xc3";
    assert_int_equal(srv_find_bad_utf8(&q.base, path, sizeof(path)), 1);
    assert_string_equal(path, "user_id");
    /* Nested messages, repeated and not. */
    Bilheteria__V1__ReservedItem it0 = BILHETERIA__V1__RESERVED_ITEM__INIT,
                                 it1 = BILHETERIA__V1__RESERVED_ITEM__INIT;
    it0.name = "Pipoca";
    it1.name = "Chocolate \xe2\x82";
    Bilheteria__V1__ReservedItem *items[] = { &it0, &it1 };
    Bilheteria__V1__Reservation r = BILHETERIA__V1__RESERVATION__INIT;
    r.n_items = 2;
    r.items = items;
    Bilheteria__V1__CreateReservationResponse resp =
        BILHETERIA__V1__CREATE_RESERVATION_RESPONSE__INIT;
    resp.reservation = &r;
    assert_int_equal(srv_find_bad_utf8(&resp.base, path, sizeof(path)), 1);
    assert_string_equal(path, "reservation.items[1].name");
    it1.name = "Chocolate";
    assert_int_equal(srv_find_bad_utf8(&resp.base, path, sizeof(path)), 0);
}

/* A message that quotes a value cut in the middle of a character stays
 * UTF-8: the stray bytes become '?'. */
static void
test_fail_keeps_utf8(void **state)
{
    struct fx *f = *state;
    srv_fail(&f->call, E_INVALID, "seat \"%.3s\" is not a seat", "A\xc3\xa3\xc3\xa3");
    assert_string_equal(f->call.msg, "seat \"A\xc3\xa3\" is not a seat");
    srv_fail(&f->call, E_INVALID, "seat \"%.4s\" is not a seat", "A\xc3\xa3\xc3\xa3");
    assert_string_equal(f->call.msg, "seat \"A\xc3\xa3?\" is not a seat");
    srv_fail(&f->call, E_INVALID, "bad \"%s\"", "\xff\xfe");
    assert_string_equal(f->call.msg, "bad \"??\"");
}

static void
test_new_msg(void **state)
{
    struct fx *f = *state;
    Bilheteria__V1__Event *ev = SRV_NEW(&f->call, Bilheteria__V1__Event, bilheteria__v1__event);
    assert_non_null(ev);
    assert_ptr_equal(ev->base.descriptor, &bilheteria__v1__event__descriptor);
    assert_int_equal(ev->id, 0);
    assert_string_equal(ev->name, "");
}

/* ---- arena ---- */

static int
overlaps(const char *a, size_t an, const char *b, size_t bn)
{
    return a < b + bn && b < a + an;
}

static void
test_arena_many_allocations(void **state)
{
    (void)state;
    bh__arena a;
    assert_int_equal(bh__arena_init_alloc(&a, 64), 0);
    enum { N = 2000 };
    char **p = calloc(N, sizeof(*p));
    size_t *len = calloc(N, sizeof(*len));
    assert_non_null(p);
    assert_non_null(len);
    /* Sizes 0..300 cross the 64-byte first block and every block after. */
    for (size_t i = 0; i < N; i++) {
        len[i] = (i * 37) % 301;
        p[i] = bh__arena_alloc(&a, len[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % _Alignof(max_align_t), 0);
        memset(p[i], (int)(i & 0xff), len[i]);
    }
    /* Nothing was overwritten by a later allocation. */
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < len[i]; k++)
            if ((unsigned char)p[i][k] != (i & 0xff))
                fail_msg("allocation %zu byte %zu was overwritten", i, k);
    for (size_t i = 1; i < N; i += 97)
        for (size_t j = 0; j < i; j++)
            assert_false(overlaps(p[i], len[i] ? len[i] : 1, p[j], len[j] ? len[j] : 1));
    /* One allocation larger than any block so far. */
    char *huge = bh__arena_alloc(&a, 1 << 20);
    assert_non_null(huge);
    memset(huge, 0x5a, 1 << 20);
    assert_int_equal((uintptr_t)huge % _Alignof(max_align_t), 0);

    char *s = bh__arena_strdup(&a, "meia-entrada");
    assert_string_equal(s, "meia-entrada");
    free(p);
    free(len);
    bh__arena_fini(&a);
    bh__arena_fini(&a); /* twice is harmless */
}

static void
test_arena_reset_reuses(void **state)
{
    (void)state;
    bh__arena a;
    assert_int_equal(bh__arena_init_alloc(&a, 1024), 0);
    char *first = bh__arena_alloc(&a, 16);
    assert_non_null(first);
    /* Spill into more blocks. */
    for (int i = 0; i < 100; i++)
        assert_non_null(bh__arena_alloc(&a, 500));
    bh__arena_reset(&a);
    /* The first block is kept and handed out again from its start. */
    char *again = bh__arena_alloc(&a, 16);
    assert_ptr_equal(again, first);
    char *second = bh__arena_alloc(&a, 16);
    assert_true(second >= again + 16);
    bh__arena_reset(&a);
    bh__arena_reset(&a);
    assert_ptr_equal(bh__arena_alloc(&a, 1), first);
    bh__arena_fini(&a);
}

static void
test_arena_protobuf_allocator(void **state)
{
    (void)state;
    bh__arena a;
    assert_int_equal(bh__arena_init_alloc(&a, 128), 0);
    Bilheteria__V1__Event ev = BILHETERIA__V1__EVENT__INIT;
    ev.id = 9;
    ev.name = "Aida";
    ev.description = "a description long enough to need another arena block, "
                     "because the first one is only 128 bytes";
    uint8_t buf[512];
    size_t n = bilheteria__v1__event__pack(&ev, buf);
    Bilheteria__V1__Event *got = bilheteria__v1__event__unpack(&a.pc, n, buf);
    assert_non_null(got);
    assert_int_equal(got->id, 9);
    assert_string_equal(got->name, "Aida");
    assert_string_equal(got->description, ev.description);
    bilheteria__v1__event__free_unpacked(got, &a.pc); /* a no-op on the arena */
    bh__arena_fini(&a);
}

/* Sizes near SIZE_MAX must fail rather than wrap around to a tiny block. */
static void
test_arena_huge_request_fails(void **state)
{
    (void)state;
    static const size_t sizes[] = { SIZE_MAX, SIZE_MAX - 8,
                                    /* rounds up without wrapping, but the block
                                     * header then wraps malloc's size */
                                    SIZE_MAX - 40 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        bh__arena a;
        assert_int_equal(bh__arena_init_alloc(&a, 64), 0);
        void *p = bh__arena_alloc(&a, sizes[i]);
        bh__arena_fini(&a);
        if (p != NULL)
            fail_msg("bh__arena_alloc(SIZE_MAX - %zu) returned a pointer", SIZE_MAX - sizes[i]);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_label_table),
        cmocka_unit_test(test_row_label_seat_parse_inverse),
        cmocka_unit_test(test_seat_parse_good),
        cmocka_unit_test(test_seat_parse_bad),
        T(test_page_token_round_trip),
        T(test_page_token_tampered),
        T(test_page_size),
        T(test_check_str),
        T(test_fail_and_store_fail),
        T(test_new_msg),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_find_bad_utf8),
        T(test_fail_keeps_utf8),
        cmocka_unit_test(test_arena_many_allocations),
        cmocka_unit_test(test_arena_reset_reuses),
        cmocka_unit_test(test_arena_protobuf_allocator),
        cmocka_unit_test(test_arena_huge_request_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
