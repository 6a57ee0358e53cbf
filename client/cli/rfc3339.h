/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 3339 times <-> Unix milliseconds (UTC), for the CLI. The wire
 * carries Unix ms; people type and read RFC 3339.
 */
#ifndef BH_CLI_RFC3339_H
#define BH_CLI_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Longest text cli_rfc3339_format writes, with the NUL. */
#define CLI_RFC3339_MAX 32

/*
 * Parses "2026-12-01T20:00:00Z", "2026-12-01T17:00:00-03:00",
 * "2026-12-01T20:00:00.250Z" (fraction digits past the third are
 * truncated; 't', 'z' and a space for 'T' are accepted, as RFC 3339
 * allows). Years 0000..9999. Returns 0 and sets *ms, or -1 (and *ms is
 * untouched) if s is not such a time or names a day that does not exist.
 */
int cli_rfc3339_parse(const char *s, int64_t *ms);

/*
 * Writes ms as UTC: "2026-12-01T20:00:00Z", with ".mmm" before the Z when
 * ms is not a whole second. Returns the length, or -1 if buf (size bytes)
 * is too small or the year falls outside 0000..9999.
 */
int cli_rfc3339_format(int64_t ms, char *buf, size_t size);

#endif
