/*
 * A disk that fails on demand, for test_disk: preloaded into
 * bilheteria-server (LD_PRELOAD), it makes fdatasync fail with EIO while
 * the file named by $BH_FAILSYNC_FILE exists, and passes through otherwise.
 * LMDB's commits and the server's syncer both sync with fdatasync.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int fdatasync(int fd);

int
fdatasync(int fd)
{
    static int (*real)(int);
    const char *trigger = getenv("BH_FAILSYNC_FILE");
    if (trigger != NULL && access(trigger, F_OK) == 0) {
        errno = EIO;
        return -1;
    }
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real != NULL ? real(fd) : -1;
}
