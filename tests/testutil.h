/* Helpers shared by the Check suites: fixtures and temp directories. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stddef.h>

/*
 * fixture_read: the bytes of tests/fixtures/events/NAME (or of
 * $B24_FIXTURES/NAME), NUL-terminated, length in *len; aborts the test on
 * failure.  The caller frees the result.
 */
char *fixture_read(const char *name, size_t *len);

/* tmpdir_make / tmpdir_remove: a fresh directory, and its removal. */
char *tmpdir_make(void);
void tmpdir_remove(char *dir);

#endif
