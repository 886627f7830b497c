#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <valgrind/memcheck.h>

#include "arena.h"

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
/* a block's size sits in its leading redzone; a redzone follows it */
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif
#define REDZONE ARENA_REDZONE

struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* bytes of room for blocks */
	size_t used; /* bytes handed out */
};

/* where a chunk's blocks start, aligned */
#define CHUNK_HEAD \
	((sizeof(struct arena_chunk) + ARENA_ALIGN - 1) & \
	    ~(size_t)(ARENA_ALIGN - 1))

static unsigned char *
chunk_data(struct arena_chunk *c)
{
	return (unsigned char *)c + CHUNK_HEAD;
}

static struct arena_chunk *
chunk_new(struct arena *a, size_t size)
{
	struct arena_chunk *c;

	if (size > SIZE_MAX - CHUNK_HEAD ||
	    (c = malloc(CHUNK_HEAD + size)) == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	a->chunks++;
	if (!a->pool) {
		VALGRIND_CREATE_MEMPOOL(a, 0, 0);
		a->pool = 1;
	}
	ASAN_POISON_MEMORY_REGION(chunk_data(c), size);
	VALGRIND_MAKE_MEM_NOACCESS(chunk_data(c), size);
	return c;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	unsigned char *p;
	size_t need;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 2)
		return NULL;
	need =
	    ((n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1)) + 2 * REDZONE;
	if (c == NULL || c->size - c->used < need) {
		if (need > ARENA_CHUNK) {
			/* its own chunk, behind the one filling */
			if ((c = chunk_new(a, need)) == NULL)
				return NULL;
			if (a->head != NULL) {
				c->next = a->head->next;
				a->head->next = c;
			} else
				a->head = c;
		} else {
			if ((c = a->spare) != NULL)
				a->spare = c->next;
			else if ((c = chunk_new(a, ARENA_CHUNK)) == NULL)
				return NULL;
			c->next = a->head;
			a->head = c;
		}
	}
	p = chunk_data(c) + c->used + REDZONE;
	c->used += need;
#ifdef ARENA_ASAN
	ASAN_UNPOISON_MEMORY_REGION(p - REDZONE, sizeof(size_t));
	memcpy(p - REDZONE, &n, sizeof(n));
	ASAN_POISON_MEMORY_REGION(p - REDZONE, sizeof(size_t));
	ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
	VALGRIND_MEMPOOL_ALLOC(a, p, n);
	a->allocs++;
	return p;
}

void
arena_free(struct arena *a, void *p)
{
	if (p == NULL)
		return;
#ifdef ARENA_ASAN
	{
		unsigned char *h = (unsigned char *)p - REDZONE;
		size_t n;

		ASAN_UNPOISON_MEMORY_REGION(h, sizeof(size_t));
		memcpy(&n, h, sizeof(n));
		ASAN_POISON_MEMORY_REGION(h, sizeof(size_t));
		ASAN_POISON_MEMORY_REGION(p, n);
	}
#endif
	VALGRIND_MEMPOOL_FREE(a, p);
	a->frees++;
}

/* wipe what c's blocks used; c is empty and inaccessible afterwards */
static void
chunk_wipe(struct arena_chunk *c)
{
	ASAN_UNPOISON_MEMORY_REGION(chunk_data(c), c->used);
	VALGRIND_MAKE_MEM_UNDEFINED(chunk_data(c), c->used);
	sodium_memzero(chunk_data(c), c->used);
	ASAN_POISON_MEMORY_REGION(chunk_data(c), c->size);
	VALGRIND_MAKE_MEM_NOACCESS(chunk_data(c), c->size);
	c->used = 0;
}

size_t
arena_reset(struct arena *a)
{
	struct arena_chunk *c, *next;
	size_t leaked = a->allocs - a->frees, kept = 0;

	for (c = a->spare; c != NULL; c = c->next)
		kept += c->size;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		chunk_wipe(c);
		if (c->size == ARENA_CHUNK && kept + c->size <= ARENA_KEEP) {
			kept += c->size;
			c->next = a->spare;
			a->spare = c;
		} else
			free(c);
	}
	a->head = NULL;
	a->allocs = a->frees = 0;
	if (a->pool) {
		/* the blocks never freed go with the pool */
		VALGRIND_DESTROY_MEMPOOL(a);
		VALGRIND_CREATE_MEMPOOL(a, 0, 0);
	}
	return leaked;
}

void
arena_release(struct arena *a)
{
	struct arena_chunk *c, *next;

	arena_reset(a);
	for (c = a->spare; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->spare = NULL;
	a->chunks = 0;
	if (a->pool) {
		VALGRIND_DESTROY_MEMPOOL(a);
		a->pool = 0;
	}
}
