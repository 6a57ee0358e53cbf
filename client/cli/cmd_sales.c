/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria report sales | recommend */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void
cli__csv_str(const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s != '\0'; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

/* The groups as CSV: a header, then one line per group, money in cents. */
static int
cli__sales_csv(const Bilheteria__V1__GetSalesReportResponse *r)
{
    fputs("group,day_ms,session_id,zone,tickets_inteira,tickets_meia,gross_cents,"
          "discount_cents,refund_cents,net_cents,products_units,products_cents,"
          "holds_created,holds_converted,holds_expired,holds_cancelled,refunds,"
          "conversion_rate\n",
          stdout);
    for (size_t i = 0; i < r->n_groups; i++) {
        const Bilheteria__V1__SalesGroup *g = r->groups[i];
        const Bilheteria__V1__SalesFigures *f = g->figures;
        if (f == NULL)
            continue;
        cli__csv_str(g->label);
        printf(",%" PRId64 ",%" PRIu64 ",", g->day_ms, g->session_id);
        cli__csv_str(g->zone);
        printf(",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
               ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%.4f\n",
               f->tickets_inteira, f->tickets_meia, f->gross_cents, f->discount_cents,
               f->refund_cents, f->net_cents, f->products_units, f->products_cents,
               f->holds_created, f->holds_converted, f->holds_expired, f->holds_cancelled,
               f->refunds, f->conversion_rate);
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int
cli_cmd_report_sales(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__GetSalesReportRequest req = BILHETERIA__V1__GET_SALES_REPORT_REQUEST__INIT;
    const char *by = NULL;
    int csv = 0;
    struct bh__opt opts[] = {
        { "--event", "ID", BH__OPT_ID, 0, &req.event_id, "the event (every session of it)" },
        { "--session", "ID", BH__OPT_ID, 0, &req.session_id, "one session" },
        CLI_TIME_OPT("--from", 0, &req.from_ms, "from this day (UTC) on; default: the first"),
        CLI_TIME_OPT("--to", 0, &req.to_ms,
                     "until this time: the day it falls in is the last; default: now"),
        { "--by", "day|session|zone", BH__OPT_STR, 0, &by, "how to group (default: day)" },
        { "--csv", NULL, BH__OPT_FLAG, 0, &csv, "print the groups as CSV, money in cents" },
    };
    ProtobufCMessage *resp = NULL;
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (opts[0].seen == opts[1].seen)
        return cli_usage_error(cmd, "give --event or --session (one of them)");
    if (by == NULL || strcmp(by, "day") == 0)
        req.group_by = BILHETERIA__V1__REPORT_GROUP_BY__REPORT_GROUP_BY_DAY;
    else if (strcmp(by, "session") == 0)
        req.group_by = BILHETERIA__V1__REPORT_GROUP_BY__REPORT_GROUP_BY_SESSION;
    else if (strcmp(by, "zone") == 0)
        req.group_by = BILHETERIA__V1__REPORT_GROUP_BY__REPORT_GROUP_BY_ZONE;
    else
        return cli_usage_error(cmd, "--by: expected day, session or zone, got \"%s\"", by);
    if (csv && cli->json)
        return cli_usage_error(cmd, "--csv and --json do not go together");
    rc = cli_call(cli, cmd, BH_METHOD_REPORT_GET_SALES_REPORT, &req.base, NULL, &resp);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = csv ? cli__sales_csv((const void *)resp) : cli_show(cli, resp, cli_render_sales_report);
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

int
cli_cmd_recommend(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__RecommendProductsRequest req = BILHETERIA__V1__RECOMMEND_PRODUCTS_REQUEST__INIT;
    struct bh__strs prods = { 0 };
    uint64_t ids[BH_RESERVATION_ITEMS_MAX];
    struct bh__opt opts[] = {
        { "--reservation", "ID", BH__OPT_ID, 0, &req.reservation_id,
          "the order: its add-ons and its event" },
        { "--product", "ID", BH__OPT_STRS, 0, &prods,
          "a product in the order (repeat, or ID,ID,...), without --reservation" },
        { "--event", "ID", BH__OPT_ID, 0, &req.event_id, "with --product: the event" },
        { "--k", "N", BH__OPT_U32, 0, &req.k, "how many (default 3, at most 50)" },
        { "--min-support", "N", BH__OPT_U32, 0, &req.min_support,
          "orders that must have both products (default 3)" },
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (opts[0].seen && (opts[1].seen || opts[2].seen)) {
        bh__strs_free(&prods);
        return cli_usage_error(cmd, "--reservation goes alone: the order has its products "
                                    "and event");
    }
    for (size_t i = 0; i < prods.n; i++) {
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", prods.v[i]);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save)) {
            if (req.n_product_ids == BH_RESERVATION_ITEMS_MAX ||
                bh__parse_u64(tok, 1, UINT64_MAX, &ids[req.n_product_ids]) != 0) {
                rc = cli_usage_error(cmd, "--product: expected up to %d product ids, got \"%s\"",
                                     BH_RESERVATION_ITEMS_MAX, tok);
                bh__strs_free(&prods);
                return rc;
            }
            req.n_product_ids++;
        }
    }
    bh__strs_free(&prods);
    req.product_ids = ids;
    return cli_run(cli, cmd, BH_METHOD_REPORT_RECOMMEND_PRODUCTS, &req.base,
                   cli_render_recommendations);
}
