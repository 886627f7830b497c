#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "key.h"
#include "limit.h"

enum kind {
	K_STRING,  /* an external id or a name: kept as a string */
	K_INT,	   /* a Bitrix integer id, a decimal string on the wire */
	K_YN,	   /* "Y" or "N" on the wire: a boolean */
	K_STRINGS, /* one external id or a list of them: a list of strings */
};

/*
 * A normalised field and where to find it: paths are tried in order and
 * the first one present wins.  "a.b" is relative to the item, "^A" to
 * data, "^" is data itself.
 */
struct field {
	const char *name;
	enum kind kind;
	const char *paths[3];
};

/* the most fields one shape fills, plus the end mark */
#define SHAPE_FIELDS 12

struct shape {
	const char *events[4]; /* upper-case event codes */
	const char *items;     /* member of data holding the items, or NULL */
	struct field fields[SHAPE_FIELDS]; /* in record order */
};

/*
 * The shapes as portals really send them, with the docs' drawings
 * accepted too (docs/bitrix24.md section 6): chat and user
 * ids of imconnector events are the external channel's, open-line
 * session events carry line{id,name} and chat{chat_id} (the docs draw
 * chat{id}), ONIMCONNECTORSTATUSDELETE uses lower-case keys and
 * ONIMCONNECTORLINEDELETE sends the line id as data itself.
 */
static const struct shape shapes[] = {
	{ { "ONIMCONNECTORMESSAGEADD", "ONIMCONNECTORMESSAGEUPDATE",
	      "ONIMCONNECTORMESSAGEDELETE" },
	    "MESSAGES",
	    { { "connector", K_STRING, { "^CONNECTOR" } },
		{ "line", K_INT, { "^LINE" } },
		{ "chat_id", K_INT, { "im.chat_id" } },
		{ "message_id", K_INT, { "im.message_id" } },
		{ "external_chat_id", K_STRING, { "chat.id" } },
		{ "external_user_id", K_STRING, { "user.id" } },
		{ "external_message_ids", K_STRINGS, { "message.id" } } } },
	{ { "ONOPENLINEMESSAGEDELETE" }, "DATA",
	    { { "connector", K_STRING, { "^CONNECTOR" } },
		{ "line", K_INT, { "^LINE" } },
		{ "chat_id", K_INT, { "im.chat_id" } },
		{ "message_id", K_INT, { "im.message_id", "message.id" } },
		{ "external_chat_id", K_STRING, { "chat.id" } } } },
	{ { "ONIMCONNECTORDIALOGSTART", "ONIMCONNECTORDIALOGFINISH" }, "DATA",
	    { { "connector", K_STRING,
		  { "connector.connector_id", "^CONNECTOR" } },
		{ "line", K_INT, { "connector.line_id", "^LINE" } },
		{ "session_id", K_INT, { "session.id" } },
		{ "session_closed", K_YN, { "session.closed" } },
		{ "parent_session_id", K_INT, { "session.parent_id" } },
		{ "close_term", K_INT, { "session.close_term" } },
		{ "external_chat_id", K_STRING,
		    { "chat.id", "connector.chat_id" } },
		{ "external_user_id", K_STRING,
		    { "user.id", "connector.user_id" } } } },
	{ { "ONSESSIONSTART", "ONSESSIONFINISH" }, "DATA",
	    { { "connector", K_STRING,
		  { "connector.connector_id", "^CONNECTOR" } },
		{ "line", K_INT, { "line.id", "connector.line_id", "^LINE" } },
		{ "line_name", K_STRING, { "line.name" } },
		{ "chat_id", K_INT, { "chat.chat_id", "chat.id" } },
		{ "external_chat_id", K_STRING, { "connector.chat_id" } },
		{ "external_user_id", K_STRING, { "connector.user_id" } } } },
	{ { "ONOPENLINEMESSAGEADD", "ONOPENLINEMESSAGEUPDATE" }, "DATA",
	    { { "connector", K_STRING,
		  { "^CONNECTOR", "connector.connector_id" } },
		{ "line", K_INT, { "^LINE", "connector.line_id" } },
		{ "chat_id", K_INT, { "message.chat_id" } },
		{ "message_id", K_INT, { "message.id" } },
		{ "external_chat_id", K_STRING, { "connector.chat_id" } },
		{ "external_user_id", K_STRING, { "connector.user_id" } } } },
	{ { "ONIMCONNECTORSTATUSDELETE" }, NULL,
	    { { "connector", K_STRING, { "^connector", "^CONNECTOR" } },
		{ "line", K_INT, { "^line", "^LINE" } } } },
	{ { "ONIMCONNECTORLINEDELETE" }, NULL,
	    { { "line", K_INT, { "^", "^LINE", "^LINE_ID" } } } },
};

/* What every record of one request shares. */
struct context {
	const struct shape *shape; /* NULL: generic fields only */
	const char *event;	   /* upper-case */
	const char *portal;
	const json_t *body;
	const json_t *data; /* may be NULL */
	json_t *context;    /* data but its items, for item records; or NULL */
	char received[40];
	struct key_context key; /* portal, event, data: hashed once */
	/*
	 * The head (v .. user_id) is the same in every record: it is dumped
	 * once, into the first record, and copied from there into the
	 * others; head_len is 0 until then.  The context of two or more
	 * items is dumped once too, into context_text.
	 */
	size_t head_at, head_len;
	char context_text[LIMIT_CONTEXT];
	size_t context_len; /* 0: context is dumped in place */
};

static const struct shape *
shape_find(const char *event)
{
	size_t i, j;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		for (j = 0; j < 4 && shapes[i].events[j] != NULL; j++)
			if (strcmp(shapes[i].events[j], event) == 0)
				return &shapes[i];
	return NULL;
}

/* The value at path (see struct field), borrowed, or NULL. */
static const json_t *
path_get(const struct context *c, const json_t *item, const char *path)
{
	const json_t *v = item;
	char name[64];
	size_t n;

	if (*path == '^') {
		v = c->data;
		path++;
	}
	while (*path != '\0' && v != NULL) {
		n = strcspn(path, ".");
		if (n >= sizeof(name))
			return NULL;
		memcpy(name, path, n);
		name[n] = '\0';
		v = json_object_get(v, name);
		path += n + (path[n] == '.');
	}
	return v;
}

/*
 * A Bitrix integer: a JSON integer, or a decimal string as the wire
 * sends it ("105", "-1"), with nothing around the digits.
 */
static json_t *
as_int(const json_t *v)
{
	const char *s;
	char *end;
	long long n;

	if (json_is_integer(v))
		return json_integer(json_integer_value(v));
	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (!(isdigit((unsigned char)s[0]) ||
		(s[0] == '-' && isdigit((unsigned char)s[1]))))
		return NULL;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' ||
	    (size_t)(end - s) != json_string_length(v))
		return NULL;
	return json_integer(n);
}

/* An id kept as a string: the docs draw some as JSON integers. */
static json_t *
as_string(const json_t *v)
{
	char num[32];

	if (json_is_string(v))
		return json_stringn_nocheck(json_string_value(v),
		    json_string_length(v));
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return json_string_nocheck(num);
	}
	return NULL;
}

static json_t *
as_yn(const json_t *v)
{
	const char *s = json_string_value(v);

	if (json_is_boolean(v))
		return json_boolean(json_is_true(v));
	if (s != NULL && strcmp(s, "Y") == 0)
		return json_true();
	if (s != NULL && strcmp(s, "N") == 0)
		return json_false();
	return NULL;
}

/*
 * One external id or a list of them (message.id of an update is a list);
 * NULL when there is none, or when memory runs out.
 */
static json_t *
as_strings(const json_t *v)
{
	json_t *list, *s;
	size_t i;

	if ((list = json_array()) == NULL)
		return NULL;
	if (!json_is_array(v)) {
		if ((s = as_string(v)) != NULL &&
		    json_array_append_new(list, s) == -1)
			goto fail;
	} else
		for (i = 0; i < json_array_size(v); i++)
			if ((s = as_string(json_array_get(v, i))) != NULL &&
			    json_array_append_new(list, s) == -1)
				goto fail;
	if (json_array_size(list) == 0)
		goto fail;
	return list;
fail:
	json_decref(list);
	return NULL;
}

static json_t *
convert(enum kind kind, const json_t *v)
{
	switch (kind) {
	case K_INT:
		return as_int(v);
	case K_STRING:
		return as_string(v);
	case K_YN:
		return as_yn(v);
	case K_STRINGS:
		return as_strings(v);
	}
	return NULL;
}

/* Set record[name] to v converted, if v is present and of the right form. */
static int
set_converted(json_t *record, const char *name, enum kind kind,
    const json_t *v)
{
	json_t *n;

	if (v == NULL || (n = convert(kind, v)) == NULL)
		return 0;
	return json_object_set_new_nocheck(record, name, n);
}

static int
set_fields(const struct context *c, const json_t *item, json_t *record)
{
	const struct field *f;
	const json_t *v;
	size_t i;

	for (f = c->shape->fields; f->name != NULL; f++) {
		for (i = 0, v = NULL; i < 3 && f->paths[i] != NULL && v == NULL;
		     i++)
			v = path_get(c, item, f->paths[i]);
		if (set_converted(record, f->name, f->kind, v) == -1)
			return -1;
	}
	return 0;
}

static int
set_head(const struct context *c, json_t *record)
{
	const json_t *auth = json_object_get(c->body, "auth");
	const json_t *id = json_object_get(c->body, "event_handler_id");

	if (id == NULL)
		id = json_object_get(c->body, "eventId");
	if (json_object_set_new_nocheck(record, "v", json_integer(1)) == -1 ||
	    json_object_set_new_nocheck(record, "received",
		json_string_nocheck(c->received)) == -1 ||
	    json_object_set_new_nocheck(record, "event",
		json_string_nocheck(c->event)) == -1 ||
	    set_converted(record, "event_handler_id", K_INT, id) == -1 ||
	    set_converted(record, "ts", K_INT,
		json_object_get(c->body, "ts")) == -1 ||
	    json_object_set_new_nocheck(record, "member_id",
		json_string_nocheck(c->portal)) == -1 ||
	    set_converted(record, "domain", K_STRING,
		json_object_get(auth, "domain")) == -1 ||
	    set_converted(record, "user_id", K_INT,
		json_object_get(auth, "user_id")) == -1)
		return -1;
	return 0;
}

/*
 * dump: append v's compact JSON to out.  jansson writes into the room out
 * has (its first allocation at least); a value that does not fit is
 * dumped again into room grown to its size.  -1 with errno E2BIG (past
 * out->max) or ENOMEM.
 */
static int
dump(const json_t *v, struct buf *out)
{
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	size_t room, n;
	char *at;

	/* a first allocation, so a fresh buffer's value is dumped once */
	if ((at = buf_reserve(out, 0)) == NULL)
		return -1;
	room = out->cap - out->len - 1;
	/* the room allocated may pass what out may hold */
	if (room > out->max - out->len)
		room = out->max - out->len;
	n = json_dumpb(v, at, room, flags);
	if (n == 0) {
		errno = ENOMEM;
		return -1;
	}
	if (n > room) {
		if (buf_reserve(out, n) == NULL)
			return -1;
		json_dumpb(v, out->data + out->len, n, flags);
	}
	out->len += n;
	return 0;
}

/*
 * dump_open: dump object v (never empty) to out without its closing
 * brace, so that more members can follow; with more set, its opening
 * brace becomes the comma that continues the members before it.
 */
static int
dump_open(const json_t *v, int more, struct buf *out)
{
	size_t at = out->len;

	if (dump(v, out) == -1)
		return -1;
	if (more)
		out->data[at] = ',';
	out->len--;
	return 0;
}

/*
 * head_append: the head's members (see struct context) to out; -1 with
 * errno as dump's.
 */
static int
head_append(struct context *c, struct buf *out)
{
	json_t *head;
	int rc;

	if (c->head_len > 0) {
		if (buf_reserve(out, c->head_len) == NULL)
			return -1;
		memcpy(out->data + out->len, out->data + c->head_at,
		    c->head_len);
		out->len += c->head_len;
		return 0;
	}
	if ((head = json_object()) == NULL || set_head(c, head) == -1) {
		json_decref(head);
		errno = ENOMEM;
		return -1;
	}
	c->head_at = out->len;
	rc = dump_open(head, 0, out);
	c->head_len = out->len - c->head_at;
	json_decref(head);
	return rc;
}

/* context_append: ,"context":{...} to out */
static int
context_append(const struct context *c, struct buf *out)
{
	static const char name[] = ",\"context\":";

	if (buf_append(out, name, sizeof(name) - 1) == -1)
		return -1;
	if (c->context_len == 0)
		return dump(c->context, out);
	return buf_append(out, c->context_text, c->context_len);
}

/*
 * Append the record of one item to out; item is NULL for an event
 * without items, whose record carries the whole data.  The record is
 * the head, then the members of its own (item, items, the normalised
 * fields, key) as one object dumped with its braces cut, then context
 * and data: jansson writes every value, in record order, and the bytes
 * are those of the whole record dumped at once.  Names and values go in
 * unchecked (the _nocheck calls): names are literals, and every string
 * is valid UTF-8 already (the decoders check the body; the portal comes
 * from the allow-list, the rest is ASCII made here).
 */
static int
record_append(struct context *c, const json_t *item, size_t index,
    size_t count, struct buf *out, struct err *err)
{
	static const char data_name[] = ",\"data\":";
	char key[KEY_HEX_SIZE];
	const json_t *data = item != NULL ? item : c->data;
	json_t *own;
	int rc = -1;

	if ((own = json_object()) == NULL ||
	    (item != NULL &&
		(json_object_set_new_nocheck(own, "item",
		     json_integer(index)) ||
		    json_object_set_new_nocheck(own, "items",
			json_integer(count)))) ||
	    (c->shape != NULL && set_fields(c, data, own) == -1) ||
	    key_finish(&c->key, item, key) == -1 ||
	    json_object_set_new_nocheck(own, "key",
		json_string_nocheck(key)) == -1) {
		err_set(err, ERR_INTERNAL, "out of memory building a record");
		goto fail;
	}
	if (head_append(c, out) == -1 || dump_open(own, 1, out) == -1 ||
	    (item != NULL && c->context != NULL &&
		context_append(c, out) == -1) ||
	    (data != NULL &&
		(buf_append(out, data_name, sizeof(data_name) - 1) == -1 ||
		    dump(data, out) == -1)) ||
	    buf_append(out, "}\n", 2) == -1) {
		if (errno == E2BIG)
			err_set(err, ERR_LIMIT_EXCEEDED,
			    "limit=records max=%zu", out->max);
		else
			err_set(err, ERR_INTERNAL, "out of memory writing a "
						   "record");
		goto fail;
	}
	rc = 0;
fail:
	json_decref(own);
	return rc;
}

/*
 * data's items: a list, or one object (the open-line events send DATA as
 * an object).  Returns the count, 0 when there are none.
 */
static size_t
items_count(const json_t *items)
{
	if (json_is_array(items))
		return json_array_size(items);
	return json_is_object(items) ? 1 : 0;
}

static const json_t *
items_get(const json_t *items, size_t i)
{
	return json_is_array(items) ? json_array_get(items, i) : items;
}

/*
 * context_make: *out = a new object of data's members but items_key (the
 * same values, referenced), or NULL when there are none.  -1 when memory
 * runs out.
 */
static int
context_make(const json_t *data, const char *items_key, json_t **out)
{
	const char *k;
	json_t *v;

	*out = NULL;
	if (json_object_size(data) < 2)
		return 0;
	if ((*out = json_object()) == NULL)
		return -1;
	json_object_foreach((json_t *)data, k, v)
		if (strcmp(k, items_key) != 0 &&
		    json_object_set_nocheck(*out, k, v) == -1) {
			json_decref(*out);
			*out = NULL;
			return -1;
		}
	return 0;
}

/*
 * json_dump_callback's sink: the context's text into context_text;
 * stops past LIMIT_CONTEXT bytes, context_len then above it.
 */
static int
keep_context(const char *buffer, size_t size, void *arg)
{
	struct context *c = arg;

	/* jansson may call again after a refusal: context_len stays past */
	if (c->context_len > LIMIT_CONTEXT ||
	    size > LIMIT_CONTEXT - c->context_len) {
		c->context_len = LIMIT_CONTEXT + 1;
		return -1;
	}
	memcpy(c->context_text + c->context_len, buffer, size);
	c->context_len += size;
	return 0;
}

/* digits: the width last decimal digits of n into s; returns the end */
static char *
digits(char *s, long n, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--, n /= 10)
		s[i] = (char)('0' + n % 10);
	return s + width;
}

/*
 * The arrival time as 2006-01-02T15:04:05.000000Z (size >= 28).  Written
 * by hand: strftime and snprintf cost more than the rest of the head.
 */
static void
format_received(const struct timespec *t, char *s, size_t size)
{
	struct tm tm;
	size_t n;

	gmtime_r(&t->tv_sec, &tm);
	if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		n = strftime(s, size, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(s + n, size - n, ".%06ldZ", t->tv_nsec / 1000);
		return;
	}
	s = digits(s, tm.tm_year + 1900L, 4);
	*s++ = '-';
	s = digits(s, tm.tm_mon + 1L, 2);
	*s++ = '-';
	s = digits(s, tm.tm_mday, 2);
	*s++ = 'T';
	s = digits(s, tm.tm_hour, 2);
	*s++ = ':';
	s = digits(s, tm.tm_min, 2);
	*s++ = ':';
	s = digits(s, tm.tm_sec, 2);
	*s++ = '.';
	s = digits(s, t->tv_nsec / 1000, 6);
	*s++ = 'Z';
	*s = '\0';
}

int
event_records(const json_t *body, const char *portal,
    const struct timespec *received, struct buf *out, size_t *nrecords,
    struct err *err)
{
	struct context c = { .portal = portal, .body = body };
	char event[LIMIT_EVENT + 1];
	const json_t *items = NULL;
	const char *name;
	size_t i, n = 0;
	int rc = -1;

	name = json_string_value(json_object_get(body, "event"));
	if (name == NULL || *name == '\0' || strlen(name) > LIMIT_EVENT)
		return err_set(err, ERR_NOT_AN_EVENT, "no usable event");
	for (i = 0; name[i] != '\0'; i++)
		event[i] = (char)toupper((unsigned char)name[i]);
	event[i] = '\0';
	c.event = event;
	/* every record copies the domain: the bound on records counts it */
	if (json_string_length(json_object_get(json_object_get(body, "auth"),
		"domain")) > LIMIT_DOMAIN)
		return err_set(err, ERR_LIMIT_EXCEEDED, "limit=domain max=%d",
		    LIMIT_DOMAIN);
	c.data = json_object_get(body, "data");
	c.shape = shape_find(event);
	format_received(received, c.received, sizeof(c.received));

	if (c.shape != NULL && c.shape->items != NULL) {
		items = json_object_get(c.data, c.shape->items);
		n = items_count(items);
	}
	/* one record each, every one copying the domain and context */
	if (n > LIMIT_ITEMS)
		return err_set(
		    err, ERR_LIMIT_EXCEEDED, "limit=items max=%d", LIMIT_ITEMS);
	if (n > 0 && context_make(c.data, c.shape->items, &c.context) == -1)
		return err_set(err, ERR_INTERNAL, "out of memory for context");
	/* every item's record copies the context: bounded when there are two */
	if (n > 1 && c.context != NULL &&
	    json_dump_callback(c.context, keep_context, &c,
		JSON_COMPACT) == -1) {
		if (c.context_len > LIMIT_CONTEXT)
			err_set(err, ERR_LIMIT_EXCEEDED, "limit=context max=%d",
			    LIMIT_CONTEXT);
		else
			err_set(err, ERR_INTERNAL, "out of memory for context");
		goto fail;
	}
	if (key_start(&c.key, portal, event, c.data,
		n > 0 ? c.shape->items : NULL) == -1) {
		err_set(err, ERR_INTERNAL, "out of memory for a key");
		goto fail;
	}
	if (n == 0 && record_append(&c, NULL, 0, 0, out, err) == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (record_append(&c, items_get(items, i), i, n, out, err) ==
		    -1)
			goto fail;
	*nrecords += n > 0 ? n : 1;
	rc = 0;
fail:
	json_decref(c.context);
	return rc;
}
