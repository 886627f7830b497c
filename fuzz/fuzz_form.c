/*
 * libFuzzer target: form_decode, the decoder every portal's body goes
 * through (form.h).  Beyond "no crash, no leak, no undefined behaviour":
 * a success is a JSON object jansson can dump and load back; a failure
 * leaves *out NULL and names one of the documented codes; and the tree
 * with the secrets taken out, its slots put back, is the whole tree
 * without its endpoints, or both decodes fail alike (tests/parity.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "form.h"
#include "../tests/parity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err err = { 0 };
	json_t *root, *back;
	char *text, why[1024];

	if (parity_check(MEDIA_FORM, (const char *)data, size, why,
		sizeof(why)) == -1) {
		fprintf(stderr, "parity: %s\n", why);
		abort();
	}
	if (form_decode((const char *)data, size, &root, NULL, &err) == -1) {
		if (root != NULL || (err.code != ERR_MALFORMED_BODY &&
			err.code != ERR_INVALID_UTF8 &&
			err.code != ERR_LIMIT_EXCEEDED &&
			err.code != ERR_INTERNAL))
			abort();
		return 0;
	}
	if (!json_is_object(root) ||
	    (text = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		abort();
	if ((back = json_loads(text, JSON_ALLOW_NUL, NULL)) == NULL ||
	    !json_equal(root, back))
		abort();
	json_decref(back);
	free(text);
	json_decref(root);
	return 0;
}
