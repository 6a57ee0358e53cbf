/* SPDX-License-Identifier: Apache-2.0 */
/* How many terminal columns a string takes (the CLI's tables align by it). */
#ifndef BH_CLI_WIDTH_H
#define BH_CLI_WIDTH_H

#include <stddef.h>

/*
 * Columns s takes on a terminal: UTF-8 decoded under C.UTF-8 and measured
 * with wcwidth(3): combining marks 0, East Asian wide characters and emoji
 * 2, others 1. A byte that is not UTF-8, or a character wcwidth does not
 * know, counts 1. The caller's locale is left as it was.
 */
size_t cli_display_width(const char *s);

#endif
