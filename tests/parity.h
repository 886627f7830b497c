/*
 * The two ways to decode a body (decode.h) agree: for the Check suites
 * and the fuzzers, so it has no test framework of its own.
 */
#ifndef PARITY_H
#define PARITY_H

#include <stddef.h>

#include "decode.h"

/*
 * parity_check: decode len bytes of body of media twice, whole (no
 * secrets) and with its secrets taken out.  They agree when both fail
 * with the same code and reason, the second leaving no tree and no slot
 * filled; or when both succeed, the second tree's auth holds no string
 * member that secrets_member would take out, and with each slot's value
 * put back into it as a string member (the tree then needs an auth
 * object without that member) it equals (json_equal) the whole tree with
 * its auth's string endpoints left out.  Returns 0 when they agree, or
 * -1 with why (size bytes, NUL-terminated) saying how they differ.
 */
int parity_check(enum media media, const char *body, size_t len, char *why,
    size_t size);

#endif
