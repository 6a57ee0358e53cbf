/* SPDX-License-Identifier: Apache-2.0 */
/* The transport-free half of a call: decoding a request envelope into a
 * srv_call, and preparing the response envelope. The nng listener and the
 * fuzz harness both use it. */
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "bh_trace.h"
#include "bh_varint.h"
#include "clock.h"
#include "dispatch.h"
#include "request.h"
#include "util.h"

void
srv_call_init(srv_call *c, bh__arena *arena, const srv_config *cfg, const srv_env *env)
{
    memset(c, 0, sizeof(*c));
    c->arena = arena;
    c->cfg = cfg;
    c->env = env;
    c->idem_key = "";
}

uint64_t
srv_request_peek_id(const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    while (p < end) {
        uint64_t tag, v;
        if (bh__varint_get(&p, end, &tag) != 0)
            return 0;
        unsigned wt = (unsigned)(tag & 7);
        if ((wt != 0 && wt != 2) || bh__varint_get(&p, end, &v) != 0)
            return 0;
        if (wt == 0 && (tag >> 3) == 2)
            return v;
        if (wt == 2) {
            if (v > (uint64_t)(end - p))
                return 0;
            p += v;
        }
    }
    return 0;
}

/* Printable ASCII only: the name goes back in a proto3 string, which
 * strict decoders want to be valid UTF-8. */
static int
is_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static int
utf8_ok(const char *s)
{
    size_t n = strlen(s);
    return srv_utf8_valid(s, n) == n;
}

/* Appends the field's name (+ "[idx]" for a repeated one) + suffix to the
 * path out[0, used) and returns the new length. The path only names a field
 * in an error message: one too long for out is cut at len - 1. */
static size_t
field_path(char *out, size_t len, size_t used, const ProtobufCFieldDescriptor *f, long idx,
           const char *suffix)
{
    size_t room = len - used;
    int n = idx < 0 ? snprintf(out + used, room, "%s%s", f->name, suffix)
                    : snprintf(out + used, room, "%s[%ld]%s", f->name, idx, suffix);
    if (n < 0 || (size_t)n >= room)
        return len - 1;
    return used + (size_t)n;
}

/* The path is built in place: path[0, used) names the message m. */
static int
find_bad(const ProtobufCMessage *m, char *path, size_t len, size_t used, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (depth > 8)
        return 0; /* our messages nest two deep; protobuf-c bounds the rest */
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m + f->offset;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which;
            memcpy(&which, (const char *)m + f->quantifier_offset, sizeof(which));
            if (which != f->id)
                continue;
        }
        size_t n = 1;
        const void *const *items = (const void *const *)base;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            memcpy(&n, (const char *)m + f->quantifier_offset, sizeof(n));
            memcpy(&items, base, sizeof(items));
        }
        for (size_t k = 0; k < n; k++) {
            const void *v = items[k];
            long idx = f->label == PROTOBUF_C_LABEL_REPEATED ? (long)k : -1;
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                if (v != NULL && !utf8_ok(v)) {
                    field_path(path, len, used, f, idx, "");
                    return 1;
                }
            } else if (v != NULL) {
                size_t sub = field_path(path, len, used, f, idx, ".");
                if (find_bad(v, path, len, sub, depth + 1))
                    return 1;
            }
        }
    }
    return 0;
}

int
srv_find_bad_utf8(const ProtobufCMessage *m, char *path, size_t len)
{
    char none[1];
    if (len == 0) {
        path = none;
        len = 1;
    }
    path[0] = 0;
    if (find_bad(m, path, len, 0, 0))
        return 1;
    path[0] = 0;
    return 0;
}

/* protobuf-c hands strings over as C strings: one with a NUL inside would
 * be cut there, unseen by every later check. So the wire bytes of each
 * string field of d, in nested messages too, are looked at: 1 with the
 * field's path ("items[2].note", built in place: path[0, used) names the
 * message) and the NUL's offset in it, else 0. Called on bytes that
 * unpacked with d, so a malformed field ends the walk without a verdict. */
static int
find_nul(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, char *path,
         size_t len, size_t used, size_t *at, int depth)
{
    unsigned seen[32] = { 0 }; /* occurrences of each repeated field so far */
    if (depth > 8)
        return 0; /* our messages nest two deep */
    while (p < end) {
        uint64_t tag, n;
        if (bh__varint_get(&p, end, &tag) != 0)
            return 0;
        switch (tag & 7) {
        case 0: /* varint */
            if (bh__varint_get(&p, end, &n) != 0)
                return 0;
            continue;
        case 1: /* 64-bit */
        case 5: /* 32-bit */
            n = (tag & 7) == 1 ? 8 : 4;
            if (n > (uint64_t)(end - p))
                return 0;
            p += n;
            continue;
        case 2: /* length-delimited */
            if (bh__varint_get(&p, end, &n) != 0 || n > (uint64_t)(end - p))
                return 0;
            break;
        default: /* groups: protobuf-c refuses them */ return 0;
        }
        const uint8_t *v = p;
        p += n;
        const ProtobufCFieldDescriptor *f =
            tag >> 3 <= UINT32_MAX
                ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3))
                : NULL;
        if (f == NULL || (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE))
            continue;
        long idx = -1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t k = (size_t)(f - d->fields);
            idx = k < 32 ? (long)seen[k]++ : 0;
        }
        const uint8_t *nul = f->type == PROTOBUF_C_TYPE_STRING ? memchr(v, 0, (size_t)n) : NULL;
        if (nul != NULL) {
            field_path(path, len, used, f, idx, "");
            *at = (size_t)(nul - v);
            return 1;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            size_t sub = field_path(path, len, used, f, idx, ".");
            if (find_nul(f->descriptor, v, v + n, path, len, sub, at, depth + 1))
                return 1;
        }
    }
    return 0;
}

/* Refuses a message whose wire bytes carry a string with a NUL in it. */
static int
refuse_nul(srv_call *c, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len)
{
    char path[160];
    size_t at = 0;
    path[0] = 0;
    if (!find_nul(d, p, p + len, path, sizeof(path), 0, &at, 0))
        return 0;
    c->field = bh__arena_strdup(c->arena, path);
    srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
             "%s has a NUL byte at offset %zu (strings must be UTF-8 text without NUL)", path, at);
    return 1;
}

/* W3C trace context, version 00: "00-" trace id (32 hex, not all zero) "-"
 * parent id (16 hex, not all zero) "-" flags (2 hex). Empty is none. The
 * trace id is kept for the logs; anything else is refused, naming the
 * field, so that a caller's tracing bug shows rather than a broken trace. */
static int
take_traceparent(srv_call *c, const char *tp)
{
    if (tp[0] == 0)
        return 0;
    if (!bh__traceparent_ok(tp)) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                 "traceparent \"%.*s\" is not a W3C trace context of version 00 "
                 "(00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>, lowercase, ids not "
                 "all zero)",
                 64, is_printable(tp) ? tp : "(unprintable)");
        return -1;
    }
    memcpy(c->trace_id, tp + 3, 32);
    c->trace_id[32] = 0;
    return 0;
}

int
srv_request_decode(srv_call *c, const uint8_t *buf, size_t len, uint64_t *request_id)
{
    const srv_config *cfg = c->cfg;
    int64_t recv_ms = srv_mono_ms();
    *request_id = 0;

    if (len > cfg->max_request) {
        *request_id = srv_request_peek_id(buf, len);
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
                 "request of %zu bytes is over the server's limit of %zu bytes", len,
                 cfg->max_request);
        return SRV_DECODED_ANSWER;
    }
    Bilheteria__V1__RequestEnvelope *env =
        bilheteria__v1__request_envelope__unpack(&c->arena->pc, len, buf);
    if (env == NULL) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                 "request envelope of %zu bytes does not decode as "
                 "bilheteria.v1.RequestEnvelope",
                 len);
        return SRV_DECODED_ANSWER;
    }
    *request_id = env->request_id;
    if (refuse_nul(c, &bilheteria__v1__request_envelope__descriptor, buf, len))
        return SRV_DECODED_ANSWER;
    const srv_method *m = srv_registry_find(env->method);
    if (m == NULL || m->impl == NULL) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__UNIMPLEMENTED,
                 "method \"%.*s\" is not implemented by this server", 128,
                 is_printable(env->method) ? env->method : "(unprintable)");
        return SRV_DECODED_ANSWER;
    }
    c->m = m;
    if (take_traceparent(c, env->traceparent) != 0)
        return SRV_DECODED_ANSWER;
    if (strlen(env->auth_token) > BH_AUTH_TOKEN_MAX) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                 "auth_token is %zu bytes; the limit is %d", strlen(env->auth_token),
                 BH_AUTH_TOKEN_MAX);
        return SRV_DECODED_ANSWER;
    }
    size_t klen = strlen(env->idempotency_key);
    if (klen > BH_IDEMPOTENCY_KEY_MAX) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                 "idempotency_key is %zu bytes; the limit is %d", klen, BH_IDEMPOTENCY_KEY_MAX);
        return SRV_DECODED_ANSWER;
    }
    const char *bad = !utf8_ok(env->idempotency_key) ? "idempotency_key"
                      : !utf8_ok(env->auth_token)    ? "auth_token"
                                                     : NULL;
    if (bad != NULL) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT, "%s is not valid UTF-8", bad);
        return SRV_DECODED_ANSWER;
    }
    if (srv_authz_call(c, env->auth_token) != 0)
        return SRV_DECODED_ANSWER;
    if (m->idem_required && klen == 0) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                 "%s requires an idempotency key (1..%d bytes)", m->name, BH_IDEMPOTENCY_KEY_MAX);
        return SRV_DECODED_ANSWER;
    }
    c->idem_key = m->kind == SRV_WRITE ? env->idempotency_key : "";
    if (env->timeout_ms != 0)
        c->deadline_ms = recv_ms + env->timeout_ms;
    c->req = protobuf_c_message_unpack(m->desc->input, &c->arena->pc, env->payload.len,
                                       env->payload.data);
    if (c->req == NULL) {
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                 "payload of %zu bytes is not a valid %s", env->payload.len, m->desc->input->name);
        return SRV_DECODED_ANSWER;
    }
    if (refuse_nul(c, m->desc->input, env->payload.data, env->payload.len))
        return SRV_DECODED_ANSWER;
    char path[160];
    if (srv_find_bad_utf8(c->req, path, sizeof(path))) {
        c->field = bh__arena_strdup(c->arena, path);
        srv_fail(c, BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT,
                 "%s is not valid UTF-8 (strings must be UTF-8 text)", path);
        return SRV_DECODED_ANSWER;
    }
    return m->kind == SRV_WRITE ? SRV_DECODED_WRITE : SRV_DECODED_READ;
}

/* The length of the request field path msg starts with ("items[2].quantity
 * must be > 0" -> 16), checked against the request's descriptor d: each
 * segment a field of the message before it, "[n]" only after a repeated
 * one, the path followed by the end, a space, ':' or ','. 0 if msg does
 * not start with one. */
static size_t
leading_field(const ProtobufCMessageDescriptor *d, const char *msg)
{
    const char *p = msg;

    for (;;) {
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
        char name[64];
        const ProtobufCFieldDescriptor *f;

        if (n == 0 || n >= sizeof(name) || d == NULL)
            return 0;
        memcpy(name, p, n);
        name[n] = '\0';
        if ((f = protobuf_c_message_descriptor_get_field_by_name(d, name)) == NULL)
            return 0;
        p += n;
        if (*p == '[') {
            size_t k = strspn(p + 1, "0123456789");
            if (f->label != PROTOBUF_C_LABEL_REPEATED || k == 0 || p[1 + k] != ']')
                return 0;
            p += k + 2;
        }
        if (*p != '.') {
            if (*p != '\0' && *p != ' ' && *p != ':' && *p != ',')
                return 0;
            return (size_t)(p - msg);
        }
        p++;
        d = f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
    }
}

/* An INVALID_ARGUMENT whose handler named no field names the one its
 * message starts with, when that is a path of the request ("best 7 is more
 * than ..." -> "best"), so that callers get a machine-readable field for
 * every such refusal that reads "<field> ...". */
static void
field_from_message(srv_call *c)
{
    size_t n;

    if (c->code != BILHETERIA__V1__STATUS_CODE__INVALID_ARGUMENT || c->field != NULL ||
        c->m == NULL || c->m->desc == NULL)
        return;
    if ((n = leading_field(c->m->desc->input, c->msg)) == 0)
        return;
    c->field = bh__arena_strndup(c->arena, c->msg, n);
}

void
srv_response_prepare(srv_call *c, uint64_t request_id, Bilheteria__V1__ResponseEnvelope *env)
{
    field_from_message(c);
    bilheteria__v1__response_envelope__init(env);
    if (c->code == 0 && c->resp_bytes == NULL && c->resp != NULL) {
        size_t n = protobuf_c_message_get_packed_size(c->resp);
        uint8_t *buf = bh__arena_alloc(c->arena, n ? n : 1);
        if (buf == NULL && c->m != NULL && c->m->impl != NULL && c->m->kind == SRV_WRITE) {
            /* Packed after the commit: the write stands, only its answer
             * is lost. Say so, or a retry without a key would do it twice. */
            srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED,
                     "out of memory building the answer: the write itself was applied%s; read "
                     "it back rather than retry",
                     c->cfg->no_sync ? "" : " and is durable");
        } else if (buf == NULL) {
            srv_fail(c, BILHETERIA__V1__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
        } else {
            protobuf_c_message_pack(c->resp, buf);
            c->resp_bytes = buf;
            c->resp_len = n;
        }
    }
    env->status = (Bilheteria__V1__StatusCode)c->code;
    env->message = c->msg;
    env->field = c->field != NULL ? (char *)c->field : (char *)"";
    env->request_id = request_id;
    env->replayed = c->replayed;
    if (c->code == 0 && c->resp_bytes != NULL) {
        env->payload.data = (uint8_t *)c->resp_bytes;
        env->payload.len = c->resp_len;
    }
}
