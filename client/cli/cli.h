/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `bilheteria` command-line tool: what its files share.
 *
 * main.c parses the global options and dispatches to a command through
 * the table of cli_cmd; each cmd_*.c parses its own options with opts.c,
 * builds the request and calls cli_run (client.c), which calls the server
 * and prints the answer: as JSON (--json) or with a renderer of output.c.
 *
 * Exit status: 0 success, 1 a failed call (or unwritable output), 2 a
 * usage error. Errors go to stderr as "error: ..."; with --json a failed
 * call is also one JSON object on stdout (cli_fail, output.c's comment).
 */
#ifndef BH_CLI_H
#define BH_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "bilheteria/bh_methods.h"
#include "bilheteria/bilheteria.h"
#include "bilheteria/services.h"
#include "opts.h"
#include "width.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

#define CLI_DEFAULT_SERVER     BH_DEFAULT_URL
#define CLI_DEFAULT_TIMEOUT_MS 5000

/* One invocation's state. */
struct cli {
    const char *server; /* borrowed from argv or the environment */
    int32_t timeout_ms;
    int json;             /* --json (or --json-style) */
    int json_style;       /* PBJSON_STYLE_*, from --json-style */
    const char *idem_key; /* --idempotency-key, NULL if none */
    /* TLS files and name (bh_options' tls_*), borrowed; NULL if not given. */
    const char *tls_ca, *tls_server_name, *tls_cert, *tls_key;
    /* --token and --token-file, borrowed; NULL if not given (then
     * $BILHETERIA_TOKEN, read by cli_open). */
    const char *token, *token_file;
    bh_client *client; /* opened on first call; closed by main */
    /* --traceparent (default $TRACEPARENT), borrowed; NULL = a new trace. */
    const char *traceparent;
    /* The last call's: did its method write, did the server replay it,
     * and what the library said of it (request id, field; see
     * bh_call_info), for the error cli_print_status shows. */
    int wrote, replayed;
    bh_call_info info;
    /* The global options (main's table), for help and completion. */
    const struct bh__opt *globals;
    size_t nglobals;
};

struct cli_cmd;
typedef int (*cli_cmd_fn)(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv);

/* A command: "bilheteria <group> [<verb>] ...". */
struct cli_cmd {
    const char *group;    /* "event", "reserve" */
    const char *verb;     /* "create"; NULL for one-word commands */
    const char *synopsis; /* usage after "bilheteria " */
    const char *summary;  /* one sentence */
    cli_cmd_fn run;       /* argv holds the arguments after the command */
};

/* Every command, in main.c's order; cli_ncmds of them. */
extern const struct cli_cmd cli_cmds[];
extern const size_t cli_ncmds;

/* Renders a response for people (output.c). */
typedef void (*cli_render_fn)(const ProtobufCMessage *resp);

/*
 * Parses a command's arguments against opts. Returns BH__PARSE_OK when the
 * command should go on; otherwise it has printed the help (stdout) or the
 * usage error (stderr) and *exit_code says how to exit.
 */
int cli_parse_args(const struct cli_cmd *cmd, struct bh__opt *opts, size_t n, int argc, char **argv,
                   int *exit_code);

/* Prints "error: <msg>" and a pointer to the command's help; returns 2. */
/* An idempotency key (NULL: none) of 1..255 bytes, else a usage error
 * naming --idempotency-key: CLI_EXIT_OK or CLI_EXIT_USAGE. */
int cli_check_key(const char *key);
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A method a command calls: its rules, from the .proto's option
 * (bilheteria.v1.method) through the method map bh_gen writes, and a call
 * through libbilheteria's typed function for it (methods.c).
 */
struct cli_method {
    const char *name; /* "bilheteria.v1.EventService/CreateEvent" */
    int writes;       /* takes --idempotency-key */
    int key_required; /* refuses to run without one */
};

/* Indexed by enum bh_method_id (BH_METHOD_EVENT_CREATE_EVENT, ...). */
extern const struct cli_method cli_methods[BH_METHOD_COUNT];

/*
 * Calls method id with req (of its input type) and, on success, sets *resp
 * (caller frees with protobuf_c_message_free_unpacked(*resp, NULL)) and
 * returns 0. On failure prints "error: CODE: message" and returns 1. A
 * method that writes sends key, or the global --idempotency-key if key is
 * NULL; one that requires a key is refused without one (a usage error
 * naming cmd), and one that only reads refuses a key.
 */
int cli_call(struct cli *cli, const struct cli_cmd *cmd, enum bh_method_id id,
             const ProtobufCMessage *req, const char *key, ProtobufCMessage **resp);

/* Prints resp as one JSON object (--json) or with render. Returns an exit
 * code: 1 if stdout could not take it. */
int cli_show(const struct cli *cli, const ProtobufCMessage *resp, cli_render_fn render);

/* Opens cli->client if it is not open yet, with the token of --token,
 * --token-file or $BILHETERIA_TOKEN. Returns 0, or after printing the
 * error 1 (an unreachable server) or 2 (a bad URL, token or token file). */
int cli_open(struct cli *cli);
/* The options of a call of this invocation: its timeout and traceparent,
 * key, and cli->info reset to be filled. */
void cli_call_options(struct cli *cli, const char *key, bh_call_options *co);

/* Prints "error: CODE: message" for a failed call on stderr and, with
 * --json, {"error":{"code":"CODE","message":"..."}} on stdout. Returns 1. */
int cli_print_status(const struct cli *cli, const bh_status *st);

/* cli_print_status of a failure found here (code is an enum bh_code). */
int cli_fail(const struct cli *cli, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cli_call (with no key of the command's own) then cli_show, for the
 * common case. */
int cli_run(struct cli *cli, const struct cli_cmd *cmd, enum bh_method_id id,
            const ProtobufCMessage *req, cli_render_fn render);
/* The same with the command's own key (NULL: the global one). */
int cli_run_key(struct cli *cli, const struct cli_cmd *cmd, enum bh_method_id id,
                const ProtobufCMessage *req, const char *key, cli_render_fn render);

/* Options every list command takes. */
#define CLI_PAGE_OPTS(size_dest, token_dest)                                                       \
    { "--page-size", "N",                                                                          \
      BH__OPT_U32,   0,                                                                            \
      (size_dest),   "entries per page (0 or unset: 50; at most 500)" },                           \
    {                                                                                              \
        "--page-token", "T", BH__OPT_STR, 0, (token_dest),                                         \
            "continue after the page that printed this token"                                      \
    }

/* The ID argument of get/cancel commands. */
#define CLI_ID_ARG(dest, help)                                                                     \
    {                                                                                              \
        NULL, "ID", BH__OPT_ID, BH__OPT_REQUIRED, (dest), (help)                                   \
    }

#define CLI_NOPTS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Out of memory: the CLI is a short-lived process, so its one policy is
 * to print "error: out of memory" and exit 1 (cli_xalloc). Nothing has
 * been printed to stdout by then unless a human table was half written.
 */
void *cli_xalloc(size_t n);

/* One "ID:QTY" (a product and its quantity, cmd_reservation.c). Returns 0,
 * or -1 if it is not two positive integers (*id, *qty untouched). */
int cli_item_parse(const char *s, uint64_t *id, int32_t *qty);

/* ---- table.c: aligned columns ---- */
struct cli_table;

/* A table of ncols columns (a list adds its header as the first row; a
 * key: value block adds "key:" and value rows). Caller frees with
 * cli_table_free. */
struct cli_table *cli_table_new(size_t ncols);

/* Adds one row of exactly ncols strings (copied; control characters are
 * shown as spaces, empty strings as "-"). */
void cli_table_add(struct cli_table *t, ...);

/* Prints every row, columns padded to their widest cell and separated by
 * two spaces, each line starting with indent. The last column is not
 * padded, so no line ends in spaces. */
void cli_table_print(const struct cli_table *t, const char *indent);

void cli_table_free(struct cli_table *t);

/* ---- cmd_reservation.c: seat and item arguments ---- */
/* Splits --seats "A1,b2" into canonical labels ("A1", "B2"): *seats and
 * each label malloc'd (caller frees), *n_seats how many, also on a usage
 * error (returned, after printing it). */
int cli_seat_list(const struct cli_cmd *cmd, const char *list, char ***seats, size_t *n_seats);
/* --product "ID:QTY", as many as given, into *items (each and the array
 * malloc'd, caller frees; *n how many, also on a usage error, which is
 * returned after printing it). */
int cli_item_list(const struct cli_cmd *cmd, const struct bh__strs *prods,
                  Bilheteria__V1__ItemRequest ***items, size_t *n);

/* ---- output.c: human renderers (formats documented there) ---- */
void cli_render_event(const ProtobufCMessage *resp);        /* {Create,Get}EventResponse */
void cli_render_events(const ProtobufCMessage *resp);       /* ListEventsResponse */
void cli_render_session(const ProtobufCMessage *resp);      /* {Create,Get}SessionResponse */
void cli_render_sessions(const ProtobufCMessage *resp);     /* ListSessionsResponse */
void cli_render_seat_map(const ProtobufCMessage *resp);     /* GetSeatMapResponse */
void cli_render_product(const ProtobufCMessage *resp);      /* CreateProductResponse */
void cli_render_products(const ProtobufCMessage *resp);     /* ListProductsResponse */
void cli_render_reservation(const ProtobufCMessage *resp);  /* any {reservation} response */
void cli_render_reservations(const ProtobufCMessage *resp); /* ListReservationsResponse */
void cli_render_payment(const ProtobufCMessage *resp);      /* GetPaymentResponse */
void cli_render_confirm(const ProtobufCMessage *resp);      /* ConfirmPaymentResponse */
void cli_render_refund(const ProtobufCMessage *resp);       /* RefundPaymentResponse */
void cli_render_health(const ProtobufCMessage *resp);       /* CheckResponse */
void cli_render_backup(const ProtobufCMessage *resp);       /* BackupResponse */
void cli_render_coupon(const ProtobufCMessage *resp);  /* {Create,Get,Deactivate}CouponResponse */
void cli_render_coupons(const ProtobufCMessage *resp); /* ListCouponsResponse */
void cli_render_rule(const ProtobufCMessage *resp);    /* Create*RuleResponse, DeactivateRule */
void cli_render_rules(const ProtobufCMessage *resp);   /* ListRulesResponse */
void cli_render_waitlist_entry(const ProtobufCMessage *resp); /* any {entry} response */
void cli_render_waitlist(const ProtobufCMessage *resp);       /* ListWaitlistResponse */

/* GetSalesReportResponse, RecommendProductsResponse */
void cli_render_sales_report(const ProtobufCMessage *resp);
void cli_render_recommendations(const ProtobufCMessage *resp);

/* Prints msg through pbjson in cli's --json-style, on one line; pretty
 * indents it. After a call to a method that writes, the object gains
 * "replayed": true|false. Returns 0, or 1 after printing an error (out of
 * memory). */
int cli_print_json(const struct cli *cli, const ProtobufCMessage *msg, int pretty);

/* ---- names.c: what people type ---- */

/* Damerau-Levenshtein (optimal string alignment) distance; SIZE_MAX for
 * words over 64 bytes. */
size_t cli_edit_distance(const char *a, const char *b);

/* Farthest a typo may be from what it meant, in edits. */
#define CLI_SUGGEST_MAX 2

/* The candidate nearest word, at most CLI_SUGGEST_MAX edits away and
 * fewer than word's length, or NULL. Borrowed from cands. */
const char *cli_suggest(const char *word, const char *const *cands, size_t n);

/* A service by full ("bilheteria.v1.EventService") or short name. */
const ProtobufCServiceDescriptor *cli_find_service(const char *name);

/* A method in any of grpcurl's forms: pkg.Service/Method,
 * pkg.Service.Method, Service/Method, Service.Method. Writes its full name
 * ("pkg.Service/Method") into full and its service into *svc (may be
 * NULL); NULL if there is none. */
const ProtobufCMethodDescriptor *cli_find_method(const char *name,
                                                 const ProtobufCServiceDescriptor **svc,
                                                 char full[BH_METHOD_NAME_MAX]);

/* A message or an enum that a method reaches, by full name (a leading
 * dot allowed) or short name; NULL if none. */
const ProtobufCMessageDescriptor *cli_find_message(const char *name);
const ProtobufCEnumDescriptor *cli_find_enum(const char *name);

/* Every service, full method, message and enum name (services, messages
 * and enums also by short name), into out (at most max). Static storage.
 * Returns how many. */
size_t cli_known_names(const char **out, size_t max);

/* The usage error "WHAT: no NOUN "name"", with "did you mean" the nearest
 * known name (cmd_call.c). Returns 2. */
int cli_no_such(const struct cli_cmd *cmd, const char *what, const char *noun, const char *name);

/* ---- the commands (cmd_*.c) ---- */
int cli_cmd_event_create(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_event_get(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_event_list(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_event_update(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_session_create(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_session_get(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_session_list(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_session_seats(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_session_update(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_product_create(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_product_list(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_product_update(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_reserve(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_reservation_get(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_reservation_list(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_reservation_cancel(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_watch(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_report_export(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_pay(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_payment_get(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_refund(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_session_cancel(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_health(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_call(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_admin_backup(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_describe(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_completion(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_top(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_coupon_create(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_coupon_get(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_coupon_list(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_coupon_deactivate(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_promo_combo(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_promo_quantity(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_promo_list(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_promo_deactivate(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_waitlist_join(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_waitlist_leave(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_waitlist_get(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_waitlist_list(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_report_sales(struct cli *, const struct cli_cmd *, int, char **);
int cli_cmd_recommend(struct cli *, const struct cli_cmd *, int, char **);

#endif
