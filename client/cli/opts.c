#include "opts.h"

#include "rfc3339.h"

static int
cli__time(const char *val, void *dest)
{
    return cli_rfc3339_parse(val, dest);
}

int
cli_opts_parse(struct cli_opt *opts, size_t n, int argc, char **argv, int stop_at_positional,
               int *used, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (opts[i].kind != CLI_OPT_TIME || opts[i].parse != NULL)
            continue;
        opts[i].parse = cli__time;
        opts[i].want = "an RFC 3339 time like 2026-12-01T20:00:00Z or 2026-12-01T17:00:00-03:00";
    }
    return bh__opts_parse(opts, n, argc, argv, stop_at_positional ? BH__OPTS_STOP_AT_POSITIONAL : 0,
                          used, err, errlen);
}

void
cli_opts_usage(FILE *f, const char *synopsis, const char *summary, const struct cli_opt *opts,
               size_t n)
{
    bh__opts_usage(f, "bilheteria", synopsis, summary, opts, n);
}
