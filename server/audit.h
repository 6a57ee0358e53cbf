/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log (audit.c): `--audit-log FILE`, one JSON object a line for
 * every mutating call and every denied call:
 *
 *   {"time":"2026-12-05T11:08:38.123Z","identity":"box-office","role":"service",
 *    "peer":"tcp://10.0.0.7:51234","method":"ReservationService.Hold",
 *    "request_id":"42","code":"OK","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",
 *    "ids":{"reservation_id":"7","session_id":"3"}}
 *
 * (one line in the file). time is RFC 3339 UTC with milliseconds; identity
 * and role are null for an anonymous caller; peer and trace_id are there
 * only when given;
 * code is the wire status name (bilheteria/status.h); 64-bit numbers are
 * decimal strings, as in protobuf's JSON mapping, so no reader loses
 * digits. Every string is JSON-escaped: '"', '\\' and control bytes are
 * escaped, valid UTF-8 is kept, each byte that is not UTF-8 becomes
 * U+FFFD. The token is never a field: callers pass who the caller is, not
 * how it proved it.
 *
 * Lines are buffered in memory by srv_audit_add and written (write(2) on an
 * O_APPEND descriptor, not fsync'd) by srv_audit_flush: the writer adds the
 * lines of a batch once their outcome is known and flushes after the commit,
 * so the log holds a write only once it is durable. Denied calls are added
 * by whichever thread denies them and go out with the next flush; whoever
 * owns the log must also flush when idle (say once a second), or they wait
 * for the next write. If the buffer passes SRV_AUDIT_HIGH_WATER bytes, the
 * add that passed it flushes (a stuck writer does not grow memory forever).
 *
 * Thread-safety: srv_audit_add, srv_audit_flush, srv_audit_reopen and
 * srv_audit_stats may be called from any thread at once; lines are written
 * in the order their adds returned. srv_audit_open and srv_audit_close must
 * not race with anything on the same log. A NULL log (no --audit-log) is
 * accepted by add, flush, reopen and close, which then do nothing.
 */
#ifndef BH_AUDIT_H
#define BH_AUDIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_audit srv_audit;

#define SRV_AUDIT_HIGH_WATER (1u << 20)

/* An object the call named or made: "reservation_id" and its value. The
 * value is str if not NULL, else num (written as a decimal string). */
typedef struct srv_audit_id {
    const char *name;
    const char *str;
    uint64_t num;
} srv_audit_id;

/* One line. Every pointer is borrowed for the srv_audit_add call only;
 * strings are NUL-terminated. */
typedef struct srv_audit_rec {
    int64_t time_ms;      /* wall clock, ms since the epoch; 0 = now */
    const char *identity; /* service name or JWT subject; NULL = null */
    const char *role;     /* "admin", "service", "customer"...; NULL = null */
    const char *peer;     /* the peer's address; NULL = no "peer" field */
    const char *method;   /* "Service.Method"; NULL = null */
    uint64_t request_id;  /* the envelope's */
    int code;             /* the answer's wire status code */
    const char *trace_id; /* the traceparent's trace id; NULL or "" = no field */
    const srv_audit_id *ids;
    size_t n_ids;
} srv_audit_rec;

/* Opens (creating it 0640 if needed) the log at path for appending, in *out
 * (caller frees with srv_audit_close). path is copied. Returns 0, or an
 * errno value with a message naming the file in err (*out untouched). */
int srv_audit_open(srv_audit **out, const char *path, char *err, size_t errlen);

/* Formats r and buffers it. Returns 0, or ENOMEM (the line is lost and
 * counted; the log goes on), or what the high-water flush returned. Add a
 * call's line once its outcome (code) is known. */
int srv_audit_add(srv_audit *a, const srv_audit_rec *r);

/* Writes every line buffered so far. Returns 0, or the errno of the failed
 * write: the lines of that flush are dropped and counted as lost (the next
 * flush starts clean; a partly written line may be left in the file). */
int srv_audit_flush(srv_audit *a);

/* Opens the path again (for logrotate's rename then SIGHUP): lines flushed
 * from now on go to the new file; the old one keeps what it had. Returns 0,
 * or an errno value with a message in err (the old file stays in use). */
int srv_audit_reopen(srv_audit *a, char *err, size_t errlen);

/* Lines written and lines lost (allocation or write failures) so far. */
void srv_audit_stats(srv_audit *a, uint64_t *written, uint64_t *lost);

/* Flushes what is buffered, then closes the file and frees the log.
 * Accepts NULL. */
void srv_audit_close(srv_audit *a);

/* The line for r, as srv_audit_add would buffer it (with its '\n'), in
 * *out: caller frees with free(3). Returns 0 or ENOMEM. For tests and for
 * a log that wants the line elsewhere. */
int srv_audit_format(const srv_audit_rec *r, char **out, size_t *len);

#endif
