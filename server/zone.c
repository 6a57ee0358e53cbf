/* SPDX-License-Identifier: Apache-2.0 */
/* Price zones: their checks, and what a seat costs. */
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "zone.h"

const Bilheteria__V1__PriceZone *
srv_zone_of_row(const Bilheteria__V1__Session *s, uint32_t row)
{
    for (size_t i = 0; i < s->n_zones; i++)
        if (row >= s->zones[i]->first_row && row <= s->zones[i]->last_row)
            return s->zones[i];
    return NULL;
}

const Bilheteria__V1__PriceZone *
srv_zone_find(const Bilheteria__V1__Session *s, const char *name)
{
    for (size_t i = 0; i < s->n_zones; i++)
        if (strcmp(s->zones[i]->name, name) == 0)
            return s->zones[i];
    return NULL;
}

int64_t
srv_zone_price(const Bilheteria__V1__Session *s, uint32_t row, int half)
{
    const Bilheteria__V1__PriceZone *z = srv_zone_of_row(s, row);
    int64_t price = z != NULL ? z->price_cents : s->price_cents;
    return half ? price / 2 : price;
}

/* "zones[3].name" in the arena, for c->field; the list's name if out of
 * memory (the message still says which). */
static const char *
zone_field(srv_call *c, const char *field, size_t i, const char *member)
{
    size_t len = strlen(field) + strlen(member) + 24;
    char *f = bh__arena_alloc(c->arena, len);
    if (f == NULL)
        return field;
    snprintf(f, len, "%s[%zu].%s", field, i, member);
    return f;
}

/* One zone alone: name, rows, price. */
static int
check_one(srv_call *c, const char *field, Bilheteria__V1__PriceZone *const *z, size_t i,
          uint32_t rows)
{
    const Bilheteria__V1__PriceZone *zi = z[i];
    char end[4];
    if (srv_check_str(c, zone_field(c, field, i, "name"), zi->name, SRV_ZONE_NAME_MAX, 1))
        return c->code;
    for (size_t j = 0; j < i; j++)
        if (strcmp(z[j]->name, zi->name) == 0) {
            c->field = zone_field(c, field, i, "name");
            return srv_fail(c, SRV_E_INVALID, "%s[%zu].name \"%s\" is already the name of %s[%zu]",
                            field, i, zi->name, field, j);
        }
    srv_row_label(rows - 1, end);
    if (zi->last_row >= rows || zi->first_row > zi->last_row) {
        int bad_first = zi->first_row >= rows || zi->first_row > zi->last_row;
        c->field = zone_field(c, field, i, bad_first ? "first_row" : "last_row");
        if (zi->first_row > zi->last_row)
            return srv_fail(c, SRV_E_INVALID, "%s[%zu] \"%s\": first_row %u is after last_row %u",
                            field, i, zi->name, zi->first_row, zi->last_row);
        return srv_fail(c, SRV_E_INVALID,
                        "%s[%zu] \"%s\": last_row %u is outside the room (rows 0..%u, A-%s)", field,
                        i, zi->name, zi->last_row, rows - 1, end);
    }
    if (zi->price_cents < 0 || zi->price_cents > SRV_PRICE_MAX) {
        c->field = zone_field(c, field, i, "price_cents");
        return srv_fail(c, SRV_E_INVALID, "%s[%zu] \"%s\": price_cents must be in 0..%d, got %lld",
                        field, i, zi->name, SRV_PRICE_MAX, (long long)zi->price_cents);
    }
    if (zi->half_price_cents != 0 && zi->half_price_cents != zi->price_cents / 2) {
        c->field = zone_field(c, field, i, "half_price_cents");
        return srv_fail(c, SRV_E_INVALID,
                        "%s[%zu] \"%s\": half_price_cents %lld is not half of price_cents %lld "
                        "(leave it 0: meia-entrada is exactly half)",
                        field, i, zi->name, (long long)zi->half_price_cents,
                        (long long)zi->price_cents);
    }
    return 0;
}

int
srv_zone_check(srv_call *c, const char *field, Bilheteria__V1__PriceZone *const *z, size_t n,
               uint32_t rows)
{
    char a[4], b[4], r1[4], r2[4];
    if (n > SRV_ZONES_MAX) {
        c->field = field;
        return srv_fail(c, SRV_E_INVALID, "%zu %s; at most %d", n, field, SRV_ZONES_MAX);
    }
    for (size_t i = 0; i < n; i++)
        if (check_one(c, field, z, i, rows))
            return c->code;
    /* Overlaps, then gaps: n <= 64, so pairs are cheap. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            const Bilheteria__V1__PriceZone *zi = z[i], *zj = z[j];
            if (zi->first_row > zj->last_row || zj->first_row > zi->last_row)
                continue;
            uint32_t from = zi->first_row > zj->first_row ? zi->first_row : zj->first_row;
            srv_row_label(zi->first_row, a);
            srv_row_label(zi->last_row, b);
            srv_row_label(zj->first_row, r1);
            srv_row_label(zj->last_row, r2);
            c->field = zone_field(c, field, i, "first_row");
            char row[4];
            srv_row_label(from, row);
            return srv_fail(c, SRV_E_INVALID,
                            "%s[%zu] \"%s\" (rows %s-%s) overlaps %s[%zu] \"%s\" (rows %s-%s) "
                            "at row %s",
                            field, i, zi->name, a, b, field, j, zj->name, r1, r2, row);
        }
    if (n == 0)
        return 0;
    for (uint32_t row = 0; row < rows; row++) {
        size_t i = 0;
        while (i < n && (row < z[i]->first_row || row > z[i]->last_row))
            i++;
        if (i < n) {
            row = z[i]->last_row; /* no overlap: skip the zone's rows */
            continue;
        }
        srv_row_label(row, a);
        srv_row_label(rows - 1, b);
        c->field = field;
        return srv_fail(c, SRV_E_INVALID,
                        "row %s (%u) is in no zone: %s must cover every row (A-%s) once", a, row,
                        field, b);
    }
    return 0;
}

int
srv_zone_set(srv_call *c, Bilheteria__V1__Session *s, Bilheteria__V1__PriceZone *const *z, size_t n)
{
    s->zones = NULL;
    s->n_zones = 0;
    if (n == 0)
        return 0;
    s->zones = bh__arena_alloc(c->arena, n * sizeof(*s->zones));
    if (s->zones == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        Bilheteria__V1__PriceZone *pz =
            SRV_NEW(c, Bilheteria__V1__PriceZone, bilheteria__v1__price_zone);
        if (pz == NULL)
            return srv_fail(c, SRV_E_NOMEM, "out of memory");
        pz->name = z[i]->name;
        pz->first_row = z[i]->first_row;
        pz->last_row = z[i]->last_row;
        pz->price_cents = z[i]->price_cents;
        pz->half_price_cents = z[i]->price_cents / 2;
        s->zones[i] = pz;
        if (i == 0 || pz->price_cents < s->price_cents)
            s->price_cents = pz->price_cents;
    }
    s->n_zones = n;
    s->half_price_cents = s->price_cents / 2;
    return 0;
}
