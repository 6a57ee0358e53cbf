/* SPDX-License-Identifier: Apache-2.0 */
/* The LMDB environment, transactions and the generic record helpers. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store_int.h"

static const char *const table_names[T__COUNT] = {
    "meta",
    "events",
    "sessions",
    "sessions_by_event",
    "session_state",
    "products",
    "seats",
    "reservations",
    "reservations_by_user",
    "reservations_by_expiry",
    "payments",
    "payments_by_ref",
    "idempotency",
    "idempotency_by_time",
    "coupons",
    "coupon_users",
    "discount_rules",
    "user_seats",
    "refunds",
    "refunds_by_ref",
    "reservations_by_session",
    "session_cancels",
    "waitlist",
    "waitlist_by_user",
    "waitlist_waiting",
    "feed",
    "sales_counters",
    "copurchase",
};

static const char *const seq_keys[STORE_SEQ__COUNT] = {
    "seq.event", "seq.session", "seq.product",  "seq.reservation", "seq.payment",
    "seq.rule",  "seq.refund",  "seq.waitlist", "seq.feed",
};

#define META_SCHEMA "schema_version"

#define STORE__STR_(x) #x
#define STORE__STR(x)  STORE__STR_(x)

const char *
store_lmdb_version(void)
{
    return STORE__STR(MDB_VERSION_MAJOR) "." STORE__STR(MDB_VERSION_MINOR) "." STORE__STR(
        MDB_VERSION_PATCH);
}

const char *
store_strerror(int rc)
{
    switch (rc) {
    case STORE_OK: return "ok";
    case STORE_NOTFOUND: return "not found";
    case STORE_EXISTS: return "already exists";
    case STORE_MAP_FULL: return "map full";
    case STORE_CORRUPT: return "stored value does not decode";
    case STORE_IO: return "i/o error";
    case STORE_NOMEM: return "out of memory";
    case STORE_SCHEMA: return "unsupported schema version";
    case STORE_BUSY: return "too many readers";
    case STORE_INVALID: return "invalid argument";
    case STORE_TXN_FULL: return "transaction too large";
    case STORE_BAD_TXN: return "transaction spoiled by an earlier error";
    case STORE_NOSPC: return "disk full (ENOSPC)";
    case STORE_QUOTA: return "disk quota exceeded (EDQUOT)";
    case STORE_NOMAP: return "the storage map was lost when it could not grow";
    }
    return "unknown store error";
}

/* LMDB mixes errno values and its own codes; nothing above store/ sees them. */
int
store__rc(int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return STORE_OK;
    case MDB_NOTFOUND: return STORE_NOTFOUND;
    case MDB_KEYEXIST: return STORE_EXISTS;
    case MDB_MAP_FULL: return STORE_MAP_FULL;
    case MDB_TXN_FULL:
    case MDB_PAGE_FULL: return STORE_TXN_FULL;
    case MDB_READERS_FULL: return STORE_BUSY;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID: return STORE_CORRUPT;
    case MDB_VERSION_MISMATCH: return STORE_SCHEMA;
    /* Not the disk's doing: a write in it failed before (out of memory,
     * say). Reported as STORE_IO it would stop the writes for good. */
    case MDB_BAD_TXN: return STORE_BAD_TXN;
    case ENOMEM: return STORE_NOMEM;
    case EINVAL: return STORE_INVALID;
    /* A full disk is not a failing one: the operator's remedy differs. */
    case ENOSPC: return STORE_NOSPC;
    case EDQUOT: return STORE_QUOTA;
    default: return STORE_IO;
    }
}

void *
store__alloc(ProtobufCAllocator *a, size_t n)
{
    if (a == NULL)
        return malloc(n);
    return a->alloc(a->allocator_data, n);
}

static int
txn_begin(store *s, MDB_txn *parent, unsigned flags, store_txn **out)
{
    if (s->map_lost)
        return STORE_NOMAP; /* LMDB would read the meta pages through a map that is gone */
    store_txn *t = malloc(sizeof(*t));
    if (t == NULL)
        return STORE_NOMEM;
    int rc = mdb_txn_begin(s->env, parent, flags, &t->txn);
    if (rc != MDB_SUCCESS) {
        free(t);
        return store__rc(rc);
    }
    t->s = s;
    t->is_read = (flags & MDB_RDONLY) != 0;
    *out = t;
    return STORE_OK;
}

int
store_read_begin(store *s, store_txn **out)
{
    pthread_rwlock_rdlock(&s->resize_lock);
    int rc = txn_begin(s, NULL, MDB_RDONLY, out);
    if (rc != STORE_OK)
        pthread_rwlock_unlock(&s->resize_lock);
    return rc;
}

void
store_read_end(store_txn *t)
{
    if (t == NULL)
        return;
    store *s = t->s;
    mdb_txn_abort(t->txn);
    free(t);
    pthread_rwlock_unlock(&s->resize_lock);
}

int
store_read_alloc(store *s, store_txn **out)
{
    store_txn *t = NULL;
    int rc = store_read_begin(s, &t);
    if (rc != STORE_OK)
        return rc;
    mdb_txn_reset(t->txn);
    pthread_rwlock_unlock(&s->resize_lock);
    *out = t;
    return STORE_OK;
}

int
store_read_renew(store_txn *t)
{
    pthread_rwlock_rdlock(&t->s->resize_lock);
    int rc = t->s->map_lost ? STORE_NOMAP : mdb_txn_renew(t->txn);
    if (rc == STORE_NOMAP) {
        pthread_rwlock_unlock(&t->s->resize_lock);
        return rc;
    }
    if (rc != MDB_SUCCESS)
        pthread_rwlock_unlock(&t->s->resize_lock);
    return store__rc(rc);
}

void
store_read_reset(store_txn *t)
{
    mdb_txn_reset(t->txn);
    pthread_rwlock_unlock(&t->s->resize_lock);
}

void
store_read_free(store_txn *t)
{
    if (t == NULL)
        return;
    mdb_txn_abort(t->txn);
    free(t);
}

int
store_write_begin(store *s, store_txn **out)
{
    return txn_begin(s, NULL, 0, out);
}

int
store_nested_begin(store_txn *parent, store_txn **out)
{
    if (parent->is_read)
        return STORE_INVALID;
    return txn_begin(parent->s, parent->txn, 0, out);
}

/* Whether the file system holding the store has no block left for us. */
static int
fs_full(store *s)
{
    int fd;
    struct statvfs st;
    if (mdb_env_get_fd(s->env, &fd) != MDB_SUCCESS || fstatvfs(fd, &st) != 0)
        return 0;
    return (geteuid() == 0 ? st.f_bfree : st.f_bavail) == 0;
}

int
store_commit(store_txn *t)
{
    int rc = mdb_txn_commit(t->txn);
    /* LMDB reports a short write as EIO ("filesystem full?", it says): a
     * write that filled the disk stops short before one fails with
     * ENOSPC. */
    if (rc == EIO && fs_full(t->s))
        rc = ENOSPC;
    free(t);
    return store__rc(rc);
}

void
store_abort(store_txn *t)
{
    if (t == NULL)
        return;
    mdb_txn_abort(t->txn);
    free(t);
}

size_t
store_map_size(const store *s)
{
    return s->map_size;
}

int
store_grow(store *s, char *errbuf, size_t errlen)
{
    int rc, fd;
    pthread_rwlock_wrlock(&s->resize_lock);
    size_t want = s->map_size * 2;
    if (s->map_lost) {
        rc = STORE_NOMAP;
        snprintf(errbuf, errlen, "%s", store_strerror(rc));
        goto out;
    }
    /* LMDB 0.9.24's mdb_env_set_mapsize unmaps the old map before it maps
     * the new one, and when that mmap fails it keeps no map at all: the
     * next transaction reads its meta pages through the hole (SIGSEGV).
     * So map the larger size once first, with the old map still in place
     * (a stricter test than LMDB's), and leave LMDB alone if it fails. */
    if ((rc = mdb_env_get_fd(s->env, &fd)) != MDB_SUCCESS) {
        snprintf(errbuf, errlen, "storage map cannot grow: lmdb: %s", mdb_strerror(rc));
        rc = store__rc(rc);
        goto out;
    }
    void *p = want > s->map_size ? mmap(NULL, want, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (p == MAP_FAILED) {
        int err = want > s->map_size ? errno : EOVERFLOW;
        snprintf(errbuf, errlen, "storage map cannot grow from %zu MiB to %zu MiB: %s",
                 s->map_size >> 20, want >> 20, strerror(err));
        rc = store__rc(err);
        goto out;
    }
    munmap(p, want);
    rc = mdb_env_set_mapsize(s->env, want);
    if (rc == MDB_SUCCESS) {
        s->map_size = want;
    } else {
        /* EINVAL: refused up front (a write transaction is open), map
         * intact. Anything else came after the old map was gone. */
        s->map_lost = rc != EINVAL;
        snprintf(errbuf, errlen, "storage map cannot grow from %zu MiB to %zu MiB: %s%s",
                 s->map_size >> 20, want >> 20, mdb_strerror(rc),
                 s->map_lost ? "; the old map is gone too" : "");
        rc = s->map_lost ? STORE_NOMAP : store__rc(rc);
    }
out:
    pthread_rwlock_unlock(&s->resize_lock);
    return rc;
}

int
store_sync(store *s)
{
    if (s->sync_fd >= 0) {
        if (fdatasync(s->sync_fd) == 0)
            return STORE_OK;
        return errno == ENOSPC || errno == EDQUOT ? store__rc(errno) : STORE_IO;
    }
    return store__rc(mdb_env_sync(s->env, 1));
}

/* mdb_reader_list writes a header, then one line per slot taken that
 * starts with its pid, or "(no active readers)". */
static int
count_reader(const char *msg, void *arg)
{
    msg += strspn(msg, " ");
    if (*msg >= '0' && *msg <= '9')
        ++*(uint64_t *)arg;
    return 0;
}

int
store_stats(store *s, store_stats_info *out)
{
    MDB_envinfo info;
    MDB_stat st;
    uint64_t readers = 0;
    int rc;
    /* mdb_env_info reads the meta pages through the map, which a growth
     * replaces. */
    pthread_rwlock_rdlock(&s->resize_lock);
    if (s->map_lost)
        rc = STORE_NOMAP;
    else if ((rc = store__rc(mdb_env_info(s->env, &info))) == STORE_OK &&
             (rc = store__rc(mdb_env_stat(s->env, &st))) == STORE_OK)
        rc = store__rc(mdb_reader_list(s->env, count_reader, &readers));
    pthread_rwlock_unlock(&s->resize_lock);
    if (rc != STORE_OK)
        return rc;
    out->map_size = info.me_mapsize;
    out->used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    out->readers = readers;
    out->max_readers = info.me_maxreaders;
    return STORE_OK;
}

static int
check_schema(store *s, char *errbuf, size_t errlen)
{
    store_txn *t = NULL;
    int rc = store_write_begin(s, &t);
    if (rc != STORE_OK)
        goto out;
    for (int i = 0; i < T__COUNT; i++) {
        rc = store__rc(mdb_dbi_open(t->txn, table_names[i], MDB_CREATE, &s->dbi[i]));
        if (rc != STORE_OK)
            goto out;
    }
    MDB_val v;
    rc = store__get(t, T_META, META_SCHEMA, strlen(META_SCHEMA), &v);
    if (rc == STORE_NOTFOUND) {
        uint8_t buf[4];
        store_key_put_u32(buf, STORE_SCHEMA_VERSION);
        rc = store__put(t, T_META, META_SCHEMA, strlen(META_SCHEMA), buf, 4);
    } else if (rc == STORE_OK) {
        uint32_t have = v.mv_size == 4 ? store_key_get_u32(v.mv_data) : 0;
        if (have != STORE_SCHEMA_VERSION) {
            snprintf(errbuf, errlen, "data has schema version %u, this build reads %u", have,
                     STORE_SCHEMA_VERSION);
            rc = STORE_SCHEMA;
        }
    }
    if (rc != STORE_OK)
        goto out;
    rc = store_commit(t);
    t = NULL;
out:
    store_abort(t);
    return rc;
}

/* A zeroed store with its resize lock, or NULL when out of memory. */
static store *
store_alloc(void)
{
    store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->sync_fd = -1;
    s->lock_fd = -1;
    /* Writer-preferring: under a steady stream of reads, growing the map
     * must not wait forever. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int lrc = pthread_rwlock_init(&s->resize_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (lrc != 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* Creates the data directory and, when asked, takes its exclusive lock. */
static int
claim_dir(store *s, const store_config *cfg, char *errbuf, size_t errlen)
{
    if (mkdir(cfg->dir, 0750) != 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "cannot create data directory \"%s\": %s", cfg->dir,
                 strerror(errno));
        return STORE_IO;
    }
    if (!cfg->exclusive)
        return STORE_OK;
    if ((s->lock_fd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            snprintf(errbuf, errlen,
                     "data dir %s is in use by another bilheteria-server; stop that one, or "
                     "give this one another --data-dir",
                     cfg->dir);
        else
            snprintf(errbuf, errlen, "cannot lock data dir %s: %s", cfg->dir, strerror(e));
        return e == EWOULDBLOCK ? STORE_BUSY : STORE_IO;
    }
    return STORE_OK;
}

/* Creates and opens the LMDB environment, and the descriptor the deferred
 * meta sync flushes through. */
static int
open_env(store *s, const store_config *cfg, char *errbuf, size_t errlen)
{
    int rc;
    s->map_size = cfg->map_size ? cfg->map_size : (size_t)1 << 30;
    if ((rc = mdb_env_create(&s->env)) != MDB_SUCCESS ||
        (rc = mdb_env_set_maxdbs(s->env, T__COUNT)) != MDB_SUCCESS ||
        (rc = mdb_env_set_maxreaders(s->env, cfg->max_readers ? cfg->max_readers : 512)) !=
            MDB_SUCCESS ||
        (rc = mdb_env_set_mapsize(s->env, s->map_size)) != MDB_SUCCESS) {
        snprintf(errbuf, errlen, "lmdb: %s", mdb_strerror(rc));
        return store__rc(rc);
    }
    /* MDB_NOTLS: read transactions are not tied to a thread (nng callbacks
     * run on any of its threads). No MDB_WRITEMAP: nested transactions
     * need it off. */
    unsigned flags = MDB_NOTLS;
    if (cfg->no_sync)
        flags |= MDB_NOSYNC;
    else if (cfg->defer_meta_sync)
        flags |= MDB_NOMETASYNC;
    rc = mdb_env_open(s->env, cfg->dir, flags, 0640);
    if (rc != MDB_SUCCESS) {
        snprintf(errbuf, errlen, "cannot open LMDB in \"%s\": %s", cfg->dir, mdb_strerror(rc));
        return store__rc(rc);
    }
    if (cfg->defer_meta_sync && !cfg->no_sync) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/data.mdb", cfg->dir);
        /* Read-write: POSIX does not promise fdatasync on a read-only
         * descriptor (Linux allows it). Nothing is written through it. */
        if ((s->sync_fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
            snprintf(errbuf, errlen, "cannot open \"%s\" to sync it: %s", path, strerror(errno));
            return STORE_IO;
        }
    }
    return STORE_OK;
}

int
store_open(store **out, const store_config *cfg, char *errbuf, size_t errlen)
{
    int rc, dead = 0;
    store *s = store_alloc();
    if (s == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return STORE_NOMEM;
    }
    snprintf(errbuf, errlen, "ok");
    if ((rc = claim_dir(s, cfg, errbuf, errlen)) != STORE_OK ||
        (rc = open_env(s, cfg, errbuf, errlen)) != STORE_OK)
        goto fail;
    mdb_reader_check(s->env, &dead);
    /* The map may be larger than asked if the file already is. */
    MDB_envinfo info;
    if (mdb_env_info(s->env, &info) == MDB_SUCCESS && info.me_mapsize > s->map_size)
        s->map_size = info.me_mapsize;
    rc = check_schema(s, errbuf, errlen);
    if (rc != STORE_OK) {
        if (rc != STORE_SCHEMA)
            snprintf(errbuf, errlen, "cannot initialise tables: %s", store_strerror(rc));
        goto fail;
    }
    *out = s;
    return STORE_OK;
fail:
    if (s->sync_fd >= 0)
        close(s->sync_fd);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->env != NULL)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize_lock);
    free(s);
    return rc;
}

void
store_close(store *s)
{
    if (s == NULL)
        return;
    if (s->sync_fd >= 0)
        close(s->sync_fd);
    mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* after LMDB is closed: then the next server may open it */
    pthread_rwlock_destroy(&s->resize_lock);
    free(s);
}

int
store_next_id(store_txn *t, enum store_seq seq, uint64_t *out)
{
    if (seq < 0 || seq >= STORE_SEQ__COUNT)
        return STORE_INVALID;
    const char *k = seq_keys[seq];
    MDB_val v;
    uint64_t next = 1;
    int rc = store__get(t, T_META, k, strlen(k), &v);
    if (rc == STORE_OK && v.mv_size == 8)
        next = store_key_get_u64(v.mv_data) + 1;
    else if (rc != STORE_NOTFOUND && rc != STORE_OK)
        return rc;
    uint8_t buf[8];
    store_key_put_u64(buf, next);
    rc = store__put(t, T_META, k, strlen(k), buf, 8);
    if (rc == STORE_OK)
        *out = next;
    return rc;
}

int
store__get(store_txn *t, enum store__table tab, const void *k, size_t klen, MDB_val *v)
{
    MDB_val key = { klen, (void *)k };
    return store__rc(mdb_get(t->txn, t->s->dbi[tab], &key, v));
}

int
store__put(store_txn *t, enum store__table tab, const void *k, size_t klen, const void *v,
           size_t vlen)
{
    MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
    return store__rc(mdb_put(t->txn, t->s->dbi[tab], &key, &val, 0));
}

int
store__del(store_txn *t, enum store__table tab, const void *k, size_t klen)
{
    MDB_val key = { klen, (void *)k };
    return store__rc(mdb_del(t->txn, t->s->dbi[tab], &key, NULL));
}

static int
put_msg(store_txn *t, enum store__table tab, const void *k, size_t klen, const ProtobufCMessage *m,
        unsigned flags)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    MDB_val key = { klen, (void *)k }, val = { n, NULL };
    int rc = mdb_put(t->txn, t->s->dbi[tab], &key, &val, MDB_RESERVE | flags);
    if (rc != MDB_SUCCESS)
        return store__rc(rc);
    protobuf_c_message_pack(m, val.mv_data);
    return STORE_OK;
}

int
store__put_msg(store_txn *t, enum store__table tab, const void *k, size_t klen,
               const ProtobufCMessage *m)
{
    return put_msg(t, tab, k, klen, m, 0);
}

int
store__get_msg(store_txn *t, enum store__table tab, const void *k, size_t klen,
               const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a, ProtobufCMessage **out)
{
    MDB_val v;
    int rc = store__get(t, tab, k, klen, &v);
    if (rc != STORE_OK)
        return rc;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, a, v.mv_size, v.mv_data);
    if (m == NULL)
        return STORE_CORRUPT;
    *out = m;
    return STORE_OK;
}

int
store__put_id(store_txn *t, enum store__table tab, uint64_t id, const ProtobufCMessage *m)
{
    uint8_t k[8];
    store_key_put_u64(k, id);
    return put_msg(t, tab, k, 8, m, 0);
}

int
store__append_id(store_txn *t, enum store__table tab, uint64_t id, const ProtobufCMessage *m)
{
    uint8_t k[8];
    store_key_put_u64(k, id);
    return put_msg(t, tab, k, 8, m, MDB_APPEND);
}

int
store__get_id(store_txn *t, enum store__table tab, uint64_t id, const ProtobufCMessageDescriptor *d,
              ProtobufCAllocator *a, ProtobufCMessage **out)
{
    uint8_t k[8];
    store_key_put_u64(k, id);
    return store__get_msg(t, tab, k, 8, d, a, out);
}

/* Shared by every pager: walks keys prefix + 8-byte id and loads records. */
int
store__list_index(store_txn *t, enum store__table idx, const void *prefix, size_t plen,
                  uint64_t from_key, int inverted, size_t limit, enum store__table rec,
                  const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a, store_page *out)
{
    MDB_cursor *cur = NULL;
    uint8_t kbuf[512];
    int rc;
    if (plen + 8 > sizeof(kbuf) || limit == 0)
        return STORE_INVALID;
    out->items = store__alloc(a, limit * sizeof(void *));
    out->n = 0;
    out->next_id = 0;
    if (out->items == NULL)
        return STORE_NOMEM;
    memcpy(kbuf, prefix, plen);
    store_key_put_u64(kbuf + plen, inverted ? ~from_key : from_key);
    rc = store__rc(mdb_cursor_open(t->txn, t->s->dbi[idx], &cur));
    if (rc != STORE_OK)
        return rc;
    MDB_val k = { plen + 8, kbuf }, v;
    int op = MDB_SET_RANGE;
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        uint64_t key = store_key_get_u64((const uint8_t *)k.mv_data + plen);
        uint64_t id = inverted ? ~key : key;
        if (out->n == limit) {
            out->next_id = id;
            break;
        }
        void *m = NULL;
        if (d == NULL) {
            /* Raw: the record's bytes, borrowed from the map. */
            store_raw *r = store__alloc(a, sizeof(*r));
            if (r == NULL) {
                rc = STORE_NOMEM;
                goto out;
            }
            if (idx != rec) {
                uint8_t k8[8];
                store_key_put_u64(k8, id);
                if ((rc = store__get(t, rec, k8, 8, &v)) != STORE_OK)
                    goto out;
            }
            r->data = v.mv_data;
            r->len = v.mv_size;
            m = r;
        } else if (idx == rec) {
            m = protobuf_c_message_unpack(d, a, v.mv_size, v.mv_data);
            rc = m ? STORE_OK : STORE_CORRUPT;
        } else {
            ProtobufCMessage *pm = NULL;
            rc = store__get_id(t, rec, id, d, a, &pm);
            m = pm;
        }
        if (rc != STORE_OK)
            goto out;
        out->items[out->n++] = m;
    }
    rc = (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) ? STORE_OK : store__rc(rc);
out:
    mdb_cursor_close(cur);
    return rc;
}

int
store__list_id(store_txn *t, enum store__table tab, uint64_t from_id, size_t limit,
               const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a, store_page *out)
{
    return store__list_index(t, tab, "", 0, from_id, 0, limit, tab, d, a, out);
}
