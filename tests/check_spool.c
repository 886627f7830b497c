/*
 * The enrollment spool: claims kept side by side as 0600 files, read
 * back, rewritten without their tokens, pruned, and bounded.
 */
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

#include "allowlist.h"
#include "decode.h"
#include "enroll.h"
#include "spool.h"
#include "testutil.h"

#define MEMBER "0123456789abcdef0123456789abcdef"
#define APP_TOKEN "app-secret-0123456789"
#define ACCESS_TOKEN "access-secret-0123456789"
#define CLAIM                                                         \
	"event=ONAPPINSTALL&data[VERSION]=1&data[LANGUAGE_ID]=en&ts=1714640000" \
	"&auth[access_token]=" ACCESS_TOKEN                            \
	"&auth[refresh_token]=refresh-secret-0123456789"               \
	"&auth[domain]=portal.bitrix24.com&auth[member_id]=" MEMBER    \
	"&auth[application_token]=" APP_TOKEN "&auth[user_id]=1"

static const struct timespec received = { 1773759200, 123456000 };
static char spool[4096];

static void
setup(void)
{
	tmpdir_setup();
	snprintf(spool, sizeof(spool), "%s", tmp("spool"));
	ck_assert_int_eq(mkdir(spool, 0700), 0);
}

/* claim: e made from a form body, as the responder makes it */
static void
claim(const char *body, struct spool_entry *e)
{
	struct auth_secrets secrets = { 0 };
	struct err err;
	json_t *root;

	ck_assert_int_eq(decode_body(MEDIA_FORM, body, strlen(body), &root,
			     &secrets, &err),
	    0);
	ck_assert_msg(enroll_claim(root, &secrets, &received, e, &err) == 0,
	    "%s", err.reason);
	json_decref(root);
	secrets_clear(&secrets);
}

/* entry_path: spool/ID.SUFFIX */
static const char *
entry_path(const char *id, const char *suffix)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s.%s", spool, id, suffix);
	return path;
}

/* file_holds: does the file at path hold needle? */
static int
file_holds(const char *path, const char *needle)
{
	char buf[LIMIT_SPOOL_ENTRY * 2];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* files: the names in spool ending in suffix */
static size_t
files(const char *suffix)
{
	struct dirent *d;
	size_t n = 0, m = strlen(suffix), l;
	DIR *dp;

	ck_assert_ptr_nonnull(dp = opendir(spool));
	while ((d = readdir(dp)) != NULL) {
		l = strlen(d->d_name);
		n += l > m && strcmp(d->d_name + l - m, suffix) == 0;
	}
	closedir(dp);
	return n;
}

/* dummy: a file of size bytes named name in the spool */
static void
dummy(const char *name, size_t size)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", spool, name);
	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    -1);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

START_TEST(test_add_load)
{
	struct spool_entry e, *g;
	struct spool_list l;
	struct stat st;
	struct err err;
	const char *p;

	claim(CLAIM, &e);
	ck_assert_str_eq(e.event, "ONAPPINSTALL");
	ck_assert_str_eq(e.member_id, MEMBER);
	ck_assert_str_eq(e.domain, "portal.bitrix24.com");
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	ck_assert(spool_valid_id(e.id));
	p = entry_path(e.id, "pending");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* the tokens wait in the entry; the refresh token never does */
	ck_assert(file_holds(p, APP_TOKEN));
	ck_assert(file_holds(p, ACCESS_TOKEN));
	ck_assert(!file_holds(p, "refresh-secret"));
	ck_assert_uint_eq(files(".tmp"), 0);

	ck_assert_int_eq(spool_load(spool, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_uint_eq(l.nbad, 0);
	g = &l.entries[0];
	ck_assert_str_eq(g->id, e.id);
	ck_assert_str_eq(g->member_id, MEMBER);
	ck_assert_str_eq(g->domain, "portal.bitrix24.com");
	ck_assert_int_eq(g->received.tv_sec, received.tv_sec);
	ck_assert_int_eq(g->received.tv_nsec, received.tv_nsec);
	ck_assert_int_eq(g->state, SPOOL_PENDING);
	ck_assert_int_eq(g->checked, 0);
	ck_assert_str_eq(g->application_token, APP_TOKEN);
	ck_assert_str_eq(g->access_token, ACCESS_TOKEN);
	/* the body keeps what records read of auth, and nothing else */
	ck_assert_uint_eq(json_object_size(json_object_get(g->body, "auth")),
	    3);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(g->body, "auth"), "user_id")),
	    "1");
	spool_list_free(&l);
	spool_entry_clear(&e);
	ck_assert_str_eq(e.application_token, "");
}
END_TEST

/* Several claims for one portal: each its own file, never merged. */
START_TEST(test_side_by_side)
{
	char ids[3][SPOOL_ID_SIZE];
	struct spool_entry e;
	struct spool_list l;
	struct err err;
	size_t i;

	for (i = 0; i < 3; i++) {
		claim(CLAIM, &e);
		ck_assert_int_eq(spool_add(spool, &e, &err), 0);
		memcpy(ids[i], e.id, SPOOL_ID_SIZE);
		spool_entry_clear(&e);
	}
	ck_assert_str_ne(ids[0], ids[1]);
	ck_assert_str_ne(ids[1], ids[2]);
	ck_assert_uint_eq(files(".pending"), 3);
	ck_assert_int_eq(spool_load(spool, &l, &err), 0);
	ck_assert_uint_eq(l.n, 3);
	spool_list_free(&l);
}
END_TEST

/* A token erased is gone from the file; a decided claim keeps none. */
START_TEST(test_update_erase)
{
	struct spool_entry e, g;
	struct err err;
	char id[SPOOL_ID_SIZE];

	claim(CLAIM, &e);
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	memcpy(id, e.id, sizeof(id));
	e.access_token[0] = '\0';
	e.checked = 1;
	ck_assert_int_eq(spool_update(spool, &e, &err), 0);
	ck_assert(!file_holds(entry_path(id, "pending"), ACCESS_TOKEN));
	ck_assert(file_holds(entry_path(id, "pending"), APP_TOKEN));
	ck_assert_int_eq(spool_get(spool, id, &g, &err), 0);
	ck_assert_int_eq(g.checked, 1);
	ck_assert_str_eq(g.access_token, "");
	spool_entry_clear(&g);

	e.state = SPOOL_REJECTED;
	snprintf(e.note, sizeof(e.note), "client_id is another app's");
	ck_assert_int_eq(spool_update(spool, &e, &err), 0);
	ck_assert_int_eq(access(entry_path(id, "pending"), F_OK), -1);
	ck_assert(!file_holds(entry_path(id, "done"), APP_TOKEN));
	ck_assert(!file_holds(entry_path(id, "done"), "\"body\""));
	ck_assert_int_eq(spool_get(spool, id, &g, &err), 0);
	ck_assert_int_eq(g.state, SPOOL_REJECTED);
	ck_assert_str_eq(g.note, "client_id is another app's");
	ck_assert_ptr_null(g.body);
	spool_entry_clear(&g);
	spool_entry_clear(&e);

	ck_assert_int_eq(spool_get(spool, "0000000000000000", &g, &err), -1);
	ck_assert_str_eq(err.reason, "no entry 0000000000000000");
}
END_TEST

/* An id with both files: the decided one stands (a rewrite cut short). */
START_TEST(test_pending_and_done)
{
	struct spool_entry e;
	struct spool_list l;
	struct err err;
	char cmd[9000];

	claim(CLAIM, &e);
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	snprintf(cmd, sizeof(cmd), "cp %s %s.keep",
	    entry_path(e.id, "pending"), entry_path(e.id, "pending"));
	ck_assert_int_eq(system(cmd), 0);
	e.state = SPOOL_EXPIRED;
	ck_assert_int_eq(spool_update(spool, &e, &err), 0);
	snprintf(cmd, sizeof(cmd), "mv %s.keep %s",
	    entry_path(e.id, "pending"), entry_path(e.id, "pending"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(spool_load(spool, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.entries[0].state, SPOOL_EXPIRED);
	spool_list_free(&l);
	spool_entry_clear(&e);
}
END_TEST

START_TEST(test_bad_files)
{
	struct spool_entry e;
	struct spool_list l;
	struct err err;
	char name[4200];
	FILE *f;

	claim(CLAIM, &e);
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	dummy("garbage.pending", 10);
	snprintf(name, sizeof(name), "%s/ffffffffffffffff.pending", spool);
	ck_assert_ptr_nonnull(f = fopen(name, "w"));
	fputs("{\"v\":1}", f);
	fclose(f);
	dummy("README", 5);
	ck_assert_int_eq(spool_load(spool, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_uint_eq(l.nbad, 2);
	spool_list_free(&l);
	spool_entry_clear(&e);
}
END_TEST

/* A good entry text, then each fault alone: refused, naming the field. */
static const struct {
	const char *from, *to, *why;
} faults[] = {
	{ "\"v\":1", "\"v\":2", "not version 1" },
	{ "\"v\":1", "\"v\":\"1\"", "not version 1" },
	{ "\"id\":\"0123456789abcdef\"", "\"id\":\"0123456789ABCDEF\"",
	    "bad id" },
	{ "\"event\":\"ONAPPINSTALL\"", "\"event\":\"on/x\"", "bad event" },
	{ "\"member_id\":\"m1\"", "\"member_id\":\"../x\"",
	    "bad member_id" },
	{ "\"domain\":\"p.bitrix24.com\"", "\"domain\":\"p..com\"",
	    "bad domain" },
	{ "\"received\":1773759200", "\"received\":-1", "bad received" },
	{ "\"received_us\":5", "\"received_us\":1000000",
	    "bad received_us" },
	{ "\"state\":\"pending\"", "\"state\":\"done\"", "bad state" },
	{ "\"checked\":false", "\"checked\":0", "bad checked" },
	{ "\"note\":\"\"", "\"note\":\"a\\nb\"", "bad note" },
	{ "\"application_token\":\"s3cr3t\"", "\"application_token\":\"\"",
	    "bad application_token" },
	{ "\"application_token\":\"s3cr3t\"",
	    "\"application_token\":\"s3 cr3t\"", "bad application_token" },
	{ "\"access_token\":\"acc\"", "\"access_token\":\"a c\"",
	    "bad access_token" },
	{ "\"access_token\":\"acc\"", "\"access_token\":\"a\\u0000c\"",
	    "not a JSON object" },
	{ "\"body\":{\"event\":\"ONAPPINSTALL\"}", "\"body\":[]",
	    "bad body" },
	{ "\"state\":\"pending\"", "\"state\":\"rejected\"",
	    "a decided entry holds a token or a body" },
	{ "\"v\":1", "\"v\":1,\"v\":1", "not a JSON object" },
};

static const char good[] =
    "{\"v\":1,\"id\":\"0123456789abcdef\",\"event\":\"ONAPPINSTALL\","
    "\"member_id\":\"m1\",\"domain\":\"p.bitrix24.com\","
    "\"received\":1773759200,\"received_us\":5,\"state\":\"pending\","
    "\"checked\":false,\"note\":\"\",\"application_token\":\"s3cr3t\","
    "\"access_token\":\"acc\",\"body\":{\"event\":\"ONAPPINSTALL\"}}";

START_TEST(test_parse_faults)
{
	char text[1024];
	const char *at;
	struct spool_entry e;
	struct err err;

	ck_assert_int_eq(spool_entry_parse(good, strlen(good), &e, &err), 0);
	ck_assert_int_eq(e.received.tv_nsec, 5000);
	spool_entry_clear(&e);
	ck_assert_ptr_nonnull(at = strstr(good, faults[_i].from));
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good,
	    faults[_i].to, at + strlen(faults[_i].from));
	ck_assert_int_eq(spool_entry_parse(text, strlen(text), &e, &err), -1);
	ck_assert_str_eq(err.reason + strlen("spool entry: "), faults[_i].why);
	ck_assert_ptr_null(strstr(err.reason, "s3"));
	ck_assert_str_eq(e.application_token, "");
}
END_TEST

/* format and parse agree, for each state; a decided entry has no secret. */
START_TEST(test_format_parse)
{
	static const enum spool_state states[] = { SPOOL_PENDING,
		SPOOL_APPROVE, SPOOL_VERIFIED, SPOOL_REJECTED, SPOOL_EXPIRED };
	static const char *const texts[] = { "pending: not checked (x)",
		"pending: needs approve (x)", "verified", "rejected: x",
		"expired" };
	struct spool_entry e, g;
	struct buf out = { 0 };
	char text[256];
	struct err err;
	size_t i;

	claim(CLAIM, &e);
	memcpy(e.id, "00000000000000aa", SPOOL_ID_SIZE);
	snprintf(e.note, sizeof(e.note), "%s", "x");
	for (i = 0; i < 5; i++) {
		e.state = states[i];
		if (i == 0)
			snprintf(e.note, sizeof(e.note), "not checked (x)");
		else
			snprintf(e.note, sizeof(e.note), "x");
		ck_assert_int_eq(spool_entry_format(&e, &out, &err), 0);
		ck_assert_int_eq(out.data[out.len - 1], '\n');
		ck_assert_int_eq(spool_final(states[i]),
		    strstr(out.data, APP_TOKEN) == NULL);
		ck_assert_int_eq(spool_entry_parse(out.data, out.len, &g, &err),
		    0);
		ck_assert_int_eq(g.state, states[i]);
		spool_state_text(&g, text, sizeof(text));
		ck_assert_str_eq(text, texts[i]);
		spool_entry_clear(&g);
	}
	e.state = SPOOL_PENDING;
	e.note[0] = '\0';
	spool_state_text(&e, text, sizeof(text));
	ck_assert_str_eq(text, "pending");
	buf_free(&out);
	spool_entry_clear(&e);
}
END_TEST

/* shapes: what a claim's fields may be */
START_TEST(test_shapes)
{
	ck_assert(spool_valid_domain("a.b-c.com", 9));
	ck_assert(spool_valid_domain("localhost", 9));
	ck_assert(!spool_valid_domain("", 0));
	ck_assert(!spool_valid_domain(".a", 2));
	ck_assert(!spool_valid_domain("a.", 2));
	ck_assert(!spool_valid_domain("a..b", 4));
	ck_assert(!spool_valid_domain("a_b.com", 7));
	ck_assert(!spool_valid_domain("a b", 3));
	ck_assert(!spool_valid_domain("a\0b", 3));
	ck_assert(!spool_valid_domain("a:443", 5));
	ck_assert(allowlist_valid_member_id("a-Z_9", 5));
	ck_assert(!allowlist_valid_member_id("a/b", 3));
	ck_assert(!allowlist_valid_member_id("", 0));
	ck_assert(allowlist_valid_token("!~", 2));
	ck_assert(!allowlist_valid_token("a b", 3));
	ck_assert(!allowlist_valid_token("a\x7f", 2));
	ck_assert(spool_valid_id("0123456789abcdef"));
	ck_assert(!spool_valid_id("0123456789abcde"));
	ck_assert(!spool_valid_id("0123456789abcdef0"));
	ck_assert(!spool_valid_id("0123456789abcdeF"));
}
END_TEST

/* Not a claim: what the responder refuses as before. */
START_TEST(test_not_claims)
{
	static const char *const bodies[] = {
		"event=ONAPPUNINSTALL&auth[member_id]=m&auth[domain]=d.com"
		"&auth[application_token]=t&auth[access_token]=a",
		"event=ONAPPINSTALL&auth[domain]=d.com"
		"&auth[application_token]=t&auth[access_token]=a",
		"event=ONAPPINSTALL&auth[member_id]=m&auth[domain]=d.com"
		"&auth[application_token]=t",
		"event=ONAPPINSTALL&auth[member_id]=m&auth[domain]=d_x.com"
		"&auth[application_token]=t&auth[access_token]=a",
		"event=ONAPPINSTALL&auth[member_id]=m&auth[domain]=d.com"
		"&auth[application_token]=t%20t&auth[access_token]=a",
		"event=ONAPPINSTALL&auth[member_id]=m%00x&auth[domain]=d.com"
		"&auth[application_token]=t&auth[access_token]=a",
		"event=ONAPPINSTALL&auth[member_id]=m&auth[domain]=d.com"
		"&auth[application_token][x]=t&auth[access_token]=a",
		"event=ONAPPINSTALL&auth[member_id]=m&auth[domain]=d.com"
		"&auth[application_token]=t&auth[access_token]=a%00b",
		"event=ONAPPINSTALL&auth[member_id]=m&auth[domain]=d.com"
		"&auth[application_token]=t&auth[access_token]=a"
		"&auth[access_token][]=a",
		"event=ONAPPINSTALL&auth[application_token]=t"
		"&auth[access_token]=a&auth=x&auth[member_id]=m"
		"&auth[domain]=d.com",
	};
	struct auth_secrets secrets = { 0 };
	struct spool_entry e;
	struct err err;
	json_t *root;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ck_assert_int_eq(decode_body(MEDIA_FORM, bodies[i],
				     strlen(bodies[i]), &root, &secrets, &err),
		    0);
		ck_assert_msg(enroll_claim(root, &secrets, &received, &e,
				  &err) == -1,
		    "body %zu", i);
		ck_assert_int_eq(err.code, ERR_FORBIDDEN);
		json_decref(root);
		secrets_clear(&secrets);
	}
	/* ONAPPUPDATE, in any case, is a claim */
	claim("event=onAppUpdate&auth[member_id]=m&auth[domain]=d.com"
	      "&auth[application_token]=t&auth[access_token]=a",
	    &e);
	ck_assert_str_eq(e.event, "ONAPPUPDATE");
	spool_entry_clear(&e);
}
END_TEST

/* set_mtime: name's mtime, seconds before now */
static void
age(const char *name, time_t seconds)
{
	char path[4200];
	struct timespec ts[2];

	snprintf(path, sizeof(path), "%s/%s", spool, name);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= seconds;
	ts[1] = ts[0];
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

START_TEST(test_prune)
{
	struct timespec now;
	struct spool_entry e;
	struct err err;
	size_t removed;
	char name[64];

	claim(CLAIM, &e);
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	age(strrchr(entry_path(e.id, "pending"), '/') + 1,
	    LIMIT_SPOOL_KEEP + 10);
	e.state = SPOOL_VERIFIED;
	ck_assert_int_eq(spool_update(spool, &e, &err), 0);
	snprintf(name, sizeof(name), "%s.done", e.id);
	age(name, LIMIT_SPOOL_KEEP - 60);
	dummy("1111111111111111.done", 10);
	age("1111111111111111.done", LIMIT_SPOOL_KEEP + 1);
	dummy(".2222222222222222.tmp", 10);
	age(".2222222222222222.tmp", 3601);
	dummy(".3333333333333333.tmp", 10);
	clock_gettime(CLOCK_REALTIME, &now);
	ck_assert_int_eq(spool_prune(spool, &now, &removed, &err), 0);
	ck_assert_uint_eq(removed, 2);
	ck_assert_int_eq(access(entry_path(e.id, "done"), F_OK), 0);
	ck_assert_int_eq(access(entry_path("1111111111111111", "done"), F_OK),
	    -1);
	ck_assert_uint_eq(files(".tmp"), 1);
	spool_entry_clear(&e);
}
END_TEST

/* b24hookctl's lock: waits for another holder, then takes it. */
START_TEST(test_lock)
{
	struct err err;
	pid_t pid;
	int fd, status;

	ck_assert_int_eq(spool_lock(spool, &fd, &err), 0);
	if ((pid = fork()) == 0) {
		int cfd;

		close(fd); /* the parent's lock, shared by fork */
		_exit(spool_lock(spool, &cfd, &err) == 0 ? 0 : 1);
	}
	usleep(300 * 1000);
	spool_unlock(fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(spool_lock(spool, &fd, &err), 0);
	spool_unlock(fd);
}
END_TEST

/* LIMIT_SPOOL_ENTRIES: the Nth claim is kept, the N+1th is not. */
START_TEST(test_limit_entries)
{
	struct spool_entry e;
	struct err err;
	char name[64];
	int i;

	/* entries and temp files being written count alike */
	for (i = 0; i < LIMIT_SPOOL_ENTRIES - 2; i++) {
		snprintf(name, sizeof(name), "%016x.pending", i);
		dummy(name, 1);
	}
	dummy(".ffffffffffffffff.tmp", 1);
	dummy("eeeeeeeeeeeeeeee.done", 1000); /* decided: not counted */
	claim(CLAIM, &e);
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	ck_assert_uint_eq(files(".pending"), LIMIT_SPOOL_ENTRIES - 1);
	ck_assert_int_eq(spool_add(spool, &e, &err), -1);
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason, "enrollment spool full");
	ck_assert_uint_eq(files(".pending"), LIMIT_SPOOL_ENTRIES - 1);
	ck_assert_uint_eq(files(".tmp"), 1);
	spool_entry_clear(&e);
}
END_TEST

/* LIMIT_SPOOL_BYTES: an entry that makes exactly N bytes is kept. */
START_TEST(test_limit_bytes)
{
	struct buf out = { 0 };
	struct spool_entry e;
	struct err err;

	claim(CLAIM, &e);
	memcpy(e.id, "00000000000000aa", SPOOL_ID_SIZE);
	ck_assert_int_eq(spool_entry_format(&e, &out, &err), 0);
	dummy("0000000000000001.pending", LIMIT_SPOOL_BYTES - out.len - 1);
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	ck_assert_int_eq(unlink(entry_path(e.id, "pending")), 0);
	dummy("0000000000000001.pending", LIMIT_SPOOL_BYTES - out.len + 1);
	ck_assert_int_eq(spool_add(spool, &e, &err), -1);
	ck_assert_str_eq(err.reason, "enrollment spool full");
	dummy("0000000000000001.pending", LIMIT_SPOOL_BYTES - out.len);
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	ck_assert_uint_eq(files(".pending"), 2);
	buf_free(&out);
	spool_entry_clear(&e);
}
END_TEST

/* LIMIT_SPOOL_DONE: N decided entries are kept, of N+1 the oldest goes. */
START_TEST(test_limit_done)
{
	struct timespec now;
	struct err err;
	size_t removed;
	char name[64];
	int i;

	for (i = 0; i < LIMIT_SPOOL_DONE; i++) {
		snprintf(name, sizeof(name), "%016x.done", i);
		dummy(name, 10);
		age(name, LIMIT_SPOOL_DONE - i);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	ck_assert_int_eq(spool_prune(spool, &now, &removed, &err), 0);
	ck_assert_uint_eq(removed, 0);
	dummy("ffffffffffffffff.done", 10);
	ck_assert_int_eq(spool_prune(spool, &now, &removed, &err), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert_uint_eq(files(".done"), LIMIT_SPOOL_DONE);
	ck_assert_int_eq(access(entry_path("0000000000000000", "done"), F_OK),
	    -1);
}
END_TEST

/* LIMIT_SPOOL_ENTRY: an entry of N bytes is kept, of N+1 refused. */
START_TEST(test_limit_entry)
{
	struct buf out = { 0 };
	struct spool_entry e, g;
	struct spool_list l;
	struct err err;
	char *pad;
	size_t base;

	claim(CLAIM, &e);
	memcpy(e.id, "00000000000000aa", SPOOL_ID_SIZE);
	json_object_set_new(json_object_get(e.body, "data"), "pad",
	    json_string(""));
	ck_assert_int_eq(spool_entry_format(&e, &out, &err), 0);
	base = out.len;
	ck_assert_ptr_nonnull(pad = malloc(LIMIT_SPOOL_ENTRY));
	memset(pad, 'x', LIMIT_SPOOL_ENTRY - base);
	pad[LIMIT_SPOOL_ENTRY - base] = '\0';
	json_object_set_new(json_object_get(e.body, "data"), "pad",
	    json_string(pad));
	ck_assert_int_eq(spool_entry_format(&e, &out, &err), 0);
	ck_assert_uint_eq(out.len, LIMIT_SPOOL_ENTRY);
	ck_assert_int_eq(spool_entry_parse(out.data, out.len, &g, &err), 0);
	spool_entry_clear(&g);
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	ck_assert_int_eq(spool_load(spool, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_uint_eq(l.nbad, 0);
	spool_list_free(&l);

	strcat(pad, "x");
	json_object_set_new(json_object_get(e.body, "data"), "pad",
	    json_string(pad));
	ck_assert_int_eq(spool_add(spool, &e, &err), -1);
	ck_assert_int_eq(err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=spool_entry max=65536");
	ck_assert_uint_eq(files(".pending"), 1);
	/* a file of N+1 bytes is no entry either */
	ck_assert_int_eq(spool_entry_parse(out.data, out.len + 1, &g, &err),
	    -1);
	free(pad);
	buf_free(&out);
	spool_entry_clear(&e);
}
END_TEST

/* The claim's fields at their limits: N bytes kept, N+1 no claim. */
START_TEST(test_limit_fields)
{
	char domain[LIMIT_DOMAIN + 2], token[LIMIT_TOKEN + 2],
	    member[LIMIT_MEMBER_ID + 2];
	size_t i;

	for (i = 0; i < LIMIT_DOMAIN + 1; i++)
		domain[i] = i % 64 == 63 ? '.' : 'd';
	ck_assert(spool_valid_domain(domain, LIMIT_DOMAIN));
	ck_assert(!spool_valid_domain(domain, LIMIT_DOMAIN + 1));
	/* a label of 63 bytes, not 64 */
	ck_assert(spool_valid_domain(domain, 63));
	ck_assert(!spool_valid_domain("dddddddddddddddddddddddddddddddddddd"
				      "dddddddddddddddddddddddddddd",
	    64));
	memset(token, 't', sizeof(token));
	ck_assert(allowlist_valid_token(token, LIMIT_TOKEN));
	ck_assert(!allowlist_valid_token(token, LIMIT_TOKEN + 1));
	memset(member, 'm', sizeof(member));
	ck_assert(allowlist_valid_member_id(member, LIMIT_MEMBER_ID));
	ck_assert(!allowlist_valid_member_id(member, LIMIT_MEMBER_ID + 1));
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, tmpdir_teardown);
	tcase_add_test(core, test_add_load);
	tcase_add_test(core, test_side_by_side);
	tcase_add_test(core, test_update_erase);
	tcase_add_test(core, test_pending_and_done);
	tcase_add_test(core, test_bad_files);
	tcase_add_loop_test(core, test_parse_faults, 0,
	    sizeof(faults) / sizeof(faults[0]));
	tcase_add_test(core, test_format_parse);
	tcase_add_test(core, test_shapes);
	tcase_add_test(core, test_not_claims);
	tcase_add_test(core, test_prune);
	tcase_add_test(core, test_lock);
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(limits, setup, tmpdir_teardown);
	tcase_set_timeout(limits, 30);
	tcase_add_test(limits, test_limit_entries);
	tcase_add_test(limits, test_limit_bytes);
	tcase_add_test(limits, test_limit_entry);
	tcase_add_test(limits, test_limit_done);
	tcase_add_test(limits, test_limit_fields);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(spool_suite());
}
