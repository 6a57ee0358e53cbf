/*
 * The CLI's option tables, over the shared parser (proto/common/bh_opts.h):
 * the same structure and kinds under the CLI's names, plus CLI_OPT_TIME
 * (an RFC 3339 time into an int64_t of Unix ms).
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

#include "bh_opts.h"

#define cli_opt  bh__opt  /* struct cli_opt */
#define cli_strs bh__strs /* struct cli_strs */

#define CLI_OPT_FLAG    BH__OPT_FLAG
#define CLI_OPT_STR     BH__OPT_STR
#define CLI_OPT_STRS    BH__OPT_STRS
#define CLI_OPT_ID      BH__OPT_ID
#define CLI_OPT_COUNT   BH__OPT_COUNT
#define CLI_OPT_U32     BH__OPT_U32
#define CLI_OPT_NONNEG  BH__OPT_NONNEG
#define CLI_OPT_POS_I64 BH__OPT_POS_I64
#define CLI_OPT_POS_I32 BH__OPT_POS_I32
#define CLI_OPT_TIME    BH__OPT_FN /* parse filled in by cli_opts_parse */

#define CLI_OPT_REQUIRED  BH__OPT_REQUIRED
#define CLI_OPT_LAST_WINS BH__OPT_LAST_WINS

#define CLI_PARSE_OK    BH__PARSE_OK
#define CLI_PARSE_HELP  BH__PARSE_HELP
#define CLI_PARSE_ERROR BH__PARSE_ERROR

#define cli_strs_free bh__strs_free
#define cli_parse_u64 bh__parse_u64
#define cli_parse_i64 bh__parse_i64

/* bh__opts_parse, with CLI_OPT_TIME entries given their RFC 3339 parser.
 * With stop_at_positional set, parsing stops at the first positional
 * argument (the global options stop at the command). */
int cli_opts_parse(struct cli_opt *opts, size_t n, int argc, char **argv, int stop_at_positional,
                   int *used, char *err, size_t errlen);

/* Prints "usage: bilheteria <synopsis>", the summary and one line per
 * option. */
void cli_opts_usage(FILE *f, const char *synopsis, const char *summary, const struct cli_opt *opts,
                    size_t n);

#endif
