#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "limit.h"
#include "testutil.h"
#include "sink.h"

/* the sink of the current test: made in setup, closed in teardown */
static struct sink sink;

/* the concurrency test: writers, records each, every EVERY-th one big */
#define WRITERS 8
#define RECORDS 200
#define EVERY 20
/* bytes: a big record, well over PIPE_BUF */
#define BIG 10240

/* ms: an append that did not wait for a lock takes less, far less */
#define PROMPT_MS (LIMIT_LOCK_WAIT_MS / 4)
/* ms: how long a lock held for a while is held */
#define HELD_MS 300

static void
setup(void)
{
	/* so SINK_MODE reaches the file unchanged */
	umask(022);
	tmpdir_setup();
	memset(&sink, 0, sizeof(sink));
}

static void
teardown(void)
{
	sink_close(&sink);
	tmpdir_teardown();
}

/* in a forked child: its own sink, as sink.h asks, not the parent's */
static void
child_sink(void)
{
	sink_close(&sink);
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
	return sink_append(&sink, dir, portal, s, strlen(s), sync, err);
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

/*
 * fds_on: this process's descriptors open on path, as /proc/self/fd
 * names their files (a renamed file by its new name, a deleted one with
 * " (deleted)" after it), or on any file under path when it ends in '/'.
 * path is under tmpdir.  Each one found must be close-on-exec.
 */
static int
fds_on(const char *path)
{
	char real[PATH_MAX], want[2 * PATH_MAX], link[2 * PATH_MAX];
	char fdpath[64];
	size_t len = strlen(tmpdir);
	struct dirent *d;
	int n = 0, fd;
	ssize_t got;
	DIR *dp;

	ck_assert_int_eq(strncmp(path, tmpdir, len), 0);
	ck_assert_ptr_nonnull(realpath(tmpdir, real));
	snprintf(want, sizeof(want), "%s%s", real, path + len);
	len = strlen(want);
	ck_assert_ptr_nonnull(dp = opendir("/proc/self/fd"));
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' || (fd = atoi(d->d_name)) == dirfd(dp))
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		if ((got = readlink(fdpath, link, sizeof(link) - 1)) == -1)
			continue;
		link[got] = '\0';
		if (want[len - 1] == '/' ? strncmp(link, want, len) != 0
		                         : strcmp(link, want) != 0)
			continue;
		ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC,
		    "fd %d on %s not close-on-exec", fd, link);
		n++;
	}
	closedir(dp);
	return n;
}

/*
 * assert_refused: an append to tmpdir/p fails as storage with reason,
 * and no descriptor under tmpdir is left open.
 */
static void
assert_refused(const char *reason)
{
	struct err err;

	ck_assert_int_eq(append(tmpdir, "p", "x\n", 0, &err), -1);
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason, reason);
	ck_assert_int_eq(fds_on(tmp("")), 0);
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
	/* and its lock file */
	ck_assert_int_eq(entries(tmpdir), 2);
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

/* The same portal in two directories: two logs, each kept. */
START_TEST(test_two_dirs)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s", tmp("a"));
	snprintf(b, sizeof(b), "%s", tmp("b"));
	ck_assert_int_eq(mkdir(a, 0700), 0);
	ck_assert_int_eq(mkdir(b, 0700), 0);
	assert_ok(a, "p", "a1\n", 0);
	assert_ok(b, "p", "b1\n", 0);
	assert_ok(a, "p", "a2\n", 0);
	assert_content(tmp("a/p.jsonl"), "a1\na2\n");
	assert_content(tmp("b/p.jsonl"), "b1\n");
	ck_assert_int_eq(fds_on(tmp("a/p.jsonl")), 1);
	ck_assert_int_eq(fds_on(tmp("b/p.jsonl")), 1);
}
END_TEST

/* The log stays open between appends, close-on-exec, and unlocked. */
START_TEST(test_kept_open)
{
	int fd;

	assert_ok(tmpdir, "p", "a\n", 0);
	ck_assert_int_eq(fds_on(tmp("p.jsonl")), 1);
	assert_ok(tmpdir, "p", "b\n", 0);
	/* the log and its lock file */
	ck_assert_int_eq(fds_on(tmp(".p.lock")), 1);
	ck_assert_int_eq(fds_on(tmp("")), 2);
	/* the lock is released after the append, the descriptor kept */
	ck_assert_int_ne(fd = open(tmp(".p.lock"), O_RDONLY), -1);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	assert_content(tmp("p.jsonl"), "a\nb\n");
	sink_close(&sink);
	ck_assert_int_eq(fds_on(tmp("")), 0);
	/* and usable again */
	assert_ok(tmpdir, "p", "c\n", 0);
	assert_content(tmp("p.jsonl"), "a\nb\nc\n");
}
END_TEST

/*
 * Renamed away between appends (logrotate): the next append goes to a
 * new file at the name, and the renamed one is closed.
 */
START_TEST(test_renamed)
{
	struct stat st;

	assert_ok(tmpdir, "p", "a\n", 0);
	ck_assert_int_eq(rename(tmp("p.jsonl"), tmp("p.jsonl.1")), 0);
	assert_ok(tmpdir, "p", "b\n", 0);
	assert_content(tmp("p.jsonl"), "b\n");
	assert_content(tmp("p.jsonl.1"), "a\n");
	ck_assert_int_eq(lstat(tmp("p.jsonl"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, SINK_MODE);
	ck_assert_int_eq(fds_on(tmp("p.jsonl.1")), 0);
	ck_assert_int_eq(fds_on(tmp("p.jsonl")), 1);
	/* another file renamed over the name is seen too */
	ck_assert_int_eq(rename(tmp("p.jsonl.1"), tmp("p.jsonl")), 0);
	assert_ok(tmpdir, "p", "c\n", 0);
	assert_content(tmp("p.jsonl"), "a\nc\n");
	ck_assert_int_eq(fds_on(tmp("")), 2);
}
END_TEST

/* Deleted between appends: made again, and the deleted one closed. */
START_TEST(test_deleted)
{
	struct stat st;

	assert_ok(tmpdir, "p", "a\n", 0);
	ck_assert_int_eq(unlink(tmp("p.jsonl")), 0);
	assert_ok(tmpdir, "p", "b\n", 0);
	assert_content(tmp("p.jsonl"), "b\n");
	ck_assert_int_eq(lstat(tmp("p.jsonl"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, SINK_MODE);
	ck_assert_int_eq(fds_on(tmp("")), 2);
	ck_assert_int_eq(entries(tmpdir), 2);
}
END_TEST

/* A symlink put at a kept log's name: refused as one found at open. */
START_TEST(test_symlink_later)
{
	assert_ok(tmpdir, "p", "a\n", 0);
	ck_assert_int_eq(rename(tmp("p.jsonl"), tmp("target.jsonl")), 0);
	ck_assert_int_eq(symlink("target.jsonl", tmp("p.jsonl")), 0);
	assert_refused("open errno=ELOOP");
	assert_content(tmp("target.jsonl"), "a\n");

	/* the name a log again, kept; then a dangling symlink in its place */
	ck_assert_int_eq(unlink(tmp("p.jsonl")), 0);
	assert_ok(tmpdir, "p", "b\n", 0);
	ck_assert_int_eq(rename(tmp("p.jsonl"), tmp("b.jsonl")), 0);
	ck_assert_int_eq(symlink("new.jsonl", tmp("p.jsonl")), 0);
	assert_refused("open errno=ELOOP");
	ck_assert_int_eq(access(tmp("new.jsonl"), F_OK), -1);
	assert_content(tmp("b.jsonl"), "b\n");
	assert_content(tmp("target.jsonl"), "a\n");
}
END_TEST

/*
 * A kept log replaced by a directory, then by a FIFO: refused as at open,
 * and appended to again once the file is back.
 */
START_TEST(test_replaced)
{
	assert_ok(tmpdir, "p", "a\n", 0);
	ck_assert_int_eq(rename(tmp("p.jsonl"), tmp("away")), 0);
	ck_assert_int_eq(mkdir(tmp("p.jsonl"), 0700), 0);
	assert_refused("open errno=EISDIR");
	ck_assert_int_eq(rmdir(tmp("p.jsonl")), 0);
	ck_assert_int_eq(rename(tmp("away"), tmp("p.jsonl")), 0);
	assert_ok(tmpdir, "p", "b\n", 0);

	ck_assert_int_eq(rename(tmp("p.jsonl"), tmp("away")), 0);
	ck_assert_int_eq(mkfifo(tmp("p.jsonl"), 0600), 0);
	assert_refused("not a regular file");
	ck_assert_int_eq(unlink(tmp("p.jsonl")), 0);
	ck_assert_int_eq(rename(tmp("away"), tmp("p.jsonl")), 0);
	assert_ok(tmpdir, "p", "c\n", 0);
	assert_content(tmp("p.jsonl"), "a\nb\nc\n");
	ck_assert_int_eq(fds_on(tmp("")), 2);
}
END_TEST

/*
 * A kept log's mode changed: it must pass open()'s permission check
 * again.  File modes bind root only once it is another user, so as root
 * the child becomes nobody.
 */
START_TEST(test_mode_changed)
{
	struct err err;
	pid_t pid;
	int status;

	if (geteuid() == 0)
		ck_assert_int_eq(chown(tmpdir, 65534, 65534), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		child_sink();
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) == -1 || setgid(65534) == -1 ||
			setuid(65534) == -1))
			_exit(2);
		if (append(tmpdir, "p", "a\n", 0, &err) != 0)
			_exit(3);
		if (chmod(tmp("p.jsonl"), 0440) == -1)
			_exit(4);
		if (append(tmpdir, "p", "x\n", 0, &err) != -1 ||
		    strcmp(err.reason, "open errno=EACCES") != 0)
			_exit(5);
		/* write-only: appended to, not read */
		if (chmod(tmp("p.jsonl"), 0220) == -1 ||
		    append(tmpdir, "p", "b\n", 0, &err) != 0)
			_exit(6);
		if (chmod(tmp("p.jsonl"), 0640) == -1 ||
		    append(tmpdir, "p", "c\n", 0, &err) != 0)
			_exit(7);
		sink_close(&sink);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	assert_content(tmp("p.jsonl"), "a\nb\nc\n");
}
END_TEST

/* portals in the eviction test: more than a sink keeps */
#define PORTALS (SINK_SLOTS + 16)

static void
portal_name(char *buf, size_t size, int i, const char *suffix)
{
	snprintf(buf, size, "p%03d%s", i, suffix);
}

/*
 * More portals than slots: every record lands, at most SINK_SLOTS logs
 * (and their lock files) are open at once, and the least recently used
 * is the one closed.
 */
START_TEST(test_evict)
{
	char portal[16], name[32], line[32], want[128];
	int i, round;

	for (round = 0; round < 3; round++)
		for (i = 0; i < PORTALS; i++) {
			portal_name(portal, sizeof(portal), i, "");
			snprintf(line, sizeof(line), "%s %d\n", portal, round);
			assert_ok(tmpdir, portal, line, 0);
			ck_assert_int_le(fds_on(tmp("")), 2 * SINK_SLOTS);
		}
	ck_assert_int_eq(fds_on(tmp("")), 2 * SINK_SLOTS);
	for (i = 0; i < PORTALS; i++) {
		portal_name(name, sizeof(name), i, ".jsonl");
		ck_assert_int_eq(fds_on(tmp(name)), i >= PORTALS - SINK_SLOTS);
	}
	/* the oldest kept one used again: the next oldest makes room */
	portal_name(portal, sizeof(portal), PORTALS - SINK_SLOTS, "");
	assert_ok(tmpdir, portal, "again\n", 0);
	assert_ok(tmpdir, "new", "new\n", 0);
	portal_name(name, sizeof(name), PORTALS - SINK_SLOTS, ".jsonl");
	ck_assert_int_eq(fds_on(tmp(name)), 1);
	portal_name(name, sizeof(name), PORTALS - SINK_SLOTS + 1, ".jsonl");
	ck_assert_int_eq(fds_on(tmp(name)), 0);
	ck_assert_int_eq(fds_on(tmp("new.jsonl")), 1);
	ck_assert_int_eq(fds_on(tmp(".new.lock")), 1);
	ck_assert_int_eq(fds_on(tmp("")), 2 * SINK_SLOTS);

	for (i = 0; i < PORTALS; i++) {
		portal_name(portal, sizeof(portal), i, "");
		portal_name(name, sizeof(name), i, ".jsonl");
		snprintf(want, sizeof(want), "%s 0\n%s 1\n%s 2\n%s", portal,
		    portal, portal, i == PORTALS - SINK_SLOTS ? "again\n" : "");
		assert_content(tmp(name), want);
	}
	assert_content(tmp("new.jsonl"), "new\n");
	ck_assert_int_eq(entries(tmpdir), 2 * (PORTALS + 1));
	sink_close(&sink);
	ck_assert_int_eq(fds_on(tmp("")), 0);
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
		    sink_append(&sink, dir, bad_portals[i], "x\n", 2, 0, &err),
		    -1);
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
		child_sink();
		/* room for part of the record: a short write, then EFBIG */
		signal(SIGXFSZ, SIG_IGN);
		getrlimit(RLIMIT_FSIZE, &rl);
		rl.rlim_cur = 6 + 4 + 1000;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(2);
		/* the log kept open by a good append, then the failed one */
		if (append(tmpdir, "p", "mid\n", 0, &err) != 0 ||
		    fds_on(tmp("p.jsonl")) != 1)
			_exit(3);
		if (sink_append(&sink, tmpdir, "p", big, sizeof(big), 0,
			&err) != -1)
			_exit(4);
		if (err.code != ERR_STORAGE_UNAVAILABLE ||
		    strcmp(err.reason, "write errno=EFBIG") != 0)
			_exit(5);
		/* the failed descriptor is closed, not kept */
		_exit(fds_on(tmp("p.jsonl")) == 0 ? 0 : 6);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	assert_content(tmp("p.jsonl"), "first\nmid\n");
	assert_ok(tmpdir, "p", "second\n", 0);
	assert_content(tmp("p.jsonl"), "first\nmid\nsecond\n");
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

/* write_raw: append s to tmpdir/p.jsonl as a writer without the sink */
static void
write_raw(const char *s)
{
	int fd;

	ck_assert_int_ne(fd = open(tmp("p.jsonl"), O_WRONLY | O_APPEND), -1);
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

/* A kept log torn by another writer meanwhile: healed under the lock. */
START_TEST(test_heal_kept)
{
	assert_ok(tmpdir, "p", "a\n", 0);
	write_raw("part");
	assert_ok(tmpdir, "p", "next\n", 0);
	assert_content(tmp("p.jsonl"), "a\nnext\n");
	ck_assert_int_eq(fds_on(tmp("p.jsonl")), 1);
}
END_TEST

/*
 * Between two appends of a kept log, another worker's whole line and
 * then a torn one: the torn one is cut, the whole one kept.
 */
START_TEST(test_heal_after_other)
{
	static struct sink other;
	struct err err;

	assert_ok(tmpdir, "p", "a\n", 0);
	ck_assert_int_eq(
	    sink_append(&other, tmpdir, "p", "b\n", 2, 0, &err), 0);
	write_raw("part");
	assert_ok(tmpdir, "p", "next\n", 0);
	assert_content(tmp("p.jsonl"), "a\nb\nnext\n");
	/* and the other worker's next append, after this one's */
	write_raw("torn");
	ck_assert_int_eq(
	    sink_append(&other, tmpdir, "p", "c\n", 2, 0, &err), 0);
	assert_content(tmp("p.jsonl"), "a\nb\nnext\nc\n");
	sink_close(&other);
}
END_TEST

/*
 * A kept log truncated between two appends (copytruncate, an operator),
 * then torn by another writer: cut back all the same.
 */
START_TEST(test_heal_truncated)
{
	assert_ok(tmpdir, "p", "aaaa\nbbbb\n", 0);
	ck_assert_int_eq(truncate(tmp("p.jsonl"), 7), 0);
	assert_ok(tmpdir, "p", "next\n", 0);
	assert_content(tmp("p.jsonl"), "aaaa\nnext\n");

	/* torn shorter than what this sink left */
	ck_assert_int_eq(truncate(tmp("p.jsonl"), 0), 0);
	write_raw("part");
	assert_ok(tmpdir, "p", "x\n", 0);
	assert_content(tmp("p.jsonl"), "x\n");

	/* torn longer than what this sink left */
	ck_assert_int_eq(truncate(tmp("p.jsonl"), 0), 0);
	write_raw("a\nlonger");
	assert_ok(tmpdir, "p", "y\n", 0);
	assert_content(tmp("p.jsonl"), "a\ny\n");
}
END_TEST

/*
 * An append of bytes that do not end in '\n' is a torn tail to the next
 * append, as another writer's would be.
 */
START_TEST(test_heal_own_tail)
{
	assert_ok(tmpdir, "p", "whole\npart", 0);
	assert_ok(tmpdir, "p", "next\n", 0);
	assert_content(tmp("p.jsonl"), "whole\nnext\n");
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
	if ((pid = fork()) == 0) {
		child_sink();
		_exit(sink_append(&sink, tmpdir, "p", buf, sizeof(buf), 0,
			  &err) != 0);
	}
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

	/* each writer keeps its log open: the lock alone orders them */
	child_sink();
	for (i = 0; i < RECORDS; i++) {
		len = make_record(buf, w, i);
		if (sink_append(&sink, tmpdir, "p", buf, len, 0, &err) == -1)
			_exit(1);
	}
	sink_close(&sink);
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

/* ms_since: milliseconds from t0 to now, both CLOCK_MONOTONIC */
static long long
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000LL +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * hold_lock: fork a child that takes flock(LOCK_EX) on path (creating it
 * SINK_LOCK_MODE if absent) and holds it for ms, or until killed when ms
 * is negative.  Returns the child's pid once it holds the lock.
 */
static pid_t
hold_lock(const char *path, int ms)
{
	struct timespec nap = {ms / 1000, ms % 1000 * 1000000L};
	int pfd[2], fd;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		child_sink();
		close(pfd[0]);
		if ((fd = open(path, O_RDONLY | O_CREAT, SINK_LOCK_MODE)) ==
		        -1 ||
		    flock(fd, LOCK_EX) == -1 || write(pfd[1], "x", 1) != 1)
			_exit(2);
		if (ms < 0)
			for (;;)
				pause();
		nanosleep(&nap, NULL);
		_exit(0);
	}
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	return pid;
}

/* reap: end a hold_lock child, if it has not ended, and wait for it */
static void
reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

static const int reader_locks[] = {LOCK_SH, LOCK_EX};

/*
 * A reader of the log (group adm reads it) holding flock() on it, shared
 * or exclusive, for as long as it likes, does not hold up an append: by
 * a kept descriptor or by one opened afresh (plain CGI).
 */
START_TEST(test_reader_lock)
{
	struct timespec t0;
	int fd;

	assert_ok(tmpdir, "p", "a\n", 0);
	ck_assert_int_ne(fd = open(tmp("p.jsonl"), O_RDONLY), -1);
	ck_assert_int_eq(flock(fd, reader_locks[_i]), 0);
	/* an append that waits for the reader waits forever: end it */
	alarm(10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_ok(tmpdir, "p", "b\n", 0);
	ck_assert_int_lt(ms_since(&t0), PROMPT_MS);
	sink_close(&sink);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_ok(tmpdir, "p", "c\n", 1);
	ck_assert_int_lt(ms_since(&t0), PROMPT_MS);
	alarm(0);
	close(fd);
	assert_content(tmp("p.jsonl"), "a\nb\nc\n");
}
END_TEST

/*
 * The lock file: made SINK_LOCK_MODE whatever the umask, the process's
 * own, kept open close-on-exec beside the log, never written.
 */
START_TEST(test_lock_file)
{
	struct stat st;

	umask(0);
	assert_ok(tmpdir, "p", "a\n", 0);
	assert_ok(tmpdir, "p", "b\n", 1);
	ck_assert_int_eq(lstat(tmp(".p.lock"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, SINK_LOCK_MODE);
	ck_assert_int_eq(SINK_LOCK_MODE, 0600);
	ck_assert_int_eq(st.st_uid, geteuid());
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(fds_on(tmp(".p.lock")), 1);
	ck_assert_int_eq(fds_on(tmp("")), 2);
	sink_close(&sink);
	ck_assert_int_eq(fds_on(tmp("")), 0);
	assert_content(tmp("p.jsonl"), "a\nb\n");
}
END_TEST

/*
 * A lock file others could open (and so lock), or that is no regular
 * file: refused, no descriptor kept, nothing written, and appended to
 * once it is gone.
 */
static const struct {
	const char *what, *reason;
} bad_locks[] = {
    {"mode 0644", "lock not private"},
    {"mode 0606", "lock not private"},
    {"another user's, to root", ""},
    {"a symlink", "lock open errno=ELOOP"},
    {"a FIFO", "lock not a regular file"},
    {"a directory", "lock open errno=EISDIR"},
};

/* owner_of: path's owner, not followed */
static uid_t
owner_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	return st.st_uid;
}

START_TEST(test_lock_refused)
{
	char lock[PATH_MAX];
	int fd = -1;

	snprintf(lock, sizeof(lock), "%s", tmp(".p.lock"));
	switch (_i) {
	case 0:
	case 1:
		ck_assert_int_ne(fd = open(lock, O_CREAT | O_RDONLY, 0600), -1);
		ck_assert_int_eq(fchmod(fd, _i == 0 ? 0644 : 0606), 0);
		break;
	case 2:
		if (geteuid() != 0)
			return; /* only root can give a file away */
		ck_assert_int_ne(fd = open(lock, O_CREAT | O_RDONLY, 0600), -1);
		ck_assert_int_eq(fchown(fd, 65534, 65534), 0);
		close(fd);
		/*
		 * root (b24hookctl writing an install record) appends
		 * through the responder's private lock, leaving it the
		 * responder's; another user could not open it at all
		 */
		assert_ok(tmpdir, "p", "a\n", 0);
		assert_content(tmp("p.jsonl"), "a\n");
		ck_assert_int_eq(owner_of(lock), 65534);
		return;
	case 3:
		ck_assert_int_eq(symlink("target", lock), 0);
		break;
	case 4:
		ck_assert_int_eq(mkfifo(lock, 0600), 0);
		break;
	case 5:
		ck_assert_int_eq(mkdir(lock, 0700), 0);
		break;
	}
	if (fd != -1)
		close(fd);
	assert_refused(bad_locks[_i].reason);
	assert_refused(bad_locks[_i].reason);
	ck_assert_int_eq(access(tmp("target"), F_OK), -1);
	ck_assert_msg(file_size(tmp("p.jsonl")) == 0,
	    "lock file %s: log written", bad_locks[_i].what);
	ck_assert_int_eq(_i == 5 ? rmdir(lock) : unlink(lock), 0);
	assert_ok(tmpdir, "p", "a\n", 0);
	assert_content(tmp("p.jsonl"), "a\n");
}
END_TEST

/*
 * A kept lock file deleted, and made again by another process that holds
 * it: the append locks the file at the name, as that process did, and so
 * waits for it.
 */
START_TEST(test_lock_replaced)
{
	struct timespec t0;
	pid_t pid;

	assert_ok(tmpdir, "p", "a\n", 0);
	ck_assert_int_eq(unlink(tmp(".p.lock")), 0);
	pid = hold_lock(tmp(".p.lock"), HELD_MS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_ok(tmpdir, "p", "b\n", 0);
	ck_assert_int_ge(ms_since(&t0), HELD_MS / 2);
	reap(pid);
	/* the deleted one closed, the new one kept */
	ck_assert_int_eq(fds_on(tmp(".p.lock")), 1);
	ck_assert_int_eq(fds_on(tmp("")), 2);
	assert_content(tmp("p.jsonl"), "a\nb\n");
}
END_TEST

/*
 * A stop signal pending (held blocked, as the responder holds it while
 * it serves a request) ends a wait for the lock at once; another signal
 * does not.  A lock nobody holds is taken, a stop pending or not.
 */
static const struct {
	int sig, stops;
} pending[] = {
    {SIGTERM, 1},
    {SIGINT, 1},
    {SIGHUP, 1},
    {SIGQUIT, 1},
    {SIGUSR1, 1},
    {SIGUSR2, 0},
};

START_TEST(test_lock_stopped)
{
	struct timespec t0;
	struct err err;
	sigset_t set;
	pid_t pid;
	int sig;

	assert_ok(tmpdir, "p", "a\n", 0);
	sigemptyset(&set);
	sigaddset(&set, pending[_i].sig);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	pid = hold_lock(tmp(".p.lock"), pending[_i].stops ? -1 : HELD_MS);
	ck_assert_int_eq(raise(pending[_i].sig), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pending[_i].stops) {
		ck_assert_int_eq(append(tmpdir, "p", "x\n", 0, &err), -1);
		ck_assert_int_lt(ms_since(&t0), PROMPT_MS);
		ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
		ck_assert_str_eq(err.reason, "lock wait stopped");
		ck_assert_int_eq(fds_on(tmp("")), 0);
		reap(pid);
		assert_ok(tmpdir, "p", "b\n", 0);
	} else {
		assert_ok(tmpdir, "p", "b\n", 0);
		ck_assert_int_ge(ms_since(&t0), HELD_MS / 2);
		reap(pid);
	}
	/* still pending: taken, then unblocked */
	ck_assert_int_eq(sigwait(&set, &sig), 0);
	ck_assert_int_eq(sig, pending[_i].sig);
	ck_assert_int_eq(sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
	assert_content(tmp("p.jsonl"), "a\nb\n");
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
	ck_assert_int_eq(entries(tmpdir), 2);
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

/*
 * LIMIT_LOCK_WAIT_MS: a lock held for less is waited for; one held for
 * longer fails the append at the limit, with nothing written, and the
 * log is appended to once the holder is gone.
 */
START_TEST(test_limit_lock_wait)
{
	struct timespec t0;
	struct err err;
	long long ms;
	pid_t pid;

	assert_ok(tmpdir, "p", "a\n", 0);
	/* released well before the limit, however late the child wakes */
	pid = hold_lock(tmp(".p.lock"), LIMIT_LOCK_WAIT_MS - 2 * HELD_MS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_ok(tmpdir, "p", "b\n", 0);
	ck_assert_int_ge(ms_since(&t0), LIMIT_LOCK_WAIT_MS - 3 * HELD_MS);
	reap(pid);

	pid = hold_lock(tmp(".p.lock"), -1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(append(tmpdir, "p", "x\n", 0, &err), -1);
	ms = ms_since(&t0);
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason, "lock timeout");
	ck_assert_int_ge(ms, LIMIT_LOCK_WAIT_MS);
	ck_assert_int_lt(ms, LIMIT_LOCK_WAIT_MS + 1000);
	ck_assert_int_eq(fds_on(tmp("")), 0);
	assert_content(tmp("p.jsonl"), "a\nb\n");
	reap(pid);
	assert_ok(tmpdir, "p", "c\n", 0);
	assert_content(tmp("p.jsonl"), "a\nb\nc\n");
}
END_TEST

static Suite *
sink_suite(void)
{
	Suite *s = suite_create("sink");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	/* valgrind runs the concurrency test many times slower */
	tcase_set_timeout(core, 120);
	tcase_add_test(core, test_create);
	tcase_add_test(core, test_concat);
	tcase_add_test(core, test_two_dirs);
	tcase_add_test(core, test_kept_open);
	tcase_add_test(core, test_renamed);
	tcase_add_test(core, test_deleted);
	tcase_add_test(core, test_symlink_later);
	tcase_add_test(core, test_replaced);
	tcase_add_test(core, test_mode_changed);
	tcase_add_test(core, test_evict);
	tcase_add_test(core, test_existing_mode);
	tcase_add_test(core, test_sync);
	tcase_add_test(core, test_bad_portal);
	tcase_add_test(core, test_dir_missing);
	tcase_add_test(core, test_path_is_dir);
	tcase_add_test(core, test_path_is_symlink);
	tcase_add_test(core, test_path_is_fifo);
	tcase_add_test(core, test_rollback);
	tcase_add_loop_test(core, test_heal, 0, sizeof(torn) / sizeof(torn[0]));
	tcase_add_test(core, test_heal_kept);
	tcase_add_test(core, test_heal_after_other);
	tcase_add_test(core, test_heal_truncated);
	tcase_add_test(core, test_heal_own_tail);
	tcase_add_test(core, test_heal_long);
	tcase_add_test(core, test_killed_writer);
	tcase_add_test(core, test_concurrent);
	tcase_add_loop_test(core, test_reader_lock, 0,
	    sizeof(reader_locks) / sizeof(reader_locks[0]));
	tcase_add_test(core, test_lock_file);
	tcase_add_loop_test(core, test_lock_refused, 0,
	    sizeof(bad_locks) / sizeof(bad_locks[0]));
	tcase_add_test(core, test_lock_replaced);
	tcase_add_loop_test(
	    core, test_lock_stopped, 0, sizeof(pending) / sizeof(pending[0]));
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(limits, setup, teardown);
	/* the lock wait takes its limit, LIMIT_LOCK_WAIT_MS */
	tcase_set_timeout(limits, 120);
	tcase_add_test(limits, test_limit_portal);
	tcase_add_test(limits, test_limit_path);
	tcase_add_test(limits, test_limit_lock_wait);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(sink_suite());
}
