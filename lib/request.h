/*
 * The request pipeline, free of any server API: settings, the checks made
 * before the body is read, then decode -> verify -> normalise -> append,
 * and the reply.  cgi/b24hook.c feeds it from CGI or FastCGI.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stddef.h>
#include <time.h>

#include "allowlist.h"
#include "arena.h"
#include "buf.h"
#include "decode.h"
#include "errcode.h"
#include "limit.h"
#include "secrets.h"
#include "sink.h"

/*
 * The service's settings, B24HOOK_* from its own process environment:
 * never from a request, so nothing a client sends can name a file, raise
 * a limit or turn fsync off.
 */
struct settings {
	const char *allowlist; /* B24HOOK_ALLOWLIST; borrowed */
	const char *log_dir;   /* B24HOOK_LOG_DIR; borrowed */
	size_t max_body;       /* bytes: B24HOOK_MAX_BODY */
	int fsync;	       /* B24HOOK_FSYNC: fdatasync each append */
	/* enrollment (docs/enrollment.md); all borrowed */
	const char *enroll_dir; /* B24HOOK_ENROLL_DIR; NULL: enrollment off */
	const char *client_id;	/* B24HOOK_CLIENT_ID; NULL when unset */
	const char *oauth_url;	/* B24HOOK_OAUTH_URL, https://host[:port] */
	const char *oauth_ca;	/* B24HOOK_OAUTH_CA; NULL: the system's CAs */
	/* B24HOOK_STATE_DIR, the shared counters' directory (counters.h);
	 * borrowed; NULL: no counters */
	const char *state_dir;
};

/* the OAuth server of Bitrix24 cloud portals (B24HOOK_OAUTH_URL's default) */
#define SETTINGS_OAUTH_URL "https://oauth.bitrix.info"

/*
 * settings_lookup: a setting's value by name ("B24HOOK_LOG_DIR"), or NULL
 * when unset.  The programs pass getenv; the strings must outlive s.
 */
typedef const char *settings_lookup(const char *name);

/*
 * settings_read: fill s from the settings get finds.  B24HOOK_ALLOWLIST
 * and B24HOOK_LOG_DIR are required and borrowed; B24HOOK_MAX_BODY is a
 * decimal byte count 1..LIMIT_BODY_CEILING, LIMIT_BODY_DEFAULT when
 * unset; B24HOOK_FSYNC is "0" or "1", 0 when unset.
 * Enrollment: B24HOOK_ENROLL_DIR (a path; unset or empty: off),
 * B24HOOK_CLIENT_ID (1..LIMIT_CLIENT_ID bytes of printable ASCII; only
 * b24hookctl needs it), B24HOOK_OAUTH_URL ("https://" and a host, at most
 * LIMIT_URL bytes of printable ASCII without '?' or '#';
 * SETTINGS_OAUTH_URL when unset), B24HOOK_OAUTH_CA (a path, or unset).
 * B24HOOK_STATE_DIR: the shared counters' directory (counters.h), NULL
 * when unset or empty.  Returns 0, or -1 with ERR_CONFIG naming the
 * setting (never its value).
 */
int settings_read(settings_lookup *get, struct settings *s, struct err *err);

/*
 * request_check: the checks made before reading a body, in this order:
 * method must be POST (ERR_METHOD_NOT_ALLOWED), the content type form or
 * JSON (ERR_UNSUPPORTED_MEDIA_TYPE), CONTENT_LENGTH present
 * (ERR_LENGTH_REQUIRED), a decimal number (ERR_MALFORMED_BODY) not over
 * s->max_body (ERR_BODY_TOO_LARGE).  Any argument may be NULL (unset).
 * On success returns 0 with *media and *length (bytes to read) set.
 */
int request_check(const char *method, const char *content_type,
    const char *content_length, const struct settings *s,
    enum media *media, size_t *length, struct err *err);

/* What became of one request: the reply and the operator line say it. */
struct outcome {
	struct err err;
	size_t records; /* records appended, on success */
	/* from the body, when present and printable; "" otherwise */
	char member_id[LIMIT_MEMBER_ID + 1];
	char event[LIMIT_EVENT + 1];
	/* auth[domain] when present and a host name ([A-Za-z0-9.:-]) */
	char domain[LIMIT_DOMAIN + 1];
	/* the listed portal's allow-list label, filtered to printable ASCII
	 * without '"' and '\\' (others become '?'); "" when none */
	char label[LIMIT_LABEL + 1];
	/* token_mismatch: the fingerprint of the token sent, else "" */
	char token_fp[ALLOWLIST_FP_SIZE];
	/* 1 when member_id is on the allow-list (its token right or not) */
	int listed;
	/* the allow-list when this request (re)loaded it, else NULL */
	const struct allowlist *reloaded;
};

/*
 * What a responder keeps from one request to the next, owned by the
 * caller: the allow-list (allowlist_cache_get), the open logs (struct
 * sink) and two buffers whose memory is used again, so that a request
 * makes no allocation of a few KiB, which would make glibc consolidate
 * the small chunks the previous request freed (bench/README.md), and the
 * arena a front end may give jansson (json_set_alloc_funcs): the caller
 * resets it once a request is done with jansson (arena.h).
 * Zero-initialise before use (struct responder r = { 0 }); release with
 * responder_close.  Neither to be shared between threads nor used by
 * both sides of a fork (struct sink).
 */
struct responder {
	struct allowlist_cache allowlist;
	struct sink sink;
	struct buf body;    /* the caller reads the body into it */
	struct buf records; /* the request's records, before the append */
	struct arena arena; /* jansson's memory, when the caller says so */
	/* the body's tokens, out of the tree (decode_body): request_process
	 * fills them and wipes them before it returns, whatever happened */
	struct auth_secrets secrets;
};

/*
 * RESPONDER_KEEP: bytes a buffer may keep between requests; one grown
 * past it (a large body) is freed after its request, so a worker's
 * memory returns to its usual size.
 */
#define RESPONDER_KEEP (64 * 1024)

/*
 * request_process: decode body (len bytes of media), the tokens of its
 * auth in r->secrets and not in the tree (decode_body), require an event
 * and auth[member_id] + auth[application_token], verify them against the
 * allow-list (through r->allowlist, see allowlist_cache_get), normalise
 * the event into records (event.h, in r->records) and append them to the
 * portal's log in one append, through r->sink, which keeps the log open
 * for the next request (sink.h).  body may be r->body's data.  received
 * is the arrival time written to the records.  The records of len bytes
 * of body may take LIMIT_RECORDS(len) bytes.
 * Returns 0 when every record is on disk (o->records set), or -1 with
 * o->err saying why: ERR_MALFORMED_BODY, ERR_INVALID_UTF8,
 * ERR_LIMIT_EXCEEDED, ERR_NOT_AN_EVENT (no event key: a placement or
 * another non-event POST), ERR_MISSING_AUTH, ERR_FORBIDDEN (reason
 * unknown_portal or token_mismatch), ERR_CONFIG, ERR_STORAGE_UNAVAILABLE,
 * ERR_INTERNAL.  Nothing is written unless all records are.
 *
 * With s->enroll_dir set, an ONAPPINSTALL or ONAPPUPDATE refused only
 * because its portal or token is not listed, and whose auth holds a
 * well-formed claim (enroll_claim), is kept in the spool instead
 * (spool_add): returns 0 with o->err ERR_ENROLLMENT_PENDING and
 * o->domain set, and no log is written; a full spool or one that cannot
 * be written is ERR_STORAGE_UNAVAILABLE, a claim over LIMIT_SPOOL_ENTRY
 * bytes ERR_LIMIT_EXCEEDED.
 */
int request_process(const char *body, size_t len, enum media media,
    const struct settings *s, struct responder *r,
    const struct timespec *received, struct outcome *o);

/*
 * responder_recycle: empty b for the next request, freeing its memory
 * when it passed RESPONDER_KEEP bytes; b->max is kept.
 */
void responder_recycle(struct buf *b);

/* responder_close: release all r holds (logs closed); r stays usable. */
void responder_close(struct responder *r);

/*
 * reply_render: the whole CGI reply for o (Status and headers, a blank
 * line, a JSON body) into buf of size bytes: 200 {"status":"ok",
 * "records":N}, 202 {"status":"pending"} for a spooled claim, or the
 * error's status with {"status":"error",
 * "error":"<code>"} and, for 405, "Allow: POST".  Returns its length
 * (it always fits in REPLY_SIZE bytes).
 */
#define REPLY_SIZE 256
size_t reply_render(const struct outcome *o, char *buf, size_t size);

/*
 * reply_operator_line: one line for the operator, newline included, for
 * a request that failed: "b24hook: 403 forbidden reason=\"token_mismatch\"
 * member_id=... label=\"...\" domain=... event=... token_fp=...", each
 * part after the reason only when known (token_fp for token_mismatch
 * only), or for a spooled claim exactly "b24hook: 202 enrollment_pending
 * member_id=... domain=...".  Nothing a client sent can end the line or a
 * quoted part.  Never a token.  Returns its length.
 */
#define OPERATOR_LINE_SIZE 1024
size_t reply_operator_line(const struct outcome *o, char *buf, size_t size);

#endif
