/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the CLI prints. The lead's integration tests read these formats:
 * change them only together with those tests.
 *
 * --json: exactly one JSON object on stdout, on one line, ending in a
 *   newline: the response message through pbjson (proto field names,
 *   every field even when zero, enums by name, ids/cents/ms as numbers,
 *   unset message fields as null). After a method that writes (per its
 *   rules in the .proto), the object also has "replayed": true when the
 *   server answered from its idempotency store, else false; reads have no
 *   "replayed". Nothing else goes to stdout. `call` without --json prints
 *   the same object as grpcurl does: two-space indent, "key": value, one
 *   field a line. `call --list` prints one full method name a line, or
 *   with --json {"methods":[...]}.
 *
 * --json-style proto3 (implies --json): the same object in proto3's
 *   canonical JSON: lowerCamelCase keys ("startsAtMs"), 64-bit integers as
 *   strings ("42"), enums by name; "replayed" as above.
 *
 * A failed call (exit 1) with --json: stdout is one line,
 *   {"error":{"code":"NOT_FOUND","message":"event 42 does not exist",
 *   "request_id":"1300556261861546299","trace_id":"0af7651916cd43dd..."}}
 *   ("request_id", as the server logs it, and "trace_id" when a request
 *   went out, "field":
 *   "seats[0]" when the server named the field at fault), and stderr has
 *   the usual "error: CODE: message" line. Usage errors (exit 2) stay on
 *   stderr only, --json or not.
 *
 * Human output (the default), for every command:
 *   - a single object is a key: value block, one field a line, values
 *     aligned two spaces after the longest key:
 *         id:           1
 *         name:         Hamlet
 *   - keys are the proto field names, with "_ms" dropped from points in
 *     time and "_cents" dropped from money (starts_at_ms -> starts_at,
 *     price_cents -> price); durations keep "_ms" (uptime_ms);
 *   - times are RFC 3339 in UTC, "2026-12-01T20:00:00Z", with ".mmm"
 *     before the Z only when not a whole second; 0 (unset) prints "-";
 *   - money is "R$ 25.00" (cents / 100, two decimals, "R$ -0.50" if
 *     negative);
 *   - an empty string or unset id prints "-"; control characters in
 *     strings print as spaces;
 *   - enums print without their type prefix: PENDING, CONFIRMED,
 *     CANCELLED, EXPIRED; INTEIRA, MEIA; SERVING, NOT_SERVING; a number
 *     with no name prints as the number;
 *   - lists are tables: an upper-case header row, then one row per entry,
 *     columns two spaces apart, no trailing spaces. When the response has
 *     a next_page_token, a last line says "next page: --page-token TOKEN".
 *     An empty list prints the header only.
 *
 * Per command:
 *   event create|get: id, name, venue, description, starts_at, ends_at,
 *     created_at.
 *   event list: ID NAME VENUE STARTS_AT ENDS_AT
 *   session create|get|cancel: id, event_id, starts_at, room, rows,
 *     seats_per_row, capacity, price, half_price, half_price_cap,
 *     created_at; a cancelled session adds status, cancel_reason,
 *     cancelled_at, refunds ("done" or "in progress"), refunded,
 *     refunded_amount, holds_released.
 *   session list: ID EVENT STARTS_AT ROOM ROWS SEATS_PER_ROW CAPACITY
 *     PRICE HALF_PRICE HALF_PRICE_CAP
 *   session seats:
 *         session 3 (event 1) at 2026-12-01T20:00:00Z, room Sala 1
 *                     1
 *            1234567890
 *         A  ..hh......
 *         B  ..xx......
 *
 *         legend: . available  h held  x sold
 *         available:             16
 *         held:                  2
 *         sold:                  2
 *         half_price_remaining:  8
 *         as_of:                 2026-11-29T01:00:00.123Z
 *     The header has one line per digit of the seat numbers (tens above
 *     units, blank above seats with fewer digits), indented past the
 *     row labels; each row is its label, padded to the widest label, two
 *     spaces, then SeatRow.states as sent ('.' available, 'h' held,
 *     'x' sold). ", room NAME" is left out when the room is empty.
 *   product create: id, name, price, stock ("unlimited" when not
 *     stock-tracked), created_at.
 *   product list: ID NAME PRICE STOCK
 *   reserve, reservation get|cancel: a key: value block of id,
 *     session_id, user_id, status, expires_at, created_at, updated_at,
 *     payment_id, seats_subtotal, items_subtotal, total; then
 *         seats:
 *           SEAT  TYPE     PRICE
 *           A1    INTEIRA  R$ 25.00
 *         items:
 *           PRODUCT  NAME    QTY  UNIT      SUBTOTAL
 *           4        Pipoca  2    R$ 10.00  R$ 20.00
 *     ("seats: none" / "items: none" when empty).
 *   reservation list: ID SESSION USER STATUS SEATS TOTAL EXPIRES_AT
 *     (SEATS is the labels joined with ",").
 *   payment get: id, reservation_id, amount, method, provider,
 *     provider_ref, created_at; with refunds, refunded and then
 *         refunds:
 *           ID  AMOUNT    SEATS            ITEMS  REASON  PROVIDER_REF  CREATED_AT
 *           2   R$ 67.00  A1,A3 (blocked)  1:1    ...
 *     (ITEMS is product:quantity joined with ","; "-" for none).
 *   refund: "refund:" and a block of id, payment_id, amount, seats, items,
 *     reason, provider, provider_ref, created_at indented by two; then
 *     "payment:" and "reservation:" as pay prints them. A reservation
 *     with refunds adds refunded after total; a refunded seat's PRICE
 *     says "(refunded)", an item's QTY "2 (1 refunded)".
 *   pay: "payment:", the payment block indented by two spaces, an empty
 *     line, "reservation:", the reservation as above indented by two.
 *     When the server answered from its idempotency store, stderr (not
 *     stdout) says "note: replayed answer for this idempotency key"
 *     (with --json too, besides the "replayed" field).
 *   health: status, version, uptime_ms, now, schema_version. Exit 1
 *     (after printing) when status is not SERVING, with
 *     "error: server is not serving (status ...)" on stderr.
 *   report sales: a line "event E[, session S], FIRST to LAST (UTC days), by
 *     day|session|zone" (", every day up to LAST (UTC)" from the start), then DAY|SESSION|ZONE
 * INTEIRA MEIA GROSS DISCOUNT REFUND NET PRODUCTS PRODUCT_SALES HOLDS PAID EXPIRED CANCELLED
 *     CONVERSION, one row per group and a last row TOTAL (CONVERSION is
 *     a percentage with one decimal, "-" with no holds). --csv prints
 *     the groups as CSV instead (cmd_sales.c).
 *   recommend: PRODUCT NAME PRICE SOURCE SCORE REASON (SCORE with two
 *     decimals); "no recommendations" when there are none.
 *
 * stderr: "error: CODE_NAME: message" for a failed call (exit 1);
 * "error: <what>" naming the option and the bad value for a usage error
 * (exit 2), followed by the command's usage line and a pointer to its
 * --help; "note: ..." lines never change the exit status.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_label.h"
#include "cli.h"
#include "pbjson.h"
#include "rfc3339.h"

typedef Bilheteria__V1__Event Event;
typedef Bilheteria__V1__Session Session;
typedef Bilheteria__V1__Product Product;
typedef Bilheteria__V1__Reservation Reservation;
typedef Bilheteria__V1__Payment Payment;

/*
 * Formatted values live in a small ring of buffers, valid for the next
 * CLI__RING - 1 formats: enough for one table row, which copies them.
 */
#define CLI__RING   24
#define CLI__BUFLEN 64
static char *
cli__buf(void)
{
    static char ring[CLI__RING][CLI__BUFLEN];
    static unsigned next;

    return ring[next++ % CLI__RING];
}

static const char *
cli__u64(uint64_t v)
{
    char *b = cli__buf();
    snprintf(b, 64, "%" PRIu64, v);
    return b;
}

static const char *
cli__i64(int64_t v)
{
    char *b = cli__buf();
    snprintf(b, 64, "%" PRId64, v);
    return b;
}

/* An id where 0 means "none". */
static const char *
cli__id(uint64_t v)
{
    return v == 0 ? "-" : cli__u64(v);
}

static const char *
cli__money(int64_t cents)
{
    char *b = cli__buf();
    /* Magnitude as unsigned, so INT64_MIN does not overflow. */
    uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

    snprintf(b, 64, "R$ %s%" PRIu64 ".%02u", cents < 0 ? "-" : "", mag / 100,
             (unsigned)(mag % 100));
    return b;
}

static const char *
cli__time(int64_t ms)
{
    char *b = cli__buf();

    if (ms == 0)
        return "-";
    if (cli_rfc3339_format(ms, b, 64) < 0)
        snprintf(b, 64, "%" PRId64 " ms", ms);
    return b;
}

/* The enum value's name without the prefix all its names share; the
 * number if the value is not one this CLI knows. */
static const char *
cli__enum(const ProtobufCEnumDescriptor *ed, int v)
{
    const char *name = bh_enum_name(ed, v);
    char *b;

    if (name != NULL)
        return name;
    b = cli__buf();
    snprintf(b, 64, "%d", v);
    return b;
}

static void
cli__next_page(const char *token)
{
    if (token != NULL && *token != '\0')
        printf("next page: --page-token %s\n", token);
}

/* ---- events ---- */

void
cli_render_event(const ProtobufCMessage *resp)
{
    /* Create and Get responses have the same shape. */
    const Event *e = ((const Bilheteria__V1__GetEventResponse *)resp)->event;
    struct cli_table *t;

    if (e == NULL)
        return;
    t = cli_table_new(2);
    cli_table_add(t, "id:", cli__u64(e->id));
    cli_table_add(t, "name:", e->name);
    cli_table_add(t, "venue:", e->venue);
    cli_table_add(t, "description:", e->description);
    cli_table_add(t, "starts_at:", cli__time(e->starts_at_ms));
    cli_table_add(t, "ends_at:", cli__time(e->ends_at_ms));
    cli_table_add(t, "created_at:", cli__time(e->created_at_ms));
    cli_table_add(t, "updated_at:", cli__time(e->updated_at_ms));
    cli_table_print(t, "");
    cli_table_free(t);
}

void
cli_render_events(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__ListEventsResponse *r = (const void *)resp;
    struct cli_table *t = cli_table_new(5);
    size_t i;

    cli_table_add(t, "ID", "NAME", "VENUE", "STARTS_AT", "ENDS_AT");
    for (i = 0; i < r->n_events; i++) {
        const Event *e = r->events[i];
        cli_table_add(t, cli__u64(e->id), e->name, e->venue, cli__time(e->starts_at_ms),
                      cli__time(e->ends_at_ms));
    }
    cli_table_print(t, "");
    cli_table_free(t);
    cli__next_page(r->next_page_token);
}

/* ---- sessions ---- */

/* A zone's rows as letters: "A-C", or "D" for one row. */
static const char *
cli__zone_rows(const Bilheteria__V1__PriceZone *z)
{
    char *b = cli__buf(), a[BH__LABEL_MAX], e[BH__LABEL_MAX];

    if (bh__row_label(z->first_row, a, sizeof(a)) < 0 ||
        bh__row_label(z->last_row, e, sizeof(e)) < 0)
        snprintf(b, 64, "%u-%u", z->first_row, z->last_row);
    else if (z->first_row == z->last_row)
        snprintf(b, 64, "%s", a);
    else
        snprintf(b, 64, "%s-%s", a, e);
    return b;
}

/* The zones table, after a "zones:" line; nothing when there are none. */
static void
cli__zones(Bilheteria__V1__PriceZone *const *zones, size_t n)
{
    struct cli_table *t;
    size_t i;

    if (n == 0)
        return;
    printf("zones:\n");
    t = cli_table_new(4);
    cli_table_add(t, "ZONE", "ROWS", "PRICE", "HALF_PRICE");
    for (i = 0; i < n; i++)
        cli_table_add(t, zones[i]->name, cli__zone_rows(zones[i]),
                      cli__money(zones[i]->price_cents), cli__money(zones[i]->half_price_cents));
    cli_table_print(t, "  ");
    cli_table_free(t);
}

void
cli_render_session(const ProtobufCMessage *resp)
{
    const Session *s = ((const Bilheteria__V1__GetSessionResponse *)resp)->session;
    struct cli_table *t;

    if (s == NULL)
        return;
    t = cli_table_new(2);
    cli_table_add(t, "id:", cli__u64(s->id));
    cli_table_add(t, "event_id:", cli__u64(s->event_id));
    cli_table_add(t, "starts_at:", cli__time(s->starts_at_ms));
    cli_table_add(t, "room:", s->room);
    cli_table_add(t, "rows:", cli__u64(s->rows));
    cli_table_add(t, "seats_per_row:", cli__u64(s->seats_per_row));
    cli_table_add(t, "capacity:", cli__u64(s->capacity));
    cli_table_add(t, "price:", cli__money(s->price_cents));
    cli_table_add(t, "half_price:", cli__money(s->half_price_cents));
    cli_table_add(t, "half_price_cap:", cli__u64(s->half_price_cap));
    cli_table_add(t, "max_per_user:", cli__id(s->max_per_user));
    cli_table_add(t, "created_at:", cli__time(s->created_at_ms));
    if (s->status == BILHETERIA__V1__SESSION_STATUS__SESSION_STATUS_CANCELLED) {
        const Bilheteria__V1__CancelProgress *pg = s->cancel_progress;
        cli_table_add(t, "status:", "CANCELLED");
        cli_table_add(t, "cancel_reason:", s->cancel_reason);
        cli_table_add(t, "cancelled_at:", cli__time(s->cancelled_at_ms));
        if (pg != NULL) {
            cli_table_add(t, "refunds:", pg->done ? "done" : "in progress");
            cli_table_add(t, "refunded:", cli__u64(pg->refunded));
            cli_table_add(t, "refunded_amount:", cli__money(pg->refunded_cents));
            cli_table_add(t, "holds_released:", cli__u64(pg->released));
        }
    }
    cli_table_print(t, "");
    cli_table_free(t);
    cli__zones(s->zones, s->n_zones);
}

void
cli_render_sessions(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__ListSessionsResponse *r = (const void *)resp;
    struct cli_table *t = cli_table_new(10);
    size_t i;

    cli_table_add(t, "ID", "EVENT", "STARTS_AT", "ROOM", "ROWS", "SEATS_PER_ROW", "CAPACITY",
                  "PRICE", "HALF_PRICE", "HALF_PRICE_CAP");
    for (i = 0; i < r->n_sessions; i++) {
        const Session *s = r->sessions[i];
        cli_table_add(t, cli__u64(s->id), cli__u64(s->event_id), cli__time(s->starts_at_ms),
                      s->room, cli__u64(s->rows), cli__u64(s->seats_per_row), cli__u64(s->capacity),
                      cli__money(s->price_cents), cli__money(s->half_price_cents),
                      cli__u64(s->half_price_cap));
    }
    cli_table_print(t, "");
    cli_table_free(t);
    cli__next_page(r->next_page_token);
}

static void
cli__spaces(size_t n)
{
    while (n-- > 0)
        putchar(' ');
}

void
cli_render_seat_map(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__GetSeatMapResponse *r = (const void *)resp;
    const Session *s = r->session;
    size_t label_w = 1, seats = 0, i, digits = 1, pow10 = 1;
    struct cli_table *t;

    if (s != NULL) {
        printf("session %" PRIu64 " (event %" PRIu64 ") at %s", s->id, s->event_id,
               cli__time(s->starts_at_ms));
        if (s->room != NULL && *s->room != '\0') {
            const char *p;
            fputs(", room ", stdout);
            for (p = s->room; *p != '\0'; p++)
                putchar((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
        }
        putchar('\n');
        seats = s->seats_per_row;
    }
    for (i = 0; i < r->n_rows; i++) {
        size_t lw = strlen(r->rows[i]->label), sw = strlen(r->rows[i]->states);
        if (lw > label_w)
            label_w = lw;
        if (sw > seats)
            seats = sw;
    }
    /* Bound what a bad answer could make us print. */
    if (seats > 100000)
        seats = 100000;
    while (pow10 * 10 <= seats) {
        pow10 *= 10;
        digits++;
    }
    /* Seat-number header: most significant digit line first. */
    for (; digits > 0; digits--, pow10 /= 10) {
        size_t n;
        cli__spaces(label_w + 2);
        for (n = 1; n <= seats; n++)
            putchar(n >= pow10 ? (char)('0' + n / pow10 % 10) : ' ');
        putchar('\n');
    }
    for (i = 0; i < r->n_rows; i++) {
        const char *p;
        fputs(r->rows[i]->label, stdout);
        cli__spaces(label_w - strlen(r->rows[i]->label) + 2);
        for (p = r->rows[i]->states; *p != '\0'; p++)
            putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
        if (r->rows[i]->zone != NULL && *r->rows[i]->zone != '\0') {
            fputs("  ", stdout);
            for (p = r->rows[i]->zone; *p != '\0'; p++)
                putchar((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
        }
        putchar('\n');
    }
    printf("\nlegend: . available  h held  x sold\n");
    cli__zones(r->zones, r->n_zones);
    t = cli_table_new(2);
    cli_table_add(t, "available:", cli__u64(r->available));
    cli_table_add(t, "held:", cli__u64(r->held));
    cli_table_add(t, "sold:", cli__u64(r->sold));
    cli_table_add(t, "half_price_remaining:", cli__u64(r->half_price_remaining));
    cli_table_add(t, "as_of:", cli__time(r->as_of_ms));
    cli_table_print(t, "");
    cli_table_free(t);
}

/* ---- products ---- */

static const char *
cli__stock(const Product *p)
{
    return p->stock_tracked ? cli__i64(p->stock) : "unlimited";
}

void
cli_render_product(const ProtobufCMessage *resp)
{
    const Product *p = ((const Bilheteria__V1__CreateProductResponse *)resp)->product;
    struct cli_table *t;

    if (p == NULL)
        return;
    t = cli_table_new(2);
    cli_table_add(t, "id:", cli__u64(p->id));
    cli_table_add(t, "name:", p->name);
    cli_table_add(t, "price:", cli__money(p->price_cents));
    cli_table_add(t, "stock:", cli__stock(p));
    /* Never updated: stored before the flag, or made active. */
    cli_table_add(t, "active:", p->active || p->updated_at_ms == 0 ? "yes" : "no");
    cli_table_add(t, "created_at:", cli__time(p->created_at_ms));
    cli_table_add(t, "updated_at:", cli__time(p->updated_at_ms));
    cli_table_print(t, "");
    cli_table_free(t);
}

void
cli_render_products(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__ListProductsResponse *r = (const void *)resp;
    struct cli_table *t = cli_table_new(4);
    size_t i;

    cli_table_add(t, "ID", "NAME", "PRICE", "STOCK");
    for (i = 0; i < r->n_products; i++) {
        const Product *p = r->products[i];
        cli_table_add(t, cli__u64(p->id), p->name, cli__money(p->price_cents), cli__stock(p));
    }
    cli_table_print(t, "");
    cli_table_free(t);
    cli__next_page(r->next_page_token);
}

/* ---- reservations ---- */

static const char *
cli__status(int status)
{
    return cli__enum(&bilheteria__v1__reservation_status__descriptor, status);
}

/* "R$ 40.00 (refunded)" */
static const char *
cli__refunded(int64_t cents)
{
    char *b = cli__buf();
    snprintf(b, CLI__BUFLEN, "%s (refunded)", cli__money(cents));
    return b;
}

/* "2", or "2 (1 refunded)" */
static const char *
cli__qty(const Bilheteria__V1__ReservedItem *it)
{
    char *b = cli__buf();
    if (it->refunded_quantity == 0)
        snprintf(b, CLI__BUFLEN, "%d", it->quantity);
    else
        snprintf(b, CLI__BUFLEN, "%d (%d refunded)", it->quantity, it->refunded_quantity);
    return b;
}

static void
cli__reservation(const Reservation *r, const char *indent)
{
    struct cli_table *t = cli_table_new(2);
    char sub[16];
    size_t i;

    cli_table_add(t, "id:", cli__u64(r->id));
    cli_table_add(t, "session_id:", cli__u64(r->session_id));
    cli_table_add(t, "user_id:", r->user_id);
    cli_table_add(t, "status:", cli__status(r->status));
    cli_table_add(t, "expires_at:", cli__time(r->expires_at_ms));
    cli_table_add(t, "created_at:", cli__time(r->created_at_ms));
    cli_table_add(t, "updated_at:", cli__time(r->updated_at_ms));
    cli_table_add(t, "payment_id:", cli__id(r->payment_id));
    cli_table_add(t, "seats_subtotal:", cli__money(r->seats_subtotal_cents));
    cli_table_add(t, "items_subtotal:", cli__money(r->items_subtotal_cents));
    if (r->discount_cents != 0 || r->coupon_code[0] != '\0') {
        cli_table_add(t, "coupon:", r->coupon_code);
        cli_table_add(t, "discount:", cli__money(r->discount_cents));
    }
    cli_table_add(t, "total:", cli__money(r->total_cents));
    if (r->n_refund_ids > 0)
        cli_table_add(t, "refunded:", cli__money(r->refunded_cents));
    if (r->waitlist_offer)
        cli_table_add(t, "waitlist_offer:", "yes");
    cli_table_print(t, indent);
    cli_table_free(t);

    snprintf(sub, sizeof(sub), "%s  ", indent);
    if (r->n_seats == 0) {
        printf("%sseats: none\n", indent);
    } else {
        printf("%sseats:\n", indent);
        /* The DISCOUNT column only when there is one. */
        t = cli_table_new(r->discount_cents ? 5 : 4);
        if (r->discount_cents)
            cli_table_add(t, "SEAT", "TYPE", "PRICE", "ZONE", "DISCOUNT");
        else
            cli_table_add(t, "SEAT", "TYPE", "PRICE", "ZONE");
        for (i = 0; i < r->n_seats; i++) {
            const Bilheteria__V1__ReservedSeat *rs = r->seats[i];
            const char *type = cli__enum(&bilheteria__v1__ticket_type__descriptor, rs->type);
            /* A refunded seat's price shows as refunded. */
            const char *price =
                rs->refunded ? cli__refunded(rs->price_cents) : cli__money(rs->price_cents);
            if (r->discount_cents)
                cli_table_add(t, rs->label, type, price, rs->zone,
                              rs->discount_cents ? cli__money(rs->discount_cents) : "");
            else
                cli_table_add(t, rs->label, type, price, rs->zone);
        }
        cli_table_print(t, sub);
        cli_table_free(t);
    }
    if (r->n_items == 0) {
        printf("%sitems: none\n", indent);
    } else {
        printf("%sitems:\n", indent);
        t = cli_table_new(r->discount_cents ? 6 : 5);
        if (r->discount_cents)
            cli_table_add(t, "PRODUCT", "NAME", "QTY", "UNIT", "SUBTOTAL", "DISCOUNT");
        else
            cli_table_add(t, "PRODUCT", "NAME", "QTY", "UNIT", "SUBTOTAL");
        for (i = 0; i < r->n_items; i++) {
            const Bilheteria__V1__ReservedItem *it = r->items[i];
            const char *id = cli__u64(it->product_id), *qty = cli__qty(it);
            const char *unit = cli__money(it->unit_price_cents);
            const char *sub_total = cli__money(it->subtotal_cents);
            if (r->discount_cents)
                cli_table_add(t, id, it->name, qty, unit, sub_total,
                              it->discount_cents ? cli__money(it->discount_cents) : "");
            else
                cli_table_add(t, id, it->name, qty, unit, sub_total);
        }
        cli_table_print(t, sub);
        cli_table_free(t);
    }
    if (r->n_discounts > 0) {
        printf("%sdiscounts:\n", indent);
        t = cli_table_new(4);
        cli_table_add(t, "KIND", "CODE/RULE", "DESCRIPTION", "AMOUNT");
        for (i = 0; i < r->n_discounts; i++) {
            const Bilheteria__V1__DiscountLine *d = r->discounts[i];
            cli_table_add(t, cli__enum(&bilheteria__v1__discount_kind__descriptor, d->kind),
                          d->code[0] != '\0' ? d->code : cli__id(d->rule_id), d->description,
                          cli__money(-d->amount_cents));
        }
        cli_table_print(t, sub);
        cli_table_free(t);
    }
}

void
cli_render_reservation(const ProtobufCMessage *resp)
{
    /* Create, Get and Cancel responses all hold just a reservation. */
    const Reservation *r = ((const Bilheteria__V1__GetReservationResponse *)resp)->reservation;

    if (r != NULL)
        cli__reservation(r, "");
}

void
cli_render_reservations(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__ListReservationsResponse *l = (const void *)resp;
    struct cli_table *t = cli_table_new(7);
    size_t i, k;

    cli_table_add(t, "ID", "SESSION", "USER", "STATUS", "SEATS", "TOTAL", "EXPIRES_AT");
    for (i = 0; i < l->n_reservations; i++) {
        const Reservation *r = l->reservations[i];
        size_t len = 1;
        char *seats;

        for (k = 0; k < r->n_seats; k++)
            len += strlen(r->seats[k]->label) + 1;
        seats = cli_xalloc(len);
        for (k = 0, len = 0; k < r->n_seats; k++) {
            size_t n = strlen(r->seats[k]->label);
            if (k > 0)
                seats[len++] = ',';
            memcpy(seats + len, r->seats[k]->label, n);
            len += n;
        }
        cli_table_add(t, cli__u64(r->id), cli__u64(r->session_id), r->user_id,
                      cli__status(r->status), seats, cli__money(r->total_cents),
                      cli__time(r->expires_at_ms));
        free(seats);
    }
    cli_table_print(t, "");
    cli_table_free(t);
    cli__next_page(l->next_page_token);
}

/* ---- coupons and discount rules ---- */

/* "10%" or "R$ 5.00". */
static const char *
cli__off(uint32_t percent, int64_t amount)
{
    char *b;

    if (percent == 0)
        return cli__money(amount);
    b = cli__buf();
    snprintf(b, 64, "%u%%", percent);
    return b;
}

/* "5 (2 held)" or "unlimited". */
static const char *
cli__limit(uint32_t max)
{
    return max == 0 ? "unlimited" : cli__u64(max);
}

static const char *
cli__scope(const Bilheteria__V1__Coupon *k)
{
    char *b = cli__buf();

    if (k->event_id != 0)
        snprintf(b, 64, "event %" PRIu64, k->event_id);
    else if (k->session_id != 0)
        snprintf(b, 64, "session %" PRIu64, k->session_id);
    else if (k->product_id != 0)
        snprintf(b, 64, "product %" PRIu64, k->product_id);
    else
        return "all";
    return b;
}

void
cli_render_coupon(const ProtobufCMessage *resp)
{
    /* Create, Get and Deactivate responses all hold just a coupon. */
    const Bilheteria__V1__Coupon *k = ((const Bilheteria__V1__GetCouponResponse *)resp)->coupon;
    struct cli_table *t;

    if (k == NULL)
        return;
    t = cli_table_new(2);
    cli_table_add(t, "code:", k->code);
    cli_table_add(t, "off:", cli__off(k->percent, k->amount_cents));
    cli_table_add(
        t, "applies_to:", cli__enum(&bilheteria__v1__coupon_applies_to__descriptor, k->applies_to));
    cli_table_add(t, "include_meia:", k->include_meia ? "yes" : "no");
    cli_table_add(t, "scope:", cli__scope(k));
    cli_table_add(t, "valid_from:", cli__time(k->valid_from_ms));
    cli_table_add(t, "valid_until:", cli__time(k->valid_until_ms));
    cli_table_add(t, "min_total:", cli__money(k->min_total_cents));
    cli_table_add(t, "max_uses:", cli__limit(k->max_uses));
    cli_table_add(t, "max_uses_per_user:", cli__limit(k->max_uses_per_user));
    cli_table_add(t, "uses:", cli__u64(k->uses));
    cli_table_add(t, "held_uses:", cli__u64(k->held_uses));
    cli_table_add(t, "active:", k->active ? "yes" : "no");
    cli_table_add(t, "created_at:", cli__time(k->created_at_ms));
    cli_table_print(t, "");
    cli_table_free(t);
}

void
cli_render_coupons(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__ListCouponsResponse *l = (const void *)resp;
    struct cli_table *t = cli_table_new(8);
    size_t i;

    cli_table_add(t, "CODE", "OFF", "APPLIES_TO", "SCOPE", "USES", "HELD", "MAX_USES", "ACTIVE");
    for (i = 0; i < l->n_coupons; i++) {
        const Bilheteria__V1__Coupon *k = l->coupons[i];
        cli_table_add(t, k->code, cli__off(k->percent, k->amount_cents),
                      cli__enum(&bilheteria__v1__coupon_applies_to__descriptor, k->applies_to),
                      cli__scope(k), cli__u64(k->uses), cli__u64(k->held_uses),
                      cli__limit(k->max_uses), k->active ? "yes" : "no");
    }
    cli_table_print(t, "");
    cli_table_free(t);
    cli__next_page(l->next_page_token);
}

/* What a rule does: "1x3 + 2x1 for R$ 20.00" or "10% off 4+ inteira". */
static const char *
cli__rule_terms(const Bilheteria__V1__DiscountRule *q)
{
    char *b = cli__buf();
    size_t i, n = 0;

    if (q->kind != BILHETERIA__V1__RULE_KIND__RULE_KIND_COMBO) {
        snprintf(b, 64, "%u%% off %u+ inteira tickets", q->percent, q->min_tickets);
        return b;
    }
    for (i = 0; i < q->n_items && n < 40; i++)
        n += (size_t)snprintf(b + n, 64 - n, "%s%" PRIu64 "x%d", i ? " + " : "",
                              q->items[i]->product_id, q->items[i]->quantity);
    if (n < 64)
        snprintf(b + n, 64 - n, " for %s", cli__money(q->price_cents));
    return b;
}

void
cli_render_rule(const ProtobufCMessage *resp)
{
    /* Every Create*Rule and DeactivateRule response holds just a rule. */
    const Bilheteria__V1__DiscountRule *q =
        ((const Bilheteria__V1__DeactivateRuleResponse *)resp)->rule;
    struct cli_table *t;

    if (q == NULL)
        return;
    t = cli_table_new(2);
    cli_table_add(t, "id:", cli__u64(q->id));
    cli_table_add(t, "kind:", cli__enum(&bilheteria__v1__rule_kind__descriptor, q->kind));
    cli_table_add(t, "name:", q->name);
    cli_table_add(t, "terms:", cli__rule_terms(q));
    cli_table_add(t, "active:", q->active ? "yes" : "no");
    cli_table_add(t, "created_at:", cli__time(q->created_at_ms));
    cli_table_print(t, "");
    cli_table_free(t);
}

void
cli_render_rules(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__ListRulesResponse *l = (const void *)resp;
    struct cli_table *t = cli_table_new(5);
    size_t i;

    cli_table_add(t, "ID", "KIND", "NAME", "TERMS", "ACTIVE");
    for (i = 0; i < l->n_rules; i++) {
        const Bilheteria__V1__DiscountRule *q = l->rules[i];
        cli_table_add(t, cli__u64(q->id),
                      cli__enum(&bilheteria__v1__rule_kind__descriptor, q->kind), q->name,
                      cli__rule_terms(q), q->active ? "yes" : "no");
    }
    cli_table_print(t, "");
    cli_table_free(t);
    cli__next_page(l->next_page_token);
}

/* ---- payments ---- */

/* "A1,A2" (a "-" when none; blocked seats say so). */
static const char *
cli__refund_seats(const Bilheteria__V1__Refund *f)
{
    char *b = cli__buf();
    size_t len = 0, i;

    b[0] = 0;
    for (i = 0; i < f->n_seats && len < CLI__BUFLEN; i++)
        len += (size_t)snprintf(b + len, CLI__BUFLEN - len, "%s%s", i ? "," : "", f->seats[i]);
    if (f->n_seats == 0)
        snprintf(b, CLI__BUFLEN, "-");
    else if (f->keep_seats_blocked && len < CLI__BUFLEN)
        snprintf(b + len, CLI__BUFLEN - len, " (blocked)");
    return b;
}

/* "4:1,5:2" (product:quantity; a "-" when none). */
static const char *
cli__refund_items(const Bilheteria__V1__Refund *f)
{
    char *b = cli__buf();
    size_t len = 0, i;

    snprintf(b, CLI__BUFLEN, "-");
    for (i = 0; i < f->n_items && len < CLI__BUFLEN; i++)
        len += (size_t)snprintf(b + len, CLI__BUFLEN - len, "%s%" PRIu64 ":%d", i ? "," : "",
                                f->items[i]->product_id, f->items[i]->quantity);
    return b;
}

static void
cli__payment(const Payment *p, const char *indent)
{
    struct cli_table *t = cli_table_new(2);

    cli_table_add(t, "id:", cli__u64(p->id));
    cli_table_add(t, "reservation_id:", cli__u64(p->reservation_id));
    cli_table_add(t, "amount:", cli__money(p->amount_cents));
    cli_table_add(t, "method:", p->method);
    cli_table_add(t, "provider:", p->provider);
    cli_table_add(t, "provider_ref:", p->provider_ref);
    cli_table_add(t, "created_at:", cli__time(p->created_at_ms));
    if (p->n_refunds > 0)
        cli_table_add(t, "refunded:", cli__money(p->refunded_cents));
    cli_table_print(t, indent);
    cli_table_free(t);
    if (p->n_refunds > 0) {
        char sub[16];
        size_t i;

        snprintf(sub, sizeof(sub), "%s  ", indent);
        printf("%srefunds:\n", indent);
        t = cli_table_new(7);
        cli_table_add(t, "ID", "AMOUNT", "SEATS", "ITEMS", "REASON", "PROVIDER_REF", "CREATED_AT");
        for (i = 0; i < p->n_refunds; i++) {
            const Bilheteria__V1__Refund *f = p->refunds[i];
            cli_table_add(t, cli__u64(f->id), cli__money(f->amount_cents), cli__refund_seats(f),
                          cli__refund_items(f), f->reason, f->provider_ref,
                          cli__time(f->created_at_ms));
        }
        cli_table_print(t, sub);
        cli_table_free(t);
    }
}

void
cli_render_payment(const ProtobufCMessage *resp)
{
    const Payment *p = ((const Bilheteria__V1__GetPaymentResponse *)resp)->payment;

    if (p != NULL)
        cli__payment(p, "");
}

void
cli_render_confirm(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__ConfirmPaymentResponse *r = (const void *)resp;

    if (r->payment != NULL) {
        printf("payment:\n");
        cli__payment(r->payment, "  ");
    }
    if (r->reservation != NULL) {
        if (r->payment != NULL)
            putchar('\n');
        printf("reservation:\n");
        cli__reservation(r->reservation, "  ");
    }
}

void
cli_render_refund(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__RefundPaymentResponse *r = (const void *)resp;
    const Bilheteria__V1__Refund *f = r->refund;

    if (f != NULL) {
        struct cli_table *t = cli_table_new(2);

        printf("refund:\n");
        cli_table_add(t, "id:", cli__u64(f->id));
        cli_table_add(t, "payment_id:", cli__u64(f->payment_id));
        cli_table_add(t, "amount:", cli__money(f->amount_cents));
        cli_table_add(t, "seats:", cli__refund_seats(f));
        cli_table_add(t, "items:", cli__refund_items(f));
        cli_table_add(t, "reason:", f->reason);
        cli_table_add(t, "provider:", f->provider);
        cli_table_add(t, "provider_ref:", f->provider_ref);
        cli_table_add(t, "created_at:", cli__time(f->created_at_ms));
        cli_table_print(t, "  ");
        cli_table_free(t);
    }
    if (r->payment != NULL) {
        printf("\npayment:\n");
        cli__payment(r->payment, "  ");
    }
    if (r->reservation != NULL) {
        printf("\nreservation:\n");
        cli__reservation(r->reservation, "  ");
    }
}

/* ---- health ---- */

void
cli_render_health(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__CheckResponse *h = (const void *)resp;
    struct cli_table *t = cli_table_new(2);

    cli_table_add(t, "status:", cli__enum(&bilheteria__v1__serving_status__descriptor, h->status));
    cli_table_add(t, "version:", h->version);
    cli_table_add(t, "uptime_ms:", cli__i64(h->uptime_ms));
    cli_table_add(t, "now:", cli__time(h->now_ms));
    cli_table_add(t, "schema_version:", cli__u64(h->schema_version));
    cli_table_add(t, "writes:", cli__u64(h->writes));
    cli_table_add(t, "commits:", cli__u64(h->commits));
    cli_table_print(t, "");
    cli_table_free(t);
}

void
cli_render_backup(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__BackupResponse *b = (const void *)resp;
    struct cli_table *t = cli_table_new(2);

    cli_table_add(t, "path:", b->path);
    cli_table_add(t, "bytes:", cli__u64(b->bytes));
    cli_table_add(t, "duration_ms:", cli__i64(b->duration_ms));
    cli_table_add(t, "last_txnid:", cli__u64(b->last_txnid));
    cli_table_print(t, "");
    cli_table_free(t);
}

/* ---- reports ---- */

static const char *
cli__rate(const Bilheteria__V1__SalesFigures *f)
{
    char *b = cli__buf();

    if (f->holds_created == 0)
        return "-";
    snprintf(b, 64, "%.1f%%", f->conversion_rate * 100.0);
    return b;
}

static void
cli__figures_row(struct cli_table *t, const char *label, const Bilheteria__V1__SalesFigures *f)
{
    cli_table_add(t, label, cli__i64(f->tickets_inteira), cli__i64(f->tickets_meia),
                  cli__money(f->gross_cents), cli__money(f->discount_cents),
                  cli__money(f->refund_cents), cli__money(f->net_cents),
                  cli__i64(f->products_units), cli__money(f->products_cents),
                  cli__i64(f->holds_created), cli__i64(f->holds_converted),
                  cli__i64(f->holds_expired), cli__i64(f->holds_cancelled), cli__rate(f));
}

void
cli_render_sales_report(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__GetSalesReportResponse *r = (const void *)resp;
    static const char *const by[] = { "day", "day", "session", "zone" };
    int g = r->group_by >= 0 && r->group_by <= 3 ? (int)r->group_by : 0;
    struct cli_table *t = cli_table_new(14);
    char from[40], last[40];

    /* The range is whole days, to_ms the start of the day after the last. */
    if (cli_rfc3339_format(r->from_ms, from, sizeof(from)) < 0 ||
        cli_rfc3339_format(r->to_ms - 86400000, last, sizeof(last)) < 0)
        from[0] = last[0] = '\0';
    from[strcspn(from, "T")] = '\0';
    last[strcspn(last, "T")] = '\0';
    printf("event %" PRIu64, r->event_id);
    if (r->session_id != 0)
        printf(", session %" PRIu64, r->session_id);
    if (r->from_ms == 0)
        printf(", every day up to %s (UTC), by %s\n", last, by[g]);
    else
        printf(", %s to %s (UTC days), by %s\n", from, last, by[g]);
    cli_table_add(t,
                  g == 2   ? "SESSION"
                  : g == 3 ? "ZONE"
                           : "DAY",
                  "INTEIRA", "MEIA", "GROSS", "DISCOUNT", "REFUND", "NET", "PRODUCTS",
                  "PRODUCT_SALES", "HOLDS", "PAID", "EXPIRED", "CANCELLED", "CONVERSION");
    for (size_t i = 0; i < r->n_groups; i++)
        if (r->groups[i]->figures != NULL)
            cli__figures_row(t, r->groups[i]->label, r->groups[i]->figures);
    if (r->total != NULL)
        cli__figures_row(t, "TOTAL", r->total);
    cli_table_print(t, "");
    cli_table_free(t);
}

void
cli_render_recommendations(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__RecommendProductsResponse *r = (const void *)resp;
    struct cli_table *t;

    if (r->n_recommendations == 0) {
        printf("no recommendations\n");
        return;
    }
    t = cli_table_new(6);
    cli_table_add(t, "PRODUCT", "NAME", "PRICE", "SOURCE", "SCORE", "REASON");
    for (size_t i = 0; i < r->n_recommendations; i++) {
        const Bilheteria__V1__Recommendation *rec = r->recommendations[i];
        const Product *p = rec->product;
        char *score = cli__buf();

        snprintf(score, 64, "%.2f", rec->score);
        cli_table_add(t, p != NULL ? cli__id(p->id) : "-", p != NULL ? p->name : "",
                      p != NULL ? cli__money(p->price_cents) : "-",
                      cli__enum(&bilheteria__v1__recommendation_source__descriptor, rec->source),
                      score, rec->reason);
    }
    cli_table_print(t, "");
    cli_table_free(t);
}

/* ---- JSON ---- */

int
cli_print_json(const struct cli *cli, const ProtobufCMessage *msg, int pretty)
{
    cJSON *obj = pbjson_to_cjson_style(msg, cli->json_style);
    char *text = NULL;

    /* No response message has a field named replayed: merging it in keeps
     * every other key where scripts read it. */
    if (obj != NULL && (!cli->wrote || cJSON_AddBoolToObject(obj, "replayed", cli->replayed)))
        text = pbjson_print(obj, pretty);
    cJSON_Delete(obj);
    if (text == NULL) {
        fputs("error: out of memory\n", stderr);
        return CLI_EXIT_FAIL;
    }
    /* One write of the whole object: never a partial JSON on stdout. */
    fputs(text, stdout);
    putchar('\n');
    cJSON_free(text);
    return CLI_EXIT_OK;
}

/* ---- waiting lists ---- */

static const char *
cli__wl_status(int status)
{
    const char *s = cli__enum(&bilheteria__v1__waitlist_status__descriptor, status);
    return strncmp(s, "WAITLIST_STATUS_", 16) == 0 ? s + 16 : s;
}

/* A WAITING entry's position, else "-". */
static const char *
cli__position(const Bilheteria__V1__WaitlistEntry *e)
{
    return e->position == 0 ? "-" : cli__u64(e->position);
}

void
cli_render_waitlist_entry(const ProtobufCMessage *resp)
{
    /* Join, Leave and Get responses all hold just an entry. */
    const Bilheteria__V1__WaitlistEntry *e =
        ((const Bilheteria__V1__GetWaitlistEntryResponse *)resp)->entry;
    struct cli_table *t;

    if (e == NULL)
        return;
    t = cli_table_new(2);
    cli_table_add(t, "session_id:", cli__u64(e->session_id));
    cli_table_add(t, "user_id:", e->user_id);
    cli_table_add(t, "seats:", cli__u64(e->seats));
    cli_table_add(t, "status:", cli__wl_status(e->status));
    cli_table_add(t, "position:", cli__position(e));
    cli_table_add(t, "reservation_id:", cli__id(e->reservation_id));
    cli_table_add(t, "offer_expires_at:", cli__time(e->offer_expires_at_ms));
    cli_table_add(t, "joined_at:", cli__time(e->created_at_ms));
    cli_table_add(t, "updated_at:", cli__time(e->updated_at_ms));
    cli_table_print(t, "");
    cli_table_free(t);
}

void
cli_render_waitlist(const ProtobufCMessage *resp)
{
    const Bilheteria__V1__ListWaitlistResponse *l = (const void *)resp;
    struct cli_table *t = cli_table_new(7);
    size_t i;

    cli_table_add(t, "POSITION", "USER", "SEATS", "STATUS", "RESERVATION", "OFFER_EXPIRES_AT",
                  "JOINED_AT");
    for (i = 0; i < l->n_entries; i++) {
        const Bilheteria__V1__WaitlistEntry *e = l->entries[i];
        cli_table_add(t, cli__position(e), e->user_id, cli__u64(e->seats),
                      cli__wl_status(e->status), cli__id(e->reservation_id),
                      cli__time(e->offer_expires_at_ms), cli__time(e->created_at_ms));
    }
    cli_table_print(t, "");
    cli_table_free(t);
    cli__next_page(l->next_page_token);
}
