/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who may call a method: the role names an rpc's option
 * (bilheteria.v1.method) lists in `roles`, one list. tools/gen/bh_gen
 * refuses any other name at build time and writes each method's roles as a
 * mask of the bits below (bh_method_rules.roles).
 *
 *   X(ID, "name", bit)
 *
 * anonymous, customer, service and admin are who the caller is (the
 * server's srv_role, in this order: bit == 1u << srv_role). public is not
 * a caller: it means "anonymous too, when the server runs with
 * --public-reads" (the catalog and the seat maps).
 */
#ifndef BILHETERIA_ROLES_H
#define BILHETERIA_ROLES_H

#define BH_ROLE_MAP(X)                                                                             \
    X(ANONYMOUS, "anonymous", 0)                                                                   \
    X(CUSTOMER, "customer", 1)                                                                     \
    X(SERVICE, "service", 2)                                                                       \
    X(ADMIN, "admin", 3)                                                                           \
    X(PUBLIC, "public", 4)

#define BH__ROLE_BIT(id, name, bit) BH_ROLE_##id = 1u << (bit),
enum bh_role_bit { BH_ROLE_MAP(BH__ROLE_BIT) };
#undef BH__ROLE_BIT

#endif
