/*
 * The answer of Bitrix24's app.info to an install's access token, and
 * what it proves.
 *
 * Bitrix24 facts (docs/enrollment.md; Bitrix24 REST docs:
 * events/on-app-install, settings/app-installation, the OAuth pages; the
 * official Python SDK bitrix24/b24pysdk): GET <oauth
 * server>/rest/app.info?auth=<access_token> answers 200 and
 *
 *	{"result":{"client_id":"...","scope":"...","install":{
 *	 "installed":true,"version":1,"status":"L","domain":"portal...",
 *	 "member_id":"..."},"user_id":1},"time":{...}}
 *
 * for a valid token, and an error object ({"error":"invalid_token",...})
 * with another status otherwise.  b24pysdk accepts an install only when
 * client_id is its app's and install.member_id and install.domain are the
 * event's; so does appinfo_check.  What it proves: the claim's access
 * token is a live token of this app on this portal.  Not that Bitrix24
 * sent the claim: any user of a portal where the app is installed holds
 * such a token.
 */
#ifndef APPINFO_H
#define APPINFO_H

#include <stddef.h>

enum appinfo_verdict {
	APPINFO_OK = 0,
	APPINFO_REFUSED,       /* not 200: the token is not (or no longer) valid */
	APPINFO_MALFORMED,     /* 200 but no result object of that shape */
	APPINFO_CLIENT_ID,     /* result.client_id is not ours */
	APPINFO_NOT_INSTALLED, /* result.install.installed is not true */
	APPINFO_MEMBER_ID,     /* result.install.member_id is not the claim's */
	APPINFO_DOMAIN,	       /* result.install.domain is not the claim's */
};

/* bytes: appinfo_check's why, NUL included */
#define APPINFO_WHY_SIZE 128

/*
 * appinfo_check: the verdict on an app.info answer of HTTP status status
 * and len bytes of body (need not be NUL-terminated), for a claim by
 * member_id on domain, the app being client_id (all NUL-terminated).
 * The first failing check, in the order of the enum, is the verdict;
 * client_id and member_id are compared exactly, domain without regard
 * to ASCII case (DNS names).  why gets a line for the operator:
 * "app.info answered 401 invalid_token", "client_id is another app's",
 * ...: never a token, and what it quotes from the answer is cut to
 * [A-Za-z0-9_.-]{0,48}.
 */
enum appinfo_verdict appinfo_check(long status, const char *body, size_t len,
    const char *client_id, const char *member_id, const char *domain,
    char why[APPINFO_WHY_SIZE]);

#endif
