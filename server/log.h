/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's log (log.c): leveled lines on stderr or a file, the access
 * log (one line per call) and the slow-call log.
 *
 * Every line of the main log starts with an RFC 3339 UTC time with
 * milliseconds and a level, then the message, then key/value fields:
 *
 *   text: 2026-12-05T11:08:38.123Z warn  refused a connection peer=10.0.0.7 limit=1024
 *   json: {"time":"2026-12-05T11:08:38.123Z","level":"warn","msg":"refused a connection",
 *          "peer":"10.0.0.7","limit":"1024"}
 *
 * (each one line). Levels are error, warn, info, debug ("warn " and "info "
 * are padded to five in text). In json every string is escaped ('"', '\\',
 * control bytes; each byte that is not UTF-8 becomes U+FFFD); in text the
 * message has its control bytes escaped the same way, and a field value is
 * written as a JSON string (in quotes) when it is empty or holds a space, a
 * control byte, '"' or '=', bare otherwise. A line longer than
 * SRV_LOG_LINE_MAX bytes is cut at a character boundary (json lines stay
 * valid objects: the string being written is closed, later fields dropped).
 *
 * Each line is built in a stack buffer and written with one write(2) on an
 * O_APPEND descriptor, so lines of several threads never interleave (up to
 * SRV_LOG_LINE_MAX, PIPE_BUF, a pipe's atomic write, too). A line whose
 * level is filtered costs one relaxed atomic load: nothing is formatted.
 *
 * Thread-safety: srv_log*, srv_log_every, srv_log_access, srv_log_call_done
 * and srv_log_reopen may be called from any thread at once, also while a
 * reopen swaps a file (dup2 onto the same descriptor number: a line goes to
 * the old or the new file, whole). srv_log_config and the threshold may be
 * changed at any time (atomics). srv_log_open, srv_log_set_fd,
 * srv_log_access_open and srv_log_close are start-up and shutdown calls:
 * not concurrently with lines being written.
 */
#ifndef BH_LOG_H
#define BH_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_LOG_LINE_MAX 4096

enum srv_log_level { SRV_LOG_ERROR, SRV_LOG_WARN, SRV_LOG_INFO, SRV_LOG_DEBUG };
enum srv_log_format { SRV_LOG_TEXT, SRV_LOG_JSON };

/* "error", "warn", "info", "debug" (the --log-level values and the level
 * as written), and "text", "json" (--log-format). Parse returns 0 and sets
 * *out, or -1 for any other string (*out untouched). */
const char *srv_log_level_name(enum srv_log_level lvl);
int srv_log_level_parse(const char *s, enum srv_log_level *out);
int srv_log_format_parse(const char *s, enum srv_log_format *out);

/* The level kept (lines of lvl and more severe ones are written) and the
 * format of the main, access and slow logs. Default: info, text. */
void srv_log_config(enum srv_log_level lvl, enum srv_log_format fmt);
/* 1 if a line at lvl would be written: to skip building fields. */
int srv_log_enabled(enum srv_log_level lvl);

/* The main log goes to path from now on (opened O_APPEND, created 0640),
 * and srv_log_reopen opens path again. path is copied. Returns 0, or an
 * errno value with a message naming the file in err (the log stays where
 * it was). Default: stderr. */
int srv_log_open(const char *path, char *err, size_t errlen);
/* The main log goes to fd (borrowed until srv_log_close or the next
 * open/set_fd; not reopened). For tests and for a caller's own pipe. */
void srv_log_set_fd(int fd);

/* One line at lvl, the message printf-style. */
void srv_log(enum srv_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void srv_logv(enum srv_log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* A field of a structured line; both strings borrowed for the call. A NULL
 * val is written as "" (text and json alike). */
typedef struct srv_log_field {
    const char *key;
    const char *val;
} srv_log_field;

/* One line at lvl: msg (as is, not a format), then the n fields. */
void srv_log_fields(enum srv_log_level lvl, const char *msg, const srv_log_field *f, size_t n);
/* The same with the fields as key, value, key, value, ..., NULL (at most
 * SRV_LOG_KV_MAX pairs; more are dropped):
 *   srv_log_kv(SRV_LOG_INFO, "listening", "url", url, NULL); */
#define SRV_LOG_KV_MAX 16
void srv_log_kv(enum srv_log_level lvl, const char *msg, ...) __attribute__((sentinel));

/* A condition that may repeat fast (a cap that acts on every call): said at
 * most once per interval_ms; the lines not said are counted and the next
 * line said ends with " (and N more times in the last S s)". One state per
 * condition, zeroed (static, calloc, or SRV_LOG_EVERY_INIT). Returns 1 if
 * the line was written, 0 if filtered by level (the state is untouched:
 * nothing counted) or held back. */
typedef struct srv_log_every_state {
    atomic_llong next_ms; /* monotonic ms before which lines are held back */
    atomic_long held;     /* held back since the last line said */
} srv_log_every_state;
#define SRV_LOG_EVERY_INIT                                                                         \
    {                                                                                              \
        0, 0                                                                                       \
    }
int srv_log_every(enum srv_log_level lvl, srv_log_every_state *st, int64_t interval_ms,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- the access and slow-call logs ---- */

/* One call, as the server answered it. Strings borrowed for the call; NULL
 * is written as "" (as an empty identity or trace id is). */
typedef struct srv_access_rec {
    const char *method;   /* "ReservationService.Hold"; "" when unknown */
    int code;             /* the wire status (bilheteria/status.h) */
    uint64_t duration_us; /* receive to answer sent */
    uint64_t request_id;  /* the envelope's */
    const char *identity; /* who called (auth); "" for anonymous */
    const char *trace_id; /* the W3C traceparent's trace id; "" if none */
    int replayed;         /* answered from the idempotency record */
} srv_access_rec;

/* The access log goes to path, or to stdout for "-" (--access-log). path is
 * copied. Returns 0, or an errno value with a message in err (the access
 * log stays as it was: off by default). */
int srv_log_access_open(const char *path_or_dash, char *err, size_t errlen);
/* 1 if an access log is open. */
int srv_log_access_enabled(void);
/* One access line for r, in the configured format (no level: every call
 * is written), if an access log is open:
 *
 *   text: 2026-12-05T11:08:38.123Z method=ReservationService.Hold code=OK duration_us=812
 *         request_id=42 identity=box-office trace_id=4bf92f3577b34da6a3ce929d0e0e4736
 *         replayed=false
 *   json: {"time":"...","method":"ReservationService.Hold","code":"OK","duration_us":812,
 *          "request_id":"42","identity":"box-office","trace_id":"4bf9...","replayed":false}
 *
 * code is the status name (BH_STATUS_MAP; "UNKNOWN" out of range);
 * request_id a decimal string in json, as in the audit log. */
void srv_log_access(const srv_access_rec *r);

/* Calls of us microseconds or more are slow (--slow-ms N: N * 1000); 0,
 * the default, turns the slow log off. */
void srv_log_slow_threshold_us(uint64_t us);
/* Everything the server logs when a call is done: its access line (if an
 * access log is open) and, if it was slow, a warn line "slow call" in the
 * main log with the access line's fields, access log or not. */
void srv_log_call_done(const srv_access_rec *r);

/* For SIGHUP after logrotate's rename: opens the access log's path and the
 * main log's (if srv_log_open gave one) again; lines from now on go to the
 * new files. Not async-signal-safe: call it from a thread that saw the
 * signal, not from the handler. Returns 0, or the errno of the first file
 * that failed, with a message in err (that log stays on its old file). */
int srv_log_reopen(char *err, size_t errlen);

/* Closes the files the log opened; the main log goes back to stderr and
 * the access log is off. */
void srv_log_close(void);

#endif
