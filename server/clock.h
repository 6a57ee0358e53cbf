/* SPDX-License-Identifier: Apache-2.0 */
/* The server's clocks (clock.c). */
#ifndef BH_CLOCK_H
#define BH_CLOCK_H

#include <stdint.h>

int64_t srv_now_ms(void);  /* wall clock, ms since the epoch */
int64_t srv_mono_ms(void); /* monotonic clock, for intervals */
int64_t srv_mono_us(void); /* the same in microseconds, for durations */

#endif
