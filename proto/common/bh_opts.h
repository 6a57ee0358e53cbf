/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table-driven option parser of the CLI, the server and the bench. A
 * program lists its options (and positional arguments) in an array of
 * bh__opt; bh__opts_parse fills each one's destination, checks kinds,
 * ranges and required options, and writes a usage error that names the
 * option and the bad value:
 *   --rows: expected a positive integer (at most 4294967295), got "abc"
 *
 * Options are "--name value" or "--name=value"; "--" ends the options;
 * "--help" or "-h" asks for help. Option values and positional arguments
 * are borrowed from argv.
 */
#ifndef BH_OPTS_H
#define BH_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum bh__opt_kind {
    BH__OPT_FLAG,    /* int *: set to 1; takes no value */
    BH__OPT_STR,     /* const char **: borrowed from argv */
    BH__OPT_STRS,    /* struct bh__strs *: repeatable, values in order */
    BH__OPT_ID,      /* uint64_t *: 1..UINT64_MAX */
    BH__OPT_COUNT,   /* uint32_t *: 1..UINT32_MAX */
    BH__OPT_U32,     /* uint32_t *: 0..UINT32_MAX */
    BH__OPT_NONNEG,  /* int64_t *: 0..INT64_MAX (cents) */
    BH__OPT_POS_I64, /* int64_t *: 1..INT64_MAX (stock) */
    BH__OPT_POS_I32, /* int32_t *: 1..INT32_MAX (seconds, ms) */
    BH__OPT_INT,     /* int64_t *: min..max of the entry */
    BH__OPT_FN,      /* dest as parse() wants it; want says what it takes */
};

#define BH__OPT_REQUIRED 1u
/* May be given again; the last value wins. */
#define BH__OPT_LAST_WINS 2u
/* Never taken from the environment by bh__opts_parse_env (--version). */
#define BH__OPT_NO_ENV 4u

struct bh__opt {
    const char *name;    /* "--rows"; NULL for a positional argument */
    const char *metavar; /* "N", "ID", "RFC3339"; NULL for a flag */
    enum bh__opt_kind kind;
    unsigned flags;   /* BH__OPT_REQUIRED, BH__OPT_LAST_WINS, BH__OPT_NO_ENV */
    void *dest;       /* by kind, above */
    const char *help; /* one line, for bh__opts_usage */
    int64_t min, max; /* BH__OPT_INT */
    /* BH__OPT_FN: converts val into dest, returns 0 or -1; the message
     * then says "expected <want>". */
    int (*parse)(const char *val, void *dest);
    const char *want;
    int seen; /* set by bh__opts_parse */
};

/* Values of a repeatable option. v (not its strings) is owned: caller
 * frees with bh__strs_free. Values from argv are borrowed from it; values
 * split from an environment variable live in buf, owned too. */
struct bh__strs {
    const char **v;
    size_t n;
    char *buf;
};

void bh__strs_free(struct bh__strs *s);

enum {
    BH__PARSE_OK = 0,
    BH__PARSE_HELP = 1,  /* --help was given; nothing else was checked */
    BH__PARSE_ERROR = 2, /* err holds the message (no "error: " prefix) */
};

/* Flags of bh__opts_parse. */
/* Stop at the first positional argument (global options before a
 * command); positional entries in opts are then ignored. */
#define BH__OPTS_STOP_AT_POSITIONAL 1u
/* A value that starts with "--" is a value forgotten ("--data-dir
 * --no-sync"), not a value. */
#define BH__OPTS_DASH_NOT_VALUE 2u
/* Quote an unknown option's name in the message: unknown option "--x". */
#define BH__OPTS_QUOTE_UNKNOWN 4u

/*
 * Parses argv[0..argc) against opts[0..n). *used (may be NULL) says how
 * many arguments were consumed: all of them, unless parsing stopped at a
 * positional argument. Returns a BH__PARSE_* code; on BH__PARSE_ERROR, err
 * (errlen bytes) says what was wrong and destinations may be half set.
 */
int bh__opts_parse(struct bh__opt *opts, size_t n, int argc, char **argv, unsigned flags, int *used,
                   char *err, size_t errlen);

/*
 * bh__opts_parse, then every named option that argv did not give takes
 * its value from the environment variable env_prefix + its name upper-cased,
 * dashes as underscores ("BILHETERIA_" and --data-dir: BILHETERIA_DATA_DIR),
 * when that is set and not empty: flags win over the environment. A flag
 * (BH__OPT_FLAG) is set by 1, true, yes or on, left unset by 0, false, no or
 * off; a repeatable option (BH__OPT_STRS) takes several values separated by
 * spaces or commas; other kinds take one value, checked as on the command
 * line. An error names the variable and the flag:
 *   BILHETERIA_HOLD_TTL_S (--hold-ttl-s): expected an integer in 1..604800, got "0"
 * Options flagged BH__OPT_NO_ENV and positional arguments are never read
 * from the environment. Values are borrowed from the environment (do not
 * change it while they are in use). Not thread-safe against setenv.
 */
int bh__opts_parse_env(struct bh__opt *opts, size_t n, int argc, char **argv, unsigned flags,
                       const char *env_prefix, int *used, char *err, size_t errlen);

/* Prints "usage: <prog> <synopsis>", the summary (may be NULL) and one
 * line per option. */
void bh__opts_usage(FILE *f, const char *prog, const char *synopsis, const char *summary,
                    const struct bh__opt *opts, size_t n);

/*
 * Number parsing with full checks (strtoull/strtoll, whole string, no
 * sign or space surprises). Return 0 and set *out, or -1 if s is not a
 * decimal integer within [min, max]; *out is untouched on failure.
 */
int bh__parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int bh__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
