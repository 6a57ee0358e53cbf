/* SPDX-License-Identifier: Apache-2.0 */
/* The NATS JetStream bridge: see bridge.h for what it promises.
 *
 * One thread, one message in flight: it reads a page of the feed in a
 * short read transaction (copied out, so no read transaction spans a
 * network wait), publishes each change and waits for its PubAck, and only
 * then moves on. When it has caught up it waits for the writer's next
 * commit (srv_feed_wait_commit). Any failure drops the connection and
 * starts over, after a backoff, from what the stream says it holds. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "bridge.h"
#include "feed.h"
#include "log.h"
#include "metrics.h"

#define PAGE           256
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define PUB_WAIT_MS    5000
#define LAG_LOG_EVERY  10000 /* ms */
#define MSG_ID_PREFIX  "bilheteria-"

struct srv_bridge {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    store *st;
    const srv_config *cfg;
    char stream[128];
    char subjects[300]; /* "<prefix>.>" */
    natsConnection *nc;
    jsCtx *js;
    uint64_t acked;
    int down; /* the last try failed: said once a spell */
};

/* One change copied out of the store. */
typedef struct change {
    uint64_t seq;
    char subject[300];
    uint8_t *data;
    size_t len;
} change;

static int
stopping(srv_bridge *b)
{
    pthread_mutex_lock(&b->mu);
    int s = b->stop;
    pthread_mutex_unlock(&b->mu);
    return s;
}

/* Sleeps ms unless stopped. */
static void
nap(srv_bridge *b, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + ms * 1000000LL;
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&b->mu);
    while (!b->stop && pthread_cond_timedwait(&b->cv, &b->mu, &ts) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&b->mu);
}

static void
disconnect(srv_bridge *b)
{
    jsCtx_Destroy(b->js);
    b->js = NULL;
    natsConnection_Destroy(b->nc);
    b->nc = NULL;
}

/* The seq in the stream's last message ("bilheteria-<seq>"), 0 if none. */
static natsStatus
stream_last(srv_bridge *b, uint64_t *seq)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsMsg *m = NULL;
    const char *id = NULL;
    *seq = 0;
    natsStatus s = js_GetStreamInfo(&si, b->js, b->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        jsStreamConfig sc;
        const char *subj[1] = { b->subjects };
        jsStreamConfig_Init(&sc);
        sc.Name = b->stream;
        sc.Subjects = subj;
        sc.SubjectsLen = 1;
        sc.Storage = js_FileStorage;
        s = js_AddStream(&si, b->js, &sc, NULL, &jerr);
        if (s == NATS_OK)
            srv_log(SRV_LOG_INFO, "nats: created stream %s (subjects %s)", b->stream, b->subjects);
    }
    if (s != NATS_OK)
        return s;
    uint64_t last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    if (last == 0)
        return NATS_OK;
    s = js_GetMsg(&m, b->js, b->stream, last, NULL, &jerr);
    if (s == NATS_NOT_FOUND)
        return NATS_OK; /* deleted since */
    if (s != NATS_OK)
        return s;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id != NULL &&
        strncmp(id, MSG_ID_PREFIX, strlen(MSG_ID_PREFIX)) == 0)
        *seq = strtoull(id + strlen(MSG_ID_PREFIX), NULL, 10);
    natsMsg_Destroy(m);
    return NATS_OK;
}

static natsStatus
connect_js(srv_bridge *b)
{
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetURL(o, b->cfg->nats_url);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, 2000);
    if (s == NATS_OK) /* a lost connection is ours to redo, from the stream's state */
        s = natsOptions_SetAllowReconnect(o, false);
    if (s == NATS_OK)
        s = natsConnection_Connect(&b->nc, o);
    natsOptions_Destroy(o);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = PUB_WAIT_MS;
    if (s == NATS_OK)
        s = natsConnection_JetStream(&b->js, b->nc, &jo);
    uint64_t in_stream = 0;
    if (s == NATS_OK)
        s = stream_last(b, &in_stream);
    if (s != NATS_OK) {
        disconnect(b);
        return s;
    }
    if (in_stream > srv_feed_last())
        srv_log(SRV_LOG_WARN,
                "nats: stream %s holds seq %" PRIu64 " but the feed ends at %" PRIu64
                " (a store restored from a backup?): changes up to %" PRIu64
                " will not be published",
                b->stream, in_stream, srv_feed_last(), in_stream);
    if (in_stream > b->acked) {
        b->acked = in_stream;
        srv_feed_bridge_acked(b->acked);
    }
    return NATS_OK;
}

static void
free_changes(change *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].data);
}

/* Up to PAGE changes after b->acked, copied out of a read transaction. */
static int
read_page(srv_bridge *b, change *out, size_t *n)
{
    store_txn *t = NULL;
    store_page pg;
    *n = 0;
    int rc = store_read_begin(b->st, &t);
    if (rc == STORE_OK)
        rc = store_feed_list_raw(t, b->acked, PAGE, NULL, &pg);
    if (rc != STORE_OK) {
        store_read_end(t);
        return rc;
    }
    for (size_t i = 0; i < pg.n && rc == STORE_OK; i++) {
        store_raw *r = pg.items[i];
        Bilheteria__V1__Change *ch = bilheteria__v1__change__unpack(NULL, r->len, r->data);
        change *c = &out[*n];
        c->data = ch != NULL ? malloc(r->len ? r->len : 1) : NULL;
        if (c->data == NULL) {
            rc = ch == NULL ? STORE_CORRUPT : STORE_NOMEM;
        } else {
            memcpy(c->data, r->data, r->len);
            c->len = r->len;
            c->seq = ch->seq;
            snprintf(c->subject, sizeof(c->subject), "%s.%s", b->cfg->nats_subject, ch->type);
            (*n)++;
        }
        bilheteria__v1__change__free_unpacked(ch, NULL);
        free(r);
    }
    for (size_t i = *n + (rc != STORE_OK); i < pg.n; i++)
        free(pg.items[i]);
    free(pg.items);
    store_read_end(t);
    if (rc != STORE_OK) {
        free_changes(out, *n);
        *n = 0;
    }
    return rc;
}

static natsStatus
publish(srv_bridge *b, const change *c)
{
    char id[64], seq[32];
    natsMsg *m = NULL;
    jsPubAck *ack = NULL;
    jsPubOptions po;
    jsErrCode jerr = 0;
    snprintf(id, sizeof(id), MSG_ID_PREFIX "%" PRIu64, c->seq);
    snprintf(seq, sizeof(seq), "%" PRIu64, c->seq);
    natsStatus s = natsMsg_Create(&m, c->subject, NULL, (const char *)c->data, (int)c->len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Bilheteria-Seq", seq);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Content-Type",
                              "application/protobuf; proto=bilheteria.v1.Change");
    jsPubOptions_Init(&po);
    po.MsgId = id; /* sets Nats-Msg-Id: a resend is dropped by JetStream */
    po.MaxWait = PUB_WAIT_MS;
    if (s == NATS_OK)
        s = js_PublishMsg(&ack, b->js, m, &po, &jerr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    return s;
}

/* Publishes what is new until an error or a stop. */
static natsStatus
forward(srv_bridge *b)
{
    change page[PAGE];
    int64_t next_log = 0;
    while (!stopping(b)) {
        size_t n;
        uint64_t last = srv_feed_last();
        srv_metrics_feed_bridge_lag((int64_t)(last - (last > b->acked ? b->acked : last)));
        if (last <= b->acked) {
            srv_feed_wait_commit(b->acked, 1000);
            continue;
        }
        int rc = read_page(b, page, &n);
        if (rc != STORE_OK) {
            srv_log(SRV_LOG_ERROR, "nats: cannot read the change feed: %s", store_strerror(rc));
            return NATS_ERR;
        }
        if (n > 0 && page[0].seq != b->acked + 1)
            srv_log(SRV_LOG_ERROR,
                    "nats: changes %" PRIu64 "..%" PRIu64 " are no longer in the feed; the "
                    "stream goes on from %" PRIu64,
                    b->acked + 1, page[0].seq - 1, page[0].seq);
        natsStatus s = NATS_OK;
        for (size_t i = 0; i < n && s == NATS_OK; i++) {
            s = publish(b, &page[i]);
            if (s == NATS_OK) {
                b->acked = page[i].seq;
                srv_feed_bridge_acked(b->acked);
            }
        }
        free_changes(page, n);
        if (s != NATS_OK)
            return s;
        int64_t now = srv_feed_last() > b->acked ? (int64_t)time(NULL) * 1000 : 0;
        if (now != 0 && now >= next_log) {
            srv_log(SRV_LOG_INFO, "nats: published up to seq %" PRIu64 ", %" PRIu64 " behind",
                    b->acked, srv_feed_last() - b->acked);
            next_log = now + LAG_LOG_EVERY;
        }
    }
    return NATS_OK;
}

static void *
bridge_main(void *arg)
{
    srv_bridge *b = arg;
    int64_t backoff = BACKOFF_MIN_MS;
    pthread_setname_np(pthread_self(), "bh:nats");
    while (!stopping(b)) {
        natsStatus s = connect_js(b);
        if (s == NATS_OK) {
            if (b->down || !b->cfg->quiet)
                srv_log(SRV_LOG_INFO, "nats: connected to %s, stream %s, from seq %" PRIu64,
                        b->cfg->nats_url, b->stream, b->acked + 1);
            b->down = 0;
            backoff = BACKOFF_MIN_MS;
            s = forward(b);
            disconnect(b);
            if (s == NATS_OK)
                break; /* stopped */
        }
        if (!b->down)
            srv_log(SRV_LOG_WARN,
                    "nats: %s (%s): the feed waits in the store, %" PRIu64
                    " behind; retrying with backoff",
                    b->cfg->nats_url, natsStatus_GetText(s), srv_feed_last() - b->acked);
        b->down = 1;
        uint64_t last = srv_feed_last();
        srv_metrics_feed_bridge_lag((int64_t)(last > b->acked ? last - b->acked : 0));
        nap(b, backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    return NULL;
}

/* "bilheteria.feed" -> "BILHETERIA_FEED": a stream name has no '.'. */
static int
stream_name(const char *prefix, char *out, size_t len)
{
    size_t i = 0;
    for (; prefix[i] != 0 && i + 1 < len; i++) {
        unsigned char ch = (unsigned char)prefix[i];
        if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_')
            return -1;
        out[i] = isalnum(ch) ? (char)toupper(ch) : '_';
    }
    out[i] = 0;
    return i == 0 || prefix[i] != 0 ? -1 : 0;
}

int
srv_bridge_start(srv_bridge **out, store *st, const srv_config *cfg, char *err, size_t errlen)
{
    store_txn *t = NULL;
    uint64_t acked = 0;
    srv_bridge *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    b->st = st;
    b->cfg = cfg;
    if (stream_name(cfg->nats_subject, b->stream, sizeof(b->stream)) != 0) {
        snprintf(err, errlen,
                 "--nats-subject \"%s\": 1..100 letters, digits, '.', '-' or '_' expected",
                 cfg->nats_subject);
        free(b);
        return -1;
    }
    snprintf(b->subjects, sizeof(b->subjects), "%s.>", cfg->nats_subject);
    int rc = store_read_begin(st, &t);
    if (rc == STORE_OK)
        rc = store_feed_mark_get(t, "nats", &acked);
    store_read_end(t);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "reading the bridge's position: %s", store_strerror(rc));
        free(b);
        return -1;
    }
    b->acked = acked;
    srv_feed_bridge_set(1, acked);
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    if ((rc = pthread_create(&b->thread, NULL, bridge_main, b)) != 0) {
        snprintf(err, errlen, "cannot start the bridge's thread: %s", strerror(rc));
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->cv);
        free(b);
        return -1;
    }
    *out = b;
    return 0;
}

void
srv_bridge_stop(srv_bridge *b)
{
    if (b == NULL)
        return;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    srv_feed_wake_all(); /* out of srv_feed_wait_commit */
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
    nats_Close();
}
