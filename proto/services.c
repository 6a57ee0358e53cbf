#include <stdio.h>
#include <string.h>

#include "bilheteria/services.h"

const ProtobufCServiceDescriptor *const bh_services[] = {
    &bilheteria__v1__event_service__descriptor,
    &bilheteria__v1__session_service__descriptor,
    &bilheteria__v1__product_service__descriptor,
    &bilheteria__v1__reservation_service__descriptor,
    &bilheteria__v1__payment_service__descriptor,
    &bilheteria__v1__health_service__descriptor,
    NULL,
};

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
