/*
 * b24hookctl: the operator's tool.  Enrollment (the spool's claims:
 * list, verify, approve, reject), the allow-list (list, add, remove), a
 * check of the settings, like nginx -t, and the shared counters (stats,
 * status: ctl/stats.c).  Argument parsing and printing only: every rule
 * is in lib/ (enroll.h, spool.h, allowedit.h, appinfo.h, oauth.h,
 * counters.h).
 *
 * Settings come from the process environment, as the responder's do
 * (settings_read).  It is never a CGI program: with GATEWAY_INTERFACE or
 * REQUEST_METHOD in its environment it refuses to run (exit 2), so no
 * web server can be made to run it on a request.
 *
 * Exit status: 0 done; 1 something failed (a claim that could not be
 * checked or applied, an edit, a check that found an error); 2 usage.
 * A claim rejected or left for the operator is a decision, not a
 * failure: exit 0.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <malloc.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "allowedit.h"
#include "allowlist.h"
#include "enroll.h"
#include "oauth.h"
#include "request.h"
#include "spool.h"
#include "stats.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: b24hookctl enroll list\n"
    "       b24hookctl enroll verify\n"
    "       b24hookctl enroll approve ID\n"
    "       b24hookctl enroll reject ID\n"
    "       b24hookctl portal list\n"
    "       b24hookctl portal add MEMBER_ID TOKEN|- [LABEL]\n"
    "       b24hookctl portal remove MEMBER_ID [FINGERPRINT]\n"
    "       b24hookctl check\n"
    "       b24hookctl stats [--format text|json|prometheus] [--output FILE]\n"
    "       b24hookctl stats --reset\n"
    "       b24hookctl status [--silent-for DURATION]\n"
    "Settings from the environment: B24HOOK_ALLOWLIST, B24HOOK_LOG_DIR,\n"
    "B24HOOK_ENROLL_DIR, B24HOOK_CLIENT_ID, B24HOOK_OAUTH_URL,\n"
    "B24HOOK_OAUTH_CA, B24HOOK_STATE_DIR.  TOKEN '-' reads the token from stdin (a token on\n"
    "the command line is visible to every user in ps).\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int
fail(const char *what, const struct err *err)
{
	fprintf(stderr, "b24hookctl: %s: %s\n", what, err->reason);
	return EXIT_FAILURE;
}

static const char *
env(const char *name)
{
	return getenv(name);
}

/* jansson's memory holds tokens: wiped as it is freed */
static void
wiping_free(void *p)
{
	if (p != NULL)
		sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

/* "2026-11-21T08:32:36Z" */
static void
iso_time(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

/* --- enroll ------------------------------------------------------------- */

static int
enroll_list(const struct settings *s)
{
	char when[32], state[SPOOL_NOTE_SIZE + 32];
	const struct spool_entry *e;
	struct spool_list l;
	struct err err;
	size_t i;

	if (s->enroll_dir == NULL) {
		err_set(&err, ERR_CONFIG, "B24HOOK_ENROLL_DIR unset");
		return fail("enroll list", &err);
	}
	if (spool_load(s->enroll_dir, &l, &err) == -1)
		return fail("enroll list", &err);
	for (i = 0; i < l.n; i++) {
		e = &l.entries[i];
		iso_time(e->received.tv_sec, when);
		spool_state_text(e, state, sizeof(state));
		printf("%s %s %s %s %s %s\n", e->id, e->member_id, e->domain,
		    e->event, when, state);
	}
	for (i = 0; i < l.nbad; i++)
		fprintf(stderr, "b24hookctl: spool: %s\n", l.bad[i]);
	spool_list_free(&l);
	return EXIT_SUCCESS;
}

static void
report(void *arg, const struct spool_entry *e, const char *outcome,
    int failed)
{
	(void)arg;
	(void)failed;
	printf("%s %s %s %s\n", e->id, e->member_id, e->domain, outcome);
	fflush(stdout);
}

static int
enroll_verify_cmd(const struct settings *s)
{
	struct timespec now;
	struct err err;
	int failures;

	if (clock_gettime(CLOCK_REALTIME, &now) == -1) {
		err_errno(&err, ERR_INTERNAL, errno, "clock_gettime");
		return fail("enroll verify", &err);
	}
	failures = enroll_verify(s, &now, oauth_app_info, report, NULL, &err);
	if (failures == -1)
		return fail("enroll verify", &err);
	return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int
enroll_approve_cmd(const struct settings *s, const char *id)
{
	struct enroll_approval a;
	struct err err;

	if (enroll_approve(s, id, &a, &err) == -1)
		return fail("enroll approve", &err);
	if (!a.added) {
		printf("%s %s %s verified: approved; token %s was listed "
		       "already, nothing added\n",
		    id, a.member_id, a.domain, a.fingerprint);
		return EXIT_SUCCESS;
	}
	printf("%s %s %s verified: approved; listed with token %s, label %s; "
	       "install record written\n",
	    id, a.member_id, a.domain, a.fingerprint, a.domain);
	if (a.others > 0)
		printf("%s %s %s note: the portal's %zu other token(s) stay "
		       "valid with the new one while it changes over; once "
		       "events come with the new one, remove the old: "
		       "b24hookctl portal remove %s FINGERPRINT (portal "
		       "list shows them)\n",
		    id, a.member_id, a.domain, a.others, a.member_id);
	return EXIT_SUCCESS;
}

static int
enroll_reject_cmd(const struct settings *s, const char *id)
{
	struct err err;

	if (enroll_reject(s, id, &err) == -1)
		return fail("enroll reject", &err);
	printf("%s rejected: by the operator; its tokens are erased\n", id);
	return EXIT_SUCCESS;
}

static int
enroll(const struct settings *s, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return enroll_list(s);
	if (argc == 1 && strcmp(argv[0], "verify") == 0)
		return enroll_verify_cmd(s);
	if (argc == 2 && strcmp(argv[0], "approve") == 0)
		return enroll_approve_cmd(s, argv[1]);
	if (argc == 2 && strcmp(argv[0], "reject") == 0)
		return enroll_reject_cmd(s, argv[1]);
	return usage();
}

/* --- portal ------------------------------------------------------------- */

static int
portal_list(const struct settings *s)
{
	struct allowedit_entry *e;
	struct stat st;
	struct buf text;
	struct err err;
	size_t n, i;
	int rc;

	if (allowedit_read(s->allowlist, &text, &st, &err) == -1)
		return fail("portal list", &err);
	rc = allowedit_entries(text.data, text.len, &e, &n, &err);
	if (text.data != NULL)
		sodium_memzero(text.data, text.cap);
	buf_free(&text);
	if (rc == -1)
		return fail("portal list", &err);
	for (i = 0; i < n; i++)
		printf("%s %s%s%s\n", e[i].member_id, e[i].fingerprint,
		    e[i].label[0] ? " " : "", e[i].label);
	free(e);
	return EXIT_SUCCESS;
}

/* read_token: one line of stdin, its newline cut, into tok */
static int
read_token(char tok[LIMIT_TOKEN + 3])
{
	size_t n;

	if (fgets(tok, LIMIT_TOKEN + 3, stdin) == NULL)
		return -1;
	n = strlen(tok);
	if (n > 0 && tok[n - 1] == '\n')
		tok[--n] = '\0';
	else if (!feof(stdin))
		return -1; /* longer than any token */
	if (n > 0 && tok[n - 1] == '\r')
		tok[--n] = '\0';
	return 0;
}

static int
portal_add(const struct settings *s, const char *member_id, const char *arg,
    const char *label)
{
	char tok[LIMIT_TOKEN + 3], fp[ALLOWLIST_FP_SIZE];
	const char *token = arg;
	struct allowedit ed;
	enum allowedit_found found;
	struct err err;
	int added, rc = EXIT_FAILURE;

	if (strcmp(arg, "-") == 0) {
		if (read_token(tok) == -1) {
			sodium_memzero(tok, sizeof(tok));
			err_set(&err, ERR_CONFIG,
			    "no token of at most %d bytes on stdin",
			    LIMIT_TOKEN);
			return fail("portal add", &err);
		}
		token = tok;
	}
	allowlist_fingerprint(token, strlen(token), fp);
	if (allowedit_open(&ed, s->allowlist, &err) == -1) {
		rc = fail("portal add", &err);
		goto out;
	}
	found = allowedit_find(&ed, member_id, token, strlen(token));
	if (allowedit_add(&ed, member_id, token, strlen(token), label, &added,
		&err) == -1 ||
	    allowedit_commit(&ed, &err) == -1) {
		rc = fail("portal add", &err);
		goto close;
	}
	if (!added)
		printf("%s %s listed already: nothing added\n", member_id, fp);
	else
		printf("%s %s added%s%s%s\n", member_id, fp,
		    label != NULL && *label ? " with label " : "",
		    label != NULL ? label : "",
		    found == ALLOWEDIT_OTHER
			? "; the portal's other tokens stay valid until "
			  "removed (portal remove MEMBER_ID FINGERPRINT)"
			: "");
	rc = EXIT_SUCCESS;
close:
	allowedit_close(&ed);
out:
	sodium_memzero(tok, sizeof(tok));
	return rc;
}

static int
portal_remove(const struct settings *s, const char *member_id,
    const char *fp)
{
	struct buf removed = { 0 };
	struct allowedit ed;
	struct err err;
	size_t n, i;
	int rc = EXIT_FAILURE;

	buf_init(&removed, (size_t)-1);
	if (allowedit_open(&ed, s->allowlist, &err) == -1)
		return fail("portal remove", &err);
	if (allowedit_remove(&ed, member_id, fp, &removed, &n, &err) == -1 ||
	    allowedit_commit(&ed, &err) == -1) {
		rc = fail("portal remove", &err);
		goto out;
	}
	if (n == 0) {
		fprintf(stderr, "b24hookctl: portal remove: no entry of %s%s%s\n",
		    member_id, fp != NULL ? " with token " : "",
		    fp != NULL ? fp : "");
		goto out;
	}
	for (i = 0; i < n; i++)
		printf("%s %s removed\n", member_id,
		    removed.data + i * ALLOWLIST_FP_SIZE);
	rc = EXIT_SUCCESS;
out:
	allowedit_close(&ed);
	buf_free(&removed);
	return rc;
}

static int
portal(const struct settings *s, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return portal_list(s);
	if ((argc == 3 || argc == 4) && strcmp(argv[0], "add") == 0)
		return portal_add(s, argv[1], argv[2],
		    argc == 4 ? argv[3] : NULL);
	if ((argc == 2 || argc == 3) && strcmp(argv[0], "remove") == 0)
		return portal_remove(s, argv[1], argc == 3 ? argv[2] : NULL);
	return usage();
}

/* --- check -------------------------------------------------------------- */

/* One check's findings: errors fail it, warnings do not. */
struct findings {
	int errors, warnings;
};

static void say(struct findings *f, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct findings *f, int error, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "b24hookctl: %s: ", error ? "error" : "warning");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (error)
		f->errors++;
	else
		f->warnings++;
}

static void
check_allowlist(const struct settings *s, struct findings *f)
{
	struct allowlist *list;
	struct stat st;
	struct err err;
	size_t i;

	if (allowlist_load(s->allowlist, &list, &err) == -1) {
		say(f, 1, "B24HOOK_ALLOWLIST: %s", err.reason);
		return;
	}
	for (i = 0; i < allowlist_warnings(list); i++)
		say(f, 1, "B24HOOK_ALLOWLIST %s", allowlist_warning(list, i));
	if (allowlist_size(list) == 0)
		say(f, 0, "B24HOOK_ALLOWLIST lists no portal: every event is "
			  "refused");
	allowlist_free(list);
	if (stat(s->allowlist, &st) == 0) {
		if (st.st_mode & S_IROTH)
			say(f, 0, "B24HOOK_ALLOWLIST is world-readable (mode "
				  "%04o): its tokens are secrets, chmod o-rwx",
			    (unsigned)(st.st_mode & 07777));
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			say(f, 0, "B24HOOK_ALLOWLIST is writable by group or "
				  "others (mode %04o): chmod go-w",
			    (unsigned)(st.st_mode & 07777));
	}
}

static void
check_dir(struct findings *f, const char *name, const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		say(f, 1, "%s is not a directory", name);
	else if (access(path, W_OK | X_OK) == -1)
		say(f, 0, "%s is not writable by this user (uid %u)", name,
		    (unsigned)geteuid());
}

static int
check(void)
{
	struct findings f = { 0, 0 };
	struct settings s;
	struct spool_list l;
	struct err err;
	size_t i;

	if (settings_read(env, &s, &err) == -1) {
		say(&f, 1, "%s", err.reason);
		goto out;
	}
	check_allowlist(&s, &f);
	check_dir(&f, "B24HOOK_LOG_DIR", s.log_dir);
	if (s.enroll_dir == NULL)
		goto out;
	check_dir(&f, "B24HOOK_ENROLL_DIR", s.enroll_dir);
	if (s.client_id == NULL)
		say(&f, 0, "B24HOOK_CLIENT_ID unset: enroll verify cannot "
			   "run, claims wait for enroll approve");
	if (s.oauth_ca != NULL && access(s.oauth_ca, R_OK) == -1)
		say(&f, 1, "B24HOOK_OAUTH_CA is not a readable file");
	if (spool_load(s.enroll_dir, &l, &err) == -1) {
		say(&f, 1, "B24HOOK_ENROLL_DIR: %s", err.reason);
		goto out;
	}
	for (i = 0; i < l.nbad; i++)
		say(&f, 0, "B24HOOK_ENROLL_DIR %s", l.bad[i]);
	spool_list_free(&l);
out:
	if (f.errors > 0) {
		fprintf(stderr, "b24hookctl: check failed: %d error(s), %d "
				"warning(s)\n",
		    f.errors, f.warnings);
		return EXIT_FAILURE;
	}
	fprintf(stderr, "b24hookctl: check passed%s\n",
	    f.warnings > 0 ? " with warnings" : "");
	return EXIT_SUCCESS;
}

int
main(int argc, char **argv)
{
	struct settings s;
	struct err err;

	if (getenv("GATEWAY_INTERFACE") != NULL ||
	    getenv("REQUEST_METHOD") != NULL) {
		fputs("b24hookctl: not a CGI program: refusing to run with "
		      "GATEWAY_INTERFACE or REQUEST_METHOD set\n",
		    stderr);
		return EXIT_USAGE;
	}
	umask(027); /* logs it creates are 0640, as the responder's */
	if (sodium_init() < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		fputs("b24hookctl: libsodium failed to start\n", stderr);
		return EXIT_FAILURE;
	}
	/* once, before anything else runs: libcurl's global state */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("b24hookctl: libcurl failed to start\n", stderr);
		return EXIT_FAILURE;
	}
	json_set_alloc_funcs(malloc, wiping_free);
	if (argc < 2)
		return usage();
	if (argc == 2 && strcmp(argv[1], "check") == 0)
		return check();
	if (strcmp(argv[1], "stats") == 0 || strcmp(argv[1], "status") == 0) {
		/* status: 2 when the counters cannot be read, a monitor's UNKNOWN */
		if (settings_read(env, &s, &err) == -1) {
			fail("settings", &err);
			return EXIT_USAGE;
		}
		return strcmp(argv[1], "stats") == 0
		    ? ctl_stats(argc - 1, argv + 1, &s)
		    : ctl_status(argc - 1, argv + 1, &s);
	}
	if (strcmp(argv[1], "enroll") != 0 && strcmp(argv[1], "portal") != 0)
		return usage();
	if (argc < 3)
		return usage();
	if (settings_read(env, &s, &err) == -1)
		return fail("settings", &err);
	if (strcmp(argv[1], "enroll") == 0)
		return enroll(&s, argc - 2, argv + 2);
	return portal(&s, argc - 2, argv + 2);
}
