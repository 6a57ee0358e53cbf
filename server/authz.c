/* SPDX-License-Identifier: Apache-2.0 */
/* Access control: the roles of the method map enforced on each call, and a
 * customer kept to its own records. The contract is in authz.h. */
#include "authz.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "bilheteria/roles.h"
#include "clock.h"
#include "util.h"

/* A caller's role is bit 1 << role of a method's roles (roles.h; auth.c
 * checks that the two lists agree). */

static int
open_mode(const srv_call *c)
{
    return c->cfg == NULL || c->cfg->auth == NULL || !srv_auth_enabled(c->cfg->auth);
}

int
srv_authz_call(srv_call *c, const char *token)
{
    srv_identity *id = &c->identity;
    unsigned roles = c->m->roles;
    char allowed[96], why[SRV_MSG_MAX];

    memset(id, 0, sizeof(*id));
    if (open_mode(c)) {
        id->role = SRV_ROLE_ADMIN;
        return 0;
    }
    if (token[0] != 0 &&
        srv_auth_check(c->cfg->auth, token, srv_now_ms(), id, why, sizeof(why)) != 0)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAUTHENTICATED, "%s", why);
    if (roles & (1u << id->role))
        return 0;
    if (id->role == SRV_ROLE_ANONYMOUS && c->cfg->public_reads && (roles & BH_ROLE_PUBLIC))
        return 0;
    bh_roles_format(roles, allowed, sizeof(allowed));
    if (id->role == SRV_ROLE_ANONYMOUS)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAUTHENTICATED,
                        "%s needs credentials (a service token or a JWT; it is for %s)", c->m->name,
                        allowed);
    return srv_fail(c, BILHETERIA__V1__STATUS_CODE__PERMISSION_DENIED,
                    "role %s may not call %s (it is for %s)", srv_role_name(id->role), c->m->name,
                    allowed);
}

int
srv_authz_owns(const srv_call *c, const char *user_id)
{
    return c->identity.role != SRV_ROLE_CUSTOMER || strcmp(c->identity.user_id, user_id) == 0;
}

int
srv_authz_user(srv_call *c, const char *requested, const char **out)
{
    if (c->identity.role != SRV_ROLE_CUSTOMER) {
        *out = requested;
        return 0;
    }
    if (requested[0] != 0 && strcmp(requested, c->identity.user_id) != 0)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__PERMISSION_DENIED,
                        "user_id \"%.*s\" is not yours: a customer acts only as itself (leave "
                        "user_id empty, or give \"%s\")",
                        BH_USER_ID_MAX, requested, c->identity.user_id);
    *out = c->identity.user_id;
    return 0;
}

int
srv_authz_resv_get(srv_call *c, store_txn *t, const char *field, uint64_t id,
                   Bilheteria__V1__Reservation **out)
{
    Bilheteria__V1__Reservation *r = NULL;
    if (id == 0)
        return srv_fail(c, SRV_E_INVALID, "%s is required", field);
    int rc = store_resv_get(t, id, &c->arena->pc, &r);
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return srv_store_fail(c, rc, "reservation");
    /* Another user's reservation answers as one that does not exist, word
     * for word: a customer learns nothing of who holds what. */
    if (rc == STORE_NOTFOUND || !srv_authz_owns(c, r->user_id))
        return srv_fail(c, SRV_E_NOTFOUND, "reservation %llu does not exist",
                        (unsigned long long)id);
    *out = r;
    return 0;
}

/* The host of scheme://host:port (brackets kept off an IPv6 one). */
static int
url_host(const char *rest, char *host, size_t len)
{
    const char *end;
    if (rest[0] == '[') {
        end = strchr(rest, ']');
        if (end == NULL)
            return -1;
        rest++;
    } else {
        end = strrchr(rest, ':');
        if (end == NULL)
            end = rest + strlen(rest);
    }
    if ((size_t)(end - rest) >= len)
        return -1;
    memcpy(host, rest, (size_t)(end - rest));
    host[end - rest] = 0;
    return 0;
}

/* 127.0.0.0/8 written as a dotted quad, ::1, or localhost. */
static int
host_loopback(const char *h)
{
    unsigned a, b, c, d;
    char tail;
    if (strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0)
        return 1;
    return sscanf(h, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

int
srv_authz_url_open_ok(const char *url)
{
    static const char *const local[] = { "ipc", "inproc", "abstract" };
    static const char *const net[] = { "tcp",      "tcp4", "tcp6", "tls+tcp", "tls+tcp4",
                                       "tls+tcp6", "ws",   "ws4",  "ws6",     "wss",
                                       "wss4",     "wss6", "zt",   "udp" };
    const char *sep = strstr(url, "://");
    char host[256];
    if (sep == NULL)
        return 1; /* not a URL: the listener says so */
    size_t n = (size_t)(sep - url);
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if (strlen(local[i]) == n && memcmp(url, local[i], n) == 0)
            return 1;
    for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++)
        if (strlen(net[i]) == n && memcmp(url, net[i], n) == 0)
            return url_host(sep + 3, host, sizeof(host)) == 0 && host_loopback(host);
    return 1;
}
