/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Calls with deadlines of a few milliseconds, from 16 threads with a client
 * each, against a real server: their answers race their timers all the
 * time. Run with freed memory overwritten (MALLOC_PERTURB_, or ASan's
 * free_fill; see CMakeLists.txt), so that a use of freed memory crashes
 * instead of passing unseen: nng 1.5.2's expire thread could run a
 * context's cancel callback after bh__slot_put had closed (freed) that
 * context, crashing within a second here before the fix.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define THREADS 16

static bht_server srv;
static atomic_int stop;
static atomic_long answered, timed_out;

static void *
caller(void *arg)
{
    (void)arg;
    bh_client *c = NULL;
    bh_options o = { .url = srv.url, .timeout_ms = 2 };
    if (bh_client_open(&c, &o, NULL) != BH_OK)
        return NULL;
    for (unsigned i = 0; !atomic_load(&stop); i++) {
        Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
        Bilheteria__V1__CheckResponse *rs = NULL;
        /* 1..3 ms, so that calls end at every distance from their deadline. */
        bh_call_opts co = { .timeout_ms = 1 + (int32_t)(i % 3) };
        int rc = bh_health_check(c, &rq, &rs, &co, NULL);
        if (rc == BH_OK) {
            bilheteria__v1__check_response__free_unpacked(rs, NULL);
            atomic_fetch_add(&answered, 1);
        } else if (rc == BH_DEADLINE_EXCEEDED || rc == BH_UNAVAILABLE) {
            atomic_fetch_add(&timed_out, 1);
        }
    }
    bh_client_close(c);
    return NULL;
}

static void
test_short_deadlines(void **state)
{
    (void)state;
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, caller, NULL), 0);
    bht_sleep_ms(3000);
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    /* Alive, and calls were made (how many answered in time depends on
     * the machine). */
    assert_true(atomic_load(&answered) + atomic_load(&timed_out) > 0);
}

static int
setup(void **state)
{
    (void)state;
    return bht_start(&srv, NULL);
}

static int
teardown(void **state)
{
    (void)state;
    return bht_cleanup(&srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_deadlines),
    };
    return cmocka_run_group_tests_name("short_deadlines", tests, setup, teardown);
}
