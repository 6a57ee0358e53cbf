/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `bilheteria` binary without a server: help, usage errors (exit 2,
 * nothing on stdout), an unreachable server (exit 1, UNAVAILABLE), and
 * the `call --list` output. BH_CLI_PATH is the binary, set by CMake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bilheteria/version.h"
#include "bilheteria/wire.h" /* BH_AUTH_TOKEN_MAX */
#include <cmocka.h>

/* 256 bytes: one past the longest idempotency key. */
#define K16      "kkkkkkkkkkkkkkkk"
#define LONG_KEY K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16

#ifndef BH_CLI_PATH
#error BH_CLI_PATH must name the bilheteria binary
#endif

struct cli_case {
    const char *env_server; /* BILHETERIA_SERVER for the run, or NULL */
    const char *args[16];
    int want_rc;
    const char *out_has;   /* NULL: stdout must be empty */
    const char *err_has;   /* NULL: stderr must be empty */
    const char *env_token; /* BILHETERIA_TOKEN for the run, or NULL */
    const char *err_lacks; /* NULL, or what stderr must not hold (a token) */
    const char *out_lacks; /* NULL, or what stdout must not hold */
};

#define UNREACHABLE "--server", "tcp://127.0.0.1:1", "--timeout-ms", "300"

static const struct cli_case cases[] = {
    { NULL, { "--help" }, 0, "usage: bilheteria [GLOBAL OPTIONS] COMMAND [ARGS]", NULL },
    { NULL, { "--version" }, 0, "bilheteria " BH_VERSION "\n", NULL },
    { NULL, { "session", "create", "--help" }, 0, "--seats-per-row M", NULL },
    { NULL, { "reserve", "-h" }, 0, "usage: bilheteria reserve --session ID", NULL },
    { NULL, { "event", "--help" }, 0, "event list [--page-size N] [--page-token T]", NULL },
    { NULL, { "call", "--list" }, 0, "bilheteria.v1.HealthService/Check\n", NULL },
    { NULL, { "--help" }, 0, "--token-file FILE", NULL },
    { NULL,
      { "--json", "call", "--list" },
      0,
      "{\"methods\":[\"bilheteria.v1.AdminService/Backup\",\"bilheteria.v1.AdminService/"
      "Stats\",\"bilheteria.v1.CouponService/"
      "CreateCoupon\",",
      NULL },
    { NULL, {}, 2, NULL, "error: missing COMMAND" },
    { NULL, { "bogus" }, 2, NULL, "error: unknown command \"bogus\"" },
    /* A URL that cannot be one is a usage error (an unreachable one is not). */
    { NULL, { "--server", "garbage", "health" }, 2, NULL, "bad server URL \"garbage\"" },
    /* A key on a command that only reads would be ignored: refused. */
    { NULL,
      { "event", "get", "1", "--idempotency-key", "k" },
      2,
      NULL,
      "error: --idempotency-key: this command only reads" },
    { NULL, { "event", "nope" }, 2, NULL, "error: unknown command \"event nope\"" },
    { NULL, { "--bogus", "health" }, 2, NULL, "error: unknown option --bogus" },
    { NULL,
      { "--timeout-ms", "-1", "health" },
      2,
      NULL,
      "error: --timeout-ms: expected a positive integer" },
    { NULL,
      { "session", "create", "--event", "1", "--starts-at", "2026-12-01T20:00:00Z", "--rows", "abc",
        "--seats-per-row", "3", "--price", "100" },
      2,
      NULL,
      "error: --rows: expected a positive integer (at most 4294967295), got \"abc\"" },
    { NULL,
      { "session", "create", "--event", "1", "--starts-at", "tomorrow", "--rows", "1",
        "--seats-per-row", "3", "--price", "100" },
      2,
      NULL,
      "error: --starts-at: expected an RFC 3339 time" },
    { NULL,
      { "session", "create", "--event", "1" },
      2,
      NULL,
      "error: --starts-at RFC3339 is required" },
    { NULL, { "event", "get" }, 2, NULL, "error: missing ID" },
    { NULL,
      { "event", "get", "0" },
      2,
      NULL,
      "error: ID: expected a positive integer id, got \"0\"" },
    { NULL, { "--json", "event", "get", "abc" }, 2, NULL, "error: ID: expected a positive" },
    { NULL,
      { "reserve", "--session", "1", "--user", "u", "--best", "2", "--ttl-s", "0" },
      2,
      NULL,
      "error: --ttl-s: expected a positive integer (at most 2147483647), got \"0\"" },
    { NULL,
      { "reserve", "--session", "1", "--user", "u", "--best", "2", "--ttl-s", "-3" },
      2,
      NULL,
      "error: --ttl-s: expected a positive integer" },
    { NULL,
      { "reserve", "--session", "1", "--user", "u", "--best", "2", "--seats", "A1" },
      2,
      NULL,
      "error: --seats and --best cannot be used together" },
    { NULL,
      { "reserve", "--session", "1", "--user", "u" },
      2,
      NULL,
      "error: give either --seats A1,A2 or --best N" },
    { NULL,
      { "reserve", "--session", "1", "--user", "u", "--seats", "A1,1B" },
      2,
      NULL,
      "error: --seats: \"1B\" is not a seat label" },
    { NULL,
      { "reserve", "--session", "1", "--user", "u", "--best", "1", "--product", "3:0" },
      2,
      NULL,
      "error: --product: expected ID:QTY" },
    { NULL,
      { "pay", "--reservation", "1", "--amount", "100" },
      2,
      NULL,
      "error: --idempotency-key KEY is required for pay" },
    { NULL,
      { "product", "create", "--name", "P", "--price", "1", "--stock", "0" },
      2,
      NULL,
      "error: --stock: expected a positive integer, got \"0\"" },
    { NULL,
      { "product", "create", "--name", "P", "--price", "1", "--stock", "-5" },
      2,
      NULL,
      "error: --stock: expected a positive integer, got \"-5\"" },
    { NULL,
      { "call", "bilheteria.v1.SessionService/CreateSession", "{\"rows\":\"abc\"}" },
      2,
      NULL,
      "error: JSON: field \"rows\": expected an unsigned integer, got \"abc\"" },
    { NULL, { "call", "bilheteria.v1.Nope/Nope" }, 2, NULL, "error: METHOD: no method" },
    /* Idempotency keys are checked here, before any call. */
    { NULL,
      { UNREACHABLE, "--idempotency-key", "", "event", "create", "--name", "X" },
      2,
      NULL,
      "error: --idempotency-key: expected 1..255 bytes, got 0" },
    { NULL,
      { UNREACHABLE, "pay", "--reservation", "1", "--amount", "5", "--idempotency-key", LONG_KEY },
      2,
      NULL,
      "error: --idempotency-key: expected 1..255 bytes, got 256" },
    { NULL,
      { UNREACHABLE, "--idempotency-key=", "call", "bilheteria.v1.EventService/GetEvent" },
      2,
      NULL,
      "error: --idempotency-key: expected 1..255 bytes, got 0" },
    /* No server: the library's UNAVAILABLE, exit 1, nothing on stdout. */
    { NULL, { UNREACHABLE, "health" }, 1, NULL, "error: UNAVAILABLE: " },
    /* With --json a failed call is also one JSON object on stdout. */
    { NULL,
      { UNREACHABLE, "--json", "event", "get", "1" },
      1,
      "{\"error\":{\"code\":\"UNAVAILABLE\",\"message\":\"cannot reach server at tcp://127.0.0.1:1",
      "error: UNAVAILABLE: " },
    { NULL,
      { UNREACHABLE, "call", "bilheteria.v1.EventService/GetEvent", "{}", "--json-style",
        "proto3" },
      1,
      "{\"error\":{\"code\":\"UNAVAILABLE\"",
      "error: UNAVAILABLE: " },
    /* grpcurl's method forms all get as far as the (unreachable) server. */
    { NULL,
      { UNREACHABLE, "call", "bilheteria.v1.EventService.GetEvent", "{\"id\":1}" },
      1,
      NULL,
      "error: UNAVAILABLE: " },
    { NULL, { UNREACHABLE, "call", "EventService/GetEvent" }, 1, NULL, "error: UNAVAILABLE: " },
    { NULL, { UNREACHABLE, "call", "EventService.GetEvent" }, 1, NULL, "error: UNAVAILABLE: " },
    { NULL,
      { "call", "EventService/GetEvnt" },
      2,
      NULL,
      "error: METHOD: no method \"EventService/GetEvnt\"; did you mean "
      "\"bilheteria.v1.EventService/GetEvent\"?" },
    { NULL, { "call", "GetEvent" }, 2, NULL, "error: METHOD: no method \"GetEvent\"" },
    /* call --list SERVICE: that service's methods only. */
    { NULL,
      { "call", "--list", "EventService" },
      0,
      "bilheteria.v1.EventService/CreateEvent\nbilheteria.v1.EventService/GetEvent\n",
      NULL,
      NULL,
      NULL,
      "HealthService" },
    { NULL,
      { "--json", "call", "--list", "bilheteria.v1.HealthService" },
      0,
      "{\"methods\":[\"bilheteria.v1.HealthService/Check\"]}\n",
      NULL },
    { NULL,
      { "call", "--list", "EvntService" },
      2,
      NULL,
      "error: SERVICE: no service \"EvntService\"; did you mean \"EventService\"?" },
    { NULL, { "call", "--list", "Nope" }, 2, NULL, "error: SERVICE: no service \"Nope\"" },
    /* describe, from the compiled descriptors. */
    { NULL,
      { "describe", "bilheteria.v1.EventService" },
      0,
      "service EventService {\n  rpc CreateEvent ( .bilheteria.v1.CreateEventRequest ) returns ( "
      ".bilheteria.v1.CreateEventResponse );\n",
      NULL },
    { NULL,
      { "describe", "PaymentService/ConfirmPayment" },
      0,
      "rpc ConfirmPayment ( .bilheteria.v1.ConfirmPaymentRequest ) returns ( "
      ".bilheteria.v1.ConfirmPaymentResponse );\n  writes: yes\n  idempotency key: required\n"
      "  roles: customer, service, admin\n",
      NULL },
    { NULL,
      { "describe", "bilheteria.v1.EventService.GetEvent" },
      0,
      "  writes: no\n  idempotency key: not taken\n",
      NULL },
    { NULL,
      { "describe", "EventService.CreateEvent" },
      0,
      "  writes: yes\n  idempotency key: optional\n  roles: admin\n",
      NULL },
    { NULL,
      { "describe", "Session" },
      0,
      "bilheteria.v1.Session is a message:\nmessage Session {\n  uint64 id = 1;\n",
      NULL },
    { NULL,
      { "describe", ".bilheteria.v1.Reservation" },
      0,
      "  repeated .bilheteria.v1.ReservedSeat seats = ",
      NULL },
    { NULL,
      { "describe", "ReservationStatus" },
      0,
      "enum ReservationStatus {\n  RESERVATION_STATUS_UNSPECIFIED = 0;\n",
      NULL },
    { NULL,
      { "describe", "Evnt" },
      2,
      NULL,
      "error: NAME: no service, method, message or enum \"Evnt\"; did you mean \"Event\"?" },
    { NULL, { "describe" }, 2, NULL, "error: missing NAME" },
    /* help [COMMAND] exits 0. */
    { NULL, { "help" }, 0, "usage: bilheteria [GLOBAL OPTIONS] COMMAND [ARGS]", NULL },
    { NULL, { "help", "event", "create" }, 0, "usage: bilheteria event create --name NAME", NULL },
    { NULL, { "help", "reserve" }, 0, "usage: bilheteria reserve --session ID", NULL },
    { NULL, { "help", "event" }, 0, "  event list [--page-size N] [--page-token T]\n", NULL },
    { NULL,
      { "help", "evnt" },
      2,
      NULL,
      "error: unknown command \"evnt\"; did you mean \"event\"?" },
    /* Did you mean: commands, subcommands, options (global ones too). */
    { NULL,
      { "evnt", "list" },
      2,
      NULL,
      "error: unknown command \"evnt\"; did you mean \"event\"?" },
    { NULL, { "reserv" }, 2, NULL, "did you mean \"reserve\"?" },
    { NULL, { "sesion", "list" }, 2, NULL, "did you mean \"session\"?" },
    { NULL,
      { "event", "lsit" },
      2,
      NULL,
      "error: unknown command \"event lsit\"; did you mean \"event list\"?" },
    { NULL,
      { "event", "list", "--page-sise", "3" },
      2,
      NULL,
      "error: unknown option --page-sise; did you mean --page-size?" },
    { NULL,
      { "event", "list", "--jsno" },
      2,
      NULL,
      "error: unknown option --jsno; did you mean --json?" },
    { NULL,
      { "--sever", "x", "health" },
      2,
      NULL,
      "unknown option --sever; did you mean --server?" },
    { NULL, { "zzzzzz" }, 2, NULL, "error: unknown command \"zzzzzz\"\n", NULL, NULL, NULL },
    /* Shell completion. */
    { NULL, { "completion", "bash" }, 0, "complete -F _bilheteria bilheteria\n", NULL },
    { NULL, { "completion", "zsh" }, 0, "#compdef bilheteria\n", NULL },
    { NULL, { "completion", "fish" }, 2, NULL, "error: SHELL: expected bash or zsh" },
    { NULL,
      { "--json-style", "yaml", "health" },
      2,
      NULL,
      "error: --json-style: expected proto or proto3" },
    { NULL,
      { UNREACHABLE, "--idempotency-key", "k", "pay", "--reservation", "1", "--amount", "5" },
      1,
      NULL,
      "error: UNAVAILABLE: " },
    { NULL,
      { UNREACHABLE, "call", "bilheteria.v1.EventService/GetEvent", "{\"id\":1}" },
      1,
      NULL,
      "error: UNAVAILABLE: " },
    /* The server address defaults to $BILHETERIA_SERVER. */
    { "tcp://127.0.0.1:1", { "--timeout-ms", "300", "health" }, 1, NULL, "127.0.0.1:1" },
};

static char *
slurp(FILE *f)
{
    long n;
    char *buf;

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    return buf;
}

static void
run_case(size_t idx, const struct cli_case *c)
{
    FILE *out = tmpfile(), *err = tmpfile();
    char *argv[18];
    char *o, *e;
    int argc = 0, status = 0;
    pid_t pid;

    assert_non_null(out);
    assert_non_null(err);
    argv[argc++] = (char *)BH_CLI_PATH;
    while (argc < 17 && c->args[argc - 1] != NULL) {
        argv[argc] = (char *)c->args[argc - 1];
        argc++;
    }
    argv[argc] = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (c->env_server != NULL)
            setenv("BILHETERIA_SERVER", c->env_server, 1);
        else
            unsetenv("BILHETERIA_SERVER");
        if (c->env_token != NULL)
            setenv("BILHETERIA_TOKEN", c->env_token, 1);
        else
            unsetenv("BILHETERIA_TOKEN");
        dup2(fileno(out), 1);
        dup2(fileno(err), 2);
        execv(BH_CLI_PATH, argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    o = slurp(out);
    e = slurp(err);
    if (WEXITSTATUS(status) != c->want_rc)
        fail_msg("case %zu: exit %d, want %d\nstdout: %s\nstderr: %s", idx, WEXITSTATUS(status),
                 c->want_rc, o, e);
    if (c->out_has == NULL ? o[0] != '\0' : strstr(o, c->out_has) == NULL)
        fail_msg("case %zu: stdout is\n%s\nwant %s", idx, o, c->out_has ? c->out_has : "empty");
    if (c->err_has == NULL ? e[0] != '\0' : strstr(e, c->err_has) == NULL)
        fail_msg("case %zu: stderr is\n%s\nwant %s", idx, e, c->err_has ? c->err_has : "empty");
    if (c->err_lacks != NULL && strstr(e, c->err_lacks) != NULL)
        fail_msg("case %zu: stderr holds %s:\n%s", idx, c->err_lacks, e);
    if (c->out_lacks != NULL && strstr(o, c->out_lacks) != NULL)
        fail_msg("case %zu: stdout holds %s:\n%s", idx, c->out_lacks, o);
    /* Errors start stderr; --json output is one line. */
    if (c->err_has != NULL && c->want_rc != 0)
        assert_int_equal(strncmp(e, "error: ", 7), 0);
    if (c->want_rc == 0 && o[0] == '{')
        assert_ptr_equal(strchr(o, '\n'), o + strlen(o) - 1);
    free(o);
    free(e);
    fclose(out);
    fclose(err);
}

static void
test_offline(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(i, &cases[i]);
}

/* A file holding text, in a temp dir the test removes; path gets its name. */
static void
write_file(char *path, size_t size, const char *dir, const char *name, const char *text)
{
    FILE *f;

    snprintf(path, size, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/*
 * Where the token comes from: --token, --token-file, $BILHETERIA_TOKEN.
 * Bad ones are usage errors that name the flag (and the path) before any
 * call; a good one gets as far as the unreachable server (exit 1).
 */
static void
test_tokens(void **state)
{
    char dir[] = "/tmp/bh-cli-token-XXXXXX";
    char good[300], blank[300], longf[300], crlf[300];
    char longtok[BH_AUTH_TOKEN_MAX + 2], longline[BH_AUTH_TOKEN_MAX + 3];

    (void)state;
    memset(longtok, 'L', sizeof(longtok) - 1);
    longtok[sizeof(longtok) - 1] = '\0';
    snprintf(longline, sizeof(longline), "%s\n", longtok);
    assert_non_null(mkdtemp(dir));
    write_file(good, sizeof(good), dir, "good", "tok-123 \t\nsecond line\n");
    write_file(crlf, sizeof(crlf), dir, "crlf", "tok-456\r\n");
    write_file(blank, sizeof(blank), dir, "blank", "  \t\r\n");
    write_file(longf, sizeof(longf), dir, "long", longline);

    const struct cli_case tcases[] = {
        { NULL,
          { UNREACHABLE, "--token", "a", "--token-file", good, "health" },
          2,
          NULL,
          "error: --token and --token-file exclude each other" },
        /* A global option after the command counts the same. */
        { NULL,
          { UNREACHABLE, "--token", "a", "health", "--token-file", good },
          2,
          NULL,
          "error: --token and --token-file exclude each other" },
        { NULL,
          { UNREACHABLE, "--token-file", "/nonexistent/bh-token", "health" },
          2,
          NULL,
          "error: --token-file /nonexistent/bh-token: cannot open it: No such file" },
        { NULL,
          { UNREACHABLE, "--token-file", "/dev/null", "health" },
          2,
          NULL,
          "error: --token-file /dev/null: the file is empty" },
        { NULL,
          { UNREACHABLE, "--token-file", "/", "health" },
          2,
          NULL,
          "error: --token-file /: cannot read it" },
        { NULL,
          { UNREACHABLE, "--token-file", blank, "health" },
          2,
          NULL,
          "its first line is empty" },
        { NULL,
          { UNREACHABLE, "--token-file", longf, "health" },
          2,
          NULL,
          "the token is longer than",
          NULL,
          "LLLL" },
        { NULL,
          { UNREACHABLE, "--token", "", "health" },
          2,
          NULL,
          "error: --token: the token is empty" },
        { NULL,
          { UNREACHABLE, "--token", longtok, "health" },
          2,
          NULL,
          "error: --token: the token is",
          NULL,
          "LLLL" },
        { NULL,
          { UNREACHABLE, "health" },
          2,
          NULL,
          "error: $BILHETERIA_TOKEN: the token is",
          longtok,
          "LLLL" },
        /* Good tokens reach the call (and the unreachable server). */
        { NULL, { UNREACHABLE, "--token-file", good, "health" }, 1, NULL, "error: UNAVAILABLE: " },
        { NULL, { UNREACHABLE, "--token-file", crlf, "health" }, 1, NULL, "error: UNAVAILABLE: " },
        { NULL, { UNREACHABLE, "health" }, 1, NULL, "error: UNAVAILABLE: ", "env-tok" },
        /* A flag wins over the environment (whose token here is bad). */
        { NULL,
          { UNREACHABLE, "--token", "t", "health" },
          1,
          NULL,
          "error: UNAVAILABLE: ",
          longtok },
        { NULL,
          { UNREACHABLE, "--token-file", good, "health" },
          1,
          NULL,
          "error: UNAVAILABLE: ",
          longtok },
    };
    for (size_t i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++)
        run_case(100 + i, &tcases[i]);
    unlink(good);
    unlink(crlf);
    unlink(blank);
    unlink(longf);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline),
        cmocka_unit_test(test_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
