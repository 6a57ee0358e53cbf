/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token buckets by key: a fixed pool of buckets per stripe, found through a
 * chained hash index and ordered by last use, so a lookup, an insert and an
 * eviction are O(1) and nothing is allocated after open.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ratelimit.h"

#define NIL UINT32_MAX
/* Tokens are counted in millionths, so a refill of rate/1000 per ms stays
 * exact for any rate with three decimals. */
#define UNIT 1000000LL
/* Below this many keys one stripe is enough (and eviction is exact LRU). */
#define STRIPE_MIN_KEYS 1024
#define STRIPES         16

typedef struct rl_bucket {
    uint64_t hash;
    int64_t tokens; /* millionths of a token */
    int64_t last_ms;
    uint32_t chain; /* next in the hash chain */
    uint32_t prev;  /* toward the most recently used */
    uint32_t next;  /* toward the least recently used */
    uint32_t keylen;
    char key[SRV_RL_KEY_MAX];
} rl_bucket;

typedef struct rl_stripe {
    pthread_mutex_t mu;
    uint32_t *index; /* nindex heads of hash chains */
    uint32_t mask;   /* nindex - 1 */
    rl_bucket *b;
    uint32_t cap, used;
    uint32_t mru, lru;
} rl_stripe;

struct srv_rl {
    int off;
    int64_t rate_ms; /* millionths of a token a millisecond */
    int64_t cap;     /* burst in millionths */
    uint64_t seed;
    uint32_t nstripes;
    rl_stripe *stripes;
};

static uint64_t
mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Seeded so that callers choosing keys (peer addresses) cannot aim at one
 * chain without knowing the seed. */
static uint64_t
key_hash(uint64_t seed, const char *key, size_t len)
{
    uint64_t h = mix(seed ^ ((uint64_t)len * 0x9e3779b97f4a7c15ULL));
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
    }
    uint64_t tail = 0;
    if (len > i)
        memcpy(&tail, key + i, len - i);
    return mix(h ^ tail ^ ((uint64_t)(len - i) << 56));
}

static uint64_t
random_seed(void)
{
    uint64_t s;

    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
        return s;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)&s);
}

static int
stripe_init(rl_stripe *s, uint32_t cap)
{
    uint32_t n = 1;

    while (n < cap)
        n <<= 1;
    s->index = malloc(n * sizeof(*s->index));
    s->b = calloc(cap, sizeof(*s->b));
    if (s->index == NULL || s->b == NULL) {
        free(s->index);
        free(s->b);
        return ENOMEM;
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s->index);
        free(s->b);
        return ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        s->index[i] = NIL;
    s->mask = n - 1;
    s->cap = cap;
    s->used = 0;
    s->mru = s->lru = NIL;
    return 0;
}

static void
stripe_fini(rl_stripe *s)
{
    pthread_mutex_destroy(&s->mu);
    free(s->index);
    free(s->b);
}

int
srv_rl_open(srv_rl **out, double per_s, uint32_t burst, size_t max_keys)
{
    srv_rl *rl;
    int rc = 0;

    if (!(per_s == 0 || (per_s >= SRV_RL_RATE_MIN && per_s <= 1e6)))
        return EINVAL;
    if (per_s != 0 && (burst < 1 || burst > 1000000 || max_keys < 1 || max_keys > (1u << 24)))
        return EINVAL;
    rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return ENOMEM;
    if (per_s == 0) {
        rl->off = 1;
        goto out;
    }
    rl->rate_ms = llround(per_s * 1000.0);
    rl->cap = (int64_t)burst * UNIT;
    rl->seed = random_seed();
    rl->nstripes = max_keys >= STRIPE_MIN_KEYS ? STRIPES : 1;
    rl->stripes = calloc(rl->nstripes, sizeof(*rl->stripes));
    if (rl->stripes == NULL) {
        rc = ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < rl->nstripes; i++) {
        rc = stripe_init(&rl->stripes[i], (uint32_t)(max_keys / rl->nstripes));
        if (rc != 0) {
            rl->nstripes = i; /* close frees the ones made */
            goto out;
        }
    }
out:
    if (rc != 0) {
        srv_rl_close(rl);
        return rc;
    }
    *out = rl;
    return 0;
}

static void
lru_unlink(rl_stripe *s, uint32_t i)
{
    rl_bucket *b = &s->b[i];

    if (b->prev != NIL)
        s->b[b->prev].next = b->next;
    else
        s->mru = b->next;
    if (b->next != NIL)
        s->b[b->next].prev = b->prev;
    else
        s->lru = b->prev;
}

static void
lru_push(rl_stripe *s, uint32_t i)
{
    rl_bucket *b = &s->b[i];

    b->prev = NIL;
    b->next = s->mru;
    if (s->mru != NIL)
        s->b[s->mru].prev = i;
    s->mru = i;
    if (s->lru == NIL)
        s->lru = i;
}

static void
chain_unlink(rl_stripe *s, uint32_t i)
{
    uint32_t *link = &s->index[s->b[i].hash & s->mask];

    while (*link != i)
        link = &s->b[*link].chain;
    *link = s->b[i].chain;
}

static uint32_t
find(const rl_stripe *s, uint64_t h, const char *key, size_t keylen)
{
    size_t cmp = keylen < SRV_RL_KEY_MAX ? keylen : SRV_RL_KEY_MAX;

    for (uint32_t i = s->index[h & s->mask]; i != NIL; i = s->b[i].chain) {
        const rl_bucket *b = &s->b[i];
        if (b->hash == h && b->keylen == keylen && memcmp(b->key, key, cmp) == 0)
            return i;
    }
    return NIL;
}

/* A full bucket for a new key: a fresh one while the pool lasts, then the
 * least recently used one. */
static uint32_t
insert(srv_rl *rl, rl_stripe *s, uint64_t h, const char *key, size_t keylen, int64_t now)
{
    uint32_t i;

    if (s->used < s->cap) {
        i = s->used++;
    } else {
        i = s->lru;
        lru_unlink(s, i);
        chain_unlink(s, i);
    }
    rl_bucket *b = &s->b[i];
    b->hash = h;
    b->tokens = rl->cap;
    b->last_ms = now;
    b->keylen = (uint32_t)keylen;
    memcpy(b->key, key, keylen < SRV_RL_KEY_MAX ? keylen : SRV_RL_KEY_MAX);
    b->chain = s->index[h & s->mask];
    s->index[h & s->mask] = i;
    lru_push(s, i);
    return i;
}

static void
refill(const srv_rl *rl, rl_bucket *b, int64_t now)
{
    if (now <= b->last_ms)
        return;
    int64_t elapsed = now - b->last_ms;
    /* Past this long the bucket is full; checking first keeps the product
     * below 2^63. */
    if (elapsed > rl->cap / rl->rate_ms)
        b->tokens = rl->cap;
    else if ((b->tokens += elapsed * rl->rate_ms) > rl->cap)
        b->tokens = rl->cap;
    b->last_ms = now;
}

int
srv_rl_take(srv_rl *rl, const char *key, size_t keylen, int64_t now_mono_ms,
            int64_t *retry_after_ms)
{
    if (rl == NULL || rl->off)
        return 1;
    if (keylen == 0)
        key = ""; /* memcmp and memcpy want a pointer even for 0 bytes */

    uint64_t h = key_hash(rl->seed, key, keylen);
    rl_stripe *s = &rl->stripes[(h >> 40) % rl->nstripes];
    int ok;

    pthread_mutex_lock(&s->mu);
    uint32_t i = find(s, h, key, keylen);
    if (i == NIL) {
        i = insert(rl, s, h, key, keylen, now_mono_ms);
    } else {
        lru_unlink(s, i);
        lru_push(s, i);
        refill(rl, &s->b[i], now_mono_ms);
    }
    rl_bucket *b = &s->b[i];
    ok = b->tokens >= UNIT;
    if (ok)
        b->tokens -= UNIT;
    else if (retry_after_ms != NULL)
        *retry_after_ms = (UNIT - b->tokens + rl->rate_ms - 1) / rl->rate_ms;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

size_t
srv_rl_count(srv_rl *rl)
{
    size_t n = 0;

    if (rl == NULL)
        return 0;
    for (uint32_t i = 0; i < rl->nstripes; i++) {
        pthread_mutex_lock(&rl->stripes[i].mu);
        n += rl->stripes[i].used;
        pthread_mutex_unlock(&rl->stripes[i].mu);
    }
    return n;
}

void
srv_rl_close(srv_rl *rl)
{
    if (rl == NULL)
        return;
    for (uint32_t i = 0; i < rl->nstripes; i++)
        stripe_fini(&rl->stripes[i]);
    free(rl->stripes);
    free(rl);
}
