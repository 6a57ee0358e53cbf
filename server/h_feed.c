/* SPDX-License-Identifier: Apache-2.0 */
/* FeedService: the change feed, read with a long poll. A call that finds
 * nothing after its cursor asks to wait (SRV_STATUS_PARK): the listener
 * parks it without holding a thread and runs it again once a commit goes
 * past the cursor or the wait is over (feed.h). */
#include <string.h>

#include "clock.h"
#include "feed.h"
#include "util.h"

/* How long the call may wait: wait_ms, at most SRV_FEED_WAIT_MAX_MS, and
 * ending before the caller's deadline by a tenth of what is left (at
 * least 100 ms), so that the answer gets home in time. */
static int64_t
wait_for(const srv_call *c, uint32_t wait_ms)
{
    int64_t ms = wait_ms > SRV_FEED_WAIT_MAX_MS ? SRV_FEED_WAIT_MAX_MS : (int64_t)wait_ms;
    if (c->deadline_ms != 0) {
        int64_t left = c->deadline_ms - srv_mono_ms();
        int64_t margin = left / 10 > 100 ? left / 10 : 100;
        if (ms > left - margin)
            ms = left - margin;
    }
    return ms > 0 ? ms : 0;
}

static int
list_changes(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ListChangesRequest *q = (const void *)c->req;
    Bilheteria__V1__ListChangesResponse *resp =
        SRV_NEW(c, Bilheteria__V1__ListChangesResponse, bilheteria__v1__list_changes_response);
    uint64_t first, last;
    store_page pg;
    size_t max = q->max == 0 ? SRV_FEED_MAX_DEF : q->max;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (q->max > SRV_FEED_MAX) {
        c->field = "max";
        return srv_fail(c, SRV_E_INVALID, "max %u is over the limit of %d changes a call", q->max,
                        SRV_FEED_MAX);
    }
    int rc = store_feed_first(t, &first);
    if (rc == STORE_OK)
        rc = store_feed_last(t, &last);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "change feed");
    if (first == 0)
        first = last + 1; /* none kept */
    resp->last_seq = last;
    resp->first_seq = first;
    if (q->after_seq > last) {
        c->field = "after_seq";
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__OUT_OF_RANGE,
                        "after_seq %llu is past the last change, %llu",
                        (unsigned long long)q->after_seq, (unsigned long long)last);
    }
    /* 0 is "from the oldest kept"; any other cursor must not have lost a
     * change to the retention. */
    if (q->after_seq != 0 && q->after_seq + 1 < first) {
        c->field = "after_seq";
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__OUT_OF_RANGE,
                        "changes after %llu are no longer kept: the oldest available is %llu "
                        "(--feed-retention-h); start again from after_seq %llu",
                        (unsigned long long)q->after_seq, (unsigned long long)first,
                        (unsigned long long)(first - 1));
    }
    if (q->after_seq == last && !c->resumed) {
        int64_t ms = wait_for(c, q->wait_ms);
        if (ms > 0) {
            c->park_after = last;
            c->park_ms = ms;
            c->resp = &resp->base;
            return SRV_STATUS_PARK;
        }
    }
    rc = store_feed_list_raw(t, q->after_seq, max, &c->arena->pc, &pg);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "change feed");
    resp->changes = bh__arena_alloc(c->arena, (pg.n ? pg.n : 1) * sizeof(*resp->changes));
    if (resp->changes == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < pg.n; i++) {
        const store_raw *r = pg.items[i];
        resp->changes[i] = bilheteria__v1__change__unpack(&c->arena->pc, r->len, r->data);
        if (resp->changes[i] == NULL)
            return srv_store_fail(c, STORE_CORRUPT, "change feed");
    }
    resp->n_changes = pg.n;
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_feed_impls[] = {
    { .method = BH_METHOD_NAME_FEED_LIST_CHANGES, .fn = list_changes },
    { .method = NULL },
};
