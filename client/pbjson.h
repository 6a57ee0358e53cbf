/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbjson: protobuf-c messages to and from JSON, driven by the message
 * descriptors (no per-message code).
 *
 * The mapping is proto3's JSON mapping as grpcurl prints it, with these
 * choices, which the CLI's --json output and its `call` command rely on:
 *
 *  - keys are the proto field names (snake_case, as in the .proto); on
 *    input the lowerCamelCase JSON names are accepted too;
 *  - every field is written, zero values included ("held": 0, "name": "");
 *    an unset message field is written as null;
 *  - enums are written by name ("RESERVATION_STATUS_PENDING"); a value with
 *    no name is written as its number. On input a name or a number;
 *  - all integers, 64-bit ones included (ids, cents, ms), are JSON numbers,
 *    written with every digit. On input a number or a decimal string; a
 *    fraction ("1.5") or a value out of the field's range is an error;
 *  - bytes are base64 (RFC 4648, with padding); input also takes the
 *    URL-safe alphabet and missing padding;
 *  - repeated fields are arrays, message fields objects;
 *  - float/double: numbers, or "NaN", "Infinity", "-Infinity";
 *  - on input, null for a field means "leave the default", an unknown key
 *    or a key given twice is an error, and the text must be one JSON object
 *    with nothing after it.
 *
 * Errors name the field (with its path: "items[1].quantity") and the value:
 *   field "rows": expected an unsigned integer, got "abc"
 *
 * Out of memory: every function fails cleanly (NULL, or -1 with
 * "out of memory" in the error buffer); nothing aborts.
 *
 * Thread-safety: no shared state; safe from any thread.
 */
#ifndef BH_PBJSON_H
#define BH_PBJSON_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest message nesting pbjson_from_json accepts. */
#define PBJSON_MAX_DEPTH 32

/*
 * Output styles. PBJSON_STYLE_PROTO is the mapping above. PBJSON_STYLE_PROTO3
 * is proto3's canonical JSON for other languages' tooling (protojson,
 * JsonFormat): keys are the lowerCamelCase JSON names ("startsAtMs"),
 * 64-bit integers are decimal strings ("42"); enums by name, every field
 * written (as protojson's EmitUnpopulated), unset messages null, as above.
 * Input (pbjson_from_json) reads both styles.
 */
enum { PBJSON_STYLE_PROTO = 0, PBJSON_STYLE_PROTO3 = 1 };

/*
 * Converts msg to a JSON object (PBJSON_STYLE_PROTO). Returns NULL when
 * out of memory; caller frees the result with cJSON_Delete.
 */
cJSON *pbjson_to_cjson(const ProtobufCMessage *msg);

/* pbjson_to_cjson in style (PBJSON_STYLE_*). */
cJSON *pbjson_to_cjson_style(const ProtobufCMessage *msg, int style);

/*
 * Prints obj as pbjson_to_string does (one line, or grpcurl's layout when
 * pretty). Returns NULL when out of memory; caller frees with cJSON_free.
 */
char *pbjson_print(const cJSON *obj, int pretty);

/*
 * Converts msg to JSON text: on one line when pretty is 0, otherwise as
 * grpcurl prints it (two-space indent, "key": value); no trailing newline. Returns NULL when out of
 * memory; caller frees with cJSON_free.
 */
char *pbjson_to_string(const ProtobufCMessage *msg, int pretty);

/*
 * Parses len bytes of JSON text (one object; need not be NUL-terminated)
 * as a message of type desc. On success returns 0 and sets *out; caller
 * frees it with protobuf_c_message_free_unpacked(*out, NULL). On failure
 * returns -1, leaves *out untouched and writes a NUL-terminated message
 * saying what was wrong into err (errlen bytes; err may be NULL).
 */
int pbjson_from_json(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                     ProtobufCMessage **out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
