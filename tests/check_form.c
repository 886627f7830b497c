#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "errcode.h"
#include "form.h"
#include "limit.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* bodies that decode, and their tree as json_dumps(JSON_COMPACT) */
static const struct {
	const char *body;
	const char *json;
} valid[] = {
    {"", "{}"},
    {"&", "{}"},
    {"&&&", "{}"},
    {"a=1", "{\"a\":\"1\"}"},
    {"a", "{\"a\":\"\"}"},
    {"a=", "{\"a\":\"\"}"},
    {"a&b", "{\"a\":\"\",\"b\":\"\"}"},
    {"a=1&&b=2&", "{\"a\":\"1\",\"b\":\"2\"}"},
    {"&a=1", "{\"a\":\"1\"}"},
    {"a=b=c", "{\"a\":\"b=c\"}"},
    {"a+b=c+d", "{\"a b\":\"c d\"}"},
    {"a%20b=c%20d", "{\"a b\":\"c d\"}"},
    {"a=%2B%26%3D", "{\"a\":\"+&=\"}"},
    {"%2a=%2A%2f%2F%c3%A9", "{\"*\":\"*//\xc3\xa9\"}"},
    {"a[b]=1", "{\"a\":{\"b\":\"1\"}}"},
    {"a%5Bb%5D=1", "{\"a\":{\"b\":\"1\"}}"},
    {"a%5bb%5d=1", "{\"a\":{\"b\":\"1\"}}"},
    {"a[b%5D=1", "{\"a\":{\"b\":\"1\"}}"},
    {"a[b][c]=1&a[b][d]=2&a[e]=3",
        "{\"a\":{\"b\":{\"c\":\"1\",\"d\":\"2\"},\"e\":\"3\"}}"},
    {"a]=1", "{\"a]\":\"1\"}"},
    {"a[b[c]=1", "{\"a\":{\"b[c\":\"1\"}}"},
    {"a[ ]=1", "{\"a\":{\" \":\"1\"}}"},
    /* lists and appends */
    {"a[]=x&a[]=y", "{\"a\":[\"x\",\"y\"]}"},
    {"a[0]=x&a[1]=y", "{\"a\":[\"x\",\"y\"]}"},
    {"a[0]=x&a[]=y&a[]=z", "{\"a\":[\"x\",\"y\",\"z\"]}"},
    {"a[]=1&a[]=2&a[1]=3", "{\"a\":[\"1\",\"3\"]}"},
    {"a[5]=x&a[]=y", "{\"a\":{\"5\":\"x\",\"6\":\"y\"}}"},
    {"a[3]=x&a[1]=y&a[]=z", "{\"a\":{\"3\":\"x\",\"1\":\"y\",\"4\":\"z\"}}"},
    {"a[1]=x&a[0]=y", "{\"a\":{\"1\":\"x\",\"0\":\"y\"}}"},
    {"a[0]=x&a[2]=y", "{\"a\":{\"0\":\"x\",\"2\":\"y\"}}"},
    {"a[x]=1&a[]=y", "{\"a\":{\"x\":\"1\",\"0\":\"y\"}}"},
    {"a[05]=x&a[]=y", "{\"a\":{\"05\":\"x\",\"0\":\"y\"}}"},
    {"a[-0]=x&a[]=y", "{\"a\":{\"-0\":\"x\",\"0\":\"y\"}}"},
    {"a[+1]=x&a[]=y", "{\"a\":{\" 1\":\"x\",\"0\":\"y\"}}"},
    {"a[-5]=x&a[]=y", "{\"a\":{\"-5\":\"x\",\"-4\":\"y\"}}"},
    {"a[][b]=1&a[][b]=2", "{\"a\":[{\"b\":\"1\"},{\"b\":\"2\"}]}"},
    {"a[b][]=1&a[c][]=2&a[b][]=3",
        "{\"a\":{\"b\":[\"1\",\"3\"],\"c\":[\"2\"]}}"},
    {"a[][]=1", "{\"a\":[[\"1\"]]}"},
    {"0=a&1=b", "{\"0\":\"a\",\"1\":\"b\"}"},
    {"a[0][0]=x&a[0][1]=y&a[1]=z", "{\"a\":[[\"x\",\"y\"],\"z\"]}"},
    /* duplicates replace in place, a scalar and a map likewise */
    {"a=1&b=2&a=3", "{\"a\":\"3\",\"b\":\"2\"}"},
    {"a=1&b=2&a[x]=3", "{\"a\":{\"x\":\"3\"},\"b\":\"2\"}"},
    {"a[x]=1&b=2&a=3", "{\"a\":\"3\",\"b\":\"2\"}"},
    {"a[x]=1&b=2&a[y]=3", "{\"a\":{\"x\":\"1\",\"y\":\"3\"},\"b\":\"2\"}"},
    {"a[x][y]=1&a[x]=2&a[z]=3", "{\"a\":{\"x\":\"2\",\"z\":\"3\"}}"},
    {"a[x]=1&a[x][y]=2", "{\"a\":{\"x\":{\"y\":\"2\"}}}"},
    {"a[]=1&a=2&a[]=3", "{\"a\":[\"3\"]}"},
    /* NUL is allowed in a value */
    {"a=%00", "{\"a\":\"\\u0000\"}"},
    {"a=x%00y", "{\"a\":\"x\\u0000y\"}"},
    /* UTF-8, one to four bytes, at the edges of each range */
    {"a=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82",
        "{\"a\":\"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\"}"},
    {"%D0%B8%D0%BC%D1%8F[%D0%BA]=1",
        "{\"\xd0\xb8\xd0\xbc\xd1\x8f\":{\"\xd0\xba\":\"1\"}}"},
    {"a=%C2%80", "{\"a\":\"\xc2\x80\"}"},
    {"a=%E0%A0%80", "{\"a\":\"\xe0\xa0\x80\"}"},
    {"a=%ED%9F%BF", "{\"a\":\"\xed\x9f\xbf\"}"},
    {"a=%EE%80%80", "{\"a\":\"\xee\x80\x80\"}"},
    {"a=%EF%BF%BF", "{\"a\":\"\xef\xbf\xbf\"}"},
    {"a=%F0%9F%98%80", "{\"a\":\"\xf0\x9f\x98\x80\"}"},
    {"a=%F4%8F%BF%BF", "{\"a\":\"\xf4\x8f\xbf\xbf\"}"},
    {"a=\xc3\xa9", "{\"a\":\"\xc3\xa9\"}"},
};

/* bodies that fail, and the error */
static const struct {
	const char *body;
	enum err_code code;
} invalid[] = {
    {"%zz", ERR_MALFORMED_BODY},
    {"a=%zz", ERR_MALFORMED_BODY},
    {"a=%4", ERR_MALFORMED_BODY},
    {"a=%", ERR_MALFORMED_BODY},
    {"a%=1", ERR_MALFORMED_BODY},
    {"a=%g0", ERR_MALFORMED_BODY},
    {"a=%0g", ERR_MALFORMED_BODY},
    {"a=%%41", ERR_MALFORMED_BODY},
    {"a=1&b=%4&c=3", ERR_MALFORMED_BODY},
    {"[a]=1", ERR_MALFORMED_BODY},
    {"%5Ba%5D=1", ERR_MALFORMED_BODY},
    {"=1", ERR_MALFORMED_BODY},
    {"=", ERR_MALFORMED_BODY},
    {"[]=1", ERR_MALFORMED_BODY},
    {"a[b", ERR_MALFORMED_BODY},
    {"a[b=1", ERR_MALFORMED_BODY},
    {"a[b][c=1", ERR_MALFORMED_BODY},
    {"a[=1", ERR_MALFORMED_BODY},
    {"a[b]c=1", ERR_MALFORMED_BODY},
    {"a[b]]=1", ERR_MALFORMED_BODY},
    {"a[b] =1", ERR_MALFORMED_BODY},
    {"a[b]%5Dc=1", ERR_MALFORMED_BODY},
    {"a=1&b[=2", ERR_MALFORMED_BODY},
    {"a%00b=1", ERR_MALFORMED_BODY},
    {"a[%00]=1", ERR_MALFORMED_BODY},
    {"%00=1", ERR_MALFORMED_BODY},
    {"a=%C3%28", ERR_INVALID_UTF8},
    {"a=%C0%AF", ERR_INVALID_UTF8},
    {"a=%C1%BF", ERR_INVALID_UTF8},
    {"a=%E0%80%AF", ERR_INVALID_UTF8},
    {"a=%F0%80%80%AF", ERR_INVALID_UTF8},
    {"a=%ED%A0%80", ERR_INVALID_UTF8},
    {"a=%ED%BF%BF", ERR_INVALID_UTF8},
    {"a=%F4%90%80%80", ERR_INVALID_UTF8},
    {"a=%F5%80%80%80", ERR_INVALID_UTF8},
    {"a=%FF", ERR_INVALID_UTF8},
    {"a=%FE", ERR_INVALID_UTF8},
    {"a=%80", ERR_INVALID_UTF8},
    {"a=%C3", ERR_INVALID_UTF8},
    {"a=%E2%82", ERR_INVALID_UTF8},
    {"a=%F0%9F%98", ERR_INVALID_UTF8},
    {"a=%E2%28%A1", ERR_INVALID_UTF8},
    {"a=\xff", ERR_INVALID_UTF8},
    {"%C3%28=1", ERR_INVALID_UTF8},
    {"a[%FF]=1", ERR_INVALID_UTF8},
};

/* the real events: each file's event code and facts about its tree */
static const struct {
	const char *event;
	const char *path; /* dot-separated; a number indexes an array */
	const char *value;
} facts[] = {
    {"ONIMCONNECTORLINEDELETE", "data", "107"},
    {"ONIMCONNECTORLINEDELETE", "auth.scope", "imconnector, imopenlines"},
    {"ONIMCONNECTORMESSAGEADD", "data.MESSAGES.0.message.text",
        "[b]Klaus Weber:[/b] [br]Guten Tag!"},
    {"ONIMCONNECTORMESSAGEADD", "auth.scope", "imconnector, imopenlines"},
    {"ONIMCONNECTORMESSAGEADD", "data.MESSAGES.0.im.chat_id", "1807"},
    {"ONIMCONNECTORMESSAGEDELETE", "data.MESSAGES.1.message.id", "ext-msg-006"},
    {"ONIMCONNECTORMESSAGEUPDATE", "data.MESSAGES.0.message.id.0",
        "ext-msg-005"},
    {"ONIMCONNECTORSTATUSDELETE", "data.connector", "myconnector"},
    {"ONIMCONNECTORDIALOGSTART", "data.DATA.0.session.closed", "N"},
    {"ONSESSIONSTART", "data.DATA.line.name", "linename"},
    {"ONOPENLINEMESSAGEADD", "data.DATA.message.text",
        "Hello, is anyone there?"},
    {"ONAPPINSTALL", "auth.scope", "imconnector,imopenlines,im"},
    {"ONAPPINSTALL", "auth.server_endpoint", "https://oauth.bitrix.info/rest/"},
    {"ONAPPUNINSTALL", "data.CLEAN", "1"},
};

/* decoded, or NULL with *err set; *out must come back NULL on failure */
static json_t *
decode(const char *body, size_t len, struct err *err)
{
	json_t *root = (json_t *)&root;

	memset(err, 0, sizeof(*err));
	if (form_decode(body, len, &root, NULL, err) == -1) {
		ck_assert_ptr_null(root);
		ck_assert_int_ne(err->code, ERR_OK);
		ck_assert_str_ne(err->reason, "");
		return NULL;
	}
	ck_assert_ptr_nonnull(root);
	ck_assert(json_is_object(root));
	return root;
}

/* the compact dump of body's tree, or NULL if it fails; free() it */
static char *
dump(const char *body, size_t len)
{
	struct err err;
	json_t *root = decode(body, len, &err);
	char *s;

	if (root == NULL)
		return NULL;
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

static enum err_code
fail_code(const char *body, size_t len, struct err *err)
{
	json_t *root = decode(body, len, err);

	if (root != NULL) {
		json_decref(root);
		return ERR_OK;
	}
	return err->code;
}

/* the node at a dot-separated path; a number indexes an array */
static json_t *
at(json_t *v, const char *path)
{
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && v != NULL;
	     tok = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10))
		                     : json_object_get(v, tok);
	return v;
}

/* whether every leaf under v is a string */
static int
all_strings(json_t *v)
{
	const char *key;
	json_t *c;
	size_t i;

	if (json_is_string(v))
		return 1;
	if (json_is_array(v)) {
		json_array_foreach(v, i, c)
		{
			if (!all_strings(c))
				return 0;
		}
		return 1;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, key, c)
		{
			if (!all_strings(c))
				return 0;
		}
		return 1;
	}
	return 0;
}

/* body with every %5B and %5D turned into a literal bracket */
static char *
literal_brackets(const char *body)
{
	char *s = strdup(body), *r = s;
	const char *p;

	ck_assert_ptr_nonnull(s);
	for (p = body; *p != '\0'; p++) {
		if (strncmp(p, "%5B", 3) == 0 || strncmp(p, "%5D", 3) == 0) {
			*r++ = p[2] == 'B' ? '[' : ']';
			p += 2;
		} else
			*r++ = *p;
	}
	*r = '\0';
	return s;
}

START_TEST(test_valid)
{
	const char *body = valid[_i].body;
	char *s = dump(body, strlen(body));

	ck_assert_msg(s != NULL, "\"%s\" refused", body);
	ck_assert_msg(strcmp(s, valid[_i].json) == 0, "\"%s\" gave %s, not %s",
	    body, s, valid[_i].json);
	free(s);
}
END_TEST

START_TEST(test_invalid)
{
	const char *body = invalid[_i].body;
	struct err err;
	enum err_code code = fail_code(body, strlen(body), &err);

	ck_assert_msg(code == invalid[_i].code, "\"%s\" gave %s, not %s", body,
	    err_name(code), err_name(invalid[_i].code));
}
END_TEST

START_TEST(test_fixtures)
{
	char *body, *lit, *s1, *s2, event[128];
	struct dirent *de;
	struct err err;
	json_t *root;
	size_t len, n = 0;
	DIR *d;

	d = opendir(fixture_dir());
	ck_assert_msg(
	    d != NULL, "cannot open %s (set B24_FIXTURES)", fixture_dir());
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".form") != 0)
			continue;
		n++;
		body = fixture_read(de->d_name, &len);
		root = decode(body, len, &err);
		ck_assert_msg(root != NULL, "%s: %s", de->d_name, err.reason);
		snprintf(event, sizeof(event), "%.*s",
		    (int)strcspn(de->d_name, "."), de->d_name);
		ck_assert_pstr_eq(json_string_value(at(root, "event")), event);
		ck_assert_str_eq(
		    json_object_iter_key(json_object_iter(root)), "event");
		ck_assert(json_is_object(at(root, "auth")));
		ck_assert_uint_eq(
		    json_string_length(at(root, "auth.application_token")), 32);
		ck_assert(all_strings(root));
		json_decref(root);

		lit = literal_brackets(body);
		s1 = dump(body, len);
		s2 = dump(lit, strlen(lit));
		ck_assert_ptr_nonnull(s1);
		ck_assert_pstr_eq(s1, s2);
		free(s1);
		free(s2);
		free(lit);
		free(body);
	}
	closedir(d);
	ck_assert_uint_ge(n, 13);
}
END_TEST

START_TEST(test_facts)
{
	char file[256], *body;
	struct err err;
	json_t *root;
	size_t len;

	snprintf(file, sizeof(file), "%s.form", facts[_i].event);
	body = fixture_read(file, &len);
	root = decode(body, len, &err);
	ck_assert_msg(root != NULL, "%s: %s", file, err.reason);
	ck_assert_pstr_eq(
	    json_string_value(at(root, facts[_i].path)), facts[_i].value);
	json_decref(root);
	free(body);
}
END_TEST

START_TEST(test_shapes)
{
	char *body;
	struct err err;
	json_t *root;
	size_t len;

	body = fixture_read("ONIMCONNECTORMESSAGEDELETE.form", &len);
	root = decode(body, len, &err);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_is_array(at(root, "data.MESSAGES")));
	ck_assert_uint_eq(json_array_size(at(root, "data.MESSAGES")), 2);
	json_decref(root);
	free(body);

	body = fixture_read("ONIMCONNECTORLINEDELETE.form", &len);
	root = decode(body, len, &err);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_is_string(at(root, "data")));
	json_decref(root);
	free(body);

	body = fixture_read("ONIMCONNECTORMESSAGEUPDATE.form", &len);
	root = decode(body, len, &err);
	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(
	    json_array_size(at(root, "data.MESSAGES.0.message.id")), 1);
	json_decref(root);
	free(body);

	body = fixture_read("ONSESSIONSTART.form", &len);
	root = decode(body, len, &err);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_is_object(at(root, "data.DATA")));
	json_decref(root);
	free(body);
}
END_TEST

START_TEST(test_length)
{
	static const char raw[] = "a=x\0y&b[\0]=2";
	char *s;

	/* the body need not be NUL-terminated; len is what counts */
	s = dump("a=1&b=2", 3);
	ck_assert_pstr_eq(s, "{\"a\":\"1\"}");
	free(s);
	s = dump("a=%41", 4);
	ck_assert_ptr_null(s);
	/* a raw NUL is kept in a value and refused in a name */
	s = dump(raw, 5);
	ck_assert_pstr_eq(s, "{\"a\":\"x\\u0000y\"}");
	free(s);
	s = dump(raw, sizeof(raw) - 1);
	ck_assert_ptr_null(s);
}
END_TEST

/*
 * Pairs short enough to be decoded on the stack (under 2048 bytes as
 * sent) and longer ones, in either order, around the boundary: each
 * value whole and in its place.
 */
START_TEST(test_long_pairs)
{
	/* as sent, "vI=%41" and len - 1 'b's: len + 5 bytes */
	static const size_t lens[] = { 5, 2041, 2042, 2043, 2044, 6000, 3 };
	char *body = malloc(32 * 1024), *p = body, name[8];
	const char *v;
	struct err err;
	json_t *root;
	size_t i;

	ck_assert_ptr_nonnull(body);
	for (i = 0; i < NELEM(lens); i++) {
		p += sprintf(p, "%sv%zu=%%41", i ? "&" : "", i);
		memset(p, 'b', lens[i] - 1);
		p += lens[i] - 1;
	}
	root = decode(body, (size_t)(p - body), &err);
	ck_assert_ptr_nonnull(root);
	for (i = 0; i < NELEM(lens); i++) {
		snprintf(name, sizeof(name), "v%zu", i);
		v = json_string_value(json_object_get(root, name));
		ck_assert_ptr_nonnull(v);
		ck_assert_uint_eq(strlen(v), lens[i]);
		ck_assert_int_eq(v[0], 'A');
		ck_assert_uint_eq(strspn(v + 1, "b"), lens[i] - 1);
	}
	json_decref(root);
	free(body);
}
END_TEST

START_TEST(test_reasons)
{
	struct err err;

	ck_assert_int_eq(fail_code("a=1&b=%zz", 9, &err), ERR_MALFORMED_BODY);
	ck_assert_str_eq(err.reason, "bad_escape at byte 6");
	ck_assert_int_eq(fail_code("a=1&[b]=2", 9, &err), ERR_MALFORMED_BODY);
	ck_assert_str_eq(err.reason, "empty_name at byte 4");
}
END_TEST

/* jansson allocations left before the next fails; -1 is no limit */
static long alloc_budget = -1;

static void *
budget_malloc(size_t size)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(size);
}

/*
 * each jansson allocation failing in turn, the whole tree and the one
 * with its secrets taken out (_i): ERR_INTERNAL, the slots empty,
 * nothing leaks
 */
START_TEST(test_alloc)
{
	static const char body[] =
	    "a[]=1&a[]=2&b[c][d]=3&a=x&e[0]=1&e[x][]=2"
	    "&auth[application_token]=t&auth[0]=1&auth[client_endpoint]=c";
	struct auth_secrets secrets = { 0 }, *sp = _i ? &secrets : NULL;
	struct err err;
	json_t *root;
	long n;
	int rc;

	json_set_alloc_funcs(budget_malloc, free);
	for (n = 0;; n++) {
		alloc_budget = n;
		root = (json_t *)&root;
		rc = form_decode(body, strlen(body), &root, sp, &err);
		alloc_budget = -1;
		if (rc == 0)
			break;
		ck_assert_ptr_null(root);
		ck_assert_int_eq(err.code, ERR_INTERNAL);
		ck_assert_ptr_null(secrets.slot[AUTH_APPLICATION_TOKEN].value);
	}
	json_set_alloc_funcs(malloc, free);
	ck_assert_int_gt(n, 10);
	if (sp != NULL)
		ck_assert_pstr_eq(
		    secrets.slot[AUTH_APPLICATION_TOKEN].value, "t");
	secrets_clear(&secrets);
	json_decref(root);
}
END_TEST

/*
 * Bodies decoded with their secrets taken out: the tree and the slots
 * (application, access, refresh token; NULL: empty).  PHP's replace
 * rules hold across the two (tests/check_decode.c checks the parity on
 * many more bodies).
 */
static const struct {
	const char *body;
	const char *json;
	const char *slot[AUTH_SECRETS];
} taken[] = {
    {"auth[application_token]=t&auth[member_id]=m",
        "{\"auth\":{\"member_id\":\"m\"}}", {"t", NULL, NULL}},
    {"auth[access_token]=a&auth[refresh_token]=r&auth[application_token]=t"
     "&auth[client_endpoint]=c&auth[server_endpoint]=s",
        "{\"auth\":{}}", {"t", "a", "r"}},
    {"auth[client_endpoint]=c&auth[server_endpoint]=s",
        "{\"auth\":{}}", {NULL, NULL, NULL}},
    /* a later value replaces the slot's */
    {"auth%5Bapplication_token%5D=a&auth[application_token]=b",
        "{\"auth\":{}}", {"b", NULL, NULL}},
    {"auth[application_token]=&auth[refresh_token]",
        "{\"auth\":{}}", {"", NULL, ""}},
    /* a value replaces a map, a map a value */
    {"auth[application_token][x]=1&auth[application_token]=t",
        "{\"auth\":{}}", {"t", NULL, NULL}},
    {"auth[application_token]=t&auth[application_token][x]=1",
        "{\"auth\":{\"application_token\":{\"x\":\"1\"}}}",
        {NULL, NULL, NULL}},
    {"auth[application_token]=t&auth[application_token][]=u",
        "{\"auth\":{\"application_token\":[\"u\"]}}", {NULL, NULL, NULL}},
    {"auth[client_endpoint][x]=1&auth[client_endpoint]=c",
        "{\"auth\":{}}", {NULL, NULL, NULL}},
    {"auth[client_endpoint][]=c",
        "{\"auth\":{\"client_endpoint\":[\"c\"]}}", {NULL, NULL, NULL}},
    {"auth[application_token]=t&auth[access_token][x]=1"
     "&auth[access_token]=a&auth[application_token]=u",
        "{\"auth\":{}}", {"u", "a", NULL}},
    /* a value replacing auth empties every slot */
    {"auth[application_token]=t&auth[access_token]=a&auth=s",
        "{\"auth\":\"s\"}", {NULL, NULL, NULL}},
    {"auth[application_token]=t&auth=s&auth[0]=a",
        "{\"auth\":[\"a\"]}", {NULL, NULL, NULL}},
    {"auth=s&auth[application_token]=t", "{\"auth\":{}}", {"t", NULL, NULL}},
    /* a member taken out was no index: auth stays an object */
    {"auth[0]=a&auth[application_token]=t",
        "{\"auth\":{\"0\":\"a\"}}", {"t", NULL, NULL}},
    {"auth[]=a&auth[client_endpoint]=c&auth[]=b",
        "{\"auth\":{\"0\":\"a\",\"1\":\"b\"}}", {NULL, NULL, NULL}},
    {"auth[]=a&auth[]=b", "{\"auth\":[\"a\",\"b\"]}", {NULL, NULL, NULL}},
    /* only the top-level auth's members, by their exact names */
    {"data[auth][application_token]=t&auth[Application_token]=u"
     "&auth[application_token][x]=1",
        "{\"data\":{\"auth\":{\"application_token\":\"t\"}},"
        "\"auth\":{\"Application_token\":\"u\","
        "\"application_token\":{\"x\":\"1\"}}}",
        {NULL, NULL, NULL}},
};

START_TEST(test_taken)
{
	struct auth_secrets secrets = { 0 };
	const char *body = taken[_i].body, *want;
	struct err err;
	json_t *root;
	char *s;
	int i;

	/* what the slots held before the call is dropped */
	ck_assert_int_eq(secrets_set(&secrets, AUTH_REFRESH_TOKEN, "old", 3),
	    0);
	ck_assert_int_eq(
	    form_decode(body, strlen(body), &root, &secrets, &err), 0);
	s = json_dumps(root, JSON_COMPACT);
	ck_assert_msg(strcmp(s, taken[_i].json) == 0, "\"%s\" gave %s, not %s",
	    body, s, taken[_i].json);
	for (i = 0; i < AUTH_SECRETS; i++) {
		want = taken[_i].slot[i];
		ck_assert_msg(want == NULL
			? secrets.slot[i].value == NULL
			: secrets.slot[i].value != NULL &&
			    secrets.slot[i].len == strlen(want) &&
			    strcmp(secrets.slot[i].value, want) == 0,
		    "\"%s\": slot %s is %s, not %s", body, secrets_name(i),
		    secrets.slot[i].value ? secrets.slot[i].value : "empty",
		    want ? want : "empty");
	}
	free(s);
	json_decref(root);
	secrets_clear(&secrets);
}
END_TEST

/* A slot keeps a NUL; a refused body leaves every slot empty. */
START_TEST(test_taken_edges)
{
	struct auth_secrets secrets = { 0 };
	struct err err;
	json_t *root;
	char *body;

	ck_assert_int_eq(form_decode("auth[access_token]=x%00y", 24, &root,
			     &secrets, &err),
	    0);
	ck_assert_uint_eq(secrets.slot[AUTH_ACCESS_TOKEN].len, 3);
	ck_assert_mem_eq(secrets.slot[AUTH_ACCESS_TOKEN].value, "x\0y", 4);
	json_decref(root);
	root = (json_t *)&root;
	ck_assert_int_eq(form_decode("auth[application_token]=t&b=%zz", 31,
			     &root, &secrets, &err),
	    -1);
	ck_assert_ptr_null(root);
	ck_assert_str_eq(err.reason, "bad_escape at byte 28");
	ck_assert_ptr_null(secrets.slot[AUTH_APPLICATION_TOKEN].value);
	ck_assert_ptr_null(secrets.slot[AUTH_ACCESS_TOKEN].value);
	/* a token past the stack's scratch (2048 bytes) */
	body = repeat("auth[application_token]=", "t", 6000, "");
	ck_assert_int_eq(
	    form_decode(body, strlen(body), &root, &secrets, &err), 0);
	ck_assert_uint_eq(secrets.slot[AUTH_APPLICATION_TOKEN].len, 6000);
	json_decref(root);
	free(body);
	secrets_clear(&secrets);
}
END_TEST

/* N pairs pass, N+1 fail; empty pairs do not count */
START_TEST(test_pairs)
{
	struct err err;
	json_t *root;
	char *body;

	body = repeat("a[]=x", "&a[]=x", LIMIT_PAIRS - 1, "");
	root = decode(body, strlen(body), &err);
	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(json_array_size(at(root, "a")), LIMIT_PAIRS);
	json_decref(root);
	free(body);

	body = repeat("&&", "a[]=x&&", LIMIT_PAIRS, "&");
	root = decode(body, strlen(body), &err);
	ck_assert_ptr_nonnull(root);
	json_decref(root);
	free(body);

	body = repeat("a[]=x", "&a[]=x", LIMIT_PAIRS, "");
	ck_assert_int_eq(
	    fail_code(body, strlen(body), &err), ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=pairs max=10000");
	free(body);
}
END_TEST

/* N keys on a path pass, N+1 fail */
START_TEST(test_depth)
{
	struct err err;
	json_t *root, *v;
	char *body;
	int i;

	body = repeat("a", "[b]", LIMIT_DEPTH - 1, "=v");
	root = decode(body, strlen(body), &err);
	ck_assert_ptr_nonnull(root);
	for (v = root, i = 0; i < LIMIT_DEPTH; i++)
		v = json_object_get(v, i == 0 ? "a" : "b");
	ck_assert_pstr_eq(json_string_value(v), "v");
	json_decref(root);
	free(body);

	body = repeat("a", "[]", LIMIT_DEPTH - 1, "=v");
	root = decode(body, strlen(body), &err);
	ck_assert_ptr_nonnull(root);
	json_decref(root);
	free(body);

	body = repeat("a", "[b]", LIMIT_DEPTH, "=v");
	ck_assert_int_eq(
	    fail_code(body, strlen(body), &err), ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=depth max=32");
	free(body);

	body = repeat("a", "%5B%5D", LIMIT_DEPTH, "=v");
	ck_assert_int_eq(
	    fail_code(body, strlen(body), &err), ERR_LIMIT_EXCEEDED);
	free(body);

	/* a hostile nesting is refused, not a stack overflow */
	body = repeat("a", "[b]", 10000, "=v");
	ck_assert_int_eq(
	    fail_code(body, strlen(body), &err), ERR_LIMIT_EXCEEDED);
	free(body);
	body = repeat("a", "%5B", 10000, "=v");
	ck_assert_int_eq(
	    fail_code(body, strlen(body), &err), ERR_LIMIT_EXCEEDED);
	free(body);
}
END_TEST

/* a decoded name of N bytes passes, N+1 fails */
START_TEST(test_key)
{
	struct err err;
	json_t *root;
	char *body;

	body = repeat("", "a", LIMIT_KEY, "=1");
	root = decode(body, strlen(body), &err);
	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(json_object_size(root), 1);
	json_decref(root);
	free(body);

	/* the decoded length counts, not the encoded one */
	body = repeat("", "%61", LIMIT_KEY, "=1");
	root = decode(body, strlen(body), &err);
	ck_assert_ptr_nonnull(root);
	json_decref(root);
	free(body);

	body = repeat("a[", "b", LIMIT_KEY - 3, "]=1");
	root = decode(body, strlen(body), &err);
	ck_assert_ptr_nonnull(root);
	json_decref(root);
	free(body);

	body = repeat("", "a", LIMIT_KEY + 1, "=1");
	ck_assert_int_eq(
	    fail_code(body, strlen(body), &err), ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=key max=512");
	free(body);

	body = repeat("a[", "b", LIMIT_KEY - 2, "]=1");
	ck_assert_int_eq(
	    fail_code(body, strlen(body), &err), ERR_LIMIT_EXCEEDED);
	free(body);
}
END_TEST

/* the append index is an int64: the one after INT64_MAX is refused */
static const struct {
	const char *body;
	const char *json; /* NULL: ERR_LIMIT_EXCEEDED */
} indexes[] = {
    {"a[9223372036854775806]=x&a[]=y",
        "{\"a\":{\"9223372036854775806\":\"x\","
        "\"9223372036854775807\":\"y\"}}"},
    {"a[9223372036854775807]=x&a[]=y", NULL},
    {"a[9223372036854775807]=x&a[x][]=y&a[]=z", NULL},
    /* past int64 a key is a string and does not move the index */
    {"a[9223372036854775808]=x&a[]=y",
        "{\"a\":{\"9223372036854775808\":\"x\",\"0\":\"y\"}}"},
    {"a[-9223372036854775808]=x&a[]=y",
        "{\"a\":{\"-9223372036854775808\":\"x\","
        "\"-9223372036854775807\":\"y\"}}"},
    {"a[-9223372036854775809]=x&a[]=y",
        "{\"a\":{\"-9223372036854775809\":\"x\",\"0\":\"y\"}}"},
};

START_TEST(test_index)
{
	const char *body = indexes[_i].body;
	struct err err;
	char *s;

	if (indexes[_i].json == NULL) {
		ck_assert_int_eq(
		    fail_code(body, strlen(body), &err), ERR_LIMIT_EXCEEDED);
		ck_assert_str_eq(
		    err.reason, "limit=index max=9223372036854775807");
		return;
	}
	s = dump(body, strlen(body));
	ck_assert_pstr_eq(s, indexes[_i].json);
	free(s);
}
END_TEST

static Suite *
form_suite(void)
{
	Suite *s = suite_create("form");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, test_valid, 0, (int)NELEM(valid));
	tcase_add_loop_test(core, test_invalid, 0, (int)NELEM(invalid));
	tcase_add_test(core, test_fixtures);
	tcase_add_loop_test(core, test_facts, 0, (int)NELEM(facts));
	tcase_add_test(core, test_shapes);
	tcase_add_test(core, test_length);
	tcase_add_test(core, test_long_pairs);
	tcase_add_test(core, test_reasons);
	tcase_add_loop_test(core, test_alloc, 0, 2);
	tcase_add_loop_test(core, test_taken, 0, (int)NELEM(taken));
	tcase_add_test(core, test_taken_edges);
	suite_add_tcase(s, core);

	tcase_add_test(limits, test_pairs);
	tcase_add_test(limits, test_depth);
	tcase_add_test(limits, test_key);
	tcase_add_loop_test(limits, test_index, 0, (int)NELEM(indexes));
	tcase_set_timeout(limits, 30);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(form_suite());
}
