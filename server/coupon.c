/* SPDX-License-Identifier: Apache-2.0 */
/* Discounts: automatic rules and coupons priced into a reservation, and the
 * uses of a coupon taken, given back and made final (coupon.h). */
#include <stdio.h>
#include <string.h>

#include "coupon.h"
#include "util.h"

#define ST(x)   BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_##x
#define KIND(x) BILHETERIA__V1__DISCOUNT_KIND__DISCOUNT_KIND_##x
#define TO(x)   BILHETERIA__V1__COUPON_APPLIES_TO__COUPON_APPLIES_TO_##x
#define RULE(x) BILHETERIA__V1__RULE_KIND__RULE_KIND_##x
#define INTEIRA BILHETERIA__V1__TICKET_TYPE__TICKET_TYPE_INTEIRA

typedef Bilheteria__V1__Coupon Coupon;
typedef Bilheteria__V1__DiscountRule Rule;
typedef Bilheteria__V1__Reservation Reservation;

int
srv_coupon_code(srv_call *c, const char *field, const char *in, char out[BH_COUPON_CODE_MAX + 1])
{
    size_t n = strlen(in);
    if (n == 0 || n > BH_COUPON_CODE_MAX) {
        c->field = field;
        return srv_fail(c, SRV_E_INVALID, "%s must be 1..%d characters, got %zu", field,
                        BH_COUPON_CODE_MAX, n);
    }
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                   ch == '-')) {
            c->field = field;
            return srv_fail(c, SRV_E_INVALID,
                            "%s \"%.40s\" may only hold letters, digits, '_' and '-'", field, in);
        }
        out[i] = ch;
    }
    out[n] = 0;
    return 0;
}

/* ---- spreading an amount over lines ---- */

/* Splits total (<= the sum of room[]) over n lines in proportion to room[],
 * adding each share to *disc[i]; no line gets more than its room. room[] is
 * used up (it ends as what each line has left). */
static void
spread(int64_t total, size_t n, int64_t *room, int64_t *const *disc)
{
    __int128 sum = 0;
    int64_t given = 0;
    for (size_t i = 0; i < n; i++)
        sum += room[i];
    if (sum <= 0 || total <= 0)
        return;
    for (size_t i = 0; i < n; i++) {
        int64_t share = (int64_t)((__int128)total * room[i] / sum);
        *disc[i] += share;
        room[i] -= share;
        given += share;
    }
    /* Rounding left total - given (< n) cents: to lines with room left. */
    for (size_t i = 0; i < n && given < total; i++) {
        int64_t more = room[i] < total - given ? room[i] : total - given;
        *disc[i] += more;
        room[i] -= more;
        given += more;
    }
}

/* ---- the rules ---- */

static int
add_line(srv_call *c, Reservation *r, int kind, const char *code, uint64_t rule_id,
         const char *desc, int64_t amount)
{
    Bilheteria__V1__DiscountLine *l =
        SRV_NEW(c, Bilheteria__V1__DiscountLine, bilheteria__v1__discount_line);
    char *d = bh__arena_strdup(c->arena, desc);
    if (l == NULL || d == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    l->kind = kind;
    l->code = code != NULL ? (char *)code : l->code;
    l->rule_id = rule_id;
    l->description = d;
    l->amount_cents = amount;
    r->discounts[r->n_discounts++] = l;
    r->discount_cents += amount;
    return 0;
}

/* The active rules, into *out (in the arena); *n of them. */
static int
load_rules(srv_call *c, store_txn *t, Rule ***out, size_t *n)
{
    size_t cap = 0, got = 0;
    Rule **all = NULL;
    uint64_t from = 1;
    while (from != 0) {
        store_page pg;
        int rc = store_rule_list(t, from, 64, &c->arena->pc, &pg);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "discount rules");
        for (size_t i = 0; i < pg.n; i++) {
            Rule *rule = pg.items[i];
            if (!rule->active)
                continue;
            if (got == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                Rule **na = bh__arena_alloc(c->arena, ncap * sizeof(*na));
                if (na == NULL)
                    return srv_fail(c, SRV_E_NOMEM, "out of memory");
                if (got)
                    memcpy(na, all, got * sizeof(*na));
                all = na;
                cap = ncap;
            }
            all[got++] = rule;
        }
        from = pg.next_id;
    }
    *out = all;
    *n = got;
    return 0;
}

/* 1. The best quantity rule the inteira tickets reach. */
static int
apply_quantity(srv_call *c, Reservation *r, Rule *const *rules, size_t n)
{
    uint32_t inteira = 0;
    const Rule *best = NULL;
    for (size_t i = 0; i < r->n_seats; i++)
        inteira += r->seats[i]->type == INTEIRA;
    for (size_t i = 0; i < n; i++) {
        const Rule *q = rules[i];
        if (q->kind == RULE(QUANTITY) && inteira >= q->min_tickets &&
            (best == NULL || q->percent > best->percent))
            best = q;
    }
    if (best == NULL)
        return 0;
    int64_t amount = 0;
    for (size_t i = 0; i < r->n_seats; i++) {
        Bilheteria__V1__ReservedSeat *s = r->seats[i];
        if (s->type != INTEIRA)
            continue;
        int64_t d = s->price_cents * best->percent / 100;
        s->discount_cents += d;
        amount += d;
    }
    if (amount == 0)
        return 0;
    char desc[160];
    snprintf(desc, sizeof(desc), "%s: %u%% off %u inteira tickets (%u or more)",
             best->name[0] ? best->name : "quantity discount", best->percent, inteira,
             best->min_tickets);
    return add_line(c, r, KIND(QUANTITY), NULL, best->id, desc, amount);
}

/* The index in r->items of product_id, or -1. */
static int
item_of(const Reservation *r, uint64_t product_id)
{
    for (size_t i = 0; i < r->n_items; i++)
        if (r->items[i]->product_id == product_id)
            return (int)i;
    return -1;
}

/* What combo q saves once on the units left[] (0 if they do not fill it). */
static int64_t
combo_saving(const Reservation *r, const Rule *q, const int32_t *left)
{
    int64_t full = 0;
    for (size_t k = 0; k < q->n_items; k++) {
        int i = item_of(r, q->items[k]->product_id);
        if (i < 0 || left[i] < q->items[k]->quantity)
            return 0;
        full += r->items[i]->unit_price_cents * q->items[k]->quantity;
    }
    return full - q->price_cents;
}

/* 2. Combos, greedy by savings, until the items left fill none. */
static int
apply_combos(srv_call *c, Reservation *r, Rule *const *rules, size_t n)
{
    if (r->n_items == 0)
        return 0;
    int32_t left[BH_RESERVATION_ITEMS_MAX];
    uint32_t times[SRV_RULES_ACTIVE_MAX * 2] = { 0 };
    size_t nr = n < SRV_RULES_ACTIVE_MAX * 2 ? n : SRV_RULES_ACTIVE_MAX * 2;
    for (size_t i = 0; i < r->n_items; i++)
        left[i] = r->items[i]->quantity;
    for (;;) {
        size_t best = nr;
        int64_t best_saving = 0;
        for (size_t k = 0; k < nr; k++) {
            if (rules[k]->kind != RULE(COMBO))
                continue;
            int64_t s = combo_saving(r, rules[k], left);
            if (s > best_saving) {
                best = k;
                best_saving = s;
            }
        }
        if (best == nr)
            break;
        const Rule *q = rules[best];
        int64_t room[BH_COMBO_ITEMS_MAX];
        int64_t *disc[BH_COMBO_ITEMS_MAX];
        for (size_t k = 0; k < q->n_items && k < BH_COMBO_ITEMS_MAX; k++) {
            int i = item_of(r, q->items[k]->product_id);
            left[i] -= q->items[k]->quantity;
            room[k] = r->items[i]->unit_price_cents * q->items[k]->quantity;
            disc[k] = &r->items[i]->discount_cents;
        }
        spread(best_saving, q->n_items, room, disc);
        times[best]++;
    }
    for (size_t k = 0; k < nr; k++) {
        if (times[k] == 0)
            continue;
        const Rule *q = rules[k];
        int64_t full = 0;
        for (size_t j = 0; j < q->n_items; j++)
            full += r->items[item_of(r, q->items[j]->product_id)]->unit_price_cents *
                    q->items[j]->quantity;
        char desc[160];
        snprintf(desc, sizeof(desc), "combo %s x%u", q->name, times[k]);
        if (add_line(c, r, KIND(COMBO), NULL, q->id, desc,
                     (full - q->price_cents) * (int64_t)times[k]))
            return c->code;
    }
    return 0;
}

/* ---- 3. the coupon ---- */

static const char *
applies_name(int to)
{
    return to == TO(PRODUCTS) ? "products" : to == TO(ORDER) ? "the order" : "tickets";
}

/* Whether coupon k may be used by r (of session s) now; the refusal names
 * why. subtotal is before any discount. */
static int
coupon_usable(srv_call *c, store_txn *t, const Coupon *k, const Bilheteria__V1__Session *s,
              const Reservation *r, int64_t subtotal)
{
    char when[SRV_TIME_LEN];
    if (!k->active)
        return srv_fail(c, SRV_E_PRECOND, "coupon %s is inactive (deactivated)", k->code);
    if (k->valid_from_ms != 0 && c->now_ms < k->valid_from_ms) {
        srv_fmt_time(k->valid_from_ms, when);
        return srv_fail(c, SRV_E_PRECOND, "coupon %s is not valid yet: it starts at %s", k->code,
                        when);
    }
    if (k->valid_until_ms != 0 && c->now_ms >= k->valid_until_ms) {
        srv_fmt_time(k->valid_until_ms, when);
        return srv_fail(c, SRV_E_PRECOND, "coupon %s has expired: it was valid until %s", k->code,
                        when);
    }
    if (k->session_id != 0 && k->session_id != s->id)
        return srv_fail(c, SRV_E_PRECOND,
                        "coupon %s is only for session %llu, not for session %llu", k->code,
                        (unsigned long long)k->session_id, (unsigned long long)s->id);
    if (k->event_id != 0 && k->event_id != s->event_id)
        return srv_fail(c, SRV_E_PRECOND,
                        "coupon %s is only for event %llu; session %llu is of event %llu", k->code,
                        (unsigned long long)k->event_id, (unsigned long long)s->id,
                        (unsigned long long)s->event_id);
    if (k->max_uses != 0 && k->uses + k->held_uses >= k->max_uses)
        return srv_fail(c, SRV_E_PRECOND,
                        "coupon %s is used up: max_uses %u reached (%u paid, %u held)", k->code,
                        k->max_uses, k->uses, k->held_uses);
    if (k->max_uses_per_user != 0) {
        uint32_t mine;
        int rc = store_coupon_user_get(t, k->code, r->user_id, &mine);
        if (rc != STORE_OK)
            return srv_store_fail(c, rc, "coupon uses");
        if (mine >= k->max_uses_per_user)
            return srv_fail(c, SRV_E_PRECOND,
                            "user %s already has %u use(s) of coupon %s, held or paid; "
                            "max_uses_per_user is %u",
                            r->user_id, mine, k->code, k->max_uses_per_user);
    }
    if (subtotal < k->min_total_cents)
        return srv_fail(c, SRV_E_PRECOND,
                        "coupon %s needs an order of at least %lld cents; this one is %lld cents",
                        k->code, (long long)k->min_total_cents, (long long)subtotal);
    return 0;
}

/* The lines coupon k discounts, with what is left of each. */
static size_t
coupon_lines(const Coupon *k, Reservation *r, int64_t *room, int64_t **disc)
{
    size_t n = 0;
    int tickets = k->applies_to != TO(PRODUCTS), products = k->applies_to != TO(TICKETS);
    for (size_t i = 0; tickets && i < r->n_seats; i++) {
        Bilheteria__V1__ReservedSeat *s = r->seats[i];
        int64_t left = s->price_cents - s->discount_cents;
        if ((s->type == INTEIRA || k->include_meia) && left > 0) {
            room[n] = left;
            disc[n++] = &s->discount_cents;
        }
    }
    for (size_t i = 0; products && i < r->n_items; i++) {
        Bilheteria__V1__ReservedItem *it = r->items[i];
        int64_t left = it->subtotal_cents - it->discount_cents;
        if ((k->product_id == 0 || k->product_id == it->product_id) && left > 0) {
            room[n] = left;
            disc[n++] = &it->discount_cents;
        }
    }
    return n;
}

/* Takes one use of k for user: held (a hold) or final (a lapsed hold paid). */
static int
take_use(store_txn *t, Coupon *k, const char *user, int held)
{
    uint32_t mine;
    int rc = store_coupon_user_get(t, k->code, user, &mine);
    if (rc != STORE_OK || (rc = store_coupon_user_put(t, k->code, user, mine + 1)) != STORE_OK)
        return rc;
    if (held)
        k->held_uses++;
    else
        k->uses++;
    return store_coupon_put(t, k);
}

static int
apply_coupon(srv_call *c, store_txn *t, const Bilheteria__V1__Session *s, const char *code,
             Reservation *r, int64_t subtotal)
{
    char norm[BH_COUPON_CODE_MAX + 1];
    Coupon *k = NULL;
    if (srv_coupon_code(c, "coupon_code", code, norm))
        return c->code;
    int rc = store_coupon_get(t, norm, &c->arena->pc, &k);
    if (rc == STORE_NOTFOUND)
        return srv_fail(c, SRV_E_PRECOND, "coupon %s does not exist", norm);
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "coupon");
    if (coupon_usable(c, t, k, s, r, subtotal))
        return c->code;
    size_t cap = r->n_seats + r->n_items;
    int64_t *room = bh__arena_alloc(c->arena, (cap + 1) * sizeof(*room));
    int64_t **disc = bh__arena_alloc(c->arena, (cap + 1) * sizeof(*disc));
    if (room == NULL || disc == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    size_t n = coupon_lines(k, r, room, disc);
    if (n == 0) {
        char what[128];
        if (k->product_id != 0)
            snprintf(what, sizeof(what), "product %llu", (unsigned long long)k->product_id);
        else
            snprintf(what, sizeof(what), "%s%s", applies_name(k->applies_to),
                     k->applies_to != TO(PRODUCTS) && !k->include_meia
                         ? " (inteira tickets only: meia-entrada is discounted by law)"
                         : "");
        return srv_fail(c, SRV_E_PRECOND,
                        "coupon %s applies to %s and this reservation has nothing of it left "
                        "to discount",
                        k->code, what);
    }
    /* The amount off is figured on the lines together (so that rounding
     * loses at most one cent), then spread over them by what each has left. */
    int64_t base = 0, amount;
    char desc[160];
    for (size_t i = 0; i < n; i++)
        base += room[i];
    if (k->percent != 0) {
        amount = (int64_t)((__int128)base * k->percent / 100);
        snprintf(desc, sizeof(desc), "coupon %s: %u%% off %s", k->code, k->percent,
                 applies_name(k->applies_to));
    } else {
        amount = k->amount_cents < base ? k->amount_cents : base;
        snprintf(desc, sizeof(desc), "coupon %s: %lld cents off %s", k->code,
                 (long long)k->amount_cents, applies_name(k->applies_to));
    }
    spread(amount, n, room, disc);
    if ((rc = take_use(t, k, r->user_id, 1)) != STORE_OK)
        return srv_store_fail(c, rc, "coupon");
    r->coupon_code = k->code;
    return add_line(c, r, KIND(COUPON), k->code, 0, desc, amount);
}

int
srv_coupon_price(srv_call *c, store_txn *t, const Bilheteria__V1__Session *s, const char *code,
                 Reservation *r)
{
    int64_t subtotal = r->seats_subtotal_cents + r->items_subtotal_cents;
    Rule **rules = NULL;
    size_t n = 0;
    if (load_rules(c, t, &rules, &n))
        return c->code;
    /* At most one line per rule and one for the coupon. */
    r->discounts = bh__arena_alloc(c->arena, (n + 1) * sizeof(*r->discounts));
    if (r->discounts == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (apply_quantity(c, r, rules, n) || apply_combos(c, r, rules, n))
        return c->code;
    if (code != NULL && code[0] != 0 && apply_coupon(c, t, s, code, r, subtotal))
        return c->code;
    r->total_cents = subtotal - r->discount_cents;
    if (r->total_cents < 0)
        r->total_cents = 0;
    return 0;
}

/* ---- a use's life ---- */

/* Moves r's coupon's counters: held and uses by dh and du, the user's by
 * dn. A coupon gone or a counter at 0 stays at 0. */
static int
move_use(store_txn *t, ProtobufCAllocator *a, const Reservation *r, int dh, int du, int dn)
{
    Coupon *k = NULL;
    int rc = store_coupon_get(t, r->coupon_code, a, &k);
    if (rc == STORE_NOTFOUND)
        return STORE_OK;
    if (rc != STORE_OK)
        return rc;
    if (dh < 0 && k->held_uses > 0)
        k->held_uses--;
    if (dh > 0)
        k->held_uses++;
    if (du < 0 && k->uses > 0)
        k->uses--;
    if (du > 0)
        k->uses++;
    if ((rc = store_coupon_put(t, k)) != STORE_OK || dn == 0)
        return rc;
    uint32_t mine;
    if ((rc = store_coupon_user_get(t, k->code, r->user_id, &mine)) != STORE_OK)
        return rc;
    return store_coupon_user_put(t, k->code, r->user_id, dn < 0 && mine > 0 ? mine - 1 : mine);
}

int
srv_coupon_release(store_txn *t, ProtobufCAllocator *a, const Reservation *r)
{
    if (r->coupon_code == NULL || r->coupon_code[0] == 0 || r->status != ST(PENDING))
        return STORE_OK;
    return move_use(t, a, r, -1, 0, -1);
}

int
srv_coupon_refund(store_txn *t, ProtobufCAllocator *a, const Reservation *r)
{
    if (r->coupon_code == NULL || r->coupon_code[0] == 0)
        return STORE_OK;
    return move_use(t, a, r, 0, -1, -1);
}

int
srv_coupon_pay(srv_call *c, store_txn *t, const Reservation *r)
{
    Coupon *k = NULL;
    int rc;
    if (r->coupon_code == NULL || r->coupon_code[0] == 0)
        return 0;
    if (r->status == ST(PENDING)) {
        if ((rc = move_use(t, &c->arena->pc, r, -1, +1, 0)) != STORE_OK)
            return srv_store_fail(c, rc, "coupon");
        return 0;
    }
    /* A lapsed hold gave its use back: take one again if there is room. The
     * price was agreed at hold time, so validity and the active flag are
     * not looked at again; the limits are. */
    rc = store_coupon_get(t, r->coupon_code, &c->arena->pc, &k);
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc != STORE_OK)
        return srv_store_fail(c, rc, "coupon");
    if (k->max_uses != 0 && k->uses + k->held_uses >= k->max_uses)
        return srv_fail(c, SRV_E_PRECOND,
                        "reservation %llu expired and coupon %s has been used up since "
                        "(max_uses %u); nothing was charged",
                        (unsigned long long)r->id, k->code, k->max_uses);
    if (k->max_uses_per_user != 0) {
        uint32_t mine;
        if ((rc = store_coupon_user_get(t, k->code, r->user_id, &mine)) != STORE_OK)
            return srv_store_fail(c, rc, "coupon uses");
        if (mine >= k->max_uses_per_user)
            return srv_fail(c, SRV_E_PRECOND,
                            "reservation %llu expired and user %s has used coupon %s since "
                            "(%u use(s), max_uses_per_user %u); nothing was charged",
                            (unsigned long long)r->id, r->user_id, k->code, mine,
                            k->max_uses_per_user);
    }
    if ((rc = take_use(t, k, r->user_id, 0)) != STORE_OK)
        return srv_store_fail(c, rc, "coupon");
    return 0;
}
