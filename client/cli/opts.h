/*
 * The CLI's table-driven option parser, shared by every command and by the
 * global options. A command lists its options (and positional arguments)
 * in an array of cli_opt; cli_opts_parse fills each one's destination,
 * checks kinds, ranges and required options, and writes a usage error
 * that names the option and the bad value:
 *   --rows: expected a positive integer, got "abc"
 *
 * Options are "--name value" or "--name=value"; "--" ends the options;
 * "--help" or "-h" asks for help. Option values and positional arguments
 * are borrowed from argv.
 */
#ifndef BH_CLI_OPTS_H
#define BH_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_opt_kind {
    CLI_OPT_FLAG,    /* int *: set to 1; takes no value */
    CLI_OPT_STR,     /* const char **: borrowed from argv */
    CLI_OPT_STRS,    /* struct cli_strs *: repeatable, values in order */
    CLI_OPT_ID,      /* uint64_t *: 1..UINT64_MAX */
    CLI_OPT_COUNT,   /* uint32_t *: 1..UINT32_MAX */
    CLI_OPT_U32,     /* uint32_t *: 0..UINT32_MAX */
    CLI_OPT_NONNEG,  /* int64_t *: 0..INT64_MAX (cents) */
    CLI_OPT_POS_I64, /* int64_t *: 1..INT64_MAX (stock) */
    CLI_OPT_POS_I32, /* int32_t *: 1..INT32_MAX (seconds, ms) */
    CLI_OPT_TIME,    /* int64_t *: Unix ms from RFC 3339 */
};

#define CLI_OPT_REQUIRED 1u
/* May be given again; the last value wins (global options). */
#define CLI_OPT_LAST_WINS 2u

struct cli_opt {
    const char *name;    /* "--rows"; NULL for a positional argument */
    const char *metavar; /* "N", "ID", "RFC3339" */
    enum cli_opt_kind kind;
    unsigned flags;   /* CLI_OPT_REQUIRED */
    void *dest;       /* by kind, above */
    const char *help; /* one line */
    int seen;         /* set by cli_opts_parse */
};

/* Values of a repeatable option. v (not its strings) is owned: caller
 * frees with cli_strs_free. */
struct cli_strs {
    const char **v;
    size_t n;
};

void cli_strs_free(struct cli_strs *s);

enum {
    CLI_PARSE_OK = 0,
    CLI_PARSE_HELP = 1,  /* --help was given; nothing else was checked */
    CLI_PARSE_ERROR = 2, /* err holds the message (no "error: " prefix) */
};

/*
 * Parses argv[0..argc) against opts[0..n). With stop_at_positional set,
 * parsing stops at the first positional argument (the global options
 * stop at the command) and *used says how many arguments were consumed;
 * positional entries in opts are then ignored. used may be NULL otherwise.
 */
int cli_opts_parse(struct cli_opt *opts, size_t n, int argc, char **argv, int stop_at_positional,
                   int *used, char *err, size_t errlen);

/* Prints "usage: bilheteria <synopsis>", the summary and one line per
 * option. */
void cli_opts_usage(FILE *f, const char *synopsis, const char *summary, const struct cli_opt *opts,
                    size_t n);

/*
 * Number parsing with full checks (strtoull/strtoll, whole string, no
 * sign surprises). Return 0 and set *out, or -1 if s is not a decimal
 * integer within [min, max]; *out is untouched on failure.
 */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
