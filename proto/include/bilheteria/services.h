/*
 * The list of Bilheteria's v1 services, as protoc-c service descriptors.
 * The server builds its method registry from it, the client code generator
 * emits one typed function per method from it, and the CLI's `call` command
 * resolves method names with it. Adding a service means adding it here.
 */
#ifndef BILHETERIA_SERVICES_H
#define BILHETERIA_SERVICES_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "bilheteria/v1/event.pb-c.h"
#include "bilheteria/v1/health.pb-c.h"
#include "bilheteria/v1/payment.pb-c.h"
#include "bilheteria/v1/product.pb-c.h"
#include "bilheteria/v1/reservation.pb-c.h"
#include "bilheteria/v1/rpc.pb-c.h"
#include "bilheteria/v1/session.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NULL-terminated; static storage. */
extern const ProtobufCServiceDescriptor *const bh_services[];

/* Longest full method name ("pkg.Service/Method"), including the NUL. */
#define BH_METHOD_NAME_MAX 128

/*
 * Finds a method by full name ("bilheteria.v1.EventService/CreateEvent").
 * Returns the method descriptor and, if svc is not NULL, its service in
 * *svc; NULL if there is no such method. Thread-safe; no allocation.
 */
const ProtobufCMethodDescriptor *bh_find_method(const char *full_name,
                                                const ProtobufCServiceDescriptor **svc);

/*
 * Writes "pkg.Service/Method" into buf (size bytes). Returns the length,
 * or -1 if it does not fit.
 */
int bh_method_full_name(const ProtobufCServiceDescriptor *svc, const ProtobufCMethodDescriptor *m,
                        char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
