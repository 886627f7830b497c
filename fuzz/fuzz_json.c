/*
 * libFuzzer target: the JSON path of decode_body (decode.h), and the
 * CONTENT_TYPE parser decode_media on the same bytes.  A success is an
 * object within the documented limits; a failure names one of the
 * documented codes; the decode with the secrets taken out agrees with
 * the whole one (tests/parity.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "decode.h"
#include "limit.h"
#include "../tests/parity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* deepest path of keys below v; abort() past LIMIT_DEPTH */
static int
depth(const json_t *v)
{
	const char *k;
	json_t *child;
	size_t i;
	int d = 0, c;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, child) {
			if (strlen(k) > LIMIT_KEY)
				abort();
			if ((c = depth(child)) > d)
				d = c;
		}
	} else if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, child) {
			if ((c = depth(child)) > d)
				d = c;
		}
	} else
		return 0;
	/* the top object is level 0: LIMIT_DEPTH keys below it at most */
	if (d > LIMIT_DEPTH)
		abort();
	return d + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err err = { 0 };
	enum media media;
	json_t *root;
	char *type, why[1024];

	if (parity_check(MEDIA_JSON, (const char *)data, size, why,
		sizeof(why)) == -1) {
		fprintf(stderr, "parity: %s\n", why);
		abort();
	}
	if (decode_body(MEDIA_JSON, (const char *)data, size, &root, NULL,
		&err) == -1) {
		if (root != NULL || (err.code != ERR_MALFORMED_BODY &&
			err.code != ERR_INVALID_UTF8 &&
			err.code != ERR_LIMIT_EXCEEDED &&
			err.code != ERR_INTERNAL))
			abort();
	} else {
		if (!json_is_object(root))
			abort();
		depth(root);
		json_decref(root);
	}

	/* the same bytes as a CONTENT_TYPE value (a C string) */
	if ((type = strndup((const char *)data, size)) == NULL)
		return 0;
	if (decode_media(type, &media, &err) == -1 &&
	    err.code != ERR_UNSUPPORTED_MEDIA_TYPE)
		abort();
	free(type);
	return 0;
}
