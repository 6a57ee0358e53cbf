/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bilheteria top: a live view of a running server, from AdminService.Stats
 * (admin only). Every second it takes a sample and shows the rates between
 * it and the one before: calls/s, errors and p99 by method, calls/s by
 * code, the group commits' batch size and sync time, the holds and seats
 * sold, and the busiest sessions. `--once` takes two samples a second
 * apart, prints one view (or, with --json, one JSON object) and exits.
 *
 * p99 is a bucket's upper bound (the registry keeps histograms, not every
 * call): "p99 <= 2.5 ms". Seats sold per minute is the difference over
 * the samples of the last minute (fewer at first: it is scaled up).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define TOP_INTERVAL_MS 1000
#define TOP_WINDOW      60 /* samples kept for the per-minute rate */

typedef Bilheteria__V1__StatsResponse stats;

static int
sample(struct cli *cli, const struct cli_cmd *cmd, stats **out)
{
    Bilheteria__V1__StatsRequest req = BILHETERIA__V1__STATS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(cli, cmd, BH_METHOD_ADMIN_STATS, &req.base, NULL, &resp);
    if (rc == CLI_EXIT_OK)
        *out = (stats *)resp;
    return rc;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static const Bilheteria__V1__MethodStats *
method_in(const stats *s, const char *name)
{
    for (size_t i = 0; i < s->n_methods; i++)
        if (strcmp(s->methods[i]->method, name) == 0)
            return s->methods[i];
    return NULL;
}

static uint64_t
code_calls(const stats *s, const char *code)
{
    for (size_t i = 0; i < s->n_codes; i++)
        if (strcmp(s->codes[i]->code, code) == 0)
            return s->codes[i]->calls;
    return 0;
}

/* What two samples a and b (b later) say, per second over dt_s. */
typedef struct top_view {
    const stats *a, *b;
    double dt_s;
    double calls_per_s, errors_per_s;
    double batch;   /* calls per commit, -1 without commits */
    double sync_ms; /* mean sync time, -1 without syncs */
    double sold_per_min;
} top_view;

/* A method's rates between the samples; p99 is the upper bound in ms of
 * the bucket holding the 99th percentile (+inf past the last bound, -1
 * without calls). */
typedef struct top_method {
    const char *name;
    uint64_t calls; /* since start */
    double per_s, errors_per_s, p99_ms;
} top_method;

static top_method
method_rates(const top_view *v, const Bilheteria__V1__MethodStats *mb)
{
    const Bilheteria__V1__MethodStats *ma = method_in(v->a, mb->method);
    top_method r = { .name = mb->method, .calls = mb->calls, .p99_ms = -1 };
    uint64_t n = mb->calls - (ma ? ma->calls : 0), cum = 0;
    r.per_s = (double)n / v->dt_s;
    r.errors_per_s = (double)(mb->errors - (ma ? ma->errors : 0)) / v->dt_s;
    if (n == 0)
        return r;
    uint64_t want = n - n / 100; /* ceil(0.99 n) */
    for (size_t i = 0; i < mb->n_latency_buckets; i++) {
        uint64_t before = ma && i < ma->n_latency_buckets ? ma->latency_buckets[i] : 0;
        cum += mb->latency_buckets[i] - before;
        if (cum >= want) {
            r.p99_ms = i < v->b->n_latency_bounds_us ? (double)v->b->latency_bounds_us[i] / 1000.0
                                                     : INFINITY;
            break;
        }
    }
    return r;
}

static void
view_of(top_view *v, const stats *a, const stats *b, const stats *oldest)
{
    memset(v, 0, sizeof(*v));
    v->a = a;
    v->b = b;
    v->dt_s = (double)(b->uptime_ms - a->uptime_ms) / 1000.0;
    if (v->dt_s <= 0)
        v->dt_s = 1e-3;
    uint64_t calls = 0, ok = code_calls(b, "OK") - code_calls(a, "OK");
    for (size_t i = 0; i < b->n_codes; i++)
        calls += b->codes[i]->calls;
    for (size_t i = 0; i < a->n_codes; i++)
        calls -= a->codes[i]->calls;
    v->calls_per_s = (double)calls / v->dt_s;
    v->errors_per_s = (double)(calls - ok) / v->dt_s;
    uint64_t commits = b->commits - a->commits, syncs = b->syncs - a->syncs;
    v->batch = commits > 0 ? (double)(b->writes - a->writes) / (double)commits : -1;
    v->sync_ms = syncs > 0 ? (double)(b->sync_us - a->sync_us) / 1000.0 / (double)syncs : -1;
    double win_s = (double)(b->uptime_ms - oldest->uptime_ms) / 1000.0;
    v->sold_per_min = (double)(b->seats_sold - oldest->seats_sold) * 60.0 / (win_s > 0 ? win_s : 1);
}

/* A number for JSON: null for "none" (negative) or infinite. */
static void
json_num(const char *key, double v, const char *sep)
{
    if (v < 0 || isinf(v))
        printf("\"%s\":null%s", key, sep);
    else
        printf("\"%s\":%.3f%s", key, v, sep);
}

/* Method and code names are the server's identifiers: no escaping needed. */
static void
print_json(const top_view *v)
{
    const stats *b = v->b;
    printf("{\"interval_ms\":%lld,\"uptime_ms\":%lld,\"metrics_enabled\":%s,",
           (long long)(b->uptime_ms - v->a->uptime_ms), (long long)b->uptime_ms,
           b->metrics_enabled ? "true" : "false");
    json_num("calls_per_s", v->calls_per_s, ",");
    json_num("errors_per_s", v->errors_per_s, ",");
    printf("\"methods\":[");
    for (size_t i = 0; i < b->n_methods; i++) {
        top_method m = method_rates(v, b->methods[i]);
        printf("%s{\"method\":\"%s\",\"calls\":%llu,", i ? "," : "", m.name,
               (unsigned long long)m.calls);
        json_num("calls_per_s", m.per_s, ",");
        json_num("errors_per_s", m.errors_per_s, ",");
        json_num("p99_ms", m.p99_ms, "}");
    }
    printf("],\"codes\":[");
    for (size_t i = 0; i < b->n_codes; i++) {
        const char *code = b->codes[i]->code;
        printf("%s{\"code\":\"%s\",\"calls\":%llu,", i ? "," : "", code,
               (unsigned long long)b->codes[i]->calls);
        json_num("calls_per_s", (double)(b->codes[i]->calls - code_calls(v->a, code)) / v->dt_s,
                 "}");
    }
    printf("],\"writes\":%llu,\"commits\":%llu,", (unsigned long long)b->writes,
           (unsigned long long)b->commits);
    json_num("batch_size", v->batch, ",");
    json_num("sync_ms", v->sync_ms, ",");
    printf("\"commit_failures\":%llu,\"queue_depth\":%lld,\"holds_active\":%lld,"
           "\"seats_held\":%llu,\"seats_sold\":%llu,",
           (unsigned long long)b->commit_failures, (long long)b->queue_depth,
           (long long)b->holds_active, (unsigned long long)b->seats_held,
           (unsigned long long)b->seats_sold);
    json_num("seats_sold_per_min", v->sold_per_min, ",");
    printf("\"payments_total\":%llu,\"revenue_cents_total\":%llu,\"busiest_sessions\":[",
           (unsigned long long)b->payments_total, (unsigned long long)b->revenue_cents_total);
    for (size_t i = 0; i < b->n_busiest_sessions; i++) {
        const Bilheteria__V1__SessionStats *s = b->busiest_sessions[i];
        printf("%s{\"session_id\":%llu,\"seats_held\":%llu,\"seats_sold\":%llu}", i ? "," : "",
               (unsigned long long)s->session_id, (unsigned long long)s->seats_held,
               (unsigned long long)s->seats_sold);
    }
    printf("]}\n");
}

static const char *
fmt(char *buf, size_t n, const char *f, double v)
{
    if (v < 0)
        snprintf(buf, n, "-");
    else if (isinf(v))
        snprintf(buf, n, ">10000");
    else
        snprintf(buf, n, f, v);
    return buf;
}

/* Prints t after a blank line, and frees it. */
static void
table_done(struct cli_table *t)
{
    putchar('\n');
    cli_table_print(t, "");
    cli_table_free(t);
}

static void
print_table(const top_view *v, const char *server)
{
    const stats *b = v->b;
    char x[4][48];
    long long up = (long long)(b->uptime_ms / 1000);

    printf("bilheteria top  %s  up %lldh%02lldm%02llds  every %d s (Ctrl-C quits)\n", server,
           up / 3600, up / 60 % 60, up % 60, TOP_INTERVAL_MS / 1000);
    printf("calls/s %s  errors/s %s  batch %s calls  sync %s ms  queue %lld  failed commits "
           "%llu\n",
           fmt(x[0], sizeof(x[0]), "%.1f", v->calls_per_s),
           fmt(x[1], sizeof(x[1]), "%.1f", v->errors_per_s),
           fmt(x[2], sizeof(x[2]), "%.1f", v->batch), fmt(x[3], sizeof(x[3]), "%.2f", v->sync_ms),
           (long long)b->queue_depth, (unsigned long long)b->commit_failures);
    printf("holds active %lld (seats held %llu)  seats sold %llu (%s/min)  payments %llu\n",
           (long long)b->holds_active, (unsigned long long)b->seats_held,
           (unsigned long long)b->seats_sold, fmt(x[0], sizeof(x[0]), "%.0f", v->sold_per_min),
           (unsigned long long)b->payments_total);
    if (!b->metrics_enabled)
        printf("(the server's metrics registry is off: no calls by method or code; start it "
               "with --metrics-listen)\n");

    struct cli_table *t = cli_table_new(5);
    cli_table_add(t, "METHOD", "CALLS", "CALLS/S", "ERR/S", "P99_MS");
    for (size_t i = 0; i < b->n_methods; i++) {
        top_method m = method_rates(v, b->methods[i]);
        char calls[24];
        snprintf(calls, sizeof(calls), "%llu", (unsigned long long)m.calls);
        cli_table_add(t, m.name, calls, fmt(x[0], sizeof(x[0]), "%.1f", m.per_s),
                      fmt(x[1], sizeof(x[1]), "%.1f", m.errors_per_s),
                      fmt(x[2], sizeof(x[2]), "%.3g", m.p99_ms));
    }
    table_done(t);

    t = cli_table_new(3);
    cli_table_add(t, "CODE", "CALLS", "CALLS/S");
    for (size_t i = 0; i < b->n_codes; i++) {
        const char *code = b->codes[i]->code;
        snprintf(x[0], sizeof(x[0]), "%llu", (unsigned long long)b->codes[i]->calls);
        cli_table_add(t, code, x[0],
                      fmt(x[1], sizeof(x[1]), "%.1f",
                          (double)(b->codes[i]->calls - code_calls(v->a, code)) / v->dt_s));
    }
    table_done(t);

    t = cli_table_new(3);
    cli_table_add(t, "SESSION", "HELD", "SOLD");
    for (size_t i = 0; i < b->n_busiest_sessions; i++) {
        const Bilheteria__V1__SessionStats *s = b->busiest_sessions[i];
        snprintf(x[0], sizeof(x[0]), "%llu", (unsigned long long)s->session_id);
        snprintf(x[1], sizeof(x[1]), "%llu", (unsigned long long)s->seats_held);
        snprintf(x[2], sizeof(x[2]), "%llu", (unsigned long long)s->seats_sold);
        cli_table_add(t, x[0], x[1], x[2]);
    }
    table_done(t);
}

static void
free_stats(stats *s)
{
    if (s != NULL)
        protobuf_c_message_free_unpacked(&s->base, NULL);
}

int
cli_cmd_top(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    int once = 0, rc, tty = isatty(STDOUT_FILENO);
    struct bh__opt opts[] = {
        { "--once", NULL, BH__OPT_FLAG, 0, &once,
          "take two samples a second apart, print one view (one JSON object with --json) "
          "and exit" },
    };
    /* ring[i % TOP_WINDOW]: the samples of the last minute, for sold/min. */
    stats *ring[TOP_WINDOW] = { NULL };
    size_t n = 0;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (cli->json && !once)
        return cli_usage_error(cmd, "--json prints one sample: use it with --once");
    if ((rc = sample(cli, cmd, &ring[0])) != CLI_EXIT_OK)
        return rc;
    for (n = 1;; n++) {
        sleep_ms(TOP_INTERVAL_MS);
        stats **slot = &ring[n % TOP_WINDOW];
        free_stats(*slot); /* the sample of a minute ago */
        *slot = NULL;
        if ((rc = sample(cli, cmd, slot)) != CLI_EXIT_OK)
            break;
        top_view v;
        const stats *oldest = ring[n < TOP_WINDOW ? 0 : (n + 1) % TOP_WINDOW];
        view_of(&v, ring[(n - 1) % TOP_WINDOW], *slot, oldest);
        if (cli->json) {
            print_json(&v);
        } else {
            if (tty)
                fputs("\033[H\033[2J", stdout); /* home, clear: a view in place */
            print_table(&v, cli->server);
        }
        if (fflush(stdout) != 0) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        if (once)
            break;
    }
    for (size_t i = 0; i < TOP_WINDOW; i++)
        free_stats(ring[i]);
    return rc;
}
