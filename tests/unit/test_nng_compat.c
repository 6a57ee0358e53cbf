/* SPDX-License-Identifier: Apache-2.0 */
/* proto/compat: the nng workarounds do what they say, on the path the nng
 * we build against takes (with or without the workaround). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "nng_compat.h"

typedef struct job {
    nng_mtx *mu;
    nng_cv *cv;
    int release, ran, done;
} job;

static void
quick(void *arg)
{
    ((job *)arg)->ran++;
}

/* Runs until told to stop: a close that hangs. */
static void
stuck(void *arg)
{
    job *j = arg;
    nng_mtx_lock(j->mu);
    j->ran = 1;
    while (!j->release)
        nng_cv_wait(j->cv);
    j->done = 1;
    nng_cv_wake(j->cv);
    nng_mtx_unlock(j->mu);
}

static void
test_run_bounded_quick(void **state)
{
    (void)state;
    job j = { 0 };
    assert_int_equal(bh_nng_run_bounded(quick, &j, 2000), 0);
    assert_int_equal(j.ran, 1);
}

static void
test_run_bounded_stops_waiting(void **state)
{
    (void)state;
    if (!BH_NNG_CLOSE_CAN_HANG)
        skip(); /* the plain path runs fn on the caller's thread */
    job j = { 0 };
    assert_int_equal(nng_mtx_alloc(&j.mu), 0);
    assert_int_equal(nng_cv_alloc(&j.cv, j.mu), 0);
    /* Returning at all is the point: stuck runs until released. */
    assert_int_equal(bh_nng_run_bounded(stuck, &j, 100), NNG_ETIMEDOUT);
    /* It goes on elsewhere; let it end before freeing what it uses. */
    nng_mtx_lock(j.mu);
    assert_int_equal(j.ran, 1);
    j.release = 1;
    nng_cv_wake(j.cv);
    while (!j.done)
        nng_cv_wait(j.cv);
    nng_mtx_unlock(j.mu);
    nng_msleep(10); /* its last unlock */
    nng_cv_free(j.cv);
    nng_mtx_free(j.mu);
}

static void
test_close_settle(void **state)
{
    (void)state;
    nng_time t0 = nng_clock();
    bh_nng_close_settle(0); /* no timeout: no wait */
    bh_nng_close_settle(t0 > 1000 ? t0 - 1000 : 1);
    assert_true(nng_clock() - t0 < 1000); /* not the 200 ms wait */
    t0 = nng_clock();
    bh_nng_close_settle(t0);
    if (BH_NNG_CLOSE_CAN_HANG)
        assert_true(nng_clock() - t0 >= 150);
    else
        assert_true(nng_clock() - t0 < 1000);
}

typedef struct drained {
    nng_socket s;
    int calls, sock_open;
} drained;

static void
drain(void *arg)
{
    drained *d = arg;
    int v;
    d->calls++;
    d->sock_open = nng_socket_get_int(d->s, NNG_OPT_RECVFD, &v) != NNG_ECLOSED;
}

static void
test_close_drained(void **state)
{
    (void)state;
    drained d = { 0 };
    assert_int_equal(nng_req0_open(&d.s), 0);
    bh_nng_close_drained(d.s, drain, &d);
    assert_int_equal(d.calls, 1);
    /* With the bug, operations end while the socket is still open. */
    assert_int_equal(d.sock_open, BH_NNG_CTX_EXPIRE_RACE);
    int v;
    assert_int_equal(nng_socket_get_int(d.s, NNG_OPT_RECVFD, &v), NNG_ECLOSED);
    assert_int_equal(nng_req0_open(&d.s), 0);
    bh_nng_close_drained(d.s, NULL, NULL);
}

static void
test_ctx_reusable(void **state)
{
    (void)state;
    assert_true(bh_nng_ctx_reusable(1, 5000));
    assert_int_equal(bh_nng_ctx_reusable(4990, 5000), !BH_NNG_CTX_EXPIRE_RACE);
    assert_int_equal(bh_nng_ctx_reusable(2, 3), !BH_NNG_CTX_EXPIRE_RACE);
}

static void
test_req_never_resend_and_ctx_free(void **state)
{
    (void)state;
    nng_socket s;
    nng_duration d = 0;
    nng_ctx ctx;
    nng_aio *aio;
    assert_int_equal(nng_req0_open(&s), 0);
    assert_int_equal(bh_nng_req_never_resend(s), 0);
    assert_int_equal(nng_socket_get_ms(s, NNG_OPT_REQ_RESENDTIME, &d), 0);
    assert_int_equal(d, NNG_DURATION_INFINITE);
    assert_int_equal(nng_ctx_open(&ctx, s), 0);
    assert_int_equal(nng_ctx_get_ms(ctx, NNG_OPT_REQ_RESENDTIME, &d), 0);
    assert_int_equal(d, NNG_DURATION_INFINITE); /* contexts copy it */
    assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
    bh_nng_ctx_free(ctx, aio);
    assert_int_equal(nng_ctx_get_ms(ctx, NNG_OPT_REQ_RESENDTIME, &d), NNG_ECLOSED);
    nng_close(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_bounded_quick),
        cmocka_unit_test(test_run_bounded_stops_waiting),
        cmocka_unit_test(test_close_settle),
        cmocka_unit_test(test_close_drained),
        cmocka_unit_test(test_ctx_reusable),
        cmocka_unit_test(test_req_never_resend_and_ctx_free),
    };
    return cmocka_run_group_tests_name("nng_compat", tests, NULL, NULL);
}
