/*
 * app.info's answer: the decision table, every refusal with its reason.
 * The answers are shaped as Bitrix24 gives them (appinfo.h).
 */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "appinfo.h"
#include "testutil.h"

#define CLIENT "local.5f0c1b2a3d4e5f.12345678"
#define MEMBER "0123456789abcdef0123456789abcdef"
#define DOMAIN "portal.bitrix24.com"

/* an answer: result with client_id C, installed I, member_id M, domain D */
#define ANSWER(C, I, M, D)                                                 \
	"{\"result\":{\"client_id\":" C ",\"scope\":\"imopenlines\","       \
	"\"install\":{\"installed\":" I ",\"version\":1,\"status\":\"L\","  \
	"\"domain\":" D ",\"member_id\":" M "},\"user_id\":1},"             \
	"\"time\":{\"start\":1.0}}"
#define Q(s) "\"" s "\""
#define GOOD ANSWER(Q(CLIENT), "true", Q(MEMBER), Q(DOMAIN))

static const struct {
	long status;
	const char *body;
	enum appinfo_verdict verdict;
	const char *why;
} table[] = {
	{ 200, GOOD, APPINFO_OK, "app.info confirms the install" },
	/* a domain is a DNS name: case does not matter */
	{ 200, ANSWER(Q(CLIENT), "true", Q(MEMBER), Q("Portal.Bitrix24.COM")),
	    APPINFO_OK, "app.info confirms the install" },
	{ 401,
	    "{\"error\":\"invalid_token\",\"error_description\":\"The access "
	    "token provided is invalid.\"}",
	    APPINFO_REFUSED, "app.info answered 401 invalid_token" },
	{ 401, "{\"error\":\"expired_token\"}", APPINFO_REFUSED,
	    "app.info answered 401 expired_token" },
	/* a good body does not help a bad status */
	{ 302, GOOD, APPINFO_REFUSED, "app.info answered 302" },
	{ 500, "<html>oops</html>", APPINFO_REFUSED, "app.info answered 500" },
	/* what the error says is quoted, cut and cleaned */
	{ 403, "{\"error\":\"a b\\n\\\"c\\\"\"}", APPINFO_REFUSED,
	    "app.info answered 403 a?b??c?" },
	{ 403,
	    "{\"error\":\"0123456789012345678901234567890123456789"
	    "0123456789\"}",
	    APPINFO_REFUSED,
	    "app.info answered 403 "
	    "012345678901234567890123456789012345678901234567" },
	{ 200, "", APPINFO_MALFORMED,
	    "app.info answer has no result.install object" },
	{ 200, "not json", APPINFO_MALFORMED,
	    "app.info answer has no result.install object" },
	{ 200, "[]", APPINFO_MALFORMED,
	    "app.info answer has no result.install object" },
	{ 200, "{\"result\":true}", APPINFO_MALFORMED,
	    "app.info answer has no result.install object" },
	{ 200, "{\"result\":{\"client_id\":\"" CLIENT "\"}}", APPINFO_MALFORMED,
	    "app.info answer has no result.install object" },
	{ 200, "{\"error\":\"x\",\"result\":1}", APPINFO_MALFORMED,
	    "app.info answer has no result.install object" },
	{ 200, GOOD "x", APPINFO_MALFORMED,
	    "app.info answer has no result.install object" },
	{ 200, "{\"result\":{},\"result\":{}}", APPINFO_MALFORMED,
	    "app.info answer has no result.install object" },
	{ 200, ANSWER(Q("app.other"), "true", Q(MEMBER), Q(DOMAIN)),
	    APPINFO_CLIENT_ID, "client_id is another app's" },
	{ 200, ANSWER(Q(CLIENT "x"), "true", Q(MEMBER), Q(DOMAIN)),
	    APPINFO_CLIENT_ID, "client_id is another app's" },
	{ 200, ANSWER(Q("LOCAL.5F0C1B2A3D4E5F.12345678"), "true", Q(MEMBER),
		   Q(DOMAIN)),
	    APPINFO_CLIENT_ID, "client_id is another app's" },
	{ 200, ANSWER("null", "true", Q(MEMBER), Q(DOMAIN)), APPINFO_CLIENT_ID,
	    "client_id is another app's" },
	/* a NUL would end a C string early: not taken at all */
	{ 200, ANSWER(Q(CLIENT "\\u0000x"), "true", Q(MEMBER), Q(DOMAIN)),
	    APPINFO_MALFORMED, "app.info answer has no result.install object" },
	{ 200, ANSWER(Q(CLIENT), "false", Q(MEMBER), Q(DOMAIN)),
	    APPINFO_NOT_INSTALLED, "the app is not installed on the portal" },
	{ 200, ANSWER(Q(CLIENT), Q("true"), Q(MEMBER), Q(DOMAIN)),
	    APPINFO_NOT_INSTALLED, "the app is not installed on the portal" },
	{ 200, ANSWER(Q(CLIENT), "1", Q(MEMBER), Q(DOMAIN)),
	    APPINFO_NOT_INSTALLED, "the app is not installed on the portal" },
	{ 200, ANSWER(Q(CLIENT), "true", Q("fedcba9876543210fedcba9876543210"),
		   Q(DOMAIN)),
	    APPINFO_MEMBER_ID, "install.member_id is another portal's" },
	{ 200, ANSWER(Q(CLIENT), "true", Q("0123456789ABCDEF0123456789ABCDEF"),
		   Q(DOMAIN)),
	    APPINFO_MEMBER_ID, "install.member_id is another portal's" },
	{ 200, ANSWER(Q(CLIENT), "true", "12", Q(DOMAIN)), APPINFO_MEMBER_ID,
	    "install.member_id is another portal's" },
	{ 200, ANSWER(Q(CLIENT), "true", Q(MEMBER), Q("other.bitrix24.com")),
	    APPINFO_DOMAIN, "install.domain is not the claim's domain" },
	{ 200, ANSWER(Q(CLIENT), "true", Q(MEMBER), Q(DOMAIN ".evil.com")),
	    APPINFO_DOMAIN, "install.domain is not the claim's domain" },
	{ 200, ANSWER(Q(CLIENT), "true", Q(MEMBER), "null"), APPINFO_DOMAIN,
	    "install.domain is not the claim's domain" },
};

START_TEST(test_table)
{
	char why[APPINFO_WHY_SIZE];

	ck_assert_int_eq(appinfo_check(table[_i].status, table[_i].body,
			     strlen(table[_i].body), CLIENT, MEMBER, DOMAIN,
			     why),
	    table[_i].verdict);
	ck_assert_str_eq(why, table[_i].why);
}
END_TEST

/* Several faults at once: the first in the enum's order is the verdict. */
START_TEST(test_order)
{
	static const char body[] = ANSWER(Q("x"), "false", Q("y"), Q("z"));
	char why[APPINFO_WHY_SIZE];

	ck_assert_int_eq(appinfo_check(200, body, strlen(body), CLIENT, MEMBER,
			     DOMAIN, why),
	    APPINFO_CLIENT_ID);
	ck_assert_int_eq(appinfo_check(200, GOOD, strlen(GOOD), CLIENT, "other",
			     "other.com", why),
	    APPINFO_MEMBER_ID);
}
END_TEST

/* Only len bytes count: what follows a good answer is not read. */
START_TEST(test_length)
{
	char buf[sizeof(GOOD) + 16], why[APPINFO_WHY_SIZE];

	snprintf(buf, sizeof(buf), "%s}}}garbage", GOOD);
	ck_assert_int_eq(appinfo_check(200, buf, strlen(GOOD), CLIENT, MEMBER,
			     DOMAIN, why),
	    APPINFO_OK);
	ck_assert_int_eq(appinfo_check(200, buf, strlen(GOOD) - 1, CLIENT,
			     MEMBER, DOMAIN, why),
	    APPINFO_MALFORMED);
}
END_TEST

static Suite *
appinfo_suite(void)
{
	Suite *s = suite_create("appinfo");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, test_table, 0,
	    sizeof(table) / sizeof(table[0]));
	tcase_add_test(core, test_order);
	suite_add_tcase(s, core);
	tcase_add_test(limits, test_length);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(appinfo_suite());
}
