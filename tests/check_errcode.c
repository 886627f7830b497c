/* The error table: every code's HTTP status and machine-readable name. */
#include <errno.h>
#include <string.h>

#include "errcode.h"
#include "testutil.h"

/* Every code has its documented status and name. */
START_TEST(status_table)
{
	static const struct {
		enum err_code code;
		int status;
		const char *name;
	} t[] = { { ERR_ENROLLMENT_PENDING, 202, "enrollment_pending" },
		{ ERR_MALFORMED_BODY, 400, "malformed_body" },
		{ ERR_NOT_AN_EVENT, 400, "not_an_event" },
		{ ERR_MISSING_AUTH, 400, "missing_auth" },
		{ ERR_INVALID_UTF8, 400, "invalid_utf8" },
		{ ERR_LIMIT_EXCEEDED, 400, "limit_exceeded" },
		{ ERR_FORBIDDEN, 403, "forbidden" },
		{ ERR_METHOD_NOT_ALLOWED, 405, "method_not_allowed" },
		{ ERR_LENGTH_REQUIRED, 411, "length_required" },
		{ ERR_BODY_TOO_LARGE, 413, "body_too_large" },
		{ ERR_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type" },
		{ ERR_CONFIG, 500, "config_error" },
		{ ERR_STORAGE_UNAVAILABLE, 503, "storage_unavailable" } };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(err_status(t[i].code), t[i].status);
		ck_assert_str_eq(err_name(t[i].code), t[i].name);
	}
}
END_TEST

START_TEST(errno_names)
{
	struct err err;

	ck_assert_int_eq(err_errno(&err, ERR_STORAGE_UNAVAILABLE, ENOSPC,
			     "write"),
	    -1);
	ck_assert_int_eq(err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(err.reason, "write errno=ENOSPC");
	ck_assert_int_eq(err_set(&err, ERR_CONFIG, "%s", "x"), -1);
	ck_assert_str_eq(err.reason, "x");
	ck_assert_int_eq(err_status(ERR_OK), 200);
	ck_assert_int_eq(err_status(ERR_INTERNAL), 500);
	ck_assert_str_eq(err_status_text(ERR_FORBIDDEN), "Forbidden");
	ck_assert_str_eq(err_status_text(ERR_ENROLLMENT_PENDING), "Accepted");
}
END_TEST

/* A reason longer than the struct holds is cut, never overflowed. */
START_TEST(long_reason)
{
	char big[ERR_REASON_SIZE * 2];
	struct err err;

	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&err, ERR_CONFIG, "%s", big);
	ck_assert_uint_eq(strlen(err.reason), ERR_REASON_SIZE - 1);
}
END_TEST

static Suite *
err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, status_table);
	tcase_add_test(core, errno_names);
	tcase_add_test(limits, long_reason);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(err_suite());
}
