/* SPDX-License-Identifier: Apache-2.0 */
/* store_backup: a compacted copy of the environment as a new data directory. */
#define _GNU_SOURCE /* mkdtemp, O_DIRECTORY */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

#define DATA_FILE  "data.mdb" /* what LMDB opens in a data directory */
#define TMP_SUFFIX ".tmp-XXXXXX"

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A file system's errno as a store code: a full disk is named as such. */
static int
os_rc(int e)
{
    return e == ENOSPC || e == EDQUOT || e == ENOMEM ? store__rc(e) : STORE_IO;
}

/* 1 if dir holds nothing but "." and "..", 0 if it holds more, -1 with
 * errno set if it cannot be read. */
static int
dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;
    if (d == NULL)
        return -1;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* STORE_OK if out may become the copy: absent, or an empty directory. */
static int
check_target(const char *out, char *err, size_t errlen)
{
    struct stat st;
    int empty;
    if (lstat(out, &st) != 0) {
        if (errno == ENOENT)
            return STORE_OK;
        snprintf(err, errlen, "backup path \"%s\": %s", out, strerror(errno));
        return os_rc(errno);
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen,
                 "backup path \"%s\" exists and is not a directory; give a new path (a backup "
                 "never overwrites)",
                 out);
        return STORE_EXISTS;
    }
    if ((empty = dir_empty(out)) < 0) {
        snprintf(err, errlen, "backup path \"%s\": %s", out, strerror(errno));
        return os_rc(errno);
    }
    if (!empty) {
        snprintf(err, errlen,
                 "backup path \"%s\" exists and is not empty; give a new path (a backup never "
                 "overwrites)",
                 out);
        return STORE_EXISTS;
    }
    return STORE_OK;
}

/* fsync of a directory (so that the entries made in it last): 0 or errno. */
static int
sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;
    if (fd < 0)
        return errno;
    if (fsync(fd) != 0)
        e = errno;
    close(fd);
    return e;
}

/* The directory holding path (path has no trailing '/'). */
static void
parent_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, len, ".");
    else if (slash == path)
        snprintf(out, len, "/");
    else
        snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* Copies the environment into fd, from one read snapshot. The resize lock
 * is held throughout: the copy reads through LMDB's map, which a growth
 * would replace. */
static int
copy_into(store *s, int fd, uint64_t *last_txnid, const char *file, char *err, size_t errlen)
{
    MDB_envinfo ei;
    int mrc;
    pthread_rwlock_rdlock(&s->resize_lock);
    if (s->map_lost) {
        pthread_rwlock_unlock(&s->resize_lock);
        snprintf(err, errlen, "cannot copy the store to \"%s\": %s", file,
                 store_strerror(STORE_NOMAP));
        return STORE_NOMAP;
    }
    /* Read before the copy's snapshot is taken, so the copy holds it. */
    if ((mrc = mdb_env_info(s->env, &ei)) == MDB_SUCCESS) {
        *last_txnid = ei.me_last_txnid;
        mrc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    }
    pthread_rwlock_unlock(&s->resize_lock);
    if (mrc != MDB_SUCCESS) {
        snprintf(err, errlen, "cannot copy the store to \"%s\": %s", file, mdb_strerror(mrc));
        return store__rc(mrc) == STORE_INVALID ? STORE_IO : store__rc(mrc);
    }
    return STORE_OK;
}

int
store_backup(store *s, const char *out_dir, store_backup_info *info, char *err, size_t errlen)
{
    char out[PATH_MAX], tmp[PATH_MAX + sizeof(TMP_SUFFIX)], parent[PATH_MAX];
    char file[sizeof(tmp) + sizeof("/" DATA_FILE)];
    store_backup_info got = { 0 };
    int64_t started = mono_ms();
    int fd = -1, made = 0, rc, e;
    struct stat st;
    size_t n = strlen(out_dir);

    while (n > 1 && out_dir[n - 1] == '/')
        n--;
    /* The OS takes no longer path than PATH_MAX, the temporary file's included. */
    if (n == 0 || n + sizeof(TMP_SUFFIX "/" DATA_FILE) > PATH_MAX) {
        snprintf(err, errlen, "backup path is %s", n == 0 ? "empty" : "too long");
        return STORE_INVALID;
    }
    memcpy(out, out_dir, n);
    out[n] = '\0';
    if ((rc = check_target(out, err, errlen)) != STORE_OK)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, out);
    if (mkdtemp(tmp) == NULL) {
        e = errno;
        parent_of(out, parent, sizeof(parent));
        snprintf(err, errlen, "backup path \"%s\": cannot create a directory in \"%s\": %s", out,
                 parent, strerror(e));
        return os_rc(e);
    }
    made = 1;
    snprintf(file, sizeof(file), "%s/" DATA_FILE, tmp);
    /* The modes the store gives a data directory and LMDB its file. */
    if (chmod(tmp, 0750) != 0 ||
        (fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
        e = errno;
        snprintf(err, errlen, "cannot create \"%s\": %s", file, strerror(e));
        rc = os_rc(e);
        goto out;
    }
    if ((rc = copy_into(s, fd, &got.last_txnid, file, err, errlen)) != STORE_OK)
        goto out;
    if (fstat(fd, &st) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        e = errno;
        fd = -1; /* closed, or not worth a second try */
        snprintf(err, errlen, "cannot write \"%s\" to the disk: %s", file, strerror(e));
        rc = os_rc(e);
        goto out;
    }
    fd = -1;
    got.bytes = (uint64_t)st.st_size;
    if ((e = sync_dir(tmp)) == 0 && rename(tmp, out) != 0)
        e = errno;
    if (e != 0) {
        if (e == ENOTEMPTY || e == EEXIST || e == ENOTDIR) {
            snprintf(err, errlen,
                     "backup path \"%s\" was filled by someone else while the copy was made; "
                     "give a new path",
                     out);
            rc = STORE_EXISTS;
        } else {
            snprintf(err, errlen, "cannot move \"%s\" to \"%s\": %s", tmp, out, strerror(e));
            rc = os_rc(e);
        }
        goto out;
    }
    made = 0;
    parent_of(out, parent, sizeof(parent));
    if ((e = sync_dir(parent)) != 0) {
        /* The copy is whole and in place; only its name may not last a
         * crash. Said, rather than removing a good copy. */
        snprintf(err, errlen, "the copy is in \"%s\", but syncing its directory \"%s\" failed: %s",
                 out, parent, strerror(e));
        rc = os_rc(e);
        goto out;
    }
    got.duration_ms = mono_ms() - started;
    if (info != NULL)
        *info = got;
    rc = STORE_OK;
out:
    if (fd >= 0)
        close(fd);
    if (made) {
        unlink(file);
        rmdir(tmp);
    }
    return rc;
}
