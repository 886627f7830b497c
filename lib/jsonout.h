/*
 * Compact JSON text written straight into a buffer: the records'
 * serialiser (event.c).  The bytes are those json_dump_callback writes
 * with JSON_COMPACT (object members in insertion order, the same
 * escapes, reals through jansson itself), without a tree built per
 * record and without jansson's per-dump loop check, which formats every
 * object's address into a hashtable: measured at a third of a request's
 * instructions (bench/README.md).
 */
#ifndef JSONOUT_H
#define JSONOUT_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

/*
 * jsonout_value: append v (borrowed; an acyclic tree) to b.
 * jsonout_string: append len bytes of s as a JSON string; s must be
 * UTF-8, as every decoded string is.
 * jsonout_integer: append n in decimal.
 * Each returns 0, or -1 with errno E2BIG (b->max reached) or ENOMEM; b
 * may then hold part of the text.
 */
int jsonout_value(struct buf *b, const json_t *v);
int jsonout_string(struct buf *b, const char *s, size_t len);
int jsonout_integer(struct buf *b, json_int_t n);

#endif
