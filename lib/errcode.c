#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errcode.h"

static const struct {
	int status;
	const char *name;
	const char *text;
} table[] = {
	[ERR_OK] = { 200, "ok", "OK" },
	[ERR_ENROLLMENT_PENDING] = { 202, "enrollment_pending", "Accepted" },
	[ERR_MALFORMED_BODY] = { 400, "malformed_body", "Bad Request" },
	[ERR_NOT_AN_EVENT] = { 400, "not_an_event", "Bad Request" },
	[ERR_MISSING_AUTH] = { 400, "missing_auth", "Bad Request" },
	[ERR_INVALID_UTF8] = { 400, "invalid_utf8", "Bad Request" },
	[ERR_LIMIT_EXCEEDED] = { 400, "limit_exceeded", "Bad Request" },
	[ERR_FORBIDDEN] = { 403, "forbidden", "Forbidden" },
	[ERR_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed",
	    "Method Not Allowed" },
	[ERR_LENGTH_REQUIRED] = { 411, "length_required", "Length Required" },
	[ERR_BODY_TOO_LARGE] = { 413, "body_too_large",
	    "Content Too Large" },
	[ERR_UNSUPPORTED_MEDIA_TYPE] = { 415, "unsupported_media_type",
	    "Unsupported Media Type" },
	[ERR_CONFIG] = { 500, "config_error", "Internal Server Error" },
	[ERR_INTERNAL] = { 500, "internal_error", "Internal Server Error" },
	[ERR_STORAGE_UNAVAILABLE] = { 503, "storage_unavailable",
	    "Service Unavailable" },
};

int
err_set(struct err *err, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
	return -1;
}

int
err_errno(struct err *err, enum err_code code, int errnum, const char *what)
{
	const char *name = strerrorname_np(errnum);

	if (name == NULL)
		return err_set(err, code, "%s errno=%d", what, errnum);
	return err_set(err, code, "%s errno=%s", what, name);
}

int
err_status(enum err_code code)
{
	return table[code].status;
}

const char *
err_name(enum err_code code)
{
	return table[code].name;
}

const char *
err_status_text(enum err_code code)
{
	return table[code].text;
}
