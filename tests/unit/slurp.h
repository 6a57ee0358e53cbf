/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a whole file back in a test (slurp.c). */
#ifndef BH_TEST_SLURP_H
#define BH_TEST_SLURP_H

#include <stddef.h>

/* The whole file at path, NUL-terminated (the NUL not counted in *len, if
 * len is not NULL): caller frees with free(3). NULL if it cannot be
 * opened; a read that fails fails the test. */
char *bh_test_slurp(const char *path, size_t *len);

#endif
