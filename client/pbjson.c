/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbjson: descriptor-driven protobuf-c <-> JSON. See pbjson.h for the
 * mapping.
 *
 * cJSON keeps a number only as a double, which loses digits of 64-bit ids
 * and cents. So numbers are written as raw number text, and on input the
 * text is first rewritten: every string gets an 's' after its opening
 * quote and every bare number becomes a string starting with 'n'. cJSON
 * still does the parsing; pbjson then sees each number's exact digits and
 * can still tell a number from a string.
 */
#include "pbjson.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- output ---------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
pbjson__type_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static cJSON *
pbjson__raw(const char *fmt, ...)
{
    char buf[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return cJSON_CreateRaw(buf);
}

/* Shortest of %.15g..%.17g that reads back as the same value. */
static cJSON *
pbjson__double(double d, int is_float)
{
    char buf[64];
    int prec;

    if (isnan(d))
        return cJSON_CreateString("NaN");
    if (isinf(d))
        return cJSON_CreateString(d > 0 ? "Infinity" : "-Infinity");
    for (prec = is_float ? 6 : 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (is_float ? (float)strtod(buf, NULL) == (float)d : strtod(buf, NULL) == d)
            break;
    }
    return cJSON_CreateRaw(buf);
}

static cJSON *
pbjson__bytes(const ProtobufCBinaryData *b)
{
    size_t i, o = 0, n = (b->len + 2) / 3 * 4;
    char *buf = malloc(n + 1);
    cJSON *item;

    if (buf == NULL)
        return NULL;
    for (i = 0; i + 2 < b->len; i += 3) {
        uint32_t v = (uint32_t)b->data[i] << 16 | (uint32_t)b->data[i + 1] << 8 | b->data[i + 2];
        buf[o++] = b64_alphabet[v >> 18 & 63];
        buf[o++] = b64_alphabet[v >> 12 & 63];
        buf[o++] = b64_alphabet[v >> 6 & 63];
        buf[o++] = b64_alphabet[v & 63];
    }
    if (i < b->len) {
        uint32_t v = (uint32_t)b->data[i] << 16;
        if (i + 1 < b->len)
            v |= (uint32_t)b->data[i + 1] << 8;
        buf[o++] = b64_alphabet[v >> 18 & 63];
        buf[o++] = b64_alphabet[v >> 12 & 63];
        buf[o++] = i + 1 < b->len ? b64_alphabet[v >> 6 & 63] : '=';
        buf[o++] = '=';
    }
    buf[o] = '\0';
    item = cJSON_CreateString(buf);
    free(buf);
    return item;
}

static cJSON *pbjson__object(const ProtobufCMessage *msg, int style);

static cJSON *
pbjson__value(const ProtobufCFieldDescriptor *fd, const void *p, int style)
{
    /* proto3's canonical mapping writes 64-bit integers as strings: a
     * double holds only 53 bits. */
    if (style == PBJSON_STYLE_PROTO3)
        switch (fd->type) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64: {
            char b[24];
            snprintf(b, sizeof(b), "%" PRId64, *(const int64_t *)p);
            return cJSON_CreateString(b);
        }
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64: {
            char b[24];
            snprintf(b, sizeof(b), "%" PRIu64, *(const uint64_t *)p);
            return cJSON_CreateString(b);
        }
        default: break;
        }
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return pbjson__raw("%" PRId32, *(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return pbjson__raw("%" PRIu32, *(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return pbjson__raw("%" PRId64, *(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return pbjson__raw("%" PRIu64, *(const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT: return pbjson__double(*(const float *)p, 1);
    case PROTOBUF_C_TYPE_DOUBLE: return pbjson__double(*(const double *)p, 0);
    case PROTOBUF_C_TYPE_BOOL: return cJSON_CreateBool(*(const protobuf_c_boolean *)p != 0);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, v);
        if (ev != NULL)
            return cJSON_CreateString(ev->name);
        return pbjson__raw("%d", v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return cJSON_CreateString(s != NULL ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: return pbjson__bytes(p);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub != NULL ? pbjson__object(sub, style) : cJSON_CreateNull();
    }
    }
    return NULL;
}

/* protoc's json_name: "starts_at_ms" -> "startsAtMs". */
static void
pbjson__camel(const char *name, char *out, size_t size)
{
    size_t o = 0;
    int up = 0;

    for (; *name != '\0' && o + 1 < size; name++) {
        if (*name == '_') {
            up = 1;
            continue;
        }
        out[o++] = up && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A') : *name;
        up = 0;
    }
    out[o] = '\0';
}

cJSON *
pbjson_to_cjson(const ProtobufCMessage *msg)
{
    return pbjson__object(msg, PBJSON_STYLE_PROTO);
}

cJSON *
pbjson_to_cjson_style(const ProtobufCMessage *msg, int style)
{
    return pbjson__object(msg, style);
}

static cJSON *
pbjson__object(const ProtobufCMessage *msg, int style)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *)msg;
    cJSON *obj = cJSON_CreateObject();
    unsigned f;

    if (obj == NULL)
        return NULL;
    for (f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &desc->fields[f];
        const void *member = base + fd->offset;
        cJSON *item = NULL;

        /* Only the member of a oneof that is set is written. */
        if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
            continue;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t i, n = *(const size_t *)(base + fd->quantifier_offset);
            const char *arr = *(char *const *)member;
            size_t sz = pbjson__type_size(fd->type);

            item = cJSON_CreateArray();
            for (i = 0; item != NULL && i < n; i++) {
                cJSON *el = pbjson__value(fd, arr + i * sz, style);
                if (el == NULL || !cJSON_AddItemToArray(item, el)) {
                    cJSON_Delete(el);
                    cJSON_Delete(item);
                    item = NULL;
                }
            }
        } else {
            item = pbjson__value(fd, member, style);
        }
        if (item != NULL && style == PBJSON_STYLE_PROTO3) {
            char json_name[128];
            pbjson__camel(fd->name, json_name, sizeof(json_name));
            if (cJSON_AddItemToObject(obj, json_name, item))
                continue;
        } else if (item != NULL && cJSON_AddItemToObjectCS(obj, fd->name, item)) {
            /* Field names are static descriptor strings: no copy needed. */
            continue;
        }
        {
            cJSON_Delete(item);
            cJSON_Delete(obj);
            return NULL;
        }
    }
    return obj;
}

/* A growing string from cJSON_malloc, so callers free with cJSON_free. */
struct pbjson__sb {
    char *p;
    size_t len, cap;
    int oom;
};

static void
pbjson__put(struct pbjson__sb *sb, const char *s, size_t n)
{
    if (sb->oom)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        char *p;
        while (cap < sb->len + n + 1)
            cap *= 2;
        p = cJSON_malloc(cap);
        if (p == NULL) {
            sb->oom = 1;
            return;
        }
        if (sb->p != NULL)
            memcpy(p, sb->p, sb->len);
        cJSON_free(sb->p);
        sb->p = p;
        sb->cap = cap;
    }
    memcpy(sb->p + sb->len, s, n);
    sb->len += n;
    sb->p[sb->len] = '\0';
}

static void
pbjson__puts(struct pbjson__sb *sb, const char *s)
{
    pbjson__put(sb, s, strlen(s));
}

/* grpcurl's layout: two-space indent, "key": value. (cJSON_Print uses
 * tabs, also after the colon.) Keys are proto field names: no escaping. */
static void
pbjson__pretty(struct pbjson__sb *sb, const cJSON *it, int depth)
{
    int i;

    if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
        int is_obj = cJSON_IsObject(it);
        const cJSON *c = it->child;

        if (c == NULL) {
            pbjson__puts(sb, is_obj ? "{}" : "[]");
            return;
        }
        pbjson__puts(sb, is_obj ? "{\n" : "[\n");
        for (; c != NULL; c = c->next) {
            for (i = 0; i <= depth; i++)
                pbjson__puts(sb, "  ");
            if (is_obj) {
                pbjson__puts(sb, "\"");
                pbjson__puts(sb, c->string);
                pbjson__puts(sb, "\": ");
            }
            pbjson__pretty(sb, c, depth + 1);
            pbjson__puts(sb, c->next != NULL ? ",\n" : "\n");
        }
        for (i = 0; i < depth; i++)
            pbjson__puts(sb, "  ");
        pbjson__puts(sb, is_obj ? "}" : "]");
    } else {
        /* A leaf prints alone, without its siblings. */
        char *leaf = cJSON_PrintUnformatted(it);
        if (leaf == NULL) {
            sb->oom = 1;
            return;
        }
        pbjson__puts(sb, leaf);
        cJSON_free(leaf);
    }
}

char *
pbjson_print(const cJSON *obj, int pretty)
{
    struct pbjson__sb sb = { NULL, 0, 0, 0 };

    if (!pretty)
        return cJSON_PrintUnformatted(obj);
    pbjson__pretty(&sb, obj, 0);
    if (sb.oom) {
        cJSON_free(sb.p);
        return NULL;
    }
    return sb.p;
}

char *
pbjson_to_string(const ProtobufCMessage *msg, int pretty)
{
    cJSON *obj = pbjson_to_cjson(msg);
    char *text;

    if (obj == NULL)
        return NULL;
    text = pbjson_print(obj, pretty);
    cJSON_Delete(obj);
    return text;
}

/* ---- input ----------------------------------------------------------- */

struct pbjson__ctx {
    char *err;
    size_t errlen;
    char path[256]; /* "items[1].quantity" */
    size_t path_len;
};

static int
pbjson__fail(struct pbjson__ctx *cx, const char *fmt, ...)
{
    va_list ap;

    if (cx->err == NULL || cx->errlen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(cx->err, cx->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* "field \"path\": " followed by fmt. */
static int
pbjson__field_fail(struct pbjson__ctx *cx, const char *fmt, ...)
{
    char what[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return pbjson__fail(cx, "field \"%s\": %s", cx->path, what);
}

static size_t
pbjson__path_push(struct pbjson__ctx *cx, const char *name, long index)
{
    size_t old = cx->path_len;
    size_t room = sizeof(cx->path) - old;
    int n;

    if (name != NULL)
        n = snprintf(cx->path + old, room, "%s%s", old ? "." : "", name);
    else
        n = snprintf(cx->path + old, room, "[%ld]", index);
    if (n < 0 || (size_t)n >= room)
        cx->path_len = sizeof(cx->path) - 1;
    else
        cx->path_len = old + (size_t)n;
    return old;
}

static void
pbjson__path_pop(struct pbjson__ctx *cx, size_t old)
{
    cx->path_len = old;
    cx->path[old] = '\0';
}

/*
 * Rewrites JSON text as described at the top of this file. With out NULL
 * nothing is written and the return value is the input offset that maps to
 * output offset stop (used to place cJSON's error in the caller's text);
 * otherwise returns the output length.
 */
static size_t
pbjson__mark(const char *in, size_t len, char *out, size_t stop)
{
    size_t i = 0, o = 0;
    int in_str = 0;

#define PBJSON__EMIT(ch)                                                                           \
    do {                                                                                           \
        if (out != NULL)                                                                           \
            out[o] = (char)(ch);                                                                   \
        o++;                                                                                       \
    } while (0)

    while (i < len) {
        char ch = in[i];

        if (out == NULL && o >= stop)
            return i;
        if (in_str) {
            if (ch == '\\' && i + 1 < len) {
                PBJSON__EMIT(ch);
                PBJSON__EMIT(in[i + 1]);
                i += 2;
                continue;
            }
            if (ch == '"')
                in_str = 0;
            PBJSON__EMIT(ch);
            i++;
        } else if (ch == '"') {
            in_str = 1;
            PBJSON__EMIT('"');
            PBJSON__EMIT('s');
            i++;
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            PBJSON__EMIT('"');
            PBJSON__EMIT('n');
            while (i < len && (isdigit((unsigned char)in[i]) || in[i] == '-' || in[i] == '+' ||
                               in[i] == '.' || in[i] == 'e' || in[i] == 'E')) {
                PBJSON__EMIT(in[i]);
                i++;
            }
            PBJSON__EMIT('"');
        } else {
            PBJSON__EMIT(ch);
            i++;
        }
    }
#undef PBJSON__EMIT
    if (out == NULL)
        return i;
    out[o] = '\0';
    return o;
}

/* The text of a marked number, or NULL if it is not a number. */
static const char *
pbjson__num(const cJSON *it)
{
    if (cJSON_IsString(it) && it->valuestring[0] == 'n')
        return it->valuestring + 1;
    return NULL;
}

/* The text of a marked string, or NULL if it is not a string. */
static const char *
pbjson__str(const cJSON *it)
{
    if (cJSON_IsString(it) && it->valuestring[0] == 's')
        return it->valuestring + 1;
    return NULL;
}

/* A short rendering of a JSON value for error messages. */
static const char *
pbjson__show(const cJSON *it, char *buf, size_t size)
{
    const char *s;

    if ((s = pbjson__num(it)) != NULL) {
        snprintf(buf, size, "%.40s", s);
    } else if ((s = pbjson__str(it)) != NULL) {
        size_t o = 0, i;

        buf[o++] = '"';
        for (i = 0; s[i] != '\0' && o + 6 < size; i++) {
            unsigned char c = (unsigned char)s[i];
            if (i == 40) {
                memcpy(buf + o, "...", 3);
                o += 3;
                break;
            }
            buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        }
        buf[o++] = '"';
        buf[o] = '\0';
    } else if (cJSON_IsBool(it)) {
        snprintf(buf, size, "%s", cJSON_IsTrue(it) ? "true" : "false");
    } else if (cJSON_IsNull(it)) {
        snprintf(buf, size, "null");
    } else if (cJSON_IsArray(it)) {
        snprintf(buf, size, "an array");
    } else {
        snprintf(buf, size, "an object");
    }
    return buf;
}

static int
pbjson__expected(struct pbjson__ctx *cx, const char *what, const cJSON *it)
{
    char shown[64];

    return pbjson__field_fail(cx, "expected %s, got %s", what,
                              pbjson__show(it, shown, sizeof(shown)));
}

/* Integer text: number text, or a decimal string as proto3 allows. */
static const char *
pbjson__int_text(const cJSON *it)
{
    const char *t = pbjson__num(it);

    return t != NULL ? t : pbjson__str(it);
}

/*
 * Parses an integer field's value into [min, max] (signed) or [0, umax]
 * (unsigned). A value in exponent or decimal form ("1e3", "2.0") is taken
 * if it is a whole number that a double holds exactly.
 */
static int
pbjson__int(struct pbjson__ctx *cx, const cJSON *it, int is_signed, int64_t min, int64_t max,
            uint64_t umax, void *out)
{
    const char *what = is_signed ? "an integer" : "an unsigned integer";
    const char *t = pbjson__int_text(it);
    const char *p;
    char *end = NULL;
    int has_digit = 0, is_plain = 1;

    if (t == NULL || *t == '\0')
        return pbjson__expected(cx, what, it);
    for (p = t; *p != '\0'; p++) {
        if (isdigit((unsigned char)*p))
            has_digit = 1;
        else if (!(p == t && *p == '-'))
            is_plain = 0;
    }
    if (!has_digit)
        return pbjson__expected(cx, what, it);
    if (!is_plain) {
        double d;

        /* Only decimal digits, sign, point and exponent: no "0x10", "inf". */
        if (strspn(t, "0123456789+-.eE") != strlen(t))
            return pbjson__expected(cx, what, it);
        errno = 0;
        d = strtod(t, &end);
        if (*end != '\0')
            return pbjson__expected(cx, what, it);
        if (errno == ERANGE || !isfinite(d))
            return pbjson__field_fail(cx, "%s is out of range", t);
        if (d != floor(d))
            return pbjson__expected(cx, what, it);
        if (fabs(d) > 9007199254740992.0) /* 2^53 */
            return pbjson__field_fail(cx, "%s is out of range", t);
        if (is_signed) {
            if (d < (double)min || d > (double)max)
                goto range;
            if (max > INT32_MAX)
                *(int64_t *)out = (int64_t)d;
            else
                *(int32_t *)out = (int32_t)d;
        } else {
            if (d < 0)
                return pbjson__expected(cx, what, it);
            if (d > (double)umax)
                goto range;
            if (umax > UINT32_MAX)
                *(uint64_t *)out = (uint64_t)d;
            else
                *(uint32_t *)out = (uint32_t)d;
        }
        return 0;
    }
    errno = 0;
    if (is_signed) {
        long long v = strtoll(t, &end, 10);
        if (*end != '\0')
            return pbjson__expected(cx, what, it);
        if (errno == ERANGE || v < min || v > max)
            goto range;
        if (max > INT32_MAX)
            *(int64_t *)out = (int64_t)v;
        else
            *(int32_t *)out = (int32_t)v;
    } else {
        unsigned long long v;
        if (*t == '-')
            return pbjson__expected(cx, what, it);
        v = strtoull(t, &end, 10);
        if (*end != '\0')
            return pbjson__expected(cx, what, it);
        if (errno == ERANGE || v > umax)
            goto range;
        if (umax > UINT32_MAX)
            *(uint64_t *)out = (uint64_t)v;
        else
            *(uint32_t *)out = (uint32_t)v;
    }
    return 0;
range:
    if (is_signed)
        return pbjson__field_fail(cx, "%s is out of range (%" PRId64 "..%" PRId64 ")", t, min, max);
    return pbjson__field_fail(cx, "%s is out of range (0..%" PRIu64 ")", t, umax);
}

static int
pbjson__float(struct pbjson__ctx *cx, const cJSON *it, int is_float, void *out)
{
    const char *what = "a number";
    const char *t = pbjson__num(it);
    double d;
    char *end = NULL;

    if (t == NULL) {
        t = pbjson__str(it);
        if (t != NULL && strcmp(t, "NaN") == 0)
            d = NAN;
        else if (t != NULL && strcmp(t, "Infinity") == 0)
            d = INFINITY;
        else if (t != NULL && strcmp(t, "-Infinity") == 0)
            d = -INFINITY;
        else
            return pbjson__expected(cx, what, it);
    } else {
        if (*t == '\0' || strspn(t, "0123456789+-.eE") != strlen(t))
            return pbjson__expected(cx, what, it);
        d = strtod(t, &end);
        if (*end != '\0')
            return pbjson__expected(cx, what, it);
        /* Overflow gives HUGE_VAL; underflow to 0 is fine. */
        if (!isfinite(d) || (is_float && fabs(d) > FLT_MAX))
            return pbjson__field_fail(cx, "%s is out of range", t);
    }
    if (is_float)
        *(float *)out = (float)d;
    else
        *(double *)out = d;
    return 0;
}

static int
pbjson__enum(struct pbjson__ctx *cx, const ProtobufCEnumDescriptor *ed, const cJSON *it, int *out)
{
    const char *name = pbjson__str(it);
    char names[256];
    size_t o = 0;
    unsigned i;

    if (name != NULL) {
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
        if (ev != NULL) {
            *out = ev->value;
            return 0;
        }
    } else if (pbjson__num(it) != NULL) {
        int32_t v;
        /* proto3 enums are open: any int32 is a valid number. */
        if (pbjson__int(cx, it, 1, INT32_MIN, INT32_MAX, 0, &v) != 0)
            return -1;
        *out = v;
        return 0;
    }
    names[0] = '\0';
    for (i = 0; i < ed->n_values && o < sizeof(names); i++) {
        int n = snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "", ed->values[i].name);
        if (n < 0)
            break;
        o += (size_t)n;
    }
    {
        char what[320];
        snprintf(what, sizeof(what), "one of %s (or a number)", names);
        return pbjson__expected(cx, what, it);
    }
}

static int
pbjson__b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static int
pbjson__bytes_in(struct pbjson__ctx *cx, const cJSON *it, ProtobufCBinaryData *out)
{
    const char *s = pbjson__str(it);
    size_t len, i, o = 0, pad = 0;
    uint32_t acc = 0;
    int bits = 0;
    uint8_t *buf;

    if (s == NULL)
        return pbjson__expected(cx, "a base64 string", it);
    len = strlen(s);
    while (len > 0 && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0))
        return pbjson__expected(cx, "a base64 string", it);
    buf = malloc(len * 3 / 4 + 1);
    if (buf == NULL)
        return pbjson__fail(cx, "out of memory");
    for (i = 0; i < len; i++) {
        int v = pbjson__b64val((unsigned char)s[i]);
        if (v < 0) {
            free(buf);
            return pbjson__expected(cx, "a base64 string", it);
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (o == 0) {
        free(buf);
        buf = NULL;
    }
    out->data = buf;
    out->len = o;
    return 0;
}

static int pbjson__message(struct pbjson__ctx *cx, const ProtobufCMessageDescriptor *desc,
                           const cJSON *obj, int depth, ProtobufCMessage **out);

/* One value (an element, for repeated fields) into the member at p. */
static int
pbjson__value_in(struct pbjson__ctx *cx, const ProtobufCFieldDescriptor *fd, const cJSON *it,
                 void *p, int depth)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return pbjson__int(cx, it, 1, INT32_MIN, INT32_MAX, 0, p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return pbjson__int(cx, it, 0, 0, 0, UINT32_MAX, p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return pbjson__int(cx, it, 1, INT64_MIN, INT64_MAX, 0, p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return pbjson__int(cx, it, 0, 0, 0, UINT64_MAX, p);
    case PROTOBUF_C_TYPE_FLOAT: return pbjson__float(cx, it, 1, p);
    case PROTOBUF_C_TYPE_DOUBLE: return pbjson__float(cx, it, 0, p);
    case PROTOBUF_C_TYPE_BOOL:
        if (!cJSON_IsBool(it))
            return pbjson__expected(cx, "true or false", it);
        *(protobuf_c_boolean *)p = cJSON_IsTrue(it) ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_ENUM: return pbjson__enum(cx, fd->descriptor, it, p);
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = pbjson__str(it);
        size_t n;
        char *copy;

        if (s == NULL)
            return pbjson__expected(cx, "a string", it);
        n = strlen(s);
        copy = malloc(n + 1);
        if (copy == NULL)
            return pbjson__fail(cx, "out of memory");
        memcpy(copy, s, n + 1);
        *(char **)p = copy;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: return pbjson__bytes_in(cx, it, p);
    case PROTOBUF_C_TYPE_MESSAGE:
        if (!cJSON_IsObject(it))
            return pbjson__expected(cx, "an object", it);
        return pbjson__message(cx, fd->descriptor, it, depth + 1, p);
    }
    return pbjson__field_fail(cx, "unsupported field type");
}

/* Does key name the field, as its proto name or its lowerCamelCase name? */
static int
pbjson__name_eq(const char *name, const char *key)
{
    if (strcmp(name, key) == 0)
        return 1;
    while (*name != '\0') {
        char c = *name;
        if (c == '_' && name[1] != '\0') {
            name++;
            c = (char)toupper((unsigned char)*name);
        }
        if (*key != c)
            return 0;
        key++;
        name++;
    }
    return *key == '\0';
}

static const ProtobufCFieldDescriptor *
pbjson__find_field(const ProtobufCMessageDescriptor *desc, const char *key)
{
    const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(desc, key);
    unsigned f;

    if (fd != NULL)
        return fd;
    for (f = 0; f < desc->n_fields; f++)
        if (pbjson__name_eq(desc->fields[f].name, key))
            return &desc->fields[f];
    return NULL;
}

static int
pbjson__field(struct pbjson__ctx *cx, const ProtobufCFieldDescriptor *fd, const cJSON *it,
              ProtobufCMessage *msg, int depth)
{
    char *base = (char *)msg;
    void *member = base + fd->offset;

    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t sz = pbjson__type_size(fd->type);
        int i, n;
        char *arr;

        if (!cJSON_IsArray(it))
            return pbjson__expected(cx, "an array", it);
        n = cJSON_GetArraySize(it);
        if (n == 0)
            return 0;
        arr = calloc((size_t)n, sz);
        if (arr == NULL)
            return pbjson__fail(cx, "out of memory");
        /*
         * Attach the zeroed array first: if an element fails, free_unpacked
         * releases what was filled (NULL elements are skipped).
         */
        *(void **)member = arr;
        *(size_t *)(base + fd->quantifier_offset) = (size_t)n;
        for (i = 0, it = it->child; it != NULL; it = it->next, i++) {
            size_t old = pbjson__path_push(cx, NULL, i);
            int rc = pbjson__value_in(cx, fd, it, arr + (size_t)i * sz, depth);
            pbjson__path_pop(cx, old);
            if (rc != 0)
                return -1;
        }
        return 0;
    }
    if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = (uint32_t *)(base + fd->quantifier_offset);
        if (*which != 0 && *which != fd->id)
            return pbjson__field_fail(cx, "another member of its oneof is set");
        /* Reset to the zero value so free_unpacked never sees a default. */
        memset(member, 0, pbjson__type_size(fd->type));
        if (pbjson__value_in(cx, fd, it, member, depth) != 0)
            return -1;
        *which = fd->id;
        return 0;
    }
    if (pbjson__value_in(cx, fd, it, member, depth) != 0)
        return -1;
    if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset != 0 &&
        fd->type != PROTOBUF_C_TYPE_MESSAGE && fd->type != PROTOBUF_C_TYPE_STRING)
        *(protobuf_c_boolean *)(base + fd->quantifier_offset) = 1;
    return 0;
}

static int
pbjson__message(struct pbjson__ctx *cx, const ProtobufCMessageDescriptor *desc, const cJSON *obj,
                int depth, ProtobufCMessage **out)
{
    ProtobufCMessage *msg = NULL;
    unsigned char *seen = NULL;
    const cJSON *it;
    int rc = -1;

    if (depth > PBJSON_MAX_DEPTH) {
        pbjson__fail(cx, "field \"%s\": messages nested deeper than %d", cx->path,
                     PBJSON_MAX_DEPTH);
        goto out;
    }
    msg = malloc(desc->sizeof_message);
    seen = calloc(desc->n_fields + 1, 1);
    if (msg == NULL || seen == NULL) {
        free(msg);
        msg = NULL;
        pbjson__fail(cx, "out of memory");
        goto out;
    }
    protobuf_c_message_init(desc, msg);
    for (it = obj->child; it != NULL; it = it->next) {
        /* Keys carry the 's' mark too. */
        const char *key = it->string != NULL ? it->string + 1 : "";
        const ProtobufCFieldDescriptor *fd = pbjson__find_field(desc, key);
        size_t old = pbjson__path_push(cx, key, 0);
        int frc;

        if (fd == NULL) {
            pbjson__fail(cx, "unknown field \"%s\" (%s has no such field)", cx->path, desc->name);
            goto out;
        }
        if (seen[fd - desc->fields]) {
            pbjson__fail(cx, "field \"%s\" is given twice", cx->path);
            goto out;
        }
        seen[fd - desc->fields] = 1;
        frc = cJSON_IsNull(it) ? 0 : pbjson__field(cx, fd, it, msg, depth);
        pbjson__path_pop(cx, old);
        if (frc != 0)
            goto out;
    }
    *out = msg;
    msg = NULL;
    rc = 0;
out:
    if (msg != NULL)
        protobuf_c_message_free_unpacked(msg, NULL);
    free(seen);
    return rc;
}

/* The offset of a \u0000 escape inside a string of the JSON text, or len:
 * strings here are C strings, and one would end there without a word. */
static size_t
pbjson__find_nul_escape(const char *json, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        if (json[i] == '"') {
            in_string = !in_string;
        } else if (in_string && json[i] == '\\' && i + 1 < len) {
            if (json[i + 1] == 'u' && i + 5 < len && memcmp(json + i + 2, "0000", 4) == 0)
                return i;
            i++; /* the escaped character, '"' or '\\' included */
        }
    }
    return len;
}

int
pbjson_from_json(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                 ProtobufCMessage **out, char *err, size_t errlen)
{
    struct pbjson__ctx cx;
    char *marked = NULL;
    cJSON *root = NULL;
    const char *end = NULL;
    int rc = -1;

    memset(&cx, 0, sizeof(cx));
    cx.err = err;
    cx.errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (memchr(json, '\0', len) != NULL) {
        pbjson__fail(&cx, "invalid JSON: it contains a NUL byte");
        goto out;
    }
    size_t nul = pbjson__find_nul_escape(json, len);
    if (nul < len) {
        pbjson__fail(&cx, "a string at offset %zu holds \\u0000, which strings here cannot hold",
                     nul);
        goto out;
    }
    if (len > (SIZE_MAX - 1) / 3) {
        pbjson__fail(&cx, "out of memory");
        goto out;
    }
    /* Each byte grows to at most 3 ("1" -> "\"n1\""). */
    marked = malloc(len * 3 + 1);
    if (marked == NULL) {
        pbjson__fail(&cx, "out of memory");
        goto out;
    }
    pbjson__mark(json, len, marked, 0);
    root = cJSON_ParseWithOpts(marked, &end, 1);
    if (root == NULL) {
        size_t at = end != NULL && end >= marked
                        ? pbjson__mark(json, len, NULL, (size_t)(end - marked))
                        : 0;
        char near[24];
        size_t i;

        for (i = 0; i + 1 < sizeof(near) && at + i < len; i++) {
            unsigned char c = (unsigned char)json[at + i];
            near[i] = (c < 0x20 || c == '"' || c == 0x7f) ? ' ' : (char)c;
        }
        near[i] = '\0';
        if (at >= len)
            pbjson__fail(&cx, "invalid JSON: unexpected end of text");
        else
            pbjson__fail(&cx, "invalid JSON at offset %zu, near \"%s\"", at, near);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        char shown[64];
        pbjson__fail(&cx, "expected a JSON object for %s, got %s", desc->name,
                     pbjson__show(root, shown, sizeof(shown)));
        goto out;
    }
    rc = pbjson__message(&cx, desc, root, 0, out);
out:
    cJSON_Delete(root);
    free(marked);
    return rc;
}
