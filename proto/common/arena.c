/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bh_arena.h"

#define ALIGN       (_Alignof(max_align_t))
#define BLOCK_FIRST 4096

struct block {
    struct block *next;
    size_t size, used;
    max_align_t data[];
};

static void *
pc_alloc(void *data, size_t n)
{
    return bh__arena_alloc(data, n);
}

static void
pc_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

void
bh__arena_init(bh__arena *a, void *buf, size_t size)
{
    uintptr_t start = (uintptr_t)buf, aligned;

    a->pc.alloc = pc_alloc;
    a->pc.free = pc_free;
    a->pc.allocator_data = a;
    a->buf = NULL;
    a->size = a->used = 0;
    a->blocks = NULL;
    a->oom = 0;
    a->own_buf = 0;
    a->keep_big = 1;
    if (buf == NULL)
        return;
    aligned = (start + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
    if (aligned - start < size) {
        a->buf = (unsigned char *)aligned;
        a->size = size - (aligned - start);
    }
}

int
bh__arena_init_alloc(bh__arena *a, size_t first_block)
{
    void *buf = malloc(first_block);

    bh__arena_init(a, buf, first_block);
    a->own_buf = buf != NULL;
    /* The server's arenas, one per nng context: a block kept after one
     * large answer (a big seat map) would stay held by every context that
     * ever served one, so only the first buffer is kept. */
    a->keep_big = 0;
    return buf != NULL ? 0 : -1;
}

void *
bh__arena_alloc(bh__arena *a, size_t n)
{
    struct block *b = a->blocks;
    unsigned char *p;

    /* Anything near SIZE_MAX would wrap in the rounding or the block
     * header: it is simply out of memory. */
    if (n > SIZE_MAX / 4) {
        a->oom = 1;
        return NULL;
    }
    n = n == 0 ? ALIGN : (n + ALIGN - 1) & ~(ALIGN - 1);
    if (a->size - a->used >= n) {
        p = a->buf + a->used;
        a->used += n;
        return p;
    }
    if (b == NULL || b->size - b->used < n) {
        size_t size = b != NULL && b->size <= SIZE_MAX / 4 ? b->size * 2
                      : b == NULL && a->size > BLOCK_FIRST / 2 && a->size <= SIZE_MAX / 4
                          ? a->size * 2
                          : BLOCK_FIRST;
        struct block *nb;

        if (size < n)
            size = n;
        if ((nb = malloc(sizeof(*nb) + size)) == NULL) {
            a->oom = 1;
            return NULL;
        }
        nb->size = size;
        nb->used = 0;
        nb->next = b;
        a->blocks = b = nb;
    }
    p = (unsigned char *)b->data + b->used;
    b->used += n;
    return p;
}

char *
bh__arena_strndup(bh__arena *a, const char *s, size_t n)
{
    char *p;

    n = strnlen(s, n);
    if ((p = bh__arena_alloc(a, n + 1)) != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *
bh__arena_strdup(bh__arena *a, const char *s)
{
    return bh__arena_strndup(a, s, SIZE_MAX);
}

static void
blocks_free(struct block *b)
{
    struct block *next;

    for (; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
}

void
bh__arena_reset(bh__arena *a)
{
    struct block *keep = a->blocks;

    /* The newest block is the largest: keep it (if asked), free the others. */
    if (keep != NULL && !a->keep_big) {
        blocks_free(keep);
        a->blocks = NULL;
    } else if (keep != NULL) {
        blocks_free(keep->next);
        keep->next = NULL;
        keep->used = 0;
    }
    a->used = 0;
    a->oom = 0;
}

void
bh__arena_fini(bh__arena *a)
{
    if (a == NULL)
        return;
    blocks_free(a->blocks);
    a->blocks = NULL;
    if (a->own_buf) {
        free(a->buf);
        a->buf = NULL;
        a->size = 0;
        a->own_buf = 0;
    }
    a->used = 0;
    a->oom = 0;
}
