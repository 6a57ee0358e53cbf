/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria health: exits 0 only when the server says it is SERVING, so
 * scripts can use it as a readiness probe. */
#include <stdio.h>

#include "cli.h"

int
cli_cmd_health(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc, status;

    struct bh__opt opts[] = {
        { "--service", "NAME", BH__OPT_STR, BH__OPT_LAST_WINS, &req.service,
          "one service's status (bilheteria.v1.EventService, ...); unset: the whole server" },
    };

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    rc = cli_call(cli, cmd, BH_METHOD_HEALTH_CHECK, &req.base, NULL, &resp);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = cli_show(cli, resp, cli_render_health);
    status = ((Bilheteria__V1__CheckResponse *)resp)->status;
    if (rc == CLI_EXIT_OK && status != BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING) {
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
            &bilheteria__v1__serving_status__descriptor, status);
        fprintf(stderr, "error: server is not serving (status %s)\n",
                ev != NULL ? ev->name : "unknown");
        rc = CLI_EXIT_FAIL;
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}
