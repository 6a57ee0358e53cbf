/* SPDX-License-Identifier: Apache-2.0 */
/* Add-on recommendations from co-purchase counts.
 *
 * Counts (store_copurchase_*), per scope (0 = every event, else an event
 * id), over paid orders with at least one add-on:
 *   (scope, 0, 0)  N, the orders;
 *   (scope, 0, b)  n(b), the orders with product b;
 *   (scope, a, b)  co(a, b), the orders with both a and b (a != b, both ways).
 * A product is suggested for the order's product a when its lift,
 * P(b | a) / P(b), is above 1 and co(a, b) is at least the minimum support.
 * A ranking reads the pairs of the order's products (a prefix scan each,
 * bounded by SCAN_MAX) and the counts of the products found: its cost
 * depends on the catalogue, never on the number of orders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "report.h"
#include "resv.h"
#include "util.h"

#define SRC(x)          BILHETERIA__V1__RECOMMENDATION_SOURCE__RECOMMENDATION_SOURCE_##x
#define K_DEFAULT       3
#define K_MAX           50
#define SUPPORT_DEFAULT 3
/* Counts read per scan: the products bought with one product, or the
 * products of a scope for its best sellers. */
#define SCAN_MAX 1000

/* The order's distinct products, in order. */
static size_t
order_products(const Bilheteria__V1__Reservation *r, uint64_t *ids)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_items && n < BH_RESERVATION_ITEMS_MAX; i++) {
        size_t j = 0;
        while (j < n && ids[j] != r->items[i]->product_id)
            j++;
        if (j == n)
            ids[n++] = r->items[i]->product_id;
    }
    return n;
}

int
srv_recommend_count_order(store_txn *t, uint64_t event_id, const Bilheteria__V1__Reservation *r)
{
    uint64_t ids[BH_RESERVATION_ITEMS_MAX];
    size_t n = order_products(r, ids);
    uint64_t scopes[2] = { 0, event_id };
    if (n == 0)
        return STORE_OK;
    for (size_t s = 0; s < (event_id != 0 ? 2u : 1u); s++) {
        int rc = store_copurchase_add(t, scopes[s], 0, 0, 1);
        for (size_t i = 0; i < n && rc == STORE_OK; i++) {
            rc = store_copurchase_add(t, scopes[s], 0, ids[i], 1);
            for (size_t j = 0; j < n && rc == STORE_OK; j++)
                if (j != i)
                    rc = store_copurchase_add(t, scopes[s], ids[i], ids[j], 1);
        }
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

/* ---- RecommendProducts ---- */

struct cand {
    uint64_t id;
    double score, confidence;
    uint64_t support, with; /* with: index into the order's products + 1, 0 = none */
};

struct rank {
    srv_call *c;
    store_txn *t;
    uint64_t scope, total; /* N of the scope */
    const uint64_t *have;  /* the order's products */
    size_t n_have;
    size_t with;     /* the order's product being scanned */
    uint64_t n_with; /* its n(a) */
    uint32_t min_support;
    struct cand *cand;
    size_t n_cand;
    /* what the answer holds so far */
    Bilheteria__V1__Recommendation **out;
    size_t n_out, k;
};

static int
listed(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

static int
chosen(const struct rank *rk, uint64_t id)
{
    for (size_t i = 0; i < rk->n_out; i++)
        if (rk->out[i]->product->id == id)
            return 1;
    return listed(rk->have, rk->n_have, id);
}

/* The candidate for product id, added if new; NULL when the list is full. */
static struct cand *
cand_of(struct rank *rk, uint64_t id)
{
    for (size_t i = 0; i < rk->n_cand; i++)
        if (rk->cand[i].id == id)
            return &rk->cand[i];
    if (rk->n_cand == SCAN_MAX)
        return NULL;
    struct cand *cd = &rk->cand[rk->n_cand++];
    memset(cd, 0, sizeof(*cd));
    cd->id = id;
    return cd;
}

/* A product bought with the order's product rk->with, n times. */
static int
pair_seen(void *arg, uint64_t b, uint64_t n)
{
    struct rank *rk = arg;
    uint64_t nb;
    if (n < rk->min_support || chosen(rk, b))
        return 0;
    int rc = store_copurchase_get(rk->t, rk->scope, 0, b, &nb);
    if (rc != STORE_OK || nb == 0)
        return rc;
    double conf = (double)n / (double)rk->n_with;
    double lift = conf / ((double)nb / (double)rk->total);
    if (lift <= 1.0)
        return 0; /* bought with it no more often than without it */
    struct cand *cd = cand_of(rk, b);
    if (cd != NULL &&
        (cd->with == 0 || lift > cd->score || (lift == cd->score && n > cd->support))) {
        cd->score = lift;
        cd->confidence = conf;
        cd->support = n;
        cd->with = rk->with + 1;
    }
    return 0;
}

/* A product of the scope, in n orders: a best seller. */
static int
product_seen(void *arg, uint64_t b, uint64_t n)
{
    struct rank *rk = arg;
    struct cand *cd;
    if (n == 0 || chosen(rk, b) || (cd = cand_of(rk, b)) == NULL)
        return 0;
    cd->support = n;
    cd->score = (double)n / (double)rk->total;
    cd->confidence = 0;
    return 0;
}

static int
cand_cmp(const void *x, const void *y)
{
    const struct cand *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->support != b->support)
        return a->support > b->support ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Takes the sorted candidates into the answer, until k, with their
 * product and reason; a product gone or no longer sold is passed over. */
static int
take(struct rank *rk, int source, Bilheteria__V1__Product *const *have_p)
{
    srv_call *c = rk->c;
    qsort(rk->cand, rk->n_cand, sizeof(*rk->cand), cand_cmp);
    for (size_t i = 0; i < rk->n_cand && rk->n_out < rk->k; i++) {
        const struct cand *cd = &rk->cand[i];
        Bilheteria__V1__Product *p = NULL;
        int rc = store_product_get(rk->t, cd->id, &c->arena->pc, &p);
        if (rc == STORE_NOTFOUND)
            continue;
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "product");
        if (!srv_product_active(p)) /* not on sale: not suggested */
            continue;
        Bilheteria__V1__Recommendation *rec =
            SRV_NEW(c, Bilheteria__V1__Recommendation, bilheteria__v1__recommendation);
        char reason[320];
        if (rec == NULL)
            return srv_fail(c, SRV_E_NOMEM, "out of memory");
        const char *where = rk->scope != 0 ? " at this event" : "";
        if (cd->with != 0) {
            const Bilheteria__V1__Product *w = have_p[cd->with - 1];
            rec->with_product_id = w->id;
            rec->confidence = cd->confidence;
            snprintf(reason, sizeof(reason), "bought with %.200s in %d%% of orders%s", w->name,
                     (int)(cd->confidence * 100.0 + 0.5), where);
        } else {
            snprintf(reason, sizeof(reason), "a best seller: in %d%% of orders%s",
                     (int)(cd->score * 100.0 + 0.5), where);
        }
        rec->product = p;
        rec->score = cd->score;
        rec->support = cd->support;
        rec->source = source;
        if ((rec->reason = bh__arena_strdup(c->arena, reason)) == NULL)
            return srv_fail(c, SRV_E_NOMEM, "out of memory");
        rk->out[rk->n_out++] = rec;
    }
    rk->n_cand = 0;
    return 0;
}

/* One scope's co-purchase candidates, then its best sellers as a second
 * pass (best_sellers), taken into the answer. */
static int
rank_scope(struct rank *rk, uint64_t scope, int best_sellers,
           Bilheteria__V1__Product *const *have_p)
{
    int rc = store_copurchase_get(rk->t, scope, 0, 0, &rk->total);
    if (rc != STORE_OK)
        return srv_store_fail(rk->c, rc, "co-purchase counts");
    if (rk->total == 0 || rk->n_out >= rk->k)
        return 0;
    rk->scope = scope;
    rk->n_cand = 0;
    if (best_sellers) {
        rc = store_copurchase_scan(rk->t, scope, 0, SCAN_MAX, product_seen, rk);
    } else {
        for (size_t i = 0; i < rk->n_have && rc == STORE_OK; i++) {
            rk->with = i;
            rc = store_copurchase_get(rk->t, scope, 0, rk->have[i], &rk->n_with);
            if (rc == STORE_OK && rk->n_with > 0)
                rc = store_copurchase_scan(rk->t, scope, rk->have[i], SCAN_MAX, pair_seen, rk);
        }
    }
    if (rc != STORE_OK)
        return srv_store_fail(rk->c, rc, "co-purchase counts");
    int source = best_sellers ? (scope != 0 ? SRC(EVENT_BEST_SELLER) : SRC(GLOBAL_BEST_SELLER))
                              : (scope != 0 ? SRC(EVENT_CO_PURCHASE) : SRC(GLOBAL_CO_PURCHASE));
    return take(rk, source, have_p);
}

/* The order's products and event: from the reservation, or as given. */
static int
order_of(srv_call *c, store_txn *t, const Bilheteria__V1__RecommendProductsRequest *q,
         uint64_t *have, size_t *n_have, uint64_t *event_id)
{
    int rc;
    *n_have = 0;
    *event_id = q->event_id;
    if (q->reservation_id != 0) {
        Bilheteria__V1__Reservation *r = NULL;
        Bilheteria__V1__Session *s = NULL;
        if (q->n_product_ids > 0 || q->event_id != 0) {
            c->field = q->n_product_ids > 0 ? "product_ids" : "event_id";
            return srv_fail(c, SRV_E_INVALID,
                            "give reservation_id alone, or product_ids (and event_id): a "
                            "reservation has its products and event");
        }
        if (c->identity.role == SRV_ROLE_ANONYMOUS) {
            c->field = "reservation_id";
            return srv_fail(c, BILHETERIA__V1__STATUS_CODE__PERMISSION_DENIED,
                            "an anonymous caller gives product_ids, not a reservation");
        }
        if (srv_authz_resv_get(c, t, "reservation_id", q->reservation_id, &r))
            return c->code;
        if ((rc = store_session_get(t, r->session_id, &c->arena->pc, &s)) != STORE_OK)
            return srv_store_fail(c, rc, "session");
        *event_id = s->event_id;
        *n_have = order_products(r, have);
        return 0;
    }
    if (q->n_product_ids > BH_RESERVATION_ITEMS_MAX) {
        c->field = "product_ids";
        return srv_fail(c, SRV_E_INVALID, "%zu product_ids; at most %d", q->n_product_ids,
                        BH_RESERVATION_ITEMS_MAX);
    }
    for (size_t i = 0; i < q->n_product_ids; i++) {
        if (q->product_ids[i] == 0 || listed(have, *n_have, q->product_ids[i])) {
            c->field = "product_ids";
            return srv_fail(c, SRV_E_INVALID, "product_ids[%zu] is %s", i,
                            q->product_ids[i] == 0 ? "0" : "listed twice");
        }
        have[(*n_have)++] = q->product_ids[i];
    }
    return q->event_id != 0 ? srv_report_event_check(c, t, q->event_id) : 0;
}

int
srv_recommend_products(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__RecommendProductsRequest *q = (const void *)c->req;
    Bilheteria__V1__RecommendProductsResponse *resp = SRV_NEW(
        c, Bilheteria__V1__RecommendProductsResponse, bilheteria__v1__recommend_products_response);
    uint64_t have[BH_RESERVATION_ITEMS_MAX], event_id;
    Bilheteria__V1__Product *have_p[BH_RESERVATION_ITEMS_MAX];
    size_t n_have;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (q->k > K_MAX) {
        c->field = "k";
        return srv_fail(c, SRV_E_INVALID, "k %u is above the most, %d", q->k, K_MAX);
    }
    if (order_of(c, t, q, have, &n_have, &event_id))
        return c->code;
    for (size_t i = 0; i < n_have; i++) {
        int rc = store_product_get(t, have[i], &c->arena->pc, &have_p[i]);
        if (rc == STORE_NOTFOUND)
            return srv_fail(c, SRV_E_NOTFOUND, "product %llu does not exist",
                            (unsigned long long)have[i]);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "product");
    }
    struct rank rk = {
        .c = c,
        .t = t,
        .have = have,
        .n_have = n_have,
        .min_support = q->min_support ? q->min_support : SUPPORT_DEFAULT,
        .k = q->k ? q->k : K_DEFAULT,
    };
    rk.cand = bh__arena_alloc(c->arena, SCAN_MAX * sizeof(*rk.cand));
    rk.out = bh__arena_alloc(c->arena, rk.k * sizeof(*rk.out));
    if (rk.cand == NULL || rk.out == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    /* By lift at this event, then at every event; then best sellers. */
    for (int best = 0; best < 2; best++) {
        if ((event_id != 0 && rank_scope(&rk, event_id, best, have_p)) ||
            rank_scope(&rk, 0, best, have_p))
            return c->code;
    }
    resp->recommendations = rk.out;
    resp->n_recommendations = rk.n_out;
    resp->event_id = event_id;
    c->resp = &resp->base;
    return 0;
}
