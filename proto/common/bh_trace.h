/* SPDX-License-Identifier: Apache-2.0 */
/* W3C trace context: the one rule for a traceparent, shared by the client
 * library (a caller's, before anything is sent), the CLI (its
 * --traceparent, before it connects) and the server (a request's). */
#ifndef BH_TRACE_H
#define BH_TRACE_H

/* 1 if t is a traceparent of version 00: "00-" trace id (32 lowercase hex,
 * not all zero) "-" parent id (16 lowercase hex, not all zero) "-" flags
 * (2 lowercase hex), BH_TRACEPARENT_LEN characters in all; else 0. */
int bh__traceparent_ok(const char *t);

#endif
