/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria pay | payment get | refund */
#include <stdlib.h>

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
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (opts[4].seen != opts[5].seen)
        return cli_usage_error(cmd, "--provider and --provider-ref go together");
    return cli_run_key(cli, cmd, BH_METHOD_PAYMENT_CONFIRM_PAYMENT, &req.base, key,
                       cli_render_confirm);
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

int
cli_cmd_refund(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__RefundPaymentRequest req = BILHETERIA__V1__REFUND_PAYMENT_REQUEST__INIT;
    const char *key = NULL, *seats = NULL;
    struct bh__strs prods = { 0 };
    int all = 0, keep = 0;
    struct bh__opt opts[] = {
        { "--payment", "ID", BH__OPT_ID, BH__OPT_REQUIRED, &req.payment_id,
          "the payment to refund" },
        { "--all", NULL, BH__OPT_FLAG, 0, &all, "everything not refunded yet" },
        { "--seats", "A1,A2", BH__OPT_STR, 0, &seats, "these seats (comma-separated)" },
        { "--product", "ID:QTY", BH__OPT_STRS, 0, &prods,
          "this many of an add-on product (repeatable)" },
        { "--idempotency-key", "KEY", BH__OPT_STR, 0, &key,
          "required (here or as a global option): a retry with the same key never "
          "refunds twice" },
        { "--reason", "R", BH__OPT_STR, 0, &req.reason, "why (up to 500 bytes)" },
        { "--provider", "P", BH__OPT_STR, 0, &req.provider, "the payment provider" },
        { "--provider-ref", "R", BH__OPT_STR, 0, &req.provider_ref,
          "the provider's refund reference (with --provider; unique per provider)" },
        { "--keep-seats-blocked", NULL, BH__OPT_FLAG, 0, &keep,
          "leave the refunded seats sold instead of selling them again" },
    };
    size_t i;
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        goto out;
    if (all == (seats != NULL || prods.n > 0)) {
        rc = cli_usage_error(cmd, all ? "--all cannot be used with --seats or --product"
                                      : "give --all, --seats A1,A2 or --product ID:QTY");
        goto out;
    }
    if (opts[6].seen != opts[7].seen) {
        rc = cli_usage_error(cmd, "--provider and --provider-ref go together");
        goto out;
    }
    req.all = all;
    req.keep_seats_blocked = keep;
    if (seats != NULL && (rc = cli_seat_list(cmd, seats, &req.seats, &req.n_seats)) != CLI_EXIT_OK)
        goto out;
    if ((rc = cli_item_list(cmd, &prods, &req.items, &req.n_items)) != CLI_EXIT_OK)
        goto out;
    rc = cli_run_key(cli, cmd, BH_METHOD_PAYMENT_REFUND_PAYMENT, &req.base, key, cli_render_refund);
out:
    for (i = 0; i < req.n_seats; i++)
        free(req.seats[i]);
    free(req.seats);
    for (i = 0; i < req.n_items; i++)
        free(req.items[i]);
    free(req.items);
    bh__strs_free(&prods);
    return rc;
}
