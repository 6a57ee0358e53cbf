/* SPDX-License-Identifier: Apache-2.0 */
/*
 * When room runs out, the server says which room and stays up. Each test
 * starts a server with a preloaded library that takes room away on demand
 * (failspace.c): the address space for a larger map of data.mdb, or the
 * disk under it (ENOSPC, EDQUOT, and EIO to tell them apart). A real small
 * tmpfs fills up too, when the test may mount one (root). Reads go on in
 * each case, and a restart with room finds every acknowledged write.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static bht_server srv;
static char tdir[64], trigger[96];
static char mnt[64]; /* the tmpfs, when one is mounted */

/* Each event carries 2000 bytes: a 1 MiB map or disk fills in ~500. */
static int
create_event(bh_client *c, const char *name, bh_status *st, uint64_t *id)
{
    static char desc[2001];
    memset(desc, 'd', 2000);
    Bilheteria__V1__CreateEventRequest req = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    Bilheteria__V1__CreateEventResponse *resp = NULL;
    req.name = (char *)name;
    req.description = desc;
    int rc = bh_event_create_event(c, &req, &resp, NULL, st);
    if (rc == BH_OK) {
        if (id != NULL)
            *id = resp->event->id;
        bilheteria__v1__create_event_response__free_unpacked(resp, NULL);
    }
    return rc;
}

/* Creates events until one is refused, which must be with code want (its
 * answer in *st): how many were acknowledged (at least one). */
static uint64_t
fill(bh_client *c, int want, bh_status *st)
{
    uint64_t n = 0;
    char name[32];
    int rc = BH_OK;
    for (int i = 0; i < 20000 && rc == BH_OK; i++) {
        snprintf(name, sizeof(name), "e%d", i);
        if ((rc = create_event(c, name, st, NULL)) == BH_OK)
            n++;
    }
    assert_true(n > 0);
    if (rc != want)
        fail_msg("after %llu events: %s: %s", (unsigned long long)n, bh_code_name(rc),
                 rc == BH_OK ? "no refusal" : st->message);
    return n;
}

static int
get_event(bh_client *c, uint64_t id, bh_status *st)
{
    Bilheteria__V1__GetEventRequest req = BILHETERIA__V1__GET_EVENT_REQUEST__INIT;
    Bilheteria__V1__GetEventResponse *resp = NULL;
    req.id = id;
    int rc = bh_event_get_event(c, &req, &resp, NULL, st);
    if (rc == BH_OK) {
        assert_int_equal(resp->event->id, id);
        bilheteria__v1__get_event_response__free_unpacked(resp, NULL);
    }
    return rc;
}

static int
health(bh_client *c, bh_status *st)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *resp = NULL;
    int rc = bh_health_check(c, &req, &resp, NULL, st);
    if (rc == BH_OK) {
        assert_int_equal(resp->status, BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
        bilheteria__v1__check_response__free_unpacked(resp, NULL);
    }
    return rc;
}

static void
must_contain(const bh_status *st, const char *part)
{
    if (strstr(st->message, part) == NULL)
        fail_msg("\"%s\" is not in the answer \"%s\"", part, st->message);
}

/* Starts the server with the library preloaded and env (name, value
 * pairs, NULL terminated) set for it alone; flags as for bht_start. */
static int
start(const char *const *env, const char *const *flags)
{
    snprintf(tdir, sizeof(tdir), "/tmp/bh-failspace-XXXXXX");
    if (mkdtemp(tdir) == NULL)
        return -1;
    snprintf(trigger, sizeof(trigger), "%s/full", tdir);
    for (int i = 0; env != NULL && env[i] != NULL; i += 2)
        setenv(env[i], env[i + 1], 1);
    setenv("BH_FAILWRITE_FILE", trigger, 1);
    int rc = bht_start_preloaded(&srv, BH_FAILSPACE_PATH, flags);
    unsetenv("BH_FAILWRITE_FILE");
    for (int i = 0; env != NULL && env[i] != NULL; i += 2)
        unsetenv(env[i]);
    return rc;
}

static int
teardown(void **state)
{
    (void)state;
    int rc = bht_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
    unlink(trigger);
    rmdir(tdir);
    if (mnt[0] != 0) {
        umount(mnt);
        rmdir(mnt);
        mnt[0] = 0;
    }
    return rc;
}

/* A clean stop (no crash, no sanitizer report), then a start without the
 * preloaded library: every acknowledged write is there, and writes work. */
static void
check_restart(uint64_t acked)
{
    bh_status st;
    assert_int_equal(bht_stop(&srv), 0);
    assert_int_equal(bht_restart(&srv), 0);
    bh_client *c = bht_client(&srv);
    assert_int_equal(bht_count_events(c), acked);
    assert_int_equal(create_event(c, "after the restart", &st, NULL), BH_OK);
    assert_int_equal(bht_count_events(c), acked + 1);
    bh_client_close(c);
}

static const char *const small_map[] = { "--map-size-mb", "1", NULL };

/* The map grows from 1 to 2 MiB, and then cannot: the write that needs
 * room is refused saying why and what to do, and reads go on (they used to
 * crash the server in liblmdb: LMDB had dropped its map). */
static void
test_map_cannot_grow(void **state)
{
    (void)state;
    static const char *const env[] = { "BH_FAILMMAP_ABOVE", "2097152", NULL };
    assert_int_equal(start(env, small_map), 0);
    bh_client *c = bht_client(&srv);
    bh_status st;
    uint64_t acked = fill(c, BH_RESOURCE_EXHAUSTED, &st);
    must_contain(&st, "storage map cannot grow from 2 MiB to 4 MiB: Cannot allocate memory");
    must_contain(&st, "nothing of this call was written");
    must_contain(&st, "--map-size-mb");
    /* Reads are served, again and again, and writes keep being refused
     * the same way. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(health(c, &st), BH_OK);
        assert_int_equal(get_event(c, 1, &st), BH_OK);
        assert_int_equal(get_event(c, acked, &st), BH_OK);
        assert_int_equal(bht_count_events(c), acked);
        assert_int_equal(create_event(c, "still no room", &st, NULL), BH_RESOURCE_EXHAUSTED);
        must_contain(&st, "storage map cannot grow");
    }
    bh_client_close(c);
    check_restart(acked);
}

/* The store's trial mmap of the larger map succeeds but LMDB's own then
 * fails (something took the room in between): LMDB has no map left. Every
 * call is refused, saying to restart, and nothing crashes. */
static void
test_map_lost(void **state)
{
    (void)state;
    static const char *const env[] = { "BH_FAILMMAP_ABOVE", "2097152", "BH_FAILMMAP_PASS", "1",
                                       NULL };
    assert_int_equal(start(env, small_map), 0);
    bh_client *c = bht_client(&srv);
    bh_status st;
    uint64_t acked = fill(c, BH_UNAVAILABLE, &st);
    must_contain(&st, "the storage map was lost");
    must_contain(&st, "restart the server");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(health(c, &st), BH_UNAVAILABLE);
        must_contain(&st, "restart the server");
        assert_int_equal(get_event(c, 1, &st), BH_UNAVAILABLE);
        assert_int_equal(create_event(c, "no map", &st, NULL), BH_UNAVAILABLE);
        must_contain(&st, "restart the server");
    }
    bh_client_close(c);
    check_restart(acked);
}

/* A commit's write fails with errno: a full disk and a used-up quota are
 * named, with the data directory, and writes work again once there is
 * room; a failing disk is not called full, and stops the writes. */
static const struct disk_case {
    const char *errno_name;
    const char *says;
    int resumes; /* writes work again once the trigger is gone */
} disk_cases[] = {
    { "ENOSPC", "commit: disk full (ENOSPC) in ", 1 },
    { "EDQUOT", "commit: disk quota exceeded (EDQUOT) in ", 1 },
    { "EIO", "the disk failed the commit (i/o error)", 0 },
};

static void
test_disk_errors_named(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(disk_cases) / sizeof(disk_cases[0]); k++) {
        const struct disk_case *dc = &disk_cases[k];
        const char *const env[] = { "BH_FAILWRITE_ERRNO", dc->errno_name, NULL };
        assert_int_equal(start(env, NULL), 0);
        bh_client *c = bht_client(&srv);
        bh_status st;
        uint64_t first = 0;
        assert_int_equal(create_event(c, "before", &st, &first), BH_OK);
        bht_touch(trigger);
        assert_int_equal(create_event(c, "during", &st, NULL), BH_UNAVAILABLE);
        must_contain(&st, dc->says);
        if (dc->resumes) {
            must_contain(&st, srv.data_dir);
            assert_null(strstr(st.message, "i/o error"));
        } else {
            assert_null(strstr(st.message, "disk full"));
        }
        /* Reads go on, during and after. */
        assert_int_equal(get_event(c, first, &st), BH_OK);
        assert_int_equal(unlink(trigger), 0);
        assert_int_equal(get_event(c, first, &st), BH_OK);
        int rc = create_event(c, "after", &st, NULL);
        if (rc != (dc->resumes ? BH_OK : BH_UNAVAILABLE))
            fail_msg("%s: the write after: %s: %s", dc->errno_name, bh_code_name(rc), st.message);
        bh_client_close(c);
        check_restart(dc->resumes ? 2 : 1);
        assert_int_equal(teardown(NULL), 0);
    }
}

/* A real file system that fills up: a 1 MiB tmpfs under the data directory
 * (root only; skipped otherwise). LMDB reports the short write that filled
 * it as EIO; the store sees the file system full and says so. Once the
 * tmpfs is made larger, writes work again without a restart. */
static void
test_tmpfs_fills_up(void **state)
{
    (void)state;
    char data[96];
    snprintf(mnt, sizeof(mnt), "/tmp/bh-tmpfs-XXXXXX");
    if (geteuid() != 0 || mkdtemp(mnt) == NULL) {
        mnt[0] = 0;
        skip();
    }
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
        rmdir(mnt);
        mnt[0] = 0;
        skip(); /* no CAP_SYS_ADMIN here */
    }
    snprintf(data, sizeof(data), "%s/data", mnt);
    const char *const flags[] = { "--data-dir", data, NULL };
    assert_int_equal(start(NULL, flags), 0);
    bh_client *c = bht_client(&srv);
    bh_status st;
    uint64_t acked = fill(c, BH_UNAVAILABLE, &st);
    must_contain(&st, "disk full (ENOSPC) in ");
    must_contain(&st, data);
    assert_int_equal(health(c, &st), BH_OK);
    assert_int_equal(get_event(c, 1, &st), BH_OK);
    assert_int_equal(bht_count_events(c), acked);
    assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=4m"), 0);
    assert_int_equal(create_event(c, "after", &st, NULL), BH_OK);
    bh_client_close(c);
    check_restart(acked + 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_map_cannot_grow, teardown),
        cmocka_unit_test_teardown(test_map_lost, teardown),
        cmocka_unit_test_teardown(test_disk_errors_named, teardown),
        cmocka_unit_test_teardown(test_tmpfs_fills_up, teardown),
    };
    return cmocka_run_group_tests_name("room", tests, NULL, NULL);
}
