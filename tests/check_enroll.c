/*
 * Enrollment's decisions (enroll_verify, enroll_approve, enroll_reject)
 * on a real spool, allow-list and log directory.  app.info's answers
 * come from answer() below, in process: tests/e2e/test_enroll.sh asks a
 * real server over TLS.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "decode.h"
#include "enroll.h"
#include "testutil.h"

#define CLIENT "local.5f0c1b2a3d4e5f.12345678"
#define MEMBER "0123456789abcdef0123456789abcdef"
#define LISTED "bac1cd5c8940947a75e0d71b1a84e348"
#define LISTED_TOKEN "831c76b092f9f135d9b6b36c3a720757"

static struct settings settings;
static char allow[4096], logs[4096], spool[4096];
static const struct timespec received = { 1773759200, 0 };

/* What answer() gives, and how often it was asked. */
static long answer_status;
static const char *answer_body;
static int fetches;

/* an enroll_fetch: the canned answer */
static int
answer(const struct settings *s, const char *access_token, long *status,
    struct buf *out, struct err *err)
{
	(void)s;
	(void)access_token;
	fetches++;
	if (answer_body == NULL)
		return err_set(err, ERR_STORAGE_UNAVAILABLE,
		    "app.info: Timeout was reached");
	*status = answer_status;
	buf_append(out, answer_body, strlen(answer_body));
	return 0;
}

/* the answer app.info gives for a claim by member on portal.bitrix24.com */
static char good[512];

static void
setup(void)
{
	FILE *f;

	tmpdir_setup();
	snprintf(allow, sizeof(allow), "%s", tmp("allow.txt"));
	snprintf(logs, sizeof(logs), "%s", tmp("logs"));
	snprintf(spool, sizeof(spool), "%s", tmp("spool"));
	ck_assert_int_eq(mkdir(logs, 0750), 0);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	ck_assert_ptr_nonnull(f = fopen(allow, "w"));
	fputs("# portals\n" LISTED " " LISTED_TOKEN " rest-docs-portal\n", f);
	fclose(f);
	memset(&settings, 0, sizeof(settings));
	settings.allowlist = allow;
	settings.log_dir = logs;
	settings.enroll_dir = spool;
	settings.client_id = CLIENT;
	settings.oauth_url = SETTINGS_OAUTH_URL;
	answer_status = 200;
	snprintf(good, sizeof(good),
	    "{\"result\":{\"client_id\":\"" CLIENT "\",\"install\":{"
	    "\"installed\":true,\"member_id\":\"%s\",\"domain\":"
	    "\"portal.bitrix24.com\"}}}",
	    MEMBER);
	answer_body = good;
	fetches = 0;
}

/* add: a claim by member_id with token, aged seconds at now; its id */
static void
add(const char *member_id, const char *token, char id[SPOOL_ID_SIZE])
{
	struct auth_secrets secrets = { 0 };
	char body[1024];
	struct spool_entry e;
	struct err err;
	json_t *root;

	snprintf(body, sizeof(body),
	    "event=ONAPPINSTALL&data[VERSION]=1&auth[member_id]=%s"
	    "&auth[domain]=portal.bitrix24.com&auth[application_token]=%s"
	    "&auth[access_token]=access-1&auth[user_id]=1",
	    member_id, token);
	ck_assert_int_eq(decode_body(MEDIA_FORM, body, strlen(body), &root,
			     &secrets, &err),
	    0);
	ck_assert_int_eq(enroll_claim(root, &secrets, &received, &e, &err), 0);
	ck_assert_int_eq(spool_add(spool, &e, &err), 0);
	memcpy(id, e.id, SPOOL_ID_SIZE);
	spool_entry_clear(&e);
	secrets_clear(&secrets);
	json_decref(root);
}

/* Reports collected: the last outcome, how many and how many failed. */
static char last[512];
static int reports, failed;

static void
collect(void *arg, const struct spool_entry *e, const char *outcome,
    int fail)
{
	(void)arg;
	snprintf(last, sizeof(last), "%s %s", e->id, outcome);
	reports++;
	failed += fail;
}

/* verify at received + age seconds; returns enroll_verify's result */
static int
verify_at(time_t age)
{
	struct timespec now = { received.tv_sec + age, 0 };
	struct err err;
	int rc;

	reports = failed = 0;
	last[0] = '\0';
	rc = enroll_verify(&settings, &now, answer, collect, NULL, &err);
	ck_assert_msg(rc != -1, "%s", err.reason);
	return rc;
}

static enum spool_state
state_of(const char *id)
{
	struct spool_entry e;
	struct err err;
	enum spool_state st;

	ck_assert_int_eq(spool_get(spool, id, &e, &err), 0);
	st = e.state;
	spool_entry_clear(&e);
	return st;
}

/* allowed: does the allow-list let member_id post with token? */
static int
allowed(const char *member_id, const char *token)
{
	struct allowlist *list;
	struct err err;
	int ok;

	ck_assert_int_eq(allowlist_load(allow, &list, &err), 0);
	ok = allowlist_check(list, member_id, token, strlen(token), NULL) ==
	    ALLOWLIST_OK;
	allowlist_free(list);
	return ok;
}

START_TEST(test_verified)
{
	char id[SPOOL_ID_SIZE], fp[ALLOWLIST_FP_SIZE], want[512];

	add(MEMBER, "new-token", id);
	ck_assert_int_eq(verify_at(10), 0);
	ck_assert_int_eq(fetches, 1);
	allowlist_fingerprint("new-token", 9, fp);
	snprintf(want, sizeof(want),
	    "%s verified: listed with token %s, label portal.bitrix24.com; "
	    "install record written",
	    id, fp);
	ck_assert_int_eq(reports, 1);
	ck_assert_str_eq(last, want);
	ck_assert(allowed(MEMBER, "new-token"));
	ck_assert_uint_eq(log_lines(logs, MEMBER), 1);
	ck_assert_int_eq(state_of(id), SPOOL_VERIFIED);
	/* nothing left to do: nothing asked, nothing said */
	ck_assert_int_eq(verify_at(20), 0);
	ck_assert_int_eq(fetches, 1);
	ck_assert_int_eq(reports, 0);
}
END_TEST

START_TEST(test_rejected)
{
	char id[SPOOL_ID_SIZE];

	answer_status = 401;
	answer_body = "{\"error\":\"invalid_token\"}";
	add(MEMBER, "new-token", id);
	ck_assert_int_eq(verify_at(10), 0);
	ck_assert_str_eq(last + SPOOL_ID_SIZE,
	    "rejected: app.info answered 401 invalid_token");
	ck_assert_int_eq(state_of(id), SPOOL_REJECTED);
	ck_assert(!allowed(MEMBER, "new-token"));
	ck_assert_uint_eq(log_lines(logs, MEMBER), 0);
}
END_TEST

/* No answer: a failure; the claim stays, the ones after are not asked. */
START_TEST(test_no_answer)
{
	char id[SPOOL_ID_SIZE], id2[SPOOL_ID_SIZE];

	answer_body = NULL;
	add(MEMBER, "new-token", id);
	add("fedcba9876543210fedcba9876543210", "other-token", id2);
	ck_assert_int_eq(verify_at(10), 2);
	ck_assert_int_eq(fetches, 1);
	ck_assert_int_eq(failed, 2);
	ck_assert_int_eq(state_of(id), SPOOL_PENDING);
	ck_assert_int_eq(state_of(id2), SPOOL_PENDING);
	answer_body = good;
	ck_assert_int_eq(verify_at(20), 0);
	ck_assert_int_eq(state_of(id), SPOOL_VERIFIED);
	/* the second claim's portal is not the one app.info names */
	ck_assert_int_eq(state_of(id2), SPOOL_REJECTED);
}
END_TEST

/* A listed portal's new token waits for the operator; approve adds it. */
START_TEST(test_token_change)
{
	struct enroll_approval a;
	char id[SPOOL_ID_SIZE];
	struct err err;

	snprintf(good, sizeof(good),
	    "{\"result\":{\"client_id\":\"" CLIENT "\",\"install\":{"
	    "\"installed\":true,\"member_id\":\"" LISTED "\",\"domain\":"
	    "\"portal.bitrix24.com\"}}}");
	add(LISTED, "rotated-token", id);
	ck_assert_int_eq(verify_at(10), 0);
	ck_assert_str_eq(last + SPOOL_ID_SIZE,
	    "pending: needs approve (the portal is listed with another "
	    "token)");
	ck_assert_int_eq(state_of(id), SPOOL_APPROVE);
	ck_assert(!allowed(LISTED, "rotated-token"));
	/* asked once only */
	ck_assert_int_eq(verify_at(20), 0);
	ck_assert_int_eq(fetches, 1);
	ck_assert_int_eq(reports, 1);
	ck_assert_int_eq(enroll_approve(&settings, id, &a, &err), 0);
	ck_assert_int_eq(a.added, 1);
	ck_assert_uint_eq(a.others, 1);
	ck_assert_str_eq(a.member_id, LISTED);
	ck_assert(allowed(LISTED, "rotated-token"));
	ck_assert(allowed(LISTED, LISTED_TOKEN));
	ck_assert_uint_eq(log_lines(logs, LISTED), 1);
	ck_assert_int_eq(state_of(id), SPOOL_VERIFIED);
	ck_assert_int_eq(enroll_approve(&settings, id, &a, &err), -1);
	ck_assert_int_eq(enroll_reject(&settings, id, &err), -1);
}
END_TEST

/* Two claims, one portal, two tokens: neither applied. */
START_TEST(test_conflict)
{
	char id1[SPOOL_ID_SIZE], id2[SPOOL_ID_SIZE], id3[SPOOL_ID_SIZE];
	struct err err;

	add(MEMBER, "token-one", id1);
	add(MEMBER, "token-two", id2);
	ck_assert_int_eq(verify_at(10), 0);
	ck_assert_int_eq(state_of(id1), SPOOL_APPROVE);
	ck_assert_int_eq(state_of(id2), SPOOL_APPROVE);
	ck_assert(!allowed(MEMBER, "token-one"));
	ck_assert(!allowed(MEMBER, "token-two"));
	ck_assert_int_eq(enroll_reject(&settings, id2, &err), 0);
	ck_assert_int_eq(state_of(id2), SPOOL_REJECTED);
	/* the other rejected, a copy of the first is no conflict */
	add(MEMBER, "token-one", id3);
	ck_assert_int_eq(verify_at(20), 0);
	ck_assert_int_eq(state_of(id3), SPOOL_VERIFIED);
	ck_assert(allowed(MEMBER, "token-one"));
	ck_assert_int_eq(state_of(id1), SPOOL_APPROVE);
}
END_TEST

START_TEST(test_copies)
{
	char id1[SPOOL_ID_SIZE], id2[SPOOL_ID_SIZE];

	add(MEMBER, "token-one", id1);
	add(MEMBER, "token-one", id2);
	ck_assert_int_eq(verify_at(10), 0);
	ck_assert_int_eq(state_of(id1), SPOOL_VERIFIED);
	ck_assert_int_eq(state_of(id2), SPOOL_VERIFIED);
	ck_assert(allowed(MEMBER, "token-one"));
	ck_assert_uint_eq(log_lines(logs, MEMBER), 1);
}
END_TEST

/* Settings b24hookctl needs, and a claim that is not there. */
START_TEST(test_refusals)
{
	struct enroll_approval a;
	struct err err;

	settings.client_id = NULL;
	ck_assert_int_eq(enroll_verify(&settings, &received, answer, collect,
			     NULL, &err),
	    -1);
	ck_assert_str_eq(err.reason, "B24HOOK_CLIENT_ID unset");
	ck_assert_int_eq(enroll_approve(&settings, "0000000000000000", &a,
			     &err),
	    -1);
	ck_assert_str_eq(err.reason, "no entry 0000000000000000");
	ck_assert_int_eq(enroll_reject(&settings, "../x", &err), -1);
	settings.enroll_dir = NULL;
	ck_assert_int_eq(enroll_verify(&settings, &received, answer, collect,
			     NULL, &err),
	    -1);
	ck_assert_str_eq(err.reason, "B24HOOK_ENROLL_DIR unset");
}
END_TEST

/*
 * A claim's tokens come from the slots, never from the tree: the same
 * install decoded whole (its tokens in the tree, the slots empty) is no
 * claim; decoded as the responder does, the claim holds the slots'
 * tokens and its body no part of them.
 */
START_TEST(test_claim_slots)
{
	static const char body[] =
	    "event=ONAPPINSTALL&auth[member_id]=" MEMBER
	    "&auth[domain]=portal.bitrix24.com&auth[application_token]=app-1"
	    "&auth[access_token]=access-1&auth[refresh_token]=refresh-1"
	    "&auth[client_endpoint]=https://portal.bitrix24.com/rest/"
	    "&auth[user_id]=1";
	struct auth_secrets secrets = { 0 };
	struct spool_entry e;
	struct err err;
	json_t *root;
	char *dump;

	ck_assert_int_eq(decode_body(MEDIA_FORM, body, strlen(body), &root,
			     NULL, &err),
	    0);
	ck_assert_int_eq(enroll_claim(root, &secrets, &received, &e, &err),
	    -1);
	ck_assert_int_eq(err.code, ERR_FORBIDDEN);
	ck_assert_str_eq(err.reason, "claim has no auth[application_token]");
	json_decref(root);

	ck_assert_int_eq(decode_body(MEDIA_FORM, body, strlen(body), &root,
			     &secrets, &err),
	    0);
	ck_assert_int_eq(enroll_claim(root, &secrets, &received, &e, &err), 0);
	ck_assert_str_eq(e.application_token, "app-1");
	ck_assert_str_eq(e.access_token, "access-1");
	dump = json_dumps(e.body, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(dump,
	    "{\"auth\":{\"domain\":\"portal.bitrix24.com\",\"member_id\":"
	    "\"" MEMBER "\",\"user_id\":\"1\"},\"event\":\"ONAPPINSTALL\"}");
	free(dump);
	spool_entry_clear(&e);

	/* no access token in its slot: no claim */
	secrets_drop(&secrets, AUTH_ACCESS_TOKEN);
	ck_assert_int_eq(enroll_claim(root, &secrets, &received, &e, &err),
	    -1);
	ck_assert_str_eq(err.reason, "claim has no auth[access_token]");
	secrets_clear(&secrets);
	json_decref(root);
}
END_TEST

/* LIMIT_ACCESS_TOKEN_AGE: N-1 seconds old is asked, N is expired. */
START_TEST(test_limit_age)
{
	char id1[SPOOL_ID_SIZE], id2[SPOOL_ID_SIZE];

	add(MEMBER, "token-one", id1);
	ck_assert_int_eq(verify_at(LIMIT_ACCESS_TOKEN_AGE - 1), 0);
	ck_assert_int_eq(fetches, 1);
	ck_assert_int_eq(state_of(id1), SPOOL_VERIFIED);
	add("fedcba9876543210fedcba9876543210", "token-two", id2);
	ck_assert_int_eq(verify_at(LIMIT_ACCESS_TOKEN_AGE), 0);
	ck_assert_int_eq(fetches, 1);
	ck_assert_int_eq(state_of(id2), SPOOL_EXPIRED);
}
END_TEST

static Suite *
enroll_suite(void)
{
	Suite *s = suite_create("enroll");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, tmpdir_teardown);
	tcase_add_test(core, test_verified);
	tcase_add_test(core, test_rejected);
	tcase_add_test(core, test_no_answer);
	tcase_add_test(core, test_token_change);
	tcase_add_test(core, test_conflict);
	tcase_add_test(core, test_copies);
	tcase_add_test(core, test_refusals);
	tcase_add_test(core, test_claim_slots);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup, tmpdir_teardown);
	tcase_add_test(limits, test_limit_age);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(enroll_suite());
}
