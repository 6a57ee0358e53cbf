/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria-bench: flags, set-up (server, seed data, clients), the timed
 * run on N client threads, and the report (text or one JSON object). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "bh_opts.h"
#include "bh_token.h"
#include "spawn.h"

#ifndef BENCH_SERVER_PATH
#define BENCH_SERVER_PATH "bilheteria-server"
#endif

#define MAX_CLIENTS 1024
#define RUSH_MAX_S  600.0
/* --async: connections by default, and calls in flight on one at most. */
#define ASYNC_DRIVERS      2
#define ASYNC_MAX_PER_CONN 64

static const char usage[] =
    "usage: bilheteria-bench --scenario NAME [--server URL | --spawn-server]\n"
    "                        [--clients N] [--duration S | --requests N]\n"
    "                        [--events E --sessions S --rows R --seats-per-row M] [--json]\n"
    "\n"
    "Measures bilheteria-server: seeds its own data, runs N client threads for a\n"
    "while, and prints throughput, latency percentiles (p50 p90 p99 p99.9 max,\n"
    "from log-linear histograms) and errors by status code.\n"
    "\n"
    "scenarios:\n"
    "  echo    a bare nng REQ/REP echo inside this process, with a message the size\n"
    "          of a request envelope: the transport's ceiling (needs no server)\n"
    "          --reply-bytes N  answer with N bytes instead (a read's answer size)\n"
    "          --durable        answer only after a durable group commit to a\n"
    "                           file, built as the server's (data page, fdatasync,\n"
    "                           meta page; a syncer thread's fdatasync): the\n"
    "                           ceiling of a durable write\n"
    "          --durable-pages N  the same, writing N scattered data pages per\n"
    "                           commit (an LMDB commit writes every page it\n"
    "                           touched; implies --durable)\n"
    "          --durable-flushes 1  one fdatasync per commit instead of two (no\n"
    "                           barrier before the meta page: not crash-safe\n"
    "                           as a store, it is the ceiling of a design with\n"
    "                           one flush per batch, e.g. a write-ahead log)\n"
    "  ping    HealthService.Check\n"
    "  read    GetSeatMap and ListEvents (half each) on random sessions\n"
    "  hold    CreateReservation of 1-4 random free seats, then CancelReservation\n"
    "          of it: 2 requests per operation, both reported\n"
    "  rush    every client takes best=2 seats of ONE session until it is sold\n"
    "          out, then the seat map and every reservation are checked; odd\n"
    "          clients hold with a coupon of max_uses 1/8 of the seats (+1) until\n"
    "          it is used up, and its held uses must be the holds carrying it\n"
    "  pay     hold 2 seats, then ConfirmPayment with a fresh idempotency key;\n"
    "          10% are re-sent and must replay; then one payment per reservation\n"
    "          is checked\n"
    "  mixed   80% reads, 15% holds (+cancel), 5% payments (+the pay checks);\n"
    "          half the holds carry a coupon (10% off with few uses, which runs\n"
    "          out: its refusals are counted, not errors, and a refused client\n"
    "          tries it again 1 time in 10; or 5.00 off, unlimited),\n"
    "          payments pay the total net of it, and 30% of the paid reservations\n"
    "          are refunded (one seat, or all), 10% of refunds re-sent to replay.\n"
    "          The check adds: each coupon's uses = the paid reservations read\n"
    "          back that carry it, never above max_uses; each payment's refunds\n"
    "          sum to its refunded_cents, never above what was paid; no seat\n"
    "          sold (not refunded) in two reservations; seat maps agree\n"
    "  onsale  an open loop on the asynchronous API: buyers arrive at fixed times\n"
    "          (--rate R a second, or --ramp R1:R2), each takes the best 1-6 seats\n"
    "          of one session; 70% pay within the hold time, 20% walk away (their\n"
    "          holds lapse and are sold again), 10% cancel; until every seat is\n"
    "          sold. Latency counts from each call's intended send time (no\n"
    "          coordinated omission); --clients is the driver threads, each with\n"
    "          its own connection (default 4).\n"
    "          Then the seat map, the payments and the confirmed reservations\n"
    "          must agree: capacity sold, no seat sold twice\n"
    "          --venue SEATS    seats of the session (required; rows of\n"
    "                           --seats-per-row, default 100 or SEATS if fewer)\n"
    "          --rate R         buyers a second\n"
    "          --ramp R1:R2     instead: R1 rising (or falling) linearly to R2 over\n"
    "                           --ramp-s S seconds (default 10), then R2\n"
    "          --ttl-s T        each hold's time (default 2)\n"
    "          --window N       calls in flight per driver at most (default 32;\n"
    "                           the server refuses more than --max-inflight-per-conn,\n"
    "                           64 by default): beyond it, calls wait, are sent\n"
    "                           late and counted\n"
    "          --plot FILE      draw rate, p99 and seats left over time into\n"
    "                           FILE.png or FILE.svg with gnuplot (FILE.dat and\n"
    "                           FILE.gp are left beside it)\n"
    "          --zones          the session has two price zones (VIP, the first\n"
    "                           fifth of the rows at 3x, and Plateia); a quarter\n"
    "                           of the buyers ask for the best seats of one\n"
    "                           (off by default: numbers stay comparable)\n"
    "          --coupons        a quarter of the buyers bring a coupon (one 10%\n"
    "                           that runs out, one 5.00 unlimited); their\n"
    "                           payment is net of it, a used-up coupon's refusal\n"
    "                           is counted, and the check adds the coupon counts\n"
    "          --duration S     gives up after S seconds (default 600)\n"
    "\n"
    "options:\n"
    "  --scenario NAME      one of the above (required)\n"
    "  --server URL         use a running server (default " BH_DEFAULT_URL ")\n"
    "  --spawn-server       start a server on a fresh temp data dir and a free\n"
    "                       loopback port, report its peak RSS and CPU time, stop\n"
    "                       it and remove the dir\n"
    "  --server-path PATH   the server to spawn (default: the in-tree build)\n"
    "  --server-arg ARG     pass ARG to the spawned server; repeatable\n"
    "                       (e.g. --server-arg --no-sync)\n"
    "  --ipc                spawn on ipc:// in the temp dir instead of loopback TCP\n"
    "  --no-coupons         rush and mixed seed no coupons and hold without them (a\n"
    "                       server without CouponService; compare ab runs rush so)\n"
    "  --tls-ca FILE        a tls+tcp:// --server: the CA its certificate chains to\n"
    "  --tls-server-name N  the name its certificate must carry (default the host)\n"
    "  --tls-cert FILE      mutual TLS: the clients' certificate (with --tls-key)\n"
    "  --tls-key FILE       its private key\n"
    "  --token T            send token T with every call of the run (seeding too)\n"
    "  --token-file F       the same, the token read from F's first line\n"
    "  --spawn-auth         with --spawn-server: run it with an auth file; the bench\n"
    "                       makes two tokens with `SERVER token new`, an admin one\n"
    "                       that seeds and a service one that every measured call\n"
    "                       carries (not with --token or --token-file)\n"
    "  --clients N          clients: threads, or with --async state machines\n"
    "                       (default 32)\n"
    "  --shared-client      all threads share one connection (default: one each)\n"
    "  --async              ping, read, hold, pay: each client is a state machine on the\n"
    "                       asynchronous API (bh_call_async), its next call sent\n"
    "                       from the last one's callback, with no thread of its\n"
    "                       own: the same calls and checks, less of the bench's\n"
    "                       CPU on a machine it shares with the server\n"
    "  --drivers N          --async: connections the clients share, round robin\n"
    "                       (default 2; at most 64 clients on one)\n"
    "  --malloc-responses   unpack responses with malloc per field, freed with\n"
    "                       protobuf_c_message_free_unpacked (default: into a\n"
    "                       bh_arena per client thread, reset per operation)\n"
    "  --duration S         seconds to run (default 5; rush runs until sold out)\n"
    "  --requests N         stop after N operations in all instead (an operation of\n"
    "                       hold or pay is 2 requests, plus a replay for 10% of pays)\n"
    "  --events E           events to seed (default 10; rush seeds 1)\n"
    "  --sessions S         sessions per event (default 10; rush seeds 1)\n"
    "  --rows R             rows per session (default 20)\n"
    "  --seats-per-row M    seats per row (default 40)\n"
    "  --seed N             random seed (default: from the clock)\n"
    "  --json               print one JSON object instead of text\n"
    "  --help               this text\n"
    "  --version            print the version\n"
    "\n"
    "Exit status: 0 ok; 1 an invariant broke or a call failed that the scenario\n"
    "does not allow; 2 bad usage; 3 set-up failed (server, seeding, clients).\n";

const char *const bench_op_names[OP__N] = {
    "echo",   "ping",    "get_seat_map",   "list_events", "hold",
    "cancel", "confirm", "confirm_replay", "refund",      "refund_replay",
};

static const char *const scenarios[] = { "echo", "ping", "read",  "hold",
                                         "rush", "pay",  "mixed", "onsale" };

uint64_t
bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
bench_rand_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint64_t
bench_rand(bench_thread *t)
{
    return bench_rand_next(&t->rng);
}

void
bench_record(bench_thread *t, int op, int code, uint64_t ns)
{
    bench_hist_record(t->all, ns);
    if (t->op[op] == NULL)
        t->op[op] = bench_hist_new();
    if (t->op[op] != NULL)
        bench_hist_record(t->op[op], ns);
    if (code == BH_OK)
        t->ok[op]++;
    else
        t->err[op][code > 0 && code < BENCH_N_CODES ? code : BH_UNKNOWN]++;
}

void
bench_unexpected(bench_thread *t, const char *fmt, ...)
{
    if (t->unexpected++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->first_err, sizeof(t->first_err), fmt, ap);
        va_end(ap);
    }
}

/* ---- flags ---- */

static int
parse_rate(const char *v, void *dest)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != 0 || !(d >= 1 && d <= 1e7))
        return -1;
    *(double *)dest = d;
    return 0;
}

/* --ramp R1:R2 into two doubles. */
static int
parse_ramp(const char *v, void *dest)
{
    double *r = dest;
    char *end;
    errno = 0;
    double a = strtod(v, &end);
    if (errno != 0 || end == v || *end != ':' || !(a >= 1 && a <= 1e7))
        return -1;
    const char *w = end + 1;
    double b = strtod(w, &end);
    if (errno != 0 || end == w || *end != 0 || !(b >= 1 && b <= 1e7))
        return -1;
    r[0] = a;
    r[1] = b;
    return 0;
}

static int
parse_duration(const char *v, void *dest)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != 0 || !(d > 0 && d <= 86400))
        return -1;
    *(double *)dest = d;
    return 0;
}

#define LW BH__OPT_LAST_WINS
#define BENCH_INT_OPT(name, dest, lo, hi)                                                          \
    {                                                                                              \
        name, "N", BH__OPT_INT, LW, dest, NULL, lo, hi                                             \
    }

/* The numbers as the parser writes them, copied into bench afterwards. */
struct bench_nums {
    int64_t clients, requests, events, sessions, rows, per_row, pages, flushes, reply, seed;
    int64_t venue, ttl, window, drivers;
    double duration, ramp_s;
};

static void
take_nums(bench *b, const struct bench_nums *n, int *duration_given)
{
    if (n->duration != 0) {
        b->duration_s = n->duration;
        *duration_given = 1;
    }
    if (n->clients > 0)
        b->clients = (int)n->clients;
    if (n->per_row > 0)
        b->seats_per_row = (uint32_t)n->per_row;
    b->venue = (uint32_t)n->venue;
    b->ttl_s = (int)n->ttl;
    b->window = (int)n->window;
    b->drivers = (int)n->drivers;
    if (n->ramp_s != 0)
        b->ramp_s = n->ramp_s;
    b->requests = (uint64_t)n->requests;
    b->events = (uint32_t)n->events;
    b->sessions = (uint32_t)n->sessions;
    b->rows = (uint32_t)n->rows;
    b->seed = (uint64_t)n->seed;
    b->echo_reply_len = (size_t)n->reply;
    if (n->pages != 0) {
        b->echo_pages = (int)n->pages;
        b->echo_durable = 1;
    }
    if (n->flushes != 0) {
        b->echo_one_flush = n->flushes == 1;
        b->echo_durable = 1;
    }
}

/* onsale's options: given to onsale only, and what it needs. */
static int
check_onsale(bench *b)
{
    int onsale = strcmp(b->scenario, "onsale") == 0;
    int given = b->rate > 0 || b->ramp_to > 0 || b->venue > 0 || b->ttl_s > 0 || b->window > 0 ||
                b->plot != NULL || b->ramp_s > 0 || b->zones || b->coupons;
    if (!onsale) {
        if (given) {
            fprintf(stderr,
                    "bilheteria-bench: --rate, --ramp, --ramp-s, --venue, --ttl-s, "
                    "--window, --plot, --zones and --coupons are options of the onsale "
                    "scenario, not of "
                    "\"%s\"\n",
                    b->scenario);
            return -1;
        }
        return 0;
    }
    if ((b->rate > 0) == (b->ramp_to > 0) || b->venue == 0) {
        fprintf(stderr, "bilheteria-bench: onsale needs --venue SEATS and one of --rate R or "
                        "--ramp R1:R2\n");
        return -1;
    }
    if (b->ramp_s > 0 && b->ramp_to == 0) {
        fprintf(stderr, "bilheteria-bench: --ramp-s goes with --ramp\n");
        return -1;
    }
    return 0;
}

/* --async: ping, read, hold and pay only, each connection under the server's
 * default --max-inflight-per-conn. */
static int
check_async(bench *b)
{
    if (!b->async) {
        if (b->drivers > 0) {
            fprintf(stderr, "bilheteria-bench: --drivers goes with --async\n");
            return -1;
        }
        return 0;
    }
    if (strcmp(b->scenario, "ping") != 0 && strcmp(b->scenario, "read") != 0 &&
        strcmp(b->scenario, "hold") != 0 && strcmp(b->scenario, "pay") != 0) {
        fprintf(
            stderr,
            "bilheteria-bench: --async is an option of ping, read, hold and pay, not of \"%s\"\n",
            b->scenario);
        return -1;
    }
    if (b->drivers == 0)
        b->drivers = ASYNC_DRIVERS;
    int clients = b->clients > 0 ? b->clients : 32, conns = b->shared_client ? 1 : b->drivers;
    if ((clients + conns - 1) / conns > ASYNC_MAX_PER_CONN) {
        fprintf(stderr,
                "bilheteria-bench: --async: %d clients over %d connection(s) is over %d calls in "
                "flight per connection (the server's default --max-inflight-per-conn); add "
                "--drivers\n",
                clients, conns, ASYNC_MAX_PER_CONN);
        return -1;
    }
    return 0;
}

/* The scenario by name, and the options that exclude each other. */
static int
check_args(bench *b, const char *scenario)
{
    if (scenario != NULL) {
        for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++)
            if (strcmp(scenario, scenarios[k]) == 0)
                b->scenario = scenarios[k];
        if (b->scenario == NULL) {
            fprintf(stderr,
                    "bilheteria-bench: unknown scenario \"%s\" (echo, ping, read, "
                    "hold, rush, pay, mixed, onsale)\n",
                    scenario);
            return -1;
        }
    }
    if (b->scenario == NULL) {
        fprintf(stderr, "bilheteria-bench: --scenario is required (try --help)\n");
        return -1;
    }
    if ((b->echo_durable || b->echo_reply_len) && strcmp(b->scenario, "echo") != 0) {
        fprintf(stderr,
                "bilheteria-bench: --durable and --reply-bytes are options of the echo "
                "scenario, not of \"%s\"\n",
                b->scenario);
        return -1;
    }
    if (check_onsale(b) != 0 || check_async(b) != 0)
        return -1;
    if (b->spawn_auth && (!b->spawn || b->token != NULL)) {
        fprintf(stderr, "bilheteria-bench: --spawn-auth needs --spawn-server and makes its own "
                        "tokens: not with --token or --token-file\n");
        return -1;
    }
    if (b->spawn && b->url != NULL) {
        fprintf(stderr, "bilheteria-bench: --server and --spawn-server exclude each other\n");
        return -1;
    }
    if ((uint64_t)b->events * b->sessions > 1000000) {
        fprintf(stderr, "bilheteria-bench: %u events x %u sessions is over 1000000 sessions\n",
                b->events, b->sessions);
        return -1;
    }
    return 0;
}

static int
parse_args(int argc, char **argv, bench *b, int *duration_given)
{
    struct bh__strs server_args = { 0 };
    /* clients and per_row stay -1 unless given: onsale has its own defaults. */
    struct bench_nums n = {
        .clients = -1, .events = b->events, .sessions = b->sessions, .rows = b->rows, .per_row = -1
    };
    double ramp[2] = { 0, 0 };
    const char *scenario = NULL, *token = NULL, *token_file = NULL;
    int version = 0;
    char err[512];
    struct bh__opt opts[] = {
        { "--scenario", "NAME", BH__OPT_STR, LW, &scenario },
        { "--server", "URL", BH__OPT_STR, LW, &b->url },
        { "--tls-ca", "FILE", BH__OPT_STR, LW, &b->tls_ca },
        { "--tls-server-name", "NAME", BH__OPT_STR, LW, &b->tls_server_name },
        { "--tls-cert", "FILE", BH__OPT_STR, LW, &b->tls_cert },
        { "--tls-key", "FILE", BH__OPT_STR, LW, &b->tls_key },
        { "--token", "T", BH__OPT_STR, LW, &token },
        { "--token-file", "F", BH__OPT_STR, LW, &token_file },
        { "--spawn-auth", NULL, BH__OPT_FLAG, LW, &b->spawn_auth },
        { "--spawn-server", NULL, BH__OPT_FLAG, LW, &b->spawn },
        { "--server-path", "PATH", BH__OPT_STR, LW, &b->server_path },
        { "--server-arg", "ARG", BH__OPT_STRS, 0, &server_args },
        { "--ipc", NULL, BH__OPT_FLAG, LW, &b->ipc },
        BENCH_INT_OPT("--clients", &n.clients, 1, MAX_CLIENTS),
        { "--shared-client", NULL, BH__OPT_FLAG, LW, &b->shared_client },
        { "--async", NULL, BH__OPT_FLAG, LW, &b->async },
        BENCH_INT_OPT("--drivers", &n.drivers, 1, MAX_CLIENTS),
        { "--malloc-responses", NULL, BH__OPT_FLAG, LW, &b->malloc_responses },
        { "--duration", "S", BH__OPT_FN, LW, &n.duration, NULL, 0, 0, parse_duration,
          "seconds in (0, 86400]" },
        BENCH_INT_OPT("--requests", &n.requests, 1, 1000000000000LL),
        BENCH_INT_OPT("--events", &n.events, 1, 100000),
        BENCH_INT_OPT("--sessions", &n.sessions, 1, 100000),
        BENCH_INT_OPT("--rows", &n.rows, 1, BH_ROWS_MAX),
        BENCH_INT_OPT("--seats-per-row", &n.per_row, 1, BH_SEATS_PER_ROW_MAX),
        BENCH_INT_OPT("--seed", &n.seed, 1, INT64_MAX),
        { "--json", NULL, BH__OPT_FLAG, LW, &b->json },
        { "--reply-bytes", "N", BH__OPT_INT, LW, &n.reply, NULL, 1, 1 << 20 },
        { "--durable", NULL, BH__OPT_FLAG, LW, &b->echo_durable },
        BENCH_INT_OPT("--durable-pages", &n.pages, 1, 256),
        BENCH_INT_OPT("--durable-flushes", &n.flushes, 1, 2),
        { "--rate", "R", BH__OPT_FN, LW, &b->rate, NULL, 0, 0, parse_rate,
          "buyers a second in [1, 10000000]" },
        { "--ramp", "R1:R2", BH__OPT_FN, LW, ramp, NULL, 0, 0, parse_ramp,
          "two rates in [1, 10000000], as R1:R2" },
        { "--ramp-s", "S", BH__OPT_FN, LW, &n.ramp_s, NULL, 0, 0, parse_duration,
          "seconds in (0, 86400]" },
        BENCH_INT_OPT("--venue", &n.venue, 1, (int64_t)BH_ROWS_MAX * BH_SEATS_PER_ROW_MAX),
        BENCH_INT_OPT("--ttl-s", &n.ttl, 1, 3600),
        BENCH_INT_OPT("--window", &n.window, 1, 1 << 20),
        { "--plot", "FILE", BH__OPT_STR, LW, &b->plot },
        { "--zones", NULL, BH__OPT_FLAG, LW, &b->zones },
        { "--coupons", NULL, BH__OPT_FLAG, LW, &b->coupons },
        { "--no-coupons", NULL, BH__OPT_FLAG, LW, &b->no_coupons },
        { "--version", NULL, BH__OPT_FLAG, LW, &version },
    };
    switch (bh__opts_parse(opts, sizeof(opts) / sizeof(opts[0]), argc - 1, argv + 1,
                           BH__OPTS_QUOTE_UNKNOWN, NULL, err, sizeof(err))) {
    case BH__PARSE_HELP: fputs(usage, stdout); exit(0);
    case BH__PARSE_ERROR:
        fprintf(stderr, "bilheteria-bench: %s (try --help)\n", err);
        bh__strs_free(&server_args);
        return -1;
    }
    if (version) {
        printf("bilheteria-bench %s\n", BH_VERSION);
        exit(0);
    }
    /* The spawned server's extra arguments: argv's strings, in an array
     * main frees. */
    b->server_args = (char **)server_args.v;
    b->n_server_args = (int)server_args.n;
    take_nums(b, &n, duration_given);
    b->ramp_from = ramp[0];
    b->ramp_to = ramp[1];
    if (bh__token_pick(token, token_file, NULL, &b->token, err, sizeof(err)) != 0) {
        fprintf(stderr, "bilheteria-bench: %s\n", err);
        return -1;
    }
    return check_args(b, scenario);
}

/* ---- the run ---- */

int
bench_go_on(bench *b)
{
    if (atomic_load_explicit(&b->stop, memory_order_relaxed))
        return 0;
    if (b->requests != 0)
        return atomic_fetch_add(&b->claimed, 1) < b->requests;
    return bench_now_ns() < b->end_ns;
}

static void *
client_main(void *arg)
{
    bench_thread *t = arg;
    bench *b = t->b;
    pthread_mutex_lock(&b->gate_mu);
    while (!b->go)
        pthread_cond_wait(&b->gate_cv, &b->gate_mu);
    pthread_mutex_unlock(&b->gate_mu);
    while (bench_go_on(b)) {
        if (t->opts != NULL)
            bh_arena_reset(&t->arena);
        if (bench_op(t) != 0)
            break;
    }
    return NULL;
}

double
bench_self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct result {
    double elapsed_s, seed_s;
    uint64_t requests, errors, unexpected, violations;
    uint64_t err_by_code[BENCH_N_CODES];
    bench_hist *all;
    bench_hist *op[OP__N];
    uint64_t op_n[OP__N], op_err[OP__N];
    double server_cpu_s, server_run_cpu_s, bench_cpu_s;
    long bench_switches; /* context switches of the bench during the run */
    long server_rss_kib;
    uint64_t echo_writes, echo_commits; /* echo --durable */
    int checked, n_viol;
    char viol[4096], summary[1024], first_err[400];
} result;

static void
merge(bench *b, result *r)
{
    r->all = bench_hist_new();
    for (int k = 0; k < OP__N; k++)
        r->op[k] = bench_hist_new();
    for (int i = 0; i < b->clients; i++) {
        bench_thread *t = &b->t[i];
        if (r->all)
            bench_hist_merge(r->all, t->all);
        for (int k = 0; k < OP__N; k++) {
            if (r->op[k])
                bench_hist_merge(r->op[k], t->op[k]);
            r->op_n[k] += t->ok[k];
            for (int c = 0; c < BENCH_N_CODES; c++) {
                r->op_n[k] += t->err[k][c];
                r->op_err[k] += t->err[k][c];
                r->err_by_code[c] += t->err[k][c];
            }
        }
        if (t->unexpected && r->unexpected == 0)
            snprintf(r->first_err, sizeof(r->first_err), "%s", t->first_err);
        r->unexpected += t->unexpected;
        r->violations += t->violations;
    }
    for (int k = 0; k < OP__N; k++) {
        r->requests += r->op_n[k];
        r->errors += r->op_err[k];
    }
}

static double
ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* How the calls were authenticated. */
static const char *
auth_name(const bench *b)
{
    return b->spawn_auth ? "service token (--spawn-auth)" : b->token != NULL ? "token" : "none";
}

/* What ran: the scenario, the clients, the server and the seed data. */
static void
text_setup(const bench *b, const result *r, const bh_spawn_server *srv)
{
    if (b->async)
        printf("bilheteria-bench %s: %d asynchronous clients over %d connection(s), ", b->scenario,
               b->clients, b->shared_client ? 1 : b->drivers);
    else
        printf("bilheteria-bench %s: %d clients (%s), ", b->scenario, b->clients,
               b->shared_client ? "one shared connection" : "own connection each");
    if (strcmp(b->scenario, "echo") == 0) {
        printf("in-process echo server on %s, %zu-byte requests", b->echo_url, b->echo_len);
        if (b->echo_reply_len)
            printf(", %zu-byte answers", b->echo_reply_len);
        if (b->echo_durable)
            printf(", durable (group commit of %d page(s), %s)", b->echo_pages ? b->echo_pages : 1,
                   b->echo_one_flush ? "one flush" : "two barriers");
        printf("\n");
    } else
        printf("server %s%s, auth: %s\n", b->url, srv ? " (spawned)" : "", auth_name(b));
    if (b->n_sessions > 0)
        printf("seeded %u events x %u sessions of %ux%u seats (%llu seats) in %.2f s\n", b->events,
               b->sessions, b->rows, b->seats_per_row,
               (unsigned long long)b->n_sessions * b->capacity, r->seed_s);
}

/* Throughput and latency, in all and per operation, and the errors. */
static void
text_requests(const bench *b, const result *r)
{
    printf("requests: %llu in %.3f s = %.0f req/s (%llu not OK)\n", (unsigned long long)r->requests,
           r->elapsed_s, r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s : 0.0,
           (unsigned long long)r->errors);
    if (r->all && bench_hist_count(r->all) > 0)
        printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
               ms(bench_hist_percentile(r->all, 50)), ms(bench_hist_percentile(r->all, 90)),
               ms(bench_hist_percentile(r->all, 99)), ms(bench_hist_percentile(r->all, 99.9)),
               ms(bench_hist_max(r->all)), bench_hist_mean(r->all) / 1e6);
    printf("  %-15s %9s %9s %8s %8s %8s %8s %8s %7s\n", "op", "count", "req/s", "p50", "p90", "p99",
           "p99.9", "max", "not-ok");
    for (int k = 0; k < OP__N; k++) {
        const bench_hist *h = r->op[k];
        if (r->op_n[k] == 0 || h == NULL)
            continue;
        printf("  %-15s %9llu %9.0f %8.3f %8.3f %8.3f %8.3f %8.3f %7llu\n", bench_op_names[k],
               (unsigned long long)r->op_n[k],
               r->elapsed_s > 0 ? (double)r->op_n[k] / r->elapsed_s : 0.0,
               ms(bench_hist_percentile(h, 50)), ms(bench_hist_percentile(h, 90)),
               ms(bench_hist_percentile(h, 99)), ms(bench_hist_percentile(h, 99.9)),
               ms(bench_hist_max(h)), (unsigned long long)r->op_err[k]);
    }
    printf("status codes not OK:");
    if (r->errors == 0)
        printf(" none");
    for (int c = 1; c < BENCH_N_CODES; c++)
        if (r->err_by_code[c])
            printf(" %s %llu", bh_code_name(c), (unsigned long long)r->err_by_code[c]);
    if (strcmp(b->scenario, "rush") == 0 && r->err_by_code[BH_FAILED_PRECONDITION])
        printf(" (FAILED_PRECONDITION: each client's last call, sold out, or its coupon used up)");
    printf("\n");
}

static void
print_text(const bench *b, const result *r, const bh_spawn_server *srv)
{
    text_setup(b, r, srv);
    text_requests(b, r);
    if (srv != NULL)
        printf("server: peak RSS %.1f MiB; CPU %.2f s in all, %.2f s during the run "
               "(%.1f us/request)\n",
               (double)r->server_rss_kib / 1024.0, r->server_cpu_s, r->server_run_cpu_s,
               r->requests ? r->server_run_cpu_s * 1e6 / (double)r->requests : 0.0);
    printf("bench: CPU %.2f s during the run (%.1f us/request), %ld context switches, %ld CPUs "
           "online\n",
           r->bench_cpu_s, r->requests ? r->bench_cpu_s * 1e6 / (double)r->requests : 0.0,
           r->bench_switches, sysconf(_SC_NPROCESSORS_ONLN));
    if (b->echo_durable && r->echo_commits)
        printf("durable echo: %llu answers in %llu commits (%.1f per commit)\n",
               (unsigned long long)r->echo_writes, (unsigned long long)r->echo_commits,
               (double)r->echo_writes / (double)r->echo_commits);
    if (r->unexpected)
        printf("UNEXPECTED: %llu failed calls; first: %s\n", (unsigned long long)r->unexpected,
               r->first_err);
    if (r->checked) {
        if (r->n_viol == 0)
            printf("invariants: ok: %s\n", r->summary);
        else
            printf("INVARIANTS BROKEN (%d):\n%s", r->n_viol, r->viol);
    }
    if (r->violations && !r->checked)
        printf("INVARIANTS BROKEN: %llu bad answers during the run\n",
               (unsigned long long)r->violations);
}

cJSON *
bench_lat_json(const bench_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON_AddNumberToObject(o, "p50", ms(bench_hist_percentile(h, 50)));
    cJSON_AddNumberToObject(o, "p90", ms(bench_hist_percentile(h, 90)));
    cJSON_AddNumberToObject(o, "p99", ms(bench_hist_percentile(h, 99)));
    cJSON_AddNumberToObject(o, "p99_9", ms(bench_hist_percentile(h, 99.9)));
    cJSON_AddNumberToObject(o, "max", ms(bench_hist_max(h)));
    cJSON_AddNumberToObject(o, "mean", bench_hist_mean(h) / 1e6);
    return o;
}

static void
json_echo(cJSON *o, const bench *b, const result *r)
{
    cJSON_AddNumberToObject(o, "message_bytes", (double)b->echo_len);
    cJSON_AddNumberToObject(o, "reply_bytes",
                            (double)(b->echo_reply_len ? b->echo_reply_len : b->echo_len));
    cJSON_AddBoolToObject(o, "durable", b->echo_durable);
    if (b->echo_durable) {
        cJSON_AddNumberToObject(o, "commits", (double)r->echo_commits);
        cJSON_AddNumberToObject(o, "pages_per_commit", b->echo_pages ? b->echo_pages : 1);
        cJSON_AddNumberToObject(o, "flushes_per_commit", b->echo_one_flush ? 1 : 2);
    }
}

static void
json_seed(cJSON *o, const bench *b, const result *r)
{
    cJSON *seed = cJSON_AddObjectToObject(o, "seed");
    cJSON_AddNumberToObject(seed, "events", b->n_sessions ? b->events : 0);
    cJSON_AddNumberToObject(seed, "sessions", (double)b->n_sessions);
    cJSON_AddNumberToObject(seed, "rows", b->rows);
    cJSON_AddNumberToObject(seed, "seats_per_row", b->seats_per_row);
    cJSON_AddNumberToObject(seed, "seats", (double)b->n_sessions * b->capacity);
    cJSON_AddNumberToObject(seed, "seconds", r->seed_s);
}

/* Throughput and latency, in all and per operation, and the errors. */
static void
json_requests(cJSON *o, const result *r)
{
    cJSON_AddNumberToObject(o, "duration_s", r->elapsed_s);
    cJSON_AddNumberToObject(o, "requests", (double)r->requests);
    cJSON_AddNumberToObject(o, "errors", (double)r->errors);
    cJSON_AddNumberToObject(o, "throughput_rps",
                            r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s : 0.0);
    if (r->all)
        cJSON_AddItemToObject(o, "latency_ms", bench_lat_json(r->all));
    cJSON *ops = cJSON_AddObjectToObject(o, "ops");
    for (int k = 0; k < OP__N; k++) {
        if (r->op_n[k] == 0 || r->op[k] == NULL)
            continue;
        cJSON *x = cJSON_AddObjectToObject(ops, bench_op_names[k]);
        cJSON_AddNumberToObject(x, "count", (double)r->op_n[k]);
        cJSON_AddNumberToObject(x, "errors", (double)r->op_err[k]);
        cJSON_AddNumberToObject(x, "throughput_rps",
                                r->elapsed_s > 0 ? (double)r->op_n[k] / r->elapsed_s : 0.0);
        cJSON_AddItemToObject(x, "latency_ms", bench_lat_json(r->op[k]));
    }
    cJSON *codes = cJSON_AddObjectToObject(o, "errors_by_status");
    for (int c = 1; c < BENCH_N_CODES; c++)
        if (r->err_by_code[c])
            cJSON_AddNumberToObject(codes, bh_code_name(c), (double)r->err_by_code[c]);
    cJSON_AddNumberToObject(o, "unexpected_errors", (double)r->unexpected);
    if (r->unexpected)
        cJSON_AddStringToObject(o, "first_unexpected", r->first_err);
}

static void
json_server(cJSON *o, const result *r, const bh_spawn_server *srv)
{
    if (srv == NULL) {
        cJSON_AddNullToObject(o, "server");
        return;
    }
    cJSON *s = cJSON_AddObjectToObject(o, "server");
    cJSON_AddNumberToObject(s, "peak_rss_kib", (double)r->server_rss_kib);
    cJSON_AddNumberToObject(s, "cpu_s", r->server_cpu_s);
    cJSON_AddNumberToObject(s, "run_cpu_s", r->server_run_cpu_s);
    cJSON_AddNumberToObject(s, "cpu_us_per_request",
                            r->requests ? r->server_run_cpu_s * 1e6 / (double)r->requests : 0.0);
}

static void
json_invariants(cJSON *o, const result *r)
{
    cJSON *inv = cJSON_AddObjectToObject(o, "invariants");
    cJSON_AddBoolToObject(inv, "checked", r->checked);
    cJSON_AddBoolToObject(inv, "ok", r->n_viol == 0 && r->violations == 0);
    if (r->summary[0])
        cJSON_AddStringToObject(inv, "summary", r->summary);
    bench_json_lines(cJSON_AddArrayToObject(inv, "violations"), r->viol);
}

void
bench_json_lines(cJSON *arr, const char *text)
{
    char *save = NULL, *copy = arr != NULL ? strdup(text) : NULL;
    for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save))
        cJSON_AddItemToArray(arr, cJSON_CreateString(line));
    free(copy);
}

static int
print_json(const bench *b, const result *r, const bh_spawn_server *srv, int ok)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return -1;
    cJSON_AddStringToObject(o, "scenario", b->scenario);
    cJSON_AddNumberToObject(o, "clients", b->clients);
    cJSON_AddStringToObject(o, "connections",
                            b->shared_client ? "shared"
                            : b->async       ? "per-driver"
                                             : "per-client");
    cJSON_AddBoolToObject(o, "async", b->async);
    if (b->async)
        cJSON_AddNumberToObject(o, "drivers", b->shared_client ? 1 : b->drivers);
    cJSON_AddStringToObject(o, "url", strcmp(b->scenario, "echo") == 0 ? b->echo_url : b->url);
    cJSON_AddBoolToObject(o, "spawned", srv != NULL);
    cJSON_AddStringToObject(o, "responses", b->malloc_responses ? "malloc" : "arena");
    cJSON_AddStringToObject(o, "auth", auth_name(b));
    if (strcmp(b->scenario, "echo") == 0)
        json_echo(o, b, r);
    json_seed(o, b, r);
    json_requests(o, r);
    json_server(o, r, srv);
    cJSON_AddNumberToObject(o, "bench_cpu_s", r->bench_cpu_s);
    cJSON_AddNumberToObject(o, "bench_cpu_us_per_request",
                            r->requests ? r->bench_cpu_s * 1e6 / (double)r->requests : 0.0);
    cJSON_AddNumberToObject(o, "bench_context_switches", (double)r->bench_switches);
    json_invariants(o, r);
    cJSON_AddBoolToObject(o, "ok", ok);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text == NULL)
        return -1;
    puts(text);
    cJSON_free(text);
    return 0;
}

/* ---- set-up, run, report ---- */

/* What the clients talk to: the in-process echo server, or a
 * bilheteria-server (spawned, or at a URL); and the connection they share
 * with --shared-client. */
typedef struct target {
    int is_echo;
    bench_echo_server *echo;
    nng_socket eshared;
    bh_spawn_server spawned;
    bh_spawn_server *srv; /* &spawned with --spawn-server, else NULL */
    bh_client *shared;
} target;

static int
start_echo(bench *b, target *tg)
{
    char err[1024];
    if (bench_echo_start(b, &tg->echo, err, sizeof(err)) != 0) {
        fprintf(stderr, "bilheteria-bench: %s\n", err);
        return -1;
    }
    if (b->shared_client) {
        int rv = bench_echo_shared_open(&tg->eshared, b->echo_url);
        if (rv != 0) {
            fprintf(stderr, "bilheteria-bench: cannot dial %s: %s\n", b->echo_url,
                    nng_strerror(rv));
            return -1;
        }
    }
    return 0;
}

/* --spawn-auth: an admin token to seed with, a service token for the
 * run, and the auth file (*text, caller frees) that accepts both. */
static int
make_tokens(bench *b, char **text)
{
    char tok[2][128], line[2][256], err[1024];
    const char *role[2] = { "admin", "service" }, *name[2] = { "bench-seed", "bench" };
    for (int i = 0; i < 2; i++) {
        if (bh_spawn_token_new(b->server_path, name[i], role[i], tok[i], sizeof(tok[i]), line[i],
                               sizeof(line[i]), err, sizeof(err)) != 0) {
            fprintf(stderr, "bilheteria-bench: --spawn-auth: %s\n", err);
            return -1;
        }
    }
    size_t n = strlen(line[0]) + strlen(line[1]) + 3;
    *text = malloc(n);
    b->seed_token = strdup(tok[0]);
    b->token = strdup(tok[1]);
    if (*text == NULL || b->seed_token == NULL || b->token == NULL) {
        fprintf(stderr, "bilheteria-bench: out of memory\n");
        return -1;
    }
    snprintf(*text, n, "%s\n%s\n", line[0], line[1]);
    return 0;
}

/* The library's options for b's server, with token (NULL: none). */
static bh_options
bench_options(const bench *b, const char *token)
{
    bh_options o = {
        .size = sizeof(o),
        .url = b->url,
        .timeout_ms = 10000,
        .auth_token = token,
        .tls_ca_file = b->tls_ca,
        .tls_server_name = b->tls_server_name,
        .tls_cert_file = b->tls_cert,
        .tls_key_file = b->tls_key,
        /* No retries, hence no automatic idempotency keys: the bench
         * measures each call as sent (a retry would hide an error, and a
         * key the scenario did not ask for adds a record to each write). */
        .max_retries = -1,
    };
    return o;
}

/* The server (spawned, or at --server), the shared connection, the seed. */
static int
start_server(bench *b, target *tg, result *r)
{
    char err[1024];
    bh_status st;
    if (b->spawn) {
        char *auth = NULL;
        if (b->spawn_auth && make_tokens(b, &auth) != 0) {
            free(auth);
            return -1;
        }
        bh_spawn_opts so = { .path = b->server_path,
                             .name = "bh-bench",
                             .tcp = !b->ipc,
                             .args = (const char *const *)b->server_args,
                             .auth_file = auth };
        int rc = bh_spawn_start(&tg->spawned, &so, err, sizeof(err));
        free(auth);
        if (rc != 0) {
            fprintf(stderr, "bilheteria-bench: %s\n", err);
            return -1;
        }
        tg->srv = &tg->spawned;
        b->url = tg->srv->url;
    } else if (b->url == NULL) {
        b->url = BH_DEFAULT_URL;
    }
    bh_options o = bench_options(b, b->token);
    if (bh_client_open(&tg->shared, &o, &st) != BH_OK) {
        fprintf(stderr, "bilheteria-bench: %s\n", st.message);
        return -1;
    }
    if (strcmp(b->scenario, "ping") != 0) {
        uint64_t t0 = bench_now_ns();
        bh_client *seeder = tg->shared;
        o = bench_options(b, b->seed_token);
        if (b->seed_token != NULL && bh_client_open(&seeder, &o, &st) != BH_OK) {
            fprintf(stderr, "bilheteria-bench: %s\n", st.message);
            return -1;
        }
        int rc = bench_seed(b, seeder, err, sizeof(err));
        if (seeder != tg->shared)
            bh_client_close(seeder);
        if (rc != 0) {
            fprintf(stderr, "bilheteria-bench: seeding %s: %s\n", b->url, err);
            return -1;
        }
        r->seed_s = (double)(bench_now_ns() - t0) / 1e9;
        b->owned = b->capacity / (uint32_t)b->clients >= 4;
    }
    return 0;
}

/* Client thread i's state and connection, connected before the clock
 * starts. */
static int
open_client(bench *b, int i, target *tg)
{
    bench_thread *t = &b->t[i];
    bh_status st;
    t->b = b;
    t->id = i;
    t->rng = (b->seed + 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)) | 1;
    bh_arena_init(&t->arena, NULL, 0);
    if (!b->malloc_responses) {
        t->aopts.arena = &t->arena;
        t->opts = &t->aopts;
    }
    t->all = bench_hist_new();
    if (t->all == NULL) {
        fprintf(stderr, "bilheteria-bench: out of memory\n");
        return -1;
    }
    if (tg->is_echo) {
        if (bench_echo_client_open(b, t, tg->eshared, b->shared_client) != 0) {
            fprintf(stderr, "bilheteria-bench: %s\n", t->first_err);
            return -1;
        }
        return 0;
    }
    if (b->shared_client) {
        t->cli = tg->shared;
    } else if (b->async && b->drv[i % b->drivers] != NULL) {
        t->cli = b->drv[i % b->drivers];
    } else {
        bh_options o = bench_options(b, b->token);
        if (bh_client_open(&t->cli, &o, &st) != BH_OK) {
            fprintf(stderr, "bilheteria-bench: %s\n", st.message);
            return -1;
        }
        if (b->async)
            b->drv[i % b->drivers] = t->cli;
    }
    Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *rs = NULL;
    if (bh_health_check(t->cli, &rq, &rs, NULL, &st) != BH_OK) {
        fprintf(stderr, "bilheteria-bench: %s: %s %s\n", b->url, bh_code_name(st.code), st.message);
        return -1;
    }
    protobuf_c_message_free_unpacked(&rs->base, NULL);
    return 0;
}

/* The context switches of this process so far, voluntary or not (all
 * its threads). */
static long
self_switches(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* The timed run: every client thread starts at one gate (--async: every
 * client's first call goes out from this thread). Returns -1 if a thread
 * could not be started (the others stop at once). */
static int
run_clients(bench *b, result *r, const bh_spawn_server *srv)
{
    int threads = 0, rc = 0;
    pthread_mutex_init(&b->gate_mu, NULL);
    pthread_cond_init(&b->gate_cv, NULL);
    for (; !b->async && threads < b->clients; threads++) {
        if (pthread_create(&b->t[threads].th, NULL, client_main, &b->t[threads]) != 0) {
            fprintf(stderr, "bilheteria-bench: cannot start client thread %d\n", threads);
            atomic_store(&b->stop, 1); /* the started ones go through the gate and stop */
            rc = -1;
            break;
        }
    }
    double srv_cpu0 = srv ? bh_spawn_cpu_s(srv) : 0, cpu0 = bench_self_cpu_s();
    long csw0 = self_switches();
    uint64_t start = bench_now_ns();
    b->end_ns = start + (uint64_t)(b->duration_s * 1e9);
    if (b->async && bench_async_run(b) != 0) {
        fprintf(stderr, "bilheteria-bench: out of memory\n");
        rc = -1;
    }
    pthread_mutex_lock(&b->gate_mu);
    b->go = 1;
    pthread_cond_broadcast(&b->gate_cv);
    pthread_mutex_unlock(&b->gate_mu);
    for (int i = 0; i < threads; i++)
        pthread_join(b->t[i].th, NULL);
    r->elapsed_s = (double)(bench_now_ns() - start) / 1e9;
    r->bench_cpu_s = bench_self_cpu_s() - cpu0;
    r->bench_switches = self_switches() - csw0;
    if (srv)
        r->server_run_cpu_s = bh_spawn_cpu_s(srv) - srv_cpu0;
    pthread_cond_destroy(&b->gate_cv);
    pthread_mutex_destroy(&b->gate_mu);
    return rc;
}

/* Merges the threads' figures, checks the invariants and prints the
 * report. Returns the exit status: 0, or 1 if something broke. */
static int
report(bench *b, result *r, const target *tg)
{
    merge(b, r);
    if (tg->echo != NULL)
        bench_echo_stats(tg->echo, &r->echo_writes, &r->echo_commits);
    if (strcmp(b->scenario, "rush") == 0 || strcmp(b->scenario, "pay") == 0 ||
        strcmp(b->scenario, "mixed") == 0) {
        r->checked = 1;
        r->n_viol = bench_check(b, r->viol, sizeof(r->viol), r->summary, sizeof(r->summary));
    }
    if (tg->srv) {
        r->server_cpu_s = bh_spawn_cpu_s(tg->srv);
        r->server_rss_kib = bh_spawn_peak_rss_kib(tg->srv);
    }
    int ok = r->n_viol == 0 && r->violations == 0 && r->unexpected == 0;
    if (b->json)
        print_json(b, r, tg->srv, ok);
    else
        print_text(b, r, tg->srv);
    return ok ? 0 : 1;
}

/* Closes the clients and the target, frees everything; a spawned server
 * that does not stop cleanly turns a 0 status into 1. */
static int
finish(bench *b, result *r, target *tg, int status)
{
    for (int i = 0; b->t != NULL && i < b->clients; i++) {
        bench_thread *t = &b->t[i];
        if (tg->is_echo)
            bench_echo_client_close(t, !b->shared_client && t->eaio != NULL);
        else if (t->cli != tg->shared && !b->async)
            bh_client_close(t->cli);
        bench_hist_free(t->all);
        for (int k = 0; k < OP__N; k++)
            bench_hist_free(t->op[k]);
        free(t->paid);
        free(t->resv);
        bh_arena_fini(&t->arena);
    }
    for (int i = 0; b->drv != NULL && i < b->drivers; i++)
        bh_client_close(b->drv[i]);
    free(b->drv);
    if (tg->is_echo && b->shared_client)
        nng_close(tg->eshared);
    bh_client_close(tg->shared);
    bench_echo_stop(tg->echo);
    if (tg->srv != NULL && bh_spawn_cleanup(tg->srv) != 0) {
        fprintf(stderr, "bilheteria-bench: the server did not stop cleanly\n");
        if (status == 0)
            status = 1;
    }
    bench_hist_free(r->all);
    for (int k = 0; k < OP__N; k++)
        bench_hist_free(r->op[k]);
    free(b->t);
    free(b->event_ids);
    free(b->session_ids);
    free(b->sold);
    free(b->echo_payload);
    free(b->server_args);
    free(b->token);
    free(b->seed_token);
    return status;
}

/* onsale: one session of --venue seats in rows of --seats-per-row (100,
 * or fewer for a smaller venue), 4 driver threads of 32 calls in flight
 * each: the server's 128 workers. */
static int
onsale_defaults(bench *b, int duration_given)
{
    b->events = 1;
    b->sessions = 1;
    if (b->seats_per_row == 0)
        b->seats_per_row = b->venue < 100 ? b->venue : 100;
    if (b->venue % b->seats_per_row != 0 || b->venue / b->seats_per_row > BH_ROWS_MAX) {
        fprintf(stderr,
                "bilheteria-bench: --venue %u is not a whole number of rows of %u seats, at most "
                "%d rows (set --seats-per-row)\n",
                b->venue, b->seats_per_row, BH_ROWS_MAX);
        return -1;
    }
    b->rows = b->venue / b->seats_per_row;
    if (b->clients == 0)
        b->clients = 4;
    if (!duration_given)
        b->duration_s = RUSH_MAX_S;
    if (b->ttl_s == 0)
        b->ttl_s = 2;
    if (b->window == 0)
        b->window = 32;
    if (b->ramp_to > 0 && b->ramp_s == 0)
        b->ramp_s = 10;
    return 0;
}

int
main(int argc, char **argv)
{
    static bench b;
    static result r;
    static target tg = { .eshared = NNG_SOCKET_INITIALIZER };
    int duration_given = 0, status = 3;

    b.duration_s = 5;
    b.events = 10;
    b.sessions = 10;
    b.rows = 20;
    b.server_path = BENCH_SERVER_PATH;
    if (parse_args(argc, argv, &b, &duration_given) != 0 ||
        (strcmp(b.scenario, "onsale") == 0 && onsale_defaults(&b, duration_given) != 0)) {
        free(b.server_args);
        free(b.token);
        return 2;
    }
    if (b.clients == 0)
        b.clients = 32;
    if (b.seats_per_row == 0)
        b.seats_per_row = 40;
    tg.is_echo = strcmp(b.scenario, "echo") == 0;
    if (strcmp(b.scenario, "rush") == 0) {
        b.events = 1;
        b.sessions = 1;
        if (!duration_given)
            b.duration_s = RUSH_MAX_S;
    }
    b.refunds = strcmp(b.scenario, "mixed") == 0;
    if (b.seed == 0)
        b.seed = bench_now_ns() ^ ((uint64_t)getpid() << 32);
    b.t = calloc((size_t)b.clients, sizeof(bench_thread));
    if (b.async)
        b.drv = calloc((size_t)b.drivers, sizeof(bh_client *));
    if (b.t == NULL || (b.async && b.drv == NULL)) {
        fprintf(stderr, "bilheteria-bench: out of memory\n");
        goto out;
    }
    if ((tg.is_echo ? start_echo(&b, &tg) : start_server(&b, &tg, &r)) != 0)
        goto out;
    for (int i = 0; i < b.clients; i++)
        if (open_client(&b, i, &tg) != 0)
            goto out;
    if (strcmp(b.scenario, "onsale") == 0) {
        status = bench_onsale(&b, tg.srv);
        goto out;
    }
    if (run_clients(&b, &r, tg.srv) != 0)
        goto out;
    status = report(&b, &r, &tg);
out:
    return finish(&b, &r, &tg, status);
}
