/* SPDX-License-Identifier: Apache-2.0 */
/* W3C trace context (bh_trace.h). */
#include <string.h>

#include "bh_trace.h"
#include "bilheteria/wire.h"

/* n lowercase hex digits at p, not all '0' when nonzero is set. */
static int
lower_hex(const char *p, size_t n, int nonzero)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
        any |= p[i] != '0';
    }
    return any || !nonzero;
}

int
bh__traceparent_ok(const char *t)
{
    return strnlen(t, BH_TRACEPARENT_LEN + 1) == BH_TRACEPARENT_LEN && strncmp(t, "00-", 3) == 0 &&
           t[35] == '-' && t[52] == '-' && lower_hex(t + 3, 32, 1) && lower_hex(t + 36, 16, 1) &&
           lower_hex(t + 53, 2, 0);
}
