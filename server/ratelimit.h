/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-key token buckets (ratelimit.c): `--rate-limit PER_S --rate-burst N`.
 *
 * A key is whatever names the caller: the identity (service name, or the
 * JWT's issuer + subject) for authenticated calls, the peer address for
 * anonymous ones. The server keeps one limiter per population (identities,
 * anonymous peers), each with its own limits, so a flood of anonymous
 * callers cannot drain an identity's bucket and the reverse.
 *
 * Each key's bucket holds at most burst tokens and refills at per_s tokens
 * a second; a call takes one. A key seen for the first time starts full.
 * At most max_keys buckets are held: a new key past that evicts the key
 * used least recently, which then starts full again when it comes back (a
 * key idle for burst / per_s seconds would have refilled anyway).
 *
 * Time is passed in, in milliseconds of a monotonic clock (srv_mono_ms in
 * the server, a fake clock in tests); a time earlier than the key's last
 * (two threads racing) refills nothing and is otherwise accepted.
 *
 * Thread-safety: srv_rl_take may be called from any number of threads at
 * once (the table is split into stripes, each behind its own mutex).
 * srv_rl_open and srv_rl_close must not race with anything on the same
 * limiter. Nothing is allocated after srv_rl_open.
 */
#ifndef BH_RATELIMIT_H
#define BH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_rl srv_rl;

/* Keys longer than this are told apart by their first SRV_RL_KEY_MAX bytes,
 * their length and a 64-bit seeded hash of all their bytes. */
#define SRV_RL_KEY_MAX 96
/* The smallest rate: rates are kept in thousandths of a token a second. */
#define SRV_RL_RATE_MIN 0.001

/* Opens a limiter in *out (caller frees with srv_rl_close).
 *   per_s     tokens a second; 0 turns the limiter off (every take allows,
 *             no table is allocated); else from SRV_RL_RATE_MIN to 1e6
 *   burst     bucket size, 1 to 1e6 (ignored when off)
 *   max_keys  buckets held at most, 1 to 2^24 (ignored when off)
 * Returns 0, EINVAL for a value out of range (*out untouched), or ENOMEM. */
int srv_rl_open(srv_rl **out, double per_s, uint32_t burst, size_t max_keys);

/* Takes one token from key's bucket (key[0..keylen) is borrowed for the
 * call only; any bytes). Returns 1 if the call may go on, 0 if refused;
 * when refused and retry_after_ms is not NULL, *retry_after_ms is the time
 * until one token is back (at least 1), else it is left alone. A NULL or
 * off limiter allows everything. */
int srv_rl_take(srv_rl *rl, const char *key, size_t keylen, int64_t now_mono_ms,
                int64_t *retry_after_ms);

/* The number of buckets held now (at most max_keys). */
size_t srv_rl_count(srv_rl *rl);

/* Frees the limiter. Accepts NULL. */
void srv_rl_close(srv_rl *rl);

#endif
