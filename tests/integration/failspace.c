/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Room that runs out on demand, for the integration tests: preloaded
 * (LD_PRELOAD) into bilheteria-server. Only the store's data file,
 * data.mdb, is touched; everything else passes through.
 *
 * With $BH_FAILMMAP_ABOVE set to N, an mmap of data.mdb longer than N bytes
 * fails with ENOMEM, as under an address-space limit (prlimit --as, which
 * cannot be used under ASan: its shadow memory takes terabytes of address
 * space). With $BH_FAILMMAP_PASS set to K, the first K such mmaps still go
 * through.
 *
 * With $BH_FAILWRITE_FILE set, a write to data.mdb (pwrite, writev: LMDB's)
 * fails while that file exists, with the errno named by $BH_FAILWRITE_ERRNO
 * (ENOSPC, EDQUOT or EIO; ENOSPC when unset): a full disk, an exhausted
 * quota or a failing disk, as the store meets them in a commit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int
is_data_file(int fd)
{
    char link[64], path[4096];
    if (fd < 0)
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n < 0)
        return 0;
    path[n] = 0;
    const char *tail = "/data.mdb";
    size_t tl = strlen(tail);
    return (size_t)n >= tl && strcmp(path + n - tl, tail) == 0;
}

static _Atomic long mmaps_failed;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    static void *(*real)(void *, size_t, int, int, int, off_t);
    const char *above = getenv("BH_FAILMMAP_ABOVE");
    if (above != NULL && len > strtoull(above, NULL, 10) && is_data_file(fd)) {
        const char *pass = getenv("BH_FAILMMAP_PASS");
        if (atomic_fetch_add(&mmaps_failed, 1) >= (pass ? strtol(pass, NULL, 10) : 0)) {
            errno = ENOMEM;
            return MAP_FAILED;
        }
    }
    if (real == NULL)
        real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
    return real(addr, len, prot, flags, fd, off);
}

/* Whether a write to fd fails now: errno set when it does. */
static int
write_fails(int fd)
{
    const char *trigger = getenv("BH_FAILWRITE_FILE");
    if (trigger == NULL || access(trigger, F_OK) != 0 || !is_data_file(fd))
        return 0;
    const char *name = getenv("BH_FAILWRITE_ERRNO");
    errno = name == NULL || strcmp(name, "ENOSPC") == 0 ? ENOSPC
            : strcmp(name, "EDQUOT") == 0               ? EDQUOT
                                                        : EIO;
    return 1;
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (write_fails(fd))
        return -1;
    if (real == NULL)
        real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    return real(fd, buf, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
    static ssize_t (*real)(int, const struct iovec *, int);
    if (write_fails(fd))
        return -1;
    if (real == NULL)
        real = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
    return real(fd, iov, n);
}
