/* SPDX-License-Identifier: Apache-2.0 */
/* AdminService.Stats: what the server has counted since it started (the
 * metrics registry and the writer's health) and the seats taken now (the
 * store), for `bilheteria top`. Admin only (the .proto's roles). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

/* Sessions named in busiest_sessions. */
#define BUSIEST_MAX 10
/* Sessions read from the store at a time. */
#define SESSION_PAGE 256

typedef struct seat_count {
    uint64_t held, sold;
    int64_t now_ms;
} seat_count;

static int
count_seat(void *arg, uint32_t idx, const store_seat *seat)
{
    (void)idx;
    seat_count *n = arg;
    if (seat->expires_at_ms == 0)
        n->sold++;
    else if (seat->expires_at_ms > n->now_ms)
        n->held++; /* an expired hold is free, swept or not */
    return 0;
}

/* Whether a is busier than b: more seats held, then more sold. */
static int
busier(const Bilheteria__V1__SessionStats *a, const Bilheteria__V1__SessionStats *b)
{
    return a->seats_held != b->seats_held ? a->seats_held > b->seats_held
                                          : a->seats_sold > b->seats_sold;
}

/* Counts every session's seats into resp: the totals and the busiest
 * sessions, kept sorted in top[0..*n). */
static int
scan_sessions(srv_call *c, store_txn *t, Bilheteria__V1__StatsResponse *resp,
              Bilheteria__V1__SessionStats *top, size_t *n)
{
    uint64_t from = 0;
    do {
        store_page pg;
        int rc = store_session_list(t, 0, from, SESSION_PAGE, &c->arena->pc, &pg);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "listing the sessions");
        for (size_t i = 0; i < pg.n; i++) {
            const Bilheteria__V1__Session *s = pg.items[i];
            seat_count sc = { .now_ms = c->now_ms };
            if ((rc = store_seat_scan(t, s->id, count_seat, &sc)) != STORE_OK)
                return srv_store_fail(c, rc, "reading the seats");
            resp->seats_held += sc.held;
            resp->seats_sold += sc.sold;
            Bilheteria__V1__SessionStats one = BILHETERIA__V1__SESSION_STATS__INIT;
            one.session_id = s->id;
            one.seats_held = sc.held;
            one.seats_sold = sc.sold;
            if (sc.held + sc.sold == 0 || (*n == BUSIEST_MAX && !busier(&one, &top[*n - 1])))
                continue;
            size_t j = *n < BUSIEST_MAX ? (*n)++ : *n - 1;
            for (; j > 0 && busier(&one, &top[j - 1]); j--)
                top[j] = top[j - 1];
            top[j] = one;
        }
        from = pg.next_id;
    } while (from != 0);
    return 0;
}

static void *
arena_array(srv_call *c, size_t n, size_t size)
{
    return bh__arena_alloc(c->arena, (n > 0 ? n : 1) * size);
}

/* The registry's per-method and per-code series: the methods and codes
 * seen at least once. */
static int
fill_calls(srv_call *c, Bilheteria__V1__StatsResponse *resp, const srv_metrics_sample *ms)
{
    const uint64_t *bounds = srv_metrics_latency_bounds_us();
    uint64_t codes[SRV_METRICS_NCODE] = { 0 };

    resp->n_latency_bounds_us = SRV_METRICS_NLAT - 1;
    resp->latency_bounds_us = (uint64_t *)bounds; /* static; only packed */
    resp->methods = arena_array(c, SRV_METRICS_NMETHOD, sizeof(*resp->methods));
    if (resp->methods == NULL)
        return -1;
    for (int m = 0; m < SRV_METRICS_NMETHOD; m++) {
        uint64_t calls = 0;
        for (int k = 0; k < SRV_METRICS_NCODE; k++) {
            calls += ms->requests[m][k];
            codes[k] += ms->requests[m][k];
        }
        if (calls == 0)
            continue;
        Bilheteria__V1__MethodStats *one =
            SRV_NEW(c, Bilheteria__V1__MethodStats, bilheteria__v1__method_stats);
        if (one == NULL)
            return -1;
        one->method = (char *)srv_metrics_method_name(m);
        one->calls = calls;
        one->errors = calls - ms->requests[m][0];
        one->n_latency_buckets = SRV_METRICS_NLAT;
        one->latency_buckets = (uint64_t *)ms->lat[m]; /* ms lives in the arena */
        resp->methods[resp->n_methods++] = one;
    }
    resp->codes = arena_array(c, SRV_METRICS_NCODE, sizeof(*resp->codes));
    if (resp->codes == NULL)
        return -1;
    for (int k = 0; k < SRV_METRICS_NCODE; k++) {
        if (codes[k] == 0)
            continue;
        Bilheteria__V1__CodeStats *one =
            SRV_NEW(c, Bilheteria__V1__CodeStats, bilheteria__v1__code_stats);
        if (one == NULL)
            return -1;
        one->code = (char *)srv_metrics_code_name(k);
        one->calls = codes[k];
        resp->codes[resp->n_codes++] = one;
    }
    return 0;
}

static int
stats(srv_call *c, store_txn *t)
{
    Bilheteria__V1__StatsResponse *resp =
        SRV_NEW(c, Bilheteria__V1__StatsResponse, bilheteria__v1__stats_response);
    srv_metrics_sample *ms = bh__arena_alloc(c->arena, sizeof(*ms));
    Bilheteria__V1__SessionStats *top = arena_array(c, BUSIEST_MAX, sizeof(*top));
    if (resp == NULL || ms == NULL || top == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");

    srv_metrics_sample_get(ms);
    srv_health h;
    c->env->health(c->env->health_arg, &h);
    resp->now_ms = c->now_ms;
    resp->uptime_ms = c->env->mono_ms() - c->env->started_ms;
    resp->metrics_enabled = srv_metrics_enabled();
    if (fill_calls(c, resp, ms) != 0)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    resp->writes = h.writes;
    resp->commits = h.commits;
    resp->syncs = ms->syncs;
    resp->sync_us = ms->sync_us;
    resp->commit_failures = ms->commit_failures;
    resp->queue_depth = ms->queue_depth;
    resp->holds_active = ms->holds_active;
    resp->seats_sold_total = ms->seats_sold;
    resp->payments_total = ms->payments;
    resp->revenue_cents_total = ms->revenue_cents;
    resp->reservations_expired_total = ms->expired;
    resp->connections_open = ms->connections;

    size_t n = 0;
    int rc = scan_sessions(c, t, resp, top, &n);
    if (rc != 0)
        return rc;
    resp->busiest_sessions = arena_array(c, n, sizeof(*resp->busiest_sessions));
    if (resp->busiest_sessions == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        resp->busiest_sessions[resp->n_busiest_sessions++] = &top[i];
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_stats_impls[] = {
    { .method = BH_METHOD_NAME_ADMIN_STATS, .fn = stats },
    { .method = NULL },
};
