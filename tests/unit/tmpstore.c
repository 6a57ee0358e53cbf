/* SPDX-License-Identifier: Apache-2.0 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmpstore.h"

int
tmpstore_open(tmpstore *f, size_t map_size)
{
    char err[256];
    snprintf(f->root, sizeof(f->root), "/tmp/bh-unit-XXXXXX");
    if (mkdtemp(f->root) == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->root);
    store_config cfg = { f->dir, map_size, 1, 0 };
    if (store_open(&f->s, &cfg, err, sizeof(err)) != STORE_OK) {
        fprintf(stderr, "store_open(%s): %s\n", f->dir, err);
        rmdir(f->root);
        return -1;
    }
    return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

int
tmpstore_rmtree(const char *root)
{
    return nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int
tmpstore_close(tmpstore *f)
{
    store_close(f->s);
    f->s = NULL;
    return tmpstore_rmtree(f->root);
}
