/* SPDX-License-Identifier: Apache-2.0 */
/* WaitlistService: join, leave, look at and list a session's waiting list.
 * The rules that make and end offers are in waitlist.c; a user's place is
 * its arrival order (store/waitlist.c). */
#include <string.h>

#include "authz.h"
#include "resv.h"
#include "util.h"
#include "waitlist.h"

#define WL(x) BILHETERIA__V1__WAITLIST_STATUS__WAITLIST_STATUS_##x
#define ST(x) BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x

static const char *
wl_status_name(int status)
{
    const char *name = bh_enum_name(&bilheteria__v1__waitlist_status__descriptor, status);
    return name != NULL ? name : "UNSPECIFIED";
}

static int
invalid(srv_call *c, const char *field, const char *what)
{
    c->field = field;
    return srv_fail(c, SRV_E_INVALID, "%s", what);
}

/* The session and user a call names (user: a customer's own). */
static int
check_who(srv_call *c, uint64_t session_id, const char *requested, const char **user)
{
    if (srv_authz_user(c, requested, user) || srv_check_str(c, "user_id", *user, BH_USER_ID_MAX, 1))
        return c->code;
    if (session_id == 0)
        return invalid(c, "session_id", "session_id is required");
    return 0;
}

static int
get_session(srv_call *c, store_txn *t, uint64_t id, Bilheteria__V1__Session **s)
{
    int rc = store_session_get(t, id, &c->arena->pc, s);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "session %llu does not exist", (unsigned long long)id);
    return rc == STORE_OK ? 0 : srv_store_fail(c, rc, "session");
}

/* The user's latest entry, as a reader sees it (position of a WAITING one
 * set); NOT_FOUND when the user never joined. */
static int
find_entry(srv_call *c, store_txn *t, uint64_t session_id, const char *user,
           Bilheteria__V1__WaitlistEntry **out)
{
    int rc = store_waitlist_find(t, session_id, user, &c->arena->pc, out);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "user \"%s\" is not in the waiting list of session %llu",
                        user, (unsigned long long)session_id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "waiting list");
    srv_waitlist_view(*out, c->now_ms);
    if ((*out)->status == WL(WAITING) &&
        (rc = store_waitlist_position(t, session_id, (*out)->seq, &(*out)->position)) != STORE_OK)
        return srv_store_fail(c, rc, "waiting list");
    return 0;
}

static int
join_waitlist(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__JoinWaitlistRequest *r = (const void *)c->req;
    Bilheteria__V1__JoinWaitlistResponse *resp =
        SRV_NEW(c, Bilheteria__V1__JoinWaitlistResponse, bilheteria__v1__join_waitlist_response);
    Bilheteria__V1__WaitlistEntry *e = NULL;
    Bilheteria__V1__Session *s = NULL;
    const char *user = NULL;
    int rc;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (check_who(c, r->session_id, r->user_id, &user))
        return c->code;
    if (r->seats == 0 || r->seats > c->cfg->max_seats) {
        c->field = "seats";
        return srv_fail(c, SRV_E_INVALID, "seats must be in 1..%u, got %u", c->cfg->max_seats,
                        r->seats);
    }
    if (get_session(c, t, r->session_id, &s))
        return c->code;
    if (r->seats > s->seats_per_row) {
        c->field = "seats";
        return srv_fail(c, SRV_E_INVALID, "no row of session %llu has %u seats (rows have %u)",
                        (unsigned long long)s->id, r->seats, s->seats_per_row);
    }
    if (c->now_ms >= s->starts_at_ms)
        return srv_fail(c, SRV_E_PRECOND, "session %llu has started; its waiting list is closed",
                        (unsigned long long)s->id);
    if (s->status == BILHETERIA__V1__SESSION_STATUS__SESSION_STATUS_CANCELLED)
        return srv_fail(c, SRV_E_PRECOND, "session %llu was cancelled; its waiting list is closed",
                        (unsigned long long)s->id);
    rc = store_waitlist_find(t, s->id, user, &c->arena->pc, &e);
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return srv_store_fail(c, rc, "waiting list");
    if (rc == STORE_OK && e->status == WL(WAITING)) {
        uint32_t pos = 0;
        if ((rc = store_waitlist_position(t, s->id, e->seq, &pos)) != STORE_OK)
            return srv_store_fail(c, rc, "waiting list");
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__ALREADY_EXISTS,
                        "user \"%s\" is already in the waiting list of session %llu, at position "
                        "%u (for %u seats)",
                        user, (unsigned long long)s->id, pos, e->seats);
    }
    if (rc == STORE_OK && e->status == WL(OFFERED))
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__ALREADY_EXISTS,
                        "user \"%s\" already has an offer in session %llu: reservation %llu", user,
                        (unsigned long long)s->id, (unsigned long long)e->reservation_id);
    /* Nobody waits for what can be had now. */
    if (srv_waitlist_seats_free(t, c->env->seats, &c->arena->pc, s, r->seats, c->now_ms, &rc))
        return srv_fail(c, SRV_E_PRECOND,
                        "%u adjacent seats are available in session %llu: reserve them", r->seats,
                        (unsigned long long)s->id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "seats");
    e = SRV_NEW(c, Bilheteria__V1__WaitlistEntry, bilheteria__v1__waitlist_entry);
    if (e == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if ((rc = store_next_id(t, STORE_SEQ_WAITLIST, &e->seq)) != STORE_OK)
        return srv_store_fail(c, rc, "waiting list sequence");
    e->session_id = s->id;
    e->user_id = (char *)user;
    e->seats = r->seats;
    e->status = WL(WAITING);
    e->created_at_ms = e->updated_at_ms = c->now_ms;
    if ((rc = store_waitlist_put(t, e, 1)) != STORE_OK ||
        (rc = store_waitlist_position(t, s->id, e->seq, &e->position)) != STORE_OK)
        return srv_store_fail(c, rc, "waiting list");
    resp->entry = e;
    c->resp = &resp->base;
    return 0;
}

static int
leave_waitlist(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__LeaveWaitlistRequest *r = (const void *)c->req;
    Bilheteria__V1__LeaveWaitlistResponse *resp =
        SRV_NEW(c, Bilheteria__V1__LeaveWaitlistResponse, bilheteria__v1__leave_waitlist_response);
    Bilheteria__V1__WaitlistEntry *e = NULL;
    const char *user = NULL;
    int rc;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (check_who(c, r->session_id, r->user_id, &user) || find_entry(c, t, r->session_id, user, &e))
        return c->code;
    if (e->status == WL(OFFERED)) {
        /* Declining the offer: its hold is cancelled, which ends the entry
         * (LEFT) and offers the seats to the next in line. */
        Bilheteria__V1__Reservation *res = NULL;
        if ((rc = store_resv_get(t, e->reservation_id, &c->arena->pc, &res)) != STORE_OK)
            return srv_store_fail(c, rc, "offer");
        if (res->status != ST(PENDING)) /* paid offers are FULFILLED: not reached */
            return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INTERNAL,
                            "offer reservation %llu of user \"%s\" is %s, its entry OFFERED",
                            (unsigned long long)res->id, user, srv_resv_status_name(res->status));
        if ((rc = srv_resv_release(t, c->env->seats, c->env->tally, &c->arena->pc, res,
                                   ST(CANCELLED), c->now_ms)) != STORE_OK ||
            (rc = store_waitlist_get(t, e->session_id, e->seq, &c->arena->pc, &e)) != STORE_OK)
            return srv_store_fail(c, rc, "offer");
    } else if (e->status == WL(WAITING)) {
        e->status = WL(LEFT);
        e->position = 0;
        e->updated_at_ms = c->now_ms;
        if ((rc = store_waitlist_put(t, e, 0)) != STORE_OK)
            return srv_store_fail(c, rc, "waiting list");
    } else {
        return srv_fail(c, SRV_E_PRECOND,
                        "user \"%s\"'s entry in the waiting list of session %llu is %s already",
                        user, (unsigned long long)e->session_id, wl_status_name(e->status));
    }
    resp->entry = e;
    c->resp = &resp->base;
    return 0;
}

static int
get_waitlist_entry(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__GetWaitlistEntryRequest *r = (const void *)c->req;
    Bilheteria__V1__GetWaitlistEntryResponse *resp = SRV_NEW(
        c, Bilheteria__V1__GetWaitlistEntryResponse, bilheteria__v1__get_waitlist_entry_response);
    const char *user = NULL;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (check_who(c, r->session_id, r->user_id, &user) ||
        find_entry(c, t, r->session_id, user, &resp->entry))
        return c->code;
    c->resp = &resp->base;
    return 0;
}

static int
list_waitlist(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ListWaitlistRequest *r = (const void *)c->req;
    Bilheteria__V1__ListWaitlistResponse *resp =
        SRV_NEW(c, Bilheteria__V1__ListWaitlistResponse, bilheteria__v1__list_waitlist_response);
    Bilheteria__V1__Session *s = NULL;
    size_t limit;
    uint64_t from;
    store_page pg;
    uint32_t pos = 0;
    int rc;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (r->session_id == 0)
        return invalid(c, "session_id", "session_id is required");
    if (srv_page_size(c, r->page_size, &limit) ||
        srv_page_token_parse(c, 'w', r->page_token, &from) || get_session(c, t, r->session_id, &s))
        return c->code;
    if ((rc = store_waitlist_list(t, s->id, from, limit, &c->arena->pc, &pg)) != STORE_OK)
        return srv_store_fail(c, rc, "waiting list");
    resp->entries = (Bilheteria__V1__WaitlistEntry **)pg.items;
    resp->n_entries = pg.n;
    for (size_t i = 0; i < pg.n; i++) {
        Bilheteria__V1__WaitlistEntry *e = resp->entries[i];
        srv_waitlist_view(e, c->now_ms);
        if (e->status != WL(WAITING))
            continue;
        /* One count for the page's first WAITING entry; the rest follow. */
        if (pos == 0) {
            if ((rc = store_waitlist_position(t, s->id, e->seq, &pos)) != STORE_OK)
                return srv_store_fail(c, rc, "waiting list");
        } else {
            pos++;
        }
        e->position = pos;
    }
    srv_page_token(c, 'w', pg.next_id, &resp->next_page_token);
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_waitlist_impls[] = {
    { .method = BH_METHOD_NAME_WAITLIST_JOIN_WAITLIST, .fn = join_waitlist },
    { .method = BH_METHOD_NAME_WAITLIST_LEAVE_WAITLIST, .fn = leave_waitlist },
    { .method = BH_METHOD_NAME_WAITLIST_GET_WAITLIST_ENTRY, .fn = get_waitlist_entry },
    { .method = BH_METHOD_NAME_WAITLIST_LIST_WAITLIST, .fn = list_waitlist },
    { .method = NULL },
};
