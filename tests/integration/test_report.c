/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: sales reports against a recount from the reservations after
 * a randomized mix of holds, payments, expiries and cancellations; add-on
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

/* Holds the best n seats of session with items (product ids[i] x qty[i]).
 * Returns the reservation (caller frees) or NULL with *st set. */
static Resv *
hold(bh_client *c, uint64_t session, const char *user, uint32_t n, uint32_t half,
     const uint64_t *ids, const int32_t *qty, size_t n_items, int32_t ttl_s, bh_status *st)
{
    Bilheteria__V1__CreateReservationRequest req = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CreateReservationResponse *resp = NULL;
    Bilheteria__V1__ItemRequest items[8], *itemp[8];
    req.session_id = session;
    req.user_id = (char *)user;
    req.best = n;
    req.half_price = half;
    req.ttl_s = ttl_s;
    for (size_t i = 0; i < n_items && i < 8; i++) {
        Bilheteria__V1__ItemRequest it = BILHETERIA__V1__ITEM_REQUEST__INIT;
        it.product_id = ids[i];
        it.quantity = qty[i];
        items[i] = it;
        itemp[i] = &items[i];
    }
    req.items = itemp;
    req.n_items = n_items;
    if (bh_reservation_create_reservation(c, &req, &resp, NULL, st) != BH_OK)
        return NULL;
    Resv *r = resp->reservation;
    resp->reservation = NULL;
    bilheteria__v1__create_reservation_response__free_unpacked(resp, NULL);
    return r;
}

static int
pay(bh_client *c, uint64_t resv, int64_t amount, bh_status *st)
{
    static unsigned keys;
    char key[32];
    Bilheteria__V1__ConfirmPaymentRequest req = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__ConfirmPaymentResponse *resp = NULL;
    snprintf(key, sizeof(key), "report-pay-%u", ++keys);
    bh_call_opts o = { .idempotency_key = key };
    req.reservation_id = resv;
    req.amount_cents = amount;
    int rc = bh_payment_confirm_payment(c, &req, &resp, &o, st);
    if (rc == BH_OK)
        bilheteria__v1__confirm_payment_response__free_unpacked(resp, NULL);
    return rc;
}

static int
cancel(bh_client *c, uint64_t resv, bh_status *st)
{
    Bilheteria__V1__CancelReservationRequest req = BILHETERIA__V1__CANCEL_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CancelReservationResponse *resp = NULL;
    req.id = resv;
    int rc = bh_reservation_cancel_reservation(c, &req, &resp, NULL, st);
    if (rc == BH_OK)
        bilheteria__v1__cancel_reservation_response__free_unpacked(resp, NULL);
    return rc;
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

#define SESSIONS 3
#define USERS    6
#define GROUPS   64

/* What the counters should say, summed per (session, day). */
struct expect {
    uint64_t session;
    int64_t day;
    Figures f;
};

static struct expect exp_rows[GROUPS];
static size_t n_exp;

static Figures *
exp_at(uint64_t session, int64_t ms)
{
    int64_t day = ms / DAY_MS;
    for (size_t i = 0; i < n_exp; i++)
        if (exp_rows[i].session == session && exp_rows[i].day == day)
            return &exp_rows[i].f;
    assert_true(n_exp < GROUPS);
    Figures zero = BILHETERIA__V1__SALES_FIGURES__INIT;
    exp_rows[n_exp].session = session;
    exp_rows[n_exp].day = day;
    exp_rows[n_exp].f = zero;
    return &exp_rows[n_exp++].f;
}

/* Books one reservation as it is now, the way report.h says the server
 * does. */
static void
recount_one(const Resv *r)
{
    exp_at(r->session_id, r->created_at_ms)->holds_created++;
    if (r->status == ST(CONFIRMED)) {
        Figures *f = exp_at(r->session_id, r->updated_at_ms);
        f->holds_converted++;
        for (size_t i = 0; i < r->n_seats; i++) {
            if (r->seats[i]->type == BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA)
                f->tickets_meia++;
            else
                f->tickets_inteira++;
            f->gross_cents += r->seats[i]->price_cents;
        }
        for (size_t i = 0; i < r->n_items; i++)
            f->products_units += r->items[i]->quantity;
        f->products_cents += r->items_subtotal_cents;
        f->gross_cents += r->items_subtotal_cents;
    } else if (r->status == ST(EXPIRED)) {
        exp_at(r->session_id, r->expires_at_ms)->holds_expired++;
    } else if (r->status == ST(CANCELLED)) {
        exp_at(r->session_id, r->updated_at_ms)->holds_cancelled++;
    }
}

static void
recount(bh_client *c, const char *const *users, size_t n_users)
{
    n_exp = 0;
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
                recount_one(resp->reservations[i]);
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

/* The recount of the sessions in[0..n) grouped as by would group it. */
static size_t
expected_groups(const uint64_t *in, size_t n, int by, uint64_t *keys, Figures *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n_exp; i++) {
        int mine = 0;
        for (size_t j = 0; j < n; j++)
            mine |= exp_rows[i].session == in[j];
        if (!mine)
            continue;
        uint64_t key = by == BY(SESSION) ? exp_rows[i].session
                       : by == BY(ZONE)  ? 0
                                         : (uint64_t)exp_rows[i].day;
        size_t g = 0;
        while (g < k && keys[g] != key)
            g++;
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
    uint64_t keys[GROUPS];
    Figures want[GROUPS], total = BILHETERIA__V1__SALES_FIGURES__INIT;
    size_t k = expected_groups(in, n, by, keys, want);
    if (r->n_groups != k) {
        snprintf(why, len, "%zu groups, recount has %zu", r->n_groups, k);
        return 0;
    }
    for (size_t g = 0; g < r->n_groups; g++) {
        const Bilheteria__V1__SalesGroup *sg = r->groups[g];
        uint64_t key = by == BY(SESSION) ? sg->session_id
                       : by == BY(ZONE)  ? 0
                                         : (uint64_t)(sg->day_ms / DAY_MS);
        size_t i = 0;
        while (i < k && keys[i] != key)
            i++;
        if (i == k) {
            snprintf(why, len, "group %s is not in the recount", sg->label);
            return 0;
        }
        if (!figures_equal(sg->figures, &want[i], why, len))
            return 0;
        figures_add(&total, &want[i]);
    }
    return figures_equal(r->total, &total, why, len);
}

static const char *const users[USERS] = { "ana", "bia", "caio", "davi", "eva", "fabio" };

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
    uint64_t sess[SESSIONS] = { bht_session(c, e1, 12, 10, 4000), bht_session(c, e1, 12, 10, 3000),
                                bht_session(c, e2, 12, 10, 5000) };
    uint64_t prod[3] = { bht_product(c, "Pipoca grande", 2500, 0),
                         bht_product(c, "Refrigerante", 900, 0),
                         bht_product(c, "Chocolate", 700, 500) };
    Resv *lapsing[200];
    size_t n_lapsing = 0, made = 0, paid = 0, cancelled = 0, late_paid = 0;
    for (int op = 0; op < 150; op++) {
        bh_status st;
        uint64_t ids[3];
        int32_t qty[3];
        size_t n_items = 0;
        for (size_t p = 0; p < 3; p++)
            if (rnd(3) == 0) {
                ids[n_items] = prod[p];
                qty[n_items++] = (int32_t)(1 + rnd(3));
            }
        uint32_t n = 1 + rnd(3), what = rnd(10);
        int short_ttl = what >= 6 && what < 9; /* left to lapse */
        Resv *r = hold(c, sess[rnd(SESSIONS)], users[rnd(USERS)], n, rnd(n + 1), ids, qty, n_items,
                       short_ttl ? 1 : 0, &st);
        if (r == NULL)
            continue; /* sold out, quota: refused, nothing booked */
        made++;
        if (what < 4) {
            paid += pay(c, r->id, r->total_cents, &st) == BH_OK;
        } else if (what < 6) {
            cancelled += cancel(c, r->id, &st) == BH_OK;
        } else if (short_ttl && n_lapsing < 200) {
            lapsing[n_lapsing++] = r;
            r = NULL;
        }
        if (r != NULL)
            bilheteria__v1__reservation__free_unpacked(r, NULL);
    }
    /* Let the short holds lapse; pay some of them late (the sweeper may or
     * may not have released them yet: both ways are booked). */
    bht_sleep_ms(1300);
    for (size_t i = 0; i < n_lapsing; i++) {
        bh_status st;
        if (i % 3 == 0)
            late_paid += pay(c, lapsing[i]->id, lapsing[i]->total_cents, &st) == BH_OK;
        bilheteria__v1__reservation__free_unpacked(lapsing[i], NULL);
    }
    print_message("%zu holds, %zu paid, %zu cancelled, %zu lapsed, %zu paid late\n", made, paid,
                  cancelled, n_lapsing, late_paid);
    assert_true(made > 50 && paid > 10 && cancelled > 5 && n_lapsing > 5);

    /* The sweeper books an expiry when it releases the hold: wait for it
     * (a read shows a lapsed hold EXPIRED before that). */
    char why[256] = "";
    int ok = 0;
    for (int tries = 0; tries < 100 && !ok; tries++) {
        recount(c, users, USERS);
        Bilheteria__V1__GetSalesReportResponse *r = report(c, e1, 0, 0, 0, BY(DAY));
        ok = report_matches(r, sess, 2, BY(DAY), why, sizeof(why));
        bilheteria__v1__get_sales_report_response__free_unpacked(r, NULL);
        if (!ok)
            bht_sleep_ms(100);
    }
    if (!ok)
        fail_msg("event %llu by day: %s", (unsigned long long)e1, why);

    /* The counters are written with the sales they count: a crash keeps
     * both or neither. */
    bh_client_close(c);
    bht_kill9(&srv);
    assert_int_equal(bht_restart(&srv), 0);
    c = bht_client(&srv);
    recount(c, users, USERS);

    /* Every grouping, each event and session on its own. */
    struct {
        uint64_t event, session;
        int by;
        const uint64_t *in;
        size_t n;
    } cases[] = {
        { e1, 0, BY(SESSION), sess, 2 },          { e1, 0, BY(ZONE), sess, 2 },
        { e1, 0, BY(UNSPECIFIED), sess, 2 },      { e2, 0, BY(DAY), sess + 2, 1 },
        { e2, 0, BY(SESSION), sess + 2, 1 },      { 0, sess[0], BY(DAY), sess, 1 },
        { 0, sess[1], BY(SESSION), sess + 1, 1 },
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

    /* The range is read by whole UTC days: one ms into today is today;
     * from tomorrow on is nothing. */
    int64_t today = exp_rows[0].day * DAY_MS;
    Bilheteria__V1__GetSalesReportResponse *r = report(c, e1, 0, today, today + 1, BY(DAY));
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
    snprintf(line, sizeof(line), "\nsession %s,0,%s,,%lld,%lld,%lld,0,0,%lld,", sid, sid,
             (long long)r->total->tickets_inteira, (long long)r->total->tickets_meia,
             (long long)r->total->gross_cents, (long long)r->total->net_cents);
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
    bh_status st;
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
    Resv *r = hold(c, session, "rita", 1, 0, ids, qty, n, 0, &st);
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
    Resv *pending = hold(c, s1, "rita", 2, 0, &C, &one, 1, 0, &st);
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
