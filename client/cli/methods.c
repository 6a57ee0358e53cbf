/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The methods the commands call, from the method map bh_gen writes from
 * the .proto (bilheteria/bh_methods.h): each one's rules and a call through
 * libbilheteria's typed function for it, so no command types a method name
 * or decides by hand whether a key goes with it.
 */
#include "cli.h"

/* The typed function behind a generic signature: req is of the method's
 * input type (cli_call checks that against the descriptor first). */
#define CLI__CALL(id, full, fn, Req, Resp, w, k)                                                   \
    static int cli__call_##fn(bh_client *c, const ProtobufCMessage *req, ProtobufCMessage **resp,  \
                              const bh_call_opts *opts, bh_status *st)                             \
    {                                                                                              \
        Resp *r = NULL;                                                                            \
        int rc = fn(c, (const Req *)req, &r, opts, st);                                            \
        if (rc == BH_OK)                                                                           \
            *resp = &r->base;                                                                      \
        return rc;                                                                                 \
    }
BH_METHOD_MAP(CLI__CALL)
#undef CLI__CALL

#define CLI__METHOD(id, full, fn, Req, Resp, w, k)                                                 \
    [BH_METHOD_##                                                                                  \
        id] = { .name = (full), .writes = (w), .key_required = (k), .call = cli__call_##fn },
const struct cli_method cli_methods[BH_METHOD_COUNT] = { BH_METHOD_MAP(CLI__METHOD) };
#undef CLI__METHOD
