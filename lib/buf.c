#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* bytes: first allocation; enough for a typical request's records */
#define BUF_FIRST 4096

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

char *
buf_reserve(struct buf *b, size_t len)
{
	size_t need, cap;
	char *data;

	if (len > b->max - b->len) {
		errno = E2BIG;
		return NULL;
	}
	need = b->len + len + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : BUF_FIRST;
		while (cap < need)
			cap *= 2;
		if ((data = realloc(b->data, cap)) == NULL) {
			errno = ENOMEM;
			return NULL;
		}
		b->data = data;
		b->cap = cap;
	}
	return b->data + b->len;
}

int
buf_append(struct buf *b, const void *p, size_t len)
{
	if (buf_reserve(b, len) == NULL)
		return -1;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}
