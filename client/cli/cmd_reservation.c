/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria reserve | reservation get|list|cancel */
#include <stdlib.h>
#include <string.h>

#include "bh_label.h"
#include "cli.h"

int
cli_seat_list(const struct cli_cmd *cmd, const char *list, char ***seats, size_t *n_seats)
{
    size_t n = 1, len = strlen(list);
    const char *p = list;

    for (; *p != '\0'; p++)
        n += *p == ',';
    *seats = cli_xalloc(n * sizeof(**seats));
    *n_seats = 0;
    for (p = list; p <= list + len;) {
        const char *comma = strchr(p, ',');
        size_t w = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char one[BH__LABEL_MAX];
        uint32_t row, seat;

        if (w == 0)
            return cli_usage_error(cmd, "--seats: empty seat label in \"%s\"", list);
        if (w >= sizeof(one))
            return cli_usage_error(cmd,
                                   "--seats: \"%.*s\" is not a seat label like A1 "
                                   "or AB12",
                                   (int)w, p);
        memcpy(one, p, w);
        one[w] = '\0';
        if (bh__seat_parse(one, BH__LABEL_ANYCASE, &row, &seat) != 0)
            return cli_usage_error(cmd, "--seats: \"%s\" is not a seat label like A1 or AB12", one);
        (*seats)[*n_seats] = cli_xalloc(BH__LABEL_MAX);
        bh__seat_label(row, seat, (*seats)[*n_seats], BH__LABEL_MAX);
        (*n_seats)++;
        p += w + 1;
    }
    return CLI_EXIT_OK;
}

int
cli_item_parse(const char *s, uint64_t *id, int32_t *qty)
{
    const char *colon = strchr(s, ':');
    char id_text[32];
    int64_t q;

    if (colon == NULL || (size_t)(colon - s) >= sizeof(id_text))
        return -1;
    memcpy(id_text, s, (size_t)(colon - s));
    id_text[colon - s] = '\0';
    if (bh__parse_u64(id_text, 1, UINT64_MAX, id) != 0 ||
        bh__parse_i64(colon + 1, 1, INT32_MAX, &q) != 0)
        return -1;
    *qty = (int32_t)q;
    return 0;
}

int
cli_item_list(const struct cli_cmd *cmd, const struct bh__strs *prods,
              Bilheteria__V1__ItemRequest ***items, size_t *n)
{
    size_t i;

    *n = 0;
    if (prods->n == 0)
        return CLI_EXIT_OK;
    *items = cli_xalloc(prods->n * sizeof(**items));
    for (i = 0; i < prods->n; i++) {
        uint64_t id;
        int32_t qty;
        Bilheteria__V1__ItemRequest *it;

        if (cli_item_parse(prods->v[i], &id, &qty) != 0)
            return cli_usage_error(cmd,
                                   "--product: expected ID:QTY with a positive product "
                                   "id and quantity, got \"%s\"",
                                   prods->v[i]);
        it = cli_xalloc(sizeof(*it));
        bilheteria__v1__item_request__init(it);
        it->product_id = id;
        it->quantity = qty;
        (*items)[(*n)++] = it;
    }
    return CLI_EXIT_OK;
}

int
cli_cmd_reserve(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CreateReservationRequest req = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    const char *seats = NULL;
    struct bh__strs prods = { 0 };
    struct bh__opt opts[] = {
        { "--session", "ID", BH__OPT_ID, BH__OPT_REQUIRED, &req.session_id, "the session" },
        { "--user", "USER", BH__OPT_STR, BH__OPT_REQUIRED, &req.user_id, "who holds the seats" },
        { "--seats", "A1,A2", BH__OPT_STR, 0, &seats, "these seats (comma-separated)" },
        { "--best", "N", BH__OPT_COUNT, 0, &req.best,
          "or: the best N adjacent seats the server finds" },
        { "--half", "N", BH__OPT_U32, 0, &req.half_price,
          "how many of the seats are half price (meia-entrada), the first ones" },
        { "--product", "ID:QTY", BH__OPT_STRS, 0, &prods, "an add-on product and quantity" },
        { "--ttl-s", "S", BH__OPT_POS_I32, 0, &req.ttl_s,
          "hold the seats S seconds (> 0; omit for the server's default)" },
        { "--zone", "NAME", BH__OPT_STR, 0, &req.zone,
          "with --best: pick inside this price zone only" },
        { "--coupon", "CODE", BH__OPT_STR, 0, &req.coupon_code,
          "a coupon code (any case); one per reservation" },
    };
    size_t i;
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        goto out;
    if ((seats != NULL) == opts[3].seen) {
        rc = cli_usage_error(cmd, seats != NULL ? "--seats and --best cannot be used together"
                                                : "give either --seats A1,A2 or --best N");
        goto out;
    }
    if (seats != NULL && opts[7].seen) {
        rc = cli_usage_error(cmd, "--zone goes with --best (listed seats are in their own zones)");
        goto out;
    }
    if (seats != NULL && (rc = cli_seat_list(cmd, seats, &req.seats, &req.n_seats)) != CLI_EXIT_OK)
        goto out;
    if ((rc = cli_item_list(cmd, &prods, &req.items, &req.n_items)) != CLI_EXIT_OK)
        goto out;
    rc = cli_run(cli, cmd, BH_METHOD_RESERVATION_CREATE_RESERVATION, &req.base,
                 cli_render_reservation);
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

int
cli_cmd_reservation_get(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__GetReservationRequest req = BILHETERIA__V1__GET_RESERVATION_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_ID_ARG(&req.id, "the reservation's id") };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_RESERVATION_GET_RESERVATION, &req.base,
                   cli_render_reservation);
}

int
cli_cmd_reservation_list(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__ListReservationsRequest req = BILHETERIA__V1__LIST_RESERVATIONS_REQUEST__INIT;
    struct bh__opt opts[] = {
        { "--user", "USER", BH__OPT_STR, BH__OPT_REQUIRED, &req.user_id, "whose reservations" },
        CLI_PAGE_OPTS(&req.page_size, &req.page_token),
    };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_RESERVATION_LIST_RESERVATIONS, &req.base,
                   cli_render_reservations);
}

int
cli_cmd_reservation_cancel(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    Bilheteria__V1__CancelReservationRequest req = BILHETERIA__V1__CANCEL_RESERVATION_REQUEST__INIT;
    struct bh__opt opts[] = { CLI_ID_ARG(&req.id, "the reservation's id") };
    int rc;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    return cli_run(cli, cmd, BH_METHOD_RESERVATION_CANCEL_RESERVATION, &req.base,
                   cli_render_reservation);
}
