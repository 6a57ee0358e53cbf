/* The spawned server: a bilheteria-server child on a fresh temp data dir
 * and a free loopback port, its resource use read from /proc, and a clean
 * stop that leaves nothing behind. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define START_TIMEOUT_MS 15000

/* Asks the kernel for a free port by binding port 0. Another process could
 * take it before the server binds it; on loopback that is rare enough. */
static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void
rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[1024];
                if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < (int)sizeof(sub))
                    rm_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void
print_log(const bench_server *s)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/server.log", s->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL)
        fprintf(stderr, "  server: %s", line);
    fclose(f);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int
bench_server_start(bench_server *s, const char *path, int ipc, char *const *extra, int n_extra,
                   char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->pid = -1;
    s->ticks_per_s = sysconf(_SC_CLK_TCK);
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof(s->dir), "%s/bh-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(s->dir) == NULL) {
        snprintf(err, errlen, "cannot make a temp dir %s: %s", s->dir, strerror(errno));
        s->dir[0] = 0;
        return -1;
    }
    if (ipc) {
        snprintf(s->url, sizeof(s->url), "ipc://%s/bh.sock", s->dir);
    } else {
        int port = free_port();
        if (port < 0) {
            snprintf(err, errlen, "cannot find a free loopback port: %s", strerror(errno));
            goto fail;
        }
        snprintf(s->url, sizeof(s->url), "tcp://127.0.0.1:%d", port);
    }
    char data[300], log[300];
    snprintf(data, sizeof(data), "%s/data", s->dir);
    snprintf(log, sizeof(log), "%s/server.log", s->dir);

    const char **argv = calloc((size_t)n_extra + 8, sizeof(char *));
    if (argv == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    int n = 0;
    argv[n++] = path;
    argv[n++] = "--listen";
    argv[n++] = s->url;
    argv[n++] = "--data-dir";
    argv[n++] = data;
    argv[n++] = "--quiet";
    for (int i = 0; i < n_extra; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        free(argv);
        goto fail;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(path, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    free(argv);
    s->pid = pid;

    /* Ready when it answers a health check. */
    bh_client *c = NULL;
    bh_options o = { .url = s->url, .timeout_ms = 250 };
    bh_status st;
    if (bh_client_open(&c, &o, &st) != BH_OK) {
        snprintf(err, errlen, "cannot open a client for %s: %s", s->url, st.message);
        goto fail;
    }
    uint64_t deadline = bench_now_ns() + (uint64_t)START_TIMEOUT_MS * 1000000u;
    for (;;) {
        Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
        Bilheteria__V1__CheckResponse *rs = NULL;
        if (bh_health_check(c, &rq, &rs, NULL, &st) == BH_OK) {
            protobuf_c_message_free_unpacked(&rs->base, NULL);
            break;
        }
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            s->pid = -1;
            bh_client_close(c);
            snprintf(err, errlen, "%s exited before it answered (%s %d); its log:", path,
                     WIFEXITED(ws) ? "status" : "signal",
                     WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
            print_log(s);
            goto fail;
        }
        if (bench_now_ns() > deadline) {
            bh_client_close(c);
            snprintf(err, errlen, "%s did not answer on %s within %d ms (last: %s %s)", path,
                     s->url, START_TIMEOUT_MS, bh_code_name(st.code), st.message);
            print_log(s);
            goto fail;
        }
        sleep_ms(20);
    }
    bh_client_close(c);
    return 0;
fail:
    bench_server_stop(s);
    return -1;
}

double
bench_server_cpu_s(const bench_server *s)
{
    if (s->pid <= 0)
        return -1;
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The command name may hold spaces: fields count from its closing ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    p++;
    unsigned long long ut = 0, stime = 0;
    /* After ')': field 3 (state) ... field 14 utime, field 15 stime. */
    char *save = NULL, *tok = strtok_r(p, " ", &save);
    for (int field = 3; tok != NULL; field++, tok = strtok_r(NULL, " ", &save)) {
        if (field == 14)
            ut = strtoull(tok, NULL, 10);
        else if (field == 15) {
            stime = strtoull(tok, NULL, 10);
            return (double)(ut + stime) / (double)s->ticks_per_s;
        }
    }
    return -1;
}

long
bench_server_peak_rss_kib(const bench_server *s)
{
    if (s->pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

int
bench_server_stop(bench_server *s)
{
    int rc = 0;
    if (s->pid > 0) {
        int ws = 0;
        kill(s->pid, SIGTERM);
        uint64_t deadline = bench_now_ns() + 10000000000ull;
        pid_t r;
        while ((r = waitpid(s->pid, &ws, WNOHANG)) == 0 && bench_now_ns() < deadline)
            sleep_ms(10);
        if (r == 0) {
            fprintf(stderr, "bilheteria-bench: server %d ignored SIGTERM for 10 s; killing it\n",
                    (int)s->pid);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &ws, 0);
            rc = -1;
        } else if (r < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
            rc = -1;
        }
        if (rc != 0)
            print_log(s);
        s->pid = -1;
    }
    if (s->dir[0] != 0) {
        rm_tree(s->dir);
        s->dir[0] = 0;
    }
    return rc;
}
