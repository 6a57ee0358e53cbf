/* SPDX-License-Identifier: Apache-2.0 */
/* The change feed: what a write call appends, and the waits on commits.
 *
 * A write call's changes are derived from its method and its answer, so
 * that a new write method gets entries without code here: each message
 * field of the answer ("reservation", "payment") is one change, typed
 * "<field>.<verb in the past>" ("ConfirmPayment" -> "payment.confirmed" and
 * "reservation.confirmed"); an answer with no message field is one change
 * typed from the method's noun. The table `types` overrides that for a
 * method whose answer says it badly. Ids come from the objects' "id" (named
 * after the object's type: Reservation.id is reservation_id) and "*_id"
 * fields, pooled over every object of the answer.
 *
 * A waiting ListChanges call holds no thread: it is an nng sleep on its
 * worker's aio (listen.c), which a commit past its cursor cancels, so the
 * call runs again on one of nng's threads. The writer's part after a
 * commit is one atomic store and, only if someone waits, a walk of the
 * waiters under a mutex. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed.h"
#include "log.h"
#include "util.h"

#define TYPE_MAX        64
#define TRIM_STEP       1024
#define TRIM_EVERY_MS   60000
#define TYPE_URL_PREFIX "type.googleapis.com/"

/* Methods whose changes are not the generic ones: (method, answer field,
 * type) rows; a method listed here gets only its rows. */
static const struct {
    const char *method; /* the short name: "ConfirmPayment" */
    const char *field;  /* the answer's field holding the object; NULL = the answer */
    const char *type;
} types[] = {
    { "ConfirmPayment", "payment", "payment.confirmed" },
    { "ConfirmPayment", "reservation", "reservation.confirmed" },
};

/* Verbs whose past tense is not verb + "d" / "ed". */
static const struct {
    const char *verb, *past;
} pasts[] = {
    { "cancel", "cancelled" }, { "apply", "applied" }, { "leave", "left" },
    { "set", "set" },          { "put", "put" },       { "offer", "offered" },
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the bridge's wait for a commit */
    int ok;
    _Atomic uint64_t last;
    atomic_int nwait;
    int bridge_waits; /* under mu */
    srv_feed_waiter *head;
    int draining, max_waiters;
    int64_t retention_ms, next_trim_ms;
    atomic_int bridge_on;
    _Atomic uint64_t bridge_acked;
    uint8_t *buf; /* writer only: the packed object */
    size_t cap;
} F = { .ok = 0 };

/* ---- types and ids ---- */

static void
snake(const char *s, size_t n, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (isupper((unsigned char)s[i]) && i > 0)
            out[o++] = '_';
        out[o++] = (char)tolower((unsigned char)s[i]);
    }
    out[o] = 0;
}

static const char *
short_method(const char *method)
{
    const char *s = strrchr(method, '/');
    return s != NULL ? s + 1 : method;
}

void
srv_feed_type_name(const char *method, const char *field, char *out, size_t len)
{
    const char *m = short_method(method);
    size_t vn = 1;
    while (m[vn] != 0 && !isupper((unsigned char)m[vn]))
        vn++;
    char verb[32], noun[TYPE_MAX];
    snake(m, vn < sizeof(verb) - 2 ? vn : sizeof(verb) - 2, verb, sizeof(verb));
    if (field != NULL)
        snprintf(noun, sizeof(noun), "%s", field);
    else
        snake(m + vn, strlen(m + vn), noun, sizeof(noun));
    for (size_t i = 0; i < sizeof(pasts) / sizeof(pasts[0]); i++)
        if (strcmp(verb, pasts[i].verb) == 0) {
            snprintf(out, len, "%s.%s", noun[0] ? noun : "server", pasts[i].past);
            return;
        }
    size_t n = strlen(verb);
    snprintf(out, len, "%s.%s%s", noun[0] ? noun : "server", verb,
             n > 0 && verb[n - 1] == 'e' ? "d" : "ed");
}

/* Sets the change's id field f (uint64 or string) to the value at p, if
 * it is still unset. */
static void
id_set(Bilheteria__V1__Change *ch, const ProtobufCFieldDescriptor *f, const void *p)
{
    void *dst = (char *)ch + f->offset;
    if (f->type == PROTOBUF_C_TYPE_UINT64) {
        uint64_t v, cur;
        memcpy(&v, p, sizeof(v));
        memcpy(&cur, dst, sizeof(cur));
        if (cur == 0 && v != 0)
            memcpy(dst, &v, sizeof(v));
    } else if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *v, *cur;
        memcpy(&v, p, sizeof(v));
        memcpy(&cur, dst, sizeof(cur));
        if ((cur == NULL || cur[0] == 0) && v != NULL && v[0] != 0)
            memcpy(dst, &v, sizeof(v));
    }
}

/* Which fields of a message type carry ids, and the Change field each
 * goes to: worked out once per type (the writer asks for the same few
 * types on every write; the table is the writer thread's). */
#define IDS_FIELDS_MAX 8
#define IDS_TYPES_MAX  32
struct ids_plan {
    const ProtobufCMessageDescriptor *d;
    unsigned n;
    const ProtobufCFieldDescriptor *src[IDS_FIELDS_MAX];
    const ProtobufCFieldDescriptor *dst[IDS_FIELDS_MAX]; /* the Change's field */
};
static struct ids_plan ids_plans[IDS_TYPES_MAX];
static unsigned ids_n_plans;

/* Adds src -> the Change's field `name` to p, if the Change has such a
 * field of src's type (never seq). */
static void
ids_plan_add(struct ids_plan *p, const ProtobufCFieldDescriptor *src, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(&bilheteria__v1__change__descriptor, name);
    if (f == NULL || f->type != src->type || f->id == 1)
        return;
    p->src[p->n] = src;
    p->dst[p->n++] = f;
}

/* The ids of a d: its "id" as "<type>_id", its "*_id" fields as they are. */
static void
ids_plan_make(const ProtobufCMessageDescriptor *d, struct ids_plan *p)
{
    p->d = d;
    p->n = 0;
    for (unsigned i = 0; i < d->n_fields && p->n < IDS_FIELDS_MAX; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        size_t len = strlen(f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        if (f->type == PROTOBUF_C_TYPE_UINT64 && strcmp(f->name, "id") == 0) {
            char name[TYPE_MAX];
            snake(d->short_name, strlen(d->short_name), name, TYPE_MAX - 3);
            strcat(name, "_id");
            ids_plan_add(p, f, name);
        } else if ((f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_STRING) &&
                   len > 3 && strcmp(f->name + len - 3, "_id") == 0) {
            ids_plan_add(p, f, f->name);
        }
    }
}

static void
ids_of(Bilheteria__V1__Change *ch, const ProtobufCMessage *obj)
{
    const ProtobufCMessageDescriptor *d = obj->descriptor;
    struct ids_plan *p = NULL, scratch;
    for (unsigned i = 0; i < ids_n_plans && p == NULL; i++)
        if (ids_plans[i].d == d)
            p = &ids_plans[i];
    if (p == NULL) {
        p = ids_n_plans < IDS_TYPES_MAX ? &ids_plans[ids_n_plans++] : &scratch;
        ids_plan_make(d, p);
    }
    for (unsigned i = 0; i < p->n; i++)
        id_set(ch, p->dst[i], (const char *)obj + p->src[i]->offset);
}

static void
ids_put(Bilheteria__V1__Change *ch, const srv_feed_ids *ids)
{
    ch->reservation_id = ids->reservation_id;
    ch->session_id = ids->session_id;
    ch->event_id = ids->event_id;
    ch->payment_id = ids->payment_id;
    ch->product_id = ids->product_id;
    if (ids->user_id != NULL)
        ch->user_id = (char *)ids->user_id;
}

/* Appends ch with obj packed into the writer's buffer. */
static int
append(store_txn *t, Bilheteria__V1__Change *ch, const ProtobufCMessage *obj)
{
    char url[256];
    size_t n = protobuf_c_message_get_packed_size(obj);
    if (n > F.cap) {
        size_t cap = n < 4096 ? 4096 : n * 2;
        uint8_t *b = realloc(F.buf, cap);
        if (b == NULL)
            return STORE_NOMEM;
        F.buf = b;
        F.cap = cap;
    }
    protobuf_c_message_pack(obj, F.buf);
    snprintf(url, sizeof(url), TYPE_URL_PREFIX "%s", obj->descriptor->name);
    Bilheteria__V1__ChangeObject o = BILHETERIA__V1__CHANGE_OBJECT__INIT;
    o.type_url = url;
    o.value.data = F.buf;
    o.value.len = n;
    ch->object = &o;
    int rc = store_feed_append(t, ch);
    ch->object = NULL;
    return rc;
}

int
srv_feed_append(store_txn *t, int64_t now_ms, const char *type, const srv_feed_ids *ids,
                const ProtobufCMessage *obj)
{
    Bilheteria__V1__Change ch = BILHETERIA__V1__CHANGE__INIT;
    ch.time_ms = now_ms;
    ch.type = (char *)type;
    if (ids != NULL)
        ids_put(&ch, ids);
    else
        ids_of(&ch, obj);
    return append(t, &ch, obj);
}

/* The answer's message field `name`, or NULL. */
static const ProtobufCMessage *
field_msg(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    const ProtobufCMessage *sub = NULL;
    if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED)
        memcpy(&sub, (const char *)m + f->offset, sizeof(sub));
    return sub;
}

/* The type of the change a call of c's method makes to its answer's
 * field_i-th field (field NULL: to the answer itself), named once per
 * method and field (the writer thread's table). */
#define TYPES_FIELDS_MAX 8
static char type_names[BH_METHOD_COUNT][TYPES_FIELDS_MAX + 1][TYPE_MAX];

static const char *
type_of(const srv_call *c, unsigned field_i, const char *field, char *buf)
{
    unsigned k = field == NULL ? TYPES_FIELDS_MAX : field_i;
    char *name = buf;
    if (c->m->id >= 0 && c->m->id < BH_METHOD_COUNT && (field == NULL || k < TYPES_FIELDS_MAX))
        name = type_names[c->m->id][k];
    if (name[0] == 0 || name == buf)
        srv_feed_type_name(c->m->name, field, name, TYPE_MAX);
    return name;
}

int
srv_feed_call(srv_call *c, store_txn *t)
{
    const ProtobufCMessage *resp = c->resp;
    const ProtobufCMessageDescriptor *d;
    const char *m = short_method(c->m->name);
    Bilheteria__V1__Change ch = BILHETERIA__V1__CHANGE__INIT;
    char type[TYPE_MAX];
    int rc = STORE_OK, listed = 0;
    if (c->unchanged || resp == NULL)
        return STORE_OK;
    d = resp->descriptor;
    ch.time_ms = c->now_ms;
    for (unsigned i = 0; i < d->n_fields; i++) { /* ids pooled over the answer */
        const ProtobufCMessage *sub = field_msg(resp, d->fields[i].name);
        if (sub != NULL)
            ids_of(&ch, sub);
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) && rc == STORE_OK; i++) {
        if (strcmp(types[i].method, m) != 0)
            continue;
        const ProtobufCMessage *obj = types[i].field ? field_msg(resp, types[i].field) : resp;
        listed = 1;
        if (obj == NULL)
            continue;
        ch.type = (char *)types[i].type;
        rc = append(t, &ch, obj);
    }
    for (unsigned i = 0; !listed && i < d->n_fields && rc == STORE_OK; i++) {
        const ProtobufCMessage *obj = field_msg(resp, d->fields[i].name);
        if (obj == NULL)
            continue;
        ch.type = (char *)type_of(c, i, d->fields[i].name, type);
        rc = append(t, &ch, obj);
        listed = 1;
    }
    if (!listed && rc == STORE_OK) {
        ch.type = (char *)type_of(c, 0, NULL, type);
        rc = append(t, &ch, resp);
    }
    return rc;
}

/* ---- the shared state ---- */

int
srv_feed_init(store *st, int64_t retention_ms, int max_waiters)
{
    store_txn *t = NULL;
    uint64_t last = 0, acked = 0;
    int rc = store_read_begin(st, &t);
    if (rc == STORE_OK)
        rc = store_feed_last(t, &last);
    if (rc == STORE_OK)
        rc = store_feed_mark_get(t, "nats", &acked);
    store_read_end(t);
    if (rc != STORE_OK)
        return -1;
    if (pthread_mutex_init(&F.mu, NULL) != 0)
        return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&F.cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        pthread_mutex_destroy(&F.mu);
        return -1;
    }
    F.ok = 1;
    atomic_store(&F.last, last);
    atomic_store(&F.bridge_acked, acked);
    F.retention_ms = retention_ms;
    F.max_waiters = max_waiters > 0 ? max_waiters : 1;
    F.next_trim_ms = 0;
    F.draining = 0;
    F.head = NULL;
    return 0;
}

void
srv_feed_fini(void)
{
    if (!F.ok)
        return;
    pthread_mutex_destroy(&F.mu);
    pthread_cond_destroy(&F.cv);
    free(F.buf);
    F.buf = NULL;
    F.cap = 0;
    F.ok = 0;
}

uint64_t
srv_feed_last(void)
{
    return atomic_load(&F.last);
}

void
srv_feed_committed(uint64_t last)
{
    if (!F.ok || last <= atomic_load(&F.last))
        return;
    atomic_store(&F.last, last);
    /* A waiter counts itself (under mu) before it reads last: either it
     * sees this value, or we see its count and, taking mu, find it in the
     * list. */
    if (atomic_load(&F.nwait) == 0 && !atomic_load(&F.bridge_on))
        return;
    pthread_mutex_lock(&F.mu);
    for (srv_feed_waiter *w = F.head, *next; w != NULL; w = next) {
        next = w->next;
        if (w->after < last)
            nng_aio_cancel(w->aio); /* its callback unparks it */
    }
    if (F.bridge_waits)
        pthread_cond_broadcast(&F.cv);
    pthread_mutex_unlock(&F.mu);
}

int
srv_feed_wait(srv_feed_waiter *w, nng_aio *aio, uint64_t after, int64_t ms)
{
    if (!F.ok || ms <= 0)
        return 0;
    pthread_mutex_lock(&F.mu);
    /* Counted before last is read, as the writer stores last before it
     * reads the count: one of the two sees the other. */
    int n = atomic_fetch_add(&F.nwait, 1);
    if (F.draining || atomic_load(&F.last) > after || n >= F.max_waiters) {
        atomic_fetch_sub(&F.nwait, 1);
        pthread_mutex_unlock(&F.mu);
        return 0;
    }
    w->aio = aio;
    w->after = after;
    w->parked = 1;
    w->prev = NULL;
    w->next = F.head;
    if (F.head != NULL)
        F.head->prev = w;
    F.head = w;
    nng_sleep_aio((nng_duration)ms, aio);
    pthread_mutex_unlock(&F.mu);
    return 1;
}

void
srv_feed_unwait(srv_feed_waiter *w)
{
    pthread_mutex_lock(&F.mu);
    if (w->parked) {
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            F.head = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        w->parked = 0;
        atomic_fetch_sub(&F.nwait, 1);
    }
    pthread_mutex_unlock(&F.mu);
}

void
srv_feed_wake_all(void)
{
    if (!F.ok)
        return;
    pthread_mutex_lock(&F.mu);
    F.draining = 1;
    for (srv_feed_waiter *w = F.head; w != NULL; w = w->next)
        nng_aio_cancel(w->aio);
    pthread_cond_broadcast(&F.cv);
    pthread_mutex_unlock(&F.mu);
}

uint64_t
srv_feed_wait_commit(uint64_t after, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + ms * 1000000LL;
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&F.mu);
    F.bridge_waits++;
    while (atomic_load(&F.last) <= after && !F.draining)
        if (pthread_cond_timedwait(&F.cv, &F.mu, &ts) == ETIMEDOUT)
            break;
    F.bridge_waits--;
    pthread_mutex_unlock(&F.mu);
    return atomic_load(&F.last);
}

void
srv_feed_bridge_set(int on, uint64_t acked)
{
    atomic_store(&F.bridge_acked, acked);
    atomic_store(&F.bridge_on, on);
}

void
srv_feed_bridge_acked(uint64_t acked)
{
    atomic_store(&F.bridge_acked, acked);
}

int
srv_feed_housekeep(store_txn *t, int64_t now_ms, int64_t mono_ms)
{
    int rc = STORE_OK;
    uint64_t acked = atomic_load(&F.bridge_acked);
    if (!F.ok)
        return STORE_OK;
    if (atomic_load(&F.bridge_on)) {
        /* Compared with the store's, so that a batch that failed to commit
         * is made up for by the next. */
        uint64_t kept;
        if ((rc = store_feed_mark_get(t, "nats", &kept)) != STORE_OK ||
            (acked > kept && (rc = store_feed_mark_put(t, "nats", acked)) != STORE_OK))
            return rc;
    }
    if (mono_ms < F.next_trim_ms || F.retention_ms <= 0)
        return STORE_OK;
    size_t n = 0;
    uint64_t max_seq = atomic_load(&F.bridge_on) ? acked : UINT64_MAX;
    rc = store_feed_trim(t, now_ms - F.retention_ms, max_seq, TRIM_STEP, &n);
    /* A full step means more are due: come back with the next batch. */
    int64_t every = F.retention_ms / 4 < TRIM_EVERY_MS ? F.retention_ms / 4 : TRIM_EVERY_MS;
    F.next_trim_ms = n == TRIM_STEP ? mono_ms : mono_ms + (every > 50 ? every : 50);
    return rc;
}
