#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "counters.h"
#include "lockfile.h"

/*
 * Counters are shared between processes: an atomic that fell back to a
 * lock would take a lock private to each process.
 */
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
    "64-bit atomics must be lock-free");
_Static_assert(__atomic_always_lock_free(sizeof(uint32_t), 0),
    "32-bit atomics must be lock-free");
_Static_assert(sizeof(struct counters_code) % 8 == 0 &&
        sizeof(struct counters_event) % 8 == 0 &&
        sizeof(struct counters_portal) % 8 == 0 &&
        offsetof(struct counters_portal, requests) % 8 == 0 &&
        offsetof(struct counters_file, code) % 8 == 0,
    "every 64-bit counter is 8-byte aligned");
_Static_assert(sizeof(struct counters_portal) == COUNTERS_PAGE &&
        offsetof(struct counters_file, other) == COUNTERS_PAGE &&
        offsetof(struct counters_file, portal) % COUNTERS_PAGE == 0,
    "the refusal table fills the first page, a portal one page");
_Static_assert(ERR_STORAGE_UNAVAILABLE + 2 <= COUNTERS_CODES,
    "the refusal table holds every code and forbidden's reasons");

enum { SLOT_FREE = 0, SLOT_CLAIMING = 1, SLOT_READY = 2 };

/*
 * loads of a state word made while waiting for another process to
 * finish claiming a slot (its name is a few bytes to copy); past them
 * the slot is passed over, so a claimer killed half way costs one slot,
 * never a hang
 */
#define CLAIM_SPINS 100000

/* "today" words: the UTC day number above DAY_SHIFT, the count below */
#define DAY_SHIFT 40
#define DAY_COUNT ((UINT64_C(1) << DAY_SHIFT) - 1)

#define BYTE_ORDER_MARK 0x01020304u

/* refusal kinds: the code's own reason, or forbidden's two */
enum { KIND_CODE, KIND_UNKNOWN_PORTAL, KIND_TOKEN_MISMATCH };
static const char *const kind_reason[] = {
    NULL, "unknown_portal", "token_mismatch"};

/* --- atomics on the mapping ---------------------------------------------- */

static void
add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t
load(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* Add n to a "today" word for day; a word of a later day is left alone. */
static void
add_today(uint64_t *w, uint64_t day, uint64_t n)
{
	uint64_t old = __atomic_load_n(w, __ATOMIC_RELAXED), new;

	do {
		if (old >> DAY_SHIFT > day)
			return; /* a request of yesterday counted after midnight
			         */
		new = old >> DAY_SHIFT == day ? old + n : day << DAY_SHIFT | n;
	} while (!__atomic_compare_exchange_n(
	    w, &old, new, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

static uint64_t
today_of(const uint64_t *w, uint64_t day)
{
	uint64_t v = load(w);

	return v >> DAY_SHIFT == day ? v & DAY_COUNT : 0;
}

/* Raise *t to v; a later time already there stays. */
static void
raise_to(int64_t *t, int64_t v)
{
	int64_t old = __atomic_load_n(t, __ATOMIC_RELAXED);

	while (old < v &&
	    !__atomic_compare_exchange_n(
	        t, &old, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/*
 * The state of a slot once any claim in progress ended: SLOT_FREE,
 * SLOT_READY, or SLOT_CLAIMING when the claim outlasted CLAIM_SPINS.
 */
static uint32_t
settled(uint32_t *state)
{
	uint32_t s = SLOT_CLAIMING;
	int i;

	for (i = 0; i < CLAIM_SPINS; i++)
		if ((s = __atomic_load_n(state, __ATOMIC_ACQUIRE)) !=
		    SLOT_CLAIMING)
			break;
	return s;
}

/*
 * Touch the page of w for writing before reading it: a page of a shared
 * file mapping first read is mapped read-only and faults again when
 * written; touched so, it faults once (the CGI process's first count).
 * The value is unchanged.
 */
static void
touch(uint32_t *w)
{
	__atomic_fetch_or(w, 0, __ATOMIC_RELAXED);
}

static int
claim(uint32_t *state)
{
	uint32_t expect = SLOT_FREE;

	return __atomic_compare_exchange_n(state, &expect, SLOT_CLAIMING, 0,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void
publish(uint32_t *state)
{
	__atomic_store_n(state, SLOT_READY, __ATOMIC_RELEASE);
}

/*
 * Keys in the file are compared with strcmp: a key of the caller's ends
 * in a NUL, so strcmp reads no further into a slot than the key's length
 * and one byte, whatever the slot holds.  (The responder is linked with
 * every symbol bound at start: no memcmp only for this.)
 */
static int
same_magic(const char *a, const char *b)
{
	uint64_t x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x == y;
}

/* FNV-1a: where a name's search starts */
static uint32_t
hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* --- slots --------------------------------------------------------------- */

/*
 * The slot of portal id (1..LIMIT_MEMBER_ID bytes), claimed when it has
 * none; NULL when the table is full.  Open addressing, linear probing:
 * slots are never freed, so a free slot ends the search.
 */
static struct counters_portal *
portal_slot(struct counters_file *f, const char *id, size_t len)
{
	struct counters_portal *p;
	uint32_t h = hash(id, len), s;
	size_t i;

	for (i = 0; i < LIMIT_COUNTER_PORTALS; i++) {
		p = &f->portal[(h + i) % LIMIT_COUNTER_PORTALS];
		touch(&p->state);
		for (;;) {
			if ((s = settled(&p->state)) == SLOT_READY) {
				if (strcmp(p->member_id, id) == 0)
					return p;
				break;
			}
			if (s == SLOT_CLAIMING)
				break; /* outwaited: see CLAIM_SPINS */
			if (claim(&p->state)) {
				memcpy(p->member_id, id, len);
				p->member_id[len] = '\0';
				publish(&p->state);
				return p;
			}
			/* another process claimed it first: look again */
		}
	}
	return NULL;
}

/* The entry of event name in p, claimed when new; NULL when p is full. */
static struct counters_event *
event_slot(struct counters_portal *p, const char *name, size_t len)
{
	struct counters_event *e;
	uint32_t h = hash(name, len), s;
	size_t i;

	for (i = 0; i < LIMIT_COUNTER_EVENTS; i++) {
		e = &p->event[(h + i) % LIMIT_COUNTER_EVENTS];
		for (;;) {
			if ((s = settled(&e->state)) == SLOT_READY) {
				if (strcmp(e->name, name) == 0)
					return e;
				break;
			}
			if (s == SLOT_CLAIMING)
				break;
			if (claim(&e->state)) {
				memcpy(e->name, name, len);
				e->name[len] = '\0';
				publish(&e->state);
				return e;
			}
		}
	}
	return NULL;
}

/* The refusal entry of (code, reason), claimed in order when new. */
static struct counters_code *
code_slot(
    struct counters_file *f, const char *code, const char *reason, int status)
{
	struct counters_code *c;
	size_t i, clen = strlen(code), rlen = strlen(reason);
	uint32_t s;

	if (clen >= sizeof(c->code) || rlen >= sizeof(c->reason))
		return NULL;
	touch(&f->code[0].state);
	for (i = 0; i < COUNTERS_CODES; i++) {
		c = &f->code[i];
		for (;;) {
			if ((s = settled(&c->state)) == SLOT_READY) {
				if (strcmp(c->code, code) == 0 &&
				    strcmp(c->reason, reason) == 0)
					return c;
				break;
			}
			if (s == SLOT_CLAIMING)
				break;
			if (claim(&c->state)) {
				memcpy(c->code, code, clen + 1);
				memcpy(c->reason, reason, rlen + 1);
				c->status = (uint32_t)status;
				publish(&c->state);
				return c;
			}
		}
	}
	return NULL;
}

/*
 * A portal's last seen domain: written only when it changed, by one
 * process at a time (the one that made domain_seq odd; the others skip),
 * read by retrying while it changes.
 */
static void
domain_set(struct counters_portal *p, const char *domain)
{
	uint32_t seq = __atomic_load_n(&p->domain_seq, __ATOMIC_ACQUIRE);
	size_t len = strlen(domain);

	if (len == 0 || seq % 2 == 1 || strcmp(p->domain, domain) == 0)
		return;
	if (!__atomic_compare_exchange_n(&p->domain_seq, &seq, seq + 1, 0,
	        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(p->domain, domain, len + 1);
	__atomic_store_n(&p->domain_seq, seq + 2, __ATOMIC_RELEASE);
}

static void
domain_get(struct counters_portal *p, char *out, size_t size)
{
	uint32_t before, after;
	int i;

	for (i = 0; i < CLAIM_SPINS; i++) {
		before = __atomic_load_n(&p->domain_seq, __ATOMIC_ACQUIRE);
		if (before % 2 == 1)
			continue;
		memcpy(out, p->domain, size - 1);
		out[size - 1] = '\0';
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		after = __atomic_load_n(&p->domain_seq, __ATOMIC_RELAXED);
		if (before == after)
			return;
	}
	out[0] = '\0';
}

/* --- the file ------------------------------------------------------------ */

static void
head_init(struct counters_head *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, COUNTERS_MAGIC, sizeof(h->magic));
	h->version = COUNTERS_VERSION;
	h->byte_order = BYTE_ORDER_MARK;
	h->head_size = sizeof(struct counters_head);
	h->code_size = sizeof(struct counters_code);
	h->codes = COUNTERS_CODES;
	h->portal_size = sizeof(struct counters_portal);
	h->portals = LIMIT_COUNTER_PORTALS;
	h->event_size = sizeof(struct counters_event);
	h->events = LIMIT_COUNTER_EVENTS;
	h->file_size = sizeof(struct counters_file);
}

enum { FILE_MAPPED, FILE_MISSING, FILE_DAMAGED };

/*
 * Is the open file fd (st) ours?  FILE_MAPPED when it is, FILE_DAMAGED
 * when it is no counters file or a cut one; -1 with err when it is one
 * of another version or layout, or cannot be read.
 */
static int
examine(int fd, const struct stat *st, struct err *err)
{
	struct counters_head want, h;
	ssize_t n;

	if (!S_ISREG(st->st_mode))
		return err_set(
		    err, ERR_CONFIG, "counters file not a regular file");
	head_init(&want);
	if ((size_t)st->st_size < sizeof(h))
		return FILE_DAMAGED;
	if ((n = pread(fd, &h, sizeof(h), 0)) == -1)
		return err_errno(err, ERR_CONFIG, errno, "counters read");
	if ((size_t)n < sizeof(h) || !same_magic(h.magic, want.magic))
		return FILE_DAMAGED;
	if (h.version != want.version)
		return err_set(err, ERR_CONFIG,
		    "counters file format version %u, not %u: left alone; "
		    "b24hookctl stats --reset replaces it",
		    (unsigned)h.version, (unsigned)want.version);
	if (h.byte_order != want.byte_order || h.head_size != want.head_size ||
	    h.code_size != want.code_size || h.codes != want.codes ||
	    h.portal_size != want.portal_size || h.portals != want.portals ||
	    h.event_size != want.event_size || h.events != want.events)
		return err_set(err, ERR_CONFIG,
		    "counters file of another layout (version %u): left alone; "
		    "b24hookctl stats --reset replaces it",
		    (unsigned)h.version);
	if (h.file_size != want.file_size ||
	    (uint64_t)st->st_size != want.file_size)
		return FILE_DAMAGED;
	return FILE_MAPPED;
}

/*
 * Open and map k->path; FILE_MAPPED, FILE_MISSING, FILE_DAMAGED (*st
 * is the damaged file's), or -1 with err.
 */
static int
try_map(struct counters *k, int writable, struct stat *st, struct err *err)
{
	void *map;
	int fd, r;

	/* the mode argument, though unused, spares a fortified __open_2 */
	fd = open(k->path,
	    (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW |
	        O_NONBLOCK | O_NOCTTY,
	    0);
	if (fd == -1) {
		if (errno == ENOENT)
			return FILE_MISSING;
		return err_errno(err, ERR_CONFIG, errno, "counters open");
	}
	if (fstat(fd, st) == -1) {
		r = err_errno(err, ERR_CONFIG, errno, "counters fstat");
		close(fd);
		return r;
	}
	if ((r = examine(fd, st, err)) != FILE_MAPPED) {
		close(fd);
		return r;
	}
	map = mmap(NULL, sizeof(struct counters_file),
	    writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	r = errno;
	close(fd);
	if (map == MAP_FAILED)
		return err_errno(err, ERR_CONFIG, r, "counters mmap");
	k->map = map;
	k->writable = writable;
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	memset(k->code_slot, 0, sizeof(k->code_slot));
	return FILE_MAPPED;
}

/*
 * Make a fresh file at k->path, built beside it and renamed over it;
 * like (may be NULL) is the file it replaces, whose owner, group and
 * mode it takes.  With none, a file made by root goes to dir's owner
 * and group (dir is the state directory's stat), so that the responder
 * running as that owner can count: b24hookctl stats --reset runs as
 * root.  The caller holds the directory's lock.
 */
static int
make_file(const char *path, const struct stat *like, const struct stat *dir,
    struct err *err)
{
	const struct stat *owner = like;
	char tmp[PATH_MAX + 32];
	struct counters_file *f;
	struct stat st;
	int fd, r, c;
	void *map;

	if (owner == NULL && geteuid() == 0)
		owner = dir;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return err_set(err, ERR_CONFIG, "counters path too long");
	/* under the lock, a file of this name is a killed maker's */
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    COUNTERS_MODE);
	if (fd == -1)
		return err_errno(err, ERR_CONFIG, errno, "counters create");
	if (owner != NULL && fstat(fd, &st) == 0 &&
	    (owner->st_uid != st.st_uid || owner->st_gid != st.st_gid) &&
	    fchown(fd, owner->st_uid, owner->st_gid) == -1) {
		r = err_errno(err, ERR_CONFIG, errno, "counters fchown");
		goto fail;
	}
	if (like != NULL && fchmod(fd, like->st_mode & 0777) == -1) {
		r = err_errno(err, ERR_CONFIG, errno, "counters fchmod");
		goto fail;
	}
	/* every block allocated now: a full disk cannot fault a page later */
	if ((r = posix_fallocate(fd, 0, sizeof(struct counters_file))) != 0) {
		r = err_errno(err, ERR_CONFIG, r, "counters fallocate");
		goto fail;
	}
	map = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = err_errno(err, ERR_CONFIG, errno, "counters mmap");
		goto fail;
	}
	f = map;
	/* the refusals the program can give, so each has its 0 from the start
	 */
	for (c = ERR_OK + 1; c <= ERR_STORAGE_UNAVAILABLE; c++)
		if (c == ERR_FORBIDDEN) {
			code_slot(f, err_name(c),
			    kind_reason[KIND_UNKNOWN_PORTAL], err_status(c));
			code_slot(f, err_name(c),
			    kind_reason[KIND_TOKEN_MISMATCH], err_status(c));
		} else
			code_slot(f, err_name(c), err_name(c), err_status(c));
	head_init(&f->head);
	f->head.created = (int64_t)time(NULL);
	munmap(map, sizeof(*f));
	if (rename(tmp, path) == -1) {
		r = err_errno(err, ERR_CONFIG, errno, "counters rename");
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return r;
}

static int
set_path(struct counters *k, const char *dir, struct err *err)
{
	if (dir == NULL || *dir == '\0')
		return err_set(err, ERR_CONFIG, "counters: no state directory");
	if ((size_t)snprintf(k->path, sizeof(k->path), "%s/%s", dir,
	        COUNTERS_NAME) >= sizeof(k->path) - 32)
		return err_set(err, ERR_CONFIG, "counters path too long");
	return 0;
}

/*
 * Map dir/counters for counting.  A missing or damaged file is made
 * anew; with fresh set (counters_reset), whatever is there is replaced.
 * *old, when not NULL, gets the replaced file's mapping (writable) when
 * it had one, else NULL.
 */
static int
open_rw(struct counters *k, const char *dir, int fresh,
    struct counters_file **old, struct err *err)
{
	struct counters cur = {0};
	struct stat st, like, dirst;
	int dfd, r, have_like;

	counters_close(k);
	if (set_path(k, dir, err) == -1)
		return -1;
	if (!fresh) {
		r = try_map(k, 1, &st, err);
		if (r == FILE_MAPPED)
			return 0;
		if (r == -1)
			return -1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_errno(err, ERR_CONFIG, errno, "counters open dir");
	/* bounded: whoever can open the directory can flock it */
	if (lockfile_wait(dfd, lockfile_deadline(LIMIT_LOCK_WAIT_MS), NULL) ==
	    -1) {
		r = err_errno(err, ERR_CONFIG, errno, "counters flock");
		goto done;
	}
	/* under the lock: another process may have made it meanwhile */
	memcpy(cur.path, k->path, sizeof(cur.path));
	r = try_map(&cur, 1, &st, err);
	if (!fresh && r == FILE_MAPPED) {
		*k = cur;
		cur.map = NULL;
		r = 0;
		goto done;
	}
	if (!fresh && r == -1)
		goto done; /* another version, or unusable: left alone */
	have_like = lstat(k->path, &like) == 0 && S_ISREG(like.st_mode);
	if (fstat(dfd, &dirst) == -1) {
		r = err_errno(err, ERR_CONFIG, errno, "counters stat dir");
		goto done;
	}
	if ((r = make_file(k->path, have_like ? &like : NULL, &dirst, err)) ==
	    0) {
		r = try_map(k, 1, &st, err) == FILE_MAPPED ? 0 : -1;
		if (old != NULL) {
			*old = cur.map;
			cur.map = NULL;
		}
	}
done:
	counters_close(&cur);
	close(dfd);
	return r;
}

int
counters_open(struct counters *k, const char *dir, struct err *err)
{
	return open_rw(k, dir, 0, NULL, err);
}

int
counters_open_read(struct counters *k, const char *dir, struct err *err)
{
	struct stat st;
	int r;

	counters_close(k);
	if (set_path(k, dir, err) == -1)
		return -1;
	switch (r = try_map(k, 0, &st, err)) {
	case FILE_MAPPED:
		return 0;
	case FILE_MISSING:
		return err_errno(err, ERR_CONFIG, ENOENT, "counters open");
	case FILE_DAMAGED:
		return err_set(err, ERR_CONFIG,
		    "counters file damaged (bad magic or size)");
	}
	return r;
}

int
counters_refresh(
    struct counters *k, const char *dir, time_t now, struct err *err)
{
	struct stat st;
	int r;

	if (k->map != NULL && k->writable) {
		if (!__atomic_load_n(&k->map->head.retired, __ATOMIC_ACQUIRE)) {
			if (now == k->checked)
				return 0;
			k->checked = now;
			if (stat(k->path, &st) == 0 && st.st_dev == k->dev &&
			    st.st_ino == k->ino &&
			    (size_t)st.st_size == sizeof(struct counters_file))
				return 0;
		}
	} else if (now == k->checked)
		return -1; /* failed this second already: err as it was */
	r = counters_open(k, dir, err);
	k->checked = now;
	return r;
}

void
counters_close(struct counters *k)
{
	time_t checked = k->checked;

	if (k->map != NULL)
		munmap(k->map, sizeof(struct counters_file));
	memset(k, 0, sizeof(*k));
	k->checked = checked;
}

int
counters_reset(const char *dir, struct err *err)
{
	struct counters_file *old = NULL;
	struct counters k = {0};
	int r;

	r = open_rw(&k, dir, 1, &old, err);
	if (old != NULL) {
		/* the workers still mapping it move to the new file */
		__atomic_store_n(&old->head.retired, 1, __ATOMIC_RELEASE);
		munmap(old, sizeof(*old));
	}
	counters_close(&k);
	return r;
}

/* --- counting ------------------------------------------------------------ */

/* 1..LIMIT_MEMBER_ID bytes of [A-Za-z0-9_-]: a portal's name */
static size_t
portal_name(const char *id)
{
	size_t n = strspn(id,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_-");

	return n > LIMIT_MEMBER_ID || id[n] != '\0' ? 0 : n;
}

static struct counters_portal *
portal_of(struct counters_file *f, const char *id)
{
	struct counters_portal *p;
	size_t len = portal_name(id);

	if (len == 0)
		return NULL;
	return (p = portal_slot(f, id, len)) != NULL ? p : &f->other;
}

static void
count_refusal(struct counters *k, enum err_code code, int kind)
{
	struct counters_file *f = k->map;
	struct counters_code *c = NULL;
	unsigned short *cache = NULL;

	if ((unsigned)code < sizeof(k->code_slot) / sizeof(k->code_slot[0])) {
		cache = &k->code_slot[code][kind];
		if (*cache != 0)
			c = &f->code[*cache - 1];
	}
	if (c == NULL &&
	    (c = code_slot(f, err_name(code),
	         kind == KIND_CODE ? err_name(code) : kind_reason[kind],
	         err_status(code))) != NULL &&
	    cache != NULL)
		*cache = (unsigned short)(c - f->code + 1);
	add(c != NULL ? &c->count : &f->other_refusals, 1);
}

void
counters_record(
    struct counters *k, const struct outcome *o, const struct timespec *now)
{
	struct counters_file *f = k->map;
	struct counters_portal *p;
	struct counters_event *e;
	uint64_t day, n = o->records;
	size_t len;
	int kind = KIND_CODE;

	if (f == NULL || !k->writable)
		return;
	day = now->tv_sec > 0 ? (uint64_t)now->tv_sec / 86400 : 0;
	if (o->err.code == ERR_OK) {
		if ((p = portal_of(f, o->member_id)) == NULL)
			return;
		add(&p->requests, 1);
		add(&p->records, n);
		add_today(&p->records_today, day, n);
		raise_to(&p->last_accepted, (int64_t)now->tv_sec);
		len = strlen(o->event);
		if (len > 0 && len <= LIMIT_EVENT &&
		    (e = event_slot(p, o->event, len)) != NULL)
			add(&e->records, n);
		else
			add(&p->other_events, n);
		domain_set(p, o->domain);
		return;
	}
	if (o->err.code == ERR_ENROLLMENT_PENDING) {
		counters_enrollment_pending(k);
		return;
	}
	if (o->err.code == ERR_FORBIDDEN) {
		if (strcmp(o->err.reason, kind_reason[KIND_UNKNOWN_PORTAL]) ==
		    0)
			kind = KIND_UNKNOWN_PORTAL;
		else if (strcmp(o->err.reason,
		             kind_reason[KIND_TOKEN_MISMATCH]) == 0)
			kind = KIND_TOKEN_MISMATCH;
	}
	count_refusal(k, o->err.code, kind);
	/* a listed portal's: its token was wrong, or its log failed */
	if (kind == KIND_TOKEN_MISMATCH) {
		if ((p = portal_of(f, o->member_id)) == NULL)
			return;
		add(&p->refusals, 1);
		add_today(&p->refusals_today, day, 1);
		raise_to(&p->last_refused, (int64_t)now->tv_sec);
	} else if (o->err.code == ERR_STORAGE_UNAVAILABLE && o->listed &&
	    (p = portal_of(f, o->member_id)) != NULL)
		add(&p->storage_failures, 1);
}

void
counters_enrollment_pending(struct counters *k)
{
	if (k->map != NULL && k->writable)
		add(&k->map->enrollments_pending, 1);
}

/* --- snapshots ----------------------------------------------------------- */

static int
by_event_name(const void *a, const void *b)
{
	return strcmp(((const struct counters_event_snap *)a)->name,
	    ((const struct counters_event_snap *)b)->name);
}

static void
snap_portal(
    struct counters_portal *p, uint64_t day, struct counters_portal_snap *s)
{
	struct counters_event *e;
	size_t i;

	memset(s, 0, sizeof(*s));
	memcpy(s->member_id, p->member_id, sizeof(s->member_id) - 1);
	if (portal_name(s->member_id) == 0)
		s->member_id[0] = '\0';
	domain_get(p, s->domain, sizeof(s->domain));
	s->requests = load(&p->requests);
	s->records = load(&p->records);
	s->refusals = load(&p->refusals);
	s->storage_failures = load(&p->storage_failures);
	s->last_accepted = __atomic_load_n(&p->last_accepted, __ATOMIC_RELAXED);
	s->last_refused = __atomic_load_n(&p->last_refused, __ATOMIC_RELAXED);
	s->records_today = today_of(&p->records_today, day);
	s->refusals_today = today_of(&p->refusals_today, day);
	s->other_events = load(&p->other_events);
	for (i = 0; i < LIMIT_COUNTER_EVENTS; i++) {
		e = &p->event[i];
		if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != SLOT_READY)
			continue;
		memcpy(s->event[s->nevents].name, e->name, LIMIT_EVENT);
		s->event[s->nevents].name[LIMIT_EVENT] = '\0';
		s->event[s->nevents++].records = load(&e->records);
	}
	qsort(s->event, s->nevents, sizeof(s->event[0]), by_event_name);
}

/* Fold b (the same portal, in a second slot) into a. */
static void
merge(struct counters_portal_snap *a, const struct counters_portal_snap *b)
{
	size_t i, j;

	a->requests += b->requests;
	a->records += b->records;
	a->refusals += b->refusals;
	a->storage_failures += b->storage_failures;
	a->records_today += b->records_today;
	a->refusals_today += b->refusals_today;
	a->other_events += b->other_events;
	if (b->last_accepted > a->last_accepted)
		a->last_accepted = b->last_accepted;
	if (b->last_refused > a->last_refused)
		a->last_refused = b->last_refused;
	if (a->domain[0] == '\0')
		memcpy(a->domain, b->domain, sizeof(a->domain));
	for (j = 0; j < b->nevents; j++) {
		for (i = 0; i < a->nevents; i++)
			if (strcmp(a->event[i].name, b->event[j].name) == 0)
				break;
		if (i < a->nevents)
			a->event[i].records += b->event[j].records;
		else if (a->nevents < LIMIT_COUNTER_EVENTS)
			a->event[a->nevents++] = b->event[j];
		else
			a->other_events += b->event[j].records;
	}
	qsort(a->event, a->nevents, sizeof(a->event[0]), by_event_name);
}

static int
by_member_id(const void *a, const void *b)
{
	return strcmp(((const struct counters_portal_snap *)a)->member_id,
	    ((const struct counters_portal_snap *)b)->member_id);
}

static int
by_code(const void *a, const void *b)
{
	const struct counters_code_snap *x = a, *y = b;
	int c;

	if (x->status != y->status)
		return x->status < y->status ? -1 : 1;
	if ((c = strcmp(x->code, y->code)) != 0)
		return c;
	return strcmp(x->reason, y->reason);
}

int
counters_snapshot(const struct counters *k, time_t now,
    struct counters_snapshot *s, struct err *err)
{
	struct counters_file *f = k->map;
	struct counters_code *c;
	uint64_t day = now > 0 ? (uint64_t)now / 86400 : 0;
	size_t i, n;

	memset(s, 0, sizeof(*s));
	if (f == NULL)
		return err_set(err, ERR_CONFIG, "counters not mapped");
	s->created = __atomic_load_n(&f->head.created, __ATOMIC_RELAXED);
	s->taken = (int64_t)now;
	s->enrollments_pending = load(&f->enrollments_pending);
	s->other_refusals = load(&f->other_refusals);
	for (i = 0; i < COUNTERS_CODES; i++) {
		c = &f->code[i];
		if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != SLOT_READY)
			continue;
		memcpy(s->code[s->ncodes].code, c->code, sizeof(c->code) - 1);
		memcpy(s->code[s->ncodes].reason, c->reason,
		    sizeof(c->reason) - 1);
		s->code[s->ncodes].status = (int)c->status;
		s->code[s->ncodes++].count = load(&c->count);
	}
	qsort(s->code, s->ncodes, sizeof(s->code[0]), by_code);
	snap_portal(&f->other, day, &s->other);
	s->other.member_id[0] = '\0';
	for (i = n = 0; i < LIMIT_COUNTER_PORTALS; i++)
		n += __atomic_load_n(&f->portal[i].state, __ATOMIC_ACQUIRE) ==
		    SLOT_READY;
	if (n > 0 && (s->portal = calloc(n, sizeof(*s->portal))) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	for (i = 0; i < LIMIT_COUNTER_PORTALS && s->nportals < n; i++)
		if (__atomic_load_n(&f->portal[i].state, __ATOMIC_ACQUIRE) ==
		    SLOT_READY) {
			snap_portal(
			    &f->portal[i], day, &s->portal[s->nportals]);
			if (s->portal[s->nportals].member_id[0] != '\0')
				s->nportals++;
		}
	if (s->nportals > 1) /* s->portal is NULL when there are none */
		qsort(s->portal, s->nportals, sizeof(*s->portal), by_member_id);
	for (i = n = 0; i < s->nportals; i++)
		if (n > 0 &&
		    strcmp(s->portal[n - 1].member_id,
		        s->portal[i].member_id) == 0)
			merge(&s->portal[n - 1], &s->portal[i]);
		else if (n++ != i)
			s->portal[n - 1] = s->portal[i];
	s->nportals = n;
	return 0;
}

void
counters_snapshot_free(struct counters_snapshot *s)
{
	free(s->portal);
	memset(s, 0, sizeof(*s));
}

/* --- rendering ----------------------------------------------------------- */

/*
 * Where a renderer writes: once an append fails (out of memory, or the
 * buffer's max) every later one is skipped and failed stays set.
 */
struct out {
	struct buf *b;
	int failed;
};

static void oprintf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
oprintf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	if (o->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (p = buf_reserve(o->b, (size_t)n)) == NULL) {
		o->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->b->len += (size_t)n;
}

static void
oput(struct out *o, const char *s, size_t n)
{
	if (!o->failed && buf_append(o->b, s, n) == -1)
		o->failed = 1;
}

static void
oputs(struct out *o, const char *s)
{
	oput(o, s, strlen(s));
}

/* A quoted string for the text forms: '"', '\' and control bytes escaped. */
static void
oquoted(struct out *o, const char *s)
{
	oputs(o, "\"");
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\')
			oprintf(o, "\\%c", *s);
		else if ((unsigned char)*s < ' ' || *s == 0x7f)
			oprintf(o, "\\x%02x", (unsigned char)*s);
		else
			oput(o, s, 1);
	oputs(o, "\"");
}

/* A Prometheus label value: '\', '"' and newline escaped, as the format says.
 */
static void
oprom(struct out *o, const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\\')
			oputs(o, "\\\\");
		else if (*s == '"')
			oputs(o, "\\\"");
		else if (*s == '\n')
			oputs(o, "\\n");
		else
			oput(o, s, 1);
}

/* "2026-11-29T10:00:00Z", or "never" for 0 */
static const char *
iso(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "never");
	return out;
}

static const char *
label_of(counters_label *label, void *arg, const char *member_id)
{
	const char *l;

	if (label == NULL || member_id[0] == '\0' ||
	    (l = label(member_id, arg)) == NULL)
		return "";
	return l;
}

/* totals over every portal and the other-portals bucket */
struct totals {
	uint64_t requests, records, refusals, storage_failures;
};

static void
totals(const struct counters_snapshot *s, struct totals *t)
{
	size_t i;

	t->requests = s->other.requests;
	t->records = s->other.records;
	t->refusals = s->other.refusals;
	t->storage_failures = s->other.storage_failures;
	for (i = 0; i < s->nportals; i++) {
		t->requests += s->portal[i].requests;
		t->records += s->portal[i].records;
		t->refusals += s->portal[i].refusals;
		t->storage_failures += s->portal[i].storage_failures;
	}
}

static int
other_used(const struct counters_portal_snap *p)
{
	return p->requests != 0 || p->refusals != 0 || p->storage_failures != 0;
}

/*
 * The i-th portal of s for listing: the table's in order, then (i ==
 * nportals) the other-portals bucket when it was used; NULL past them.
 * *id is its member_id, "(other)" for the bucket.
 */
static const struct counters_portal_snap *
nth_portal(const struct counters_snapshot *s, size_t i, const char **id)
{
	if (i < s->nportals) {
		*id = s->portal[i].member_id;
		return &s->portal[i];
	}
	if (i == s->nportals && other_used(&s->other)) {
		*id = "(other)";
		return &s->other;
	}
	return NULL;
}

static void
render_text(const struct counters_snapshot *s, counters_label *label, void *arg,
    struct out *o)
{
	const struct counters_portal_snap *p;
	const char *id;
	char t1[32], t2[32];
	struct totals t;
	uint64_t refused = s->other_refusals;
	size_t i, j;

	totals(s, &t);
	for (i = 0; i < s->ncodes; i++)
		refused += s->code[i].count;
	oprintf(o,
	    "counters since %s (format %d), read %s\n"
	    "accepted: %llu requests, %llu records\n"
	    "refused: %llu requests\n",
	    iso(s->created, t1, sizeof(t1)), COUNTERS_VERSION,
	    iso(s->taken, t2, sizeof(t2)), (unsigned long long)t.requests,
	    (unsigned long long)t.records, (unsigned long long)refused);
	for (i = 0; i < s->ncodes; i++)
		oprintf(o, "  %d %-24s %-16s %llu\n", s->code[i].status,
		    s->code[i].code, s->code[i].reason,
		    (unsigned long long)s->code[i].count);
	if (s->other_refusals != 0)
		oprintf(o, "  (other refusals) %llu\n",
		    (unsigned long long)s->other_refusals);
	oprintf(o,
	    "storage failures: %llu\n"
	    "enrollments pending: %llu\n"
	    "portals: %zu (room for %d)\n",
	    (unsigned long long)t.storage_failures,
	    (unsigned long long)s->enrollments_pending, s->nportals,
	    LIMIT_COUNTER_PORTALS);
	for (i = 0; (p = nth_portal(s, i, &id)) != NULL; i++) {
		if (i < s->nportals) {
			oprintf(o, "  %s label=", id);
			oquoted(o, label_of(label, arg, id));
			oprintf(o, " domain=%s\n",
			    p->domain[0] != '\0' ? p->domain : "-");
		} else
			oputs(o, "  (other portals: past the table)\n");
		oprintf(o,
		    "    requests %llu, records %llu, refusals %llu, "
		    "storage failures %llu\n"
		    "    last accepted %s, last refused %s\n"
		    "    today: records %llu, refusals %llu\n",
		    (unsigned long long)p->requests,
		    (unsigned long long)p->records,
		    (unsigned long long)p->refusals,
		    (unsigned long long)p->storage_failures,
		    iso(p->last_accepted, t1, sizeof(t1)),
		    iso(p->last_refused, t2, sizeof(t2)),
		    (unsigned long long)p->records_today,
		    (unsigned long long)p->refusals_today);
		if (p->nevents == 0 && p->other_events == 0)
			continue;
		oputs(o, "    records by event:");
		for (j = 0; j < p->nevents; j++)
			oprintf(o, " %s %llu", p->event[j].name,
			    (unsigned long long)p->event[j].records);
		if (p->other_events > 0)
			oprintf(o, " (other) %llu",
			    (unsigned long long)p->other_events);
		oputs(o, "\n");
	}
}

static json_t *
json_time(int64_t t)
{
	char s[32];

	return t > 0 ? json_string(iso(t, s, sizeof(s))) : json_null();
}

/* a label or domain as a JSON string: "" when it is not valid UTF-8 */
static json_t *
json_text(const char *s)
{
	json_t *j = json_string(s);

	return j != NULL ? j : json_string("");
}

static json_t *
json_portal(const struct counters_portal_snap *p, const char *id,
    const char *label, int64_t taken)
{
	json_t *j, *ev;
	char day[16];
	time_t tt = (time_t)taken;
	struct tm tm;
	size_t i;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y-%m-%d", &tm) == 0)
		day[0] = '\0';
	ev = json_object();
	for (i = 0; i < p->nevents; i++)
		json_object_set_new(ev, p->event[i].name,
		    json_integer((json_int_t)p->event[i].records));
	j = json_pack("{s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:o, s:o, "
	              "s:{s:s, s:I, s:I}, s:o, s:I}",
	    "member_id", id, "label", json_text(label), "domain",
	    json_text(p->domain), "requests_accepted", (json_int_t)p->requests,
	    "records", (json_int_t)p->records, "refusals",
	    (json_int_t)p->refusals, "storage_failures",
	    (json_int_t)p->storage_failures, "last_accepted",
	    json_time(p->last_accepted), "last_refused",
	    json_time(p->last_refused), "today", "day", day, "records",
	    (json_int_t)p->records_today, "refusals",
	    (json_int_t)p->refusals_today, "events", ev, "other_events",
	    (json_int_t)p->other_events);
	return j;
}

static void
render_json(const struct counters_snapshot *s, counters_label *label, void *arg,
    struct out *o)
{
	const struct counters_portal_snap *p;
	json_t *root, *codes, *portals;
	const char *id;
	struct totals t;
	char t1[32];
	size_t i, n;

	totals(s, &t);
	codes = json_array();
	for (i = 0; i < s->ncodes; i++)
		if (json_array_append_new(codes,
		    json_pack("{s:s, s:s, s:i, s:I}", "code", s->code[i].code,
		        "reason", s->code[i].reason, "status",
		        s->code[i].status, "count",
		        (json_int_t)s->code[i].count)) == -1)
			o->failed = 1;
	portals = json_array();
	for (i = 0; (p = nth_portal(s, i, &id)) != NULL; i++)
		if (json_array_append_new(portals,
		        json_portal(p, id,
		            i < s->nportals ? label_of(label, arg, id) : "",
		            s->taken)) == -1)
			o->failed = 1;
	root = json_pack("{s:i, s:o, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:o}",
	    "format", COUNTERS_VERSION, "since", json_time(s->created), "read",
	    iso(s->taken, t1, sizeof(t1)), "requests_accepted",
	    (json_int_t)t.requests, "records", (json_int_t)t.records,
	    "storage_failures", (json_int_t)t.storage_failures,
	    "enrollments_pending", (json_int_t)s->enrollments_pending,
	    "refusals", codes, "other_refusals", (json_int_t)s->other_refusals,
	    "portals", portals);
	if (root == NULL ||
	    (n = json_dumpb(root, NULL, 0, JSON_COMPACT)) == 0 ||
	    buf_reserve(o->b, n + 1) == NULL ||
	    json_dumpb(root, o->b->data + o->b->len, n, JSON_COMPACT) != n)
		o->failed = 1;
	else {
		o->b->len += n;
		o->b->data[o->b->len] = '\0';
		oputs(o, "\n");
	}
	json_decref(root);
}

static void
prom_head(struct out *o, const char *name, const char *type, const char *help)
{
	oprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{member_id="...",label="..." (the caller closes the brace) */
static void
prom_portal(
    struct out *o, const char *name, const char *member_id, const char *label)
{
	oprintf(o, "%s{member_id=\"", name);
	oprom(o, member_id);
	oputs(o, "\",label=\"");
	oprom(o, label);
	oputs(o, "\"");
}

/* which of a portal's figures a series shows */
enum prom_field {
	PF_REQUESTS,
	PF_RECORDS,
	PF_REFUSALS,
	PF_STORAGE,
	PF_LAST_ACCEPTED, /* a gauge: no sample while 0 (never) */
	PF_LAST_REFUSED,
};

static uint64_t
field_of(const struct counters_portal_snap *p, enum prom_field f)
{
	switch (f) {
	case PF_REQUESTS:
		return p->requests;
	case PF_RECORDS:
		return p->records;
	case PF_REFUSALS:
		return p->refusals;
	case PF_STORAGE:
		return p->storage_failures;
	case PF_LAST_ACCEPTED:
		return p->last_accepted > 0 ? (uint64_t)p->last_accepted : 0;
	case PF_LAST_REFUSED:
		return p->last_refused > 0 ? (uint64_t)p->last_refused : 0;
	}
	return 0;
}

static void
prom_portals(const struct counters_snapshot *s, counters_label *label,
    void *arg, struct out *o, const char *name, const char *type,
    const char *help, enum prom_field f)
{
	const struct counters_portal_snap *p;
	const char *id;
	size_t i;

	prom_head(o, name, type, help);
	for (i = 0; (p = nth_portal(s, i, &id)) != NULL; i++) {
		if ((f == PF_LAST_ACCEPTED || f == PF_LAST_REFUSED) &&
		    field_of(p, f) == 0)
			continue;
		prom_portal(o, name, id,
		    i < s->nportals ? label_of(label, arg, id) : "");
		oprintf(o, "} %llu\n", (unsigned long long)field_of(p, f));
	}
}

static void
render_prometheus(const struct counters_snapshot *s, counters_label *label,
    void *arg, struct out *o)
{
	const struct counters_portal_snap *p;
	const char *id;
	struct totals t;
	size_t i, j;

	totals(s, &t);
	prom_head(o, "b24hook_counters_start_time_seconds", "gauge",
	    "When the counters started (file made or reset), seconds since "
	    "the epoch.");
	oprintf(o, "b24hook_counters_start_time_seconds %lld\n",
	    (long long)s->created);
	prom_head(o, "b24hook_requests_accepted_total", "counter",
	    "Requests accepted (200), every portal.");
	oprintf(o, "b24hook_requests_accepted_total %llu\n",
	    (unsigned long long)t.requests);
	prom_head(o, "b24hook_records_total", "counter",
	    "Records appended to the portals' logs.");
	oprintf(
	    o, "b24hook_records_total %llu\n", (unsigned long long)t.records);
	prom_head(o, "b24hook_refusals_total", "counter",
	    "Requests refused, by error code and reason.");
	for (i = 0; i < s->ncodes; i++) {
		oputs(o, "b24hook_refusals_total{code=\"");
		oprom(o, s->code[i].code);
		oputs(o, "\",reason=\"");
		oprom(o, s->code[i].reason);
		oprintf(o, "\"} %llu\n", (unsigned long long)s->code[i].count);
	}
	if (s->other_refusals != 0)
		oprintf(o,
		    "b24hook_refusals_total{code=\"(other)\","
		    "reason=\"(other)\"} %llu\n",
		    (unsigned long long)s->other_refusals);
	prom_head(o, "b24hook_storage_failures_total", "counter",
	    "Requests whose records could not be stored "
	    "(503 storage_unavailable).");
	oprintf(o, "b24hook_storage_failures_total %llu\n",
	    (unsigned long long)t.storage_failures);
	prom_head(o, "b24hook_enrollments_pending_total", "counter",
	    "Requests answered 202 enrollment_pending.");
	oprintf(o, "b24hook_enrollments_pending_total %llu\n",
	    (unsigned long long)s->enrollments_pending);
	prom_head(o, "b24hook_portal_info", "gauge",
	    "A portal the counters know, with its label and last seen "
	    "domain.");
	for (i = 0; i < s->nportals; i++) {
		p = &s->portal[i];
		prom_portal(o, "b24hook_portal_info", p->member_id,
		    label_of(label, arg, p->member_id));
		oputs(o, ",domain=\"");
		oprom(o, p->domain);
		oputs(o, "\"} 1\n");
	}
	prom_portals(s, label, arg, o, "b24hook_portal_requests_accepted_total",
	    "counter", "Requests accepted (200), per portal.", PF_REQUESTS);
	prom_portals(s, label, arg, o, "b24hook_portal_records_total",
	    "counter", "Records appended, per portal.", PF_RECORDS);
	prom_head(o, "b24hook_portal_event_records_total", "counter",
	    "Records appended, per portal and event.");
	for (i = 0; (p = nth_portal(s, i, &id)) != NULL; i++)
		for (j = 0; j < p->nevents ||
		     (j == p->nevents && p->other_events != 0);
		     j++) {
			prom_portal(o, "b24hook_portal_event_records_total", id,
			    i < s->nportals ? label_of(label, arg, id) : "");
			oputs(o, ",event=\"");
			oprom(o, j < p->nevents ? p->event[j].name : "(other)");
			oprintf(o, "\"} %llu\n",
			    (unsigned long long)(j < p->nevents
			            ? p->event[j].records
			            : p->other_events));
		}
	prom_portals(s, label, arg, o, "b24hook_portal_refusals_total",
	    "counter",
	    "Requests of a listed portal refused for a wrong application "
	    "token (403 token_mismatch).",
	    PF_REFUSALS);
	prom_portals(s, label, arg, o, "b24hook_portal_storage_failures_total",
	    "counter",
	    "Requests of a portal whose records could not be stored.",
	    PF_STORAGE);
	prom_portals(s, label, arg, o, "b24hook_portal_last_accepted_seconds",
	    "gauge",
	    "When a request of the portal was last accepted, seconds since "
	    "the epoch.",
	    PF_LAST_ACCEPTED);
	prom_portals(s, label, arg, o, "b24hook_portal_last_refused_seconds",
	    "gauge",
	    "When a request of the portal was last refused for a wrong "
	    "token, seconds since the epoch.",
	    PF_LAST_REFUSED);
}

int
counters_render(const struct counters_snapshot *s, enum counters_format f,
    counters_label *label, void *arg, struct buf *out, struct err *err)
{
	struct out o = {out, 0};

	switch (f) {
	case COUNTERS_TEXT:
		render_text(s, label, arg, &o);
		break;
	case COUNTERS_JSON:
		render_json(s, label, arg, &o);
		break;
	case COUNTERS_PROMETHEUS:
		render_prometheus(s, label, arg, &o);
		break;
	}
	if (o.failed)
		return err_set(err, ERR_INTERNAL, "counters: out of memory");
	return 0;
}

/* "6h" for 21600: the largest unit that divides it */
static void
duration_text(long long secs, char *out, size_t size)
{
	if (secs % 86400 == 0)
		snprintf(out, size, "%lldd", secs / 86400);
	else if (secs % 3600 == 0)
		snprintf(out, size, "%lldh", secs / 3600);
	else if (secs % 60 == 0)
		snprintf(out, size, "%lldm", secs / 60);
	else
		snprintf(out, size, "%llds", secs);
}

static int
is_silent(
    const struct counters_portal_snap *p, int64_t taken, long long silent_for)
{
	return silent_for > 0 &&
	    (p->last_accepted <= 0 || taken - p->last_accepted > silent_for);
}

int
counters_render_status(const struct counters_snapshot *s, counters_label *label,
    void *arg, long long silent_for, struct buf *out, size_t *silent,
    struct err *err)
{
	const struct counters_portal_snap *p;
	struct out o = {out, 0};
	const char *id, *l;
	char d[32], t[32];
	size_t i;

	*silent = 0;
	for (i = 0; i < s->nportals; i++)
		*silent += is_silent(&s->portal[i], s->taken, silent_for);
	duration_text(silent_for, d, sizeof(d));
	if (silent_for <= 0)
		oprintf(&o, "OK: %zu portals\n", s->nportals);
	else if (*silent == 0)
		oprintf(&o, "OK: %zu portals, none silent for more than %s\n",
		    s->nportals, d);
	else {
		oprintf(&o,
		    "WARNING: %zu of %zu portals silent for more than %s:",
		    *silent, s->nportals, d);
		for (i = 0; i < s->nportals; i++) {
			p = &s->portal[i];
			if (!is_silent(p, s->taken, silent_for))
				continue;
			oprintf(&o, " %s", p->member_id);
			if (*(l = label_of(label, arg, p->member_id)) != '\0') {
				oputs(&o, " (");
				oquoted(&o, l);
				oputs(&o, ")");
			}
		}
		oputs(&o, "\n");
	}
	for (i = 0; (p = nth_portal(s, i, &id)) != NULL; i++) {
		oprintf(&o, "%s label=", id);
		oquoted(&o, i < s->nportals ? label_of(label, arg, id) : "");
		oprintf(&o,
		    " domain=%s last_event=%s records_today=%llu "
		    "refusals_today=%llu%s\n",
		    p->domain[0] != '\0' ? p->domain : "-",
		    iso(p->last_accepted, t, sizeof(t)),
		    (unsigned long long)p->records_today,
		    (unsigned long long)p->refusals_today,
		    i < s->nportals && is_silent(p, s->taken, silent_for)
		        ? " silent"
		        : "");
	}
	if (o.failed)
		return err_set(err, ERR_INTERNAL, "counters: out of memory");
	return 0;
}

int
counters_parse_duration(const char *s, long long *seconds)
{
	long long n = 0, unit;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > LIMIT_SILENT_FOR)
			return -1;
		n = n * 10 + (*p - '0');
	}
	switch (*p) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (p[1] != '\0' || n == 0 || n > LIMIT_SILENT_FOR / unit)
		return -1;
	*seconds = n * unit;
	return 0;
}
