/*
 * The request pipeline: settings, the checks before the body, decode ->
 * verify -> normalise -> append, and the reply and operator line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "request.h"
#include "spool.h"
#include "testutil.h"

#define PORTAL "bac1cd5c8940947a75e0d71b1a84e348"
#define TOKEN "831c76b092f9f135d9b6b36c3a720757"

static const struct timespec received = { 1773759200, 0 };
static char allow_path[4096], log_dir[4096];
static struct settings settings;
static struct responder responder;

static const char *setting[4]; /* ALLOWLIST, LOG_DIR, MAX_BODY, FSYNC */
/* ENROLL_DIR, CLIENT_ID, OAUTH_URL, OAUTH_CA */
static const char *enroll_setting[4];

static const char *
lookup(const char *name)
{
	static const char *const names[] = { "B24HOOK_ALLOWLIST",
		"B24HOOK_LOG_DIR", "B24HOOK_MAX_BODY", "B24HOOK_FSYNC" };
	static const char *const enroll_names[] = { "B24HOOK_ENROLL_DIR",
		"B24HOOK_CLIENT_ID", "B24HOOK_OAUTH_URL", "B24HOOK_OAUTH_CA" };
	size_t i;

	for (i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return setting[i];
	for (i = 0; i < 4; i++)
		if (strcmp(name, enroll_names[i]) == 0)
			return enroll_setting[i];
	return NULL;
}

/* settings_read with these four values (NULL: unset) */
static int
settings_from(const char *allowlist, const char *logs,
    const char *max_body, const char *fsync, struct settings *s,
    struct err *err)
{
	setting[0] = allowlist;
	setting[1] = logs;
	setting[2] = max_body;
	setting[3] = fsync;
	return settings_read(lookup, s, err);
}

/* jansson on the responder's arena, as cgi/b24hook.c runs it */
static void *
arena_json_alloc(size_t n)
{
	return arena_alloc(&responder.arena, n);
}

static void
arena_json_free(void *p)
{
	arena_free(&responder.arena, p);
}

static void
setup(void)
{
	size_t len;
	char *allow = fixture_read("allow.txt", &len);
	struct err err;
	FILE *f;

	tmpdir_setup();
	snprintf(allow_path, sizeof(allow_path), "%s", tmp("allow.txt"));
	snprintf(log_dir, sizeof(log_dir), "%s", tmp("logs"));
	ck_assert_int_eq(mkdir(log_dir, 0755), 0);
	ck_assert_ptr_nonnull(f = fopen(allow_path, "w"));
	fwrite(allow, 1, len, f);
	fclose(f);
	free(allow);
	ck_assert_int_eq(
	    settings_from(allow_path, log_dir, NULL, NULL, &settings, &err), 0);
	memset(&responder, 0, sizeof(responder));
	json_set_alloc_funcs(arena_json_alloc, arena_json_free);
}

/* every block jansson took in the test was given back: no leaked ref */
static void
teardown(void)
{
	ck_assert_uint_eq(arena_reset(&responder.arena), 0);
	json_set_alloc_funcs(malloc, free);
	responder_close(&responder);
	tmpdir_teardown();
}

/* Bytes in the portal's log; 0 when it does not exist. */
static off_t
log_size(const char *portal)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.jsonl", log_dir, portal);
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* request_process; its secrets are wiped once it returns, whatever happened */
static int
process(const char *body, enum media media, struct outcome *o)
{
	int rc = request_process(body, strlen(body), media, &settings,
	    &responder, &received, o), i;

	for (i = 0; i < AUTH_SECRETS; i++) {
		ck_assert_ptr_null(responder.secrets.slot[i].value);
		ck_assert_uint_eq(responder.secrets.slot[i].len, 0);
	}
	return rc;
}

START_TEST(settings_defaults_and_errors)
{
	struct settings s;
	struct err err;

	ck_assert_int_eq(settings_from("a", "d", NULL, NULL, &s, &err), 0);
	ck_assert_uint_eq(s.max_body, LIMIT_BODY_DEFAULT);
	ck_assert_int_eq(s.fsync, 0);
	ck_assert_int_eq(settings_from("a", "d", "10", "1", &s, &err), 0);
	ck_assert_uint_eq(s.max_body, 10);
	ck_assert_int_eq(s.fsync, 1);
	ck_assert_ptr_null(s.enroll_dir);
	ck_assert_ptr_null(s.client_id);
	ck_assert_str_eq(s.oauth_url, "https://oauth.bitrix.info");
	ck_assert_ptr_null(s.oauth_ca);
	ck_assert_int_eq(settings_from(NULL, "d", NULL, NULL, &s, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
	ck_assert_str_eq(err.reason, "B24HOOK_ALLOWLIST unset");
	ck_assert_int_eq(settings_from("a", "", NULL, NULL, &s, &err), -1);
	ck_assert_str_eq(err.reason, "B24HOOK_LOG_DIR unset");
	ck_assert_int_eq(settings_from("a", "d", "1k", NULL, &s, &err), -1);
	ck_assert_int_eq(settings_from("a", "d", "0", NULL, &s, &err), -1);
	ck_assert_int_eq(settings_from("a", "d", "-1", NULL, &s, &err), -1);
	ck_assert_int_eq(settings_from("a", "d", NULL, "yes", &s, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
}
END_TEST

START_TEST(settings_body_ceiling)
{
	char n[32];
	struct settings s;
	struct err err;

	snprintf(n, sizeof(n), "%d", LIMIT_BODY_CEILING);
	ck_assert_int_eq(settings_from("a", "d", n, NULL, &s, &err), 0);
	snprintf(n, sizeof(n), "%d", LIMIT_BODY_CEILING + 1);
	ck_assert_int_eq(settings_from("a", "d", n, NULL, &s, &err), -1);
	ck_assert_int_eq(err.code, ERR_CONFIG);
}
END_TEST

static const struct {
	const char *method, *type, *length;
	enum err_code code;
} checks[] = {
	{ "POST", NULL, "10", ERR_OK },
	{ "POST", "", "10", ERR_OK },
	{ "POST", "application/x-www-form-urlencoded", "0", ERR_OK },
	{ "POST", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "1",
	    ERR_OK },
	{ "POST", "application/json", "10", ERR_OK },
	{ "POST", " application/json ;charset=utf-8", "10", ERR_OK },
	{ "GET", NULL, "10", ERR_METHOD_NOT_ALLOWED },
	{ "post", NULL, "10", ERR_METHOD_NOT_ALLOWED },
	{ NULL, NULL, "10", ERR_METHOD_NOT_ALLOWED },
	{ "POST", "text/plain", "10", ERR_UNSUPPORTED_MEDIA_TYPE },
	{ "POST", "multipart/form-data; boundary=x", "10",
	    ERR_UNSUPPORTED_MEDIA_TYPE },
	{ "POST", "application/jsonx", "10", ERR_UNSUPPORTED_MEDIA_TYPE },
	{ "POST", NULL, NULL, ERR_LENGTH_REQUIRED },
	{ "POST", NULL, "", ERR_LENGTH_REQUIRED },
	{ "POST", NULL, "ten", ERR_MALFORMED_BODY },
	{ "POST", NULL, "-1", ERR_MALFORMED_BODY },
	{ "POST", NULL, "1 ", ERR_MALFORMED_BODY },
	{ "POST", NULL, "99999999999999999999999", ERR_MALFORMED_BODY },
};

START_TEST(check_table)
{
	struct err err = { 0 };
	enum media media;
	size_t len;
	int rc;

	rc = request_check(checks[_i].method, checks[_i].type,
	    checks[_i].length, &settings, &media, &len, &err);
	ck_assert_int_eq(rc, checks[_i].code == ERR_OK ? 0 : -1);
	if (rc == -1)
		ck_assert_int_eq(err.code, checks[_i].code);
}
END_TEST

START_TEST(check_max_body)
{
	struct err err;
	enum media media;
	size_t len;

	settings.max_body = 100;
	ck_assert_int_eq(request_check("POST", NULL, "100", &settings, &media,
			     &len, &err),
	    0);
	ck_assert_uint_eq(len, 100);
	ck_assert_int_eq(request_check("POST", NULL, "101", &settings, &media,
			     &len, &err),
	    -1);
	ck_assert_int_eq(err.code, ERR_BODY_TOO_LARGE);
}
END_TEST

/* A fixture as a portal sends it: on disk only after the append. */
START_TEST(process_fixture)
{
	size_t len;
	char *body = fixture_read("ONIMCONNECTORMESSAGEDELETE.form", &len);
	struct outcome o;

	ck_assert_int_eq(request_process(body, len, MEDIA_FORM, &settings,
			     &responder, &received, &o),
	    0);
	ck_assert_int_eq(o.err.code, ERR_OK);
	ck_assert_uint_eq(o.records, 2);
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), 2);
	ck_assert_ptr_nonnull(o.reloaded);
	ck_assert_str_eq(o.member_id, PORTAL);
	ck_assert_str_eq(o.event, "ONIMCONNECTORMESSAGEDELETE");
	/* the second request uses the cached allow-list */
	ck_assert_int_eq(request_process(body, len, MEDIA_FORM, &settings,
			     &responder, &received, &o),
	    0);
	ck_assert_ptr_null(o.reloaded);
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), 4);
	free(body);
}
END_TEST

/*
 * The responder's buffers: kept for the next request, freed after one
 * that grew them past RESPONDER_KEEP, and never carrying a record over.
 */
START_TEST(process_buffers_recycled)
{
	static const char head[] = "event=ONAPPTEST&data[x]=";
	static const char auth[] = "&auth[member_id]=" PORTAL
				   "&auth[application_token]=" TOKEN;
	size_t big = 2 * RESPONDER_KEEP;
	char *body = malloc(sizeof(head) + big + sizeof(auth));
	struct outcome o;
	char *p = body;

	ck_assert_ptr_nonnull(body);
	p = stpcpy(p, head);
	memset(p, 'y', big);
	strcpy(p + big, auth);
	ck_assert_int_eq(process("event=ONAPPTEST&data[x]=1" "&auth[member_id]="
				 PORTAL "&auth[application_token]=" TOKEN,
			     MEDIA_FORM, &o),
	    0);
	ck_assert_uint_eq(responder.records.len, 0);
	ck_assert_uint_gt(responder.records.cap, 0);
	ck_assert_uint_le(responder.records.cap, RESPONDER_KEEP);
	ck_assert_int_eq(process(body, MEDIA_FORM, &o), 0);
	ck_assert_ptr_null(responder.records.data);
	ck_assert_uint_eq(responder.records.cap, 0);
	ck_assert_int_eq(process("event=ONAPPTEST&data[x]=2" "&auth[member_id]="
				 PORTAL "&auth[application_token]=" TOKEN,
			     MEDIA_FORM, &o),
	    0);
	ck_assert_uint_eq(o.records, 1);
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), 3);
	ck_assert_int_lt(log_size(PORTAL), (off_t)big + 4096);
	free(body);
}
END_TEST

/* Refusals: the precise reason, and nothing written. */
static const struct {
	const char *body;
	enum err_code code;
	const char *reason;
} refusals[] = {
	{ "PLACEMENT=SETTING_CONNECTOR&AUTH_ID=x", ERR_NOT_AN_EVENT,
	    "no event key" },
	{ "event=&auth[member_id]=" PORTAL "&auth[application_token]=" TOKEN,
	    ERR_NOT_AN_EVENT, "empty event" },
	{ "event[a]=ONX&auth[member_id]=" PORTAL, ERR_MALFORMED_BODY,
	    "event not a string" },
	{ "event=ON%0AX&auth[member_id]=" PORTAL, ERR_MALFORMED_BODY,
	    "event not [A-Za-z0-9_]" },
	{ "event=ONX", ERR_MISSING_AUTH, "no auth[member_id]" },
	{ "event=ONX&auth=1", ERR_MISSING_AUTH, "no auth[member_id]" },
	{ "event=ONX&auth[member_id]=" PORTAL, ERR_MISSING_AUTH,
	    "no auth[application_token]" },
	{ "event=ONX&auth[member_id]=" PORTAL "&auth[application_token]=",
	    ERR_MISSING_AUTH, "no auth[application_token]" },
	{ "event=ONX&auth[member_id]=" PORTAL "&auth[application_token][]="
	  TOKEN,
	    ERR_MISSING_AUTH, "no auth[application_token]" },
	{ "event=ONX&auth[application_token]=" TOKEN "&auth=x"
	  "&auth[member_id]=" PORTAL,
	    ERR_MISSING_AUTH, "no auth[application_token]" },
	{ "event=ONX&auth[member_id]=" PORTAL "&auth[application_token]=x",
	    ERR_FORBIDDEN, "token_mismatch" },
	{ "event=ONX&auth[member_id]=" PORTAL "&auth[application_token]=" TOKEN
	  "0",
	    ERR_FORBIDDEN, "token_mismatch" },
	{ "event=ONX&auth[member_id]=a223c6b3710f85df22e9377d6c4f7553&"
	  "auth[application_token]=" TOKEN,
	    ERR_FORBIDDEN, "token_mismatch" },
	{ "event=ONX&auth[member_id]=../../x&auth[application_token]=" TOKEN,
	    ERR_FORBIDDEN, "unknown_portal" },
	/* a decoded %00 must not cut a name to a valid or listed prefix */
	{ "event=ONX%00zz&auth[member_id]=" PORTAL
	  "&auth[application_token]=" TOKEN,
	    ERR_MALFORMED_BODY, "event not [A-Za-z0-9_]" },
	{ "event=ONX&auth[member_id]=" PORTAL
	  "%00../x&auth[application_token]=" TOKEN,
	    ERR_FORBIDDEN, "unknown_portal" },
	{ "event=ONX&auth[member_id]=%FF", ERR_INVALID_UTF8, NULL },
	{ "a=%zz", ERR_MALFORMED_BODY, NULL },
};

START_TEST(process_refusals)
{
	struct outcome o;

	ck_assert_int_eq(process(refusals[_i].body, MEDIA_FORM, &o), -1);
	ck_assert_int_eq(o.err.code, refusals[_i].code);
	if (refusals[_i].reason != NULL)
		ck_assert_str_eq(o.err.reason, refusals[_i].reason);
	ck_assert_uint_eq(o.records, 0);
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), 0);
	ck_assert_uint_eq(log_lines(log_dir, "a223c6b3710f85df22e9377d6c4f7553"), 0);
}
END_TEST

START_TEST(process_json)
{
	struct outcome o;

	ck_assert_int_eq(process("{\"event\":\"onx\",\"auth\":{\"member_id\":"
				 "\"" PORTAL "\",\"application_token\":"
				 "\"" TOKEN "\"}}",
			     MEDIA_JSON, &o),
	    0);
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), 1);
	/* a token that is no string is none */
	ck_assert_int_eq(process("{\"event\":\"onx\",\"auth\":{\"member_id\":"
				 "\"" PORTAL "\",\"application_token\":"
				 "[\"" TOKEN "\"]}}",
			     MEDIA_JSON, &o),
	    -1);
	ck_assert_str_eq(o.err.reason, "no auth[application_token]");
	ck_assert_int_eq(process("[1]", MEDIA_JSON, &o), -1);
	ck_assert_int_eq(o.err.code, ERR_MALFORMED_BODY);
	ck_assert_int_eq(process("{\"event\":\"a\",\"event\":\"b\"}",
			     MEDIA_JSON, &o),
	    -1);
	ck_assert_int_eq(o.err.code, ERR_MALFORMED_BODY);
}
END_TEST

START_TEST(process_config_and_storage)
{
	const char *body = "event=ONX&auth[member_id]=" PORTAL
			   "&auth[application_token]=" TOKEN;
	struct outcome o;

	settings.log_dir = "/nonexistent/b24hook";
	ck_assert_int_eq(process(body, MEDIA_FORM, &o), -1);
	ck_assert_int_eq(o.err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(o.err.reason, "open errno=ENOENT");
	settings.log_dir = log_dir;
	ck_assert_int_eq(unlink(allow_path), 0);
	ck_assert_int_eq(process(body, MEDIA_FORM, &o), -1);
	ck_assert_int_eq(o.err.code, ERR_CONFIG);
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), 0);
}
END_TEST

/* enroll_settings: settings_read with these (NULL: unset) */
static int
enroll_settings(const char *dir, const char *client, const char *url,
    const char *ca, struct settings *s, struct err *err)
{
	int rc;

	enroll_setting[0] = dir;
	enroll_setting[1] = client;
	enroll_setting[2] = url;
	enroll_setting[3] = ca;
	rc = settings_from("a", "d", NULL, NULL, s, err);
	memset(enroll_setting, 0, sizeof(enroll_setting));
	return rc;
}

START_TEST(settings_enrollment)
{
	static const char *const bad_urls[] = { "http://oauth.bitrix.info",
		"https://", "https:///rest", "ftp://x", "https://x/?a=1",
		"https://x#f", "https://a b", "oauth.bitrix.info",
		"HTTPS://x" };
	struct settings s;
	struct err err;
	size_t i;

	ck_assert_int_eq(enroll_settings("/spool", "local.1.2",
			     "https://oauth.bitrix24.tech/", "/ca.pem", &s,
			     &err),
	    0);
	ck_assert_str_eq(s.enroll_dir, "/spool");
	ck_assert_str_eq(s.client_id, "local.1.2");
	ck_assert_str_eq(s.oauth_url, "https://oauth.bitrix24.tech/");
	ck_assert_str_eq(s.oauth_ca, "/ca.pem");
	/* empty is unset */
	ck_assert_int_eq(enroll_settings("", "", "", "", &s, &err), 0);
	ck_assert_ptr_null(s.enroll_dir);
	ck_assert_ptr_null(s.client_id);
	ck_assert_str_eq(s.oauth_url, SETTINGS_OAUTH_URL);
	ck_assert_ptr_null(s.oauth_ca);
	ck_assert_int_eq(enroll_settings(NULL, NULL, "https://127.0.0.1:8443",
			     NULL, &s, &err),
	    0);
	for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		ck_assert_msg(enroll_settings(NULL, NULL, bad_urls[i], NULL,
				  &s, &err) == -1,
		    "%s", bad_urls[i]);
		ck_assert_int_eq(err.code, ERR_CONFIG);
		ck_assert_str_eq(err.reason, "B24HOOK_OAUTH_URL not "
		    "https://host (at most 512 bytes, no query)");
	}
	ck_assert_int_eq(enroll_settings(NULL, "a b", NULL, NULL, &s, &err),
	    -1);
	ck_assert_str_eq(err.reason,
	    "B24HOOK_CLIENT_ID not 1..128 printable bytes");
}
END_TEST

START_TEST(settings_enrollment_limits)
{
	char url[LIMIT_URL + 2], client[LIMIT_CLIENT_ID + 2];
	struct settings s;
	struct err err;

	memset(url, 'h', sizeof(url));
	memcpy(url, "https://", 8);
	url[LIMIT_URL] = '\0';
	ck_assert_int_eq(enroll_settings(NULL, NULL, url, NULL, &s, &err), 0);
	url[LIMIT_URL] = 'h';
	url[LIMIT_URL + 1] = '\0';
	ck_assert_int_eq(enroll_settings(NULL, NULL, url, NULL, &s, &err), -1);
	memset(client, 'c', sizeof(client));
	client[LIMIT_CLIENT_ID] = '\0';
	ck_assert_int_eq(enroll_settings(NULL, client, NULL, NULL, &s, &err),
	    0);
	client[LIMIT_CLIENT_ID] = 'c';
	client[LIMIT_CLIENT_ID + 1] = '\0';
	ck_assert_int_eq(enroll_settings(NULL, client, NULL, NULL, &s, &err),
	    -1);
}
END_TEST

#define NEW_PORTAL "0123456789abcdef0123456789abcdef"
#define INSTALL(event, member, token)                                     \
	"event=" event "&data[VERSION]=1&auth[member_id]=" member          \
	"&auth[domain]=portal.bitrix24.com&auth[application_token]=" token \
	"&auth[access_token]=access-token-1&auth[user_id]=1"

/* spool_files: the claims kept in settings.enroll_dir */
static size_t
spool_files(void)
{
	struct spool_list l;
	struct err err;
	size_t n;

	ck_assert_int_eq(spool_load(settings.enroll_dir, &l, &err), 0);
	n = l.n;
	spool_list_free(&l);
	return n;
}

/* With enrollment on, an install not listed is kept: 202, no log. */
START_TEST(process_claim)
{
	char reply[REPLY_SIZE], line[OPERATOR_LINE_SIZE];
	struct outcome o;

	ck_assert_int_eq(mkdir(tmp("spool"), 0700), 0);
	settings.enroll_dir = tmp("spool");
	ck_assert_int_eq(process(INSTALL("ONAPPINSTALL", NEW_PORTAL, "tok"),
			     MEDIA_FORM, &o),
	    0);
	ck_assert_int_eq(o.err.code, ERR_ENROLLMENT_PENDING);
	ck_assert_str_eq(o.member_id, NEW_PORTAL);
	ck_assert_str_eq(o.domain, "portal.bitrix24.com");
	ck_assert_uint_eq(o.records, 0);
	ck_assert_uint_eq(log_lines(log_dir, NEW_PORTAL), 0);
	ck_assert_uint_eq(spool_files(), 1);
	reply_render(&o, reply, sizeof(reply));
	ck_assert_str_eq(reply, "Status: 202 Accepted\r\n"
				"Content-Type: application/json\r\n\r\n"
				"{\"status\":\"pending\"}\n");
	reply_operator_line(&o, line, sizeof(line));
	ck_assert_str_eq(line, "b24hook: 202 enrollment_pending member_id="
	    NEW_PORTAL " domain=portal.bitrix24.com\n");

	/* a listed portal's new token (ONAPPUPDATE): kept too */
	ck_assert_int_eq(process(INSTALL("ONAPPUPDATE", PORTAL, "new-token"),
			     MEDIA_FORM, &o),
	    0);
	ck_assert_int_eq(o.err.code, ERR_ENROLLMENT_PENDING);
	ck_assert_uint_eq(spool_files(), 2);
	/* a listed portal with its listed token: an event as any other */
	ck_assert_int_eq(process(INSTALL("ONAPPINSTALL", PORTAL, TOKEN),
			     MEDIA_FORM, &o),
	    0);
	ck_assert_int_eq(o.err.code, ERR_OK);
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), 1);
	ck_assert_uint_eq(spool_files(), 2);
}
END_TEST

/* What is refused as before, with enrollment on or off. */
static const struct {
	const char *body;
	int enroll;
	const char *reason;
} not_claims[] = {
	{ INSTALL("ONAPPINSTALL", NEW_PORTAL, "tok"), 0, "unknown_portal" },
	{ INSTALL("ONAPPUNINSTALL", NEW_PORTAL, "tok"), 1, "unknown_portal" },
	{ INSTALL("ONIMCONNECTORMESSAGEADD", NEW_PORTAL, "tok"), 1,
	    "unknown_portal" },
	{ INSTALL("ONAPPINSTALL", PORTAL "x", "t%20k"), 1, "unknown_portal" },
	{ "event=ONAPPINSTALL&auth[member_id]=" NEW_PORTAL
	  "&auth[domain]=portal.bitrix24.com&auth[application_token]=tok",
	    1, "unknown_portal" },
	{ "event=ONAPPINSTALL&auth[member_id]=" NEW_PORTAL
	  "&auth[domain]=a/b&auth[application_token]=tok"
	  "&auth[access_token]=acc",
	    1, "unknown_portal" },
	{ "event=ONAPPINSTALL&auth[member_id]=" PORTAL
	  "&auth[domain]=portal.bitrix24.com&auth[application_token]=x"
	  "&auth[access_token]=",
	    1, "token_mismatch" },
};

START_TEST(process_not_claims)
{
	struct outcome o;

	ck_assert_int_eq(mkdir(tmp("spool"), 0700), 0);
	settings.enroll_dir = not_claims[_i].enroll ? tmp("spool") : NULL;
	ck_assert_int_eq(process(not_claims[_i].body, MEDIA_FORM, &o), -1);
	ck_assert_int_eq(o.err.code, ERR_FORBIDDEN);
	ck_assert_str_eq(o.err.reason, not_claims[_i].reason);
	settings.enroll_dir = tmp("spool");
	ck_assert_uint_eq(spool_files(), 0);
}
END_TEST

START_TEST(process_claim_storage)
{
	struct outcome o;

	settings.enroll_dir = tmp("no-spool");
	ck_assert_int_eq(process(INSTALL("ONAPPINSTALL", NEW_PORTAL, "tok"),
			     MEDIA_FORM, &o),
	    -1);
	ck_assert_int_eq(o.err.code, ERR_STORAGE_UNAVAILABLE);
	ck_assert_str_eq(o.err.reason, "spool open errno=ENOENT");
}
END_TEST

/* LIMIT_SPOOL_ENTRY through the responder: a claim past it is refused. */
START_TEST(process_claim_too_large)
{
	size_t n = LIMIT_SPOOL_ENTRY + 1;
	char *body = malloc(n + 512), *p;
	struct outcome o;

	ck_assert_int_eq(mkdir(tmp("spool"), 0700), 0);
	settings.enroll_dir = tmp("spool");
	ck_assert_ptr_nonnull(body);
	p = stpcpy(body, INSTALL("ONAPPINSTALL", NEW_PORTAL, "tok"));
	p = stpcpy(p, "&data[pad]=");
	memset(p, 'x', n);
	p[n] = '\0';
	ck_assert_int_eq(process(body, MEDIA_FORM, &o), -1);
	ck_assert_int_eq(o.err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(o.err.reason, "limit=spool_entry max=65536");
	ck_assert_uint_eq(spool_files(), 0);
	free(body);
}
END_TEST

START_TEST(reply_texts)
{
	struct outcome o = { 0 };
	char buf[REPLY_SIZE];

	o.records = 3;
	reply_render(&o, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Status: 200 OK\r\n"
			      "Content-Type: application/json\r\n\r\n"
			      "{\"status\":\"ok\",\"records\":3}\n");
	err_set(&o.err, ERR_METHOD_NOT_ALLOWED, "method=GET");
	reply_render(&o, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Status: 405 Method Not Allowed\r\n"
			      "Content-Type: application/json\r\n"
			      "Allow: POST\r\n\r\n"
			      "{\"status\":\"error\","
			      "\"error\":\"method_not_allowed\"}\n");
	err_set(&o.err, ERR_CONFIG, "B24HOOK_ALLOWLIST unset");
	reply_render(&o, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Status: 500 Internal Server Error\r\n"
			      "Content-Type: application/json\r\n\r\n"
			      "{\"status\":\"error\","
			      "\"error\":\"config_error\"}\n");
}
END_TEST

START_TEST(operator_line)
{
	struct outcome o = { 0 };
	char line[OPERATOR_LINE_SIZE];

	err_set(&o.err, ERR_FORBIDDEN, "token_mismatch");
	strcpy(o.member_id, PORTAL);
	strcpy(o.event, "ONX");
	reply_operator_line(&o, line, sizeof(line));
	ck_assert_str_eq(line, "b24hook: 403 forbidden reason=\"token_mismatch\""
			       " member_id=" PORTAL " event=ONX\n");
	/* what a client sent cannot break the line or its quoting */
	memset(&o, 0, sizeof(o));
	err_set(&o.err, ERR_UNSUPPORTED_MEDIA_TYPE, "content_type=a\"b\nc");
	reply_operator_line(&o, line, sizeof(line));
	ck_assert_str_eq(line, "b24hook: 415 unsupported_media_type "
			       "reason=\"content_type=a?b?c\"\n");
}
END_TEST

/*
 * A refusal names the portal as the operator knows it: its label and
 * domain, and for a token that does not match, that token's fingerprint
 * ("printf %s forgedforged | b2sum -l 256 | cut -c1-8"), as b24hookctl
 * portal list shows a listed one's.
 */
START_TEST(operator_line_names_the_portal)
{
	char line[OPERATOR_LINE_SIZE];
	struct outcome o;

	ck_assert_int_eq(process("event=ONX&auth[member_id]=" PORTAL
				 "&auth[application_token]=forgedforged"
				 "&auth[domain]=acme.bitrix24.com",
			     MEDIA_FORM, &o),
	    -1);
	reply_operator_line(&o, line, sizeof(line));
	ck_assert_str_eq(line,
	    "b24hook: 403 forbidden reason=\"token_mismatch\" member_id=" PORTAL
	    " label=\"rest-docs-portal\" domain=acme.bitrix24.com event=ONX"
	    " token_fp=a00dd093\n");
	/* a domain that is no host name is left out, never quoted */
	ck_assert_int_eq(process("event=ONX&auth[member_id]=" PORTAL
				 "&auth[application_token]=forgedforged"
				 "&auth[domain]=a%22b%0Ac token_fp=0",
			     MEDIA_FORM, &o),
	    -1);
	reply_operator_line(&o, line, sizeof(line));
	ck_assert_str_eq(line,
	    "b24hook: 403 forbidden reason=\"token_mismatch\" member_id=" PORTAL
	    " label=\"rest-docs-portal\" event=ONX token_fp=a00dd093\n");
	/* an unknown portal: no label, no fingerprint */
	ck_assert_int_eq(process("event=ONX&auth[member_id]=0123"
				 "&auth[application_token]=forgedforged"
				 "&auth[domain]=x.bitrix24.com",
			     MEDIA_FORM, &o),
	    -1);
	reply_operator_line(&o, line, sizeof(line));
	ck_assert_str_eq(line,
	    "b24hook: 403 forbidden reason=\"unknown_portal\" member_id=0123"
	    " domain=x.bitrix24.com event=ONX\n");
}
END_TEST

START_TEST(event_length)
{
	char body[512], name[LIMIT_EVENT + 2];
	struct outcome o;

	memset(name, 'E', LIMIT_EVENT);
	name[LIMIT_EVENT] = '\0';
	snprintf(body, sizeof(body),
	    "event=%s&auth[member_id]=" PORTAL "&auth[application_token]=" TOKEN,
	    name);
	ck_assert_int_eq(process(body, MEDIA_FORM, &o), 0);
	strcat(name, "E");
	snprintf(body, sizeof(body),
	    "event=%s&auth[member_id]=" PORTAL "&auth[application_token]=" TOKEN,
	    name);
	ck_assert_int_eq(process(body, MEDIA_FORM, &o), -1);
	ck_assert_int_eq(o.err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(o.err.reason, "limit=event max=128");
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), 1);
}
END_TEST

/*
 * The review's amplification body, 69,210 bytes: a 60 KiB domain beside
 * 250 messages (and a CONNECTOR filling it up) made 250 records of the
 * domain each, 16 MB, refused only by the records limit.  The domain is
 * refused now, before any record is made.
 */
START_TEST(amplified_domain)
{
	static const char head[] = "event=ONIMCONNECTORMESSAGEADD"
				   "&auth[member_id]=" PORTAL
				   "&auth[application_token]=" TOKEN
				   "&auth[domain]=";
	const size_t domain = 60 * 1024, len = 69210;
	char *body = malloc(len + 1), *p;
	struct outcome o;
	size_t i;

	ck_assert_ptr_nonnull(body);
	p = stpcpy(body, head);
	memset(p, 'd', domain);
	p += domain;
	for (i = 0; i < 250; i++)
		p = stpcpy(p, "&data[MESSAGES][]=x");
	p = stpcpy(p, "&data[CONNECTOR]=");
	memset(p, 'c', len - (size_t)(p - body));
	body[len] = '\0';
	ck_assert_int_eq(process(body, MEDIA_FORM, &o), -1);
	ck_assert_int_eq(o.err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(o.err.reason, "limit=domain max=253");
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), 0);
	free(body);
}
END_TEST

/* 20 characters: the longest integer a record holds */
#define LONGEST_INT "-9223372036854775808"

/*
 * A body at the ceiling of what the limits let records amplify: items
 * items, each as short as the encoding allows, beside a domain of
 * LIMIT_DOMAIN control bytes (six bytes each in a record), a context of
 * LIMIT_CONTEXT bytes whose CONNECTOR is copied again, and integers of 20
 * characters.  With LIMIT_ITEMS items it passes, and its records come
 * within 15% of LIMIT_RECORDS of its length: the bound is tight.  With
 * one more it is refused, and nothing is written.
 */
static void
check_ceiling(enum media media, size_t items)
{
	const char *ctx = "{\"CONNECTOR\":\"\",\"LINE\":\"" LONGEST_INT "\"}";
	size_t clen = LIMIT_CONTEXT - strlen(ctx), len, i;
	struct outcome o;
	char *body;
	FILE *f;
	int rc;

	ck_assert_ptr_nonnull(f = open_memstream(&body, &len));
	if (media == MEDIA_FORM) {
		fputs("event=ONIMCONNECTORMESSAGEADD&event_handler_id="
		      LONGEST_INT "&ts=" LONGEST_INT "&auth[member_id]=" PORTAL
		      "&auth[application_token]=" TOKEN "&auth[user_id]="
		      LONGEST_INT "&data[LINE]=" LONGEST_INT "&auth[domain]=",
		    f);
		for (i = 0; i < LIMIT_DOMAIN; i++)
			fputs("%01", f);
		fputs("&data[CONNECTOR]=", f);
		for (i = 0; i < clen; i++)
			fputc('c', f);
		for (i = 0; i < items; i++)
			fputs("&data[MESSAGES][]", f);
	} else {
		/* LINE a string, as in the form */
		fputs("{\"event\":\"ONIMCONNECTORMESSAGEADD\","
		      "\"event_handler_id\":" LONGEST_INT ",\"ts\":" LONGEST_INT
		      ",\"auth\":{\"member_id\":\"" PORTAL "\","
		      "\"application_token\":\"" TOKEN "\",\"user_id\":"
		      LONGEST_INT ",\"domain\":\"",
		    f);
		for (i = 0; i < LIMIT_DOMAIN; i++)
			fputs("\\u0001", f);
		fputs("\"},\"data\":{\"CONNECTOR\":\"", f);
		for (i = 0; i < clen; i++)
			fputc('c', f);
		fputs("\",\"LINE\":\"" LONGEST_INT "\",\"MESSAGES\":[0", f);
		for (i = 1; i < items; i++)
			fputs(",0", f);
		fputs("]}}", f);
	}
	ck_assert_int_eq(fclose(f), 0);
	rc = request_process(
	    body, len, media, &settings, &responder, &received, &o);
	free(body);
	if (items > LIMIT_ITEMS) {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(o.err.code, ERR_LIMIT_EXCEEDED);
		ck_assert_str_eq(o.err.reason, "limit=items max=1000");
		ck_assert_uint_eq(log_lines(log_dir, PORTAL), 0);
		return;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(o.records, items);
	ck_assert_uint_eq(log_lines(log_dir, PORTAL), items);
	ck_assert_uint_le((size_t)log_size(PORTAL), LIMIT_RECORDS(len));
	ck_assert_msg((size_t)log_size(PORTAL) > LIMIT_RECORDS(len) / 20 * 17,
	    "%zu bytes of records, bound %zu", (size_t)log_size(PORTAL),
	    LIMIT_RECORDS(len));
}

START_TEST(ceiling_form)
{
	check_ceiling(MEDIA_FORM, LIMIT_ITEMS + 1);
	check_ceiling(MEDIA_FORM, LIMIT_ITEMS);
}
END_TEST

START_TEST(ceiling_json)
{
	check_ceiling(MEDIA_JSON, LIMIT_ITEMS + 1);
	check_ceiling(MEDIA_JSON, LIMIT_ITEMS);
}
END_TEST

static Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, settings_defaults_and_errors);
	tcase_add_loop_test(core, check_table, 0,
	    sizeof(checks) / sizeof(checks[0]));
	tcase_add_test(core, process_fixture);
	tcase_add_test(core, process_buffers_recycled);
	tcase_add_loop_test(core, process_refusals, 0,
	    sizeof(refusals) / sizeof(refusals[0]));
	tcase_add_test(core, process_json);
	tcase_add_test(core, process_config_and_storage);
	tcase_add_test(core, settings_enrollment);
	tcase_add_test(core, process_claim);
	tcase_add_loop_test(core, process_not_claims, 0,
	    sizeof(not_claims) / sizeof(not_claims[0]));
	tcase_add_test(core, process_claim_storage);
	tcase_add_test(core, reply_texts);
	tcase_add_test(core, operator_line);
	tcase_add_test(core, operator_line_names_the_portal);
	tcase_add_test(limits, settings_body_ceiling);
	tcase_add_test(limits, check_max_body);
	tcase_add_test(limits, event_length);
	tcase_add_test(limits, amplified_domain);
	tcase_add_test(limits, ceiling_form);
	tcase_add_test(limits, ceiling_json);
	tcase_add_test(limits, settings_enrollment_limits);
	tcase_add_test(limits, process_claim_too_large);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(request_suite());
}
