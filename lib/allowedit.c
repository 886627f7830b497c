#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "allowedit.h"
#include "fileio.h"
#include "lockfile.h"

/* a line b24hookctl writes is always one the responder reads */
_Static_assert(LIMIT_MEMBER_ID + 1 + LIMIT_TOKEN + 1 + LIMIT_LABEL <=
	LIMIT_ALLOWLIST_LINE,
    "an added line must fit LIMIT_ALLOWLIST_LINE");

/*
 * entry: whether the line at p, n bytes without its newline, is an entry
 * as allowlist.c reads one (its newline aside), taken apart into l
 */
static int
entry(const char *p, size_t n, struct allowlist_line *l)
{
	return allowlist_split_line(p, n, l) == 0 &&
	    allowlist_valid_member_id(l->id, l->idlen) &&
	    allowlist_valid_token(l->token, l->toklen);
}

/*
 * next_line: the line at *pos of text (len bytes): its start and length
 * without the newline, *pos moved past it, *complete when a newline
 * ends it.  0 at the end.
 */
static int
next_line(const char *text, size_t len, size_t *pos, const char **p,
    size_t *n, int *complete)
{
	const char *nl;

	if (*pos >= len)
		return 0;
	*p = text + *pos;
	nl = memchr(*p, '\n', len - *pos);
	*complete = nl != NULL;
	*n = nl != NULL ? (size_t)(nl - *p) : len - *pos;
	*pos += *n + (nl != NULL);
	return 1;
}

int
allowedit_entries(const char *text, size_t len,
    struct allowedit_entry **out, size_t *n, struct err *err)
{
	struct allowedit_entry *e = NULL, *p;
	size_t pos = 0, lineno = 0, count = 0, ll;
	const char *lp;
	struct allowlist_line l;
	int complete;

	*out = NULL;
	*n = 0;
	while (next_line(text, len, &pos, &lp, &ll, &complete)) {
		lineno++;
		if (!entry(lp, ll, &l) || !complete)
			continue;
		if ((p = reallocarray(e, count + 1, sizeof(*e))) == NULL) {
			free(e);
			return err_set(err, ERR_INTERNAL,
			    "allowlist out of memory");
		}
		e = p;
		p = &e[count++];
		p->line = lineno;
		memcpy(p->member_id, l.id, l.idlen);
		p->member_id[l.idlen] = '\0';
		allowlist_fingerprint(l.token, l.toklen, p->fingerprint);
		memcpy(p->label, l.label, l.labellen);
		p->label[l.labellen] = '\0';
	}
	*out = e;
	*n = count;
	return 0;
}

int
allowedit_read(const char *path, struct buf *text, struct stat *st,
    struct err *err)
{
	struct stat fst;
	ssize_t got;
	char *p;
	int fd;

	buf_init(text, LIMIT_ALLOWLIST_FILE);
	if (lstat(path, st) == -1)
		return err_errno(err, ERR_CONFIG, errno, "allowlist lstat");
	if (S_ISLNK(st->st_mode))
		return err_set(err, ERR_CONFIG,
		    "allowlist is a symlink: edit the file it names");
	if (!S_ISREG(st->st_mode))
		return err_set(err, ERR_CONFIG,
		    "allowlist not a regular file");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return err_errno(err, ERR_CONFIG, errno, "allowlist open");
	if (fstat(fd, &fst) == -1 || fst.st_ino != st->st_ino ||
	    fst.st_dev != st->st_dev) {
		close(fd);
		return err_set(err, ERR_CONFIG,
		    "allowlist replaced while read");
	}
	*st = fst;
	if ((p = buf_reserve(text, (size_t)st->st_size)) == NULL) {
		close(fd);
		return err_set(err, ERR_CONFIG, "allowlist over %d bytes",
		    LIMIT_ALLOWLIST_FILE);
	}
	while (text->len < (size_t)st->st_size) {
		got = read(fd, text->data + text->len,
		    (size_t)st->st_size - text->len);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			close(fd);
			return err_errno(err, ERR_CONFIG, errno,
			    "allowlist read");
		}
		if (got == 0)
			break;
		text->len += (size_t)got;
	}
	text->data[text->len] = '\0';
	close(fd);
	return 0;
}

static int
lock(struct allowedit *ed, struct err *err)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s.lock", ed->path) >=
	    sizeof(path))
		return err_set(err, ERR_CONFIG, "allowlist path too long");
	return lockfile_take(path, "allowlist", &ed->lock, err);
}

int
allowedit_open(struct allowedit *ed, const char *path, struct err *err)
{
	memset(ed, 0, sizeof(*ed));
	ed->lock = -1;
	if ((ed->path = strdup(path)) == NULL) {
		err_set(err, ERR_INTERNAL, "allowlist out of memory");
		goto fail;
	}
	if (lock(ed, err) == -1 ||
	    allowedit_read(path, &ed->text, &ed->st, err) == -1)
		goto fail;
	if (ed->text.len > 0 && ed->text.data[ed->text.len - 1] != '\n') {
		err_set(err, ERR_CONFIG,
		    "allowlist does not end in a newline (half written?): "
		    "end its last line first");
		goto fail;
	}
	return 0;
fail:
	allowedit_close(ed);
	return -1;
}

enum allowedit_found
allowedit_find(const struct allowedit *ed, const char *member_id,
    const char *token, size_t len)
{
	enum allowedit_found found = ALLOWEDIT_ABSENT;
	size_t pos = 0, n, idlen = strlen(member_id);
	const char *p;
	struct allowlist_line l;
	int complete;

	while (next_line(ed->text.data, ed->text.len, &pos, &p, &n,
	    &complete)) {
		if (!entry(p, n, &l) || !complete || l.idlen != idlen ||
		    memcmp(l.id, member_id, idlen) != 0)
			continue;
		if (l.toklen == len && sodium_memcmp(l.token, token, len) == 0)
			return ALLOWEDIT_LISTED;
		found = ALLOWEDIT_OTHER;
	}
	return found;
}

static int
valid_label(const char *s)
{
	size_t i, n = strlen(s);

	if (n > LIMIT_LABEL || s[0] == '#')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * room: make text hold len more bytes without a realloc, which would
 * leave a copy of the tokens in freed memory: the old copy is wiped.
 * Returns 0, 1 past text->max, -1 when memory runs out.
 */
static int
room(struct buf *text, size_t len)
{
	size_t cap;
	char *p;

	if (len > text->max - text->len)
		return 1;
	if (text->len + len + 1 <= text->cap)
		return 0;
	cap = text->len + len + 1;
	if ((p = malloc(cap)) == NULL)
		return -1;
	if (text->data != NULL) {
		memcpy(p, text->data, text->len + 1);
		sodium_memzero(text->data, text->cap);
		free(text->data);
	} else
		p[0] = '\0';
	text->data = p;
	text->cap = cap;
	return 0;
}

int
allowedit_add(struct allowedit *ed, const char *member_id,
    const char *token, size_t len, const char *label, int *added,
    struct err *err)
{
	size_t idlen = strlen(member_id), need, had = ed->text.len;

	*added = 0;
	if (label == NULL)
		label = "";
	if (!allowlist_valid_member_id(member_id, idlen))
		return err_set(err, ERR_CONFIG,
		    "member_id must match [A-Za-z0-9_-]{1,%d}",
		    LIMIT_MEMBER_ID);
	if (!allowlist_valid_token(token, len))
		return err_set(err, ERR_CONFIG,
		    "token must be 1..%d bytes of printable ASCII",
		    LIMIT_TOKEN);
	if (!valid_label(label))
		return err_set(err, ERR_CONFIG,
		    "label must be at most %d bytes of printable ASCII, "
		    "not starting with '#'", LIMIT_LABEL);
	need = idlen + 1 + len + (*label ? 1 + strlen(label) : 0);
	if (allowedit_find(ed, member_id, token, len) == ALLOWEDIT_LISTED)
		return 0;
	switch (room(&ed->text, need + 1)) {
	case 1:
		return err_set(err, ERR_CONFIG, "allowlist would pass %d bytes",
		    LIMIT_ALLOWLIST_FILE);
	case -1:
		return err_set(err, ERR_INTERNAL, "allowlist out of memory");
	}
	buf_append(&ed->text, member_id, idlen);
	buf_append(&ed->text, " ", 1);
	buf_append(&ed->text, token, len);
	if (*label) {
		buf_append(&ed->text, " ", 1);
		buf_append(&ed->text, label, strlen(label));
	}
	buf_append(&ed->text, "\n", 1);
	if (ed->text.len != had + need + 1) {
		ed->text.len = had;
		return err_set(err, ERR_INTERNAL, "allowlist out of memory");
	}
	*added = 1;
	ed->changed = 1;
	return 0;
}

int
allowedit_remove(struct allowedit *ed, const char *member_id,
    const char *fp, struct buf *removed, size_t *n, struct err *err)
{
	char f[ALLOWLIST_FP_SIZE];
	size_t pos = 0, start, ll, idlen = strlen(member_id), out = 0;
	const char *p;
	struct allowlist_line l;
	int complete;

	*n = 0;
	/* lines are moved down over the removed ones, in place */
	for (start = pos; next_line(ed->text.data, ed->text.len, &pos, &p,
		 &ll, &complete);
	    start = pos) {
		if (entry(p, ll, &l) && complete && l.idlen == idlen &&
		    memcmp(l.id, member_id, idlen) == 0) {
			allowlist_fingerprint(l.token, l.toklen, f);
			if (fp == NULL || strcmp(fp, f) == 0) {
				if (removed != NULL &&
				    buf_append(removed, f, sizeof(f)) == -1)
					return err_set(err, ERR_INTERNAL,
					    "allowlist out of memory");
				(*n)++;
				continue;
			}
		}
		memmove(ed->text.data + out, ed->text.data + start,
		    pos - start);
		out += pos - start;
	}
	if (*n > 0) {
		sodium_memzero(ed->text.data + out, ed->text.len - out);
		ed->text.len = out;
		ed->changed = 1;
	}
	return 0;
}

/* fsync_dir: the directory holding path (fileio_sync_dir) */
static int
fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int rc;

	if (copy == NULL)
		return -1;
	rc = fileio_sync_dir(dirname(copy), NULL);
	free(copy);
	return rc;
}

int
allowedit_commit(struct allowedit *ed, struct err *err)
{
	char tmp[4096];
	const char *what;
	struct stat now;
	int fd, e;

	if (!ed->changed)
		return 0;
	if (lstat(ed->path, &now) == -1)
		return err_errno(err, ERR_CONFIG, errno, "allowlist lstat");
	if (now.st_dev != ed->st.st_dev || now.st_ino != ed->st.st_ino ||
	    now.st_size != ed->st.st_size ||
	    now.st_mtim.tv_sec != ed->st.st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != ed->st.st_mtim.tv_nsec)
		return err_set(err, ERR_CONFIG,
		    "allowlist changed by another writer during the edit");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", ed->path) >=
	    sizeof(tmp))
		return err_set(err, ERR_CONFIG, "allowlist path too long");
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "allowlist mkstemp");
	what = "allowlist write";
	if (fileio_write_all(fd, ed->text.data, ed->text.len) == -1)
		goto fail;
	what = "allowlist fchown";
	if (fchown(fd, ed->st.st_uid, ed->st.st_gid) == -1)
		goto fail;
	what = "allowlist fchmod";
	if (fchmod(fd, ed->st.st_mode & 07777) == -1)
		goto fail;
	what = "allowlist fsync";
	if (fsync(fd) == -1)
		goto fail;
	what = "allowlist close";
	e = close(fd);
	fd = -1;
	if (e == -1)
		goto fail;
	what = "allowlist rename";
	if (rename(tmp, ed->path) == -1)
		goto fail;
	ed->changed = 0;
	if (fsync_dir(ed->path) == -1)
		return err_errno(err, ERR_STORAGE_UNAVAILABLE, errno,
		    "allowlist fsync directory");
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return err_errno(err, ERR_STORAGE_UNAVAILABLE, e, what);
}

void
allowedit_close(struct allowedit *ed)
{
	if (ed->lock != -1)
		close(ed->lock);
	ed->lock = -1;
	if (ed->text.data != NULL)
		sodium_memzero(ed->text.data, ed->text.cap);
	buf_free(&ed->text);
	free(ed->path);
	ed->path = NULL;
}
