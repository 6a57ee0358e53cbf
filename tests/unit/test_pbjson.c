/* SPDX-License-Identifier: Apache-2.0 */
/* pbjson: JSON <-> protobuf-c for every v1 request type and the error
 * messages users see. Table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bilheteria/services.h"
#include "pbjson.h"

#define D(x) (&bilheteria__v1__##x##__descriptor)

struct rt_case {
    const ProtobufCMessageDescriptor *desc;
    const char *in;
    const char *want; /* compact output after in -> message -> wire -> JSON */
};

static const struct rt_case rt_cases[] = {
    /* Every v1 request type, non-trivial values. */
    { D(create_event_request),
      "{\"name\":\"Hamlet \\u00e9 \\\"q\\\"\",\"venue\":\"Teatro\","
      "\"description\":\"line\\nnext\",\"starts_at_ms\":1796155200000,"
      "\"ends_at_ms\":1796162400000}",
      "{\"name\":\"Hamlet \xc3\xa9 \\\"q\\\"\",\"venue\":\"Teatro\","
      "\"description\":\"line\\nnext\",\"starts_at_ms\":1796155200000,"
      "\"ends_at_ms\":1796162400000}" },
    /* Defaults are written: a script wants every key. */
    { D(create_event_request), "{\"name\":\"X\"}",
      "{\"name\":\"X\",\"venue\":\"\",\"description\":\"\",\"starts_at_ms\":0,"
      "\"ends_at_ms\":0}" },
    { D(get_event_request), "{\"id\":18446744073709551615}", "{\"id\":18446744073709551615}" },
    { D(list_events_request), "{\"page_size\":4294967295,\"page_token\":\"abc\"}",
      "{\"page_size\":4294967295,\"page_token\":\"abc\"}" },
    { D(create_session_request),
      "{\"event_id\":42,\"starts_at_ms\":-9223372036854775808,\"room\":\"Sala 1\","
      "\"rows\":676,\"seats_per_row\":1000,\"price_cents\":9223372036854775807,"
      "\"half_price_cents\":1250,\"half_price_cap\":40}",
      "{\"event_id\":42,\"starts_at_ms\":-9223372036854775808,\"room\":\"Sala 1\","
      "\"rows\":676,\"seats_per_row\":1000,\"price_cents\":9223372036854775807,"
      "\"half_price_cents\":1250,\"half_price_cap\":40,"
      "\"zones\":[],\"max_per_user\":0}" },
    { D(get_session_request), "{\"id\":9007199254740993}", "{\"id\":9007199254740993}" },
    /* lowerCamelCase keys are accepted; output uses the proto names. */
    { D(list_sessions_request), "{\"eventId\":3,\"pageSize\":10,\"pageToken\":\"t\"}",
      "{\"event_id\":3,\"page_size\":10,\"page_token\":\"t\"}" },
    /* 64-bit integers may come as decimal strings; they go out as numbers. */
    { D(get_seat_map_request), "{\"session_id\":\"12345678901234567890\"}",
      "{\"session_id\":12345678901234567890}" },
    { D(create_product_request), "{\"name\":\"Pipoca\",\"price_cents\":1500,\"stock\":100}",
      "{\"name\":\"Pipoca\",\"price_cents\":1500,\"stock\":100}" },
    { D(list_products_request), "{}", "{\"page_size\":0,\"page_token\":\"\"}" },
    { D(create_reservation_request),
      " {\n \"session_id\" : 9, \"user_id\":\"ana\",\"seats\":[\"A1\",\"A2\",\"AB12\"],"
      "\"half_price\":1,\"items\":[{\"product_id\":4,\"quantity\":2},"
      "{\"product_id\":18446744073709551615,\"quantity\":-2147483648}],\"ttl_s\":300}\n",
      "{\"session_id\":9,\"user_id\":\"ana\",\"seats\":[\"A1\",\"A2\",\"AB12\"],"
      "\"best\":0,\"half_price\":1,\"items\":[{\"product_id\":4,\"quantity\":2},"
      "{\"product_id\":18446744073709551615,\"quantity\":-2147483648}],\"ttl_s\":300,"
      "\"zone\":\"\",\"coupon_code\":\"\"}" },
    { D(create_reservation_request), "{\"best\":4,\"seats\":[],\"items\":[]}",
      "{\"session_id\":0,\"user_id\":\"\",\"seats\":[],\"best\":4,\"half_price\":0,"
      "\"items\":[],\"ttl_s\":0,\"zone\":\"\",\"coupon_code\":\"\"}" },
    { D(get_reservation_request), "{\"id\":77}", "{\"id\":77}" },
    { D(list_reservations_request), "{\"user_id\":\"u-1\",\"page_size\":500,\"page_token\":\"p2\"}",
      "{\"user_id\":\"u-1\",\"page_size\":500,\"page_token\":\"p2\"}" },
    { D(cancel_reservation_request), "{\"id\":1}", "{\"id\":1}" },
    { D(confirm_payment_request),
      "{\"reservation_id\":5,\"amount_cents\":5750,\"method\":\"pix\","
      "\"provider\":\"mp\",\"provider_ref\":\"ref-1\"}",
      "{\"reservation_id\":5,\"amount_cents\":5750,\"method\":\"pix\","
      "\"provider\":\"mp\",\"provider_ref\":\"ref-1\"}" },
    { D(get_payment_request), "{\"id\":3}", "{\"id\":3}" },
    { D(check_request), "{}", "{\"service\":\"\"}" },
    /* Enums: by name, by number, unknown number kept. */
    { D(check_response), "{\"status\":\"SERVING_STATUS_SERVING\",\"version\":\"0.1.0\"}",
      "{\"status\":\"SERVING_STATUS_SERVING\",\"version\":\"0.1.0\",\"uptime_ms\":0,"
      "\"now_ms\":0,\"schema_version\":0,\"writes\":0,\"commits\":0}" },
    { D(check_response), "{\"status\":2}",
      "{\"status\":\"SERVING_STATUS_NOT_SERVING\",\"version\":\"\",\"uptime_ms\":0,"
      "\"now_ms\":0,\"schema_version\":0,\"writes\":0,\"commits\":0}" },
    { D(check_response), "{\"status\":7}",
      "{\"status\":7,\"version\":\"\",\"uptime_ms\":0,\"now_ms\":0,\"schema_version\":0,"
      "\"writes\":0,\"commits\":0}" },
    /* Nested messages and repeated nested messages with enums. */
    { D(reservation),
      "{\"id\":1,\"status\":\"RESERVATION_STATUS_CONFIRMED\",\"seats\":[{\"label\":\"A1\","
      "\"type\":\"TICKET_TYPE_MEIA\",\"price_cents\":1250},{\"label\":\"A2\",\"type\":1,"
      "\"price_cents\":2500}],\"items\":[{\"product_id\":4,\"name\":\"Pipoca\","
      "\"quantity\":2,\"unit_price_cents\":1000,\"subtotal_cents\":2000}],"
      "\"total_cents\":5750,\"payment_id\":8}",
      "{\"id\":1,\"session_id\":0,\"user_id\":\"\",\"status\":\"RESERVATION_STATUS_CONFIRMED\","
      "\"seats\":[{\"label\":\"A1\",\"type\":\"TICKET_TYPE_MEIA\",\"price_cents\":1250,"
      "\"zone\":\"\",\"discount_cents\":0,\"refunded\":false},"
      "{\"label\":\"A2\",\"type\":\"TICKET_TYPE_INTEIRA\",\"price_cents\":2500,"
      "\"zone\":\"\",\"discount_cents\":0,\"refunded\":false}],"
      "\"items\":[{\"product_id\":4,\"name\":\"Pipoca\",\"quantity\":2,"
      "\"unit_price_cents\":1000,\"subtotal_cents\":2000,\"discount_cents\":0,"
      "\"refunded_quantity\":0}],"
      "\"seats_subtotal_cents\":0,"
      "\"items_subtotal_cents\":0,\"total_cents\":5750,\"created_at_ms\":0,"
      "\"expires_at_ms\":0,\"updated_at_ms\":0,\"payment_id\":8,\"coupon_code\":\"\","
      "\"discounts\":[],\"discount_cents\":0,\"refunded_cents\":0,\"refund_ids\":[],"
      "\"waitlist_offer\":false}" },
    /* An unset message field is null; null on input means the default. */
    { D(get_seat_map_response), "{\"session\":null,\"held\":null}",
      "{\"session\":null,\"rows\":[],\"available\":0,\"held\":0,\"sold\":0,"
      "\"half_price_remaining\":0,\"as_of_ms\":0,\"zones\":[]}" },
    { D(get_seat_map_response),
      "{\"session\":{\"id\":2,\"rows\":1},\"rows\":[{\"label\":\"A\",\"states\":\".hx\"}],"
      "\"available\":1,\"held\":1,\"sold\":1}",
      "{\"session\":{\"id\":2,\"event_id\":0,\"starts_at_ms\":0,\"room\":\"\",\"rows\":1,"
      "\"seats_per_row\":0,\"capacity\":0,\"price_cents\":0,\"half_price_cents\":0,"
      "\"half_price_cap\":0,\"created_at_ms\":0,\"zones\":[],\"max_per_user\":0,"
      "\"status\":\"SESSION_STATUS_UNSPECIFIED\",\"cancel_reason\":\"\","
      "\"cancelled_at_ms\":0,\"updated_at_ms\":0,\"cancel_progress\":null},"
      "\"rows\":[{\"label\":\"A\",\"states\":\".hx\",\"zone\":\"\"}],\"available\":1,"
      "\"held\":1,\"sold\":1,\"half_price_remaining\":0,\"as_of_ms\":0,\"zones\":[]}" },
    /* Bytes: base64 out; standard or URL-safe, padded or not, in. */
    { D(request_envelope), "{\"method\":\"m\",\"payload\":\"aGVsbG8=\"}",
      "{\"method\":\"m\",\"request_id\":0,\"timeout_ms\":0,\"auth_token\":\"\","
      "\"idempotency_key\":\"\",\"payload\":\"aGVsbG8=\",\"traceparent\":\"\"}" },
    { D(request_envelope), "{\"payload\":\"-_8\"}",
      "{\"method\":\"\",\"request_id\":0,\"timeout_ms\":0,\"auth_token\":\"\","
      "\"idempotency_key\":\"\",\"payload\":\"+/8=\",\"traceparent\":\"\"}" },
    { D(response_envelope), "{\"status\":\"NOT_FOUND\",\"payload\":\"\",\"replayed\":true}",
      "{\"status\":\"NOT_FOUND\",\"message\":\"\",\"request_id\":0,\"payload\":\"\","
      "\"replayed\":true,\"field\":\"\"}" },
    /* Whole numbers in other spellings are integers. */
    { D(create_session_request), "{\"rows\":1e2,\"seats_per_row\":2.0,\"price_cents\":-0}",
      "{\"event_id\":0,\"starts_at_ms\":0,\"room\":\"\",\"rows\":100,\"seats_per_row\":2,"
      "\"price_cents\":0,\"half_price_cents\":0,\"half_price_cap\":0,\"zones\":[],"
      "\"max_per_user\":0}" },
};

static void
check_round_trip(const struct rt_case *c)
{
    char err[512];
    ProtobufCMessage *msg = NULL, *back = NULL;
    uint8_t *wire;
    size_t len;
    char *out, *again;

    if (pbjson_from_json(c->desc, c->in, strlen(c->in), &msg, err, sizeof(err)) != 0)
        fail_msg("%s: %s: %s", c->desc->name, c->in, err);
    assert_non_null(msg);
    assert_ptr_equal(msg->descriptor, c->desc);
    /* Through the wire: the message is one protobuf-c can pack. */
    len = protobuf_c_message_get_packed_size(msg);
    wire = malloc(len + 1);
    assert_non_null(wire);
    assert_int_equal(protobuf_c_message_pack(msg, wire), len);
    back = protobuf_c_message_unpack(c->desc, NULL, len, wire);
    assert_non_null(back);
    out = pbjson_to_string(back, 0);
    assert_non_null(out);
    if (strcmp(out, c->want) != 0)
        fail_msg("%s\n in:   %s\n got:  %s\n want: %s", c->desc->name, c->in, out, c->want);
    /* And the output reads back to the same output. */
    protobuf_c_message_free_unpacked(msg, NULL);
    msg = NULL;
    assert_int_equal(pbjson_from_json(c->desc, out, strlen(out), &msg, err, sizeof(err)), 0);
    again = pbjson_to_string(msg, 0);
    assert_non_null(again);
    assert_string_equal(again, c->want);
    cJSON_free(again);
    cJSON_free(out);
    protobuf_c_message_free_unpacked(back, NULL);
    protobuf_c_message_free_unpacked(msg, NULL);
    free(wire);
}

static void
test_round_trips(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rt_cases) / sizeof(rt_cases[0]); i++)
        check_round_trip(&rt_cases[i]);
}

struct err_case {
    const ProtobufCMessageDescriptor *desc;
    const char *in;
    const char *want; /* the whole message, or its start when prefix is set */
    int prefix;
};

static const struct err_case err_cases[] = {
    { D(create_session_request), "{\"rows\":\"abc\"}",
      "field \"rows\": expected an unsigned integer, got \"abc\"" },
    { D(create_event_request), "{\"bogus\":1}",
      "unknown field \"bogus\" (bilheteria.v1.CreateEventRequest has no such field)" },
    { D(create_reservation_request),
      "{\"items\":[{\"product_id\":1,\"quantity\":1},{\"product_id\":2,\"qty\":3}]}",
      "unknown field \"items[1].qty\" (bilheteria.v1.ItemRequest has no such field)" },
    { D(create_reservation_request), "{\"items\":[{\"quantity\":1.5}]}",
      "field \"items[0].quantity\": expected an integer, got 1.5" },
    { D(create_reservation_request), "{\"items\":[{\"quantity\":2147483648}]}",
      "field \"items[0].quantity\": 2147483648 is out of range (-2147483648..2147483647)" },
    { D(create_session_request), "{\"rows\":4294967296}",
      "field \"rows\": 4294967296 is out of range (0..4294967295)" },
    { D(create_session_request), "{\"rows\":-1}",
      "field \"rows\": expected an unsigned integer, got -1" },
    { D(create_session_request), "{\"rows\":true}",
      "field \"rows\": expected an unsigned integer, got true" },
    { D(create_session_request), "{\"rows\":1e400}", "field \"rows\": 1e400 is out of range" },
    { D(create_session_request), "{\"rows\":1e300}", "field \"rows\": 1e300 is out of range" },
    { D(get_event_request), "{\"id\":18446744073709551616}",
      "field \"id\": 18446744073709551616 is out of range (0..18446744073709551615)" },
    { D(get_event_request), "{\"id\":\"0x10\"}",
      "field \"id\": expected an unsigned integer, got \"0x10\"" },
    { D(get_event_request), "{\"id\":\" 1\"}",
      "field \"id\": expected an unsigned integer, got \" 1\"" },
    { D(get_event_request), "{\"id\":\"\"}",
      "field \"id\": expected an unsigned integer, got \"\"" },
    { D(get_event_request), "{\"id\":[1]}",
      "field \"id\": expected an unsigned integer, got an array" },
    { D(create_event_request), "{\"starts_at_ms\":9223372036854775808}",
      "field \"starts_at_ms\": 9223372036854775808 is out of range "
      "(-9223372036854775808..9223372036854775807)" },
    { D(create_event_request), "{\"starts_at_ms\":-9223372036854775809}",
      "field \"starts_at_ms\": -9223372036854775809 is out of range "
      "(-9223372036854775808..9223372036854775807)" },
    { D(create_event_request), "{\"name\":12}", "field \"name\": expected a string, got 12" },
    { D(create_event_request), "{\"name\":{}}",
      "field \"name\": expected a string, got an object" },
    { D(create_event_request), "{\"name\":\"a\",\"name\":\"b\"}", "field \"name\" is given twice" },
    { D(create_event_request), "{\"startsAtMs\":1,\"starts_at_ms\":2}",
      "field \"starts_at_ms\" is given twice" },
    { D(create_reservation_request), "{\"seats\":\"A1\"}",
      "field \"seats\": expected an array, got \"A1\"" },
    { D(create_reservation_request), "{\"seats\":[\"A1\",1]}",
      "field \"seats[1]\": expected a string, got 1" },
    { D(create_reservation_request), "{\"seats\":[null]}",
      "field \"seats[0]\": expected a string, got null" },
    { D(create_reservation_request), "{\"items\":{}}",
      "field \"items\": expected an array, got an object" },
    { D(create_reservation_request), "{\"items\":[3]}",
      "field \"items[0]\": expected an object, got 3" },
    { D(check_response), "{\"status\":\"BOGUS\"}",
      "field \"status\": expected one of SERVING_STATUS_UNSPECIFIED, SERVING_STATUS_SERVING, "
      "SERVING_STATUS_NOT_SERVING (or a number), got \"BOGUS\"" },
    { D(check_response), "{\"status\":2147483648}",
      "field \"status\": 2147483648 is out of range (-2147483648..2147483647)" },
    { D(check_response), "{\"status\":1.5}", "field \"status\": expected an integer, got 1.5" },
    { D(product), "{\"stock_tracked\":1}",
      "field \"stock_tracked\": expected true or false, got 1" },
    { D(request_envelope), "{\"payload\":\"!!!!\"}",
      "field \"payload\": expected a base64 string, got \"!!!!\"" },
    { D(request_envelope), "{\"payload\":\"a\"}",
      "field \"payload\": expected a base64 string, got \"a\"" },
    { D(get_seat_map_response), "{\"session\":{\"id\":-5}}",
      "field \"session.id\": expected an unsigned integer, got -5" },
    { D(get_seat_map_response), "{\"session\":[]}",
      "field \"session\": expected an object, got an array" },
    { D(create_event_request), "[1]",
      "expected a JSON object for bilheteria.v1.CreateEventRequest, got an array" },
    { D(create_event_request), "\"x\"",
      "expected a JSON object for bilheteria.v1.CreateEventRequest, got \"x\"" },
    { D(create_event_request), "{\"name\":", "invalid JSON", 1 },
    { D(create_event_request), "", "invalid JSON", 1 },
    { D(create_event_request), "{} x", "invalid JSON at offset 3, near \"x\"" },
    { D(create_event_request), "{\"name\" \"a\"}", "invalid JSON at offset", 1 },
    { D(create_event_request), "{\"name\":\"u2\\u0000evil\"}",
      "a string at offset 11 holds \\u0000, which strings here cannot hold" },
};

static void
test_errors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *c = &err_cases[i];
        ProtobufCMessage *sentinel = (ProtobufCMessage *)&err_cases[0];
        ProtobufCMessage *msg = sentinel;
        char err[512];
        int rc = pbjson_from_json(c->desc, c->in, strlen(c->in), &msg, err, sizeof(err));

        if (rc != -1)
            fail_msg("case %zu (%s) was accepted", i, c->in);
        /* *out is untouched on failure. */
        assert_ptr_equal(msg, sentinel);
        if (c->prefix ? strncmp(err, c->want, strlen(c->want)) != 0 : strcmp(err, c->want) != 0)
            fail_msg("case %zu (%s)\n got:  %s\n want: %s", i, c->in, err, c->want);
    }
}

static void
test_nul_and_small_buffers(void **state)
{
    static const char in[] = "{\"name\":\"a\"}\0";
    ProtobufCMessage *msg = NULL;
    char err[8];

    (void)state;
    /* A NUL inside the given length is refused. */
    assert_int_equal(pbjson_from_json(D(create_event_request), in, sizeof(in), &msg, NULL, 0), -1);
    assert_null(msg);
    /* An escaped backslash before "u0000" is text, not a NUL. */
    static const char lit[] = "{\"name\":\"a\\\\u0000\"}";
    assert_int_equal(pbjson_from_json(D(create_event_request), lit, strlen(lit), &msg, NULL, 0), 0);
    assert_string_equal(((Bilheteria__V1__CreateEventRequest *)msg)->name, "a\\u0000");
    protobuf_c_message_free_unpacked(msg, NULL);
    msg = NULL;
    /* A short error buffer is truncated, still NUL-terminated. */
    assert_int_equal(
        pbjson_from_json(D(create_event_request), "{\"x\":1}", 7, &msg, err, sizeof(err)), -1);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    /* Input need not be NUL-terminated: only len bytes are read. */
    assert_int_equal(pbjson_from_json(D(create_event_request), "{\"name\":\"b\"}XYZ", 12, &msg, err,
                                      sizeof(err)),
                     0);
    assert_string_equal(((Bilheteria__V1__CreateEventRequest *)msg)->name, "b");
    protobuf_c_message_free_unpacked(msg, NULL);
}

/* Messages built in C: every field out, zero values and big numbers. */
static void
test_to_json_from_c(void **state)
{
    Bilheteria__V1__GetSeatMapResponse r = BILHETERIA__V1__GET_SEAT_MAP_RESPONSE__INIT;
    Bilheteria__V1__Session s = BILHETERIA__V1__SESSION__INIT;
    Bilheteria__V1__SeatRow row = BILHETERIA__V1__SEAT_ROW__INIT;
    Bilheteria__V1__SeatRow *rows[1] = { &row };
    Bilheteria__V1__CheckResponse h = BILHETERIA__V1__CHECK_RESPONSE__INIT;
    cJSON *obj, *it;
    char *text;

    (void)state;
    s.id = UINT64_MAX;
    s.price_cents = -1;
    row.label = "AA";
    row.states = "..x";
    r.session = &s;
    r.n_rows = 1;
    r.rows = rows;
    r.available = 2;
    obj = pbjson_to_cjson(&r.base);
    assert_non_null(obj);
    it = cJSON_GetObjectItemCaseSensitive(obj, "held");
    assert_non_null(it);
    assert_true(cJSON_IsRaw(it));
    assert_string_equal(it->valuestring, "0");
    cJSON_Delete(obj);
    text = pbjson_to_string(&r.base, 0);
    assert_non_null(text);
    assert_string_equal(text, "{\"session\":{\"id\":18446744073709551615,\"event_id\":0,"
                              "\"starts_at_ms\":0,\"room\":\"\",\"rows\":0,\"seats_per_row\":0,"
                              "\"capacity\":0,\"price_cents\":-1,\"half_price_cents\":0,"
                              "\"half_price_cap\":0,\"created_at_ms\":0,\"zones\":[],"
                              "\"max_per_user\":0,\"status\":\"SESSION_STATUS_UNSPECIFIED\","
                              "\"cancel_reason\":\"\",\"cancelled_at_ms\":0,\"updated_at_ms\":0,"
                              "\"cancel_progress\":null},\"rows\":[{\"label\":\"AA\",\"states\":"
                              "\"..x\",\"zone\":\"\"}],\"available\":2,\"held\":0,\"sold\":0,"
                              "\"half_price_remaining\":0,\"as_of_ms\":0,\"zones\":[]}");
    cJSON_free(text);
    /* Pretty output parses back to the same message. */
    h.status = BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING;
    h.uptime_ms = INT64_MAX;
    text = pbjson_to_string(&h.base, 1);
    assert_non_null(text);
    assert_non_null(strchr(text, '\n'));
    {
        ProtobufCMessage *m = NULL;
        char err[256];
        Bilheteria__V1__CheckResponse *hb;

        assert_int_equal(
            pbjson_from_json(D(check_response), text, strlen(text), &m, err, sizeof(err)), 0);
        hb = (Bilheteria__V1__CheckResponse *)m;
        assert_int_equal(hb->status, h.status);
        assert_true(hb->uptime_ms == INT64_MAX);
        assert_string_equal(hb->version, "");
        protobuf_c_message_free_unpacked(m, NULL);
    }
    cJSON_free(text);
}

/* Pretty output is grpcurl's layout. */
static void
test_pretty(void **state)
{
    Bilheteria__V1__CreateReservationRequest r = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__ItemRequest it = BILHETERIA__V1__ITEM_REQUEST__INIT;
    Bilheteria__V1__ItemRequest *items[1] = { &it };
    char *seats[2] = { "A1", "B\"2" };
    char *text;

    (void)state;
    r.session_id = 9;
    r.user_id = "ana";
    r.n_seats = 2;
    r.seats = seats;
    r.n_items = 1;
    r.items = items;
    it.product_id = 4;
    it.quantity = 2;
    text = pbjson_to_string(&r.base, 1);
    assert_non_null(text);
    assert_string_equal(text, "{\n"
                              "  \"session_id\": 9,\n"
                              "  \"user_id\": \"ana\",\n"
                              "  \"seats\": [\n"
                              "    \"A1\",\n"
                              "    \"B\\\"2\"\n"
                              "  ],\n"
                              "  \"best\": 0,\n"
                              "  \"half_price\": 0,\n"
                              "  \"items\": [\n"
                              "    {\n"
                              "      \"product_id\": 4,\n"
                              "      \"quantity\": 2\n"
                              "    }\n"
                              "  ],\n"
                              "  \"ttl_s\": 0,\n"
                              "  \"zone\": \"\",\n"
                              "  \"coupon_code\": \"\"\n"
                              "}");
    cJSON_free(text);
    r.n_items = 0;
    r.n_seats = 0;
    text = pbjson_to_string(&r.base, 1);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"seats\": [],\n"));
    assert_non_null(strstr(text, "\"items\": [],\n"));
    cJSON_free(text);
}

/* Every method's request and response type, empty: writes and reads back. */
static void
test_every_method_type(void **state)
{
    size_t s, m, k;

    (void)state;
    for (s = 0; bh_services[s] != NULL; s++) {
        for (m = 0; m < bh_services[s]->n_methods; m++) {
            const ProtobufCMessageDescriptor *ds[2] = { bh_services[s]->methods[m].input,
                                                        bh_services[s]->methods[m].output };
            for (k = 0; k < 2; k++) {
                ProtobufCMessage *msg = NULL, *back = NULL;
                char err[256], *a, *b;

                assert_int_equal(pbjson_from_json(ds[k], "{}", 2, &msg, err, sizeof(err)), 0);
                a = pbjson_to_string(msg, 0);
                assert_non_null(a);
                if (pbjson_from_json(ds[k], a, strlen(a), &back, err, sizeof(err)) != 0)
                    fail_msg("%s: %s: %s", ds[k]->name, a, err);
                b = pbjson_to_string(back, 1);
                assert_non_null(b);
                cJSON_free(a);
                cJSON_free(b);
                protobuf_c_message_free_unpacked(msg, NULL);
                protobuf_c_message_free_unpacked(back, NULL);
            }
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nul_and_small_buffers),
        cmocka_unit_test(test_to_json_from_c),
        cmocka_unit_test(test_pretty),
        cmocka_unit_test(test_every_method_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
