#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "appinfo.h"

/* quote: s as [A-Za-z0-9_.-], at most 48 bytes, into out (49 bytes) */
static void
quote(const char *s, char out[49])
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i < 48; i++) {
		char c = s[i];

		out[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '.' ||
			c == '-'
		    ? c
		    : '?';
	}
	out[i] = '\0';
}

static enum appinfo_verdict
verdict(enum appinfo_verdict v, char *why, const char *text)
{
	snprintf(why, APPINFO_WHY_SIZE, "%s", text);
	return v;
}

/* a string member that holds no NUL, or NULL */
static const char *
string(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	return s != NULL && strlen(s) == json_string_length(v) ? s : NULL;
}

enum appinfo_verdict
appinfo_check(long status, const char *body, size_t len,
    const char *client_id, const char *member_id, const char *domain,
    char why[APPINFO_WHY_SIZE])
{
	enum appinfo_verdict v;
	const json_t *result, *install;
	const char *s;
	json_t *root;
	char code[49];

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (status != 200) {
		quote(json_is_object(root) ? string(root, "error") : NULL,
		    code);
		snprintf(why, APPINFO_WHY_SIZE, "app.info answered %ld%s%s",
		    status, code[0] ? " " : "", code);
		json_decref(root);
		return APPINFO_REFUSED;
	}
	result = json_object_get(root, "result");
	install = json_object_get(result, "install");
	if (!json_is_object(root) || !json_is_object(result) ||
	    !json_is_object(install))
		v = verdict(APPINFO_MALFORMED, why,
		    "app.info answer has no result.install object");
	else if ((s = string(result, "client_id")) == NULL ||
	    strcmp(s, client_id) != 0)
		v = verdict(APPINFO_CLIENT_ID, why,
		    "client_id is another app's");
	else if (!json_is_true(json_object_get(install, "installed")))
		v = verdict(APPINFO_NOT_INSTALLED, why,
		    "the app is not installed on the portal");
	else if ((s = string(install, "member_id")) == NULL ||
	    strcmp(s, member_id) != 0)
		v = verdict(APPINFO_MEMBER_ID, why,
		    "install.member_id is another portal's");
	else if ((s = string(install, "domain")) == NULL ||
	    strcasecmp(s, domain) != 0)
		v = verdict(APPINFO_DOMAIN, why,
		    "install.domain is not the claim's domain");
	else
		v = verdict(APPINFO_OK, why, "app.info confirms the install");
	json_decref(root);
	return v;
}
