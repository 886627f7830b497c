/*
 * b24hook: the responder.  A FastCGI responder when started with a
 * listening socket on stdin (spawn-fcgi, a systemd socket), plain CGI
 * otherwise, as libfcgi's FCGX_IsCGI decides.  All logic is in lib/: this
 * file turns a request into the pipeline's calls and writes the reply.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <fcgiapp.h>
#include <fcgios.h>
#include <sodium.h>

#include "request.h"

/* One request, whichever way it came in. */
struct conn {
	FCGX_Request *fcgi; /* NULL in CGI mode */
};

/* A setting: the request's parameter first, then the environment. */
static const char *
param(const struct conn *c, const char *name)
{
	const char *v = NULL;

	if (c->fcgi != NULL)
		v = FCGX_GetParam(name, c->fcgi->envp);
	return v != NULL ? v : getenv(name);
}

/* Read up to n bytes of body; returns the count read. */
static size_t
body_read(const struct conn *c, char *buf, size_t n)
{
	size_t got = 0;
	int r, chunk;

	if (c->fcgi == NULL)
		return fread(buf, 1, n, stdin);
	while (got < n) {
		chunk = n - got > 1 << 30 ? 1 << 30 : (int)(n - got);
		if ((r = FCGX_GetStr(buf + got, chunk, c->fcgi->in)) <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/*
 * As CGI, read and drop what is left of stdin, up to LIMIT_BODY_CEILING
 * bytes: a web server that is still writing a body we refused unread
 * (Apache's mod_cgid) can otherwise lose our reply.
 */
static void
drain(const struct conn *c)
{
	char sink[65536];
	size_t total = 0, n;

	if (c->fcgi != NULL)
		return;
	while (total < LIMIT_BODY_CEILING &&
	    (n = fread(sink, 1, sizeof(sink), stdin)) > 0)
		total += n;
}

static void
put(const struct conn *c, int to_err, const char *s, size_t n)
{
	if (c->fcgi != NULL)
		FCGX_PutStr(s, (int)n, to_err ? c->fcgi->err : c->fcgi->out);
	else {
		fwrite(s, 1, n, to_err ? stderr : stdout);
		fflush(to_err ? stderr : stdout);
	}
}

/* Operator lines: the failure, and the warnings of a reloaded allow-list. */
static void
report(const struct conn *c, const struct outcome *o)
{
	char line[OPERATOR_LINE_SIZE];
	size_t i, n;

	if (o->reloaded != NULL)
		for (i = 0; i < allowlist_warnings(o->reloaded); i++) {
			n = (size_t)snprintf(line, sizeof(line),
			    "b24hook: allowlist %s\n",
			    allowlist_warning(o->reloaded, i));
			put(c, 1, line, n < sizeof(line) ? n : sizeof(line) - 1);
		}
	if (o->err.code != ERR_OK)
		put(c, 1, line, reply_operator_line(o, line, sizeof(line)));
}

static void
handle(const struct conn *c, struct responder *r)
{
	char reply[REPLY_SIZE];
	struct outcome o = { 0 };
	struct settings s;
	struct timespec now;
	enum media media;
	size_t len, got;
	char *body;

	clock_gettime(CLOCK_REALTIME, &now);
	if (settings_parse(param(c, "B24HOOK_ALLOWLIST"),
		param(c, "B24HOOK_LOG_DIR"), param(c, "B24HOOK_MAX_BODY"),
		param(c, "B24HOOK_FSYNC"), &s, &o.err) == -1 ||
	    request_check(param(c, "REQUEST_METHOD"), param(c, "CONTENT_TYPE"),
		param(c, "CONTENT_LENGTH"), &s, &media, &len, &o.err) == -1)
		goto done;
	r->body.max = len;
	if ((body = buf_reserve(&r->body, len)) == NULL) {
		err_set(&o.err, ERR_INTERNAL, "out of memory for the body");
		goto done;
	}
	if ((got = body_read(c, body, len)) != len)
		err_set(&o.err, ERR_MALFORMED_BODY,
		    "truncated body: %zu of %zu bytes", got, len);
	else
		request_process(body, len, media, &s, r, &now, &o);
	responder_recycle(&r->body);
done:
	put(c, 0, reply, reply_render(&o, reply, sizeof(reply)));
	report(c, &o);
	drain(c);
}

/*
 * Run one request with the stop signals held, so a worker told to stop
 * finishes the append in hand and answers before it goes.  r (the
 * allow-list, the open logs, the buffers) is kept from one request to
 * the next.
 */
static void
handle_whole(const struct conn *c, struct responder *r)
{
	sigset_t stop, old;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	sigprocmask(SIG_BLOCK, &stop, &old);
	handle(c, r);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
main(void)
{
	struct responder r = { 0 };
	struct conn c = { NULL };
	FCGX_Request req;

	umask(027); /* logs are created 0640 */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Past a file size limit (ulimit -f, systemd LimitFSIZE=) write()
	 * must fail with EFBIG so the sink cuts back and answers 503:
	 * SIGXFSZ's default action would kill the process part way through
	 * an append, leaving a partial line and no reply.
	 */
	signal(SIGXFSZ, SIG_IGN);
	if (sodium_init() < 0) {
		fputs("b24hook: libsodium failed to start\n", stderr);
		return 1;
	}
	if (FCGX_IsCGI()) {
		handle_whole(&c, &r);
		responder_close(&r);
		OS_LibShutdown(); /* frees what FCGX_IsCGI set up */
		return 0;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
		fputs("b24hook: FastCGI failed to start\n", stderr);
		return 1;
	}
	c.fcgi = &req;
	while (FCGX_Accept_r(&req) >= 0) {
		handle_whole(&c, &r);
		FCGX_Finish_r(&req);
	}
	responder_close(&r);
	OS_LibShutdown();
	return 0;
}
