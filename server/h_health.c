/* HealthService: liveness/readiness. Serving means the store answered a
 * read transaction and no disk error has stopped the writes. */
#include "bilheteria/v1/rpc.pb-c.h"
#include "srv.h"

static int
check(srv_call *c, store_txn *t)
{
    (void)t;
    Bilheteria__V1__CheckResponse *resp =
        SRV_NEW(c, Bilheteria__V1__CheckResponse, bilheteria__v1__check_response);
    if (resp == NULL)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    resp->status = srv_writer_broken() ? BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING
                                       : BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING;
    resp->version = SRV_VERSION;
    resp->now_ms = c->now_ms;
    resp->uptime_ms = srv_mono_ms() - srv_started_ms();
    resp->schema_version = STORE_SCHEMA_VERSION;
    srv_writer_stats(&resp->writes, &resp->commits);
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_health_impls[] = {
    { .method = BH_METHOD_NAME_HEALTH_CHECK, .fn = check },
    { .method = NULL },
};
