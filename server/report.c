/* SPDX-License-Identifier: Apache-2.0 */
/* Sales counters, booked by the writer as reservations change (report.h
 * says what each counts and when), and GetSalesReport, which sums the rows
 * of a range of days. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "resv.h"
#include "util.h"
#include "zone.h"

#define ST(x)  BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define BY(x)  BILHETERIA__V1__REPORT_GROUP_BY__REPORT_GROUP_BY_##x
#define DAY_MS 86400000LL

/* A reservation's distinct zones and days in one change: more than this
 * many are booked with the first. */
#define BOOKING_MAX 16
/* Groups one report may hold: a range of 27 years by day. */
#define GROUPS_MAX 10000
/* fn's "too many groups" out of store_sales_scan (not a store code). */
#define TOO_MANY_GROUPS 0x7001

typedef Bilheteria__Store__CounterRecord counters;

static uint32_t
day_of(int64_t ms)
{
    return ms <= 0 ? 0 : (uint32_t)(ms / DAY_MS);
}

/* The index of the seat's zone in its session. */
static uint32_t
seat_zone(const Bilheteria__V1__Session *s, const Bilheteria__V1__ReservedSeat *seat)
{
    /* The zone name the seat was held in; "" (no zones) is index 0. A zone
     * renamed since (UpdateSession, only while nothing is held or sold)
     * cannot match: it books to 0, where srv_report_zones_moved put the
     * zone's earlier rows. */
    for (size_t i = 0; seat->zone[0] != '\0' && i < s->n_zones; i++)
        if (strcmp(s->zones[i]->name, seat->zone) == 0)
            return (uint32_t)i;
    return 0;
}

void
srv_report_counter_add(counters *to, const counters *d)
{
    const ProtobufCMessageDescriptor *desc = &bilheteria__store__counter_record__descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->type == PROTOBUF_C_TYPE_INT64 && f->label != PROTOBUF_C_LABEL_REPEATED)
            *(int64_t *)(void *)((char *)to + f->offset) +=
                *(const int64_t *)(const void *)((const char *)d + f->offset);
    }
}

/* What one change adds to each (day, zone) row it touches. */
struct booking {
    uint64_t event_id, session_id;
    size_t n;
    store_sales_key key[BOOKING_MAX];
    counters d[BOOKING_MAX];
};

static void
booking_init(struct booking *b, const Bilheteria__V1__Session *s)
{
    b->event_id = s->event_id;
    b->session_id = s->id;
    b->n = 0;
}

/* The delta of (day, zone), added if new. */
static counters *
slot(struct booking *b, uint32_t day, uint32_t zone)
{
    static const counters zero = BILHETERIA__STORE__COUNTER_RECORD__INIT;
    for (size_t i = 0; i < b->n; i++)
        if (b->key[i].day == day && b->key[i].zone == zone)
            return &b->d[i];
    if (b->n == BOOKING_MAX)
        return &b->d[0];
    store_sales_key k = { b->event_id, b->session_id, day, zone };
    b->key[b->n] = k;
    b->d[b->n] = zero;
    return &b->d[b->n++];
}

/* The first seat's zone: where a reservation's own counters go. */
static uint32_t
first_zone(const Bilheteria__V1__Session *s, const Bilheteria__V1__Reservation *r)
{
    return r->n_seats > 0 ? seat_zone(s, r->seats[0]) : 0;
}

static int
book(store_txn *t, const struct booking *b)
{
    for (size_t i = 0; i < b->n; i++) {
        counters cur;
        int rc = store_sales_get(t, &b->key[i], &cur);
        if (rc != STORE_OK)
            return rc;
        srv_report_counter_add(&cur, &b->d[i]);
        if ((rc = store_sales_put(t, &b->key[i], &cur)) != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

/* A booking for r, loading its session into *s. */
static int
booking_of(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r,
           struct booking *b, Bilheteria__V1__Session **s)
{
    int rc = store_session_get(t, r->session_id, a, s);
    if (rc == STORE_OK)
        booking_init(b, *s);
    return rc;
}

int
srv_report_hold(store_txn *t, const Bilheteria__V1__Session *s,
                const Bilheteria__V1__Reservation *r)
{
    struct booking b;
    booking_init(&b, s);
    slot(&b, day_of(r->created_at_ms), first_zone(s, r))->holds_created = 1;
    return book(t, &b);
}

int
srv_report_release(store_txn *t, const Bilheteria__V1__Session *s,
                   const Bilheteria__V1__Reservation *r, int new_status, int64_t now)
{
    struct booking b;
    if (r->status != ST(PENDING))
        return STORE_OK;
    booking_init(&b, s);
    if (new_status == ST(EXPIRED))
        slot(&b, day_of(r->expires_at_ms), first_zone(s, r))->holds_expired = 1;
    else if (new_status == ST(CANCELLED))
        slot(&b, day_of(now), first_zone(s, r))->holds_cancelled = 1;
    return book(t, &b);
}

int
srv_report_pay(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r,
               int was_expired, int64_t now)
{
    Bilheteria__V1__Session *s = NULL;
    struct booking b;
    int rc = booking_of(t, a, r, &b, &s);
    if (rc != STORE_OK)
        return rc;
    uint32_t day = day_of(now), zone = first_zone(s, r);
    counters *first = slot(&b, day, zone);
    first->holds_converted = 1;
    for (size_t i = 0; i < r->n_items; i++)
        first->products_units += r->items[i]->quantity;
    first->products_cents = r->items_subtotal_cents;
    first->gross_cents = r->items_subtotal_cents;
    /* The items' discounts are booked with the products; the seats' with
     * their tickets (below): together, the reservation's discount_cents. */
    for (size_t i = 0; i < r->n_items; i++)
        first->discount_cents += r->items[i]->discount_cents;
    for (size_t i = 0; i < r->n_seats; i++) {
        const Bilheteria__V1__ReservedSeat *seat = r->seats[i];
        counters *d = slot(&b, day, seat_zone(s, seat));
        if (seat->type == BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_MEIA)
            d->tickets_meia++;
        else
            d->tickets_inteira++;
        d->gross_cents += seat->price_cents;
        d->discount_cents += seat->discount_cents;
    }
    if (was_expired)
        slot(&b, day_of(r->expires_at_ms), zone)->holds_expired -= 1;
    if ((rc = book(t, &b)) != STORE_OK)
        return rc;
    return srv_recommend_count_order(t, s->event_id, r);
}

int
srv_report_refund(store_txn *t, ProtobufCAllocator *a, const Bilheteria__V1__Reservation *r,
                  int64_t refund_cents, int64_t now)
{
    Bilheteria__V1__Session *s = NULL;
    struct booking b;
    int rc = booking_of(t, a, r, &b, &s);
    if (rc != STORE_OK)
        return rc;
    counters *d = slot(&b, day_of(now), first_zone(s, r));
    d->refund_cents = refund_cents;
    d->refunds = 1;
    return book(t, &b);
}

/* The rows of a session read before any is moved. */
struct moving {
    bh__arena *a;
    store_sales_key *key;
    counters *row;
    size_t n, cap;
};

static int
collect(void *arg, const store_sales_key *k, const counters *row)
{
    struct moving *m = arg;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        store_sales_key *key = bh__arena_alloc(m->a, cap * sizeof(*key));
        counters *rows = bh__arena_alloc(m->a, cap * sizeof(*rows));
        if (key == NULL || rows == NULL)
            return STORE_NOMEM;
        if (m->n > 0) {
            memcpy(key, m->key, m->n * sizeof(*key));
            memcpy(rows, m->row, m->n * sizeof(*rows));
        }
        m->key = key;
        m->row = rows;
        m->cap = cap;
    }
    m->key[m->n] = *k;
    m->row[m->n++] = *row;
    return 0;
}

int
srv_report_zones_moved(store_txn *t, bh__arena *a, const Bilheteria__V1__Session *s,
                       Bilheteria__V1__PriceZone *const *z, size_t nz)
{
    uint32_t to[SRV_ZONES_MAX];
    int moves = 0;
    /* Without zones, every row is at 0 and stays there. */
    size_t n_old = s->n_zones < SRV_ZONES_MAX ? s->n_zones : SRV_ZONES_MAX;
    for (size_t i = 0; i < n_old; i++) {
        to[i] = 0;
        for (size_t j = 0; j < nz; j++)
            if (strcmp(z[j]->name, s->zones[i]->name) == 0)
                to[i] = (uint32_t)j;
        moves |= to[i] != i;
    }
    if (!moves)
        return STORE_OK;
    struct moving m = { .a = a };
    int rc = store_sales_scan(t, s->event_id, s->id, 0, UINT32_MAX, collect, &m);
    for (size_t i = 0; rc == STORE_OK && i < m.n; i++)
        rc = store_sales_del(t, &m.key[i]);
    for (size_t i = 0; rc == STORE_OK && i < m.n; i++) {
        struct booking b;
        booking_init(&b, s);
        uint32_t zone = m.key[i].zone < n_old ? to[m.key[i].zone] : 0;
        srv_report_counter_add(slot(&b, m.key[i].day, zone), &m.row[i]);
        rc = book(t, &b);
    }
    return rc;
}

/* ---- GetSalesReport ---- */

struct group {
    uint64_t num;     /* the day or the session */
    const char *zone; /* the zone's name: borrowed from a session in the arena */
    counters sum;
};

struct report {
    srv_call *c;
    store_txn *t;
    int by;
    struct group *g; /* sorted by (num, zone) */
    size_t n, cap;
    uint64_t zone_session; /* the session whose zones were loaded last */
    Bilheteria__V1__Session *zs;
};

/* The name of a counter row's zone, "" for a session's single zone. */
static const char *
zone_name(struct report *rp, const store_sales_key *k)
{
    /* The session is read once for its rows in a row (the scan is in
     * session order). */
    if (rp->zone_session != k->session_id) {
        rp->zs = NULL;
        rp->zone_session = k->session_id;
        int rc = store_session_get(rp->t, k->session_id, &rp->c->arena->pc, &rp->zs);
        if (rc != STORE_OK)
            rp->zs = NULL; /* a session gone since: its rows show no zone */
    }
    if (rp->zs == NULL || k->zone >= rp->zs->n_zones)
        return "";
    return rp->zs->zones[k->zone]->name;
}

static int
group_cmp(const struct group *g, uint64_t num, const char *zone)
{
    if (g->num != num)
        return g->num < num ? -1 : 1;
    return strcmp(g->zone, zone);
}

static int
add_row(void *arg, const store_sales_key *k, const counters *row)
{
    struct report *rp = arg;
    uint64_t num = rp->by == BY(SESSION) ? k->session_id : rp->by == BY(ZONE) ? 0 : k->day;
    const char *zone = rp->by == BY(ZONE) ? zone_name(rp, k) : "";
    size_t lo = 0, hi = rp->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (group_cmp(&rp->g[mid], num, zone) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == rp->n || group_cmp(&rp->g[lo], num, zone) != 0) {
        static const counters zero = BILHETERIA__STORE__COUNTER_RECORD__INIT;
        if (rp->n == GROUPS_MAX)
            return TOO_MANY_GROUPS;
        if (rp->n == rp->cap) {
            size_t cap = rp->cap ? rp->cap * 2 : 16;
            struct group *g = bh__arena_alloc(rp->c->arena, cap * sizeof(*g));
            if (g == NULL)
                return STORE_NOMEM;
            if (rp->n > 0)
                memcpy(g, rp->g, rp->n * sizeof(*g));
            rp->g = g;
            rp->cap = cap;
        }
        memmove(&rp->g[lo + 1], &rp->g[lo], (rp->n - lo) * sizeof(*rp->g));
        rp->g[lo].num = num;
        rp->g[lo].zone = zone;
        rp->g[lo].sum = zero;
        rp->n++;
    }
    srv_report_counter_add(&rp->g[lo].sum, row);
    return 0;
}

static Bilheteria__V1__SalesFigures *
figures(srv_call *c, const counters *s)
{
    Bilheteria__V1__SalesFigures *f =
        SRV_NEW(c, Bilheteria__V1__SalesFigures, bilheteria__v1__sales_figures);
    if (f == NULL)
        return NULL;
    f->tickets_inteira = s->tickets_inteira;
    f->tickets_meia = s->tickets_meia;
    f->gross_cents = s->gross_cents;
    f->discount_cents = s->discount_cents;
    f->refund_cents = s->refund_cents;
    f->net_cents = s->gross_cents - s->discount_cents - s->refund_cents;
    f->products_units = s->products_units;
    f->products_cents = s->products_cents;
    f->holds_created = s->holds_created;
    f->holds_expired = s->holds_expired;
    f->holds_cancelled = s->holds_cancelled;
    f->holds_converted = s->holds_converted;
    f->refunds = s->refunds;
    f->conversion_rate =
        s->holds_created > 0 ? (double)s->holds_converted / (double)s->holds_created : 0.0;
    return f;
}

int
srv_report_event_check(srv_call *c, store_txn *t, uint64_t event_id)
{
    Bilheteria__V1__Event *ev = NULL;
    int rc = store_event_get(t, event_id, &c->arena->pc, &ev);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_NOTFOUND, "event %llu does not exist",
                        (unsigned long long)event_id);
    return rc != STORE_OK ? srv_store_fail(c, rc, "event") : 0;
}

static int
check_report(srv_call *c, const Bilheteria__V1__GetSalesReportRequest *q)
{
    if (q->event_id == 0 && q->session_id == 0)
        return srv_fail(c, SRV_E_INVALID, "give event_id or session_id");
    if (q->event_id != 0 && q->session_id != 0) {
        c->field = "session_id";
        return srv_fail(c, SRV_E_INVALID,
                        "give event_id (%llu) or session_id (%llu), not both: a session's "
                        "report is of its event already",
                        (unsigned long long)q->event_id, (unsigned long long)q->session_id);
    }
    if (srv_check_time(c, "from_ms", q->from_ms) || srv_check_time(c, "to_ms", q->to_ms))
        return c->code;
    if (q->to_ms != 0 && q->to_ms <= q->from_ms) {
        c->field = "to_ms";
        return srv_fail(c, SRV_E_INVALID, "to_ms %lld must be after from_ms %lld",
                        (long long)q->to_ms, (long long)q->from_ms);
    }
    if (q->group_by != BY(UNSPECIFIED) && q->group_by != BY(DAY) && q->group_by != BY(SESSION) &&
        q->group_by != BY(ZONE)) {
        c->field = "group_by";
        return srv_fail(c, SRV_E_INVALID, "group_by %d is not DAY (1), SESSION (2) or ZONE (3)",
                        (int)q->group_by);
    }
    return 0;
}

/* The group's label for people. */
static char *
group_label(srv_call *c, int by, const struct group *g)
{
    char buf[64];
    if (by == BY(SESSION)) {
        snprintf(buf, sizeof(buf), "session %llu", (unsigned long long)g->num);
    } else if (by == BY(ZONE)) {
        return bh__arena_strdup(c->arena, g->zone[0] != 0 ? g->zone : "(single zone)");
    } else {
        time_t sec = (time_t)(g->num * (uint64_t)(DAY_MS / 1000));
        struct tm tm;
        gmtime_r(&sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
    }
    return bh__arena_strdup(c->arena, buf);
}

static int
answer_report(srv_call *c, const struct report *rp, Bilheteria__V1__GetSalesReportResponse *resp)
{
    counters total = BILHETERIA__STORE__COUNTER_RECORD__INIT;
    resp->groups = bh__arena_alloc(c->arena, (rp->n + 1) * sizeof(*resp->groups));
    if (resp->groups == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < rp->n; i++) {
        const struct group *g = &rp->g[i];
        Bilheteria__V1__SalesGroup *sg =
            SRV_NEW(c, Bilheteria__V1__SalesGroup, bilheteria__v1__sales_group);
        if (sg == NULL || (sg->figures = figures(c, &g->sum)) == NULL ||
            (sg->label = group_label(c, rp->by, g)) == NULL)
            return srv_fail(c, SRV_E_NOMEM, "out of memory");
        if (rp->by == BY(SESSION))
            sg->session_id = g->num;
        else if (rp->by == BY(ZONE))
            sg->zone = (char *)g->zone;
        else
            sg->day_ms = (int64_t)g->num * DAY_MS;
        srv_report_counter_add(&total, &g->sum);
        resp->groups[resp->n_groups++] = sg;
    }
    if ((resp->total = figures(c, &total)) == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    c->resp = &resp->base;
    return 0;
}

static int
get_sales_report(srv_call *c, store_txn *t)
{
    const Bilheteria__V1__GetSalesReportRequest *q = (const void *)c->req;
    Bilheteria__V1__GetSalesReportResponse *resp = SRV_NEW(
        c, Bilheteria__V1__GetSalesReportResponse, bilheteria__v1__get_sales_report_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (check_report(c, q))
        return c->code;
    int rc;
    uint64_t event_id = q->event_id;
    if (q->session_id != 0) {
        Bilheteria__V1__Session *s = NULL;
        rc = store_session_get(t, q->session_id, &c->arena->pc, &s);
        if (rc == STORE_NOTFOUND)
            return srv_fail(c, SRV_E_NOTFOUND, "session %llu does not exist",
                            (unsigned long long)q->session_id);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "session");
        event_id = s->event_id;
    } else if (srv_report_event_check(c, t, event_id)) {
        return c->code;
    }
    /* Every day the range touches; "until now" ends with today. */
    uint32_t from_day = day_of(q->from_ms);
    uint32_t to_day =
        q->to_ms != 0 ? (uint32_t)((q->to_ms + DAY_MS - 1) / DAY_MS) : day_of(c->now_ms) + 1;
    struct report rp = { .c = c,
                         .t = t,
                         .by = q->group_by == BY(UNSPECIFIED) ? BY(DAY) : q->group_by };
    rc = store_sales_scan(t, event_id, q->session_id, from_day, to_day, add_row, &rp);
    if (rc == TOO_MANY_GROUPS)
        return srv_fail(c, SRV_E_PRECOND,
                        "the report would have more than %d groups; narrow the range or group "
                        "by session",
                        GROUPS_MAX);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "sales counters");
    resp->event_id = event_id;
    resp->session_id = q->session_id;
    resp->from_ms = (int64_t)from_day * DAY_MS;
    resp->to_ms = (int64_t)to_day * DAY_MS;
    resp->group_by = rp.by;
    return answer_report(c, &rp, resp);
}

const srv_impl srv_report_impls[] = {
    { .method = BH_METHOD_NAME_REPORT_GET_SALES_REPORT, .fn = get_sales_report },
    { .method = BH_METHOD_NAME_REPORT_RECOMMEND_PRODUCTS, .fn = srv_recommend_products },
    { .method = NULL },
};
