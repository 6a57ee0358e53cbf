/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's option tables are the shared parser's (proto/common/bh_opts.h:
 * struct bh__opt, BH__OPT_*, bh__opts_parse). This header adds the one kind
 * of value only the CLI takes: an RFC 3339 time.
 */
#ifndef BH_CLI_OPTS_H
#define BH_CLI_OPTS_H

#include <stdint.h>

#include "bh_opts.h"

/* The BH__OPT_FN parser of an RFC 3339 time: dest is an int64_t of Unix
 * ms. Returns 0, or -1 (dest untouched). */
int cli_opt_time(const char *val, void *dest);

#define CLI_OPT_TIME_WANT "an RFC 3339 time like 2026-12-01T20:00:00Z or 2026-12-01T17:00:00-03:00"

/* An option that takes an RFC 3339 time into an int64_t of Unix ms. */
#define CLI_TIME_OPT(name, flags, dest, help)                                                      \
    {                                                                                              \
        (name), "RFC3339", BH__OPT_FN, (flags), (dest), (help), 0, 0, cli_opt_time,                \
            CLI_OPT_TIME_WANT                                                                      \
    }

#endif
