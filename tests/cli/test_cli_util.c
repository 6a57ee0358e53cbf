/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's offline pieces: RFC 3339 <-> Unix ms, the option parser.
 * Table-driven. (Seat labels are tested with proto/common in
 * tests/unit/test_common.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "opts.h"
#include "rfc3339.h"
#include "width.h"

struct time_case {
    const char *in;
    int64_t ms;
    const char *out; /* canonical form */
};

static const struct time_case time_cases[] = {
    { "1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00Z" },
    { "2026-12-01T20:00:00Z", 1796155200000LL, "2026-12-01T20:00:00Z" },
    { "2026-12-01T17:00:00-03:00", 1796155200000LL, "2026-12-01T20:00:00Z" },
    { "2026-12-01T23:30:00+03:30", 1796155200000LL, "2026-12-01T20:00:00Z" },
    { "2026-12-01t20:00:00z", 1796155200000LL, "2026-12-01T20:00:00Z" },
    { "2026-12-01 20:00:00Z", 1796155200000LL, "2026-12-01T20:00:00Z" },
    { "2026-12-01T20:00:00.5Z", 1796155200500LL, "2026-12-01T20:00:00.500Z" },
    { "2026-12-01T20:00:00.123456789Z", 1796155200123LL, "2026-12-01T20:00:00.123Z" },
    { "2026-12-01T20:00:00.000Z", 1796155200000LL, "2026-12-01T20:00:00Z" },
    { "2024-02-29T12:00:00Z", 1709208000000LL, "2024-02-29T12:00:00Z" },
    { "2000-02-29T00:00:00Z", 951782400000LL, "2000-02-29T00:00:00Z" },
    { "1969-12-31T23:59:59.999Z", -1, "1969-12-31T23:59:59.999Z" },
    { "1900-01-01T00:00:00Z", -2208988800000LL, "1900-01-01T00:00:00Z" },
    { "9999-12-31T23:59:59Z", 253402300799000LL, "9999-12-31T23:59:59Z" },
    { "0000-01-01T00:00:00Z", -62167219200000LL, "0000-01-01T00:00:00Z" },
    /* A leap second rolls into the next minute. */
    { "2016-12-31T23:59:60Z", 1483228800000LL, "2017-01-01T00:00:00Z" },
    { "2026-01-01T00:00:00-00:00", 1767225600000LL, "2026-01-01T00:00:00Z" },
};

static const char *const bad_times[] = {
    "",
    "2026-12-01",
    "2026-12-01T20:00:00",
    "2026-12-01T20:00Z",
    "2026-13-01T20:00:00Z",
    "2026-00-01T20:00:00Z",
    "2026-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-12-00T20:00:00Z",
    "2026-12-01T24:00:00Z",
    "2026-12-01T20:60:00Z",
    "2026-12-01T20:00:61Z",
    "2026-12-01T20:00:00.Z",
    "2026-12-01T20:00:00+3:00",
    "2026-12-01T20:00:00+24:00",
    "2026-12-01T20:00:00+03:60",
    "2026-12-01T20:00:00Zjunk",
    "26-12-01T20:00:00Z",
    "2026-12-01X20:00:00Z",
    "+2026-12-01T20:00:00Z",
    "2026-1-01T20:00:00Z",
    "1796155200000",
    "tomorrow",
};

static void
test_rfc3339(void **state)
{
    size_t i;
    char buf[CLI_RFC3339_MAX];

    (void)state;
    for (i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
        const struct time_case *c = &time_cases[i];
        int64_t ms = 42;

        if (cli_rfc3339_parse(c->in, &ms) != 0)
            fail_msg("%s was refused", c->in);
        if (ms != c->ms)
            fail_msg("%s: got %lld, want %lld", c->in, (long long)ms, (long long)c->ms);
        assert_int_equal(cli_rfc3339_format(ms, buf, sizeof(buf)), (int)strlen(c->out));
        assert_string_equal(buf, c->out);
        /* The canonical form reads back to the same instant. */
        assert_int_equal(cli_rfc3339_parse(buf, &ms), 0);
        assert_true(ms == c->ms);
    }
    for (i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
        int64_t ms = 42;
        if (cli_rfc3339_parse(bad_times[i], &ms) == 0)
            fail_msg("\"%s\" was accepted as %lld", bad_times[i], (long long)ms);
        assert_true(ms == 42);
    }
    assert_int_equal(cli_rfc3339_parse(NULL, NULL), -1);
    /* Too small a buffer, and years that do not fit four digits. */
    assert_int_equal(cli_rfc3339_format(0, buf, 20), -1);
    assert_int_equal(cli_rfc3339_format(253402300800000LL, buf, sizeof(buf)), -1);
    assert_int_equal(cli_rfc3339_format(-62167219200001LL, buf, sizeof(buf)), -1);
    assert_int_equal(cli_rfc3339_format(INT64_MIN, buf, sizeof(buf)), -1);
    assert_int_equal(cli_rfc3339_format(INT64_MAX, buf, sizeof(buf)), -1);
}

static void
test_numbers(void **state)
{
    uint64_t u = 7;
    int64_t i = 7;

    (void)state;
    assert_int_equal(bh__parse_u64("18446744073709551615", 0, UINT64_MAX, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(bh__parse_u64("18446744073709551616", 0, UINT64_MAX, &u), -1);
    assert_int_equal(bh__parse_u64("-1", 0, UINT64_MAX, &u), -1);
    assert_int_equal(bh__parse_u64("+1", 0, UINT64_MAX, &u), -1);
    assert_int_equal(bh__parse_u64(" 1", 0, UINT64_MAX, &u), -1);
    assert_int_equal(bh__parse_u64("1 ", 0, UINT64_MAX, &u), -1);
    assert_int_equal(bh__parse_u64("0", 1, UINT64_MAX, &u), -1);
    assert_int_equal(bh__parse_u64("1.5", 0, UINT64_MAX, &u), -1);
    assert_int_equal(bh__parse_u64("", 0, UINT64_MAX, &u), -1);
    assert_true(u == UINT64_MAX);
    assert_int_equal(bh__parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(bh__parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &i), -1);
    assert_int_equal(bh__parse_i64("-1", 0, INT64_MAX, &i), -1);
    assert_int_equal(bh__parse_i64("0x10", 0, INT64_MAX, &i), -1);
    assert_int_equal(bh__parse_i64("-", INT64_MIN, INT64_MAX, &i), -1);
    assert_true(i == INT64_MIN);
}

/* The option parser as the commands use it. */
static void
test_opts(void **state)
{
    const char *name = NULL;
    uint32_t rows = 0, half = 9;
    uint64_t id = 0;
    int64_t price = -1, at = 0;
    int32_t ttl = 0;
    int json = 0;
    struct bh__strs prods = { 0 };
    struct bh__opt opts[] = {
        { "--name", "NAME", BH__OPT_STR, BH__OPT_REQUIRED, &name, "name" },
        { "--rows", "N", BH__OPT_COUNT, 0, &rows, "rows" },
        { "--half", "N", BH__OPT_U32, 0, &half, "half" },
        { "--price", "CENTS", BH__OPT_NONNEG, 0, &price, "price" },
        CLI_TIME_OPT("--at", 0, &at, "time"),
        { "--ttl-s", "S", BH__OPT_POS_I32, 0, &ttl, "ttl" },
        { "--json", NULL, BH__OPT_FLAG, 0, &json, "json" },
        { "--product", "ID:QTY", BH__OPT_STRS, 0, &prods, "product" },
        { NULL, "ID", BH__OPT_ID, BH__OPT_REQUIRED, &id, "id" },
    };
    const size_t n = sizeof(opts) / sizeof(opts[0]);
    char *ok_argv[] = { "42",      "--name",    "Hamlet", "--rows=10", "--half",
                        "0",       "--price",   "2500",   "--at",      "2026-12-01T17:00:00-03:00",
                        "--json",  "--product", "4:2",    "--product", "5:1",
                        "--ttl-s", "300" };
    char err[256];
    int used = -1;
    size_t i;

    (void)state;
    assert_int_equal(bh__opts_parse(opts, n, (int)(sizeof(ok_argv) / sizeof(ok_argv[0])), ok_argv,
                                    0, &used, err, sizeof(err)),
                     BH__PARSE_OK);
    assert_string_equal(name, "Hamlet");
    assert_int_equal(rows, 10);
    assert_int_equal(half, 0);
    assert_true(price == 2500);
    assert_true(at == 1796155200000LL);
    assert_int_equal(ttl, 300);
    assert_int_equal(json, 1);
    assert_true(id == 42);
    assert_int_equal(prods.n, 2);
    assert_string_equal(prods.v[0], "4:2");
    assert_string_equal(prods.v[1], "5:1");
    assert_int_equal(used, (int)(sizeof(ok_argv) / sizeof(ok_argv[0])));
    bh__strs_free(&prods);

    {
        struct {
            const char *args[4];
            int want;
            const char *err;
        } bad[] = {
            { { "1", "--rows", "abc" },
              BH__PARSE_ERROR,
              "--rows: expected a positive integer (at most 4294967295), got \"abc\"" },
            { { "1", "--name", "x", "--rows=0" },
              BH__PARSE_ERROR,
              "--rows: expected a positive integer (at most 4294967295), got \"0\"" },
            { { "1", "--name", "x", "--price" }, BH__PARSE_ERROR, "--price needs a value (CENTS)" },
            { { "1", "--name", "x", "--ttl-s=0" },
              BH__PARSE_ERROR,
              "--ttl-s: expected a positive integer (at most 2147483647), got \"0\"" },
            { { "1", "--ttl-s", "-5" },
              BH__PARSE_ERROR,
              "--ttl-s: expected a positive integer (at most 2147483647), got \"-5\"" },
            { { "1", "--price", "-1" },
              BH__PARSE_ERROR,
              "--price: expected a non-negative integer, got \"-1\"" },
            { { "1", "--at", "soon" },
              BH__PARSE_ERROR,
              "--at: expected an RFC 3339 time like 2026-12-01T20:00:00Z or "
              "2026-12-01T17:00:00-03:00, got \"soon\"" },
            { { "1", "--bogus", "x" }, BH__PARSE_ERROR, "unknown option --bogus" },
            { { "1", "--name=a", "--name=b" }, BH__PARSE_ERROR, "--name is given twice" },
            { { "1", "--json=1", "--name", "a" }, BH__PARSE_ERROR, "--json takes no value" },
            { { "1" }, BH__PARSE_ERROR, "--name NAME is required" },
            { { "--name", "a" }, BH__PARSE_ERROR, "missing ID" },
            { { "x", "--name", "a" },
              BH__PARSE_ERROR,
              "ID: expected a positive integer id, got \"x\"" },
            { { "1", "2", "--name", "a" }, BH__PARSE_ERROR, "unexpected argument \"2\"" },
            { { "1", "--rows", "x", "--help" }, BH__PARSE_ERROR, NULL },
            { { "--help", "--rows", "x" }, BH__PARSE_HELP, NULL },
            { { "-h" }, BH__PARSE_HELP, NULL },
            /* A value that looks like an option is still the value. */
            { { "1", "--name", "--help" }, BH__PARSE_OK, NULL },
            { { "--name", "a", "--", "7" }, BH__PARSE_OK, NULL },
        };
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            int argc = 0, rc;
            size_t k;

            for (k = 0; k < n; k++)
                opts[k].seen = 0;
            while (argc < 4 && bad[i].args[argc] != NULL)
                argc++;
            rc = bh__opts_parse(opts, n, argc, (char **)bad[i].args, 0, NULL, err, sizeof(err));
            bh__strs_free(&prods);
            if (rc != bad[i].want)
                fail_msg("case %zu: rc %d, want %d (%s)", i, rc, bad[i].want, err);
            if (bad[i].err != NULL && strcmp(err, bad[i].err) != 0)
                fail_msg("case %zu\n got:  %s\n want: %s", i, err, bad[i].err);
        }
    }
}

/* Global options stop at the command word. */
static void
test_opts_stop_at_command(void **state)
{
    const char *server = NULL;
    int json = 0, used = 0;
    struct bh__opt g[] = {
        { "--server", "URL", BH__OPT_STR, 0, &server, "server" },
        { "--json", NULL, BH__OPT_FLAG, 0, &json, "json" },
    };
    char *argv[] = { "--server", "tcp://x:1", "--json", "event", "get", "--json" };
    char err[128];

    (void)state;
    assert_int_equal(
        bh__opts_parse(g, 2, 6, argv, BH__OPTS_STOP_AT_POSITIONAL, &used, err, sizeof(err)),
        BH__PARSE_OK);
    assert_int_equal(used, 3);
    assert_string_equal(server, "tcp://x:1");
    assert_int_equal(json, 1);
}

/* Display width: what a terminal shows, not bytes or code points. */
static void
test_display_width(void **state)
{
    static const struct {
        const char *s;
        size_t want;
    } cases[] = {
        { "", 0 },
        { "Hamlet", 6 },
        { "Cafe\xcc\x81", 4 },       /* Café, e + combining acute */
        { "Caf\xc3\xa9", 4 },        /* Café, precomposed */
        { "a\xc3\xa7\xc3\xa3o", 4 }, /* ação */
        { "\xf0\x9f\x8e\xac", 2 },   /* U+1F3AC clapper board: an emoji, wide */
        { "\xe5\x8d\x83\xe3\x81\xa8\xe5\x8d\x83\xe5\xb0\x8b", 8 }, /* 千と千尋: CJK, wide */
        { "x\xffy", 3 }, /* a byte that is not UTF-8 counts 1 */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (cli_display_width(cases[i].s) != cases[i].want)
            fail_msg("case %zu: width %zu, want %zu", i, cli_display_width(cases[i].s),
                     cases[i].want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_display_width),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_opts_stop_at_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
