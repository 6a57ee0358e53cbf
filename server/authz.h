/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Access control: who may call a method, and whose records a caller may
 * see (authz.c). Credentials themselves (tokens, JWTs) are auth.h's.
 *
 * Which roles may call a method is declared once, in its rpc's option
 * (bilheteria.v1.method) roles, and reaches srv_method.roles through the
 * generated map. srv_authz_call enforces it when a request is decoded,
 * before any handler runs. What a customer may touch within a method it
 * may call (its own reservations and payments only) is the handlers' to
 * ask, through the helpers below.
 *
 * Open mode: with no credentials configured (srv_config.auth NULL or not
 * enabled) every caller is admin, tokens are not looked at and all share
 * one idempotency scope, as before access control existed. The server
 * then serves loopback and ipc:// only, unless --insecure
 * (srv_authz_url_open_ok).
 */
#ifndef BH_AUTHZ_H
#define BH_AUTHZ_H

#include "call.h"
#include "store.h"

/*
 * Resolves token (NUL-terminated, "" for none) into c->identity and
 * checks that its role may call c->m. Returns 0, or the code it set with
 * srv_fail:
 *   UNAUTHENTICATED    a token that is not a known service token or a
 *                      valid JWT (even for a method anyone may call), or
 *                      no token for a method that needs one;
 *   PERMISSION_DENIED  a known caller whose role the method does not
 *                      list; the message names the role and the method.
 * An anonymous caller may call methods listing "anonymous", and those
 * listing "public" when srv_config.public_reads is set.
 */
int srv_authz_call(srv_call *c, const char *token);

/* 1 if the caller may see or act on the records of user_id: admin,
 * service and open mode on anyone's, a customer on its own only. */
int srv_authz_owns(const srv_call *c, const char *user_id);

/*
 * The user a Create/ListReservations call acts for, from the request's
 * user_id: a customer's own id when it names none or itself, PERMISSION_DENIED
 * when it names another user; anyone else's request as it is. Returns 0
 * with *out set (borrowed from c or the request), or the code it set.
 */
int srv_authz_user(srv_call *c, const char *requested, const char **out);

/*
 * Reservation id as the caller may see it: INVALID_ARGUMENT for id 0,
 * NOT_FOUND "reservation N does not exist" when there is none or it is
 * another user's (a customer is not told it exists), else 0 with *out in
 * c's arena. A store failure sets its code (srv_store_fail).
 */
int srv_authz_resv_get(srv_call *c, store_txn *t, const char *field, uint64_t id,
                       Bilheteria__V1__Reservation **out);

/* 1 if open mode may listen on url: ipc:// and inproc://, loopback hosts
 * (127.0.0.0/8, ::1, localhost) of the network schemes, and schemes nng
 * does not serve (the listener refuses those itself, naming them). */
int srv_authz_url_open_ok(const char *url);

#endif
