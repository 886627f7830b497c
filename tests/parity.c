#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "parity.h"
#include "secrets.h"

/* bytes of a tree's dump quoted in why */
#define QUOTE 400

/* why: what differs, with both trees' compact dumps (cut to QUOTE) */
static void
differ(char *why, size_t size, const char *what, const json_t *whole,
    const json_t *split)
{
	char *a = whole != NULL ? json_dumps(whole, JSON_COMPACT) : NULL;
	char *b = split != NULL ? json_dumps(split, JSON_COMPACT) : NULL;

	snprintf(why, size, "%s; whole %.*s; split %.*s", what, QUOTE,
	    a != NULL ? a : "-", QUOTE, b != NULL ? b : "-");
	free(a);
	free(b);
}

/* the members of root's auth that are strings and secrets_member's */
static int
taken_members(json_t *root, int drop)
{
	json_t *auth = json_object_get(root, "auth"), *v;
	const char *key;
	void *tmp;
	int n = 0;

	json_object_foreach_safe(auth, tmp, key, v)
	{
		if (!json_is_string(v) || secrets_member(key) == AUTH_KEEP)
			continue;
		n++;
		if (drop && secrets_member(key) == AUTH_DROP)
			json_object_del(auth, key);
	}
	return n;
}

/* split's slots put back into its auth; -1 when one cannot go there */
static int
put_back(json_t *split, const struct auth_secrets *s)
{
	json_t *auth = json_object_get(split, "auth");
	const char *name;
	int i;

	for (i = 0; i < AUTH_SECRETS; i++) {
		if (s->slot[i].value == NULL)
			continue;
		name = secrets_name(i);
		if (!json_is_object(auth) ||
		    json_object_get(auth, name) != NULL ||
		    json_object_set_new(auth, name,
			json_stringn_nocheck(s->slot[i].value,
			    s->slot[i].len)) == -1)
			return -1;
	}
	return 0;
}

int
parity_check(enum media media, const char *body, size_t len, char *why,
    size_t size)
{
	struct auth_secrets s = { 0 };
	struct err e1 = { 0 }, e2 = { 0 };
	json_t *whole = NULL, *split = NULL;
	int r1, r2, i, rc = -1;

	r1 = decode_body(media, body, len, &whole, NULL, &e1);
	r2 = decode_body(media, body, len, &split, &s, &e2);
	if (r1 != r2 || e1.code != e2.code ||
	    strcmp(e1.reason, e2.reason) != 0) {
		snprintf(why, size, "whole: %d %s \"%s\"; split: %d %s \"%s\"",
		    r1, err_name(e1.code), e1.reason, r2, err_name(e2.code),
		    e2.reason);
		goto out;
	}
	if (r1 == -1) {
		for (i = 0; i < AUTH_SECRETS; i++)
			if (s.slot[i].value != NULL || s.slot[i].len != 0)
				break;
		if (split != NULL || i < AUTH_SECRETS)
			differ(why, size,
			    "a refused body left a tree or a slot", NULL,
			    split);
		else
			rc = 0;
		goto out;
	}
	if (taken_members(split, 0) != 0) {
		differ(why, size, "a secret or an endpoint left in the tree",
		    whole, split);
		goto out;
	}
	taken_members(whole, 1);
	if (put_back(split, &s) == -1) {
		differ(why, size, "a slot where the tree has no room for it",
		    whole, split);
		goto out;
	}
	if (!json_equal(whole, split)) {
		differ(why, size, "the trees differ", whole, split);
		goto out;
	}
	rc = 0;
out:
	secrets_clear(&s);
	json_decref(whole);
	json_decref(split);
	return rc;
}
