/* SPDX-License-Identifier: Apache-2.0 */
/* Key encoding (store/key.c): big-endian, so that LMDB's byte order is
 * numeric order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"

static const uint64_t u64_values[] = {
    0,
    1,
    2,
    255,
    256,
    257,
    65535,
    65536,
    0xffffffffULL,
    1ULL << 32,
    (1ULL << 32) + 1,
    0x0102030405060708ULL,
    1ULL << 63,
    UINT64_MAX - 1,
    UINT64_MAX,
};
#define N_U64 (sizeof(u64_values) / sizeof(u64_values[0]))

static const uint32_t u32_values[] = {
    0, 1, 255, 256, 65535, 65536, 0x01020304u, 1u << 31, UINT32_MAX - 1, UINT32_MAX,
};
#define N_U32 (sizeof(u32_values) / sizeof(u32_values[0]))

static void
test_u64_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_U64; i++) {
        uint8_t k[10];
        memset(k, 0xa5, sizeof(k));
        store_key_put_u64(k + 1, u64_values[i]);
        assert_int_equal(store_key_get_u64(k + 1), u64_values[i]);
        /* Writes exactly 8 bytes. */
        assert_int_equal(k[0], 0xa5);
        assert_int_equal(k[9], 0xa5);
    }
}

static void
test_u64_is_big_endian(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        uint8_t bytes[8];
    } cases[] = {
        { 0, { 0, 0, 0, 0, 0, 0, 0, 0 } },
        { 1, { 0, 0, 0, 0, 0, 0, 0, 1 } },
        { 255, { 0, 0, 0, 0, 0, 0, 0, 0xff } },
        { 256, { 0, 0, 0, 0, 0, 0, 1, 0 } },
        { 1ULL << 32, { 0, 0, 0, 1, 0, 0, 0, 0 } },
        { 0x0102030405060708ULL, { 1, 2, 3, 4, 5, 6, 7, 8 } },
        { UINT64_MAX, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t k[8];
        store_key_put_u64(k, cases[i].v);
        assert_memory_equal(k, cases[i].bytes, 8);
        assert_int_equal(store_key_get_u64(cases[i].bytes), cases[i].v);
    }
}

static int
sign(int x)
{
    return (x > 0) - (x < 0);
}

static void
test_u64_byte_order_is_numeric_order(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_U64; i++) {
        for (size_t j = 0; j < N_U64; j++) {
            uint8_t a[8], b[8];
            uint64_t x = u64_values[i], y = u64_values[j];
            store_key_put_u64(a, x);
            store_key_put_u64(b, y);
            int want = (x > y) - (x < y);
            assert_int_equal(sign(memcmp(a, b, 8)), want);
        }
    }
}

static void
test_u32_round_trip_and_order(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_U32; i++) {
        uint8_t k[6];
        memset(k, 0x5a, sizeof(k));
        store_key_put_u32(k + 1, u32_values[i]);
        assert_int_equal(store_key_get_u32(k + 1), u32_values[i]);
        assert_int_equal(k[0], 0x5a);
        assert_int_equal(k[5], 0x5a);
    }
    uint8_t k[4];
    store_key_put_u32(k, 0x01020304u);
    assert_memory_equal(k, ((uint8_t[]){ 1, 2, 3, 4 }), 4);
    for (size_t i = 0; i < N_U32; i++) {
        for (size_t j = 0; j < N_U32; j++) {
            uint8_t a[4], b[4];
            uint32_t x = u32_values[i], y = u32_values[j];
            store_key_put_u32(a, x);
            store_key_put_u32(b, y);
            assert_int_equal(sign(memcmp(a, b, 4)), (x > y) - (x < y));
        }
    }
}

/* The composite keys (session id + seat index) sort by session, then seat. */
static void
test_composite_key_order(void **state)
{
    (void)state;
    uint8_t a[12], b[12];
    store_key_put_u64(a, 1);
    store_key_put_u32(a + 8, UINT32_MAX);
    store_key_put_u64(b, 2);
    store_key_put_u32(b + 8, 0);
    assert_true(memcmp(a, b, 12) < 0);
    store_key_put_u64(b, 1);
    store_key_put_u32(b + 8, 256);
    store_key_put_u32(a + 8, 255);
    assert_true(memcmp(a, b, 12) < 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_round_trip),
        cmocka_unit_test(test_u64_is_big_endian),
        cmocka_unit_test(test_u64_byte_order_is_numeric_order),
        cmocka_unit_test(test_u32_round_trip_and_order),
        cmocka_unit_test(test_composite_key_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
