/* bilheteria-server: flags, start-up, a reload on SIGHUP and a clean stop
 * on SIGINT or SIGTERM. */
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "auth.h"
#include "bilheteria/commit.h"
#include "bh_opts.h"
#include "nng_compat.h"
#include "nng_tls.h"
#include "srv.h"

static const char usage[] =
    "usage: bilheteria-server [options]\n"
    "\n"
    "Runs the Bilheteria box-office service: protobuf-c over nng REQ/REP,\n"
    "data in LMDB. Stops cleanly on SIGINT or SIGTERM; SIGHUP re-reads the\n"
    "auth file and the JWKS (a failed reload keeps the old ones).\n"
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
    "  --max-seats N          most seats in one reservation (default 10)\n"
    "  --idempotency-retention-s N\n"
    "                         how long idempotency keys are kept (default 86400)\n"
    "  --sweep-interval-ms N  how often expired holds are swept (default 1000)\n"
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
            fprintf(stderr, "bilheteria-server: SIGHUP: TLS certificates reloaded\n");
        else
            fprintf(stderr,
                    "bilheteria-server: SIGHUP: TLS certificates NOT reloaded, the old ones "
                    "stay: %s\n",
                    err);
    }

    if (cfg->auth != NULL && srv_auth_enabled(cfg->auth)) {
        if (srv_auth_reload(cfg->auth, err, sizeof(err)) == 0)
            fprintf(stderr, "bilheteria-server: SIGHUP: credentials reloaded\n");
        else
            fprintf(stderr,
                    "bilheteria-server: SIGHUP: credentials NOT reloaded, the old ones stay: "
                    "%s\n",
                    err);
    } else {
        fprintf(stderr, "bilheteria-server: SIGHUP: no credentials to reload (open mode)\n");
    }
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
};

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
            leeway_s = fl->auth.jwt_leeway_s;
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
        SRV_INT_OPT("--max-seats", &seats, 1, BH_RESERVATION_SEATS_MAX),
        SRV_INT_OPT("--idempotency-retention-s", &retention_s, 1, 365LL * 86400),
        SRV_INT_OPT("--sweep-interval-ms", &sweep_ms, 10, 3600000),
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
    cfg->max_seats = (uint32_t)seats;
    cfg->idem_retention_ms = retention_s * 1000;
    cfg->sweep_interval_ms = (int)sweep_ms;
    cfg->workers = (int)workers;
    cfg->max_request = (size_t)request_kb * 1024;
    cfg->max_connections = (int)conns;
    cfg->max_inflight_per_conn = (int)per_conn;
    cfg->max_inflight_bytes = (size_t)inflight_mb << 20;
    cfg->send_timeout_ms = (int)send_s * 1000;
    cfg->idle_timeout_ms = (int)idle_s * 1000;
    fl->auth.jwt_leeway_s = (int)leeway_s;
    if (cfg->idem_retention_ms < cfg->hold_ttl_ms)
        fprintf(stderr,
                "bilheteria-server: warning: --idempotency-retention-s %lld is shorter than "
                "--hold-ttl-s %lld: a call retried after its key is swept may hold seats twice\n",
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
        fprintf(stderr, "bilheteria-server: credentials (--auth-file, --jwks, --jwt-*): %s\n", err);
        return -1;
    }
    if (srv_auth_enabled(cfg->auth))
        return 0;
    for (int i = 0; i < cfg->n_listen && !fl->insecure; i++) {
        if (!srv_authz_url_open_ok(cfg->listen[i])) {
            fprintf(stderr,
                    "bilheteria-server: --listen %s: no credentials are configured (open mode: "
                    "whoever connects may do anything), so only loopback addresses and ipc:// "
                    "are served; give --auth-file or --jwks, or --insecure to serve it open\n",
                    cfg->listen[i]);
            return -1;
        }
    }
    if (cfg->public_reads)
        fprintf(stderr, "bilheteria-server: warning: --public-reads changes nothing in open "
                        "mode (everyone may do anything)\n");
    return 0;
}

/* The banner's line about who may call. */
static void
auth_banner(const srv_config *cfg, const struct srv_flags *fl)
{
    const srv_auth_config *a = &fl->auth;

    if (!srv_auth_enabled(cfg->auth)) {
        fprintf(stderr, "auth: off (open mode, %s)\n",
                fl->insecure ? "--insecure: anyone who reaches the port may do anything"
                             : "loopback only");
        return;
    }
    fprintf(stderr, "auth: on (%s%s%s%s%s); without credentials: %s\n",
            a->auth_file ? "service tokens of " : "", a->auth_file ? a->auth_file : "",
            a->auth_file && a->jwks_file ? ", " : "", a->jwks_file ? "JWTs of " : "",
            a->jwks_file ? a->jwt_issuer : "",
            cfg->public_reads ? "Health.Check, the catalog and seat maps (--public-reads)"
                              : "Health.Check only");
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
        .idem_retention_ms = 86400LL * 1000,
        .max_seats = 10,
        .sweep_interval_ms = 1000,
        .max_inflight_bytes = (size_t)64 << 20,
        .send_timeout_ms = 10 * 1000,
        .idle_timeout_ms = 300 * 1000,
    };
    store *st = NULL;
    srv_writer *wr = NULL;
    srv_listener *l = NULL;
    struct srv_flags fl;
    char err[512];
    int status = 1, sig = 0;

    srv_auth_config_init(&fl.auth);
    fl.insecure = 0;
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return token_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "backup") == 0)
        return srv_backup_main(argc - 1, argv + 1);
    if (parse_args(argc, argv, &cfg, &fl) != 0 || auth_start(&cfg, &fl) != 0) {
        srv_auth_close(cfg.auth);
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

    if (srv_registry_init() != 0) {
        fprintf(stderr, "bilheteria-server: method registry overflow\n");
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
        fprintf(stderr, "bilheteria-server: %s\n", err);
        goto out;
    }
    if (srv_writer_start(&wr, st, &cfg) != 0) {
        fprintf(stderr, "bilheteria-server: cannot start the writer thread\n");
        goto out;
    }
    if (srv_listener_start(&l, &cfg, st, wr, err, sizeof(err)) != 0) {
        fprintf(stderr, "bilheteria-server: %s\n", err);
        goto out;
    }
    if (!cfg.quiet) {
        fprintf(stderr,
                "bilheteria-server %s: data in %s (fsync %s), holds %" PRId64 " s, "
                "%d contexts\n"
                "try: bilheteria --server %s health\n",
                BH_VERSION, cfg.data_dir, cfg.no_sync ? "OFF, unsafe" : "on",
                cfg.hold_ttl_ms / 1000, cfg.workers, srv_listener_url(l));
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
        fprintf(stderr, "bilheteria-server: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;
out:
    /* Refuse new calls, let the writer apply and answer what it holds while
     * the socket is still open, and only then close it (nng cannot always
     * take a send during the close: proto/compat/nng_compat.c). */
    srv_listener_drain(l);
    srv_writer_stop(wr);
    if (bh_nng_run_bounded(close_listener, l, STOP_GRACE_S * 1000) != 0) {
        fprintf(stderr,
                "bilheteria-server: closing the socket hung for %d s (an nng bug); exiting "
                "anyway: every write was already durable and answered\n",
                STOP_GRACE_S);
        _exit(status);
    }
    srv_listener_free(l);
    srv_writer_free(wr);
    store_close(st);
    srv_auth_close(cfg.auth);
    return status;
}
