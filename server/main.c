/* bilheteria-server: flags, start-up, and a clean stop on SIGINT, SIGTERM
 * or SIGHUP (a closed terminal). */
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argnum.h"
#include "srv.h"

static const char usage[] =
    "usage: bilheteria-server [options]\n"
    "\n"
    "Runs the Bilheteria box-office service: protobuf-c over nng REQ/REP,\n"
    "data in LMDB. Stops cleanly on SIGINT, SIGTERM or SIGHUP.\n"
    "\n"
    "options:\n"
    "  --listen URL           listen here; repeatable (tcp://HOST:PORT, ipc:///PATH)\n"
    "                         default tcp://127.0.0.1:7450\n"
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
    "  --help                 this text\n"
    "  --version              print the version\n";

/* How long the last steps of a stop (closing nng's socket, freeing) may
 * take once every write is durable and answered. nng 1.5.2's close can
 * hang for good (nng issues #1543, #1813; fixed upstream after 1.5.2):
 * rather than wait forever, the process ends -- nothing is lost by then. */
#define STOP_GRACE_S 5

static int stop_status;
static atomic_int closing_socket; /* the watchdog acts only while set */

static void *
stop_watchdog(void *arg)
{
    (void)arg;
    sleep(STOP_GRACE_S);
    if (!atomic_load(&closing_socket))
        return NULL;
    fprintf(stderr,
            "bilheteria-server: closing the socket hung for %d s (an nng 1.5.2 bug); exiting "
            "anyway: every write was already durable and answered\n",
            STOP_GRACE_S);
    _exit(stop_status);
}

static int
parse_num(const char *flag, const char *v, long long min, long long max, long long *out)
{
    return bh_arg_int("bilheteria-server", flag, v, min, max, out);
}

static int
parse_args(int argc, char **argv, srv_config *cfg)
{
    long long n;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        } else if (strcmp(a, "--version") == 0) {
            printf("bilheteria-server %s\n", SRV_VERSION);
            exit(0);
        } else if (strcmp(a, "--no-sync") == 0) {
            cfg->no_sync = 1;
            continue;
        } else if (strcmp(a, "--quiet") == 0) {
            cfg->quiet = 1;
            continue;
        }
        static const char *const valued[] = {
            "--listen",
            "--data-dir",
            "--map-size-mb",
            "--hold-ttl-s",
            "--max-seats",
            "--idempotency-retention-s",
            "--sweep-interval-ms",
            "--workers",
            "--max-request-kb",
            "--max-connections",
            "--max-inflight-per-conn",
            "--max-inflight-mb",
            "--send-timeout-s",
            "--idle-timeout-s",
            NULL,
        };
        int known = 0;
        for (int k = 0; valued[k] != NULL; k++)
            known |= strcmp(a, valued[k]) == 0;
        if (!known) {
            fprintf(stderr, "bilheteria-server: unknown option \"%s\" (try --help)\n", a);
            return -1;
        }
        /* "--data-dir --no-sync" is a value forgotten, not a dir named so. */
        if (v == NULL || strncmp(v, "--", 2) == 0) {
            fprintf(stderr, "bilheteria-server: %s needs a value (try --help)\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--listen") == 0) {
            if (cfg->n_listen == (int)(sizeof(cfg->listen) / sizeof(cfg->listen[0]))) {
                fprintf(stderr, "bilheteria-server: at most 8 --listen URLs\n");
                return -1;
            }
            cfg->listen[cfg->n_listen++] = v;
        } else if (strcmp(a, "--data-dir") == 0) {
            cfg->data_dir = v;
        } else if (strcmp(a, "--map-size-mb") == 0) {
            if (parse_num(a, v, 1, 1 << 20, &n))
                return -1;
            cfg->map_size_mb = (size_t)n;
        } else if (strcmp(a, "--hold-ttl-s") == 0) {
            if (parse_num(a, v, 1, 7 * 86400, &n))
                return -1;
            cfg->hold_ttl_ms = n * 1000;
        } else if (strcmp(a, "--max-seats") == 0) {
            if (parse_num(a, v, 1, 1000, &n))
                return -1;
            cfg->max_seats = (uint32_t)n;
        } else if (strcmp(a, "--idempotency-retention-s") == 0) {
            if (parse_num(a, v, 1, 365LL * 86400, &n))
                return -1;
            cfg->idem_retention_ms = n * 1000;
        } else if (strcmp(a, "--sweep-interval-ms") == 0) {
            if (parse_num(a, v, 10, 3600000, &n))
                return -1;
            cfg->sweep_interval_ms = (int)n;
        } else if (strcmp(a, "--workers") == 0) {
            if (parse_num(a, v, 1, 4096, &n))
                return -1;
            cfg->workers = (int)n;
        } else if (strcmp(a, "--max-request-kb") == 0) {
            if (parse_num(a, v, 1, 65536, &n))
                return -1;
            cfg->max_request = (size_t)n * 1024;
        } else if (strcmp(a, "--max-connections") == 0) {
            if (parse_num(a, v, 1, 65536, &n))
                return -1;
            cfg->max_connections = (int)n;
        } else if (strcmp(a, "--max-inflight-per-conn") == 0) {
            if (parse_num(a, v, 1, 4096, &n))
                return -1;
            cfg->max_inflight_per_conn = (int)n;
        } else if (strcmp(a, "--max-inflight-mb") == 0) {
            if (parse_num(a, v, 1, 1 << 20, &n))
                return -1;
            cfg->max_inflight_bytes = (size_t)n << 20;
        } else if (strcmp(a, "--send-timeout-s") == 0) {
            if (parse_num(a, v, 1, 3600, &n))
                return -1;
            cfg->send_timeout_ms = (int)n * 1000;
        } else if (strcmp(a, "--idle-timeout-s") == 0) {
            if (parse_num(a, v, 0, 7 * 86400, &n))
                return -1;
            cfg->idle_timeout_ms = (int)n * 1000;
        } else {
            fprintf(stderr, "bilheteria-server: unknown option \"%s\" (try --help)\n", a);
            return -1;
        }
    }
    if (cfg->n_listen == 0)
        cfg->listen[cfg->n_listen++] = "tcp://127.0.0.1:7450";
    if (cfg->idem_retention_ms < cfg->hold_ttl_ms)
        fprintf(stderr,
                "bilheteria-server: warning: --idempotency-retention-s %lld is shorter than "
                "--hold-ttl-s %lld: a call retried after its key is swept may hold seats twice\n",
                (long long)(cfg->idem_retention_ms / 1000), (long long)(cfg->hold_ttl_ms / 1000));
    return 0;
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
    char err[512];
    int status = 1, sig = 0;

    if (parse_args(argc, argv, &cfg) != 0)
        return 2;

    /* Block the stop signals before any thread starts (nng's included), so
     * that only sigwait below sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* SIGHUP (a closed terminal) stops it too, unless it was started to
     * ignore it (nohup): a blocked signal is delivered to sigwait even when
     * its disposition is to ignore it. */
    struct sigaction hup;
    if (sigaction(SIGHUP, NULL, &hup) == 0 && hup.sa_handler != SIG_IGN)
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
                SRV_VERSION, cfg.data_dir, cfg.no_sync ? "OFF, unsafe" : "on",
                cfg.hold_ttl_ms / 1000, cfg.workers, srv_listener_url(l));
    }
    sigwait(&set, &sig);
    if (!cfg.quiet)
        fprintf(stderr, "bilheteria-server: %s, stopping\n",
                sig == SIGINT   ? "SIGINT"
                : sig == SIGHUP ? "SIGHUP"
                                : "SIGTERM");
    status = 0;
out:
    /* Refuse new calls, let the writer apply and answer what it holds while
     * the socket is still open, and only then close it: sending on a
     * context while nng closes the socket crashes nng 1.5.2. */
    srv_listener_drain(l);
    srv_writer_stop(wr);
    stop_status = status;
    atomic_store(&closing_socket, 1);
    pthread_t wd;
    if (pthread_create(&wd, NULL, stop_watchdog, NULL) == 0)
        pthread_detach(wd);
    srv_listener_close(l);
    atomic_store(&closing_socket, 0);
    srv_listener_free(l);
    srv_writer_free(wr);
    store_close(st);
    return status;
}
