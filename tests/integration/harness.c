/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "harness.h"

void
bht_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int
bht_start(bht_server *s, const char *const *extra)
{
    const char *args[BH_SPAWN_MAX_ARGS + 1] = { "--map-size-mb", "64" };
    int n = 2;
    for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (n == BH_SPAWN_MAX_ARGS)
            fail_msg("bht_start: more than %d server flags", BH_SPAWN_MAX_ARGS - 2);
        args[n++] = extra[i];
    }
    args[n] = NULL;
    bh_spawn_opts o = { .path = BH_SERVER_PATH, .name = "bh-test", .args = args };
    char err[512];
    if (bh_spawn_start(s, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "bht_start: %s\n", err);
        return -1;
    }
    return 0;
}

int
bht_restart(bht_server *s)
{
    char err[512];
    if (bh_spawn_restart(s, err, sizeof(err)) != 0) {
        fprintf(stderr, "bht_restart: %s\n", err);
        return -1;
    }
    return 0;
}

int
bht_stop(bht_server *s)
{
    return bh_spawn_stop(s);
}

void
bht_kill9(bht_server *s)
{
    bh_spawn_kill(s);
}

int
bht_cleanup(bht_server *s)
{
    return bh_spawn_cleanup(s);
}

int
bht_group_start(bht_server *s, bh_client **c, const char *const *extra)
{
    if (bht_start(s, extra) != 0)
        return -1;
    if (c != NULL)
        *c = bht_client(s);
    return 0;
}

int
bht_group_stop(bht_server *s, bh_client *c)
{
    bh_client_close(c);
    return bht_cleanup(s) == 0 ? 0 : -1;
}

bh_client *
bht_client(const bht_server *s)
{
    return bht_client_as(s, NULL);
}

bh_client *
bht_client_as(const bht_server *s, const char *token)
{
    bh_client *c = NULL;
    bh_options o = { .url = s->url, .timeout_ms = 10000, .auth_token = token };
    bh_status st;
    if (bh_client_open(&c, &o, &st) != BH_OK)
        fail_msg("bh_client_open(%s): %s", s->url, st.message);
    return c;
}

static char *
slurp(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf != NULL && (r = read(fd, buf + n, cap - n - 1)) > 0) {
        n += (size_t)r;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf != NULL)
        buf[n] = 0;
    return buf;
}

int
bht_run(const char *dir, char **out, char **err, const char *const *argv)
{
    char outp[320], errp[320];
    snprintf(outp, sizeof(outp), "%s/run.out", dir);
    snprintf(errp, sizeof(errp), "%s/run.err", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0)
            _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        dup2(in, 0);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    int fo = open(outp, O_RDONLY), fe = open(errp, O_RDONLY);
    *out = slurp(fo);
    *err = slurp(fe);
    close(fo);
    close(fe);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
bht_cli(const bht_server *s, char **out, char **err, const char *const *argv)
{
    const char *args[64];
    int n = 0;
    args[n++] = BH_CLI_PATH;
    args[n++] = "--server";
    args[n++] = s->url;
    for (int i = 0; argv[i] != NULL && n < 62; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    return bht_run(s->dir, out, err, args);
}

uint64_t
bht_event(bh_client *c, const char *name)
{
    Bilheteria__V1__CreateEventRequest req = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    Bilheteria__V1__CreateEventResponse *resp = NULL;
    bh_status st;
    req.name = (char *)name;
    req.venue = "Cine Teste";
    if (bh_event_create_event(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("create event: %s: %s", bh_code_name(st.code), st.message);
    uint64_t id = resp->event->id;
    bilheteria__v1__create_event_response__free_unpacked(resp, NULL);
    return id;
}

uint64_t
bht_session(bh_client *c, uint64_t event_id, uint32_t rows, uint32_t per_row, int64_t price)
{
    Bilheteria__V1__CreateSessionRequest req = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    Bilheteria__V1__CreateSessionResponse *resp = NULL;
    bh_status st;
    req.event_id = event_id;
    req.starts_at_ms = 1924992000000LL;
    req.rows = rows;
    req.seats_per_row = per_row;
    req.price_cents = price;
    req.room = "Sala 1";
    if (bh_session_create_session(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("create session: %s: %s", bh_code_name(st.code), st.message);
    uint64_t id = resp->session->id;
    bilheteria__v1__create_session_response__free_unpacked(resp, NULL);
    return id;
}

uint64_t
bht_product(bh_client *c, const char *name, int64_t price, int64_t stock)
{
    Bilheteria__V1__CreateProductRequest req = BILHETERIA__V1__CREATE_PRODUCT_REQUEST__INIT;
    Bilheteria__V1__CreateProductResponse *resp = NULL;
    bh_status st;
    req.name = (char *)name;
    req.price_cents = price;
    req.stock = stock;
    if (bh_product_create_product(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("create product: %s: %s", bh_code_name(st.code), st.message);
    uint64_t id = resp->product->id;
    bilheteria__v1__create_product_response__free_unpacked(resp, NULL);
    return id;
}

int
bht_start_preloaded(bht_server *s, const char *lib, const char *const *extra)
{
    static char asan[512];
    /* ASan wants to be first in the preload list; tell it not to mind. */
    const char *old = getenv("ASAN_OPTIONS");
    if (old == NULL || strstr(old, "verify_asan_link_order") == NULL) {
        snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", old ? old : "",
                 old && *old ? ":" : "");
        setenv("ASAN_OPTIONS", asan, 1);
    }
    setenv("LD_PRELOAD", lib, 1);
    int rc = bht_start(s, extra);
    unsetenv("LD_PRELOAD");
    return rc;
}

void
bht_touch(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

void
bht_wait_file(const char *path)
{
    for (int i = 0; i < 1000 && access(path, F_OK) != 0; i++)
        bht_sleep_ms(10);
    assert_int_equal(access(path, F_OK), 0);
}

uint64_t
bht_count_events(bh_client *c)
{
    uint64_t n = 0;
    char token[64] = "";
    do {
        Bilheteria__V1__ListEventsRequest req = BILHETERIA__V1__LIST_EVENTS_REQUEST__INIT;
        Bilheteria__V1__ListEventsResponse *resp = NULL;
        req.page_size = BH_PAGE_SIZE_MAX;
        req.page_token = token;
        assert_int_equal(bh_event_list_events(c, &req, &resp, NULL, NULL), BH_OK);
        n += resp->n_events;
        snprintf(token, sizeof(token), "%s", resp->next_page_token);
        bilheteria__v1__list_events_response__free_unpacked(resp, NULL);
    } while (token[0] != 0);
    return n;
}

Bilheteria__V1__ResponseEnvelope *
bht_raw_envelope(const bht_server *s, const uint8_t *buf, size_t n)
{
    nng_socket sock;
    nng_msg *m = NULL;
    assert_int_equal(nng_req0_open(&sock), 0);
    nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 10000);
    assert_int_equal(nng_dial(sock, s->url, NULL, 0), 0);
    assert_int_equal(nng_send(sock, (void *)buf, n, 0), 0);
    assert_int_equal(nng_recvmsg(sock, &m, 0), 0);
    Bilheteria__V1__ResponseEnvelope *env =
        bilheteria__v1__response_envelope__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
    assert_non_null(env);
    nng_msg_free(m);
    nng_close(sock);
    return env;
}

Bilheteria__V1__Reservation *
bht_reservation(bh_client *c, uint64_t id)
{
    Bilheteria__V1__GetReservationRequest req = BILHETERIA__V1__GET_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__GetReservationResponse *resp = NULL;
    bh_status st;
    req.id = id;
    if (bh_reservation_get_reservation(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("get reservation %llu: %s", (unsigned long long)id, st.message);
    Bilheteria__V1__Reservation *r = resp->reservation;
    resp->reservation = NULL;
    bilheteria__v1__get_reservation_response__free_unpacked(resp, NULL);
    return r;
}

int64_t
bht_product_stock(bh_client *c, uint64_t id)
{
    Bilheteria__V1__ListProductsRequest req = BILHETERIA__V1__LIST_PRODUCTS_REQUEST__INIT;
    Bilheteria__V1__ListProductsResponse *resp = NULL;
    int64_t stock = -1;
    req.page_size = 500;
    if (bh_product_list_products(c, &req, &resp, NULL, NULL) != BH_OK)
        fail_msg("list products");
    for (size_t i = 0; i < resp->n_products; i++)
        if (resp->products[i]->id == id)
            stock = resp->products[i]->stock;
    bilheteria__v1__list_products_response__free_unpacked(resp, NULL);
    return stock;
}

/* Splits "A1,A2" (NULL: none) into v[0, max) over buf; returns the count. */
static size_t
split_labels(const char *labels, char *buf, size_t len, char **v, size_t max)
{
    size_t n = 0;
    if (labels == NULL)
        return 0;
    snprintf(buf, len, "%s", labels);
    for (char *tok = strtok(buf, ","); tok != NULL && n < max; tok = strtok(NULL, ","))
        v[n++] = tok;
    return n;
}

/* The items up to the first product 0, as request lines over it[]. */
static size_t
item_lines(const bht_item *items, size_t max, Bilheteria__V1__ItemRequest *it,
           Bilheteria__V1__ItemRequest **itp)
{
    size_t n = 0;
    for (; n < max && items[n].product != 0; n++) {
        Bilheteria__V1__ItemRequest one = BILHETERIA__V1__ITEM_REQUEST__INIT;
        one.product_id = items[n].product;
        one.quantity = items[n].qty;
        it[n] = one;
        itp[n] = &it[n];
    }
    return n;
}

int
bht_reserve(bh_client *c, const bht_hold *h, Bilheteria__V1__Reservation **out, bh_status *st)
{
    enum { MAX_ITEMS = sizeof(h->items) / sizeof(h->items[0]) };
    Bilheteria__V1__CreateReservationRequest req = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__ItemRequest it[MAX_ITEMS], *itp[MAX_ITEMS];
    bh_call_info info = BH_CALL_INFO_INIT;
    bh_call_options co = BH_CALL_OPTIONS_INIT;
    ProtobufCMessage *resp = NULL;
    char buf[256], *seats[32];
    bh_status local;
    req.session_id = h->session;
    req.user_id = (char *)(h->user ? h->user : "maria");
    req.seats = seats;
    req.n_seats = split_labels(h->seats, buf, sizeof(buf), seats, 32);
    req.best = h->best;
    req.half_price = h->half;
    req.ttl_s = h->ttl_s;
    req.items = itp;
    req.n_items = item_lines(h->items, MAX_ITEMS, it, itp);
    req.coupon_code = (char *)(h->coupon ? h->coupon : "");
    req.zone = (char *)(h->zone ? h->zone : "");
    co.idempotency_key = h->key;
    co.info = &info;
    int rc = bh_call_ex(c, "bilheteria.v1.ReservationService/CreateReservation", &req.base, &resp,
                        &co, st ? st : &local);
    if (h->field != NULL)
        snprintf(h->field, BH_FIELD_PATH_MAX + 1, "%s", info.field);
    if (rc == BH_OK) {
        Bilheteria__V1__CreateReservationResponse *r = (void *)resp;
        if (out != NULL) {
            *out = r->reservation;
            r->reservation = NULL;
        }
    }
    if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

Bilheteria__V1__Reservation *
bht_reserve_ok(bh_client *c, const bht_hold *h)
{
    Bilheteria__V1__Reservation *r = NULL;
    bh_status st;
    if (bht_reserve(c, h, &r, &st) != BH_OK)
        fail_msg("reserve %s/best %u for %s: %s: %s", h->seats ? h->seats : "-", h->best,
                 h->user ? h->user : "maria", bh_code_name(st.code), st.message);
    return r;
}

void
bht_free_resv(Bilheteria__V1__Reservation *r)
{
    if (r != NULL)
        bilheteria__v1__reservation__free_unpacked(r, NULL);
}

int
bht_pay(bh_client *c, const bht_payment *p, Bilheteria__V1__ConfirmPaymentResponse **out,
        bh_status *st)
{
    Bilheteria__V1__ConfirmPaymentRequest req = BILHETERIA__V1__CONFIRM_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__ConfirmPaymentResponse *resp = NULL;
    bh_status local;
    req.reservation_id = p->reservation;
    req.amount_cents = p->amount;
    req.method = (char *)(p->method ? p->method : "pix");
    req.provider = (char *)(p->provider ? p->provider : "");
    req.provider_ref = (char *)(p->ref ? p->ref : "");
    bh_call_opts o = { .idempotency_key = p->key };
    int rc = bh_payment_confirm_payment(c, &req, &resp, &o, st ? st : &local);
    if (rc == BH_OK) {
        if (out != NULL)
            *out = resp;
        else
            bilheteria__v1__confirm_payment_response__free_unpacked(resp, NULL);
    }
    return rc;
}

int
bht_pay_full(bh_client *c, const Bilheteria__V1__Reservation *r, const char *key, bh_status *st)
{
    bht_payment p = { .reservation = r->id, .amount = r->total_cents, .key = key };
    return bht_pay(c, &p, NULL, st);
}

int
bht_cancel(bh_client *c, uint64_t id, const char *key, Bilheteria__V1__Reservation **out,
           bh_status *st)
{
    Bilheteria__V1__CancelReservationRequest req = BILHETERIA__V1__CANCEL_RESERVATION_REQUEST__INIT;
    Bilheteria__V1__CancelReservationResponse *resp = NULL;
    bh_status local;
    bh_call_opts o = { .idempotency_key = key };
    req.id = id;
    int rc = bh_reservation_cancel_reservation(c, &req, &resp, &o, st ? st : &local);
    if (rc == BH_OK) {
        if (out != NULL) {
            *out = resp->reservation;
            resp->reservation = NULL;
        }
        bilheteria__v1__cancel_reservation_response__free_unpacked(resp, NULL);
    }
    return rc;
}

int
bht_refund(bh_client *c, const bht_refund_ask *a, Bilheteria__V1__RefundPaymentResponse **out,
           bh_status *st)
{
    enum { MAX_ITEMS = sizeof(a->items) / sizeof(a->items[0]) };
    Bilheteria__V1__RefundPaymentRequest req = BILHETERIA__V1__REFUND_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__RefundPaymentResponse *resp = NULL;
    Bilheteria__V1__ItemRequest it[MAX_ITEMS], *itp[MAX_ITEMS];
    char buf[256], *seats[32];
    bh_status local;
    req.payment_id = a->payment;
    req.all = a->all;
    req.keep_seats_blocked = a->keep;
    req.seats = seats;
    req.n_seats = split_labels(a->seats, buf, sizeof(buf), seats, 32);
    req.items = itp;
    req.n_items = item_lines(a->items, MAX_ITEMS, it, itp);
    req.reason = (char *)(a->reason ? a->reason : "");
    req.provider = (char *)(a->provider ? a->provider : "");
    req.provider_ref = (char *)(a->ref ? a->ref : "");
    bh_call_opts o = { .idempotency_key = a->key };
    int rc = bh_payment_refund_payment(c, &req, &resp, &o, st ? st : &local);
    if (rc == BH_OK) {
        if (out != NULL)
            *out = resp;
        else
            bilheteria__v1__refund_payment_response__free_unpacked(resp, NULL);
    }
    return rc;
}

Bilheteria__V1__GetSeatMapResponse *
bht_seat_map(bh_client *c, uint64_t session)
{
    Bilheteria__V1__GetSeatMapRequest req = BILHETERIA__V1__GET_SEAT_MAP_REQUEST__INIT;
    Bilheteria__V1__GetSeatMapResponse *resp = NULL;
    bh_status st;
    req.session_id = session;
    if (bh_session_get_seat_map(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("seat map of %llu: %s", (unsigned long long)session, st.message);
    return resp;
}

Bilheteria__V1__Payment *
bht_get_payment(bh_client *c, uint64_t id)
{
    Bilheteria__V1__GetPaymentRequest req = BILHETERIA__V1__GET_PAYMENT_REQUEST__INIT;
    Bilheteria__V1__GetPaymentResponse *resp = NULL;
    bh_status st;
    req.id = id;
    if (bh_payment_get_payment(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("get payment %llu: %s", (unsigned long long)id, st.message);
    Bilheteria__V1__Payment *p = resp->payment;
    resp->payment = NULL;
    bilheteria__v1__get_payment_response__free_unpacked(resp, NULL);
    return p;
}

char
bht_seat_state(const Bilheteria__V1__GetSeatMapResponse *m, const char *label)
{
    size_t rl = strspn(label, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    int seat = atoi(label + rl);
    for (size_t i = 0; i < m->n_rows; i++)
        if (strlen(m->rows[i]->label) == rl && strncmp(m->rows[i]->label, label, rl) == 0)
            return seat >= 1 && (size_t)seat <= strlen(m->rows[i]->states)
                       ? m->rows[i]->states[seat - 1]
                       : '?';
    return '?';
}
