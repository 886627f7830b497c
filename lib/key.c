#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "key.h"

/* bytes: BLAKE2b output; 128 bits keep accidental collisions out of reach */
#define KEY_BYTES 16

/*
 * The canonical encoding is type-length-value, so no two different trees
 * encode alike: 's' len bytes for scalars, 'a' n items for lists, 'o' n
 * (key value)... for objects with keys in byte order, 'n' for null.
 */
static void
put_tag(crypto_generichash_state *st, char tag, uint64_t n)
{
	unsigned char b[9];
	int i;

	b[0] = (unsigned char)tag;
	for (i = 0; i < 8; i++)
		b[1 + i] = (unsigned char)(n >> (8 * i));
	crypto_generichash_update(st, b, sizeof(b));
}

static void
put_string(crypto_generichash_state *st, const char *s, size_t len)
{
	put_tag(st, 's', len);
	crypto_generichash_update(st, (const unsigned char *)s, len);
}

/* Scalars as the wire carries them: PHP's http_build_query stringifies. */
static void
put_scalar(crypto_generichash_state *st, const json_t *v)
{
	char num[64];
	int n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		put_string(st, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		n = snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		n = snprintf(num, sizeof(num), "1");
		break;
	case JSON_FALSE:
		n = snprintf(num, sizeof(num), "0");
		break;
	default:
		put_tag(st, 'n', 0);
		return;
	}
	put_string(st, num, (size_t)n);
}

static int
by_bytes(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int put_value(crypto_generichash_state *, const json_t *,
    const char *);

/* An object, its member named skip (if any) left out. */
static int
put_object(crypto_generichash_state *st, const json_t *o, const char *skip)
{
	const char **keys;
	const char *k;
	json_t *v;
	size_t n = 0, i;

	if ((keys = calloc(json_object_size(o) + 1, sizeof(*keys))) == NULL)
		return -1;
	json_object_foreach((json_t *)o, k, v)
		if (skip == NULL || strcmp(k, skip) != 0)
			keys[n++] = k;
	qsort(keys, n, sizeof(*keys), by_bytes);
	put_tag(st, 'o', n);
	for (i = 0; i < n; i++) {
		put_string(st, keys[i], strlen(keys[i]));
		if (put_value(st, json_object_get(o, keys[i]), NULL) == -1)
			break;
	}
	free(keys);
	return i == n ? 0 : -1;
}

static int
put_value(crypto_generichash_state *st, const json_t *v, const char *skip)
{
	size_t i;

	if (v == NULL) {
		put_tag(st, 'n', 0);
		return 0;
	}
	if (json_is_object(v))
		return put_object(st, v, skip);
	if (!json_is_array(v)) {
		put_scalar(st, v);
		return 0;
	}
	put_tag(st, 'a', json_array_size(v));
	for (i = 0; i < json_array_size(v); i++)
		if (put_value(st, json_array_get(v, i), NULL) == -1)
			return -1;
	return 0;
}

int
key_start(struct key_context *ctx, const char *portal, const char *event,
    const json_t *data, const char *items_key)
{
	crypto_generichash_init(&ctx->state, NULL, 0, KEY_BYTES);
	put_string(&ctx->state, "b24hook key 1", 13);
	put_string(&ctx->state, portal, strlen(portal));
	put_string(&ctx->state, event, strlen(event));
	ctx->items = items_key != NULL;
	return put_value(&ctx->state, data, items_key);
}

int
key_finish(const struct key_context *ctx, const json_t *item,
    char hex[KEY_HEX_SIZE])
{
	crypto_generichash_state st = ctx->state;
	unsigned char out[KEY_BYTES];

	if (ctx->items && put_value(&st, item, NULL) == -1)
		return -1;
	crypto_generichash_final(&st, out, sizeof(out));
	sodium_bin2hex(hex, KEY_HEX_SIZE, out, sizeof(out));
	return 0;
}

int
key_item(const char *portal, const char *event, const json_t *data,
    const char *items_key, const json_t *item, char hex[KEY_HEX_SIZE])
{
	struct key_context ctx;

	if (key_start(&ctx, portal, event, data, items_key) == -1)
		return -1;
	return key_finish(&ctx, item, hex);
}
