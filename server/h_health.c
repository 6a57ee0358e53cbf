/* SPDX-License-Identifier: Apache-2.0 */
/* HealthService, with grpc.health.v1's semantics: SERVING, or NOT_SERVING
 * while the server drains after SIGTERM and once a disk error has stopped
 * the writes; a service name it does not have is NOT_FOUND. Every service
 * shares the server's state, so each one's status is the server's. Anyone
 * may ask; the counters are for admins (everyone, in open mode). */
#include <stdatomic.h>
#include <string.h>

#include "util.h"

/* "" (the whole server) or one of bh_services' full names. */
static int
known_service(const char *name)
{
    if (name[0] == '\0')
        return 1;
    for (size_t i = 0; bh_services[i] != NULL; i++)
        if (strcmp(bh_services[i]->name, name) == 0)
            return 1;
    return 0;
}

static int
check(srv_call *c, store_txn *t)
{
    (void)t;
    const Bilheteria__V1__CheckRequest *rq = (const Bilheteria__V1__CheckRequest *)c->req;
    int rc = srv_check_str(c, "service", rq->service, BH_METHOD_NAME_MAX - 1, 0);
    if (rc != 0)
        return rc;
    if (!known_service(rq->service))
        return srv_fail(c, SRV_E_NOTFOUND, "service \"%s\" is not served here", rq->service);
    Bilheteria__V1__CheckResponse *resp =
        SRV_NEW(c, Bilheteria__V1__CheckResponse, bilheteria__v1__check_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    srv_health h;
    c->env->health(c->env->health_arg, &h);
    int draining = c->env->draining != NULL && atomic_load(c->env->draining);
    resp->status = h.broken || draining ? BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING
                                        : BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING;
    resp->version = BH_VERSION;
    c->resp = &resp->base;
    if (c->identity.role != SRV_ROLE_ADMIN)
        return 0;
    resp->now_ms = c->now_ms;
    resp->uptime_ms = c->env->mono_ms() - c->env->started_ms;
    resp->schema_version = STORE_SCHEMA_VERSION;
    resp->writes = h.writes;
    resp->commits = h.commits;
    return 0;
}

const srv_impl srv_health_impls[] = {
    { .method = BH_METHOD_NAME_HEALTH_CHECK, .fn = check },
    { .method = NULL },
};
