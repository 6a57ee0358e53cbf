/* SPDX-License-Identifier: Apache-2.0 */
/* Aligned columns for the CLI's human output, by display width (width.c):
 * "Café" with a combining accent, CJK and emoji line up. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_table {
    size_t ncols;
    size_t nrows, cap;
    char **cells; /* nrows * ncols */
};

void *
cli_xalloc(size_t n)
{
    void *p = calloc(1, n != 0 ? n : 1);

    if (p == NULL) {
        fflush(stdout);
        fputs("error: out of memory\n", stderr);
        exit(CLI_EXIT_FAIL);
    }
    return p;
}

struct cli_table *
cli_table_new(size_t ncols)
{
    struct cli_table *t = cli_xalloc(sizeof(*t));

    t->ncols = ncols;
    return t;
}

/* A copy fit for a terminal: control characters (tabs, newlines, escape
 * sequences from the server) become spaces; empty becomes "-". */
static char *
cli__cell(const char *s)
{
    size_t n, i;
    char *c;

    if (s == NULL || *s == '\0')
        s = "-";
    n = strlen(s);
    c = cli_xalloc(n + 1);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        c[i] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    c[n] = '\0';
    return c;
}

void
cli_table_add(struct cli_table *t, ...)
{
    va_list ap;
    size_t i;

    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **cells = cli_xalloc(cap * t->ncols * sizeof(*cells));
        if (t->cells != NULL)
            memcpy(cells, t->cells, t->nrows * t->ncols * sizeof(*cells));
        free(t->cells);
        t->cells = cells;
        t->cap = cap;
    }
    va_start(ap, t);
    for (i = 0; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = cli__cell(va_arg(ap, const char *));
    va_end(ap);
    t->nrows++;
}

void
cli_table_print(const struct cli_table *t, const char *indent)
{
    size_t r, c, *width = cli_xalloc((t->ncols + 1) * sizeof(*width));

    for (r = 0; r < t->nrows; r++)
        for (c = 0; c < t->ncols; c++) {
            size_t w = cli_display_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (r = 0; r < t->nrows; r++) {
        fputs(indent, stdout);
        for (c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            fputs(cell, stdout);
            if (c + 1 < t->ncols) {
                size_t pad = width[c] - cli_display_width(cell) + 2;
                while (pad-- > 0)
                    putchar(' ');
            }
        }
        putchar('\n');
    }
    free(width);
}

void
cli_table_free(struct cli_table *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}
