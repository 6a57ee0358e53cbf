/* SPDX-License-Identifier: Apache-2.0 */
/* server/ratelimit.c: token buckets per key, driven by a fake clock. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

static int
take(srv_rl *rl, const char *key, int64_t now, int64_t *retry)
{
    return srv_rl_take(rl, key, strlen(key), now, retry);
}

static void
test_open_checks(void **state)
{
    (void)state;
    static const struct {
        double per_s;
        uint32_t burst;
        size_t max_keys;
        int rc;
    } cases[] = {
        { 10, 5, 100, 0 },          { 0, 0, 0, 0 },          { -1, 5, 100, EINVAL },
        { 0.0001, 5, 100, EINVAL }, { 2e6, 5, 100, EINVAL }, { 10, 0, 100, EINVAL },
        { 10, 5, 0, EINVAL },       { 0.001, 1, 1, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        srv_rl *rl = (srv_rl *)&cases; /* must stay untouched on failure */
        int rc = srv_rl_open(&rl, cases[i].per_s, cases[i].burst, cases[i].max_keys);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0)
            srv_rl_close(rl);
        else
            assert_ptr_equal(rl, (srv_rl *)&cases);
    }
}

/* Burst of 5 at 10/s: five calls pass, the sixth waits 100 ms for a token. */
static void
test_burst_then_refused(void **state)
{
    (void)state;
    srv_rl *rl;
    int64_t retry = -1;

    assert_int_equal(srv_rl_open(&rl, 10, 5, 100), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(take(rl, "svc", 1000, &retry), 1);
    assert_int_equal(retry, -1); /* untouched while allowed */
    assert_int_equal(take(rl, "svc", 1000, &retry), 0);
    assert_int_equal(retry, 100);
    /* 40 ms later 0.4 of a token is back: 60 ms to go. */
    assert_int_equal(take(rl, "svc", 1040, &retry), 0);
    assert_int_equal(retry, 60);
    assert_int_equal(take(rl, "svc", 1100, &retry), 1);
    assert_int_equal(take(rl, "svc", 1100, NULL), 0);
    srv_rl_close(rl);
}

/* Refill: after 250 ms at 10/s, two whole tokens; after a long idle, no
 * more than the burst; a clock going backwards refills nothing. */
static void
test_refill(void **state)
{
    (void)state;
    srv_rl *rl;
    int64_t retry;
    int n;

    assert_int_equal(srv_rl_open(&rl, 10, 5, 100), 0);
    for (n = 0; take(rl, "k", 0, NULL); n++)
        ;
    assert_int_equal(n, 5);
    for (n = 0; take(rl, "k", 250, NULL); n++)
        ;
    assert_int_equal(n, 2);
    assert_int_equal(take(rl, "k", 250, &retry), 0);
    assert_int_equal(retry, 50); /* 0.5 token was left over */
    assert_int_equal(take(rl, "k", 100, NULL), 0);
    for (n = 0; take(rl, "k", 1000000, NULL); n++)
        ;
    assert_int_equal(n, 5);
    srv_rl_close(rl);

    /* A slow rate: 0.5/s, one token every 2 s. */
    assert_int_equal(srv_rl_open(&rl, 0.5, 1, 10), 0);
    assert_int_equal(take(rl, "slow", 0, NULL), 1);
    assert_int_equal(take(rl, "slow", 0, &retry), 0);
    assert_int_equal(retry, 2000);
    assert_int_equal(take(rl, "slow", 1999, NULL), 0);
    assert_int_equal(take(rl, "slow", 2000, NULL), 1);
    srv_rl_close(rl);
}

/* A flood from one key leaves the others their whole burst; keys that share
 * a long prefix, and keys with NUL bytes, are still told apart. */
static void
test_keys_independent(void **state)
{
    (void)state;
    srv_rl *rl;
    char a[200], b[200];

    assert_int_equal(srv_rl_open(&rl, 1, 3, 1000), 0);
    int allowed = 0;
    for (int i = 0; i < 10000; i++)
        allowed += take(rl, "flooder", i / 100 * 1000, NULL); /* 100 a second */
    assert_int_equal(allowed, 3 + 99); /* the burst, then one a second for 99 s */
    for (int i = 0; i < 3; i++)
        assert_int_equal(take(rl, "quiet", 99000, NULL), 1);
    assert_int_equal(take(rl, "quiet", 99000, NULL), 0);

    memset(a, 'x', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[sizeof(b) - 1] = 'y'; /* differs past SRV_RL_KEY_MAX */
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_rl_take(rl, a, sizeof(a), 0, NULL), 1);
    assert_int_equal(srv_rl_take(rl, a, sizeof(a), 0, NULL), 0);
    assert_int_equal(srv_rl_take(rl, b, sizeof(b), 0, NULL), 1);
    assert_int_equal(srv_rl_take(rl, a, sizeof(a) - 1, 0, NULL), 1); /* a prefix */
    assert_int_equal(srv_rl_take(rl, "a\0b", 3, 0, NULL), 1);
    assert_int_equal(srv_rl_take(rl, "a\0c", 3, 0, NULL), 1);
    assert_int_equal(srv_rl_take(rl, "", 0, 0, NULL), 1);
    srv_rl_close(rl);
}

/* At most max_keys buckets; the least recently used goes first. */
static void
test_eviction(void **state)
{
    (void)state;
    srv_rl *rl;

    assert_int_equal(srv_rl_open(&rl, 1, 1, 4), 0);
    assert_int_equal(take(rl, "A", 0, NULL), 1);
    assert_int_equal(take(rl, "B", 0, NULL), 1);
    assert_int_equal(take(rl, "C", 0, NULL), 1);
    assert_int_equal(take(rl, "D", 0, NULL), 1);
    assert_int_equal(srv_rl_count(rl), 4);
    assert_int_equal(take(rl, "A", 0, NULL), 0); /* A is now the newest */
    assert_int_equal(take(rl, "E", 0, NULL), 1); /* evicts B */
    assert_int_equal(srv_rl_count(rl), 4);
    assert_int_equal(take(rl, "A", 0, NULL), 0); /* A kept its empty bucket */
    assert_int_equal(take(rl, "C", 0, NULL), 0);
    assert_int_equal(take(rl, "B", 0, NULL), 1); /* came back full; evicts D */
    assert_int_equal(take(rl, "D", 0, NULL), 1); /* came back full; evicts E */
    assert_int_equal(srv_rl_count(rl), 4);
    srv_rl_close(rl);

    /* A striped table holds no more than max_keys either. */
    assert_int_equal(srv_rl_open(&rl, 1, 1, 2000), 0);
    for (int i = 0; i < 20000; i++) {
        char k[16];
        int n = snprintf(k, sizeof(k), "peer%d", i);
        assert_int_equal(srv_rl_take(rl, k, (size_t)n, 0, NULL), 1);
    }
    size_t held = srv_rl_count(rl);
    assert_true(held <= 2000);
    assert_true(held >= 1000); /* every stripe fills up */
    srv_rl_close(rl);
}

static void
test_off(void **state)
{
    (void)state;
    srv_rl *rl;

    assert_int_equal(srv_rl_open(&rl, 0, 0, 0), 0);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(take(rl, "x", 0, NULL), 1);
    assert_int_equal(srv_rl_count(rl), 0);
    srv_rl_close(rl);
    assert_int_equal(take(NULL, "x", 0, NULL), 1);
    srv_rl_close(NULL);
}

/* Four threads on one key (and on keys of their own, to share stripes) with
 * a shared fake clock that moves 1 ms every 8 takes: the total allowed on
 * the shared key never passes burst + rate * elapsed. */
#define THREADS 4
#define TAKES   20000
#define BURST   50
#define PER_S   200 /* 0.2 token a ms */

struct shared {
    srv_rl *rl;
    atomic_llong ticks;
    atomic_int allowed;
};

struct worker {
    struct shared *sh;
    int id;
};

static void *
hammer(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    char own[16];
    int n = snprintf(own, sizeof(own), "own%d", w->id);

    for (int i = 0; i < TAKES; i++) {
        int64_t now = atomic_fetch_add(&sh->ticks, 1) / 8;
        if (srv_rl_take(sh->rl, "shared", 6, now, NULL))
            atomic_fetch_add(&sh->allowed, 1);
        srv_rl_take(sh->rl, own, (size_t)n, now, NULL);
    }
    return NULL;
}

static void
test_concurrent(void **state)
{
    (void)state;
    struct shared sh;
    struct worker w[THREADS];
    pthread_t th[THREADS];

    assert_int_equal(srv_rl_open(&sh.rl, PER_S, BURST, 64), 0);
    atomic_init(&sh.ticks, 0);
    atomic_init(&sh.allowed, 0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){ .sh = &sh, .id = i };
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    int64_t elapsed = (atomic_load(&sh.ticks) - 1) / 8; /* the latest time any take saw */
    int allowed = atomic_load(&sh.allowed);
    int64_t bound = BURST + PER_S * elapsed / 1000;
    assert_true(allowed <= bound);
    /* And it is not just refusing: nearly all of the budget was used. */
    assert_true(allowed >= bound - bound / 10);
    srv_rl_close(sh.rl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_checks), cmocka_unit_test(test_burst_then_refused),
        cmocka_unit_test(test_refill),      cmocka_unit_test(test_keys_independent),
        cmocka_unit_test(test_eviction),    cmocka_unit_test(test_off),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
