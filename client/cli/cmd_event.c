/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria event create|get|list */
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
