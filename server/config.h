/* SPDX-License-Identifier: Apache-2.0 */
/* The server's configuration (filled by main.c from the command line). */
#ifndef BH_CONFIG_H
#define BH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct srv_auth;
struct srv_audit;

typedef struct srv_config {
    const char *listen[8];
    int n_listen;
    const char *data_dir;
    size_t map_size_mb;
    int no_sync;
    int workers;         /* nng contexts */
    size_t max_request;  /* bytes answered with RESOURCE_EXHAUSTED above */
    int64_t hold_ttl_ms; /* default and maximum hold time */
    int64_t idem_retention_ms;
    uint32_t max_seats; /* per reservation */
    int sweep_interval_ms;
    int quiet;
    /* What one peer may hold (listen.c); 0 = derived there. */
    int max_connections;       /* 0: from RLIMIT_NOFILE, see listen.c */
    int max_inflight_per_conn; /* 0: workers / 2 */
    size_t max_inflight_bytes; /* requests being served and their answers */
    int send_timeout_ms;       /* an answer not taken by then closes its connection */
    int idle_timeout_ms;       /* 0 = connections are never closed for idling */
    /* TLS of the tls+tcp:// listeners (listen.c): PEM files, re-read by
     * srv_listener_reload_tls; NULL = not given. */
    const char *tls_cert;      /* --tls-cert: certificate, a chain allowed */
    const char *tls_key;       /* --tls-key: its private key, not encrypted */
    const char *tls_client_ca; /* --tls-client-ca: clients need a certificate it signed */
    /* Credentials (auth.h), opened by main.c from --auth-file and --jwks;
     * NULL or not enabled: open mode (authz.h). Thread-safe. */
    struct srv_auth *auth;
    int public_reads; /* anonymous callers may call methods listing "public" */
    /* Abuse limits (listen.c, ratelimit.h): calls a second and bucket size
     * per identity, and per peer address for anonymous callers; a rate of
     * 0 is no limit. */
    double rate_limit;
    uint32_t rate_burst;
    double anon_rate_limit;
    uint32_t anon_rate_burst;
    /* --audit-log (audit.h), opened by main.c; NULL = none. listen.c adds
     * the lines of writes and denied calls and flushes when idle; the
     * writer flushes after each commit. Thread-safe. */
    struct srv_audit *audit;
    /* --offer-ttl-s: how long a waiting-list offer holds its seats
     * (waitlist.h); main.c hands it to srv_waitlist_set_offer_ttl. */
    int64_t offer_ttl_ms;
    /* The change feed (feed.h): how long changes are kept (--feed-retention-h);
     * the JetStream bridge (bridge.h): --nats-url, NULL = none, and the
     * subjects' prefix (--nats-subject). */
    int64_t feed_retention_ms;
    const char *nats_url;
    const char *nats_subject;
} srv_config;

#endif
