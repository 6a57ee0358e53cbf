/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log: lines are formatted into one shared buffer under a short
 * lock; a flush swaps that buffer for an empty one and writes the full one
 * outside the lock, so adds from request threads never wait for the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "bilheteria/status.h"
#include "clock.h"
#include "util.h"

#define NAME_OF(n, name) [n] = #name,
static const char *const code_names[] = { BH_STATUS_MAP(NAME_OF) };
#undef NAME_OF

typedef struct abuf {
    char *p;
    size_t len, cap;
} abuf;

struct srv_audit {
    pthread_mutex_t io; /* the descriptor and the writing out; taken before mu */
    pthread_mutex_t mu; /* cur, pending, lost */
    int fd;
    char *path;
    abuf cur;   /* lines added, not yet taken by a flush */
    abuf spare; /* the buffer a flush writes from; empty between flushes */
    uint64_t pending, written, lost;
};

/* Makes room for n more bytes; 0 or ENOMEM. */
static int
reserve(abuf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap ? b->cap : 512;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2)
            return ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int
put(abuf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return ENOMEM;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

#define PUT_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

/* s as a JSON string: a byte needs at most 6 ("\u00XX"), and a byte that is
 * not UTF-8 becomes \ufffd, also 6. */
static int
put_str(abuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);

    if (n > (SIZE_MAX - 2) / 6 || reserve(b, 6 * n + 2) != 0)
        return ENOMEM;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        size_t ok = srv_utf8_valid(s + i, n - i);
        for (size_t end = i + ok; i < end; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '"' || c == '\\') {
                *o++ = '\\';
                *o++ = (char)c;
            } else if (c == '\n') {
                *o++ = '\\';
                *o++ = 'n';
            } else if (c == '\r') {
                *o++ = '\\';
                *o++ = 'r';
            } else if (c == '\t') {
                *o++ = '\\';
                *o++ = 't';
            } else if (c < 0x20 || c == 0x7f) {
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                o += 6;
            } else {
                *o++ = (char)c;
            }
        }
        if (i < n) { /* one byte that does not start valid UTF-8 */
            memcpy(o, "\\ufffd", 6);
            o += 6;
            i++;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return 0;
}

static int
put_str_or_null(abuf *b, const char *s)
{
    return s != NULL ? put_str(b, s) : PUT_LIT(b, "null");
}

static int
put_u64(abuf *b, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "\"%" PRIu64 "\"", v);
    return put(b, num, (size_t)n);
}

/* RFC 3339 UTC with milliseconds: 2026-12-05T11:08:38.123Z. */
static int
put_time(abuf *b, int64_t ms)
{
    char t[40];
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    size_t n;

    if (ms < 0 || gmtime_r(&secs, &tm) == NULL ||
        (n = strftime(t, sizeof(t), "\"%Y-%m-%dT%H:%M:%S", &tm)) == 0)
        return put_u64(b, (uint64_t)(ms < 0 ? 0 : ms));
    n += (size_t)snprintf(t + n, sizeof(t) - n, ".%03dZ\"", (int)(ms % 1000));
    return put(b, t, n);
}

/* Appends r's line to b; on failure b is as it was. */
static int
format_line(abuf *b, const srv_audit_rec *r)
{
    size_t start = b->len;
    int64_t ms = r->time_ms != 0 ? r->time_ms : srv_now_ms();
    const char *code = r->code >= 0 && (size_t)r->code < sizeof(code_names) / sizeof(code_names[0])
                           ? code_names[r->code]
                           : "UNKNOWN";
    int rc = PUT_LIT(b, "{\"time\":") || put_time(b, ms) || PUT_LIT(b, ",\"identity\":") ||
             put_str_or_null(b, r->identity) || PUT_LIT(b, ",\"role\":") ||
             put_str_or_null(b, r->role);
    if (rc == 0 && r->peer != NULL)
        rc = PUT_LIT(b, ",\"peer\":") || put_str(b, r->peer);
    rc = rc || PUT_LIT(b, ",\"method\":") || put_str_or_null(b, r->method) ||
         PUT_LIT(b, ",\"request_id\":") || put_u64(b, r->request_id) || PUT_LIT(b, ",\"code\":") ||
         put_str(b, code);
    if (rc == 0 && r->trace_id != NULL && r->trace_id[0] != 0)
        rc = PUT_LIT(b, ",\"trace_id\":") || put_str(b, r->trace_id);
    rc = rc || PUT_LIT(b, ",\"ids\":{");
    for (size_t i = 0; rc == 0 && i < r->n_ids; i++) {
        const srv_audit_id *id = &r->ids[i];
        rc = (i > 0 && PUT_LIT(b, ",")) || put_str_or_null(b, id->name) || PUT_LIT(b, ":") ||
             (id->str != NULL ? put_str(b, id->str) : put_u64(b, id->num));
    }
    rc = rc || PUT_LIT(b, "}}\n");
    if (rc != 0) {
        b->len = start;
        return ENOMEM;
    }
    return 0;
}

int
srv_audit_format(const srv_audit_rec *r, char **out, size_t *len)
{
    abuf b = { 0 };

    if (format_line(&b, r) != 0) {
        free(b.p);
        return ENOMEM;
    }
    if (put(&b, "", 1) != 0) { /* a NUL after the line, not counted */
        free(b.p);
        return ENOMEM;
    }
    *out = b.p;
    *len = b.len - 1;
    return 0;
}

static int
open_fd(const char *path, int *fd, char *err, size_t errlen)
{
    int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

    if (f < 0) {
        int e = errno;
        snprintf(err, errlen, "--audit-log %s: %s", path, strerror(e));
        return e;
    }
    *fd = f;
    return 0;
}

int
srv_audit_open(srv_audit **out, const char *path, char *err, size_t errlen)
{
    srv_audit *a = calloc(1, sizeof(*a));
    int rc;

    if (a == NULL || (a->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "--audit-log %s: out of memory", path);
        rc = ENOMEM;
        goto out;
    }
    a->fd = -1;
    rc = open_fd(path, &a->fd, err, errlen);
    if (rc != 0)
        goto out;
    pthread_mutex_init(&a->io, NULL);
    pthread_mutex_init(&a->mu, NULL);
out:
    if (rc != 0) {
        if (a != NULL)
            free(a->path);
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* All of b to fd, through short writes and signals. */
static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int
srv_audit_flush(srv_audit *a)
{
    int rc;

    if (a == NULL)
        return 0;
    pthread_mutex_lock(&a->io);
    pthread_mutex_lock(&a->mu);
    abuf full = a->cur;
    uint64_t lines = a->pending;
    a->cur = a->spare;
    a->pending = 0;
    pthread_mutex_unlock(&a->mu);

    rc = write_all(a->fd, full.p, full.len);
    full.len = 0;
    a->spare = full;

    pthread_mutex_lock(&a->mu);
    if (rc == 0)
        a->written += lines;
    else
        a->lost += lines;
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_unlock(&a->io);
    return rc;
}

int
srv_audit_add(srv_audit *a, const srv_audit_rec *r)
{
    int rc;
    int full;

    if (a == NULL)
        return 0;
    pthread_mutex_lock(&a->mu);
    rc = format_line(&a->cur, r);
    if (rc == 0)
        a->pending++;
    else
        a->lost++;
    full = a->cur.len >= SRV_AUDIT_HIGH_WATER;
    pthread_mutex_unlock(&a->mu);
    if (rc == 0 && full)
        rc = srv_audit_flush(a);
    return rc;
}

int
srv_audit_reopen(srv_audit *a, char *err, size_t errlen)
{
    int fd = -1;
    int rc;

    if (a == NULL)
        return 0;
    pthread_mutex_lock(&a->io);
    rc = open_fd(a->path, &fd, err, errlen);
    if (rc == 0) {
        close(a->fd);
        a->fd = fd;
    }
    pthread_mutex_unlock(&a->io);
    return rc;
}

void
srv_audit_stats(srv_audit *a, uint64_t *written, uint64_t *lost)
{
    pthread_mutex_lock(&a->mu);
    *written = a->written;
    *lost = a->lost;
    pthread_mutex_unlock(&a->mu);
}

void
srv_audit_close(srv_audit *a)
{
    if (a == NULL)
        return;
    srv_audit_flush(a);
    close(a->fd);
    pthread_mutex_destroy(&a->io);
    pthread_mutex_destroy(&a->mu);
    free(a->cur.p);
    free(a->spare.p);
    free(a->path);
    free(a);
}
