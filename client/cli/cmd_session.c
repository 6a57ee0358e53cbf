/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria session create|get|list|seats */
#include "cli.h"

int
cli_cmd_session_create(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CreateSessionRequest req = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--event", "ID", BH__OPT_ID, BH__OPT_REQUIRED, &req.event_id, "the event" },
        CLI_TIME_OPT("--starts-at", BH__OPT_REQUIRED, &req.starts_at_ms, "when the session starts"),
        { "--rows", "N", BH__OPT_COUNT, BH__OPT_REQUIRED, &req.rows,
          "rows in the room, labelled A..Z, AA.. (1..676)" },
        { "--seats-per-row", "M", BH__OPT_COUNT, BH__OPT_REQUIRED, &req.seats_per_row,
          "seats in each row, numbered from 1 (1..1000)" },
        { "--price", "CENTS", BH__OPT_NONNEG, BH__OPT_REQUIRED, &req.price_cents,
          "full price (inteira) in cents" },
        { "--half-price", "CENTS", BH__OPT_NONNEG, 0, &req.half_price_cents,
          "half price (meia-entrada) in cents; must be price/2 (default)" },
        { "--half-cap", "N", BH__OPT_COUNT, 0, &req.half_price_cap,
          "most half-price tickets (default and least: 40% of capacity)" },
        { "--room", "NAME", BH__OPT_STR, 0, &req.room, "the room" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_SESSION_CREATE_SESSION, &req.base, cli_render_session);
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
