/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria-server backup: the offline copy of a data directory. A
 * running server is backed up through AdminService.Backup instead (its
 * data directory is locked while it runs). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backup.h"
#include "bh_opts.h"
#include "store.h"

#define CMD "bilheteria-server backup"

int
srv_backup_main(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    char err[512], file[4200];
    struct stat st;
    store *s = NULL;
    store_backup_info info;
    struct bh__opt opts[] = {
        { "--data-dir", "DIR", BH__OPT_STR, BH__OPT_REQUIRED | BH__OPT_LAST_WINS, &dir,
          "the stopped server's data directory" },
        { "--out", "PATH", BH__OPT_STR, BH__OPT_REQUIRED | BH__OPT_LAST_WINS, &out,
          "the copy: a new directory (or an empty one), a data directory of its own" },
    };
    size_t n = sizeof(opts) / sizeof(opts[0]);
    const char *synopsis = "--data-dir DIR --out PATH";

    switch (bh__opts_parse(opts, n, argc - 1, argv + 1,
                           BH__OPTS_DASH_NOT_VALUE | BH__OPTS_QUOTE_UNKNOWN, NULL, err,
                           sizeof(err))) {
    case BH__PARSE_HELP:
        bh__opts_usage(stdout, CMD, synopsis,
                       "Writes a consistent, compacted copy of a stopped server's data; a\n"
                       "server started with --data-dir PATH serves it. For a running server:\n"
                       "bilheteria admin backup --out PATH.",
                       opts, n);
        return 0;
    case BH__PARSE_ERROR: fprintf(stderr, CMD ": %s (try --help)\n", err); return 2;
    }
    /* store_open would make an empty store of a missing directory. */
    snprintf(file, sizeof(file), "%s/data.mdb", dir);
    if (stat(file, &st) != 0) {
        fprintf(stderr, CMD ": no data in --data-dir \"%s\": %s: %s\n", dir, file, strerror(errno));
        return 1;
    }
    store_config sc = { .dir = dir, .exclusive = 1 };
    int rc = store_open(&s, &sc, err, sizeof(err));
    if (rc != STORE_OK) {
        fprintf(stderr, CMD ": %s\n", err);
        if (rc == STORE_BUSY)
            fprintf(stderr, CMD ": to back up a running server: bilheteria admin backup --out "
                                "PATH\n");
        return 1;
    }
    rc = store_backup(s, out, &info, err, sizeof(err));
    store_close(s);
    if (rc != STORE_OK) {
        fprintf(stderr, CMD ": %s\n", err);
        return 1;
    }
    printf("%s: %" PRIu64 " bytes in %" PRId64 " ms (up to transaction %" PRIu64 ")\n", out,
           info.bytes, info.duration_ms, info.last_txnid);
    return 0;
}
