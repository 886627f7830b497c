#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allowlist.h"
#include "limit.h"
#include "testutil.h"

/* relative to the top of the tree, where the tests are run */
#define FIXTURE "tests/fixtures/events/allow.txt"
#define SEED_ID "a223c6b3710f85df22e9377d6c4f7553"
#define SEED_TOKEN "51856fefc120afa4b628cc82d3935cce"
#define REST_ID "bac1cd5c8940947a75e0d71b1a84e348"
#define REST_TOKEN "831c76b092f9f135d9b6b36c3a720757"

static void
write_file(const char *path, const char *text)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static struct allowlist *
parse(const char *text, size_t len)
{
	struct allowlist *list = NULL;
	struct err err;

	ck_assert_int_eq(allowlist_parse(text, len, &list, &err), 0);
	ck_assert_ptr_nonnull(list);
	return list;
}

static struct allowlist *
parse_str(const char *text)
{
	return parse(text, strlen(text));
}

static enum allowlist_verdict
check(const struct allowlist *list, const char *id, const char *token)
{
	return allowlist_check(list, id, token, strlen(token), NULL);
}

START_TEST(test_fixture)
{
	struct allowlist *list;
	const char *portal;
	struct err err;

	ck_assert_int_eq(allowlist_load(FIXTURE, &list, &err), 0);
	ck_assert_uint_eq(allowlist_size(list), 2);
	ck_assert_uint_eq(allowlist_warnings(list), 0);
	ck_assert_int_eq(allowlist_check(list, SEED_ID, SEED_TOKEN,
	                     strlen(SEED_TOKEN), &portal),
	    ALLOWLIST_OK);
	ck_assert_str_eq(portal, SEED_ID);
	ck_assert_int_eq(check(list, REST_ID, REST_TOKEN), ALLOWLIST_OK);
	ck_assert_int_eq(
	    check(list, SEED_ID, REST_TOKEN), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(
	    check(list, REST_ID, SEED_TOKEN), ALLOWLIST_TOKEN_MISMATCH);
	allowlist_free(list);
}
END_TEST

START_TEST(test_syntax)
{
	static const char text[] = "# comment\n"
	                           "\n"
	                           "   \t  \n"
	                           "   # indented comment\n"
	                           "p1 tok1\r\n"
	                           "\tp2\t\ttok2\tsome label with spaces\n"
	                           "  p3   tok3   # trailing comment\n"
	                           "p4 tok4#in-token #comment\n"
	                           "p5 tok5 label\r\n"
	                           "\r\n"
	                           "p6 tok6\n";
	struct allowlist *list = parse_str(text);

	ck_assert_uint_eq(allowlist_size(list), 6);
	ck_assert_uint_eq(allowlist_warnings(list), 0);
	ck_assert_int_eq(check(list, "p1", "tok1"), ALLOWLIST_OK);
	ck_assert_int_eq(check(list, "p1", "tok1\r"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(check(list, "p2", "tok2"), ALLOWLIST_OK);
	ck_assert_int_eq(check(list, "p2", "some"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(check(list, "p3", "tok3"), ALLOWLIST_OK);
	/* '#' inside a token is part of it, at a field's start a comment */
	ck_assert_int_eq(check(list, "p4", "tok4#in-token"), ALLOWLIST_OK);
	ck_assert_int_eq(check(list, "p4", "tok4"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(check(list, "p5", "tok5"), ALLOWLIST_OK);
	ck_assert_int_eq(check(list, "p6", "tok6"), ALLOWLIST_OK);
	ck_assert_int_eq(
	    check(list, "comment", "tok1"), ALLOWLIST_UNKNOWN_PORTAL);
	allowlist_free(list);
}
END_TEST

START_TEST(test_not_terminated)
{
	/* only len bytes count: no NUL needed, and a NUL is just a byte */
	static const char text[] = "a b\0c\nz tokB\nz tokB-and-more\n";
	struct allowlist *list =
	    parse(text, sizeof(text) - 1 - strlen("z tokB-and-more\n"));

	ck_assert_uint_eq(allowlist_size(list), 1);
	ck_assert_uint_eq(allowlist_warnings(list), 1);
	ck_assert_str_eq(allowlist_warning(list, 0),
	    "line 1: application token must be 1..128 bytes of "
	    "printable ASCII");
	ck_assert_int_eq(check(list, "z", "tokB"), ALLOWLIST_OK);
	ck_assert_int_eq(
	    check(list, "z", "tokB-and-more"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(check(list, "a", "b"), ALLOWLIST_UNKNOWN_PORTAL);
	allowlist_free(list);
}
END_TEST

/* A last line that is blank or only a comment loses nothing: no warning. */
static const char *const quiet_ends[] = {
    "p tok\n   ",
    "p tok\n\t",
    "p tok\n\r",
    "p tok\n# a comm",
    "p tok\n  # x y",
};

/*
 * A last line without its newline is what a writer cut short leaves: a
 * token cut there must not make its prefix valid.  REST_TOKEN begins
 * with '8'.
 */
START_TEST(test_no_final_newline)
{
	static const char text[] = SEED_ID " " SEED_TOKEN "\n" REST_ID " 8";
	struct allowlist *list = parse_str(text);
	size_t i;

	ck_assert_uint_eq(allowlist_size(list), 1);
	ck_assert_uint_eq(allowlist_warnings(list), 1);
	ck_assert_str_eq(allowlist_warning(list, 0),
	    "line 2: no newline at the end: the file may be half written");
	ck_assert_int_eq(check(list, REST_ID, "8"), ALLOWLIST_UNKNOWN_PORTAL);
	ck_assert_int_eq(
	    check(list, REST_ID, REST_TOKEN), ALLOWLIST_UNKNOWN_PORTAL);
	ck_assert_int_eq(check(list, SEED_ID, SEED_TOKEN), ALLOWLIST_OK);
	allowlist_free(list);

	/* the same line with its newline is an entry */
	list = parse_str(SEED_ID " " SEED_TOKEN "\n" REST_ID " 8\n");
	ck_assert_uint_eq(allowlist_size(list), 2);
	ck_assert_uint_eq(allowlist_warnings(list), 0);
	ck_assert_int_eq(check(list, REST_ID, "8"), ALLOWLIST_OK);
	allowlist_free(list);

	for (i = 0; i < sizeof(quiet_ends) / sizeof(quiet_ends[0]); i++) {
		list = parse_str(quiet_ends[i]);
		ck_assert_uint_eq(allowlist_size(list), 1);
		ck_assert_uint_eq(allowlist_warnings(list), 0);
		ck_assert_int_eq(check(list, "p", "tok"), ALLOWLIST_OK);
		allowlist_free(list);
	}
}
END_TEST

START_TEST(test_empty)
{
	struct allowlist *list = parse("", 0);

	ck_assert_uint_eq(allowlist_size(list), 0);
	ck_assert_uint_eq(allowlist_warnings(list), 0);
	ck_assert_int_eq(check(list, "p", "t"), ALLOWLIST_UNKNOWN_PORTAL);
	allowlist_free(list);
	allowlist_free(NULL);
}
END_TEST

START_TEST(test_rotation)
{
	static const char text[] = "p old-secret\n"
	                           "q q-secret\n"
	                           "p new-secret  reinstalled 2024-05-01\n"
	                           "p newer-secret\n";
	struct allowlist *list = parse_str(text);
	const char *portal;

	ck_assert_uint_eq(allowlist_size(list), 4);
	ck_assert_int_eq(check(list, "p", "old-secret"), ALLOWLIST_OK);
	ck_assert_int_eq(check(list, "p", "new-secret"), ALLOWLIST_OK);
	ck_assert_int_eq(
	    allowlist_check(list, "p", "newer-secret", 12, &portal),
	    ALLOWLIST_OK);
	ck_assert_str_eq(portal, "p");
	ck_assert_int_eq(
	    check(list, "p", "q-secret"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(
	    check(list, "q", "new-secret"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(check(list, "q", "q-secret"), ALLOWLIST_OK);
	allowlist_free(list);
}
END_TEST

/* every bad token holds "secret", which no warning may echo */
static const struct {
	const char *line;
	const char *what;
} bad_lines[] = {
    {"secret-only-field", "no application token"},
    {"p # secret-commented", "no application token"},
    {"bad/id secret-1", "member_id must match [A-Za-z0-9_-]{1,64}"},
    {"bad.id secret-2", "member_id must match"},
    {"bad\vid secret-3", "member_id must match"},
    {"\xd0\xb8"
     "d secret-4",
        "member_id must match"},
    {"p secret\x01-5", "application token must be 1..128 bytes"},
    {"p secret-\xc3\xb6-6 label", "application token must be"},
    {"p secret\r-7", "application token must be"},
    {"p secret\x7f-8", "application token must be"},
};

START_TEST(test_malformed)
{
	char text[1024], prefix[32], id[16], token[16];
	struct allowlist *list;
	size_t i, n = sizeof(bad_lines) / sizeof(bad_lines[0]);
	const char *w;

	text[0] = '\0';
	for (i = 0; i < n; i++) {
		/* bad line i is line 2i+1, a good one follows it */
		strcat(text, bad_lines[i].line);
		snprintf(prefix, sizeof(prefix), "\ngood%zu tok%zu\n", i, i);
		strcat(text, prefix);
	}
	list = parse_str(text);
	ck_assert_uint_eq(allowlist_size(list), n);
	ck_assert_uint_eq(allowlist_warnings(list), n);
	for (i = 0; i < n; i++) {
		w = allowlist_warning(list, i);
		snprintf(prefix, sizeof(prefix), "line %zu: ", 2 * i + 1);
		ck_assert_msg(strncmp(w, prefix, strlen(prefix)) == 0,
		    "warning %zu: \"%s\"", i, w);
		ck_assert_ptr_nonnull(strstr(w, bad_lines[i].what));
		ck_assert_ptr_null(strstr(w, "secret"));
		snprintf(id, sizeof(id), "good%zu", i);
		snprintf(token, sizeof(token), "tok%zu", i);
		ck_assert_int_eq(check(list, id, token), ALLOWLIST_OK);
	}
	ck_assert_int_eq(
	    check(list, "p", "secret-commented"), ALLOWLIST_UNKNOWN_PORTAL);
	allowlist_free(list);
}
END_TEST

START_TEST(test_verdicts)
{
	struct allowlist *list = parse_str("p tok-abc\nq tok-q\n");
	const char *portal = "unset", *id = "p";

	ck_assert_int_eq(check(list, "r", "tok-abc"), ALLOWLIST_UNKNOWN_PORTAL);
	ck_assert_int_eq(check(list, "", "tok-abc"), ALLOWLIST_UNKNOWN_PORTAL);
	ck_assert_int_eq(check(list, "P", "tok-abc"), ALLOWLIST_UNKNOWN_PORTAL);
	ck_assert_int_eq(
	    check(list, "p ", "tok-abc"), ALLOWLIST_UNKNOWN_PORTAL);
	ck_assert_int_eq(allowlist_check(list, "r", "tok-abc", 7, &portal),
	    ALLOWLIST_UNKNOWN_PORTAL);
	ck_assert_ptr_null(portal);

	ck_assert_int_eq(allowlist_check(list, "p", NULL, 0, NULL),
	    ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(allowlist_check(list, "p", NULL, 7, NULL),
	    ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(allowlist_check(list, "p", "tok-abc", 0, NULL),
	    ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(check(list, "p", ""), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(check(list, "p", "tok-ab"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(allowlist_check(list, "p", "tok-abc", 6, NULL),
	    ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(
	    check(list, "p", "tok-abcd"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(allowlist_check(list, "p", "tok-abc\0", 8, NULL),
	    ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(check(list, "p", "TOK-ABC"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(check(list, "p", "tok-q"), ALLOWLIST_TOKEN_MISMATCH);
	portal = "unset";
	ck_assert_int_eq(allowlist_check(list, "p", "tok-q", 5, &portal),
	    ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_ptr_null(portal);

	/* *portal is the list's own copy, not the caller's string */
	ck_assert_int_eq(
	    allowlist_check(list, id, "tok-abc", 7, &portal), ALLOWLIST_OK);
	ck_assert_str_eq(portal, "p");
	ck_assert_ptr_ne(portal, id);
	allowlist_free(list);
}
END_TEST

START_TEST(test_load_errors)
{
	struct allowlist *list;
	struct err err;

	ck_assert_int_eq(allowlist_load(tmp("missing"), &list, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "allowlist open errno=ENOENT");

	ck_assert_int_eq(allowlist_load(tmpdir, &list, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "allowlist not a regular file");

	/* a FIFO is refused without blocking */
	ck_assert_int_eq(mkfifo(tmp("fifo"), 0600), 0);
	ck_assert_int_eq(allowlist_load(tmp("fifo"), &list, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "allowlist not a regular file");
}
END_TEST

START_TEST(test_load_unreadable)
{
	struct allowlist *list;
	struct err err;
	int rc;

	write_file(tmp("allow"), "p secret-token\n");
	ck_assert_int_eq(chmod(tmp("allow"), 0), 0);
	rc = allowlist_load(tmp("allow"), &list, &err);
	if (geteuid() == 0) {
		/* root reads a mode 000 file: nothing to refuse */
		ck_assert_int_eq(rc, 0);
		allowlist_free(list);
		return;
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "allowlist open errno=EACCES");
}
END_TEST

START_TEST(test_load_warnings)
{
	struct allowlist *list;
	struct err err;

	write_file(tmp("allow"), "# list\np tok\nbad/id secret\n");
	ck_assert_int_eq(allowlist_load(tmp("allow"), &list, &err), 0);
	ck_assert_uint_eq(allowlist_size(list), 1);
	ck_assert_uint_eq(allowlist_warnings(list), 1);
	ck_assert_str_eq(allowlist_warning(list, 0),
	    "line 3: member_id must match [A-Za-z0-9_-]{1,64}");
	allowlist_free(list);
}
END_TEST

/* get: cache_get that must succeed; returns *reloaded */
static int
get(struct allowlist_cache *c, const char *path, const struct allowlist **list)
{
	struct err err;
	int reloaded = -1;

	ck_assert_msg(allowlist_cache_get(c, path, list, &reloaded, &err) == 0,
	    "cache_get: %s", err.reason);
	ck_assert_ptr_nonnull(*list);
	return reloaded;
}

static void
set_mtime(const char *path, time_t sec)
{
	struct timespec ts[2] = {{sec, 0}, {sec, 0}};

	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

START_TEST(test_cache)
{
	struct allowlist_cache c = {0};
	const struct allowlist *list, *first;
	char path[256];

	snprintf(path, sizeof(path), "%s", tmp("allow"));
	write_file(path, "p tok1\n");
	ck_assert_int_eq(get(&c, path, &first), 1);
	ck_assert_int_eq(check(first, "p", "tok1"), ALLOWLIST_OK);
	ck_assert_int_eq(get(&c, path, &list), 0);
	ck_assert_ptr_eq(list, first);
	ck_assert_int_eq(get(&c, path, &list), 0);

	/* the same size rewritten in place: the mtime tells */
	write_file(path, "p tok2\n");
	set_mtime(path, 1000000000);
	ck_assert_int_eq(get(&c, path, &list), 1);
	ck_assert_int_eq(check(list, "p", "tok2"), ALLOWLIST_OK);
	ck_assert_int_eq(check(list, "p", "tok1"), ALLOWLIST_TOKEN_MISMATCH);
	ck_assert_int_eq(get(&c, path, &list), 0);

	/* saved by rename: a new inode */
	write_file(tmp("allow.new"), "p tok3 label\n");
	set_mtime(tmp("allow.new"), 1000000000);
	ck_assert_int_eq(rename(tmp("allow.new"), path), 0);
	ck_assert_int_eq(get(&c, path, &list), 1);
	ck_assert_int_eq(check(list, "p", "tok3"), ALLOWLIST_OK);
	ck_assert_int_eq(check(list, "p", "tok2"), ALLOWLIST_TOKEN_MISMATCH);

	/* another path is another list, even with the same content */
	write_file(tmp("other"), "q tok4\n");
	ck_assert_int_eq(get(&c, tmp("other"), &list), 1);
	ck_assert_int_eq(check(list, "q", "tok4"), ALLOWLIST_OK);
	ck_assert_int_eq(get(&c, path, &list), 1);
	ck_assert_int_eq(check(list, "p", "tok3"), ALLOWLIST_OK);
	allowlist_cache_clear(&c);
	ck_assert_ptr_null(c.list);
	ck_assert_int_eq(get(&c, path, &list), 1);
	allowlist_cache_clear(&c);
	allowlist_cache_clear(&c);
}
END_TEST

START_TEST(test_cache_failure)
{
	struct allowlist_cache c = {0};
	const struct allowlist *list;
	struct err err;
	char path[256];
	int reloaded = -1;

	snprintf(path, sizeof(path), "%s", tmp("allow"));
	write_file(path, "p tok1\n");
	ck_assert_int_eq(get(&c, path, &list), 1);

	/* deleted: nothing is allowed until it is back */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(
	    allowlist_cache_get(&c, path, &list, &reloaded, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "allowlist stat errno=ENOENT");
	ck_assert_ptr_null(list);
	ck_assert_int_eq(reloaded, 0);
	ck_assert_ptr_null(c.list);
	ck_assert_ptr_null(c.path);

	write_file(path, "p tok5\n");
	ck_assert_int_eq(get(&c, path, &list), 1);
	ck_assert_int_eq(check(list, "p", "tok5"), ALLOWLIST_OK);
	ck_assert_int_eq(check(list, "p", "tok1"), ALLOWLIST_TOKEN_MISMATCH);

	/* stat succeeds, the load does not */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(
	    allowlist_cache_get(&c, path, &list, &reloaded, &err), -1);
	ck_assert_str_eq(err.reason, "allowlist not a regular file");
	ck_assert_ptr_null(c.list);
	allowlist_cache_clear(&c);
}
END_TEST

/* line: "id token" padded with a label to exactly len bytes */
static void
make_line(char *line, size_t len, const char *id, const char *token)
{
	size_t n;

	n = (size_t)sprintf(line, "%s %s ", id, token);
	ck_assert_uint_le(n, len);
	memset(line + n, 'x', len - n);
	line[len] = '\0';
}

static void
fill(char *s, char c, size_t n)
{
	memset(s, c, n);
	s[n] = '\0';
}

/* A portal's label: the rest of its first labelled line, comment cut. */
START_TEST(test_labels)
{
	const char *text = "p1 tok1\n"
			   "p1 tok2   Acme  portal \t# comment\n"
			   "p1 tok3 later label\n"
			   "p2 tok4 #only a comment\n";
	struct allowlist *list = parse(text, strlen(text));

	ck_assert_str_eq(allowlist_label(list, "p1"), "Acme  portal");
	ck_assert_str_eq(allowlist_label(list, "p2"), "");
	ck_assert_str_eq(allowlist_label(list, "p3"), "");
	ck_assert_int_eq(allowlist_check(list, "p1", "tok2", 4, NULL),
	    ALLOWLIST_OK);
	allowlist_free(list);
}
END_TEST

/* LIMIT_LABEL bytes of label are kept; one more, and there is none. */
START_TEST(test_limit_label)
{
	char text[LIMIT_LABEL + 64];
	struct allowlist *list;
	int n;

	n = snprintf(text, sizeof(text), "p1 tok1 %0*d\n", LIMIT_LABEL, 7);
	list = parse(text, (size_t)n);
	ck_assert_uint_eq(strlen(allowlist_label(list, "p1")), LIMIT_LABEL);
	allowlist_free(list);
	n = snprintf(text, sizeof(text), "p1 tok1 %0*d\n", LIMIT_LABEL + 1, 7);
	list = parse(text, (size_t)n);
	ck_assert_str_eq(allowlist_label(list, "p1"), "");
	ck_assert_int_eq(allowlist_check(list, "p1", "tok1", 4, NULL),
	    ALLOWLIST_OK);
	allowlist_free(list);
}
END_TEST

/* Every byte value against [A-Za-z0-9_-], alone and after a valid one. */
START_TEST(test_member_id_bytes)
{
	char id[2] = { 'a', 0 };
	int c, want;

	for (c = 0; c < 256; c++) {
		want = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-';
		id[1] = (char)c;
		ck_assert_msg(allowlist_valid_member_id(id + 1, 1) == want,
		    "byte %d", c);
		ck_assert_msg(allowlist_valid_member_id(id, 2) == want,
		    "byte %d", c);
	}
	ck_assert(!allowlist_valid_member_id(id, 0));
}
END_TEST

START_TEST(test_limit_member_id)
{
	char id[LIMIT_MEMBER_ID + 2], text[LIMIT_MEMBER_ID + 16];
	struct allowlist *list;

	fill(id, 'm', LIMIT_MEMBER_ID);
	snprintf(text, sizeof(text), "%s tok\n", id);
	list = parse_str(text);
	ck_assert_uint_eq(allowlist_size(list), 1);
	ck_assert_int_eq(check(list, id, "tok"), ALLOWLIST_OK);
	allowlist_free(list);

	fill(id, 'm', LIMIT_MEMBER_ID + 1);
	snprintf(text, sizeof(text), "%s tok\n", id);
	list = parse_str(text);
	ck_assert_uint_eq(allowlist_size(list), 0);
	ck_assert_uint_eq(allowlist_warnings(list), 1);
	ck_assert_str_eq(allowlist_warning(list, 0),
	    "line 1: member_id must match [A-Za-z0-9_-]{1,64}");
	ck_assert_int_eq(check(list, id, "tok"), ALLOWLIST_UNKNOWN_PORTAL);
	allowlist_free(list);
}
END_TEST

START_TEST(test_limit_token)
{
	char token[LIMIT_TOKEN + 2], text[LIMIT_TOKEN + 16];
	struct allowlist *list;

	fill(token, 't', LIMIT_TOKEN);
	snprintf(text, sizeof(text), "p %s\n", token);
	list = parse_str(text);
	ck_assert_uint_eq(allowlist_size(list), 1);
	ck_assert_int_eq(check(list, "p", token), ALLOWLIST_OK);
	ck_assert_int_eq(
	    allowlist_check(list, "p", token, LIMIT_TOKEN - 1, NULL),
	    ALLOWLIST_TOKEN_MISMATCH);
	allowlist_free(list);

	fill(token, 't', LIMIT_TOKEN + 1);
	snprintf(text, sizeof(text), "p %s\n", token);
	list = parse_str(text);
	ck_assert_uint_eq(allowlist_size(list), 0);
	ck_assert_uint_eq(allowlist_warnings(list), 1);
	ck_assert_str_eq(allowlist_warning(list, 0),
	    "line 1: application token must be 1..128 bytes of "
	    "printable ASCII");
	ck_assert_ptr_null(strstr(allowlist_warning(list, 0), "ttt"));
	allowlist_free(list);
}
END_TEST

START_TEST(test_limit_line)
{
	char line[LIMIT_ALLOWLIST_LINE + 16];
	struct allowlist *list;

	make_line(line, LIMIT_ALLOWLIST_LINE, "p", "tok");
	strcat(line, "\n");
	list = parse_str(line);
	ck_assert_uint_eq(allowlist_size(list), 1);
	allowlist_free(list);

	/* the CR of a CRLF ending is not part of the line */
	strcpy(line + LIMIT_ALLOWLIST_LINE, "\r\n");
	list = parse_str(line);
	ck_assert_uint_eq(allowlist_size(list), 1);
	ck_assert_int_eq(check(list, "p", "tok"), ALLOWLIST_OK);
	allowlist_free(list);

	make_line(line, LIMIT_ALLOWLIST_LINE + 1, "p", "secret");
	strcat(line, "\nq tok\n");
	list = parse_str(line);
	ck_assert_uint_eq(allowlist_size(list), 1);
	ck_assert_uint_eq(allowlist_warnings(list), 1);
	ck_assert_str_eq(
	    allowlist_warning(list, 0), "line 1: line longer than 1024 bytes");
	ck_assert_int_eq(check(list, "p", "secret"), ALLOWLIST_UNKNOWN_PORTAL);
	ck_assert_int_eq(check(list, "q", "tok"), ALLOWLIST_OK);
	allowlist_free(list);
}
END_TEST

static Suite *
allowlist_suite(void)
{
	Suite *s = suite_create("allowlist");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(core, test_fixture);
	tcase_add_test(core, test_syntax);
	tcase_add_test(core, test_not_terminated);
	tcase_add_test(core, test_no_final_newline);
	tcase_add_test(core, test_empty);
	tcase_add_test(core, test_rotation);
	tcase_add_test(core, test_malformed);
	tcase_add_test(core, test_verdicts);
	tcase_add_test(core, test_load_errors);
	tcase_add_test(core, test_load_unreadable);
	tcase_add_test(core, test_load_warnings);
	tcase_add_test(core, test_cache);
	tcase_add_test(core, test_cache_failure);
	tcase_add_test(core, test_labels);
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(limits, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(limits, test_member_id_bytes);
	tcase_add_test(limits, test_limit_member_id);
	tcase_add_test(limits, test_limit_token);
	tcase_add_test(limits, test_limit_line);
	tcase_add_test(limits, test_limit_label);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(allowlist_suite());
}
