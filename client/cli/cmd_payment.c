/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria pay | payment get */
#include "cli.h"

int
cli_cmd_pay(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__ConfirmPaymentRequest req = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    const char *key = NULL;
    struct bh__opt opts[] = {
        { "--reservation", "ID", BH__OPT_ID, BH__OPT_REQUIRED, &req.reservation_id,
          "the pending reservation" },
        { "--amount", "CENTS", BH__OPT_NONNEG, BH__OPT_REQUIRED, &req.amount_cents,
          "amount paid in cents; must equal the reservation's total" },
        { "--idempotency-key", "KEY", BH__OPT_STR, 0, &key,
          "required (here or as a global option): a retry with the same key "
          "never pays twice" },
        { "--method", "M", BH__OPT_STR, 0, &req.method, "pix, credit_card, ..." },
        { "--provider", "P", BH__OPT_STR, 0, &req.provider, "payment provider" },
        { "--provider-ref", "R", BH__OPT_STR, 0, &req.provider_ref,
          "the provider's reference (with --provider; unique per provider)" },
    };
    ProtobufCMessage *resp = NULL;
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (opts[4].seen != opts[5].seen)
        return cli_usage_error(cmd, "--provider and --provider-ref go together");
    rc = cli_call(cli, cmd, BH_METHOD_PAYMENT_CONFIRM_PAYMENT, &req.base, key, &resp);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = cli_show(cli, resp, cli_render_confirm);
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

int
cli_cmd_payment_get(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__GetPaymentRequest req = BILHETERIA__V1__GET_PAYMENT_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_ID_ARG(&req.id, "the payment's id") };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_PAYMENT_GET_PAYMENT, &req.base, cli_render_payment);
}
