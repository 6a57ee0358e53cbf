/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A disk that fails on demand, a wall clock that steps and a close that
 * hangs, for the integration tests: preloaded (LD_PRELOAD) into
 * bilheteria-server, it makes fdatasync fail with EIO while
 * the file named by $BH_FAILSYNC_FILE exists, and passes through otherwise.
 * LMDB's commits and the server's syncer both sync with fdatasync; with
 * $BH_FAILSYNC_SYNCER set only the syncer thread's syncs fail (told by
 * its name, bh:syncer), so commits go through and the sync after them
 * fails; with $BH_FAILSYNC_COMMIT set only the others (LMDB's, in the
 * writer's commits).
 *
 * With $BH_FAILSYNC_SLOW set, a sync outside the syncer thread (LMDB's, in
 * a commit) that starts while that file exists creates "$BH_FAILSYNC_SLOW.in" and waits until
 * the file is gone (10 s at most): the writer is held in a commit, so that
 * the calls sent meanwhile make one batch. With $BH_FAILSYNC_SLOW_SYNCER
 * set it is the syncer's syncs that wait instead. Whether a sync fails is decided
 * when it starts.
 *
 * With $BH_HANG_NNG_CLOSE set, nng_close never returns: nng 1.5.2's close
 * can hang so (its issues #1543, #1813), and a stop must still end.
 *
 * With $BH_FAKECLOCK_FILE set, CLOCK_REALTIME is moved by the number of
 * seconds that file holds (read at every call): writing another number
 * steps the clock, as NTP or date -s would.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd);

static int
exists(const char *path)
{
    return path != NULL && access(path, F_OK) == 0;
}

int
fdatasync(int fd)
{
    static int (*real)(int);
    char name[16] = "";
    prctl(PR_GET_NAME, name, 0, 0, 0);
    int syncer = strcmp(name, "bh:syncer") == 0;
    int fail = exists(getenv("BH_FAILSYNC_FILE")) &&
               (getenv("BH_FAILSYNC_SYNCER") == NULL || syncer) &&
               (getenv("BH_FAILSYNC_COMMIT") == NULL || !syncer);
    const char *slow = getenv("BH_FAILSYNC_SLOW");
    int slow_syncer = getenv("BH_FAILSYNC_SLOW_SYNCER") != NULL;
    if (!fail && syncer == slow_syncer && exists(slow)) {
        char in[512];
        snprintf(in, sizeof(in), "%s.in", slow);
        int mfd = open(in, O_CREAT | O_WRONLY, 0600);
        if (mfd >= 0)
            close(mfd);
        for (int i = 0; i < 10000 && exists(slow); i++)
            usleep(1000);
    }
    if (fail) {
        errno = EIO;
        return -1;
    }
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real != NULL ? real(fd) : -1;
}

int clock_gettime(clockid_t id, struct timespec *ts);

int
clock_gettime(clockid_t id, struct timespec *ts)
{
    static int (*real)(clockid_t, struct timespec *);
    if (real == NULL)
        real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(id, ts);
    const char *path = getenv("BH_FAKECLOCK_FILE");
    if (rc == 0 && id == CLOCK_REALTIME && path != NULL) {
        FILE *f = fopen(path, "r");
        long long off = 0;
        if (f != NULL) {
            if (fscanf(f, "%lld", &off) != 1)
                off = 0;
            fclose(f);
        }
        ts->tv_sec += (time_t)off;
    }
    return rc;
}

typedef struct nng_socket_s {
    unsigned int id;
} nng_socket;
int nng_close(nng_socket s);

int
nng_close(nng_socket s)
{
    static int (*real)(nng_socket);
    if (getenv("BH_HANG_NNG_CLOSE") != NULL)
        for (;;)
            pause();
    if (real == NULL)
        real = (int (*)(nng_socket))dlsym(RTLD_NEXT, "nng_close");
    return real != NULL ? real(s) : -1;
}
