#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"

int
jsonout_integer(struct buf *b, json_int_t n)
{
	char num[24], *p = num + sizeof(num);
	unsigned long long u = n < 0 ? 0 - (unsigned long long)n
				      : (unsigned long long)n;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (n < 0)
		*--p = '-';
	return buf_append(b, p, (size_t)(num + sizeof(num) - p));
}

int
jsonout_string(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	char esc[6] = { '\\', 'u', '0', '0' };
	size_t i, run = 0;
	int n;

	if (buf_append(b, "\"", 1) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
			continue;
		if (buf_append(b, s + run, i - run) == -1)
			return -1;
		run = i + 1;
		n = 2;
		switch (p[i]) {
		case '"':
		case '\\':
			esc[1] = (char)p[i];
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default: /* jansson: \u00XX, upper-case hex */
			esc[1] = 'u';
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 15];
			n = 6;
		}
		if (buf_append(b, esc, (size_t)n) == -1)
			return -1;
	}
	if (buf_append(b, s + run, len - run) == -1)
		return -1;
	return buf_append(b, "\"", 1);
}

/* A real as jansson writes it (its precision and exponent rules). */
static int
real(struct buf *b, const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	int rc;

	if (s == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = buf_append(b, s, strlen(s));
	free(s);
	return rc;
}

int
jsonout_value(struct buf *b, const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i, n;
	void *it;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (buf_append(b, "{", 1) == -1)
			return -1;
		for (it = json_object_iter((json_t *)v), i = 0; it != NULL;
		     it = json_object_iter_next((json_t *)v, it), i++) {
			key = json_object_iter_key(it);
			m = json_object_iter_value(it);
			if ((i > 0 && buf_append(b, ",", 1) == -1) ||
			    jsonout_string(b, key,
				json_object_iter_key_len(it)) == -1 ||
			    buf_append(b, ":", 1) == -1 ||
			    jsonout_value(b, m) == -1)
				return -1;
		}
		return buf_append(b, "}", 1);
	case JSON_ARRAY:
		if (buf_append(b, "[", 1) == -1)
			return -1;
		for (i = 0, n = json_array_size(v); i < n; i++)
			if ((i > 0 && buf_append(b, ",", 1) == -1) ||
			    jsonout_value(b, json_array_get(v, i)) == -1)
				return -1;
		return buf_append(b, "]", 1);
	case JSON_STRING:
		return jsonout_string(
		    b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return jsonout_integer(b, json_integer_value(v));
	case JSON_REAL:
		return real(b, v);
	case JSON_TRUE:
		return buf_append(b, "true", 4);
	case JSON_FALSE:
		return buf_append(b, "false", 5);
	case JSON_NULL:
		break;
	}
	return buf_append(b, "null", 4);
}
