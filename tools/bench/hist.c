/* SPDX-License-Identifier: Apache-2.0 */
/* A log-linear latency histogram after HdrHistogram: values below 2 * SUB
 * get one bucket each, and every power of two above that is split into SUB
 * equal buckets, so a bucket is never wider than 1/SUB of its value (0.4%
 * with SUB = 256). Fixed size, no allocation while recording, and two
 * histograms merge by adding their counters. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define SUB_BITS 8
#define SUB      (1u << SUB_BITS)
/* Values up to 2^41 ns (about 36 minutes); larger ones land in the top
 * bucket, and the exact maximum is kept on the side. */
#define TOP_BIT   41
#define N_BUCKETS ((TOP_BIT - SUB_BITS) * SUB + SUB)

struct bench_hist {
    uint64_t total;
    uint64_t max;
    uint64_t min;
    long double sum;
    uint64_t count[N_BUCKETS];
};

static int
msb64(uint64_t v)
{
    return 63 - __builtin_clzll(v);
}

static size_t
bucket_of(uint64_t v)
{
    if (v < 2 * SUB)
        return (size_t)v;
    if (v >= (1ull << TOP_BIT))
        return N_BUCKETS - 1;
    int shift = msb64(v) - SUB_BITS;
    return (size_t)shift * SUB + (size_t)(v >> shift);
}

/* The largest value that falls in bucket i, as HdrHistogram reports its
 * percentiles ("highest equivalent value"). */
static uint64_t
bucket_high(size_t i)
{
    if (i < 2 * SUB)
        return i;
    size_t shift = i / SUB - 1;
    uint64_t mant = i - shift * SUB;
    return ((mant + 1) << shift) - 1;
}

bench_hist *
bench_hist_new(void)
{
    bench_hist *h = calloc(1, sizeof(*h));
    if (h != NULL)
        h->min = UINT64_MAX;
    return h;
}

void
bench_hist_free(bench_hist *h)
{
    free(h);
}

void
bench_hist_record(bench_hist *h, uint64_t ns)
{
    h->count[bucket_of(ns)]++;
    h->total++;
    h->sum += (long double)ns;
    if (ns > h->max)
        h->max = ns;
    if (ns < h->min)
        h->min = ns;
}

void
bench_hist_merge(bench_hist *into, const bench_hist *from)
{
    if (from == NULL || from->total == 0)
        return;
    for (size_t i = 0; i < N_BUCKETS; i++)
        into->count[i] += from->count[i];
    into->total += from->total;
    into->sum += from->sum;
    if (from->max > into->max)
        into->max = from->max;
    if (from->min < into->min)
        into->min = from->min;
}

uint64_t
bench_hist_count(const bench_hist *h)
{
    return h->total;
}

uint64_t
bench_hist_max(const bench_hist *h)
{
    return h->max;
}

double
bench_hist_mean(const bench_hist *h)
{
    return h->total ? (double)(h->sum / (long double)h->total) : 0.0;
}

uint64_t
bench_hist_percentile(const bench_hist *h, double p)
{
    if (h->total == 0)
        return 0;
    /* The smallest value v such that at least p% of samples are <= v. */
    uint64_t want = (uint64_t)((p / 100.0) * (double)h->total + 0.999999);
    if (want < 1)
        want = 1;
    if (want > h->total)
        want = h->total;
    uint64_t seen = 0;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= want) {
            uint64_t v = bucket_high(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}
