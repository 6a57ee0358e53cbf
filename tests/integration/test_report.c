/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: sales reports against a recount from the reservations after
 * a randomized mix of holds, payments, expiries, cancellations, coupons,
 * price zones, refunds, a waiting-list offer and a cancelled session; add-on
 * recommendations from a known purchase history. A real server each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define ST(x)  BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define BY(x)  BILHETERIA__V1__REPORT_GROUP_BY__REPORT_GROUP_BY_##x
#define SRC(x) BILHETERIA__V1__RECOMMENDATION_SOURCE__RECOMMENDATION_SOURCE_##x
#define DAY_MS 86400000LL

typedef Bilheteria__V1__Reservation Resv;
typedef Bilheteria__V1__SalesFigures Figures;

static uint64_t rng_state;

static uint32_t
rnd(uint32_t n)
{
    /* xorshift64*: the same mix for the same seed */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

/* What a hold asks for besides its seats and items: the zone to pick in
 * and the coupon ("" for none), or seats by label ("D1,E1"). */
struct hold_opts {
    const char *zone, *coupon, *seats;
};

/* Holds the best n seats of session (or o's seats) with items (product
 * ids[i] x qty[i]). Returns the reservation (caller frees) or NULL with *st
 * set. */
static Resv *
hold(bh_client *c, uint64_t session, const char *user, uint32_t n, uint32_t half,
     const uint64_t *ids, const int32_t *qty, size_t n_items, int32_t ttl_s,
     const struct hold_opts *o, bh_status *st)
{
    bht_hold h = { .session = session, .user = user, .best = n, .half = half, .ttl_s = ttl_s };
    Resv *r = NULL;
    for (size_t i = 0; i < n_items && i < sizeof(h.items) / sizeof(h.items[0]); i++)
        h.items[i] = (bht_item){ ids[i], qty[i] };
    if (o != NULL) {
        h.zone = o->zone;
        h.coupon = o->coupon;
        h.seats = o->seats;
        h.best = o->seats != NULL ? 0 : n;
    }
    return bht_reserve(c, &h, &r, st) == BH_OK ? r : NULL;
}

/* Pays amount of resv (no method named) with a key of its own. */
static int
pay(bh_client *c, uint64_t resv, int64_t amount, bh_status *st)
{
    static unsigned keys;
    char key[32];
    snprintf(key, sizeof(key), "report-pay-%u", ++keys);
    bht_payment p = { .reservation = resv, .amount = amount, .key = key, .method = "" };
    return bht_pay(c, &p, NULL, st);
}

/* Cancels a hold, or refunds what is left of a paid reservation (the key
 * that requires). */
static int
cancel(bh_client *c, uint64_t resv, bh_status *st)
{
    static unsigned keys;
    char key[32];
    snprintf(key, sizeof(key), "report-cancel-%u", ++keys);
    return bht_cancel(c, resv, key, NULL, st);
}

/* Refunds of payment: everything left (seat and item NULL), or the seat
 * labelled seat and/or one unit of product *item. */
static int
refund(bh_client *c, uint64_t payment, const char *seat, const uint64_t *item, bh_status *st)
{
    static unsigned keys;
    char key[32];
    snprintf(key, sizeof(key), "report-refund-%u", ++keys);
    bht_refund_ask a = { .payment = payment,
                         .all = seat == NULL && item == NULL,
                         .seats = seat,
                         .key = key,
                         .reason = "report test" };
    if (item != NULL)
        a.items[0] = (bht_item){ *item, 1 };
    return bht_refund(c, &a, NULL, st);
}

static void
coupon(bh_client *c, const char *code, uint32_t percent, int64_t amount, int applies_to,
       int include_meia)
{
    Bilheteria__V1__CreateCouponRequest req = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
    Bilheteria__V1__CreateCouponResponse *resp = NULL;
    bh_status st;
    req.code = (char *)code;
    req.percent = percent;
    req.amount_cents = amount;
    req.applies_to = applies_to;
    req.include_meia = include_meia;
    if (bh_coupon_create_coupon(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("coupon %s: %s", code, st.message);
    bilheteria__v1__create_coupon_response__free_unpacked(resp, NULL);
}

static Bilheteria__V1__GetSalesReportResponse *
report(bh_client *c, uint64_t event, uint64_t session, int64_t from, int64_t to, int by)
{
    Bilheteria__V1__GetSalesReportRequest req = BILHETERIA__V1__GET_SALES_REPORT_REQUEST__INIT;
    Bilheteria__V1__GetSalesReportResponse *resp = NULL;
    bh_status st;
    req.event_id = event;
    req.session_id = session;
    req.from_ms = from;
    req.to_ms = to;
    req.group_by = by;
    if (bh_report_get_sales_report(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("report: %s: %s", bh_code_name(st.code), st.message);
    return resp;
}

/* ---- the recount ---- */

#define SESSIONS 6 /* A: 0, 1, 3 (zoned); B: 2, 4 (small, cancelled), 5 (zones swapped) */
#define MIXED    4 /* the random mix uses sessions 0..3 */
#define USERS    6 /* the random mix's buyers; the 7th waits for a seat */
#define GROUPS   128
#define ZONE_LEN 33

/* What the counters should say, summed per (session, day, zone). */
struct expect {
    uint64_t session;
    int64_t day;
    char zone[ZONE_LEN];
    Figures f;
};

static struct expect exp_rows[GROUPS];
static size_t n_exp;

/* What the mix exercised, as read back by the last recount. */
static struct {
    size_t discounted, partly_refunded, refunded, refunds, offers, zoned_seats;
} seen;

static Figures *
exp_at(uint64_t session, int64_t ms, const char *zone)
{
    int64_t day = ms / DAY_MS;
    for (size_t i = 0; i < n_exp; i++)
        if (exp_rows[i].session == session && exp_rows[i].day == day &&
            strcmp(exp_rows[i].zone, zone) == 0)
            return &exp_rows[i].f;
    assert_true(n_exp < GROUPS && strlen(zone) < ZONE_LEN);
    Figures zero = BILHETERIA__V1__SALES_FIGURES__INIT;
    exp_rows[n_exp].session = session;
    exp_rows[n_exp].day = day;
    strcpy(exp_rows[n_exp].zone, zone);
    exp_rows[n_exp].f = zero;
    return &exp_rows[n_exp++].f;
}

/* Books what r's payment p sold and what its refunds gave back: tickets,
 * their gross and discounts to each seat's zone on the payment's day; the
 * rest to the first seat's zone, refunds on their own days. Checks the
 * reservation, the payment and its refunds agree on the way. */
static void
recount_paid(const Resv *r, const Bilheteria__V1__Payment *p, const char *zone)
{
    Figures *f = exp_at(r->session_id, p->created_at_ms, zone);
    int64_t discounts = 0, refunded = 0;
    size_t seats_refunded = 0, seats_flagged = 0;
    assert_int_equal(p->reservation_id, r->id);
    assert_int_equal(p->amount_cents, r->total_cents);
    f->holds_converted++;
    for (size_t i = 0; i < r->n_items; i++) {
        f->products_units += r->items[i]->quantity;
        f->discount_cents += r->items[i]->discount_cents;
        discounts += r->items[i]->discount_cents;
    }
    f->products_cents += r->items_subtotal_cents;
    f->gross_cents += r->items_subtotal_cents;
    for (size_t i = 0; i < r->n_seats; i++) {
        const Bilheteria__V1__ReservedSeat *seat = r->seats[i];
        Figures *z = exp_at(r->session_id, p->created_at_ms, seat->zone);
        if (seat->type == BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA)
            z->tickets_meia++;
        else
            z->tickets_inteira++;
        z->gross_cents += seat->price_cents;
        z->discount_cents += seat->discount_cents;
        discounts += seat->discount_cents;
        seats_flagged += seat->refunded != 0;
        seen.zoned_seats += seat->zone[0] != 0;
    }
    /* The lines' discounts are the reservation's, no cent lost. */
    assert_int_equal(discounts, r->discount_cents);
    seen.discounted += discounts > 0;
    assert_int_equal(p->n_refunds, r->n_refund_ids);
    for (size_t i = 0; i < p->n_refunds; i++) {
        const Bilheteria__V1__Refund *rf = p->refunds[i];
        Figures *d = exp_at(r->session_id, rf->created_at_ms, zone);
        assert_int_equal(rf->id, r->refund_ids[i]);
        d->refund_cents += rf->amount_cents;
        d->refunds++;
        refunded += rf->amount_cents;
        seats_refunded += rf->n_seats;
    }
    seen.refunds += p->n_refunds;
    assert_int_equal(refunded, r->refunded_cents);
    assert_int_equal(p->refunded_cents, r->refunded_cents);
    assert_int_equal(seats_refunded, seats_flagged);
    if (r->status == ST(CONFIRMED)) {
        assert_int_equal(p->n_refunds, 0);
    } else if (r->status == ST(PARTIALLY_REFUNDED)) {
        assert_true(p->n_refunds > 0 && r->refunded_cents <= p->amount_cents);
        seen.partly_refunded++;
    } else {
        /* Refunded in full: every cent paid came back. */
        assert_int_equal(r->refunded_cents, p->amount_cents);
        seen.refunded++;
    }
}

/* Books one reservation as it is now, the way report.h says the server
 * does: each change on its day, to the zone of the first seat. */
static void
recount_one(bh_client *c, const Resv *r)
{
    const char *zone = r->n_seats > 0 ? r->seats[0]->zone : "";
    exp_at(r->session_id, r->created_at_ms, zone)->holds_created++;
    seen.offers += r->waitlist_offer;
    if (r->status == ST(EXPIRED)) {
        exp_at(r->session_id, r->expires_at_ms, zone)->holds_expired++;
    } else if (r->status == ST(CANCELLED)) {
        exp_at(r->session_id, r->updated_at_ms, zone)->holds_cancelled++;
    } else if (r->status == ST(CONFIRMED) || r->status == ST(PARTIALLY_REFUNDED) ||
               r->status == ST(REFUNDED)) {
        assert_true(r->payment_id != 0);
        Bilheteria__V1__Payment *p = bht_get_payment(c, r->payment_id);
        recount_paid(r, p, zone);
        bilheteria__v1__payment__free_unpacked(p, NULL);
    }
}

static void
recount(bh_client *c, const char *const *users, size_t n_users)
{
    n_exp = 0;
    memset(&seen, 0, sizeof(seen));
    for (size_t u = 0; u < n_users; u++) {
        char *token = NULL;
        do {
            Bilheteria__V1__ListReservationsRequest req =
                BILHETERIA__V1__LIST_RESERVATIONS_REQUEST__INIT;
            Bilheteria__V1__ListReservationsResponse *resp = NULL;
            bh_status st;
            req.user_id = (char *)users[u];
            req.page_size = 7; /* several pages */
            req.page_token = token != NULL ? token : (char *)"";
            if (bh_reservation_list_reservations(c, &req, &resp, NULL, &st) != BH_OK)
                fail_msg("list: %s", st.message);
            for (size_t i = 0; i < resp->n_reservations; i++)
                recount_one(c, resp->reservations[i]);
            free(token);
            token = resp->next_page_token[0] ? strdup(resp->next_page_token) : NULL;
            bilheteria__v1__list_reservations_response__free_unpacked(resp, NULL);
        } while (token != NULL);
    }
}

static void
figures_add(Figures *to, const Figures *d)
{
    to->tickets_inteira += d->tickets_inteira;
    to->tickets_meia += d->tickets_meia;
    to->gross_cents += d->gross_cents;
    to->discount_cents += d->discount_cents;
    to->refund_cents += d->refund_cents;
    to->products_units += d->products_units;
    to->products_cents += d->products_cents;
    to->holds_created += d->holds_created;
    to->holds_expired += d->holds_expired;
    to->holds_cancelled += d->holds_cancelled;
    to->holds_converted += d->holds_converted;
    to->refunds += d->refunds;
}

/* Whether got has every counter of want (net and the rate derived). */
static int
figures_equal(const Figures *got, const Figures *want, char *why, size_t len)
{
#define SAME(f)                                                                                    \
    if (got->f != want->f) {                                                                       \
        snprintf(why, len, #f ": report %lld, recount %lld", (long long)got->f,                    \
                 (long long)want->f);                                                              \
        return 0;                                                                                  \
    }
    SAME(tickets_inteira)
    SAME(tickets_meia)
    SAME(gross_cents)
    SAME(discount_cents)
    SAME(refund_cents)
    SAME(products_units)
    SAME(products_cents)
    SAME(holds_created)
    SAME(holds_expired)
    SAME(holds_cancelled)
    SAME(holds_converted)
    SAME(refunds)
#undef SAME
    int64_t net = want->gross_cents - want->discount_cents - want->refund_cents;
    double rate =
        want->holds_created ? (double)want->holds_converted / (double)want->holds_created : 0.0;
    if (got->net_cents != net || got->conversion_rate != rate) {
        snprintf(why, len, "net %lld (want %lld) or rate %f (want %f)", (long long)got->net_cents,
                 (long long)net, got->conversion_rate, rate);
        return 0;
    }
    return 1;
}

/* A group's key: its day, session or zone name as by says. */
struct gkey {
    uint64_t num;
    const char *zone;
};

static struct gkey
gkey_of(int by, uint64_t session, int64_t day, const char *zone)
{
    struct gkey k = { by == BY(SESSION) ? session
                      : by == BY(ZONE)  ? 0
                                        : (uint64_t)day,
                      by == BY(ZONE) ? zone : "" };
    return k;
}

static size_t
gkey_find(const struct gkey *keys, size_t n, struct gkey k)
{
    size_t i = 0;
    while (i < n && (keys[i].num != k.num || strcmp(keys[i].zone, k.zone) != 0))
        i++;
    return i;
}

/* The recount of the sessions in[0..n) grouped as by would group it. */
static size_t
expected_groups(const uint64_t *in, size_t n, int by, struct gkey *keys, Figures *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n_exp; i++) {
        int mine = 0;
        for (size_t j = 0; j < n; j++)
            mine |= exp_rows[i].session == in[j];
        if (!mine)
            continue;
        struct gkey key = gkey_of(by, exp_rows[i].session, exp_rows[i].day, exp_rows[i].zone);
        size_t g = gkey_find(keys, k, key);
        if (g == k) {
            Figures zero = BILHETERIA__V1__SALES_FIGURES__INIT;
            keys[k] = key;
            out[k++] = zero;
        }
        figures_add(&out[g], &exp_rows[i].f);
    }
    return k;
}

/* Compares one report with the recount; why says the first difference. */
static int
report_matches(const Bilheteria__V1__GetSalesReportResponse *r, const uint64_t *in, size_t n,
               int by, char *why, size_t len)
{
    struct gkey keys[GROUPS];
    Figures want[GROUPS], total = BILHETERIA__V1__SALES_FIGURES__INIT;
    size_t k = expected_groups(in, n, by, keys, want);
    if (r->n_groups != k) {
        snprintf(why, len, "%zu groups, recount has %zu", r->n_groups, k);
        return 0;
    }
    for (size_t g = 0; g < r->n_groups; g++) {
        const Bilheteria__V1__SalesGroup *sg = r->groups[g];
        size_t i = gkey_find(keys, k, gkey_of(by, sg->session_id, sg->day_ms / DAY_MS, sg->zone));
        if (i == k) {
            snprintf(why, len, "group %s is not in the recount", sg->label);
            return 0;
        }
        if (!figures_equal(sg->figures, &want[i], why, len)) {
            size_t used = strlen(why);
            snprintf(why + used, len - used, " (group %s)", sg->label);
            return 0;
        }
        figures_add(&total, &want[i]);
    }
    return figures_equal(r->total, &total, why, len);
}

static const char *const users[USERS + 1] = { "ana", "bia", "caio", "davi", "eva", "fabio", "gil" };

struct zone_def {
    const char *name;
    uint32_t first, last;
    int64_t price;
};

/* zp[0..n) made of def[0..n), in z. */
static void
zones_of(const struct zone_def *def, size_t n, Bilheteria__V1__PriceZone *z,
         Bilheteria__V1__PriceZone **zp)
{
    for (size_t i = 0; i < n; i++) {
        Bilheteria__V1__PriceZone one = BILHETERIA__V1__PRICE_ZONE__INIT;
        one.name = (char *)def[i].name;
        one.first_row = def[i].first;
        one.last_row = def[i].last;
        one.price_cents = def[i].price;
        z[i] = one;
        zp[i] = &z[i];
    }
}

/* A session of event with the price zones def[0..n) over rows of per_row. */
static uint64_t
zoned_session(bh_client *c, uint64_t event, uint32_t rows, uint32_t per_row,
              const struct zone_def *def, size_t n)
{
    Bilheteria__V1__CreateSessionRequest req = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    Bilheteria__V1__CreateSessionResponse *resp = NULL;
    Bilheteria__V1__PriceZone z[4], *zp[4];
    bh_status st;
    zones_of(def, n, z, zp);
    req.event_id = event;
    req.starts_at_ms = 1924992000000LL;
    req.rows = rows;
    req.seats_per_row = per_row;
    req.room = "Sala 2";
    req.zones = zp;
    req.n_zones = n;
    if (bh_session_create_session(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("create zoned session: %s", st.message);
    uint64_t id = resp->session->id;
    bilheteria__v1__create_session_response__free_unpacked(resp, NULL);
    return id;
}

/* Holds with o and pays; the reservation as paid (caller frees). */
static Resv *
hold_paid(bh_client *c, uint64_t session, const char *user, uint32_t n, uint32_t half,
          const uint64_t *ids, const int32_t *qty, size_t n_items, const struct hold_opts *o)
{
    bh_status st;
    Resv *r = hold(c, session, user, n, half, ids, qty, n_items, 0, o, &st);
    if (r == NULL)
        fail_msg("hold in session %llu: %s", (unsigned long long)session, st.message);
    if (pay(c, r->id, r->total_cents, &st) != BH_OK)
        fail_msg("pay %llu: %s", (unsigned long long)r->id, st.message);
    uint64_t id = r->id;
    bilheteria__v1__reservation__free_unpacked(r, NULL);
    return bht_reservation(c, id);
}

/* Refunds paid reservation id at random: not at all, a seat (and a unit
 * of its first product), everything, or a seat and then the rest (by
 * RefundPayment, or by cancelling the reservation). Returns how many
 * refunds it made. */
static int
refund_some(bh_client *c, uint64_t id)
{
    Resv *r = bht_reservation(c, id);
    bh_status st;
    int made = 0, how = (int)rnd(5);
    const char *seat = r->seats[rnd((uint32_t)r->n_seats)]->label;
    const uint64_t *item = r->n_items > 0 && rnd(2) ? &r->items[0]->product_id : NULL;
    if (how == 1 || how >= 3) {
        if (refund(c, r->payment_id, seat, item, &st) != BH_OK)
            fail_msg("refund seat %s of %llu: %s", seat, (unsigned long long)id, st.message);
        made++;
        bilheteria__v1__reservation__free_unpacked(r, NULL);
        r = bht_reservation(c, id); /* that may have been all of it */
    }
    if (how >= 2 && r->status != ST(REFUNDED)) {
        if ((how == 4 ? cancel(c, id, &st) : refund(c, r->payment_id, NULL, NULL, &st)) != BH_OK)
            fail_msg("refund all of %llu: %s", (unsigned long long)id, st.message);
        made++;
    }
    bilheteria__v1__reservation__free_unpacked(r, NULL);
    return made;
}

/* Fills small session s (2 rows of 4), puts gil on its waiting list,
 * refunds one seat (offered to gil, who may pay it) and cancels the
 * session: what was paid is refunded, an offer left is cancelled. */
static void
offer_and_cancel(bh_client *c, uint64_t s, const uint64_t *prod)
{
    uint64_t popcorn = prod[0];
    int32_t two = 2;
    struct hold_opts dez = { .zone = "", .coupon = "DEZ" };
    Resv *a = hold_paid(c, s, "bia", 4, 0, &popcorn, &two, 1, &dez);
    Resv *b = hold_paid(c, s, "caio", 4, 1, NULL, NULL, 0, NULL);
    Bilheteria__V1__JoinWaitlistRequest jq = BILHETERIA__V1__JOIN_WAITLIST_REQUEST__INIT;
    Bilheteria__V1__JoinWaitlistResponse *jr = NULL;
    bh_status st;
    jq.session_id = s;
    jq.user_id = "gil";
    jq.seats = 1;
    if (bh_waitlist_join_waitlist(c, &jq, &jr, NULL, &st) != BH_OK)
        fail_msg("join: %s", st.message);
    bilheteria__v1__join_waitlist_response__free_unpacked(jr, NULL);
    if (refund(c, a->payment_id, a->seats[1]->label, NULL, &st) != BH_OK)
        fail_msg("refund: %s", st.message);

    Bilheteria__V1__GetWaitlistEntryRequest gq = BILHETERIA__V1__GET_WAITLIST_ENTRY_REQUEST__INIT;
    Bilheteria__V1__GetWaitlistEntryResponse *gr = NULL;
    gq.session_id = s;
    gq.user_id = "gil";
    if (bh_waitlist_get_waitlist_entry(c, &gq, &gr, NULL, &st) != BH_OK)
        fail_msg("waitlist entry: %s", st.message);
    assert_true(gr->entry->reservation_id != 0); /* the seat was offered */
    if (rnd(2)) { /* taken (and refunded below) or left (and cancelled) */
        Resv *offer = bht_reservation(c, gr->entry->reservation_id);
        if (pay(c, offer->id, offer->total_cents, &st) != BH_OK)
            fail_msg("pay the offer: %s", st.message);
        bilheteria__v1__reservation__free_unpacked(offer, NULL);
    }
    bilheteria__v1__get_waitlist_entry_response__free_unpacked(gr, NULL);

    Bilheteria__V1__CancelSessionRequest cq = BILHETERIA__V1__CANCEL_SESSION_REQUEST__INIT;
    Bilheteria__V1__CancelSessionResponse *cr = NULL;
    bh_call_opts o = { .idempotency_key = "report-cancel-session" };
    cq.id = s;
    cq.reason = "storm";
    if (bh_session_cancel_session(c, &cq, &cr, &o, &st) != BH_OK)
        fail_msg("cancel session: %s", st.message);
    bilheteria__v1__cancel_session_response__free_unpacked(cr, NULL);
    bilheteria__v1__reservation__free_unpacked(a, NULL);
    bilheteria__v1__reservation__free_unpacked(b, NULL);
}

static const struct zone_def rooms[3] = { { "Plateia", 0, 3, 6000 },
                                          { "Balcao", 4, 7, 4000 },
                                          { "Camarote", 8, 9, 9000 } },
                             vip_first[2] = { { "VIP", 0, 0, 5000 }, { "Geral", 1, 1, 3000 } },
                             geral_first[2] = { { "Geral", 0, 0, 3000 }, { "VIP", 1, 1, 5000 } };

/* Session s (vip_first) gets a hold in each zone: Geral's left to lapse
 * (returned, caller frees), VIP's cancelled. */
static Resv *
before_swap(bh_client *c, uint64_t s)
{
    bh_status st;
    struct hold_opts geral = { .zone = "Geral", .coupon = "" },
                     vip = { .zone = "VIP", .coupon = "" };
    Resv *lapsing = hold(c, s, "eva", 1, 0, NULL, NULL, 0, 1, &geral, &st);
    Resv *gone = hold(c, s, "davi", 2, 0, NULL, NULL, 0, 0, &vip, &st);
    if (lapsing == NULL || gone == NULL || cancel(c, gone->id, &st) != BH_OK)
        fail_msg("holds before the swap: %s", st.message);
    bilheteria__v1__reservation__free_unpacked(gone, NULL);
    return lapsing;
}

/* Swaps the zones of s (nothing held: the lapsed hold is swept by the
 * update), then pays the lapsed hold late: its counters stay with Geral. */
static void
swap_zones(bh_client *c, uint64_t s, Resv *lapsed)
{
    Bilheteria__V1__UpdateSessionRequest req = BILHETERIA__V1__UPDATE_SESSION_REQUEST__INIT;
    Bilheteria__V1__UpdateSessionResponse *resp = NULL;
    Bilheteria__V1__PriceZone z[2], *zp[2];
    bh_status st;
    zones_of(geral_first, 2, z, zp);
    req.id = s;
    req.set_zones = 1;
    req.zones = zp;
    req.n_zones = 2;
    if (bh_session_update_session(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("swap zones: %s", st.message);
    bilheteria__v1__update_session_response__free_unpacked(resp, NULL);
    if (pay(c, lapsed->id, lapsed->total_cents, &st) != BH_OK)
        fail_msg("late pay after the swap: %s", st.message);
    bilheteria__v1__reservation__free_unpacked(lapsed, NULL);
}

static void
test_report_matches_recount(void **state)
{
    (void)state;
    bht_server srv;
    static const char *const extra[] = { "--sweep-interval-ms", "100", NULL };
    assert_int_equal(bht_start(&srv, extra), 0);
    bh_client *c = bht_client(&srv);
    const char *seed_env = getenv("BH_TEST_SEED");
    uint64_t seed = seed_env != NULL ? strtoull(seed_env, NULL, 10) : 20261205;
    rng_state = seed ? seed : 1;
    print_message("seed %llu (BH_TEST_SEED)\n", (unsigned long long)seed);

    uint64_t e1 = bht_event(c, "Report A"), e2 = bht_event(c, "Report B");
    uint64_t sess[SESSIONS] = {
        bht_session(c, e1, 12, 10, 4000), bht_session(c, e1, 12, 10, 3000),
        bht_session(c, e2, 12, 10, 5000), zoned_session(c, e1, 10, 10, rooms, 3),
        bht_session(c, e2, 2, 4, 3500),   zoned_session(c, e2, 2, 2, vip_first, 2)
    };
    uint64_t in_a[3] = { sess[0], sess[1], sess[3] }, in_b[3] = { sess[2], sess[4], sess[5] };
    uint64_t prod[3] = { bht_product(c, "Pipoca grande", 2500, 0),
                         bht_product(c, "Refrigerante", 900, 0),
                         bht_product(c, "Chocolate", 700, 500) };
    /* Percent and fixed, of tickets, of the order, of meia-entrada too. */
    coupon(c, "DEZ", 10, 0, BILHETERIA__V1__COUPON_APPLIES_TO__COUPON_APPLIES_TO_ORDER, 0);
    coupon(c, "VINTE", 20, 0, BILHETERIA__V1__COUPON_APPLIES_TO__COUPON_APPLIES_TO_TICKETS, 1);
    coupon(c, "MENOS5", 0, 500, BILHETERIA__V1__COUPON_APPLIES_TO__COUPON_APPLIES_TO_TICKETS, 0);
    coupon(c, "MENOS3", 0, 300, BILHETERIA__V1__COUPON_APPLIES_TO__COUPON_APPLIES_TO_ORDER, 0);
    static const char *const coupons[5] = { "", "DEZ", "VINTE", "MENOS5", "MENOS3" };
    static const char *const zones[4] = { "", "Plateia", "Balcao", "Camarote" };
    /* A reservation across two zones (it books to the first seat's zone,
     * its tickets to their own), paid with a coupon, refunded a seat of the
     * second zone. */
    struct hold_opts two_zones = { .zone = "", .coupon = "DEZ", .seats = "D1,E1" };
    Resv *x = hold_paid(c, sess[3], "ana", 2, 0, prod, (const int32_t[]){ 1 }, 1, &two_zones);
    bh_status st;
    assert_string_equal(x->seats[0]->zone, "Plateia");
    assert_string_equal(x->seats[1]->zone, "Balcao");
    if (refund(c, x->payment_id, "E1", NULL, &st) != BH_OK)
        fail_msg("refund E1: %s", st.message);
    bilheteria__v1__reservation__free_unpacked(x, NULL);
    Resv *lapsing[200];
    uint64_t paid_ids[200];
    size_t n_lapsing = 0, made = 0, paid = 0, cancelled = 0, late_paid = 0, refunds = 0;
    for (int op = 0; op < 150; op++) {
        uint64_t ids[3];
        int32_t qty[3];
        size_t n_items = 0;
        for (size_t p = 0; p < 3; p++)
            if (rnd(3) == 0) {
                ids[n_items] = prod[p];
                qty[n_items++] = (int32_t)(1 + rnd(3));
            }
        uint32_t n = 1 + rnd(3), what = rnd(10), in = rnd(MIXED);
        int short_ttl = what >= 6 && what < 9; /* left to lapse */
        struct hold_opts o = { .zone = in == 3 ? zones[rnd(4)] : "",
                               .coupon = coupons[rnd(3) == 0 ? 1 + rnd(4) : 0] };
        Resv *r = hold(c, sess[in], users[rnd(USERS)], n, rnd(n + 1), ids, qty, n_items,
                       short_ttl ? 1 : 0, &o, &st);
        if (r == NULL)
            continue; /* sold out, quota, a coupon with nothing to take off: nothing booked */
        made++;
        if (what < 4) {
            if (pay(c, r->id, r->total_cents, &st) == BH_OK && paid < 200)
                paid_ids[paid++] = r->id;
        } else if (what < 6) {
            cancelled += cancel(c, r->id, &st) == BH_OK;
        } else if (short_ttl && n_lapsing < 200) {
            lapsing[n_lapsing++] = r;
            r = NULL;
        }
        if (r != NULL)
            bilheteria__v1__reservation__free_unpacked(r, NULL);
    }
    for (size_t i = 0; i < paid; i++)
        refunds += (size_t)refund_some(c, paid_ids[i]);
    offer_and_cancel(c, sess[4], prod);
    Resv *swapped = before_swap(c, sess[5]);

    /* Let the short holds lapse; pay some of them late (the sweeper may or
     * may not have released them yet: both ways are booked). */
    bht_sleep_ms(1300);
    for (size_t i = 0; i < n_lapsing; i++) {
        if (i % 3 == 0)
            late_paid += pay(c, lapsing[i]->id, lapsing[i]->total_cents, &st) == BH_OK;
        bilheteria__v1__reservation__free_unpacked(lapsing[i], NULL);
    }
    swap_zones(c, sess[5], swapped);
    print_message("%zu holds, %zu paid, %zu cancelled, %zu lapsed, %zu paid late, %zu refunds\n",
                  made, paid, cancelled, n_lapsing, late_paid, refunds);
    assert_true(made > 50 && paid > 10 && cancelled > 5 && n_lapsing > 5 && refunds > 5);

    /* The sweeper books an expiry when it releases the hold, and finishes
     * a large cancelled session: wait for it (a read shows a lapsed hold
     * EXPIRED before that). */
    char why[256] = "";
    int ok = 0, ok_a = 0;
    for (int tries = 0; tries < 100 && !ok; tries++) {
        recount(c, users, USERS + 1);
        Bilheteria__V1__GetSalesReportResponse *r = report(c, e1, 0, 0, 0, BY(DAY));
        ok = ok_a = report_matches(r, in_a, 3, BY(DAY), why, sizeof(why));
        bilheteria__v1__get_sales_report_response__free_unpacked(r, NULL);
        if (ok) {
            r = report(c, e2, 0, 0, 0, BY(DAY));
            ok = report_matches(r, in_b, 3, BY(DAY), why, sizeof(why));
            bilheteria__v1__get_sales_report_response__free_unpacked(r, NULL);
        }
        if (!ok)
            bht_sleep_ms(100);
    }
    if (!ok)
        fail_msg("event %s by day: %s", ok_a ? "B" : "A", why);
    /* The mix did what it is for. */
    print_message("%zu discounted, %zu partly and %zu fully refunded (%zu refunds), %zu seats "
                  "in zones, %zu offers\n",
                  seen.discounted, seen.partly_refunded, seen.refunded, seen.refunds,
                  seen.zoned_seats, seen.offers);
    assert_true(seen.discounted > 5 && seen.partly_refunded > 2 && seen.refunded > 2 &&
                seen.zoned_seats > 10 && seen.offers == 1);

    /* The counters are written with the sales they count: a crash keeps
     * both or neither. */
    bh_client_close(c);
    bht_kill9(&srv);
    assert_int_equal(bht_restart(&srv), 0);
    c = bht_client(&srv);
    recount(c, users, USERS + 1);

    /* Every grouping, each event and session on its own. */
    struct {
        uint64_t event, session;
        int by;
        const uint64_t *in;
        size_t n;
    } cases[] = {
        { e1, 0, BY(SESSION), in_a, 3 },          { e1, 0, BY(ZONE), in_a, 3 },
        { e1, 0, BY(UNSPECIFIED), in_a, 3 },      { e2, 0, BY(DAY), in_b, 3 },
        { e2, 0, BY(SESSION), in_b, 3 },          { e2, 0, BY(ZONE), in_b, 3 },
        { 0, sess[0], BY(DAY), sess, 1 },         { 0, sess[1], BY(SESSION), sess + 1, 1 },
        { 0, sess[3], BY(ZONE), sess + 3, 1 },    { 0, sess[3], BY(DAY), sess + 3, 1 },
        { 0, sess[4], BY(SESSION), sess + 4, 1 }, { 0, sess[5], BY(ZONE), sess + 5, 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Bilheteria__V1__GetSalesReportResponse *r =
            report(c, cases[i].event, cases[i].session, 0, 0, cases[i].by);
        if (!report_matches(r, cases[i].in, cases[i].n,
                            cases[i].by == BY(UNSPECIFIED) ? BY(DAY) : cases[i].by, why,
                            sizeof(why)))
            fail_msg("case %zu (event %llu session %llu by %d): %s", i,
                     (unsigned long long)cases[i].event, (unsigned long long)cases[i].session,
                     cases[i].by, why);
        bilheteria__v1__get_sales_report_response__free_unpacked(r, NULL);
    }
    /* The zoned session's report has a group per zone sold. */
    Bilheteria__V1__GetSalesReportResponse *r = report(c, 0, sess[3], 0, 0, BY(ZONE));
    assert_int_equal(r->n_groups, 3);
    bilheteria__v1__get_sales_report_response__free_unpacked(r, NULL);

    /* The range is read by whole UTC days: one ms into today is today;
     * from tomorrow on is nothing. */
    int64_t today = exp_rows[0].day * DAY_MS;
    r = report(c, e1, 0, today, today + 1, BY(DAY));
    assert_true(r->n_groups >= 1);
    assert_int_equal(r->from_ms, today);
    assert_int_equal(r->to_ms, today + DAY_MS);
    bilheteria__v1__get_sales_report_response__free_unpacked(r, NULL);
    r = report(c, e1, 0, today + 2 * DAY_MS, today + 3 * DAY_MS, BY(DAY));
    assert_int_equal(r->n_groups, 0);
    assert_int_equal(r->total->holds_created, 0);
    bilheteria__v1__get_sales_report_response__free_unpacked(r, NULL);

    /* The CLI's table and CSV say the same. */
    char sid[32], *out = NULL, *err = NULL;
    snprintf(sid, sizeof(sid), "%llu", (unsigned long long)sess[0]);
    const char *const csv[] = { "report", "sales",   "--session", sid,
                                "--by",   "session", "--csv",     NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, csv), 0);
    r = report(c, 0, sess[0], 0, 0, BY(SESSION));
    char line[256];
    snprintf(line, sizeof(line), "\nsession %s,0,%s,,%lld,%lld,%lld,%lld,%lld,%lld,", sid, sid,
             (long long)r->total->tickets_inteira, (long long)r->total->tickets_meia,
             (long long)r->total->gross_cents, (long long)r->total->discount_cents,
             (long long)r->total->refund_cents, (long long)r->total->net_cents);
    if (strstr(out, line) == NULL)
        fail_msg("CSV has no line starting %s:\n%s", line + 1, out);
    bilheteria__v1__get_sales_report_response__free_unpacked(r, NULL);
    free(out);
    free(err);
    const char *const table[] = { "report", "sales", "--session", sid, NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, table), 0);
    assert_non_null(strstr(out, "CONVERSION"));
    assert_non_null(strstr(out, "\nTOTAL "));
    free(out);
    free(err);

    /* Bad input is named. */
    const char *const both[] = { "report", "sales", "--session", sid, "--event", "1", NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, both), 2);
    free(out);
    free(err);
    Bilheteria__V1__GetSalesReportRequest bad = BILHETERIA__V1__GET_SALES_REPORT_REQUEST__INIT;
    Bilheteria__V1__GetSalesReportResponse *resp = NULL;
    bad.event_id = e1;
    bad.from_ms = 2000;
    bad.to_ms = 1000;
    assert_int_equal(bh_report_get_sales_report(c, &bad, &resp, NULL, &st), BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "to_ms 1000 must be after from_ms 2000"));
    bad.event_id = 999;
    bad.to_ms = 0;
    assert_int_equal(bh_report_get_sales_report(c, &bad, &resp, NULL, &st), BH_NOT_FOUND);

    bh_client_close(c);
    assert_int_equal(bht_cleanup(&srv), 0);
}

/* ---- recommendations ---- */

/* Pays one order of session with the products ids[0..n) (one each). */
static void
order(bh_client *c, uint64_t session, const uint64_t *ids, size_t n)
{
    int32_t qty[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    bh_status st;
    Resv *r = hold(c, session, "rita", 1, 0, ids, qty, n, 0, NULL, &st);
    if (r == NULL)
        fail_msg("hold: %s", st.message);
    if (pay(c, r->id, r->total_cents, &st) != BH_OK)
        fail_msg("pay: %s", st.message);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
}

static Bilheteria__V1__RecommendProductsResponse *
recommend(bh_client *c, uint64_t resv, const uint64_t *ids, size_t n, uint64_t event,
          uint32_t min_support)
{
    Bilheteria__V1__RecommendProductsRequest req = BILHETERIA__V1__RECOMMEND_PRODUCTS_REQUEST__INIT;
    Bilheteria__V1__RecommendProductsResponse *resp = NULL;
    bh_status st;
    req.reservation_id = resv;
    req.product_ids = (uint64_t *)ids;
    req.n_product_ids = n;
    req.event_id = event;
    req.min_support = min_support;
    if (bh_report_recommend_products(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("recommend: %s: %s", bh_code_name(st.code), st.message);
    return resp;
}

struct want {
    uint64_t product;
    int source;
    double score;
    const char *reason;
};

static void
check_ranking(const Bilheteria__V1__RecommendProductsResponse *r, const struct want *w, size_t n)
{
    if (r->n_recommendations != n)
        fail_msg("%zu recommendations, want %zu", r->n_recommendations, n);
    for (size_t i = 0; i < n; i++) {
        const Bilheteria__V1__Recommendation *rec = r->recommendations[i];
        if (rec->product->id != w[i].product || (int)rec->source != w[i].source ||
            strcmp(rec->reason, w[i].reason) != 0 || rec->score < w[i].score - 1e-9 ||
            rec->score > w[i].score + 1e-9)
            fail_msg("#%zu: product %llu source %d score %.6f \"%s\"; want %llu %d %.6f \"%s\"", i,
                     (unsigned long long)rec->product->id, rec->source, rec->score, rec->reason,
                     (unsigned long long)w[i].product, w[i].source, w[i].score, w[i].reason);
    }
}

static void
test_recommendations(void **state)
{
    (void)state;
    bht_server srv;
    assert_int_equal(bht_start(&srv, NULL), 0);
    bh_client *c = bht_client(&srv);
    uint64_t ev = bht_event(c, "Cine"), ev2 = bht_event(c, "Teatro");
    uint64_t s1 = bht_session(c, ev, 10, 10, 3000), s2 = bht_session(c, ev2, 10, 10, 3000);
    uint64_t A = bht_product(c, "Pipoca grande", 2500, 0),
             B = bht_product(c, "Refrigerante", 900, 0), C = bht_product(c, "Chocolate", 700, 0),
             D = bht_product(c, "Agua", 500, 0), F = bht_product(c, "Nachos", 1800, 0);
    /* At ev: 4 x {A,B}, 1 x {A,C}, 3 x {C,D}, 2 x {B}, 1 x {F}: 11 orders,
     * n(A)=5 n(B)=6 n(C)=4 n(D)=3 n(F)=1. At ev2: 3 x {A,F}. An order of
     * tickets alone counts nowhere. */
    uint64_t ab[] = { A, B }, ac[] = { A, C }, cd[] = { C, D }, b[] = { B }, f[] = { F },
             af[] = { A, F };
    for (int i = 0; i < 4; i++)
        order(c, s1, ab, 2);
    order(c, s1, ac, 2);
    for (int i = 0; i < 3; i++)
        order(c, s1, cd, 2);
    for (int i = 0; i < 2; i++)
        order(c, s1, b, 1);
    order(c, s1, f, 1);
    for (int i = 0; i < 3; i++)
        order(c, s2, af, 2);
    order(c, s1, NULL, 0);

    /* {A} at ev: B by lift at ev (4/5 over 6/11); F by lift everywhere
     * (3/8 over 4/14; B is taken already); then ev's best seller C. */
    uint64_t a[] = { A };
    struct want w1[] = {
        { B, SRC(EVENT_CO_PURCHASE), (4.0 / 5.0) / (6.0 / 11.0),
          "bought with Pipoca grande in 80% of orders at this event" },
        { F, SRC(GLOBAL_CO_PURCHASE), (3.0 / 8.0) / (4.0 / 14.0),
          "bought with Pipoca grande in 38% of orders" },
        { C, SRC(EVENT_BEST_SELLER), 4.0 / 11.0, "a best seller: in 36% of orders at this event" },
    };
    Bilheteria__V1__RecommendProductsResponse *r = recommend(c, 0, a, 1, ev, 0);
    check_ranking(r, w1, 3);
    assert_int_equal(r->recommendations[0]->support, 4);
    assert_int_equal(r->recommendations[0]->with_product_id, A);
    bilheteria__v1__recommend_products_response__free_unpacked(r, NULL);

    /* {A} anywhere: F (1.3125) before B (4/8 over 6/14 = 1.1667), then the
     * best seller C (4 of 14). */
    struct want w2[] = {
        { F, SRC(GLOBAL_CO_PURCHASE), (3.0 / 8.0) / (4.0 / 14.0),
          "bought with Pipoca grande in 38% of orders" },
        { B, SRC(GLOBAL_CO_PURCHASE), (4.0 / 8.0) / (6.0 / 14.0),
          "bought with Pipoca grande in 50% of orders" },
        { C, SRC(GLOBAL_BEST_SELLER), 4.0 / 14.0, "a best seller: in 29% of orders" },
    };
    r = recommend(c, 0, a, 1, 0, 0);
    check_ranking(r, w2, 3);
    bilheteria__v1__recommend_products_response__free_unpacked(r, NULL);

    /* Support 5 is more than any pair has: best sellers of ev. */
    struct want w3[] = {
        { B, SRC(EVENT_BEST_SELLER), 6.0 / 11.0, "a best seller: in 55% of orders at this event" },
        { C, SRC(EVENT_BEST_SELLER), 4.0 / 11.0, "a best seller: in 36% of orders at this event" },
        { D, SRC(EVENT_BEST_SELLER), 3.0 / 11.0, "a best seller: in 27% of orders at this event" },
    };
    r = recommend(c, 0, a, 1, ev, 5);
    check_ranking(r, w3, 3);
    bilheteria__v1__recommend_products_response__free_unpacked(r, NULL);

    /* A pending order with Chocolate: Agua by lift (3/4 over 3/11), then
     * ev's best sellers B and A. */
    int32_t one = 1;
    bh_status st;
    Resv *pending = hold(c, s1, "rita", 2, 0, &C, &one, 1, 0, NULL, &st);
    assert_non_null(pending);
    struct want w4[] = {
        { D, SRC(EVENT_CO_PURCHASE), (3.0 / 4.0) / (3.0 / 11.0),
          "bought with Chocolate in 75% of orders at this event" },
        { B, SRC(EVENT_BEST_SELLER), 6.0 / 11.0, "a best seller: in 55% of orders at this event" },
        { A, SRC(EVENT_BEST_SELLER), 5.0 / 11.0, "a best seller: in 45% of orders at this event" },
    };
    r = recommend(c, pending->id, NULL, 0, 0, 0);
    check_ranking(r, w4, 3);
    assert_int_equal(r->event_id, ev);
    bilheteria__v1__recommend_products_response__free_unpacked(r, NULL);

    /* The CLI shows the reason. */
    char rid[32], *out = NULL, *err = NULL;
    snprintf(rid, sizeof(rid), "%llu", (unsigned long long)pending->id);
    const char *const argv[] = { "recommend", "--reservation", rid, "--k", "1", NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, argv), 0);
    assert_non_null(strstr(out, "bought with Chocolate in 75% of orders at this event"));
    assert_null(strstr(out, "Refrigerante"));
    free(out);
    free(err);

    /* Refusals. */
    Bilheteria__V1__RecommendProductsRequest req = BILHETERIA__V1__RECOMMEND_PRODUCTS_REQUEST__INIT;
    Bilheteria__V1__RecommendProductsResponse *resp = NULL;
    req.k = 51;
    assert_int_equal(bh_report_recommend_products(c, &req, &resp, NULL, &st), BH_INVALID_ARGUMENT);
    req.k = 0;
    req.reservation_id = pending->id;
    req.product_ids = a;
    req.n_product_ids = 1;
    assert_int_equal(bh_report_recommend_products(c, &req, &resp, NULL, &st), BH_INVALID_ARGUMENT);
    uint64_t ghost = 999;
    req.reservation_id = 0;
    req.product_ids = &ghost;
    assert_int_equal(bh_report_recommend_products(c, &req, &resp, NULL, &st), BH_NOT_FOUND);
    bilheteria__v1__reservation__free_unpacked(pending, NULL);

    bh_client_close(c);
    assert_int_equal(bht_cleanup(&srv), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_matches_recount),
        cmocka_unit_test(test_recommendations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
