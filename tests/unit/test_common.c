/* SPDX-License-Identifier: Apache-2.0 */
/* proto/common: seat labels, varints, the option parser and the arena.
 * Table-driven where the inputs vary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bh_arena.h"
#include "bh_label.h"
#include "bh_opts.h"
#include "bh_varint.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- seat labels ---- */

static const struct {
    uint32_t row;
    const char *label;
} row_cases[] = {
    { 0, "A" },     { 1, "B" },       { 25, "Z" },       { 26, "AA" },
    { 27, "AB" },   { 51, "AZ" },     { 52, "BA" },      { 77, "BZ" },
    { 78, "CA" },   { 675, "YZ" },    { 676, "ZA" },     { 701, "ZZ" },
    { 702, "AAA" }, { 18277, "ZZZ" }, { 18278, "AAAA" }, { UINT32_MAX - 1, "MWLQKWU" },
};

static void
test_row_labels(void **state)
{
    char buf[BH__LABEL_MAX];
    uint32_t row;

    (void)state;
    for (size_t i = 0; i < N(row_cases); i++) {
        const char *want = row_cases[i].label;
        memset(buf, 'q', sizeof(buf));
        assert_int_equal(bh__row_label(row_cases[i].row, buf, sizeof(buf)), (int)strlen(want));
        if (strcmp(buf, want) != 0)
            fail_msg("row %u: got %s, want %s", (unsigned)row_cases[i].row, buf, want);
        row = 12345;
        assert_int_equal(bh__row_parse(want, strlen(want), 0, &row), 0);
        assert_int_equal(row, row_cases[i].row);
    }
    /* Every row of one or two letters maps back to itself, in order. */
    char prev[BH__LABEL_MAX] = "";
    for (row = 0; row <= 701; row++) {
        uint32_t back = 0;
        int n = bh__row_label(row, buf, sizeof(buf));
        assert_int_equal(n, row < 26 ? 1 : 2);
        assert_int_equal(bh__row_parse(buf, (size_t)n, 0, &back), 0);
        assert_int_equal(back, row);
        if (strlen(prev) == (size_t)n)
            assert_true(strcmp(prev, buf) < 0);
        memcpy(prev, buf, sizeof(prev));
    }
    /* Bounds: the letters' value fits 32 bits; buffers too small fail. */
    assert_int_equal(bh__row_label(UINT32_MAX, buf, sizeof(buf)), -1);
    assert_int_equal(bh__row_label(26, buf, 2), -1);
    assert_int_equal(bh__row_label(25, buf, 2), 1);
    assert_int_equal(bh__row_label(0, buf, 1), -1);
    row = 4242;
    assert_int_equal(bh__row_parse("", 0, 0, &row), -1);
    assert_int_equal(bh__row_parse("A1", 2, 0, &row), -1);
    assert_int_equal(bh__row_parse("MWLQKWV", 7, 0, &row), -1);
    assert_int_equal(bh__row_parse("aa", 2, 0, &row), -1); /* upper case unless asked */
    assert_int_equal(row, 4242);
    assert_int_equal(bh__row_parse("aa", 2, BH__LABEL_ANYCASE, &row), 0);
    assert_int_equal(row, 26);
    assert_int_equal(bh__row_parse("aBcD", 2, BH__LABEL_ANYCASE, &row), 0); /* n letters only */
    assert_int_equal(row, 27);
}

static void
test_seat_labels(void **state)
{
    static const struct {
        const char *in;
        unsigned flags;
        uint32_t row, seat;
        const char *canonical;
    } good[] = {
        { "A1", 0, 0, 0, "A1" },
        { "B12", 0, 1, 11, "B12" },
        { "b12", BH__LABEL_ANYCASE, 1, 11, "B12" },
        { "Z20", 0, 25, 19, "Z20" },
        { "AA1", 0, 26, 0, "AA1" },
        { "AB1000", 0, 27, 999, "AB1000" },
        { "ZZ1", 0, 701, 0, "ZZ1" },
        { "A999999", 0, 0, 999998, "A999999" },
        { "MWLQKWU4294967295", 0, UINT32_MAX - 1, UINT32_MAX - 1, "MWLQKWU4294967295" },
    };
    static const char *const bad[] = {
        "",     "A",   "1",   "A0",  "A01",         "A001",      "1A",       "A1B",
        "A-1",  "A+1", "A 1", " A1", "A1 ",         "@1",        "[1",       "A1A1",
        "A1.0", "Ä1",  "a1",  "Aa1", "A4294967296", "ABCDEFGH1", "MWLQKWV1",
    };
    char buf[BH__LABEL_MAX];

    (void)state;
    for (size_t i = 0; i < N(good); i++) {
        uint32_t r = 0, s = 0;
        if (bh__seat_parse(good[i].in, good[i].flags, &r, &s) != 0)
            fail_msg("\"%s\" was refused", good[i].in);
        assert_int_equal(r, good[i].row);
        assert_int_equal(s, good[i].seat);
        assert_int_equal(bh__seat_label(r, s, buf, sizeof(buf)), (int)strlen(good[i].canonical));
        assert_string_equal(buf, good[i].canonical);
    }
    for (size_t i = 0; i < N(bad); i++) {
        uint32_t r = 4242, s = 4343;
        if (bh__seat_parse(bad[i], 0, &r, &s) == 0)
            fail_msg("seat label \"%s\" was accepted as row %u seat %u", bad[i], r, s);
        assert_int_equal(r, 4242); /* out-parameters untouched on failure */
        assert_int_equal(s, 4343);
    }
    /* Either case is still only letters then a number. */
    uint32_t r, s;
    assert_int_equal(bh__seat_parse("a01", BH__LABEL_ANYCASE, &r, &s), -1);
    assert_int_equal(bh__seat_parse("é1", BH__LABEL_ANYCASE, &r, &s), -1);
    assert_int_equal(bh__seat_parse(NULL, BH__LABEL_ANYCASE, &r, &s), -1);
    /* No seat number 0 to write, and no room is no label. */
    assert_int_equal(bh__seat_label(0, UINT32_MAX, buf, sizeof(buf)), -1);
    assert_int_equal(bh__seat_label(0, 9, buf, 3), -1);
    assert_int_equal(bh__seat_label(0, 9, buf, 4), 3);
    assert_string_equal(buf, "A10");
}

/* ---- varints ---- */

static void
test_varint_round_trip(void **state)
{
    static const struct {
        uint64_t v;
        size_t len;
    } cases[] = {
        { 0, 1 },          { 1, 1 },           { 127, 1 },         { 128, 2 },
        { 300, 2 },        { 16383, 2 },       { 16384, 3 },       { UINT32_MAX, 5 },
        { 1ULL << 35, 6 }, { 1ULL << 63, 10 }, { UINT64_MAX, 10 },
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        uint8_t buf[BH__VARINT_MAX + 1];
        memset(buf, 0xee, sizeof(buf));
        uint8_t *end = bh__varint_put(buf, cases[i].v);
        assert_int_equal((size_t)(end - buf), cases[i].len);
        assert_int_equal(buf[cases[i].len], 0xee); /* nothing written past it */
        const uint8_t *p = buf;
        uint64_t got = 0;
        assert_int_equal(bh__varint_get(&p, buf + cases[i].len, &got), 0);
        assert_ptr_equal(p, end);
        assert_true(got == cases[i].v);
        /* Every cut inside it is truncated input. */
        for (size_t cut = 0; cut < cases[i].len; cut++) {
            p = buf;
            got = 77;
            assert_int_equal(bh__varint_get(&p, buf + cut, &got), -1);
            assert_true(got == 77);
        }
    }
    /* 300 is the protobuf documentation's example: ac 02. */
    uint8_t b[2];
    bh__varint_put(b, 300);
    assert_int_equal(b[0], 0xac);
    assert_int_equal(b[1], 0x02);
}

static void
test_varint_too_long(void **state)
{
    (void)state;
    uint8_t buf[12];
    memset(buf, 0x80, sizeof(buf));
    buf[11] = 0x01; /* would end at the 12th byte */
    const uint8_t *p = buf;
    uint64_t v = 5;
    assert_int_equal(bh__varint_get(&p, buf + sizeof(buf), &v), -1);
    assert_true(v == 5);
    /* Two varints in a row are read one after the other. */
    uint8_t two[4] = { 0x96, 0x01, 0x05, 0x00 };
    p = two;
    assert_int_equal(bh__varint_get(&p, two + 4, &v), 0);
    assert_true(v == 150);
    assert_int_equal(bh__varint_get(&p, two + 4, &v), 0);
    assert_true(v == 5);
    assert_ptr_equal(p, two + 3);
}

/* ---- the option parser ---- */

static int
parse_even(const char *val, void *dest)
{
    int64_t v;
    if (bh__parse_i64(val, 0, 100, &v) != 0 || v % 2 != 0)
        return -1;
    *(int *)dest = (int)v;
    return 0;
}

struct parsed {
    int json, even, version;
    const char *dir;
    int64_t workers;
    uint32_t rows;
    struct bh__strs listen;
};

/* Parses with env_prefix (bh__opts_parse_env), or without (NULL). */
static int
run_env(struct parsed *p, const char *env_prefix, unsigned flags, int argc, char **argv, int *used,
        char *err, size_t errlen)
{
    struct bh__opt opts[] = {
        { "--json", NULL, BH__OPT_FLAG, 0, &p->json, "json" },
        { "--data-dir", "DIR", BH__OPT_STR, BH__OPT_LAST_WINS, &p->dir, "dir" },
        { "--workers", "N", BH__OPT_INT, 0, &p->workers, "workers", 1, 4096 },
        { "--rows", "N", BH__OPT_COUNT, 0, &p->rows, "rows" },
        { "--listen", "URL", BH__OPT_STRS, 0, &p->listen, "listen" },
        { "--even", "E", BH__OPT_FN, 0, &p->even, "even", 0, 0, parse_even, "an even number" },
        { "--version", NULL, BH__OPT_FLAG, BH__OPT_NO_ENV, &p->version, "version" },
    };
    memset(p, 0, sizeof(*p));
    if (env_prefix != NULL)
        return bh__opts_parse_env(opts, N(opts), argc, argv, flags, env_prefix, used, err, errlen);
    return bh__opts_parse(opts, N(opts), argc, argv, flags, used, err, errlen);
}

static int
run(struct parsed *p, unsigned flags, int argc, char **argv, int *used, char *err, size_t errlen)
{
    return run_env(p, NULL, flags, argc, argv, used, err, errlen);
}

static void
test_opts_values(void **state)
{
    struct parsed p;
    char err[128];
    int used = -1;
    char *argv[] = { "--json",   "--data-dir", "a",       "--data-dir=b", "--workers",
                     "8",        "--listen",   "tcp://x", "--listen",     "--json-ish",
                     "--rows=3", "--even",     "42" };

    (void)state;
    assert_int_equal(run(&p, 0, (int)N(argv), argv, &used, err, sizeof(err)), BH__PARSE_OK);
    assert_int_equal(used, (int)N(argv));
    assert_int_equal(p.json, 1);
    assert_string_equal(p.dir, "b"); /* the last wins */
    assert_true(p.workers == 8);
    assert_int_equal(p.rows, 3);
    assert_int_equal(p.even, 42);
    /* Without BH__OPTS_DASH_NOT_VALUE a value may look like an option. */
    assert_int_equal(p.listen.n, 2);
    assert_string_equal(p.listen.v[0], "tcp://x");
    assert_string_equal(p.listen.v[1], "--json-ish");
    bh__strs_free(&p.listen);
    bh__strs_free(&p.listen); /* twice is harmless */
    assert_null(p.listen.v);
}

static void
test_opts_errors(void **state)
{
    static const struct {
        const char *argv[4];
        unsigned flags;
        int rc;
        const char *err;
    } cases[] = {
        { { "--bogus" }, 0, BH__PARSE_ERROR, "unknown option --bogus" },
        { { "--bogus=1" }, BH__OPTS_QUOTE_UNKNOWN, BH__PARSE_ERROR, "unknown option \"--bogus\"" },
        { { "--workers" }, 0, BH__PARSE_ERROR, "--workers needs a value (N)" },
        { { "--data-dir", "--json" },
          BH__OPTS_DASH_NOT_VALUE,
          BH__PARSE_ERROR,
          "--data-dir needs a value (DIR)" },
        { { "--workers", "0" },
          0,
          BH__PARSE_ERROR,
          "--workers: expected an integer in 1..4096, got \"0\"" },
        { { "--workers", "+5" },
          0,
          BH__PARSE_ERROR,
          "--workers: expected an integer in 1..4096, got \"+5\"" },
        { { "--workers", "4097" },
          0,
          BH__PARSE_ERROR,
          "--workers: expected an integer in 1..4096, got \"4097\"" },
        { { "--rows", "x" },
          0,
          BH__PARSE_ERROR,
          "--rows: expected a positive integer (at most 4294967295), got \"x\"" },
        { { "--even", "3" }, 0, BH__PARSE_ERROR, "--even: expected an even number, got \"3\"" },
        { { "--json=1" }, 0, BH__PARSE_ERROR, "--json takes no value" },
        { { "--workers", "1", "--workers", "2" }, 0, BH__PARSE_ERROR, "--workers is given twice" },
        { { "stray" }, 0, BH__PARSE_ERROR, "unexpected argument \"stray\"" },
        { { "--json", "-h", "--bogus" }, 0, BH__PARSE_HELP, "" },
        { { "--help" }, BH__OPTS_DASH_NOT_VALUE, BH__PARSE_HELP, "" },
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        struct parsed p;
        char err[128], *argv[4];
        int argc = 0;
        for (; argc < 4 && cases[i].argv[argc] != NULL; argc++)
            argv[argc] = (char *)cases[i].argv[argc];
        int rc = run(&p, cases[i].flags, argc, argv, NULL, err, sizeof(err));
        bh__strs_free(&p.listen);
        if (rc != cases[i].rc || strcmp(err, cases[i].err) != 0)
            fail_msg("case %zu (%s): %d \"%s\"; want %d \"%s\"", i, cases[i].argv[0], rc, err,
                     cases[i].rc, cases[i].err);
    }
}

/* The variables run_env reads under the prefix "BHT_". */
static const char *const env_vars[] = { "BHT_JSON",   "BHT_DATA_DIR", "BHT_WORKERS", "BHT_ROWS",
                                        "BHT_LISTEN", "BHT_EVEN",     "BHT_VERSION" };

static void
env_clear(void)
{
    for (size_t i = 0; i < N(env_vars); i++)
        unsetenv(env_vars[i]);
}

/* Every option can come from the environment; what argv gives wins. */
static void
test_opts_env_values(void **state)
{
    struct parsed p;
    char err[128];
    int used = -1;

    (void)state;
    env_clear();
    setenv("BHT_JSON", "yes", 1);
    setenv("BHT_DATA_DIR", "/var/lib/x", 1);
    setenv("BHT_WORKERS", "8", 1);
    setenv("BHT_ROWS", "", 1); /* empty: not given */
    setenv("BHT_LISTEN", "tcp://a:1, tcp://b:2,ipc:///c  tls+tcp://d:3", 1);
    setenv("BHT_EVEN", "42", 1);
    setenv("BHT_VERSION", "1", 1); /* BH__OPT_NO_ENV: ignored */
    assert_int_equal(run_env(&p, "BHT_", 0, 0, NULL, &used, err, sizeof(err)), BH__PARSE_OK);
    assert_int_equal(used, 0);
    assert_int_equal(p.json, 1);
    assert_string_equal(p.dir, "/var/lib/x");
    assert_true(p.workers == 8);
    assert_int_equal(p.rows, 0);
    assert_int_equal(p.even, 42);
    assert_int_equal(p.version, 0);
    assert_int_equal(p.listen.n, 4);
    assert_string_equal(p.listen.v[0], "tcp://a:1");
    assert_string_equal(p.listen.v[1], "tcp://b:2");
    assert_string_equal(p.listen.v[2], "ipc:///c");
    assert_string_equal(p.listen.v[3], "tls+tcp://d:3");
    bh__strs_free(&p.listen);
    assert_null(p.listen.buf);

    /* Flags win, a repeatable one as a whole; an option given once on the
     * command line and once in the environment is not "given twice". */
    char *argv[] = { "--workers", "3", "--listen", "tcp://z:9", "--json" };
    setenv("BHT_JSON", "0", 1);
    assert_int_equal(run_env(&p, "BHT_", 0, (int)N(argv), argv, &used, err, sizeof(err)),
                     BH__PARSE_OK);
    assert_true(p.workers == 3);
    assert_int_equal(p.json, 1);
    assert_string_equal(p.dir, "/var/lib/x");
    assert_int_equal(p.listen.n, 1);
    assert_string_equal(p.listen.v[0], "tcp://z:9");
    bh__strs_free(&p.listen);

    /* A flag set to 0 (or false, no, off) stays unset. */
    assert_int_equal(run_env(&p, "BHT_", 0, 0, NULL, &used, err, sizeof(err)), BH__PARSE_OK);
    assert_int_equal(p.json, 0);
    bh__strs_free(&p.listen);
    /* Another prefix reads none of them. */
    assert_int_equal(run_env(&p, "OTHER_", 0, 0, NULL, &used, err, sizeof(err)), BH__PARSE_OK);
    assert_null(p.dir);
    assert_int_equal(p.listen.n, 0);
    env_clear();
}

/* A bad value from the environment names the variable and the flag. */
static void
test_opts_env_errors(void **state)
{
    static const struct {
        const char *var, *val, *err;
    } cases[] = {
        { "BHT_WORKERS", "0",
          "BHT_WORKERS (--workers): expected an integer in 1..4096, got \"0\"" },
        { "BHT_ROWS", "x",
          "BHT_ROWS (--rows): expected a positive integer (at most 4294967295), got \"x\"" },
        { "BHT_EVEN", "3", "BHT_EVEN (--even): expected an even number, got \"3\"" },
        { "BHT_JSON", "maybe", "BHT_JSON (--json): expected 1 or 0, got \"maybe\"" },
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        struct parsed p;
        char err[160];
        env_clear();
        setenv(cases[i].var, cases[i].val, 1);
        int rc = run_env(&p, "BHT_", 0, 0, NULL, NULL, err, sizeof(err));
        bh__strs_free(&p.listen);
        if (rc != BH__PARSE_ERROR || strcmp(err, cases[i].err) != 0)
            fail_msg("%s=%s: %d \"%s\"; want \"%s\"", cases[i].var, cases[i].val, rc, err,
                     cases[i].err);
    }
    env_clear();
}

/* A required option may come from the environment. */
static void
test_opts_env_required(void **state)
{
    const char *name = NULL;
    char err[128];
    struct bh__opt opts[] = {
        { "--name", "NAME", BH__OPT_STR, BH__OPT_REQUIRED, &name, "name" },
    };

    (void)state;
    unsetenv("BHT_NAME");
    assert_int_equal(bh__opts_parse_env(opts, N(opts), 0, NULL, 0, "BHT_", NULL, err, sizeof(err)),
                     BH__PARSE_ERROR);
    assert_string_equal(err, "--name NAME is required");
    setenv("BHT_NAME", "billing", 1);
    opts[0].seen = 0;
    assert_int_equal(bh__opts_parse_env(opts, N(opts), 0, NULL, 0, "BHT_", NULL, err, sizeof(err)),
                     BH__PARSE_OK);
    assert_string_equal(name, "billing");
    unsetenv("BHT_NAME");
}

static void
test_opts_positional(void **state)
{
    uint64_t id = 0;
    int json = 0, used = -1;
    char err[128];
    struct bh__opt opts[] = {
        { "--json", NULL, BH__OPT_FLAG, 0, &json, "json" },
        { NULL, "ID", BH__OPT_ID, BH__OPT_REQUIRED, &id, "the id" },
    };
    char *argv[] = { "--json", "get", "7" };

    (void)state;
    /* Stopping at the command: the positional entry is not required. */
    assert_int_equal(bh__opts_parse(opts, N(opts), 3, argv, BH__OPTS_STOP_AT_POSITIONAL, &used, err,
                                    sizeof(err)),
                     BH__PARSE_OK);
    assert_int_equal(used, 1);
    opts[0].seen = 0;
    assert_int_equal(bh__opts_parse(opts, N(opts), 1, argv, 0, NULL, err, sizeof(err)),
                     BH__PARSE_ERROR);
    assert_string_equal(err, "missing ID");
    opts[0].seen = opts[1].seen = 0;
    char *argv2[] = { "--", "7" };
    assert_int_equal(bh__opts_parse(opts, N(opts), 2, argv2, 0, NULL, err, sizeof(err)),
                     BH__PARSE_OK);
    assert_true(id == 7);
}

static void
test_opts_usage(void **state)
{
    int json;
    const char *dir;
    struct bh__opt opts[] = {
        { "--json", NULL, BH__OPT_FLAG, 0, &json, "print JSON" },
        { "--data-dir", "DIR", BH__OPT_STR, BH__OPT_REQUIRED, &dir, "where" },
    };
    char buf[512] = "";
    (void)state;
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_non_null(f);
    bh__opts_usage(f, "prog", "run [options]", "Runs.", opts, N(opts));
    fclose(f);
    assert_string_equal(buf, "usage: prog run [options]\n\nRuns.\n\noptions:\n"
                             "  --json          print JSON\n"
                             "  --data-dir DIR  where (required)\n");
}

/* ---- the arena ---- */

static void
test_arena_growth(void **state)
{
    (void)state;
    bh__arena a;
    assert_int_equal(bh__arena_init_alloc(&a, 64), 0);
    enum { K = 500 };
    char *p[K];
    size_t len[K];
    for (size_t i = 0; i < K; i++) {
        len[i] = (i * 53) % 700;
        p[i] = bh__arena_alloc(&a, len[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % _Alignof(max_align_t), 0);
        memset(p[i], (int)(i & 0xff), len[i]);
    }
    for (size_t i = 0; i < K; i++)
        for (size_t k = 0; k < len[i]; k++)
            if ((unsigned char)p[i][k] != (i & 0xff))
                fail_msg("allocation %zu byte %zu was overwritten", i, k);
    /* Larger than any block so far, and too large to be anything. */
    char *big = bh__arena_alloc(&a, 1 << 20);
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    assert_null(bh__arena_alloc(&a, SIZE_MAX - 8));
    assert_int_equal(a.oom, 1);
    assert_string_equal(bh__arena_strdup(&a, "meia"), "meia");
    /* A reset hands out the first block again from its start. */
    char *first = p[0];
    bh__arena_reset(&a);
    assert_int_equal(a.oom, 0);
    assert_ptr_equal(bh__arena_alloc(&a, 1), first);
    /* ... and, for an arena with its own first buffer (the server's), no
     * block: an idle context holds only its first buffer. */
    assert_null(a.blocks);
    bh__arena_fini(&a);
    assert_null(a.buf);
    bh__arena_fini(&a);
    bh__arena_fini(NULL);
}

/* A caller's buffer, misaligned on purpose: the arena aligns into it, and
 * it stays the caller's after fini. */
static void
test_arena_caller_buffer(void **state)
{
    max_align_t store[8];
    unsigned char *buf = (unsigned char *)store + 3;
    size_t size = sizeof(store) - 3;
    bh__arena a;

    (void)state;
    bh__arena_init(&a, buf, size);
    unsigned char *p = bh__arena_alloc(&a, 5), *q = bh__arena_alloc(&a, 1);
    assert_true(p >= buf && p < buf + size);
    assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    assert_true(q >= p + 5 && q < buf + size);
    /* Past the buffer: blocks, still aligned. */
    unsigned char *r = bh__arena_alloc(&a, sizeof(store));
    assert_non_null(r);
    assert_true(r < buf || r >= buf + size);
    assert_int_equal((uintptr_t)r % _Alignof(max_align_t), 0);
    /* A reset keeps the largest block (the library's arenas), which holds
     * the next big allocation without a malloc. */
    void *big = bh__arena_alloc(&a, 1 << 20);
    assert_non_null(big);
    bh__arena_reset(&a);
    assert_non_null(a.blocks);
    assert_ptr_equal(bh__arena_alloc(&a, 1), p);
    assert_ptr_equal(bh__arena_alloc(&a, 1 << 20), big);
    bh__arena_fini(&a);
    assert_ptr_equal(bh__arena_alloc(&a, 1), p); /* usable again */
    bh__arena_fini(&a);
    /* Too small to hold one aligned byte: every allocation from blocks. */
    bh__arena_init(&a, buf, 1);
    assert_null(a.buf);
    assert_non_null(bh__arena_alloc(&a, 1));
    bh__arena_fini(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_labels),          cmocka_unit_test(test_seat_labels),
        cmocka_unit_test(test_varint_round_trip),   cmocka_unit_test(test_varint_too_long),
        cmocka_unit_test(test_opts_values),         cmocka_unit_test(test_opts_errors),
        cmocka_unit_test(test_opts_positional),     cmocka_unit_test(test_opts_usage),
        cmocka_unit_test(test_opts_env_values),     cmocka_unit_test(test_opts_env_errors),
        cmocka_unit_test(test_opts_env_required),   cmocka_unit_test(test_arena_growth),
        cmocka_unit_test(test_arena_caller_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
