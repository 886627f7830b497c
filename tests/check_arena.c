/* The per-request arena: chunks, alignment, wiping, counts, checkers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <valgrind/memcheck.h>

#include "arena.h"
#include "testutil.h"

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* bytes a block of n takes in its chunk */
static size_t
footprint(size_t n)
{
	return ((n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1)) +
	    2 * ARENA_REDZONE;
}

/* read n bytes at p that the checkers hold inaccessible: is all zero? */
static int
wiped(const unsigned char *p, size_t n)
{
	size_t i;
	int zero = 1;

#ifdef ARENA_ASAN
	ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
	VALGRIND_MAKE_MEM_DEFINED(p, n);
	for (i = 0; i < n; i++)
		if (p[i] != 0)
			zero = 0;
#ifdef ARENA_ASAN
	ASAN_POISON_MEMORY_REGION(p, n);
#endif
	VALGRIND_MAKE_MEM_NOACCESS(p, n);
	return zero;
}

START_TEST(alignment)
{
	static const size_t sizes[] = { 0, 1, 7, 8, 15, 16, 17, 31, 100, 4095,
		ARENA_CHUNK / 2, ARENA_CHUNK + 1 };
	struct arena a = { 0 };
	unsigned char *p[sizeof(sizes) / sizeof(sizes[0])];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = arena_alloc(&a, sizes[i]);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq((uintptr_t)p[i] % ARENA_ALIGN, 0);
		memset(p[i], 0x5a, sizes[i] ? sizes[i] : 1);
	}
	/* no block overlaps the one before it */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		ck_assert_int_eq(p[i][0], 0x5a);
	arena_release(&a);
}
END_TEST

START_TEST(counts)
{
	struct arena a = { 0 };
	void *p, *q, *r;

	p = arena_alloc(&a, 10);
	q = arena_alloc(&a, 20);
	r = arena_alloc(&a, 30);
	arena_free(&a, p);
	arena_free(&a, NULL); /* not a block: not counted */
	arena_free(&a, r);
	ck_assert_uint_eq(arena_reset(&a), 1);
	(void)q;
	ck_assert_uint_eq(arena_reset(&a), 0);
	p = arena_alloc(&a, 10);
	arena_free(&a, p);
	ck_assert_uint_eq(arena_reset(&a), 0);
	arena_release(&a);
}
END_TEST

/* what the blocks held is zero after reset, in every chunk */
START_TEST(reset_wipes)
{
	struct arena a = { 0 };
	unsigned char *small, *big;

	small = arena_alloc(&a, 40);
	memcpy(small, "application_token=0123456789abcdef0123", 39);
	big = arena_alloc(&a, ARENA_CHUNK + 100);
	memset(big, 0x77, ARENA_CHUNK + 100);
	arena_free(&a, small);
	/* small's chunk is kept: look at it after the reset */
	ck_assert_uint_eq(arena_reset(&a), 1);
	ck_assert(wiped(small, 40));
	/* the next request is given the same, wiped memory */
	ck_assert_ptr_eq(arena_alloc(&a, 40), small);
	(void)big;
	arena_release(&a);
}
END_TEST

/* A reference jansson never gives back is counted at the reset. */
static struct arena json_test_arena;

static void *
test_alloc(size_t n)
{
	return arena_alloc(&json_test_arena, n);
}

static void
test_free(void *p)
{
	arena_free(&json_test_arena, p);
}

START_TEST(leaked_reference)
{
	json_t *o;

	json_set_alloc_funcs(test_alloc, test_free);
	o = json_pack(
	    "{s:s, s:[i, i]}", "application_token", "secret", "ids", 1, 2);
	ck_assert_ptr_nonnull(o);
	json_decref(o);
	ck_assert_uint_eq(arena_reset(&json_test_arena), 0);

	o = json_pack("{s:s}", "application_token", "secret");
	json_incref(o); /* the leak */
	json_decref(o);
	ck_assert_uint_gt(arena_reset(&json_test_arena), 0);
	json_set_alloc_funcs(malloc, free);
	arena_release(&json_test_arena);
}
END_TEST

/* one chunk holds ARENA_CHUNK bytes of blocks; one byte more, two */
START_TEST(chunk_growth)
{
	struct arena a = { 0 };
	size_t n = ARENA_CHUNK / footprint(16), i;

	for (i = 0; i < n; i++)
		ck_assert_ptr_nonnull(arena_alloc(&a, 16));
	ck_assert_uint_eq(a.chunks, 1);
	ck_assert_ptr_nonnull(arena_alloc(&a, 16));
	ck_assert_uint_eq(a.chunks, 2);
	ck_assert_uint_eq(arena_reset(&a), n + 1);
	/* both kept: the same again takes no new chunk */
	for (i = 0; i <= n; i++)
		ck_assert_ptr_nonnull(arena_alloc(&a, 16));
	ck_assert_uint_eq(a.chunks, 2);
	arena_release(&a);
	ck_assert_uint_eq(a.chunks, 0);
}
END_TEST

/* a block that fills a chunk exactly, then one byte over */
START_TEST(chunk_exact)
{
	struct arena a = { 0 };
	size_t n = ARENA_CHUNK - 2 * ARENA_REDZONE;

	ck_assert_ptr_nonnull(arena_alloc(&a, n));
	ck_assert_uint_eq(a.chunks, 1);
	ck_assert_ptr_nonnull(arena_alloc(&a, 1));
	ck_assert_uint_eq(a.chunks, 2);
	arena_reset(&a);
	ck_assert_ptr_nonnull(arena_alloc(&a, n + 1)); /* a chunk of its own */
	ck_assert_uint_eq(a.chunks, 3);
	arena_release(&a);
}
END_TEST

/*
 * A block larger than a chunk gets one of its own, not kept after the
 * reset; the chunk being filled stays the one blocks come from.
 */
START_TEST(oversized)
{
	struct arena a = { 0 };
	unsigned char *p, *q, *r;

	p = arena_alloc(&a, 16);
	q = arena_alloc(&a, 3 * ARENA_CHUNK);
	ck_assert_ptr_nonnull(q);
	memset(q, 1, 3 * ARENA_CHUNK);
	ck_assert_uint_eq(a.chunks, 2);
	r = arena_alloc(&a, 16);
	ck_assert_ptr_eq(r, p + footprint(16));
	ck_assert_uint_eq(a.chunks, 2);
	arena_reset(&a);
	/* the small chunk is reused, the large one was freed */
	ck_assert_ptr_eq(arena_alloc(&a, 16), p);
	ck_assert_ptr_nonnull(arena_alloc(&a, 3 * ARENA_CHUNK));
	ck_assert_uint_eq(a.chunks, 3);
	arena_release(&a);
}
END_TEST

/* at most ARENA_KEEP bytes of chunks stay between requests */
START_TEST(keep)
{
	struct arena a = { 0 };
	size_t per = ARENA_CHUNK / footprint(1024), i;
	size_t chunks = ARENA_KEEP / ARENA_CHUNK + 2;

	for (i = 0; i < chunks * per; i++)
		ck_assert_ptr_nonnull(arena_alloc(&a, 1024));
	ck_assert_uint_eq(a.chunks, chunks);
	arena_reset(&a);
	for (i = 0; i < chunks * per; i++)
		ck_assert_ptr_nonnull(arena_alloc(&a, 1024));
	ck_assert_uint_eq(a.chunks, chunks + 2);
	arena_release(&a);
}
END_TEST

START_TEST(too_large)
{
	struct arena a = { 0 };

	ck_assert_ptr_null(arena_alloc(&a, SIZE_MAX));
	ck_assert_ptr_null(arena_alloc(&a, SIZE_MAX - 8));
	ck_assert_uint_eq(arena_reset(&a), 0);
	arena_release(&a);
}
END_TEST

#ifdef ARENA_ASAN
/* what ASan reports: a freed block, the redzones, a reset arena */
START_TEST(poisoned)
{
	struct arena a = { 0 };
	unsigned char *p, *q;

	p = arena_alloc(&a, 13);
	q = arena_alloc(&a, 40);
	ck_assert(!__asan_address_is_poisoned(p));
	ck_assert(!__asan_address_is_poisoned(p + 12));
	ck_assert(__asan_address_is_poisoned(p + 13));
	ck_assert(__asan_address_is_poisoned(p - 1));
	arena_free(&a, p);
	ck_assert(__asan_address_is_poisoned(p));
	ck_assert(!__asan_address_is_poisoned(q));
	arena_reset(&a);
	ck_assert(__asan_address_is_poisoned(q));
	arena_release(&a);
}
END_TEST
#endif

static Suite *
arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, alignment);
	tcase_add_test(core, counts);
	tcase_add_test(core, reset_wipes);
	tcase_add_test(core, leaked_reference);
#ifdef ARENA_ASAN
	tcase_add_test(core, poisoned);
#endif
	tcase_add_test(limits, chunk_growth);
	tcase_add_test(limits, chunk_exact);
	tcase_add_test(limits, oversized);
	tcase_add_test(limits, keep);
	tcase_add_test(limits, too_large);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(arena_suite());
}
