/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 <-> Unix ms, without timegm/gmtime (neither is C11, and both
 * depend on the TZ machinery). Days <-> civil dates after H. Hinnant's
 * "chrono-compatible low-level date algorithms". */
#include "rfc3339.h"

#include <stdio.h>

static int64_t
cli__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void
cli__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int
cli__is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
cli__month_days(int64_t y, unsigned m)
{
    static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && cli__is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n digits. */
static int
cli__digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int
cli__expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

int
cli_rfc3339_parse(const char *s, int64_t *ms)
{
    const char *p = s;
    unsigned year, mon, day, hour, min, sec, frac = 0, oh = 0, om = 0;
    int frac_digits = 0, sign = 0;
    int64_t t;

    if (s == NULL)
        return -1;
    if (cli__digits(&p, 4, &year) || cli__expect(&p, '-') || cli__digits(&p, 2, &mon) ||
        cli__expect(&p, '-') || cli__digits(&p, 2, &day))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (cli__digits(&p, 2, &hour) || cli__expect(&p, ':') || cli__digits(&p, 2, &min) ||
        cli__expect(&p, ':') || cli__digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++, frac_digits++)
            if (frac_digits < 3)
                frac = frac * 10 + (unsigned)(*p - '0');
        for (; frac_digits < 3; frac_digits++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (cli__digits(&p, 2, &oh) || cli__expect(&p, ':') || cli__digits(&p, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    /* Second 60 is a leap second; Unix time has none, so it rolls over. */
    if (mon < 1 || mon > 12 || day < 1 || day > cli__month_days(year, mon) || hour > 23 ||
        min > 59 || sec > 60)
        return -1;
    t = cli__days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
    t -= sign * (int64_t)(oh * 3600 + om * 60);
    *ms = t * 1000 + frac;
    return 0;
}

int
cli_rfc3339_format(int64_t ms, char *buf, size_t size)
{
    int64_t secs = ms / 1000, days, y;
    int64_t rem_ms = ms % 1000, sod;
    unsigned m, d;
    int n;

    if (rem_ms < 0) {
        rem_ms += 1000;
        secs--;
    }
    days = secs / 86400;
    sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    cli__civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return -1;
    if (rem_ms != 0)
        n = snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)rem_ms);
    else
        n = snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d, (int)(sod / 3600),
                     (int)(sod / 60 % 60), (int)(sod % 60));
    if (n < 0 || (size_t)n >= size)
        return -1;
    return n;
}
