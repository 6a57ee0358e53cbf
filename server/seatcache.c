/* SPDX-License-Identifier: Apache-2.0 */
/* The writer's taken-seat maps (see seatcache.h). What counts as taken is
 * the rules module's (srv_resv_taken_scan). */
#include <stdlib.h>
#include <string.h>

#include "resv.h"
#include "seatcache.h"

#define BUCKETS     256
#define TOUCHED_MAX 8
/* Past this many cached seats (bytes), start again from empty. */
#define BUDGET (16u << 20)

typedef struct entry {
    struct entry *next;
    uint64_t session_id;
    uint32_t capacity;
    int64_t min_expiry; /* earliest expiry of a hold marked taken */
    uint8_t taken[];    /* bit idx%8 of byte idx/8: 1 = taken */
} entry;

struct srv_seatcache {
    entry *bucket[BUCKETS];
    size_t bytes;
    uint64_t touched[TOUCHED_MAX];
    int n_touched; /* > TOUCHED_MAX: too many, clear on rollback */
};

srv_seatcache *
srv_seatcache_new(void)
{
    return calloc(1, sizeof(srv_seatcache));
}

void
srv_seatcache_clear(srv_seatcache *sc)
{
    if (sc == NULL)
        return;
    for (int i = 0; i < BUCKETS; i++) {
        for (entry *e = sc->bucket[i], *next; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
        sc->bucket[i] = NULL;
    }
    sc->bytes = 0;
}

void
srv_seatcache_free(srv_seatcache *sc)
{
    srv_seatcache_clear(sc);
    free(sc);
}

static entry **
slot(srv_seatcache *sc, uint64_t session_id)
{
    entry **p = &sc->bucket[(session_id * 0x9E3779B97F4A7C15ULL) >> 56];
    while (*p != NULL && (*p)->session_id != session_id)
        p = &(*p)->next;
    return p;
}

static void
forget(srv_seatcache *sc, uint64_t session_id)
{
    entry **p = slot(sc, session_id);
    if (*p != NULL) {
        entry *e = *p;
        *p = e->next;
        sc->bytes -= e->capacity / 8 + 1;
        free(e);
    }
}

const uint8_t *
srv_seatcache_get(srv_seatcache *sc, store_txn *t, const Bilheteria__V1__Session *s, int64_t now,
                  int rebuild, int *stale, int *rc)
{
    entry **p = slot(sc, s->id);
    *rc = STORE_OK;
    if (*p != NULL && !rebuild && (*p)->capacity == s->capacity) {
        *stale = now >= (*p)->min_expiry;
        return (*p)->taken;
    }
    forget(sc, s->id);
    size_t size = s->capacity / 8 + 1;
    if (sc->bytes + size > BUDGET)
        srv_seatcache_clear(sc);
    entry *e = calloc(1, sizeof(*e) + size);
    if (e == NULL) {
        *rc = STORE_NOMEM;
        return NULL;
    }
    e->session_id = s->id;
    e->capacity = s->capacity;
    e->min_expiry = INT64_MAX;
    *rc = srv_resv_taken_scan(t, s->id, e->capacity, now, e->taken, &e->min_expiry);
    if (*rc != STORE_OK) {
        free(e);
        return NULL;
    }
    p = slot(sc, s->id);
    e->next = NULL;
    *p = e;
    sc->bytes += size;
    *stale = 0;
    /* The entry reflects this transaction. Built before the call changed
     * any seat, it is also what the enclosing transaction holds, and stays
     * right if the call aborts (a refused hold, the common case in a
     * sell-out, would otherwise throw away the map it just rebuilt, and the
     * next call would scan every seat again). Built after, it is forgotten
     * with the call; so is it if the call changes a seat later (note). */
    if (sc->n_touched > 0) {
        if (sc->n_touched < TOUCHED_MAX)
            sc->touched[sc->n_touched] = s->id;
        sc->n_touched++;
    }
    return e->taken;
}

static void
note(srv_seatcache *sc, uint64_t session_id, uint32_t idx, const store_seat *seat)
{
    if (sc->n_touched < TOUCHED_MAX)
        sc->touched[sc->n_touched] = session_id;
    sc->n_touched++;
    entry *e = *slot(sc, session_id);
    if (e == NULL || idx >= e->capacity)
        return;
    if (seat != NULL)
        e->taken[idx / 8] |= (uint8_t)(1u << (idx % 8));
    else
        e->taken[idx / 8] &= (uint8_t) ~(1u << (idx % 8));
    if (seat != NULL && seat->expires_at_ms != 0 && seat->expires_at_ms < e->min_expiry)
        e->min_expiry = seat->expires_at_ms;
}

int
srv_seat_put(srv_seatcache *sc, store_txn *t, uint64_t session_id, uint32_t idx,
             const store_seat *seat)
{
    int rc = store_seat_put(t, session_id, idx, seat);
    if (rc == STORE_OK && sc != NULL)
        note(sc, session_id, idx, seat);
    return rc;
}

int
srv_seat_del(srv_seatcache *sc, store_txn *t, uint64_t session_id, uint32_t idx)
{
    int rc = store_seat_del(t, session_id, idx);
    if (rc == STORE_OK && sc != NULL)
        note(sc, session_id, idx, NULL);
    return rc;
}

void
srv_seatcache_begin(srv_seatcache *sc)
{
    if (sc != NULL)
        sc->n_touched = 0;
}

void
srv_seatcache_rollback(srv_seatcache *sc)
{
    if (sc == NULL)
        return;
    if (sc->n_touched > TOUCHED_MAX) {
        srv_seatcache_clear(sc);
    } else {
        for (int i = 0; i < sc->n_touched; i++)
            forget(sc, sc->touched[i]);
    }
    sc->n_touched = 0;
}
