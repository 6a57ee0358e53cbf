/*
 * A disk that fails on demand, for test_disk: preloaded into
 * bilheteria-server (LD_PRELOAD), it makes fdatasync fail with EIO while
 * the file named by $BH_FAILSYNC_FILE exists, and passes through otherwise.
 * LMDB's commits and the server's syncer both sync with fdatasync; with
 * $BH_FAILSYNC_RDONLY set only descriptors opened read-only fail, which is
 * the syncer's own (LMDB's is read-write), so commits go through and the
 * sync after them fails.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int fdatasync(int fd);

int
fdatasync(int fd)
{
    static int (*real)(int);
    const char *trigger = getenv("BH_FAILSYNC_FILE");
    int only_rdonly = getenv("BH_FAILSYNC_RDONLY") != NULL;
    if (trigger != NULL && access(trigger, F_OK) == 0 &&
        (!only_rdonly || (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY)) {
        errno = EIO;
        return -1;
    }
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real != NULL ? real(fd) : -1;
}
