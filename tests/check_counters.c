/*
 * The shared counters: the file (made, kept, refused, made anew, reset),
 * what one outcome counts, the day figures, the renderers, the status
 * report, durations; concurrent counting from forked processes; the
 * tables at N and N+1.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "counters.h"
#include "request.h"
#include "testutil.h"

#define PORTAL "bac1cd5c8940947a75e0d71b1a84e348"
#define TOKEN "831c76b092f9f135d9b6b36c3a720757"
#define OTHER "a223c6b3710f85df22e9377d6c4f7553"
#define DAY 20421 /* days since the epoch: 2025-11-29 */

static char state[4096];
static struct counters k;

static void
setup(void)
{
	tmpdir_setup();
	snprintf(state, sizeof(state), "%s", tmp("state"));
	ck_assert_int_eq(mkdir(state, 0755), 0);
	memset(&k, 0, sizeof(k));
}

static void
teardown(void)
{
	counters_close(&k);
	tmpdir_teardown();
}

static const char *
path(void)
{
	return tmp("state/" COUNTERS_NAME);
}

/* a time on day DAY, sec seconds after midnight UTC */
static struct timespec
at(long day, long sec)
{
	struct timespec t = {day * 86400 + sec, 0};

	return t;
}

static struct outcome
outcome(enum err_code code, const char *reason, const char *member_id,
    const char *event, size_t records, const char *domain)
{
	struct outcome o;

	memset(&o, 0, sizeof(o));
	o.err.code = code;
	snprintf(o.err.reason, sizeof(o.err.reason), "%s", reason);
	snprintf(o.member_id, sizeof(o.member_id), "%s", member_id);
	snprintf(o.event, sizeof(o.event), "%s", event);
	snprintf(o.domain, sizeof(o.domain), "%s", domain);
	o.records = records;
	/* the two portals these tests list */
	o.listed = strcmp(member_id, PORTAL) == 0 || strcmp(member_id, OTHER) == 0;
	return o;
}

static void
record(enum err_code code, const char *reason, const char *member_id,
    const char *event, size_t records, struct timespec t)
{
	struct outcome o =
	    outcome(code, reason, member_id, event, records, "x.bitrix24.com");

	counters_record(&k, &o, &t);
}

static void
accept_n(
    const char *member_id, const char *event, size_t records, struct timespec t)
{
	record(ERR_OK, "", member_id, event, records, t);
}

static void
snap(struct counters_snapshot *s, time_t now)
{
	struct err err;

	ck_assert_int_eq(counters_snapshot(&k, now, s, &err), 0);
}

static const struct counters_portal_snap *
find(const struct counters_snapshot *s, const char *member_id)
{
	size_t i;

	for (i = 0; i < s->nportals; i++)
		if (strcmp(s->portal[i].member_id, member_id) == 0)
			return &s->portal[i];
	return NULL;
}

static uint64_t
refusals(
    const struct counters_snapshot *s, const char *code, const char *reason)
{
	size_t i;

	for (i = 0; i < s->ncodes; i++)
		if (strcmp(s->code[i].code, code) == 0 &&
		    strcmp(s->code[i].reason, reason) == 0)
			return s->code[i].count;
	return (uint64_t)-1; /* no entry */
}

static uint64_t
event_records(const struct counters_portal_snap *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nevents; i++)
		if (strcmp(p->event[i].name, name) == 0)
			return p->event[i].records;
	return (uint64_t)-1;
}

static void
open_ok(void)
{
	struct err err;

	ck_assert_msg(counters_open(&k, state, &err) == 0, "%s", err.reason);
}

static ino_t
inode(void)
{
	struct stat st;

	ck_assert_int_eq(stat(path(), &st), 0);
	return st.st_ino;
}

/* the file's bytes, compared whole (it is 4.2 MB) */
static char *
contents(size_t *len)
{
	struct stat st;
	char *data;
	int fd;

	ck_assert_int_ge(fd = open(path(), O_RDONLY), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_ptr_nonnull(data = malloc((size_t)st.st_size + 1));
	ck_assert_int_eq(pread(fd, data, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return data;
}

/* names in dir, . and .. aside */
static int
entries(const char *dir)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		n +=
		    strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* pwrite n bytes of p at off of the file */
static void
poke(off_t off, const void *p, size_t n)
{
	int fd;

	ck_assert_int_ge(fd = open(path(), O_WRONLY), 0);
	ck_assert_int_eq(pwrite(fd, p, n, off), (ssize_t)n);
	close(fd);
}

/* --- settings --------------------------------------------------------------
 */

static const char *state_setting;

static const char *
lookup(const char *name)
{
	if (strcmp(name, "B24HOOK_ALLOWLIST") == 0)
		return "a";
	if (strcmp(name, "B24HOOK_LOG_DIR") == 0)
		return "d";
	if (strcmp(name, "B24HOOK_STATE_DIR") == 0)
		return state_setting;
	return NULL;
}

START_TEST(settings_state_dir)
{
	struct settings s;
	struct err err;

	state_setting = NULL;
	ck_assert_int_eq(settings_read(lookup, &s, &err), 0);
	ck_assert_ptr_null(s.state_dir);
	state_setting = "";
	ck_assert_int_eq(settings_read(lookup, &s, &err), 0);
	ck_assert_ptr_null(s.state_dir);
	state_setting = "/var/lib/b24hook";
	ck_assert_int_eq(settings_read(lookup, &s, &err), 0);
	ck_assert_ptr_eq(s.state_dir, state_setting);
}
END_TEST

/* --- the file --------------------------------------------------------------
 */

START_TEST(made_on_first_open)
{
	struct counters_snapshot s;
	struct stat st;
	mode_t old = umask(027);

	open_ok();
	umask(old);
	ck_assert_int_eq(stat(path(), &st), 0);
	ck_assert_uint_eq((size_t)st.st_size, sizeof(struct counters_file));
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	/* allocated whole: a full disk cannot fault a page of it later */
	ck_assert_int_ge((long long)st.st_blocks * 512, (long long)st.st_size);
	ck_assert_mem_eq(k.map->head.magic, COUNTERS_MAGIC, 8);
	ck_assert_uint_eq(k.map->head.version, COUNTERS_VERSION);
	snap(&s, at(DAY, 0).tv_sec);
	ck_assert_uint_eq(s.nportals, 0);
	/* every refusal the program gives has its entry and its 0 */
	ck_assert_uint_eq(refusals(&s, "forbidden", "token_mismatch"), 0);
	ck_assert_uint_eq(refusals(&s, "forbidden", "unknown_portal"), 0);
	ck_assert_uint_eq(refusals(&s, "malformed_body", "malformed_body"), 0);
	ck_assert_uint_eq(
	    refusals(&s, "storage_unavailable", "storage_unavailable"), 0);
	ck_assert_uint_eq(s.ncodes, ERR_STORAGE_UNAVAILABLE + 1);
	ck_assert_int_le(s.created, time(NULL));
	ck_assert_int_ge(s.created, time(NULL) - 60);
	counters_snapshot_free(&s);
	/* nothing of the maker's left beside it */
	ck_assert_int_eq(entries(state), 1);
}
END_TEST

START_TEST(counts_an_accepted_request)
{
	struct counters_snapshot s;
	const struct counters_portal_snap *p;
	struct outcome o;
	struct timespec t = at(DAY, 3600);

	open_ok();
	o = outcome(ERR_OK, "", PORTAL, "ONIMCONNECTORMESSAGEADD", 3,
	    "portal.bitrix24.com");
	counters_record(&k, &o, &t);
	accept_n(PORTAL, "ONIMCONNECTORMESSAGEADD", 1, at(DAY, 3000));
	accept_n(PORTAL, "ONSESSIONSTART", 1, at(DAY, 3599));
	snap(&s, at(DAY, 4000).tv_sec);
	ck_assert_uint_eq(s.nportals, 1);
	ck_assert_ptr_nonnull(p = find(&s, PORTAL));
	ck_assert_uint_eq(p->requests, 3);
	ck_assert_uint_eq(p->records, 5);
	ck_assert_uint_eq(p->records_today, 5);
	ck_assert_uint_eq(p->refusals, 0);
	ck_assert_int_eq(p->last_accepted, t.tv_sec); /* the latest */
	ck_assert_int_eq(p->last_refused, 0);
	ck_assert_uint_eq(event_records(p, "ONIMCONNECTORMESSAGEADD"), 4);
	ck_assert_uint_eq(event_records(p, "ONSESSIONSTART"), 1);
	ck_assert_uint_eq(p->nevents, 2);
	ck_assert_str_eq(p->domain, "x.bitrix24.com"); /* the last seen */
	ck_assert_uint_eq(refusals(&s, "forbidden", "token_mismatch"), 0);
	counters_snapshot_free(&s);
}
END_TEST

START_TEST(counts_refusals)
{
	struct counters_snapshot s;
	const struct counters_portal_snap *p;

	open_ok();
	record(ERR_FORBIDDEN, "token_mismatch", PORTAL, "ONAPPINSTALL", 0,
	    at(DAY, 100));
	record(ERR_FORBIDDEN, "token_mismatch", PORTAL, "ONAPPINSTALL", 0,
	    at(DAY, 50));
	/* an unknown portal takes no slot: anyone may send any member_id */
	record(ERR_FORBIDDEN, "unknown_portal", "0123456789abcdef", "X", 0,
	    at(DAY, 100));
	record(ERR_MALFORMED_BODY, "bad", "", "", 0, at(DAY, 100));
	record(ERR_METHOD_NOT_ALLOWED, "method=GET", "", "", 0, at(DAY, 100));
	record(ERR_BODY_TOO_LARGE, "content_length=2", "", "", 0, at(DAY, 100));
	record(ERR_STORAGE_UNAVAILABLE, "write errno=ENOSPC", OTHER, "X", 0,
	    at(DAY, 100));
	/* an unlisted portal's claim meeting a full spool takes no slot */
	record(ERR_STORAGE_UNAVAILABLE, "enrollment spool full",
	    "fedcba9876543210", "ONAPPINSTALL", 0, at(DAY, 100));
	record(ERR_LIMIT_EXCEEDED, "limit=pairs", "(invalid)", "", 0,
	    at(DAY, 100));
	snap(&s, at(DAY, 200).tv_sec);
	ck_assert_uint_eq(refusals(&s, "forbidden", "token_mismatch"), 2);
	ck_assert_uint_eq(refusals(&s, "forbidden", "unknown_portal"), 1);
	ck_assert_uint_eq(refusals(&s, "malformed_body", "malformed_body"), 1);
	ck_assert_uint_eq(
	    refusals(&s, "method_not_allowed", "method_not_allowed"), 1);
	ck_assert_uint_eq(refusals(&s, "body_too_large", "body_too_large"), 1);
	ck_assert_uint_eq(refusals(&s, "limit_exceeded", "limit_exceeded"), 1);
	ck_assert_uint_eq(
	    refusals(&s, "storage_unavailable", "storage_unavailable"), 2);
	ck_assert_uint_eq(s.nportals, 2);
	ck_assert_ptr_null(find(&s, "0123456789abcdef"));
	ck_assert_ptr_null(find(&s, "fedcba9876543210"));
	ck_assert_ptr_nonnull(p = find(&s, PORTAL));
	ck_assert_uint_eq(p->refusals, 2);
	ck_assert_uint_eq(p->refusals_today, 2);
	ck_assert_int_eq(p->last_refused, at(DAY, 100).tv_sec);
	ck_assert_uint_eq(p->requests, 0);
	ck_assert_int_eq(p->last_accepted, 0);
	ck_assert_str_eq(p->domain, ""); /* a refused body's is not kept */
	ck_assert_ptr_nonnull(p = find(&s, OTHER));
	ck_assert_uint_eq(p->storage_failures, 1);
	ck_assert_uint_eq(p->refusals, 0);
	counters_snapshot_free(&s);
}
END_TEST

START_TEST(enrollments_pending)
{
	struct counters_snapshot s;

	open_ok();
	counters_enrollment_pending(&k);
	counters_enrollment_pending(&k);
	snap(&s, 0);
	ck_assert_uint_eq(s.enrollments_pending, 2);
	counters_snapshot_free(&s);
}
END_TEST

START_TEST(today_is_the_last_days)
{
	struct counters_snapshot s;
	const struct counters_portal_snap *p;

	open_ok();
	accept_n(PORTAL, "E", 5, at(DAY, 86399));
	record(ERR_FORBIDDEN, "token_mismatch", PORTAL, "E", 0, at(DAY, 1));
	snap(&s, at(DAY, 86399).tv_sec);
	ck_assert_uint_eq(find(&s, PORTAL)->records_today, 5);
	ck_assert_uint_eq(find(&s, PORTAL)->refusals_today, 1);
	counters_snapshot_free(&s);
	/* read the next day: nothing yet today */
	snap(&s, at(DAY + 1, 0).tv_sec);
	ck_assert_uint_eq(find(&s, PORTAL)->records_today, 0);
	ck_assert_uint_eq(find(&s, PORTAL)->refusals_today, 0);
	ck_assert_uint_eq(find(&s, PORTAL)->records, 5);
	counters_snapshot_free(&s);
	/* the first count of a new day starts it */
	accept_n(PORTAL, "E", 2, at(DAY + 1, 10));
	/* a request of the day before counted late leaves today alone */
	accept_n(PORTAL, "E", 7, at(DAY, 86399));
	snap(&s, at(DAY + 1, 20).tv_sec);
	ck_assert_ptr_nonnull(p = find(&s, PORTAL));
	ck_assert_uint_eq(p->records_today, 2);
	ck_assert_uint_eq(p->records, 14);
	ck_assert_int_eq(p->last_accepted, at(DAY + 1, 10).tv_sec);
	counters_snapshot_free(&s);
}
END_TEST

START_TEST(survives_reopen)
{
	struct counters_snapshot s;
	ino_t ino;

	open_ok();
	accept_n(PORTAL, "E", 3, at(DAY, 0));
	ino = inode();
	counters_close(&k);
	ck_assert_ptr_null(k.map);
	open_ok();
	ck_assert_uint_eq(inode(), ino);
	accept_n(PORTAL, "E", 1, at(DAY, 0));
	snap(&s, at(DAY, 0).tv_sec);
	ck_assert_uint_eq(find(&s, PORTAL)->records, 4);
	counters_snapshot_free(&s);
}
END_TEST

START_TEST(read_only_counts_nothing)
{
	struct counters_snapshot s;
	struct err err;

	open_ok();
	accept_n(PORTAL, "E", 3, at(DAY, 0));
	counters_close(&k);
	ck_assert_int_eq(counters_open_read(&k, state, &err), 0);
	accept_n(PORTAL, "E", 1, at(DAY, 0)); /* ignored, no fault */
	snap(&s, at(DAY, 0).tv_sec);
	ck_assert_uint_eq(find(&s, PORTAL)->records, 3);
	counters_snapshot_free(&s);
}
END_TEST

START_TEST(read_never_makes_it)
{
	struct err err;

	ck_assert_int_eq(counters_open_read(&k, state, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "counters open errno=ENOENT");
	ck_assert_int_eq(access(path(), F_OK), -1);
	ck_assert_int_eq(counters_open(&k, tmp("missing"), &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "counters open dir errno=ENOENT");
}
END_TEST

START_TEST(version_mismatch_refused)
{
	uint32_t v = COUNTERS_VERSION + 1;
	struct counters_snapshot s;
	char *before, *after;
	size_t n1, n2;
	struct err err;

	open_ok();
	accept_n(PORTAL, "E", 3, at(DAY, 0));
	counters_close(&k);
	poke(offsetof(struct counters_head, version), &v, sizeof(v));
	before = contents(&n1);
	ck_assert_int_eq(counters_open(&k, state, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason,
	    "counters file format version 2, not 1: left alone; "
	    "b24hookctl stats --reset replaces it");
	ck_assert_int_eq(counters_open_read(&k, state, &err), -1);
	ck_assert_str_eq(err.reason,
	    "counters file format version 2, not 1: left alone; "
	    "b24hookctl stats --reset replaces it");
	ck_assert_int_eq(counters_refresh(&k, state, 100, &err), -1);
	/* left alone, byte for byte */
	after = contents(&n2);
	ck_assert_uint_eq(n1, n2);
	ck_assert_int_eq(memcmp(before, after, n1), 0);
	free(before);
	free(after);
	/* the way out: a reset */
	ck_assert_int_eq(counters_reset(state, &err), 0);
	open_ok();
	snap(&s, 0);
	ck_assert_uint_eq(s.nportals, 0);
	counters_snapshot_free(&s);
}
END_TEST

START_TEST(other_layout_refused)
{
	uint32_t n = LIMIT_COUNTER_PORTALS * 2;
	struct err err;

	open_ok();
	counters_close(&k);
	poke(offsetof(struct counters_head, portals), &n, sizeof(n));
	ck_assert_int_eq(counters_open(&k, state, &err), -1);
	ck_assert_str_eq(err.reason,
	    "counters file of another layout (version 1): left alone; "
	    "b24hookctl stats --reset replaces it");
}
END_TEST

/* damage the file so, then open: a fresh one, with no counts, same mode */
static void
damaged(void (*harm)(void))
{
	struct counters_snapshot s;
	struct err err;
	struct stat st;

	open_ok();
	accept_n(PORTAL, "E", 3, at(DAY, 0));
	counters_close(&k);
	ck_assert_int_eq(chmod(path(), 0604), 0);
	harm();
	ck_assert_msg(counters_open(&k, state, &err) == 0, "%s", err.reason);
	ck_assert_int_eq(stat(path(), &st), 0);
	ck_assert_uint_eq((size_t)st.st_size, sizeof(struct counters_file));
	ck_assert_int_eq(st.st_mode & 0777, 0604);
	snap(&s, 0);
	ck_assert_uint_eq(s.nportals, 0);
	counters_snapshot_free(&s);
	accept_n(PORTAL, "E", 1, at(DAY, 0));
	snap(&s, 0);
	ck_assert_uint_eq(find(&s, PORTAL)->records, 1);
	counters_snapshot_free(&s);
}

static void
bad_magic(void)
{
	poke(0, "XXXXXXXX", 8);
}

static void
cut_short(void)
{
	ck_assert_int_eq(truncate(path(), 4096 * 3), 0);
}

static void
cut_to_nothing(void)
{
	ck_assert_int_eq(truncate(path(), 10), 0);
}

static void
grown(void)
{
	ck_assert_int_eq(
	    truncate(path(), (off_t)sizeof(struct counters_file) + 1), 0);
}

START_TEST(damaged_bad_magic)
{
	damaged(bad_magic);
}
END_TEST

START_TEST(damaged_cut_short)
{
	damaged(cut_short);
}
END_TEST

START_TEST(damaged_cut_to_nothing)
{
	damaged(cut_to_nothing);
}
END_TEST

START_TEST(damaged_grown)
{
	damaged(grown);
}
END_TEST

START_TEST(damaged_read_refused)
{
	struct err err;

	open_ok();
	counters_close(&k);
	bad_magic();
	ck_assert_int_eq(counters_open_read(&k, state, &err), -1);
	ck_assert_str_eq(
	    err.reason, "counters file damaged (bad magic or size)");
}
END_TEST

START_TEST(not_a_regular_file)
{
	struct err err;

	ck_assert_int_eq(mkfifo(path(), 0600), 0);
	ck_assert_int_eq(counters_open(&k, state, &err), -1);
	ck_assert_str_eq(err.reason, "counters file not a regular file");
	ck_assert_int_eq(unlink(path()), 0);
	ck_assert_int_eq(symlink("/etc/passwd", path()), 0);
	ck_assert_int_eq(counters_open(&k, state, &err), -1);
	ck_assert_str_eq(err.reason, "counters open errno=ELOOP");
}
END_TEST

START_TEST(reset_starts_over)
{
	struct counters_snapshot s;
	struct counters old = {0};
	struct err err;
	ino_t ino;

	open_ok();
	accept_n(PORTAL, "E", 3, at(DAY, 0));
	ck_assert_int_eq(chmod(path(), 0660), 0);
	ck_assert_int_eq(counters_refresh(&k, state, 100, &err), 0);
	ino = inode();
	ck_assert_int_eq(counters_reset(state, &err), 0);
	ck_assert_uint_ne(inode(), ino);
	/* the old mapping says it was retired; the next refresh moves on */
	ck_assert_uint_eq(k.map->head.retired, 1);
	ck_assert_int_eq(counters_refresh(&k, state, 100, &err), 0);
	ck_assert_uint_eq(k.ino, inode());
	accept_n(PORTAL, "E", 1, at(DAY, 0));
	snap(&s, 0);
	ck_assert_uint_eq(find(&s, PORTAL)->records, 1);
	counters_snapshot_free(&s);
	{
		struct stat st;

		ck_assert_int_eq(stat(path(), &st), 0);
		ck_assert_int_eq(st.st_mode & 0777, 0660); /* kept */
	}
	/* a reset with no file makes one */
	ck_assert_int_eq(unlink(path()), 0);
	ck_assert_int_eq(counters_reset(state, &err), 0);
	ck_assert_int_eq(counters_open_read(&old, state, &err), 0);
	counters_close(&old);
}
END_TEST

START_TEST(refresh_follows_the_name)
{
	struct counters other = {0};
	struct err err;

	ck_assert_int_eq(counters_refresh(&k, state, 100, &err), 0);
	accept_n(PORTAL, "E", 1, at(DAY, 0));
	/* another file put at the name (not by a reset) */
	ck_assert_int_eq(rename(path(), tmp("state/kept")), 0);
	ck_assert_int_eq(counters_open(&other, state, &err), 0);
	counters_close(&other);
	/* within the same second the name is not looked up again */
	ck_assert_int_eq(counters_refresh(&k, state, 100, &err), 0);
	ck_assert_uint_ne(k.ino, inode());
	ck_assert_int_eq(counters_refresh(&k, state, 101, &err), 0);
	ck_assert_uint_eq(k.ino, inode());
}
END_TEST

START_TEST(refresh_retries_once_a_second)
{
	struct err err;

	ck_assert_int_eq(chmod(state, 0), 0);
	if (access(state, W_OK) == 0) { /* root: use a missing directory */
		ck_assert_int_eq(chmod(state, 0755), 0);
		ck_assert_int_eq(rmdir(state), 0);
	}
	ck_assert_int_eq(counters_refresh(&k, state, 100, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	err.reason[0] = '\0';
	ck_assert_int_eq(counters_refresh(&k, state, 100, &err), -1);
	ck_assert_str_eq(err.reason, ""); /* not tried again this second */
	if (access(state, F_OK) == -1)
		ck_assert_int_eq(mkdir(state, 0755), 0);
	ck_assert_int_eq(chmod(state, 0755), 0);
	ck_assert_int_eq(counters_refresh(&k, state, 100, &err), -1);
	ck_assert_int_eq(counters_refresh(&k, state, 101, &err), 0);
}
END_TEST

/* --- through the pipeline ----------------------------------------------------
 */

static struct outcome
through_pipeline_rc(const char *domain, int rc)
{
	static char allow[4096], logs[4096];
	struct responder r = {0};
	struct settings s = {0};
	struct timespec t = at(DAY, 0);
	struct outcome o;
	char *body;
	FILE *f;

	snprintf(allow, sizeof(allow), "%s", tmp("allow.txt"));
	snprintf(logs, sizeof(logs), "%s", tmp("logs"));
	mkdir(logs, 0755);
	ck_assert_ptr_nonnull(f = fopen(allow, "w"));
	fprintf(f, "%s %s\n", PORTAL, TOKEN);
	fclose(f);
	s.allowlist = allow;
	s.log_dir = logs;
	s.max_body = LIMIT_BODY_DEFAULT;
	s.state_dir = state;
	ck_assert_int_ne(asprintf(&body,
	                     "event=ONAPPINSTALL&auth[member_id]=%s"
	                     "&auth[application_token]=%s&auth[domain]=%s",
	                     PORTAL, TOKEN, domain),
	    -1);
	ck_assert_int_eq(
	    request_process(body, strlen(body), MEDIA_FORM, &s, &r, &t, &o), rc);
	free(body);
	responder_close(&r);
	return o;
}

static struct outcome
through_pipeline(const char *domain)
{
	return through_pipeline_rc(domain, 0);
}

START_TEST(domain_from_the_body)
{
	struct outcome o;

	o = through_pipeline("portal.bitrix24.com");
	ck_assert_str_eq(o.domain, "portal.bitrix24.com");
	o = through_pipeline("a%20b"); /* a space is not kept */
	ck_assert_str_eq(o.domain, "");
	o = through_pipeline("a%01b");
	ck_assert_str_eq(o.domain, "");
}
END_TEST

/* --- renderers ---------------------------------------------------------------
 */

static const char *
label_cb(const char *member_id, void *arg)
{
	(void)arg;
	return strcmp(member_id, PORTAL) == 0 ? "shop \"main\" \\ \n2" : NULL;
}

static void
fill(void)
{
	open_ok();
	accept_n(PORTAL, "ONIMCONNECTORMESSAGEADD", 3, at(DAY, 10));
	accept_n(OTHER, "ONAPPINSTALL", 1, at(DAY, 20));
	record(ERR_FORBIDDEN, "token_mismatch", PORTAL, "E", 0, at(DAY, 30));
	record(ERR_FORBIDDEN, "unknown_portal", "nobody", "E", 0, at(DAY, 30));
}

static char *
render(enum counters_format f, counters_label *label)
{
	struct counters_snapshot s;
	struct buf b;
	struct err err;

	snap(&s, at(DAY, 100).tv_sec);
	buf_init(&b, 1 << 24);
	ck_assert_int_eq(counters_render(&s, f, label, NULL, &b, &err), 0);
	counters_snapshot_free(&s);
	return b.data;
}

START_TEST(render_json)
{
	json_t *j, *p;
	json_error_t e;
	char *out;

	fill();
	out = render(COUNTERS_JSON, label_cb);
	ck_assert_ptr_nonnull(j = json_loads(out, 0, &e));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 4);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(j, "requests_accepted")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(j, "portals")), 2);
	p = json_array_get(json_object_get(j, "portals"), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(p, "member_id")), PORTAL);
	ck_assert_str_eq(json_string_value(json_object_get(p, "label")),
	    "shop \"main\" \\ \n2");
	ck_assert_str_eq(json_string_value(json_object_get(p, "last_accepted")),
	    "2025-11-29T00:00:10Z");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
	        json_object_get(p, "events"), "ONIMCONNECTORMESSAGEADD")),
	    3);
	ck_assert_int_eq(json_integer_value(json_object_get(
	                     json_object_get(p, "today"), "refusals")),
	    1);
	ck_assert_ptr_null(json_object_get(j, "other_portals"));
	json_decref(j);
	free(out);
}
END_TEST

START_TEST(render_text)
{
	char *out;

	fill();
	out = render(COUNTERS_TEXT, NULL);
	ck_assert_ptr_nonnull(strstr(out, "accepted: 2 requests, 4 records\n"));
	ck_assert_ptr_nonnull(strstr(out, "refused: 2 requests\n"));
	ck_assert_ptr_nonnull(strstr(out,
	    "  " PORTAL " label=\"\" "
	    "domain=x.bitrix24.com\n"));
	ck_assert_ptr_nonnull(
	    strstr(out, "records by event: ONIMCONNECTORMESSAGEADD 3\n"));
	free(out);
}
END_TEST

/*
 * A strict reading of the text exposition format: every sample's family
 * has HELP then TYPE first, once; names and label names are well formed;
 * label values escape only \\, \" and \n; counters end _total; values
 * are numbers.  Returns NULL, or what is wrong.
 */
static const char *
prom_strict(const char *text, int *samples)
{
	static char why[256];
	char family[128] = "", type[16] = "";
	const char *line = text, *p, *end;
	size_t n;

	*samples = 0;
	for (; *line != '\0'; line = end + 1) {
		if ((end = strchr(line, '\n')) == NULL)
			return "no newline at the end";
		if (strncmp(line, "# HELP ", 7) == 0) {
			n = strcspn(line + 7, " ");
			snprintf(
			    family, sizeof(family), "%.*s", (int)n, line + 7);
			type[0] = '\0';
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			n = strlen(family);
			if (strncmp(line + 7, family, n) != 0 ||
			    line[7 + n] != ' ')
				return "TYPE without its HELP";
			snprintf(type, sizeof(type), "%.*s",
			    (int)(end - line - 8 - n), line + 8 + n);
			if (strcmp(type, "counter") != 0 &&
			    strcmp(type, "gauge") != 0)
				return "unknown TYPE";
			if (strcmp(type, "counter") == 0 &&
			    (n < 6 || strcmp(family + n - 6, "_total") != 0))
				return "a counter not ending _total";
			continue;
		}
		if (line[0] == '#')
			return "a comment other than HELP or TYPE";
		n = strlen(family);
		if (type[0] == '\0' || strncmp(line, family, n) != 0 ||
		    (line[n] != '{' && line[n] != ' '))
			return "a sample outside its family";
		p = line + n;
		if (*p == '{') {
			for (p++; *p != '}';) {
				n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
				if (n == 0 || p[n] != '=' || p[n + 1] != '"')
					return "a bad label name";
				for (p += n + 2; *p != '"'; p++) {
					if (*p == '\n' || p >= end)
						return "an unescaped newline";
					if (*p == '\\' &&
					    (p[1] == '\\' || p[1] == '"' ||
					        p[1] == 'n'))
						p++;
					else if (*p == '\\')
						return "a bad escape";
				}
				p++;
				if (*p == ',')
					p++;
				else if (*p != '}')
					return "labels not separated";
			}
			p++;
		}
		if (*p++ != ' ' || strspn(p, "0123456789") != (size_t)(end - p))
			return "a bad value";
		(*samples)++;
	}
	snprintf(why, sizeof(why), "ok");
	return NULL;
}

START_TEST(render_prometheus)
{
	const char *why;
	char *out;
	int n;

	fill();
	out = render(COUNTERS_PROMETHEUS, label_cb);
	why = prom_strict(out, &n);
	ck_assert_msg(why == NULL, "%s", why);
	ck_assert_int_gt(n, 20);
	ck_assert_ptr_nonnull(strstr(out,
	    "\nb24hook_portal_records_total{member_id=\"" PORTAL
	    "\",label=\"shop \\\"main\\\" \\\\ \\n2\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(out,
	    "\nb24hook_refusals_total{code=\"forbidden\","
	    "reason=\"token_mismatch\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(out,
	    "\nb24hook_portal_event_records_total{member_id=\"" OTHER
	    "\",label=\"\",event=\"ONAPPINSTALL\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(out,
	    "\nb24hook_portal_last_accepted_seconds{member_id=\"" OTHER
	    "\",label=\"\"} 1764374420\n"));
	/* never refused: no sample */
	ck_assert_ptr_null(strstr(
	    out, "b24hook_portal_last_refused_seconds{member_id=\"" OTHER));
	ck_assert_ptr_nonnull(strstr(out, "\nb24hook_records_total 4\n"));
	free(out);
}
END_TEST

START_TEST(status_report)
{
	struct counters_snapshot s;
	struct buf b;
	struct err err;
	size_t silent;

	fill();
	snap(&s, at(DAY, 25).tv_sec);
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(
	    counters_render_status(&s, label_cb, NULL, 10, &b, &silent, &err),
	    0);
	ck_assert_uint_eq(silent, 1);
	ck_assert_str_eq(b.data,
	    "WARNING: 1 of 2 portals silent for more than 10s: " PORTAL
	    " (\"shop \\\"main\\\" \\\\ \\x0a2\")\n" OTHER
	    " label=\"\" domain=x.bitrix24.com last_event=2025-11-29T00:00:20Z "
	    "records_today=1 refusals_today=0\n" PORTAL
	    " label=\"shop \\\"main\\\" \\\\ \\x0a2\" domain=x.bitrix24.com "
	    "last_event=2025-11-29T00:00:10Z records_today=3 "
	    "refusals_today=1 silent\n");
	buf_reset(&b);
	ck_assert_int_eq(
	    counters_render_status(&s, NULL, NULL, 15, &b, &silent, &err), 0);
	ck_assert_uint_eq(silent, 0);
	ck_assert_ptr_nonnull(
	    strstr(b.data, "OK: 2 portals, none silent for more than 15s\n"));
	buf_reset(&b);
	ck_assert_int_eq(
	    counters_render_status(&s, NULL, NULL, 0, &b, &silent, &err), 0);
	ck_assert_uint_eq(silent, 0);
	ck_assert_ptr_nonnull(strstr(b.data, "OK: 2 portals\n"));
	buf_free(&b);
	counters_snapshot_free(&s);
	/* never accepted: silent */
	counters_close(&k);
	ck_assert_int_eq(counters_reset(state, &err), 0);
	open_ok();
	record(ERR_FORBIDDEN, "token_mismatch", PORTAL, "E", 0, at(DAY, 30));
	snap(&s, at(DAY, 31).tv_sec);
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(
	    counters_render_status(&s, NULL, NULL, 3600, &b, &silent, &err), 0);
	ck_assert_uint_eq(silent, 1);
	ck_assert_ptr_nonnull(strstr(b.data, "last_event=never "));
	ck_assert_ptr_nonnull(strstr(b.data, "more than 1h: " PORTAL "\n"));
	buf_free(&b);
	counters_snapshot_free(&s);
}
END_TEST

static const struct {
	const char *text;
	long long seconds; /* -1: refused */
} durations[] = {
    {"1s", 1},
    {"90s", 90},
    {"2m", 120},
    {"6h", 21600},
    {"7d", 604800},
    {"0s", -1},
    {"", -1},
    {"h", -1},
    {"6", -1},
    {"6x", -1},
    {"6hh", -1},
    {"-1h", -1},
    {" 6h", -1},
    {"6 h", -1},
    {"99999999999999999999999d", -1},
};

START_TEST(duration_table)
{
	long long s = -1;

	ck_assert_int_eq(counters_parse_duration(durations[_i].text, &s),
	    durations[_i].seconds == -1 ? -1 : 0);
	if (durations[_i].seconds != -1)
		ck_assert_int_eq(s, durations[_i].seconds);
}
END_TEST

/* --- concurrency --------------------------------------------------------- */

#define CHILDREN 8
#define ROUNDS 3000

START_TEST(forked_processes_exact)
{
	struct counters_snapshot s;
	const struct counters_portal_snap *p;
	char id[16], ev[16];
	pid_t pid[CHILDREN];
	struct err err;
	int i, j, status;
	uint64_t total = 0;

	open_ok();
	for (i = 0; i < CHILDREN; i++) {
		ck_assert_int_ge(pid[i] = fork(), 0);
		if (pid[i] != 0)
			continue;
		/* half count through their own mapping, as CGI processes do */
		if (i % 2 == 1 && counters_open(&k, state, &err) == -1)
			_exit(1);
		for (j = 0; j < ROUNDS; j++) {
			snprintf(id, sizeof(id), "p%d", j % 50);
			snprintf(ev, sizeof(ev), "E%d", j % 7);
			accept_n(id, ev, (size_t)(j % 3 + 1), at(DAY, j));
			if (j % 10 == 0)
				record(ERR_FORBIDDEN, "token_mismatch", id, ev,
				    0, at(DAY, j));
		}
		_exit(0);
	}
	for (i = 0; i < CHILDREN; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert_int_eq(status, 0);
	}
	snap(&s, at(DAY, 0).tv_sec);
	ck_assert_uint_eq(s.nportals, 50);
	for (j = 0; j < ROUNDS; j++)
		total += (uint64_t)(j % 3 + 1);
	for (i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		ck_assert_ptr_nonnull(p = find(&s, id));
		ck_assert_uint_eq(p->requests, CHILDREN * ROUNDS / 50);
		/* refused when j % 10 == 0: the portals p0, p10, ... p40 */
		ck_assert_uint_eq(
		    p->refusals, i % 10 == 0 ? CHILDREN * ROUNDS / 50 : 0);
		ck_assert_int_eq(
		    p->last_accepted, at(DAY, ROUNDS - 50 + i).tv_sec);
	}
	{
		uint64_t records = 0, today = 0, events = 0;

		for (i = 0; i < (int)s.nportals; i++) {
			records += s.portal[i].records;
			today += s.portal[i].records_today;
			for (j = 0; j < (int)s.portal[i].nevents; j++)
				events += s.portal[i].event[j].records;
		}
		ck_assert_uint_eq(records, CHILDREN * total);
		ck_assert_uint_eq(today, CHILDREN * total);
		ck_assert_uint_eq(events, CHILDREN * total);
	}
	ck_assert_uint_eq(refusals(&s, "forbidden", "token_mismatch"),
	    CHILDREN * (ROUNDS / 10));
	counters_snapshot_free(&s);
}
END_TEST

/* --- limits -------------------------------------------------------------- */

/* the table with n portals: all kept apart, the rest in the bucket */
static void
portals(int n)
{
	struct counters_snapshot s;
	char id[32];
	int i;

	open_ok();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "portal-%d", i);
		accept_n(id, "E", 1, at(DAY, 0));
	}
	/* counted again: each finds its slot */
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "portal-%d", i);
		accept_n(id, "E", 1, at(DAY, 1));
	}
	snap(&s, at(DAY, 0).tv_sec);
	ck_assert_uint_eq(s.nportals,
	    n < LIMIT_COUNTER_PORTALS ? (size_t)n : LIMIT_COUNTER_PORTALS);
	ck_assert_uint_eq(s.other.requests,
	    n > LIMIT_COUNTER_PORTALS
	        ? 2 * (uint64_t)(n - LIMIT_COUNTER_PORTALS)
	        : 0);
	for (i = 0; i < (int)s.nportals; i++)
		ck_assert_uint_eq(s.portal[i].requests, 2);
	counters_snapshot_free(&s);
}

START_TEST(portals_at_limit)
{
	portals(LIMIT_COUNTER_PORTALS);
}
END_TEST

START_TEST(portals_past_limit)
{
	char *out;

	portals(LIMIT_COUNTER_PORTALS + 1);
	out = render(COUNTERS_PROMETHEUS, NULL);
	ck_assert_ptr_nonnull(strstr(out,
	    "\nb24hook_portal_requests_accepted_total{member_id=\"(other)\","
	    "label=\"\"} 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(out, "\nb24hook_requests_accepted_total 2050\n"));
	free(out);
}
END_TEST

static void
events(int n)
{
	struct counters_snapshot s;
	const struct counters_portal_snap *p;
	char ev[32];
	int i;

	open_ok();
	for (i = 0; i < n; i++) {
		snprintf(ev, sizeof(ev), "EVENT_%02d", i);
		accept_n(PORTAL, ev, 2, at(DAY, 0));
	}
	snap(&s, at(DAY, 0).tv_sec);
	ck_assert_ptr_nonnull(p = find(&s, PORTAL));
	ck_assert_uint_eq(p->nevents,
	    n < LIMIT_COUNTER_EVENTS ? (size_t)n : LIMIT_COUNTER_EVENTS);
	ck_assert_uint_eq(p->other_events,
	    n > LIMIT_COUNTER_EVENTS ? 2 * (uint64_t)(n - LIMIT_COUNTER_EVENTS)
	                             : 0);
	ck_assert_uint_eq(p->records, 2 * (uint64_t)n);
	counters_snapshot_free(&s);
}

START_TEST(events_at_limit)
{
	events(LIMIT_COUNTER_EVENTS);
}
END_TEST

START_TEST(events_past_limit)
{
	char *out;

	events(LIMIT_COUNTER_EVENTS + 1);
	out = render(COUNTERS_PROMETHEUS, NULL);
	ck_assert_ptr_nonnull(strstr(out, "label=\"\",event=\"(other)\"} 2\n"));
	free(out);
}
END_TEST

START_TEST(event_name_at_limit)
{
	struct counters_snapshot s;
	char ev[LIMIT_EVENT + 1];

	memset(ev, 'E', LIMIT_EVENT);
	ev[LIMIT_EVENT] = '\0';
	open_ok();
	accept_n(PORTAL, ev, 1, at(DAY, 0));
	snap(&s, 0);
	ck_assert_str_eq(find(&s, PORTAL)->event[0].name, ev);
	counters_snapshot_free(&s);
}
END_TEST

START_TEST(domain_at_limit)
{
	char d[LIMIT_DOMAIN + 2];
	struct counters_snapshot s;
	struct outcome o;
	struct timespec t = at(DAY, 0);

	memset(d, 'd', sizeof(d) - 1);
	d[LIMIT_DOMAIN] = '\0';
	o = through_pipeline(d);
	ck_assert_str_eq(o.domain, d);
	open_ok();
	counters_record(&k, &o, &t);
	snap(&s, 0);
	ck_assert_str_eq(find(&s, PORTAL)->domain, d);
	counters_snapshot_free(&s);
	/* one byte more: the request is refused (limit=domain), none kept */
	d[LIMIT_DOMAIN] = 'd';
	d[LIMIT_DOMAIN + 1] = '\0';
	o = through_pipeline_rc(d, -1);
	ck_assert_int_eq(o.err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(o.domain, "");
}
END_TEST

START_TEST(silent_for_at_limit)
{
	char s[32];
	long long v;

	snprintf(s, sizeof(s), "%llds", LIMIT_SILENT_FOR);
	ck_assert_int_eq(counters_parse_duration(s, &v), 0);
	ck_assert_int_eq(v, LIMIT_SILENT_FOR);
	snprintf(s, sizeof(s), "%llds", LIMIT_SILENT_FOR + 1);
	ck_assert_int_eq(counters_parse_duration(s, &v), -1);
	snprintf(s, sizeof(s), "%lldd", LIMIT_SILENT_FOR / 86400);
	ck_assert_int_eq(counters_parse_duration(s, &v), 0);
	snprintf(s, sizeof(s), "%lldd", LIMIT_SILENT_FOR / 86400 + 1);
	ck_assert_int_eq(counters_parse_duration(s, &v), -1);
}
END_TEST

START_TEST(stuck_claim_passed_over)
{
	struct counters_snapshot s;
	size_t i;

	open_ok();
	/* claimers killed half way: every slot looks claimed forever */
	for (i = 0; i < LIMIT_COUNTER_PORTALS; i++)
		k.map->portal[i].state = 1;
	accept_n(PORTAL, "E", 1, at(DAY, 0));
	snap(&s, 0);
	ck_assert_uint_eq(s.nportals, 0);
	ck_assert_uint_eq(s.other.requests, 1); /* not lost, not hung */
	counters_snapshot_free(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("counters");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_set_timeout(core, 120);
	tcase_add_test(core, settings_state_dir);
	tcase_add_test(core, made_on_first_open);
	tcase_add_test(core, counts_an_accepted_request);
	tcase_add_test(core, counts_refusals);
	tcase_add_test(core, enrollments_pending);
	tcase_add_test(core, today_is_the_last_days);
	tcase_add_test(core, survives_reopen);
	tcase_add_test(core, read_only_counts_nothing);
	tcase_add_test(core, read_never_makes_it);
	tcase_add_test(core, version_mismatch_refused);
	tcase_add_test(core, other_layout_refused);
	tcase_add_test(core, damaged_bad_magic);
	tcase_add_test(core, damaged_cut_short);
	tcase_add_test(core, damaged_cut_to_nothing);
	tcase_add_test(core, damaged_grown);
	tcase_add_test(core, damaged_read_refused);
	tcase_add_test(core, not_a_regular_file);
	tcase_add_test(core, reset_starts_over);
	tcase_add_test(core, refresh_follows_the_name);
	tcase_add_test(core, refresh_retries_once_a_second);
	tcase_add_test(core, domain_from_the_body);
	tcase_add_test(core, render_json);
	tcase_add_test(core, render_text);
	tcase_add_test(core, render_prometheus);
	tcase_add_test(core, status_report);
	tcase_add_loop_test(
	    core, duration_table, 0, sizeof(durations) / sizeof(durations[0]));
	tcase_add_test(core, forked_processes_exact);
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_set_timeout(limits, 120);
	tcase_add_test(limits, portals_at_limit);
	tcase_add_test(limits, portals_past_limit);
	tcase_add_test(limits, events_at_limit);
	tcase_add_test(limits, events_past_limit);
	tcase_add_test(limits, event_name_at_limit);
	tcase_add_test(limits, domain_at_limit);
	tcase_add_test(limits, silent_for_at_limit);
	tcase_add_test(limits, stuck_claim_passed_over);
	suite_add_tcase(s, limits);
	return suite_main(s);
}
