/* SPDX-License-Identifier: Apache-2.0 */
/* Online and offline backups: a copy taken under write load holds every
 * write acknowledged before it was asked for and passes the seat
 * invariants on a server of its own; the offline command; the refusals. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "harness.h"

#define ROWS      26 /* labels A..Z: one letter */
#define PER_ROW   20
#define LOADERS   2
#define OPS_MAX   4096
#define OPS_FIRST 100 /* acknowledged before the backup is asked for */
#define OPS_AFTER 100 /* and at least this many more after it answers */

static bht_server srv;
static bh_client *cl;

/* An acknowledged write: a hold, or the payment of one. */
typedef struct op {
    int paid;
    uint64_t resv_id, pay_id;
} op;

static struct {
    pthread_mutex_t mu;
    op ops[OPS_MAX];
    size_t n;
    int stop;
    uint64_t session;
    char failure[1024];
} load = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
log_op(op o)
{
    pthread_mutex_lock(&load.mu);
    if (load.n < OPS_MAX)
        load.ops[load.n++] = o;
    pthread_mutex_unlock(&load.mu);
}

/* How many writes are acknowledged so far; *stop: whether the load ends. */
static size_t
ops_acked(int *stop)
{
    pthread_mutex_lock(&load.mu);
    size_t n = load.n;
    *stop = load.stop;
    pthread_mutex_unlock(&load.mu);
    return n;
}

static int
stopping(void)
{
    int stop;
    ops_acked(&stop);
    return stop;
}

static void
load_failed(const char *what, const bh_status *st)
{
    pthread_mutex_lock(&load.mu);
    if (load.failure[0] == '\0')
        snprintf(load.failure, sizeof(load.failure), "%s: %s %s", what, bh_code_name(st->code),
                 st->message);
    load.stop = 1;
    pthread_mutex_unlock(&load.mu);
}

/* Holds one seat after another and pays every second hold, until told to
 * stop or the session is sold out. */
static void *
loader(void *arg)
{
    int id = (int)(intptr_t)arg;
    bh_client *c = bht_client(&srv);
    char user[32], key[64];
    snprintf(user, sizeof(user), "loader-%d", id);
    for (int i = 0; !stopping(); i++) {
        Bilheteria__V1__CreateReservationRequest rq =
            BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
        Bilheteria__V1__CreateReservationResponse *rr = NULL;
        bh_status st;
        rq.session_id = load.session;
        rq.user_id = user;
        rq.best = 1;
        if (bh_reservation_create_reservation(c, &rq, &rr, NULL, &st) != BH_OK) {
            if (st.code != BH_FAILED_PRECONDITION) /* sold out: done */
                load_failed("hold", &st);
            break;
        }
        uint64_t resv = rr->reservation->id;
        int64_t total = rr->reservation->total_cents;
        protobuf_c_message_free_unpacked(&rr->base, NULL);
        log_op((op){ .resv_id = resv });
        if (i % 2 == 0)
            continue;
        Bilheteria__V1__ConfirmPaymentRequest pq = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
        Bilheteria__V1__ConfirmPaymentResponse *pr = NULL;
        bh_call_opts co = { .idempotency_key = key };
        snprintf(key, sizeof(key), "pay-%llu", (unsigned long long)resv);
        pq.reservation_id = resv;
        pq.amount_cents = total;
        pq.method = "pix";
        if (bh_payment_confirm_payment(c, &pq, &pr, &co, &st) != BH_OK) {
            load_failed("pay", &st);
            break;
        }
        log_op((op){ .paid = 1, .resv_id = resv, .pay_id = pr->payment->id });
        protobuf_c_message_free_unpacked(&pr->base, NULL);
    }
    bh_client_close(c);
    return NULL;
}

static int
group_setup(void **state)
{
    (void)state;
    return bht_group_start(&srv, &cl, NULL);
}

static int
group_teardown(void **state)
{
    (void)state;
    return bht_group_stop(&srv, cl);
}

static int
backup(bh_client *c, const char *out, Bilheteria__V1__BackupResponse **resp, bh_status *st)
{
    Bilheteria__V1__BackupRequest rq = BILHETERIA__V1__BACKUP_REQUEST__INIT;
    rq.out_path = (char *)out;
    return bh_admin_backup(c, &rq, resp, NULL, st);
}

static Bilheteria__V1__Reservation *
get_resv(bh_client *c, uint64_t id, int *code)
{
    Bilheteria__V1__GetReservationRequest rq = BILHETERIA__V1__GET_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__GetReservationResponse *rr = NULL;
    bh_status st;
    rq.id = id;
    *code = bh_reservation_get_reservation(c, &rq, &rr, NULL, &st);
    if (*code != BH_OK)
        return NULL;
    Bilheteria__V1__Reservation *r = rr->reservation;
    rr->reservation = NULL;
    protobuf_c_message_free_unpacked(&rr->base, NULL);
    return r;
}

/* Every write in ops[0..n) is in the server c talks to. */
static void
check_acked(bh_client *c, const op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int code;
        Bilheteria__V1__Reservation *r = get_resv(c, ops[i].resv_id, &code);
        if (r == NULL)
            fail_msg("reservation %llu, acknowledged before the backup, is not in the copy: %s",
                     (unsigned long long)ops[i].resv_id, bh_code_name(code));
        if (ops[i].paid &&
            (r->status != BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED ||
             r->payment_id != ops[i].pay_id))
            fail_msg("reservation %llu was paid (payment %llu) before the backup; the copy has "
                     "status %d, payment %llu",
                     (unsigned long long)r->id, (unsigned long long)ops[i].pay_id, (int)r->status,
                     (unsigned long long)r->payment_id);
        if (!ops[i].paid &&
            r->status != BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING &&
            r->status != BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED)
            fail_msg("reservation %llu is in status %d in the copy; it was held",
                     (unsigned long long)r->id, (int)r->status);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        if (ops[i].paid) {
            Bilheteria__V1__GetPaymentRequest pq = BILHETERIA__V1__GET_PAYMENT_REQUEST__INIT;
            Bilheteria__V1__GetPaymentResponse *pr = NULL;
            bh_status st;
            pq.id = ops[i].pay_id;
            if (bh_payment_get_payment(c, &pq, &pr, NULL, &st) != BH_OK)
                fail_msg("payment %llu is not in the copy: %s", (unsigned long long)pq.id,
                         st.message);
            assert_int_equal(pr->payment->reservation_id, ops[i].resv_id);
            protobuf_c_message_free_unpacked(&pr->base, NULL);
        }
    }
}

/* The seat invariants of the session, walking every reservation: no seat
 * in two live reservations, the seat map shows each live one's seats
 * (held or sold) and no others taken. */
static void
check_seats(bh_client *c, uint64_t session, uint64_t max_id)
{
    static uint64_t owner[ROWS][PER_ROW];
    Bilheteria__V1__GetSeatMapRequest mq = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
    Bilheteria__V1__GetSeatMapResponse *map = NULL;
    bh_status st;
    uint32_t live_seats = 0;
    memset(owner, 0, sizeof(owner));
    mq.session_id = session;
    if (bh_session_get_seat_map(c, &mq, &map, NULL, &st) != BH_OK)
        fail_msg("seat map: %s", st.message);
    assert_int_equal(map->n_rows, ROWS);
    /* Ids are given in order; a few past the last one seen make sure none
     * was missed. */
    for (uint64_t id = 1; id <= max_id + 16; id++) {
        int code;
        Bilheteria__V1__Reservation *r = get_resv(c, id, &code);
        if (r == NULL) {
            if (code != BH_NOT_FOUND)
                fail_msg("reservation %llu: %s", (unsigned long long)id, bh_code_name(code));
            continue;
        }
        int pending = r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING;
        int sold = r->status == BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_CONFIRMED;
        for (size_t i = 0; (pending || sold) && i < r->n_seats; i++) {
            const char *label = r->seats[i]->label;
            int row = label[0] - 'A';
            long seat = strtol(label + 1, NULL, 10) - 1;
            if (row < 0 || row >= ROWS || seat < 0 || seat >= PER_ROW)
                fail_msg("reservation %llu has seat \"%s\", not in the room",
                         (unsigned long long)id, label);
            if (owner[row][seat] != 0)
                fail_msg("seat %s is in two live reservations: %llu and %llu", label,
                         (unsigned long long)owner[row][seat], (unsigned long long)id);
            owner[row][seat] = id;
            char want = sold ? 'x' : 'h', got = map->rows[row]->states[seat];
            if (got != want)
                fail_msg("seat %s of reservation %llu shows '%c' in the seat map, not '%c'", label,
                         (unsigned long long)id, got, want);
            live_seats++;
        }
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    if (map->held + map->sold != live_seats)
        fail_msg("the seat map has %u held and %u sold, but live reservations hold %u seats",
                 map->held, map->sold, live_seats);
    protobuf_c_message_free_unpacked(&map->base, NULL);
}

/* The copy of a server under write load: a server started on it opens,
 * holds every write acknowledged before the backup was asked for, and
 * passes the seat invariants. */
static void
test_backup_under_load(void **state)
{
    (void)state;
    pthread_t t[LOADERS];
    bht_server copy_srv;
    char out[400];
    bh_status st;
    Bilheteria__V1__BackupResponse *resp = NULL;

    load.session = bht_session(cl, bht_event(cl, "backup"), ROWS, PER_ROW, 2500);
    for (int i = 0; i < LOADERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, loader, (void *)(intptr_t)i), 0);
    int stop = 0;
    while (ops_acked(&stop) < OPS_FIRST && !stop)
        bht_sleep_ms(5);
    size_t before = ops_acked(&stop);
    snprintf(out, sizeof(out), "%s/copy", srv.dir);
    int rc = backup(cl, out, &resp, &st);
    size_t after = ops_acked(&stop);
    while (ops_acked(&stop) < after + OPS_AFTER && !stop)
        bht_sleep_ms(5);
    pthread_mutex_lock(&load.mu);
    load.stop = 1;
    pthread_mutex_unlock(&load.mu);
    for (int i = 0; i < LOADERS; i++)
        pthread_join(t[i], NULL);
    if (load.failure[0] != '\0')
        fail_msg("the load failed: %s", load.failure);
    if (rc != BH_OK)
        fail_msg("backup: %s %s", bh_code_name(st.code), st.message);
    assert_string_equal(resp->path, out);
    assert_true(resp->bytes > 0);
    assert_true(resp->duration_ms >= 0);
    assert_true(resp->last_txnid > before / 2); /* a commit per write, or fewer in batches */
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    printf("# %zu writes acknowledged before the backup, %zu while it ran\n", before,
           after - before);

    /* The live server holds everything, and passes the same checks. */
    uint64_t max_id = 0;
    for (size_t i = 0; i < load.n; i++)
        max_id = load.ops[i].resv_id > max_id ? load.ops[i].resv_id : max_id;
    check_acked(cl, load.ops, load.n);
    check_seats(cl, load.session, max_id);

    /* Restoring is starting a server on the copy. */
    const char *args[] = { "--data-dir", out, NULL };
    memset(&copy_srv, 0, sizeof(copy_srv));
    assert_int_equal(bht_start(&copy_srv, args), 0);
    bh_client *c2 = bht_client(&copy_srv);
    Bilheteria__V1__CheckRequest hq = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *hr = NULL;
    assert_int_equal(bh_health_check(c2, &hq, &hr, NULL, &st), BH_OK);
    assert_int_equal(hr->status, BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    protobuf_c_message_free_unpacked(&hr->base, NULL);
    check_acked(c2, load.ops, before);
    check_seats(c2, load.session, max_id);
    assert_int_equal(bht_count_events(c2), bht_count_events(cl));
    /* And it takes writes. */
    bht_event(c2, "after restore");
    bh_client_close(c2);
    assert_int_equal(bht_cleanup(&copy_srv), 0);
}

/* Nothing named PREFIX.tmp-* is left in dir. */
static void
assert_no_temp_left(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-") != NULL)
            fail_msg("a failed backup left %s/%s behind", dir, e->d_name);
    closedir(d);
}

/* A path that cannot be the copy is refused, naming it, and nothing is
 * left behind. */
static void
test_refusals(void **state)
{
    (void)state;
    char file[400], sub[400];
    bh_status st;
    Bilheteria__V1__BackupResponse *resp = NULL;
    snprintf(file, sizeof(file), "%s/a-file", srv.dir);
    bht_touch(file);
    snprintf(sub, sizeof(sub), "%s/no-such-dir/copy", srv.dir);
    const struct {
        const char *out;
        int code;
    } cases[] = {
        { srv.dir, BH_ALREADY_EXISTS },                     /* a directory that is not empty */
        { file, BH_ALREADY_EXISTS },                        /* a file */
        { "relative/copy", BH_INVALID_ARGUMENT },           /* the server's cwd is no one's */
        { "", BH_INVALID_ARGUMENT },                        /* none */
        { sub, BH_FAILED_PRECONDITION },                    /* no parent */
        { "/proc/bh-backup-copy", BH_FAILED_PRECONDITION }, /* not writable, even for root */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = backup(cl, cases[i].out, &resp, &st);
        if (rc != cases[i].code)
            fail_msg("backup to \"%s\": %s (%s), expected %s", cases[i].out, bh_code_name(rc),
                     st.message, bh_code_name(cases[i].code));
        if (cases[i].out[0] != '\0' && strstr(st.message, cases[i].out) == NULL)
            fail_msg("the refusal of \"%s\" does not name it: %s", cases[i].out, st.message);
    }
    assert_no_temp_left(srv.dir);
    /* An empty directory is taken (a mount point made for it, say). */
    char empty[400];
    snprintf(empty, sizeof(empty), "%s/empty", srv.dir);
    assert_int_equal(mkdir(empty, 0750), 0);
    assert_int_equal(backup(cl, empty, &resp, &st), BH_OK);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    snprintf(empty, sizeof(empty), "%s/empty/data.mdb", srv.dir);
    struct stat sb;
    assert_int_equal(stat(empty, &sb), 0);
}

/* bilheteria admin backup, in both output forms. */
static void
test_cli(void **state)
{
    (void)state;
    char out[400], *o = NULL, *e = NULL;
    snprintf(out, sizeof(out), "%s/cli-copy", srv.dir);
    const char *json[] = { "--json", "admin", "backup", "--out", out, NULL };
    assert_int_equal(bht_cli(&srv, &o, &e, json), 0);
    cJSON *j = cJSON_Parse(o);
    if (j == NULL)
        fail_msg("not JSON: %s", o);
    assert_string_equal(cJSON_GetObjectItem(j, "path")->valuestring, out);
    assert_true(cJSON_GetObjectItem(j, "bytes")->valuedouble > 0);
    assert_non_null(cJSON_GetObjectItem(j, "duration_ms"));
    cJSON_Delete(j);
    free(o);
    free(e);
    /* Again: the path is taken now. */
    const char *human[] = { "admin", "backup", "--out", out, NULL };
    assert_int_equal(bht_cli(&srv, &o, &e, human), 1);
    assert_non_null(strstr(e, "ALREADY_EXISTS"));
    assert_non_null(strstr(e, out));
    free(o);
    free(e);
    snprintf(out, sizeof(out), "%s/cli-copy-2", srv.dir);
    assert_int_equal(bht_cli(&srv, &o, &e, human), 0);
    assert_non_null(strstr(o, "bytes:"));
    assert_non_null(strstr(o, out));
    free(o);
    free(e);
    const char *usage[] = { "admin", "backup", NULL };
    assert_int_equal(bht_cli(&srv, &o, &e, usage), 2);
    assert_non_null(strstr(e, "--out"));
    free(o);
    free(e);
}

/* bilheteria-server backup: of a stopped server's data, refused while it
 * runs, and a server on the copy serves it. */
static void
test_offline(void **state)
{
    (void)state;
    bht_server a, b;
    char out[400], *o = NULL, *e = NULL;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(bht_start(&a, NULL), 0);
    bh_client *c = bht_client(&a);
    bht_event(c, "one");
    bht_event(c, "two");
    bht_event(c, "three");
    bh_client_close(c);
    snprintf(out, sizeof(out), "%s/offline", a.dir);
    const char *args[] = { BH_SERVER_PATH, "backup", "--data-dir", a.data_dir, "--out", out, NULL };

    /* Running: the data dir is locked; the message says what to use. */
    assert_int_equal(bht_run(a.dir, &o, &e, args), 1);
    assert_non_null(strstr(e, "in use"));
    assert_non_null(strstr(e, "admin backup"));
    free(o);
    free(e);

    assert_int_equal(bht_stop(&a), 0);
    assert_int_equal(bht_run(a.dir, &o, &e, args), 0);
    assert_non_null(strstr(o, out));
    free(o);
    free(e);
    /* Not twice to the same place. */
    assert_int_equal(bht_run(a.dir, &o, &e, args), 1);
    assert_non_null(strstr(e, out));
    free(o);
    free(e);
    /* No data: not an empty store made and copied. */
    char none[400];
    snprintf(none, sizeof(none), "%s/no-data", a.dir);
    const char *nodata[] = { BH_SERVER_PATH, "backup", "--data-dir", none, "--out", out, NULL };
    assert_int_equal(bht_run(a.dir, &o, &e, nodata), 1);
    assert_non_null(strstr(e, none));
    free(o);
    free(e);
    struct stat sb;
    assert_int_not_equal(stat(none, &sb), 0);

    const char *on_copy[] = { "--data-dir", out, NULL };
    assert_int_equal(bht_start(&b, on_copy), 0);
    c = bht_client(&b);
    assert_int_equal(bht_count_events(c), 3);
    bh_client_close(c);
    assert_int_equal(bht_cleanup(&b), 0);
    assert_int_equal(bht_cleanup(&a), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_under_load),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_offline),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
