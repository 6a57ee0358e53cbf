/* SPDX-License-Identifier: Apache-2.0 */
#include "bh_label.h"

#include <stdio.h>

int
bh__row_label(uint32_t row, char *buf, size_t size)
{
    char tmp[8];
    size_t n = 0;
    uint64_t v = (uint64_t)row + 1;

    if (row == UINT32_MAX)
        return -1;
    /* Bijective base 26: no zero digit, so take one off before each step. */
    while (v > 0) {
        v--;
        tmp[n++] = (char)('A' + v % 26);
        v /= 26;
    }
    if (n + 1 > size)
        return -1;
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return (int)n;
}

int
bh__seat_label(uint32_t row, uint32_t seat, char *buf, size_t size)
{
    int n = bh__row_label(row, buf, size), m;

    if (n < 0 || seat == UINT32_MAX)
        return -1;
    m = snprintf(buf + n, size - (size_t)n, "%lu", (unsigned long)seat + 1);
    if (m < 0 || (size_t)m >= size - (size_t)n)
        return -1;
    return n + m;
}

int
bh__row_parse(const char *s, size_t n, unsigned flags, uint32_t *row)
{
    uint64_t v = 0;

    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch >= 'a' && ch <= 'z' && (flags & BH__LABEL_ANYCASE))
            ch = (char)(ch - 'a' + 'A');
        if (ch < 'A' || ch > 'Z')
            return -1;
        v = v * 26 + (unsigned)(ch - 'A') + 1;
        if (v > UINT32_MAX)
            return -1;
    }
    *row = (uint32_t)(v - 1);
    return 0;
}

int
bh__seat_parse(const char *s, unsigned flags, uint32_t *row, uint32_t *seat)
{
    size_t n = 0;
    uint64_t v = 0;
    uint32_t r;

    if (s == NULL)
        return -1;
    while ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z'))
        n++;
    if (bh__row_parse(s, n, flags, &r) != 0)
        return -1;
    if (s[n] < '1' || s[n] > '9')
        return -1;
    for (s += n; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > UINT32_MAX)
            return -1;
    }
    *row = r;
    *seat = (uint32_t)(v - 1);
    return 0;
}
