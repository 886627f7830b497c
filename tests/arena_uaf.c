/*
 * A use of a freed arena block, on purpose: tests/e2e/test_arena.sh runs
 * it built with AddressSanitizer (which must report it) and under
 * memcheck (which must too).  argv[1]: "free" reads a block after
 * arena_free, "reset" one after arena_reset, "none" reads nothing freed.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"

int
main(int argc, char **argv)
{
	struct arena a = { 0 };
	volatile char *p;
	char c = 0;

	if (argc != 2)
		return 2;
	p = arena_alloc(&a, 24);
	memcpy((char *)p, "application_token=abcde", 24);
	if (strcmp(argv[1], "free") == 0) {
		arena_free(&a, (void *)p);
		c = p[3];
	} else if (strcmp(argv[1], "reset") == 0) {
		arena_free(&a, (void *)p);
		arena_reset(&a);
		c = p[3];
	} else {
		c = p[3];
		arena_free(&a, (void *)p);
	}
	arena_release(&a);
	printf("%d\n", c != 0);
	return 0;
}
