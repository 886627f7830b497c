/*
 * Decoding a request body: its media type, then the tree.  Portals post
 * application/x-www-form-urlencoded (docs/bitrix24.md section
 * 1); application/json is accepted for test tools and the docs' examples.
 */
#ifndef DECODE_H
#define DECODE_H

#include <stddef.h>

#include <jansson.h>

#include "errcode.h"
#include "secrets.h"

enum media {
	MEDIA_FORM, /* application/x-www-form-urlencoded */
	MEDIA_JSON, /* application/json */
};

/*
 * decode_media: the media type named by a CONTENT_TYPE value, compared
 * case-insensitively and with any parameter (charset=...) ignored.  NULL
 * or empty means form: CGI leaves CONTENT_TYPE unset when the client
 * sent none.  Returns 0, or -1 with ERR_UNSUPPORTED_MEDIA_TYPE.
 */
int decode_media(const char *content_type, enum media *media,
    struct err *err);

/*
 * decode_body: decode len bytes of body.  Form bodies go through
 * form_decode (see form.h).  JSON bodies are parsed by jansson with
 * duplicate keys refused, must be an object, and must keep to the same
 * limits: LIMIT_DEPTH nesting levels, LIMIT_PAIRS values, LIMIT_KEY
 * bytes per object key; NUL characters are refused.
 * With secrets NULL the tree is the whole body.  With secrets, the
 * secrets of auth are taken out as form_decode says; for JSON, each
 * member of the top object's auth that is a string and a slot's
 * (secrets.h) is moved into its slot, and the endpoints that are strings
 * are deleted: a member of another type stays in the tree.
 * On success *out is a new reference to an object.  Errors:
 * ERR_MALFORMED_BODY, ERR_INVALID_UTF8, ERR_LIMIT_EXCEEDED, ERR_INTERNAL;
 * the slots are then empty.  Whatever the slots held before the call is
 * dropped first.
 */
int decode_body(enum media media, const char *body, size_t len,
    json_t **out, struct auth_secrets *secrets, struct err *err);

#endif
