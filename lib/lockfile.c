#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "limit.h"
#include "lockfile.h"

/* ms: from a to b */
static long long
elapsed(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

int
lockfile_take(const char *path, const char *what, int *fd, struct err *err)
{
	const struct timespec pause = { 0, 10 * 1000000 };
	struct timespec start, now;
	char call[64];

	*fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd == -1) {
		snprintf(call, sizeof(call), "%s lock open", what);
		return err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, call);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(call, sizeof(call), "%s flock", what);
			err_errno(err, ERR_STORAGE_UNAVAILABLE, errno, call);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (elapsed(&start, &now) >= LIMIT_EDIT_LOCK_WAIT_MS) {
			err_set(err, ERR_STORAGE_UNAVAILABLE,
			    "%s locked by another edit for %d ms", what,
			    LIMIT_EDIT_LOCK_WAIT_MS);
			break;
		}
		nanosleep(&pause, NULL);
	}
	close(*fd);
	*fd = -1;
	return -1;
}
