/*
 * libFuzzer target: app.info's answer, appinfo_check (appinfo.h).  The
 * first byte picks the HTTP status (200, 401, 302 or 500), the rest is
 * the body.  Checked on every input: the verdict is one of the enum's;
 * any status but 200 is APPINFO_REFUSED; why is a line of printable
 * ASCII; an answer accepted for one portal is refused, with
 * APPINFO_MEMBER_ID, for another (the checks are exact, never a prefix
 * or a pattern).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appinfo.h"

#define CLIENT "local.5f0c1b2a3d4e5f.12345678"
#define MEMBER "0123456789abcdef0123456789abcdef"
#define DOMAIN "portal.bitrix24.com"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_why(const char *why)
{
	size_t i, n = strnlen(why, APPINFO_WHY_SIZE);

	if (n == 0 || n == APPINFO_WHY_SIZE)
		abort();
	for (i = 0; i < n; i++)
		if (why[i] < 0x20 || why[i] > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 401, 302, 500 };
	char why[APPINFO_WHY_SIZE];
	enum appinfo_verdict v;
	const char *body;
	long status;

	if (size == 0)
		return 0;
	status = statuses[data[0] % 4];
	body = (const char *)data + 1;
	v = appinfo_check(status, body, size - 1, CLIENT, MEMBER, DOMAIN,
	    why);
	check_why(why);
	if (v > APPINFO_DOMAIN || (status != 200 && v != APPINFO_REFUSED) ||
	    (status == 200 && v == APPINFO_REFUSED))
		abort();
	if (v == APPINFO_OK) {
		if (appinfo_check(status, body, size - 1, CLIENT,
			MEMBER "0", DOMAIN, why) != APPINFO_MEMBER_ID ||
		    appinfo_check(status, body, size - 1, CLIENT,
			"0123456789abcdef0123456789abcde", DOMAIN,
			why) != APPINFO_MEMBER_ID ||
		    appinfo_check(status, body, size - 1, CLIENT "x", MEMBER,
			DOMAIN, why) != APPINFO_CLIENT_ID ||
		    appinfo_check(status, body, size - 1, CLIENT, MEMBER,
			"x" DOMAIN, why) != APPINFO_DOMAIN)
			abort();
	}
	return 0;
}
