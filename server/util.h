/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the handler files (util.c): errors, validation, times,
 * paging, seat labels, messages in the arena. */
#ifndef BH_UTIL_H
#define BH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "call.h"

/* The length of the longest prefix of s[0..n) that is valid UTF-8 (n if
 * all of it is): no overlong forms, surrogates or code points past
 * U+10FFFF. */
size_t srv_utf8_valid(const char *s, size_t n);
/* The first string field of m, nested messages included, that is not valid
 * UTF-8: 1 with its path ("items[2].note") in path, else 0. */
int srv_find_bad_utf8(const ProtobufCMessage *m, char *path, size_t len);
/* Sets c->code and c->msg (a byte that is not UTF-8 becomes '?'); returns
 * code. */
int srv_fail(srv_call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps a store error to a status with a message naming what failed, and
 * returns it: SRV_STATUS_MAP_FULL for STORE_MAP_FULL (see call.h). */
int srv_store_fail(srv_call *c, int rc, const char *what);
/* Leaves fn(t, arg) to write call c's batch transaction t, after c's
 * nested one commits into it (call.h): for what only this call writes and
 * nothing in the call reads back — a counter, an index — so that its pages
 * are written once in the batch instead of copied into every call's nested
 * transaction (LMDB copies each page a nested transaction writes). arg must
 * live as long as c's arena. 0, or c's failed code (more than
 * SRV_AFTER_MAX: a bug). */
int srv_call_after(srv_call *c, int (*fn)(store_txn *t, void *arg), void *arg);
/* Checks 1 <= len <= max (or 0 <= len when !required). */
int srv_check_str(srv_call *c, const char *field, const char *v, size_t max, int required);
/* An update request's value given without its set_* flag (field, or NULL
 * when there is none): INVALID_ARGUMENT naming it, since the value would
 * silently change nothing. Returns 0 when field is NULL. */
int srv_check_unset(srv_call *c, const char *field);
/* Times are Unix ms from 0 to the end of the year 9999 (RFC 3339's range). */
#define SRV_TIME_MAX 253402300799999LL
#define SRV_TIME_LEN 32
int srv_check_time(srv_call *c, const char *field, int64_t ms);
void srv_fmt_time(int64_t ms, char out[SRV_TIME_LEN]); /* 2030-12-20T23:00:00Z */
/* Page size: 0 -> default 50; above 500 -> INVALID_ARGUMENT. */
int srv_page_size(srv_call *c, uint32_t asked, size_t *out);
/* Opaque page tokens carrying the next id, tagged with a kind. */
void srv_page_token(srv_call *c, char kind, uint64_t next_id, char **out);
/* Answers a listing with stored records as they are (a _raw store page):
 * field 1 repeats each record's bytes, field 2 is the page token of
 * pg->next_id. Every List*Response has this shape. Returns 0, or the code
 * of srv_fail. */
int srv_resp_raw_page(srv_call *c, const store_page *pg, char kind);
int srv_page_token_parse(srv_call *c, char kind, const char *tok, uint64_t *next_id);
/* Row labels: 0 -> "A", 25 -> "Z", 26 -> "AA" (bijective base 26). */
void srv_row_label(uint32_t row, char out[4]);
/* Parses "B12" into zero-based row and seat; -1 if malformed. */
int srv_seat_parse(const char *label, uint32_t *row, uint32_t *seat);

/* Allocates a message of descriptor d in the arena, initialised. */
void *srv_new_msg(srv_call *c, const ProtobufCMessageDescriptor *d);
#define SRV_NEW(c, type, lower) ((type *)srv_new_msg((c), &lower##__descriptor))

#endif
