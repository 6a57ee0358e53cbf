/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics registry: fixed arrays of relaxed atomic counters, sized at
 * compile time from the method and status maps, summed and formatted only
 * when scraped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bilheteria/status.h"
#include "bilheteria/wire.h"
#include "build_info.h"
#include "metrics.h"

/* Latency buckets: Prometheus's defaults (5 ms .. 10 s) with four more
 * below, as most calls here answer in well under a millisecond.
 * X(upper bound in µs, its le label). */
#define M_LATENCY_BUCKETS(X)                                                                       \
    X(100, "0.0001")                                                                               \
    X(250, "0.00025")                                                                              \
    X(500, "0.0005")                                                                               \
    X(1000, "0.001")                                                                               \
    X(2500, "0.0025")                                                                              \
    X(5000, "0.005")                                                                               \
    X(10000, "0.01")                                                                               \
    X(25000, "0.025")                                                                              \
    X(50000, "0.05")                                                                               \
    X(100000, "0.1")                                                                               \
    X(250000, "0.25")                                                                              \
    X(500000, "0.5")                                                                               \
    X(1000000, "1")                                                                                \
    X(2500000, "2.5")                                                                              \
    X(5000000, "5")                                                                                \
    X(10000000, "10")

/* Calls per group commit: powers of two up to 1024. */
#define M_BATCH_BUCKETS(X)                                                                         \
    X(1, "1")                                                                                      \
    X(2, "2")                                                                                      \
    X(4, "4")                                                                                      \
    X(8, "8")                                                                                      \
    X(16, "16")                                                                                    \
    X(32, "32")                                                                                    \
    X(64, "64")                                                                                    \
    X(128, "128")                                                                                  \
    X(256, "256")                                                                                  \
    X(512, "512")                                                                                  \
    X(1024, "1024")

#define M_BOUND(v, label) v,
#define M_LABEL(v, label) label,
#define M_ONE(...)        +1

static const uint64_t lat_bounds[] = { M_LATENCY_BUCKETS(M_BOUND) };
static const char *const lat_labels[] = { M_LATENCY_BUCKETS(M_LABEL) };
static const uint64_t batch_bounds[] = { M_BATCH_BUCKETS(M_BOUND) };
static const char *const batch_labels[] = { M_BATCH_BUCKETS(M_LABEL) };

/* Buckets are stored one per bound plus +Inf, not cumulative: an update
 * touches one cell; rendering adds them up. */
enum {
    NLAT = 0 M_LATENCY_BUCKETS(M_ONE) + 1,
    NBATCH = 0 M_BATCH_BUCKETS(M_ONE) + 1,
    NMETHOD = BH_METHOD_COUNT + 1, /* + "unknown" */
    NCODE = 0 BH_STATUS_MAP(M_ONE),
    NSHARD = 16,
};

#define M_METHOD_NAME(id, name, fn, req, resp, writes, key) name,
static const char *const method_names[NMETHOD] = { BH_METHOD_MAP(M_METHOD_NAME) "unknown" };

#define M_CODE_NAME(n, name) [n] = #name,
static const char *const code_names[] = { BH_STATUS_MAP(M_CODE_NAME) };
_Static_assert(sizeof(code_names) / sizeof(code_names[0]) == NCODE,
               "BH_STATUS_MAP numbers its codes 0..N-1");
#define CODE_UNKNOWN 2

_Static_assert((int)NLAT == (int)SRV_METRICS_NLAT && (int)NMETHOD == (int)SRV_METRICS_NMETHOD &&
                   (int)NCODE == (int)SRV_METRICS_NCODE,
               "metrics.h's sizes are the registry's");

typedef _Atomic uint64_t m_u64;
typedef _Atomic int64_t m_i64;

/* The per-request series of one shard, aligned so that two shards never
 * share a cache line. */
typedef struct m_shard {
    _Alignas(64) m_u64 requests[NMETHOD][NCODE];
    m_u64 lat[NMETHOD][NLAT];
    m_u64 lat_sum_us[NMETHOD];
} m_shard;

typedef struct m_hist_lat {
    m_u64 b[NLAT];
    m_u64 sum_us;
} m_hist_lat;

static struct {
    atomic_int on;
    atomic_uint next_shard;
    m_shard shards[NSHARD];

    /* the writer's */
    m_u64 batch[NBATCH];
    m_u64 batch_sum;
    m_hist_lat commit;
    m_hist_lat sync;
    m_u64 commit_failures;
    m_i64 queue_depth;

    m_i64 holds_active;
    m_i64 connections;
    m_u64 seats_sold;
    m_u64 payments;
    m_u64 revenue_cents;
    m_u64 expired;
    m_u64 replays;
    m_i64 feed_bridge_lag;

    srv_metrics_store_fn store_fn;
    void *store_arg;
} reg;

static _Thread_local int my_shard = -1;

#define RELAXED memory_order_relaxed

static inline void
inc(m_u64 *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, RELAXED);
}

static inline uint64_t
get(m_u64 *c)
{
    return atomic_load_explicit(c, RELAXED);
}

/* The first bucket whose bound is >= v (the last, +Inf, if none). */
static inline size_t
bucket_of(const uint64_t *bounds, size_t nbounds, uint64_t v)
{
    size_t i = 0;
    while (i < nbounds && v > bounds[i])
        i++;
    return i;
}

static inline int
on(void)
{
    return atomic_load_explicit(&reg.on, RELAXED);
}

void
srv_metrics_enable(int enable)
{
    atomic_store_explicit(&reg.on, enable != 0, RELAXED);
}

int
srv_metrics_enabled(void)
{
    return on();
}

static void
zero(m_u64 *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&p[i], 0, RELAXED);
}

#define ZERO(a) zero((m_u64 *)(a), sizeof(a) / sizeof(m_u64))

void
srv_metrics_reset(void)
{
    for (int s = 0; s < NSHARD; s++) {
        ZERO(reg.shards[s].requests);
        ZERO(reg.shards[s].lat);
        ZERO(reg.shards[s].lat_sum_us);
    }
    ZERO(reg.batch);
    atomic_store_explicit(&reg.batch_sum, 0, RELAXED);
    ZERO(reg.commit.b);
    atomic_store_explicit(&reg.commit.sum_us, 0, RELAXED);
    ZERO(reg.sync.b);
    atomic_store_explicit(&reg.sync.sum_us, 0, RELAXED);
    m_u64 *counters[] = { &reg.commit_failures, &reg.seats_sold, &reg.payments,
                          &reg.revenue_cents,   &reg.expired,    &reg.replays };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        atomic_store_explicit(counters[i], 0, RELAXED);
    atomic_store_explicit(&reg.queue_depth, 0, RELAXED);
    atomic_store_explicit(&reg.holds_active, 0, RELAXED);
    atomic_store_explicit(&reg.connections, 0, RELAXED);
    atomic_store_explicit(&reg.feed_bridge_lag, 0, RELAXED);
}

void
srv_metrics_request(int m, int code, int64_t duration_us)
{
    if (!on())
        return;
    if (my_shard < 0)
        my_shard = (int)(atomic_fetch_add_explicit(&reg.next_shard, 1, RELAXED) % NSHARD);
    m_shard *sh = &reg.shards[my_shard];
    if (m < 0 || m >= NMETHOD)
        m = SRV_METRICS_METHOD_UNKNOWN;
    if (code < 0 || code >= NCODE)
        code = CODE_UNKNOWN;
    uint64_t us = duration_us > 0 ? (uint64_t)duration_us : 0;
    inc(&sh->requests[m][code], 1);
    inc(&sh->lat[m][bucket_of(lat_bounds, NLAT - 1, us)], 1);
    inc(&sh->lat_sum_us[m], us);
}

static void
hist_lat_add(m_hist_lat *h, int64_t us)
{
    uint64_t v = us > 0 ? (uint64_t)us : 0;
    inc(&h->b[bucket_of(lat_bounds, NLAT - 1, v)], 1);
    inc(&h->sum_us, v);
}

void
srv_metrics_commit(size_t batch, int64_t commit_us, int64_t sync_us, int failed)
{
    if (!on())
        return;
    inc(&reg.batch[bucket_of(batch_bounds, NBATCH - 1, batch)], 1);
    inc(&reg.batch_sum, batch);
    hist_lat_add(&reg.commit, commit_us);
    if (sync_us >= 0)
        hist_lat_add(&reg.sync, sync_us);
    if (failed)
        inc(&reg.commit_failures, 1);
}

void
srv_metrics_sync(int64_t sync_us)
{
    if (on())
        hist_lat_add(&reg.sync, sync_us);
}

void
srv_metrics_queue_depth(int64_t depth)
{
    if (on())
        atomic_store_explicit(&reg.queue_depth, depth, RELAXED);
}

void
srv_metrics_holds_active_set(int64_t n)
{
    if (on())
        atomic_store_explicit(&reg.holds_active, n, RELAXED);
}

void
srv_metrics_feed_bridge_lag(int64_t n)
{
    if (on())
        atomic_store_explicit(&reg.feed_bridge_lag, n, RELAXED);
}

void
srv_metrics_holds_active_add(int64_t delta)
{
    if (on())
        atomic_fetch_add_explicit(&reg.holds_active, delta, RELAXED);
}

void
srv_metrics_connections_add(int64_t delta)
{
    if (on())
        atomic_fetch_add_explicit(&reg.connections, delta, RELAXED);
}

void
srv_metrics_seats_sold(uint64_t n)
{
    if (on())
        inc(&reg.seats_sold, n);
}

void
srv_metrics_reservations_expired(uint64_t n)
{
    if (on())
        inc(&reg.expired, n);
}

void
srv_metrics_idempotent_replay(void)
{
    if (on())
        inc(&reg.replays, 1);
}

void
srv_metrics_payments(uint64_t n, uint64_t revenue_cents)
{
    if (!on())
        return;
    inc(&reg.payments, n);
    inc(&reg.revenue_cents, revenue_cents);
}

void
srv_metrics_set_store(srv_metrics_store_fn fn, void *arg)
{
    reg.store_fn = fn;
    reg.store_arg = fn != NULL ? arg : NULL;
}

/* ---- rendering ---- */

typedef struct m_buf {
    char *p;
    size_t len, cap;
    int oom;
} m_buf;

__attribute__((format(printf, 2, 3))) static void
put(m_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static void
family(m_buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's lines: per-bucket counts (not cumulative) in, the
 * cumulative _bucket series, _sum and _count out. labels is "" or
 * `method="..."` (followed by a comma before le). */
static void
histogram(m_buf *b, const char *name, const char *labels, const char *const *le,
          const uint64_t *counts, size_t n, double sum)
{
    const char *sep = labels[0] != '\0' ? "," : "";
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += counts[i];
        put(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, i + 1 < n ? le[i] : "+Inf",
            (unsigned long long)cum);
    }
    if (labels[0] != '\0') {
        put(b, "%s_sum{%s} %.6f\n", name, labels, sum);
        put(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
    } else {
        put(b, "%s_sum %.6f\n", name, sum);
        put(b, "%s_count %llu\n", name, (unsigned long long)cum);
    }
}

static void
hist_lat_render(m_buf *b, const char *name, const char *help, m_hist_lat *h)
{
    uint64_t counts[NLAT];
    for (size_t i = 0; i < NLAT; i++)
        counts[i] = get(&h->b[i]);
    family(b, name, "histogram", help);
    histogram(b, name, "", lat_labels, counts, NLAT, (double)get(&h->sum_us) / 1e6);
}

static void
counter(m_buf *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "counter", help);
    put(b, "%s %llu\n", name, (unsigned long long)v);
}

static void
gauge(m_buf *b, const char *name, const char *help, long long v)
{
    family(b, name, "gauge", help);
    put(b, "%s %lld\n", name, v);
}

/* A label value with \, " and newline escaped, as the format asks. */
static void
label_value(char *out, size_t n, const char *v)
{
    size_t j = 0;
    for (; *v != '\0' && j + 3 < n; v++) {
        char c = *v;
        if (c == '\\' || c == '"' || c == '\n') {
            out[j++] = '\\';
            c = c == '\n' ? 'n' : c;
        }
        out[j++] = c;
    }
    out[j] = '\0';
}

/* The per-request series of every shard, added up into zeroed arrays. */
static void
sum_shards(uint64_t req[NMETHOD][NCODE], uint64_t lat[NMETHOD][NLAT], uint64_t lat_sum[NMETHOD])
{
    for (int s = 0; s < NSHARD; s++) {
        m_shard *sh = &reg.shards[s];
        for (int m = 0; m < NMETHOD; m++) {
            for (int c = 0; c < NCODE; c++)
                req[m][c] += get(&sh->requests[m][c]);
            for (int i = 0; i < NLAT; i++)
                lat[m][i] += get(&sh->lat[m][i]);
            lat_sum[m] += get(&sh->lat_sum_us[m]);
        }
    }
}

static void
render_requests(m_buf *b)
{
    /* About 5 KiB of stack: the shards summed. */
    uint64_t req[NMETHOD][NCODE] = { { 0 } };
    uint64_t lat[NMETHOD][NLAT] = { { 0 } };
    uint64_t lat_sum[NMETHOD] = { 0 };
    sum_shards(req, lat, lat_sum);

    family(b, "bilheteria_requests_total", "counter",
           "Calls answered, by method (full name) and status code.");
    for (int m = 0; m < NMETHOD; m++)
        for (int c = 0; c < NCODE; c++)
            if (req[m][c] != 0 || (c == 0 && m < BH_METHOD_COUNT))
                put(b, "bilheteria_requests_total{method=\"%s\",code=\"%s\"} %llu\n",
                    method_names[m], code_names[c], (unsigned long long)req[m][c]);

    const char *name = "bilheteria_request_duration_seconds";
    family(b, name, "histogram", "Time from receiving a call to sending its answer, by method.");
    for (int m = 0; m < NMETHOD; m++) {
        uint64_t n = 0;
        for (int i = 0; i < NLAT; i++)
            n += lat[m][i];
        if (m == SRV_METRICS_METHOD_UNKNOWN && n == 0)
            continue;
        char labels[128];
        snprintf(labels, sizeof(labels), "method=\"%s\"", method_names[m]);
        histogram(b, name, labels, lat_labels, lat[m], NLAT, (double)lat_sum[m] / 1e6);
    }
}

static void
render_writer(m_buf *b)
{
    uint64_t counts[NBATCH];
    for (size_t i = 0; i < NBATCH; i++)
        counts[i] = get(&reg.batch[i]);
    family(b, "bilheteria_commit_batch_size", "histogram", "Calls per group commit.");
    histogram(b, "bilheteria_commit_batch_size", "", batch_labels, counts, NBATCH,
              (double)get(&reg.batch_sum));
    hist_lat_render(b, "bilheteria_commit_duration_seconds",
                    "Time of one group commit's write transaction.", &reg.commit);
    hist_lat_render(b, "bilheteria_sync_duration_seconds", "Time of one sync of the store to disk.",
                    &reg.sync);
    counter(b, "bilheteria_commit_failures_total", "Group commits that failed.",
            get(&reg.commit_failures));
    gauge(b, "bilheteria_writer_queue_depth", "Calls waiting for the writer.",
          (long long)atomic_load_explicit(&reg.queue_depth, RELAXED));
}

static void
render_business(m_buf *b)
{
    gauge(b, "bilheteria_feed_bridge_lag",
          "Changes committed that the JetStream bridge has not had acknowledged yet.",
          (long long)atomic_load_explicit(&reg.feed_bridge_lag, RELAXED));
    gauge(b, "bilheteria_holds_active", "Reservations held and not yet paid, cancelled or expired.",
          (long long)atomic_load_explicit(&reg.holds_active, RELAXED));
    counter(b, "bilheteria_seats_sold_total", "Seats sold (reservations paid).",
            get(&reg.seats_sold));
    counter(b, "bilheteria_payments_total", "Payments confirmed.", get(&reg.payments));
    counter(b, "bilheteria_revenue_cents_total", "Amount of the payments confirmed, in cents.",
            get(&reg.revenue_cents));
    counter(b, "bilheteria_reservations_expired_total", "Reservations released by expiry.",
            get(&reg.expired));
    counter(b, "bilheteria_idempotent_replays_total",
            "Writes answered from the idempotency table instead of run again.", get(&reg.replays));
    gauge(b, "bilheteria_connections_open", "Client connections open.",
          (long long)atomic_load_explicit(&reg.connections, RELAXED));

    srv_metrics_store_stats st;
    if (reg.store_fn != NULL && reg.store_fn(reg.store_arg, &st) == 0) {
        gauge(b, "bilheteria_store_map_size_bytes", "Size of the store's memory map.",
              (long long)st.map_size_bytes);
        gauge(b, "bilheteria_store_used_bytes", "Bytes of the map in use.",
              (long long)st.used_bytes);
        gauge(b, "bilheteria_store_readers_in_use", "Reader slots of the store taken.",
              (long long)st.readers_in_use);
    }

    char version[64], commit[96];
    label_value(version, sizeof(version), BH_VERSION);
    label_value(commit, sizeof(commit), SRV_GIT_COMMIT);
    family(b, "bilheteria_build_info", "gauge", "Always 1; labels name the build.");
    put(b, "bilheteria_build_info{version=\"%s\",commit=\"%s\"} 1\n", version, commit);
}

/* ---- reading back ---- */

void
srv_metrics_sample_get(srv_metrics_sample *out)
{
    uint64_t lat_sum[NMETHOD] = { 0 };
    memset(out, 0, sizeof(*out));
    sum_shards(out->requests, out->lat, lat_sum);
    for (size_t i = 0; i < NBATCH; i++)
        out->commits += get(&reg.batch[i]);
    for (size_t i = 0; i < NLAT; i++)
        out->syncs += get(&reg.sync.b[i]);
    out->sync_us = get(&reg.sync.sum_us);
    out->commit_failures = get(&reg.commit_failures);
    out->queue_depth = atomic_load_explicit(&reg.queue_depth, RELAXED);
    out->holds_active = atomic_load_explicit(&reg.holds_active, RELAXED);
    out->connections = atomic_load_explicit(&reg.connections, RELAXED);
    out->seats_sold = get(&reg.seats_sold);
    out->payments = get(&reg.payments);
    out->revenue_cents = get(&reg.revenue_cents);
    out->expired = get(&reg.expired);
    out->replays = get(&reg.replays);
}

const uint64_t *
srv_metrics_latency_bounds_us(void)
{
    return lat_bounds;
}

const char *
srv_metrics_method_name(int m)
{
    return m >= 0 && m < NMETHOD ? method_names[m] : NULL;
}

const char *
srv_metrics_code_name(int code)
{
    return code >= 0 && code < NCODE ? code_names[code] : NULL;
}

/* The process's start, in seconds since the epoch: its start in clock ticks
 * after boot (/proc/self/stat, field 22) plus the boot time (/proc/stat's
 * btime). 0 if unknown. */
static double
start_time(void)
{
    double t = 0;
    char line[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL)
        return 0;
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    /* comm, in parentheses, may hold spaces: count fields from the last ')'. */
    char *p = strrchr(line, ')');
    if (p == NULL)
        return 0;
    unsigned long long ticks = 0;
    for (int field = 2; field < 22 && p != NULL; field++)
        p = strchr(p + 1, ' ');
    if (p == NULL || sscanf(p + 1, "%llu", &ticks) != 1)
        return 0;
    if ((f = fopen("/proc/stat", "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long long btime;
        if (sscanf(line, "btime %llu", &btime) == 1) {
            long hz = sysconf(_SC_CLK_TCK);
            t = (double)btime + (double)ticks / (double)(hz > 0 ? hz : 100);
            break;
        }
    }
    fclose(f);
    return t;
}

static void
render_process(m_buf *b)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        family(b, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
        put(b, "process_cpu_seconds_total %.6f\n", cpu);
    }

    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        unsigned long long size, resident;
        long page = sysconf(_SC_PAGESIZE);
        if (fscanf(f, "%llu %llu", &size, &resident) == 2 && page > 0) {
            gauge(b, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                  (long long)(size * (unsigned long long)page));
            gauge(b, "process_resident_memory_bytes", "Resident memory size in bytes.",
                  (long long)(resident * (unsigned long long)page));
        }
        fclose(f);
    }

    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        long long n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        gauge(b, "process_open_fds", "Number of open file descriptors.", n - 1 /* d's own */);
    }

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(b, "process_max_fds", "Maximum number of open file descriptors.",
              rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur);

    double start = start_time();
    if (start > 0) {
        family(b, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.");
        put(b, "process_start_time_seconds %.2f\n", start);
    }
}

int
srv_metrics_render(char **out, size_t *len)
{
    m_buf b = { .cap = 32768 };
    if ((b.p = malloc(b.cap)) == NULL)
        return ENOMEM;
    b.p[0] = '\0';

    render_requests(&b);
    render_writer(&b);
    render_business(&b);
    render_process(&b);

    if (b.oom) {
        free(b.p);
        return ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
