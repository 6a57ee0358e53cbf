/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layout of bh_arena, the bump allocator that libbilheteria gives its
 * callers for responses (see bh_arena_init in bilheteria.h) and that the
 * server uses per request (bh__arena, the same type). Installed with the
 * client headers; the fields are private.
 */
#ifndef BILHETERIA_ARENA_H
#define BILHETERIA_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct bh_arena {
    ProtobufCAllocator pc; /* a protobuf-c allocator over the arena */
    unsigned char *buf;    /* the first bytes: the caller's, or owned */
    size_t size, used;     /* of buf */
    void *blocks;          /* malloc'd blocks, newest (largest) first */
    unsigned oom : 1;      /* an allocation failed since the last reset */
    unsigned own_buf : 1;  /* buf was malloc'd by the arena */
    unsigned keep_big : 1; /* a reset keeps the largest block (else frees all) */
} bh_arena;

#endif
