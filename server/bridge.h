/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NATS JetStream bridge (bridge.c): a thread that forwards the change
 * feed, in order, to JetStream subjects <prefix>.<type>
 * ("bilheteria.reservation.confirmed"), each message the packed
 * bilheteria.v1.Change with the header Nats-Msg-Id: bilheteria-<seq>, and
 * waits for each PubAck before the next.
 *
 * Exactly once in the stream across restarts of either side: the bridge
 * starts after the later of its acknowledged position stored in LMDB
 * (feed mark "nats", written by the writer) and the last message of the
 * stream (its Nats-Msg-Id), read at every (re)connection; a message sent
 * again while that is unknown (a PubAck lost) carries the same Nats-Msg-Id,
 * which JetStream drops within its duplicate window (2 minutes by default).
 *
 * The stream is <PREFIX> upper-cased, '.' and '-' as '_' ("BILHETERIA"),
 * subjects "<prefix>.>", file storage; created if missing. NATS down: the
 * bridge retries with backoff (0.1 s doubling to 5 s) and the writer never
 * waits for it; the feed keeps what the bridge has not had acknowledged,
 * past the retention if need be.
 */
#ifndef BH_BRIDGE_H
#define BH_BRIDGE_H

#include "config.h"
#include "store.h"

typedef struct srv_bridge srv_bridge;

/* Starts the bridge to cfg->nats_url (srv_feed_init first); st and cfg are
 * borrowed until srv_bridge_stop. 0, or -1 with err (errlen bytes) saying
 * why. */
int srv_bridge_start(srv_bridge **out, store *st, const srv_config *cfg, char *err, size_t errlen);
/* Stops the thread and frees the bridge. Accepts NULL. */
void srv_bridge_stop(srv_bridge *b);

#endif
