/*
 * The library's one error type: a code from a fixed list, each with one HTTP
 * status and one machine-readable name (errcode.c holds the table), plus a
 * reason for the operator that is never sent to the client.
 */
#ifndef ERRCODE_H
#define ERRCODE_H

#include <stddef.h>

enum err_code {
	ERR_OK = 0,
	ERR_ENROLLMENT_PENDING,	    /* 202 enrollment_pending: claim spooled */
	ERR_MALFORMED_BODY,	    /* 400 malformed_body */
	ERR_NOT_AN_EVENT,	    /* 400 not_an_event: no event key */
	ERR_MISSING_AUTH,	    /* 400 missing_auth */
	ERR_INVALID_UTF8,	    /* 400 invalid_utf8 */
	ERR_LIMIT_EXCEEDED,	    /* 400 limit_exceeded: a limit.h limit */
	ERR_FORBIDDEN,		    /* 403 forbidden */
	ERR_METHOD_NOT_ALLOWED,	    /* 405 method_not_allowed */
	ERR_LENGTH_REQUIRED,	    /* 411 length_required */
	ERR_BODY_TOO_LARGE,	    /* 413 body_too_large */
	ERR_UNSUPPORTED_MEDIA_TYPE, /* 415 unsupported_media_type */
	ERR_CONFIG,		    /* 500 config_error */
	ERR_INTERNAL,		    /* 500 internal_error: out of memory */
	ERR_STORAGE_UNAVAILABLE,    /* 503 storage_unavailable */
};

/* bytes: longest operator reason, NUL included; longer ones are cut */
#define ERR_REASON_SIZE 256

struct err {
	enum err_code code;
	char reason[ERR_REASON_SIZE]; /* for the operator: never a token */
};

/*
 * err_set: record code and a printf-style reason in err.  The reason is
 * for the operator line: name the precise cause ("token_mismatch",
 * "limit=pairs max=10000", "open errno=ENOSPC"), never a secret.
 * Returns -1, so that a failing function can "return err_set(...)".
 */
int err_set(struct err *err, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* err_errno: err_set with ": errno=ENAME" appended, ENAME naming errnum. */
int err_errno(struct err *err, enum err_code code, int errnum,
    const char *what);

/* err_status: the HTTP status of code (200 for ERR_OK). */
int err_status(enum err_code code);

/* err_name: the machine-readable name of code ("ok" for ERR_OK); static. */
const char *err_name(enum err_code code);

/* err_status_text: the HTTP reason phrase of code's status; static. */
const char *err_status_text(enum err_code code);

#endif
