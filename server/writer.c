/* SPDX-License-Identifier: Apache-2.0 */
/* The single writer: every mutating call goes through this thread. It
 * drains its queue, applies the whole batch in one LMDB write transaction
 * (each call in a nested transaction, so one failure spoils nothing else),
 * commits once and only then -- once the commit is on disk -- answers the
 * calls: group commit. Acknowledged means durable. The hold-expiry and
 * idempotency sweeps run here too, at the start of a batch, so they never
 * race a write.
 *
 * Three threads share the work of a batch:
 *  - the writer applies and commits it. The store runs with the meta-page
 *    sync deferred (MDB_NOMETASYNC): a commit waits for the fdatasync of
 *    its data pages and then writes its meta page without waiting;
 *  - the syncer then makes it durable: one fdatasync for every batch
 *    committed since its last one, while the writer already applies and
 *    commits the next batch (a commit used to wait for both syncs in turn);
 *  - the responder encodes and sends the answers of durable (or failed)
 *    batches: sending 30 replies wakes as many nng threads, and that should
 *    not sit between two syncs either.
 * The price: a read may see a write from its commit on, one or two
 * fdatasyncs (~0.2-0.4 ms) before it is durable. A power loss in that
 * window loses the write -- whose caller was never told it succeeded --
 * after someone may have read it. A kill -9 loses nothing committed: the
 * pages are in the kernel's page cache. Durability is ordered: a batch's
 * meta page reaches the disk with the next commit's data sync at the
 * latest, and answers go out in batch order.
 *
 * A disk error (a commit failing with an I/O error, or a failed sync)
 * stops the writes for good: nobody knows what reached the disk. Every
 * later write is refused until the server is restarted; reads go on.
 *
 * Metrics (metrics.h): the writer times each batch with calls from its
 * first try to its commit (the data-page sync included) and counts it,
 * failed or not; the syncer times its fdatasyncs. The business counters
 * are tallied (resv.h's srv_tally) while a batch is applied, undone with
 * a call's nested transaction, and published only once the batch commits;
 * the holds gauge is the PENDING count read in the committed transaction,
 * so it is exact after a restart too (from the first batch, or the first
 * idle sweep, on). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/sha256.h>

#include "audit.h"
#include "clock.h"
#include "dispatch.h"
#include "feed.h"
#include "log.h"
#include "metrics.h"
#include "refund.h"
#include "resv.h"
#include "seatcache.h"
#include "util.h"
#include "writer.h"

#define SWEEP_BATCH         512
#define IDEM_SWEEP_BATCH    1024
#define IDEM_SWEEP_EVERY_MS 60000

/* A queue of finished calls and the thread that serves it. */
typedef struct callq {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_wslot *head, *tail;
    int stop;
} callq;

struct srv_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_wslot *head, *tail;
    int64_t queued; /* calls in head..tail */
    int stop;
    int stopped; /* threads joined: submits are refused */
    /* Committed batches waiting for their meta page to be synced. */
    callq syncq;
    /* Durable (or failed) calls to answer. */
    callq answerq;
    store *st;
    const srv_config *cfg;
    bh__arena arena;      /* the sweeper's scratch space */
    srv_seatcache *seats; /* taken-seat maps for best-N */
    int64_t next_sweep_ms, next_idem_sweep_ms;
    srv_env env;  /* what write calls run with: the seat cache, the tally */
    srv_env renv; /* what reads beside the writer run with */
    /* What the batch being applied did to the business counters: published
     * only once it commits (see apply for a call that fails). */
    srv_tally tally;
    /* The PENDING reservations in the batch's transaction, read before its
     * commit (when metrics are on): the holds gauge once it commits. -1 =
     * not read. */
    int64_t pending;
    /* Flushed once a batch's calls are answered (srv_writer_set_audit). */
    _Atomic(srv_audit *) audit;
    /* Read by HealthService.Check from any thread. */
    atomic_uint_fast64_t stat_writes, stat_commits;
    /* Set for good after a disk error in a commit or a sync (see run_batch). */
    atomic_int broken;
    int last_fail; /* the last batch's store error: each spell is logged once */
};

void
srv_writer_health(const srv_writer *w, srv_health *out)
{
    out->broken = atomic_load(&w->broken);
    out->writes = atomic_load(&w->stat_writes);
    out->commits = atomic_load(&w->stat_commits);
}

static void
health_of(const void *w, srv_health *out)
{
    srv_writer_health(w, out);
}

const srv_env *
srv_writer_env(const srv_writer *w)
{
    return &w->renv;
}

static void
callq_init(callq *q)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
}

static void
callq_destroy(callq *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

static void
callq_push(callq *q, srv_wslot *list)
{
    if (list == NULL)
        return;
    srv_wslot *last = list;
    while (last->next != NULL)
        last = last->next;
    pthread_mutex_lock(&q->mu);
    if (q->tail != NULL)
        q->tail->next = list;
    else
        q->head = list;
    q->tail = last;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* Everything queued, after waiting for something; NULL once stopped and
 * drained. */
static srv_wslot *
callq_take(callq *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->head == NULL && !q->stop)
        pthread_cond_wait(&q->cv, &q->mu);
    srv_wslot *list = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return list;
}

/* Lets the thread finish what is queued, then joins it. */
static void
callq_stop(callq *q)
{
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
}

static int
transient(int code)
{
    return code == BILHETERIA__V1__STATUS_CODE__UNAVAILABLE ||
           code == BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED ||
           code == BILHETERIA__V1__STATUS_CODE__ABORTED ||
           code == BILHETERIA__V1__STATUS_CODE__INTERNAL ||
           code == BILHETERIA__V1__STATUS_CODE__DEADLINE_EXCEEDED;
}

/* The fingerprint covers the method and the request as re-serialised by
 * us: protobuf-c packs fields in number order, so two encodings of the same
 * request (field order, defaults sent or not) fingerprint alike. */
static int
fingerprint(srv_call *c, uint8_t out[32])
{
    size_t n = protobuf_c_message_get_packed_size(c->req);
    size_t ml = strlen(c->m->name);
    uint8_t *buf = bh__arena_alloc(c->arena, ml + 1 + n);
    if (buf == NULL)
        return -1;
    memcpy(buf, c->m->name, ml + 1);
    protobuf_c_message_pack(c->req, buf + ml + 1);
    return mbedtls_sha256_ret(buf, ml + 1 + n, out, 0) == 0 ? 0 : -1;
}

static int
pack_resp(srv_call *c)
{
    size_t n = protobuf_c_message_get_packed_size(c->resp);
    uint8_t *buf = bh__arena_alloc(c->arena, n ? n : 1);
    if (buf == NULL)
        return -1;
    protobuf_c_message_pack(c->resp, buf);
    c->resp_bytes = buf;
    c->resp_len = n;
    return 0;
}

/* The store's idempotency scope of c: its identity's scope (authz.h), as
 * it is when short, else "#" and the hex SHA-256 of it, so that the
 * longest JWT issuer + subject and the longest key fit one LMDB key. */
#define IDEM_SCOPE_RAW_MAX 160
static void
idem_scope(const srv_call *c, char out[IDEM_SCOPE_RAW_MAX + 1])
{
    const char *s = c->identity.scope;
    size_t n = strlen(s);
    uint8_t d[32];
    if (n <= IDEM_SCOPE_RAW_MAX) {
        memcpy(out, s, n + 1);
        return;
    }
    mbedtls_sha256_ret((const uint8_t *)s, n, d, 0);
    out[0] = '#';
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(out + 1 + 2 * i, 3, "%02x", d[i]);
}

static int
idem_store(srv_call *c, store_txn *t, const uint8_t fp[32])
{
    char scope[IDEM_SCOPE_RAW_MAX + 1];
    Bilheteria__Store__IdemRecord rec = BILHETERIA__STORE__IDEM_RECORD__INIT;
    rec.method = (char *)c->m->name;
    rec.fingerprint.data = (uint8_t *)fp;
    rec.fingerprint.len = 32;
    rec.created_at_ms = c->now_ms;
    rec.status = (uint32_t)c->code;
    rec.message = c->msg;
    rec.payload.data = (uint8_t *)c->resp_bytes;
    rec.payload.len = c->code == 0 ? c->resp_len : 0;
    idem_scope(c, scope);
    return store_idem_put(t, scope, c->idem_key, &rec);
}

/* Clears what an earlier try of the batch left in the call. */
static void
call_reset(srv_wslot *slot, int64_t now)
{
    srv_call *c = slot->call;
    c->now_ms = now;
    c->code = 0;
    c->msg[0] = 0;
    c->field = NULL;
    c->resp = NULL;
    c->resp_bytes = NULL;
    c->resp_len = 0;
    c->replayed = 0;
    c->unchanged = 0;
    c->n_after = 0;
    slot->idem_conflict = 0;
    slot->idem_stored = 0;
}

/* Looks the call's idempotency key up (fingerprint in fp). 0: the key is
 * new, run the call; 1: the call is answered (a replay of the stored
 * answer, a key used for another request, or an error). */
static int
idem_lookup(srv_wslot *slot, store_txn *t, uint8_t fp[32])
{
    srv_call *c = slot->call;
    Bilheteria__Store__IdemRecord *rec = NULL;
    char scope[IDEM_SCOPE_RAW_MAX + 1];
    if (fingerprint(c, fp) != 0) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
        return 1;
    }
    idem_scope(c, scope);
    int rc = store_idem_get(t, scope, c->idem_key, &c->arena->pc, &rec);
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc != STORE_OK) {
        srv_store_fail(c, rc, "idempotency lookup");
        return 1;
    }
    if (strcmp(rec->method, c->m->name) != 0 || rec->fingerprint.len != 32 ||
        memcmp(rec->fingerprint.data, fp, 32) != 0) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                 "idempotency key \"%s\" was already used with a different "
                 "request (%s); use a new key for a new request",
                 c->idem_key, rec->method);
        slot->idem_conflict = 1;
    } else {
        srv_fail(c, (int)rec->status, "%s", rec->message); /* cleaned as new ones */
        c->resp_bytes = rec->payload.data;
        c->resp_len = rec->payload.len;
        c->replayed = 1;
    }
    return 1;
}

/* Stores a successful call's packed answer under its key: 0, or the call's
 * new (failed) code. */
static int
idem_keep(srv_call *c, store_txn *t, const uint8_t fp[32])
{
    if (pack_resp(c) != 0)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    int rc = idem_store(c, t, fp);
    return rc == STORE_OK ? 0 : srv_store_fail(c, rc, "idempotency record");
}

/* A definite refusal is part of the key's history too: a retry with the
 * same key gets the same answer. Transient failures are not stored. The
 * record goes in a transaction of its own: a failed put spoils the
 * transaction it is in, and the batch's must stay whole. */
static int
idem_keep_refusal(store_txn *parent, srv_wslot *slot, const uint8_t fp[32])
{
    srv_call *c = slot->call;
    if (c->replayed || transient(c->code) ||
        c->code == BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT)
        return STORE_OK;
    store_txn *rt = NULL;
    int rc = store_nested_begin(parent, &rt);
    if (rc == STORE_OK) {
        if ((rc = idem_store(c, rt, fp)) == STORE_OK)
            rc = store_commit(rt);
        else
            store_abort(rt);
    }
    if (rc == STORE_MAP_FULL)
        return rc;
    slot->idem_stored = rc == STORE_OK; /* else only this retry's answer is lost */
    return STORE_OK;
}

/* Applies one call inside the batch transaction, in a nested transaction of
 * its own. Returns STORE_MAP_FULL when the whole batch must be retried on a
 * larger map, STORE_OK otherwise (the call's own outcome is in its code). */
static int
apply(srv_writer *w, store_txn *parent, srv_wslot *slot, int64_t now)
{
    srv_call *c = slot->call;
    store_txn *t = NULL;
    uint8_t fp[32];
    srv_tally saved = w->tally; /* put back if the call's transaction is undone */
    call_reset(slot, now);
    if (c->deadline_ms != 0 && srv_mono_ms() > c->deadline_ms) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__DEADLINE_EXCEEDED,
                 "deadline passed before the write was applied; nothing was changed");
        return STORE_OK;
    }
    c->env = &w->env;
    srv_seatcache_begin(w->seats);
    int rc = store_nested_begin(parent, &t);
    if (rc != STORE_OK) {
        srv_store_fail(c, rc, "nested transaction");
        return rc == STORE_MAP_FULL ? rc : STORE_OK;
    }
    int has_key = c->idem_key[0] != 0;
    if (!has_key || idem_lookup(slot, t, fp) == 0) {
        c->code = c->m->impl->fn(c, t);
        if (c->code == 0 && (!has_key || idem_keep(c, t, fp) == 0)) {
            if ((rc = store_commit(t)) != STORE_OK) {
                srv_store_fail(c, rc, "nested commit");
                srv_seatcache_rollback(w->seats);
                w->tally = saved;
                return rc == STORE_MAP_FULL ? rc : STORE_OK;
            }
            /* What the call left for the batch's transaction (its counters,
             * its indexes: srv_call_after), then its feed entries, go there
             * right after it: committed with it or not at all. Written
             * there, not in the nested transaction, they cost no copy of
             * their pages. Should one fail, the call's changes are in the
             * batch without it: the whole batch fails (or is retried on a
             * larger map). */
            for (int i = 0; i < c->n_after && rc == STORE_OK; i++)
                rc = c->after[i].fn(parent, c->after[i].arg);
            if (rc == STORE_OK && (rc = srv_feed_call(c, parent)) != STORE_OK)
                srv_store_fail(c, rc, "change feed");
            else if (rc != STORE_OK)
                srv_store_fail(c, rc, "a call's deferred write");
            return rc;
        }
    }
    store_abort(t);
    srv_seatcache_rollback(w->seats);
    w->tally = saved;
    if (c->code == SRV_STATUS_MAP_FULL)
        return STORE_MAP_FULL;
    return has_key ? idem_keep_refusal(parent, slot, fp) : STORE_OK;
}

/* Whether a call's answer holds even if its batch never reaches the disk:
 * a refusal that looked at the request alone, or at its deadline. Any other
 * answer (a success, a replay, a refusal that read the store, which earlier
 * calls of the same batch may have written) must then become UNAVAILABLE. */
static int
answer_stands(const srv_wslot *slot)
{
    int code = slot->call->code;
    return code == BILHETERIA__V1__STATUS_CODE__DEADLINE_EXCEEDED ||
           (code == BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT && !slot->idem_conflict);
}

/* Lapsed holds are released at the start of every batch that has calls
 * (finding none costs one cursor step), so that the calls see their seats,
 * quota and stock free, and the seat cache agrees; when idle, every
 * sweep_interval_ms. */
static int
sweep(srv_writer *w, store_txn *t, int64_t now, int64_t mono, int has_calls)
{
    int rc = STORE_OK;
    size_t n = 0;
    if (has_calls || mono >= w->next_sweep_ms) {
        rc = srv_resv_sweep(t, w->seats, &w->tally, &w->arena, now, SWEEP_BATCH, &n);
        /* A full batch means more are waiting: come back at once. */
        w->next_sweep_ms = n == SWEEP_BATCH ? mono : mono + w->cfg->sweep_interval_ms;
        /* A cancelled session's next refunds, likewise. */
        int more = 0;
        if (rc == STORE_OK &&
            (rc = srv_refund_cancel_step(t, &w->env, &w->arena, now, &more)) == STORE_OK && more)
            w->next_sweep_ms = mono;
    }
    if (rc == STORE_OK && mono >= w->next_idem_sweep_ms) {
        rc = store_idem_sweep(t, now - w->cfg->idem_retention_ms, IDEM_SWEEP_BATCH, &n);
        w->next_idem_sweep_ms = n == IDEM_SWEEP_BATCH ? mono : mono + IDEM_SWEEP_EVERY_MS;
    }
    if (rc == STORE_OK)
        rc = srv_feed_housekeep(t, now, mono);
    return rc;
}

/* After a failed write-back nobody knows what reached the disk: every
 * call is refused (no sweeps either: and do not come back for them). */
static int
refuse_batch(srv_writer *w, srv_wslot *list)
{
    w->next_sweep_ms = srv_mono_ms() + w->cfg->sweep_interval_ms;
    for (srv_wslot *x = list; x != NULL; x = x->next)
        srv_fail(x->call, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                 "writes are refused: the disk failed a write earlier; restart the server "
                 "(reads still work)");
    return STORE_IO;
}

/* One try at the batch in one write transaction: the sweep (unless
 * *skip_sweep), every call, the commit. Returns the store code of the
 * commit, or of what stopped it (the transaction is then aborted). */
static int
try_batch(srv_writer *w, srv_wslot *list, int *skip_sweep)
{
    store_txn *t = NULL;
    bh__arena_reset(&w->arena);
    memset(&w->tally, 0, sizeof(w->tally)); /* an earlier try's never committed */
    w->pending = -1;
    int64_t now = srv_now_ms(), mono = srv_mono_ms();
    int rc = store_write_begin(w->st, &t);
    if (rc != STORE_OK)
        return rc;
    rc = *skip_sweep ? STORE_OK : sweep(w, t, now, mono, list != NULL);
    if (rc != STORE_OK && rc != STORE_MAP_FULL) {
        /* The transaction may be spoiled: start the batch again without the
         * sweep, which is tried again at the next interval. */
        srv_log(SRV_LOG_ERROR, "sweep failed: %s", store_strerror(rc));
        store_abort(t);
        srv_seatcache_clear(w->seats);
        w->next_sweep_ms = mono + w->cfg->sweep_interval_ms;
        *skip_sweep = 1;
        return try_batch(w, list, skip_sweep);
    }
    for (srv_wslot *x = list; x != NULL && rc == STORE_OK; x = x->next)
        rc = apply(w, t, x, now);
    uint64_t pending, feed_last = 0;
    if (rc == STORE_OK && srv_metrics_enabled() && store_resv_pending(t, &pending) == STORE_OK)
        w->pending = (int64_t)pending;
    if (rc == STORE_OK)
        rc = store_feed_last(t, &feed_last);
    if (rc == STORE_OK) {
        rc = store_commit(t);
        t = NULL;
        if (rc == STORE_OK) /* visible to reads from here on, as the commit is */
            srv_feed_committed(feed_last);
    }
    store_abort(t);
    return rc;
}

/* Grows a full map. Returns STORE_OK, or STORE_NOMAP or STORE_MAP_FULL
 * with the reason in grow_err (errlen bytes). */
static int
grow_map(srv_writer *w, char *grow_err, size_t errlen)
{
    size_t old = store_map_size(w->st);
    int grc = store_grow(w->st, grow_err, errlen);
    if (grc == STORE_OK) {
        srv_log(SRV_LOG_INFO, "map full at %zu MiB, grown to %zu MiB", old >> 20,
                store_map_size(w->st) >> 20);
        grow_err[0] = 0;
        return STORE_OK;
    }
    return grc == STORE_NOMAP ? grc : STORE_MAP_FULL;
}

/* Applies and commits the batch, growing the map (up to 8 times) when it is
 * full. grow_err says why the map could not grow, if it could not. */
static int
commit_batch(srv_writer *w, srv_wslot *list, char *grow_err, size_t errlen)
{
    int rc, tries = 0, skip_sweep = 0;
    for (;;) {
        rc = try_batch(w, list, &skip_sweep);
        if (rc != STORE_MAP_FULL || tries++ >= 8)
            return rc;
        srv_seatcache_clear(w->seats);
        if ((rc = grow_map(w, grow_err, errlen)) != STORE_OK)
            return rc;
    }
}

/* Says once in the log why writes stopped (or are refused) after a failed
 * commit, and remembers the failure. */
static void
log_failure(srv_writer *w, const srv_wslot *list, int rc, const char *grow_err)
{
    if (rc == STORE_IO && !atomic_exchange(&w->broken, 1))
        srv_log(SRV_LOG_ERROR, "commit failed: %s; refusing writes from now on",
                store_strerror(rc));
    else if (rc != STORE_OK && rc != w->last_fail && grow_err[0] != 0)
        srv_log(SRV_LOG_ERROR, "map full: %s; %s", grow_err,
                rc == STORE_NOMAP ? "every call is refused until the server is restarted"
                                  : "writes that need room are refused");
    else if (rc != w->last_fail && (rc == STORE_NOSPC || rc == STORE_QUOTA))
        srv_log(SRV_LOG_ERROR, "commit failed: %s in %s; writes are refused until there is room",
                store_strerror(rc), w->cfg->data_dir);
    if (list != NULL || rc != STORE_OK)
        w->last_fail = rc;
}

/* Nothing of a failed batch is durable: no call may report success, nor a
 * refusal that may rest on an earlier call of the batch (a seat "already
 * held", a reservation "already paid"). */
static void
fail_batch(srv_wslot *list, int rc, const char *grow_err)
{
    for (srv_wslot *x = list; x != NULL; x = x->next) {
        srv_call *c = x->call;
        if (answer_stands(x))
            continue;
        if (rc == STORE_IO) {
            srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                     "the disk failed the commit (%s): nothing of this call was written; "
                     "writes are refused until the server is restarted",
                     store_strerror(rc));
        } else if (rc == STORE_MAP_FULL && grow_err[0] != 0) {
            srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
                     "%s; nothing of this call was written: free memory or address space, "
                     "or restart the server with a larger --map-size-mb",
                     grow_err);
        } else {
            srv_store_fail(c, rc, "commit");
            c->code = BILHETERIA__V1__STATUS_CODE__UNAVAILABLE;
        }
        c->replayed = 0;
        c->resp = NULL;
        c->resp_bytes = NULL;
    }
}

/* Counts the batch and hands it on to be answered. A committed batch is
 * durable once its meta page is synced. A failed one goes the same way, so
 * that no answer overtakes an earlier batch's: its refusals may rest on
 * what that batch wrote. */
static void
hand_over(srv_writer *w, srv_wslot *list, int rc)
{
    if (list == NULL)
        return;
    uint64_t n = 0;
    for (srv_wslot *x = list; x != NULL; x = x->next)
        n++;
    if (rc == STORE_OK)
        atomic_fetch_add(&w->stat_commits, 1);
    atomic_fetch_add(&w->stat_writes, n);
    callq_push(w->cfg->no_sync ? &w->answerq : &w->syncq, list);
}

/* The metrics of a batch tried (n calls, us to apply and commit it, the
 * tries on a larger map included) and, once it committed, of what it did.
 * The meta-page sync, when the syncer does it, is its own to time. */
static void
publish(srv_writer *w, const srv_wslot *list, size_t n, int64_t us, int rc)
{
    if (!srv_metrics_enabled())
        return;
    if (n > 0)
        srv_metrics_commit(n, us, -1, rc != STORE_OK);
    if (rc != STORE_OK)
        return;
    for (const srv_wslot *x = list; x != NULL; x = x->next)
        if (x->call->replayed)
            srv_metrics_idempotent_replay();
    if (w->tally.expired > 0)
        srv_metrics_reservations_expired(w->tally.expired);
    if (w->tally.seats_sold > 0)
        srv_metrics_seats_sold(w->tally.seats_sold);
    if (w->tally.payments > 0)
        srv_metrics_payments(w->tally.payments, w->tally.revenue_cents);
    if (w->pending >= 0)
        srv_metrics_holds_active_set(w->pending);
}

static void
run_batch(srv_writer *w, srv_wslot *list, size_t n)
{
    char grow_err[256] = ""; /* why the map could not grow */
    int rc;
    if (atomic_load(&w->broken)) {
        rc = refuse_batch(w, list); /* no commit was tried: none is counted */
    } else {
        int64_t t0 = srv_mono_us();
        rc = commit_batch(w, list, grow_err, sizeof(grow_err));
        publish(w, list, n, srv_mono_us() - t0, rc);
        if (rc != STORE_OK)
            srv_seatcache_clear(w->seats); /* it may hold what was not committed */
        log_failure(w, list, rc, grow_err);
        if (rc != STORE_OK)
            fail_batch(list, rc, grow_err);
    }
    hand_over(w, list, rc);
}

/* The syncer: one fdatasync makes every batch committed before it durable
 * (their meta pages were written at commit); then they are answered. It
 * runs while the writer applies and commits the next batch. */
static void *
syncer_main(void *arg)
{
    srv_writer *w = arg;
    pthread_setname_np(pthread_self(), "bh:syncer"); /* as ps and perf show it */
    srv_wslot *list;
    while ((list = callq_take(&w->syncq)) != NULL) {
        /* Refusals alone need no sync: nothing they say was written --
         * unless one was recorded under its idempotency key. */
        int any = 0;
        for (srv_wslot *x = list; x != NULL && !any; x = x->next)
            any = x->call->code == 0 || x->call->replayed || x->idem_stored;
        /* A write-back error is reported once per descriptor: once one has
         * been seen (by this thread or in the writer's commit), a later
         * sync that succeeds proves nothing about the pages it hit. One
         * seen only while this sync ran was reported to it as well, if it
         * touched what it syncs (Linux 4.13 on, each open file sees it). */
        int broken_before = atomic_load(&w->broken);
        int rc = STORE_OK;
        if (any) {
            int64_t t0 = srv_mono_us();
            rc = store_sync(w->st);
            srv_metrics_sync(srv_mono_us() - t0);
        }
        if (rc != STORE_OK && !atomic_exchange(&w->broken, 1))
            srv_log(SRV_LOG_ERROR, "sync failed: %s; refusing writes from now on",
                    store_strerror(rc));
        if (rc == STORE_OK && broken_before)
            rc = STORE_IO;
        if (rc != STORE_OK) {
            for (srv_wslot *x = list; x != NULL; x = x->next) {
                srv_call *c = x->call;
                if (answer_stands(x) ||
                    (c->code == BILHETERIA__V1__STATUS_CODE__UNAVAILABLE && !c->replayed))
                    continue; /* or it already says why it failed */
                if (c->code == 0 || c->replayed)
                    srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                             "the write was applied but the disk sync failed (%s): it may not "
                             "survive a crash",
                             store_strerror(rc));
                else
                    srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                             "the disk sync failed (%s): this answer may rest on writes that "
                             "may not survive a crash; retry once the server is restarted",
                             store_strerror(rc));
                c->replayed = 0;
                c->resp = NULL;
                c->resp_bytes = NULL;
            }
        }
        callq_push(&w->answerq, list);
    }
    return NULL;
}

static void *
responder_main(void *arg)
{
    srv_writer *w = arg;
    pthread_setname_np(pthread_self(), "bh:responder"); /* as ps and perf show it */
    srv_wslot *list;
    while ((list = callq_take(&w->answerq)) != NULL) {
        for (srv_wslot *x = list, *next; x != NULL; x = next) {
            next = x->next; /* read before done(): the context may reuse x */
            x->done(x->done_arg);
        }
        /* The audit lines of these calls, added once their outcome was
         * known: durable now, or failed and saying so. */
        srv_audit_flush(atomic_load(&w->audit));
    }
    return NULL;
}

static void *
writer_main(void *arg)
{
    srv_writer *w = arg;
    pthread_setname_np(pthread_self(), "bh:writer"); /* as ps and perf show it */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stop) {
            int64_t now = srv_mono_ms();
            if (now >= w->next_sweep_ms)
                break;
            /* The condition variable runs on CLOCK_MONOTONIC, as the
             * sweep times do: wait for the difference. */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = ts.tv_nsec + (w->next_sweep_ms - now) * 1000000LL;
            ts.tv_sec += (time_t)(ns / 1000000000LL);
            ts.tv_nsec = (long)(ns % 1000000000LL);
            if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
                break;
        }
        srv_wslot *list = w->head;
        size_t n = (size_t)w->queued;
        w->head = w->tail = NULL;
        w->queued = 0;
        srv_metrics_queue_depth(0);
        int stop = w->stop;
        pthread_mutex_unlock(&w->mu);
        if (list != NULL || srv_mono_ms() >= w->next_sweep_ms)
            run_batch(w, list, n);
        if (list == NULL) /* idle: denied calls' audit lines wait for no write */
            srv_audit_flush(atomic_load(&w->audit));
        pthread_mutex_lock(&w->mu);
        if (stop && w->head == NULL)
            break;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The store's gauges, for the metrics' rendering thread. */
static int
store_gauges(void *arg, srv_metrics_store_stats *out)
{
    store_stats_info si;
    if (store_stats(arg, &si) != STORE_OK)
        return -1;
    out->map_size_bytes = si.map_size;
    out->used_bytes = si.used_bytes;
    out->readers_in_use = si.readers;
    return 0;
}

int
srv_writer_start(srv_writer **out, store *st, const srv_config *cfg)
{
    srv_writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -1;
    w->st = st;
    w->cfg = cfg;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    callq_init(&w->syncq);
    callq_init(&w->answerq);
    if (bh__arena_init_alloc(&w->arena, 1 << 16) != 0 || (w->seats = srv_seatcache_new()) == NULL)
        goto fail;
    w->renv.health = health_of;
    w->renv.health_arg = w;
    w->renv.mono_ms = srv_mono_ms;
    w->renv.started_ms = srv_started_ms();
    w->env = w->renv;
    w->env.seats = w->seats;
    w->env.tally = &w->tally;
    if (pthread_create(&w->answerq.thread, NULL, responder_main, w) != 0)
        goto fail;
    if (pthread_create(&w->syncq.thread, NULL, syncer_main, w) != 0) {
        callq_stop(&w->answerq);
        goto fail;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        callq_stop(&w->syncq);
        callq_stop(&w->answerq);
        goto fail;
    }
    srv_metrics_set_store(store_gauges, st);
    *out = w;
    return 0;
fail:
    srv_seatcache_free(w->seats);
    bh__arena_fini(&w->arena);
    callq_destroy(&w->syncq);
    callq_destroy(&w->answerq);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return -1;
}

void
srv_writer_submit(srv_writer *w, srv_wslot *slot, srv_call *c, srv_done_fn done, void *arg)
{
    slot->call = c;
    slot->done = done;
    slot->done_arg = arg;
    slot->next = NULL;
    slot->idem_conflict = 0;
    slot->idem_stored = 0;
    pthread_mutex_lock(&w->mu);
    if (w->stopped) {
        /* Too late: the writer is gone. Answer here. */
        pthread_mutex_unlock(&w->mu);
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                 "the server is stopping; nothing was written");
        done(arg);
        return;
    }
    if (w->tail != NULL)
        w->tail->next = slot;
    else
        w->head = slot;
    w->tail = slot;
    srv_metrics_queue_depth(++w->queued);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void
srv_writer_stop(srv_writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    srv_health h;
    srv_writer_health(w, &h);
    if (!w->cfg->quiet && h.commits > 0)
        srv_log(SRV_LOG_INFO, "%llu writes in %llu commits (%.1f per commit)",
                (unsigned long long)h.writes, (unsigned long long)h.commits,
                (double)h.writes / (double)h.commits);
    callq_stop(&w->syncq);   /* it syncs what is left first */
    callq_stop(&w->answerq); /* and this one answers it */
    pthread_mutex_lock(&w->mu);
    /* A call that raced the stop may have been queued after the last
     * batch: answer it now, then refuse any later one. */
    srv_wslot *late = w->head;
    w->head = w->tail = NULL;
    w->queued = 0;
    w->stopped = 1;
    pthread_mutex_unlock(&w->mu);
    for (srv_wslot *x = late, *next; x != NULL; x = next) {
        next = x->next;
        srv_fail(x->call, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                 "the server is stopping; nothing was written");
        x->done(x->done_arg);
    }
}

void
srv_writer_set_audit(srv_writer *w, srv_audit *a)
{
    atomic_store(&w->audit, a);
}

void
srv_writer_free(srv_writer *w)
{
    if (w == NULL)
        return;
    srv_metrics_set_store(NULL, NULL);
    srv_seatcache_free(w->seats);
    bh__arena_fini(&w->arena);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    callq_destroy(&w->syncq);
    callq_destroy(&w->answerq);
    free(w);
}
