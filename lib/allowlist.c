#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "allowlist.h"
#include "limit.h"

/* bytes: BLAKE2b digest of a token */
#define DIGEST_SIZE crypto_generichash_BYTES
/* bytes: the digest a fingerprint is cut from (BLAKE2b-256) */
#define FP_DIGEST 32
/* bytes: one warning, NUL included; "line N: " plus a fixed message */
#define WARNING_SIZE 128

struct entry {
	char member_id[LIMIT_MEMBER_ID + 1];
	unsigned char digest[DIGEST_SIZE];
	char *label; /* owned; NULL when the line has none */
};

struct warning {
	char text[WARNING_SIZE];
};

struct allowlist {
	struct entry *entries;
	size_t nentries, entries_cap;
	struct warning *warnings;
	size_t nwarnings, warnings_cap;
};

/* reserve: p with room for element n (of size bytes), or NULL */
static void *
reserve(void *p, size_t *cap, size_t n, size_t size)
{
	size_t ncap;

	if (n < *cap)
		return p;
	ncap = *cap ? *cap * 2 : 8;
	if ((p = reallocarray(p, ncap, size)) != NULL)
		*cap = ncap;
	return p;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * member_id_char[c]: whether byte c may be in a member_id; a table, as
 * every request checks one twice
 */
static const unsigned char member_id_char[256] = {
	['-'] = 1, ['_'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

int
allowlist_valid_member_id(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > LIMIT_MEMBER_ID)
		return 0;
	for (i = 0; i < n; i++)
		if (!member_id_char[(unsigned char)s[i]])
			return 0;
	return 1;
}

int
allowlist_valid_token(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > LIMIT_TOKEN)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

static void
hash_token(unsigned char *digest, const char *token, size_t len)
{
	crypto_generichash(
	    digest, DIGEST_SIZE, (const unsigned char *)token, len, NULL, 0);
}

/* add_warning: record "line N: <what>", never the line's content */
static int add_warning(struct allowlist *list, size_t lineno, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static int
add_warning(struct allowlist *list, size_t lineno, const char *fmt, ...)
{
	struct warning *w;
	va_list ap;
	int n;

	w = reserve(
	    list->warnings, &list->warnings_cap, list->nwarnings, sizeof(*w));
	if (w == NULL)
		return -1;
	list->warnings = w;
	w = &list->warnings[list->nwarnings++];
	n = snprintf(w->text, sizeof(w->text), "line %zu: ", lineno);
	va_start(ap, fmt);
	vsnprintf(w->text + n, sizeof(w->text) - n, fmt, ap);
	va_end(ap);
	return 0;
}

static int
add_entry(struct allowlist *list, const char *id, size_t idlen,
    const char *token, size_t toklen, const char *label, size_t labellen)
{
	struct entry *e;
	char *copy = NULL;

	/* not strndup: the label need not end in a NUL (ASan's strndup
	 * interceptor, with strict_string_checks, reads on to find one) */
	if (labellen > 0) {
		if ((copy = malloc(labellen + 1)) == NULL)
			return -1;
		memcpy(copy, label, labellen);
		copy[labellen] = '\0';
	}
	e = reserve(
	    list->entries, &list->entries_cap, list->nentries, sizeof(*e));
	if (e == NULL) {
		free(copy);
		return -1;
	}
	list->entries = e;
	e = &list->entries[list->nentries++];
	memcpy(e->member_id, id, idlen);
	e->member_id[idlen] = '\0';
	hash_token(e->digest, token, toklen);
	e->label = copy;
	return 0;
}

/* field: the next space- or tab-separated field of line from *pos */
static size_t
field(const char *line, size_t n, size_t *pos, const char **start)
{
	size_t i = *pos, j;

	while (i < n && is_blank(line[i]))
		i++;
	for (j = i; j < n && !is_blank(line[j]); j++)
		;
	*start = line + i;
	*pos = j;
	return j - i;
}

/*
 * uncommented: the length of line without its comment.  '#' starts one
 * only at the start of a field, so a token may contain '#'.
 */
static size_t
uncommented(const char *line, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (line[i] == '#' && (i == 0 || is_blank(line[i - 1])))
			return i;
	return n;
}

int
allowlist_split_line(const char *line, size_t n, struct allowlist_line *l)
{
	size_t pos = 0;

	memset(l, 0, sizeof(*l));
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n > LIMIT_ALLOWLIST_LINE)
		return -1;
	n = uncommented(line, n);
	l->idlen = field(line, n, &pos, &l->id);
	l->toklen = field(line, n, &pos, &l->token);
	/* the label: the rest of the line, blanks around it left out */
	while (pos < n && is_blank(line[pos]))
		pos++;
	l->label = line + pos;
	l->labellen = n - pos;
	while (l->labellen > 0 && is_blank(l->label[l->labellen - 1]))
		l->labellen--;
	return 0;
}

/*
 * parse_line: line of n bytes, newline excluded; ended is 0 when no
 * newline follows it (the text's last line).  -1 only on ENOMEM.
 */
static int
parse_line(struct allowlist *list, const char *line, size_t n, size_t lineno,
    int ended)
{
	struct allowlist_line l;

	if (allowlist_split_line(line, n, &l) == -1)
		return add_warning(list, lineno, "line longer than %d bytes",
		    LIMIT_ALLOWLIST_LINE);
	if (l.idlen == 0)
		return 0; /* blank or comment only */
	/*
	 * A writer cut short (an editor saving in place, a copy in
	 * progress) leaves a last line without its newline, and a token
	 * cut there would make its prefix valid: never an entry.
	 */
	if (!ended)
		return add_warning(list, lineno,
		    "no newline at the end: the file may be half written");
	if (!allowlist_valid_member_id(l.id, l.idlen))
		return add_warning(list, lineno,
		    "member_id must match [A-Za-z0-9_-]{1,%d}",
		    LIMIT_MEMBER_ID);
	if (l.toklen == 0)
		return add_warning(list, lineno, "no application token");
	if (!allowlist_valid_token(l.token, l.toklen))
		return add_warning(list, lineno,
		    "application token must be 1..%d bytes of printable ASCII",
		    LIMIT_TOKEN);
	if (l.labellen > LIMIT_LABEL)
		l.labellen = 0;
	return add_entry(
	    list, l.id, l.idlen, l.token, l.toklen, l.label, l.labellen);
}

int
allowlist_parse(
    const char *text, size_t len, struct allowlist **out, struct err *err)
{
	struct allowlist *list;
	const char *p = text, *end = text + len, *nl;
	size_t lineno = 0;

	*out = NULL;
	if (sodium_init() < 0)
		return err_set(err, ERR_INTERNAL, "sodium_init failed");
	if ((list = calloc(1, sizeof(*list))) == NULL)
		return err_set(err, ERR_INTERNAL, "allowlist out of memory");
	while (p < end) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		if (parse_line(list, p, nl - p, ++lineno, nl < end) == -1)
			goto fail;
		p = nl < end ? nl + 1 : end;
	}
	*out = list;
	return 0;
fail:
	allowlist_free(list);
	return err_set(err, ERR_INTERNAL, "allowlist out of memory");
}

/* read_file: exactly size bytes of fd (fewer if it shrank meanwhile) */
static int
read_file(int fd, size_t size, char **out, size_t *outlen, struct err *err)
{
	char *data;
	size_t len = 0;
	ssize_t n;

	if ((data = malloc(size ? size : 1)) == NULL)
		return err_set(err, ERR_INTERNAL, "allowlist out of memory");
	while (len < size) {
		n = read(fd, data + len, size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_errno(err, ERR_CONFIG, errno, "allowlist read");
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
	}
	*out = data;
	*outlen = len;
	return 0;
fail:
	free(data);
	return -1;
}

/* load: open, fstat and parse path; *st is what was parsed */
static int
load(const char *path, struct allowlist **out, struct stat *st, struct err *err)
{
	char *data = NULL;
	size_t len = 0;
	int fd, rc = -1;

	*out = NULL;
	/* O_NONBLOCK: a FIFO at path must not block the open */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return err_errno(err, ERR_CONFIG, errno, "allowlist open");
	if (fstat(fd, st) == -1) {
		err_errno(err, ERR_CONFIG, errno, "allowlist fstat");
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		err_set(err, ERR_CONFIG, "allowlist not a regular file");
		goto out;
	}
	if (read_file(fd, st->st_size, &data, &len, err) == -1)
		goto out;
	rc = allowlist_parse(data, len, out, err);
	/* the text holds the tokens; keep only their digests */
	sodium_memzero(data, len);
	free(data);
out:
	close(fd);
	return rc;
}

int
allowlist_load(const char *path, struct allowlist **out, struct err *err)
{
	struct stat st;

	return load(path, out, &st, err);
}

void
allowlist_free(struct allowlist *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->nentries; i++)
		free(list->entries[i].label);
	free(list->entries);
	free(list->warnings);
	free(list);
}

size_t
allowlist_size(const struct allowlist *list)
{
	return list->nentries;
}

size_t
allowlist_warnings(const struct allowlist *list)
{
	return list->nwarnings;
}

const char *
allowlist_warning(const struct allowlist *list, size_t i)
{
	return list->warnings[i].text;
}

enum allowlist_verdict
allowlist_check(const struct allowlist *list, const char *member_id,
    const char *token, size_t token_len, const char **portal)
{
	unsigned char digest[DIGEST_SIZE];
	const struct entry *e;
	const char *found = NULL;
	int match = 0;
	size_t i;

	if (portal != NULL)
		*portal = NULL;
	if (list == NULL || member_id == NULL)
		return ALLOWLIST_UNKNOWN_PORTAL;
	if (token == NULL)
		token_len = 0;
	/* one digest of any length, so every comparison takes equal time */
	hash_token(digest, token != NULL ? token : "", token_len);
	for (i = 0; i < list->nentries; i++) {
		e = &list->entries[i];
		if (strcmp(e->member_id, member_id) != 0)
			continue;
		found = e->member_id;
		/* compare every entry: no early exit on a match */
		match |= sodium_memcmp(e->digest, digest, DIGEST_SIZE) == 0;
	}
	if (found == NULL)
		return ALLOWLIST_UNKNOWN_PORTAL;
	if (!match || token_len == 0)
		return ALLOWLIST_TOKEN_MISMATCH;
	if (portal != NULL)
		*portal = found;
	return ALLOWLIST_OK;
}

void
allowlist_fingerprint(const char *token, size_t len,
    char fp[ALLOWLIST_FP_SIZE])
{
	unsigned char d[FP_DIGEST];

	crypto_generichash(d, sizeof(d), (const unsigned char *)token, len,
	    NULL, 0);
	sodium_bin2hex(fp, ALLOWLIST_FP_SIZE, d, (ALLOWLIST_FP_SIZE - 1) / 2);
}

const char *
allowlist_label(const struct allowlist *list, const char *member_id)
{
	size_t i;

	for (i = 0; list != NULL && i < list->nentries; i++)
		if (list->entries[i].label != NULL &&
		    strcmp(list->entries[i].member_id, member_id) == 0)
			return list->entries[i].label;
	return "";
}

static int
same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* same_file: does the cache hold what path, now st, was when parsed? */
static int
same_file(
    const struct allowlist_cache *c, const char *path, const struct stat *st)
{
	return c->list != NULL && strcmp(c->path, path) == 0 &&
	    c->dev == st->st_dev && c->ino == st->st_ino &&
	    c->size == st->st_size && same_time(&c->mtime, &st->st_mtim) &&
	    same_time(&c->ctime, &st->st_ctim);
}

/* cache_load: parse path and replace the cache's list and identity */
static int
cache_load(struct allowlist_cache *c, const char *path, struct err *err)
{
	struct allowlist *list;
	struct stat st;
	char *copy;

	if ((copy = strdup(path)) == NULL)
		return err_set(err, ERR_INTERNAL, "allowlist out of memory");
	if (load(path, &list, &st, err) == -1) {
		free(copy);
		return -1;
	}
	allowlist_cache_clear(c);
	c->path = copy;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->size = st.st_size;
	c->mtime = st.st_mtim;
	c->ctime = st.st_ctim;
	c->list = list;
	return 0;
}

int
allowlist_cache_get(struct allowlist_cache *cache, const char *path,
    const struct allowlist **list, int *reloaded, struct err *err)
{
	struct stat st;

	*list = NULL;
	*reloaded = 0;
	if (stat(path, &st) == -1) {
		err_errno(err, ERR_CONFIG, errno, "allowlist stat");
		goto fail;
	}
	if (!same_file(cache, path, &st)) {
		if (cache_load(cache, path, err) == -1)
			goto fail;
		*reloaded = 1;
	}
	*list = cache->list;
	return 0;
fail:
	allowlist_cache_clear(cache);
	return -1;
}

void
allowlist_cache_clear(struct allowlist_cache *cache)
{
	free(cache->path);
	allowlist_free(cache->list);
	memset(cache, 0, sizeof(*cache));
}
