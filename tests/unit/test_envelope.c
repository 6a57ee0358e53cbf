/* SPDX-License-Identifier: Apache-2.0 */
/* The wire envelope (proto/bilheteria/v1/rpc.proto): RequestEnvelope and
 * ResponseEnvelope survive pack/unpack, and malformed bytes are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bilheteria/v1/rpc.pb-c.h"

typedef Bilheteria__V1__RequestEnvelope ReqEnv;
typedef Bilheteria__V1__ResponseEnvelope RespEnv;

static uint8_t *
pack_req(const ReqEnv *e, size_t *len)
{
    *len = bilheteria__v1__request_envelope__get_packed_size(e);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(bilheteria__v1__request_envelope__pack(e, buf), *len);
    return buf;
}

static uint8_t *
pack_resp(const RespEnv *e, size_t *len)
{
    *len = bilheteria__v1__response_envelope__get_packed_size(e);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(bilheteria__v1__response_envelope__pack(e, buf), *len);
    return buf;
}

static void
check_req_round_trip(const ReqEnv *e)
{
    size_t len;
    uint8_t *buf = pack_req(e, &len);
    ReqEnv *got = bilheteria__v1__request_envelope__unpack(NULL, len, buf);
    assert_non_null(got);
    assert_string_equal(got->method, e->method);
    assert_int_equal(got->request_id, e->request_id);
    assert_int_equal(got->timeout_ms, e->timeout_ms);
    assert_string_equal(got->auth_token, e->auth_token);
    assert_string_equal(got->idempotency_key, e->idempotency_key);
    assert_int_equal(got->payload.len, e->payload.len);
    if (e->payload.len)
        assert_memory_equal(got->payload.data, e->payload.data, e->payload.len);
    bilheteria__v1__request_envelope__free_unpacked(got, NULL);
    free(buf);
}

static void
check_resp_round_trip(const RespEnv *e)
{
    size_t len;
    uint8_t *buf = pack_resp(e, &len);
    RespEnv *got = bilheteria__v1__response_envelope__unpack(NULL, len, buf);
    assert_non_null(got);
    assert_int_equal(got->status, e->status);
    assert_string_equal(got->message, e->message);
    assert_int_equal(got->request_id, e->request_id);
    assert_int_equal(got->replayed, e->replayed);
    assert_int_equal(got->payload.len, e->payload.len);
    if (e->payload.len)
        assert_memory_equal(got->payload.data, e->payload.data, e->payload.len);
    bilheteria__v1__response_envelope__free_unpacked(got, NULL);
    free(buf);
}

static uint8_t *
pattern(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 131 + (i >> 8));
    return p;
}

static void
test_request_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = { 0, 1, 127, 128, 16383, 16384, (size_t)1 << 20 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *payload = pattern(sizes[i]);
        ReqEnv e = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
        e.method = "bilheteria.v1.EventService/CreateEvent";
        e.request_id = UINT64_MAX - i;
        e.timeout_ms = 30000;
        e.auth_token = "tok-\xc3\xa9";
        e.idempotency_key = "k-1";
        e.payload.data = payload;
        e.payload.len = sizes[i];
        check_req_round_trip(&e);
        free(payload);
    }
    /* All defaults: packs to nothing, and nothing unpacks to the defaults. */
    ReqEnv empty = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    size_t len = 99;
    uint8_t *buf = pack_req(&empty, &len);
    assert_int_equal(len, 0);
    free(buf);
    check_req_round_trip(&empty);
}

static void
test_response_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = { 0, 1, 300, (size_t)1 << 20 };
    static const int codes[] = { 0, 3, 5, 9, 16 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *payload = pattern(sizes[i]);
        RespEnv e = BILHETERIA__V1__RESPONSE_ENVELOPE__INIT;
        e.status = codes[i % 5];
        e.message = i ? "seat \"Z99\" is not in session 12 (rows A-J, seats 1-20)" : "";
        e.request_id = (uint64_t)1 << (i * 10);
        e.payload.data = payload;
        e.payload.len = sizes[i];
        e.replayed = (protobuf_c_boolean)(i % 2);
        check_resp_round_trip(&e);
        free(payload);
    }
    RespEnv empty = BILHETERIA__V1__RESPONSE_ENVELOPE__INIT;
    check_resp_round_trip(&empty);
}

/* ---- malformed input ---- */

enum corruption {
    C_TRUNCATE, /* keep only the first `arg` bytes (arg < 0: len + arg) */
    C_APPEND,   /* append bytes */
    C_REPLACE,  /* replace the whole buffer */
};

struct bad_case {
    const char *name;
    enum corruption kind;
    long arg;
    const uint8_t bytes[16];
    size_t n_bytes;
};

/* The good message used as a base: method (field 1), request_id (2),
 * timeout (3), payload (6) of 300 bytes: its length needs a 2-byte varint. */
static uint8_t *
base_request(size_t *len)
{
    static uint8_t payload[300];
    memset(payload, 0x42, sizeof(payload));
    ReqEnv e = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    e.method = "bilheteria.v1.EventService/GetEvent";
    e.request_id = 1ULL << 40; /* a 6-byte varint */
    e.timeout_ms = 1000;
    e.payload.data = payload;
    e.payload.len = sizeof(payload);
    return pack_req(&e, len);
}

static const struct bad_case bad_cases[] = {
    { "cut inside the payload", C_TRUNCATE, -1, { 0 }, 0 },
    { "cut inside the payload, far", C_TRUNCATE, -150, { 0 }, 0 },
    { "cut after the payload's tag and length", C_TRUNCATE, -300, { 0 }, 0 },
    { "cut inside the payload's length varint", C_TRUNCATE, -301, { 0 }, 0 },
    { "cut right after the payload's tag", C_TRUNCATE, -302, { 0 }, 0 },
    { "cut inside the method string", C_TRUNCATE, 10, { 0 }, 0 },
    { "cut after the method's tag", C_TRUNCATE, 1, { 0 }, 0 },
    { "cut inside the request_id varint", C_TRUNCATE, 2 + 35 + 3, { 0 }, 0 },
    { "trailing tag with no value", C_APPEND, 0, { 0x10 }, 1 },
    { "trailing unknown field with a length past the end", C_APPEND, 0, { 0x7a, 0x05, 1 }, 3 },
    { "trailing wire type 7", C_APPEND, 0, { 0x0f }, 1 },
    { "trailing wire type 6", C_APPEND, 0, { 0x0e, 0 }, 2 },
    { "trailing field number 0", C_APPEND, 0, { 0x00, 0x00 }, 2 },
    { "trailing unterminated varint", C_APPEND, 0, { 0x10, 0xff, 0xff, 0xff }, 4 },
    { "11-byte varint",
      C_REPLACE,
      0,
      { 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 },
      12 },
    { "method as a varint (wrong wire type)", C_REPLACE, 0, { 0x08, 0x01 }, 2 },
    { "request_id as bytes (wrong wire type)", C_REPLACE, 0, { 0x12, 0x01, 0x41 }, 3 },
    { "payload length larger than the buffer", C_REPLACE, 0, { 0x32, 0x7f, 0x00 }, 3 },
    { "payload length 2^32", C_REPLACE, 0, { 0x32, 0x80, 0x80, 0x80, 0x80, 0x10, 0 }, 7 },
    { "end group without start", C_REPLACE, 0, { 0x0c }, 1 },
    { "garbage", C_REPLACE, 0, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 8 },
    { "garbage 2", C_REPLACE, 0, { 0xde, 0xad, 0xbe, 0xef }, 4 },
};

static void
test_request_malformed(void **state)
{
    (void)state;
    size_t base_len;
    uint8_t *base = base_request(&base_len);
    /* The base itself is fine, and the offsets above match its layout:
     * 2 + 35 (method) + 7 (request_id) + 3 (timeout) + 3 + 300 (payload). */
    assert_int_equal(base_len, 2 + 35 + 7 + 3 + 3 + 300);
    ReqEnv *ok = bilheteria__v1__request_envelope__unpack(NULL, base_len, base);
    assert_non_null(ok);
    bilheteria__v1__request_envelope__free_unpacked(ok, NULL);

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        uint8_t *buf = malloc(base_len + 16);
        size_t len = 0;
        assert_non_null(buf);
        switch (c->kind) {
        case C_TRUNCATE:
            len = c->arg < 0 ? base_len - (size_t)-c->arg : (size_t)c->arg;
            memcpy(buf, base, len);
            break;
        case C_APPEND:
            memcpy(buf, base, base_len);
            memcpy(buf + base_len, c->bytes, c->n_bytes);
            len = base_len + c->n_bytes;
            break;
        case C_REPLACE:
            memcpy(buf, c->bytes, c->n_bytes);
            len = c->n_bytes;
            break;
        }
        ReqEnv *got = bilheteria__v1__request_envelope__unpack(NULL, len, buf);
        if (got != NULL) {
            bilheteria__v1__request_envelope__free_unpacked(got, NULL);
            fail_msg("RequestEnvelope: \"%s\" (%zu bytes) unpacked", c->name, len);
        }
        RespEnv *r = bilheteria__v1__response_envelope__unpack(NULL, len, buf);
        /* The same bytes are no better as a ResponseEnvelope, except where
         * the corruption only breaks a RequestEnvelope field's type. */
        if (r != NULL) {
            bilheteria__v1__response_envelope__free_unpacked(r, NULL);
            if (c->kind != C_REPLACE || (c->bytes[0] != 0x08 && c->bytes[0] != 0x12))
                fail_msg("ResponseEnvelope: \"%s\" (%zu bytes) unpacked", c->name, len);
        }
        free(buf);
    }
    free(base);
}

/* Every strict prefix of a response that ends with a length-delimited field
 * fails to unpack, except prefixes that end exactly between fields. */
static void
test_response_every_prefix(void **state)
{
    (void)state;
    uint8_t payload[200];
    memset(payload, 7, sizeof(payload));
    RespEnv e = BILHETERIA__V1__RESPONSE_ENVELOPE__INIT;
    e.status = 5;             /* 08 05 */
    e.message = "not found";  /* 12 09 ... */
    e.request_id = 300;       /* 18 ac 02 */
    e.payload.data = payload; /* 22 c8 01 ... */
    e.payload.len = sizeof(payload);
    size_t len;
    uint8_t *buf = pack_resp(&e, &len);
    /* Field boundaries: after status (2), message (13), request_id (16). */
    const size_t boundary[] = { 0, 2, 13, 16 };
    assert_int_equal(len, 16 + 3 + 200);
    size_t refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        int at_boundary = 0;
        for (size_t b = 0; b < sizeof(boundary) / sizeof(boundary[0]); b++)
            at_boundary |= cut == boundary[b];
        RespEnv *got = bilheteria__v1__response_envelope__unpack(NULL, cut, buf);
        if (at_boundary) {
            assert_non_null(got);
            assert_int_equal(got->payload.len, 0);
        } else if (got != NULL) {
            fail_msg("a %zu-byte prefix of a %zu-byte response unpacked", cut, len);
        } else {
            refused++;
        }
        if (got != NULL)
            bilheteria__v1__response_envelope__free_unpacked(got, NULL);
    }
    assert_int_equal(refused, len - 4);
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_response_round_trip),
        cmocka_unit_test(test_request_malformed),
        cmocka_unit_test(test_response_every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
