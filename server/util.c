/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the handler files: errors, validation, paging. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bh_label.h"
#include "bh_varint.h"
#include "bilheteria/v1/rpc.pb-c.h"
#include "util.h"

size_t
srv_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* ASCII runs (tokens, names) eight bytes at a time. */
        uint64_t w;
        if (n - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ull) == 0)) {
            i += 8;
            continue;
        }
        unsigned char b = s[i];
        size_t len;
        unsigned lo = 0x80, hi = 0xbf; /* range of the second byte */
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xc2 && b <= 0xdf) {
            len = 2;
        } else if (b >= 0xe0 && b <= 0xef) {
            len = 3;
            if (b == 0xe0)
                lo = 0xa0; /* overlong */
            else if (b == 0xed)
                hi = 0x9f; /* UTF-16 surrogates */
        } else if (b >= 0xf0 && b <= 0xf4) {
            len = 4;
            if (b == 0xf0)
                lo = 0x90; /* overlong */
            else if (b == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        } else {
            return i;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return i;
        i += len;
    }
    return n;
}

int
srv_fail(srv_call *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    va_end(ap);
    /* Messages quote what callers sent, cut to a length: a cut may split a
     * character, and the message must stay text. */
    size_t n = strlen(c->msg), i;
    while ((i = srv_utf8_valid(c->msg, n)) < n)
        c->msg[i] = '?';
    c->code = code;
    return code;
}

int
srv_store_fail(srv_call *c, int rc, const char *what)
{
    switch (rc) {
    case STORE_MAP_FULL:
        /* The writer grows the map and retries; this reaches a caller only
         * if growing failed, as RESOURCE_EXHAUSTED. */
        return srv_fail(c, SRV_STATUS_MAP_FULL, "%s: storage is full", what);
    case STORE_BUSY:
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                        "%s: too many concurrent readers, retry", what);
    case STORE_NOMEM:
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "%s: out of memory",
                        what);
    case STORE_TXN_FULL:
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
                        "%s: too much work for one transaction", what);
    case STORE_NOSPC:
    case STORE_QUOTA:
        /* Named, with the place, so that an operator does not go looking
         * for a failing disk. */
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                        "%s: %s in %s; free space there, then retry", what, store_strerror(rc),
                        c->cfg != NULL && c->cfg->data_dir != NULL ? c->cfg->data_dir
                                                                   : "the data directory");
    case STORE_NOMAP:
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNAVAILABLE,
                        "%s: %s; restart the server (nothing acknowledged is lost)", what,
                        store_strerror(rc));
    default:
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INTERNAL, "%s: %s", what,
                        store_strerror(rc));
    }
}

int
srv_check_str(srv_call *c, const char *field, const char *v, size_t max, int required)
{
    size_t n = strlen(v);
    if ((required && n == 0) || n > max)
        c->field = field;
    if (required && n == 0)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT, "%s is required", field);
    if (n > max)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                        "%s is %zu bytes long; the limit is %zu", field, n, max);
    return 0;
}

int
srv_check_unset(srv_call *c, const char *field)
{
    if (field == NULL)
        return 0;
    c->field = field;
    return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                    "%s is given but its set_ flag is not: nothing would change", field);
}

void
srv_fmt_time(int64_t ms, char out[SRV_TIME_LEN])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || gmtime_r(&secs, &tm) == NULL ||
        strftime(out, SRV_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, SRV_TIME_LEN, "%lld ms", (long long)ms);
}

int
srv_check_time(srv_call *c, const char *field, int64_t ms)
{
    if (ms < 0 || ms > SRV_TIME_MAX)
        c->field = field;
    if (ms < 0)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                        "%s must not be negative, got %lld", field, (long long)ms);
    if (ms > SRV_TIME_MAX)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                        "%s %lld is after the year 9999", field, (long long)ms);
    return 0;
}

int
srv_page_size(srv_call *c, uint32_t asked, size_t *out)
{
    if (asked > BH_PAGE_SIZE_MAX)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                        "page_size %" PRIu32 " is above the maximum of %d", asked,
                        BH_PAGE_SIZE_MAX);
    *out = asked ? asked : BH_PAGE_SIZE_DEFAULT;
    return 0;
}

/* Token: kind letter, 16 hex digits of the next id, 2 hex digits of a
 * check byte. Opaque to callers; its only promise is to resume a list. */
static unsigned
token_check(char kind, uint64_t id)
{
    uint64_t h = 1469598103934665603ULL ^ (unsigned char)kind;
    for (int i = 0; i < 8; i++) {
        h ^= (id >> (i * 8)) & 0xff;
        h *= 1099511628211ULL;
    }
    return (unsigned)(h & 0xff);
}

void
srv_page_token(srv_call *c, char kind, uint64_t next_id, char **out)
{
    char buf[32];
    if (next_id == 0)
        return;
    snprintf(buf, sizeof(buf), "%c%016" PRIx64 "%02x", kind, next_id, token_check(kind, next_id));
    char *s = bh__arena_strdup(c->arena, buf);
    if (s != NULL)
        *out = s;
}

int
srv_resp_raw_page(srv_call *c, const store_page *pg, char kind)
{
    char *token = NULL;
    size_t n = 0, tlen;
    srv_page_token(c, kind, pg->next_id, &token);
    if (pg->next_id != 0 && token == NULL)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    tlen = token ? strlen(token) : 0;
    /* A tag byte and at most 10 bytes of length before each field. */
    for (size_t i = 0; i < pg->n; i++)
        n += 1 + BH__VARINT_MAX + ((const store_raw *)pg->items[i])->len;
    n += 1 + BH__VARINT_MAX + tlen;
    uint8_t *buf = bh__arena_alloc(c->arena, n), *p = buf;
    if (buf == NULL)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < pg->n; i++) {
        const store_raw *r = pg->items[i];
        *p++ = (1 << 3) | 2; /* field 1, length-delimited */
        p = bh__varint_put(p, r->len);
        memcpy(p, r->data, r->len);
        p += r->len;
    }
    if (tlen > 0) {
        *p++ = (2 << 3) | 2; /* field 2, length-delimited */
        p = bh__varint_put(p, tlen);
        memcpy(p, token, tlen);
        p += tlen;
    }
    c->resp = NULL;
    c->resp_bytes = buf;
    c->resp_len = (size_t)(p - buf);
    return 0;
}

int
srv_page_token_parse(srv_call *c, char kind, const char *tok, uint64_t *next_id)
{
    uint64_t id = 0;
    unsigned check = 0;
    size_t n = strlen(tok);
    if (n == 0) {
        *next_id = 0;
        return 0;
    }
    if (n != 19 || tok[0] != kind)
        goto bad;
    for (size_t i = 1; i < 19; i++) {
        char ch = tok[i];
        unsigned d;
        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else
            goto bad;
        if (i <= 16)
            id = (id << 4) | d;
        else
            check = (check << 4) | d;
    }
    if (id == 0 || check != token_check(kind, id))
        goto bad;
    *next_id = id;
    return 0;
bad:
    return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                    "page_token \"%.40s\" is not a token this list returned", tok);
}

void
srv_row_label(uint32_t row, char out[4])
{
    if (bh__row_label(row, out, 4) < 0)
        out[0] = 0; /* beyond "ZZ": no session has such a row */
}

int
srv_seat_parse(const char *label, uint32_t *row, uint32_t *seat)
{
    uint32_t r, s;
    /* Two letters ("ZZ" is row 701) and six digits cover every session. */
    if (bh__seat_parse(label, 0, &r, &s) != 0 || r > 701 || s >= 999999)
        return -1;
    *row = r;
    *seat = s;
    return 0;
}

void *
srv_new_msg(srv_call *c, const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = bh__arena_alloc(c->arena, d->sizeof_message);
    if (m != NULL)
        protobuf_c_message_init(d, m);
    return m;
}

int
srv_call_after(srv_call *c, int (*fn)(store_txn *t, void *arg), void *arg)
{
    if (c->n_after >= SRV_AFTER_MAX)
        return srv_fail(c, BILHETERIA__V1__STATUS_CODE__INTERNAL,
                        "more than %d deferred writes in one call", SRV_AFTER_MAX);
    c->after[c->n_after].fn = fn;
    c->after[c->n_after].arg = arg;
    c->n_after++;
    return 0;
}
