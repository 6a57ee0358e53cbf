/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strings with a NUL inside, sent as raw bytes to a real server: protobuf-c
 * would hand them over cut at the NUL ("ab" for "ab\0\xff\xfe"), so they
 * are refused, naming the field, and nothing is written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "bilheteria/v1/rpc.pb-c.h"
#include "harness.h"

static bht_server srv;
static bh_client *cl;

static int
group_setup(void **state)
{
    (void)state;
    return bht_group_start(&srv, &cl, NULL);
}

static int
group_teardown(void **state)
{
    (void)state;
    return bht_group_stop(&srv, cl);
}

static void
test_nul_in_payload(void **state)
{
    (void)state;
    uint8_t *resp = NULL;
    size_t len = 0;
    bh_status st;
    bh_call_opts o = { .idempotency_key = "nul-1" };
    const uint8_t name[] = { 0x0a, 0x05, 'a', 'b', 0x00, 0xff, 0xfe };
    assert_int_equal(bh_call_raw(cl, "bilheteria.v1.EventService/CreateEvent", name, sizeof(name),
                                 &resp, &len, &o, &st),
                     BH_INVALID_ARGUMENT);
    assert_string_equal(st.message, "name has a NUL byte at offset 2 (strings must be UTF-8 "
                                    "text without NUL)");
    assert_int_equal(bht_count_events(cl), 0);
    const uint8_t token[] = { 0x12, 0x03, 0x00, 0x01, 0xff };
    assert_int_equal(bh_call_raw(cl, "bilheteria.v1.EventService/ListEvents", token, sizeof(token),
                                 &resp, &len, NULL, &st),
                     BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "page_token has a NUL byte at offset 0"));
}

/* The envelope's own strings: an idempotency key "k\0x", by raw nng. */
static void
test_nul_in_envelope(void **state)
{
    (void)state;
    static const char method[] = "bilheteria.v1.EventService/CreateEvent";
    uint8_t buf[128];
    size_t n = 0, ml = sizeof(method) - 1;
    buf[n++] = 0x0a; /* method */
    buf[n++] = (uint8_t)ml;
    memcpy(buf + n, method, ml);
    n += ml;
    static const uint8_t rest[] = { 0x10, 0x07,                    /* request_id 7 */
                                    0x2a, 0x03, 'k',  0x00, 'x',   /* idempotency_key */
                                    0x32, 0x03, 0x0a, 0x01, 'n' }; /* payload */
    memcpy(buf + n, rest, sizeof(rest));
    n += sizeof(rest);
    Bilheteria__V1__ResponseEnvelope *env = bht_raw_envelope(&srv, buf, n);
    assert_int_equal(env->request_id, 7);
    assert_int_equal(env->status, BH_INVALID_ARGUMENT);
    assert_non_null(strstr(env->message, "idempotency_key has a NUL byte at offset 1"));
    bilheteria__v1__response_envelope__free_unpacked(env, NULL);
    assert_int_equal(bht_count_events(cl), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_in_payload),
        cmocka_unit_test(test_nul_in_envelope),
    };
    return cmocka_run_group_tests_name("strings", tests, group_setup, group_teardown);
}
