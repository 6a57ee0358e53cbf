/* SPDX-License-Identifier: Apache-2.0 */
/* ProductService: add-ons sold with tickets. */
#include "bilheteria/v1/rpc.pb-c.h"
#include "resv.h"
#include "util.h"

static int
create_product(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CreateProductRequest *r = (const void *)c->req;
    int rc;
    if (srv_check_str(c, "name", r->name, 200, 1))
        return c->code;
    if (r->price_cents < 0 || r->price_cents > 100000000)
        return srv_fail(c, SRV_E_INVALID, "price_cents must be in 0..100000000, got %lld",
                        (long long)r->price_cents);
    if (r->stock < 0 || r->stock > 1000000000)
        return srv_fail(c, SRV_E_INVALID, "stock must be 0 (unlimited) or 1..1000000000, got %lld",
                        (long long)r->stock);
    Bilheteria__V1__Product *p = SRV_NEW(c, Bilheteria__V1__Product, bilheteria__v1__product);
    Bilheteria__V1__CreateProductResponse *resp =
        SRV_NEW(c, Bilheteria__V1__CreateProductResponse, bilheteria__v1__create_product_response);
    if (p == NULL || resp == NULL)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    if ((rc = store_next_id(t, STORE_SEQ_PRODUCT, &p->id)) != STORE_OK)
        return srv_store_fail(c, rc, "product id");
    p->name = r->name;
    p->price_cents = r->price_cents;
    p->stock_tracked = r->stock > 0;
    p->stock = r->stock;
    p->created_at_ms = c->now_ms;
    p->active = 1;
    if ((rc = store_product_put(t, p)) != STORE_OK)
        return srv_store_fail(c, rc, "product");
    resp->product = p;
    c->resp = &resp->base;
    return 0;
}

static int
list_products(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ListProductsRequest *r = (const void *)c->req;
    size_t limit;
    uint64_t from;
    store_page pg;
    if (srv_page_size(c, r->page_size, &limit) ||
        srv_page_token_parse(c, 'p', r->page_token, &from))
        return c->code;
    Bilheteria__V1__ListProductsResponse *resp =
        SRV_NEW(c, Bilheteria__V1__ListProductsResponse, bilheteria__v1__list_products_response);
    if (resp == NULL)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    int rc = store_product_list(t, from, limit, &c->arena->pc, &pg);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "products");
    resp->products = (Bilheteria__V1__Product **)pg.items;
    resp->n_products = pg.n;
    srv_page_token(c, 'p', pg.next_id, &resp->next_page_token);
    c->resp = &resp->base;
    return 0;
}

#define STOCK_MOVE_MAX 1000000000

static int
check_update(srv_call *c, const Bilheteria__V1__UpdateProductRequest *r)
{
    if (r->id == 0) {
        c->field = "id";
        return srv_fail(c, SRV_E_INVALID, "id is required");
    }
    if (srv_check_unset(c, !r->set_price && r->price_cents ? "price_cents"
                           : !r->set_active && r->active   ? "active"
                                                           : NULL))
        return c->code;
    if (r->set_price && (r->price_cents < 0 || r->price_cents > 100000000)) {
        c->field = "price_cents";
        return srv_fail(c, SRV_E_INVALID, "price_cents must be in 0..100000000, got %lld",
                        (long long)r->price_cents);
    }
    if (r->stock_add != 0 && r->stock_remove != 0) {
        c->field = "stock_remove";
        return srv_fail(c, SRV_E_INVALID, "give stock_add (%lld) or stock_remove (%lld), not both",
                        (long long)r->stock_add, (long long)r->stock_remove);
    }
    const char *f = r->stock_add < 0 || r->stock_add > STOCK_MOVE_MAX         ? "stock_add"
                    : r->stock_remove < 0 || r->stock_remove > STOCK_MOVE_MAX ? "stock_remove"
                                                                              : NULL;
    if (f != NULL) {
        c->field = f;
        return srv_fail(c, SRV_E_INVALID, "%s must be in 0..%d, got %lld", f, STOCK_MOVE_MAX,
                        (long long)(f[6] == 'a' ? r->stock_add : r->stock_remove));
    }
    return 0;
}

static int
update_product(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__UpdateProductRequest *r = (const void *)c->req;
    Bilheteria__V1__UpdateProductResponse *resp =
        SRV_NEW(c, Bilheteria__V1__UpdateProductResponse, bilheteria__v1__update_product_response);
    Bilheteria__V1__Product *p = NULL;
    if (resp == NULL)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    if (check_update(c, r))
        return c->code;
    int rc = store_product_get(t, r->id, &c->arena->pc, &p);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "product %llu does not exist",
                        (unsigned long long)r->id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "product");
    int64_t move = r->stock_add - r->stock_remove;
    if (move != 0 && !p->stock_tracked)
        return srv_fail(c, SRV_E_PRECOND,
                        "product %llu (%s) has unlimited stock; there is no stock to move",
                        (unsigned long long)p->id, p->name);
    if (p->stock + move < 0)
        return srv_fail(c, SRV_E_PRECOND,
                        "product %llu (%s) has %lld left (units in live holds are already out "
                        "of stock); cannot remove %lld",
                        (unsigned long long)p->id, p->name, (long long)p->stock,
                        (long long)r->stock_remove);
    if (p->stock + move > STOCK_MOVE_MAX)
        return srv_fail(c, SRV_E_PRECOND, "product %llu (%s) would have %lld; at most %d",
                        (unsigned long long)p->id, p->name, (long long)(p->stock + move),
                        STOCK_MOVE_MAX);
    /* A product never updated reads as active: keep it so. */
    p->active = r->set_active ? r->active : srv_product_active(p);
    p->stock += move;
    if (r->set_price)
        p->price_cents = r->price_cents;
    p->updated_at_ms = c->now_ms;
    if ((rc = store_product_put(t, p)) != STORE_OK)
        return srv_store_fail(c, rc, "product");
    resp->product = p;
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_product_impls[] = {
    { .method = BH_METHOD_NAME_PRODUCT_CREATE_PRODUCT, .fn = create_product },
    { .method = BH_METHOD_NAME_PRODUCT_LIST_PRODUCTS, .fn = list_products },
    { .method = BH_METHOD_NAME_PRODUCT_UPDATE_PRODUCT, .fn = update_product },
    { .method = NULL },
};
