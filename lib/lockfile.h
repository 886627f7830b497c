/*
 * Waiting for a flock(2), bounded: the responder's appends to a portal's
 * log (sink.h) and b24hookctl's edits (the allow-list, the enrollment
 * spool) take turns through a lock file beside what it guards, and none
 * waits forever behind a stuck one.
 */
#ifndef LOCKFILE_H
#define LOCKFILE_H

#include "errcode.h"

/*
 * lockfile_deadline: the moment ms milliseconds from now on the
 * monotonic clock (CLOCK_MONOTONIC), in nanoseconds: a deadline for
 * lockfile_wait.
 */
long long lockfile_deadline(long long ms);

/*
 * lockfile_wait: take flock(LOCK_EX) on fd: tried with LOCK_NB, and
 * tried again after a nap that grows from 1 ms to 20 ms (never past
 * deadline) until the monotonic clock reaches deadline
 * (lockfile_deadline).  When stop is not NULL it is asked after every
 * try that found the lock held: non-zero ends the wait at once.  An
 * uncontended lock is taken whatever the deadline and stop say.  Returns
 * 0 with the lock held, or -1 with errno ETIMEDOUT (past deadline),
 * ECANCELED (stop said so) or flock's own (neither EWOULDBLOCK nor
 * EINTR, which are tried again).
 */
int lockfile_wait(int fd, long long deadline, int (*stop)(void));

/*
 * lockfile_take: b24hookctl's edit lock: open path (created 0600 if
 * absent; read-only, so that closing it is no change a watcher of its
 * directory sees) and take flock(LOCK_EX) on it (lockfile_wait, for at
 * most LIMIT_EDIT_LOCK_WAIT_MS).  On success returns 0 and *fd holds the
 * lock until closed.  Returns -1 with ERR_STORAGE_UNAVAILABLE: "<what>
 * lock open errno=E...", "<what> flock errno=E..." or "<what> locked by
 * another edit for N ms".
 */
int lockfile_take(const char *path, const char *what, int *fd,
    struct err *err);

#endif
