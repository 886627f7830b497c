/*
 * A per-request arena: a chunked bump allocator for jansson's memory
 * (json_set_alloc_funcs), all of it released at once after the request.
 * A block freed is only counted; arena_reset wipes what the request used,
 * since jansson's strings hold its tokens, and says how many blocks were
 * never freed (a reference leaked).  Under AddressSanitizer each block has
 * redzones and is poisoned once freed; under valgrind the chunks are a
 * memcheck mempool, so a use of a freed block is reported by either.
 * Zero-initialise (struct arena a = { 0 }); release with arena_release.
 * Not to be shared between threads.
 */
#ifndef ARENA_H
#define ARENA_H

#include <stddef.h>

/* bytes: a chunk's room for blocks; a larger block gets a chunk of its own */
#define ARENA_CHUNK (16 * 1024)
/* bytes of chunks arena_reset keeps for the next request, at most */
#define ARENA_KEEP (64 * 1024)
/* every block's alignment */
#define ARENA_ALIGN 16

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(ARENA_ASAN)
#define ARENA_ASAN 1
#endif
/* bytes of redzone before and after each block: AddressSanitizer's only */
#ifdef ARENA_ASAN
#define ARENA_REDZONE ARENA_ALIGN
#else
#define ARENA_REDZONE 0
#endif

struct arena_chunk;

struct arena {
	struct arena_chunk *head;  /* chunks in use, the one filling first */
	struct arena_chunk *spare; /* empty chunks kept for reuse */
	size_t allocs;             /* blocks handed out since the reset */
	size_t frees;              /* blocks freed since the reset */
	size_t chunks;             /* chunks malloc'ed since arena_release */
	int pool;                  /* the memcheck mempool exists */
};

/*
 * arena_alloc: n bytes aligned to ARENA_ALIGN, valid until arena_reset;
 * NULL when out of memory.  (A zero-byte block is a one-byte one.)
 */
void *arena_alloc(struct arena *a, size_t n);

/* arena_free: count p, a block of a, as freed (NULL is ignored). */
void arena_free(struct arena *a, void *p);

/*
 * arena_reset: wipe every byte the blocks used (sodium_memzero), keep
 * up to ARENA_KEEP bytes of chunks for the next request and free the
 * others.  Returns the blocks allocated and never freed since the last
 * reset: 0 unless a reference was leaked.
 */
size_t arena_reset(struct arena *a);

/* arena_release: arena_reset, then free every chunk; a stays usable. */
void arena_release(struct arena *a);

#endif
