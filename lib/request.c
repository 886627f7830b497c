#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "enroll.h"
#include "event.h"
#include "request.h"
#include "sink.h"
#include "spool.h"

/*
 * A decimal count of bytes with nothing around it; 0 with *n set, or -1
 * when s is not one or passes ceiling.
 */
static int
parse_size(const char *s, size_t ceiling, size_t *n)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > ceiling)
		return -1;
	*n = (size_t)v;
	return 0;
}

/* 1..max bytes, each printable ASCII (no space) */
static int
printable(const char *v, size_t max)
{
	size_t n = strlen(v), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * The enrollment settings.  The OAuth URL is configuration, never taken
 * from a body (auth[server_endpoint]): it must be https:// and a host,
 * since the access token travels in its query.
 */
static int
settings_enroll(settings_lookup *get, struct settings *s, struct err *err)
{
	const char *dir = get("B24HOOK_ENROLL_DIR");
	const char *client_id = get("B24HOOK_CLIENT_ID");
	const char *url = get("B24HOOK_OAUTH_URL");
	const char *ca = get("B24HOOK_OAUTH_CA");

	s->enroll_dir = dir != NULL && *dir != '\0' ? dir : NULL;
	s->client_id = NULL;
	if (client_id != NULL && *client_id != '\0') {
		if (!printable(client_id, LIMIT_CLIENT_ID))
			return err_set(err, ERR_CONFIG,
			    "B24HOOK_CLIENT_ID not 1..%d printable bytes",
			    LIMIT_CLIENT_ID);
		s->client_id = client_id;
	}
	s->oauth_url = SETTINGS_OAUTH_URL;
	if (url != NULL && *url != '\0') {
		if (!printable(url, LIMIT_URL) ||
		    strncmp(url, "https://", 8) != 0 || url[8] == '\0' ||
		    url[8] == '/' || strpbrk(url, "?#") != NULL)
			return err_set(err, ERR_CONFIG,
			    "B24HOOK_OAUTH_URL not https://host (at most %d "
			    "bytes, no query)", LIMIT_URL);
		s->oauth_url = url;
	}
	s->oauth_ca = ca != NULL && *ca != '\0' ? ca : NULL;
	return 0;
}

int
settings_read(settings_lookup *get, struct settings *s, struct err *err)
{
	const char *allowlist = get("B24HOOK_ALLOWLIST");
	const char *log_dir = get("B24HOOK_LOG_DIR");
	const char *max_body = get("B24HOOK_MAX_BODY");
	const char *fsync = get("B24HOOK_FSYNC");
	const char *state_dir = get("B24HOOK_STATE_DIR");

	if (allowlist == NULL || *allowlist == '\0')
		return err_set(err, ERR_CONFIG, "B24HOOK_ALLOWLIST unset");
	if (log_dir == NULL || *log_dir == '\0')
		return err_set(err, ERR_CONFIG, "B24HOOK_LOG_DIR unset");
	s->allowlist = allowlist;
	s->log_dir = log_dir;
	s->max_body = LIMIT_BODY_DEFAULT;
	if (max_body != NULL &&
	    (parse_size(max_body, LIMIT_BODY_CEILING, &s->max_body) == -1 ||
		s->max_body == 0))
		return err_set(err, ERR_CONFIG,
		    "B24HOOK_MAX_BODY not a byte count 1..%d",
		    LIMIT_BODY_CEILING);
	s->fsync = 0;
	if (fsync != NULL && strcmp(fsync, "0") != 0) {
		if (strcmp(fsync, "1") != 0)
			return err_set(err, ERR_CONFIG,
			    "B24HOOK_FSYNC not 0 or 1");
		s->fsync = 1;
	}
	s->state_dir =
	    state_dir != NULL && *state_dir != '\0' ? state_dir : NULL;
	return settings_enroll(get, s, err);
}

int
request_check(const char *method, const char *content_type,
    const char *content_length, const struct settings *s,
    enum media *media, size_t *length, struct err *err)
{
	if (method == NULL || strcmp(method, "POST") != 0)
		return err_set(err, ERR_METHOD_NOT_ALLOWED, "method=%.16s",
		    method != NULL ? method : "");
	if (decode_media(content_type, media, err) == -1)
		return -1;
	if (content_length == NULL || *content_length == '\0')
		return err_set(err, ERR_LENGTH_REQUIRED, "no content_length");
	if (parse_size(content_length, (size_t)-1, length) == -1)
		return err_set(err, ERR_MALFORMED_BODY, "bad content_length");
	if (*length > s->max_body)
		return err_set(err, ERR_BODY_TOO_LARGE,
		    "content_length=%zu max=%zu", *length, s->max_body);
	return 0;
}

/*
 * copy_domain: auth[domain] v into dst (LIMIT_DOMAIN + 1 bytes) when it
 * is a host name, with a port perhaps; else dst is "".
 */
static void
copy_domain(const json_t *v, char *dst)
{
	const char *s = json_string_value(v);
	size_t n;

	dst[0] = '\0';
	if (s == NULL || (n = json_string_length(v)) == 0 || n > LIMIT_DOMAIN ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789.:-") != n)
		return;
	memcpy(dst, s, n + 1);
}

/* copy_label: label into dst (LIMIT_LABEL + 1 bytes), safe to quote */
static void
copy_label(const char *label, char *dst)
{
	size_t i;

	for (i = 0; label[i] != '\0' && i < LIMIT_LABEL; i++)
		dst[i] = label[i] < ' ' || label[i] > '~' || label[i] == '"' ||
			label[i] == '\\'
		    ? '?'
		    : label[i];
	dst[i] = '\0';
}

/*
 * The event code and the credentials: auth[member_id] from the tree, the
 * application token from its slot (secrets).  A POST without "event" is
 * not an event (a placement such as a connector's settings page posts to
 * the same URL): docs/bitrix24.md section 2.
 */
static int
identify(const json_t *root, const struct auth_secrets *secrets,
    struct outcome *o, const json_t **member_id)
{
	const json_t *event = json_object_get(root, "event");
	const json_t *auth = json_object_get(root, "auth");
	const char *e, *m;
	size_t n;

	if (event == NULL)
		return err_set(&o->err, ERR_NOT_AN_EVENT, "no event key");
	if ((e = json_string_value(event)) == NULL)
		return err_set(&o->err, ERR_MALFORMED_BODY,
		    "event not a string");
	if (*e == '\0')
		return err_set(&o->err, ERR_NOT_AN_EVENT, "empty event");
	if (strlen(e) > LIMIT_EVENT)
		return err_set(&o->err, ERR_LIMIT_EXCEEDED,
		    "limit=event max=%d", LIMIT_EVENT);
	/* a decoded %00 would end e early: "ONX\0zz" is not "ONX" */
	n = json_string_length(event);
	if (strspn(e,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	        "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return err_set(&o->err, ERR_MALFORMED_BODY,
		    "event not [A-Za-z0-9_]");
	memcpy(o->event, e, n + 1);
	*member_id = json_object_get(auth, "member_id");
	if ((m = json_string_value(*member_id)) == NULL || *m == '\0')
		return err_set(&o->err, ERR_MISSING_AUTH,
		    "no auth[member_id]");
	n = json_string_length(*member_id);
	if (allowlist_valid_member_id(m, n))
		memcpy(o->member_id, m, n + 1);
	else
		snprintf(o->member_id, sizeof(o->member_id), "(invalid)");
	copy_domain(json_object_get(auth, "domain"), o->domain);
	if (secrets->slot[AUTH_APPLICATION_TOKEN].len == 0)
		return err_set(&o->err, ERR_MISSING_AUTH,
		    "no auth[application_token]");
	return 0;
}

static int
verify(const json_t *member_id, const struct auth_slot *token,
    const struct settings *s, struct allowlist_cache *cache,
    struct outcome *o, const char **portal)
{
	const struct allowlist *list;
	int reloaded;

	if (allowlist_cache_get(cache, s->allowlist, &list, &reloaded,
		&o->err) == -1)
		return -1;
	if (reloaded)
		o->reloaded = list;
	/*
	 * allowlist_check compares C strings: a member_id with a NUL inside
	 * ("<listed id>%00../x") would pass as its prefix.  No entry has it.
	 */
	if (strlen(json_string_value(member_id)) !=
	    json_string_length(member_id))
		return err_set(&o->err, ERR_FORBIDDEN, "unknown_portal");
	switch (allowlist_check(list, json_string_value(member_id),
	    token->value, token->len, portal)) {
	case ALLOWLIST_OK:
		o->listed = 1;
		copy_label(allowlist_label(list, *portal), o->label);
		return 0;
	case ALLOWLIST_UNKNOWN_PORTAL:
		return err_set(&o->err, ERR_FORBIDDEN, "unknown_portal");
	case ALLOWLIST_TOKEN_MISMATCH:
		break;
	}
	o->listed = 1;
	/* which token came: an old one (a reinstall) or a stranger's */
	copy_label(allowlist_label(list, json_string_value(member_id)),
	    o->label);
	allowlist_fingerprint(token->value, token->len, o->token_fp);
	return err_set(&o->err, ERR_FORBIDDEN, "token_mismatch");
}

/*
 * claim: root and its secrets, which the allow-list refused (o->err),
 * kept in the spool when they are a claim (enroll.h).  Returns 0 when
 * they are (ERR_ENROLLMENT_PENDING); -1 when they are no claim, o->err
 * still the refusal, or when the spool failed, o->err saying how.
 */
static int
claim(const json_t *root, const struct auth_secrets *secrets,
    const struct settings *s, const struct timespec *received,
    struct outcome *o)
{
	struct spool_entry e;
	struct err why;
	int rc = -1;

	if (enroll_claim(root, secrets, received, &e, &why) == -1) {
		if (why.code == ERR_INTERNAL)
			o->err = why;
		return -1;
	}
	if (spool_add(s->enroll_dir, &e, &why) == -1)
		o->err = why;
	else {
		err_set(&o->err, ERR_ENROLLMENT_PENDING, "claim %s", e.id);
		memcpy(o->domain, e.domain, sizeof(o->domain));
		rc = 0;
	}
	spool_entry_clear(&e);
	return rc;
}

int
request_process(const char *body, size_t len, enum media media,
    const struct settings *s, struct responder *r,
    const struct timespec *received, struct outcome *o)
{
	const json_t *member_id = NULL;
	const char *portal = NULL;
	json_t *root = NULL;
	int rc = -1;

	memset(o, 0, sizeof(*o));
	/* what this body can make, not what the largest body could */
	r->records.max = LIMIT_RECORDS(len);
	if (decode_body(media, body, len, &root, &r->secrets, &o->err) ==
		-1 ||
	    identify(root, &r->secrets, o, &member_id) == -1)
		goto fail;
	if (verify(member_id, &r->secrets.slot[AUTH_APPLICATION_TOKEN], s,
		&r->allowlist, o, &portal) == -1) {
		if (o->err.code == ERR_FORBIDDEN && s->enroll_dir != NULL)
			rc = claim(root, &r->secrets, s, received, o);
		goto fail;
	}
	if (event_records(root, portal, received, &r->records, &o->records,
		&o->err) == -1 ||
	    sink_append(&r->sink, s->log_dir, portal, r->records.data,
		r->records.len, s->fsync, &o->err) == -1)
		goto fail;
	rc = 0;
fail:
	if (rc == -1)
		o->records = 0;
#ifdef B24HOOK_TEST_LEAK
	/* a test build only (tests/e2e/test_arena.sh): a reference leaked */
	json_incref(root);
#endif
	json_decref(root);
	secrets_clear(&r->secrets);
	responder_recycle(&r->records);
	return rc;
}

void
responder_recycle(struct buf *b)
{
	if (b->cap > RESPONDER_KEEP)
		buf_free(b);
	else
		buf_reset(b);
}

void
responder_close(struct responder *r)
{
	allowlist_cache_clear(&r->allowlist);
	sink_close(&r->sink);
	buf_free(&r->body);
	buf_free(&r->records);
	arena_release(&r->arena);
	secrets_clear(&r->secrets);
}

size_t
reply_render(const struct outcome *o, char *buf, size_t size)
{
	enum err_code c = o->err.code;
	int n;

	if (c == ERR_OK)
		n = snprintf(buf, size,
		    "Status: 200 OK\r\n"
		    "Content-Type: application/json\r\n\r\n"
		    "{\"status\":\"ok\",\"records\":%zu}\n",
		    o->records);
	else if (c == ERR_ENROLLMENT_PENDING)
		n = snprintf(buf, size,
		    "Status: %d %s\r\n"
		    "Content-Type: application/json\r\n\r\n"
		    "{\"status\":\"pending\"}\n",
		    err_status(c), err_status_text(c));
	else
		n = snprintf(buf, size,
		    "Status: %d %s\r\n"
		    "Content-Type: application/json\r\n%s\r\n"
		    "{\"status\":\"error\",\"error\":\"%s\"}\n",
		    err_status(c), err_status_text(c),
		    c == ERR_METHOD_NOT_ALLOWED ? "Allow: POST\r\n" : "",
		    err_name(c));
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

size_t
reply_operator_line(const struct outcome *o, char *buf, size_t size)
{
	char reason[sizeof(o->err.reason)];
	size_t i;
	int n;

	/* member_id and domain were checked whole when the claim was kept */
	if (o->err.code == ERR_ENROLLMENT_PENDING) {
		n = snprintf(buf, size, "b24hook: %d %s member_id=%s domain=%s\n",
		    err_status(o->err.code), err_name(o->err.code),
		    o->member_id, o->domain);
		return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
	}

	/* a reason may quote what the client sent (a method, a type) */
	for (i = 0; o->err.reason[i] != '\0'; i++)
		reason[i] = o->err.reason[i] < ' ' || o->err.reason[i] > '~' ||
			o->err.reason[i] == '"' || o->err.reason[i] == '\\'
		    ? '?'
		    : o->err.reason[i];
	reason[i] = '\0';
	n = snprintf(buf, size,
	    "b24hook: %d %s reason=\"%s\"%s%s%s%s%s%s%s%s%s%s%s\n",
	    err_status(o->err.code), err_name(o->err.code), reason,
	    o->member_id[0] ? " member_id=" : "", o->member_id,
	    o->label[0] ? " label=\"" : "", o->label, o->label[0] ? "\"" : "",
	    o->domain[0] ? " domain=" : "", o->domain,
	    o->event[0] ? " event=" : "", o->event,
	    o->token_fp[0] ? " token_fp=" : "", o->token_fp);
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}
