/* SPDX-License-Identifier: Apache-2.0 */
/* store/: every table through the public API, on a real LMDB environment
 * in a fresh mkdtemp directory per test. The map starts at 1 MiB so that
 * MAP_FULL and store_grow are reachable. */
#define _XOPEN_SOURCE 700
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "store.h"
#include "tmpstore.h"

#define MAP_SMALL ((size_t)1 << 20)

struct fx {
    char root[64]; /* mkdtemp directory */
    char dir[96];  /* root/data: store_open must create it */
    store *s;
};

static int
open_store(struct fx *f, size_t map_size)
{
    char err[256];
    store_config cfg = { f->dir, map_size, 1, 0 };
    int rc = store_open(&f->s, &cfg, err, sizeof(err));
    if (rc != STORE_OK)
        print_error("store_open(%s): %s\n", f->dir, err);
    return rc;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    snprintf(f->root, sizeof(f->root), "/tmp/bh-unit-store-XXXXXX");
    if (mkdtemp(f->root) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->root);
    if (open_store(f, MAP_SMALL) != STORE_OK) {
        rmdir(f->root);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    int rc = tmpstore_rmtree(f->root);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void
reopen(struct fx *f)
{
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(open_store(f, MAP_SMALL), STORE_OK);
}

static store_txn *
wbegin(struct fx *f)
{
    store_txn *t = NULL;
    assert_int_equal(store_write_begin(f->s, &t), STORE_OK);
    assert_non_null(t);
    return t;
}

static store_txn *
rbegin(struct fx *f)
{
    store_txn *t = NULL;
    assert_int_equal(store_read_begin(f->s, &t), STORE_OK);
    assert_non_null(t);
    return t;
}

static void
page_free(store_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        protobuf_c_message_free_unpacked(p->items[i], NULL);
    free(p->items);
    memset(p, 0, sizeof(*p));
}

/* ---- raw LMDB access, for checking and tampering with the meta table ---- */

static void
mdb_meta(const char *dir, const char *key, const void *set, size_t set_len, void *got,
         size_t *got_len)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    MDB_val k = { strlen(key), (void *)key }, v;
    if (got != NULL) {
        assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
        assert_true(v.mv_size <= *got_len);
        memcpy(got, v.mv_data, v.mv_size);
        *got_len = v.mv_size;
    }
    if (set != NULL) {
        v.mv_size = set_len;
        v.mv_data = (void *)set;
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* ---- open, schema, reopen ---- */

static void
test_open_creates_dir_and_schema(void **state)
{
    struct fx *f = *state;
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(store_map_size(f->s), MAP_SMALL);
    store_close(f->s);
    f->s = NULL;

    uint8_t v[16];
    size_t n = sizeof(v);
    mdb_meta(f->dir, "schema_version", NULL, 0, v, &n);
    assert_int_equal(n, 4);
    assert_int_equal(store_key_get_u32(v), STORE_SCHEMA_VERSION);
    assert_int_equal(open_store(f, MAP_SMALL), STORE_OK);
}

static void
test_open_fails_when_dir_cannot_be_made(void **state)
{
    struct fx *f = *state;
    char path[160], err[256];
    store *s = (store *)&path; /* sentinel: must stay as it is */
    snprintf(path, sizeof(path), "%s/no/such/parent", f->root);
    store_config cfg = { path, MAP_SMALL, 1, 0 };
    int rc = store_open(&s, &cfg, err, sizeof(err));
    assert_int_equal(rc, STORE_IO);
    assert_ptr_equal(s, (store *)&path);
    assert_non_null(strstr(err, path));
}

static void
test_reopen_keeps_data(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    Bilheteria__V1__Event ev = BILHETERIA__V1__EVENT__INIT;
    ev.id = 7;
    ev.name = "Carmen";
    ev.venue = "Theatro Municipal";
    ev.starts_at_ms = 1700000000000;
    assert_int_equal(store_event_put(t, &ev), STORE_OK);
    assert_int_equal(store_commit(t), STORE_OK);
    reopen(f);

    t = rbegin(f);
    Bilheteria__V1__Event *got = NULL;
    assert_int_equal(store_event_get(t, 7, NULL, &got), STORE_OK);
    store_read_end(t);
    assert_string_equal(got->name, "Carmen");
    assert_string_equal(got->venue, "Theatro Municipal");
    assert_int_equal(got->starts_at_ms, 1700000000000);
    bilheteria__v1__event__free_unpacked(got, NULL);
}

/* With the meta sync deferred (the server's mode), commits and an explicit
 * store_sync work, also from another thread while a write transaction is
 * open, and what was committed is there after a reopen. */
static void *
sync_thread(void *arg)
{
    return (void *)(intptr_t)store_sync(arg);
}

static void
test_deferred_meta_sync(void **state)
{
    struct fx *f = *state;
    char err[256];
    store_close(f->s);
    f->s = NULL;
    store_config cfg = { .dir = f->dir, .map_size = MAP_SMALL, .defer_meta_sync = 1 };
    assert_int_equal(store_open(&f->s, &cfg, err, sizeof(err)), STORE_OK);
    for (uint64_t id = 1; id <= 3; id++) {
        store_txn *t = wbegin(f);
        Bilheteria__V1__Event ev = BILHETERIA__V1__EVENT__INIT;
        ev.id = id;
        ev.name = "Tosca";
        assert_int_equal(store_event_put(t, &ev), STORE_OK);
        /* The previous commit is synced while this one is being written. */
        pthread_t th;
        void *rc = NULL;
        assert_int_equal(pthread_create(&th, NULL, sync_thread, f->s), 0);
        pthread_join(th, &rc);
        assert_int_equal((intptr_t)rc, STORE_OK);
        assert_int_equal(store_commit(t), STORE_OK);
    }
    assert_int_equal(store_sync(f->s), STORE_OK);
    reopen(f);
    store_txn *t = rbegin(f);
    for (uint64_t id = 1; id <= 3; id++) {
        Bilheteria__V1__Event *got = NULL;
        assert_int_equal(store_event_get(t, id, NULL, &got), STORE_OK);
        assert_string_equal(got->name, "Tosca");
        bilheteria__v1__event__free_unpacked(got, NULL);
    }
    store_read_end(t);
}

static void
test_schema_mismatch_refused(void **state)
{
    struct fx *f = *state;
    static const struct {
        uint8_t v[8];
        size_t len;
        const char *have;
    } cases[] = {
        { { 0, 0, 0, 2 }, 4, "schema version 2" },
        { { 0, 0, 0, 0 }, 4, "schema version 0" },
        { { 0xff, 0xff, 0xff, 0xff }, 4, "schema version 4294967295" },
        { { 0, 0, 0, 0, 0, 0, 0, 1 }, 8, "schema version 0" }, /* wrong width */
        { { 1 }, 1, "schema version 0" },
    };
    store_close(f->s);
    f->s = NULL;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        store *s = (store *)err; /* sentinel */
        mdb_meta(f->dir, "schema_version", cases[i].v, cases[i].len, NULL, NULL);
        store_config cfg = { f->dir, MAP_SMALL, 1, 0 };
        assert_int_equal(store_open(&s, &cfg, err, sizeof(err)), STORE_SCHEMA);
        assert_ptr_equal(s, (store *)err);
        assert_non_null(strstr(err, cases[i].have));
    }
    /* Put the right version back: it opens again. */
    uint8_t ok[4];
    store_key_put_u32(ok, STORE_SCHEMA_VERSION);
    mdb_meta(f->dir, "schema_version", ok, 4, NULL, NULL);
    assert_int_equal(open_store(f, MAP_SMALL), STORE_OK);
}

static void
test_strerror(void **state)
{
    (void)state;
    for (int i = STORE_OK; i <= STORE_NOMAP; i++) {
        assert_non_null(store_strerror(i));
        assert_string_not_equal(store_strerror(i), "unknown store error");
        for (int j = STORE_OK; j < i; j++)
            assert_string_not_equal(store_strerror(i), store_strerror(j));
    }
    assert_string_equal(store_strerror(STORE_NOMAP + 1), "unknown store error");
    assert_string_equal(store_strerror(-1), "unknown store error");
    /* Destructors accept NULL. */
    store_close(NULL);
    store_abort(NULL);
    store_read_end(NULL);
}

/* ---- sequences ---- */

static void
test_sequences(void **state)
{
    struct fx *f = *state;
    uint64_t id = 0;
    store_txn *t = wbegin(f);
    for (int s = 0; s < STORE_SEQ__COUNT; s++) {
        assert_int_equal(store_next_id(t, (enum store_seq)s, &id), STORE_OK);
        assert_int_equal(id, 1);
    }
    /* Each sequence grows on its own. */
    for (uint64_t want = 2; want <= 5; want++) {
        assert_int_equal(store_next_id(t, STORE_SEQ_EVENT, &id), STORE_OK);
        assert_int_equal(id, want);
    }
    assert_int_equal(store_next_id(t, STORE_SEQ_PAYMENT, &id), STORE_OK);
    assert_int_equal(id, 2);
    id = 99;
    assert_int_equal(store_next_id(t, STORE_SEQ__COUNT, &id), STORE_INVALID);
    assert_int_equal(id, 99);
    assert_int_equal(store_commit(t), STORE_OK);

    /* An aborted transaction gives its ids back. */
    t = wbegin(f);
    assert_int_equal(store_next_id(t, STORE_SEQ_EVENT, &id), STORE_OK);
    assert_int_equal(id, 6);
    store_abort(t);

    reopen(f);
    t = wbegin(f);
    assert_int_equal(store_next_id(t, STORE_SEQ_EVENT, &id), STORE_OK);
    assert_int_equal(id, 6);
    assert_int_equal(store_next_id(t, STORE_SEQ_SESSION, &id), STORE_OK);
    assert_int_equal(id, 2);
    assert_int_equal(store_next_id(t, STORE_SEQ_PAYMENT, &id), STORE_OK);
    assert_int_equal(id, 3);
    store_abort(t);
}

/* ---- events, sessions, products ---- */

static void
put_events(struct fx *f, const uint64_t *ids, size_t n)
{
    store_txn *t = wbegin(f);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        Bilheteria__V1__Event ev = BILHETERIA__V1__EVENT__INIT;
        snprintf(name, sizeof(name), "event %llu", (unsigned long long)ids[i]);
        ev.id = ids[i];
        ev.name = name;
        ev.created_at_ms = (int64_t)ids[i] * 10;
        assert_int_equal(store_event_put(t, &ev), STORE_OK);
    }
    assert_int_equal(store_commit(t), STORE_OK);
}

/* Lists events from `from` with `limit`; checks the ids and next_id. */
static void
expect_event_page(struct fx *f, uint64_t from, size_t limit, const uint64_t *want, size_t n_want,
                  uint64_t want_next)
{
    store_txn *t = rbegin(f);
    store_page p = { 0 };
    assert_int_equal(store_event_list(t, from, limit, NULL, &p), STORE_OK);
    store_read_end(t);
    assert_int_equal(p.n, n_want);
    assert_int_equal(p.next_id, want_next);
    for (size_t i = 0; i < p.n; i++) {
        Bilheteria__V1__Event *ev = p.items[i];
        char name[32];
        snprintf(name, sizeof(name), "event %llu", (unsigned long long)want[i]);
        assert_int_equal(ev->id, want[i]);
        assert_string_equal(ev->name, name);
        assert_int_equal(ev->created_at_ms, (int64_t)want[i] * 10);
    }
    page_free(&p);
}

static void
test_event_put_get(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    Bilheteria__V1__Event ev = BILHETERIA__V1__EVENT__INIT;
    ev.id = 3;
    ev.name = "Tosca";
    ev.description = "Ato I";
    ev.ends_at_ms = 5;
    assert_int_equal(store_event_put(t, &ev), STORE_OK);
    ev.name = "Tosca (nova data)"; /* put again overwrites */
    assert_int_equal(store_event_put(t, &ev), STORE_OK);
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    Bilheteria__V1__Event *got = NULL;
    assert_int_equal(store_event_get(t, 3, NULL, &got), STORE_OK);
    assert_int_equal(got->id, 3);
    assert_string_equal(got->name, "Tosca (nova data)");
    assert_string_equal(got->description, "Ato I");
    assert_int_equal(got->ends_at_ms, 5);
    bilheteria__v1__event__free_unpacked(got, NULL);
    store_page p = { 0 };
    assert_int_equal(store_event_list(t, 0, 10, NULL, &p), STORE_OK);
    assert_int_equal(p.n, 1);
    page_free(&p);
    store_read_end(t);
}

static void
test_event_paging(void **state)
{
    struct fx *f = *state;
    static const uint64_t all[] = { 1, 2, 3, 4, 5, 6 };
    put_events(f, all, 6);
    /* Exactly limit items left: no next page. */
    expect_event_page(f, 0, 6, all, 6, 0);
    expect_event_page(f, 1, 6, all, 6, 0);
    /* limit + 1 items: next_id is the first one not returned. */
    expect_event_page(f, 0, 5, all, 5, 6);
    expect_event_page(f, 6, 5, all + 5, 1, 0);
    expect_event_page(f, 0, 3, all, 3, 4);
    expect_event_page(f, 4, 3, all + 3, 3, 0);
    expect_event_page(f, 2, 1, all + 1, 1, 3);
    /* Past the end. */
    expect_event_page(f, 7, 3, NULL, 0, 0);
    expect_event_page(f, UINT64_MAX, 3, NULL, 0, 0);
    /* limit 0 is refused, not an empty page that claims more. */
    store_txn *t = rbegin(f);
    store_page p = { 0 };
    assert_int_equal(store_event_list(t, 0, 0, NULL, &p), STORE_INVALID);
    store_read_end(t);
}

static void
test_event_paging_sparse_ids(void **state)
{
    struct fx *f = *state;
    /* Ids that straddle byte boundaries: big-endian keys keep them ordered. */
    static const uint64_t ids[] = { 2, 255, 256, 70000, 1ULL << 32, UINT64_MAX };
    put_events(f, ids, 6);
    expect_event_page(f, 0, 100, ids, 6, 0);
    expect_event_page(f, 3, 2, ids + 1, 2, 70000);
    expect_event_page(f, 257, 1, ids + 3, 1, 1ULL << 32);
    expect_event_page(f, (1ULL << 32) + 1, 5, ids + 5, 1, 0);
}

static void
put_session(store_txn *t, uint64_t id, uint64_t event_id)
{
    Bilheteria__V1__Session s = BILHETERIA__V1__SESSION__INIT;
    s.id = id;
    s.event_id = event_id;
    s.room = "Sala 1";
    s.rows = 10;
    s.seats_per_row = 20;
    s.capacity = 200;
    s.price_cents = (int64_t)id * 100;
    assert_int_equal(store_session_put(t, &s), STORE_OK);
}

static void
expect_sessions(store_txn *t, uint64_t event_id, uint64_t from, size_t limit, const uint64_t *want,
                size_t n_want, uint64_t want_next)
{
    store_page p = { 0 };
    assert_int_equal(store_session_list(t, event_id, from, limit, NULL, &p), STORE_OK);
    assert_int_equal(p.n, n_want);
    assert_int_equal(p.next_id, want_next);
    for (size_t i = 0; i < p.n; i++) {
        Bilheteria__V1__Session *s = p.items[i];
        assert_int_equal(s->id, want[i]);
        assert_int_equal(s->price_cents, (int64_t)want[i] * 100);
        if (event_id != 0)
            assert_int_equal(s->event_id, event_id);
    }
    page_free(&p);
}

static void
test_sessions(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    /* Event 1: sessions 1, 3, 5, 6; event 2: 2, 4; event 256: 7. */
    static const struct {
        uint64_t id, ev;
    } ss[] = {
        { 1, 1 }, { 2, 2 }, { 3, 1 }, { 4, 2 }, { 5, 1 }, { 6, 1 }, { 7, 256 },
    };
    for (size_t i = 0; i < sizeof(ss) / sizeof(ss[0]); i++)
        put_session(t, ss[i].id, ss[i].ev);
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    Bilheteria__V1__Session *got = NULL;
    assert_int_equal(store_session_get(t, 4, NULL, &got), STORE_OK);
    assert_int_equal(got->event_id, 2);
    assert_string_equal(got->room, "Sala 1");
    assert_int_equal(got->capacity, 200);
    bilheteria__v1__session__free_unpacked(got, NULL);

    static const uint64_t all[] = { 1, 2, 3, 4, 5, 6, 7 };
    static const uint64_t ev1[] = { 1, 3, 5, 6 };
    static const uint64_t ev2[] = { 2, 4 };
    static const uint64_t ev256[] = { 7 };
    expect_sessions(t, 0, 0, 50, all, 7, 0);
    expect_sessions(t, 0, 0, 7, all, 7, 0);
    expect_sessions(t, 0, 0, 6, all, 6, 7);
    expect_sessions(t, 1, 0, 50, ev1, 4, 0);
    expect_sessions(t, 1, 0, 4, ev1, 4, 0);
    expect_sessions(t, 1, 0, 3, ev1, 3, 6);
    expect_sessions(t, 1, 0, 2, ev1, 2, 5);
    expect_sessions(t, 1, 5, 2, ev1 + 2, 2, 0);
    expect_sessions(t, 1, 4, 1, ev1 + 2, 1, 6); /* from an id of another event */
    expect_sessions(t, 2, 0, 50, ev2, 2, 0);
    expect_sessions(t, 2, 0, 1, ev2, 1, 4);
    expect_sessions(t, 256, 0, 50, ev256, 1, 0);
    expect_sessions(t, 3, 0, 50, NULL, 0, 0); /* an event with no sessions */
    expect_sessions(t, 255, 0, 50, NULL, 0, 0);
    store_read_end(t);
}

/* Sales counters: a scan reads the rows of its days only, session after
 * session of one event, by seeking past the others. */
struct sales_seen {
    size_t n;
    uint64_t session[16];
    uint32_t day[16];
    int64_t created;
};

static int
sales_seen(void *arg, const store_sales_key *k, const Bilheteria__Store__CounterRecord *c)
{
    struct sales_seen *s = arg;
    assert_true(s->n < 16);
    s->session[s->n] = k->session_id;
    s->day[s->n++] = k->day;
    s->created += c->holds_created;
    return 0;
}

static int
cop_seen(void *arg, uint64_t b, uint64_t n)
{
    uint64_t *sum = arg;
    *sum = *sum * 100 + b * 10 + n;
    return 0;
}

static void
test_report_counters(void **state)
{
    struct fx *f = *state;
    static const struct {
        uint64_t event, session;
        uint32_t day;
    } rows[] = { { 1, 1, 10 }, { 1, 1, 11 }, { 1, 1, 12 }, { 1, 2, 9 }, { 1, 2, 11 },
                 { 1, 2, 13 }, { 1, 5, 11 }, { 2, 3, 11 }, { 0, 4, 11 } };
    store_txn *t = wbegin(f);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        store_sales_key k = { rows[i].event, rows[i].session, rows[i].day, 0 };
        Bilheteria__Store__CounterRecord c;
        assert_int_equal(store_sales_get(t, &k, &c), STORE_OK);
        assert_int_equal(c.holds_created, 0); /* none yet reads as zero */
        c.holds_created = (int64_t)i + 1;
        assert_int_equal(store_sales_put(t, &k, &c), STORE_OK);
    }
    assert_int_equal(store_copurchase_add(t, 7, 3, 2, 4), STORE_OK);
    assert_int_equal(store_copurchase_add(t, 7, 3, 1, 1), STORE_OK);
    assert_int_equal(store_copurchase_add(t, 7, 3, 1, 1), STORE_OK);
    assert_int_equal(store_copurchase_add(t, 7, 4, 1, 9), STORE_OK);
    assert_int_equal(store_copurchase_add(t, 7, 3, 2, -9), STORE_OK); /* never below 0 */
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    struct sales_seen all = { 0 };
    assert_int_equal(store_sales_scan(t, 1, 0, 11, 13, sales_seen, &all), STORE_OK);
    assert_int_equal(all.n, 4);
    static const uint64_t want_s[] = { 1, 1, 2, 5 };
    static const uint32_t want_d[] = { 11, 12, 11, 11 };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(all.session[i], want_s[i]);
        assert_int_equal(all.day[i], want_d[i]);
    }
    assert_int_equal(all.created, 2 + 3 + 5 + 7);
    struct sales_seen one = { 0 };
    assert_int_equal(store_sales_scan(t, 1, 2, 10, 14, sales_seen, &one), STORE_OK);
    assert_int_equal(one.n, 2);
    assert_int_equal(one.day[0], 11);
    assert_int_equal(one.day[1], 13);
    struct sales_seen none = { 0 };
    assert_int_equal(store_sales_scan(t, 1, 0, 14, 20, sales_seen, &none), STORE_OK);
    assert_int_equal(store_sales_scan(t, 9, 0, 0, 100, sales_seen, &none), STORE_OK);
    assert_int_equal(store_sales_scan(t, 1, 0, 12, 12, sales_seen, &none), STORE_OK);
    assert_int_equal(none.n, 0);
    store_read_end(t);

    /* A row removed is gone from the scan; removing none is fine. */
    t = wbegin(f);
    store_sales_key gone = { 1, 2, 11, 0 }, never = { 1, 2, 12, 7 };
    assert_int_equal(store_sales_del(t, &gone), STORE_OK);
    assert_int_equal(store_sales_del(t, &never), STORE_OK);
    assert_int_equal(store_commit(t), STORE_OK);
    t = rbegin(f);
    struct sales_seen left = { 0 };
    assert_int_equal(store_sales_scan(t, 1, 2, 0, 100, sales_seen, &left), STORE_OK);
    assert_int_equal(left.n, 2);
    assert_int_equal(left.day[0], 9);
    assert_int_equal(left.day[1], 13);

    uint64_t n = 99, seq = 0;
    assert_int_equal(store_copurchase_get(t, 7, 3, 1, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(store_copurchase_get(t, 7, 9, 9, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_copurchase_scan(t, 7, 3, 10, cop_seen, &seq), STORE_OK);
    assert_int_equal(seq, 12 * 100 + 20); /* (b 1, n 2), (b 2, n 0); not a's 4 */
    seq = 0;
    assert_int_equal(store_copurchase_scan(t, 7, 3, 1, cop_seen, &seq), STORE_OK);
    assert_int_equal(seq, 12); /* at most max */
    store_read_end(t);
}

static void
test_session_state(void **state)
{
    struct fx *f = *state;
    uint32_t half = 99;
    store_txn *t = wbegin(f);
    assert_int_equal(store_session_state_get(t, 1, &half), STORE_OK);
    assert_int_equal(half, 0); /* no record yet reads as 0 */
    assert_int_equal(store_session_state_put(t, 1, 17), STORE_OK);
    assert_int_equal(store_session_state_put(t, 2, 3), STORE_OK);
    assert_int_equal(store_commit(t), STORE_OK);
    t = rbegin(f);
    assert_int_equal(store_session_state_get(t, 1, &half), STORE_OK);
    assert_int_equal(half, 17);
    assert_int_equal(store_session_state_get(t, 2, &half), STORE_OK);
    assert_int_equal(half, 3);
    store_read_end(t);
}

/* The per-user seat counter: per (session, user), 0 when absent, deleted
 * at 0; a user id that cannot be a key is refused. */
static void
test_user_seats(void **state)
{
    struct fx *f = *state;
    uint32_t n = 99;
    char longid[512];
    store_txn *t = wbegin(f);
    assert_int_equal(store_user_seats_get(t, 1, "ana", &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_user_seats_put(t, 1, "ana", 4), STORE_OK);
    assert_int_equal(store_user_seats_put(t, 1, "an", 2), STORE_OK); /* a prefix is another user */
    assert_int_equal(store_user_seats_put(t, 2, "ana", 1), STORE_OK);
    assert_int_equal(store_user_seats_put(t, 2, "ana", 0), STORE_OK); /* deletes */
    assert_int_equal(store_user_seats_put(t, 3, "bob", 0), STORE_OK); /* nothing to delete */
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = 0;
    assert_int_equal(store_user_seats_put(t, 1, longid, 1), STORE_INVALID);
    assert_int_equal(store_user_seats_get(t, 1, longid, &n), STORE_INVALID);
    assert_int_equal(store_commit(t), STORE_OK);
    t = rbegin(f);
    assert_int_equal(store_user_seats_get(t, 1, "ana", &n), STORE_OK);
    assert_int_equal(n, 4);
    assert_int_equal(store_user_seats_get(t, 1, "an", &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(store_user_seats_get(t, 2, "ana", &n), STORE_OK);
    assert_int_equal(n, 0);
    store_read_end(t);
}

static void
test_products(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    for (uint64_t id = 1; id <= 4; id++) {
        Bilheteria__V1__Product p = BILHETERIA__V1__PRODUCT__INIT;
        char name[16];
        snprintf(name, sizeof(name), "pipoca %llu", (unsigned long long)id);
        p.id = id;
        p.name = name;
        p.price_cents = 1500;
        p.stock_tracked = id % 2;
        p.stock = (int64_t)id * 10;
        assert_int_equal(store_product_put(t, &p), STORE_OK);
    }
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    Bilheteria__V1__Product *got = NULL;
    assert_int_equal(store_product_get(t, 3, NULL, &got), STORE_OK);
    assert_string_equal(got->name, "pipoca 3");
    assert_true(got->stock_tracked);
    assert_int_equal(got->stock, 30);
    bilheteria__v1__product__free_unpacked(got, NULL);

    store_page p = { 0 };
    assert_int_equal(store_product_list(t, 0, 4, NULL, &p), STORE_OK);
    assert_int_equal(p.n, 4);
    assert_int_equal(p.next_id, 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(((Bilheteria__V1__Product *)p.items[i])->id, i + 1);
    page_free(&p);
    assert_int_equal(store_product_list(t, 3, 2, NULL, &p), STORE_OK);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.next_id, 0);
    assert_int_equal(((Bilheteria__V1__Product *)p.items[0])->id, 3);
    assert_int_equal(((Bilheteria__V1__Product *)p.items[1])->id, 4);
    page_free(&p);
    assert_int_equal(store_product_list(t, 1, 3, NULL, &p), STORE_OK);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.next_id, 4);
    page_free(&p);
    store_read_end(t);
}

/* ---- seats ---- */

struct scan_log {
    uint32_t idx[16];
    store_seat seat[16];
    size_t n;
    size_t stop_after; /* 0 = never stop */
};

static int
scan_cb(void *arg, uint32_t idx, const store_seat *seat)
{
    struct scan_log *l = arg;
    if (l->n < 16) {
        l->idx[l->n] = idx;
        l->seat[l->n] = *seat;
    }
    l->n++;
    return l->stop_after != 0 && l->n == l->stop_after ? 42 : 0;
}

static void
test_seats(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    store_seat s = { 0 };
    /* Session 1 gets four seats written out of order; its neighbours,
     * sessions 0 and 2 (and 256, which shares a low byte with 0), get
     * some that must not show up in its scan. */
    static const struct {
        uint64_t sess;
        uint32_t idx;
    } put[] = {
        { 1, 1000 }, { 1, 0 },   { 2, 0 },   { 0, 5 },
        { 1, 256 },  { 256, 1 }, { 1, 255 }, { 2, UINT32_MAX },
    };
    for (size_t i = 0; i < sizeof(put) / sizeof(put[0]); i++) {
        s.reservation_id = put[i].sess * 1000000 + put[i].idx;
        s.expires_at_ms = put[i].idx % 2 ? 0 : 1234567;
        s.half = (int)(put[i].idx % 3 == 0);
        assert_int_equal(store_seat_put(t, put[i].sess, put[i].idx, &s), STORE_OK);
    }
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    store_seat got;
    assert_int_equal(store_seat_get(t, 1, 255, &got), STORE_OK);
    assert_int_equal(got.reservation_id, 1000255);
    assert_int_equal(got.expires_at_ms, 0);
    assert_int_equal(got.half, 1);
    assert_int_equal(store_seat_get(t, 1, 256, &got), STORE_OK);
    assert_int_equal(got.reservation_id, 1000256);
    assert_int_equal(got.expires_at_ms, 1234567);
    assert_int_equal(got.half, 0);
    assert_int_equal(store_seat_get(t, 2, UINT32_MAX, &got), STORE_OK);
    assert_int_equal(got.reservation_id, 2000000 + (uint64_t)UINT32_MAX);
    assert_int_equal(store_seat_get(t, 1, 1, &got), STORE_NOTFOUND);

    struct scan_log log = { 0 };
    assert_int_equal(store_seat_scan(t, 1, scan_cb, &log), 0);
    assert_int_equal(log.n, 4);
    static const uint32_t order[] = { 0, 255, 256, 1000 };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(log.idx[i], order[i]);
        assert_int_equal(log.seat[i].reservation_id, 1000000 + order[i]);
    }
    /* A non-zero return stops the scan and comes back. */
    memset(&log, 0, sizeof(log));
    log.stop_after = 2;
    assert_int_equal(store_seat_scan(t, 1, scan_cb, &log), 42);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.idx[1], 255);

    memset(&log, 0, sizeof(log));
    assert_int_equal(store_seat_scan(t, 2, scan_cb, &log), 0);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.idx[0], 0);
    assert_int_equal(log.idx[1], UINT32_MAX);
    memset(&log, 0, sizeof(log));
    assert_int_equal(store_seat_scan(t, 0, scan_cb, &log), 0);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.idx[0], 5);
    memset(&log, 0, sizeof(log));
    assert_int_equal(store_seat_scan(t, 3, scan_cb, &log), 0);
    assert_int_equal(log.n, 0);
    memset(&log, 0, sizeof(log));
    assert_int_equal(store_seat_scan(t, UINT64_MAX, scan_cb, &log), 0);
    assert_int_equal(log.n, 0);
    store_read_end(t);

    t = wbegin(f);
    assert_int_equal(store_seat_del(t, 1, 255), STORE_OK);
    assert_int_equal(store_seat_del(t, 1, 255), STORE_NOTFOUND);
    assert_int_equal(store_seat_del(t, 1, 7), STORE_NOTFOUND);
    assert_int_equal(store_seat_get(t, 1, 255, &got), STORE_NOTFOUND);
    memset(&log, 0, sizeof(log));
    assert_int_equal(store_seat_scan(t, 1, scan_cb, &log), 0);
    assert_int_equal(log.n, 3);
    assert_int_equal(log.idx[1], 256);
    assert_int_equal(store_commit(t), STORE_OK);
}

/* ---- reservations ---- */

static void
put_resv(store_txn *t, uint64_t id, const char *user, int status, int is_new)
{
    Bilheteria__V1__Reservation r = BILHETERIA__V1__RESERVATION__INIT;
    Bilheteria__V1__ReservedSeat seat = BILHETERIA__V1__RESERVED_SEAT__INIT;
    Bilheteria__V1__ReservedSeat *seats[1] = { &seat };
    seat.label = "C7";
    seat.price_cents = 4000;
    r.id = id;
    r.session_id = 1;
    r.user_id = (char *)user;
    r.status = status;
    r.seats = seats;
    r.n_seats = 1;
    r.total_cents = (int64_t)id;
    assert_int_equal(store_resv_put(t, &r, is_new), STORE_OK);
}

static void
expect_user_page(store_txn *t, const char *user, uint64_t from, size_t limit, const uint64_t *want,
                 size_t n_want, uint64_t want_next)
{
    store_page p = { 0 };
    assert_int_equal(store_resv_list_by_user(t, user, from, limit, NULL, &p), STORE_OK);
    assert_int_equal(p.n, n_want);
    assert_int_equal(p.next_id, want_next);
    for (size_t i = 0; i < p.n; i++) {
        Bilheteria__V1__Reservation *r = p.items[i];
        assert_int_equal(r->id, want[i]);
        assert_string_equal(r->user_id, user);
    }
    page_free(&p);
}

static void
test_reservations_by_user(void **state)
{
    struct fx *f = *state;
    const int pending = BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING;
    const int cancelled = BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CANCELLED;
    store_txn *t = wbegin(f);
    /* "alic" is a prefix of "alice": the NUL after the user id keeps them
     * apart. 256 and 255 differ in more than the last byte. */
    static const struct {
        uint64_t id;
        const char *user;
    } rs[] = {
        { 1, "alice" },        { 2, "bob" },
        { 3, "alice" },        { 4, "bob" },
        { 5, "alice" },        { 6, "alic" },
        { 255, "alice" },      { 256, "alice" },
        { 300, "alicea" },     { UINT64_MAX - 1, "max" },
        { UINT64_MAX, "max" },
    };
    for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
        put_resv(t, rs[i].id, rs[i].user, pending, 1);
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    Bilheteria__V1__Reservation *got = NULL;
    assert_int_equal(store_resv_get(t, 3, NULL, &got), STORE_OK);
    assert_string_equal(got->user_id, "alice");
    assert_int_equal(got->n_seats, 1);
    assert_string_equal(got->seats[0]->label, "C7");
    assert_int_equal(got->seats[0]->price_cents, 4000);
    bilheteria__v1__reservation__free_unpacked(got, NULL);

    static const uint64_t alice[] = { 256, 255, 5, 3, 1 };
    expect_user_page(t, "alice", 0, 50, alice, 5, 0);
    expect_user_page(t, "alice", 0, 5, alice, 5, 0);
    expect_user_page(t, "alice", 0, 4, alice, 4, 1);
    expect_user_page(t, "alice", 0, 2, alice, 2, 5);
    expect_user_page(t, "alice", 5, 2, alice + 2, 2, 1);
    expect_user_page(t, "alice", 1, 2, alice + 4, 1, 0);
    expect_user_page(t, "alice", 4, 1, alice + 3, 1, 1); /* from a foreign id */
    expect_user_page(t, "alice", UINT64_MAX, 1, alice, 1, 255);
    static const uint64_t bob[] = { 4, 2 };
    expect_user_page(t, "bob", 0, 10, bob, 2, 0);
    static const uint64_t alic[] = { 6 };
    expect_user_page(t, "alic", 0, 10, alic, 1, 0);
    static const uint64_t alicea[] = { 300 };
    expect_user_page(t, "alicea", 0, 10, alicea, 1, 0);
    /* The newest possible id is the first of its user's list. */
    static const uint64_t max[] = { UINT64_MAX, UINT64_MAX - 1 };
    expect_user_page(t, "max", 0, 10, max, 2, 0);
    expect_user_page(t, "max", 0, 1, max, 1, UINT64_MAX - 1);
    expect_user_page(t, "carol", 0, 10, NULL, 0, 0);
    expect_user_page(t, "al", 0, 10, NULL, 0, 0);

    store_page p = { 0 };
    assert_int_equal(store_resv_list_by_user(t, "", 0, 10, NULL, &p), STORE_INVALID);
    char big[300];
    memset(big, 'u', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(store_resv_list_by_user(t, big, 0, 10, NULL, &p), STORE_INVALID);
    store_read_end(t);

    /* An update (is_new = 0) changes the record, not the index. */
    t = wbegin(f);
    put_resv(t, 5, "alice", cancelled, 0);
    assert_int_equal(store_commit(t), STORE_OK);
    t = rbegin(f);
    expect_user_page(t, "alice", 0, 50, alice, 5, 0);
    assert_int_equal(store_resv_get(t, 5, NULL, &got), STORE_OK);
    assert_int_equal(got->status, cancelled);
    bilheteria__v1__reservation__free_unpacked(got, NULL);
    store_read_end(t);
}

static void
test_reservation_expiry_index(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    static const struct {
        int64_t exp;
        uint64_t id;
    } adds[] = {
        { 300, 1 }, { 100, 9 }, { 200, 3 }, { 100, 4 }, { 256, 2 }, { 255, 7 },
    };
    for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++)
        assert_int_equal(store_resv_expiry_add(t, adds[i].exp, adds[i].id), STORE_OK);

    int64_t exp[8];
    uint64_t ids[8];
    size_t n = 99;
    /* Earliest first; same expiry by id. */
    assert_int_equal(store_resv_expired(t, 1000, exp, ids, 8, &n), STORE_OK);
    assert_int_equal(n, 6);
    static const int64_t want_exp[] = { 100, 100, 200, 255, 256, 300 };
    static const uint64_t want_id[] = { 4, 9, 3, 7, 2, 1 };
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(exp[i], want_exp[i]);
        assert_int_equal(ids[i], want_id[i]);
    }
    /* Only up to now, inclusive. */
    assert_int_equal(store_resv_expired(t, 255, exp, ids, 8, &n), STORE_OK);
    assert_int_equal(n, 4);
    assert_int_equal(ids[3], 7);
    assert_int_equal(store_resv_expired(t, 99, exp, ids, 8, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_resv_expired(t, 100, exp, ids, 8, &n), STORE_OK);
    assert_int_equal(n, 2);
    /* max is respected, and only max slots are written. */
    exp[2] = -7;
    ids[2] = 77;
    assert_int_equal(store_resv_expired(t, 1000, exp, ids, 2, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 4);
    assert_int_equal(ids[1], 9);
    assert_int_equal(exp[2], -7);
    assert_int_equal(ids[2], 77);
    assert_int_equal(store_resv_expired(t, 1000, exp, ids, 0, &n), STORE_OK);
    assert_int_equal(n, 0);

    /* Deleting: exact (expiry, id) pair only; a missing one is fine. */
    assert_int_equal(store_resv_expiry_del(t, 100, 4), STORE_OK);
    assert_int_equal(store_resv_expiry_del(t, 100, 4), STORE_OK);
    assert_int_equal(store_resv_expiry_del(t, 200, 9), STORE_OK); /* wrong expiry */
    assert_int_equal(store_resv_expired(t, 200, exp, ids, 8, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 9);
    assert_int_equal(ids[1], 3);
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    assert_int_equal(store_resv_expired(t, INT64_MAX, exp, ids, 8, &n), STORE_OK);
    assert_int_equal(n, 5);
    store_read_end(t);
}

/* ---- payments ---- */

static void
put_payment(store_txn *t, uint64_t id, const char *provider, const char *ref)
{
    Bilheteria__V1__Payment p = BILHETERIA__V1__PAYMENT__INIT;
    p.id = id;
    p.reservation_id = id + 100;
    p.amount_cents = 5000;
    p.method = "pix";
    p.provider = (char *)provider;
    p.provider_ref = (char *)ref;
    assert_int_equal(store_payment_put(t, &p), STORE_OK);
}

static void
test_payments(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    put_payment(t, 1, "stripe", "ch_1");
    put_payment(t, 2, "stripe", "");        /* no ref: not indexed */
    put_payment(t, 3, "pagseguro", "ch_1"); /* same ref, other provider */
    put_payment(t, 4, "a", "bc");           /* the NUL keeps these apart */
    put_payment(t, 5, "ab", "c");
    put_payment(t, 6, "", "orphan");
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    static const struct {
        const char *prov, *ref;
        int rc;
        uint64_t id;
    } cases[] = {
        { "stripe", "ch_1", STORE_OK, 1 },   { "pagseguro", "ch_1", STORE_OK, 3 },
        { "a", "bc", STORE_OK, 4 },          { "ab", "c", STORE_OK, 5 },
        { "", "orphan", STORE_OK, 6 },       { "stripe", "ch_2", STORE_NOTFOUND, 0 },
        { "stripe", "", STORE_NOTFOUND, 0 }, { "stripe", "ch_", STORE_NOTFOUND, 0 },
        { "abc", "", STORE_NOTFOUND, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t id = 12345;
        assert_int_equal(store_payment_by_ref(t, cases[i].prov, cases[i].ref, &id), cases[i].rc);
        assert_int_equal(id, cases[i].rc == STORE_OK ? cases[i].id : 12345);
    }
    char big[600];
    memset(big, 'r', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    uint64_t id = 0;
    assert_int_equal(store_payment_by_ref(t, "stripe", big, &id), STORE_INVALID);

    Bilheteria__V1__Payment *got = NULL;
    assert_int_equal(store_payment_get(t, 3, NULL, &got), STORE_OK);
    assert_int_equal(got->reservation_id, 103);
    assert_string_equal(got->provider, "pagseguro");
    assert_string_equal(got->provider_ref, "ch_1");
    assert_string_equal(got->method, "pix");
    bilheteria__v1__payment__free_unpacked(got, NULL);
    store_read_end(t);
}

/* ---- idempotency records ---- */

static void
put_idem(store_txn *t, const char *identity, const char *key, int64_t created)
{
    Bilheteria__Store__IdemRecord r = BILHETERIA__STORE__IDEM_RECORD__INIT;
    uint8_t fp[32], payload[3] = { 0, 1, 2 };
    for (int i = 0; i < 32; i++)
        fp[i] = (uint8_t)(i * 7 + created);
    r.method = "bilheteria.v1.PaymentService/ConfirmPayment";
    r.fingerprint.data = fp;
    r.fingerprint.len = 32;
    r.created_at_ms = created;
    r.status = 9;
    r.message = "no";
    r.payload.data = payload;
    r.payload.len = sizeof(payload);
    assert_int_equal(store_idem_put(t, identity, key, &r), STORE_OK);
}

static int64_t
idem_created(store_txn *t, const char *identity, const char *key)
{
    Bilheteria__Store__IdemRecord *r = NULL;
    int rc = store_idem_get(t, identity, key, NULL, &r);
    if (rc == STORE_NOTFOUND) {
        assert_null(r);
        return -1;
    }
    assert_int_equal(rc, STORE_OK);
    int64_t c = r->created_at_ms;
    bilheteria__store__idem_record__free_unpacked(r, NULL);
    return c;
}

static void
test_idempotency(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    put_idem(t, "u1", "k1", 1000);
    put_idem(t, "u1", "k2", 2000);
    put_idem(t, "u2", "k1", 3000);
    put_idem(t, "", "k1", 1500);   /* anonymous */
    put_idem(t, "u", "1k1", 2500); /* "u" NUL "1k1" vs "u1" NUL "k1" */
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    Bilheteria__Store__IdemRecord *r = NULL;
    assert_int_equal(store_idem_get(t, "u1", "k1", NULL, &r), STORE_OK);
    assert_string_equal(r->method, "bilheteria.v1.PaymentService/ConfirmPayment");
    assert_int_equal(r->fingerprint.len, 32);
    assert_int_equal(r->fingerprint.data[1], (uint8_t)(7 + 1000));
    assert_int_equal(r->status, 9);
    assert_string_equal(r->message, "no");
    assert_int_equal(r->payload.len, 3);
    assert_int_equal(r->payload.data[2], 2);
    bilheteria__store__idem_record__free_unpacked(r, NULL);
    assert_int_equal(idem_created(t, "u2", "k1"), 3000);
    assert_int_equal(idem_created(t, "", "k1"), 1500);
    assert_int_equal(idem_created(t, "u", "1k1"), 2500);
    assert_int_equal(idem_created(t, "u3", "k1"), -1);
    assert_int_equal(idem_created(t, "u1", "k3"), -1);
    r = NULL;
    assert_int_equal(store_idem_get(t, "u1", "", NULL, &r), STORE_INVALID);
    char big[500];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(store_idem_get(t, "u1", big, NULL, &r), STORE_INVALID);
    assert_null(r);
    store_read_end(t);

    t = wbegin(f);
    size_t n = 99;
    /* Strictly older than before_ms. */
    assert_int_equal(store_idem_sweep(t, 1000, 10, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_idem_sweep(t, 2000, 10, &n), STORE_OK);
    assert_int_equal(n, 2); /* 1000 and 1500 */
    assert_int_equal(idem_created(t, "u1", "k1"), -1);
    assert_int_equal(idem_created(t, "", "k1"), -1);
    assert_int_equal(idem_created(t, "u1", "k2"), 2000);
    /* max is respected, oldest go first. */
    assert_int_equal(store_idem_sweep(t, 10000, 1, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(idem_created(t, "u1", "k2"), -1);
    assert_int_equal(idem_created(t, "u", "1k1"), 2500);
    assert_int_equal(store_idem_sweep(t, 10000, 0, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(idem_created(t, "u", "1k1"), 2500);
    assert_int_equal(store_idem_sweep(t, 10000, 10, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(idem_created(t, "u2", "k1"), -1);
    assert_int_equal(store_idem_sweep(t, 10000, 10, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_commit(t), STORE_OK);
}

/* Writing the same (identity, key) again with a later created_at must not
 * let the sweep delete it by the first write's time. */
static void
test_idempotency_rewrite_then_sweep(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    put_idem(t, "u", "k", 1000);
    put_idem(t, "u", "k", 5000);
    size_t n = 99;
    assert_int_equal(store_idem_sweep(t, 2000, 10, &n), STORE_OK);
    int64_t created = idem_created(t, "u", "k");
    store_abort(t);
    assert_int_equal(n, 0);
    assert_int_equal(created, 5000);
}

/* ---- transactions ---- */

static int
event_exists(store_txn *t, uint64_t id)
{
    Bilheteria__V1__Event *ev = NULL;
    int rc = store_event_get(t, id, NULL, &ev);
    if (rc == STORE_OK) {
        assert_int_equal(ev->id, id);
        bilheteria__v1__event__free_unpacked(ev, NULL);
        return 1;
    }
    assert_int_equal(rc, STORE_NOTFOUND);
    return 0;
}

static void
put_event(store_txn *t, uint64_t id)
{
    Bilheteria__V1__Event ev = BILHETERIA__V1__EVENT__INIT;
    ev.id = id;
    ev.name = "x";
    assert_int_equal(store_event_put(t, &ev), STORE_OK);
}

static void
test_nested_transactions(void **state)
{
    struct fx *f = *state;
    uint64_t id;
    store_txn *parent = wbegin(f), *child = NULL;
    put_event(parent, 1);
    assert_int_equal(store_next_id(parent, STORE_SEQ_EVENT, &id), STORE_OK);
    assert_int_equal(id, 1);

    /* A child that aborts leaves the parent as it was. */
    assert_int_equal(store_nested_begin(parent, &child), STORE_OK);
    assert_true(event_exists(child, 1));
    put_event(child, 2);
    assert_int_equal(store_next_id(child, STORE_SEQ_EVENT, &id), STORE_OK);
    assert_int_equal(id, 2);
    store_seat s = { 5, 0, 0 };
    assert_int_equal(store_seat_put(child, 1, 1, &s), STORE_OK);
    assert_true(event_exists(child, 2));
    store_abort(child);
    assert_true(event_exists(parent, 1));
    assert_false(event_exists(parent, 2));
    assert_int_equal(store_seat_get(parent, 1, 1, &s), STORE_NOTFOUND);
    assert_int_equal(store_next_id(parent, STORE_SEQ_EVENT, &id), STORE_OK);
    assert_int_equal(id, 2);

    /* A child that commits is visible in the parent, and after the
     * parent's commit everywhere. */
    assert_int_equal(store_nested_begin(parent, &child), STORE_OK);
    put_event(child, 3);
    assert_int_equal(store_commit(child), STORE_OK);
    assert_true(event_exists(parent, 3));

    /* Not visible to a reader before the parent commits. */
    store_txn *r = rbegin(f);
    assert_false(event_exists(r, 1));
    assert_false(event_exists(r, 3));
    store_read_end(r);

    assert_int_equal(store_commit(parent), STORE_OK);
    r = rbegin(f);
    assert_true(event_exists(r, 1));
    assert_false(event_exists(r, 2));
    assert_true(event_exists(r, 3));
    /* Read transactions cannot have children. */
    child = (store_txn *)&id;
    assert_int_equal(store_nested_begin(r, &child), STORE_INVALID);
    assert_ptr_equal(child, (store_txn *)&id);
    store_read_end(r);

    /* A committed child inside an aborted parent is gone too. */
    parent = wbegin(f);
    assert_int_equal(store_nested_begin(parent, &child), STORE_OK);
    put_event(child, 4);
    assert_int_equal(store_commit(child), STORE_OK);
    store_abort(parent);
    r = rbegin(f);
    assert_false(event_exists(r, 4));
    store_read_end(r);
}

static void
test_abort_discards_everything(void **state)
{
    struct fx *f = *state;
    uint64_t id;
    store_txn *t = wbegin(f);
    put_event(t, 10);
    put_session(t, 11, 10);
    put_resv(t, 12, "alice", 1, 1);
    put_payment(t, 13, "stripe", "ref");
    put_idem(t, "u", "k", 5);
    store_seat s = { 12, 99, 1 };
    assert_int_equal(store_seat_put(t, 11, 3, &s), STORE_OK);
    assert_int_equal(store_resv_expiry_add(t, 99, 12), STORE_OK);
    assert_int_equal(store_next_id(t, STORE_SEQ_RESERVATION, &id), STORE_OK);
    assert_int_equal(store_session_state_put(t, 11, 4), STORE_OK);
    store_abort(t);

    t = rbegin(f);
    assert_false(event_exists(t, 10));
    store_page p = { 0 };
    assert_int_equal(store_session_list(t, 10, 0, 10, NULL, &p), STORE_OK);
    assert_int_equal(p.n, 0);
    page_free(&p);
    assert_int_equal(store_resv_list_by_user(t, "alice", 0, 10, NULL, &p), STORE_OK);
    assert_int_equal(p.n, 0);
    page_free(&p);
    uint64_t pid;
    assert_int_equal(store_payment_by_ref(t, "stripe", "ref", &pid), STORE_NOTFOUND);
    assert_int_equal(idem_created(t, "u", "k"), -1);
    assert_int_equal(store_seat_get(t, 11, 3, &s), STORE_NOTFOUND);
    int64_t exp[1];
    uint64_t ids[1];
    size_t n = 9;
    assert_int_equal(store_resv_expired(t, INT64_MAX, exp, ids, 1, &n), STORE_OK);
    assert_int_equal(n, 0);
    uint32_t half = 7;
    assert_int_equal(store_session_state_get(t, 11, &half), STORE_OK);
    assert_int_equal(half, 0);
    store_read_end(t);
    t = wbegin(f);
    assert_int_equal(store_next_id(t, STORE_SEQ_RESERVATION, &id), STORE_OK);
    assert_int_equal(id, 1);
    store_abort(t);
}

/* ---- map full and growth ---- */

#define BLOB 3000

/* Puts events first..last with a BLOB-byte description. */
static int
fill(store_txn *t, uint64_t first, uint64_t last, char *blob)
{
    for (uint64_t id = first; id <= last; id++) {
        Bilheteria__V1__Event ev = BILHETERIA__V1__EVENT__INIT;
        ev.id = id;
        ev.name = "big";
        ev.description = blob;
        int rc = store_event_put(t, &ev);
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

static void
test_map_full_then_grow(void **state)
{
    struct fx *f = *state;
    char *blob = malloc(BLOB + 1);
    assert_non_null(blob);
    memset(blob, 'd', BLOB);
    blob[BLOB] = 0;

    size_t before = store_map_size(f->s);
    assert_int_equal(before, MAP_SMALL);
    store_txn *t = wbegin(f);
    uint64_t id = 0;
    int rc = STORE_OK;
    while (rc == STORE_OK && id < 10000) {
        id++;
        rc = fill(t, id, id, blob);
    }
    assert_int_equal(rc, STORE_MAP_FULL);
    /* 1 MiB holds a few hundred of these, not thousands. */
    assert_in_range(id, 2, 1000);
    store_abort(t);

    /* Nothing of the failed transaction landed. */
    t = rbegin(f);
    assert_false(event_exists(t, 1));
    store_read_end(t);

    assert_int_equal(store_grow(f->s, NULL, 0), STORE_OK);
    assert_int_equal(store_map_size(f->s), 2 * before);
    t = wbegin(f);
    assert_int_equal(fill(t, 1, id, blob), STORE_OK);
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    assert_true(event_exists(t, 1));
    assert_true(event_exists(t, id));
    store_page p = { 0 };
    assert_int_equal(store_event_list(t, 0, (size_t)id + 1, NULL, &p), STORE_OK);
    assert_int_equal(p.n, id);
    assert_int_equal(strlen(((Bilheteria__V1__Event *)p.items[p.n - 1])->description), BLOB);
    page_free(&p);
    store_read_end(t);

    /* Reopening with the small map keeps the data: the map is at least as
     * large as the file. */
    reopen(f);
    assert_true(store_map_size(f->s) > MAP_SMALL);
    t = rbegin(f);
    assert_true(event_exists(t, id));
    store_read_end(t);
    free(blob);
}

/* ---- missing records ---- */

static void
test_notfound(void **state)
{
    struct fx *f = *state;
    store_txn *t = wbegin(f);
    put_event(t, 1);
    put_session(t, 1, 1);
    put_resv(t, 1, "alice", 1, 1);
    put_payment(t, 1, "p", "r");
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    /* Out-parameters are written only on success. */
    void *sentinel = &sentinel;
    Bilheteria__V1__Event *ev = sentinel;
    Bilheteria__V1__Session *ss = sentinel;
    Bilheteria__V1__Product *pr = sentinel;
    Bilheteria__V1__Reservation *rv = sentinel;
    Bilheteria__V1__Payment *pay = sentinel;
    Bilheteria__Store__IdemRecord *idem = sentinel;
    static const uint64_t missing[] = { 0, 2, 256, UINT64_MAX };
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        uint64_t id = missing[i];
        assert_int_equal(store_event_get(t, id, NULL, &ev), STORE_NOTFOUND);
        assert_int_equal(store_session_get(t, id, NULL, &ss), STORE_NOTFOUND);
        assert_int_equal(store_product_get(t, id, NULL, &pr), STORE_NOTFOUND);
        assert_int_equal(store_resv_get(t, id, NULL, &rv), STORE_NOTFOUND);
        assert_int_equal(store_payment_get(t, id, NULL, &pay), STORE_NOTFOUND);
    }
    assert_int_equal(store_product_get(t, 1, NULL, &pr), STORE_NOTFOUND);
    assert_int_equal(store_idem_get(t, "u", "k", NULL, &idem), STORE_NOTFOUND);
    assert_ptr_equal(ev, sentinel);
    assert_ptr_equal(ss, sentinel);
    assert_ptr_equal(pr, sentinel);
    assert_ptr_equal(rv, sentinel);
    assert_ptr_equal(pay, sentinel);
    assert_ptr_equal(idem, sentinel);
    store_seat seat = { 77, 88, 1 };
    assert_int_equal(store_seat_get(t, 1, 0, &seat), STORE_NOTFOUND);
    assert_int_equal(seat.reservation_id, 77);
    uint64_t pid = 5;
    assert_int_equal(store_payment_by_ref(t, "p", "x", &pid), STORE_NOTFOUND);
    assert_int_equal(pid, 5);
    store_read_end(t);
}

/* An exclusive store is the only one on its directory until it is closed;
 * a plain open (the fixture's) does not take the lock. */
static void
test_exclusive_open(void **state)
{
    struct fx *f = *state;
    char err[256];
    store *a = NULL, *b = NULL;
    store_config cfg = { .dir = f->dir, .map_size = MAP_SMALL, .no_sync = 1, .exclusive = 1 };
    assert_int_equal(store_open(&a, &cfg, err, sizeof(err)), STORE_OK);
    assert_int_equal(store_open(&b, &cfg, err, sizeof(err)), STORE_BUSY);
    assert_null(b);
    assert_non_null(strstr(err, "is in use by another bilheteria-server"));
    assert_non_null(strstr(err, f->dir));
    store_close(a);
    assert_int_equal(store_open(&b, &cfg, err, sizeof(err)), STORE_OK);
    store_close(b);
}

/* Waiting lists: arrival order per session, the WAITING index following the
 * status, a user's latest entry, positions among WAITING entries only. */
static void
wl_put(store_txn *t, uint64_t session, uint64_t seq, const char *user, int status, int is_new)
{
    Bilheteria__V1__WaitlistEntry e = BILHETERIA__V1__WAITLIST_ENTRY__INIT;
    e.session_id = session;
    e.seq = seq;
    e.user_id = (char *)user;
    e.seats = 2;
    e.status = status;
    assert_int_equal(store_waitlist_put(t, &e, is_new), STORE_OK);
}

static void
test_waitlist(void **state)
{
    struct fx *f = *state;
    enum {
        W = BILHETERIA__V1__WAITLIST_STATUS__WAITLIST_STATUS_WAITING,
        O = BILHETERIA__V1__WAITLIST_STATUS__WAITLIST_STATUS_OFFERED,
        L = BILHETERIA__V1__WAITLIST_STATUS__WAITLIST_STATUS_LEFT
    };
    store_txn *t = wbegin(f);
    wl_put(t, 7, 1, "bia", W, 1);
    wl_put(t, 8, 2, "zeca", W, 1); /* another session's, between */
    wl_put(t, 7, 3, "caio", W, 1);
    wl_put(t, 7, 4, "duda", W, 1);
    wl_put(t, 7, 1, "bia", O, 0); /* bia's offer: out of the line */
    wl_put(t, 7, 3, "caio", L, 0);
    wl_put(t, 7, 5, "caio", W, 1); /* caio joins again, last */
    assert_int_equal(store_commit(t), STORE_OK);

    t = rbegin(f);
    uint64_t seqs[8];
    size_t n;
    assert_int_equal(store_waitlist_waiting(t, 7, seqs, 8, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(seqs[0], 4);
    assert_int_equal(seqs[1], 5);
    assert_int_equal(store_waitlist_waiting(t, 7, seqs, 1, &n), STORE_OK);
    assert_int_equal(n, 1);
    uint32_t pos = 0;
    assert_int_equal(store_waitlist_position(t, 7, 5, &pos), STORE_OK);
    assert_int_equal(pos, 2);
    assert_int_equal(store_waitlist_position(t, 8, 2, &pos), STORE_OK);
    assert_int_equal(pos, 1);
    Bilheteria__V1__WaitlistEntry *e = NULL;
    assert_int_equal(store_waitlist_find(t, 7, "caio", NULL, &e), STORE_OK);
    assert_int_equal(e->seq, 5);
    assert_int_equal(e->status, W);
    bilheteria__v1__waitlist_entry__free_unpacked(e, NULL);
    assert_int_equal(store_waitlist_find(t, 7, "bia", NULL, &e), STORE_OK);
    assert_int_equal(e->status, O);
    bilheteria__v1__waitlist_entry__free_unpacked(e, NULL);
    assert_int_equal(store_waitlist_find(t, 7, "zeca", NULL, &e), STORE_NOTFOUND);
    assert_int_equal(store_waitlist_find(t, 7, "", NULL, &e), STORE_INVALID);
    /* The whole history, in arrival order, page by page. */
    store_page pg;
    assert_int_equal(store_waitlist_list(t, 7, 0, 3, NULL, &pg), STORE_OK);
    assert_int_equal(pg.n, 3);
    assert_int_equal(((Bilheteria__V1__WaitlistEntry *)pg.items[0])->seq, 1);
    assert_int_equal(((Bilheteria__V1__WaitlistEntry *)pg.items[2])->seq, 4);
    assert_int_equal(pg.next_id, 5);
    page_free(&pg);
    assert_int_equal(store_waitlist_list(t, 7, 5, 3, NULL, &pg), STORE_OK);
    assert_int_equal(pg.n, 1);
    assert_int_equal(pg.next_id, 0);
    page_free(&pg);
    store_read_end(t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_creates_dir_and_schema),
        T(test_open_fails_when_dir_cannot_be_made),
        T(test_reopen_keeps_data),
        T(test_deferred_meta_sync),
        T(test_exclusive_open),
        T(test_schema_mismatch_refused),
        cmocka_unit_test(test_strerror),
        T(test_sequences),
        T(test_event_put_get),
        T(test_event_paging),
        T(test_event_paging_sparse_ids),
        T(test_sessions),
        T(test_session_state),
        T(test_user_seats),
        T(test_report_counters),
        T(test_products),
        T(test_seats),
        T(test_reservations_by_user),
        T(test_reservation_expiry_index),
        T(test_payments),
        T(test_waitlist),
        T(test_idempotency),
        T(test_idempotency_rewrite_then_sweep),
        T(test_nested_transactions),
        T(test_abort_discards_everything),
        T(test_map_full_then_grow),
        T(test_notfound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
