/* SPDX-License-Identifier: Apache-2.0 */
/* Seeding through the API: events first, then sessions from a few threads
 * at once, so the server's group commit folds them into few fsyncs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define SEED_THREADS 8
#define PRICE_CENTS  4000

typedef struct seed_job {
    bench *b;
    bh_client *c;
    atomic_size_t next;
    atomic_int failed;
    char err[1024];
    pthread_mutex_t mu;
    int64_t starts_at_ms;
} seed_job;

static void
seed_fail(seed_job *j, const char *what, const bh_status *st)
{
    pthread_mutex_lock(&j->mu);
    if (!atomic_load(&j->failed))
        snprintf(j->err, sizeof(j->err), "%s: %s %s", what, bh_code_name(st->code), st->message);
    atomic_store(&j->failed, 1);
    pthread_mutex_unlock(&j->mu);
}

static void *
seed_sessions(void *arg)
{
    seed_job *j = arg;
    bench *b = j->b;
    size_t i;
    while (!atomic_load(&j->failed) && (i = atomic_fetch_add(&j->next, 1)) < b->n_sessions) {
        Bilheteria__V1__CreateSessionRequest rq = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
        Bilheteria__V1__CreateSessionResponse *rs = NULL;
        char room[32];
        bh_status st;
        snprintf(room, sizeof(room), "Sala %zu", i % b->sessions + 1);
        rq.event_id = b->event_ids[i / b->sessions];
        rq.starts_at_ms = j->starts_at_ms + (int64_t)(i % b->sessions) * 3600000;
        rq.room = room;
        rq.rows = b->rows;
        rq.seats_per_row = b->seats_per_row;
        rq.price_cents = PRICE_CENTS;
        /* onsale --zones: VIP, the first fifth of the rows at 3x, then
         * Plateia (a session of one row is all Plateia). */
        Bilheteria__V1__PriceZone z[2] = { BILHETERIA__V1__PRICE_ZONE__INIT,
                                           BILHETERIA__V1__PRICE_ZONE__INIT };
        Bilheteria__V1__PriceZone *zp[2] = { &z[0], &z[1] };
        if (b->zones) {
            uint32_t vip = b->rows / 5;
            z[0].name = BENCH_ZONE_VIP;
            z[0].last_row = vip > 0 ? vip - 1 : 0;
            z[0].price_cents = 3 * PRICE_CENTS;
            z[1].name = BENCH_ZONE_PLATEIA;
            z[1].first_row = vip;
            z[1].last_row = b->rows - 1;
            z[1].price_cents = PRICE_CENTS;
            rq.price_cents = 0;
            rq.zones = vip > 0 ? zp : zp + 1;
            rq.n_zones = vip > 0 ? 2 : 1;
        }
        if (bh_session_create_session(j->c, &rq, &rs, NULL, &st) != BH_OK) {
            seed_fail(j, "CreateSession", &st);
            break;
        }
        b->session_ids[i] = rs->session->id;
        protobuf_c_message_free_unpacked(&rs->base, NULL);
    }
    return NULL;
}

/* The run's coupons: codes unique to the run (a running server may have
 * others from earlier runs), uses made final by the payments. PCT runs out
 * in a run of a few seconds; FIX never does. */
static int
seed_coupons(bench *b, bh_client *c, char *err, size_t errlen)
{
    static const char *const tag[COUPON__N] = { "", "P", "F", "R" };
    int rush = strcmp(b->scenario, "rush") == 0;
    for (int k = COUPON_PCT; k < COUPON__N; k++) {
        if ((k == COUPON_RUSH) != rush)
            continue;
        Bilheteria__V1__CreateCouponRequest rq = BILHETERIA__V1__CREATE_COUPON_REQUEST__INIT;
        Bilheteria__V1__CreateCouponResponse *rs = NULL;
        bh_status st;
        snprintf(b->coupon_code[k], sizeof(b->coupon_code[k]), "BENCH-%s-%llX-%X", tag[k],
                 (unsigned long long)(b->seed & 0xffffffffffull), (unsigned)getpid());
        rq.code = b->coupon_code[k];
        if (k == COUPON_FIX)
            rq.amount_cents = 500;
        else
            rq.percent = k == COUPON_PCT ? 10 : 20;
        /* rush: a quarter of the pairs; PCT: 20 paid uses, a few seconds
         * of mixed at 4 clients. */
        b->coupon_max[k] = k == COUPON_PCT ? 20 : k == COUPON_RUSH ? b->capacity / 8 + 1 : 0;
        rq.max_uses = b->coupon_max[k];
        if (bh_coupon_create_coupon(c, &rq, &rs, NULL, &st) != BH_OK) {
            snprintf(err, errlen, "CreateCoupon %s: %s %s", rq.code, bh_code_name(st.code),
                     st.message);
            b->coupon_code[k][0] = 0;
            return -1;
        }
        protobuf_c_message_free_unpacked(&rs->base, NULL);
    }
    return 0;
}

int
bench_seed(bench *b, bh_client *c, char *err, size_t errlen)
{
    seed_job j;
    memset(&j, 0, sizeof(j));
    j.b = b;
    j.c = c;
    pthread_mutex_init(&j.mu, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    j.starts_at_ms = ((int64_t)ts.tv_sec + 30 * 86400) * 1000;

    b->n_events = b->events;
    b->n_sessions = (size_t)b->events * b->sessions;
    b->capacity = b->rows * b->seats_per_row;
    b->event_ids = calloc(b->n_events, sizeof(uint64_t));
    b->session_ids = calloc(b->n_sessions, sizeof(uint64_t));
    b->sold = calloc(b->n_sessions * b->capacity, 1);
    if (b->event_ids == NULL || b->session_ids == NULL || b->sold == NULL) {
        snprintf(err, errlen, "out of memory for %zu sessions of %u seats", b->n_sessions,
                 b->capacity);
        return -1;
    }
    for (size_t i = 0; i < b->n_events; i++) {
        Bilheteria__V1__CreateEventRequest rq = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
        Bilheteria__V1__CreateEventResponse *rs = NULL;
        char name[64];
        bh_status st;
        snprintf(name, sizeof(name), "Bench event %zu", i + 1);
        rq.name = name;
        rq.venue = "Cine Bench";
        rq.starts_at_ms = j.starts_at_ms;
        if (bh_event_create_event(c, &rq, &rs, NULL, &st) != BH_OK) {
            snprintf(err, errlen, "CreateEvent: %s %s", bh_code_name(st.code), st.message);
            return -1;
        }
        b->event_ids[i] = rs->event->id;
        protobuf_c_message_free_unpacked(&rs->base, NULL);
    }
    int n = b->n_sessions < SEED_THREADS ? (int)b->n_sessions : SEED_THREADS;
    pthread_t th[SEED_THREADS];
    int started = 0;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&th[i], NULL, seed_sessions, &j) != 0)
            break;
        started++;
    }
    if (started == 0)
        seed_sessions(&j);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.mu);
    if (atomic_load(&j.failed)) {
        snprintf(err, errlen, "%s", j.err);
        return -1;
    }
    if (b->no_coupons)
        return 0;
    if (strcmp(b->scenario, "mixed") == 0 || strcmp(b->scenario, "rush") == 0 || b->coupons)
        return seed_coupons(b, c, err, errlen);
    return 0;
}
