/*
 * Seat labels: rows are bijective base-26 letters (row 1 = "A", 26 = "Z",
 * 27 = "AA", 702 = "ZZ", 703 = "AAA"), seats are numbers from 1: "A1",
 * "AB12".
 */
#ifndef BH_CLI_SEATLABEL_H
#define BH_CLI_SEATLABEL_H

#include <stddef.h>
#include <stdint.h>

/* Longest seat label with the NUL: 7 letters (uint32 rows) + 10 digits. */
#define CLI_SEAT_LABEL_MAX 18

/* Writes row's letters. Returns the length, or -1 if row is 0 or buf
 * (size bytes) is too small. */
int cli_row_label(uint32_t row, char *buf, size_t size);

/* Parses row letters (either case) into a row number. Returns 0 and sets
 * *row, or -1 if s is empty, not letters, or beyond UINT32_MAX. */
int cli_row_number(const char *s, uint32_t *row);

/* Parses a seat label ("b12" or "B12") into row and seat (both >= 1).
 * Returns 0, or -1 if s is not such a label. */
int cli_seat_parse(const char *s, uint32_t *row, uint32_t *seat);

/* Writes the canonical label ("B12"). Returns the length, or -1. */
int cli_seat_format(uint32_t row, uint32_t seat, char *buf, size_t size);

#endif
