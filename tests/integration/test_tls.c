/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS against a real server, with certificates a throwaway CA makes at test
 * time (tls_certs.sh, Debian's openssl: the test fails without it): a call
 * over tls+tcp:// works through the library and the CLI; a client trusting
 * another CA, or expecting another name, is refused; with --tls-client-ca a
 * client without a certificate is refused and one with works; a tls URL
 * without a certificate, and a scheme the server does not serve, stop the
 * server at start with a message naming the flag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

/* Refused handshakes are retried until the deadline: keep it short. */
#define REFUSED_MS 1000

static char certs[256];      /* the certificates' temp dir */
static char path[8][320];    /* scratch paths, see pem() */
static bht_server srv, mtls; /* plain TLS; mutual TLS */
static char url[320], mtls_url[320];

/* certs/NAME, in one of a few static buffers. */
static const char *
pem(const char *name)
{
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof(path[0]), "%s/%s", certs, name);
    return p;
}

/* The tls+tcp:// URL the server says it listens on, from its log. */
static int
tls_url(const bht_server *s, char *out, size_t len)
{
    static const char banner[] = "listening on tls+tcp://";
    char line[512];
    FILE *f = fopen(s->log, "r");
    int found = 0;
    while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
        char *u = strstr(line, "tls+tcp://");
        if (strstr(line, banner) == NULL || u == NULL)
            continue;
        u[strcspn(u, " \n")] = '\0';
        found = snprintf(out, len, "%s", u) < (int)len;
    }
    if (f != NULL)
        fclose(f);
    return found ? 0 : -1;
}

static int
group_setup(void **state)
{
    char cmd[600];
    (void)state;
    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_tls: openssl is needed (tools/deps installs it)\n");
        return -1;
    }
    snprintf(certs, sizeof(certs), "%s/bh-tls-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(certs) == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd), "sh '%s' '%s' >/dev/null 2>&1", BH_TLS_CERTS_SH, certs);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_tls: %s failed\n", cmd);
        return -1;
    }
    const char *plain[] = { "--listen",  "tls+tcp://127.0.0.1:0", "--tls-cert", pem("server.pem"),
                            "--tls-key", pem("server.key"),       NULL };
    if (bht_start(&srv, plain) != 0 || tls_url(&srv, url, sizeof(url)) != 0)
        return -1;
    const char *mutual[] = {
        "--listen",  "tls+tcp://127.0.0.1:0", "--tls-cert",      pem("server.pem"),
        "--tls-key", pem("server.key"),       "--tls-client-ca", pem("ca.pem"),
        NULL
    };
    if (bht_start(&mtls, mutual) != 0 || tls_url(&mtls, mtls_url, sizeof(mtls_url)) != 0)
        return -1;
    return 0;
}

static int
group_teardown(void **state)
{
    char cmd[400];
    (void)state;
    int rc = bht_cleanup(&srv) | bht_cleanup(&mtls);
    if (certs[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certs);
        rc |= system(cmd);
    }
    return rc;
}

/* Opens a client with o and calls Health.Check; returns the call's code
 * (or the open's, if it failed) and its message in *st. */
static int
health(bh_options *o, bh_status *st)
{
    bh_client *c = NULL;
    Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
    Bilheteria__V1__CheckResponse *rs = NULL;
    int rc = bh_client_open(&c, o, st);
    if (rc != BH_OK)
        return rc;
    rc = bh_health_check(c, &rq, &rs, NULL, st);
    if (rc == BH_OK)
        protobuf_c_message_free_unpacked(&rs->base, NULL);
    bh_client_close(c);
    return rc;
}

static void
test_call_over_tls(void **state)
{
    bh_options o = BH_OPTIONS_INIT;
    bh_status st;
    (void)state;
    o.url = url;
    o.timeout_ms = 10000;
    o.tls_ca_file = pem("ca.pem");
    assert_int_equal(health(&o, &st), BH_OK);
    /* size 0 is this release's layout too. */
    o.size = 0;
    assert_int_equal(health(&o, &st), BH_OK);
}

static void
test_cli_over_tls(void **state)
{
    char *out = NULL, *err = NULL;
    (void)state;
    const char *argv[] = { "--server", url, "--tls-ca", pem("ca.pem"), "health", NULL };
    int rc = bht_cli(&srv, &out, &err, argv);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "SERVING"));
    free(out);
    free(err);
    /* Without a CA: a usage error naming it, nothing sent. */
    const char *noca[] = { "--server", url, "health", NULL };
    rc = bht_cli(&srv, &out, &err, noca);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "tls_ca_file"));
    free(out);
    free(err);
}

static void
test_no_ca_is_an_error(void **state)
{
    bh_options o = BH_OPTIONS_INIT;
    bh_status st;
    (void)state;
    o.url = url;
    assert_int_equal(health(&o, &st), BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "tls_ca_file"));
    o.tls_ca_file = pem("no-such-ca.pem");
    assert_int_equal(health(&o, &st), BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "no-such-ca.pem"));
}

static void
test_other_ca_is_refused(void **state)
{
    bh_options o = BH_OPTIONS_INIT;
    bh_status st;
    (void)state;
    o.url = url;
    o.timeout_ms = REFUSED_MS;
    o.tls_ca_file = pem("other-ca.pem");
    assert_int_equal(health(&o, &st), BH_UNAVAILABLE);
    assert_non_null(strstr(st.message, "TLS handshake"));
}

static void
test_wrong_name_is_refused(void **state)
{
    bh_options o = BH_OPTIONS_INIT;
    bh_status st;
    (void)state;
    o.url = url;
    o.timeout_ms = REFUSED_MS;
    o.tls_ca_file = pem("ca.pem");
    o.tls_server_name = "not-this-server.example";
    assert_int_equal(health(&o, &st), BH_UNAVAILABLE);
    /* The name it does carry passes. */
    o.tls_server_name = "localhost";
    o.timeout_ms = 10000;
    assert_int_equal(health(&o, &st), BH_OK);
}

static void
test_mutual_tls(void **state)
{
    bh_options o = BH_OPTIONS_INIT;
    bh_status st;
    (void)state;
    o.url = mtls_url;
    o.timeout_ms = REFUSED_MS;
    o.tls_ca_file = pem("ca.pem");
    assert_int_equal(health(&o, &st), BH_UNAVAILABLE);
    o.tls_cert_file = pem("client.pem");
    o.tls_key_file = pem("client.key");
    o.timeout_ms = 10000;
    assert_int_equal(health(&o, &st), BH_OK);
    /* A certificate alone is a mistake said at once. */
    o.tls_key_file = NULL;
    assert_int_equal(health(&o, &st), BH_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "tls_key_file"));
}

/* Runs the server with args (after --data-dir DIR), expecting it to refuse
 * to start: returns its exit status; its output (both streams) into out. */
static int
server_refuses(const char *const *args, char *out, size_t len)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof(cmd), "'%s' --data-dir '%s/data'", BH_SERVER_PATH, certs);
    for (int i = 0; args[i] != NULL; i++)
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " '%s'", args[i]);
    snprintf(cmd + n, sizeof(cmd) - (size_t)n, " 2>&1");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, len - 1, p);
    out[got] = '\0';
    int ws = pclose(p);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static void
test_tls_url_without_certificate(void **state)
{
    char out[2048];
    (void)state;
    const char *args[] = { "--listen", "tls+tcp://127.0.0.1:0", NULL };
    assert_int_equal(server_refuses(args, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "--listen \"tls+tcp://127.0.0.1:0\" needs --tls-cert"));
    const char *nokey[] = { "--listen", "tls+tcp://127.0.0.1:0", "--tls-cert", pem("server.pem"),
                            NULL };
    assert_int_equal(server_refuses(nokey, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "--tls-key"));
    const char *missing[] = { "--listen",  "tls+tcp://127.0.0.1:0", "--tls-cert", pem("nope.pem"),
                              "--tls-key", pem("server.key"),       NULL };
    assert_int_equal(server_refuses(missing, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "--tls-cert"));
    assert_non_null(strstr(out, "nope.pem"));
}

static void
test_unserved_scheme(void **state)
{
    char out[2048];
    (void)state;
    const char *args[] = { "--listen", "ws://127.0.0.1:0/x", NULL };
    assert_int_equal(server_refuses(args, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "--listen \"ws://127.0.0.1:0/x\""));
    assert_null(strstr(out, "listening on"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_over_tls),
        cmocka_unit_test(test_cli_over_tls),
        cmocka_unit_test(test_no_ca_is_an_error),
        cmocka_unit_test(test_other_ca_is_refused),
        cmocka_unit_test(test_wrong_name_is_refused),
        cmocka_unit_test(test_mutual_tls),
        cmocka_unit_test(test_tls_url_without_certificate),
        cmocka_unit_test(test_unserved_scheme),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
