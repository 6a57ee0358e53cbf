/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The methods the commands call, from the method map bh_gen writes from
 * the .proto (bilheteria/bh_methods.h): each one's name and rules, so no
 * command types a method name or decides by hand whether a key goes with
 * it. cli_call calls through bh_call_ex (whose options carry the trace and
 * return the request id), after checking the request's type against the
 * method's descriptor.
 */
#include "cli.h"

#define CLI__METHOD(id, full, fn, Req, Resp, w, k)                                                 \
    [BH_METHOD_##id] = { .name = (full), .writes = (w), .key_required = (k) },
const struct cli_method cli_methods[BH_METHOD_COUNT] = { BH_METHOD_MAP(CLI__METHOD) };
#undef CLI__METHOD
