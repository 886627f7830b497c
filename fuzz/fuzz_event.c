/*
 * libFuzzer target: the event normaliser, event_records (event.h), fed
 * the tree the decoders make of the input as the responder has them make
 * it, its secrets taken out (JSON when it starts with '{', a form
 * otherwise), record keys (key.c) included.  A success appends
 * exactly nrecords lines, each a JSON object carrying v, received, event,
 * member_id and key, and never an auth member, and each byte for byte
 * what jansson dumps of it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "decode.h"
#include "event.h"
#include "limit.h"

#define PORTAL "bac1cd5c8940947a75e0d71b1a84e348"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* each of the n lines of out is a record; abort() otherwise */
static void
check_records(const struct buf *out, size_t n)
{
	const char *p = out->data, *nl;
	json_t *r;
	size_t lines = 0;
	char *d;

	while (p != NULL && p < out->data + out->len) {
		if ((nl = memchr(p, '\n', out->data + out->len - p)) == NULL)
			abort(); /* a record without its newline */
		if ((r = json_loadb(p, nl - p, JSON_ALLOW_NUL, NULL)) == NULL ||
		    !json_is_object(r) ||
		    json_integer_value(json_object_get(r, "v")) != 1 ||
		    !json_is_string(json_object_get(r, "received")) ||
		    !json_is_string(json_object_get(r, "event")) ||
		    !json_is_string(json_object_get(r, "member_id")) ||
		    strcmp(json_string_value(json_object_get(r, "member_id")),
			PORTAL) != 0 ||
		    json_string_length(json_object_get(r, "key")) != 32 ||
		    json_object_get(r, "auth") != NULL)
			abort();
		/* a record spliced from parts is still jansson's dump */
		if ((d = json_dumps(r, JSON_COMPACT)) == NULL ||
		    strlen(d) != (size_t)(nl - p) || memcmp(d, p, nl - p) != 0)
			abort();
		free(d);
		json_decref(r);
		lines++;
		p = nl + 1;
	}
	if (lines != n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct timespec received = { 1773759200, 123456000 };
	enum media media = size > 0 && data[0] == '{' ? MEDIA_JSON : MEDIA_FORM;
	struct auth_secrets secrets = { 0 };
	struct err err = { 0 };
	struct buf out;
	size_t n = 0;
	json_t *body;

	/* the tree as the responder decodes it: its tokens taken out */
	if (decode_body(media, (const char *)data, size, &body, &secrets,
		&err) == -1)
		return 0;
	secrets_clear(&secrets);
	buf_init(&out, LIMIT_RECORDS(size));
	if (event_records(body, PORTAL, &received, &out, &n, &err) == 0)
		check_records(&out, n);
	else if (err.code != ERR_NOT_AN_EVENT &&
	    err.code != ERR_LIMIT_EXCEEDED && err.code != ERR_INTERNAL)
		abort();
	buf_free(&out);
	json_decref(body);
	return 0;
}
