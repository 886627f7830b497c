/*
 * Decoding a body: the media type, and the JSON path with the same limits
 * as the form decoder (tests/check_form.c covers the form path).
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "limit.h"
#include "testutil.h"

static const struct {
	const char *type;
	int ok;
	enum media media;
} media_types[] = {
	{ NULL, 1, MEDIA_FORM },
	{ "", 1, MEDIA_FORM },
	{ "application/x-www-form-urlencoded", 1, MEDIA_FORM },
	{ "application/x-www-form-urlencoded; charset=UTF-8", 1, MEDIA_FORM },
	{ "APPLICATION/JSON", 1, MEDIA_JSON },
	{ "\tapplication/json ; charset=utf-8", 1, MEDIA_JSON },
	{ "text/plain", 0, MEDIA_FORM },
	{ "application/json-seq", 0, MEDIA_FORM },
	{ "multipart/form-data; boundary=x", 0, MEDIA_FORM },
};

START_TEST(media)
{
	struct err err = { 0 };
	enum media m;
	int rc = decode_media(media_types[_i].type, &m, &err);

	ck_assert_int_eq(rc, media_types[_i].ok ? 0 : -1);
	if (rc == 0)
		ck_assert_int_eq(m, media_types[_i].media);
	else
		ck_assert_int_eq(err.code, ERR_UNSUPPORTED_MEDIA_TYPE);
}
END_TEST

static const struct {
	const char *body;
	enum err_code code;
} json_bodies[] = {
	{ "{\"event\":\"ONX\",\"data\":{\"LINE\":105}}", ERR_OK },
	{ "{}", ERR_OK },
	{ "", ERR_MALFORMED_BODY },
	{ "[1,2]", ERR_MALFORMED_BODY },
	{ "\"event\"", ERR_MALFORMED_BODY },
	{ "{\"a\":1,\"a\":2}", ERR_MALFORMED_BODY },
	{ "{\"a\":\"x\\u0000y\"}", ERR_MALFORMED_BODY },
	{ "{\"a\":1} trailing", ERR_MALFORMED_BODY },
	{ "{\"a\":\"\xff\"}", ERR_INVALID_UTF8 },
};

START_TEST(json_table)
{
	struct err err = { 0 };
	json_t *root = NULL;
	int rc = decode_body(MEDIA_JSON, json_bodies[_i].body,
	    strlen(json_bodies[_i].body), &root, &err);

	if (json_bodies[_i].code == ERR_OK) {
		ck_assert_int_eq(rc, 0);
		ck_assert(json_is_object(root));
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_null(root);
		ck_assert_int_eq(err.code, json_bodies[_i].code);
	}
	json_decref(root);
}
END_TEST

/* A JSON parse error's text may quote the body: it stays out of reasons. */
START_TEST(json_reason_quotes_nothing)
{
	const char *body = "{\"auth\":{\"application_token\":secrettoken}}";
	struct err err = { 0 };
	json_t *root;

	ck_assert_int_eq(decode_body(MEDIA_JSON, body, strlen(body), &root,
			     &err),
	    -1);
	ck_assert_ptr_null(strstr(err.reason, "secret"));
}
END_TEST

/* depth keys on the path: {"a":{"a":...{"a":"x"}}} */
static char *
nested(int depth)
{
	char *s = malloc((size_t)depth * 6 + 16), *p = s;
	int i;

	for (i = 0; i < depth; i++)
		p += strlen(strcpy(p, "{\"a\":"));
	p += strlen(strcpy(p, "\"x\""));
	for (i = 0; i < depth; i++)
		*p++ = '}';
	*p = '\0';
	return s;
}

static int
decode_json(const char *body, struct err *err)
{
	json_t *root = NULL;
	int rc = decode_body(MEDIA_JSON, body, strlen(body), &root, err);

	json_decref(root);
	return rc;
}

START_TEST(json_depth)
{
	struct err err = { 0 };
	char *ok = nested(LIMIT_DEPTH), *over = nested(LIMIT_DEPTH + 1);
	char *bomb = nested(10000);

	ck_assert_int_eq(decode_json(ok, &err), 0);
	ck_assert_int_eq(decode_json(over, &err), -1);
	ck_assert_int_eq(err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=depth max=32");
	ck_assert_int_eq(decode_json(bomb, &err), -1);
	ck_assert_int_eq(err.code, ERR_LIMIT_EXCEEDED);
	free(ok);
	free(over);
	free(bomb);
}
END_TEST

/* n values: {"a":[1,1,...]} counts the list and its n - 1 members */
static char *
values(size_t n)
{
	char *s = malloc(n * 2 + 16), *p = s;
	size_t i;

	p += strlen(strcpy(p, "{\"a\":["));
	for (i = 0; i + 1 < n; i++)
		p += strlen(strcpy(p, i ? ",1" : "1"));
	strcpy(p, "]}");
	return s;
}

START_TEST(json_pairs)
{
	struct err err = { 0 };
	char *ok = values(LIMIT_PAIRS), *over = values(LIMIT_PAIRS + 1);

	ck_assert_int_eq(decode_json(ok, &err), 0);
	ck_assert_int_eq(decode_json(over, &err), -1);
	ck_assert_int_eq(err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=pairs max=10000");
	free(ok);
	free(over);
}
END_TEST

static char *
long_key(size_t n)
{
	char *s = malloc(n + 16);

	s[0] = '{';
	s[1] = '"';
	memset(s + 2, 'k', n);
	strcpy(s + 2 + n, "\":1}");
	return s;
}

START_TEST(json_key)
{
	struct err err = { 0 };
	char *ok = long_key(LIMIT_KEY), *over = long_key(LIMIT_KEY + 1);

	ck_assert_int_eq(decode_json(ok, &err), 0);
	ck_assert_int_eq(decode_json(over, &err), -1);
	ck_assert_int_eq(err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=key max=512");
	free(ok);
	free(over);
}
END_TEST

static Suite *
decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, media, 0,
	    sizeof(media_types) / sizeof(media_types[0]));
	tcase_add_loop_test(core, json_table, 0,
	    sizeof(json_bodies) / sizeof(json_bodies[0]));
	tcase_add_test(core, json_reason_quotes_nothing);
	tcase_add_test(limits, json_depth);
	tcase_add_test(limits, json_pairs);
	tcase_add_test(limits, json_key);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(decode_suite());
}
