/* SPDX-License-Identifier: Apache-2.0 */
/* server/request.c: a string with a NUL inside, which protobuf-c would cut
 * there, is refused by srv_request_decode naming the field, in the envelope
 * and in the payload; NUL bytes that are not in a string pass. Envelopes are
 * built byte by byte: a C string cannot carry the NUL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "srv.h"

#define CREATE_EVENT "bilheteria.v1.EventService/CreateEvent"
#define LIST_EVENTS  "bilheteria.v1.EventService/ListEvents"
#define CREATE_RESV  "bilheteria.v1.ReservationService/CreateReservation"

typedef struct wire {
    uint8_t b[512];
    size_t n;
} wire;

/* A length-delimited field (wire type 2) of n bytes. */
static void
put_bytes(wire *w, unsigned field, const void *p, size_t n)
{
    assert_true(field < 16 && n < 128 && w->n + 2 + n <= sizeof(w->b));
    w->b[w->n++] = (uint8_t)(field << 3 | 2);
    w->b[w->n++] = (uint8_t)n;
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void
put_varint(wire *w, unsigned field, uint8_t v)
{
    assert_true(field < 16 && v < 128 && w->n + 2 <= sizeof(w->b));
    w->b[w->n++] = (uint8_t)(field << 3);
    w->b[w->n++] = v;
}

typedef struct tcase {
    const char *what;
    const char *method; /* NULL: given raw in method_raw */
    const char *method_raw;
    size_t method_len;
    const char *key; /* idempotency key, as raw bytes */
    size_t key_len;
    const char *token; /* auth token, as raw bytes */
    size_t token_len;
    const char *payload;
    size_t payload_len;
    int want;           /* SRV_DECODED_* */
    const char *saying; /* the refusal's message, when want is ANSWER */
} tcase;

#define S(lit) lit, sizeof(lit) - 1

static const tcase cases[] = {
    { "a name cut at a NUL", CREATE_EVENT, NULL, 0, S("k1"), S(""),
      S("\x0a\x05"
        "ab\0\xff\xfe"),
      SRV_DECODED_ANSWER,
      "name has a NUL byte at offset 2 (strings must be UTF-8 text without NUL)" },
    { "a page token of NUL and junk", LIST_EVENTS, NULL, 0, S(""), S(""), S("\x12\x03\0\x01\xff"),
      SRV_DECODED_ANSWER, "page_token has a NUL byte at offset 0" },
    { "the second seat of a repeated string", CREATE_RESV, NULL, 0, S("k2"), S(""),
      S("\x08\x01\x12\x01u\x1a\x02"
        "A1\x1a\x02"
        "A\0"),
      SRV_DECODED_ANSWER, "seats[1] has a NUL byte at offset 1" },
    { "an idempotency key", CREATE_EVENT, NULL, 0, S("k\0x"), S(""), S("\x0a\x01n"),
      SRV_DECODED_ANSWER, "idempotency_key has a NUL byte at offset 1" },
    { "an auth token", CREATE_EVENT, NULL, 0, S("k"), S("t\0"), S("\x0a\x01n"), SRV_DECODED_ANSWER,
      "auth_token has a NUL byte at offset 1" },
    { "a method name", NULL, S(CREATE_EVENT "\0x"), S("k"), S(""), S("\x0a\x01n"),
      SRV_DECODED_ANSWER, "method has a NUL byte at offset 38" },
    /* NUL bytes outside strings: varints of 0 (starts_at_ms, a nested
     * item's quantity), and an unknown length-delimited field. */
    { "zero varints", CREATE_EVENT, NULL, 0, S("k"), S(""), S("\x0a\x01n\x20\x00"),
      SRV_DECODED_WRITE, NULL },
    { "a nested message with zeros", CREATE_RESV, NULL, 0, S("k"), S(""),
      S("\x08\x01\x12\x01u\x1a\x02"
        "A1\x32\x04\x08\x00\x10\x00\x32\x02\x08\x07"),
      SRV_DECODED_WRITE, NULL },
    { "an unknown field", LIST_EVENTS, NULL, 0, S(""), S(""), S("\x7a\x02\0\0"), SRV_DECODED_READ,
      NULL },
};

static int
setup(void **state)
{
    (void)state;
    return srv_registry_init() == 0 ? 0 : -1;
}

static void
test_nul_in_strings(void **state)
{
    (void)state;
    srv_config cfg = { .max_request = 65536, .max_seats = 10, .hold_ttl_ms = 600000 };
    bh__arena arena;
    assert_int_equal(bh__arena_init_alloc(&arena, 4096), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const tcase *t = &cases[i];
        wire w = { .n = 0 };
        if (t->method != NULL)
            put_bytes(&w, 1, t->method, strlen(t->method));
        else
            put_bytes(&w, 1, t->method_raw, t->method_len);
        put_varint(&w, 2, 42);
        if (t->token_len)
            put_bytes(&w, 4, t->token, t->token_len);
        if (t->key_len)
            put_bytes(&w, 5, t->key, t->key_len);
        put_bytes(&w, 6, t->payload, t->payload_len);

        srv_call c;
        uint64_t rid = 0;
        bh__arena_reset(&arena);
        srv_call_init(&c, &arena, &cfg, NULL);
        int got = srv_request_decode(&c, w.b, w.n, &rid);
        assert_int_equal(rid, 42);
        if (got != t->want)
            fail_msg("%s: decoded as %d, not %d (%d: %s)", t->what, got, t->want, c.code, c.msg);
        if (t->saying != NULL) {
            assert_int_equal(c.code, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT);
            if (strstr(c.msg, t->saying) == NULL)
                fail_msg("%s: \"%s\" does not say \"%s\"", t->what, c.msg, t->saying);
        }
    }
    bh__arena_fini(&arena);
}

/* The envelope's traceparent: empty or W3C version 00, lowercase, ids not
 * all zero; its trace id is kept on the call. */
static void
test_traceparent(void **state)
{
    (void)state;
    static const struct {
        const char *tp;
        int ok;
    } tps[] = {
        { "", 1 },
        { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1 },
        { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", 1 },
        { "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", 0 }, /* uppercase */
        { "00-00000000000000000000000000000000-00f067aa0ba902b7-01", 0 }, /* zero trace */
        { "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", 0 }, /* zero parent */
        { "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0 }, /* version */
        { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", 0 },  /* short */
        { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", 0 },
        { "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", 0 },
        { "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", 0 },
        { "x", 0 },
    };
    srv_config cfg = { .max_request = 65536, .max_seats = 10, .hold_ttl_ms = 600000 };
    bh__arena arena;
    assert_int_equal(bh__arena_init_alloc(&arena, 4096), 0);
    for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
        wire w = { .n = 0 };
        put_bytes(&w, 1, LIST_EVENTS, strlen(LIST_EVENTS));
        put_varint(&w, 2, 7);
        if (tps[i].tp[0] != 0)
            put_bytes(&w, 7, tps[i].tp, strlen(tps[i].tp));
        srv_call c;
        uint64_t rid = 0;
        bh__arena_reset(&arena);
        srv_call_init(&c, &arena, &cfg, NULL);
        int got = srv_request_decode(&c, w.b, w.n, &rid);
        if (tps[i].ok) {
            if (got != SRV_DECODED_READ)
                fail_msg("\"%s\": refused (%d: %s)", tps[i].tp, c.code, c.msg);
            if (tps[i].tp[0] == 0)
                assert_string_equal(c.trace_id, "");
            else
                assert_string_equal(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        } else {
            if (got != SRV_DECODED_ANSWER ||
                c.code != BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT ||
                strstr(c.msg, "traceparent") == NULL)
                fail_msg("\"%s\": decoded as %d (%d: %s)", tps[i].tp, got, c.code, c.msg);
            assert_string_equal(c.trace_id, "");
        }
    }
    bh__arena_fini(&arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_in_strings),
        cmocka_unit_test(test_traceparent),
    };
    return cmocka_run_group_tests_name("request", tests, setup, NULL);
}
