/* SPDX-License-Identifier: Apache-2.0 */
/* server/dispatch.c: the method registry built from bh_services and the
 * handler tables. Adding an RPC to a .proto without a handler fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "srv.h"

static int
setup_registry(void **state)
{
    (void)state;
    return srv_registry_init() == 0 ? 0 : -1;
}

static int
starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static void
test_init_is_repeatable(void **state)
{
    (void)state;
    size_t n = srv_registry_count();
    assert_true(n > 0);
    assert_int_equal(srv_registry_init(), 0);
    assert_int_equal(srv_registry_count(), n); /* not doubled */
    assert_true(srv_started_ms() > 0);
}

static void
test_every_method_found_with_impl(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t s = 0; bh_services[s] != NULL; s++) {
        const ProtobufCServiceDescriptor *sd = bh_services[s];
        assert_true(sd->n_methods > 0);
        for (unsigned i = 0; i < sd->n_methods; i++) {
            char name[BH_METHOD_NAME_MAX];
            assert_true(bh_method_full_name(sd, &sd->methods[i], name, sizeof(name)) > 0);
            const srv_method *m = srv_registry_find(name);
            if (m == NULL)
                fail_msg("%s is not in the registry", name);
            assert_string_equal(m->name, name);
            assert_ptr_equal(m->desc, &sd->methods[i]);
            if (m->impl == NULL || (m->impl->fn == NULL) == (m->impl->alone == NULL))
                fail_msg("%s has no handler, or two: it would answer UNIMPLEMENTED", name);
            /* A handler of its own thread is a read's, and run as such. */
            assert_int_equal(m->kind == SRV_ALONE, m->impl->alone != NULL);
            assert_string_equal(m->impl->method, name);
            total++;
        }
    }
    /* Nothing else is in it, and it is sorted for bsearch. */
    assert_int_equal(srv_registry_count(), total);
    for (size_t i = 1; i < total; i++)
        assert_true(strcmp(srv_registry_at(i - 1)->name, srv_registry_at(i)->name) < 0);
    assert_null(srv_registry_at(total));
    assert_null(srv_registry_at(SIZE_MAX));
}

/* Each handler table entry names a method that exists: a typo in a table
 * would leave the handler unreachable. */
static void
test_every_impl_names_a_method(void **state)
{
    (void)state;
    const srv_impl *const tables[] = {
        srv_event_impls,       srv_session_impls, srv_product_impls, srv_health_impls,
        srv_reservation_impls, srv_payment_impls, srv_admin_impls,   srv_coupon_impls,
        srv_waitlist_impls,    srv_report_impls,
    };
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (const srv_impl *i = tables[t]; i->method != NULL; i++) {
            const srv_method *m = srv_registry_find(i->method);
            if (m == NULL)
                fail_msg("handler table names %s, which no service has", i->method);
            assert_ptr_equal(m->impl, i);
            assert_non_null(bh_find_method(i->method, NULL));
        }
    }
}

static void
test_kinds(void **state)
{
    (void)state;
    size_t n = srv_registry_count();
    for (size_t i = 0; i < n; i++) {
        const srv_method *m = srv_registry_at(i);
        const char *method = strchr(m->name, '/');
        assert_non_null(method);
        method++;
        int want;
        if (starts_with(method, "Get") || starts_with(method, "List") ||
            strcmp(method, "Check") == 0 || strcmp(method, "Stats") == 0 ||
            starts_with(method, "Recommend"))
            want = SRV_READ;
        else if (starts_with(method, "Create") || starts_with(method, "Cancel") ||
                 starts_with(method, "Confirm") || starts_with(method, "Deactivate") ||
                 starts_with(method, "Update") || starts_with(method, "Refund") ||
                 starts_with(method, "Join") || starts_with(method, "Leave"))
            want = SRV_WRITE;
        else if (strcmp(method, "Backup") == 0)
            want = SRV_ALONE; /* a read too long for nng's threads */
        else {
            fail_msg("%s: no rule for this verb; add it to test_kinds", m->name);
            return;
        }
        static const char *const kinds[] = { "READ", "WRITE", "ALONE" };
        if ((int)m->kind != want)
            fail_msg("%s is %s, want %s", m->name, kinds[m->kind], kinds[want]);
        /* Only money and mass changes insist on an idempotency key. */
        int idem = strcmp(m->name, "bilheteria.v1.PaymentService/ConfirmPayment") == 0 ||
                   strcmp(m->name, "bilheteria.v1.PaymentService/RefundPayment") == 0 ||
                   strcmp(m->name, "bilheteria.v1.SessionService/CancelSession") == 0;
        if (m->idem_required != idem)
            fail_msg("%s: idem_required is %d, want %d", m->name, m->idem_required, idem);
    }
    const srv_method *m = srv_registry_find("bilheteria.v1.SessionService/GetSeatMap");
    assert_non_null(m);
    assert_int_equal(m->kind, SRV_READ);
    m = srv_registry_find("bilheteria.v1.PaymentService/ConfirmPayment");
    assert_non_null(m);
    assert_int_equal(m->kind, SRV_WRITE);
    assert_int_equal(m->idem_required, 1);
    m = srv_registry_find("bilheteria.v1.HealthService/Check");
    assert_non_null(m);
    assert_int_equal(m->kind, SRV_READ);
}

static void
test_unknown_names(void **state)
{
    (void)state;
    char longname[BH_METHOD_NAME_MAX + 40];
    snprintf(longname, sizeof(longname), "bilheteria.v1.EventService/GetEvent");
    size_t l = strlen(longname);
    memset(longname + l, 'x', sizeof(longname) - l - 1);
    longname[sizeof(longname) - 1] = 0;
    /* A name of exactly BH_METHOD_NAME_MAX bytes does not fit with its NUL. */
    char exact[BH_METHOD_NAME_MAX + 1];
    memset(exact, 'y', BH_METHOD_NAME_MAX);
    memcpy(exact, "bilheteria.v1.EventService/", 27);
    exact[BH_METHOD_NAME_MAX] = 0;

    const char *const bad[] = {
        "",
        "/",
        "GetEvent",
        "bilheteria.v1.EventService",
        "bilheteria.v1.EventServiceGetEvent",
        "bilheteria.v1.EventService/",
        "/GetEvent",
        "bilheteria.v1.EventService/getevent",
        "bilheteria.v1.EventService/GetEvent ",
        "bilheteria.v1.EventService/GetEventX",
        "bilheteria.v1.EventService//GetEvent",
        "bilheteria.v1.SessionService/GetEvent",
        "bilheteria.v2.EventService/GetEvent",
        "EventService/GetEvent",
        "bilheteria.v1.NoService/GetEvent",
        longname,
        exact,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (srv_registry_find(bad[i]) != NULL)
            fail_msg("\"%s\" was found in the registry", bad[i]);
    /* A real one for contrast. */
    assert_non_null(srv_registry_find("bilheteria.v1.EventService/GetEvent"));
}

/* The rules come from the .proto through bh_gen's map: one per method of
 * bh_services, under the same name, and none for anything else. */
static void
test_rules_cover_the_services(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t s = 0; bh_services[s] != NULL; s++) {
        for (unsigned i = 0; i < bh_services[s]->n_methods; i++, n++) {
            char name[BH_METHOD_NAME_MAX];
            assert_true(bh_method_full_name(bh_services[s], &bh_services[s]->methods[i], name,
                                            sizeof(name)) > 0);
            const bh_method_rules *r = bh_find_method_rules(name);
            if (r == NULL)
                fail_msg("%s has no rules", name);
            assert_string_equal(r->name, name);
            assert_true(r->writes || !r->idempotency_key_required);
            /* Someone may call it, and admin may call everything. */
            assert_true(r->roles & BH_ROLE_ADMIN);
            assert_int_equal(srv_registry_find(name)->roles, r->roles);
        }
    }
    assert_int_equal(n, BH_METHOD_COUNT);
    assert_null(bh_find_method_rules("bilheteria.v1.EventService/GetEventX"));
    assert_null(bh_find_method_rules(""));
    assert_string_equal(bh_find_method_rules(BH_METHOD_NAME_PAYMENT_CONFIRM_PAYMENT)->name,
                        "bilheteria.v1.PaymentService/ConfirmPayment");
}

/* Where open mode (no credentials) may listen: loopback and ipc:// only;
 * schemes nng does not serve are left to the listener to refuse. */
static void
test_open_mode_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        int ok;
    } cases[] = {
        { "ipc:///tmp/bh.sock", 1 },
        { "inproc://x", 1 },
        { "tcp://127.0.0.1:7450", 1 },
        { "tcp://127.1.2.3:0", 1 },
        { "tcp://localhost:7450", 1 },
        { "tcp://[::1]:7450", 1 },
        { "tcp6://[::1]:0", 1 },
        { "tls+tcp://127.0.0.1:7450", 1 },
        { "ws://127.0.0.1:80/x", 1 },
        { "tcp://0.0.0.0:7450", 0 },
        { "tcp://:7450", 0 },
        { "tcp://*:7450", 0 },
        { "tcp://[::]:7450", 0 },
        { "tcp://10.0.0.1:7450", 0 },
        { "tcp://128.0.0.1:7450", 0 },
        { "tcp://127.0.0.1.evil.example:7450", 0 },
        { "tcp://127.0.0.256:7450", 0 },
        { "tcp://example.com:7450", 0 },
        { "tcp://[::1", 0 },
        { "tls+tcp://0.0.0.0:7450", 0 },
        { "wss://0.0.0.0:443/x", 0 },
        { "foo://x", 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (srv_authz_url_open_ok(cases[i].url) != cases[i].ok)
            fail_msg("%s: %d, want %d", cases[i].url, !cases[i].ok, cases[i].ok);
}

/* Enum names lose the prefix their type gives them; unknown values have none. */
static void
test_enum_names(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *rs = &bilheteria__v1__reservation_status__descriptor;
    assert_string_equal(
        bh_enum_name(rs, BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_PENDING),
        "PENDING");
    assert_string_equal(
        bh_enum_name(rs, BILHETERIA__V1__RESERVATION_STATUS__RESERVATION_STATUS_UNSPECIFIED),
        "UNSPECIFIED");
    assert_null(bh_enum_name(rs, 999));
    assert_string_equal(bh_enum_name(&bilheteria__v1__serving_status__descriptor,
                                     BILHETERIA__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING),
                        "NOT_SERVING");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_repeatable),
        cmocka_unit_test(test_every_method_found_with_impl),
        cmocka_unit_test(test_every_impl_names_a_method),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_rules_cover_the_services),
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_open_mode_urls),
    };
    return cmocka_run_group_tests(tests, setup_registry, NULL);
}
