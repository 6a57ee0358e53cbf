/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria admin backup */
#include "cli.h"

/* A copy takes as long as the data is big: the default deadline of a call
 * (CLI_DEFAULT_TIMEOUT_MS) is far too short for one. */
#define CLI_BACKUP_TIMEOUT_MS (30 * 60 * 1000)

int
cli_cmd_admin_backup(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__BackupRequest req = BILHETERIA__V1__BACKUP_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--out", "PATH", BH__OPT_STR, BH__OPT_REQUIRED | BH__OPT_LAST_WINS, &req.out_path,
          "an absolute path on the server's machine that does not exist yet (or an empty "
          "directory); deadline 30 minutes unless --timeout-ms says otherwise" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    /* Only the default is raised: a --timeout-ms given equal to it is
     * taken as the default too. */
    if (cli->timeout_ms == CLI_DEFAULT_TIMEOUT_MS)
        cli->timeout_ms = CLI_BACKUP_TIMEOUT_MS;
    return cli_run(cli, cmd, BH_METHOD_ADMIN_BACKUP, &req.base, cli_render_backup);
}
