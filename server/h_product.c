/* SPDX-License-Identifier: Apache-2.0 */
/* ProductService: add-ons sold with tickets. */
#include "bilheteria/v1/rpc.pb-c.h"
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

const srv_impl srv_product_impls[] = {
    { .method = BH_METHOD_NAME_PRODUCT_CREATE_PRODUCT, .fn = create_product },
    { .method = BH_METHOD_NAME_PRODUCT_LIST_PRODUCTS, .fn = list_products },
    { .method = NULL },
};
