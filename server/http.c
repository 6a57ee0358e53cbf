/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /metrics, /healthz and /readyz on nng's HTTP server.
 *
 * nng owns the handlers once they are added and frees them when the
 * server goes (after stop, once its connections are reaped), which may be
 * after srv_http_free returns. So each handler holds a reference on our
 * struct, dropped by the handler's destructor: the struct lives as long
 * as any handler can still run.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "http.h"
#include "metrics.h"

struct srv_http {
    atomic_int refs;
    nng_http_server *server;
    int stopped_server;
    pthread_mutex_t mu; /* ready, arg, stopped */
    srv_http_ready_fn ready;
    void *arg;
    int stopped;
    char url[128];
};

static void
unref(void *arg)
{
    srv_http *h = arg;
    if (atomic_fetch_sub(&h->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static srv_http *
self(nng_aio *aio)
{
    return nng_http_handler_get_data(nng_aio_get_input(aio, 1));
}

/* Sends status with body (copied); on failure nng closes the connection. */
static void
reply(nng_aio *aio, uint16_t status, const char *type, const char *body, size_t len)
{
    nng_http_res *res;
    int rv;

    if ((rv = nng_http_res_alloc(&res)) != 0)
        goto out;
    if ((rv = nng_http_res_set_status(res, status)) != 0 ||
        (rv = nng_http_res_set_header(res, "Content-Type", type)) != 0 ||
        (rv = nng_http_res_set_header(res, "Cache-Control", "no-store")) != 0 ||
        (rv = nng_http_res_copy_data(res, body, len)) != 0) {
        nng_http_res_free(res);
        goto out;
    }
    nng_aio_set_output(aio, 0, res);
out:
    nng_aio_finish(aio, rv);
}

static void
text(nng_aio *aio, uint16_t status, const char *body)
{
    reply(aio, status, "text/plain; charset=utf-8", body, strlen(body));
}

static void
on_metrics(nng_aio *aio)
{
    char *body;
    size_t len;

    if (srv_metrics_render(&body, &len) != 0) {
        text(aio, NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory\n");
        return;
    }
    reply(aio, NNG_HTTP_STATUS_OK, SRV_METRICS_CONTENT_TYPE, body, len);
    free(body);
}

static void
on_healthz(nng_aio *aio)
{
    text(aio, NNG_HTTP_STATUS_OK, "ok\n");
}

static void
on_readyz(nng_aio *aio)
{
    srv_http *h = self(aio);
    char why[128] = "";
    char body[160];
    int ok;

    pthread_mutex_lock(&h->mu);
    if (h->stopped) {
        ok = 0;
        snprintf(why, sizeof(why), "stopping");
    } else {
        ok = h->ready == NULL || h->ready(h->arg, why, sizeof(why));
    }
    pthread_mutex_unlock(&h->mu);
    why[sizeof(why) - 1] = '\0';
    if (ok) {
        text(aio, NNG_HTTP_STATUS_OK, "ready\n");
        return;
    }
    snprintf(body, sizeof(body), "not ready: %s\n", why[0] != '\0' ? why : "(no reason given)");
    text(aio, NNG_HTTP_STATUS_SERVICE_UNAVAILABLE, body);
}

static const struct {
    const char *path;
    void (*fn)(nng_aio *);
} routes[] = {
    { .path = "/metrics", .fn = on_metrics },
    { .path = "/healthz", .fn = on_healthz },
    { .path = "/readyz", .fn = on_readyz },
};

/* Adds one route; the server owns the handler from then on. */
static int
add_route(srv_http *h, const char *path, void (*fn)(nng_aio *))
{
    nng_http_handler *hd;
    int rv;

    if ((rv = nng_http_handler_alloc(&hd, path, fn)) != 0)
        return rv;
    atomic_fetch_add(&h->refs, 1);
    if ((rv = nng_http_handler_set_data(hd, h, unref)) != 0) {
        atomic_fetch_sub(&h->refs, 1);
        nng_http_handler_free(hd);
        return rv;
    }
    /* Requests carry no body here. */
    if ((rv = nng_http_handler_collect_body(hd, true, 0)) != 0 ||
        (rv = nng_http_server_add_handler(h->server, hd)) != 0)
        nng_http_handler_free(hd); /* runs unref */
    return rv;
}

int
srv_http_start(srv_http **out, const char *url, srv_http_ready_fn ready, void *arg, char *err,
               size_t errlen)
{
    srv_http *h = NULL;
    nng_url *u = NULL;
    nng_sockaddr sa;
    const char *what = "";
    int rv = 0;

    if ((rv = nng_url_parse(&u, url)) != 0) {
        what = "parse";
        goto out;
    }
    if (strcmp(u->u_scheme, "http") != 0) {
        snprintf(err, errlen, "metrics listen %s: the scheme must be http://", url);
        nng_url_free(u);
        return -1;
    }
    if ((h = calloc(1, sizeof(*h))) == NULL) {
        rv = NNG_ENOMEM;
        what = "alloc";
        goto out;
    }
    atomic_init(&h->refs, 1);
    pthread_mutex_init(&h->mu, NULL);
    h->ready = ready;
    h->arg = arg;
    if ((rv = nng_http_server_hold(&h->server, u)) != 0) {
        what = "hold";
        goto out;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if ((rv = add_route(h, routes[i].path, routes[i].fn)) != 0) {
            what = routes[i].path;
            goto out;
        }
    }
    if ((rv = nng_http_server_start(h->server)) != 0) {
        what = "start";
        goto out;
    }
    if ((rv = nng_http_server_get_addr(h->server, &sa)) != 0) {
        what = "address";
        goto out;
    }
    /* Port 0 asked for any free port: name the one bound. */
    unsigned port = 0;
    if (sa.s_family == NNG_AF_INET)
        port = ntohs(sa.s_in.sa_port);
    else if (sa.s_family == NNG_AF_INET6)
        port = ntohs(sa.s_in6.sa_port);
    const char *host = u->u_hostname[0] != '\0' ? u->u_hostname : "0.0.0.0";
    int v6 = strchr(host, ':') != NULL;
    snprintf(h->url, sizeof(h->url), "http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
out:
    if (rv != 0) {
        snprintf(err, errlen, "metrics listen %s: %s: %s", url, what, nng_strerror(rv));
        if (h != NULL) {
            if (h->server != NULL)
                nng_http_server_release(h->server);
            unref(h);
        }
    } else {
        *out = h;
    }
    if (u != NULL)
        nng_url_free(u);
    return rv != 0 ? -1 : 0;
}

const char *
srv_http_url(const srv_http *h)
{
    return h->url;
}

void
srv_http_stop(srv_http *h)
{
    pthread_mutex_lock(&h->mu);
    h->stopped = 1;
    pthread_mutex_unlock(&h->mu);
    if (!h->stopped_server) {
        h->stopped_server = 1;
        nng_http_server_stop(h->server);
    }
}

void
srv_http_free(srv_http *h)
{
    if (h == NULL)
        return;
    srv_http_stop(h);
    nng_http_server_release(h->server);
    unref(h);
}
