/*
 * The small file calls every writer of the tree needs: a write that
 * finishes what it starts, and the fsync of a directory that makes a
 * name durable.
 */
#ifndef FILEIO_H
#define FILEIO_H

#include <stddef.h>

/*
 * fileio_write_all: write len bytes of buf to fd, retrying short writes
 * and EINTR.  Returns 0 when all are written, or -1 with errno set by the
 * write(2) that failed (some bytes may be written then).
 */
int fileio_write_all(int fd, const void *buf, size_t len);

/*
 * fileio_sync_dir: fsync the directory dir, opened
 * O_RDONLY|O_DIRECTORY|O_CLOEXEC and closed again: fsync makes a file's
 * data durable, not its name, so a file created or renamed since the last
 * crash needs its directory synced too.  Returns 0, or -1 with errno set
 * by the failed call, which *failed (unless failed is NULL) names: "dir
 * open" or "dir fsync".
 */
int fileio_sync_dir(const char *dir, const char **failed);

#endif
