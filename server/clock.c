/* SPDX-License-Identifier: Apache-2.0 */
/* The server's clocks: the wall clock for stored times, the monotonic one
 * for intervals. */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "clock.h"

static int64_t
clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The wall clock minus the monotonic one, as last seen: a change of more
 * than a second is a step of the wall clock (NTP at boot, date -s). */
static _Atomic int64_t clock_offset = INT64_MIN;

/* Wall-clock time, for everything stored or compared with stored times:
 * holds' expiry, sessions' start, created_at, idempotency retention. It
 * follows the system clock, steps included (a server started before NTP
 * set the clock must not keep the wrong time), and says so on stderr when
 * the clock steps. Intervals and deadlines use srv_mono_ms instead. */
int64_t
srv_now_ms(void)
{
    int64_t wall = clock_ms(CLOCK_REALTIME), off = wall - clock_ms(CLOCK_MONOTONIC);
    int64_t prev = atomic_load_explicit(&clock_offset, memory_order_relaxed);
    /* Stored only when it moved (a slew moves it slowly; the two readings'
     * rounding by a millisecond or so): no shared write per call. */
    if (prev == INT64_MIN || off - prev > 50 || off - prev < -50) {
        prev = atomic_exchange(&clock_offset, off);
        int64_t d = prev == INT64_MIN ? 0 : off - prev;
        if (d > 1000 || d < -1000)
            fprintf(stderr,
                    "bilheteria-server: the system clock stepped by %+lld ms; times follow it\n",
                    (long long)d);
    }
    return wall;
}

/* Monotonic time: for deadlines, sweep intervals and the uptime, which a
 * step of the wall clock must not stretch or cut. */
int64_t
srv_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

int64_t
srv_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
