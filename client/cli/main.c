/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bilheteria: the command-line client of the Bilheteria box office.
 *
 *   bilheteria [GLOBAL OPTIONS] COMMAND [ARGS]
 *
 * Global options come before the command; each command parses its own
 * (cmd_*.c). This file holds the table of commands and the dispatch.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_trace.h"
#include "cli.h"
#include "pbjson.h"

static int cli_cmd_help(struct cli *, const struct cli_cmd *, int, char **);

const struct cli_cmd cli_cmds[] = {
    { "event", "create",
      "event create --name NAME [--venue V] [--description D] [--starts-at RFC3339] "
      "[--ends-at RFC3339]",
      "Create an event.", cli_cmd_event_create },
    { "event", "get", "event get ID", "Show an event.", cli_cmd_event_get },
    { "event", "list", "event list [--page-size N] [--page-token T]", "List events.",
      cli_cmd_event_list },
    { "event", "update",
      "event update ID [--name NAME] [--venue V] [--description D] [--starts-at RFC3339] "
      "[--ends-at RFC3339]",
      "Change an event (admin).", cli_cmd_event_update },
    { "session", "create",
      "session create --event ID --starts-at RFC3339 --rows N --seats-per-row M "
      "(--price CENTS | --zone NAME:ROWS:CENTS...) [--half-price CENTS] [--half-cap N] "
      "[--max-per-user N] [--room NAME]",
      "Create a session (showtime) of an event, with its seat layout and prices.",
      cli_cmd_session_create },
    { "session", "get", "session get ID", "Show a session.", cli_cmd_session_get },
    { "session", "list", "session list [--event ID] [--page-size N] [--page-token T]",
      "List sessions, of every event or of one.", cli_cmd_session_list },
    { "session", "seats", "session seats ID",
      "Show a session's seat map: '.' available, 'h' held, 'x' sold.", cli_cmd_session_seats },
    { "session", "update",
      "session update ID [--starts-at RFC3339] [--room NAME] [--price CENTS] "
      "[--zone NAME:ROWS:CENTS... | --no-zones] [--rows N --seats-per-row M] "
      "[--max-per-user N] [--half-cap N]",
      "Change a session (admin); prices, zones and layout only while nothing is held or sold.",
      cli_cmd_session_update },
    { "session", "cancel", "session cancel ID --idempotency-key KEY [--reason R]",
      "Cancel a session: stop its sales, release its holds and refund every paid "
      "reservation in full (in batches; session get shows how far).",
      cli_cmd_session_cancel },
    { "product", "create", "product create --name NAME --price CENTS [--stock N]",
      "Create an add-on product (popcorn, soda, ...).", cli_cmd_product_create },
    { "product", "list", "product list [--page-size N] [--page-token T]", "List products.",
      cli_cmd_product_list },
    { "product", "update",
      "product update ID [--price CENTS] [--stock-add N | --stock-remove N] "
      "[--active true|false]",
      "Change a product (admin): price for new reservations, stock, on sale or not.",
      cli_cmd_product_update },
    { "reserve", NULL,
      "reserve --session ID --user USER (--seats A1,A2 | --best N [--zone NAME]) [--half N] "
      "[--product ID:QTY]... [--ttl-s S] [--coupon CODE]",
      "Hold seats (chosen, or the best N adjacent) and add-ons for a user until "
      "paid or expired.",
      cli_cmd_reserve },
    { "reservation", "get", "reservation get ID", "Show a reservation.", cli_cmd_reservation_get },
    { "reservation", "list", "reservation list --user USER [--page-size N] [--page-token T]",
      "List a user's reservations, newest first.", cli_cmd_reservation_list },
    { "reservation", "cancel", "reservation cancel ID [--idempotency-key KEY]",
      "Cancel a reservation and free its seats; a paid one is refunded in full "
      "(admin, service; needs an idempotency key).",
      cli_cmd_reservation_cancel },
    { "coupon", "create",
      "coupon create --code CODE (--percent P | --amount CENTS) "
      "[--applies-to tickets|products|order] [--event ID | --session ID | --product ID] "
      "[--valid-from T] [--valid-until T] [--max-uses N] [--max-uses-per-user N] "
      "[--min-total CENTS] [--include-meia]",
      "Create a coupon (admin).", cli_cmd_coupon_create },
    { "coupon", "get", "coupon get CODE", "Show a coupon and its uses.", cli_cmd_coupon_get },
    { "coupon", "list", "coupon list [--page-size N] [--page-token T]",
      "List coupons by code, with their uses.", cli_cmd_coupon_list },
    { "coupon", "deactivate", "coupon deactivate CODE",
      "Stop a coupon from taking new reservations (admin).", cli_cmd_coupon_deactivate },
    { "promo", "combo", "promo combo --name NAME --product ID:QTY... --price CENTS",
      "Create an automatic product combo at a bundle price (admin).", cli_cmd_promo_combo },
    { "promo", "quantity", "promo quantity --min-tickets N --percent P [--name NAME]",
      "Create an automatic discount: N or more inteira tickets, P% off each (admin).",
      cli_cmd_promo_quantity },
    { "promo", "list", "promo list [--page-size N] [--page-token T]",
      "List the automatic discount rules.", cli_cmd_promo_list },
    { "promo", "deactivate", "promo deactivate ID", "Stop an automatic discount rule (admin).",
      cli_cmd_promo_deactivate },
    { "pay", NULL,
      "pay --reservation ID --amount CENTS --idempotency-key KEY [--method M] "
      "[--provider P --provider-ref R]",
      "Confirm the payment of a pending reservation, exactly once per key.", cli_cmd_pay },
    { "payment", "get", "payment get ID", "Show a payment and its refunds.", cli_cmd_payment_get },
    { "refund", NULL,
      "refund --payment ID (--all | --seats A1,A2 | --product ID:QTY...) --idempotency-key KEY "
      "[--reason R] [--provider P --provider-ref R] [--keep-seats-blocked]",
      "Refund a payment in full or some of its seats and add-ons (admin, service).",
      cli_cmd_refund },
    { "waitlist", "join", "waitlist join --session ID --user USER --seats N",
      "Join a session's waiting list for N adjacent seats, offered as a hold when freed.",
      cli_cmd_waitlist_join },
    { "waitlist", "leave", "waitlist leave --session ID --user USER",
      "Leave a session's waiting list (declining an offer cancels its hold).",
      cli_cmd_waitlist_leave },
    { "waitlist", "get", "waitlist get --session ID --user USER",
      "Show a user's place in a session's waiting list, or the offer made.", cli_cmd_waitlist_get },
    { "waitlist", "list", "waitlist list --session ID [--page-size N] [--page-token T]",
      "List a session's waiting list in arrival order (admin, service).", cli_cmd_waitlist_list },
    { "watch", NULL, "watch [--from SEQ] [--limit N] [--json]",
      "Print the change feed's changes as they commit, one a line.", cli_cmd_watch },
    { "report", "sales",
      "report sales (--event ID | --session ID) [--from RFC3339] [--to RFC3339] "
      "[--by day|session|zone] [--csv]",
      "Sales of an event or a session by day, session or price zone: tickets, money, "
      "add-ons, holds and their conversion (admin).",
      cli_cmd_report_sales },
    { "report", "export", "report export --from SEQ [--csv | --json]",
      "Print the change feed from SEQ to its current end as CSV rows (or JSON lines).",
      cli_cmd_report_export },
    { "recommend", NULL,
      "recommend (--reservation ID | --product ID... [--event ID]) [--k N] [--min-support N]",
      "Add-ons to suggest for an order: bought with its products, else best sellers.",
      cli_cmd_recommend },
    { "health", NULL, "health [--service NAME]", "Check the server; exits 1 unless it is SERVING.",
      cli_cmd_health },
    { "admin", "backup", "admin backup --out PATH",
      "Have the server copy its data (consistent, compacted) to PATH on its own file "
      "system, while it keeps serving; a server started with --data-dir PATH serves the copy.",
      cli_cmd_admin_backup },
    { "top", NULL, "top [--once]", "A live view of the server, every second (admin).",
      cli_cmd_top },
    { "call", NULL, "call METHOD [JSON] | call --list [SERVICE]",
      "Call any method by name with a JSON request; print the JSON answer.", cli_cmd_call },
    { "describe", NULL, "describe SERVICE|METHOD|MESSAGE",
      "Show a service's methods, a method's types and rules, or a message's fields.",
      cli_cmd_describe },
    { "help", NULL, "help [COMMAND]", "Print the help, or a command's.", cli_cmd_help },
    { "completion", NULL, "completion bash|zsh", "Print a shell completion script for bash or zsh.",
      cli_cmd_completion },
};

const size_t cli_ncmds = CLI_NOPTS(cli_cmds);
#define CLI_NCMDS cli_ncmds

int
cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd != NULL)
        fprintf(stderr, "\nusage: bilheteria %s\n(see 'bilheteria %s%s%s --help')\n", cmd->synopsis,
                cmd->group, cmd->verb ? " " : "", cmd->verb ? cmd->verb : "");
    else
        fputs("\n(see 'bilheteria --help')\n", stderr);
    return CLI_EXIT_USAGE;
}

/* The global options, for suggestions after a command's unknown option. */
static const struct bh__opt *cli__g;
static size_t cli__ng;

/* Appends "; did you mean "--x"?" to bh__opts_parse's "unknown option
 * --y" when one of a[0..na) or b[0..nb) is near --y. */
static void
cli__option_hint(char *err, size_t size, const struct bh__opt *a, size_t na,
                 const struct bh__opt *b, size_t nb)
{
    static const char prefix[] = "unknown option ";
    const char *names[128], *near;
    char word[128];
    size_t n = 0, i, len;

    if (strncmp(err, prefix, sizeof(prefix) - 1) != 0)
        return;
    len = strcspn(err + sizeof(prefix) - 1, "=");
    snprintf(word, sizeof(word), "%.*s", (int)len, err + sizeof(prefix) - 1);
    for (i = 0; i < na && n < CLI_NOPTS(names); i++)
        if (a[i].name != NULL)
            names[n++] = a[i].name;
    for (i = 0; i < nb && n < CLI_NOPTS(names); i++)
        if (b[i].name != NULL)
            names[n++] = b[i].name;
    if ((near = cli_suggest(word, names, n)) != NULL) {
        len = strlen(err);
        snprintf(err + len, size - len, "; did you mean %s?", near);
    }
}

int
cli_parse_args(const struct cli_cmd *cmd, struct bh__opt *opts, size_t n, int argc, char **argv,
               int *exit_code)
{
    char err[512];
    int rc = bh__opts_parse(opts, n, argc, argv, 0, NULL, err, sizeof(err));

    if (rc == BH__PARSE_ERROR)
        cli__option_hint(err, sizeof(err), opts, n, cli__g, cli__ng);

    if (rc == BH__PARSE_HELP) {
        bh__opts_usage(stdout, "bilheteria", cmd->synopsis, cmd->summary, opts, n);
        *exit_code = CLI_EXIT_OK;
    } else if (rc == BH__PARSE_ERROR) {
        *exit_code = cli_usage_error(cmd, "%s", err);
    }
    return rc;
}

static void
cli__commands(FILE *f, const char *group)
{
    size_t i;

    for (i = 0; i < CLI_NCMDS; i++)
        if (group == NULL || strcmp(group, cli_cmds[i].group) == 0)
            fprintf(f, "  %s\n", cli_cmds[i].synopsis);
}

static void
cli__help(const struct bh__opt *g, size_t n)
{
    bh__opts_usage(stdout, "bilheteria", "[GLOBAL OPTIONS] COMMAND [ARGS]",
                   "The Bilheteria box-office client. Global options go before or "
                   "after the\ncommand; given twice, the last one wins.\nTimes are RFC 3339 "
                   "(2026-12-01T20:00:00Z, "
                   "2026-12-01T17:00:00-03:00);\nmoney is integer cents.",
                   g, n);
    printf("\ncommands:\n");
    cli__commands(stdout, NULL);
    printf("\n'bilheteria COMMAND --help' or 'bilheteria help COMMAND' describes a command.\n"
           "Exit status: 0 ok, 1 the call failed, 2 usage error.\n");
}

/* Finds the command named by argv[0] (and argv[1]); sets *words to how
 * many arguments named it. */
static const struct cli_cmd *
cli__find(int argc, char **argv, int *words, int *group_known)
{
    size_t i;

    *group_known = 0;
    for (i = 0; i < CLI_NCMDS; i++) {
        if (strcmp(argv[0], cli_cmds[i].group) != 0)
            continue;
        *group_known = 1;
        if (cli_cmds[i].verb == NULL) {
            *words = 1;
            return &cli_cmds[i];
        }
        if (argc > 1 && strcmp(argv[1], cli_cmds[i].verb) == 0) {
            *words = 2;
            return &cli_cmds[i];
        }
    }
    return NULL;
}

/* Finds the command that argv names, or prints why there is none and
 * sets *exit_code. */
static const struct cli_cmd *
cli__command(int argc, char **argv, int *words, int *exit_code)
{
    int group_known = 0;
    const struct cli_cmd *cmd;

    if (argc == 0) {
        *exit_code = cli_usage_error(NULL, "missing COMMAND");
        return NULL;
    }
    cmd = cli__find(argc, argv, words, &group_known);
    if (cmd != NULL)
        return cmd;
    if (!group_known) {
        const char *groups[CLI_NOPTS(cli_cmds)], *near;
        for (size_t i = 0; i < CLI_NCMDS; i++)
            groups[i] = cli_cmds[i].group;
        if ((near = cli_suggest(argv[0], groups, CLI_NCMDS)) != NULL)
            *exit_code = cli_usage_error(NULL, "unknown command \"%s\"; did you mean \"%s\"?",
                                         argv[0], near);
        else
            *exit_code = cli_usage_error(NULL, "unknown command \"%s\"", argv[0]);
        return NULL;
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage:\n");
        cli__commands(stdout, argv[0]);
        *exit_code = CLI_EXIT_OK;
        return NULL;
    }
    if (argc > 1) {
        const char *verbs[CLI_NOPTS(cli_cmds)], *near;
        size_t n = 0;
        for (size_t i = 0; i < CLI_NCMDS; i++)
            if (strcmp(argv[0], cli_cmds[i].group) == 0 && cli_cmds[i].verb != NULL)
                verbs[n++] = cli_cmds[i].verb;
        fprintf(stderr, "error: unknown command \"%s %s\"; ", argv[0], argv[1]);
        if ((near = cli_suggest(argv[1], verbs, n)) != NULL)
            fprintf(stderr, "did you mean \"%s %s\"?\n", argv[0], near);
        fprintf(stderr, "%s commands:\n", argv[0]);
    } else
        fprintf(stderr, "error: \"%s\" needs a subcommand:\n", argv[0]);
    cli__commands(stderr, argv[0]);
    *exit_code = CLI_EXIT_USAGE;
    return NULL;
}

/* bilheteria help [COMMAND]: the help of the binary, a group or a command,
 * exit 0 ("bilheteria help event create" is "bilheteria event create
 * --help"). */
static int
cli_cmd_help(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    char *v[3], help[] = "--help";
    const struct cli_cmd *c;
    int words = 0, rc;

    (void)cmd;
    if (argc == 0 || argv[0][0] == '-') {
        cli__help(cli->globals, cli->nglobals);
        return CLI_EXIT_OK;
    }
    v[0] = argv[0];
    v[1] = argc > 1 && argv[1][0] != '-' ? argv[1] : help;
    v[2] = help;
    if ((c = cli__command(v[1] == help ? 2 : 3, v, &words, &rc)) == NULL)
        return rc;
    return c->run(cli, c, 1, v + 2);
}

/* The global option of g[0..n) that a names ("--server", "--server=URL"),
 * or NULL; --help and --version stay the command's. */
static const struct bh__opt *
cli__global(const char *a, const struct bh__opt *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(g[i].name);
        if (strcmp(g[i].name, "--help") == 0 || strcmp(g[i].name, "--version") == 0 ||
            strncmp(a, g[i].name, len) != 0)
            continue;
        if (a[len] == '\0' || (a[len] == '=' && g[i].metavar != NULL))
            return &g[i];
    }
    return NULL;
}

/* Sorts a command's arguments argv[0..argc) into the global options of
 * g[0..n) among them (glob) and the rest, in order; everything after "--"
 * is the rest's. */
static void
cli__split_globals(int argc, char **argv, const struct bh__opt *g, size_t n, char **rest, int *nr,
                   char **glob, int *ng)
{
    *nr = 0;
    *ng = 0;
    for (int k = 0; k < argc && *nr < 255 && *ng < 254; k++) {
        const char *a = argv[k];
        const struct bh__opt *o;
        if (strcmp(a, "--") == 0) {
            while (k < argc && *nr < 255)
                rest[(*nr)++] = argv[k++];
            break;
        }
        if ((o = cli__global(a, g, n)) == NULL) {
            rest[(*nr)++] = argv[k];
        } else if (o->metavar == NULL || strchr(a, '=') != NULL) {
            glob[(*ng)++] = argv[k];
        } else if (k + 1 < argc) {
            glob[(*ng)++] = argv[k++];
            glob[(*ng)++] = argv[k];
        } else {
            rest[(*nr)++] = argv[k];
        }
    }
}

/* Runs cmd on its arguments argv[0..argc). Global options may also follow
 * the command ("bilheteria pay ... --json"): they are pulled out and parsed
 * against g before the command parses its own. */
static int
cli__run_command(struct cli *cli, const struct cli_cmd *cmd, struct bh__opt *g, size_t n, int argc,
                 char **argv)
{
    char *rest[256], *glob[256], err[512];
    int nr, ng, gused = 0, rc;

    cli__split_globals(argc, argv, g, n, rest, &nr, glob, &ng);
    if (ng == 0)
        return cmd->run(cli, cmd, argc, argv);
    for (size_t i = 0; i < n; i++)
        g[i].seen = 0;
    rc = bh__opts_parse(g, n, ng, glob, 0, &gused, err, sizeof(err));
    if (rc != BH__PARSE_OK)
        return cli_usage_error(NULL, "%s", err);
    rest[nr] = NULL;
    return cmd->run(cli, cmd, nr, rest);
}

/* --json-style proto|proto3 (dest is the struct cli): implies --json. */
static int
cli__opt_json_style(const char *val, void *dest)
{
    struct cli *cli = dest;

    if (strcmp(val, "proto") == 0)
        cli->json_style = PBJSON_STYLE_PROTO;
    else if (strcmp(val, "proto3") == 0)
        cli->json_style = PBJSON_STYLE_PROTO3;
    else
        return -1;
    cli->json = 1;
    return 0;
}

int
main(int argc, char **argv)
{
    struct cli cli;
    int help = 0, version = 0, used = 0, words = 0, rc;
    char err[512];
    const char *env = getenv("BILHETERIA_SERVER"), *env_ca = getenv("BILHETERIA_TLS_CA"),
               *env_tp = getenv("TRACEPARENT");
    const struct cli_cmd *cmd;
    struct bh__opt g[] = {
        { "--server", "URL", BH__OPT_STR, BH__OPT_LAST_WINS, &cli.server,
          "server address (default $BILHETERIA_SERVER, else " CLI_DEFAULT_SERVER ")" },
        { "--timeout-ms", "N", BH__OPT_POS_I32, BH__OPT_LAST_WINS, &cli.timeout_ms,
          "deadline of each call in milliseconds (default 5000)" },
        { "--json", NULL, BH__OPT_FLAG, BH__OPT_LAST_WINS, &cli.json,
          "print the response as one JSON object (proto field names); a failed call as "
          "{\"error\":{...}}" },
        { "--json-style", "STYLE", BH__OPT_FN, BH__OPT_LAST_WINS, &cli,
          "proto (default: proto field names, integers as numbers) or proto3 (canonical "
          "proto3 JSON: lowerCamelCase, 64-bit integers as strings); implies --json",
          0, 0, cli__opt_json_style, "proto or proto3" },
        { "--idempotency-key", "KEY", BH__OPT_STR, BH__OPT_LAST_WINS, &cli.idem_key,
          "idempotency key sent with mutating commands" },
        { "--token", "T", BH__OPT_STR, BH__OPT_LAST_WINS, &cli.token,
          "credential sent with every call: a service token or a JWT (default "
          "$BILHETERIA_TOKEN; visible to other users in ps: prefer --token-file)" },
        { "--token-file", "FILE", BH__OPT_STR, BH__OPT_LAST_WINS, &cli.token_file,
          "read the token from FILE's first line (trailing blanks stripped); "
          "not with --token" },
        { "--tls-ca", "FILE", BH__OPT_STR, BH__OPT_LAST_WINS, &cli.tls_ca,
          "CA (PEM) the server's certificate must chain to; needed for tls+tcp:// "
          "(default $BILHETERIA_TLS_CA)" },
        { "--tls-server-name", "NAME", BH__OPT_STR, BH__OPT_LAST_WINS, &cli.tls_server_name,
          "name the server's certificate must carry (default the URL's host)" },
        { "--tls-cert", "FILE", BH__OPT_STR, BH__OPT_LAST_WINS, &cli.tls_cert,
          "client certificate (PEM) for a server that wants one (mutual TLS)" },
        { "--tls-key", "FILE", BH__OPT_STR, BH__OPT_LAST_WINS, &cli.tls_key,
          "the client certificate's private key (PEM, not encrypted)" },
        { "--traceparent", "TP", BH__OPT_STR, BH__OPT_LAST_WINS, &cli.traceparent,
          "W3C traceparent the calls continue (\"00-<32 hex>-<16 hex>-<2 hex>\"; default "
          "$TRACEPARENT, else a new trace each call)" },
        { "--help", NULL, BH__OPT_FLAG, 0, &help, "print this help" },
        { "--version", NULL, BH__OPT_FLAG, 0, &version, "print the version" },
    };

    memset(&cli, 0, sizeof(cli));
    cli.server = env != NULL && *env != '\0' ? env : CLI_DEFAULT_SERVER;
    cli.timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
    cli.tls_ca = env_ca != NULL && *env_ca != '\0' ? env_ca : NULL;
    cli.traceparent = env_tp != NULL && *env_tp != '\0' ? env_tp : NULL;
    cli.globals = cli__g = g;
    cli.nglobals = cli__ng = CLI_NOPTS(g);
    rc = bh__opts_parse(g, CLI_NOPTS(g), argc - 1, argv + 1, BH__OPTS_STOP_AT_POSITIONAL, &used,
                        err, sizeof(err));
    if (rc == BH__PARSE_HELP || (rc == BH__PARSE_OK && help)) {
        cli__help(g, CLI_NOPTS(g));
        return CLI_EXIT_OK;
    }
    if (rc == BH__PARSE_ERROR) {
        cli__option_hint(err, sizeof(err), g, CLI_NOPTS(g), NULL, 0);
        return cli_usage_error(NULL, "%s", err);
    }
    if (version) {
        printf("bilheteria %s\n", BH_VERSION);
        return CLI_EXIT_OK;
    }
    /* Refused here, before anything connects: a connection dropped in the
     * middle of its handshake stops an nng 1.5.2 listener from accepting
     * (nng_compat.h). */
    if (cli.traceparent != NULL && !bh__traceparent_ok(cli.traceparent))
        return cli_usage_error(NULL,
                               "--traceparent \"%.64s\" is not a W3C traceparent of version 00 "
                               "(00-<32 hex>-<16 hex>-<2 hex>, lowercase, ids not all zero)",
                               cli.traceparent);
    argc -= 1 + used;
    argv += 1 + used;
    if ((cmd = cli__command(argc, argv, &words, &rc)) == NULL)
        return rc;
    rc = cli__run_command(&cli, cmd, g, CLI_NOPTS(g), argc - words, argv + words);
    bh_client_close(cli.client);
    /* Output the shell cannot take (a closed pipe, a full disk) is a failure. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("error: could not write the output\n", stderr);
        if (rc == CLI_EXIT_OK)
            rc = CLI_EXIT_FAIL;
    }
    return rc;
}
