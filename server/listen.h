/* The nng listener (listen.c). */
#ifndef BH_LISTEN_H
#define BH_LISTEN_H

#include <stddef.h>

#include "config.h"
#include "store.h"
#include "writer.h"

typedef struct srv_listener srv_listener;
int srv_listener_start(srv_listener **out, const srv_config *cfg, store *st, srv_writer *w,
                       char *err, size_t errlen);
/* The first listen URL with the port it got (tcp://127.0.0.1:0 listens on
 * some free port: this names it), for the start-up banner. */
const char *srv_listener_url(const srv_listener *l);
/* From now on new calls are answered UNAVAILABLE (the socket stays open,
 * so the writer can still send the answers it owes). */
void srv_listener_drain(srv_listener *l);
/* Closes the socket. Call after srv_writer_stop: nothing of ours may send
 * on a context while nng closes it. */
void srv_listener_close(srv_listener *l);
/* Waits for nng callbacks in flight and frees the listener; call after
 * srv_writer_stop and before srv_writer_free. Accepts NULL. */
void srv_listener_free(srv_listener *l);

#endif
