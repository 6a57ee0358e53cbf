/* SPDX-License-Identifier: Apache-2.0 */
/* Requests and responses, without a transport (request.c). */
#ifndef BH_REQUEST_H
#define BH_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "call.h"

enum { SRV_DECODED_ANSWER, SRV_DECODED_READ, SRV_DECODED_WRITE };
/* Clears c for a new request using arena, cfg and env (all borrowed for as
 * long as c is used). */
void srv_call_init(srv_call *c, bh__arena *arena, const srv_config *cfg, const srv_env *env);
/* Decodes a request envelope into c (strings are copied into c->arena, so
 * buf may be released after). Returns SRV_DECODED_READ or _WRITE when the
 * call is to run (srv_dispatch_read, srv_writer_submit), SRV_DECODED_ANSWER
 * when c already holds the answer (an error). *request_id is always set. */
int srv_request_decode(srv_call *c, const uint8_t *buf, size_t len, uint64_t *request_id);
/* Reads field 2 (request_id) of an envelope without unpacking it, so that
 * even a request refused unread gets an answer its caller can match; 0 if
 * it is not found. */
uint64_t srv_request_peek_id(const uint8_t *buf, size_t len);
/* Fills env (borrowing from c) with the answer of c. */
struct Bilheteria__V1__ResponseEnvelope;
void srv_response_prepare(srv_call *c, uint64_t request_id,
                          struct Bilheteria__V1__ResponseEnvelope *env);

#endif
