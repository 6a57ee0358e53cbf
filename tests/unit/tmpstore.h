/* SPDX-License-Identifier: Apache-2.0 */
/* A fresh store in a mkdtemp directory, for the server's unit tests. */
#ifndef BH_TEST_TMPSTORE_H
#define BH_TEST_TMPSTORE_H

#include <stddef.h>

#include "store.h"

typedef struct tmpstore {
    char root[64]; /* mkdtemp directory */
    char dir[96];  /* root/data */
    store *s;
} tmpstore;

/* Opens a new store with a map of map_size bytes (no sync): 0 or -1. */
int tmpstore_open(tmpstore *f, size_t map_size);
/* Removes the directory root and all it holds: 0 or -1. */
int tmpstore_rmtree(const char *root);
/* Closes the store and removes its directory: 0 or -1. */
int tmpstore_close(tmpstore *f);

#endif
