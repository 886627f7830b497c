/*
 * The per-portal log sink: DIR/MEMBER_ID.jsonl, one JSON record per line.
 * Modelled on OpenBSD httpd's logger.c: the path is built from a
 * validated name only, opened O_WRONLY|O_APPEND|O_CREAT for every append
 * (so logrotate's "create" needs no signal), one write per batch.
 */
#ifndef SINK_H
#define SINK_H

#include <stddef.h>

#include "err.h"

/* mode of a log file the sink creates (less the process umask) */
#define SINK_MODE 0640

/*
 * sink_append: append len bytes of buf (whole records, each ending in
 * '\n') to dir/portal.jsonl, creating the file with SINK_MODE if absent.
 *
 * portal must match [A-Za-z0-9_-]{1,LIMIT_MEMBER_ID} (it comes from the
 * allow-list, never from the request); anything else is refused with
 * ERR_CONFIG before any file is touched.
 *
 * The append holds flock(LOCK_EX) from before the write until after it,
 * retries short writes and EINTR, and, when it fails part way, cuts the
 * file back to its size before the append so no partial line remains.
 * A log that does not end in '\n' (its writer was killed inside write(),
 * which Linux may stop part way) is first cut back to its last whole
 * line, when the file can be read.
 * With sync non-zero it calls fdatasync before returning 0; a failing
 * fdatasync also cuts the file back and fails.
 *
 * Returns 0 when all len bytes are in the file, or -1 with
 * ERR_STORAGE_UNAVAILABLE and the failed call and errno in the reason
 * ("open errno=ENOENT", "write errno=ENOSPC", "not a regular file").
 */
int sink_append(const char *dir, const char *portal, const char *buf,
    size_t len, int sync, struct err *err);

#endif
