#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limit.h"
#include "testutil.h"
#include "sink.h"

/* the concurrency test: writers, records each, every EVERY-th one big */
#define WRITERS 8
#define RECORDS 200
#define EVERY 20
/* bytes: a big record, well over PIPE_BUF */
#define BIG 10240

static void
setup(void)
{
	/* so SINK_MODE reaches the file unchanged */
	umask(022);
	tmpdir_setup();
}


/* slurp: the whole file at path, NUL-terminated; the caller frees it */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *data;
	int fd;

	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_ptr_nonnull(data = malloc(st.st_size + 1));
	ck_assert_int_eq(read(fd, data, st.st_size), st.st_size);
	data[st.st_size] = '\0';
	close(fd);
	*len = st.st_size;
	return data;
}

static void
assert_content(const char *path, const char *want)
{
	size_t len;
	char *data = slurp(path, &len);

	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(data, want);
	free(data);
}

static int
append(const char *dir, const char *portal, const char *s, int sync,
    struct err *err)
{
	return sink_append(dir, portal, s, strlen(s), sync, err);
}

static void
assert_ok(const char *dir, const char *portal, const char *s, int sync)
{
	struct err err;

	ck_assert_msg(
	    append(dir, portal, s, sync, &err) == 0, "%s", err.reason);
}

/* entries: the number of names in dir, "." and ".." excluded */
static int
entries(const char *dir)
{
	struct dirent *d;
	DIR *dp;
	int n = 0;

	ck_assert_ptr_nonnull(dp = opendir(dir));
	while ((d = readdir(dp)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

START_TEST(test_create)
{
	struct stat st;

	assert_ok(tmpdir, "p1", "{\"a\":1}\n", 0);
	ck_assert_int_eq(lstat(tmp("p1.jsonl"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, SINK_MODE);
	ck_assert_int_eq(SINK_MODE, 0640);
	assert_content(tmp("p1.jsonl"), "{\"a\":1}\n");
	ck_assert_int_eq(entries(tmpdir), 1);
}
END_TEST

START_TEST(test_concat)
{
	assert_ok(tmpdir, "p", "{\"n\":1}\n", 0);
	assert_ok(tmpdir, "p", "{\"n\":2}\n{\"n\":3}\n", 0);
	assert_ok(tmpdir, "q", "{\"q\":1}\n", 0);
	assert_ok(tmpdir, "p", "", 0);
	assert_content(tmp("p.jsonl"), "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
	assert_content(tmp("q.jsonl"), "{\"q\":1}\n");
}
END_TEST

START_TEST(test_existing_mode)
{
	struct stat st;
	int fd;

	/* an existing file (say, made by logrotate) keeps its mode */
	ck_assert_int_ne(
	    fd = open(tmp("p.jsonl"), O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
	assert_ok(tmpdir, "p", "x\n", 0);
	ck_assert_int_eq(stat(tmp("p.jsonl"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, 2);
}
END_TEST

START_TEST(test_sync)
{
	assert_ok(tmpdir, "p", "{\"s\":1}\n", 1);
	assert_ok(tmpdir, "p", "{\"s\":2}\n", 1);
	assert_content(tmp("p.jsonl"), "{\"s\":1}\n{\"s\":2}\n");
}
END_TEST

static const char *const bad_portals[] = {
    "../x",
    "a/b",
    "",
    ".",
    "..",
    "a.b",
    "a b",
    "a\n",
    "p\xc3\xa9",
    "-x/../../x",
    NULL,
};

START_TEST(test_bad_portal)
{
	char dir[PATH_MAX];
	struct err err;
	size_t i, n = sizeof(bad_portals) / sizeof(bad_portals[0]);

	/* a subdirectory, so "../x" would land in tmpdir */
	snprintf(dir, sizeof(dir), "%s", tmp("logs"));
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(
		    sink_append(dir, bad_portals[i], "x\n", 2, 0, &err), -1);
		ck_assert_int_eq(err.code, ERR_CONFIG);
		ck_assert_str_eq(err.reason, "invalid portal name");
	}
	ck_assert_int_eq(entries(dir), 0);
	ck_assert_int_eq(entries(tmpdir), 1);
}
END_TEST

START_TEST(test_dir_missing)
{
	struct err err;

	ck_assert_int_eq(append(tmp("nope"), "p", "x\n", 0, &err), -1);
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason, "open errno=ENOENT");
}
END_TEST

START_TEST(test_path_is_dir)
{
	struct err err;

	ck_assert_int_eq(mkdir(tmp("p.jsonl"), 0700), 0);
	ck_assert_int_eq(append(tmpdir, "p", "x\n", 0, &err), -1);
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason, "open errno=EISDIR");
}
END_TEST

START_TEST(test_path_is_symlink)
{
	struct err err;

	assert_ok(tmpdir, "target", "old\n", 0);
	ck_assert_int_eq(symlink("target.jsonl", tmp("p.jsonl")), 0);
	ck_assert_int_eq(append(tmpdir, "p", "x\n", 0, &err), -1);
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason, "open errno=ELOOP");
	assert_content(tmp("target.jsonl"), "old\n");

	/* a dangling one is not followed to create its target either */
	ck_assert_int_eq(symlink("new.jsonl", tmp("q.jsonl")), 0);
	ck_assert_int_eq(append(tmpdir, "q", "x\n", 0, &err), -1);
	ck_assert_str_eq(err.reason, "open errno=ELOOP");
	ck_assert_int_eq(access(tmp("new.jsonl"), F_OK), -1);
}
END_TEST

START_TEST(test_path_is_fifo)
{
	struct err err;
	int fd;

	ck_assert_int_eq(mkfifo(tmp("p.jsonl"), 0600), 0);
	/*
	 * no reader: refused at once instead of blocking (the sink opens
	 * O_RDWR, which never blocks on a FIFO, and then sees its type)
	 */
	ck_assert_int_eq(append(tmpdir, "p", "x\n", 0, &err), -1);
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason, "not a regular file");

	ck_assert_int_ne(fd = open(tmp("p.jsonl"), O_RDONLY | O_NONBLOCK), -1);
	ck_assert_int_eq(append(tmpdir, "p", "x\n", 0, &err), -1);
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason, "not a regular file");
	close(fd);
}
END_TEST

/* fill_record: bytes of a big record, the last a newline */
static void
fill_record(char *buf, size_t len)
{
	memset(buf, 'x', len - 1);
	buf[len - 1] = '\n';
}

START_TEST(test_rollback)
{
	static char big[4096];
	struct rlimit rl;
	struct err err;
	pid_t pid;
	int status;

	assert_ok(tmpdir, "p", "first\n", 0);
	fill_record(big, sizeof(big));
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* room for part of the record: a short write, then EFBIG */
		signal(SIGXFSZ, SIG_IGN);
		getrlimit(RLIMIT_FSIZE, &rl);
		rl.rlim_cur = 6 + 1000;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(2);
		if (sink_append(tmpdir, "p", big, sizeof(big), 0, &err) != -1)
			_exit(3);
		_exit(err.code == ERR_STORAGE_UNAVAILABLE &&
		            strcmp(err.reason, "write errno=EFBIG") == 0
		        ? 0
		        : 4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	assert_content(tmp("p.jsonl"), "first\n");
	assert_ok(tmpdir, "p", "second\n", 0);
	assert_content(tmp("p.jsonl"), "first\nsecond\n");
}
END_TEST

/*
 * A log left torn by a writer that died inside write() (it ends without
 * '\n') is cut back to its last whole line by the next append.
 */
static const struct {
	const char *before, *after;
} torn[] = {
	{ "a\nb\npart", "a\nb\nnext\n" },
	{ "part", "next\n" },
	{ "a\n", "a\nnext\n" },
	{ "", "next\n" },
};

START_TEST(test_heal)
{
	int fd;

	ck_assert_int_ne(
	    fd = open(tmp("p.jsonl"), O_CREAT | O_WRONLY, 0640), -1);
	ck_assert_int_eq(write(fd, torn[_i].before, strlen(torn[_i].before)),
	    (ssize_t)strlen(torn[_i].before));
	close(fd);
	assert_ok(tmpdir, "p", "next\n", 0);
	assert_content(tmp("p.jsonl"), torn[_i].after);
}
END_TEST

/* A torn tail longer than heal()'s read chunk, and one after it. */
START_TEST(test_heal_long)
{
	static char data[3 * 4096 + 10];
	int fd;

	memset(data, 'x', sizeof(data));
	data[0] = 'a';
	data[1] = '\n';
	ck_assert_int_ne(
	    fd = open(tmp("p.jsonl"), O_CREAT | O_WRONLY, 0640), -1);
	ck_assert_int_eq(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	close(fd);
	assert_ok(tmpdir, "p", "next\n", 0);
	assert_content(tmp("p.jsonl"), "a\nnext\n");
}
END_TEST

/* bytes: a record big enough that SIGKILL can land inside its write() */
#define KILLED_RECORD (16 * 1048576)

/* st_size of path, -1 when absent */
static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * The real case: SIGKILL inside a large write() (Linux then keeps the
 * part already copied).  Whatever the kill left, the next append leaves
 * whole lines only.
 */
START_TEST(test_killed_writer)
{
	static char buf[KILLED_RECORD];
	struct err err;
	size_t len;
	char *data;
	pid_t pid;
	off_t size;
	int status;

	assert_ok(tmpdir, "p", "whole\n", 0);
	fill_record(buf, sizeof(buf));
	if ((pid = fork()) == 0)
		_exit(sink_append(tmpdir, "p", buf, sizeof(buf), 0, &err) != 0);
	ck_assert_int_ne(pid, -1);
	/* kill it once its write has begun */
	while ((size = file_size(tmp("p.jsonl"))) == 6 &&
	    waitpid(pid, &status, WNOHANG) == 0)
		;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_ok(tmpdir, "p", "next\n", 0);
	data = slurp(tmp("p.jsonl"), &len);
	ck_assert_int_eq(memcmp(data, "whole\n", 6), 0);
	ck_assert_int_eq(strcmp(data + len - 5, "next\n"), 0);
	ck_assert(len == 11 || len == 11 + sizeof(buf));
	free(data);
}
END_TEST

/* record_len: bytes of record i of writer w, newline included */
static size_t
record_len(int w, int i)
{
	if (i % EVERY == w % EVERY)
		return BIG + w * 7 + i;
	return 24 + (size_t)(w * 131 + i * 17) % 600;
}

static char
record_char(int w, int i)
{
	return 'a' + (w * 7 + i) % 26;
}

/* make_record: "w=W i=III n=NNNNN " then a letter up to the newline */
static size_t
make_record(char *buf, int w, int i)
{
	size_t len = record_len(w, i);
	int n;

	n = snprintf(buf, len, "w=%d i=%03d n=%05zu ", w, i, len);
	memset(buf + n, record_char(w, i), len - n - 1);
	buf[len - 1] = '\n';
	return len;
}

static int
check_record(const char *line, size_t len, char seen[][RECORDS])
{
	int w, i, off;
	size_t n, k;

	if (sscanf(line, "w=%d i=%d n=%zu %n", &w, &i, &n, &off) != 3)
		return 0;
	if (w < 0 || w >= WRITERS || i < 0 || i >= RECORDS || seen[w][i])
		return 0;
	if (n != len + 1 || n != record_len(w, i))
		return 0;
	for (k = off; k < len; k++)
		if (line[k] != record_char(w, i))
			return 0;
	seen[w][i] = 1;
	return 1;
}

static void
writer(int w)
{
	static char buf[BIG + 4096];
	struct err err;
	size_t len;
	int i;

	for (i = 0; i < RECORDS; i++) {
		len = make_record(buf, w, i);
		if (sink_append(tmpdir, "p", buf, len, 0, &err) == -1)
			_exit(1);
	}
	_exit(0);
}

START_TEST(test_concurrent)
{
	static char seen[WRITERS][RECORDS];
	char *data, *line, *nl;
	pid_t pids[WRITERS];
	size_t len, lines = 0;
	int w, status;

	memset(seen, 0, sizeof(seen));
	for (w = 0; w < WRITERS; w++) {
		ck_assert_int_ne(pids[w] = fork(), -1);
		if (pids[w] == 0)
			writer(w);
	}
	for (w = 0; w < WRITERS; w++) {
		ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	data = slurp(tmp("p.jsonl"), &len);
	ck_assert(len > 0 && data[len - 1] == '\n');
	for (line = data; line < data + len; line = nl + 1) {
		nl = memchr(line, '\n', data + len - line);
		*nl = '\0';
		ck_assert_msg(check_record(line, nl - line, seen),
		    "line %zu broken: %.40s", lines + 1, line);
		lines++;
	}
	ck_assert_uint_eq(lines, WRITERS * RECORDS);
	free(data);
}
END_TEST

START_TEST(test_limit_portal)
{
	char portal[LIMIT_MEMBER_ID + 2], name[LIMIT_MEMBER_ID + 16];
	struct err err;

	memset(portal, 'm', LIMIT_MEMBER_ID);
	portal[LIMIT_MEMBER_ID] = '\0';
	assert_ok(tmpdir, portal, "x\n", 0);
	snprintf(name, sizeof(name), "%s.jsonl", portal);
	assert_content(tmp(name), "x\n");

	strcat(portal, "m");
	ck_assert_int_eq(append(tmpdir, portal, "x\n", 0, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "invalid portal name");
	ck_assert_int_eq(entries(tmpdir), 1);
}
END_TEST

/* long_dir: tmpdir spelt with "/." and "/" to exactly len bytes */
static void
long_dir(char *dir, size_t len)
{
	size_t n;

	n = (size_t)snprintf(dir, len + 1, "%s", tmpdir);
	while (n + 2 <= len) {
		memcpy(dir + n, "/.", 2);
		n += 2;
	}
	if (n < len)
		dir[n++] = '/';
	dir[n] = '\0';
}

START_TEST(test_limit_path)
{
	/* "/p.jsonl" is 8 bytes: the longest path is PATH_MAX - 1 */
	char dir[PATH_MAX + 1];
	struct err err;

	long_dir(dir, PATH_MAX - 1 - 8);
	assert_ok(dir, "p", "x\n", 0);
	assert_content(tmp("p.jsonl"), "x\n");

	long_dir(dir, PATH_MAX - 8);
	ck_assert_int_eq(append(dir, "p", "y\n", 0, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "log path too long");
	assert_content(tmp("p.jsonl"), "x\n");
}
END_TEST

static Suite *
sink_suite(void)
{
	Suite *s = suite_create("sink");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, tmpdir_teardown);
	/* valgrind runs the concurrency test many times slower */
	tcase_set_timeout(core, 120);
	tcase_add_test(core, test_create);
	tcase_add_test(core, test_concat);
	tcase_add_test(core, test_existing_mode);
	tcase_add_test(core, test_sync);
	tcase_add_test(core, test_bad_portal);
	tcase_add_test(core, test_dir_missing);
	tcase_add_test(core, test_path_is_dir);
	tcase_add_test(core, test_path_is_symlink);
	tcase_add_test(core, test_path_is_fifo);
	tcase_add_test(core, test_rollback);
	tcase_add_loop_test(core, test_heal, 0, sizeof(torn) / sizeof(torn[0]));
	tcase_add_test(core, test_heal_long);
	tcase_add_test(core, test_killed_writer);
	tcase_add_test(core, test_concurrent);
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(limits, setup, tmpdir_teardown);
	tcase_add_test(limits, test_limit_portal);
	tcase_add_test(limits, test_limit_path);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(sink_suite());
}
