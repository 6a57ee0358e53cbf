/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bump allocator of libbilheteria (bh_arena) and the server (one per
 * request context, one for the writer): allocations come from a first
 * buffer, then from malloc'd blocks that double in size; a reset frees
 * everything at once and keeps the first buffer (and, for the library's
 * arenas, the largest block) for reuse, so a warm arena costs no malloc. pc is a protobuf-c
 * allocator over the arena, whose free does nothing. Not thread-safe: one arena per thread at a
 * time.
 */
#ifndef BH_ARENA_H
#define BH_ARENA_H

#include <stddef.h>

#include "bilheteria/arena.h"

typedef bh_arena bh__arena;

/* The first bytes come from buf (size bytes, aligned here; may be NULL),
 * which the caller owns and which must outlive the arena. A reset keeps
 * the largest block (a caller that unpacks big answers in a loop mallocs
 * once). Never fails. */
void bh__arena_init(bh__arena *a, void *buf, size_t size);
/* The first bytes come from a first_block-byte buffer the arena mallocs
 * and frees; a reset frees every block beyond it (the server's arenas: an
 * idle context holds first_block bytes, whatever it once served). Returns 0, or -1 when out of
 * memory (the arena then works from blocks alone; bh__arena_fini is safe either way). */
int bh__arena_init_alloc(bh__arena *a, size_t first_block);
/* n bytes aligned for any type, borrowed until the next reset or fini;
 * NULL (and a->oom set) when out of memory. */
void *bh__arena_alloc(bh__arena *a, size_t n);
char *bh__arena_strdup(bh__arena *a, const char *s);
/* The first n bytes of s (fewer if s ends before), NUL-terminated. */
char *bh__arena_strndup(bh__arena *a, const char *s, size_t n);
/* Forgets every allocation; keeps the first buffer, and the largest block
 * for an arena of bh__arena_init. */
void bh__arena_reset(bh__arena *a);
/* Frees the blocks and an owned buffer. The arena may then be used again
 * (from the caller's buffer, or from blocks). Accepts NULL; a second call
 * does nothing. */
void bh__arena_fini(bh__arena *a);

#endif
