/* SPDX-License-Identifier: Apache-2.0 */
/* Runs the fuzz target without libFuzzer: a fixed number of generated
 * inputs (deterministic), so the same code is exercised in every ctest run.
 * Most inputs are built as well-formed protobuf (random field numbers, wire
 * types and values drawn from what the handlers care about: small ids,
 * seat labels, negative and huge numbers), so they get past decoding and
 * into the handlers' rules; a quarter are raw bytes.
 * Usage: fuzz_request [ITERATIONS] [SEED] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern long fuzz_count_status[17], fuzz_count_kind[3];

static uint64_t rng;

static uint32_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            p[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

static uint64_t
value(void)
{
    switch (next() % 6) {
    case 0: return next() % 4;                         /* ids that exist (or 0) */
    case 1: return next() % 12;                        /* counts, rows, ttl */
    case 2: return (uint64_t) - (int64_t)(next() % 5); /* negative int32/64 */
    case 3: return next();
    case 4: return ((uint64_t)next() << 32) | next();
    default: return 1000 + next() % 5000; /* prices */
    }
}

/* A message of up to 5 fields; nested once at most. */
static size_t
message(uint8_t *p, size_t cap, int depth)
{
    static const char *const strs[] = { "A1", "A2",     "B3",  "E10",  "Z99", "A0",   "u",
                                        "",   "stripe", "pix", "ch_1", "AA1", "hello" };
    size_t n = 0;
    int fields = (int)(next() % 6);
    for (int f = 0; f < fields && n + 40 < cap; f++) {
        uint32_t num = 1 + next() % 9;
        if (next() % 3 == 0) {
            uint8_t sub[64];
            size_t len;
            if (depth == 0 && next() % 3 == 0) {
                len = message(sub, sizeof(sub), 1);
            } else {
                const char *s = strs[next() % (sizeof(strs) / sizeof(strs[0]))];
                len = strlen(s);
                memcpy(sub, s, len);
            }
            n += put_varint(p + n, (uint64_t)num << 3 | 2);
            n += put_varint(p + n, len);
            memcpy(p + n, sub, len);
            n += len;
        } else {
            n += put_varint(p + n, (uint64_t)num << 3);
            n += put_varint(p + n, value());
        }
    }
    return n;
}

int
main(int argc, char **argv)
{
    long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    rng = argc > 2 ? strtoull(argv[2], NULL, 10) : 88172645463325252ULL;
    uint8_t buf[512];
    for (long i = 0; i < iters; i++) {
        size_t n;
        if (next() % 4 == 0) {
            n = 1 + next() % 96;
            for (size_t k = 0; k < n; k++)
                buf[k] = (uint8_t)next();
        } else {
            buf[0] = 0; /* structured: method + flags + payload */
            buf[1] = (uint8_t)next();
            buf[2] = (uint8_t)next();
            n = 3 + message(buf + 3, sizeof(buf) - 3, 0);
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("fuzz_request: %ld inputs, no crash; decoded: %ld answered at once, %ld reads, "
           "%ld writes; answers by status:",
           iters, fuzz_count_kind[0], fuzz_count_kind[1], fuzz_count_kind[2]);
    for (int i = 0; i < 17; i++)
        if (fuzz_count_status[i] > 0)
            printf(" %d:%ld", i, fuzz_count_status[i]);
    printf("\n");
    return 0;
}
