/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test harness: starts a real bilheteria-server process on an ipc:// socket
 * in a fresh temporary directory (its LMDB data lives there too), and talks
 * to it through libbilheteria. No part of Bilheteria is mocked.
 */
#ifndef BH_TEST_HARNESS_H
#define BH_TEST_HARNESS_H

#include "bilheteria/bilheteria.h"
#include "spawn.h"

/* The test's server (tools/spawn): dir is its temp dir, data_dir its LMDB
 * directory, url its ipc:// socket, pid the process (0 once stopped). */
typedef bh_spawn_server bht_server;

/* Creates the temp dir and starts the server with --map-size-mb 64 and the
 * extra flags (NULL terminated); waits until Health.Check answers. 0 on
 * success. */
int bht_start(bht_server *s, const char *const *extra);
/* Starts the server again on the same directory and flags. */
int bht_restart(bht_server *s);
/* SIGTERM and wait; returns the exit status. */
int bht_stop(bht_server *s);
/* SIGKILL and wait: a crash. */
void bht_kill9(bht_server *s);
/* Stops (if running) and removes the temp dir. Returns the server's exit
 * status (0 for a clean stop; a sanitizer report makes it non-zero, and its
 * output is printed then), or 0 if it was not running. */
int bht_cleanup(bht_server *s);
/* A client for the server; caller frees with bh_client_close. */
bh_client *bht_client(const bht_server *s);
/* The same, sending token (borrowed while the client is open; NULL for
 * none) with every call. */
bh_client *bht_client_as(const bht_server *s, const char *token);

/* Runs the CLI with argv (NULL terminated) against the server; captures
 * stdout and stderr into malloc'ed strings (caller frees). Returns the exit
 * status. */
int bht_cli(const bht_server *s, char **out, char **err, const char *const *argv);
/* Runs the program argv[0] with argv (NULL terminated), its stdout and
 * stderr captured through files in dir, as bht_cli. */
int bht_run(const char *dir, char **out, char **err, const char *const *argv);

/* A test group's server and client: starts the server with extra flags
 * and opens a client (*c may be NULL to skip it); the stop closes the
 * client and returns 0 only if the server stopped cleanly. For cmocka's
 * group setup and teardown. */
int bht_group_start(bht_server *s, bh_client **c, const char *const *extra);
int bht_group_stop(bht_server *s, bh_client *c);

void bht_sleep_ms(int ms);

/* bht_start with the shared library lib preloaded (LD_PRELOAD) into the
 * server alone (a fault-injecting shim); ASan is told not to mind the
 * preload order. */
int bht_start_preloaded(bht_server *s, const char *lib, const char *const *extra);
/* Creates (or truncates) an empty file: a shim's trigger. */
void bht_touch(const char *path);
/* Waits up to 10 s for path to exist (a shim's sign); fails the test if it
 * does not. */
void bht_wait_file(const char *path);
/* Sends the request envelope buf[0, n) as it is over a raw nng REQ
 * socket (bytes the library would refuse to send) and returns the answer,
 * which the caller frees with
 * bilheteria__v1__response_envelope__free_unpacked. */
Bilheteria__V1__ResponseEnvelope *bht_raw_envelope(const bht_server *s, const uint8_t *buf,
                                                   size_t n);
/* How many events the server lists, page by page. */
uint64_t bht_count_events(bh_client *c);

/* Shorthands for common set-up through the library. Abort the test on
 * failure. */
uint64_t bht_event(bh_client *c, const char *name);
uint64_t bht_session(bh_client *c, uint64_t event_id, uint32_t rows, uint32_t per_row,
                     int64_t price);
uint64_t bht_product(bh_client *c, const char *name, int64_t price, int64_t stock);
/* The reservation (caller frees with bilheteria__v1__reservation__free_unpacked). */
Bilheteria__V1__Reservation *bht_reservation(bh_client *c, uint64_t id);
/* A product's stock as ListProducts shows it (among the first 500); -1 if
 * not there. */
int64_t bht_product_stock(bh_client *c, uint64_t id);

/* ---- a test file's group ----
 * Defines the file's server srv and client cl, and cmocka's group_setup
 * (starts the server with the flags given, string literals) and
 * group_teardown (stops it; fails if it did not stop cleanly). */
#define BHT_GROUP(...)                                                                             \
    static bht_server srv;                                                                         \
    static bh_client *cl;                                                                          \
    static int group_setup(void **state)                                                           \
    {                                                                                              \
        (void)state;                                                                               \
        static const char *const extra[] = { __VA_ARGS__, NULL };                                  \
        return bht_group_start(&srv, &cl, extra);                                                  \
    }                                                                                              \
    static int group_teardown(void **state)                                                        \
    {                                                                                              \
        (void)state;                                                                               \
        return bht_group_stop(&srv, cl);                                                           \
    }

/* ---- typed calls over libbilheteria ----
 * Those returning int return the call's bh_code with *st set (st may be
 * NULL); what they hand out in *out (out may be NULL) is the caller's. */

/* A product line: product x qty. */
typedef struct bht_item {
    uint64_t product;
    int32_t qty;
} bht_item;

/* What a CreateReservation asks: seats by label ("A1,A2") or the best n;
 * half of them meia-entrada; items (up to the first product 0); a coupon
 * code and a zone (NULL: none); ttl_s (0: the server's); key the
 * idempotency key (NULL: the library's). user NULL is "maria". If field is
 * not NULL it gets the answer's field path (BH_FIELD_PATH_MAX + 1 bytes). */
typedef struct bht_hold {
    uint64_t session;
    const char *user, *seats, *coupon, *zone, *key;
    uint32_t best, half;
    int32_t ttl_s;
    bht_item items[4];
    char *field;
} bht_hold;

/* CreateReservation; *out is the reservation. */
int bht_reserve(bh_client *c, const bht_hold *h, Bilheteria__V1__Reservation **out, bh_status *st);
/* The same, expecting OK (the test fails otherwise); returns the
 * reservation. */
Bilheteria__V1__Reservation *bht_reserve_ok(bh_client *c, const bht_hold *h);
/* Frees a reservation (NULL is fine). */
void bht_free_resv(Bilheteria__V1__Reservation *r);

/* What a ConfirmPayment sends: method NULL is "pix"; provider and ref NULL
 * are empty; key as bht_hold's. */
typedef struct bht_payment {
    uint64_t reservation;
    int64_t amount;
    const char *key, *method, *provider, *ref;
} bht_payment;

/* ConfirmPayment; *out is the whole answer. */
int bht_pay(bh_client *c, const bht_payment *p, Bilheteria__V1__ConfirmPaymentResponse **out,
            bh_status *st);
/* Pays r its total by pix with key. */
int bht_pay_full(bh_client *c, const Bilheteria__V1__Reservation *r, const char *key,
                 bh_status *st);
/* CancelReservation with key (NULL: the library's); *out is the
 * reservation as the cancel left it. */
int bht_cancel(bh_client *c, uint64_t id, const char *key, Bilheteria__V1__Reservation **out,
               bh_status *st);

/* What a RefundPayment asks: all, or seats ("A1,A2", NULL: none) and
 * items; keep the seats blocked; reason, provider and ref NULL are empty. */
typedef struct bht_refund_ask {
    uint64_t payment;
    int all, keep;
    const char *seats, *key, *reason, *provider, *ref;
    bht_item items[4];
} bht_refund_ask;

/* RefundPayment; *out is the whole answer. */
int bht_refund(bh_client *c, const bht_refund_ask *a, Bilheteria__V1__RefundPaymentResponse **out,
               bh_status *st);

/* These abort the test on failure; the caller frees what they return. */
Bilheteria__V1__GetSeatMapResponse *bht_seat_map(bh_client *c, uint64_t session);
Bilheteria__V1__Payment *bht_get_payment(bh_client *c, uint64_t id);
/* The state char of the seat labelled label ("B7") in a map; '?' if none. */
char bht_seat_state(const Bilheteria__V1__GetSeatMapResponse *m, const char *label);

#endif
