/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bh_spawn: a real bilheteria-server child process on a fresh temporary
 * directory (its LMDB data, its socket and its output live there), for the
 * integration tests and the bench. Started, it answers Health.Check;
 * stopped, it has exited and been waited for. Not thread-safe: one thread
 * drives one bh_spawn_server.
 */
#ifndef BH_SPAWN_H
#define BH_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#define BH_SPAWN_MAX_ARGS 32

typedef struct bh_spawn_opts {
    /* The bilheteria-server binary. Borrowed until bh_spawn_cleanup. */
    const char *path;
    /* The temp dir is $TMPDIR/NAME-XXXXXX (/tmp without TMPDIR); "bh-spawn"
     * if NULL. */
    const char *name;
    /* 1: listen on tcp://127.0.0.1:0, the port read from the server's
     * "listening on" line (so no flag may make it quiet); 0: on
     * ipc://DIR/sock. */
    int tcp;
    /* More flags for the server, NULL-terminated (NULL for none), at most
     * BH_SPAWN_MAX_ARGS. The strings are borrowed until bh_spawn_cleanup. */
    const char *const *args;
    /* The text of an auth file (NAME ROLE SHA256 lines), or NULL: written
     * to DIR/auth before the server starts, which then gets
     * `--auth-file DIR/auth`. Borrowed during bh_spawn_start. */
    const char *auth_file;
} bh_spawn_opts;

typedef struct bh_spawn_server {
    pid_t pid;          /* the running child, or 0 */
    char dir[256];      /* the temp dir, or "" */
    char data_dir[300]; /* DIR/data: --data-dir */
    char log[300];      /* DIR/server.log: the server's stdout and stderr */
    char url[320];      /* where it listens, with the port it got */
    const char *path;
    int tcp;
    const char *args[BH_SPAWN_MAX_ARGS + 1];
    long log_from;       /* where this run's output starts in the log */
    char auth_file[300]; /* DIR/auth with opts.auth_file, else "" */
} bh_spawn_server;

/* Makes the temp dir and starts the server in it with
 * `--listen URL --data-dir DIR/data` and o->args; returns once it answers
 * Health.Check (within 30 s). 0 on success; on failure -1 with the reason
 * in err, the server's output printed to stderr, and nothing left behind. */
int bh_spawn_start(bh_spawn_server *s, const bh_spawn_opts *o, char *err, size_t errlen);

/* Starts the server again, stopped or killed, on the same directory and
 * flags (a tcp server gets a new port: read s->url again). 0 on success;
 * on failure -1 as bh_spawn_start, the directory kept. */
int bh_spawn_restart(bh_spawn_server *s, char *err, size_t errlen);

/*
 * Runs `PATH token new --name NAME --role ROLE` and keeps its two lines: a
 * fresh service token (into token, tsize bytes) and the auth file's line
 * that accepts it (into line, lsize bytes, without its newline). 0 on
 * success; -1 with the reason in err (the token is never put there).
 */
int bh_spawn_token_new(const char *path, const char *name, const char *role, char *token,
                       size_t tsize, char *line, size_t lsize, char *err, size_t errlen);

/* SIGTERM, and SIGKILL if it has not exited 20 s later. Returns its exit
 * status (0 for a clean stop, 128 + N for signal N), or -1 if it was not
 * running. A status other than 0 prints the server's output to stderr (a
 * sanitizer's report, say). */
int bh_spawn_stop(bh_spawn_server *s);

/* SIGKILL and wait: a crash. Does nothing if it is not running. */
void bh_spawn_kill(bh_spawn_server *s);

/* Stops the server if it is running and removes the temp dir. Returns the
 * stop's status, or 0 if it was not running. Accepts a zeroed s. */
int bh_spawn_cleanup(bh_spawn_server *s);

/* User + system CPU time of the server so far, in seconds; -1 if unknown. */
double bh_spawn_cpu_s(const bh_spawn_server *s);

/* The server's peak resident set (VmHWM) in KiB; -1 if unknown. */
long bh_spawn_peak_rss_kib(const bh_spawn_server *s);

#endif
