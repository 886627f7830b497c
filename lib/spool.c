#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "allowlist.h"
#include "fileio.h"
#include "lockfile.h"
#include "spool.h"

/* bytes: a file name of the spool, NUL included (".ID.tmp" is longest) */
#define NAME_SIZE 32
/* seconds: a temp file this old was left by a writer that died */
#define TMP_STALE 3600

static const char *const state_names[] = {
	[SPOOL_PENDING] = "pending",
	[SPOOL_APPROVE] = "approve",
	[SPOOL_VERIFIED] = "verified",
	[SPOOL_REJECTED] = "rejected",
	[SPOOL_EXPIRED] = "expired",
};
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

int
spool_final(enum spool_state state)
{
	return state == SPOOL_VERIFIED || state == SPOOL_REJECTED ||
	    state == SPOOL_EXPIRED;
}

int
spool_valid_domain(const char *s, size_t n)
{
	size_t i, label = 0;
	char c;

	if (n == 0 || n > LIMIT_DOMAIN)
		return 0;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-') ||
		    ++label > 63)
			return 0;
	}
	return label > 0;
}

int
spool_valid_id(const char *s)
{
	size_t i;

	for (i = 0; i < SPOOL_ID_SIZE - 1; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* printable ASCII, spaces allowed, under size bytes */
static int
valid_note(const char *s, size_t n)
{
	size_t i;

	if (n >= SPOOL_NOTE_SIZE)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

static int
valid_event(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > LIMIT_EVENT)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int
spool_entry_format(const struct spool_entry *e, struct buf *out,
    struct err *err)
{
	int final = spool_final(e->state);
	json_t *o;
	size_t n;

	buf_reset(out);
	out->max = LIMIT_SPOOL_ENTRY;
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:i, s:s, s:b, s:s}",
	    "v", 1, "id", e->id, "event", e->event, "member_id", e->member_id,
	    "domain", e->domain, "received", (json_int_t)e->received.tv_sec,
	    "received_us", (int)(e->received.tv_nsec / 1000), "state",
	    state_names[e->state], "checked", e->checked, "note", e->note);
	if (o == NULL)
		return err_set(err, ERR_INTERNAL, "spool entry out of memory");
	if (!final &&
	    (json_object_set_new(o, "application_token",
		 json_string(e->application_token)) == -1 ||
		json_object_set_new(o, "access_token",
		    json_string(e->access_token)) == -1 ||
		(e->body != NULL &&
		    json_object_set(o, "body", e->body) == -1))) {
		json_decref(o);
		return err_set(err, ERR_INTERNAL, "spool entry out of memory");
	}
	n = json_dumpb(o, NULL, 0, JSON_COMPACT);
	if (n == 0 || n + 1 > LIMIT_SPOOL_ENTRY) {
		json_decref(o);
		return err_set(err, ERR_LIMIT_EXCEEDED,
		    "limit=spool_entry max=%d", LIMIT_SPOOL_ENTRY);
	}
	if (buf_reserve(out, n + 1) == NULL) {
		json_decref(o);
		return err_set(err, ERR_INTERNAL, "spool entry out of memory");
	}
	json_dumpb(o, out->data, n, JSON_COMPACT);
	out->data[n] = '\n';
	out->len = n + 1;
	out->data[out->len] = '\0';
	json_decref(o);
	return 0;
}

/* copy: string member key of o, valid by ok(), into dst of size bytes */
static int
copy(const json_t *o, const char *key, int (*ok)(const char *, size_t),
    int empty, char *dst, size_t size)
{
	const json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	size_t n;

	if (s == NULL)
		return -1;
	n = json_string_length(v);
	if (n == 0 && empty) {
		dst[0] = '\0';
		return 0;
	}
	if (n >= size || strlen(s) != n || !ok(s, n))
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

static int
entry_fail(struct spool_entry *e, json_t *root, struct err *err,
    const char *what)
{
	json_decref(root);
	spool_entry_clear(e);
	return err_set(err, ERR_CONFIG, "spool entry: %s", what);
}

int
spool_entry_parse(const char *text, size_t len, struct spool_entry *e,
    struct err *err)
{
	json_t *root, *v;
	json_error_t jerr;
	json_int_t sec, us;
	const char *s;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (len > LIMIT_SPOOL_ENTRY)
		return err_set(err, ERR_CONFIG, "spool entry: over %d bytes",
		    LIMIT_SPOOL_ENTRY);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root))
		return entry_fail(e, root, err, "not a JSON object");
	if (json_integer_value(json_object_get(root, "v")) != 1 ||
	    !json_is_integer(json_object_get(root, "v")))
		return entry_fail(e, root, err, "not version 1");
	s = json_string_value(json_object_get(root, "id"));
	if (s == NULL || !spool_valid_id(s))
		return entry_fail(e, root, err, "bad id");
	memcpy(e->id, s, SPOOL_ID_SIZE);
	if (copy(root, "event", valid_event, 0, e->event, sizeof(e->event)))
		return entry_fail(e, root, err, "bad event");
	if (copy(root, "member_id", allowlist_valid_member_id, 0, e->member_id,
		sizeof(e->member_id)))
		return entry_fail(e, root, err, "bad member_id");
	if (copy(root, "domain", spool_valid_domain, 0, e->domain,
		sizeof(e->domain)))
		return entry_fail(e, root, err, "bad domain");
	v = json_object_get(root, "received");
	sec = json_integer_value(v);
	if (!json_is_integer(v) || sec < 0 || sec > (json_int_t)1 << 40)
		return entry_fail(e, root, err, "bad received");
	v = json_object_get(root, "received_us");
	us = json_integer_value(v);
	if (!json_is_integer(v) || us < 0 || us > 999999)
		return entry_fail(e, root, err, "bad received_us");
	e->received.tv_sec = (time_t)sec;
	e->received.tv_nsec = (long)us * 1000;
	s = json_string_value(json_object_get(root, "state"));
	for (i = 0; s != NULL && i < NSTATES; i++)
		if (strcmp(s, state_names[i]) == 0)
			break;
	if (s == NULL || i == NSTATES)
		return entry_fail(e, root, err, "bad state");
	e->state = (enum spool_state)i;
	v = json_object_get(root, "checked");
	if (!json_is_boolean(v))
		return entry_fail(e, root, err, "bad checked");
	e->checked = json_is_true(v);
	if (copy(root, "note", valid_note, 1, e->note, sizeof(e->note)))
		return entry_fail(e, root, err, "bad note");
	if (spool_final(e->state)) {
		if (json_object_get(root, "application_token") != NULL ||
		    json_object_get(root, "access_token") != NULL ||
		    json_object_get(root, "body") != NULL)
			return entry_fail(e, root, err,
			    "a decided entry holds a token or a body");
		json_decref(root);
		return 0;
	}
	if (copy(root, "application_token", allowlist_valid_token, 0,
		e->application_token, sizeof(e->application_token)))
		return entry_fail(e, root, err, "bad application_token");
	if (copy(root, "access_token", allowlist_valid_token, 1,
		e->access_token, sizeof(e->access_token)))
		return entry_fail(e, root, err, "bad access_token");
	v = json_object_get(root, "body");
	if (!json_is_object(v) ||
	    !json_is_string(json_object_get(v, "event")))
		return entry_fail(e, root, err, "bad body");
	e->body = json_incref(v);
	json_decref(root);
	return 0;
}

void
spool_entry_clear(struct spool_entry *e)
{
	json_decref(e->body);
	sodium_memzero(e, sizeof(*e));
}

void
spool_state_text(const struct spool_entry *e, char *buf, size_t size)
{
	switch (e->state) {
	case SPOOL_PENDING:
		snprintf(buf, size, "pending%s%s", e->note[0] ? ": " : "",
		    e->note);
		return;
	case SPOOL_APPROVE:
		snprintf(buf, size, "pending: needs approve (%s)", e->note);
		return;
	case SPOOL_REJECTED:
		snprintf(buf, size, "rejected: %s", e->note);
		return;
	case SPOOL_VERIFIED:
	case SPOOL_EXPIRED:
		break;
	}
	snprintf(buf, size, "%s", state_names[e->state]);
}

/* --- files --------------------------------------------------------------- */

static int
open_dir(const char *dir, struct err *err)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, "spool open");
	return fd;
}

/*
 * listing: a stream of dirfd's entries from the first, on a copy of the
 * descriptor (closedir closes the copy only); NULL with err set
 */
static DIR *
listing(int dirfd, struct err *err)
{
	DIR *dp;
	int fd;

	if ((fd = dup(dirfd)) == -1 || (dp = fdopendir(fd)) == NULL) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "spool opendir");
		if (fd != -1)
			close(fd);
		return NULL;
	}
	rewinddir(dp);
	return dp;
}

/*
 * open_listing: open dir (open_dir) into *dirfd and a listing of it;
 * NULL with err set and nothing left open
 */
static DIR *
open_listing(const char *dir, int *dirfd, struct err *err)
{
	DIR *dp;

	if ((*dirfd = open_dir(dir, err)) == -1)
		return NULL;
	if ((dp = listing(*dirfd, err)) == NULL)
		close(*dirfd);
	return dp;
}

/*
 * put: data as dirfd/final, through .ID.tmp: created O_EXCL mode 0600,
 * written, fsynced, renamed, and the directory fsynced.  Nothing is left
 * behind on failure.
 */
static int
put(int dirfd, const char *id, const char *final, const struct buf *data,
    struct err *err)
{
	char tmp[NAME_SIZE];
	const char *what;
	int fd, e;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", id);
	fd = openat(dirfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "spool create");
	what = "spool fchmod";
	if (fchmod(fd, 0600) == -1)
		goto fail;
	what = "spool write";
	if (fileio_write_all(fd, data->data, data->len) == -1)
		goto fail;
	what = "spool fsync";
	if (fsync(fd) == -1)
		goto fail;
	what = "spool close";
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "spool rename";
	if (renameat(dirfd, tmp, dirfd, final) == -1)
		goto fail;
	if (fsync(dirfd) == -1)
		return err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "spool fsync directory");
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return err_errno(err, ERR_STORAGE_UNAVAILABLE, e, what);
}

/* ends: does name end in suffix (with something before it)? */
static int
ends(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n > m && strcmp(name + n - m, suffix) == 0;
}

/* usage: the pending entries and temp files of dirfd, and their bytes */
static int
usage(int dirfd, size_t *count, unsigned long long *bytes, struct err *err)
{
	struct dirent *d;
	struct stat st;
	DIR *dp;

	*count = 0;
	*bytes = 0;
	if ((dp = listing(dirfd, err)) == NULL)
		return -1;
	while ((errno = 0, d = readdir(dp)) != NULL) {
		if (!ends(d->d_name, ".pending") && !ends(d->d_name, ".tmp"))
			continue;
		if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue; /* removed meanwhile */
		(*count)++;
		*bytes += (unsigned long long)st.st_size;
	}
	if (errno != 0) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "spool readdir");
		closedir(dp);
		return -1;
	}
	closedir(dp);
	return 0;
}

static void
new_id(char id[SPOOL_ID_SIZE])
{
	unsigned char r[(SPOOL_ID_SIZE - 1) / 2];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(id, SPOOL_ID_SIZE, r, sizeof(r));
}

int
spool_add(const char *dir, struct spool_entry *e, struct err *err)
{
	char name[NAME_SIZE];
	struct buf data = { 0 };
	unsigned long long bytes;
	size_t count;
	int dirfd, rc = -1;

	if (sodium_init() < 0)
		return err_set(err, ERR_INTERNAL, "sodium_init failed");
	new_id(e->id);
	if (spool_entry_format(e, &data, err) == -1)
		goto out;
	if ((dirfd = open_dir(dir, err)) == -1)
		goto out;
	/* bounded: the request in hand waits for another claim no longer */
	if (lockfile_wait(dirfd, lockfile_deadline(LIMIT_LOCK_WAIT_MS), NULL) ==
	    -1) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, "spool flock");
		goto close;
	}
	if (usage(dirfd, &count, &bytes, err) == -1)
		goto close;
	if (count + 1 > LIMIT_SPOOL_ENTRIES ||
	    bytes + data.len > LIMIT_SPOOL_BYTES) {
		err_set(err, ERR_STORAGE_UNAVAILABLE,
		    "enrollment spool full");
		goto close;
	}
	/* 64 random bits: a name in use means something is wrong */
	snprintf(name, sizeof(name), "%s.pending", e->id);
	if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		err_set(err, ERR_STORAGE_UNAVAILABLE, "spool id in use");
	else
		rc = put(dirfd, e->id, name, &data, err);
close:
	close(dirfd); /* releases the flock */
out:
	sodium_memzero(data.data, data.cap);
	buf_free(&data);
	return rc;
}

int
spool_lock(const char *dir, int *fd, struct err *err)
{
	char path[4096];

	*fd = -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/.lock", dir) >=
	    sizeof(path))
		return err_set(err, ERR_CONFIG, "spool path too long");
	return lockfile_take(path, "spool", fd, err);
}

void
spool_unlock(int fd)
{
	if (fd != -1)
		close(fd);
}

/* read_entry: dirfd/name parsed into e; 1 when it is gone */
static int
read_entry(int dirfd, const char *name, struct spool_entry *e,
    struct err *err)
{
	char *text;
	struct stat st;
	size_t len = 0;
	ssize_t n = 0;
	int fd, rc = -1;

	memset(e, 0, sizeof(*e));
	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1 && errno == ENOENT)
		return 1; /* removed meanwhile */
	if (fd == -1)
		return err_errno(err, ERR_CONFIG, errno, "open");
	if (fstat(fd, &st) == -1) {
		err_errno(err, ERR_CONFIG, errno, "fstat");
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > LIMIT_SPOOL_ENTRY) {
		err_set(err, ERR_CONFIG, "not a regular file of at most %d "
		    "bytes", LIMIT_SPOOL_ENTRY);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, text + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n == -1)
		err_errno(err, ERR_CONFIG, errno, "read");
	else
		rc = spool_entry_parse(text, len, e, err);
	sodium_memzero(text, (size_t)st.st_size + 1);
	free(text);
out:
	close(fd);
	return rc;
}

static int
by_arrival(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	if (x->received.tv_sec != y->received.tv_sec)
		return x->received.tv_sec < y->received.tv_sec ? -1 : 1;
	if (x->received.tv_nsec != y->received.tv_nsec)
		return x->received.tv_nsec < y->received.tv_nsec ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int
add_bad(struct spool_list *l, const char *name, const char *why)
{
	char **p, *s;

	if ((p = reallocarray(l->bad, l->nbad + 1, sizeof(*p))) == NULL)
		return -1;
	l->bad = p;
	if ((s = malloc(strlen(name) + strlen(why) + 3)) == NULL)
		return -1;
	sprintf(s, "%s: %s", name, why);
	l->bad[l->nbad++] = s;
	return 0;
}

/* the entry id of l, or NULL */
static struct spool_entry *
find(struct spool_list *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->entries[i].id, id) == 0)
			return &l->entries[i];
	return NULL;
}

/* load_one: dirfd/name (ID.pending or ID.done) into l */
static int
load_one(int dirfd, const char *name, struct spool_list *l)
{
	struct spool_entry e, *p, *old;
	char id[SPOOL_ID_SIZE];
	struct err why;
	size_t n = strlen(name);

	n -= ends(name, ".done") ? 5 : 8;
	if (n != SPOOL_ID_SIZE - 1)
		return add_bad(l, name, "not an entry name");
	memcpy(id, name, n);
	id[n] = '\0';
	if (!spool_valid_id(id))
		return add_bad(l, name, "not an entry name");
	switch (read_entry(dirfd, name, &e, &why)) {
	case 1:
		return 0;
	case -1:
		return why.code == ERR_INTERNAL ? -1
						: add_bad(l, name, why.reason);
	}
	if (strcmp(e.id, id) != 0) {
		spool_entry_clear(&e);
		return add_bad(l, name, "id differs from its name");
	}
	if ((old = find(l, id)) != NULL) {
		/* ID.pending and ID.done: the decided one stands */
		if (spool_final(e.state)) {
			spool_entry_clear(old);
			*old = e;
		} else
			spool_entry_clear(&e);
		return 0;
	}
	if ((p = reallocarray(l->entries, l->n + 1, sizeof(*p))) == NULL) {
		spool_entry_clear(&e);
		return -1;
	}
	l->entries = p;
	l->entries[l->n++] = e;
	return 0;
}

int
spool_load(const char *dir, struct spool_list *l, struct err *err)
{
	struct dirent *d;
	DIR *dp;
	int dirfd;

	memset(l, 0, sizeof(*l));
	if ((dp = open_listing(dir, &dirfd, err)) == NULL)
		return -1;
	while ((errno = 0, d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' ||
		    (!ends(d->d_name, ".pending") && !ends(d->d_name, ".done")))
			continue;
		if (load_one(dirfd, d->d_name, l) == -1) {
			err_set(err, ERR_INTERNAL, "spool out of memory");
			goto fail;
		}
	}
	if (errno != 0) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "spool readdir");
		goto fail;
	}
	closedir(dp);
	close(dirfd);
	if (l->n > 1)
		qsort(l->entries, l->n, sizeof(*l->entries), by_arrival);
	return 0;
fail:
	closedir(dp);
	close(dirfd);
	spool_list_free(l);
	return -1;
}

void
spool_list_free(struct spool_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		spool_entry_clear(&l->entries[i]);
	free(l->entries);
	for (i = 0; i < l->nbad; i++)
		free(l->bad[i]);
	free(l->bad);
	memset(l, 0, sizeof(*l));
}

int
spool_get(const char *dir, const char *id, struct spool_entry *e,
    struct err *err)
{
	struct spool_list l;
	struct spool_entry *p;

	memset(e, 0, sizeof(*e));
	if (spool_load(dir, &l, err) == -1)
		return -1;
	if ((p = find(&l, id)) == NULL) {
		spool_list_free(&l);
		return err_set(err, ERR_CONFIG, "no entry %.*s",
		    SPOOL_ID_SIZE - 1, id);
	}
	*e = *p;
	/* the list no longer owns it */
	memset(p, 0, sizeof(*p));
	spool_list_free(&l);
	return 0;
}

int
spool_update(const char *dir, const struct spool_entry *e, struct err *err)
{
	char name[NAME_SIZE], tmp[NAME_SIZE];
	struct buf data = { 0 };
	int dirfd, rc = -1, final = spool_final(e->state);

	if (!spool_valid_id(e->id))
		return err_set(err, ERR_CONFIG, "bad spool entry id");
	if (spool_entry_format(e, &data, err) == -1)
		goto out;
	if ((dirfd = open_dir(dir, err)) == -1)
		goto out;
	/* a temp file of this id is left from a rewrite cut short */
	snprintf(tmp, sizeof(tmp), ".%s.tmp", e->id);
	unlinkat(dirfd, tmp, 0);
	snprintf(name, sizeof(name), "%s.%s", e->id,
	    final ? "done" : "pending");
	if (put(dirfd, e->id, name, &data, err) == -1)
		goto close;
	rc = 0;
	if (final) {
		snprintf(name, sizeof(name), "%s.pending", e->id);
		if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
			rc = err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
			    "spool unlink");
		else if (fsync(dirfd) == -1)
			rc = err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
			    "spool fsync directory");
	}
close:
	close(dirfd);
out:
	sodium_memzero(data.data, data.cap);
	buf_free(&data);
	return rc;
}

struct done {
	char name[NAME_SIZE];
	time_t mtime;
};

static int
newest_first(const void *a, const void *b)
{
	const struct done *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime > y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

int
spool_prune(const char *dir, const struct timespec *now, size_t *removed,
    struct err *err)
{
	struct done *done = NULL, *p;
	size_t ndone = 0, i;
	struct dirent *d;
	struct stat st;
	DIR *dp;
	int dirfd, rc = -1;

	*removed = 0;
	if ((dp = open_listing(dir, &dirfd, err)) == NULL)
		return -1;
	while ((errno = 0, d = readdir(dp)) != NULL) {
		if (strlen(d->d_name) >= NAME_SIZE ||
		    fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (d->d_name[0] == '.' && ends(d->d_name, ".tmp")) {
			if (now->tv_sec - st.st_mtim.tv_sec > TMP_STALE &&
			    unlinkat(dirfd, d->d_name, 0) == 0)
				(*removed)++;
			continue;
		}
		if (d->d_name[0] == '.' || !ends(d->d_name, ".done"))
			continue;
		if ((p = reallocarray(done, ndone + 1, sizeof(*p))) == NULL) {
			err_set(err, ERR_INTERNAL, "spool out of memory");
			goto out;
		}
		done = p;
		snprintf(done[ndone].name, NAME_SIZE, "%s", d->d_name);
		done[ndone++].mtime = st.st_mtim.tv_sec;
	}
	if (errno != 0) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "spool readdir");
		goto out;
	}
	if (ndone > 1)
		qsort(done, ndone, sizeof(*done), newest_first);
	for (i = 0; i < ndone; i++)
		if ((i >= LIMIT_SPOOL_DONE ||
			now->tv_sec - done[i].mtime > LIMIT_SPOOL_KEEP) &&
		    unlinkat(dirfd, done[i].name, 0) == 0)
			(*removed)++;
	rc = 0;
out:
	free(done);
	closedir(dp);
	close(dirfd);
	return rc;
}
