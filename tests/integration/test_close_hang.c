/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bh_client_close returns even when nng_close never does (nng 1.5.2 can
 * deadlock there: its issues #1543, #1813). Run with the failing-disk
 * library preloaded and BH_HANG_NNG_CLOSE set (see CMakeLists.txt), so
 * that every nng_close of this process hangs for good: the test passes if
 * the closes return at all; ctest's timeout fails it otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bilheteria/bilheteria.h"

static void
test_close_returns(void **state)
{
    (void)state;
    assert_non_null(getenv("BH_HANG_NNG_CLOSE"));
    for (int i = 0; i < 2; i++) {
        bh_client *c = NULL;
        bh_options o = { .url = "ipc:///tmp/bh-close-hang-no-server.sock", .timeout_ms = 100 };
        assert_int_equal(bh_client_open(&c, &o, NULL), BH_OK);
        /* A call that finds no server, so the close has a context to fail. */
        Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
        Bilheteria__V1__CheckResponse *rs = NULL;
        bh_status st;
        assert_int_equal(bh_health_check(c, &rq, &rs, NULL, &st), BH_UNAVAILABLE);
        bh_client_close(c); /* returns: its nng_close goes on, hung, elsewhere */
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_returns),
    };
    return cmocka_run_group_tests_name("close_hang", tests, NULL, NULL);
}
