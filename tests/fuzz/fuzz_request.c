/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: one request, as bytes, through the server's whole request
 * path without the transport: envelope decode, registry, payload unpack,
 * the handler (reads in a read transaction, writes through the real writer
 * thread and its nested transactions), and the response envelope, against a
 * real LMDB environment in a temp directory.
 *
 * Input layout: if the first byte is odd, the rest is a raw envelope. If
 * even, the second byte picks a method (modulo the registry), the third
 * its flags (bit 0: send an idempotency key from a small set, so replays and
 * mismatches happen), and the rest is the method's payload: protobuf is
 * lenient, so random bytes often decode into requests that reach the
 * handlers' rules.
 *
 * Checked for every input: the answer is a well-formed response envelope,
 * its status is a known gRPC code, and an OK answer's payload decodes as the
 * method's response type. Crashes and sanitizer reports are the rest.
 *
 * Built with libFuzzer when BH_FUZZ=ON (clang); otherwise driver.c runs it
 * over a fixed number of generated inputs as a ctest.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bilheteria/v1/rpc.pb-c.h"
#include "srv.h"

static store *st;
static srv_writer *wr;
static store_txn *rtxn;
static bh__arena arena;
static srv_config cfg;
static char dir[64];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done_flag;

/* What the inputs reached, for the driver's summary. */
long fuzz_count_status[17], fuzz_count_kind[3];

static void
done(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    done_flag = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static void
fatal(const char *what)
{
    fprintf(stderr, "fuzz_request: %s\n", what);
    abort();
}

/* Runs one envelope; returns the status of the answer. */
static int
run(const uint8_t *buf, size_t len)
{
    srv_call c;
    srv_wslot slot;
    uint64_t request_id;
    Bilheteria__V1__ResponseEnvelope env;
    bh__arena_reset(&arena);
    srv_call_init(&c, &arena, &cfg, srv_writer_env(wr));
    int kind = srv_request_decode(&c, buf, len, &request_id);
    fuzz_count_kind[kind]++;
    if (kind == SRV_DECODED_WRITE) {
        pthread_mutex_lock(&mu);
        done_flag = 0;
        pthread_mutex_unlock(&mu);
        srv_writer_submit(wr, &slot, &c, done, NULL);
        pthread_mutex_lock(&mu);
        while (!done_flag)
            pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
    } else if (kind == SRV_DECODED_READ) {
        srv_dispatch_read(&c, rtxn);
    }
    srv_response_prepare(&c, request_id, &env);
    size_t n = bilheteria__v1__response_envelope__get_packed_size(&env);
    uint8_t *out = malloc(n ? n : 1);
    if (out == NULL)
        fatal("out of memory");
    bilheteria__v1__response_envelope__pack(&env, out);
    Bilheteria__V1__ResponseEnvelope *back =
        bilheteria__v1__response_envelope__unpack(NULL, n, out);
    if (back == NULL)
        fatal("the answer does not decode");
    if (back->status > BILHETERIA__V1__STATUS_CODE__UNAUTHENTICATED)
        fatal("unknown status code");
    if (back->status == 0 && c.m != NULL) {
        ProtobufCMessage *resp = protobuf_c_message_unpack(c.m->desc->output, NULL,
                                                           back->payload.len, back->payload.data);
        if (resp == NULL)
            fatal("an OK payload does not decode as the method's response");
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    if (back->status != 0 && back->message[0] == 0)
        fatal("an error without a message");
    int status = back->status;
    fuzz_count_status[status]++;
    bilheteria__v1__response_envelope__free_unpacked(back, NULL);
    free(out);
    return status;
}

static int
call_msg(const char *method, const ProtobufCMessage *req, const char *key)
{
    uint8_t payload[512], buf[1024];
    Bilheteria__V1__RequestEnvelope env = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    env.method = (char *)method;
    env.request_id = 1;
    env.idempotency_key = (char *)(key ? key : "");
    env.payload.data = payload;
    env.payload.len = protobuf_c_message_pack(req, payload);
    return run(buf, bilheteria__v1__request_envelope__pack(&env, buf));
}

static void
cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_request: could not remove %s\n", dir);
}

static void
setup(void)
{
    char err[256];
    snprintf(dir, sizeof(dir), "/tmp/bh-fuzz-XXXXXX");
    if (mkdtemp(dir) == NULL)
        fatal("mkdtemp");
    atexit(cleanup);
    cfg.data_dir = dir;
    cfg.max_request = 64 << 10;
    cfg.hold_ttl_ms = 600 * 1000;
    cfg.idem_retention_ms = 86400LL * 1000;
    cfg.max_seats = 10;
    cfg.sweep_interval_ms = 1000;
    cfg.quiet = 1;
    store_config sc = { .dir = dir, .map_size = 64u << 20, .no_sync = 1 };
    if (srv_registry_init() != 0 || store_open(&st, &sc, err, sizeof(err)) != STORE_OK ||
        srv_writer_start(&wr, st, &cfg) != 0 || store_read_alloc(st, &rtxn) != STORE_OK ||
        bh__arena_init_alloc(&arena, 1 << 16) != 0)
        fatal("set-up");
    /* Something for the handlers to find: event 1, session 1 (5x10),
     * product 1 with stock, reservation 1 held. */
    Bilheteria__V1__CreateEventRequest ev = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    ev.name = "fuzz";
    Bilheteria__V1__CreateSessionRequest se = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    se.event_id = 1;
    se.starts_at_ms = 1924992000000LL; /* 2031: after the start a session takes no holds */
    se.rows = 5;
    se.seats_per_row = 10;
    se.price_cents = 3000;
    Bilheteria__V1__CreateProductRequest pr = BILHETERIA__V1__CREATE_PRODUCT_REQUEST__INIT;
    pr.name = "Pipoca";
    pr.price_cents = 2500;
    pr.stock = 50;
    Bilheteria__V1__CreateReservationRequest rs = BILHETERIA__V1__CREATE_RESERVATION_REQUEST__INIT;
    rs.session_id = 1;
    rs.user_id = "u";
    rs.best = 2;
    if (call_msg("bilheteria.v1.EventService/CreateEvent", &ev.base, NULL) != 0 ||
        call_msg("bilheteria.v1.SessionService/CreateSession", &se.base, NULL) != 0 ||
        call_msg("bilheteria.v1.ProductService/CreateProduct", &pr.base, NULL) != 0 ||
        call_msg("bilheteria.v1.ReservationService/CreateReservation", &rs.base, NULL) != 0)
        fatal("seeding");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = { "k1", "k2", "k3", "k4" };
    if (st == NULL)
        setup();
    if (size == 0)
        return 0;
    if (data[0] & 1) {
        run(data + 1, size - 1);
        return 0;
    }
    if (size < 3)
        return 0;
    const srv_method *m = srv_registry_at(data[1] % srv_registry_count());
    Bilheteria__V1__RequestEnvelope env = BILHETERIA__V1__REQUEST_ENVELOPE__INIT;
    env.method = (char *)m->name;
    env.request_id = size;
    env.idempotency_key = (char *)((data[2] & 1) ? keys[(data[2] >> 1) % 4] : "");
    env.payload.data = (uint8_t *)data + 3;
    env.payload.len = size - 3;
    size_t n = bilheteria__v1__request_envelope__get_packed_size(&env);
    uint8_t *buf = malloc(n);
    if (buf == NULL)
        return 0;
    bilheteria__v1__request_envelope__pack(&env, buf);
    run(buf, n);
    free(buf);
    return 0;
}
