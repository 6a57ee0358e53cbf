/* SPDX-License-Identifier: Apache-2.0 */
/* The best-N seat picker (pick.c): pure, built as its own library (bh_pick)
 * so that it is tested without the store or the transport. */
#ifndef BH_PICK_H
#define BH_PICK_H

#include <stdint.h>

/* Score added for each single free seat a block would strand (see
 * srv_pick_best). */
#define SRV_PICK_ORPHAN_PENALTY 16

/* Picks the best block of n adjacent free seats in a room of rows rows of
 * per seats. bits: 1 = taken, bit idx%8 of byte idx/8, rows*per/8 + 1 bytes,
 * borrowed for the call. Returns 0 with the block's first seat index in
 * *start, or -1 if there is none (*start untouched). */
int srv_pick_best(uint32_t rows, uint32_t per, const uint8_t *bits, uint32_t n, uint32_t *start);

/* srv_pick_best among rows first_row..last_row only (a price zone), scored
 * as in the whole room: the zone's seats nearest the room's centre win.
 * -1 also when the range is empty or outside the room. */
int srv_pick_best_rows(uint32_t rows, uint32_t per, const uint8_t *bits, uint32_t n,
                       uint32_t first_row, uint32_t last_row, uint32_t *start);

#endif
