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
 *
 * The encoding is gathered in buf and given to BLAKE2b in large pieces:
 * one crypto_generichash_update per 9-byte tag cost a third of a key.
 */
struct hasher {
	crypto_generichash_state *st;
	size_t len;		 /* bytes in buf */
	unsigned char buf[1024]; /* bytes: on their way to st */
};

static void
flush(struct hasher *h)
{
	crypto_generichash_update(h->st, h->buf, h->len);
	h->len = 0;
}

static void
put_bytes(struct hasher *h, const void *p, size_t len)
{
	if (len > sizeof(h->buf) - h->len) {
		flush(h);
		if (len > sizeof(h->buf)) {
			crypto_generichash_update(h->st, p, len);
			return;
		}
	}
	memcpy(h->buf + h->len, p, len);
	h->len += len;
}

static void
put_tag(struct hasher *h, char tag, uint64_t n)
{
	unsigned char b[9];
	int i;

	b[0] = (unsigned char)tag;
	for (i = 0; i < 8; i++)
		b[1 + i] = (unsigned char)(n >> (8 * i));
	put_bytes(h, b, sizeof(b));
}

static void
put_string(struct hasher *h, const char *s, size_t len)
{
	put_tag(h, 's', len);
	put_bytes(h, s, len);
}

/* Scalars as the wire carries them: PHP's http_build_query stringifies. */
static void
put_scalar(struct hasher *h, const json_t *v)
{
	char num[64];
	int n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		put_string(h, json_string_value(v), json_string_length(v));
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
		put_tag(h, 'n', 0);
		return;
	}
	put_string(h, num, (size_t)n);
}

/* An object's member, for sorting by key. */
struct member {
	const char *key;
	const json_t *value;
};

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->key,
	    ((const struct member *)b)->key);
}

/* members on the stack; larger objects are sorted in allocated memory */
#define SMALL_OBJECT 32

static int put_value(struct hasher *, const json_t *, const char *);

/* An object, its member named skip (if any) left out. */
static int
put_object(struct hasher *h, const json_t *o, const char *skip)
{
	struct member small[SMALL_OBJECT], *m = small;
	const char *k;
	json_t *v;
	size_t n = 0, i;

	if (json_object_size(o) > SMALL_OBJECT &&
	    (m = calloc(json_object_size(o), sizeof(*m))) == NULL)
		return -1;
	json_object_foreach((json_t *)o, k, v)
		if (skip == NULL || strcmp(k, skip) != 0) {
			m[n].key = k;
			m[n++].value = v;
		}
	qsort(m, n, sizeof(*m), by_key);
	put_tag(h, 'o', n);
	for (i = 0; i < n; i++) {
		put_string(h, m[i].key, strlen(m[i].key));
		if (put_value(h, m[i].value, NULL) == -1)
			break;
	}
	if (m != small)
		free(m);
	return i == n ? 0 : -1;
}

static int
put_value(struct hasher *h, const json_t *v, const char *skip)
{
	size_t i;

	if (v == NULL) {
		put_tag(h, 'n', 0);
		return 0;
	}
	if (json_is_object(v))
		return put_object(h, v, skip);
	if (!json_is_array(v)) {
		put_scalar(h, v);
		return 0;
	}
	put_tag(h, 'a', json_array_size(v));
	for (i = 0; i < json_array_size(v); i++)
		if (put_value(h, json_array_get(v, i), NULL) == -1)
			return -1;
	return 0;
}

int
key_start(struct key_context *ctx, const char *portal, const char *event,
    const json_t *data, const char *items_key)
{
	struct hasher h;
	int rc;

	h.st = &ctx->state;
	h.len = 0;
	crypto_generichash_init(&ctx->state, NULL, 0, KEY_BYTES);
	put_string(&h, "b24hook key 1", 13);
	put_string(&h, portal, strlen(portal));
	put_string(&h, event, strlen(event));
	ctx->items = items_key != NULL;
	rc = put_value(&h, data, items_key);
	flush(&h);
	return rc;
}

int
key_finish(const struct key_context *ctx, const json_t *item,
    char hex[KEY_HEX_SIZE])
{
	crypto_generichash_state st = ctx->state;
	struct hasher h;
	unsigned char out[KEY_BYTES];

	h.st = &st;
	h.len = 0;
	if (ctx->items && put_value(&h, item, NULL) == -1)
		return -1;
	flush(&h);
	crypto_generichash_final(&st, out, sizeof(out));
	sodium_bin2hex(hex, KEY_HEX_SIZE, out, sizeof(out));
	return 0;
}
