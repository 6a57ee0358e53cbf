/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria session create|get|list|seats|update */
#include <stdlib.h>
#include <string.h>

#include "bh_label.h"
#include "cli.h"

/* One "NAME:ROWS:CENTS" (ROWS "A-C" or "D", letters in any case) into z.
 * The name is everything before the last two colons. Returns 0, or -1. */
static int
cli__zone(const char *spec, Bilheteria__V1__PriceZone *z)
{
    const char *c2 = strrchr(spec, ':'), *c1, *dash;
    int64_t price;

    if (c2 == NULL || c2 == spec)
        return -1;
    for (c1 = c2 - 1; c1 > spec && *c1 != ':'; c1--)
        ;
    if (*c1 != ':' || c1 == spec)
        return -1;
    if (bh__parse_i64(c2 + 1, 0, INT64_MAX, &price) != 0)
        return -1;
    dash = memchr(c1 + 1, '-', (size_t)(c2 - c1 - 1));
    if (dash == NULL) {
        if (bh__row_parse(c1 + 1, (size_t)(c2 - c1 - 1), BH__LABEL_ANYCASE, &z->first_row) != 0)
            return -1;
        z->last_row = z->first_row;
    } else if (bh__row_parse(c1 + 1, (size_t)(dash - c1 - 1), BH__LABEL_ANYCASE, &z->first_row) !=
                   0 ||
               bh__row_parse(dash + 1, (size_t)(c2 - dash - 1), BH__LABEL_ANYCASE, &z->last_row) !=
                   0) {
        return -1;
    }
    z->name = cli_xalloc((size_t)(c1 - spec) + 1);
    memcpy(z->name, spec, (size_t)(c1 - spec));
    z->name[c1 - spec] = '\0';
    z->price_cents = price;
    return 0;
}

/* --zone NAME:ROWS:CENTS, as many as given, into *zones (caller frees with
 * cli__zones_free). */
static int
cli__zones(const struct cli_cmd *cmd, const struct bh__strs *specs,
           Bilheteria__V1__PriceZone ***zones, size_t *n)
{
    size_t i;

    *zones = specs->n ? cli_xalloc(specs->n * sizeof(**zones)) : NULL;
    for (i = 0; i < specs->n; i++) {
        Bilheteria__V1__PriceZone *z = cli_xalloc(sizeof(*z));
        bilheteria__v1__price_zone__init(z);
        (*zones)[(*n)++] = z;
        if (cli__zone(specs->v[i], z) != 0)
            return cli_usage_error(cmd,
                                   "--zone: expected NAME:ROWS:CENTS like \"VIP:A-C:12000\" "
                                   "(rows by letter, one row or FIRST-LAST), got \"%s\"",
                                   specs->v[i]);
    }
    return CLI_EXIT_OK;
}

static void
cli__zones_free(Bilheteria__V1__PriceZone **zones, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (zones[i]->name != protobuf_c_empty_string)
            free(zones[i]->name);
        free(zones[i]);
    }
    free(zones);
}

int
cli_cmd_session_create(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CreateSessionRequest req = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    struct bh__strs zones = { 0 };
    struct bh__opt opts[] = {
        { "--event", "ID", BH__OPT_ID, BH__OPT_REQUIRED, &req.event_id, "the event" },
        CLI_TIME_OPT("--starts-at", BH__OPT_REQUIRED, &req.starts_at_ms, "when the session starts"),
        { "--rows", "N", BH__OPT_COUNT, BH__OPT_REQUIRED, &req.rows,
          "rows in the room, labelled A..Z, AA.. (1..676)" },
        { "--seats-per-row", "M", BH__OPT_COUNT, BH__OPT_REQUIRED, &req.seats_per_row,
          "seats in each row, numbered from 1 (1..1000)" },
        { "--price", "CENTS", BH__OPT_NONNEG, 0, &req.price_cents,
          "full price (inteira) in cents (required without --zone)" },
        { "--zone", "NAME:ROWS:CENTS", BH__OPT_STRS, 0, &zones,
          "a price zone, e.g. VIP:A-C:12000 (repeat to cover every row once)" },
        { "--max-per-user", "N", BH__OPT_U32, 0, &req.max_per_user,
          "most seats one user may hold or buy in the session (0: no limit)" },
        { "--half-price", "CENTS", BH__OPT_NONNEG, 0, &req.half_price_cents,
          "half price (meia-entrada) in cents; must be price/2 (default)" },
        { "--half-cap", "N", BH__OPT_COUNT, 0, &req.half_price_cap,
          "most half-price tickets (default and least: 40% of capacity)" },
        { "--room", "NAME", BH__OPT_STR, 0, &req.room, "the room" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        goto out;
    if (zones.n == 0 && !opts[4].seen) {
        rc = cli_usage_error(cmd, "give --price CENTS, or price zones with --zone");
        goto out;
    }
    if (zones.n > 0 && opts[4].seen) {
        rc = cli_usage_error(cmd, "--price and --zone cannot be used together: each zone has "
                                  "its price");
        goto out;
    }
    if ((rc = cli__zones(cmd, &zones, &req.zones, &req.n_zones)) == CLI_EXIT_OK)
        rc = cli_run(cli, cmd, BH_METHOD_SESSION_CREATE_SESSION, &req.base, cli_render_session);
out:
    cli__zones_free(req.zones, req.n_zones);
    bh__strs_free(&zones);
    return rc;
}

int
cli_cmd_session_get(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__GetSessionRequest req = BILHETERIA__V1__GET_SESSION_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_ID_ARG(&req.id, "the session's id") };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_SESSION_GET_SESSION, &req.base, cli_render_session);
}

int
cli_cmd_session_list(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__ListSessionsRequest req = BILHETERIA__V1__LIST_SESSIONS_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--event", "ID", BH__OPT_ID, 0, &req.event_id, "only this event's sessions" },
        CLI_PAGE_OPTS(&req.page_size, &req.page_token),
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_SESSION_LIST_SESSIONS, &req.base, cli_render_sessions);
}

int
cli_cmd_session_seats(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__GetSeatMapRequest req = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_ID_ARG(&req.session_id, "the session's id") };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_SESSION_GET_SEAT_MAP, &req.base, cli_render_seat_map);
}

int
cli_cmd_session_update(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__UpdateSessionRequest req = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    struct bh__strs zones = { 0 };
    int no_zones = 0;
    struct bh__opt opts[] = {
        CLI_ID_ARG(&req.id, "the session's id"),
        CLI_TIME_OPT("--starts-at", 0, &req.starts_at_ms, "a new start, in the future"),
        { "--room", "NAME", BH__OPT_STR, 0, &req.room, "a new room (\"\" for none)" },
        { "--price", "CENTS", BH__OPT_NONNEG, 0, &req.price_cents,
          "a new price (a session without zones; nothing held or sold)" },
        { "--zone", "NAME:ROWS:CENTS", BH__OPT_STRS, 0, &zones,
          "new price zones, all of them (nothing held or sold)" },
        { "--no-zones", NULL, BH__OPT_FLAG, 0, &no_zones,
          "drop the zones: one price for every row (with --price)" },
        { "--rows", "N", BH__OPT_COUNT, 0, &req.rows,
          "a new layout, with --seats-per-row (nothing held or sold)" },
        { "--seats-per-row", "M", BH__OPT_COUNT, 0, &req.seats_per_row,
          "a new layout, with --rows" },
        { "--max-per-user", "N", BH__OPT_U32, 0, &req.max_per_user,
          "most seats per user (0: no limit)" },
        { "--half-cap", "N", BH__OPT_U32, 0, &req.half_price_cap,
          "most half-price tickets (0: 40% of capacity)" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        goto out;
    if (opts[6].seen != opts[7].seen) {
        rc = cli_usage_error(cmd, "--rows and --seats-per-row go together");
        goto out;
    }
    if (no_zones && zones.n > 0) {
        rc = cli_usage_error(cmd, "--zone and --no-zones cannot be used together");
        goto out;
    }
    req.set_starts_at = opts[1].seen;
    req.set_room = opts[2].seen;
    req.set_price = opts[3].seen;
    req.set_zones = zones.n > 0 || no_zones;
    req.set_layout = opts[6].seen;
    req.set_max_per_user = opts[8].seen;
    req.set_half_price_cap = opts[9].seen;
    if (!req.set_starts_at && !req.set_room && !req.set_price && !req.set_zones &&
        !req.set_layout && !req.set_max_per_user && !req.set_half_price_cap) {
        rc = cli_usage_error(cmd, "nothing to change: give at least one option");
        goto out;
    }
    if ((rc = cli__zones(cmd, &zones, &req.zones, &req.n_zones)) == CLI_EXIT_OK)
        rc = cli_run(cli, cmd, BH_METHOD_SESSION_UPDATE_SESSION, &req.base, cli_render_session);
out:
    cli__zones_free(req.zones, req.n_zones);
    bh__strs_free(&zones);
    return rc;
}

int
cli_cmd_session_cancel(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CancelSessionRequest req = BILHETERIA__V1__CANCEL_SESSION_REQUEST__INIT;
    const char *key = NULL;
    struct bh__opt opts[] = {
        CLI_ID_ARG(&req.id, "the session's id"),
        { "--idempotency-key", "KEY", BH__OPT_STR, 0, &key,
          "required (here or as a global option)" },
        { "--reason", "R", BH__OPT_STR, 0, &req.reason,
          "why (up to 500 bytes): shown on the session and on each refund" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run_key(cli, cmd, BH_METHOD_SESSION_CANCEL_SESSION, &req.base, key,
                       cli_render_session);
}
