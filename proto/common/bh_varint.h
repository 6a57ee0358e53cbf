/* SPDX-License-Identifier: Apache-2.0 */
/* Protobuf base-128 varints, for the few places that read or write the
 * wire format without protobuf-c (envelope peeking, raw pages, seat
 * records on every scan). */
#ifndef BH_VARINT_H
#define BH_VARINT_H

#include <stdint.h>

/* The longest varint: a uint64 in 7-bit groups. */
#define BH__VARINT_MAX 10

/* Writes v at p (room for BH__VARINT_MAX bytes) and returns the byte after
 * it. */
uint8_t *bh__varint_put(uint8_t *p, uint64_t v);

/* Reads one varint from *p (before end) into *out and advances *p past it.
 * Returns 0, or -1 if the input ends inside it or it runs past 10 bytes;
 * *out is then untouched and *p is somewhere inside. */
int bh__varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out);

#endif
