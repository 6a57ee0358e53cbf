/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics registry (metrics.c): counters, gauges and histograms of the
 * server, rendered in Prometheus's text exposition format 0.0.4.
 *
 * There is one registry per process (global state, like the process
 * metrics it reports). Every update is lock-free and allocates nothing:
 *
 *   - per-request series (srv_metrics_request) live in shards, one picked
 *     per thread on its first call, so threads on different cores do not
 *     fight over one cache line; each cell is a relaxed atomic, so two
 *     threads that happen to share a shard stay exact;
 *   - the writer's series and the business counters are plain relaxed
 *     atomics (one writer thread updates them);
 *   - gauges are set, or moved by a delta, with relaxed atomics.
 *
 * Until srv_metrics_enable(1) every update returns after one load and a
 * branch, so a server started without --metrics-listen pays nothing more.
 *
 * Labels are enumerated at compile time: method from BH_METHOD_MAP (the
 * full name as on the wire, "bilheteria.v1.EventService/CreateEvent", or
 * "unknown" for a name not in the map), code from BH_STATUS_MAP ("OK",
 * "NOT_FOUND", ...). No label carries a session, user or key.
 *
 * Series (all rendered by srv_metrics_render):
 *   bilheteria_requests_total{method,code}              counter
 *   bilheteria_request_duration_seconds{method}         histogram
 *   bilheteria_commit_batch_size                        histogram (calls)
 *   bilheteria_commit_duration_seconds                  histogram
 *   bilheteria_sync_duration_seconds                    histogram
 *   bilheteria_commit_failures_total                    counter
 *   bilheteria_writer_queue_depth                       gauge
 *   bilheteria_holds_active                             gauge
 *   bilheteria_feed_bridge_lag                          gauge (last seq - acked)
 *   bilheteria_seats_sold_total, bilheteria_payments_total,
 *   bilheteria_revenue_cents_total, bilheteria_reservations_expired_total,
 *   bilheteria_idempotent_replays_total                 counters
 *   bilheteria_connections_open                         gauge
 *   bilheteria_store_map_size_bytes, bilheteria_store_used_bytes,
 *   bilheteria_store_readers_in_use                     gauges (callback)
 *   bilheteria_build_info{version,commit}               gauge, always 1
 *   process_cpu_seconds_total, process_resident_memory_bytes,
 *   process_virtual_memory_bytes, process_open_fds, process_max_fds,
 *   process_start_time_seconds                          (from /proc/self)
 *
 * bilheteria_requests_total shows every method with code="OK" (0 until
 * called) and any other (method, code) once it has been seen; the duration
 * histogram shows every method of the map, and "unknown" once seen.
 */
#ifndef BH_METRICS_H
#define BH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "bilheteria/bh_methods.h"
#include "bilheteria/status.h"

/* The method id for a name that is not in BH_METHOD_MAP. */
#define SRV_METRICS_METHOD_UNKNOWN BH_METHOD_COUNT

/* Turns updates on (1) or off (0); off is the start state. Rendering works
 * either way. May be called at any time from any thread. */
void srv_metrics_enable(int on);
int srv_metrics_enabled(void);

/* Zeroes every counter, gauge and histogram (not the store callback). For
 * tests: updates racing with it may survive it. */
void srv_metrics_reset(void);

/* One call answered: m is its method id (SRV_METRICS_METHOD_UNKNOWN, or
 * any value out of range, counts as "unknown"), code its status (0..16; a
 * code out of range counts as UNKNOWN, 2), duration_us the time from
 * receive to answer sent (negative counts as 0). Any thread. */
void srv_metrics_request(int m, int code, int64_t duration_us);

/* One group commit: batch calls in it, commit_us the time the write
 * transaction took, sync_us the time of the sync (negative: there was no
 * separate sync, nothing is recorded for it), failed != 0 when the commit
 * failed (it is still counted in the histograms). The writer thread. */
void srv_metrics_commit(size_t batch, int64_t commit_us, int64_t sync_us, int failed);
/* One sync done apart from the commits (the writer's syncer thread): its
 * duration, into bilheteria_sync_duration_seconds. Any thread. */
void srv_metrics_sync(int64_t sync_us);

/* Gauges. set replaces the value, add moves it by delta. Any thread. */
void srv_metrics_queue_depth(int64_t depth);
void srv_metrics_holds_active_set(int64_t n);
void srv_metrics_holds_active_add(int64_t delta);
void srv_metrics_connections_add(int64_t delta);
void srv_metrics_feed_bridge_lag(int64_t n);

/* Business counters, each moved by n. Any thread. */
void srv_metrics_seats_sold(uint64_t n);
void srv_metrics_reservations_expired(uint64_t n);
void srv_metrics_idempotent_replay(void);
/* n payments confirmed for revenue_cents in all. */
void srv_metrics_payments(uint64_t n, uint64_t revenue_cents);

/* The store's gauges, read when rendering so metrics.c needs no store. */
typedef struct srv_metrics_store_stats {
    uint64_t map_size_bytes; /* the map size the environment was opened with */
    uint64_t used_bytes;     /* pages in use times the page size */
    uint64_t readers_in_use; /* reader slots taken */
} srv_metrics_store_stats;
/* Fills *st and returns 0, or returns nonzero (the store gauges are left
 * out of that rendering). Called from the thread that renders (the HTTP
 * server's), so it must be safe next to the server's own use of the store
 * (mdb_env_info and mdb_env_stat are). */
typedef int (*srv_metrics_store_fn)(void *arg, srv_metrics_store_stats *st);
/* Sets (fn != NULL) or clears the store callback; arg is borrowed until it
 * is cleared. Not to be called while a rendering may run. */
void srv_metrics_set_store(srv_metrics_store_fn fn, void *arg);

/* Renders every series in text exposition format 0.0.4 into *out (NUL
 * terminated, *len bytes without the NUL; caller frees with free()).
 * Returns 0, or ENOMEM (*out and *len untouched). Any thread, next to
 * updates (each value is read once; a histogram's _count is the sum of the
 * buckets it shows, its _sum may be a call ahead or behind). */
int srv_metrics_render(char **out, size_t *len);

/* ---- reading the registry back (AdminService.Stats) ---- */

#define SRV_METRICS__ONE(...) +1
enum {
    SRV_METRICS_NMETHOD = BH_METHOD_COUNT + 1, /* the map's methods, then "unknown" */
    SRV_METRICS_NCODE = 0 BH_STATUS_MAP(SRV_METRICS__ONE),
    SRV_METRICS_NLAT = 17, /* latency buckets, the last one +Inf */
};

/* The registry's values at one moment (each read once; see render). */
typedef struct srv_metrics_sample {
    uint64_t requests[SRV_METRICS_NMETHOD][SRV_METRICS_NCODE];
    uint64_t lat[SRV_METRICS_NMETHOD][SRV_METRICS_NLAT]; /* per bucket, not cumulative */
    uint64_t commits, commit_failures, syncs, sync_us;
    int64_t queue_depth, holds_active, connections;
    uint64_t seats_sold, payments, revenue_cents, expired, replays;
} srv_metrics_sample;

/* Fills *out (about 6 KiB: not for a small stack). Any thread. */
void srv_metrics_sample_get(srv_metrics_sample *out);
/* The latency buckets' upper bounds in µs: SRV_METRICS_NLAT - 1 of them,
 * ascending (the last bucket has none). Static storage. */
const uint64_t *srv_metrics_latency_bounds_us(void);
/* Method m's label (full name, or "unknown"), code's ("OK", ...); NULL
 * out of range. Static strings. */
const char *srv_metrics_method_name(int m);
const char *srv_metrics_code_name(int code);

/* The Content-Type of what srv_metrics_render writes. */
#define SRV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
