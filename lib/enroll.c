#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "allowedit.h"
#include "appinfo.h"
#include "enroll.h"
#include "event.h"
#include "sink.h"

/* bytes: one outcome's text, NUL included */
#define OUTCOME_SIZE 320

/*
 * value: auth[key], n bytes of s (NULL: none), a NUL-free string valid
 * by ok(), into dst
 */
static int
value(const char *key, const char *s, size_t n,
    int (*ok)(const char *, size_t), char *dst, size_t size, struct err *err)
{
	if (s == NULL)
		return err_set(err, ERR_FORBIDDEN, "claim has no auth[%s]", key);
	if (n >= size || strlen(s) != n || !ok(s, n))
		return err_set(err, ERR_FORBIDDEN, "claim's auth[%s] malformed",
		    key);
	memcpy(dst, s, n + 1);
	return 0;
}

/* field: auth[key] of the tree, as value() */
static int
field(const json_t *auth, const char *key, int (*ok)(const char *, size_t),
    char *dst, size_t size, struct err *err)
{
	const json_t *v = json_object_get(auth, key);

	return value(key, json_string_value(v), json_string_length(v), ok, dst,
	    size, err);
}

/* secret: slot's token, as value() */
static int
secret(const struct auth_secrets *secrets, enum auth_secret slot, char *dst,
    size_t size, struct err *err)
{
	const struct auth_slot *p = &secrets->slot[slot];

	return value(secrets_name(slot), p->value, p->len,
	    allowlist_valid_token, dst, size, err);
}

/* the body a claim keeps: root, its auth cut to what records read */
static json_t *
claim_body(const json_t *root)
{
	static const char *const keep[] = { "member_id", "domain", "user_id" };
	const json_t *auth = json_object_get(root, "auth"), *v;
	json_t *body, *cut;
	size_t i;

	if ((body = json_deep_copy(root)) == NULL ||
	    (cut = json_object()) == NULL) {
		json_decref(body);
		return NULL;
	}
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if ((v = json_object_get(auth, keep[i])) != NULL &&
		    json_object_set(cut, keep[i], (json_t *)v) == -1) {
			json_decref(cut);
			json_decref(body);
			return NULL;
		}
	if (json_object_set_new(body, "auth", cut) == -1) {
		json_decref(body);
		return NULL;
	}
	return body;
}

int
enroll_claim(const json_t *root, const struct auth_secrets *secrets,
    const struct timespec *received, struct spool_entry *e,
    struct err *err)
{
	const char *ev = json_string_value(json_object_get(root, "event"));
	const json_t *auth = json_object_get(root, "auth");
	size_t i;

	memset(e, 0, sizeof(*e));
	if (ev == NULL || (strcasecmp(ev, "ONAPPINSTALL") != 0 &&
			      strcasecmp(ev, "ONAPPUPDATE") != 0))
		return err_set(err, ERR_FORBIDDEN, "not an install");
	for (i = 0; ev[i] != '\0'; i++)
		e->event[i] = ev[i] >= 'a' && ev[i] <= 'z' ? ev[i] - 'a' + 'A'
							   : ev[i];
	if (field(auth, "member_id", allowlist_valid_member_id, e->member_id,
		sizeof(e->member_id), err) == -1 ||
	    field(auth, "domain", spool_valid_domain, e->domain,
		sizeof(e->domain), err) == -1 ||
	    secret(secrets, AUTH_APPLICATION_TOKEN, e->application_token,
		sizeof(e->application_token), err) == -1 ||
	    secret(secrets, AUTH_ACCESS_TOKEN, e->access_token,
		sizeof(e->access_token), err) == -1) {
		spool_entry_clear(e);
		return -1;
	}
	if ((e->body = claim_body(root)) == NULL) {
		spool_entry_clear(e);
		return err_set(err, ERR_INTERNAL, "claim out of memory");
	}
	e->received = *received;
	e->state = SPOOL_PENDING;
	return 0;
}

/* --- deciding ------------------------------------------------------------ */

/* What one run reports to. */
struct run {
	enroll_report *report;
	void *arg;
	int failures;
};

static void say(struct run *r, const struct spool_entry *e, int failed,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
say(struct run *r, const struct spool_entry *e, int failed, const char *fmt,
    ...)
{
	char text[OUTCOME_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	r->failures += failed;
	if (r->report != NULL)
		r->report(r->arg, e, text, failed);
}

static void
set_note(struct spool_entry *e, const char *note)
{
	snprintf(e->note, sizeof(e->note), "%s", note);
}

/*
 * save: write e back; a decided claim first loses its tokens and body,
 * so the spool keeps no secret of it.
 */
static int
save(const struct settings *s, struct spool_entry *e, struct err *err)
{
	if (spool_final(e->state)) {
		sodium_memzero(e->application_token,
		    sizeof(e->application_token));
		sodium_memzero(e->access_token, sizeof(e->access_token));
		json_decref(e->body);
		e->body = NULL;
	}
	return spool_update(s->enroll_dir, e, err);
}

/* give: path, not followed, to dir's owner and group, as they are not */
static int
give(const char *path, const struct stat *dir, struct err *err)
{
	struct stat st;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) ==
	    -1)
		return err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "log open for chown");
	if (fstat(fd, &st) == -1 ||
	    ((st.st_uid != dir->st_uid || st.st_gid != dir->st_gid) &&
		fchown(fd, dir->st_uid, dir->st_gid) == -1))
		rc = err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "log fchown");
	close(fd);
	return rc;
}

/*
 * record: e's install as records appended to its portal's log.  The log
 * and its lock file (sink.h), when this call creates them, are given to
 * the log directory's owner and group, so the responder (that owner) can
 * append to them: b24hookctl runs as root.
 */
static int
record(const struct settings *s, const struct spool_entry *e,
    struct err *err)
{
	char path[PATH_MAX], lock[PATH_MAX];
	struct sink sink = { 0 };
	struct stat st, dir;
	struct buf out;
	size_t n = 0;
	int log_existed, lock_existed, rc = -1;

	if (sink_paths(s->log_dir, e->member_id, strlen(e->member_id), path,
		lock) == -1)
		return err_set(err, ERR_CONFIG, "log path too long");
	log_existed = lstat(path, &st) == 0;
	lock_existed = lstat(lock, &st) == 0;
	buf_init(&out, LIMIT_RECORDS(LIMIT_SPOOL_ENTRY));
	if (event_records(e->body, e->member_id, &e->received, &out, &n,
		err) == -1 ||
	    sink_append(&sink, s->log_dir, e->member_id, out.data, out.len,
		s->fsync, err) == -1)
		goto out;
	if (stat(s->log_dir, &dir) == -1) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, "log dir stat");
		goto out;
	}
	if ((log_existed || give(path, &dir, err) == 0) &&
	    (lock_existed || give(lock, &dir, err) == 0))
		rc = 0;
out:
	sink_close(&sink);
	buf_free(&out);
	return rc;
}

/*
 * apply: e's install written to its log, then its token listed (label:
 * its domain), ed held open (locked) by the caller.  Written in this
 * order, a listed portal's log always starts with its install; should
 * the listing fail, the record is there already and a retry writes it
 * again (same key).
 */
static int
apply(const struct settings *s, struct allowedit *ed,
    const struct spool_entry *e, int *added, struct err *err)
{
	if (record(s, e, err) == -1 ||
	    allowedit_add(ed, e->member_id, e->application_token,
		strlen(e->application_token), e->domain, added, err) == -1 ||
	    allowedit_commit(ed, err) == -1)
		return -1;
	return 0;
}

/* conflict: another undecided claim of e's portal with another token */
static int
conflict(const struct spool_list *l, const struct spool_entry *e)
{
	const struct spool_entry *o;
	size_t i;

	for (i = 0; i < l->n; i++) {
		o = &l->entries[i];
		if (o != e && !spool_final(o->state) &&
		    strcmp(o->member_id, e->member_id) == 0 &&
		    strcmp(o->application_token, e->application_token) != 0)
			return 1;
	}
	return 0;
}

/* check: pass 1 for one claim not yet checked */
static void
check(const struct settings *s, const struct timespec *now,
    enroll_fetch *fetch, int *reachable, struct spool_entry *e,
    struct run *r)
{
	char why[APPINFO_WHY_SIZE];
	struct buf answer;
	enum appinfo_verdict v;
	struct err err;
	long status = 0;

	if (now->tv_sec - e->received.tv_sec >= LIMIT_ACCESS_TOKEN_AGE) {
		e->state = SPOOL_EXPIRED;
		set_note(e, "");
		if (save(s, e, &err) == -1)
			say(r, e, 1, "pending: not saved (%s)", err.reason);
		else
			say(r, e, 0,
			    "expired: received over %d s ago, not checked; "
			    "its tokens are erased", LIMIT_ACCESS_TOKEN_AGE);
		return;
	}
	if (!*reachable) {
		say(r, e, 1, "pending: not checked (the OAuth server gave no "
		    "answer earlier in this run)");
		return;
	}
	buf_init(&answer, LIMIT_OAUTH_ANSWER);
	if (e->access_token[0] == '\0') {
		status = 0;
		snprintf(why, sizeof(why), "no access token to check");
		v = APPINFO_REFUSED;
	} else if (fetch(s, e->access_token, &status, &answer, &err) == -1) {
		*reachable = 0;
		buf_free(&answer);
		say(r, e, 1, "pending: not checked (%s)", err.reason);
		return;
	} else
		v = appinfo_check(status, answer.data, answer.len,
		    s->client_id, e->member_id, e->domain, why);
	if (answer.data != NULL)
		sodium_memzero(answer.data, answer.cap);
	buf_free(&answer);
	/* used: whatever the answer, it is not needed again */
	sodium_memzero(e->access_token, sizeof(e->access_token));
	if (v != APPINFO_OK) {
		e->state = SPOOL_REJECTED;
		set_note(e, why);
	} else
		e->checked = 1;
	if (save(s, e, &err) == -1)
		say(r, e, 1, "pending: not saved (%s)", err.reason);
	else if (v != APPINFO_OK)
		say(r, e, 0, "rejected: %s", why);
}

/* decide: pass 2 for one checked claim not yet decided */
static void
decide(const struct settings *s, const struct spool_list *l,
    struct spool_entry *e, struct run *r)
{
	char fp[ALLOWLIST_FP_SIZE];
	struct allowedit ed;
	struct err err;
	int added = 0;

	if (allowedit_open(&ed, s->allowlist, &err) == -1) {
		say(r, e, 1, "pending: not applied (%s)", err.reason);
		return;
	}
	switch (allowedit_find(&ed, e->member_id, e->application_token,
	    strlen(e->application_token))) {
	case ALLOWEDIT_LISTED:
		e->state = SPOOL_VERIFIED;
		set_note(e, "already listed");
		break;
	case ALLOWEDIT_OTHER:
		e->state = SPOOL_APPROVE;
		set_note(e, "the portal is listed with another token");
		break;
	case ALLOWEDIT_ABSENT:
		if (conflict(l, e)) {
			e->state = SPOOL_APPROVE;
			set_note(e, "another claim for this portal has "
				    "another token");
			break;
		}
		if (apply(s, &ed, e, &added, &err) == -1) {
			allowedit_close(&ed);
			say(r, e, 1, "pending: not applied (%s)", err.reason);
			return;
		}
		e->state = SPOOL_VERIFIED;
		set_note(e, "");
		break;
	}
	allowedit_close(&ed);
	allowlist_fingerprint(e->application_token,
	    strlen(e->application_token), fp);
	if (save(s, e, &err) == -1)
		say(r, e, 1, "pending: not saved (%s)", err.reason);
	else if (e->state == SPOOL_APPROVE)
		say(r, e, 0, "pending: needs approve (%s)", e->note);
	else if (e->note[0] != '\0')
		say(r, e, 0, "verified: %s", e->note);
	else
		say(r, e, 0, "verified: listed with token %s, label %s; "
		    "install record written", fp, e->domain);
}

int
enroll_verify(const struct settings *s, const struct timespec *now,
    enroll_fetch *fetch, enroll_report *report, void *arg, struct err *err)
{
	struct run r = { report, arg, 0 };
	struct spool_list l;
	struct spool_entry *e;
	size_t i, pruned;
	int lock, reachable = 1;

	if (s->enroll_dir == NULL)
		return err_set(err, ERR_CONFIG, "B24HOOK_ENROLL_DIR unset");
	if (s->client_id == NULL)
		return err_set(err, ERR_CONFIG, "B24HOOK_CLIENT_ID unset");
	if (spool_lock(s->enroll_dir, &lock, err) == -1)
		return -1;
	if (spool_load(s->enroll_dir, &l, err) == -1) {
		spool_unlock(lock);
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		e = &l.entries[i];
		if (e->state == SPOOL_PENDING && !e->checked)
			check(s, now, fetch, &reachable, e, &r);
	}
	for (i = 0; i < l.n; i++) {
		e = &l.entries[i];
		if (e->state == SPOOL_APPROVE)
			say(&r, e, 0, "pending: needs approve (%s)", e->note);
		else if (e->state == SPOOL_PENDING && e->checked)
			decide(s, &l, e, &r);
	}
	spool_list_free(&l);
	if (spool_prune(s->enroll_dir, now, &pruned, err) == -1)
		r.failures++;
	spool_unlock(lock);
	return r.failures;
}

/* undecided: claim id of the spool, locked, into e; not decided yet */
static int
undecided(const struct settings *s, const char *id, int *lock,
    struct spool_entry *e, struct err *err)
{
	char state[SPOOL_NOTE_SIZE + 32];

	if (s->enroll_dir == NULL)
		return err_set(err, ERR_CONFIG, "B24HOOK_ENROLL_DIR unset");
	if (!spool_valid_id(id))
		return err_set(err, ERR_CONFIG,
		    "an id is 16 hex digits (enroll list)");
	if (spool_lock(s->enroll_dir, lock, err) == -1)
		return -1;
	if (spool_get(s->enroll_dir, id, e, err) == -1) {
		spool_unlock(*lock);
		return -1;
	}
	if (spool_final(e->state)) {
		spool_state_text(e, state, sizeof(state));
		spool_entry_clear(e);
		spool_unlock(*lock);
		return err_set(err, ERR_CONFIG, "claim %s is decided: %s", id,
		    state);
	}
	return 0;
}

int
enroll_approve(const struct settings *s, const char *id,
    struct enroll_approval *a, struct err *err)
{
	struct allowedit_entry *entries = NULL;
	struct spool_entry e;
	struct allowedit ed;
	size_t n, i;
	int lock, rc = -1;

	memset(a, 0, sizeof(*a));
	if (undecided(s, id, &lock, &e, err) == -1)
		return -1;
	memcpy(a->member_id, e.member_id, sizeof(a->member_id));
	memcpy(a->domain, e.domain, sizeof(a->domain));
	allowlist_fingerprint(e.application_token,
	    strlen(e.application_token), a->fingerprint);
	if (allowedit_open(&ed, s->allowlist, err) == -1)
		goto out;
	if (allowedit_entries(ed.text.data, ed.text.len, &entries, &n,
		err) == -1)
		goto close;
	for (i = 0; i < n; i++)
		a->others += strcmp(entries[i].member_id, e.member_id) == 0 &&
		    strcmp(entries[i].fingerprint, a->fingerprint) != 0;
	if (allowedit_find(&ed, e.member_id, e.application_token,
		strlen(e.application_token)) != ALLOWEDIT_LISTED &&
	    apply(s, &ed, &e, &a->added, err) == -1)
		goto close;
	e.state = SPOOL_VERIFIED;
	set_note(&e, a->added ? "approved by the operator"
			      : "approved by the operator; already listed");
	rc = save(s, &e, err);
close:
	free(entries);
	allowedit_close(&ed);
out:
	spool_entry_clear(&e);
	spool_unlock(lock);
	return rc;
}

int
enroll_reject(const struct settings *s, const char *id, struct err *err)
{
	struct spool_entry e;
	int lock, rc;

	if (undecided(s, id, &lock, &e, err) == -1)
		return -1;
	e.state = SPOOL_REJECTED;
	set_note(&e, "by the operator");
	rc = save(s, &e, err);
	spool_entry_clear(&e);
	spool_unlock(lock);
	return rc;
}
