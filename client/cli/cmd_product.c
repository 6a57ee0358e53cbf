/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria product create|list|update */
#include <string.h>

#include "cli.h"

int
cli_cmd_product_create(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CreateProductRequest req = BILHETERIA__V1__CREATE_PRODUCT_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--name", "NAME", BH__OPT_STR, BH__OPT_REQUIRED, &req.name, "the product's name" },
        { "--price", "CENTS", BH__OPT_NONNEG, BH__OPT_REQUIRED, &req.price_cents,
          "unit price in cents" },
        { "--stock", "N", BH__OPT_POS_I64, 0, &req.stock,
          "units in stock, 1 or more (omit for unlimited: 0 on the wire means unlimited)" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_PRODUCT_CREATE_PRODUCT, &req.base, cli_render_product);
}

int
cli_cmd_product_list(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__ListProductsRequest req = BILHETERIA__V1__LIST_PRODUCTS_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_PAGE_OPTS(&req.page_size, &req.page_token) };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_PRODUCT_LIST_PRODUCTS, &req.base, cli_render_products);
}

/* --active true|false into an int. */
static int
cli__bool(const char *val, void *dest)
{
    if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0) {
        *(int *)dest = val[0] == 't';
        return 0;
    }
    return -1;
}

int
cli_cmd_product_update(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__UpdateProductRequest req = BILHETERIA__V1__UPDATE_PRODUCT_REQUEST__INIT;
    int active = 0;
    struct bh__opt opts[] = {
        CLI_ID_ARG(&req.id, "the product's id"),
        { "--price", "CENTS", BH__OPT_NONNEG, 0, &req.price_cents,
          "a new unit price, for new reservations" },
        { "--stock-add", "N", BH__OPT_POS_I64, 0, &req.stock_add, "put N units in stock" },
        { "--stock-remove", "N", BH__OPT_POS_I64, 0, &req.stock_remove,
          "take N units out of stock (never below 0)" },
        { "--active", "true|false", BH__OPT_FN, 0, &active, "whether new reservations may add it",
          0, 0, cli__bool, "true or false" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (opts[2].seen && opts[3].seen)
        return cli_usage_error(cmd, "--stock-add and --stock-remove cannot be used together");
    req.set_price = opts[1].seen;
    req.set_active = opts[4].seen;
    req.active = active;
    if (!req.set_price && !req.set_active && !opts[2].seen && !opts[3].seen)
        return cli_usage_error(cmd, "nothing to change: give at least one option");
    return cli_run(cli, cmd, BH_METHOD_PRODUCT_UPDATE_PRODUCT, &req.base, cli_render_product);
}
