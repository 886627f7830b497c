/*
 * The per-portal log sink: DIR/MEMBER_ID.jsonl, one JSON record per line.
 * Modelled on OpenBSD httpd's logger.c: the path is built from a
 * validated name only, one write per batch.  A struct sink, owned by the
 * caller, keeps each log's descriptor open between appends (at most
 * SINK_SLOTS of them); before each append the path is looked up by name
 * again, and a log renamed away (logrotate), deleted or replaced is
 * closed and the name opened afresh, so rotation needs no signal.
 * Appends to one log take turns through a lock file of its own,
 * DIR/.MEMBER_ID.lock, that only the responder's user can open: a
 * reader of the log (group adm) cannot hold up an append.
 */
#ifndef SINK_H
#define SINK_H

#include <sys/stat.h>

#include <signal.h>
#include <stddef.h>

#include "errcode.h"

/*
 * The signals that tell a responder to stop (cgi/b24hook.c finishes the
 * request in hand, then exits); a lock wait ends when one is pending.
 */
#define SINK_STOP_SIGNALS { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 }

/* mode of a log file the sink creates (less the process umask) */
#define SINK_MODE 0640

/* mode of a lock file the sink creates: the responder's user alone */
#define SINK_LOCK_MODE 0600

/*
 * logs a struct sink keeps open, each with its lock file (two
 * descriptors); past it, the least recently used is closed
 */
#define SINK_SLOTS 64

/* One kept log.  Private to sink.c: read only by tests. */
struct sink_slot {
	char *path;   /* owned, "dir/portal.jsonl"; NULL: the slot is free */
	int fd;       /* O_APPEND|O_CLOEXEC; O_RDWR, or O_WRONLY if !readable */
	int readable; /* 0: a log the process may only write (not healed) */
	/* fd's file as opened: when the name's lstat differs in device,
	 * inode, mode or owner, fd is closed and the name opened again */
	struct stat st;
	int unsynced; /* 1: created by this slot's open, dir not yet synced */
	/* the log's size after this slot's last append, whose bytes ended
	 * in '\n'; -1 when unknown (none yet, or they did not end so) */
	off_t end;
	/* "dir/.portal.lock", O_RDONLY|O_CLOEXEC, what flock() takes; -1
	 * while none is open.  lockdev and lockino name its file, checked
	 * against the name once locked. */
	int lockfd;
	dev_t lockdev;
	ino_t lockino;
	unsigned long long used; /* sink's clock at the slot's last append */
};

/*
 * The open logs (and their lock files) of one process, owned by the
 * caller.  Zero-initialise before use (struct sink s = { 0 }); release
 * with sink_close.  Not to be shared between processes: flock() locks
 * belong to the open file, which fork() shares, so a child that appends
 * first calls sink_close on its copy (closing its copies of the
 * descriptors only) and starts afresh.  Not for concurrent use by
 * threads.
 */
struct sink {
	struct sink_slot slot[SINK_SLOTS];
	unsigned long long clock; /* appends so far: the slots' LRU order */
};

/*
 * sink_append: append len bytes of buf (whole records, each ending in
 * '\n') to dir/portal.jsonl, creating the file with SINK_MODE if absent.
 *
 * portal must match [A-Za-z0-9_-]{1,LIMIT_MEMBER_ID} (it comes from the
 * allow-list, never from the request); anything else is refused with
 * ERR_CONFIG before any file is touched.
 *
 * The log's descriptor is kept in sink for the next append.  Before each
 * append the path is lstat()ed (symlinks are not followed): when the name
 * is gone, names another file (logrotate renamed the log away, someone
 * deleted or replaced it) or its mode or owner changed, the kept
 * descriptor is closed and the name opened as when nothing was kept:
 * O_APPEND|O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK, O_RDWR (O_WRONLY when only
 * writing is allowed), a regular file only; when absent, created with
 * O_CREAT|O_EXCL added (and opened as it is, should another process
 * make it first), so the sink knows it made the log.  Opening one more
 * log when SINK_SLOTS are kept closes the least recently used one first.
 *
 * Appends to the log take turns through its lock file, dir/.portal.lock,
 * never through the log itself, which its readers may flock() too.  The
 * lock file is opened with the log and kept beside it (closed with it):
 * O_RDONLY|O_CREAT|O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK, created
 * SINK_LOCK_MODE; it must be a regular file owned by the process's
 * effective user (any user, for root) with no group or other
 * permission, or the append fails
 * ("lock not a regular file", "lock not private") since anyone else who
 * could open it could stop every append.  The lock is flock(LOCK_EX),
 * tried with LOCK_NB and tried again after a nap that grows from 1 ms to
 * 20 ms, for at most LIMIT_LOCK_WAIT_MS (CLOCK_MONOTONIC); past it the
 * append fails with the reason "lock timeout".  While it waits, a
 * pending SIGTERM, SIGINT, SIGHUP, SIGQUIT or SIGUSR1 ends the wait at
 * once with the reason "lock wait stopped": only a signal the caller
 * holds blocked stays pending, so this is for a caller that blocks the
 * signals that tell it to stop while it serves a request.  An
 * uncontended lock is taken whatever is pending.  Once locked, a lock
 * file deleted or replaced meanwhile is opened again by name and locked
 * in its turn, as every other append locks the file at the name.
 *
 * The append holds the lock from before the write until after it
 * (released with LOCK_UN, the descriptors staying open), retries short
 * writes and EINTR, and, when it fails part way, cuts the file back to
 * its size before the append so no partial line remains.
 * A log that does not end in '\n' (its writer was killed inside write(),
 * which Linux may stop part way) is first cut back to its last whole
 * line, when the file can be read.  Its last byte is read unless the
 * log's size under the lock is where this sink's last append to it left
 * it, that append's bytes ending in '\n': another writer's append, torn
 * or not, only adds past that point and a cut goes back no further, so
 * the log is there without that '\n' at its end only after a truncation
 * below it and as many bytes written again, or a write in place, which
 * no writer of b24hook's does (logrotate renames, docs/limits.md).
 * With sync non-zero it calls fdatasync before returning 0; a failing
 * fdatasync also cuts the file back and fails.  Then, still with sync
 * and under the lock, when the log's name may not be durable yet (the
 * sink created the log and has not synced its directory since, or the
 * log was empty before this append, as a creating append that failed
 * leaves it) it fsyncs dir, opened O_RDONLY|O_DIRECTORY|O_CLOEXEC; a
 * failure there ("dir open errno=E", "dir fsync errno=E") also cuts the
 * file back and fails.  So a log that a process created without sync,
 * and that later synced appends find not empty, never has its directory
 * synced by the sink: sync is meant to be the same for every append.
 * The lock file's name is never synced: a crash that loses it loses
 * nothing, as the next append makes it again.
 *
 * Returns 0 when all len bytes are in the file, or -1 with
 * ERR_STORAGE_UNAVAILABLE and the failed call and errno in the reason
 * ("open errno=ENOENT", "lock open errno=EACCES", "write errno=ENOSPC",
 * "not a regular file", "lock timeout"); the log is opened before its
 * lock file, so a log that cannot be opened is the reason given.  On any
 * such failure the log's and the lock file's descriptors are closed and
 * forgotten, so the next append opens both names afresh.
 */
int sink_append(struct sink *sink, const char *dir, const char *portal,
    const char *buf, size_t len, int sync, struct err *err);

/*
 * sink_paths: a portal's log "dir/portal.jsonl" into path and its lock
 * file "dir/.portal.lock" into lockpath, PATH_MAX bytes each; portal is
 * n bytes, not checked here.  Both are as long (".NAME.lock" against
 * "NAME.jsonl").  Returns 0, or -1 when they do not fit.
 */
int sink_paths(const char *dir, const char *portal, size_t n, char *path,
    char *lockpath);

/*
 * sink_close: close every kept log and lock file and free sink's memory;
 * it stays usable.
 */
void sink_close(struct sink *sink);

#endif
