#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fileio.h"

int
fileio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fileio_sync_dir(const char *dir, const char **failed)
{
	int fd, e;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (failed != NULL)
			*failed = "dir open";
		return -1;
	}
	if (fsync(fd) == -1) {
		e = errno;
		close(fd);
		errno = e;
		if (failed != NULL)
			*failed = "dir fsync";
		return -1;
	}
	close(fd);
	return 0;
}
