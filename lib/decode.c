#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "decode.h"
#include "form.h"
#include "limit.h"

static int
media_is(const char *type, size_t len, const char *name)
{
	return len == strlen(name) && strncasecmp(type, name, len) == 0;
}

int
decode_media(const char *content_type, enum media *media, struct err *err)
{
	const char *s = content_type;
	size_t len;

	if (s == NULL)
		s = "";
	while (*s == ' ' || *s == '\t')
		s++;
	len = strcspn(s, ";");
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 ||
	    media_is(s, len, "application/x-www-form-urlencoded")) {
		*media = MEDIA_FORM;
		return 0;
	}
	if (media_is(s, len, "application/json")) {
		*media = MEDIA_JSON;
		return 0;
	}
	return err_set(err, ERR_UNSUPPORTED_MEDIA_TYPE, "content_type=%.*s",
	    (int)(len < 64 ? len : 64), s);
}

static int json_limits(const json_t *, int, size_t *, struct err *);

/* One value at depth keys below the top object. */
static int
json_value(const json_t *v, int depth, size_t *count, struct err *err)
{
	if (++*count > LIMIT_PAIRS)
		return err_set(err, ERR_LIMIT_EXCEEDED, "limit=pairs max=%d",
		    LIMIT_PAIRS);
	if (depth > LIMIT_DEPTH)
		return err_set(err, ERR_LIMIT_EXCEEDED, "limit=depth max=%d",
		    LIMIT_DEPTH);
	return json_limits(v, depth, count, err);
}

/* The form decoder's limits, applied to the values below v. */
static int
json_limits(const json_t *v, int depth, size_t *count, struct err *err)
{
	const char *k;
	json_t *child;
	size_t i;

	if (json_is_array(v))
		json_array_foreach((json_t *)v, i, child)
			if (json_value(child, depth + 1, count, err) == -1)
				return -1;
	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, child) {
			if (strlen(k) > LIMIT_KEY)
				return err_set(err, ERR_LIMIT_EXCEEDED,
				    "limit=key max=%d", LIMIT_KEY);
			if (json_value(child, depth + 1, count, err) == -1)
				return -1;
		}
	return 0;
}

static int
json_decode(const char *body, size_t len, json_t **out, struct err *err)
{
	json_error_t e;
	size_t count = 0;
	json_t *root;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL) {
		switch (json_error_code(&e)) {
		case json_error_invalid_utf8:
			return err_set(err, ERR_INVALID_UTF8,
			    "json at byte %d", e.position);
		case json_error_stack_overflow:
			return err_set(err, ERR_LIMIT_EXCEEDED,
			    "limit=depth max=%d", LIMIT_DEPTH);
		case json_error_out_of_memory:
			return err_set(err, ERR_INTERNAL, "out of memory");
		case json_error_duplicate_key:
			return err_set(err, ERR_MALFORMED_BODY,
			    "json duplicate key at byte %d", e.position);
		default:
			/* e.text may quote the body: never in a reason */
			return err_set(err, ERR_MALFORMED_BODY,
			    "json syntax at byte %d", e.position);
		}
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return err_set(err, ERR_MALFORMED_BODY, "json not an object");
	}
	if (json_limits(root, 0, &count, err) == -1) {
		json_decref(root);
		return -1;
	}
	*out = root;
	return 0;
}

/*
 * json_secrets: the string members of root's auth that secrets_member
 * names moved into their slots, or deleted (the endpoints).
 */
static int
json_secrets(json_t *root, struct auth_secrets *secrets, struct err *err)
{
	json_t *auth = json_object_get(root, "auth"), *v;
	const char *key;
	void *tmp;
	int member;

	json_object_foreach_safe(auth, tmp, key, v)
	{
		if (!json_is_string(v) ||
		    (member = secrets_member(key)) == AUTH_KEEP)
			continue;
		if (member != AUTH_DROP &&
		    secrets_set(secrets, member, json_string_value(v),
			json_string_length(v)) == -1)
			return err_errno(err, ERR_INTERNAL, errno, "malloc");
		json_object_del(auth, key);
	}
	return 0;
}

int
decode_body(enum media media, const char *body, size_t len, json_t **out,
    struct auth_secrets *secrets, struct err *err)
{
	*out = NULL;
	if (media != MEDIA_JSON)
		return form_decode(body, len, out, secrets, err);
	if (secrets != NULL)
		secrets_clear(secrets);
	if (json_decode(body, len, out, err) == -1)
		return -1;
	if (secrets != NULL && json_secrets(*out, secrets, err) == -1) {
		secrets_clear(secrets);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}
