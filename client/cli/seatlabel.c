#include "seatlabel.h"

#include <stdio.h>

int
cli_row_label(uint32_t row, char *buf, size_t size)
{
    char tmp[8];
    size_t n = 0, i;

    if (row == 0)
        return -1;
    /* Bijective base 26: no zero digit, so take one off before each step. */
    while (row > 0) {
        row--;
        tmp[n++] = (char)('A' + row % 26);
        row /= 26;
    }
    if (n + 1 > size)
        return -1;
    for (i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return (int)n;
}

int
cli_row_number(const char *s, uint32_t *row)
{
    uint64_t v = 0;
    const char *p;

    if (s == NULL || *s == '\0')
        return -1;
    for (p = s; *p != '\0'; p++) {
        unsigned d;
        if (*p >= 'A' && *p <= 'Z')
            d = (unsigned)(*p - 'A') + 1;
        else if (*p >= 'a' && *p <= 'z')
            d = (unsigned)(*p - 'a') + 1;
        else
            return -1;
        v = v * 26 + d;
        if (v > UINT32_MAX)
            return -1;
    }
    *row = (uint32_t)v;
    return 0;
}

int
cli_seat_parse(const char *s, uint32_t *row, uint32_t *seat)
{
    char letters[8];
    size_t n = 0;
    uint64_t v = 0;
    uint32_t r;

    if (s == NULL)
        return -1;
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
        if (n + 1 >= sizeof(letters))
            return -1;
        letters[n++] = *s++;
    }
    letters[n] = '\0';
    if (n == 0 || *s < '1' || *s > '9')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > UINT32_MAX)
            return -1;
    }
    if (cli_row_number(letters, &r) != 0)
        return -1;
    *row = r;
    *seat = (uint32_t)v;
    return 0;
}

int
cli_seat_format(uint32_t row, uint32_t seat, char *buf, size_t size)
{
    int n = cli_row_label(row, buf, size);
    int m;

    if (n < 0 || seat == 0)
        return -1;
    m = snprintf(buf + n, size - (size_t)n, "%u", (unsigned)seat);
    if (m < 0 || (size_t)m >= size - (size_t)n)
        return -1;
    return n + m;
}
