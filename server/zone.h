/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Price zones (zone.c): a session's rows split into named bands, each with
 * its own inteira price (meia-entrada is half of it, rounded down). A
 * session without zones is one implicit zone of every row at its
 * price_cents. Zones are whole rows, 0-based (PriceZone in session.proto).
 */
#ifndef BH_ZONE_H
#define BH_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "call.h"

#define SRV_PRICE_MAX     100000000
#define SRV_ZONES_MAX     64
#define SRV_ZONE_NAME_MAX 32

/* The zone of row, or NULL when the session has no zones. Borrowed from s. */
const Bilheteria__V1__PriceZone *srv_zone_of_row(const Bilheteria__V1__Session *s, uint32_t row);

/* The zone called name (exact bytes), or NULL. Borrowed from s. */
const Bilheteria__V1__PriceZone *srv_zone_find(const Bilheteria__V1__Session *s, const char *name);

/* What a seat of row costs: inteira, or meia-entrada when half. */
int64_t srv_zone_price(const Bilheteria__V1__Session *s, uint32_t row, int half);

/*
 * Checks zones z[0..n) for a room of rows rows: names 1..32 bytes and
 * unique, first_row <= last_row < rows, prices in 0..SRV_PRICE_MAX, every
 * row in exactly one zone, at most SRV_ZONES_MAX. field is the request's
 * name for the list ("zones"). Returns 0, or INVALID_ARGUMENT (c->field set
 * to the zone's field) naming the zone and the value.
 */
int srv_zone_check(srv_call *c, const char *field, Bilheteria__V1__PriceZone *const *z, size_t n,
                   uint32_t rows);

/*
 * Gives s the zones z[0..n) (checked) as copies in the call's arena, with
 * their half prices filled in, and sets s->price_cents and
 * s->half_price_cents to the cheapest zone's. With n == 0, s has no zones
 * and keeps its prices. Returns 0 or RESOURCE_EXHAUSTED.
 */
int srv_zone_set(srv_call *c, Bilheteria__V1__Session *s, Bilheteria__V1__PriceZone *const *z,
                 size_t n);

#endif
