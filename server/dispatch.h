/* SPDX-License-Identifier: Apache-2.0 */
/* The method registry and the read path (dispatch.c). */
#ifndef BH_DISPATCH_H
#define BH_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "call.h"

/* The handler files' tables, ended by an entry with method NULL. */
extern const srv_impl srv_event_impls[];
extern const srv_impl srv_session_impls[];
extern const srv_impl srv_product_impls[];
extern const srv_impl srv_health_impls[];
extern const srv_impl srv_reservation_impls[];
extern const srv_impl srv_payment_impls[];
extern const srv_impl srv_admin_impls[];
extern const srv_impl srv_stats_impls[];
extern const srv_impl srv_coupon_impls[];
extern const srv_impl srv_waitlist_impls[];
extern const srv_impl srv_feed_impls[];
extern const srv_impl srv_report_impls[];

int srv_registry_init(void);
const srv_method *srv_registry_find(const char *full_name);
size_t srv_registry_count(void);
const srv_method *srv_registry_at(size_t i);
/* When the process started (srv_mono_ms time, set by srv_registry_init). */
int64_t srv_started_ms(void);

/* Runs a read call's handler in t, a reusable read transaction (renewed and
 * reset here). Sets c->code, c->msg, c->resp. An SRV_ALONE method is not
 * run here (INTERNAL): it needs a thread of its own. */
void srv_dispatch_read(srv_call *c, store_txn *t);

#endif
