/*
 * A disk error stops the writes: the server is started with a preloaded
 * fdatasync that fails on demand (failsync.c). A write the disk fails is
 * refused and not kept; later writes are refused until a restart, reads go
 * on and Health.Check says NOT_SERVING; after a restart on a healthy disk
 * everything acknowledged is there and writes work again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static int
create_event(bh_client *c, const char *name, bh_status *st)
{
    Bilheteria__V1__CreateEventRequest req = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    Bilheteria__V1__CreateEventResponse *resp = NULL;
    req.name = (char *)name;
    int rc = bh_event_create_event(c, &req, &resp, NULL, st);
    if (rc == BH_OK)
        bilheteria__v1__create_event_response__free_unpacked(resp, NULL);
    return rc;
}

static int
serving(bh_client *c)
{
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *resp = NULL;
    assert_int_equal(bh_health_check(c, &req, &resp, NULL, NULL), BH_OK);
    int status = resp->status;
    bilheteria__v1__check_response__free_unpacked(resp, NULL);
    return status;
}

static size_t
count_events(bh_client *c)
{
    Bilheteria__V1__ListEventsRequest req = BILHETERIA__V1__LIST_EVENTS_REQUEST__INIT;
    Bilheteria__V1__ListEventsResponse *resp = NULL;
    req.page_size = 500;
    assert_int_equal(bh_event_list_events(c, &req, &resp, NULL, NULL), BH_OK);
    size_t n = resp->n_events;
    bilheteria__v1__list_events_response__free_unpacked(resp, NULL);
    return n;
}

/* The group's server, with the failing disk preloaded; the teardown stops
 * it even when an assertion failed half-way. */
static bht_server srv;
static char tdir[] = "/tmp/bh-failsync-XXXXXX", trigger[64];

static int
setup(void **state)
{
    (void)state;
    char asan[512];
    if (mkdtemp(tdir) == NULL)
        return -1;
    snprintf(trigger, sizeof(trigger), "%s/fail", tdir);
    /* Only the server gets the failing disk. ASan wants to be first in the
     * preload list; tell it not to mind. */
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", old ? old : "",
             old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    setenv("BH_FAILSYNC_FILE", trigger, 1);
    setenv("LD_PRELOAD", BH_FAILSYNC_PATH, 1);
    int rc = bht_start(&srv, NULL);
    unsetenv("LD_PRELOAD");
    return rc;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(trigger);
    rmdir(tdir);
    return bht_cleanup(&srv);
}

static void
test_disk_error_stops_writes(void **state)
{
    (void)state;
    bh_client *c = bht_client(&srv);
    bh_status st;

    uint64_t before = bht_event(c, "before the disk error");
    assert_int_equal(serving(c), BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING);

    FILE *f = fopen(trigger, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(create_event(c, "during the disk error", &st), BH_UNAVAILABLE);
    assert_non_null(strstr(st.message, "disk"));

    /* The disk is fine again, but nobody knows what reached it: still no. */
    assert_int_equal(unlink(trigger), 0);
    assert_int_equal(create_event(c, "after the disk error", &st), BH_UNAVAILABLE);
    assert_non_null(strstr(st.message, "restart"));
    assert_int_equal(serving(c), BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING);
    /* Reads go on. */
    Bilheteria__V1__GetEventRequest g = BILHETERIA__V1__GET_EVENT_REQUEST__INIT;
    Bilheteria__V1__GetEventResponse *gr = NULL;
    g.id = before;
    assert_int_equal(bh_event_get_event(c, &g, &gr, NULL, &st), BH_OK);
    assert_string_equal(gr->event->name, "before the disk error");
    bilheteria__v1__get_event_response__free_unpacked(gr, NULL);
    assert_int_equal(count_events(c), 1);

    /* A restart on a healthy disk: what was acknowledged is there, what was
     * refused is not, and writes work. */
    bh_client_close(c);
    assert_int_equal(bht_stop(&srv), 0);
    assert_int_equal(bht_restart(&srv), 0);
    c = bht_client(&srv);
    assert_int_equal(serving(c), BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    assert_int_equal(count_events(c), 1);
    assert_int_equal(bh_event_get_event(c, &g, &gr, NULL, &st), BH_OK);
    bilheteria__v1__get_event_response__free_unpacked(gr, NULL);
    assert_int_equal(create_event(c, "after the restart", &st), BH_OK);
    assert_int_equal(count_events(c), 2);
    bh_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_error_stops_writes),
    };
    return cmocka_run_group_tests_name("disk", tests, setup, teardown);
}
