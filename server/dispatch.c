/* SPDX-License-Identifier: Apache-2.0 */
/* The method registry: built once at start from the protoc-c service
 * descriptors (bh_services), each method's rules from the .proto
 * (bh_find_method_rules) and the handler files' tables, sorted by full name
 * for binary search. A method with no handler answers UNIMPLEMENTED. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dispatch.h"
#include "util.h"

#define REGISTRY_MAX 160

static srv_method registry[REGISTRY_MAX];
static size_t registry_n;
static int64_t started_ms;

int64_t
srv_started_ms(void)
{
    return started_ms;
}

static const srv_impl *const impl_tables[] = {
    srv_event_impls,
    srv_session_impls,
    srv_product_impls,
    srv_health_impls,
    srv_reservation_impls,
    srv_payment_impls,
    srv_admin_impls,
    srv_stats_impls,
    srv_coupon_impls,
    srv_waitlist_impls,
    srv_feed_impls,
    srv_report_impls,
    NULL,
};

/* The generated method ids (enum bh_method_id), by full name. */
#define SRV_METHOD_NAME(id, full, ...) full,
static const char *const method_names[] = { BH_METHOD_MAP(SRV_METHOD_NAME) };
#undef SRV_METHOD_NAME

static int
method_id(const char *name)
{
    int i = 0;
    while (i < BH_METHOD_COUNT && strcmp(method_names[i], name) != 0)
        i++;
    return i; /* BH_METHOD_COUNT: not in the map */
}

static const srv_impl *
find_impl(const char *name)
{
    for (size_t t = 0; impl_tables[t] != NULL; t++)
        for (const srv_impl *i = impl_tables[t]; i->method != NULL; i++)
            if (strcmp(i->method, name) == 0)
                return i;
    return NULL;
}

static int
cmp_method(const void *a, const void *b)
{
    return strcmp(((const srv_method *)a)->name, ((const srv_method *)b)->name);
}

int
srv_registry_init(void)
{
    registry_n = 0;
    started_ms = srv_mono_ms();
    for (size_t s = 0; bh_services[s] != NULL; s++) {
        const ProtobufCServiceDescriptor *sd = bh_services[s];
        for (unsigned i = 0; i < sd->n_methods; i++) {
            if (registry_n == REGISTRY_MAX)
                return -1;
            srv_method *m = &registry[registry_n++];
            if (bh_method_full_name(sd, &sd->methods[i], m->name, sizeof(m->name)) < 0)
                return -1;
            const bh_method_rules *r = bh_find_method_rules(m->name);
            if (r == NULL)
                return -1;
            m->id = method_id(m->name);
            m->desc = &sd->methods[i];
            m->impl = find_impl(m->name);
            m->kind = r->writes ? SRV_WRITE : SRV_READ;
            if (m->impl != NULL && m->impl->alone != NULL) {
                if (r->writes)
                    return -1; /* only the writer writes */
                m->kind = SRV_ALONE;
            }
            m->idem_required = r->idempotency_key_required;
            m->roles = r->roles;
        }
    }
    qsort(registry, registry_n, sizeof(registry[0]), cmp_method);
    return 0;
}

const srv_method *
srv_registry_find(const char *full_name)
{
    srv_method key;
    if (strlen(full_name) >= sizeof(key.name))
        return NULL;
    snprintf(key.name, sizeof(key.name), "%s", full_name);
    return bsearch(&key, registry, registry_n, sizeof(registry[0]), cmp_method);
}

size_t
srv_registry_count(void)
{
    return registry_n;
}

const srv_method *
srv_registry_at(size_t i)
{
    return i < registry_n ? &registry[i] : NULL;
}

void
srv_dispatch_read(srv_call *c, store_txn *t)
{
    if (c->m->kind == SRV_ALONE) {
        /* Not in a read transaction on this thread: listen.c gives it one
         * of its own. */
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INTERNAL,
                 "%s runs on a thread of its own, not on the read path", c->m->name);
        return;
    }
    int rc = store_read_renew(t);
    if (rc != STORE_OK) {
        srv_store_fail(c, rc, "read transaction");
        return;
    }
    c->now_ms = srv_now_ms();
    c->code = c->m->impl->fn(c, t);
    if (c->code == SRV_STATUS_MAP_FULL) /* not from a read, but never on the wire */
        c->code = BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED;
    store_read_reset(t);
}
