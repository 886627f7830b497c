/*
 * The per-portal log sink: DIR/MEMBER_ID.jsonl, one JSON record per line.
 * Modelled on OpenBSD httpd's logger.c: the path is built from a
 * validated name only, one write per batch.  A struct sink, owned by the
 * caller, keeps each log's descriptor open between appends (at most
 * SINK_SLOTS of them); before each append the path is looked up by name
 * again, and a log renamed away (logrotate), deleted or replaced is
 * closed and the name opened afresh, so rotation needs no signal.
 */
#ifndef SINK_H
#define SINK_H

#include <sys/stat.h>

#include <stddef.h>

#include "errcode.h"

/* mode of a log file the sink creates (less the process umask) */
#define SINK_MODE 0640

/* logs a struct sink keeps open; past it, the least recently used is closed */
#define SINK_SLOTS 64

/* One kept log.  Private to sink.c: read only by tests. */
struct sink_slot {
	char *path;   /* owned, "dir/portal.jsonl"; NULL: the slot is free */
	int fd;       /* O_APPEND|O_CLOEXEC; O_RDWR, or O_WRONLY if !readable */
	int readable; /* 0: a log the process may only write (not healed) */
	/* fd's file as opened: when the name's lstat differs in device,
	 * inode, mode or owner, fd is closed and the name opened again */
	struct stat st;
	unsigned long long used; /* sink's clock at the slot's last append */
};

/*
 * The open logs of one process, owned by the caller.  Zero-initialise
 * before use (struct sink s = { 0 }); release with sink_close.  Not to
 * be shared between processes: flock() locks belong to the open file,
 * which fork() shares, so a child that appends first calls sink_close on
 * its copy (closing its copies of the descriptors only) and starts
 * afresh.  Not for concurrent use by threads.
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
 * O_APPEND|O_CREAT|O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK, O_RDWR (O_WRONLY when
 * only writing is allowed), a regular file only.  Opening one more log
 * when SINK_SLOTS are kept closes the least recently used one first.
 *
 * The append holds flock(LOCK_EX) from before the write until after it
 * (released with LOCK_UN, the descriptor staying open), retries short
 * writes and EINTR, and, when it fails part way, cuts the file back to
 * its size before the append so no partial line remains.
 * A log that does not end in '\n' (its writer was killed inside write(),
 * which Linux may stop part way) is first cut back to its last whole
 * line, when the file can be read.
 * With sync non-zero it calls fdatasync before returning 0; a failing
 * fdatasync also cuts the file back and fails.
 *
 * Returns 0 when all len bytes are in the file, or -1 with
 * ERR_STORAGE_UNAVAILABLE and the failed call and errno in the reason
 * ("open errno=ENOENT", "write errno=ENOSPC", "not a regular file"); on
 * any such failure the log's descriptor is closed and forgotten, so the
 * next append opens the name afresh.
 */
int sink_append(struct sink *sink, const char *dir, const char *portal,
    const char *buf, size_t len, int sync, struct err *err);

/* sink_close: close every kept log and free sink's memory; it stays usable. */
void sink_close(struct sink *sink);

#endif
