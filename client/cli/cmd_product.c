/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria product create|list */
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
