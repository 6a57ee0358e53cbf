/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: the `bilheteria` CLI binary against a real server: the
 * quick-start flow, --json output parsed back, and errors with exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "harness.h"
#include "jwtmint.h"

static bht_server srv;

static int
group_setup(void **state)
{
    (void)state;
    return bht_group_start(&srv, NULL, NULL);
}

static int
group_teardown(void **state)
{
    (void)state;
    return bht_group_stop(&srv, NULL);
}

#define CLI(outp, errp, ...)                                                                       \
    bht_cli(&srv, (outp), (errp), (const char *const[]){ __VA_ARGS__, NULL })

/* Runs a --json command that must succeed; returns the parsed object. */
static cJSON *
cli_json(const char *const *argv)
{
    char *out = NULL, *err = NULL;
    const char *args[32] = { "--json" };
    int n = 1;
    for (; argv[n - 1] != NULL && n < 31; n++)
        args[n] = argv[n - 1];
    args[n] = NULL;
    int rc = bht_cli(&srv, &out, &err, args);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", argv[0], rc, err);
    /* Exactly one JSON object on stdout. */
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(out, &end, 0);
    if (j == NULL || !cJSON_IsObject(j))
        fail_msg("stdout is not one JSON object: %s", out);
    while (*end == '\n' || *end == ' ')
        end++;
    assert_int_equal(*end, 0);
    free(out);
    free(err);
    return j;
}
#define JSON(...) cli_json((const char *const[]){ __VA_ARGS__, NULL })

static double
num(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    const cJSON *cur = o;
    for (char *tok = strtok(buf, "."); tok != NULL; tok = strtok(NULL, "."))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    if (!cJSON_IsNumber(cur))
        fail_msg("%s is not a number", path);
    return cur->valuedouble;
}

static void
test_quick_start_flow(void **state)
{
    (void)state;
    cJSON *ev = JSON("event", "create", "--name", "Duna: Parte Dois", "--venue", "Cine Belas Artes",
                     "--starts-at", "2030-12-20T20:00:00-03:00");
    char evid[32];
    snprintf(evid, sizeof(evid), "%.0f", num(ev, "event.id"));
    /* RFC 3339 with an offset is read as UTC ms. */
    assert_true(num(ev, "event.starts_at_ms") == 1924038000000.0);
    cJSON_Delete(ev);

    cJSON *se =
        JSON("session", "create", "--event", evid, "--starts-at", "2030-12-20T20:00:00-03:00",
             "--rows", "10", "--seats-per-row", "20", "--price", "3000", "--room", "Sala 1");
    char sid[32];
    snprintf(sid, sizeof(sid), "%.0f", num(se, "session.id"));
    assert_true(num(se, "session.capacity") == 200);
    assert_true(num(se, "session.half_price_cents") == 1500);
    cJSON_Delete(se);

    cJSON *pr =
        JSON("product", "create", "--name", "Pipoca grande", "--price", "2500", "--stock", "100");
    char pid[32];
    snprintf(pid, sizeof(pid), "%.0f", num(pr, "product.id"));
    cJSON_Delete(pr);

    /* Lists, in JSON and as human tables. */
    cJSON *l = JSON("event", "list");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l, "events")), 1);
    cJSON_Delete(l);
    l = JSON("session", "list", "--event", evid);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l, "sessions")), 1);
    cJSON_Delete(l);
    char *out, *err;
    assert_int_equal(CLI(&out, &err, "product", "list"), 0);
    assert_non_null(strstr(out, "Pipoca grande"));
    assert_non_null(strstr(out, "R$ 25.00"));
    free(out);
    free(err);

    /* The seat map: 200 available. */
    cJSON *m = JSON("session", "seats", sid);
    assert_true(num(m, "available") == 200);
    assert_true(num(m, "half_price_remaining") == 80);
    cJSON *rows = cJSON_GetObjectItem(m, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 10);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "label")->valuestring,
                        "A");
    cJSON_Delete(m);
    assert_int_equal(CLI(&out, &err, "session", "seats", sid), 0);
    assert_non_null(strstr(out, "A  ...................."));
    assert_non_null(strstr(out, "available:"));
    free(out);
    free(err);

    /* Reserve with meia-entrada and popcorn, then pay. */
    char prod[40];
    snprintf(prod, sizeof(prod), "%s:2", pid);
    cJSON *r = JSON("reserve", "--session", sid, "--user", "maria", "--best", "2", "--half", "1",
                    "--product", prod);
    cJSON *res = cJSON_GetObjectItem(r, "reservation");
    assert_string_equal(cJSON_GetObjectItem(res, "status")->valuestring,
                        "RESERVATION_STATUS_PENDING");
    assert_true(num(r, "reservation.total_cents") == 1500 + 3000 + 5000);
    char rid[32];
    snprintf(rid, sizeof(rid), "%.0f", num(r, "reservation.id"));
    cJSON_Delete(r);
    cJSON *p = JSON("pay", "--reservation", rid, "--amount", "9500", "--idempotency-key", "order-1",
                    "--method", "pix");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(p, "reservation"), "status")->valuestring,
        "RESERVATION_STATUS_CONFIRMED");
    double payid = num(p, "payment.id");
    cJSON_Delete(p);
    /* Replay: the same payment, and a note on stderr. */
    assert_int_equal(CLI(&out, &err, "--json", "pay", "--reservation", rid, "--amount", "9500",
                         "--idempotency-key", "order-1", "--method", "pix"),
                     0);
    cJSON *p2 = cJSON_Parse(out);
    assert_true(num(p2, "payment.id") == payid);
    assert_non_null(strstr(err, "replayed"));
    cJSON_Delete(p2);
    free(out);
    free(err);
    m = JSON("session", "seats", sid);
    assert_true(num(m, "sold") == 2);
    assert_true(num(m, "available") == 198);
    cJSON_Delete(m);

    /* call METHOD JSON, as grpcurl. */
    char body[64];
    snprintf(body, sizeof(body), "{\"id\": %s}", rid);
    cJSON *g = JSON("call", "bilheteria.v1.ReservationService/GetReservation", body);
    assert_true(num(g, "reservation.payment_id") == payid);
    cJSON_Delete(g);

    /* Global options after the command too, the idempotency key included,
     * and the last of two wins: the second reserve is a replay. */
    assert_int_equal(CLI(&out, &err, "reserve", "--session", sid, "--user", "ana", "--seats", "J1",
                         "--idempotency-key", "r-ana", "--json"),
                     0);
    cJSON *a1 = cJSON_Parse(out);
    assert_null(strstr(err, "replayed"));
    free(out);
    free(err);
    assert_int_equal(CLI(&out, &err, "--idempotency-key", "other", "reserve", "--session", sid,
                         "--user", "ana", "--seats", "J1", "--json", "--idempotency-key=r-ana"),
                     0);
    cJSON *a2 = cJSON_Parse(out);
    assert_non_null(strstr(err, "replayed"));
    assert_true(num(a1, "reservation.id") == num(a2, "reservation.id"));
    cJSON_Delete(a1);
    cJSON_Delete(a2);
    free(out);
    free(err);
}

/* The reservation and payment commands beyond the quick start: get, list
 * with paging hints, cancel (seats come back), payment get. */
static void
test_reservation_commands(void **state)
{
    (void)state;
    char *out, *err;
    cJSON *ev = JSON("event", "create", "--name", "Cmds");
    char evid[32], sid[32], rid[32], rid2[32];
    snprintf(evid, sizeof(evid), "%.0f", num(ev, "event.id"));
    cJSON_Delete(ev);
    cJSON *se = JSON("session", "create", "--event", evid, "--starts-at", "2030-12-20T20:00:00Z",
                     "--rows", "2", "--seats-per-row", "5", "--price", "1000");
    snprintf(sid, sizeof(sid), "%.0f", num(se, "session.id"));
    cJSON_Delete(se);
    cJSON *r =
        JSON("reserve", "--session", sid, "--user", "ana", "--seats", "A1,A2", "--ttl-s", "120");
    snprintf(rid, sizeof(rid), "%.0f", num(r, "reservation.id"));
    assert_true(num(r, "reservation.expires_at_ms") - num(r, "reservation.created_at_ms") ==
                120000);
    cJSON_Delete(r);
    r = JSON("reserve", "--session", sid, "--user", "ana", "--seats", "B1");
    snprintf(rid2, sizeof(rid2), "%.0f", num(r, "reservation.id"));
    cJSON_Delete(r);

    /* Human get shows the seats table. */
    assert_int_equal(CLI(&out, &err, "reservation", "get", rid), 0);
    assert_non_null(strstr(out, "PENDING"));
    assert_non_null(strstr(out, "A1"));
    assert_non_null(strstr(out, "INTEIRA"));
    free(out);
    free(err);

    /* List, one per page: newest first and a next-page hint. */
    assert_int_equal(CLI(&out, &err, "reservation", "list", "--user", "ana", "--page-size", "1"),
                     0);
    assert_non_null(strstr(out, "next page: --page-token"));
    free(out);
    free(err);
    cJSON *l = JSON("reservation", "list", "--user", "ana", "--page-size", "1");
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(l, "reservations"), 0);
    assert_true(cJSON_GetObjectItem(first, "id")->valuedouble == atof(rid2));
    const char *tok = cJSON_GetObjectItem(l, "next_page_token")->valuestring;
    cJSON *l2 =
        JSON("reservation", "list", "--user", "ana", "--page-size", "1", "--page-token", tok);
    first = cJSON_GetArrayItem(cJSON_GetObjectItem(l2, "reservations"), 0);
    assert_true(cJSON_GetObjectItem(first, "id")->valuedouble == atof(rid));
    cJSON_Delete(l);
    cJSON_Delete(l2);

    /* Cancel: the seats are free again. */
    cJSON *c = JSON("reservation", "cancel", rid);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "reservation"), "status")->valuestring,
        "RESERVATION_STATUS_CANCELLED");
    cJSON_Delete(c);
    cJSON *m = JSON("session", "seats", sid);
    assert_true(num(m, "available") == 9);
    cJSON_Delete(m);
    assert_int_equal(CLI(&out, &err, "reservation", "cancel", rid), 1);
    assert_non_null(strstr(err, "error: FAILED_PRECONDITION: reservation"));
    free(out);
    free(err);

    /* Pay the other one, then read the payment back. */
    cJSON *p =
        JSON("pay", "--reservation", rid2, "--amount", "1000", "--idempotency-key", "cmds-1");
    char pid[32];
    snprintf(pid, sizeof(pid), "%.0f", num(p, "payment.id"));
    cJSON_Delete(p);
    cJSON *g = JSON("payment", "get", pid);
    assert_true(num(g, "payment.reservation_id") == atof(rid2));
    assert_true(num(g, "payment.amount_cents") == 1000);
    cJSON_Delete(g);
    /* pay without a key is refused before anything is sent. */
    assert_int_equal(CLI(&out, &err, "pay", "--reservation", rid2, "--amount", "1000"), 2);
    free(out);
    free(err);
}

/* refund and session cancel, human tables and usage errors. */
static void
test_refund_commands(void **state)
{
    (void)state;
    char *out, *err, evid[32], sid[32], pid[32], rid[32], pay[32];
    cJSON *j = JSON("event", "create", "--name", "Refund show");
    snprintf(evid, sizeof(evid), "%.0f", num(j, "event.id"));
    cJSON_Delete(j);
    j = JSON("session", "create", "--event", evid, "--starts-at", "2030-12-20T20:00:00Z", "--rows",
             "2", "--seats-per-row", "5", "--price", "4000");
    snprintf(sid, sizeof(sid), "%.0f", num(j, "session.id"));
    cJSON_Delete(j);
    j = JSON("product", "create", "--name", "Refri", "--price", "700", "--stock", "5");
    snprintf(pid, sizeof(pid), "%.0f", num(j, "product.id"));
    cJSON_Delete(j);
    char item[48];
    snprintf(item, sizeof(item), "%s:2", pid);
    j = JSON("reserve", "--session", sid, "--user", "rita", "--seats", "A1,A2", "--product", item);
    snprintf(rid, sizeof(rid), "%.0f", num(j, "reservation.id"));
    cJSON_Delete(j);
    j = JSON("pay", "--reservation", rid, "--amount", "9400", "--idempotency-key", "rc-pay");
    snprintf(pay, sizeof(pay), "%.0f", num(j, "payment.id"));
    cJSON_Delete(j);

    /* Usage errors are caught before anything is sent. */
    const char *usage[][12] = {
        { "refund", "--payment", pay, "--idempotency-key", "u1" },
        { "refund", "--payment", pay, "--all", "--seats", "A1", "--idempotency-key", "u2" },
        { "refund", "--payment", pay, "--all", "--provider", "pix", "--idempotency-key", "u3" },
        { "refund", "--payment", pay, "--product", "x:1", "--idempotency-key", "u4" },
        { "refund", "--payment", pay, "--all" },
        { "session", "cancel", sid },
    };
    for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
        if (bht_cli(&srv, &out, &err, usage[i]) != 2)
            fail_msg("usage case %zu: stderr \"%s\"", i, err);
        free(out);
        free(err);
    }

    snprintf(item, sizeof(item), "%s:1", pid);
    assert_int_equal(CLI(&out, &err, "refund", "--payment", pay, "--seats", "a1", "--product", item,
                         "--reason", "late", "--idempotency-key", "rc-1"),
                     0);
    assert_non_null(strstr(out, "R$ 47.00"));            /* 40.00 + 7.00 */
    assert_non_null(strstr(out, "R$ 40.00 (refunded)")); /* A1 */
    assert_non_null(strstr(out, "2 (1 refunded)"));
    assert_non_null(strstr(out, "PARTIALLY_REFUNDED"));
    free(out);
    free(err);
    assert_int_equal(
        CLI(&out, &err, "refund", "--payment", pay, "--seats", "A1", "--idempotency-key", "rc-2"),
        1);
    assert_non_null(strstr(err, "FAILED_PRECONDITION: seat A1"));
    free(out);
    free(err);
    assert_int_equal(CLI(&out, &err, "payment", "get", pay), 0);
    assert_non_null(strstr(out, "refunds:"));
    assert_non_null(strstr(out, "late"));
    free(out);
    free(err);

    /* Cancelling the session refunds the rest. */
    assert_int_equal(CLI(&out, &err, "session", "cancel", sid, "--reason", "chuva",
                         "--idempotency-key", "rc-cancel"),
                     0);
    assert_non_null(strstr(out, "CANCELLED"));
    assert_non_null(strstr(out, "chuva"));
    assert_non_null(strstr(out, "done"));
    free(out);
    free(err);
    j = JSON("reservation", "get", rid);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "reservation"), "status")->valuestring,
        "RESERVATION_STATUS_REFUNDED");
    assert_true(num(j, "reservation.refunded_cents") == 9400);
    cJSON_Delete(j);
    assert_int_equal(CLI(&out, &err, "reserve", "--session", sid, "--user", "x", "--best", "1"), 1);
    assert_non_null(strstr(err, "was cancelled"));
    free(out);
    free(err);
}

static void
test_errors(void **state)
{
    (void)state;
    char *out, *err;
    struct {
        const char *argv[16];
        int exit;
        const char *stderr_has;
    } cases[] = {
        { { "event", "get", "424242" }, 1, "error: NOT_FOUND: event 424242 does not exist" },
        { { "event", "create", "--name", "" }, 1, "error: INVALID_ARGUMENT: name is required" },
        { { "session", "create", "--event", "1", "--starts-at", "2030-12-20T20:00:00Z", "--rows",
            "abc", "--seats-per-row", "5", "--price", "100" },
          2,
          "--rows" },
        { { "session", "create", "--event", "999", "--starts-at", "2030-12-20T20:00:00Z", "--rows",
            "5", "--seats-per-row", "5", "--price", "100" },
          1,
          "error: NOT_FOUND: event 999 does not exist" },
        { { "session", "create", "--event", "1", "--starts-at", "2030-12-20T20:00:00Z", "--rows",
            "700", "--seats-per-row", "5", "--price", "100" },
          1,
          "rows must be in 1..676" },
        { { "product", "create", "--name", "x", "--price", "-5" }, 2, "--price" },
        { { "reserve", "--session", "1", "--user", "u", "--seats", "A1", "--ttl-s", "0" },
          2,
          "--ttl-s" },
        { { "call", "bilheteria.v1.Nope/Nothing", "{}" },
          2,
          "no method \"bilheteria.v1.Nope/Nothing\"" },
        { { "call", "bilheteria.v1.EventService/GetEvent", "{\"idd\": 1}" }, 2, "idd" },
        { { "frobnicate" }, 2, "unknown command" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = bht_cli(&srv, &out, &err, cases[i].argv);
        if (rc != cases[i].exit || strstr(err, cases[i].stderr_has) == NULL)
            fail_msg("case %zu (%s): exit %d, stderr \"%s\"; want exit %d and \"%s\"", i,
                     cases[i].argv[0], rc, err, cases[i].exit, cases[i].stderr_has);
        assert_int_equal(out[0], 0); /* nothing on stdout on failure */
        free(out);
        free(err);
    }
}

static void
test_help_everywhere(void **state)
{
    (void)state;
    const char *cmds[][4] = {
        /* NULL-terminated: at most 3 words */
        { "--help", NULL, NULL },         { "event", "create", "--help" },
        { "session", "seats", "--help" }, { "reserve", "--help", NULL },
        { "pay", "--help", NULL },        { "call", "--help", NULL },
        { "refund", "--help", NULL },     { "session", "cancel", "--help" },
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char *out, *err;
        assert_int_equal(bht_cli(&srv, &out, &err, cmds[i]), 0);
        assert_non_null(strstr(out, "usage: bilheteria"));
        free(out);
        free(err);
    }
}

/* --json: a failed call is one JSON object on stdout, a write says
 * whether it was replayed, and --json-style proto3 prints canonical proto3
 * JSON. */
static void
test_json_errors_and_styles(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(CLI(&out, &err, "--json", "event", "get", "424242"), 1);
    cJSON *e = cJSON_Parse(out);
    assert_non_null(e);
    cJSON *eo = cJSON_GetObjectItem(e, "error");
    assert_string_equal(cJSON_GetObjectItem(eo, "code")->valuestring, "NOT_FOUND");
    assert_string_equal(cJSON_GetObjectItem(eo, "message")->valuestring,
                        "event 424242 does not exist");
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
    assert_non_null(strstr(err, "error: NOT_FOUND: event 424242 does not exist"));
    /* The request id as decimal digits (the server logs the same), the
     * trace id as 32 hex digits; no field for a NOT_FOUND. */
    const char *rid = cJSON_GetStringValue(cJSON_GetObjectItem(eo, "request_id"));
    assert_non_null(rid);
    assert_true(strlen(rid) > 0 && strspn(rid, "0123456789") == strlen(rid));
    assert_true(strtoull(rid, NULL, 10) != 0);
    const char *tid = cJSON_GetStringValue(cJSON_GetObjectItem(eo, "trace_id"));
    assert_non_null(tid);
    assert_int_equal(strspn(tid, "0123456789abcdef"), 32);
    assert_null(cJSON_GetObjectItem(eo, "field"));
    cJSON_Delete(e);
    free(out);
    free(err);

    /* A field the server names is in "field"; the caller's traceparent
     * (--traceparent, else $TRACEPARENT) carries its trace id. */
    assert_int_equal(CLI(&out, &err, "--json", "--traceparent",
                         "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "call",
                         "EventService/CreateEvent", "{\"name\":\"\"}"),
                     1);
    e = cJSON_Parse(out);
    assert_non_null(e);
    eo = cJSON_GetObjectItem(e, "error");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(eo, "code")), "INVALID_ARGUMENT");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(eo, "field")), "name");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(eo, "trace_id")),
                        "0af7651916cd43dd8448eb211c80319c");
    cJSON_Delete(e);
    free(out);
    free(err);
    /* A malformed traceparent is a usage error, naming it, before anything
     * connects (a connection dropped in its handshake would stop an nng
     * 1.5.2 listener from accepting: nng_compat.h). */
    assert_int_equal(CLI(&out, &err, "--traceparent", "00-bad", "event", "get", "1"), 2);
    assert_non_null(strstr(err, "traceparent \"00-bad\""));
    free(out);
    free(err);

    /* replayed: false on the first write, true on its replay, absent on reads. */
    cJSON *a = JSON("--idempotency-key", "json-ev-1", "event", "create", "--name", "JSON");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(a, "replayed")));
    cJSON *b = JSON("--idempotency-key", "json-ev-1", "event", "create", "--name", "JSON");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "replayed")));
    assert_true(num(a, "event.id") == num(b, "event.id"));
    char id[32], body[64];
    snprintf(id, sizeof(id), "%.0f", num(a, "event.id"));
    cJSON *g = JSON("event", "get", id);
    assert_null(cJSON_GetObjectItem(g, "replayed"));
    cJSON_Delete(g);
    /* call too, in the dot form. */
    snprintf(body, sizeof(body), "{\"name\": \"JSON\"}");
    cJSON *c = JSON("--idempotency-key", "json-ev-1", "call",
                    "bilheteria.v1.EventService.CreateEvent", body);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "replayed")));
    assert_true(num(c, "event.id") == num(a, "event.id"));
    cJSON_Delete(c);
    cJSON_Delete(a);
    cJSON_Delete(b);

    /* proto3: lowerCamelCase keys, 64-bit integers as strings, enums by name. */
    assert_int_equal(CLI(&out, &err, "--json-style", "proto3", "event", "get", id), 0);
    cJSON *p = cJSON_Parse(out);
    assert_non_null(p);
    cJSON *ev = cJSON_GetObjectItem(p, "event");
    assert_string_equal(cJSON_GetObjectItem(ev, "id")->valuestring, id);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(ev, "startsAtMs")));
    assert_null(cJSON_GetObjectItem(ev, "starts_at_ms"));
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
    cJSON_Delete(p);
    free(out);
    free(err);
    snprintf(body, sizeof(body), "{\"id\": %s}", id);
    assert_int_equal(CLI(&out, &err, "call", "EventService/GetEvent", body, "--json-style=proto3"),
                     0);
    assert_non_null(strstr(out, "\"createdAtMs\":\""));
    free(out);
    free(err);
    assert_int_equal(CLI(&out, &err, "health", "--json-style", "proto3"), 0);
    assert_non_null(strstr(out, "\"status\":\"SERVING_STATUS_SERVING\""));
    assert_non_null(strstr(out, "\"uptimeMs\":\""));
    free(out);
    free(err);
}

/* Tables align by display width: combining marks, accents, emoji, CJK. */
static void
test_table_width(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t width; /* terminal columns */
    } names[] = {
        { "Cafe\xcc\x81", 4 },                                     /* Café, combining acute */
        { "A\xc3\xa7\xc3\xa3o", 4 },                               /* Ação */
        { "Cine \xf0\x9f\x8e\xac", 7 },                            /* an emoji, 2 wide */
        { "\xe5\x8d\x83\xe3\x81\xa8\xe5\x8d\x83\xe5\xb0\x8b", 8 }, /* 千と千尋, 2 each */
    };
    char *out, *err;
    for (size_t i = 0; i < 4; i++) {
        char price[16];
        snprintf(price, sizeof(price), "%zu", 100 + i);
        cJSON_Delete(JSON("product", "create", "--name", names[i].name, "--price", price));
    }
    assert_int_equal(CLI(&out, &err, "product", "list", "--page-size", "500"), 0);
    /* PRICE starts at the same column on the header and on every row. */
    size_t col = 0;
    int wide = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        const char *at = strstr(line, "PRICE");
        size_t extra = 0; /* bytes beyond the columns the line's name takes */
        if (at == NULL)
            at = strstr(line, "R$ ");
        if (at == NULL)
            continue;
        for (size_t i = 0; i < 4; i++)
            if (strstr(line, names[i].name) != NULL) {
                extra = strlen(names[i].name) - names[i].width;
                wide++;
            }
        size_t c = (size_t)(at - line) - extra;
        if (col == 0)
            col = c;
        if (c != col)
            fail_msg("misaligned: \"%s\": price at column %zu, not %zu", line, c, col);
    }
    assert_int_equal(wide, 4);
    free(out);
    free(err);
}

static void
test_unreachable(void **state)
{
    (void)state;
    char *out, *err;
    /* The harness puts --server first; a later one wins. */
    assert_int_equal(
        CLI(&out, &err, "--server", "tcp://127.0.0.1:1", "--timeout-ms", "300", "health"), 1);
    assert_non_null(strstr(err, "UNAVAILABLE"));
    free(out);
    free(err);
}

/* `--json ARGS event create --name NAME` with idempotency key tk-1 and
 * argv's token flags: the event id, and whether it was a replay. */
static double
token_create(const bht_server *on, const char *const *flags, const char *name, int *replayed)
{
    const char *args[16];
    char *out = NULL, *err = NULL;
    int n = 0;
    args[n++] = "--json";
    for (; *flags != NULL; flags++)
        args[n++] = *flags;
    const char *tail[] = { "--idempotency-key", "tk-1", "event", "create", "--name", name, NULL };
    for (size_t i = 0; tail[i] != NULL; i++)
        args[n++] = tail[i];
    args[n] = NULL;
    int rc = bht_cli(on, &out, &err, args);
    if (rc != 0)
        fail_msg("event create %s: exit %d: %s", name, rc, err);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    double id = num(j, "event.id");
    *replayed = strstr(err, "note: replayed") != NULL;
    cJSON_Delete(j);
    free(out);
    free(err);
    return id;
}
#define TOKEN_CREATE(name, replayed, ...)                                                          \
    token_create(&as, (const char *const[]){ __VA_ARGS__, NULL }, (name), (replayed))

/* The token reaches the server from --token, --token-file and
 * $BILHETERIA_TOKEN: on a server with two admin tokens, idempotency keys
 * are scoped by the caller, so one key with the two tokens gives two
 * independent answers, and the same token replays. */
static void
test_token_scopes_keys(void **state)
{
    (void)state;
    char path[400], auth[400], ha[65], hb[65];
    int rep = -1;
    snprintf(path, sizeof(path), "%s/token-a", srv.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("tok-a\n", f);
    assert_int_equal(fclose(f), 0);
    jwtmint_sha256_hex("tok-a", ha);
    jwtmint_sha256_hex("tok-b", hb);
    snprintf(auth, sizeof(auth), "%s/auth", srv.dir);
    assert_non_null(f = fopen(auth, "w"));
    fprintf(f, "a admin %s\nb admin %s\n", ha, hb);
    assert_int_equal(fclose(f), 0);
    bht_server as;
    const char *const flags[] = { "--auth-file", auth, NULL };
    assert_int_equal(bht_start(&as, flags), 0);
    unsetenv("BILHETERIA_TOKEN");

    double a = TOKEN_CREATE("Tok A", &rep, "--token", "tok-a");
    assert_int_equal(rep, 0);
    double b = TOKEN_CREATE("Tok B", &rep, "--token", "tok-b");
    assert_int_equal(rep, 0);
    assert_true(a != b);
    /* The same token again, from a file: A's answer, replayed. */
    assert_true(TOKEN_CREATE("Tok A", &rep, "--token-file", path) == a);
    assert_int_equal(rep, 1);
    /* From the environment: B's. */
    setenv("BILHETERIA_TOKEN", "tok-b", 1);
    assert_true(TOKEN_CREATE("Tok B", &rep, "--json") == b);
    assert_int_equal(rep, 1);
    /* A flag wins over the environment. */
    assert_true(TOKEN_CREATE("Tok A", &rep, "--token", "tok-a") == a);
    assert_int_equal(rep, 1);
    unsetenv("BILHETERIA_TOKEN");
    /* No token: refused, nothing created. */
    char *out = NULL, *err = NULL;
    assert_int_equal(bht_cli(&as, &out, &err,
                             (const char *const[]){ "--idempotency-key", "tk-1", "event", "create",
                                                    "--name", "Tok none", NULL }),
                     1);
    assert_non_null(strstr(err, "UNAUTHENTICATED"));
    free(out);
    free(err);
    assert_int_equal(bht_cleanup(&as), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quick_start_flow),  cmocka_unit_test(test_reservation_commands),
        cmocka_unit_test(test_refund_commands),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_help_everywhere),   cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_token_scopes_keys), cmocka_unit_test(test_json_errors_and_styles),
        cmocka_unit_test(test_table_width),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
