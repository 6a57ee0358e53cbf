/* A bump allocator per request context: unpacking a request and building
 * its answer allocate from it, and a reset frees everything at once, so a
 * request costs no malloc once the first block has warmed up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bh_arena.h"

struct bh__arena_block {
    bh__arena_block *next;
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

static bh__arena_block *
block_new(size_t size)
{
    bh__arena_block *b = malloc(sizeof(*b) + size);
    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

int
bh__arena_init(bh__arena *a, size_t first_block)
{
    a->first = a->head = block_new(first_block);
    a->pc.alloc = pc_alloc;
    a->pc.free = pc_free;
    a->pc.allocator_data = a;
    return a->first ? 0 : -1;
}

void *
bh__arena_alloc(bh__arena *a, size_t n)
{
    /* Anything near SIZE_MAX would wrap in the rounding or the block
     * header: it is simply out of memory. */
    if (n > SIZE_MAX / 4)
        return NULL;
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (n == 0)
        n = sizeof(max_align_t);
    bh__arena_block *b = a->head;
    if (b->size - b->used < n) {
        size_t size = b->size <= SIZE_MAX / 8 && b->size * 2 > n ? b->size * 2 : n;
        bh__arena_block *nb = block_new(size);
        if (nb == NULL)
            return NULL;
        b->next = nb;
        a->head = b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

char *
bh__arena_strdup(bh__arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = bh__arena_alloc(a, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

void
bh__arena_reset(bh__arena *a)
{
    bh__arena_block *b = a->first->next;
    while (b != NULL) {
        bh__arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
}

void
bh__arena_fini(bh__arena *a)
{
    if (a->first == NULL)
        return;
    bh__arena_reset(a);
    free(a->first);
    a->first = a->head = NULL;
}
