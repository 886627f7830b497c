/*
 * A lock file beside what it guards, for b24hookctl's edits (the
 * allow-list, the enrollment spool): flock on it, waited for at most
 * LIMIT_EDIT_LOCK_WAIT_MS, so that two edits never lose each other and none
 * waits forever behind a stuck one.
 */
#ifndef LOCKFILE_H
#define LOCKFILE_H

#include "errcode.h"

/*
 * lockfile_take: open path (created 0600 if absent; read-only, so that
 * closing it is no change a watcher of its directory sees) and take
 * flock(LOCK_EX) on it, retrying every 10 ms until LIMIT_EDIT_LOCK_WAIT_MS
 * have passed on the monotonic clock.  On success returns 0 and *fd
 * holds the lock until closed.  Returns -1 with ERR_STORAGE_UNAVAILABLE:
 * "<what> lock open errno=E...", "<what> flock errno=E..." or "<what>
 * locked by another edit for N ms".
 */
int lockfile_take(const char *path, const char *what, int *fd,
    struct err *err);

#endif
