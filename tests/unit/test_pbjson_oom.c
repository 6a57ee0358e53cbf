/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbjson under allocation failure: every malloc/calloc (pbjson's own, via
 * --wrap, and cJSON's, via its hooks) is made to fail in turn. Each
 * failure must come back as an error (-1 or NULL), never a crash or a
 * leak (run under ASan or valgrind to see the leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bilheteria/services.h"
#include "pbjson.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);

static long fail_at = -1; /* the allocation to fail; -1 = none */
static long allocs;

static int
should_fail(void)
{
    return fail_at >= 0 && allocs++ == fail_at;
}

void *
__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

static void *
hook_malloc(size_t n)
{
    return __wrap_malloc(n);
}

static const char req_json[] =
    "{\"session_id\":9,\"user_id\":\"ana\",\"seats\":[\"A1\",\"A2\"],\"half_price\":1,"
    "\"items\":[{\"product_id\":4,\"quantity\":2},{\"product_id\":5,\"quantity\":1}],"
    "\"ttl_s\":300}";

static void
test_from_json_oom(void **state)
{
    long k;
    int done = 0;

    (void)state;
    for (k = 0; !done && k < 1000; k++) {
        ProtobufCMessage *msg = NULL;
        char err[256];
        int rc;

        fail_at = k;
        allocs = 0;
        rc = pbjson_from_json(&bilheteria__v1__create_reservation_request__descriptor, req_json,
                              strlen(req_json), &msg, err, sizeof(err));
        fail_at = -1;
        if (allocs <= k) {
            /* Nothing failed: this is the success path. */
            assert_int_equal(rc, 0);
            assert_non_null(msg);
            done = 1;
        } else {
            assert_int_equal(rc, -1);
            assert_null(msg);
            assert_true(err[0] != '\0');
        }
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    assert_true(done);
    assert_true(k > 5);
}

static void
test_to_json_oom(void **state)
{
    ProtobufCMessage *msg = NULL;
    char err[256];
    long k;
    int pretty, done;

    (void)state;
    assert_int_equal(pbjson_from_json(&bilheteria__v1__create_reservation_request__descriptor,
                                      req_json, strlen(req_json), &msg, err, sizeof(err)),
                     0);
    for (pretty = 0; pretty < 2; pretty++) {
        done = 0;
        for (k = 0; !done && k < 1000; k++) {
            char *text;

            fail_at = k;
            allocs = 0;
            text = pbjson_to_string(msg, pretty);
            fail_at = -1;
            if (allocs <= k) {
                assert_non_null(text);
                done = 1;
            } else {
                assert_null(text);
            }
            cJSON_free(text);
        }
        assert_true(done);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
}

int
main(void)
{
    cJSON_Hooks hooks = { hook_malloc, free };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_json_oom),
        cmocka_unit_test(test_to_json_oom),
    };

    cJSON_InitHooks(&hooks);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
