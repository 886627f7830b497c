/*
 * Decoding a body: the media type, and the JSON path with the same limits
 * as the form decoder (tests/check_form.c covers the form path).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "limit.h"
#include "parity.h"
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
	    strlen(json_bodies[_i].body), &root, NULL, &err);

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
			     NULL, &err),
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
	int rc = decode_body(MEDIA_JSON, body, strlen(body), &root, NULL, err);

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

/*
 * Bodies whose two decodes, whole and with the secrets taken out, must
 * agree (parity_check): PHP's replace rules across the tree and the
 * slots, encodings, and refusals, which must be the same either way.
 */
static const struct {
	enum media media;
	const char *body;
} parity_bodies[] = {
    {MEDIA_FORM, "event=X&auth[application_token]=a&auth[application_token]=b"},
    {MEDIA_FORM, "auth%5Bapplication_token%5D=a&auth[application_token]=b"},
    {MEDIA_FORM, "auth%5baccess_token%5d=a&auth[refresh_token%5D=r"},
    {MEDIA_FORM, "auth[application_token][x]=1&auth[application_token]=t"},
    {MEDIA_FORM, "auth[application_token]=t&auth[application_token][x]=1"},
    {MEDIA_FORM, "auth[application_token]=t&auth[application_token][]=1"},
    {MEDIA_FORM, "auth[application_token][x][y]=1&auth[application_token][x]=2"
                 "&auth[application_token]=t"},
    {MEDIA_FORM, "auth[application_token]=t&auth[application_token][x]=1"
                 "&auth[application_token]=u"},
    {MEDIA_FORM, "auth[application_token]=t&auth=s"},
    {MEDIA_FORM, "auth=s&auth[application_token]=t"},
    {MEDIA_FORM, "auth=&auth[application_token]=t"},
    {MEDIA_FORM, "auth"},
    {MEDIA_FORM, "auth[application_token]=t&auth=s&auth[0]=a"},
    {MEDIA_FORM, "auth[application_token]=t&auth=s&auth[]=a&auth[]=b"},
    {MEDIA_FORM, "auth[]=v&auth[application_token]=t"},
    {MEDIA_FORM, "auth[application_token]=t&auth[]=v&auth[]=w"},
    {MEDIA_FORM, "auth[0]=a&auth[application_token]=t"},
    {MEDIA_FORM, "auth[0]=a&auth[1]=b&auth[refresh_token]=r&auth[2]=c"},
    {MEDIA_FORM, "auth[0]=a&auth[refresh_token]=r&auth=s&auth[0]=b"},
    {MEDIA_FORM, "auth[0]=a&auth[refresh_token][]=r"},
    {MEDIA_FORM, "auth[0]=a&auth[client_endpoint]=x"},
    {MEDIA_FORM, "auth[]=a&auth[server_endpoint]=x&auth[]=b"},
    {MEDIA_FORM, "auth[client_endpoint]=x"},
    {MEDIA_FORM, "auth[client_endpoint][a]=x"},
    {MEDIA_FORM, "auth[client_endpoint][a]=x&auth[client_endpoint]=y"},
    {MEDIA_FORM, "auth[server_endpoint]=x&auth[server_endpoint][]=y"},
    {MEDIA_FORM, "auth[application_token]="},
    {MEDIA_FORM, "auth[application_token]&auth[access_token]="},
    {MEDIA_FORM, "auth[application_token]=%00x"},
    {MEDIA_FORM, "auth[application_token]=t+t%2B%26%3D"},
    {MEDIA_FORM, "auth[access_token]=a&auth[refresh_token]=r"
                 "&auth[application_token]=t&auth[member_id]=m"
                 "&auth[client_endpoint]=c&auth[server_endpoint]=s"},
    {MEDIA_FORM, "auth[application_token]=a&auth[access_token]=b"
                 "&auth[application_token][0]=c&auth=d&auth[refresh_token]=e"},
    {MEDIA_FORM, "x[auth][application_token]=t&auth[x]=1"},
    {MEDIA_FORM, "auth[Application_token]=t&auth[application_token%20]=u"},
    {MEDIA_FORM, "auth[application_token]=t&data[auth][application_token]=u"},
    {MEDIA_FORM, "authx[application_token]=t&aut[application_token]=u"},
    {MEDIA_FORM, "auth[a]=1&auth[application_token]=t&auth[a][b]=2"},
    {MEDIA_FORM, "auth[application_token]=t&&auth[access_token]=a&"},
    /* refused either way, with the same error */
    {MEDIA_FORM, "auth[application_token]=%FF"},
    {MEDIA_FORM, "auth[refresh_token]=%C3%28&auth[application_token]=t"},
    {MEDIA_FORM, "auth[application_token]=t&auth[x]=%zz"},
    {MEDIA_FORM, "auth[application_token]=%4"},
    {MEDIA_FORM, "auth[application_token=t"},
    {MEDIA_FORM, "auth[application_token]x=t"},
    {MEDIA_FORM, "auth[application_token%00]=t"},
    {MEDIA_FORM, "auth[client_endpoint]=%ED%A0%80"},
    {MEDIA_FORM, "auth[application_token]=t&auth[9223372036854775807]=x"
                 "&auth[]=y"},
    /* JSON */
    {MEDIA_JSON, "{\"auth\":{\"application_token\":\"t\",\"access_token\":"
                 "\"a\",\"refresh_token\":\"r\",\"client_endpoint\":\"c\","
                 "\"server_endpoint\":\"s\",\"member_id\":\"m\"}}"},
    {MEDIA_JSON, "{\"auth\":{\"application_token\":1}}"},
    {MEDIA_JSON, "{\"auth\":{\"application_token\":{\"x\":\"1\"}}}"},
    {MEDIA_JSON, "{\"auth\":{\"application_token\":null,"
                 "\"client_endpoint\":[1]}}"},
    {MEDIA_JSON, "{\"auth\":{\"application_token\":\"\"}}"},
    {MEDIA_JSON, "{\"auth\":\"s\"}"},
    {MEDIA_JSON, "{\"auth\":[\"t\"]}"},
    {MEDIA_JSON, "{\"x\":{\"auth\":{\"application_token\":\"t\"}}}"},
    {MEDIA_JSON, "{\"auth\":{\"application_token\":\"\xff\"}}"},
    {MEDIA_JSON, "{\"auth\":{\"application_token\":\"t\","
                 "\"application_token\":\"u\"}}"},
    {MEDIA_JSON, "{\"auth\":{\"access_token\":\"x\\u0000y\"}}"},
    {MEDIA_JSON, "{\"auth\":{\"refresh_token\":\"r\"}"},
};

START_TEST(parity_table)
{
	char why[1024];

	ck_assert_msg(parity_check(parity_bodies[_i].media,
			  parity_bodies[_i].body,
			  strlen(parity_bodies[_i].body), why,
			  sizeof(why)) == 0,
	    "%s: %s", parity_bodies[_i].body, why);
}
END_TEST

/* every fixture event, form and JSON */
START_TEST(parity_fixtures)
{
	char why[1024], *body;
	struct dirent *de;
	size_t len, n = 0;
	DIR *d;

	ck_assert_ptr_nonnull(d = opendir(fixture_dir()));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || (strcmp(de->d_name + len - 5, ".form") != 0 &&
				   strcmp(de->d_name + len - 5, ".json") != 0))
			continue;
		n++;
		body = fixture_read(de->d_name, &len);
		ck_assert_msg(parity_check(strstr(de->d_name, ".json") != NULL
				      ? MEDIA_JSON
				      : MEDIA_FORM,
				  body, len, why, sizeof(why)) == 0,
		    "%s: %s", de->d_name, why);
		free(body);
	}
	closedir(d);
	ck_assert_uint_ge(n, 26);
}
END_TEST

/* the limits hold for the pairs taken out as for the others */
START_TEST(parity_limits)
{
	static const struct {
		const char *head, *piece;
		size_t n;
		const char *tail;
	} bodies[] = {
		{ "auth[application_token]=t", "&auth[application_token]=t",
		    LIMIT_PAIRS - 1, "" },
		{ "auth[application_token]=t", "&auth[application_token]=t",
		    LIMIT_PAIRS, "" },
		{ "auth[client_endpoint]", "[a]", LIMIT_DEPTH - 2, "=v" },
		{ "auth[client_endpoint]", "[a]", LIMIT_DEPTH - 1, "=v" },
		{ "auth[application_token]=", "t", 6000, "" },
		{ "auth[application_token]=t&auth[", "a", LIMIT_KEY - 5,
		    "]=1" },
		{ "auth[application_token]=t&auth[", "a", LIMIT_KEY - 4,
		    "]=1" },
	};
	char why[1024], *body;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		body = repeat(bodies[i].head, bodies[i].piece, bodies[i].n,
		    bodies[i].tail);
		ck_assert_msg(parity_check(MEDIA_FORM, body, strlen(body), why,
				  sizeof(why)) == 0,
		    "body %zu: %s", i, why);
		free(body);
	}
}
END_TEST

static Suite *
decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");
	TCase *parity = tcase_create("parity");

	tcase_add_loop_test(core, media, 0,
	    sizeof(media_types) / sizeof(media_types[0]));
	tcase_add_loop_test(core, json_table, 0,
	    sizeof(json_bodies) / sizeof(json_bodies[0]));
	tcase_add_test(core, json_reason_quotes_nothing);
	tcase_add_test(limits, json_depth);
	tcase_add_test(limits, json_pairs);
	tcase_add_test(limits, json_key);
	tcase_add_loop_test(parity, parity_table, 0,
	    sizeof(parity_bodies) / sizeof(parity_bodies[0]));
	tcase_add_test(parity, parity_fixtures);
	tcase_add_test(parity, parity_limits);
	tcase_set_timeout(parity, 30);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, parity);
	return s;
}

int
main(void)
{
	return suite_main(decode_suite());
}
