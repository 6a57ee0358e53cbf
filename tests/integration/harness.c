#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

void
bht_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int
wait_healthy(bht_server *s)
{
    bh_client *c = bht_client(s);
    int rc = -1;
    for (int i = 0; i < 200 && rc != 0; i++) {
        Bilheteria__V1__CheckRequest req = BILHETERIA__V1__CHECK_REQUEST__INIT;
        Bilheteria__V1__CheckResponse *resp = NULL;
        bh_call_opts o = { .timeout_ms = 200 };
        if (bh_health_check(c, &req, &resp, &o, NULL) == BH_OK) {
            bilheteria__v1__check_response__free_unpacked(resp, NULL);
            rc = 0;
        } else {
            int st;
            if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
                s->pid = 0;
                break;
            }
            bht_sleep_ms(50);
        }
    }
    bh_client_close(c);
    return rc;
}

static int
spawn(bht_server *s)
{
    const char *argv[40];
    int n = 0;
    argv[n++] = BH_SERVER_PATH;
    argv[n++] = "--listen";
    argv[n++] = s->url;
    argv[n++] = "--data-dir";
    argv[n++] = s->data_dir;
    argv[n++] = "--quiet";
    argv[n++] = "--map-size-mb";
    argv[n++] = "64";
    for (int i = 0; i < s->n_extra; i++)
        argv[n++] = s->extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(BH_SERVER_PATH, (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    return wait_healthy(s);
}

int
bht_start(bht_server *s, const char *const *extra)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/bh-test-XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    snprintf(s->url, sizeof(s->url), "ipc://%s/sock", s->dir);
    snprintf(s->data_dir, sizeof(s->data_dir), "%s/data", s->dir);
    for (; extra != NULL && extra[s->n_extra] != NULL && s->n_extra < 16; s->n_extra++)
        s->extra[s->n_extra] = extra[s->n_extra];
    return spawn(s);
}

int
bht_restart(bht_server *s)
{
    return spawn(s);
}

int
bht_stop(bht_server *s)
{
    int st = -1;
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void
bht_kill9(bht_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

int
bht_cleanup(bht_server *s)
{
    char cmd[400];
    int status = 0;
    if (s->pid > 0)
        status = bht_stop(s);
    if (s->dir[0] != 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", s->dir);
    }
    if (status != 0)
        fprintf(stderr, "bilheteria-server exited with status %d\n", status);
    return status;
}

int
bht_group_start(bht_server *s, bh_client **c, const char *const *extra)
{
    if (bht_start(s, extra) != 0)
        return -1;
    if (c != NULL)
        *c = bht_client(s);
    return 0;
}

int
bht_group_stop(bht_server *s, bh_client *c)
{
    bh_client_close(c);
    return bht_cleanup(s) == 0 ? 0 : -1;
}

bh_client *
bht_client(const bht_server *s)
{
    bh_client *c = NULL;
    bh_options o = { .url = s->url, .timeout_ms = 10000 };
    bh_status st;
    if (bh_client_open(&c, &o, &st) != BH_OK)
        fail_msg("bh_client_open(%s): %s", s->url, st.message);
    return c;
}

static char *
slurp(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf != NULL && (r = read(fd, buf + n, cap - n - 1)) > 0) {
        n += (size_t)r;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf != NULL)
        buf[n] = 0;
    return buf;
}

int
bht_cli(const bht_server *s, char **out, char **err, const char *const *argv)
{
    char outp[320], errp[320];
    const char *args[64];
    int n = 0;
    snprintf(outp, sizeof(outp), "%s/cli.out", s->dir);
    snprintf(errp, sizeof(errp), "%s/cli.err", s->dir);
    args[n++] = BH_CLI_PATH;
    args[n++] = "--server";
    args[n++] = s->url;
    for (int i = 0; argv[i] != NULL && n < 62; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0)
            _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        dup2(in, 0);
        execv(BH_CLI_PATH, (char *const *)args);
        _exit(127);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    int fo = open(outp, O_RDONLY), fe = open(errp, O_RDONLY);
    *out = slurp(fo);
    *err = slurp(fe);
    close(fo);
    close(fe);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

uint64_t
bht_event(bh_client *c, const char *name)
{
    Bilheteria__V1__CreateEventRequest req = BILHETERIA__V1__CREATE_EVENT_REQUEST__INIT;
    Bilheteria__V1__CreateEventResponse *resp = NULL;
    bh_status st;
    req.name = (char *)name;
    req.venue = "Cine Teste";
    if (bh_event_create_event(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("create event: %s: %s", bh_code_name(st.code), st.message);
    uint64_t id = resp->event->id;
    bilheteria__v1__create_event_response__free_unpacked(resp, NULL);
    return id;
}

uint64_t
bht_session(bh_client *c, uint64_t event_id, uint32_t rows, uint32_t per_row, int64_t price)
{
    Bilheteria__V1__CreateSessionRequest req = BILHETERIA__V1__CREATE_SESSION_REQUEST__INIT;
    Bilheteria__V1__CreateSessionResponse *resp = NULL;
    bh_status st;
    req.event_id = event_id;
    req.starts_at_ms = 1924992000000LL;
    req.rows = rows;
    req.seats_per_row = per_row;
    req.price_cents = price;
    req.room = "Sala 1";
    if (bh_session_create_session(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("create session: %s: %s", bh_code_name(st.code), st.message);
    uint64_t id = resp->session->id;
    bilheteria__v1__create_session_response__free_unpacked(resp, NULL);
    return id;
}

uint64_t
bht_product(bh_client *c, const char *name, int64_t price, int64_t stock)
{
    Bilheteria__V1__CreateProductRequest req = BILHETERIA__V1__CREATE_PRODUCT_REQUEST__INIT;
    Bilheteria__V1__CreateProductResponse *resp = NULL;
    bh_status st;
    req.name = (char *)name;
    req.price_cents = price;
    req.stock = stock;
    if (bh_product_create_product(c, &req, &resp, NULL, &st) != BH_OK)
        fail_msg("create product: %s: %s", bh_code_name(st.code), st.message);
    uint64_t id = resp->product->id;
    bilheteria__v1__create_product_response__free_unpacked(resp, NULL);
    return id;
}
