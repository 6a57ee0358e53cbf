/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's log: a line is built in a buffer on the caller's stack and
 * written with one write(2), so no lock is taken on the way and lines of
 * several threads cannot interleave. Files are swapped with dup2 onto the
 * descriptor in use, so a writer never holds a descriptor that a reopen
 * closed (and the number reused for something else).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bilheteria/status.h"
#include "clock.h"
#include "log.h"
#include "util.h"

#define NAME_OF(n, name) [n] = #name,
static const char *const code_names[] = { BH_STATUS_MAP(NAME_OF) };
#undef NAME_OF

static const char *const level_names[] = {
    [SRV_LOG_ERROR] = "error",
    [SRV_LOG_WARN] = "warn",
    [SRV_LOG_INFO] = "info",
    [SRV_LOG_DEBUG] = "debug",
};
/* Text pads the level so messages line up. */
static const char *const level_text[] = {
    [SRV_LOG_ERROR] = "error",
    [SRV_LOG_WARN] = "warn ",
    [SRV_LOG_INFO] = "info ",
    [SRV_LOG_DEBUG] = "debug",
};

static atomic_int log_level = SRV_LOG_INFO;
static atomic_int log_format = SRV_LOG_TEXT;
static atomic_ullong slow_us;
static atomic_int main_fd = STDERR_FILENO;
static atomic_int access_fd = -1;

/* Opening, reopening and closing; never taken by a line being written. */
static pthread_mutex_t files_mu = PTHREAD_MUTEX_INITIALIZER;
static char *main_path, *access_path; /* NULL: not ours to reopen */
static int main_owned, access_owned;  /* the descriptor is ours to close */

/* ---- the line buffer ---- */

/* Bytes kept past cap for what closes a line that was cut: a string's '"',
 * the object's '}' and the '\n'. */
#define TAIL 4

typedef struct lbuf {
    size_t len;
    int full; /* something did not fit: later openings are skipped */
    char p[SRV_LOG_LINE_MAX];
} lbuf;

#define CAP (SRV_LOG_LINE_MAX - TAIL)

static size_t
room(const lbuf *b)
{
    return b->len < CAP ? CAP - b->len : 0;
}

/* All of s or nothing (and the line is full). */
static int
put(lbuf *b, const char *s, size_t n)
{
    if (b->full || n > room(b)) {
        b->full = 1;
        return -1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

#define PUT_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

/* What closes an opening that was made: it may use the TAIL. */
static void
close_with(lbuf *b, char c)
{
    if (b->len < sizeof(b->p))
        b->p[b->len++] = c;
}

static int
plain(unsigned char c, int quotes)
{
    return c >= 0x20 && c < 0x7f && !(quotes && (c == '"' || c == '\\'));
}

/* s[0..n) escaped, whole characters only, as long as they fit: control
 * bytes as \n, \r, \t or \u00XX, a byte that is not UTF-8 as \ufffd, and
 * with quotes also '"' and '\\' (a JSON string's body). Runs of plain
 * ASCII are copied whole: they are nearly all of a line. */
static void
put_esc(lbuf *b, const char *s, size_t n, int quotes)
{
    static const char hex[] = "0123456789abcdef";
    char *o = b->p + b->len, *end = b->p + b->len + room(b);

    if (b->full)
        return;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && plain((unsigned char)s[j], quotes))
            j++;
        if (j > i) {
            size_t k = j - i, r = (size_t)(end - o);
            if (k > r) { /* ASCII: any byte is a character boundary */
                memcpy(o, s + i, r);
                o += r;
                goto full;
            }
            memcpy(o, s + i, k);
            o += k;
            i = j;
            if (i == n)
                break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            /* One character, if its lead and continuation bytes are valid. */
            size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if (len > n - i || srv_utf8_valid(s + i, len) != len) {
                if (end - o < 6)
                    goto full;
                memcpy(o, "\\ufffd", 6);
                o += 6;
                i++;
                continue;
            }
            if ((size_t)(end - o) < len)
                goto full;
            memcpy(o, s + i, len);
            o += len;
            i += len;
            continue;
        }
        if (end - o < 6)
            goto full;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            *o++ = '\\';
            *o++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        }
        i++;
    }
    b->len = (size_t)(o - b->p);
    return;
full:
    b->len = (size_t)(o - b->p);
    b->full = 1;
}

/* The date and time to the second, formatted once a second per thread:
 * gmtime_r and strftime cost more than the rest of an access line. */
static _Thread_local struct {
    time_t sec;
    char s[20]; /* 2026-12-05T11:08:38 */
} tcache = { (time_t)-1, "" };

/* RFC 3339 UTC with milliseconds: 2026-12-05T11:08:38.123Z (24 bytes). */
static void
put_time(lbuf *b)
{
    struct timespec ts;
    char t[24];

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != tcache.sec) {
        struct tm tm;
        if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
            strftime(tcache.s, sizeof(tcache.s), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
            memcpy(tcache.s, "0000-00-00T00:00:00", 20);
        tcache.sec = ts.tv_sec;
    }
    int ms = (int)(ts.tv_nsec / 1000000);
    memcpy(t, tcache.s, 19);
    t[19] = '.';
    t[20] = (char)('0' + ms / 100);
    t[21] = (char)('0' + ms / 10 % 10);
    t[22] = (char)('0' + ms % 10);
    t[23] = 'Z';
    put(b, t, sizeof(t));
}

/* Decimal digits of v in out; returns their count. */
static size_t
u64_dec(uint64_t v, char out[20])
{
    char t[20];
    size_t n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    return n;
}

/* Text writes a value bare unless a reader could not tell where it ends. */
static int
needs_quotes(const char *s, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '"' || c == '=' || c == 0x7f)
            return 1;
    }
    return 0;
}

/* The time: json opens the object. */
static void
line_start(lbuf *b, int json)
{
    if (json) {
        PUT_LIT(b, "{\"time\":\"");
        put_time(b);
        PUT_LIT(b, "\"");
    } else {
        put_time(b);
    }
}

static void
line_level_msg(lbuf *b, int json, enum srv_log_level lvl, const char *msg, size_t n)
{
    if (json) {
        if (PUT_LIT(b, ",\"level\":\"") == 0 &&
            put(b, level_names[lvl], strlen(level_names[lvl])) == 0 &&
            PUT_LIT(b, "\",\"msg\":\"") == 0) {
            put_esc(b, msg, n, 1);
            close_with(b, '"');
        }
    } else if (PUT_LIT(b, " ") == 0 && put(b, level_text[lvl], 5) == 0 && PUT_LIT(b, " ") == 0) {
        put_esc(b, msg, n, 0);
    }
}

/* key=value or ,"key":"value"; raw: a json number or bool, no quotes. The
 * key is all or nothing (a json key cut short would not parse). */
static void
line_field(lbuf *b, int json, const char *key, const char *val, size_t n, int raw)
{
    size_t klen = strlen(key);

    if (b->full || room(b) < 6 * klen + 8) {
        b->full = 1;
        return;
    }
    if (json) {
        PUT_LIT(b, ",\"");
        put_esc(b, key, klen, 1);
        if (raw) {
            PUT_LIT(b, "\":");
            put(b, val, n);
        } else {
            PUT_LIT(b, "\":\"");
            put_esc(b, val, n, 1);
            close_with(b, '"');
        }
    } else {
        PUT_LIT(b, " ");
        put_esc(b, key, klen, 0);
        PUT_LIT(b, "=");
        if (!raw && needs_quotes(val, n)) {
            PUT_LIT(b, "\"");
            put_esc(b, val, n, 1);
            close_with(b, '"');
        } else {
            put_esc(b, val, n, 0);
        }
    }
}

static void
line_end(lbuf *b, int json)
{
    if (json)
        close_with(b, '}');
    close_with(b, '\n');
}

/* One write(2) unless the descriptor takes less (a full pipe, a signal):
 * only then can a line be split. Errors are dropped: there is nowhere left
 * to say them. */
static void
line_write(int fd, const lbuf *b)
{
    const char *p = b->p;
    size_t n = b->len;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* ---- configuration ---- */

const char *
srv_log_level_name(enum srv_log_level lvl)
{
    return (unsigned)lvl <= SRV_LOG_DEBUG ? level_names[lvl] : "unknown";
}

int
srv_log_level_parse(const char *s, enum srv_log_level *out)
{
    for (int i = SRV_LOG_ERROR; i <= SRV_LOG_DEBUG; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum srv_log_level)i;
            return 0;
        }
    }
    return -1;
}

int
srv_log_format_parse(const char *s, enum srv_log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = SRV_LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = SRV_LOG_JSON;
    else
        return -1;
    return 0;
}

void
srv_log_config(enum srv_log_level lvl, enum srv_log_format fmt)
{
    atomic_store_explicit(&log_level, (int)lvl, memory_order_relaxed);
    atomic_store_explicit(&log_format, (int)fmt, memory_order_relaxed);
}

int
srv_log_enabled(enum srv_log_level lvl)
{
    return (unsigned)lvl <= SRV_LOG_DEBUG &&
           (int)lvl <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

static int
is_json(void)
{
    return atomic_load_explicit(&log_format, memory_order_relaxed) == SRV_LOG_JSON;
}

void
srv_log_slow_threshold_us(uint64_t us)
{
    atomic_store_explicit(&slow_us, us, memory_order_relaxed);
}

/* ---- files ---- */

static int
open_path(const char *flag, const char *path, int *fd, char *err, size_t errlen)
{
    int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (f < 0) {
        int e = errno;
        snprintf(err, errlen, "%s %s: %s", flag, path, strerror(e));
        return e;
    }
    *fd = f;
    return 0;
}

/* Points *slot at path's file: onto the same number with dup2 when the
 * descriptor is already ours, so lines in flight never see a closed one. */
static int
switch_file(const char *flag, atomic_int *slot, int *owned, char **pathp, const char *path,
            char *err, size_t errlen)
{
    int fd = -1;
    char *copy = strdup(path);
    int rc;

    if (copy == NULL) {
        snprintf(err, errlen, "%s %s: out of memory", flag, path);
        return ENOMEM;
    }
    rc = open_path(flag, path, &fd, err, errlen);
    if (rc != 0)
        goto out;
    if (*owned) {
        if (dup2(fd, atomic_load(slot)) < 0) {
            rc = errno;
            snprintf(err, errlen, "%s %s: %s", flag, path, strerror(rc));
        }
        close(fd);
        if (rc != 0)
            goto out;
    } else {
        atomic_store(slot, fd);
        *owned = 1;
    }
    free(*pathp);
    *pathp = copy;
    copy = NULL;
out:
    free(copy);
    return rc;
}

int
srv_log_open(const char *path, char *err, size_t errlen)
{
    pthread_mutex_lock(&files_mu);
    int rc = switch_file("--log-file", &main_fd, &main_owned, &main_path, path, err, errlen);
    pthread_mutex_unlock(&files_mu);
    return rc;
}

void
srv_log_set_fd(int fd)
{
    pthread_mutex_lock(&files_mu);
    if (main_owned)
        close(atomic_load(&main_fd));
    atomic_store(&main_fd, fd);
    main_owned = 0;
    free(main_path);
    main_path = NULL;
    pthread_mutex_unlock(&files_mu);
}

int
srv_log_access_open(const char *path_or_dash, char *err, size_t errlen)
{
    int rc = 0;

    pthread_mutex_lock(&files_mu);
    if (strcmp(path_or_dash, "-") == 0) {
        if (access_owned)
            close(atomic_load(&access_fd));
        atomic_store(&access_fd, STDOUT_FILENO);
        access_owned = 0;
        free(access_path);
        access_path = NULL;
    } else {
        rc = switch_file("--access-log", &access_fd, &access_owned, &access_path, path_or_dash, err,
                         errlen);
    }
    pthread_mutex_unlock(&files_mu);
    return rc;
}

int
srv_log_access_enabled(void)
{
    return atomic_load_explicit(&access_fd, memory_order_relaxed) >= 0;
}

int
srv_log_reopen(char *err, size_t errlen)
{
    int rc = 0, rc2 = 0;
    char later[8]; /* the first failure keeps err */

    pthread_mutex_lock(&files_mu);
    if (access_path != NULL)
        rc = switch_file("--access-log", &access_fd, &access_owned, &access_path, access_path, err,
                         errlen);
    if (main_path != NULL)
        rc2 = switch_file("--log-file", &main_fd, &main_owned, &main_path, main_path,
                          rc != 0 ? later : err, rc != 0 ? sizeof(later) : errlen);
    pthread_mutex_unlock(&files_mu);
    return rc != 0 ? rc : rc2;
}

void
srv_log_close(void)
{
    pthread_mutex_lock(&files_mu);
    if (main_owned)
        close(atomic_load(&main_fd));
    if (access_owned)
        close(atomic_load(&access_fd));
    atomic_store(&main_fd, STDERR_FILENO);
    atomic_store(&access_fd, -1);
    main_owned = access_owned = 0;
    free(main_path);
    free(access_path);
    main_path = access_path = NULL;
    pthread_mutex_unlock(&files_mu);
}

/* ---- the main log ---- */

static void
emit(enum srv_log_level lvl, const char *msg, size_t n, const srv_log_field *f, size_t nf)
{
    lbuf b;
    int json = is_json();

    b.len = 0;
    b.full = 0;
    line_start(&b, json);
    line_level_msg(&b, json, lvl, msg, n);
    for (size_t i = 0; i < nf; i++) {
        const char *v = f[i].val != NULL ? f[i].val : "";
        line_field(&b, json, f[i].key, v, strlen(v), 0);
    }
    line_end(&b, json);
    line_write(atomic_load_explicit(&main_fd, memory_order_relaxed), &b);
}

/* fmt's text in msg, cut to the buffer; returns its length. */
static size_t
format_msg(char *msg, size_t cap, const char *fmt, va_list ap)
{
    int n = vsnprintf(msg, cap, fmt, ap);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

void
srv_logv(enum srv_log_level lvl, const char *fmt, va_list ap)
{
    char msg[SRV_LOG_LINE_MAX];

    if (!srv_log_enabled(lvl))
        return;
    emit(lvl, msg, format_msg(msg, sizeof(msg), fmt, ap), NULL, 0);
}

void
srv_log(enum srv_log_level lvl, const char *fmt, ...)
{
    va_list ap;

    if (!srv_log_enabled(lvl))
        return;
    va_start(ap, fmt);
    srv_logv(lvl, fmt, ap);
    va_end(ap);
}

void
srv_log_fields(enum srv_log_level lvl, const char *msg, const srv_log_field *f, size_t n)
{
    if (srv_log_enabled(lvl))
        emit(lvl, msg, strlen(msg), f, n);
}

void
srv_log_kv(enum srv_log_level lvl, const char *msg, ...)
{
    srv_log_field f[SRV_LOG_KV_MAX];
    size_t n = 0;
    va_list ap;

    if (!srv_log_enabled(lvl))
        return;
    va_start(ap, msg);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        const char *v = va_arg(ap, const char *);
        if (n < SRV_LOG_KV_MAX)
            f[n++] = (srv_log_field){ .key = k, .val = v };
    }
    va_end(ap);
    emit(lvl, msg, strlen(msg), f, n);
}

int
srv_log_every(enum srv_log_level lvl, srv_log_every_state *st, int64_t interval_ms, const char *fmt,
              ...)
{
    char msg[SRV_LOG_LINE_MAX];
    va_list ap;

    if (!srv_log_enabled(lvl))
        return 0;
    long long now = srv_mono_ms(), next = atomic_load(&st->next_ms);
    if (now < next || !atomic_compare_exchange_strong(&st->next_ms, &next, now + interval_ms)) {
        atomic_fetch_add(&st->held, 1);
        return 0;
    }
    long held = atomic_exchange(&st->held, 0);
    va_start(ap, fmt);
    size_t n = format_msg(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (held > 0) {
        int more =
            interval_ms % 1000 == 0
                ? snprintf(msg + n, sizeof(msg) - n, " (and %ld more times in the last %lld s)",
                           held, (long long)(interval_ms / 1000))
                : snprintf(msg + n, sizeof(msg) - n, " (and %ld more times in the last %lld ms)",
                           held, (long long)interval_ms);
        if (more > 0)
            n = n + (size_t)more < sizeof(msg) ? n + (size_t)more : sizeof(msg) - 1;
    }
    emit(lvl, msg, n, NULL, 0);
    return 1;
}

/* ---- the access and slow-call logs ---- */

static const char *
or_empty(const char *s)
{
    return s != NULL ? s : "";
}

static void
access_fields(lbuf *b, int json, const srv_access_rec *r)
{
    const char *code = r->code >= 0 && (size_t)r->code < sizeof(code_names) / sizeof(code_names[0])
                           ? code_names[r->code]
                           : "UNKNOWN";
    const char *method = or_empty(r->method), *identity = or_empty(r->identity),
               *trace = or_empty(r->trace_id);
    char num[20];

    line_field(b, json, "method", method, strlen(method), 0);
    line_field(b, json, "code", code, strlen(code), 1 - json); /* a name: bare in text */
    line_field(b, json, "duration_us", num, u64_dec(r->duration_us, num), 1);
    line_field(b, json, "request_id", num, u64_dec(r->request_id, num), !json);
    line_field(b, json, "identity", identity, strlen(identity), 0);
    line_field(b, json, "trace_id", trace, strlen(trace), 0);
    if (r->replayed)
        line_field(b, json, "replayed", "true", 4, 1);
    else
        line_field(b, json, "replayed", "false", 5, 1);
}

void
srv_log_access(const srv_access_rec *r)
{
    int fd = atomic_load_explicit(&access_fd, memory_order_relaxed);
    int json = is_json();
    lbuf b;

    if (fd < 0)
        return;
    b.len = 0;
    b.full = 0;
    line_start(&b, json);
    access_fields(&b, json, r);
    line_end(&b, json);
    line_write(fd, &b);
}

void
srv_log_call_done(const srv_access_rec *r)
{
    uint64_t thr = atomic_load_explicit(&slow_us, memory_order_relaxed);

    srv_log_access(r);
    if (thr == 0 || r->duration_us < thr || !srv_log_enabled(SRV_LOG_WARN))
        return;

    static const char msg[] = "slow call";
    int json = is_json();
    lbuf b;
    b.len = 0;
    b.full = 0;
    line_start(&b, json);
    line_level_msg(&b, json, SRV_LOG_WARN, msg, sizeof(msg) - 1);
    access_fields(&b, json, r);
    line_end(&b, json);
    line_write(atomic_load_explicit(&main_fd, memory_order_relaxed), &b);
}
