/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workarounds for the bugs of nng 1.5.2 (Debian 12's), each behind a check
 * of the nng version it is built against: where upstream fixed the bug, the
 * function compiles to the plain nng call. Where the release that fixed a
 * bug is not known, the guard is "at most 1.5.2", the version it was seen
 * on; move it when a newer nng is tried.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "nng_compat.h"

/* How long an answer to a timed-out call may still be on its way. */
#define BH_NNG_LATE_ANSWER_MS 200
/* An exchange that ends this close to its deadline may still be expiring. */
#define BH_NNG_REUSE_MARGIN_MS 50

/* NNG_DURATION_INFINITE as "never resend" needs nng 1.2.0 (#857, before it
 * -1 resent at once), and failing the receive when the pipe drops, rather
 * than waiting for the deadline, 1.4.0 (#1300). Not a bug workaround: our
 * calls must never be resent, on any nng. */
#if BH_NNG_BEFORE(1, 4, 0)
#error "nng 1.4.0 or later is needed (issues #857, #1300)"
#endif

int
bh_nng_req_never_resend(nng_socket s)
{
    return nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
}

#if BH_NNG_CLOSE_CAN_HANG

/* A job run by bh_nng_run_bounded; the last of the job's thread and its
 * waiter to let go of it frees it. */
struct bh_nng_job {
    void (*fn)(void *);
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    int done, refs;
};

/* Lets go of j (with j->mu held, which it releases). A finished job
 * signals and lets go in one step, so a waiter that saw it done is last. */
static void
job_release(struct bh_nng_job *j)
{
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (last) {
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        free(j);
    }
}

static void *
job_main(void *arg)
{
    struct bh_nng_job *j = arg;
    j->fn(j->arg);
    pthread_mutex_lock(&j->mu);
    j->done = 1;
    pthread_cond_signal(&j->cv);
    job_release(j);
    return NULL;
}

static struct bh_nng_job *
job_new(void (*fn)(void *), void *arg)
{
    struct bh_nng_job *j = calloc(1, sizeof(*j));
    pthread_condattr_t ca;

    if (j == NULL || pthread_condattr_init(&ca) != 0) {
        free(j);
        return NULL;
    }
    j->fn = fn;
    j->arg = arg;
    j->refs = 2;
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    return j;
}

static struct timespec
deadline_in(int ms)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* nng 1.5.2: on a thread of its own, so that the caller can stop waiting
 * for a close that hangs (#1543, #1813). Without a thread, the job runs
 * here, unbounded. */
int
bh_nng_run_bounded(void (*fn)(void *), void *arg, int wait_ms)
{
    struct bh_nng_job *j = job_new(fn, arg);
    pthread_t th;
    int rc = 0;

    if (j == NULL) {
        fn(arg);
        return 0;
    }
    if (pthread_create(&th, NULL, job_main, j) != 0) {
        pthread_mutex_lock(&j->mu);
        j->refs = 1;
        job_release(j);
        fn(arg);
        return 0;
    }
    pthread_detach(th);
    struct timespec until = deadline_in(wait_ms);
    pthread_mutex_lock(&j->mu);
    while (!j->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&j->cv, &j->mu, &until);
    rc = j->done ? 0 : NNG_ETIMEDOUT;
    job_release(j);
    return rc;
}

/* nng 1.5.2: an answer landing during nng_close can deadlock it (#1543,
 * #1813); answers to calls that timed out may still be on their way, so
 * give them a moment to land (and be dropped) first. Only after such a
 * timeout, so that a normal close costs nothing. */
void
bh_nng_close_settle(nng_time last_timeout)
{
    nng_time now = nng_clock();

    if (last_timeout != 0 && now < last_timeout + BH_NNG_LATE_ANSWER_MS)
        nng_msleep((nng_duration)(last_timeout + BH_NNG_LATE_ANSWER_MS - now));
}

#else /* !BH_NNG_CLOSE_CAN_HANG */

int
bh_nng_run_bounded(void (*fn)(void *), void *arg, int wait_ms)
{
    (void)wait_ms;
    fn(arg);
    return 0;
}

void
bh_nng_close_settle(nng_time last_timeout)
{
    (void)last_timeout;
}

#endif /* BH_NNG_CLOSE_CAN_HANG */

#if BH_NNG_CTX_EXPIRE_RACE

/* nng 1.5.2: closing the socket closes (frees) its contexts, and the
 * expire thread may then run the cancel callback of an operation still on
 * one (above); a client closed amid 1-3 ms calls panicked in
 * pthread_mutex_lock so. Sending on a context while the socket closes
 * crashed the server, and a context re-armed during the close kept
 * nng_close waiting (#1543, #1813). So every operation ends first. */
void
bh_nng_close_drained(nng_socket s, void (*drain)(void *), void *arg)
{
    if (drain != NULL)
        drain(arg);
    nng_close(s);
}

int
bh_nng_ctx_reusable(nng_duration elapsed_ms, nng_duration timeout_ms)
{
    return (int64_t)elapsed_ms + BH_NNG_REUSE_MARGIN_MS < (int64_t)timeout_ms;
}

/* nng 1.5.2: the aio first. nng_aio_free waits for the expire thread to
 * let go of it, and that thread may be about to run the context's cancel
 * callback with the context as its argument; nng_ctx_close frees the
 * context, so closed first, that callback read freed memory. */
void
bh_nng_ctx_free(nng_ctx ctx, nng_aio *aio)
{
    nng_aio_free(aio);
    nng_ctx_close(ctx);
}

#else /* !BH_NNG_CTX_EXPIRE_RACE */

void
bh_nng_close_drained(nng_socket s, void (*drain)(void *), void *arg)
{
    nng_close(s);
    if (drain != NULL)
        drain(arg);
}

int
bh_nng_ctx_reusable(nng_duration elapsed_ms, nng_duration timeout_ms)
{
    (void)elapsed_ms;
    (void)timeout_ms;
    return 1;
}

void
bh_nng_ctx_free(nng_ctx ctx, nng_aio *aio)
{
    nng_ctx_close(ctx);
    nng_aio_free(aio);
}

#endif /* BH_NNG_CTX_EXPIRE_RACE */

#define BH__STR_(x) #x
#define BH__STR(x)  BH__STR_(x)

const char *
bh_nng_version(void)
{
    return BH__STR(NNG_MAJOR_VERSION) "." BH__STR(NNG_MINOR_VERSION) "." BH__STR(NNG_PATCH_VERSION);
}
