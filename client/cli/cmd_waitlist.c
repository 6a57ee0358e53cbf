/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria waitlist join|leave|get|list */
#include "cli.h"

int
cli_cmd_waitlist_join(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__JoinWaitlistRequest req = BILHETERIA__V1__JOIN_WAITLIST_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--session", "ID", BH__OPT_ID, BH__OPT_REQUIRED, &req.session_id, "the session" },
        { "--user", "USER", BH__OPT_STR, BH__OPT_REQUIRED, &req.user_id, "who waits" },
        { "--seats", "N", BH__OPT_COUNT, BH__OPT_REQUIRED, &req.seats,
          "how many adjacent seats the user waits for" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_WAITLIST_JOIN_WAITLIST, &req.base,
                   cli_render_waitlist_entry);
}

int
cli_cmd_waitlist_leave(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__LeaveWaitlistRequest req = BILHETERIA__V1__LEAVE_WAITLIST_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--session", "ID", BH__OPT_ID, BH__OPT_REQUIRED, &req.session_id, "the session" },
        { "--user", "USER", BH__OPT_STR, BH__OPT_REQUIRED, &req.user_id, "who leaves" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_WAITLIST_LEAVE_WAITLIST, &req.base,
                   cli_render_waitlist_entry);
}

int
cli_cmd_waitlist_get(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__GetWaitlistEntryRequest req = BILHETERIA__V1__GET_WAITLIST_ENTRY_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--session", "ID", BH__OPT_ID, BH__OPT_REQUIRED, &req.session_id, "the session" },
        { "--user", "USER", BH__OPT_STR, BH__OPT_REQUIRED, &req.user_id, "whose entry" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_WAITLIST_GET_WAITLIST_ENTRY, &req.base,
                   cli_render_waitlist_entry);
}

int
cli_cmd_waitlist_list(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__ListWaitlistRequest req = BILHETERIA__V1__LIST_WAITLIST_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--session", "ID", BH__OPT_ID, BH__OPT_REQUIRED, &req.session_id, "the session" },
        CLI_PAGE_OPTS(&req.page_size, &req.page_token),
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_WAITLIST_LIST_WAITLIST, &req.base, cli_render_waitlist);
}
