/*
 * The allow-list editor: atomic, locked edits that keep every other
 * line byte for byte and the file's owner, group and mode.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "allowedit.h"
#include "allowlist.h"
#include "testutil.h"

/* as the fixture's allow-list, with what an operator adds by hand */
static const char text[] =
    "# member_id                        application_token label\r\n"
    "a223c6b3710f85df22e9377d6c4f7553 51856fefc120afa4b628cc82d3935cce "
    "seed-docs-portal\n"
    "\n"
    "  # an indented comment, kept as it is\t\n"
    "bac1cd5c8940947a75e0d71b1a84e348\t831c76b092f9f135d9b6b36c3a720757"
    "\trest docs # its comment\n"
    "bad/id token-of-a-bad-line\n"
    "bac1cd5c8940947a75e0d71b1a84e348 second-token\r\n";

static char path[4096];

static void
write_text(const char *p, const char *t, size_t len)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	ck_assert_uint_eq(fwrite(t, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* read_text: the file's bytes, NUL-terminated; free it */
static char *
read_text(const char *p, size_t *len)
{
	char *data;
	struct stat st;
	FILE *f;

	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_ptr_nonnull(data = malloc(st.st_size + 1));
	ck_assert_ptr_nonnull(f = fopen(p, "r"));
	*len = fread(data, 1, st.st_size, f);
	fclose(f);
	data[*len] = '\0';
	return data;
}

static void
setup(void)
{
	tmpdir_setup();
	snprintf(path, sizeof(path), "%s", tmp("allow.txt"));
	write_text(path, text, sizeof(text) - 1);
	ck_assert_int_eq(chmod(path, 0640), 0);
}

/* entries in tmpdir but the list and its lock: temp files left over */
static int
strays(void)
{
	struct dirent *d;
	int n = 0;
	DIR *dp;

	ck_assert_ptr_nonnull(dp = opendir(tmpdir));
	while ((d = readdir(dp)) != NULL)
		n += d->d_name[0] != '.' && strcmp(d->d_name, "allow.txt") &&
		    strcmp(d->d_name, "allow.txt.lock");
	closedir(dp);
	return n;
}

START_TEST(test_fingerprint)
{
	char fp[ALLOWLIST_FP_SIZE];

	/* printf %s 51856fefc120afa4b628cc82d3935cce | b2sum -l 256 */
	allowlist_fingerprint("51856fefc120afa4b628cc82d3935cce", 32, fp);
	ck_assert_str_eq(fp, "a2fd0eb4");
	allowlist_fingerprint("", 0, fp);
	ck_assert_uint_eq(strlen(fp), 8);
}
END_TEST

START_TEST(test_entries)
{
	struct allowedit_entry *e;
	size_t n;
	struct err err;

	ck_assert_int_eq(allowedit_entries(text, sizeof(text) - 1, &e, &n,
			     &err),
	    0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(e[0].line, 2);
	ck_assert_str_eq(e[0].member_id, "a223c6b3710f85df22e9377d6c4f7553");
	ck_assert_str_eq(e[0].fingerprint, "a2fd0eb4");
	ck_assert_str_eq(e[0].label, "seed-docs-portal");
	ck_assert_uint_eq(e[1].line, 5);
	ck_assert_str_eq(e[1].label, "rest docs");
	ck_assert_uint_eq(e[2].line, 7);
	ck_assert_str_eq(e[2].label, "");
	free(e);
	/* a last line without its newline may be half written: no entry */
	ck_assert_int_eq(allowedit_entries("p tok\nq tok", 11, &e, &n, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	free(e);
	ck_assert_int_eq(allowedit_entries("", 0, &e, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(e);
}
END_TEST

/* Add: one new line at the end; the rest byte for byte; the responder's
 * parser takes it. */
START_TEST(test_add)
{
	struct allowlist *list;
	struct allowedit ed;
	struct stat before, after;
	struct err err;
	char *data;
	size_t len;
	int added;

	ck_assert_int_eq(stat(path, &before), 0);
	ck_assert_int_eq(allowedit_open(&ed, path, &err), 0);
	ck_assert_int_eq(allowedit_find(&ed, "newportal", "new-token", 9),
	    ALLOWEDIT_ABSENT);
	ck_assert_int_eq(allowedit_find(&ed,
			     "bac1cd5c8940947a75e0d71b1a84e348", "new-token",
			     9),
	    ALLOWEDIT_OTHER);
	ck_assert_int_eq(allowedit_find(&ed,
			     "bac1cd5c8940947a75e0d71b1a84e348", "second-token",
			     12),
	    ALLOWEDIT_LISTED);
	ck_assert_int_eq(allowedit_add(&ed, "newportal", "new-token", 9,
			     "portal.bitrix24.com", &added, &err),
	    0);
	ck_assert_int_eq(added, 1);
	ck_assert_int_eq(allowedit_add(&ed, "newportal", "new-token", 9,
			     "again", &added, &err),
	    0);
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(allowedit_commit(&ed, &err), 0);
	allowedit_close(&ed);

	data = read_text(path, &len);
	ck_assert_uint_eq(len, sizeof(text) - 1 + 40);
	ck_assert_int_eq(memcmp(data, text, sizeof(text) - 1), 0);
	ck_assert_str_eq(data + sizeof(text) - 1,
	    "newportal new-token portal.bitrix24.com\n");
	sodium_memzero(data, len);
	free(data);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_uint_ne(after.st_ino, before.st_ino); /* renamed over */
	ck_assert_uint_eq(after.st_mode, before.st_mode);
	ck_assert_int_eq(strays(), 0);

	ck_assert_int_eq(allowlist_load(path, &list, &err), 0);
	ck_assert_int_eq(allowlist_check(list, "newportal", "new-token", 9,
			     NULL),
	    ALLOWLIST_OK);
	allowlist_free(list);
}
END_TEST

/* Owner, group and mode survive an edit (a root process edits a list
 * another user owns). */
START_TEST(test_owner_mode)
{
	struct allowedit ed;
	struct stat st;
	struct err err;
	int added;

	if (geteuid() != 0)
		return; /* only root can give a file away */
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(chmod(path, 0604), 0);
	ck_assert_int_eq(allowedit_open(&ed, path, &err), 0);
	ck_assert_int_eq(
	    allowedit_add(&ed, "p", "t", 1, NULL, &added, &err), 0);
	ck_assert_int_eq(allowedit_commit(&ed, &err), 0);
	allowedit_close(&ed);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_uint_eq(st.st_gid, 65534);
	ck_assert_uint_eq(st.st_mode & 07777, 0604);
}
END_TEST

START_TEST(test_remove)
{
	static const char rest[] =
	    "# member_id                        application_token label\r\n"
	    "a223c6b3710f85df22e9377d6c4f7553 51856fefc120afa4b628cc82d3935cce "
	    "seed-docs-portal\n"
	    "\n"
	    "  # an indented comment, kept as it is\t\n"
	    "bad/id token-of-a-bad-line\n";
	struct buf removed = { 0 };
	struct allowedit ed;
	struct err err;
	char fp[ALLOWLIST_FP_SIZE], *data;
	size_t n, len;

	buf_init(&removed, 1024);
	allowlist_fingerprint("second-token", 12, fp);
	ck_assert_int_eq(allowedit_open(&ed, path, &err), 0);
	ck_assert_int_eq(allowedit_remove(&ed, "nobody", NULL, &removed, &n,
			     &err),
	    0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(allowedit_remove(&ed,
			     "bac1cd5c8940947a75e0d71b1a84e348", "00000000",
			     &removed, &n, &err),
	    0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(allowedit_remove(&ed,
			     "bac1cd5c8940947a75e0d71b1a84e348", fp, &removed,
			     &n, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(removed.data, fp);
	ck_assert_int_eq(allowedit_find(&ed,
			     "bac1cd5c8940947a75e0d71b1a84e348",
			     "831c76b092f9f135d9b6b36c3a720757", 32),
	    ALLOWEDIT_LISTED);
	ck_assert_int_eq(allowedit_remove(&ed,
			     "bac1cd5c8940947a75e0d71b1a84e348", NULL, &removed,
			     &n, &err),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(allowedit_commit(&ed, &err), 0);
	allowedit_close(&ed);
	data = read_text(path, &len);
	ck_assert_str_eq(data, rest);
	free(data);
	buf_free(&removed);
}
END_TEST

START_TEST(test_refusals)
{
	struct allowedit ed;
	struct err err;
	char *data;
	size_t len;
	int added;

	/* shapes */
	ck_assert_int_eq(allowedit_open(&ed, path, &err), 0);
	ck_assert_int_eq(allowedit_add(&ed, "a/b", "t", 1, NULL, &added, &err),
	    -1);
	ck_assert_int_eq(allowedit_add(&ed, "p", "t t", 3, NULL, &added, &err),
	    -1);
	ck_assert_int_eq(allowedit_add(&ed, "p", "", 0, NULL, &added, &err),
	    -1);
	ck_assert_int_eq(allowedit_add(&ed, "p", "t", 1, "# x", &added, &err),
	    -1);
	ck_assert_int_eq(allowedit_add(&ed, "p", "t", 1, "a\nb", &added, &err),
	    -1);
	ck_assert_int_eq(ed.changed, 0);
	/* someone wrote the file meanwhile, without the lock */
	ck_assert_int_eq(allowedit_add(&ed, "p", "t", 1, NULL, &added, &err),
	    0);
	write_text(path, "q other\n", 8);
	ck_assert_int_eq(allowedit_commit(&ed, &err), -1);
	ck_assert_str_eq(err.reason,
	    "allowlist changed by another writer during the edit");
	allowedit_close(&ed);
	data = read_text(path, &len);
	ck_assert_str_eq(data, "q other\n");
	free(data);
	ck_assert_int_eq(strays(), 0);

	/* a last line without a newline: maybe half written */
	write_text(path, "q other\nr tok", 13);
	ck_assert_int_eq(allowedit_open(&ed, path, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	/* a symlink would be replaced by a file */
	ck_assert_int_eq(symlink(path, tmp("link")), 0);
	ck_assert_int_eq(allowedit_open(&ed, tmp("link"), &err), -1);
	ck_assert_str_eq(err.reason,
	    "allowlist is a symlink: edit the file it names");
	ck_assert_int_eq(allowedit_open(&ed, tmp("missing"), &err), -1);
	ck_assert_str_eq(err.reason, "allowlist lstat errno=ENOENT");
	ck_assert_int_eq(unlink(tmp("link")), 0);
}
END_TEST

/* child: one edit adding "childN tokN", as b24hookctl would */
static int
child_add(int i)
{
	char id[32], token[32];
	struct allowedit ed;
	struct err err;
	int added;

	snprintf(id, sizeof(id), "child%d", i);
	snprintf(token, sizeof(token), "tok%d", i);
	if (allowedit_open(&ed, path, &err) == -1)
		return 1;
	/* hold the lock a while, so the edits overlap */
	usleep(20 * 1000);
	if (allowedit_add(&ed, id, token, strlen(token), NULL, &added,
		&err) == -1 ||
	    allowedit_commit(&ed, &err) == -1) {
		allowedit_close(&ed);
		return 1;
	}
	allowedit_close(&ed);
	return 0;
}

/* Concurrent edits from several processes: every one lands. */
START_TEST(test_concurrent)
{
	struct allowlist *list;
	char id[32], token[32];
	struct err err;
	pid_t pid[8];
	int i, status;

	for (i = 0; i < 8; i++)
		if ((pid[i] = fork()) == 0)
			_exit(child_add(i));
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(allowlist_load(path, &list, &err), 0);
	ck_assert_uint_eq(allowlist_size(list), 3 + 8);
	for (i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "child%d", i);
		snprintf(token, sizeof(token), "tok%d", i);
		ck_assert_int_eq(allowlist_check(list, id, token,
				     strlen(token), NULL),
		    ALLOWLIST_OK);
	}
	allowlist_free(list);
	ck_assert_int_eq(strays(), 0);
}
END_TEST

/* LIMIT_EDIT_LOCK_WAIT_MS: an edit waits that long for another, then fails. */
START_TEST(test_limit_lock)
{
	struct timespec t0, t1;
	struct allowedit ed;
	struct err err;
	long ms;
	int fd;

	ck_assert_int_ne(fd = open(tmp("allow.txt.lock"), O_RDONLY | O_CREAT,
			     0600),
	    -1);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(allowedit_open(&ed, path, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason,
	    "allowlist locked by another edit for 10000 ms");
	ck_assert_int_ge(ms, LIMIT_EDIT_LOCK_WAIT_MS);
	ck_assert_int_lt(ms, LIMIT_EDIT_LOCK_WAIT_MS + 2000);
	close(fd);
	ck_assert_int_eq(allowedit_open(&ed, path, &err), 0);
	allowedit_close(&ed);
}
END_TEST

/* LIMIT_LABEL: a label of N bytes is added, of N+1 refused. */
START_TEST(test_limit_label)
{
	char label[LIMIT_LABEL + 2];
	struct allowedit ed;
	struct err err;
	int added;

	ck_assert_int_eq(allowedit_open(&ed, path, &err), 0);
	memset(label, 'l', sizeof(label));
	label[LIMIT_LABEL + 1] = '\0';
	ck_assert_int_eq(allowedit_add(&ed, "p", "t", 1, label, &added, &err),
	    -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	label[LIMIT_LABEL] = '\0';
	ck_assert_int_eq(allowedit_add(&ed, "p", "t", 1, label, &added, &err),
	    0);
	ck_assert_int_eq(added, 1);
	allowedit_close(&ed);
}
END_TEST

/* LIMIT_ALLOWLIST_FILE: a list of N bytes is edited, N+1 is not read. */
START_TEST(test_limit_file)
{
	struct allowedit ed;
	struct err err;
	char *big;
	int added;

	ck_assert_ptr_nonnull(big = malloc(LIMIT_ALLOWLIST_FILE + 1));
	memset(big, '#', LIMIT_ALLOWLIST_FILE + 1);
	big[LIMIT_ALLOWLIST_FILE - 1] = '\n';
	write_text(path, big, LIMIT_ALLOWLIST_FILE);
	ck_assert_int_eq(allowedit_open(&ed, path, &err), 0);
	ck_assert_int_eq(allowedit_add(&ed, "p", "t", 1, NULL, &added, &err),
	    -1);
	ck_assert_str_eq(err.reason, "allowlist would pass 16777216 bytes");
	allowedit_close(&ed);
	big[LIMIT_ALLOWLIST_FILE - 1] = '#';
	big[LIMIT_ALLOWLIST_FILE] = '\n';
	write_text(path, big, LIMIT_ALLOWLIST_FILE + 1);
	ck_assert_int_eq(allowedit_open(&ed, path, &err), -1);
	ck_assert_str_eq(err.reason, "allowlist over 16777216 bytes");
	free(big);
}
END_TEST

static Suite *
allowedit_suite(void)
{
	Suite *s = suite_create("allowedit");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, tmpdir_teardown);
	tcase_add_test(core, test_fingerprint);
	tcase_add_test(core, test_entries);
	tcase_add_test(core, test_add);
	tcase_add_test(core, test_owner_mode);
	tcase_add_test(core, test_remove);
	tcase_add_test(core, test_refusals);
	tcase_add_test(core, test_concurrent);
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(limits, setup, tmpdir_teardown);
	tcase_set_timeout(limits, 60);
	tcase_add_test(limits, test_limit_lock);
	tcase_add_test(limits, test_limit_label);
	tcase_add_test(limits, test_limit_file);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(allowedit_suite());
}
