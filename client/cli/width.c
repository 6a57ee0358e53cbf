/* SPDX-License-Identifier: Apache-2.0 */
#define _XOPEN_SOURCE 700 /* wcwidth */
#include "width.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* One code point at a time, without wcwidth: the width when the system
 * has no C.UTF-8 locale. */
static size_t
cli__code_points(const char *s)
{
    size_t w = 0;

    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

size_t
cli_display_width(const char *s)
{
    const char *cur = setlocale(LC_CTYPE, NULL);
    char saved[64];
    size_t w = 0, len = strlen(s);
    mbstate_t st;

    /* The CLI never sets a locale of its own: the text is UTF-8 whatever
     * the environment says (proto strings are UTF-8 on the wire). */
    snprintf(saved, sizeof(saved), "%s", cur != NULL ? cur : "C");
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        return cli__code_points(s);
    memset(&st, 0, sizeof(st));
    while (len > 0) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s, len, &st);
        int cw;

        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
            /* Not UTF-8: one column for the byte, and start afresh. */
            memset(&st, 0, sizeof(st));
            n = 1;
            cw = 1;
        } else {
            cw = wcwidth(wc);
            if (cw < 0)
                cw = 1;
        }
        w += (size_t)cw;
        s += n;
        len -= n;
    }
    setlocale(LC_CTYPE, saved);
    return w;
}
