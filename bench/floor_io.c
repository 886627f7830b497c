/*
 * The benchmark's I/O floor: the floor (floor.c) plus the system calls
 * b24hook makes for a request it accepts, and no decoding.  What it costs
 * is the least this job can cost behind nginx: no responder can answer
 * 200 for a record without checking the allow-list and appending under
 * the log's lock first.  Per request, in b24hook's order (strace of a
 * worker):
 *
 *	rt_sigprocmask	block the stop signals (cgi/b24hook.c)
 *	stat		the allow-list, as its cache checks it
 *	lstat		the log: does its name still name the kept file
 *	flock		LOCK_EX|LOCK_NB on the lock file DIR/.MEMBER.lock
 *	lstat		the lock file: is it still the one locked
 *	fstat		the log's size under the lock (where its last
 *			append left it: no read of the tail, sink.h)
 *	write		every record of the request, in one write
 *	flock		LOCK_UN
 *	rt_sigprocmask	the mask restored once the reply is sent
 *
 * Without decoding it cannot tell a body's portal, how many records
 * b24hook makes of it or whether b24hook refuses it, so it is told per
 * body length, by arguments LENGTH:MEMBER:RECORDS:BYTES (bench/run.sh
 * takes them from what b24hook writes for each body).  A body of LENGTH
 * bytes gets RECORDS lines of filler, BYTES in all, appended to
 * DIR/MEMBER.jsonl, and {"status":"ok","records":RECORDS}; a body of
 * another length gets a 500 and no I/O.  A body b24hook refuses that is
 * as long as one it accepts is appended like that one: it is not refused.
 *
 * B24HOOK_ALLOWLIST and B24HOOK_LOG_DIR, b24hook's settings, name the
 * files.  Each log and its lock file stay open between requests and are
 * opened again when their name no longer names them (the bench deletes
 * the logs after every run), as b24hook's sink does.  A held lock is
 * waited for in flock(), the cheapest wait (b24hook naps between tries,
 * to bound its wait).  Started by spawn-fcgi like b24hook.
 */
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

#include <fcgiapp.h>

#include "sink.h"

/* bytes read from the body at a time */
#define CHUNK 16384

/* arguments (distinct body lengths) at most */
#define MAXBODIES 16

#define HEAD "Content-Type: application/json\r\n\r\n"

/* What b24hook writes for a body of one length, and where */
struct body {
	long long length;
	char path[PATH_MAX];     /* DIR/MEMBER.jsonl */
	char lockpath[PATH_MAX]; /* DIR/.MEMBER.lock */
	char *records;           /* the lines, filler ending in '\n' */
	size_t bytes;
	char reply[128];
	int replylen;
	int fd, lockfd; /* -1 until opened */
	struct stat st, lockst;
};

static struct body bodies[MAXBODIES];
static int nbodies;

/* b24hook's stop signals, blocked while a request is in hand as it does */
static const int stop_signals[] = SINK_STOP_SIGNALS;

static const char internal[] =
    "Status: 500 Internal Server Error\r\n" HEAD
    "{\"status\":\"error\",\"error\":\"internal\"}\n";
static const char unavailable[] =
    "Status: 503 Service Unavailable\r\n" HEAD
    "{\"status\":\"error\",\"error\":\"storage_unavailable\"}\n";

/* same: whether a and b are one file */
static int
same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* arg: one LENGTH:MEMBER:RECORDS:BYTES into bodies[nbodies] */
static int
arg(const char *s, const char *dir)
{
	struct body *b = &bodies[nbodies];
	char member[33];
	size_t i, line;
	int records, end = 0, n;

	if (nbodies == MAXBODIES ||
	    sscanf(s, "%lld:%32[0-9a-f]:%d:%zu%n", &b->length, member, &records,
	        &b->bytes, &end) != 4 ||
	    s[end] != '\0' || records < 1 || b->bytes / (size_t)records < 2)
		return -1;
	for (i = 0; i < (size_t)nbodies; i++)
		if (bodies[i].length == b->length)
			return -1; /* two bodies it could not tell apart */
	n = snprintf(b->path, sizeof(b->path), "%s/%s.jsonl", dir, member);
	if (n < 0 || (size_t)n >= sizeof(b->path))
		return -1;
	n = snprintf(
	    b->lockpath, sizeof(b->lockpath), "%s/.%s.lock", dir, member);
	if (n < 0 || (size_t)n >= sizeof(b->lockpath))
		return -1;
	if ((b->records = malloc(b->bytes)) == NULL)
		return -1;
	memset(b->records, 'x', b->bytes);
	/* RECORDS lines, the last one taking what the division leaves */
	line = b->bytes / (size_t)records;
	for (i = 1; i < (size_t)records; i++)
		b->records[i * line - 1] = '\n';
	b->records[b->bytes - 1] = '\n';
	b->replylen = snprintf(b->reply, sizeof(b->reply),
	    "Status: 200 OK\r\n" HEAD "{\"status\":\"ok\",\"records\":%d}\n",
	    records);
	b->fd = b->lockfd = -1;
	nbodies++;
	return 0;
}

static struct body *
lookup(const char *length)
{
	long long n;
	char *end;
	int i;

	if (length == NULL)
		return NULL;
	n = strtoll(length, &end, 10);
	if (end == length || *end != '\0')
		return NULL;
	for (i = 0; i < nbodies; i++)
		if (bodies[i].length == n)
			return &bodies[i];
	return NULL;
}

static int
open_lock(struct body *b)
{
	b->lockfd = open(b->lockpath,
	    O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
	    SINK_LOCK_MODE);
	if (b->lockfd == -1)
		return -1;
	return fstat(b->lockfd, &b->lockst);
}

static void
forget(struct body *b)
{
	if (b->fd != -1)
		close(b->fd);
	if (b->lockfd != -1)
		close(b->lockfd);
	b->fd = b->lockfd = -1;
}

/* append: b's records to its log, under its lock; -1 on failure */
static int
append(struct body *b)
{
	struct stat st;

	if (b->fd != -1 && (lstat(b->path, &st) == -1 || !same(&st, &b->st)))
		forget(b);
	if (b->fd == -1) {
		b->fd = open(b->path,
		    O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
		        O_NONBLOCK,
		    SINK_MODE);
		if (b->fd == -1 || fstat(b->fd, &b->st) == -1 ||
		    open_lock(b) == -1)
			goto fail;
	}
	for (;;) {
		if (flock(b->lockfd, LOCK_EX | LOCK_NB) == -1 &&
		    (errno != EWOULDBLOCK || flock(b->lockfd, LOCK_EX) == -1))
			goto fail;
		if (lstat(b->lockpath, &st) == 0 && same(&st, &b->lockst))
			break;
		close(b->lockfd);
		if (open_lock(b) == -1)
			goto fail;
	}
	if (fstat(b->fd, &st) == -1 ||
	    write(b->fd, b->records, b->bytes) != (ssize_t)b->bytes ||
	    flock(b->lockfd, LOCK_UN) == -1)
		goto fail;
	return 0;
fail:
	forget(b);
	return -1;
}

int
main(int argc, char *argv[])
{
	const char *allowlist = getenv("B24HOOK_ALLOWLIST");
	const char *dir = getenv("B24HOOK_LOG_DIR");
	FCGX_Request req;
	struct body *b;
	struct stat st;
	sigset_t stop, old;
	char buf[CHUNK];
	size_t i;
	int a;

	if (allowlist == NULL || dir == NULL) {
		fputs("floor_io: B24HOOK_ALLOWLIST and B24HOOK_LOG_DIR "
		      "are needed\n",
		    stderr);
		return 1;
	}
	for (a = 1; a < argc; a++)
		if (arg(argv[a], dir) == -1) {
			fprintf(stderr,
			    "floor_io: bad or repeated body "
			    "(LENGTH:MEMBER:RECORDS:BYTES): %s\n",
			    argv[a]);
			return 1;
		}
	umask(027); /* as b24hook: logs are created 0640 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&stop, stop_signals[i]);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		if (sigprocmask(SIG_BLOCK, &stop, &old) == -1)
			break;
		while (FCGX_GetStr(buf, sizeof(buf), req.in) > 0)
			;
		b = lookup(FCGX_GetParam("CONTENT_LENGTH", req.envp));
		if (b == NULL)
			FCGX_PutStr(internal, sizeof(internal) - 1, req.out);
		else if (stat(allowlist, &st) == -1 || append(b) == -1)
			FCGX_PutStr(
			    unavailable, sizeof(unavailable) - 1, req.out);
		else
			FCGX_PutStr(b->reply, b->replylen, req.out);
		FCGX_Finish_r(&req);
		if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
			break;
	}
	return 0;
}
