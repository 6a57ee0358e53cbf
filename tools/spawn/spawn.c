/* SPDX-License-Identifier: Apache-2.0 */
/* A bilheteria-server child: its temp dir, its start (fork, exec, wait
 * until it answers), its stop, and its resource use read from /proc. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bilheteria/bilheteria.h"
#include "spawn.h"

#define START_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS  20000
/* The server's log line "<time> info  listening on URL" (or, in json,
 * "msg":"listening on URL"); the URL ends at a space or a quote. */
#define BANNER "listening on "

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int
status_of(int ws)
{
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
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

/* The log from where this run's output starts; NULL if it cannot be read. */
static FILE *
open_log(const bh_spawn_server *s)
{
    FILE *f = fopen(s->log, "r");
    if (f != NULL && fseek(f, s->log_from, SEEK_SET) != 0) {
        fclose(f);
        f = NULL;
    }
    return f;
}

/* This run's output, each line marked as the server's. */
static void
print_log(const bh_spawn_server *s)
{
    FILE *f = open_log(s);
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL)
        fprintf(stderr, "  server: %s%s", line, strchr(line, '\n') ? "" : "\n");
    fclose(f);
}

/* The URL of the first "listening on" line of this run, into s->url: 1 if
 * found, 0 if not yet. */
static int
read_banner(bh_spawn_server *s)
{
    FILE *f = open_log(s);
    if (f == NULL)
        return 0;
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *nl = strchr(line, '\n'), *at = strstr(line, BANNER);
        if (nl == NULL || at == NULL)
            continue; /* not a whole line yet, or another one */
        at += strlen(BANNER);
        at[strcspn(at, " \"\n")] = 0;
        found = snprintf(s->url, sizeof(s->url), "%s", at) < (int)sizeof(s->url);
    }
    fclose(f);
    return found;
}

static pid_t
fork_exec(bh_spawn_server *s, char *err, size_t errlen)
{
    const char *argv[BH_SPAWN_MAX_ARGS + 8];
    int n = 0;
    argv[n++] = s->path;
    argv[n++] = "--listen";
    argv[n++] = s->tcp ? "tcp://127.0.0.1:0" : s->url;
    argv[n++] = "--data-dir";
    argv[n++] = s->data_dir;
    if (s->auth_file[0] != 0) {
        argv[n++] = "--auth-file";
        argv[n++] = s->auth_file;
    }
    for (int i = 0; s->args[i] != NULL; i++)
        argv[n++] = s->args[i];
    argv[n] = NULL;

    struct stat st;
    s->log_from = stat(s->log, &st) == 0 ? (long)st.st_size : 0;
    fflush(NULL); /* or the child's exit could write our buffered output again */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(s->path, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", s->path, strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Until it answers Health.Check on s->url (for tcp, once it has said which
 * port it got), it exits, or the start timeout passes. */
static int
wait_ready(bh_spawn_server *s, char *err, size_t errlen)
{
    uint64_t deadline = now_ms() + START_TIMEOUT_MS;
    bh_client *c = NULL;
    bh_status st = { 0 };
    int rc = -1;
    for (;;) {
        if (c == NULL && (!s->tcp || read_banner(s))) {
            bh_options o = { .url = s->url, .timeout_ms = 250 };
            if (bh_client_open(&c, &o, &st) != BH_OK) {
                snprintf(err, errlen, "cannot open a client for %s: %s", s->url, st.message);
                break;
            }
        }
        if (c != NULL) {
            Bilheteria__V1__CheckRequest rq = BILHETERIA__V1__CHECK_REQUEST__INIT;
            Bilheteria__V1__CheckResponse *rs = NULL;
            if (bh_health_check(c, &rq, &rs, NULL, &st) == BH_OK) {
                protobuf_c_message_free_unpacked(&rs->base, NULL);
                rc = 0;
                break;
            }
        }
        int ws;
        if (waitpid(s->pid, &ws, WNOHANG) == s->pid) {
            s->pid = 0;
            snprintf(err, errlen, "%s exited before it answered (status %d)", s->path,
                     status_of(ws));
            break;
        }
        if (now_ms() > deadline) {
            if (c == NULL)
                snprintf(
                    err, errlen,
                    "%s did not say where it listens within %d ms (is --quiet among its flags?)",
                    s->path, START_TIMEOUT_MS);
            else
                snprintf(err, errlen, "%s did not answer on %s within %d ms (last: %s %s)", s->path,
                         s->url, START_TIMEOUT_MS, bh_code_name(st.code), st.message);
            break;
        }
        sleep_ms(20);
    }
    bh_client_close(c);
    return rc;
}

int
bh_spawn_restart(bh_spawn_server *s, char *err, size_t errlen)
{
    if (s->pid > 0) {
        snprintf(err, errlen, "the server (pid %d) is still running", (int)s->pid);
        return -1;
    }
    pid_t pid = fork_exec(s, err, errlen);
    if (pid < 0)
        return -1;
    s->pid = pid;
    if (wait_ready(s, err, errlen) == 0)
        return 0;
    fprintf(stderr, "bh_spawn: %s; the server's output:\n", err);
    print_log(s);
    if (s->pid > 0)
        bh_spawn_kill(s);
    return -1;
}

/* DIR/auth, readable by its owner only, holding text. */
static int
write_auth(bh_spawn_server *s, const char *text, char *err, size_t errlen)
{
    snprintf(s->auth_file, sizeof(s->auth_file), "%s/auth", s->dir);
    int fd = open(s->auth_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    size_t n = strlen(text);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n || close(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", s->auth_file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return 0;
}

/* The first line of buf (from *pos on) into dst, without its newline;
 * -1 if there is none or it does not fit. */
static int
take_line(const char *buf, size_t *pos, char *dst, size_t size)
{
    const char *start = buf + *pos, *nl = strchr(start, '\n');
    if (nl == NULL || nl == start || (size_t)(nl - start) >= size)
        return -1;
    memcpy(dst, start, (size_t)(nl - start));
    dst[nl - start] = 0;
    *pos += (size_t)(nl - start) + 1;
    return 0;
}

int
bh_spawn_token_new(const char *path, const char *name, const char *role, char *token, size_t tsize,
                   char *line, size_t lsize, char *err, size_t errlen)
{
    const char *argv[] = { path, "token", "new", "--name", name, "--role", role, NULL };
    char buf[1024];
    size_t n = 0, pos = 0;
    int fds[2], ws = 0;
    if (pipe(fds) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(fds[1], 1);
        if (null >= 0)
            dup2(null, 2); /* its advice to a person */
        close(fds[0]);
        close(fds[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    ssize_t r;
    while (n < sizeof(buf) - 1 && (r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    close(fds[0]);
    waitpid(pid, &ws, 0);
    int ok = status_of(ws) == 0 && take_line(buf, &pos, token, tsize) == 0 &&
             take_line(buf, &pos, line, lsize) == 0;
    memset(buf, 0, sizeof(buf)); /* it held the token */
    if (!ok) {
        snprintf(err, errlen, "%s token new --name %s --role %s: exit status %d, or not two lines",
                 path, name, role, status_of(ws));
        return -1;
    }
    return 0;
}

int
bh_spawn_start(bh_spawn_server *s, const bh_spawn_opts *o, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->path = o->path;
    s->tcp = o->tcp;
    for (int n = 0; o->args != NULL && o->args[n] != NULL; n++) {
        if (n == BH_SPAWN_MAX_ARGS) {
            snprintf(err, errlen, "more than %d server flags", BH_SPAWN_MAX_ARGS);
            return -1;
        }
        s->args[n] = o->args[n];
    }
    const char *tmp = getenv("TMPDIR");
    if (snprintf(s->dir, sizeof(s->dir), "%s/%s-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp",
                 o->name != NULL ? o->name : "bh-spawn") >= (int)sizeof(s->dir) - 40) {
        snprintf(err, errlen, "the temp dir's name is too long: %s", s->dir);
        s->dir[0] = 0;
        return -1;
    }
    if (mkdtemp(s->dir) == NULL) {
        snprintf(err, errlen, "cannot make a temp dir %s: %s", s->dir, strerror(errno));
        s->dir[0] = 0;
        return -1;
    }
    /* The name has room for these (checked above). */
    snprintf(s->data_dir, sizeof(s->data_dir), "%s/data", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
    snprintf(s->url, sizeof(s->url), "ipc://%s/sock", s->dir);
    if (o->auth_file != NULL && write_auth(s, o->auth_file, err, errlen) != 0) {
        bh_spawn_cleanup(s);
        return -1;
    }
    if (bh_spawn_restart(s, err, errlen) == 0)
        return 0;
    bh_spawn_cleanup(s);
    return -1;
}

int
bh_spawn_stop(bh_spawn_server *s)
{
    if (s->pid <= 0)
        return -1;
    int ws = 0;
    kill(s->pid, SIGTERM);
    uint64_t deadline = now_ms() + STOP_TIMEOUT_MS;
    pid_t r;
    while ((r = waitpid(s->pid, &ws, WNOHANG)) == 0 && now_ms() < deadline)
        sleep_ms(10);
    int status = r == s->pid ? status_of(ws) : -1;
    if (r == 0) {
        fprintf(stderr, "bh_spawn: the server (pid %d) ignored SIGTERM for %d s; killing it\n",
                (int)s->pid, STOP_TIMEOUT_MS / 1000);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &ws, 0);
        status = status_of(ws);
    }
    if (status != 0) {
        fprintf(stderr, "bh_spawn: the server (pid %d) exited with status %d; its output:\n",
                (int)s->pid, status);
        print_log(s);
    }
    s->pid = 0;
    return status;
}

void
bh_spawn_kill(bh_spawn_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

int
bh_spawn_cleanup(bh_spawn_server *s)
{
    int status = s->pid > 0 ? bh_spawn_stop(s) : 0;
    if (s->dir[0] != 0) {
        rm_tree(s->dir);
        s->dir[0] = 0;
    }
    return status;
}

/* /proc/PID/NAME of the running server; NULL if it is not running. */
static FILE *
open_proc(const bh_spawn_server *s, const char *name)
{
    char path[64];
    if (s->pid <= 0)
        return NULL;
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)s->pid, name);
    return fopen(path, "r");
}

double
bh_spawn_cpu_s(const bh_spawn_server *s)
{
    char buf[2048];
    FILE *f = open_proc(s, "stat");
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
            return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
        }
    }
    return -1;
}

long
bh_spawn_peak_rss_kib(const bh_spawn_server *s)
{
    char line[256];
    FILE *f = open_proc(s, "status");
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
