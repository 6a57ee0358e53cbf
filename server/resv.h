/* Reservation rules shared by the reservation and payment handlers. */
#ifndef BH_RESV_H
#define BH_RESV_H

#include "srv.h"

/* Seat label -> index in the session's layout; -1 if not in it. */
int srv_resv_seat_index(const Bilheteria__V1__Session *s, const char *label, uint32_t *idx);
const char *srv_resv_status_name(int status);
/* A PENDING reservation past its expiry reads as EXPIRED. */
void srv_resv_view(Bilheteria__V1__Reservation *r, int64_t now);
/* Frees the reservation's seats (those still its own), meia-entrada quota
 * and stock, and stores it with new_status. Store error codes. */
int srv_resv_release(store_txn *t, struct srv_seatcache *sc, ProtobufCAllocator *a,
                     Bilheteria__V1__Reservation *r, int new_status, int64_t now);
/* Score added for each single free seat a block would strand (see
 * srv_resv_pick_best). */
#define SRV_ORPHAN_PENALTY 16

/* Picks the best block of n adjacent free seats (bits: 1 = taken, bit
 * idx%8 of byte idx/8, s->capacity/8 + 1 bytes); 0 and *start on success,
 * -1 if there is none. */
int srv_resv_pick_best(const Bilheteria__V1__Session *s, const uint8_t *bits, uint32_t n,
                       uint32_t *start);

#endif
