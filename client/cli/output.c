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
 *   {"error":{"code":"NOT_FOUND","message":"event 42 does not exist"}}
 *   and stderr has the usual "error: CODE: message" line. (No
 *   "request_id" yet: bh_status does not carry one on this branch.) Usage
 *   errors (exit 2) stay on stderr only, --json or not.
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
 *   session create|get: id, event_id, starts_at, room, rows,
 *     seats_per_row, capacity, price, half_price, half_price_cap,
 *     created_at.
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
 *     provider_ref, created_at.
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
#define CLI__RING 24
static char *
cli__buf(void)
{
    static char ring[CLI__RING][64];
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
    cli_table_add(t, "created_at:", cli__time(s->created_at_ms));
    cli_table_print(t, "");
    cli_table_free(t);
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
        putchar('\n');
    }
    printf("\nlegend: . available  h held  x sold\n");
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
    cli_table_add(t, "created_at:", cli__time(p->created_at_ms));
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
    cli_table_add(t, "total:", cli__money(r->total_cents));
    cli_table_print(t, indent);
    cli_table_free(t);

    snprintf(sub, sizeof(sub), "%s  ", indent);
    if (r->n_seats == 0) {
        printf("%sseats: none\n", indent);
    } else {
        printf("%sseats:\n", indent);
        t = cli_table_new(3);
        cli_table_add(t, "SEAT", "TYPE", "PRICE");
        for (i = 0; i < r->n_seats; i++)
            cli_table_add(t, r->seats[i]->label,
                          cli__enum(&bilheteria__v1__ticket_type__descriptor, r->seats[i]->type),
                          cli__money(r->seats[i]->price_cents));
        cli_table_print(t, sub);
        cli_table_free(t);
    }
    if (r->n_items == 0) {
        printf("%sitems: none\n", indent);
    } else {
        printf("%sitems:\n", indent);
        t = cli_table_new(5);
        cli_table_add(t, "PRODUCT", "NAME", "QTY", "UNIT", "SUBTOTAL");
        for (i = 0; i < r->n_items; i++) {
            const Bilheteria__V1__ReservedItem *it = r->items[i];
            cli_table_add(t, cli__u64(it->product_id), it->name, cli__i64(it->quantity),
                          cli__money(it->unit_price_cents), cli__money(it->subtotal_cents));
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

/* ---- payments ---- */

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
    cli_table_print(t, indent);
    cli_table_free(t);
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
