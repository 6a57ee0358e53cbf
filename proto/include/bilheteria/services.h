/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The list of Bilheteria's v1 services, as protoc-c service descriptors,
 * and each method's rules. The server builds its method registry from them
 * and the CLI's `call` command resolves method names with them. Adding a
 * service means adding it here (and its file to BH_PROTOS in
 * proto/CMakeLists.txt, from which tools/gen/bh_gen writes the rules and
 * the typed client API).
 */
#ifndef BILHETERIA_SERVICES_H
#define BILHETERIA_SERVICES_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "bilheteria/bh_services_gen.h" /* every service's protoc-c header */
#include "bilheteria/v1/rpc.pb-c.h"     /* the envelope and StatusCode, in no service */

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

/*
 * What a method may do and what a call to it must carry, as its rpc says
 * in the .proto with option (bilheteria.v1.method)
 * (proto/bilheteria/v1/method_rules.proto). The server decides reads and
 * writes, refuses keyless calls and refuses callers by these; a client can
 * use them to know when to send an idempotency key.
 */
typedef struct bh_method_rules {
    const char *name;             /* "bilheteria.v1.PaymentService/ConfirmPayment" */
    int writes;                   /* changes the store; a key sent with it is kept */
    int idempotency_key_required; /* a call without a key is refused */
    unsigned roles;               /* who may call it: BH_ROLE_* bits (bilheteria/roles.h) */
} bh_method_rules;

/*
 * The rules of the method with this full name, or NULL if there is no such
 * method. Static storage; thread-safe; no allocation.
 */
const bh_method_rules *bh_find_method_rules(const char *full_name);

/*
 * The name of enum value v without the prefix all the enum's names share
 * ("PENDING" for RESERVATION_STATUS_PENDING), or NULL if ed has no such
 * value. Static storage; thread-safe.
 */
const char *bh_enum_name(const ProtobufCEnumDescriptor *ed, int v);

/*
 * Writes the names of the roles in mask (bits of bilheteria/roles.h, as in
 * bh_method_rules.roles), in roles.h's order and separated by ", ", into
 * buf (size bytes; cut there if it does not fit); "" for none. Returns buf.
 */
char *bh_roles_format(unsigned mask, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
