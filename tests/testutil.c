#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "testutil.h"

char tmpdir[] = "/tmp/b24hook-test.XXXXXX";

const char *
fixture_dir(void)
{
	const char *dir = getenv("B24_FIXTURES");

	return dir != NULL ? dir : "tests/fixtures/events";
}

char *
fixture_read(const char *name, size_t *len)
{
	char path[PATH_MAX];
	char *data;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir(), name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s (set B24_FIXTURES)", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	ck_assert_int_ge(n = ftell(f), 0);
	rewind(f);
	ck_assert_ptr_nonnull(data = malloc((size_t)n + 1));
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	data[n] = '\0';
	*len = (size_t)n;
	return data;
}

void
tmpdir_setup(void)
{
	strcpy(tmpdir + sizeof(tmpdir) - 7, "XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

void
tmpdir_teardown(void)
{
	nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
tmp(const char *name)
{
	static char path[2][PATH_MAX];
	static int i;

	i = !i;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	return path[i];
}

int
suite_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

char *
repeat(const char *head, const char *piece, size_t n, const char *tail)
{
	size_t hl = strlen(head), pl = strlen(piece), tl = strlen(tail), i;
	char *s = malloc(hl + pl * n + tl + 1), *p;

	ck_assert_ptr_nonnull(s);
	p = s;
	memcpy(p, head, hl);
	p += hl;
	for (i = 0; i < n; i++, p += pl)
		memcpy(p, piece, pl);
	memcpy(p, tail, tl + 1);
	return s;
}

size_t
log_lines(const char *dir, const char *portal)
{
	char path[8200];
	size_t n = 0;
	FILE *f;
	int c;

	snprintf(path, sizeof(path), "%s/%s.jsonl", dir, portal);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}
