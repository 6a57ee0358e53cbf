/* SPDX-License-Identifier: Apache-2.0 */
/* The single writer (writer.c): applies write calls in batches, commits
 * once per batch and answers after the commit is durable. */
#ifndef BH_WRITER_H
#define BH_WRITER_H

#include "call.h"

typedef struct srv_writer srv_writer;
struct srv_audit;
typedef void (*srv_done_fn)(void *arg); /* called after commit, from the writer */

/* A write call's place in the writer's queues: storage the caller provides
 * (beside its srv_call, as libuv's uv_write_t) and leaves alone from
 * srv_writer_submit until done runs. Its fields are the writer's. */
typedef struct srv_wslot {
    srv_call *call;
    srv_done_fn done;
    void *done_arg;
    struct srv_wslot *next;
    int idem_conflict; /* refused: the key was used for another request */
    int idem_stored;   /* a refusal recorded under its key: to be synced */
} srv_wslot;

/* Starts the writer's threads over st (borrowed until srv_writer_free). */
int srv_writer_start(srv_writer **out, store *st, const srv_config *cfg);
/* Queues write call c in slot; done(arg) runs once it is durable or
 * failed. c and slot are borrowed until then. */
void srv_writer_submit(srv_writer *w, srv_wslot *slot, srv_call *c, srv_done_fn done, void *arg);
/* Applies what is queued, answers it, and stops the threads; later submits
 * are answered UNAVAILABLE at once. */
void srv_writer_stop(srv_writer *w);
/* Writes and commits since start, and whether a commit or a sync has failed
 * with a disk error (writes are refused from then on). Thread-safe. */
void srv_writer_health(const srv_writer *w, srv_health *out);
/* The environment for calls run beside this writer (reads): its health and
 * the clock. Borrowed until srv_writer_free. */
const srv_env *srv_writer_env(const srv_writer *w);
/* The audit log (audit.h) the writer flushes once the calls of a batch
 * are answered (their lines are then durable, or say how they failed), and
 * when idle; NULL (the start) for none. Call it before the listener
 * submits calls; a is borrowed until srv_writer_stop returns. */
void srv_writer_set_audit(srv_writer *w, struct srv_audit *a);
/* Frees the writer; call after srv_listener_free, and after the metrics
 * listener is closed (the writer gives metrics.h the store's gauges from
 * srv_writer_start until here). Accepts NULL. */
void srv_writer_free(srv_writer *w);

#endif
