/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seat labels, one convention for server, library and CLI. Rows and seats
 * are zero-based indices; their label is the row's letters in bijective
 * base 26 (row 0 = "A", 25 = "Z", 26 = "AA", 701 = "ZZ", 702 = "AAA") and
 * the seat's number from 1: row 1, seat 11 is "B12". Labels are written in
 * upper case; the numbers in a label fit in 32 bits (rows up to "MWLQKWU",
 * seat numbers up to 4294967295), so the indices go up to UINT32_MAX - 1.
 */
#ifndef BH_LABEL_H
#define BH_LABEL_H

#include <stddef.h>
#include <stdint.h>

/* Longest label with its NUL: 7 letters and 10 digits. */
#define BH__LABEL_MAX 18

/* Flags of bh__row_parse and bh__seat_parse. */
#define BH__LABEL_ANYCASE 1u /* accept lower-case letters (user input) */

/* Writes row's letters and a NUL into buf (size bytes). Returns the number
 * of letters, or -1 if row is UINT32_MAX or buf is too small. */
int bh__row_label(uint32_t row, char *buf, size_t size);

/* Writes the label of (row, seat) into buf. Returns its length, or -1 if an
 * index is UINT32_MAX or buf is too small. */
int bh__seat_label(uint32_t row, uint32_t seat, char *buf, size_t size);

/* Parses the n letters at s into a row index. Returns 0 and sets *row, or
 * -1 (leaving *row alone) if n is 0, a character is not a letter (upper
 * case unless BH__LABEL_ANYCASE) or the row is beyond the convention. */
int bh__row_parse(const char *s, size_t n, unsigned flags, uint32_t *row);

/* Parses a whole label ("B12") into row and seat indices. Returns 0, or -1
 * (leaving both alone) if s is not letters then a number from 1 without a
 * leading zero, nothing after. */
int bh__seat_parse(const char *s, unsigned flags, uint32_t *row, uint32_t *seat);

#endif
