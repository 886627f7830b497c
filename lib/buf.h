/*
 * A growable byte buffer born with a maximum size (the curl dynbuf idea):
 * growth past the maximum fails instead of eating memory.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char *data; /* owned; NUL-terminated after every append; NULL if empty */
	size_t len; /* bytes used, NUL excluded */
	size_t cap; /* bytes allocated */
	size_t max; /* bytes: len never exceeds it */
};

/* buf_init: an empty buffer that will hold at most max bytes. */
void buf_init(struct buf *b, size_t max);

/*
 * buf_append: append len bytes of p.  Returns 0, or -1 with errno ENOMEM
 * (allocation failed) or E2BIG (the result would pass b->max); on failure
 * b is unchanged.
 */
int buf_append(struct buf *b, const void *p, size_t len);

/*
 * buf_reserve: make room for len more bytes (and the NUL after them)
 * without adding any.  Returns where they go, b->data + b->len, valid
 * until the next call that grows b; or NULL with errno ENOMEM or E2BIG
 * as buf_append, b unchanged.  The caller that writes there adds what
 * it wrote to b->len and keeps b->data NUL-terminated.
 */
char *buf_reserve(struct buf *b, size_t len);

/* buf_reset: empty b, keeping its memory for reuse. */
void buf_reset(struct buf *b);

/* buf_free: release b's memory; b is empty and reusable afterwards. */
void buf_free(struct buf *b);

#endif
