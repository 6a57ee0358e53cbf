/* SPDX-License-Identifier: Apache-2.0 */
/* CouponService: coupons and automatic discount rules (what they do to a
 * reservation is coupon.c's). */
#include <stdio.h>
#include <string.h>

#include "coupon.h"
#include "util.h"

#define TO(x)   BILHETERIA__V1__COUPON_APPLIES_TO__COUPON_APPLIES_TO_##x
#define RULE(x) BILHETERIA__V1__RULE_KIND__RULE_KIND_##x

#define SRV_MONEY_MAX 100000000000LL /* 1e11 cents: past any order */

static int
bad(srv_call *c, const char *field, const char *fmt, long long v)
{
    c->field = field;
    return srv_fail(c, SRV_E_INVALID, fmt, v);
}

/* The scope's target must exist. */
static int
check_scope(srv_call *c, store_txn *t, const Bilheteria__V1__CreateCouponRequest *r)
{
    int rc = STORE_OK;
    const char *what = NULL;
    uint64_t id = 0;
    if ((r->event_id != 0) + (r->session_id != 0) + (r->product_id != 0) > 1)
        return srv_fail(c, SRV_E_INVALID,
                        "give at most one of event_id, session_id and product_id (the coupon's "
                        "scope)");
    if (r->event_id != 0) {
        Bilheteria__V1__Event *e = NULL;
        rc = store_event_get(t, id = r->event_id, &c->arena->pc, &e);
        what = "event";
    } else if (r->session_id != 0) {
        Bilheteria__V1__Session *s = NULL;
        rc = store_session_get(t, id = r->session_id, &c->arena->pc, &s);
        what = "session";
    } else if (r->product_id != 0) {
        Bilheteria__V1__Product *p = NULL;
        rc = store_product_get(t, id = r->product_id, &c->arena->pc, &p);
        what = "product";
        if (r->applies_to == TO(TICKETS)) {
            c->field = "applies_to";
            return srv_fail(c, SRV_E_INVALID,
                            "a coupon for product %llu cannot apply to tickets only; use "
                            "PRODUCTS or ORDER",
                            (unsigned long long)id);
        }
    }
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "%s %llu does not exist", what, (unsigned long long)id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, what);
    return 0;
}

static int
check_coupon(srv_call *c, store_txn *t, const Bilheteria__V1__CreateCouponRequest *r)
{
    if ((r->percent != 0) == (r->amount_cents != 0))
        return srv_fail(c, SRV_E_INVALID,
                        "give exactly one of percent (1..100) and amount_cents (> 0)%s",
                        r->percent != 0 ? ", not both" : "");
    if (r->percent > 100)
        return bad(c, "percent", "percent must be in 1..100, got %lld", (long long)r->percent);
    if (r->amount_cents < 0 || r->amount_cents > SRV_MONEY_MAX)
        return bad(c, "amount_cents", "amount_cents must be in 1..100000000000, got %lld",
                   (long long)r->amount_cents);
    if (r->applies_to < TO(UNSPECIFIED) || r->applies_to > TO(ORDER))
        return bad(c, "applies_to", "applies_to must be TICKETS, PRODUCTS or ORDER, got %lld",
                   (long long)r->applies_to);
    if (r->min_total_cents < 0 || r->min_total_cents > SRV_MONEY_MAX)
        return bad(c, "min_total_cents", "min_total_cents must be in 0..100000000000, got %lld",
                   (long long)r->min_total_cents);
    if (srv_check_time(c, "valid_from_ms", r->valid_from_ms) ||
        srv_check_time(c, "valid_until_ms", r->valid_until_ms))
        return c->code;
    if (r->valid_until_ms != 0 && r->valid_until_ms <= r->valid_from_ms) {
        char from[SRV_TIME_LEN], until[SRV_TIME_LEN];
        srv_fmt_time(r->valid_from_ms, from);
        srv_fmt_time(r->valid_until_ms, until);
        c->field = "valid_until_ms";
        return srv_fail(c, SRV_E_INVALID, "valid_until %s is not after valid_from %s", until, from);
    }
    return check_scope(c, t, r);
}

static int
create_coupon(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CreateCouponRequest *r = (const void *)c->req;
    char code[BH_COUPON_CODE_MAX + 1];
    Bilheteria__V1__Coupon *k = NULL;
    if (srv_coupon_code(c, "code", r->code, code) || check_coupon(c, t, r))
        return c->code;
    int rc = store_coupon_get(t, code, &c->arena->pc, &k);
    if (rc == STORE_OK)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__ALREADY_EXISTS,
                        "coupon %s already exists (codes are case-insensitive)", code);
    if (rc != STORE_NOTFOUND)
        return srv_store_fail(c, rc, "coupon");
    Bilheteria__V1__CreateCouponResponse *resp =
        SRV_NEW(c, Bilheteria__V1__CreateCouponResponse, bilheteria__v1__create_coupon_response);
    k = SRV_NEW(c, Bilheteria__V1__Coupon, bilheteria__v1__coupon);
    char *kc = bh__arena_strdup(c->arena, code);
    if (resp == NULL || k == NULL || kc == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    k->code = kc;
    k->percent = r->percent;
    k->amount_cents = r->amount_cents;
    k->applies_to = r->applies_to != TO(UNSPECIFIED) ? r->applies_to
                    : r->product_id != 0             ? TO(PRODUCTS)
                                                     : TO(TICKETS);
    k->event_id = r->event_id;
    k->session_id = r->session_id;
    k->product_id = r->product_id;
    k->valid_from_ms = r->valid_from_ms;
    k->valid_until_ms = r->valid_until_ms;
    k->max_uses = r->max_uses;
    k->max_uses_per_user = r->max_uses_per_user;
    k->min_total_cents = r->min_total_cents;
    k->include_meia = r->include_meia;
    k->active = 1;
    k->created_at_ms = c->now_ms;
    if ((rc = store_coupon_put(t, k)) != STORE_OK)
        return srv_store_fail(c, rc, "coupon");
    resp->coupon = k;
    c->resp = &resp->base;
    return 0;
}

/* The coupon named by the request's code field, or NOT_FOUND. */
static int
find_coupon(srv_call *c, store_txn *t, const char *in, Bilheteria__V1__Coupon **out)
{
    char code[BH_COUPON_CODE_MAX + 1];
    if (srv_coupon_code(c, "code", in, code))
        return c->code;
    int rc = store_coupon_get(t, code, &c->arena->pc, out);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "coupon %s does not exist", code);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "coupon");
    return 0;
}

static int
get_coupon(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__GetCouponRequest *r = (const void *)c->req;
    Bilheteria__V1__GetCouponResponse *resp =
        SRV_NEW(c, Bilheteria__V1__GetCouponResponse, bilheteria__v1__get_coupon_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (find_coupon(c, t, r->code, &resp->coupon))
        return c->code;
    c->resp = &resp->base;
    return 0;
}

static int
list_coupons(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ListCouponsRequest *r = (const void *)c->req;
    char after[BH_COUPON_CODE_MAX + 1] = "";
    size_t limit;
    store_page pg;
    int more;
    /* The page token is the last code of the page before. */
    if (srv_page_size(c, r->page_size, &limit) ||
        (r->page_token[0] != 0 && srv_coupon_code(c, "page_token", r->page_token, after)))
        return c->code;
    Bilheteria__V1__ListCouponsResponse *resp =
        SRV_NEW(c, Bilheteria__V1__ListCouponsResponse, bilheteria__v1__list_coupons_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    int rc = store_coupon_list(t, after, limit, &c->arena->pc, &pg, &more);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "coupons");
    resp->coupons = (Bilheteria__V1__Coupon **)pg.items;
    resp->n_coupons = pg.n;
    if (more && pg.n > 0)
        resp->next_page_token = resp->coupons[pg.n - 1]->code;
    c->resp = &resp->base;
    return 0;
}

static int
deactivate_coupon(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__DeactivateCouponRequest *r = (const void *)c->req;
    Bilheteria__V1__DeactivateCouponResponse *resp = SRV_NEW(
        c, Bilheteria__V1__DeactivateCouponResponse, bilheteria__v1__deactivate_coupon_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (find_coupon(c, t, r->code, &resp->coupon))
        return c->code;
    if (resp->coupon->active) {
        resp->coupon->active = 0;
        int rc = store_coupon_put(t, resp->coupon);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "coupon");
    }
    c->resp = &resp->base;
    return 0;
}

/* ---- automatic rules ---- */

/* Refuses a new active rule past SRV_RULES_ACTIVE_MAX. */
static int
check_room(srv_call *c, store_txn *t)
{
    size_t active = 0;
    uint64_t from = 1;
    while (from != 0) {
        store_page pg;
        int rc = store_rule_list(t, from, 128, &c->arena->pc, &pg);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "discount rules");
        for (size_t i = 0; i < pg.n; i++)
            active += ((Bilheteria__V1__DiscountRule *)pg.items[i])->active;
        from = pg.next_id;
    }
    if (active >= SRV_RULES_ACTIVE_MAX)
        return srv_fail(c, SRV_E_PRECOND,
                        "%zu discount rules are active, the most there may be; deactivate one "
                        "first",
                        active);
    return 0;
}

/* Stores rule (kind and its own fields set) with a new id and answers it in
 * resp's field 1. */
static int
add_rule(srv_call *c, store_txn *t, Bilheteria__V1__DiscountRule *rule, ProtobufCMessage *resp,
         Bilheteria__V1__DiscountRule **slot)
{
    int rc;
    if (check_room(c, t))
        return c->code;
    if ((rc = store_next_id(t, STORE_SEQ_RULE, &rule->id)) != STORE_OK)
        return srv_store_fail(c, rc, "rule id");
    rule->active = 1;
    rule->created_at_ms = c->now_ms;
    if ((rc = store_rule_put(t, rule)) != STORE_OK)
        return srv_store_fail(c, rc, "rule");
    *slot = rule;
    c->resp = resp;
    return 0;
}

static int
create_combo_rule(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CreateComboRuleRequest *r = (const void *)c->req;
    int64_t full = 0;
    if (srv_check_str(c, "name", r->name, 100, 1))
        return c->code;
    if (r->n_items == 0 || r->n_items > BH_COMBO_ITEMS_MAX)
        return bad(c, "items", "a combo lists 1..8 products, got %lld", (long long)r->n_items);
    for (size_t i = 0; i < r->n_items; i++) {
        const Bilheteria__V1__ComboItem *it = r->items[i];
        Bilheteria__V1__Product *p = NULL;
        if (it->quantity <= 0 || it->quantity > BH_ITEM_QUANTITY_MAX) {
            c->field = "items.quantity";
            return srv_fail(c, SRV_E_INVALID, "items[%zu].quantity must be in 1..%d, got %d", i,
                            BH_ITEM_QUANTITY_MAX, it->quantity);
        }
        for (size_t j = 0; j < i; j++)
            if (r->items[j]->product_id == it->product_id)
                return srv_fail(c, SRV_E_INVALID, "product %llu is listed twice in items",
                                (unsigned long long)it->product_id);
        int rc = store_product_get(t, it->product_id, &c->arena->pc, &p);
        if (rc == STORE_NOTFOUND)
            return srv_fail(c, SRV_E_NOTFOUND, "product %llu does not exist",
                            (unsigned long long)it->product_id);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "product");
        full += p->price_cents * it->quantity;
    }
    if (r->price_cents < 0 || r->price_cents >= full) {
        c->field = "price_cents";
        return srv_fail(c, SRV_E_INVALID,
                        "price_cents must be in 0..%lld (below the items' %lld cents together), "
                        "got %lld",
                        (long long)(full - 1), (long long)full, (long long)r->price_cents);
    }
    Bilheteria__V1__CreateComboRuleResponse *resp = SRV_NEW(
        c, Bilheteria__V1__CreateComboRuleResponse, bilheteria__v1__create_combo_rule_response);
    Bilheteria__V1__DiscountRule *rule =
        SRV_NEW(c, Bilheteria__V1__DiscountRule, bilheteria__v1__discount_rule);
    if (resp == NULL || rule == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    rule->kind = RULE(COMBO);
    rule->name = r->name;
    rule->items = r->items;
    rule->n_items = r->n_items;
    rule->price_cents = r->price_cents;
    return add_rule(c, t, rule, &resp->base, &resp->rule);
}

static int
create_quantity_rule(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CreateQuantityRuleRequest *r = (const void *)c->req;
    if (srv_check_str(c, "name", r->name, 100, 0))
        return c->code;
    if (r->min_tickets < 1 || r->min_tickets > BH_RESERVATION_SEATS_MAX)
        return bad(c, "min_tickets", "min_tickets must be in 1..1000, got %lld",
                   (long long)r->min_tickets);
    if (r->percent < 1 || r->percent > 100)
        return bad(c, "percent", "percent must be in 1..100, got %lld", (long long)r->percent);
    Bilheteria__V1__CreateQuantityRuleResponse *resp =
        SRV_NEW(c, Bilheteria__V1__CreateQuantityRuleResponse,
                bilheteria__v1__create_quantity_rule_response);
    Bilheteria__V1__DiscountRule *rule =
        SRV_NEW(c, Bilheteria__V1__DiscountRule, bilheteria__v1__discount_rule);
    if (resp == NULL || rule == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    rule->kind = RULE(QUANTITY);
    rule->name = r->name;
    rule->min_tickets = r->min_tickets;
    rule->percent = r->percent;
    return add_rule(c, t, rule, &resp->base, &resp->rule);
}

static int
list_rules(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ListRulesRequest *r = (const void *)c->req;
    size_t limit;
    uint64_t from;
    store_page pg;
    if (srv_page_size(c, r->page_size, &limit) ||
        srv_page_token_parse(c, 'd', r->page_token, &from))
        return c->code;
    Bilheteria__V1__ListRulesResponse *resp =
        SRV_NEW(c, Bilheteria__V1__ListRulesResponse, bilheteria__v1__list_rules_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    int rc = store_rule_list(t, from, limit, &c->arena->pc, &pg);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "discount rules");
    resp->rules = (Bilheteria__V1__DiscountRule **)pg.items;
    resp->n_rules = pg.n;
    srv_page_token(c, 'd', pg.next_id, &resp->next_page_token);
    c->resp = &resp->base;
    return 0;
}

static int
deactivate_rule(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__DeactivateRuleRequest *r = (const void *)c->req;
    Bilheteria__V1__DeactivateRuleResponse *resp = SRV_NEW(
        c, Bilheteria__V1__DeactivateRuleResponse, bilheteria__v1__deactivate_rule_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (r->id == 0) {
        c->field = "id";
        return srv_fail(c, SRV_E_INVALID, "id is required");
    }
    int rc = store_rule_get(t, r->id, &c->arena->pc, &resp->rule);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "discount rule %llu does not exist",
                        (unsigned long long)r->id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "rule");
    if (resp->rule->active) {
        resp->rule->active = 0;
        if ((rc = store_rule_put(t, resp->rule)) != STORE_OK)
            return srv_store_fail(c, rc, "rule");
    }
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_coupon_impls[] = {
    { .method = BH_METHOD_NAME_COUPON_CREATE_COUPON, .fn = create_coupon },
    { .method = BH_METHOD_NAME_COUPON_GET_COUPON, .fn = get_coupon },
    { .method = BH_METHOD_NAME_COUPON_LIST_COUPONS, .fn = list_coupons },
    { .method = BH_METHOD_NAME_COUPON_DEACTIVATE_COUPON, .fn = deactivate_coupon },
    { .method = BH_METHOD_NAME_COUPON_CREATE_COMBO_RULE, .fn = create_combo_rule },
    { .method = BH_METHOD_NAME_COUPON_CREATE_QUANTITY_RULE, .fn = create_quantity_rule },
    { .method = BH_METHOD_NAME_COUPON_LIST_RULES, .fn = list_rules },
    { .method = BH_METHOD_NAME_COUPON_DEACTIVATE_RULE, .fn = deactivate_rule },
    { .method = NULL },
};
