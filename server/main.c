/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria-server: flags, start-up, a reload on SIGHUP and a clean stop
 * on SIGINT or SIGTERM. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "bridge.h"
#include "feed.h"
#include "bilheteria/commit.h"
#include "bh_opts.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "nng_compat.h"
#include "nng_tls.h"
#include "ratelimit.h"
#include "srv.h"
#include "waitlist.h"

static const char usage[] =
    "usage: bilheteria-server [options]\n"
    "\n"
    "Runs the Bilheteria box-office service: protobuf-c over nng REQ/REP,\n"
    "data in LMDB. Stops cleanly on SIGINT or SIGTERM; SIGHUP re-reads the\n"
    "auth file, the JWKS and the TLS certificates and reopens the log files\n"
    "(a failed reload keeps the old ones).\n"
    "\n"
    "options:\n"
    "  --listen URL           listen here; repeatable: tcp://HOST:PORT, ipc:///PATH or\n"
    "                         tls+tcp://HOST:PORT (needs --tls-cert and --tls-key);\n"
    "                         default " BH_DEFAULT_URL "\n"
    "  --tls-cert FILE        the server's certificate for tls+tcp:// (PEM, a chain\n"
    "                         allowed: the server's first)\n"
    "  --tls-key FILE         its private key (PEM, not encrypted)\n"
    "  --tls-client-ca FILE   mutual TLS: clients must present a certificate signed\n"
    "                         by a CA in FILE (PEM)\n"
    "  --data-dir DIR         LMDB environment directory (default ./bilheteria-data)\n"
    "  --map-size-mb N        initial LMDB map size in MiB (default 1024); the map\n"
    "                         grows by doubling when it fills\n"
    "  --no-sync              UNSAFE: do not fsync commits. Faster, but a crash or\n"
    "                         power loss loses the last acknowledged writes\n"
    "  --hold-ttl-s N         default and longest seat hold, seconds (default 600)\n"
    "  --offer-ttl-s N        how long a waiting-list offer holds its seats, seconds\n"
    "                         (default 600)\n"
    "  --max-seats N          most seats in one reservation (default 10)\n"
    "  --idempotency-retention-s N\n"
    "                         how long idempotency keys are kept (default 86400)\n"
    "  --sweep-interval-ms N  how often expired holds are swept (default 1000)\n"
    "  --feed-retention-h N   how long the change feed keeps changes, hours\n"
    "                         (default 168); --feed-retention-s N in seconds\n"
    "  --nats-url URL         forward the change feed to NATS JetStream there\n"
    "                         (nats://127.0.0.1:4222), in order, exactly once\n"
    "  --nats-subject PREFIX  its subjects: PREFIX.<type> (default bilheteria);\n"
    "                         stream PREFIX upper-cased, created if missing\n"
    "  --workers N            concurrent requests in flight (nng contexts, default 128)\n"
    "  --max-request-kb N     requests above this get RESOURCE_EXHAUSTED (default 64;\n"
    "                         1 MiB more and the connection is dropped)\n"
    "  --max-connections N    connections open at once; more are closed on arrival\n"
    "                         (default: the fd limit less 64, at most 1024)\n"
    "  --max-inflight-per-conn N\n"
    "                         unanswered calls of one connection; more are refused,\n"
    "                         or the connection closed if it is not reading its\n"
    "                         answers (default: --workers / 2)\n"
    "  --max-inflight-mb N    requests being served and their answers, all\n"
    "                         connections; new calls past it get RESOURCE_EXHAUSTED\n"
    "                         (default 64)\n"
    "  --send-timeout-s N     an answer its connection does not take within N s\n"
    "                         closes that connection (default 10)\n"
    "  --idle-timeout-s N     close connections silent for N s; 0 = never (default 300)\n"
    "  --quiet                no start-up banner\n"
    "  --rate-limit PER_S     calls a second per identity (token bucket; 0 = none,\n"
    "                         the default); more get RESOURCE_EXHAUSTED\n"
    "  --rate-burst N         calls an identity may make at once (default: PER_S,\n"
    "                         at least 1)\n"
    "  --anon-rate-limit PER_S, --anon-rate-burst N\n"
    "                         the same for callers without a name (anonymous, a\n"
    "                         refused token, open mode), per peer address\n"
    "\n"
    "operations (see README, Operations):\n"
    "  --metrics-listen URL   serve /metrics, /healthz and /readyz over HTTP here\n"
    "                         (http://127.0.0.1:9450; off by default)\n"
    "  --log-level L          error, warn, info (default) or debug\n"
    "  --log-format F         text (default) or json\n"
    "  --access-log FILE      one line per call to FILE (- for stdout)\n"
    "  --slow-ms N            calls taking N ms or more are logged at warn level\n"
    "                         (0: every call; off by default)\n"
    "  --audit-log FILE       one JSON line per write and per denied call\n"
    "\n"
    "credentials (without --auth-file or --jwks: open mode, every caller may do\n"
    "anything, and only loopback and ipc:// are served):\n"
    "  --auth-file FILE       service tokens, one a line: NAME ROLE SHA256_HEX\n"
    "                         (ROLE admin or service; see `token new` below)\n"
    "  --jwks FILE            end users' JWTs (RS256, ES256) are verified with the\n"
    "                         keys of this JWKS document (the OIDC provider's)\n"
    "  --jwt-issuer ISS       the iss JWTs must carry (required with --jwks)\n"
    "  --jwt-audience AUD     the aud JWTs must carry (required with --jwks)\n"
    "  --jwt-leeway-s N       clock skew allowed on exp and nbf (default 30)\n"
    "  --jwt-user-claim C     the claim that is the user id (default sub)\n"
    "  --jwt-admin-claim C    a JWT is admin when this claim (a string or an\n"
    "                         array) holds --jwt-admin-value (default\n"
    "                         cognito:groups), else customer\n"
    "  --jwt-admin-value V    (default bilheteria-admin)\n"
    "  --public-reads         callers without credentials may read the catalog\n"
    "                         and seat maps (they may always call Health.Check)\n"
    "  --insecure             open mode on any address (anyone who reaches the\n"
    "                         port may do anything)\n"
    "  --help                 this text\n"
    "  --version              print the version, the commit and the libraries' versions\n"
    "\n"
    "Each option can also come from the environment, a flag given winning:\n"
    "--data-dir DIR is BILHETERIA_DATA_DIR=DIR, --no-sync is BILHETERIA_NO_SYNC=1,\n"
    "--listen is BILHETERIA_LISTEN=\"URL URL\" (spaces or commas between URLs).\n"
    "\n"
    "bilheteria-server token new --name NAME --role admin|service\n"
    "                         prints a new service token and its auth file line\n"
    "bilheteria-server backup --data-dir DIR --out PATH\n"
    "                         copies a stopped server's data (compacted) to PATH\n";

/* How long closing nng's socket may take once every write is durable and
 * answered. nng_close can hang for good (see proto/compat/nng_compat.c):
 * rather than wait forever, the process ends -- nothing is lost by then. */
#define STOP_GRACE_S 5

static void
close_listener(void *l)
{
    srv_listener_close(l);
}

/* The schemes served; anything else nng knows (ws://, inproc://, ...)
 * would start a listener no client of ours can use. */
static const char *const served_schemes[] = { "tcp://",     "tcp4://",     "tcp6://",    "ipc://",
                                              "tls+tcp://", "tls+tcp4://", "tls+tcp6://" };

/* Checks the --listen URLs and the --tls-* flags together. 0, or -1 with
 * err set, naming the flag and the value. */
static int
check_listen(const srv_config *cfg, char *err, size_t errlen)
{
    int tls = 0;
    for (int i = 0; i < cfg->n_listen; i++) {
        const char *url = cfg->listen[i];
        size_t k = 0, n = sizeof(served_schemes) / sizeof(served_schemes[0]);
        while (k < n && strncmp(url, served_schemes[k], strlen(served_schemes[k])) != 0)
            k++;
        if (k == n) {
            snprintf(err, errlen,
                     "--listen \"%s\": this server serves tcp://HOST:PORT, ipc:///PATH and "
                     "tls+tcp://HOST:PORT only",
                     url);
            return -1;
        }
        if (bh_tls_url(url)) {
            tls = 1;
            if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
                snprintf(err, errlen, "--listen \"%s\" needs --tls-cert FILE and --tls-key FILE",
                         url);
                return -1;
            }
        }
    }
    if (!tls && (cfg->tls_cert != NULL || cfg->tls_key != NULL || cfg->tls_client_ca != NULL)) {
        snprintf(err, errlen, "%s is given but no --listen URL is tls+tcp://",
                 cfg->tls_cert != NULL  ? "--tls-cert"
                 : cfg->tls_key != NULL ? "--tls-key"
                                        : "--tls-client-ca");
        return -1;
    }
    return 0;
}

/*
 * SIGHUP: re-reads what may change without a restart (`systemctl reload`,
 * logrotate). Each piece reloads on its own: one that fails says why and
 * keeps what it had, and the others still reload. Calls in flight are not
 * held up. Whatever else learns to reload (the audit log, log files) adds
 * its line here.
 */
static void
reload_all(const srv_config *cfg, srv_listener *l)
{
    char err[512];

    if (cfg->tls_cert != NULL) {
        if (srv_listener_reload_tls(l, err, sizeof(err)) == 0)
            srv_log(SRV_LOG_INFO, "SIGHUP: TLS certificates reloaded");
        else
            srv_log(SRV_LOG_ERROR, "SIGHUP: TLS certificates NOT reloaded, the old ones stay: %s",
                    err);
    }

    if (cfg->auth != NULL && srv_auth_enabled(cfg->auth)) {
        if (srv_auth_reload(cfg->auth, err, sizeof(err)) == 0)
            srv_log(SRV_LOG_INFO, "SIGHUP: credentials reloaded");
        else
            srv_log(SRV_LOG_ERROR, "SIGHUP: credentials NOT reloaded, the old ones stay: %s", err);
    } else {
        srv_log(SRV_LOG_INFO, "SIGHUP: no credentials to reload (open mode)");
    }

    if (srv_log_reopen(err, sizeof(err)) != 0)
        srv_log(SRV_LOG_ERROR, "SIGHUP: a log file NOT reopened: %s", err);
    if (cfg->audit != NULL && srv_audit_reopen(cfg->audit, err, sizeof(err)) != 0)
        srv_log(SRV_LOG_ERROR, "SIGHUP: the audit log NOT reopened: %s", err);
}

/* Flags that are given again take the last value, except --listen, which
 * repeats. */
#define LW BH__OPT_LAST_WINS
#define SRV_INT_OPT(name, dest, lo, hi)                                                            \
    {                                                                                              \
        name, "N", BH__OPT_INT, LW, dest, NULL, lo, hi                                             \
    }

/* bilheteria-server token new --name NAME --role ROLE: a fresh service
 * token on stdout's first line, the auth file's line for it on the second. */
static int
token_main(int argc, char **argv)
{
    const char *name = NULL, *role = NULL;
    char token[64], line[256], err[256];
    struct bh__opt opts[] = {
        { "--name", "NAME", BH__OPT_STR, BH__OPT_REQUIRED | LW, &name, "the caller's name" },
        { "--role", "ROLE", BH__OPT_STR, BH__OPT_REQUIRED | LW, &role, "admin or service" },
    };
    size_t n = sizeof(opts) / sizeof(opts[0]);
    if (argc < 2 || strcmp(argv[1], "new") != 0) {
        bh__opts_usage(stderr, "bilheteria-server token", "new --name NAME --role ROLE", NULL, opts,
                       n);
        return 2;
    }
    switch (bh__opts_parse(opts, n, argc - 2, argv + 2,
                           BH__OPTS_DASH_NOT_VALUE | BH__OPTS_QUOTE_UNKNOWN, NULL, err,
                           sizeof(err))) {
    case BH__PARSE_HELP:
        bh__opts_usage(stdout, "bilheteria-server token", "new --name NAME --role ROLE",
                       "Prints a new service token and the --auth-file line that accepts it.", opts,
                       n);
        return 0;
    case BH__PARSE_ERROR: fprintf(stderr, "bilheteria-server token new: %s\n", err); return 2;
    }
    if (srv_auth_token_new(name, role, token, sizeof(token), line, sizeof(line), err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "bilheteria-server token new: %s\n", err);
        return 2;
    }
    printf("%s\n%s\n", token, line);
    fprintf(stderr, "bilheteria-server: give the caller the first line (it is shown only now); "
                    "add the second to the auth file\n");
    return 0;
}

/* What the command line says beyond srv_config. */
struct srv_flags {
    srv_auth_config auth;
    int insecure;
    const char *metrics_listen, *access_log, *audit_log;
    enum srv_log_level log_level;
    enum srv_log_format log_format;
    int64_t slow_ms; /* -1: no slow log */
};

/* --rate-limit and --anon-rate-limit: calls a second, 0 (none) or
 * SRV_RL_RATE_MIN to 1e6. */
static int
parse_rate(const char *val, void *dest)
{
    char *end;
    double v = strtod(val, &end);
    if (end == val || *end != 0 || !isfinite(v) || (v != 0 && (v < SRV_RL_RATE_MIN || v > 1e6)))
        return -1;
    *(double *)dest = v;
    return 0;
}

static int
parse_level(const char *val, void *dest)
{
    return srv_log_level_parse(val, dest);
}

static int
parse_format(const char *val, void *dest)
{
    return srv_log_format_parse(val, dest);
}

/* A bucket of burst calls, or as many as a second's rate (at least 1). */
static uint32_t
burst_of(int64_t burst, double per_s)
{
    return burst > 0 ? (uint32_t)burst : per_s >= 1 ? (uint32_t)ceil(per_s) : 1;
}

static int
parse_args(int argc, char **argv, srv_config *cfg, struct srv_flags *fl)
{
    struct bh__strs listen = { 0 };
    int64_t map_mb = (int64_t)cfg->map_size_mb, ttl_s = cfg->hold_ttl_ms / 1000,
            seats = cfg->max_seats, retention_s = cfg->idem_retention_ms / 1000,
            sweep_ms = cfg->sweep_interval_ms, workers = cfg->workers,
            request_kb = (int64_t)(cfg->max_request / 1024), conns = cfg->max_connections,
            per_conn = cfg->max_inflight_per_conn,
            inflight_mb = (int64_t)(cfg->max_inflight_bytes >> 20),
            send_s = cfg->send_timeout_ms / 1000, idle_s = cfg->idle_timeout_ms / 1000,
            leeway_s = fl->auth.jwt_leeway_s, burst = 0, anon_burst = 0,
            offer_s = cfg->offer_ttl_ms / 1000, feed_h = cfg->feed_retention_ms / 3600000,
            feed_s = 0;
    int version = 0, rc = -1;
    char err[256];
    struct bh__opt opts[] = {
        { "--listen", "URL", BH__OPT_STRS, 0, &listen },
        { "--data-dir", "DIR", BH__OPT_STR, LW, &cfg->data_dir },
        { "--tls-cert", "FILE", BH__OPT_STR, LW, &cfg->tls_cert },
        { "--tls-key", "FILE", BH__OPT_STR, LW, &cfg->tls_key },
        { "--tls-client-ca", "FILE", BH__OPT_STR, LW, &cfg->tls_client_ca },
        SRV_INT_OPT("--map-size-mb", &map_mb, 1, 1 << 20),
        { "--no-sync", NULL, BH__OPT_FLAG, LW, &cfg->no_sync },
        SRV_INT_OPT("--hold-ttl-s", &ttl_s, 1, 7 * 86400),
        SRV_INT_OPT("--offer-ttl-s", &offer_s, 1, 7 * 86400),
        SRV_INT_OPT("--max-seats", &seats, 1, BH_RESERVATION_SEATS_MAX),
        SRV_INT_OPT("--idempotency-retention-s", &retention_s, 1, 365LL * 86400),
        SRV_INT_OPT("--sweep-interval-ms", &sweep_ms, 10, 3600000),
        SRV_INT_OPT("--feed-retention-h", &feed_h, 1, 10LL * 365 * 24),
        SRV_INT_OPT("--feed-retention-s", &feed_s, 1, 10LL * 365 * 86400),
        { "--nats-url", "URL", BH__OPT_STR, LW, &cfg->nats_url },
        { "--nats-subject", "PREFIX", BH__OPT_STR, LW, &cfg->nats_subject },
        SRV_INT_OPT("--workers", &workers, 1, 4096),
        SRV_INT_OPT("--max-request-kb", &request_kb, 1, 65536),
        SRV_INT_OPT("--max-connections", &conns, 1, 65536),
        SRV_INT_OPT("--max-inflight-per-conn", &per_conn, 1, 4096),
        SRV_INT_OPT("--max-inflight-mb", &inflight_mb, 1, 1 << 20),
        SRV_INT_OPT("--send-timeout-s", &send_s, 1, 3600),
        SRV_INT_OPT("--idle-timeout-s", &idle_s, 0, 7 * 86400),
        { "--quiet", NULL, BH__OPT_FLAG, LW, &cfg->quiet },
        { "--auth-file", "FILE", BH__OPT_STR, LW, &fl->auth.auth_file },
        { "--jwks", "FILE", BH__OPT_STR, LW, &fl->auth.jwks_file },
        { "--jwt-issuer", "ISS", BH__OPT_STR, LW, &fl->auth.jwt_issuer },
        { "--jwt-audience", "AUD", BH__OPT_STR, LW, &fl->auth.jwt_audience },
        SRV_INT_OPT("--jwt-leeway-s", &leeway_s, 0, SRV_AUTH_LEEWAY_MAX_S),
        { "--jwt-user-claim", "CLAIM", BH__OPT_STR, LW, &fl->auth.jwt_user_claim },
        { "--jwt-admin-claim", "CLAIM", BH__OPT_STR, LW, &fl->auth.jwt_admin_claim },
        { "--jwt-admin-value", "VALUE", BH__OPT_STR, LW, &fl->auth.jwt_admin_value },
        { "--public-reads", NULL, BH__OPT_FLAG, LW, &cfg->public_reads },
        { "--insecure", NULL, BH__OPT_FLAG, LW, &fl->insecure },
        { "--rate-limit", "PER_S", BH__OPT_FN, LW, &cfg->rate_limit, NULL, 0, 0, parse_rate,
          "0, or a rate from 0.001 to 1e6" },
        SRV_INT_OPT("--rate-burst", &burst, 1, 1000000),
        { "--anon-rate-limit", "PER_S", BH__OPT_FN, LW, &cfg->anon_rate_limit, NULL, 0, 0,
          parse_rate, "0, or a rate from 0.001 to 1e6" },
        SRV_INT_OPT("--anon-rate-burst", &anon_burst, 1, 1000000),
        { "--metrics-listen", "URL", BH__OPT_STR, LW, &fl->metrics_listen },
        { "--log-level", "L", BH__OPT_FN, LW, &fl->log_level, NULL, 0, 0, parse_level,
          "error, warn, info or debug" },
        { "--log-format", "F", BH__OPT_FN, LW, &fl->log_format, NULL, 0, 0, parse_format,
          "text or json" },
        { "--access-log", "FILE", BH__OPT_STR, LW, &fl->access_log },
        SRV_INT_OPT("--slow-ms", &fl->slow_ms, 0, 86400000),
        { "--audit-log", "FILE", BH__OPT_STR, LW, &fl->audit_log },
        { "--version", NULL, BH__OPT_FLAG, LW | BH__OPT_NO_ENV, &version },
    };
    /* "--data-dir --no-sync" is a value forgotten, not a dir named so. */
    switch (bh__opts_parse_env(opts, sizeof(opts) / sizeof(opts[0]), argc - 1, argv + 1,
                               BH__OPTS_DASH_NOT_VALUE | BH__OPTS_QUOTE_UNKNOWN, "BILHETERIA_",
                               NULL, err, sizeof(err))) {
    case BH__PARSE_HELP: fputs(usage, stdout); exit(0);
    case BH__PARSE_ERROR: fprintf(stderr, "bilheteria-server: %s (try --help)\n", err); goto out;
    }
    if (version) {
        printf("bilheteria-server %s (commit %s; nng %s, lmdb %s, protobuf-c %s)\n", BH_VERSION,
               BH_GIT_COMMIT, bh_nng_version(), store_lmdb_version(), PROTOBUF_C_VERSION);
        exit(0);
    }
    if (listen.n > sizeof(cfg->listen) / sizeof(cfg->listen[0])) {
        fprintf(stderr, "bilheteria-server: at most %zu --listen URLs\n",
                sizeof(cfg->listen) / sizeof(cfg->listen[0]));
        goto out;
    }
    for (size_t i = 0; i < listen.n; i++)
        cfg->listen[cfg->n_listen++] = listen.v[i];
    if (cfg->n_listen == 0)
        cfg->listen[cfg->n_listen++] = BH_DEFAULT_URL;
    if (check_listen(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "bilheteria-server: %s (try --help)\n", err);
        goto out;
    }
    cfg->map_size_mb = (size_t)map_mb;
    cfg->hold_ttl_ms = ttl_s * 1000;
    cfg->offer_ttl_ms = offer_s * 1000;
    cfg->max_seats = (uint32_t)seats;
    cfg->idem_retention_ms = retention_s * 1000;
    cfg->sweep_interval_ms = (int)sweep_ms;
    cfg->feed_retention_ms = feed_s > 0 ? feed_s * 1000 : feed_h * 3600000;
    cfg->workers = (int)workers;
    cfg->max_request = (size_t)request_kb * 1024;
    cfg->max_connections = (int)conns;
    cfg->max_inflight_per_conn = (int)per_conn;
    cfg->max_inflight_bytes = (size_t)inflight_mb << 20;
    cfg->send_timeout_ms = (int)send_s * 1000;
    cfg->idle_timeout_ms = (int)idle_s * 1000;
    fl->auth.jwt_leeway_s = (int)leeway_s;
    cfg->rate_burst = burst_of(burst, cfg->rate_limit);
    cfg->anon_rate_burst = burst_of(anon_burst, cfg->anon_rate_limit);
    if (cfg->idem_retention_ms < cfg->hold_ttl_ms)
        srv_log(SRV_LOG_WARN,
                "warning: --idempotency-retention-s %lld is shorter than "
                "--hold-ttl-s %lld: a call retried after its key is swept may hold seats twice",
                (long long)(cfg->idem_retention_ms / 1000), (long long)(cfg->hold_ttl_ms / 1000));
    rc = 0;
out:
    bh__strs_free(&listen);
    return rc;
}

/* Opens the credentials the flags name into cfg->auth, and holds open mode
 * to loopback and ipc:// unless --insecure. 0, or -1 after saying why. */
static int
auth_start(srv_config *cfg, const struct srv_flags *fl)
{
    char err[512];

    if (srv_auth_open(&cfg->auth, &fl->auth, err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "credentials (--auth-file, --jwks, --jwt-*): %s", err);
        return -1;
    }
    if (srv_auth_enabled(cfg->auth))
        return 0;
    for (int i = 0; i < cfg->n_listen && !fl->insecure; i++) {
        if (!srv_authz_url_open_ok(cfg->listen[i])) {
            srv_log(SRV_LOG_ERROR,
                    "--listen %s: no credentials are configured (open mode: "
                    "whoever connects may do anything), so only loopback addresses and ipc:// "
                    "are served; give --auth-file or --jwks, or --insecure to serve it open",
                    cfg->listen[i]);
            return -1;
        }
    }
    if (cfg->public_reads)
        srv_log(SRV_LOG_WARN, "warning: --public-reads changes nothing in open mode (everyone "
                              "may do anything)");
    return 0;
}

/* The banner's line about who may call. */
static void
auth_banner(const srv_config *cfg, const struct srv_flags *fl)
{
    const srv_auth_config *a = &fl->auth;

    if (!srv_auth_enabled(cfg->auth)) {
        srv_log(SRV_LOG_INFO, "auth: off (open mode, %s)",
                fl->insecure ? "--insecure: anyone who reaches the port may do anything"
                             : "loopback only");
        return;
    }
    srv_log(SRV_LOG_INFO, "auth: on (%s%s%s%s%s); without credentials: %s",
            a->auth_file ? "service tokens of " : "", a->auth_file ? a->auth_file : "",
            a->auth_file && a->jwks_file ? ", " : "", a->jwks_file ? "JWTs of " : "",
            a->jwks_file ? a->jwt_issuer : "",
            cfg->public_reads ? "Health.Check, the catalog and seat maps (--public-reads)"
                              : "Health.Check only");
}

/* Applies the log flags and opens the access and audit logs. 0, or -1
 * after saying why. */
static int
logs_start(srv_config *cfg, const struct srv_flags *fl)
{
    char err[512];

    srv_log_config(fl->log_level, fl->log_format);
    /* --slow-ms 0 is every call: the log's threshold 0 would be none. */
    if (fl->slow_ms >= 0)
        srv_log_slow_threshold_us(fl->slow_ms > 0 ? (uint64_t)fl->slow_ms * 1000 : 1);
    if (fl->access_log != NULL && srv_log_access_open(fl->access_log, err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "--access-log: %s", err);
        return -1;
    }
    if (fl->audit_log != NULL && srv_audit_open(&cfg->audit, fl->audit_log, err, sizeof(err))) {
        srv_log(SRV_LOG_ERROR, "--audit-log: %s", err);
        return -1;
    }
    return 0;
}

/* What /readyz looks at. */
struct ops_state {
    srv_listener *l;
    srv_writer *wr;
    atomic_int stopping; /* SIGTERM or SIGINT seen: draining */
};

/* /readyz: serving, not draining, and the writer not stopped by a disk
 * error. */
static int
ready(void *arg, char *why, size_t n)
{
    struct ops_state *o = arg;
    srv_health h;

    if (atomic_load(&o->stopping)) {
        snprintf(why, n, "draining");
        return 0;
    }
    srv_writer_health(o->wr, &h);
    if (h.broken) {
        snprintf(why, n, "the store is not writable (a disk error stopped the writes)");
        return 0;
    }
    return 1;
}

int
main(int argc, char **argv)
{
    srv_config cfg = {
        .data_dir = "./bilheteria-data",
        .map_size_mb = 1024,
        .workers = 128,
        .max_request = 64 << 10,
        .hold_ttl_ms = 600 * 1000,
        .offer_ttl_ms = 600 * 1000,
        .idem_retention_ms = 86400LL * 1000,
        .max_seats = 10,
        .sweep_interval_ms = 1000,
        .feed_retention_ms = 168LL * 3600000,
        .nats_subject = "bilheteria",
        .max_inflight_bytes = (size_t)64 << 20,
        .send_timeout_ms = 10 * 1000,
        .idle_timeout_ms = 300 * 1000,
    };
    store *st = NULL;
    srv_writer *wr = NULL;
    srv_listener *l = NULL;
    srv_bridge *bridge = NULL;
    struct srv_flags fl = { .log_level = SRV_LOG_INFO, .log_format = SRV_LOG_TEXT, .slow_ms = -1 };
    struct ops_state ops = { .l = NULL };
    srv_http *http = NULL;
    char err[512];
    int status = 1, sig = 0;

    srv_auth_config_init(&fl.auth);
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return token_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "backup") == 0)
        return srv_backup_main(argc - 1, argv + 1);
    if (parse_args(argc, argv, &cfg, &fl) != 0 || logs_start(&cfg, &fl) != 0 ||
        auth_start(&cfg, &fl) != 0) {
        srv_auth_close(cfg.auth);
        srv_audit_close(cfg.audit);
        srv_log_close();
        return 2;
    }

    /* Block the signals before any thread starts (nng's included), so that
     * only sigwait below sees them. SIGHUP reloads (under nohup too: a
     * blocked signal reaches sigwait whatever its disposition). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    srv_waitlist_set_offer_ttl(cfg.offer_ttl_ms); /* before the writer starts */
    if (srv_registry_init() != 0) {
        srv_log(SRV_LOG_ERROR, "method registry overflow");
        goto out;
    }
    store_config sc = {
        .dir = cfg.data_dir,
        .map_size = cfg.map_size_mb << 20,
        .no_sync = cfg.no_sync,
        .defer_meta_sync = 1, /* the writer's syncer thread syncs before answering */
        .max_readers = (unsigned)cfg.workers + 64,
        /* One server per data dir: LMDB would keep two consistent, but each
         * writer's seat cache assumes it is the only writer, and a second
         * server would fail later and obscurely (LMDB's reader table full). */
        .exclusive = 1,
    };
    int rc = store_open(&st, &sc, err, sizeof(err));
    if (rc != STORE_OK) {
        srv_log(SRV_LOG_ERROR, "%s", err);
        goto out;
    }
    if (srv_feed_init(st, cfg.feed_retention_ms, cfg.workers / 2) != 0) {
        srv_log(SRV_LOG_ERROR, "cannot read the change feed's position");
        goto out;
    }
    if (cfg.nats_url != NULL && srv_bridge_start(&bridge, st, &cfg, err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "--nats-url: %s", err);
        goto out;
    }
    if (srv_writer_start(&wr, st, &cfg) != 0) {
        srv_log(SRV_LOG_ERROR, "cannot start the writer thread");
        goto out;
    }
    srv_writer_set_audit(wr, cfg.audit); /* flushed after each batch is answered */
    if (srv_listener_start(&l, &cfg, st, wr, err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "%s", err);
        goto out;
    }
    ops.l = l;
    ops.wr = wr;
    if (fl.metrics_listen != NULL) {
        srv_metrics_enable(1);
        if (srv_http_start(&http, fl.metrics_listen, ready, &ops, err, sizeof(err)) != 0) {
            srv_log(SRV_LOG_ERROR, "--metrics-listen: %s", err);
            goto out;
        }
    }
    if (!cfg.quiet) {
        srv_log(SRV_LOG_INFO,
                "bilheteria-server %s: data in %s (fsync %s), holds %" PRId64 " s, %d contexts",
                BH_VERSION, cfg.data_dir, cfg.no_sync ? "OFF, unsafe" : "on",
                cfg.hold_ttl_ms / 1000, cfg.workers);
        srv_log(SRV_LOG_INFO, "try: bilheteria --server %s health", srv_listener_url(l));
        if (http != NULL)
            srv_log(SRV_LOG_INFO, "metrics on %s/metrics (and /healthz, /readyz)",
                    srv_http_url(http));
        auth_banner(&cfg, &fl);
    }
    sd_notify(0, "READY=1"); /* systemd's Type=notify; nothing outside systemd */
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
        sd_notify(0, "RELOADING=1");
        reload_all(&cfg, l);
        sd_notify(0, "READY=1");
    }
    sd_notify(0, "STOPPING=1");
    if (!cfg.quiet)
        srv_log(SRV_LOG_INFO, "%s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;
out:
    /* Refuse new calls, let the writer apply and answer what it holds while
     * the socket is still open, and only then close it (nng cannot always
     * take a send during the close: proto/compat/nng_compat.c). */
    atomic_store(&ops.stopping, 1); /* /readyz says 503 from here */
    srv_listener_drain(l);
    srv_bridge_stop(bridge); /* its position is in the store and the stream */
    srv_writer_stop(wr);
    if (bh_nng_run_bounded(close_listener, l, STOP_GRACE_S * 1000) != 0) {
        srv_log(SRV_LOG_ERROR,
                "closing the socket hung for %d s (an nng bug); exiting anyway: every write was "
                "already durable and answered",
                STOP_GRACE_S);
        _exit(status);
    }
    srv_http_free(http);
    srv_listener_free(l);
    srv_writer_free(wr);
    srv_feed_fini();
    store_close(st);
    srv_audit_close(cfg.audit);
    srv_auth_close(cfg.auth);
    srv_log_close();
    return status;
}
