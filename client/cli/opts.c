/* SPDX-License-Identifier: Apache-2.0 */
#include "opts.h"

#include "rfc3339.h"

int
cli_opt_time(const char *val, void *dest)
{
    return cli_rfc3339_parse(val, dest);
}
