/* SPDX-License-Identifier: Apache-2.0 */
/* PaymentService: confirms a reservation exactly once.
 *
 * Three guards, all inside the writer's transaction: the idempotency key
 * (checked by the writer before this runs), the business key provider +
 * provider_ref (a redirect and a webhook racing with different keys confirm
 * once), and the reservation's own status. A payment for a lapsed hold
 * succeeds only if every seat, the meia-entrada quota and the stock can be
 * taken again; otherwise nothing is charged. A payment made is counted
 * (srv_tally) in pay, and nowhere else. */
#include <stdint.h>
#include <string.h>

#include "authz.h"
#include "coupon.h"
#include "refund.h"
#include "report.h"
#include "resv.h"
#include "seatcache.h"
#include "util.h"
#include "waitlist.h"

#define ST(x) BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x

static void
reserved_item(const void *items, size_t i, uint64_t *product_id, int32_t *quantity)
{
    const Bilheteria__V1__ReservedItem *it = ((Bilheteria__V1__ReservedItem *const *)items)[i];
    *product_id = it->product_id;
    *quantity = it->quantity;
}

/* Takes back the seats, quota and stock of a reservation whose hold lapsed;
 * a refusal is exact (srv_resv_need_check sweeps on a shortfall). */
static int
retake(srv_call *c, store_txn *t, Bilheteria__V1__Reservation *r)
{
    Bilheteria__V1__Session *s = NULL;
    uint32_t half = 0, idx;
    int rc = store_session_get(t, r->session_id, &c->arena->pc, &s);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "session");
    for (size_t i = 0; i < r->n_seats; i++) {
        store_seat seat;
        if (srv_resv_seat_index(s, r->seats[i]->label, &idx) != 0) /* an UpdateSession since */
            return srv_fail(c, SRV_E_PRECOND,
                            "reservation %llu expired and seat %s is no longer in session %llu's "
                            "layout; nothing was charged",
                            (unsigned long long)r->id, r->seats[i]->label,
                            (unsigned long long)s->id);
        rc = store_seat_get(t, s->id, idx, &seat);
        if (rc == STORE_OK && srv_resv_seat_taken(&seat, c->now_ms))
            return srv_fail(c, SRV_E_PRECOND,
                            "reservation %llu expired and seat %s has been taken since; "
                            "nothing was charged",
                            (unsigned long long)r->id, r->seats[i]->label);
        if (rc != STORE_OK && rc != STORE_NOTFOUND)
            return srv_store_fail(c, rc, "seat");
        half += r->seats[i]->type == BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA;
    }
    srv_resv_need need = {
        s, half, r->items, r->n_items, reserved_item, r->user_id, (uint32_t)r->n_seats
    };
    srv_resv_check got;
    rc = srv_resv_need_check(t, c->env->seats, c->env->tally, c->arena, c->now_ms, &need, &got);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, rc == STORE_NOTFOUND ? "product" : got.failed);
    if (got.what == SRV_RESV_SHORT_QUOTA)
        return srv_fail(c, SRV_E_PRECOND,
                        "reservation %llu expired and the meia-entrada quota of session %llu "
                        "has been used since; nothing was charged",
                        (unsigned long long)r->id, (unsigned long long)s->id);
    if (got.what == SRV_RESV_SHORT_USER)
        return srv_fail(c, SRV_E_PRECOND,
                        "reservation %llu expired and user \"%s\" has %u seats in session %llu "
                        "since (the limit is %u per user); nothing was charged",
                        (unsigned long long)r->id, r->user_id, got.user_has,
                        (unsigned long long)s->id, s->max_per_user);
    if (got.what == SRV_RESV_SHORT_STOCK)
        return srv_fail(c, SRV_E_PRECOND,
                        "reservation %llu expired and product %llu (%s) has only %lld "
                        "left; nothing was charged",
                        (unsigned long long)r->id, (unsigned long long)got.product->id,
                        got.product->name, (long long)got.product->stock);
    if ((rc = srv_resv_stock_take(t, &c->arena->pc, r)) != STORE_OK)
        return srv_store_fail(c, rc, "product");
    if ((rc = srv_resv_quota_add(t, s->id, half)) != STORE_OK ||
        (rc = srv_resv_user_seats_add(t, s, r->user_id, (int64_t)r->n_seats)) != STORE_OK)
        return srv_store_fail(c, rc, "session state");
    /* The seats themselves are written as sold by the caller. */
    return 0;
}

/* Marks the reservation's seats sold. Each must be free or still this
 * reservation's own hold: never overwrite another reservation's seat. */
static int
sell_seats(srv_call *c, store_txn *t, const Bilheteria__V1__Reservation *r)
{
    Bilheteria__V1__Session *s = NULL;
    uint32_t idx;
    int rc = store_session_get(t, r->session_id, &c->arena->pc, &s);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "session");
    for (size_t i = 0; i < r->n_seats; i++) {
        store_seat cur;
        if (srv_resv_seat_index(s, r->seats[i]->label, &idx) != 0)
            return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INTERNAL, "bad stored seat %s",
                            r->seats[i]->label);
        rc = store_seat_get(t, s->id, idx, &cur);
        if (rc == STORE_OK && cur.reservation_id != r->id && srv_resv_seat_taken(&cur, c->now_ms))
            return srv_fail(c, SRV_E_PRECOND,
                            "seat %s of reservation %llu is taken by another reservation; "
                            "nothing was charged",
                            r->seats[i]->label, (unsigned long long)r->id);
        if (rc != STORE_OK && rc != STORE_NOTFOUND)
            return srv_store_fail(c, rc, "seat");
    }
    for (size_t i = 0; i < r->n_seats; i++) {
        srv_resv_seat_index(s, r->seats[i]->label, &idx);
        store_seat seat = { r->id, 0,
                            r->seats[i]->type == BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA };
        if ((rc = srv_seat_put(c->env->seats, t, s->id, idx, &seat)) != STORE_OK)
            return srv_store_fail(c, rc, "seat");
    }
    return 0;
}

/* What the request alone must satisfy. Returns 0 or the refusal's code. */
static int
check_confirm(srv_call *c, const Bilheteria__V1__ConfirmPaymentRequest *q)
{
    if (q->reservation_id == 0)
        return srv_fail(c, SRV_E_INVALID, "reservation_id is required");
    /* 0 pays a free reservation (checked against its total later). */
    if (q->amount_cents < 0)
        return srv_fail(c, SRV_E_INVALID, "amount_cents must not be negative, got %lld",
                        (long long)q->amount_cents);
    if (srv_check_str(c, "method", q->method, 64, 0) ||
        srv_check_str(c, "provider", q->provider, 64, 0) ||
        srv_check_str(c, "provider_ref", q->provider_ref, BH_PROVIDER_REF_MAX, 0))
        return c->code;
    /* The pair is the business key: half of it would dodge the check for
     * a payment announced twice. */
    if ((q->provider[0] != 0) != (q->provider_ref[0] != 0))
        return srv_fail(c, SRV_E_INVALID, "%s",
                        q->provider[0] != 0 ? "provider_ref is required when provider is set"
                                            : "provider is required when provider_ref is set");
    return 0;
}

/* The business key: a payment already made under provider + provider_ref.
 * Returns 0 with *found set to it (the same payment announced twice) or to
 * NULL (none yet), or a refusal's code. */
static int
find_by_ref(srv_call *c, store_txn *t, const Bilheteria__V1__ConfirmPaymentRequest *q,
            const Bilheteria__V1__Reservation *r, Bilheteria__V1__Payment **found)
{
    Bilheteria__V1__Payment *p = NULL;
    uint64_t pid;
    *found = NULL;
    if (q->provider_ref[0] == 0)
        return 0;
    int rc = store_payment_by_ref(t, q->provider, q->provider_ref, &pid);
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "payment reference");
    if ((rc = store_payment_get(t, pid, &c->arena->pc, &p)) != STORE_OK)
        return srv_store_fail(c, rc, "payment");
    if (p->reservation_id != r->id)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__ALREADY_EXISTS,
                        "provider \"%s\" reference \"%s\" already paid reservation "
                        "%llu (payment %llu)",
                        q->provider, q->provider_ref, (unsigned long long)p->reservation_id,
                        (unsigned long long)p->id);
    /* Answer with the first only if it is the same payment. */
    if (q->amount_cents != p->amount_cents)
        return srv_fail(c, SRV_E_PRECOND,
                        "amount_cents %lld does not match payment %llu's amount_cents "
                        "%lld (provider \"%s\" reference \"%s\")",
                        (long long)q->amount_cents, (unsigned long long)p->id,
                        (long long)p->amount_cents, q->provider, q->provider_ref);
    *found = p;
    return 0;
}

/* Whether r can be paid q->amount_cents now; a lapsed hold is released
 * first (and marked EXPIRED). Returns 0 or a refusal's code. */
static int
check_payable(srv_call *c, store_txn *t, const Bilheteria__V1__ConfirmPaymentRequest *q,
              Bilheteria__V1__Reservation *r)
{
    int rc;
    if (r->status == ST(PENDING) && r->expires_at_ms <= c->now_ms &&
        (rc = srv_resv_release(t, c->env->seats, c->env->tally, &c->arena->pc, r, ST(EXPIRED),
                               c->now_ms)) != STORE_OK)
        return srv_store_fail(c, rc, "reservation");
    if (r->status == ST(CONFIRMED))
        return srv_fail(c, SRV_E_PRECOND, "reservation %llu is already paid (payment %llu)",
                        (unsigned long long)r->id, (unsigned long long)r->payment_id);
    if (r->status != ST(PENDING) && r->status != ST(EXPIRED))
        return srv_fail(c, SRV_E_PRECOND, "reservation %llu is %s; it cannot be paid",
                        (unsigned long long)r->id, srv_resv_status_name(r->status));
    Bilheteria__V1__Session *s = NULL;
    if ((rc = store_session_get(t, r->session_id, &c->arena->pc, &s)) != STORE_OK)
        return srv_store_fail(c, rc, "session");
    if (srv_refund_on_sale(c, s))
        return c->code;
    if (q->amount_cents != r->total_cents)
        return srv_fail(c, SRV_E_PRECOND,
                        "amount_cents %lld does not match reservation %llu's total_cents %lld",
                        (long long)q->amount_cents, (unsigned long long)r->id,
                        (long long)r->total_cents);
    return 0;
}

/* What a payment leaves for the batch's transaction (srv_call_after). */
struct pay_after {
    ProtobufCAllocator *a;
    const Bilheteria__V1__Reservation *r;
    int was_expired;
    int64_t now_ms;
};

static int
pay_after(store_txn *t, void *arg)
{
    const struct pay_after *pa = arg;
    return srv_report_pay(t, pa->a, pa->r, pa->was_expired, pa->now_ms);
}

/* Sells r's seats (retaking what a lapsed hold let go), writes the payment
 * and marks r CONFIRMED. Returns 0 with *out set, or a refusal's code. */
static int
pay(srv_call *c, store_txn *t, const Bilheteria__V1__ConfirmPaymentRequest *q,
    Bilheteria__V1__Reservation *r, Bilheteria__V1__Payment **out)
{
    int rc, was_expired = r->status == ST(EXPIRED);
    if (was_expired && retake(c, t, r))
        return c->code;
    if (r->status == ST(PENDING) &&
        (rc = store_resv_expiry_del(t, r->expires_at_ms, r->id)) != STORE_OK)
        return srv_store_fail(c, rc, "reservation expiry");
    if (sell_seats(c, t, r) || srv_coupon_pay(c, t, r))
        return c->code;
    Bilheteria__V1__Payment *p = SRV_NEW(c, Bilheteria__V1__Payment, bilheteria__v1__payment);
    if (p == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if ((rc = store_next_id(t, STORE_SEQ_PAYMENT, &p->id)) != STORE_OK)
        return srv_store_fail(c, rc, "payment id");
    p->reservation_id = r->id;
    p->amount_cents = q->amount_cents;
    p->method = q->method;
    p->provider = q->provider;
    p->provider_ref = q->provider_ref;
    p->created_at_ms = c->now_ms;
    if ((rc = store_payment_put(t, p)) != STORE_OK)
        return srv_store_fail(c, rc, "payment");
    r->status = ST(CONFIRMED);
    r->payment_id = p->id;
    r->updated_at_ms = c->now_ms;
    if ((rc = store_resv_put(t, r, 0)) != STORE_OK ||
        (rc = srv_waitlist_paid(t, &c->arena->pc, r, c->now_ms)) != STORE_OK)
        return srv_store_fail(c, rc, "reservation");
    /* The sales and co-purchase counters: only this call writes them,
     * nothing in it reads them back. */
    struct pay_after *pa = bh__arena_alloc(c->arena, sizeof(*pa));
    if (pa == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    pa->a = &c->arena->pc;
    pa->r = r;
    pa->was_expired = was_expired;
    pa->now_ms = c->now_ms;
    if (srv_call_after(c, pay_after, pa))
        return c->code;
    srv_tally *tally = c->env->tally;
    if (tally != NULL) {
        tally->payments++;
        tally->revenue_cents += (uint64_t)p->amount_cents;
        tally->seats_sold += r->n_seats;
    }
    *out = p;
    return 0;
}

static int
confirm_payment(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__ConfirmPaymentRequest *q = (const void *)c->req;
    Bilheteria__V1__ConfirmPaymentResponse *resp = SRV_NEW(
        c, Bilheteria__V1__ConfirmPaymentResponse, bilheteria__v1__confirm_payment_response);
    Bilheteria__V1__Reservation *r = NULL;
    Bilheteria__V1__Payment *p = NULL;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (check_confirm(c, q))
        return c->code;
    if (srv_authz_resv_get(c, t, "reservation_id", q->reservation_id, &r) ||
        find_by_ref(c, t, q, r, &p))
        return c->code;
    c->unchanged = p != NULL; /* the same payment announced again */
    if (p == NULL && (check_payable(c, t, q, r) || pay(c, t, q, r, &p)))
        return c->code;
    resp->payment = p;
    resp->reservation = r;
    c->resp = &resp->base;
    return 0;
}

static int
get_payment(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__GetPaymentRequest *q = (const void *)c->req;
    Bilheteria__V1__GetPaymentResponse *resp =
        SRV_NEW(c, Bilheteria__V1__GetPaymentResponse, bilheteria__v1__get_payment_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (q->id == 0)
        return srv_fail(c, SRV_E_INVALID, "id is required");
    int rc = store_payment_get(t, q->id, &c->arena->pc, &resp->payment);
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return srv_store_fail(c, rc, "payment");
    Bilheteria__V1__Reservation *r = NULL;
    if (rc == STORE_OK) {
        int rrc = store_resv_get(t, resp->payment->reservation_id, &c->arena->pc, &r);
        if (rrc != STORE_OK && rrc != STORE_NOTFOUND)
            return srv_store_fail(c, rrc, "reservation");
        if (rrc == STORE_NOTFOUND)
            r = NULL;
        /* A customer sees the payments of its own reservations only. */
        if (c->identity.role == SRV_ROLE_CUSTOMER && (r == NULL || !srv_authz_owns(c, r->user_id)))
            rc = STORE_NOTFOUND;
    }
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "payment %llu does not exist",
                        (unsigned long long)q->id);
    if (r != NULL && srv_refund_fill(c, t, resp->payment, r))
        return c->code;
    c->resp = &resp->base;
    return 0;
}

/* The payment's reservation as the caller may act on it: NOT_FOUND for a
 * payment that does not exist. */
static int
paid_reservation(srv_call *c, store_txn *t, uint64_t id, Bilheteria__V1__Payment **p,
                 Bilheteria__V1__Reservation **r)
{
    int rc = store_payment_get(t, id, &c->arena->pc, p);
    if (rc == STORE_NOTFOUND) {
        c->field = "payment_id";
        return srv_fail(c, SRV_E_NOTFOUND, "payment %llu does not exist", (unsigned long long)id);
    }
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "payment");
    if ((rc = store_resv_get(t, (*p)->reservation_id, &c->arena->pc, r)) != STORE_OK)
        return srv_store_fail(c, rc, "reservation");
    return 0;
}

static int
refund_payment(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__RefundPaymentRequest *q = (const void *)c->req;
    Bilheteria__V1__RefundPaymentResponse *resp =
        SRV_NEW(c, Bilheteria__V1__RefundPaymentResponse, bilheteria__v1__refund_payment_response);
    Bilheteria__V1__Payment *p = NULL;
    Bilheteria__V1__Reservation *r = NULL;
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (q->payment_id == 0) {
        c->field = "payment_id";
        return srv_fail(c, SRV_E_INVALID, "payment_id is required");
    }
    if (paid_reservation(c, t, q->payment_id, &p, &r) ||
        srv_refund_make(c, t, q, p, r, &resp->refund) || srv_refund_fill(c, t, p, r))
        return c->code;
    resp->payment = p;
    resp->reservation = r;
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_payment_impls[] = {
    { .method = BH_METHOD_NAME_PAYMENT_CONFIRM_PAYMENT, .fn = confirm_payment },
    { .method = BH_METHOD_NAME_PAYMENT_GET_PAYMENT, .fn = get_payment },
    { .method = BH_METHOD_NAME_PAYMENT_REFUND_PAYMENT, .fn = refund_payment },
    { .method = NULL },
};
