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

#include "cli.h"

static const struct cli_cmd cli_cmds[] = {
    { "event", "create",
      "event create --name NAME [--venue V] [--description D] [--starts-at RFC3339] "
      "[--ends-at RFC3339]",
      "Create an event.", cli_cmd_event_create },
    { "event", "get", "event get ID", "Show an event.", cli_cmd_event_get },
    { "event", "list", "event list [--page-size N] [--page-token T]", "List events.",
      cli_cmd_event_list },
    { "session", "create",
      "session create --event ID --starts-at RFC3339 --rows N --seats-per-row M "
      "--price CENTS [--half-price CENTS] [--half-cap N] [--room NAME]",
      "Create a session (showtime) of an event, with its seat layout and prices.",
      cli_cmd_session_create },
    { "session", "get", "session get ID", "Show a session.", cli_cmd_session_get },
    { "session", "list", "session list [--event ID] [--page-size N] [--page-token T]",
      "List sessions, of every event or of one.", cli_cmd_session_list },
    { "session", "seats", "session seats ID",
      "Show a session's seat map: '.' available, 'h' held, 'x' sold.", cli_cmd_session_seats },
    { "product", "create", "product create --name NAME --price CENTS [--stock N]",
      "Create an add-on product (popcorn, soda, ...).", cli_cmd_product_create },
    { "product", "list", "product list [--page-size N] [--page-token T]", "List products.",
      cli_cmd_product_list },
    { "reserve", NULL,
      "reserve --session ID --user USER (--seats A1,A2 | --best N) [--half N] "
      "[--product ID:QTY]... [--ttl-s S]",
      "Hold seats (chosen, or the best N adjacent) and add-ons for a user until "
      "paid or expired.",
      cli_cmd_reserve },
    { "reservation", "get", "reservation get ID", "Show a reservation.", cli_cmd_reservation_get },
    { "reservation", "list", "reservation list --user USER [--page-size N] [--page-token T]",
      "List a user's reservations, newest first.", cli_cmd_reservation_list },
    { "reservation", "cancel", "reservation cancel ID", "Cancel a reservation and free its seats.",
      cli_cmd_reservation_cancel },
    { "pay", NULL,
      "pay --reservation ID --amount CENTS --idempotency-key KEY [--method M] "
      "[--provider P --provider-ref R]",
      "Confirm the payment of a pending reservation, exactly once per key.", cli_cmd_pay },
    { "payment", "get", "payment get ID", "Show a payment.", cli_cmd_payment_get },
    { "health", NULL, "health", "Check the server; exits 1 unless it is SERVING.", cli_cmd_health },
    { "call", NULL, "call METHOD [JSON] | call --list",
      "Call any method by full name with a JSON request; print the JSON answer.", cli_cmd_call },
};

#define CLI_NCMDS CLI_NOPTS(cli_cmds)

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

int
cli_parse_args(const struct cli_cmd *cmd, struct cli_opt *opts, size_t n, int argc, char **argv,
               int *exit_code)
{
    char err[512];
    int rc = cli_opts_parse(opts, n, argc, argv, 0, NULL, err, sizeof(err));

    if (rc == CLI_PARSE_HELP) {
        cli_opts_usage(stdout, cmd->synopsis, cmd->summary, opts, n);
        *exit_code = CLI_EXIT_OK;
    } else if (rc == CLI_PARSE_ERROR) {
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
cli__help(struct cli_opt *g, size_t n)
{
    cli_opts_usage(stdout, "[GLOBAL OPTIONS] COMMAND [ARGS]",
                   "The Bilheteria box-office client. Global options go before or "
                   "after the\ncommand; given twice, the last one wins.\nTimes are RFC 3339 "
                   "(2026-12-01T20:00:00Z, "
                   "2026-12-01T17:00:00-03:00);\nmoney is integer cents.",
                   g, n);
    printf("\ncommands:\n");
    cli__commands(stdout, NULL);
    printf("\n'bilheteria COMMAND --help' describes a command.\n"
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

int
main(int argc, char **argv)
{
    struct cli cli;
    int help = 0, version = 0, used = 0, words = 0, group_known = 0, rc;
    char err[512];
    const char *env = getenv("BILHETERIA_SERVER");
    const struct cli_cmd *cmd;
    struct cli_opt g[] = {
        { "--server", "URL", CLI_OPT_STR, CLI_OPT_LAST_WINS, &cli.server,
          "server address (default $BILHETERIA_SERVER, else " CLI_DEFAULT_SERVER ")" },
        { "--timeout-ms", "N", CLI_OPT_POS_I32, CLI_OPT_LAST_WINS, &cli.timeout_ms,
          "deadline of each call in milliseconds (default 5000)" },
        { "--json", NULL, CLI_OPT_FLAG, CLI_OPT_LAST_WINS, &cli.json,
          "print the response as one JSON object (proto field names)" },
        { "--idempotency-key", "KEY", CLI_OPT_STR, CLI_OPT_LAST_WINS, &cli.idem_key,
          "idempotency key sent with mutating commands" },
        { "--help", NULL, CLI_OPT_FLAG, 0, &help, "print this help" },
        { "--version", NULL, CLI_OPT_FLAG, 0, &version, "print the version" },
    };

    memset(&cli, 0, sizeof(cli));
    cli.server = env != NULL && *env != '\0' ? env : CLI_DEFAULT_SERVER;
    cli.timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
    rc = cli_opts_parse(g, CLI_NOPTS(g), argc - 1, argv + 1, 1, &used, err, sizeof(err));
    if (rc == CLI_PARSE_HELP || (rc == CLI_PARSE_OK && help)) {
        cli__help(g, CLI_NOPTS(g));
        return CLI_EXIT_OK;
    }
    if (rc == CLI_PARSE_ERROR)
        return cli_usage_error(NULL, "%s", err);
    if (version) {
        printf("bilheteria %s\n", BH_VERSION);
        return CLI_EXIT_OK;
    }
    argc -= 1 + used;
    argv += 1 + used;
    if (argc == 0)
        return cli_usage_error(NULL, "missing COMMAND");
    cmd = cli__find(argc, argv, &words, &group_known);
    if (cmd == NULL) {
        if (!group_known)
            return cli_usage_error(NULL, "unknown command \"%s\"", argv[0]);
        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            printf("usage:\n");
            cli__commands(stdout, argv[0]);
            return CLI_EXIT_OK;
        }
        if (argc > 1)
            fprintf(stderr, "error: unknown command \"%s %s\"; %s commands:\n", argv[0], argv[1],
                    argv[0]);
        else
            fprintf(stderr, "error: \"%s\" needs a subcommand:\n", argv[0]);
        cli__commands(stderr, argv[0]);
        return CLI_EXIT_USAGE;
    }
    /* Global options may also follow the command ("bilheteria pay ...
     * --json"): pull them out before the command parses its own. */
    {
        char *rest[256], *glob[256];
        int nr = 0, ng = 0, gused = 0;
        for (int k = words; k < argc && nr < 255 && ng < 254; k++) {
            const char *a = argv[k];
            if (strcmp(a, "--") == 0) {
                while (k < argc && nr < 255)
                    rest[nr++] = argv[k++];
                break;
            }
            if (strcmp(a, "--json") == 0 || strncmp(a, "--server=", 9) == 0 ||
                strncmp(a, "--timeout-ms=", 13) == 0 || strncmp(a, "--idempotency-key=", 18) == 0) {
                glob[ng++] = argv[k];
            } else if ((strcmp(a, "--server") == 0 || strcmp(a, "--timeout-ms") == 0 ||
                        strcmp(a, "--idempotency-key") == 0) &&
                       k + 1 < argc) {
                glob[ng++] = argv[k++];
                glob[ng++] = argv[k];
            } else {
                rest[nr++] = argv[k];
            }
        }
        if (ng > 0) {
            for (size_t i = 0; i < CLI_NOPTS(g); i++)
                g[i].seen = 0;
            rc = cli_opts_parse(g, CLI_NOPTS(g), ng, glob, 0, &gused, err, sizeof(err));
            if (rc != CLI_PARSE_OK)
                return cli_usage_error(NULL, "%s", err);
            rest[nr] = NULL;
            rc = cmd->run(&cli, cmd, nr, rest);
        } else {
            rc = cmd->run(&cli, cmd, argc - words, argv + words);
        }
    }
    bh_client_close(cli.client);
    /* Output the shell cannot take (a closed pipe, a full disk) is a failure. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("error: could not write the output\n", stderr);
        if (rc == CLI_EXIT_OK)
            rc = CLI_EXIT_FAIL;
    }
    return rc;
}
