/* HealthService: liveness/readiness. Serving means the store answered a
 * read transaction and no disk error has stopped the writes. An anonymous
 * caller (of a server with credentials) gets the status and version only. */
#include "util.h"

static int
check(srv_call *c, store_txn *t)
{
    (void)t;
    Bilheteria__V1__CheckResponse *resp =
        SRV_NEW(c, Bilheteria__V1__CheckResponse, bilheteria__v1__check_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    srv_health h;
    c->env->health(c->env->health_arg, &h);
    resp->status = h.broken ? BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING
                            : BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING;
    resp->version = BH_VERSION;
    c->resp = &resp->base;
    /* Anyone may ask whether the server is up; how busy it is, is for
     * callers with credentials (in open mode everyone is admin). */
    if (c->identity.role == SRV_ROLE_ANONYMOUS)
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
