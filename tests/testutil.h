/* Helpers shared by the Check suites: fixtures, temp directories, main. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stddef.h>

#include <check.h>

/* fixture_dir: $B24_FIXTURES, or tests/fixtures/events (make runs in the root). */
const char *fixture_dir(void);

/*
 * fixture_read: the bytes of fixture_dir()/NAME, NUL-terminated, length in *len; fails the test
 * when it cannot be read.  The caller frees the result.
 */
char *fixture_read(const char *name, size_t *len);

/*
 * The current test's temp directory: made by tmpdir_setup and removed
 * with everything in it by tmpdir_teardown (use them as a checked
 * fixture).
 */
extern char tmpdir[];
void tmpdir_setup(void);
void tmpdir_teardown(void);

/* tmp: "tmpdir/name", in one of two static buffers used in turn. */
const char *tmp(const char *name);

/* repeat: head, then n times piece, then tail; the caller frees it. */
char *repeat(const char *head, const char *piece, size_t n,
    const char *tail);

/* log_lines: the lines of dir/portal.jsonl; 0 when it does not exist. */
size_t log_lines(const char *dir, const char *portal);

/* suite_main: start libsodium, run s, and return main's exit status. */
int suite_main(Suite *s);

#endif
