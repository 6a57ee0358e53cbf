/* SPDX-License-Identifier: Apache-2.0 */
/* The nng listener (listen.c). */
#ifndef BH_LISTEN_H
#define BH_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"
#include "writer.h"

typedef struct srv_listener srv_listener;
int srv_listener_start(srv_listener **out, const srv_config *cfg, store *st, srv_writer *w,
                       char *err, size_t errlen);
/* The first listen URL with the port it got (tcp://127.0.0.1:0 listens on
 * some free port: this names it), for the start-up banner. */
const char *srv_listener_url(const srv_listener *l);
/*
 * Re-reads --tls-cert, --tls-key and --tls-client-ca and puts the new
 * configuration on every tls+tcp:// listener (nng 1.5.2 allows replacing it
 * on a started listener). Connections accepted from then on use the new
 * files; open connections keep the certificates they were made with, and
 * the listening addresses and the choice of mutual TLS or not (whether
 * --tls-client-ca was given at start) do not change. On failure (a file
 * missing or not PEM) the old configuration stays in use everywhere and err
 * (errlen bytes) names the flag and the file. Returns 0 (also when no
 * listener is TLS) or -1. Call from one thread at a time with the
 * listener started; safe while calls are served.
 */
int srv_listener_reload_tls(srv_listener *l, char *err, size_t errlen);
/*
 * Whether the connection with nng pipe id pipe_id (nng_pipe_id of
 * nng_msg_get_pipe of the request) is a TLS one whose client certificate
 * was verified against --tls-client-ca: 1, else 0 (not TLS, no mutual TLS,
 * or the connection is gone). Thread-safe.
 */
int srv_listener_peer_verified(uint32_t pipe_id);
/*
 * The subject common name of that verified client certificate, copied into
 * buf (len bytes, NUL-terminated): 0, or -1 if it is not verified, does not
 * fit, or cannot be read. nng 1.5.2 (Debian 12's) cannot read it
 * (NNG_OPT_TLS_PEER_CN came with nng 1.6.0): built against it, this always
 * returns -1; mutual TLS then says only that the client holds a
 * certificate the CA signed, not which. Thread-safe.
 */
int srv_listener_peer_cn(uint32_t pipe_id, char *buf, size_t len);
/* From now on new calls are answered UNAVAILABLE, but Health.Check, which
 * answers NOT_SERVING (srv_env.draining) (the socket stays open,
 * so the writer can still send the answers it owes). Returns once the
 * calls running on threads of their own (SRV_ALONE: a backup) have
 * answered, which may take as long as they do. */
void srv_listener_drain(srv_listener *l);
/* Closes the socket. Call after srv_writer_stop: nothing of ours may send
 * on a context while nng closes it. */
void srv_listener_close(srv_listener *l);
/* Waits for nng callbacks in flight and frees the listener; call after
 * srv_writer_stop and before srv_writer_free. Accepts NULL. */
void srv_listener_free(srv_listener *l);

#endif
