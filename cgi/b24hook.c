/*
 * b24hook: the responder.  A FastCGI responder when started with a
 * listening socket on stdin (spawn-fcgi, a systemd socket), plain CGI
 * otherwise, as libfcgi's FCGX_IsCGI decides.  All logic is in lib/: this
 * file turns a request into the pipeline's calls and writes the reply.
 *
 * Settings come from the process environment, read once at start.  As
 * FastCGI, a request's parameters give only the CGI variables
 * (REQUEST_METHOD, CONTENT_TYPE, CONTENT_LENGTH), never a setting, and
 * those never fall back to the environment.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <malloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <fcgios.h>
#include <jansson.h>
#include <sodium.h>

#include "counters.h"
#include "request.h"

/* One request, whichever way it came in. */
struct conn {
	FCGX_Request *fcgi; /* NULL in CGI mode */
};

/* The signals that stop a worker once the request in hand is answered. */
static const int stop_signals[] = SINK_STOP_SIGNALS;

/* The FastCGI listening socket (spawn-fcgi and systemd give it as 0). */
#define LISTEN_FD 0

/* Set by on_stop; read between requests. */
static volatile sig_atomic_t stopping;

/*
 * The shared counters (B24HOOK_STATE_DIR): mapped once by a persistent
 * responder, for its one request by a CGI process; why they are off.
 */
static struct counters counters;
static struct err counters_err;
/* Set while counting: a SIGBUS then comes from the counters' mapping. */
static volatile sig_atomic_t counting;
static sigjmp_buf counting_jmp;

/*
 * A stop signal: no new request is taken.  It is blocked from the end of
 * FCGX_Accept_r until the reply is sent, so it lands while the worker
 * waits for a connection or reads one's parameters.  Closing the
 * listening socket makes the waiting accept, restarted, fail at once;
 * a connection already accepted is read to its end (SA_RESTART) and
 * served before the loop sees the flag.
 */
static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
	close(LISTEN_FD);
}

/*
 * A page of the counters file that is no longer there (someone cut the
 * file short while it was mapped) faults with SIGBUS: the count is
 * dropped, never the reply.  Any other SIGBUS is fatal as before.
 */
static void
on_sigbus(int sig)
{
	if (counting) {
		counting = 0;
		siglongjmp(counting_jmp, 1);
	}
	signal(sig, SIG_DFL); /* the faulting access, run again, ends us */
}

static int
sigbus_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	/* not blocked in the handler: siglongjmp leaves the mask as is */
	sa.sa_flags = SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL);
}

static int
stop_handlers(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (sigaction(stop_signals[i], &sa, NULL) == -1)
			return -1;
	return 0;
}

/* Block (how SIG_BLOCK) or restore (SIG_SETMASK, old) the stop signals. */
static int
stop_mask(int how, sigset_t *old)
{
	sigset_t stop;
	size_t i;

	if (how == SIG_SETMASK)
		return sigprocmask(SIG_SETMASK, old, NULL);
	sigemptyset(&stop);
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&stop, stop_signals[i]);
	return sigprocmask(SIG_BLOCK, &stop, old);
}

/* A CGI variable of the request; NULL when the request has none. */
static const char *
cgi_var(const struct conn *c, const char *name)
{
	if (c->fcgi != NULL)
		return FCGX_GetParam(name, c->fcgi->envp);
	return getenv(name);
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
	sodium_memzero(sink, sizeof(sink));
}

/*
 * Write n bytes of s to the reply (or, to_err, the operator's stream).
 * A failure means the server is gone: there is nobody left to tell, and
 * the request's outcome on disk stands either way.
 */
static int
put(const struct conn *c, int to_err, const char *s, size_t n)
{
	FILE *f = to_err ? stderr : stdout;

	if (c->fcgi != NULL)
		return FCGX_PutStr(s, (int)n,
			   to_err ? c->fcgi->err : c->fcgi->out) == (int)n
		    ? 0
		    : -1;
	return fwrite(s, 1, n, f) == n && fflush(f) == 0 ? 0 : -1;
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
			if (put(c, 1, line,
				n < sizeof(line) ? n : sizeof(line) - 1) == -1)
				return;
		}
	if (o->err.code != ERR_OK)
		put(c, 1, line, reply_operator_line(o, line, sizeof(line)));
}

/*
 * Count the request's outcome (counters.h), its reply decided and written.
 * The reply stands whatever happens to the file: why counting is off is
 * told once per process, after the request's own operator lines.
 */
static void
count(const struct conn *c, const char *dir, const struct outcome *o,
    const struct timespec *now)
{
	static int warned;
	char line[OPERATOR_LINE_SIZE];
	int n;

	if (dir == NULL)
		return;
	if (sigsetjmp(counting_jmp, 0) != 0) {
		counters_close(&counters); /* mapped again within a second */
		err_set(&counters_err, ERR_CONFIG,
		    "counters file cut short while mapped");
	} else {
		counting = 1;
		if (counters_refresh(
		        &counters, dir, now->tv_sec, &counters_err) == 0)
			counters_record(&counters, o, now);
		counting = 0;
		if (counters.map != NULL)
			return;
	}
	if (warned)
		return;
	warned = 1;
	n = snprintf(line, sizeof(line), "b24hook: counters off: %s\n",
	    counters_err.reason);
	if (n > 0)
		put(c, 1, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* settings_lookup over the process environment */
static const char *
env(const char *name)
{
	return getenv(name);
}

/* The service's settings, or why there are none. */
struct service {
	struct settings settings;
	struct err err; /* ERR_OK when settings holds them */
};

/*
 * jansson's memory comes from the responder's arena (arena.h): freeing a
 * block only counts it, and the whole arena is wiped and emptied after
 * each request (handle), so the tokens its strings held do not outlive
 * the request.  jansson's hooks take no context: the one arena is here.
 * A CGI process uses it too, for its one request: the same code path as
 * a FastCGI worker, and the count of blocks not freed checked there too.
 */
static struct arena *json_arena;

static void *
json_arena_alloc(size_t n)
{
	return arena_alloc(json_arena, n);
}

static void
json_arena_free(void *p)
{
	arena_free(json_arena, p);
}

/*
 * The request is done with jansson: its memory is wiped, and the blocks
 * it never freed (a reference leaked) are told to the operator.
 */
static void
json_arena_done(const struct conn *c, struct responder *r)
{
	char line[OPERATOR_LINE_SIZE];
	size_t leaked;
	int n;

	if ((leaked = arena_reset(&r->arena)) == 0)
		return;
	n = snprintf(line, sizeof(line),
	    "b24hook: arena: %zu blocks not freed\n", leaked);
	if (n > 0)
		put(c, 1, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void
handle(const struct conn *c, const struct service *svc, struct responder *r)
{
	char reply[REPLY_SIZE];
	struct outcome o = { 0 };
	struct timespec now = {0};
	enum media media;
	size_t len = 0, got;
	char *body = NULL;

	if (clock_gettime(CLOCK_REALTIME, &now) == -1) {
		err_set(&o.err, ERR_INTERNAL, "clock_gettime failed");
		goto done;
	}
	if (svc->err.code != ERR_OK) {
		o.err = svc->err;
		goto done;
	}
	if (request_check(cgi_var(c, "REQUEST_METHOD"),
		cgi_var(c, "CONTENT_TYPE"), cgi_var(c, "CONTENT_LENGTH"),
		&svc->settings, &media, &len, &o.err) == -1)
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
		request_process(body, len, media, &svc->settings, r, &now, &o);
	/* the body holds the tokens: none stays in memory after the request */
	sodium_memzero(body, got);
	responder_recycle(&r->body);
done:
	put(c, 0, reply, reply_render(&o, reply, sizeof(reply)));
	report(c, &o);
	count(c, svc->err.code == ERR_OK ? svc->settings.state_dir : NULL, &o,
	    &now);
	json_arena_done(c, r);
	drain(c);
}

/*
 * What outlives a request must not hold its secrets, and a core must not
 * show them: jansson's memory is r's arena, wiped after each request
 * (json_arena_done), glibc wipes the larger chunks it frees (libfcgi's
 * stream buffers, which carry the raw body), and the process cannot be
 * dumped.  M_PERTURB is glibc's: a sanitizer's allocator refuses it and
 * keeps its own policy.
 */
static int
guard_memory(struct responder *r)
{
	json_arena = &r->arena;
	json_set_alloc_funcs(json_arena_alloc, json_arena_free);
	mallopt(M_PERTURB, 0xa5);
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
main(void)
{
	struct responder r = { 0 };
	struct service svc = { 0 };
	struct conn c = { NULL };
	FCGX_Request req;
	struct timespec start;
	sigset_t old;

	umask(027); /* logs are created 0640 */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Past a file size limit (ulimit -f, systemd LimitFSIZE=) write()
	 * must fail with EFBIG so the sink cuts back and answers 503:
	 * SIGXFSZ's default action would kill the process part way through
	 * an append, leaving a partial line and no reply.
	 */
	signal(SIGXFSZ, SIG_IGN);
	if (sodium_init() < 0 || guard_memory(&r) == -1) {
		fputs("b24hook: libsodium or the memory guard failed\n",
		    stderr);
		return 1;
	}
	settings_read(env, &svc.settings, &svc.err);
	if (svc.err.code == ERR_OK && svc.settings.state_dir != NULL &&
	    sigbus_handler() == -1) {
		fputs("b24hook: SIGBUS handler failed\n", stderr);
		return 1;
	}
	if (FCGX_IsCGI()) {
		if (stop_mask(SIG_BLOCK, &old) == -1)
			return 1;
		handle(&c, &svc, &r);
		responder_close(&r);
		counters_close(&counters);
		OS_LibShutdown(); /* frees what FCGX_IsCGI set up */
		return 0;
	}
	/* libfcgi installs its own SIGTERM/SIGUSR1 handlers: ours replace them */
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, LISTEN_FD, 0) != 0 ||
	    stop_handlers() == -1) {
		fputs("b24hook: FastCGI failed to start\n", stderr);
		return 1;
	}
	c.fcgi = &req;
	/* the counters are mapped once, here; count() says why if not */
	if (svc.err.code == ERR_OK && svc.settings.state_dir != NULL &&
	    clock_gettime(CLOCK_REALTIME, &start) == 0)
		counters_refresh(&counters, svc.settings.state_dir,
		    start.tv_sec, &counters_err);
	/*
	 * The stop signals are blocked from the moment a request is
	 * accepted until its reply is sent, so a stop lets the request in
	 * hand finish; one that came meanwhile is taken when the mask is
	 * restored, and the loop ends.
	 */
	while (!stopping) {
		if (FCGX_Accept_r(&req) < 0 || stop_mask(SIG_BLOCK, &old) == -1)
			break;
		handle(&c, &svc, &r);
		FCGX_Finish_r(&req);
		if (stop_mask(SIG_SETMASK, &old) == -1)
			break;
	}
	responder_close(&r);
	counters_close(&counters);
	OS_LibShutdown();
	return 0;
}
