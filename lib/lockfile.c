#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "limit.h"
#include "lockfile.h"

/*
 * ns: the first nap between tries of a held lock, and the longest; short
 * at first, since a log's append holds its lock for a millisecond or so
 */
#define NAP_FIRST 1000000LL
#define NAP_MAX 20000000LL

/* now_ns: CLOCK_MONOTONIC, in nanoseconds */
static long long
now_ns(void)
{
	struct timespec ts;

	/* without a clock, every deadline has passed: no unbounded wait */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return LLONG_MAX;
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long
lockfile_deadline(long long ms)
{
	long long now = now_ns();

	return now > LLONG_MAX - ms * 1000000LL ? LLONG_MAX
						: now + ms * 1000000LL;
}

int
lockfile_wait(int fd, long long deadline, int (*stop)(void))
{
	long long left, nap = NAP_FIRST;
	struct timespec ts;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (stop != NULL && stop()) {
			errno = ECANCELED;
			return -1;
		}
		if ((left = deadline - now_ns()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (nap > left)
			nap = left;
		ts.tv_sec = nap / 1000000000LL;
		ts.tv_nsec = nap % 1000000000LL;
		nanosleep(&ts, NULL);
		if ((nap *= 2) > NAP_MAX)
			nap = NAP_MAX;
	}
}

int
lockfile_take(const char *path, const char *what, int *fd, struct err *err)
{
	char call[64];
	struct stat st;
	int e;

	/* O_NONBLOCK: a FIFO at path must not block the open */
	*fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
	    0600);
	if (*fd == -1) {
		e = errno;
		snprintf(call, sizeof(call), "%s lock open", what);
		return err_errno(err, ERR_STORAGE_UNAVAILABLE, e, call);
	}
	if (fstat(*fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(err, ERR_STORAGE_UNAVAILABLE,
		    "%s lock not a regular file", what);
		close(*fd);
		*fd = -1;
		return -1;
	}
	if (lockfile_wait(
	        *fd, lockfile_deadline(LIMIT_EDIT_LOCK_WAIT_MS), NULL) == 0)
		return 0;
	if (errno == ETIMEDOUT)
		err_set(err, ERR_STORAGE_UNAVAILABLE,
		    "%s locked by another edit for %d ms", what,
		    LIMIT_EDIT_LOCK_WAIT_MS);
	else {
		e = errno;
		snprintf(call, sizeof(call), "%s flock", what);
		err_errno(err, ERR_STORAGE_UNAVAILABLE, e, call);
	}
	close(*fd);
	*fd = -1;
	return -1;
}
