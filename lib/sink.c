#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allowlist.h"
#include "fileio.h"
#include "limit.h"
#include "lockfile.h"
#include "sink.h"

/* the signals that tell the responder to stop (sink.h) */
static const int stop_signals[] = SINK_STOP_SIGNALS;

/* stopping: whether a stop signal is pending (only a blocked one can be) */
static int
stopping(void)
{
	sigset_t pending;
	size_t i;

	if (sigpending(&pending) == -1)
		return 0;
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (sigismember(&pending, stop_signals[i]) == 1)
			return 1;
	return 0;
}

/*
 * open_lock: open lockpath into slot's lockfd, creating it with
 * SINK_LOCK_MODE.  Anyone who can open it can flock() it and so hold up
 * every append: it must be a regular file the process's user alone can
 * open.  Its loss in a crash is harmless (the next append makes it
 * again), so its directory entry is never synced.
 */
static int
open_lock(const char *lockpath, struct sink_slot *slot, struct err *err)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO in the lock's place must not block the open */
	fd = open(lockpath,
	    O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
	    SINK_LOCK_MODE);
	if (fd == -1)
		return err_errno(
		    err, ERR_STORAGE_UNAVAILABLE, errno, "lock open");
	if (fstat(fd, &st) == -1) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, "lock fstat");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(
		    err, ERR_STORAGE_UNAVAILABLE, "lock not a regular file");
		goto fail;
	}
	/* root (b24hookctl) appends beside the responder, through its lock */
	if ((st.st_uid != geteuid() && geteuid() != 0) ||
	    (st.st_mode & 077) != 0) {
		err_set(err, ERR_STORAGE_UNAVAILABLE, "lock not private");
		goto fail;
	}
	slot->lockfd = fd;
	slot->lockdev = st.st_dev;
	slot->lockino = st.st_ino;
	return 0;
fail:
	close(fd);
	return -1;
}

/*
 * lock: take slot's lock file (lockfile_wait), waiting at most
 * LIMIT_LOCK_WAIT_MS and no longer once a stop signal is pending.  A
 * lock file deleted or replaced while kept is opened again by name: the
 * other appends lock the file at the name.
 */
static int
lock(struct sink_slot *slot, const char *lockpath, struct err *err)
{
	long long deadline = lockfile_deadline(LIMIT_LOCK_WAIT_MS);
	struct stat st;

	for (;;) {
		if (lockfile_wait(slot->lockfd, deadline, stopping) == -1) {
			if (errno == ETIMEDOUT)
				return err_set(err, ERR_STORAGE_UNAVAILABLE,
				    "lock timeout");
			if (errno == ECANCELED)
				return err_set(err, ERR_STORAGE_UNAVAILABLE,
				    "lock wait stopped");
			return err_errno(
			    err, ERR_STORAGE_UNAVAILABLE, errno, "flock");
		}
		if (lstat(lockpath, &st) == 0 && st.st_dev == slot->lockdev &&
		    st.st_ino == slot->lockino)
			return 0;
		close(slot->lockfd);
		slot->lockfd = -1;
		if (open_lock(lockpath, slot, err) == -1)
			return -1;
	}
}

/* cut: after a failure already in err, take the file back to size */
static void
cut(int fd, off_t size, struct err *err)
{
	char what[ERR_REASON_SIZE + sizeof("; ftruncate")];

	while (ftruncate(fd, size) == -1) {
		if (errno == EINTR)
			continue;
		/* a partial line is left: say so next to the first cause */
		snprintf(what, sizeof(what), "%s; ftruncate", err->reason);
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, what);
		return;
	}
}

/*
 * heal: cut a torn last line, under the lock.  A responder killed
 * (SIGKILL, a crash) inside write() cannot cut back its own append, and
 * Linux stops a large write part way for a fatal signal; the next append
 * finds the log not ending in '\n' and takes it back to its last whole
 * line.  Those bytes never got a 200: their writer died before replying.
 * readable is 0 when fd cannot be read: nothing is cut then.  *size is
 * the file's size, updated.
 */
static int
heal(int fd, int readable, off_t *size, struct err *err)
{
	char chunk[4096];
	off_t end = *size, start;
	ssize_t n;

	/* the usual case, a log ending in '\n', costs one byte's read */
	if (readable && end > 0 && pread(fd, chunk, 1, end - 1) == 1 &&
	    chunk[0] == '\n')
		return 0;
	while (readable && end > 0) {
		start = end - (off_t)sizeof(chunk);
		if (start < 0)
			start = 0;
		n = pread(fd, chunk, (size_t)(end - start), start);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return err_errno(
			    err, ERR_STORAGE_UNAVAILABLE, errno, "pread");
		}
		if (n != end - start)
			return err_set(err, ERR_STORAGE_UNAVAILABLE,
			    "log shrank under the lock");
		while (n > 0 && chunk[n - 1] != '\n')
			n--;
		if (n > 0 || start == 0) {
			end = start + n;
			break;
		}
		end = start;
	}
	if (!readable || end == *size)
		return 0;
	while (ftruncate(fd, end) == -1)
		if (errno != EINTR)
			return err_errno(
			    err, ERR_STORAGE_UNAVAILABLE, errno, "ftruncate");
	*size = end;
	return 0;
}

/*
 * append: lock and append to slot's log, a regular file opened O_APPEND
 * in dir.  The lock, once taken, is still held on return, failed or not:
 * the caller releases it.
 */
static int
append(struct sink_slot *slot, const char *dir, const char *lockpath,
    const char *buf, size_t len, int sync, struct err *err)
{
	const char *call;
	int fd = slot->fd;
	struct stat st;

	if (lock(slot, lockpath, err) == -1)
		return -1;
	/* the size under the lock, so no other append can follow it */
	if (fstat(fd, &st) == -1)
		return err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, "fstat");
	/*
	 * At the size this slot's last append left, the log still ends in
	 * that append's '\n' (sink.h says why): the read is spared.
	 */
	if (st.st_size != slot->end &&
	    heal(fd, slot->readable, &st.st_size, err) == -1)
		return -1;
	slot->end = -1;
	if (fileio_write_all(fd, buf, len) == -1) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, "write");
		goto fail;
	}
	if (sync && fdatasync(fd) == -1) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, "fdatasync");
		goto fail;
	}
	/*
	 * The log's name too, when it may not be durable: this slot's open
	 * created the log, or the log was empty, as a creating append that
	 * failed leaves it (the next append opens it as an existing file).
	 */
	if (sync && (slot->unsynced || st.st_size == 0)) {
		if (fileio_sync_dir(dir, &call) == -1) {
			err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, call);
			goto fail;
		}
		slot->unsynced = 0;
	}
	if (len > 0 && buf[len - 1] == '\n')
		slot->end = st.st_size + (off_t)len;
	return 0;
fail:
	cut(fd, st.st_size, err);
	return -1;
}

/*
 * forget: close slot's log and lock file (dropping any lock) and free the
 * slot
 */
static void
forget(struct sink_slot *slot)
{
	close(slot->fd);
	if (slot->lockfd != -1)
		close(slot->lockfd);
	free(slot->path);
	slot->path = NULL;
	slot->fd = -1;
	slot->lockfd = -1;
}

/*
 * open_rw: open path with flags, O_RDWR so heal() can read the tail, or
 * O_WRONLY when only writing is allowed (*readable 0): such a log is
 * still appended to, without healing.
 */
static int
open_rw(const char *path, int flags, int *readable)
{
	int fd;

	*readable = 1;
	if ((fd = open(path, O_RDWR | flags, SINK_MODE)) == -1 &&
	    errno == EACCES) {
		*readable = 0;
		fd = open(path, O_WRONLY | flags, SINK_MODE);
	}
	return fd;
}

/*
 * open_log: open path by name into slot (its path untouched): a regular
 * file, created with SINK_MODE when absent, its identity noted, and
 * slot->unsynced set when this open created it.
 */
static int
open_log(const char *path, struct sink_slot *slot, struct err *err)
{
	/* O_NONBLOCK: a FIFO in the log's place must not block the open */
	const int flags = O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
	struct stat st;
	int fd, readable, created = 0;

	/*
	 * Without O_CREAT first, then O_CREAT|O_EXCL, so that a log this
	 * open creates is known: its name is not durable until its
	 * directory is synced.  One made by another process in between
	 * is opened as it is.
	 */
	if ((fd = open_rw(path, flags, &readable)) == -1 && errno == ENOENT) {
		if ((fd = open_rw(path, flags | O_CREAT | O_EXCL, &readable)) !=
		    -1)
			created = 1;
		else if (errno == EEXIST)
			fd = open_rw(path, flags, &readable);
	}
	if (fd == -1)
		return err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, "open");
	if (fstat(fd, &st) == -1) {
		err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, "fstat");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, ERR_STORAGE_UNAVAILABLE, "not a regular file");
		goto fail;
	}
	slot->fd = fd;
	slot->readable = readable;
	slot->st = st;
	slot->unsynced = created;
	slot->end = -1;
	return 0;
fail:
	close(fd);
	return -1;
}

/*
 * open_slot: open the log at path and then its lock file into slot (its
 * path untouched), or neither.  The log first: when both would fail, the
 * reason names the log, the file the operator knows.
 */
static int
open_slot(const char *path, const char *lockpath, struct sink_slot *slot,
    struct err *err)
{
	if (open_log(path, slot, err) == -1)
		return -1;
	if (open_lock(lockpath, slot, err) == -1) {
		close(slot->fd);
		return -1;
	}
	return 0;
}

/*
 * current: whether slot's path, not followed if a symlink, still names
 * the file slot's descriptor is on, with the mode and owner it had when
 * opened (a chmod or chown must meet open()'s permission check again).
 * The descriptor keeps its file alive, so its inode number cannot have
 * been given to another file meanwhile.
 */
static int
current(const struct sink_slot *slot)
{
	struct stat st;

	return lstat(slot->path, &st) == 0 && st.st_dev == slot->st.st_dev &&
	    st.st_ino == slot->st.st_ino && st.st_mode == slot->st.st_mode &&
	    st.st_uid == slot->st.st_uid && st.st_gid == slot->st.st_gid;
}

/* kept: the slot holding path, or NULL */
static struct sink_slot *
kept(struct sink *sink, const char *path)
{
	struct sink_slot *slot;

	for (slot = sink->slot; slot < sink->slot + SINK_SLOTS; slot++)
		if (slot->path != NULL && strcmp(slot->path, path) == 0)
			return slot;
	return NULL;
}

/* vacant: a free slot, made by closing the least recently used if need be */
static struct sink_slot *
vacant(struct sink *sink)
{
	struct sink_slot *slot, *lru = sink->slot;

	for (slot = sink->slot; slot < sink->slot + SINK_SLOTS; slot++) {
		if (slot->path == NULL)
			return slot;
		if (slot->used < lru->used)
			lru = slot;
	}
	forget(lru);
	return lru;
}

/* Copied, not printed: every append builds them. */
int
sink_paths(const char *dir, const char *portal, size_t n, char *path,
    char *lockpath)
{
	static const char log_suffix[] = ".jsonl", lock_suffix[] = ".lock";
	size_t d = strlen(dir);

	/* d, '/', n, the suffix and its NUL */
	if (d >= PATH_MAX || n >= PATH_MAX ||
	    d + 1 + n + sizeof(log_suffix) > PATH_MAX)
		return -1;
	memcpy(path, dir, d);
	path[d] = '/';
	memcpy(path + d + 1, portal, n);
	memcpy(path + d + 1 + n, log_suffix, sizeof(log_suffix));
	memcpy(lockpath, dir, d);
	lockpath[d] = '/';
	lockpath[d + 1] = '.';
	memcpy(lockpath + d + 2, portal, n);
	memcpy(lockpath + d + 2 + n, lock_suffix, sizeof(lock_suffix));
	return 0;
}

int
sink_append(struct sink *sink, const char *dir, const char *portal,
    const char *buf, size_t len, int sync, struct err *err)
{
	char path[PATH_MAX], lockpath[PATH_MAX];
	struct sink_slot *slot, fresh;
	size_t n;

	if (portal == NULL ||
	    !allowlist_valid_member_id(
	        portal, n = strnlen(portal, LIMIT_MEMBER_ID + 1)))
		return err_set(err, ERR_CONFIG, "invalid portal name");
	if (sink_paths(dir, portal, n, path, lockpath) == -1)
		return err_set(err, ERR_CONFIG, "log path too long");
	/* renamed away, deleted, replaced, chmod'ed: open the name again */
	if ((slot = kept(sink, path)) != NULL && !current(slot)) {
		forget(slot);
		slot = NULL;
	}
	if (slot == NULL) {
		if (open_slot(path, lockpath, &fresh, err) == -1)
			return -1;
		if ((fresh.path = strdup(path)) != NULL) {
			slot = vacant(sink);
			*slot = fresh;
		} else
			slot = &fresh; /* no memory to keep it: closed below */
	}
	slot->used = ++sink->clock;
	if (append(slot, dir, lockpath, buf, len, sync, err) == -1) {
		/* closing drops the lock; the next append starts clean */
		forget(slot);
		return -1;
	}
	/* the data is in (and synced if asked): let the next writer in */
	if (slot == &fresh || flock(slot->lockfd, LOCK_UN) == -1)
		forget(slot);
	return 0;
}

void
sink_close(struct sink *sink)
{
	struct sink_slot *slot;

	for (slot = sink->slot; slot < sink->slot + SINK_SLOTS; slot++)
		if (slot->path != NULL)
			forget(slot);
}
