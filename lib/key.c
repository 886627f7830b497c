#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "key.h"

/* bytes: BLAKE2b output; 128 bits keep accidental collisions out of reach */
#define KEY_BYTES 16

/* bytes: a tag, its letter then a count or length, little-endian */
#define TAG_SIZE 9

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

/* A tag is stored whole, not bytewise: a key puts one per value. */
static void
put_tag(struct hasher *h, char tag, uint64_t n)
{
	unsigned char *b;

	if (sizeof(h->buf) - h->len < TAG_SIZE)
		flush(h);
	b = h->buf + h->len;
	b[0] = (unsigned char)tag;
	n = htole64(n);
	memcpy(b + 1, &n, sizeof(n));
	h->len += TAG_SIZE;
}

static void
put_string(struct hasher *h, const char *s, size_t len)
{
	put_tag(h, 's', len);
	put_bytes(h, s, len);
}

/*
 * put_integer: v in decimal, as "%" JSON_INTEGER_FORMAT prints it; a key
 * with numbers in it is made without stdio.
 */
static void
put_integer(struct hasher *h, json_int_t v)
{
	char num[24], *p = num + sizeof(num);
	/* the magnitude as unsigned: -INT64_MIN does not fit json_int_t */
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	put_string(h, p, (size_t)(num + sizeof(num) - p));
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
		put_integer(h, json_integer_value(v));
		return;
	case JSON_REAL:
		n = snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		put_string(h, num, (size_t)n);
		return;
	case JSON_TRUE:
		put_string(h, "1", 1);
		return;
	case JSON_FALSE:
		put_string(h, "0", 1);
		return;
	default:
		put_tag(h, 'n', 0);
		return;
	}
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

/*
 * sort_members: m in key order, by insertion: for an object of at most
 * SMALL_OBJECT members it costs less than qsort's indirect call per
 * comparison.  Keys are unique, so any sort gives the one order.
 */
static void
sort_members(struct member *m, size_t n)
{
	struct member t;
	size_t i, j;

	for (i = 1; i < n; i++) {
		t = m[i];
		for (j = i; j > 0 && strcmp(m[j - 1].key, t.key) > 0; j--)
			m[j] = m[j - 1];
		m[j] = t;
	}
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
	void *it;
	size_t n = 0, i;

	if (json_object_size(o) > SMALL_OBJECT &&
	    (m = calloc(json_object_size(o), sizeof(*m))) == NULL)
		return -1;
	/* by iterator: json_object_foreach finds it again from the key,
	 * twice per member */
	for (it = json_object_iter((json_t *)o); it != NULL;
	     it = json_object_iter_next((json_t *)o, it)) {
		k = json_object_iter_key(it);
		if (skip == NULL || strcmp(k, skip) != 0) {
			m[n].key = k;
			m[n++].value = json_object_iter_value(it);
		}
	}
	if (m == small)
		sort_members(m, n);
	else
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
	static const char digits[] = "0123456789abcdef";
	crypto_generichash_state st = ctx->state;
	struct hasher h;
	unsigned char out[KEY_BYTES];
	size_t i;

	h.st = &st;
	h.len = 0;
	if (ctx->items && put_value(&h, item, NULL) == -1)
		return -1;
	flush(&h);
	crypto_generichash_final(&st, out, sizeof(out));
	/* a table, not sodium_bin2hex's constant time: a key is no secret */
	for (i = 0; i < sizeof(out); i++) {
		hex[2 * i] = digits[out[i] >> 4];
		hex[2 * i + 1] = digits[out[i] & 0xf];
	}
	hex[2 * sizeof(out)] = '\0';
	return 0;
}
