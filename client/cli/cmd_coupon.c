/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria coupon create|get|list|deactivate |
 * promo combo|quantity|list|deactivate */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TO(x) BILHETERIA__V1__COUPON_APPLIES_TO__COUPON_APPLIES_TO_##x

/* --applies-to tickets|products|order, into a CouponAppliesTo. */
static int
cli__applies_to(const char *val, void *dest)
{
    static const struct {
        const char *name;
        int v;
    } names[] = { { "tickets", TO(TICKETS) },
                  { "products", TO(PRODUCTS) },
                  { "order", TO(ORDER) } };
    for (size_t i = 0; i < CLI_NOPTS(names); i++)
        if (strcmp(val, names[i].name) == 0) {
            *(Bilheteria__V1__CouponAppliesTo *)dest = names[i].v;
            return 0;
        }
    return -1;
}

int
cli_cmd_coupon_create(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CreateCouponRequest req = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    int64_t percent = 0;
    struct bh__opt opts[] = {
        { "--code", "CODE", BH__OPT_STR, BH__OPT_REQUIRED, &req.code,
          "the code buyers type (1..32 of A-Z 0-9 _ -, case-insensitive)" },
        { "--percent", "P", BH__OPT_INT, 0, &percent, "P% off (1..100)", 1, 100 },
        { "--amount", "CENTS", BH__OPT_POS_I64, 0, &req.amount_cents,
          "or: a fixed amount off, in cents" },
        { "--applies-to", "WHAT", BH__OPT_FN, 0, &req.applies_to,
          "tickets (default), products or order", 0, 0, cli__applies_to,
          "tickets, products or order" },
        { "--event", "ID", BH__OPT_ID, 0, &req.event_id, "only for this event's sessions" },
        { "--session", "ID", BH__OPT_ID, 0, &req.session_id, "only for this session" },
        { "--product", "ID", BH__OPT_ID, 0, &req.product_id,
          "only for this product's units (applies to products)" },
        CLI_TIME_OPT("--valid-from", 0, &req.valid_from_ms, "usable from this time"),
        CLI_TIME_OPT("--valid-until", 0, &req.valid_until_ms, "usable until this time"),
        { "--max-uses", "N", BH__OPT_U32, 0, &req.max_uses, "uses in all (0 or unset: unlimited)" },
        { "--max-uses-per-user", "N", BH__OPT_U32, 0, &req.max_uses_per_user,
          "uses per user (0 or unset: unlimited)" },
        { "--min-total", "CENTS", BH__OPT_NONNEG, 0, &req.min_total_cents,
          "the smallest order subtotal it accepts" },
        { "--include-meia", NULL, BH__OPT_FLAG, 0, &req.include_meia,
          "also discount meia-entrada tickets (by default inteira only)" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (opts[1].seen == opts[2].seen)
        return cli_usage_error(cmd, opts[1].seen ? "--percent and --amount cannot be used together"
                                                 : "give either --percent P or --amount CENTS");
    if (opts[4].seen + opts[5].seen + opts[6].seen > 1)
        return cli_usage_error(cmd, "give at most one of --event, --session and --product");
    req.percent = (uint32_t)percent;
    return cli_run(cli, cmd, BH_METHOD_COUPON_CREATE_COUPON, &req.base, cli_render_coupon);
}

int
cli_cmd_coupon_get(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__GetCouponRequest req = BILHETERIA__V1__GET_COUPON_REQUEST__INIT;
    struct bh__opt opts[] = { { NULL, "CODE", BH__OPT_STR, BH__OPT_REQUIRED, &req.code,
                                "the coupon's code (any case)" } };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_COUPON_GET_COUPON, &req.base, cli_render_coupon);
}

int
cli_cmd_coupon_list(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__ListCouponsRequest req = BILHETERIA__V1__LIST_COUPONS_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_PAGE_OPTS(&req.page_size, &req.page_token) };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_COUPON_LIST_COUPONS, &req.base, cli_render_coupons);
}

int
cli_cmd_coupon_deactivate(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__DeactivateCouponRequest req = BILHETERIA__V1__DEACTIVATE_COUPON_REQUEST__INIT;
    struct bh__opt opts[] = { { NULL, "CODE", BH__OPT_STR, BH__OPT_REQUIRED, &req.code,
                                "the coupon's code (any case)" } };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_COUPON_DEACTIVATE_COUPON, &req.base, cli_render_coupon);
}

int
cli_cmd_promo_combo(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CreateComboRuleRequest req = BILHETERIA__V1__CREATE_COMBO_RULE_REQUEST__INIT;
    struct bh__strs prods = { 0 };
    struct bh__opt opts[] = {
        { "--name", "NAME", BH__OPT_STR, BH__OPT_REQUIRED, &req.name, "the combo's name" },
        { "--product", "ID:QTY", BH__OPT_STRS, BH__OPT_REQUIRED, &prods,
          "a product and its quantity in the combo (repeat for each)" },
        { "--price", "CENTS", BH__OPT_NONNEG, BH__OPT_REQUIRED, &req.price_cents,
          "the combo's price, below its products' together" },
    };
    Bilheteria__V1__ComboItem *items = NULL;
    size_t i;
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        goto out;
    items = cli_xalloc(prods.n * sizeof(*items));
    req.items = cli_xalloc(prods.n * sizeof(*req.items));
    for (i = 0; i < prods.n; i++) {
        bilheteria__v1__combo_item__init(&items[i]);
        if (cli_item_parse(prods.v[i], &items[i].product_id, &items[i].quantity) != 0) {
            rc = cli_usage_error(cmd,
                                 "--product: expected ID:QTY with a positive product id and "
                                 "quantity, got \"%s\"",
                                 prods.v[i]);
            goto out;
        }
        req.items[req.n_items++] = &items[i];
    }
    rc = cli_run(cli, cmd, BH_METHOD_COUPON_CREATE_COMBO_RULE, &req.base, cli_render_rule);
out:
    free(items);
    free(req.items);
    bh__strs_free(&prods);
    return rc;
}

int
cli_cmd_promo_quantity(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CreateQuantityRuleRequest req =
        BILHETERIA__V1__CREATE_QUANTITY_RULE_REQUEST__INIT;
    int64_t percent = 0;
    struct bh__opt opts[] = {
        { "--min-tickets", "N", BH__OPT_COUNT, BH__OPT_REQUIRED, &req.min_tickets,
          "inteira tickets one reservation needs" },
        { "--percent", "P", BH__OPT_INT, BH__OPT_REQUIRED, &percent,
          "P% off each inteira ticket (1..100)", 1, 100 },
        { "--name", "NAME", BH__OPT_STR, 0, &req.name, "a name for the rule" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    req.percent = (uint32_t)percent;
    return cli_run(cli, cmd, BH_METHOD_COUPON_CREATE_QUANTITY_RULE, &req.base, cli_render_rule);
}

int
cli_cmd_promo_list(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__ListRulesRequest req = BILHETERIA__V1__LIST_RULES_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_PAGE_OPTS(&req.page_size, &req.page_token) };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_COUPON_LIST_RULES, &req.base, cli_render_rules);
}

int
cli_cmd_promo_deactivate(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__DeactivateRuleRequest req = BILHETERIA__V1__DEACTIVATE_RULE_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_ID_ARG(&req.id, "the rule's id") };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_COUPON_DEACTIVATE_RULE, &req.base, cli_render_rule);
}
