/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "bilheteria/services.h"
#include "bilheteria/bh_methods.h"
#include "bilheteria/roles.h"

/* Written by bh_gen from every service in the .proto files. */
#define BH__SERVICE(prefix) &prefix##__descriptor,
const ProtobufCServiceDescriptor *const bh_services[] = { BH_SERVICE_MAP(BH__SERVICE) NULL };
#undef BH__SERVICE

const ProtobufCMethodDescriptor *
bh_find_method(const char *full_name, const ProtobufCServiceDescriptor **svc)
{
    const char *slash = strchr(full_name, '/');
    if (slash == NULL)
        return NULL;
    size_t slen = (size_t)(slash - full_name);
    for (size_t i = 0; bh_services[i] != NULL; i++) {
        const ProtobufCServiceDescriptor *s = bh_services[i];
        if (strlen(s->name) != slen || memcmp(s->name, full_name, slen) != 0)
            continue;
        const ProtobufCMethodDescriptor *m =
            protobuf_c_service_descriptor_get_method_by_name(s, slash + 1);
        if (m != NULL && svc != NULL)
            *svc = s;
        return m;
    }
    return NULL;
}

int
bh_method_full_name(const ProtobufCServiceDescriptor *svc, const ProtobufCMethodDescriptor *m,
                    char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", svc->name, m->name);
    if (n < 0 || (size_t)n >= size)
        return -1;
    return n;
}

/* Written by bh_gen from each rpc's option (bilheteria.v1.method). */
#define BH__RULES(id, full, fn, req, resp, w, k)                                                   \
    [BH_METHOD_##id] = { .name = (full),                                                           \
                         .writes = (w),                                                            \
                         .idempotency_key_required = (k),                                          \
                         .roles = BH_METHOD_ROLES_##id },
static const bh_method_rules bh__rules[BH_METHOD_COUNT] = { BH_METHOD_MAP(BH__RULES) };
#undef BH__RULES

const bh_method_rules *
bh_find_method_rules(const char *full_name)
{
    for (size_t i = 0; i < BH_METHOD_COUNT; i++)
        if (strcmp(bh__rules[i].name, full_name) == 0)
            return &bh__rules[i];
    return NULL;
}

const char *
bh_enum_name(const ProtobufCEnumDescriptor *ed, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
    size_t prefix = 0;

    if (ev == NULL)
        return NULL;
    if (ed->n_values > 1) {
        const char *first = ed->values[0].name;

        prefix = strlen(first);
        for (unsigned i = 1; i < ed->n_values; i++) {
            size_t k = 0;

            while (k < prefix && first[k] == ed->values[i].name[k])
                k++;
            prefix = k;
        }
        /* Back to a '_': names whose first words start alike (HELD, HALF)
         * keep those words whole. */
        while (prefix > 0 && first[prefix - 1] != '_')
            prefix--;
    }
    return ev->name + prefix;
}

char *
bh_roles_format(unsigned mask, char *buf, size_t size)
{
    static const struct {
        unsigned bit;
        const char *name;
    } roles[] = {
#define BH__ROLE_NAME(id, name, bit) { BH_ROLE_##id, name },
        BH_ROLE_MAP(BH__ROLE_NAME)
#undef BH__ROLE_NAME
    };
    size_t o = 0;
    if (size == 0)
        return buf;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (!(mask & roles[i].bit))
            continue;
        int n = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", roles[i].name);
        if (n < 0 || (size_t)n >= size - o)
            break;
        o += (size_t)n;
    }
    return buf;
}
