/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operations listener (http.c): `--metrics-listen http://HOST:PORT`,
 * served by nng's HTTP server on its own threads.
 *
 *   GET /metrics  200, srv_metrics_render's text (Content-Type
 *                 SRV_METRICS_CONTENT_TYPE); 500 if out of memory
 *   GET /healthz  200 "ok" while the process runs (liveness)
 *   GET /readyz   200 "ready" when the ready callback says so, else 503
 *                 with the reason it gave (readiness: serving, not
 *                 draining, store writable)
 *
 * Anything else is nng's 404 (or 405 for another method; HEAD is answered
 * as GET). Handlers never block: rendering is in memory and the ready
 * callback must be quick (read a few flags).
 */
#ifndef BH_HTTP_H
#define BH_HTTP_H

#include <stddef.h>

typedef struct srv_http srv_http;

/* Returns 1 if the server should get traffic; else 0 with a short reason
 * in why[0..n) (NUL terminated, e.g. "draining"). Runs on an nng thread,
 * never twice at once, and never after srv_http_stop has returned. */
typedef int (*srv_http_ready_fn)(void *arg, char *why, size_t n);

/* Starts serving url ("http://127.0.0.1:9450"; port 0 picks a free port,
 * see srv_http_url). ready may be NULL (always ready); arg is borrowed
 * until srv_http_stop returns. On success *out is the listener (caller
 * frees with srv_http_free) and 0 is returned; on failure -1, with what
 * went wrong in err (url, and nng's reason), *out untouched. */
int srv_http_start(srv_http **out, const char *url, srv_http_ready_fn ready, void *arg, char *err,
                   size_t errlen);

/* The URL served, with the port actually bound ("http://127.0.0.1:40123"):
 * borrowed until srv_http_free. */
const char *srv_http_url(const srv_http *h);

/* Stops accepting connections and closes the open ones; after it returns
 * the ready callback is not called again (a request racing with it gets
 * 503 "stopping"). Idempotent. */
void srv_http_stop(srv_http *h);

/* Stops (if not yet) and frees the listener. Accepts NULL. */
void srv_http_free(srv_http *h);

#endif
