/* SPDX-License-Identifier: Apache-2.0 */
/* Integration: the change feed against a real server. Types and ids of
 * each change, refusals and replays adding nothing, gapless commit order
 * under concurrent writers, the long poll woken by a commit (and by the
 * sweeper's expiry), the seq across kill -9, retention (OUT_OF_RANGE),
 * the CLI's watch and report export, and the README's consumer loop. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "harness.h"

/* The README's consumer loop, cut out of README.md by CMake. */
#include "feed_consumer.c"

static bht_server srv;
static bh_client *cl;
static uint64_t sess;

static int
group_setup(void **state)
{
    (void)state;
    static const char *const extra[] = { "--sweep-interval-ms", "100", NULL };
    int rc = bht_group_start(&srv, &cl, extra);
    if (rc == 0)
        sess = bht_session(cl, bht_event(cl, "Feed"), 20, 20, 1000);
    return rc;
}

static int
group_teardown(void **state)
{
    (void)state;
    return bht_group_stop(&srv, cl);
}

static Bilheteria__V1__ListChangesResponse *
changes(bh_client *c, uint64_t after, uint32_t max, uint32_t wait_ms, bh_status *st)
{
    Bilheteria__V1__ListChangesRequest q = BILHETERIA__V1__LIST_CHANGES_REQUEST__INIT;
    Bilheteria__V1__ListChangesResponse *r = NULL;
    bh_call_opts o = { .timeout_ms = (int32_t)wait_ms + 10000 };
    bh_status mine;
    q.after_seq = after;
    q.max = max;
    q.wait_ms = wait_ms;
    if (bh_feed_list_changes(c, &q, &r, &o, st ? st : &mine) != BH_OK)
        return NULL;
    return r;
}

static uint64_t
last_seq(void)
{
    bh_status st;
    Bilheteria__V1__ListChangesResponse *r = changes(cl, 0, 1, 0, &st);
    if (r == NULL)
        fail_msg("ListChanges: %s: %s", bh_code_name(st.code), st.message);
    uint64_t last = r->last_seq;
    bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
    return last;
}

/* Holds seat in the group's session for user. */
static int
reserve(bh_client *c, const char *user, const char *seat, int32_t ttl_s, uint64_t *id)
{
    bht_hold h = { .session = sess, .user = user, .seats = seat, .ttl_s = ttl_s };
    Bilheteria__V1__Reservation *r = NULL;
    int rc = bht_reserve(c, &h, &r, NULL);
    if (rc == BH_OK && id != NULL)
        *id = r->id;
    bht_free_resv(r);
    return rc;
}

/* Pays resv's 1000 (no method named), through stripe with ref if not
 * NULL. */
static int
pay(uint64_t resv, const char *key, const char *ref)
{
    bht_payment p = { .reservation = resv,
                      .amount = 1000,
                      .key = key,
                      .method = "",
                      .provider = ref != NULL ? "stripe" : NULL,
                      .ref = ref };
    return bht_pay(cl, &p, NULL, NULL);
}

/* A change's object, decoded with d (the test knows its type). */
static ProtobufCMessage *
object(const Bilheteria__V1__Change *ch, const ProtobufCMessageDescriptor *d)
{
    char want[256];
    snprintf(want, sizeof(want), "type.googleapis.com/%s", d->name);
    assert_non_null(ch->object);
    assert_string_equal(ch->object->type_url, want);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(d, NULL, ch->object->value.len, ch->object->value.data);
    assert_non_null(m);
    return m;
}

/* A hold and its payment: reservation.created, then payment.confirmed and
 * reservation.confirmed, each with its ids and its object as it is after
 * the change. */
static void
test_types_ids_objects(void **state)
{
    (void)state;
    uint64_t before = last_seq(), id;
    assert_int_equal(reserve(cl, "ana", "A1", 0, &id), BH_OK);
    assert_int_equal(pay(id, "feed-pay-1", NULL), BH_OK);
    Bilheteria__V1__ListChangesResponse *r = changes(cl, before, 10, 0, NULL);
    assert_non_null(r);
    assert_int_equal(r->n_changes, 3);
    assert_int_equal(r->last_seq, before + 3);
    static const char *const types[] = { "reservation.created", "payment.confirmed",
                                         "reservation.confirmed" };
    for (size_t i = 0; i < 3; i++) {
        const Bilheteria__V1__Change *ch = r->changes[i];
        assert_int_equal(ch->seq, before + 1 + i);
        assert_string_equal(ch->type, types[i]);
        assert_int_equal(ch->reservation_id, id);
        assert_int_equal(ch->session_id, sess);
        assert_string_equal(ch->user_id, "ana");
        assert_true(ch->time_ms > 0);
        assert_int_equal(ch->payment_id != 0, i > 0);
    }
    Bilheteria__V1__Reservation *created =
        (void *)object(r->changes[0], &bilheteria__v1__reservation__descriptor);
    Bilheteria__V1__Payment *p =
        (void *)object(r->changes[1], &bilheteria__v1__payment__descriptor);
    Bilheteria__V1__Reservation *paid =
        (void *)object(r->changes[2], &bilheteria__v1__reservation__descriptor);
    assert_int_equal(created->status,
                     BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING);
    assert_int_equal(paid->status,
                     BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED);
    assert_int_equal(p->reservation_id, id);
    assert_int_equal(p->id, r->changes[1]->payment_id);
    bilheteria__v1__reservation__free_unpacked(created, NULL);
    bilheteria__v1__reservation__free_unpacked(paid, NULL);
    bilheteria__v1__payment__free_unpacked(p, NULL);
    bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
}

/* A refused call, an idempotent replay and a payment announced again
 * under another key (the provider's reference) change nothing: no entry. */
static void
test_nothing_for_what_changed_nothing(void **state)
{
    (void)state;
    uint64_t id;
    assert_int_equal(reserve(cl, "bia", "B1", 0, &id), BH_OK);
    assert_int_equal(pay(id, "feed-pay-2", "ch_feed_2"), BH_OK);
    uint64_t before = last_seq();
    assert_int_equal(reserve(cl, "caio", "B1", 0, NULL), BH_FAILED_PRECONDITION); /* sold */
    assert_int_equal(reserve(cl, "caio", "Z99", 0, NULL), BH_INVALID_ARGUMENT);
    assert_int_equal(pay(id, "feed-pay-2", "ch_feed_2"), BH_OK);  /* replayed */
    assert_int_equal(pay(id, "feed-pay-2b", "ch_feed_2"), BH_OK); /* same reference */
    assert_int_equal(pay(id, "feed-pay-2c", NULL), BH_FAILED_PRECONDITION);
    assert_int_equal(last_seq(), before);
}

#define WRITERS 4
#define EACH    30

typedef struct writer_arg {
    int n;
    int ok;
} writer_arg;

/* Rows A..L, two writers per row, so that half the calls collide. */
static void *
writer_main(void *arg)
{
    writer_arg *a = arg;
    bh_client *c = bht_client(&srv);
    char seat[8], user[16];
    snprintf(user, sizeof(user), "w%d", a->n);
    for (int i = 0; i < EACH; i++) {
        snprintf(seat, sizeof(seat), "%c%d", 'C' + (a->n / 2) * 2 + i / 20, i % 20 + 1);
        if (reserve(c, user, seat, 0, NULL) == BH_OK)
            a->ok++;
    }
    bh_client_close(c);
    return NULL;
}

/* Concurrent writers (some refused): the feed has exactly one
 * reservation.created per success, with seqs gapless and reservation ids
 * (given in commit order) rising in seq order. */
static void
test_gapless_commit_order(void **state)
{
    (void)state;
    pthread_t t[WRITERS];
    writer_arg a[WRITERS];
    uint64_t before = last_seq(), after = before, prev_id = 0;
    int ok = 0, seen = 0;
    for (int i = 0; i < WRITERS; i++) {
        a[i] = (writer_arg){ .n = i };
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &a[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
        ok += a[i].ok;
    }
    assert_true(ok > 0 && ok < WRITERS * EACH); /* the pairs collided */
    for (;;) {
        Bilheteria__V1__ListChangesResponse *r = changes(cl, after, 7, 0, NULL);
        assert_non_null(r);
        size_t n = r->n_changes;
        for (size_t i = 0; i < n; i++) {
            const Bilheteria__V1__Change *ch = r->changes[i];
            assert_int_equal(ch->seq, after + 1);
            after = ch->seq;
            if (strcmp(ch->type, "reservation.created") == 0) {
                assert_true(ch->reservation_id > prev_id);
                prev_id = ch->reservation_id;
                seen++;
            }
        }
        bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
        if (n == 0)
            break;
    }
    assert_int_equal(seen, ok);
    assert_int_equal(after, last_seq());
}

typedef struct poll_arg {
    uint64_t after;
    Bilheteria__V1__ListChangesResponse *r;
    bh_status st;
} poll_arg;

static void *
poll_main(void *arg)
{
    poll_arg *p = arg;
    bh_client *c = bht_client(&srv);
    p->r = changes(c, p->after, 10, 20000, &p->st);
    bh_client_close(c);
    return NULL;
}

/* A waiting ListChanges returns with the change a write commits, and with
 * the sweeper's reservation.expired, which no call makes. */
static void
test_long_poll_wakes_on_commit(void **state)
{
    (void)state;
    pthread_t t;
    poll_arg p = { .after = last_seq() };
    uint64_t id;
    assert_int_equal(pthread_create(&t, NULL, poll_main, &p), 0);
    bht_sleep_ms(300); /* most likely parked by now; either way it must see the change */
    assert_int_equal(reserve(cl, "dani", "M1", 1, &id), BH_OK);
    pthread_join(t, NULL);
    assert_non_null(p.r);
    assert_true(p.r->n_changes >= 1);
    assert_string_equal(p.r->changes[0]->type, "reservation.created");
    assert_int_equal(p.r->changes[0]->reservation_id, id);
    p.after = p.r->changes[0]->seq;
    bilheteria__v1__list_changes_response__free_unpacked(p.r, NULL);
    /* The 1 s hold lapses and the sweeper expires it. */
    p.r = NULL;
    assert_int_equal(pthread_create(&t, NULL, poll_main, &p), 0);
    pthread_join(t, NULL);
    assert_non_null(p.r);
    assert_int_equal(p.r->n_changes, 1);
    assert_string_equal(p.r->changes[0]->type, "reservation.expired");
    assert_int_equal(p.r->changes[0]->reservation_id, id);
    Bilheteria__V1__Reservation *r =
        (void *)object(p.r->changes[0], &bilheteria__v1__reservation__descriptor);
    assert_int_equal(r->status, BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_EXPIRED);
    bilheteria__v1__reservation__free_unpacked(r, NULL);
    bilheteria__v1__list_changes_response__free_unpacked(p.r, NULL);
}

/* Nothing new within wait_ms: an empty answer, not an error; a cursor
 * past the end and a max over the limit are refused. */
static void
test_long_poll_empty_and_bad_input(void **state)
{
    (void)state;
    bh_status st;
    uint64_t last = last_seq();
    Bilheteria__V1__ListChangesResponse *r = changes(cl, last, 10, 200, &st);
    assert_non_null(r);
    assert_int_equal(r->n_changes, 0);
    assert_int_equal(r->last_seq, last);
    bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
    assert_null(changes(cl, last + 5, 10, 0, &st));
    assert_int_equal(st.code, BH_OUT_OF_RANGE);
    assert_null(changes(cl, 0, 5000, 0, &st));
    assert_int_equal(st.code, BH_INVALID_ARGUMENT);
}

/* kill -9 loses no committed change and the seq goes on after it. */
static void
test_kill9_keeps_the_seq(void **state)
{
    (void)state;
    uint64_t id;
    assert_int_equal(reserve(cl, "eva", "N1", 0, &id), BH_OK);
    uint64_t last = last_seq();
    bh_client_close(cl);
    bht_kill9(&srv);
    assert_int_equal(bht_restart(&srv), 0);
    cl = bht_client(&srv);
    assert_int_equal(last_seq(), last);
    Bilheteria__V1__ListChangesResponse *r = changes(cl, last - 1, 10, 0, NULL);
    assert_non_null(r);
    assert_int_equal(r->n_changes, 1);
    assert_int_equal(r->changes[0]->reservation_id, id);
    bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
    assert_int_equal(reserve(cl, "eva", "N2", 0, NULL), BH_OK);
    assert_int_equal(last_seq(), last + 1);
}

/* watch --from 1 --limit 3 --json: three JSON lines, seq 1..3, objects
 * decoded with their @type. */
static void
test_cli_watch_json(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    const char *const argv[] = { "watch", "--from", "1", "--limit", "3", "--json", NULL };
    assert_int_equal(bht_cli(&srv, &out, &err, argv), 0);
    char *line = out;
    for (int i = 1; i <= 3; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = 0;
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        assert_int_equal(cJSON_GetObjectItem(j, "seq")->valuedouble, i);
        cJSON *o = cJSON_GetObjectItem(j, "object");
        assert_non_null(cJSON_GetObjectItem(o, "@type"));
        assert_non_null(cJSON_GetObjectItem(o, "id"));
        cJSON_Delete(j);
        line = nl + 1;
    }
    assert_string_equal(line, "");
    free(out);
    free(err);
}

typedef struct cli_arg {
    char from[32];
    char *out, *err;
    int rc;
} cli_arg;

static void *
watch_main(void *arg)
{
    cli_arg *a = arg;
    const char *const argv[] = { "watch", "--from", a->from, "--limit", "1", NULL };
    a->rc = bht_cli(&srv, &a->out, &a->err, argv);
    return NULL;
}

/* watch waits for the next change, prints it and stops at --limit. */
static void
test_cli_watch_waits(void **state)
{
    (void)state;
    cli_arg a = { .rc = -1 };
    pthread_t t;
    uint64_t id;
    snprintf(a.from, sizeof(a.from), "%llu", (unsigned long long)last_seq() + 1);
    assert_int_equal(pthread_create(&t, NULL, watch_main, &a), 0);
    bht_sleep_ms(300);
    assert_int_equal(reserve(cl, "fabi", "O1", 0, &id), BH_OK);
    pthread_join(t, NULL);
    assert_int_equal(a.rc, 0);
    char want[64];
    snprintf(want, sizeof(want), "reservation=%llu", (unsigned long long)id);
    assert_non_null(strstr(a.out, "reservation.created"));
    assert_non_null(strstr(a.out, want));
    assert_non_null(strstr(a.out, "user=fabi"));
    assert_int_equal(strchr(a.out, '\n') - a.out + 1, (long)strlen(a.out)); /* one line */
    free(a.out);
    free(a.err);
}

/* report export --from 1: a header and one CSV row per change up to the
 * end, each starting with its seq; totals where the object has one. */
static void
test_cli_export_csv(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    const char *const argv[] = { "report", "export", "--from", "1", NULL };
    uint64_t last = last_seq();
    assert_int_equal(bht_cli(&srv, &out, &err, argv), 0);
    char *line = strtok(out, "\n");
    assert_string_equal(line, "seq,time,type,reservation_id,session_id,event_id,payment_id,"
                              "product_id,user_id,total_cents");
    uint64_t n = 0;
    int payment_total = 0;
    while ((line = strtok(NULL, "\n")) != NULL) {
        n++;
        assert_int_equal(strtoull(line, NULL, 10), n);
        if (strstr(line, ",payment.confirmed,") != NULL)
            payment_total = strcmp(strrchr(line, ',') + 1, "1000") == 0;
    }
    assert_int_equal(n, last);
    assert_true(payment_total);
    free(out);
    free(err);
}

typedef struct collect {
    uint64_t seqs[8];
    int n, want;
} collect;

static int
collect_one(const Bilheteria__V1__Change *ch, void *arg)
{
    collect *c = arg;
    c->seqs[c->n++] = ch->seq;
    return c->n == c->want;
}

/* The README's loop hands changes over in order from its cursor on. */
static void
test_readme_consumer(void **state)
{
    (void)state;
    collect c = { .want = 3 };
    uint64_t cursor = 2;
    assert_int_equal(feed_consume(cl, &cursor, collect_one, &c), 0);
    assert_int_equal(c.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(c.seqs[i], 3 + i);
    assert_int_equal(cursor, 5);
}

/* Retention: with --feed-retention-s 1 the writer trims the old changes;
 * a cursor before the oldest kept is OUT_OF_RANGE naming it, and the seq
 * goes on from where it was. */
static void
test_retention_out_of_range(void **state)
{
    (void)state;
    bht_server s2;
    static const char *const extra[] = { "--feed-retention-s", "1", "--sweep-interval-ms", "50",
                                         NULL };
    assert_int_equal(bht_start(&s2, extra), 0);
    bh_client *c = bht_client(&s2);
    bht_event(c, "one");
    bht_event(c, "two");
    uint64_t first = 0;
    bh_status st;
    for (int i = 0; i < 200 && first < 3; i++) { /* up to 20 s */
        Bilheteria__V1__ListChangesResponse *r = changes(c, 0, 1, 0, &st);
        assert_non_null(r);
        first = r->first_seq;
        bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
        if (first < 3)
            bht_sleep_ms(100);
    }
    assert_int_equal(first, 3); /* both trimmed: none kept, the next will be 3 */
    assert_null(changes(c, 1, 10, 0, &st));
    assert_int_equal(st.code, BH_OUT_OF_RANGE);
    assert_non_null(strstr(st.message, "oldest available is 3"));
    bht_event(c, "three");
    Bilheteria__V1__ListChangesResponse *r = changes(c, 2, 10, 0, &st);
    assert_non_null(r);
    assert_int_equal(r->n_changes, 1);
    assert_int_equal(r->changes[0]->seq, 3);
    bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
    bh_client_close(c);
    assert_int_equal(bht_cleanup(&s2), 0);
}

/* The types of the changes after seq before, in order, joined by spaces. */
static void
types_after(uint64_t before, char *out, size_t len)
{
    Bilheteria__V1__ListChangesResponse *r = changes(cl, before, 100, 0, NULL);
    assert_non_null(r);
    out[0] = 0;
    for (size_t i = 0; i < r->n_changes; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", r->changes[i]->type);
    bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
}

/* Changes no call's answer carries are in the feed too, in the same
 * transaction: a waiting-list offer made when a hold is cancelled, and the
 * refunds and releases of a session's cancellation. */
static void
test_internal_events(void **state)
{
    (void)state;
    uint64_t s = bht_session(cl, bht_event(cl, "Feed internal"), 1, 2, 1000);
    Bilheteria__V1__JoinWaitlistRequest jq = BILHETERIA__V1__JOIN_WAITLIST_REQUEST__INIT;
    Bilheteria__V1__JoinWaitlistResponse *jr = NULL;
    Bilheteria__V1__CancelSessionRequest sq = BILHETERIA__V1__CANCEL_SESSION_REQUEST__INIT;
    Bilheteria__V1__CancelSessionResponse *sr = NULL;
    bh_status st;
    uint64_t ana, bo;
    char types[512];

    bht_hold q = { .session = s, .user = "ana", .best = 1 };
    Bilheteria__V1__Reservation *r = bht_reserve_ok(cl, &q);
    ana = r->id;
    bht_free_resv(r);
    assert_int_equal(pay(ana, "feed-internal-pay", NULL), BH_OK);
    q.user = "bo";
    r = bht_reserve_ok(cl, &q);
    bo = r->id;
    bht_free_resv(r);
    jq.session_id = s;
    jq.user_id = "cy";
    jq.seats = 1;
    assert_int_equal(bh_waitlist_join_waitlist(cl, &jq, &jr, NULL, &st), BH_OK);
    bilheteria__v1__join_waitlist_response__free_unpacked(jr, NULL);

    uint64_t before = last_seq();
    assert_int_equal(bht_cancel(cl, bo, NULL, NULL, &st), BH_OK);
    types_after(before, types, sizeof(types));
    assert_string_equal(types, "reservation.offered reservation.cancelled");

    before = last_seq();
    sq.id = s;
    bh_call_opts o = { .idempotency_key = "feed-cancel-session" };
    assert_int_equal(bh_session_cancel_session(cl, &sq, &sr, &o, &st), BH_OK);
    assert_true(sr->session->cancel_progress->done);
    bilheteria__v1__cancel_session_response__free_unpacked(sr, NULL);
    types_after(before, types, sizeof(types));
    /* ana's paid reservation is refunded, cy's offer released; then the
     * call's own change. */
    assert_string_equal(
        types, "refund.created reservation.refunded reservation.cancelled session.cancelled");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_ids_objects),
        cmocka_unit_test(test_nothing_for_what_changed_nothing),
        cmocka_unit_test(test_gapless_commit_order),
        cmocka_unit_test(test_long_poll_wakes_on_commit),
        cmocka_unit_test(test_long_poll_empty_and_bad_input),
        cmocka_unit_test(test_kill9_keeps_the_seq),
        cmocka_unit_test(test_cli_watch_json),
        cmocka_unit_test(test_cli_watch_waits),
        cmocka_unit_test(test_cli_export_csv),
        cmocka_unit_test(test_readme_consumer),
        cmocka_unit_test(test_retention_out_of_range),
        cmocka_unit_test(test_internal_events),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
