/* SPDX-License-Identifier: Apache-2.0 */
/* EventService. */
#include "bilheteria/v1/rpc.pb-c.h"
#include "util.h"

static int
create_event(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__CreateEventRequest *r = (const void *)c->req;
    int rc;
    if (srv_check_str(c, "name", r->name, 200, 1) || srv_check_str(c, "venue", r->venue, 200, 0) ||
        srv_check_str(c, "description", r->description, 2000, 0))
        return c->code;
    if (srv_check_time(c, "starts_at_ms", r->starts_at_ms) ||
        srv_check_time(c, "ends_at_ms", r->ends_at_ms))
        return c->code;
    if (r->starts_at_ms && r->ends_at_ms && r->ends_at_ms < r->starts_at_ms)
        return srv_fail(c, SRV_E_INVALID, "ends_at_ms %lld is before starts_at_ms %lld",
                        (long long)r->ends_at_ms, (long long)r->starts_at_ms);
    Bilheteria__V1__Event *ev = SRV_NEW(c, Bilheteria__V1__Event, bilheteria__v1__event);
    Bilheteria__V1__CreateEventResponse *resp =
        SRV_NEW(c, Bilheteria__V1__CreateEventResponse, bilheteria__v1__create_event_response);
    if (ev == NULL || resp == NULL)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    if ((rc = store_next_id(t, STORE_SEQ_EVENT, &ev->id)) != STORE_OK)
        return srv_store_fail(c, rc, "event id");
    ev->name = r->name;
    ev->venue = r->venue;
    ev->description = r->description;
    ev->starts_at_ms = r->starts_at_ms;
    ev->ends_at_ms = r->ends_at_ms;
    ev->created_at_ms = c->now_ms;
    if ((rc = store_event_put(t, ev)) != STORE_OK)
        return srv_store_fail(c, rc, "event");
    resp->event = ev;
    c->resp = &resp->base;
    return 0;
}

static int
get_event(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__GetEventRequest *r = (const void *)c->req;
    Bilheteria__V1__GetEventResponse *resp =
        SRV_NEW(c, Bilheteria__V1__GetEventResponse, bilheteria__v1__get_event_response);
    if (resp == NULL)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    if (r->id == 0)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT, "id is required");
    int rc = store_event_get(t, r->id, &c->arena->pc, &resp->event);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__NOT_FOUND, "event %llu does not exist",
                        (unsigned long long)r->id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "event");
    c->resp = &resp->base;
    return 0;
}

static int
list_events(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ListEventsRequest *r = (const void *)c->req;
    size_t limit;
    uint64_t from;
    store_page pg;
    if (srv_page_size(c, r->page_size, &limit) ||
        srv_page_token_parse(c, 'e', r->page_token, &from))
        return c->code;
    /* Stored events are answered as they are stored: no unpack, no pack. */
    int rc = store_event_list_raw(t, from, limit, &c->arena->pc, &pg);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "events");
    return srv_resp_raw_page(c, &pg, 'e');
}

/* A value given without its set_* flag would silently change nothing. */
static int
check_event_unset(srv_call *c, const Bilheteria__V1__UpdateEventRequest *r)
{
    const char *bad = !r->set_name && r->name[0]                 ? "name"
                      : !r->set_venue && r->venue[0]             ? "venue"
                      : !r->set_description && r->description[0] ? "description"
                      : !r->set_starts_at && r->starts_at_ms     ? "starts_at_ms"
                      : !r->set_ends_at && r->ends_at_ms         ? "ends_at_ms"
                                                                 : NULL;
    return srv_check_unset(c, bad);
}

static int
update_event(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__UpdateEventRequest *r = (const void *)c->req;
    Bilheteria__V1__UpdateEventResponse *resp =
        SRV_NEW(c, Bilheteria__V1__UpdateEventResponse, bilheteria__v1__update_event_response);
    Bilheteria__V1__Event *ev = NULL;
    if (resp == NULL)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    if (check_event_unset(c, r))
        return c->code;
    if (r->id == 0) {
        c->field = "id";
        return srv_fail(c, SRV_E_INVALID, "id is required");
    }
    if ((r->set_name && srv_check_str(c, "name", r->name, 200, 1)) ||
        (r->set_venue && srv_check_str(c, "venue", r->venue, 200, 0)) ||
        (r->set_description && srv_check_str(c, "description", r->description, 2000, 0)) ||
        (r->set_starts_at && srv_check_time(c, "starts_at_ms", r->starts_at_ms)) ||
        (r->set_ends_at && srv_check_time(c, "ends_at_ms", r->ends_at_ms)))
        return c->code;
    int rc = store_event_get(t, r->id, &c->arena->pc, &ev);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "event %llu does not exist", (unsigned long long)r->id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "event");
    if (r->set_name)
        ev->name = r->name;
    if (r->set_venue)
        ev->venue = r->venue;
    if (r->set_description)
        ev->description = r->description;
    if (r->set_starts_at)
        ev->starts_at_ms = r->starts_at_ms;
    if (r->set_ends_at)
        ev->ends_at_ms = r->ends_at_ms;
    if (ev->starts_at_ms && ev->ends_at_ms && ev->ends_at_ms < ev->starts_at_ms) {
        c->field = r->set_ends_at ? "ends_at_ms" : "starts_at_ms";
        return srv_fail(c, SRV_E_INVALID, "ends_at_ms %lld would be before starts_at_ms %lld",
                        (long long)ev->ends_at_ms, (long long)ev->starts_at_ms);
    }
    ev->updated_at_ms = c->now_ms;
    if ((rc = store_event_put(t, ev)) != STORE_OK)
        return srv_store_fail(c, rc, "event");
    resp->event = ev;
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_event_impls[] = {
    { .method = BH_METHOD_NAME_EVENT_CREATE_EVENT, .fn = create_event },
    { .method = BH_METHOD_NAME_EVENT_GET_EVENT, .fn = get_event },
    { .method = BH_METHOD_NAME_EVENT_LIST_EVENTS, .fn = list_events },
    { .method = BH_METHOD_NAME_EVENT_UPDATE_EVENT, .fn = update_event },
    { .method = NULL },
};
