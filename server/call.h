/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One call in flight (srv_call), the environment it runs in (srv_env) and
 * the handler table types. Filled by request.c, run by dispatch.c (reads) or
 * the writer (writes), answered by request.c.
 */
#ifndef BH_CALL_H
#define BH_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h" /* srv_identity */
#include "bh_arena.h"
#include "bilheteria/bh_methods.h"
#include "bilheteria/services.h"
#include "bilheteria/v1/rpc.pb-c.h"
#include "bilheteria/wire.h" /* the limits and version of the wire contract */
#include "config.h"
#include "store.h"

#define SRV_MSG_MAX 512

/* Status shorthands for the handler files. */
#define SRV_E_INVALID  BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT
#define SRV_E_PRECOND  BILHETERIA__V1__STATUS_CODE__FAILED_PRECONDITION
#define SRV_E_NOTFOUND BILHETERIA__V1__STATUS_CODE__NOT_FOUND
#define SRV_E_NOMEM    BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED

/* Not a wire status: what srv_store_fail sets for STORE_MAP_FULL, so that
 * the writer (which looks for it in the code a handler returns) grows the
 * map and runs the batch again. Never sent: the writer and srv_dispatch_read
 * turn it into RESOURCE_EXHAUSTED if it is still there. */
#define SRV_STATUS_MAP_FULL 0x10000
/* Not a wire status either: a read that asks to wait (ListChanges with
 * nothing new) for a commit past c->park_after, at most c->park_ms; the
 * listener parks it and runs it again (c->resumed set) when one comes or
 * the time is up. */
#define SRV_STATUS_PARK 0x10001

/* The writer's health, as Health.Check reports it. */
typedef struct srv_health {
    int broken;      /* a disk error stopped the writes */
    uint64_t writes; /* writes and commits since the writer started */
    uint64_t commits;
} srv_health;

struct srv_seatcache;
struct srv_tally;

/* What a handler may use besides its request and transaction: the services
 * of whoever runs the call, reached through the call, never as globals (a
 * test can give its own). The writer owns the one its writes run with;
 * srv_writer_env gives the one for reads. */
typedef struct srv_env {
    struct srv_seatcache *seats; /* the writer's seat cache; NULL for reads */
    /* The business counts of the writer's batch (resv.h); NULL for reads.
     * Moved where a change is made, published once the batch commits. */
    struct srv_tally *tally;
    /* Reads the writer's health (arg is health_arg); thread-safe. */
    void (*health)(const void *arg, srv_health *out);
    const void *health_arg;
    int64_t (*mono_ms)(void); /* the monotonic clock */
    int64_t started_ms;       /* mono_ms() when the server started */
    /* Nonzero once the server drains after SIGTERM (the listener's flag,
     * read with atomic_load); NULL: the env's owner never drains. */
    const _Atomic int *draining;
} srv_env;

typedef struct srv_method srv_method;

/* Most srv_call_after entries one call leaves. */
#define SRV_AFTER_MAX 4

typedef struct srv_call {
    const srv_method *m;
    const ProtobufCMessage *req; /* in the arena */
    ProtobufCMessage *resp;      /* set by the handler on OK, in the arena */
    /* Who is calling, resolved from the envelope's auth token before the
     * handler runs (authz.h): role, idempotency scope, name, user id.
     * Anonymous (all zero) until then. */
    srv_identity identity;
    const char *idem_key; /* "" = none */
    int64_t now_ms;       /* when the handler runs (wall clock) */
    int64_t deadline_ms;  /* srv_mono_ms() time; 0 = none */
    int code;             /* gRPC status */
    int replayed;         /* the answer is an idempotent replay */
    /* The trace id of the envelope's W3C traceparent (32 lowercase hex),
     * for the access, slow and audit logs; "" when none was sent. */
    char trace_id[33];
    char msg[SRV_MSG_MAX];
    /* The request field an error is about ("user_id", "items[2].note"):
     * a literal or in the arena; NULL for none. Sent as the answer's field. */
    const char *field;
    bh__arena *arena;
    const srv_config *cfg;
    const srv_env *env;        /* borrowed; see srv_env */
    const uint8_t *resp_bytes; /* packed answer, if already packed */
    size_t resp_len;
    /* A write that succeeded without changing anything (a payment
     * announced again): the feed gets no entry for it. */
    int unchanged;
    /* SRV_STATUS_PARK's wait, and whether this is the run after it. */
    uint64_t park_after;
    int64_t park_ms;
    int resumed;
    /* Work a write call leaves for its batch's transaction (srv_call_after):
     * run by the writer, in order, right after the call's nested
     * transaction has committed into the batch's, and dropped if it aborts. */
    struct srv_after {
        int (*fn)(store_txn *t, void *arg); /* a store code */
        void *arg;
    } after[SRV_AFTER_MAX];
    int n_after;
} srv_call;

typedef int (*srv_handler)(srv_call *c, store_txn *t);
/* A handler too long for nng's callback threads (a backup): it runs on a
 * thread of its own, in no transaction, with the store. It only reads. */
typedef int (*srv_alone_handler)(srv_call *c, store *s);

/* SRV_ALONE: a read whose handler is srv_impl.alone (listen.c runs it). */
enum srv_kind { SRV_READ, SRV_WRITE, SRV_ALONE };

/* A handler file's table entry, keyed by full method name: fn, or alone. */
typedef struct srv_impl {
    const char *method; /* BH_METHOD_NAME_EVENT_CREATE_EVENT, ... */
    srv_handler fn;
    srv_alone_handler alone;
} srv_impl;

/* A method the server knows: every rpc of bh_services. Whether it writes,
 * needs a key and who may call it is the .proto's option
 * (bilheteria.v1.method), through bh_find_method_rules. */
struct srv_method {
    char name[BH_METHOD_NAME_MAX];
    int id; /* enum bh_method_id: its index in BH_METHOD_MAP (metrics' label) */
    const ProtobufCMethodDescriptor *desc;
    const srv_impl *impl; /* NULL = UNIMPLEMENTED */
    enum srv_kind kind;
    int idem_required; /* the call must carry an idempotency key */
    unsigned roles;    /* who may call it: BH_ROLE_* bits (bilheteria/roles.h) */
};

#endif
