/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Uses an installed libbilheteria: opens a client on a URL with nothing
 * listening and calls the generated bh_health_check, which must fail with
 * BH_UNAVAILABLE within the deadline, then the same call asynchronously,
 * whose callback must say so too; the library loaded at run time must be
 * the release the header is. Exits 0 only if all of it held, 1 otherwise.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <bilheteria/bilheteria.h>

static void
on_answer(void *arg, bh_call_result *r)
{
    atomic_store((atomic_int *)arg, r->status->code);
}

int
main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "tcp://127.0.0.1:1";
    bh_options o = { .url = url, .timeout_ms = 300 };
    Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *resp = NULL;
    bh_client *c = NULL;
    bh_call_handle *h = NULL;
    atomic_int async_code = -1;
    bh_status st;
    int rc, ok = 0;

    if (strcmp(bh_version(), BH_VERSION) != 0) {
        fprintf(stderr, "built with libbilheteria %s, running with %s\n", BH_VERSION, bh_version());
        return 1;
    }
    rc = bh_client_open(&c, &o, &st);
    if (rc != BH_OK) {
        fprintf(stderr, "bh_client_open: %s: %s\n", bh_code_name(rc), st.message);
        goto out;
    }
    rc = bh_health_check(c, &req, &resp, NULL, &st);
    if (rc != BH_UNAVAILABLE || st.code != rc || resp != NULL || strstr(st.message, url) == NULL) {
        fprintf(stderr,
                "bh_health_check: want UNAVAILABLE naming %s, "
                "got %s: %s\n",
                url, bh_code_name(rc), st.message);
        goto out;
    }
    printf("consumer (libbilheteria %s): %s: %s\n", bh_version(), bh_code_name(rc), st.message);
    rc = bh_call_async(c, "bilheteria.v1.HealthService/Check", &req.base, NULL, on_answer,
                       &async_code, &h, &st);
    if (rc != BH_OK) {
        fprintf(stderr, "bh_call_async: %s: %s\n", bh_code_name(rc), st.message);
        goto out;
    }
    bh_call_wait(h);
    bh_call_release(h);
    if (atomic_load(&async_code) != BH_UNAVAILABLE) {
        fprintf(stderr, "bh_call_async: want UNAVAILABLE, got %s\n",
                bh_code_name(atomic_load(&async_code)));
        goto out;
    }
    ok = 1;
out:
    if (resp != NULL)
        bilheteria__v1__check_response__free_unpacked(resp, NULL);
    bh_client_close(c);
    return ok ? 0 : 1;
}
