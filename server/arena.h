/* Bump allocator (arena.c): one per request context, reset between
 * requests. */
#ifndef BH_ARENA_H
#define BH_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct srv_arena_block srv_arena_block;
typedef struct srv_arena {
    srv_arena_block *head;  /* current block */
    srv_arena_block *first; /* kept across resets */
    ProtobufCAllocator pc;  /* protobuf-c allocator over this arena */
} srv_arena;

int srv_arena_init(srv_arena *a, size_t first_block);
void *srv_arena_alloc(srv_arena *a, size_t n); /* NULL when out of memory */
char *srv_arena_strdup(srv_arena *a, const char *s);
void srv_arena_reset(srv_arena *a);
void srv_arena_fini(srv_arena *a);

#endif
