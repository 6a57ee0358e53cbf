/* SPDX-License-Identifier: Apache-2.0 */
/* Refunds and session cancellations (refund.h). A refund reads what it
 * gives back from the reservation's snapshot, so its amount never depends
 * on today's prices; every guard (already refunded, the provider's
 * reference, the sum never above the payment) is checked in the writer's
 * transaction that makes the refund. */
#include <string.h>

#include "coupon.h"
#include "feed.h"
#include "log.h"
#include "refund.h"
#include "report.h"
#include "resv.h"
#include "seatcache.h"
#include "util.h"
#include "waitlist.h"

#define ST(x)   BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define SESS(x) BILHETERIA__V1__SESSION_STATUS__SESSION_STATUS_##x

int
srv_refund_on_sale(srv_call *c, const Bilheteria__V1__Session *s)
{
    if (s->status != SESS(CANCELLED))
        return 0;
    char when[SRV_TIME_LEN];
    srv_fmt_time(s->cancelled_at_ms, when);
    return srv_fail(c, SRV_E_PRECOND,
                    "session %llu was cancelled at %s; it takes no reservations or payments",
                    (unsigned long long)s->id, when);
}

/* What a refund gives back: seat[i] set for each seat of r refunded,
 * qty[j] the quantity of item j. */
typedef struct pick {
    uint8_t *seat;
    int32_t *qty;
    size_t lines; /* seats and item lines picked */
} pick;

static int
pick_alloc(srv_call *c, const Bilheteria__V1__Reservation *r, pick *pk)
{
    pk->seat = bh__arena_alloc(c->arena, r->n_seats + 1);
    pk->qty = bh__arena_alloc(c->arena, (r->n_items + 1) * sizeof(*pk->qty));
    pk->lines = 0;
    if (pk->seat == NULL || pk->qty == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    memset(pk->seat, 0, r->n_seats + 1);
    memset(pk->qty, 0, (r->n_items + 1) * sizeof(*pk->qty));
    return 0;
}

/* all = true: whatever is not refunded yet. */
static int
pick_all(srv_call *c, const Bilheteria__V1__Reservation *r, pick *pk)
{
    for (size_t i = 0; i < r->n_seats; i++)
        if (!r->seats[i]->refunded)
            pk->seat[i] = 1, pk->lines++;
    for (size_t j = 0; j < r->n_items; j++) {
        pk->qty[j] = r->items[j]->quantity - r->items[j]->refunded_quantity;
        pk->lines += pk->qty[j] > 0;
    }
    if (pk->lines == 0)
        return srv_fail(c, SRV_E_PRECOND,
                        "reservation %llu is refunded in full already (%lld cents)",
                        (unsigned long long)r->id, (long long)r->refunded_cents);
    return 0;
}

static int
pick_seats(srv_call *c, const Bilheteria__V1__RefundPaymentRequest *q,
           const Bilheteria__V1__Reservation *r, pick *pk)
{
    for (size_t k = 0; k < q->n_seats; k++) {
        size_t i = 0;
        while (i < r->n_seats && strcmp(r->seats[i]->label, q->seats[k]) != 0)
            i++;
        c->field = "seats";
        if (i == r->n_seats)
            return srv_fail(c, SRV_E_INVALID, "seat \"%.20s\" is not in reservation %llu",
                            q->seats[k], (unsigned long long)r->id);
        if (pk->seat[i])
            return srv_fail(c, SRV_E_INVALID, "seat %s is listed twice", r->seats[i]->label);
        if (r->seats[i]->refunded)
            return srv_fail(c, SRV_E_PRECOND, "seat %s of reservation %llu was refunded already",
                            r->seats[i]->label, (unsigned long long)r->id);
        c->field = NULL;
        pk->seat[i] = 1;
        pk->lines++;
    }
    return 0;
}

static int
pick_items(srv_call *c, const Bilheteria__V1__RefundPaymentRequest *q,
           const Bilheteria__V1__Reservation *r, pick *pk)
{
    for (size_t k = 0; k < q->n_items; k++) {
        const Bilheteria__V1__ItemRequest *want = q->items[k];
        size_t j = 0;
        while (j < r->n_items && r->items[j]->product_id != want->product_id)
            j++;
        c->field = "items";
        if (j == r->n_items)
            return srv_fail(c, SRV_E_INVALID, "product %llu is not in reservation %llu",
                            (unsigned long long)want->product_id, (unsigned long long)r->id);
        const Bilheteria__V1__ReservedItem *it = r->items[j];
        if (pk->qty[j] != 0)
            return srv_fail(c, SRV_E_INVALID, "product %llu is listed twice in items",
                            (unsigned long long)it->product_id);
        if (want->quantity <= 0 || want->quantity > it->quantity)
            return srv_fail(c, SRV_E_INVALID,
                            "items[%zu].quantity must be in 1..%d (product %llu was bought %d "
                            "times), got %d",
                            k, it->quantity, (unsigned long long)it->product_id, it->quantity,
                            want->quantity);
        if (want->quantity > it->quantity - it->refunded_quantity)
            return srv_fail(c, SRV_E_PRECOND,
                            "product %llu (%s) of reservation %llu: %d of %d refunded already, "
                            "%d asked",
                            (unsigned long long)it->product_id, it->name, (unsigned long long)r->id,
                            it->refunded_quantity, it->quantity, want->quantity);
        c->field = NULL;
        pk->qty[j] = want->quantity;
        pk->lines++;
    }
    return 0;
}

/* What the request alone must satisfy (its payment_id, the handler's). */
static int
check_request(srv_call *c, const Bilheteria__V1__RefundPaymentRequest *q)
{
    if (srv_check_str(c, "reason", q->reason, BH_REASON_MAX, 0) ||
        srv_check_str(c, "provider", q->provider, 64, 0) ||
        srv_check_str(c, "provider_ref", q->provider_ref, BH_PROVIDER_REF_MAX, 0))
        return c->code;
    if ((q->provider[0] != 0) != (q->provider_ref[0] != 0)) {
        c->field = q->provider[0] != 0 ? "provider_ref" : "provider";
        return srv_fail(c, SRV_E_INVALID, "%s",
                        q->provider[0] != 0 ? "provider_ref is required when provider is set"
                                            : "provider is required when provider_ref is set");
    }
    if (q->all && (q->n_seats > 0 || q->n_items > 0))
        return srv_fail(c, SRV_E_INVALID,
                        "give either all or seats (%zu) and items (%zu), not both", q->n_seats,
                        q->n_items);
    if (!q->all && q->n_seats == 0 && q->n_items == 0)
        return srv_fail(c, SRV_E_INVALID, "nothing to refund: give all, seats or items");
    if (q->n_seats > BH_RESERVATION_SEATS_MAX || q->n_items > BH_RESERVATION_ITEMS_MAX)
        return srv_fail(c, SRV_E_INVALID, "%zu seats and %zu items; at most %d and %d", q->n_seats,
                        q->n_items, BH_RESERVATION_SEATS_MAX, BH_RESERVATION_ITEMS_MAX);
    return 0;
}

/* A seat's share of the money paid: its price less its discount (coupon.c
 * spreads every discount over the lines it took from). */
static int64_t
seat_amount(const Bilheteria__V1__ReservedSeat *s)
{
    return s->price_cents - s->discount_cents;
}

/* n more of an item line's units (it->refunded_quantity refunded before):
 * their share of the money paid. The line's discount is shared out so that
 * refunding every unit, in any steps, gives back exactly the line's
 * subtotal less its discount. */
static int64_t
item_amount(const Bilheteria__V1__ReservedItem *it, int32_t n)
{
    int64_t q = it->quantity, before = it->refunded_quantity;
    int64_t d = q > 0 ? it->discount_cents * (before + n) / q - it->discount_cents * before / q : 0;
    return it->unit_price_cents * n - d;
}

/* The provider's refund reference books one refund. */
static int
check_ref(srv_call *c, store_txn *t, const Bilheteria__V1__RefundPaymentRequest *q)
{
    uint64_t id;
    if (q->provider_ref[0] == 0)
        return 0;
    int rc = store_refund_by_ref(t, q->provider, q->provider_ref, &id);
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "refund reference");
    c->field = "provider_ref";
    return srv_fail(c, BILHETERIA__V1__STATUS_CODE__ALREADY_EXISTS,
                    "provider \"%s\" refund reference \"%s\" was booked already (refund %llu)",
                    q->provider, q->provider_ref, (unsigned long long)id);
}

/* Frees (unless keep) the picked seats still r's own and returns their
 * meia-entrada quota; restocks the picked items. Marks r's lines. */
static int
give_back(srv_call *c, store_txn *t, const pick *pk, int keep, Bilheteria__V1__Reservation *r)
{
    Bilheteria__V1__Session *s = NULL;
    uint32_t idx, half = 0, seats = 0;
    int rc = store_session_get(t, r->session_id, &c->arena->pc, &s);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "session");
    for (size_t i = 0; i < r->n_seats; i++) {
        store_seat seat;
        if (!pk->seat[i])
            continue;
        r->seats[i]->refunded = 1;
        seats++;
        half += r->seats[i]->type == BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA;
        if (srv_resv_seat_index(s, r->seats[i]->label, &idx) != 0)
            continue;
        rc = store_seat_get(t, s->id, idx, &seat);
        if (rc == STORE_NOTFOUND || (rc == STORE_OK && seat.reservation_id != r->id))
            continue;
        /* Kept blocked: still sold, but no longer a meia-entrada ticket
         * (the seat map counts those from the seat records). */
        seat.half = 0;
        if (rc == STORE_OK)
            rc = keep ? srv_seat_put(c->env->seats, t, s->id, idx, &seat)
                      : srv_seat_del(c->env->seats, t, s->id, idx);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "seat");
    }
    if ((rc = srv_resv_quota_add(t, s->id, -(int64_t)half)) != STORE_OK)
        return srv_store_fail(c, rc, "session state");
    /* Seats back on sale go to the waiting list first, in this transaction. */
    if (!keep && seats > 0 &&
        (rc = srv_waitlist_offer(t, c->env->seats, &c->arena->pc, s->id, c->now_ms, NULL)) !=
            STORE_OK)
        return srv_store_fail(c, rc, "waiting list");
    /* A refunded seat is no longer the buyer's, kept blocked or not: it
     * leaves their per-user count. */
    if ((rc = srv_resv_user_seats_add(t, s, r->user_id, -(int64_t)seats)) != STORE_OK)
        return srv_store_fail(c, rc, "user seats");
    for (size_t j = 0; j < r->n_items; j++) {
        if (pk->qty[j] == 0)
            continue;
        r->items[j]->refunded_quantity += pk->qty[j];
        /* A product deleted since is not restocked. */
        rc = srv_resv_stock_add(t, &c->arena->pc, r->items[j]->product_id, pk->qty[j], NULL);
        if (rc != STORE_OK && rc != STORE_NOTFOUND)
            return srv_store_fail(c, rc, "product");
    }
    return 0;
}

/* The refund record of what pk gives back of r, amount already summed. */
static int
record(srv_call *c, store_txn *t, const Bilheteria__V1__RefundPaymentRequest *q,
       const Bilheteria__V1__Reservation *r, const pick *pk, int64_t amount,
       Bilheteria__V1__Refund **out)
{
    Bilheteria__V1__Refund *f = SRV_NEW(c, Bilheteria__V1__Refund, bilheteria__v1__refund);
    if (f == NULL ||
        (f->seats = bh__arena_alloc(c->arena, (r->n_seats + 1) * sizeof(*f->seats))) == NULL ||
        (f->items = bh__arena_alloc(c->arena, (r->n_items + 1) * sizeof(*f->items))) == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < r->n_seats; i++)
        if (pk->seat[i])
            f->seats[f->n_seats++] = r->seats[i]->label;
    for (size_t j = 0; j < r->n_items; j++) {
        if (pk->qty[j] == 0)
            continue;
        Bilheteria__V1__RefundedItem *it =
            SRV_NEW(c, Bilheteria__V1__RefundedItem, bilheteria__v1__refunded_item);
        if (it == NULL)
            return srv_fail(c, SRV_E_NOMEM, "out of memory");
        it->product_id = r->items[j]->product_id;
        it->quantity = pk->qty[j];
        f->items[f->n_items++] = it;
    }
    int rc = store_next_id(t, STORE_SEQ_REFUND, &f->id);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "refund id");
    f->payment_id = q->payment_id;
    f->reservation_id = r->id;
    f->amount_cents = amount;
    f->reason = q->reason;
    f->provider = q->provider;
    f->provider_ref = q->provider_ref;
    f->created_at_ms = c->now_ms;
    f->keep_seats_blocked = q->keep_seats_blocked;
    if ((rc = store_refund_put(t, f)) != STORE_OK)
        return srv_store_fail(c, rc, "refund");
    *out = f;
    return 0;
}

static int
fully_refunded(const Bilheteria__V1__Reservation *r)
{
    for (size_t i = 0; i < r->n_seats; i++)
        if (!r->seats[i]->refunded)
            return 0;
    for (size_t j = 0; j < r->n_items; j++)
        if (r->items[j]->refunded_quantity < r->items[j]->quantity)
            return 0;
    return 1;
}

int
srv_refund_make(srv_call *c, store_txn *t, const Bilheteria__V1__RefundPaymentRequest *q,
                const Bilheteria__V1__Payment *p, Bilheteria__V1__Reservation *r,
                Bilheteria__V1__Refund **out)
{
    pick pk;
    int64_t amount = 0;
    int rc;
    if (check_request(c, q))
        return c->code;
    if (r->status != ST(CONFIRMED) && r->status != ST(PARTIALLY_REFUNDED) &&
        r->status != ST(REFUNDED))
        return srv_fail(c, SRV_E_PRECOND, "reservation %llu is %s; only a paid one is refunded",
                        (unsigned long long)r->id, srv_resv_status_name(r->status));
    if (pick_alloc(c, r, &pk) ||
        (q->all ? pick_all(c, r, &pk) : pick_seats(c, q, r, &pk) || pick_items(c, q, r, &pk)) ||
        check_ref(c, t, q))
        return c->code;
    for (size_t i = 0; i < r->n_seats; i++)
        if (pk.seat[i])
            amount += seat_amount(r->seats[i]);
    for (size_t j = 0; j < r->n_items; j++)
        amount += item_amount(r->items[j], pk.qty[j]);
    /* The snapshots make this impossible; it is the rule that matters, so
     * it is checked, not assumed. */
    if (r->refunded_cents + amount > p->amount_cents)
        return srv_fail(c, SRV_E_PRECOND,
                        "a refund of %lld cents would bring payment %llu's refunds to %lld "
                        "cents, above the %lld cents it paid; nothing was refunded",
                        (long long)amount, (unsigned long long)p->id,
                        (long long)(r->refunded_cents + amount), (long long)p->amount_cents);
    Bilheteria__V1__Refund *f = NULL;
    if (give_back(c, t, &pk, q->keep_seats_blocked, r) || record(c, t, q, r, &pk, amount, &f))
        return c->code;
    uint64_t *ids = bh__arena_alloc(c->arena, (r->n_refund_ids + 1) * sizeof(*ids));
    if (ids == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (r->n_refund_ids > 0)
        memcpy(ids, r->refund_ids, r->n_refund_ids * sizeof(*ids));
    ids[r->n_refund_ids++] = f->id;
    r->refund_ids = ids;
    r->refunded_cents += amount;
    r->updated_at_ms = c->now_ms;
    r->status = ST(PARTIALLY_REFUNDED);
    if (fully_refunded(r)) {
        r->status = ST(REFUNDED);
        if ((rc = srv_coupon_refund(t, &c->arena->pc, r)) != STORE_OK)
            return srv_store_fail(c, rc, "coupon");
    }
    if ((rc = store_resv_put(t, r, 0)) != STORE_OK)
        return srv_store_fail(c, rc, "reservation");
    /* The sales report books it in the same transaction. */
    if ((rc = srv_report_refund(t, &c->arena->pc, r, amount, c->now_ms)) != STORE_OK)
        return srv_store_fail(c, rc, "sales counters");
    *out = f;
    return 0;
}

int
srv_refund_fill(srv_call *c, store_txn *t, Bilheteria__V1__Payment *p,
                const Bilheteria__V1__Reservation *r)
{
    if (r->payment_id != p->id || r->n_refund_ids == 0)
        return 0;
    p->refunds = bh__arena_alloc(c->arena, r->n_refund_ids * sizeof(*p->refunds));
    if (p->refunds == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < r->n_refund_ids; i++) {
        int rc = store_refund_get(t, r->refund_ids[i], &c->arena->pc, &p->refunds[i]);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "refund");
    }
    p->n_refunds = r->n_refund_ids;
    p->refunded_cents = r->refunded_cents;
    return 0;
}

/* Refunds everything left of r, the reservation p paid, for reason. */
static int
refund_rest(srv_call *c, store_txn *t, Bilheteria__V1__Reservation *r, const char *reason,
            Bilheteria__V1__Refund **out)
{
    Bilheteria__V1__Payment *p = NULL;
    Bilheteria__V1__RefundPaymentRequest q = BILHETERIA__V1__REFUND_PAYMENT_REQUEST__INIT;
    int rc = store_payment_get(t, r->payment_id, &c->arena->pc, &p);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "payment");
    q.payment_id = p->id;
    q.all = 1;
    q.reason = (char *)reason;
    return srv_refund_make(c, t, &q, p, r, out);
}

int
srv_refund_cancel_paid(srv_call *c, store_txn *t, Bilheteria__V1__Reservation *r)
{
    Bilheteria__V1__Refund *f = NULL;
    if (c->identity.role == SRV_ROLE_CUSTOMER)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__PERMISSION_DENIED,
                        "reservation %llu is paid: cancelling it refunds it, which only the box "
                        "office (role admin or service) may do",
                        (unsigned long long)r->id);
    if (c->idem_key[0] == 0)
        return srv_fail(c, SRV_E_INVALID,
                        "reservation %llu is paid: cancelling it refunds it, and a refund "
                        "requires an idempotency key",
                        (unsigned long long)r->id);
    return refund_rest(c, t, r, "reservation cancelled", &f);
}

/* ---- cancelled sessions ---- */

/* Releases or refunds one reservation of a cancelled session, in a nested
 * transaction of its own. One that cannot be handled is logged and left
 * as it is (c's code cleared), so that it never stops the others; only a
 * full map (the batch is tried again on a larger one) is returned. */
static int
cancel_one(srv_call *c, store_txn *t, Bilheteria__V1__Session *s, const char *reason,
           Bilheteria__V1__Reservation *r)
{
    Bilheteria__V1__CancelProgress *pg = s->cancel_progress;
    Bilheteria__V1__Refund *f = NULL;
    store_txn *child = NULL;
    int status = r->status, rc = store_nested_begin(t, &child);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "nested transaction");
    /* No call's answer carries these changes: their feed entries are made
     * here (an expiry's by srv_resv_release). */
    if (status == ST(PENDING)) {
        int to = r->expires_at_ms <= c->now_ms ? ST(EXPIRED) : ST(CANCELLED);
        rc = srv_resv_release(child, c->env->seats, c->env->tally, &c->arena->pc, r, to, c->now_ms);
        if (rc == STORE_OK && to == ST(CANCELLED))
            rc = srv_feed_append(child, c->now_ms, "reservation.cancelled", NULL, &r->base);
        if (rc != STORE_OK)
            srv_store_fail(c, rc, "reservation");
    } else if (status == ST(CONFIRMED) || status == ST(PARTIALLY_REFUNDED)) {
        if (refund_rest(c, child, r, reason, &f) == 0 &&
            ((rc = srv_feed_append(child, c->now_ms, "refund.created", NULL, &f->base)) !=
                 STORE_OK ||
             (rc = srv_feed_append(child, c->now_ms, "reservation.refunded", NULL, &r->base)) !=
                 STORE_OK))
            srv_store_fail(c, rc, "change feed");
    } else {
        store_abort(child);
        return 0;
    }
    if (c->code == 0 && (rc = store_commit(child)) != STORE_OK)
        srv_store_fail(c, rc, "commit");
    else if (c->code != 0)
        store_abort(child);
    if (c->code == SRV_STATUS_MAP_FULL)
        return c->code;
    if (c->code != 0) {
        srv_seatcache_clear(c->env->seats); /* it may hold what was undone */
        srv_log(SRV_LOG_ERROR, "cancelling session %llu: reservation %llu left as it is: %s",
                (unsigned long long)s->id, (unsigned long long)r->id, c->msg);
        c->code = 0;
        c->msg[0] = 0;
        c->field = NULL;
        return 0;
    }
    if (f != NULL) {
        pg->refunded++;
        pg->refunded_cents += f->amount_cents;
    } else {
        pg->released++;
    }
    return 0;
}

/* Handles up to SRV_REFUND_CANCEL_BATCH reservations of s from where cl
 * left off, and stores how far it went in cl (deleted once done) and s. */
static int
cancel_batch(srv_call *c, store_txn *t, Bilheteria__V1__Session *s,
             Bilheteria__Store__SessionCancel *cl)
{
    store_page pg;
    int rc = store_resv_list_by_session(t, s->id, cl->next_id, SRV_REFUND_CANCEL_BATCH,
                                        &c->arena->pc, &pg);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "reservations of the session");
    if (s->cancel_progress == NULL &&
        (s->cancel_progress =
             SRV_NEW(c, Bilheteria__V1__CancelProgress, bilheteria__v1__cancel_progress)) == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < pg.n; i++)
        if (cancel_one(c, t, s, cl->reason, pg.items[i]))
            return c->code;
    if (pg.next_id == 0) {
        s->cancel_progress->done = 1;
        s->cancel_progress->done_at_ms = c->now_ms;
        rc = store_cancel_del(t, s->id);
    } else {
        cl->next_id = pg.next_id;
        rc = store_cancel_put(t, s->id, cl);
    }
    s->updated_at_ms = c->now_ms;
    if (rc != STORE_OK || (rc = store_session_put(t, s)) != STORE_OK)
        return srv_store_fail(c, rc, "session");
    return 0;
}

int
srv_refund_cancel_session(srv_call *c, store_txn *t, Bilheteria__V1__Session *s, const char *reason)
{
    Bilheteria__Store__SessionCancel cl = BILHETERIA__STORE__SESSION_CANCEL__INIT;
    if (s->status == SESS(CANCELLED)) {
        char when[SRV_TIME_LEN];
        srv_fmt_time(s->cancelled_at_ms, when);
        return srv_fail(c, SRV_E_PRECOND, "session %llu was cancelled already at %s",
                        (unsigned long long)s->id, when);
    }
    s->status = SESS(CANCELLED);
    s->cancel_reason = (char *)reason;
    s->cancelled_at_ms = c->now_ms;
    s->cancel_progress = NULL;
    cl.reason = (char *)reason;
    if (reason[0] == 0)
        cl.reason = "session cancelled";
    return cancel_batch(c, t, s, &cl);
}

int
srv_refund_cancel_step(store_txn *t, const srv_env *env, bh__arena *a, int64_t now_ms, int *more)
{
    srv_call c = { .arena = a, .env = env, .now_ms = now_ms, .idem_key = "" };
    Bilheteria__Store__SessionCancel *cl = NULL;
    Bilheteria__V1__Session *s = NULL;
    store_txn *child = NULL;
    uint64_t sid;
    *more = 0;
    int rc = store_cancel_first(t, &sid);
    if (rc != STORE_OK)
        return rc == STORE_NOTFOUND ? STORE_OK : rc;
    if ((rc = store_nested_begin(t, &child)) != STORE_OK)
        return rc;
    if ((rc = store_cancel_get(child, sid, &a->pc, &cl)) != STORE_OK ||
        (rc = store_session_get(child, sid, &a->pc, &s)) != STORE_OK)
        srv_store_fail(&c, rc, "session cancellation");
    else
        cancel_batch(&c, child, s, cl);
    if (c.code == 0) {
        *more = 1; /* this one or another: the next step says */
        return store_commit(child);
    }
    store_abort(child);
    srv_seatcache_clear(env->seats);
    if (c.code == SRV_STATUS_MAP_FULL)
        return STORE_MAP_FULL;
    /* Tried again at the next sweep. */
    srv_log(SRV_LOG_ERROR, "cancelling session %llu: %s", (unsigned long long)sid, c.msg);
    return STORE_OK;
}
