/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria event create|get|list|update */
#include "cli.h"

int
cli_cmd_event_create(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CreateEventRequest req = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--name", "NAME", BH__OPT_STR, BH__OPT_REQUIRED, &req.name,
          "the event's name (1..200 bytes)" },
        { "--venue", "V", BH__OPT_STR, 0, &req.venue, "where it takes place" },
        { "--description", "D", BH__OPT_STR, 0, &req.description, "free text" },
        CLI_TIME_OPT("--starts-at", 0, &req.starts_at_ms, "when it starts"),
        CLI_TIME_OPT("--ends-at", 0, &req.ends_at_ms, "when it ends"),
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_EVENT_CREATE_EVENT, &req.base, cli_render_event);
}

int
cli_cmd_event_get(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__GetEventRequest req = BILHETERIA__V1__GET_EVENT_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_ID_ARG(&req.id, "the event's id") };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_EVENT_GET_EVENT, &req.base, cli_render_event);
}

int
cli_cmd_event_list(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__ListEventsRequest req = BILHETERIA__V1__LIST_EVENTS_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_PAGE_OPTS(&req.page_size, &req.page_token) };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_EVENT_LIST_EVENTS, &req.base, cli_render_events);
}

int
cli_cmd_event_update(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__UpdateEventRequest req = BILHETERIA__V1__UPDATE_EVENT_REQUEST__INIT;
    struct bh__opt opts[] = {
        CLI_ID_ARG(&req.id, "the event's id"),
        { "--name", "NAME", BH__OPT_STR, 0, &req.name, "a new name (1..200 bytes)" },
        { "--venue", "V", BH__OPT_STR, 0, &req.venue, "a new venue (\"\" for none)" },
        { "--description", "D", BH__OPT_STR, 0, &req.description,
          "a new description (\"\" for none)" },
        CLI_TIME_OPT("--starts-at", 0, &req.starts_at_ms, "a new start"),
        CLI_TIME_OPT("--ends-at", 0, &req.ends_at_ms, "a new end"),
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    req.set_name = opts[1].seen;
    req.set_venue = opts[2].seen;
    req.set_description = opts[3].seen;
    req.set_starts_at = opts[4].seen;
    req.set_ends_at = opts[5].seen;
    if (!req.set_name && !req.set_venue && !req.set_description && !req.set_starts_at &&
        !req.set_ends_at)
        return cli_usage_error(cmd, "nothing to change: give at least one option");
    return cli_run(cli, cmd, BH_METHOD_EVENT_UPDATE_EVENT, &req.base, cli_render_event);
}
