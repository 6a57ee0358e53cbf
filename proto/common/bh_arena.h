/*
 * A bump allocator: allocations come from blocks that only grow, a reset
 * frees everything at once and keeps the first block for reuse. The
 * server gives one to each request context (unpacking a request and
 * building its answer cost no malloc once it is warm) and to its writer.
 * pc is a protobuf-c allocator over the arena, whose free does nothing.
 * Not thread-safe: one arena per thread.
 */
#ifndef BH_ARENA_H
#define BH_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct bh__arena_block bh__arena_block;
typedef struct bh__arena {
    bh__arena_block *head;  /* current block */
    bh__arena_block *first; /* kept across resets */
    ProtobufCAllocator pc;  /* protobuf-c allocator over this arena */
} bh__arena;

/* Allocates the first block (first_block bytes). Returns 0, or -1 when out
 * of memory (bh__arena_fini is still safe then). */
int bh__arena_init(bh__arena *a, size_t first_block);
/* n bytes aligned for any type, borrowed until the next reset; NULL when
 * out of memory. */
void *bh__arena_alloc(bh__arena *a, size_t n);
char *bh__arena_strdup(bh__arena *a, const char *s);
void bh__arena_reset(bh__arena *a);
/* Frees every block; a second call does nothing. */
void bh__arena_fini(bh__arena *a);

#endif
