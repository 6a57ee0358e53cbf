/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a client program's token comes from: --token T, --token-file F
 * (its first line), or an environment variable; one rule for the CLI and
 * the bench. The token itself never goes into a message.
 */
#ifndef BH_TOKEN_H
#define BH_TOKEN_H

#include <stddef.h>

/*
 * Picks the token: token (--token's value) or file (--token-file's path),
 * which exclude each other; else the variable env_name (NULL: none) if it
 * is set and not empty. A file's first line is the token, its trailing
 * spaces, tabs, CR and newline stripped. On success returns 0 and sets
 * *out to the token (caller frees with free) or NULL for none. On failure
 * returns -1 and err (errlen bytes) names the flag (or variable) and the
 * path: both flags given, an empty --token, a file that cannot be opened
 * or read or whose first line is empty, or a token longer than
 * BH_AUTH_TOKEN_MAX. Out of memory: -2, err saying so.
 */
int bh__token_pick(const char *token, const char *file, const char *env_name, char **out, char *err,
                   size_t errlen);

#endif
