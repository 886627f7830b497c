/*
 * The form decoder: an application/x-www-form-urlencoded body, as a
 * Bitrix24 portal posts every event (PHP http_build_query output), decoded
 * into a JSON tree the way PHP's parse_str builds $_POST.
 */
#ifndef FORM_H
#define FORM_H

#include <stddef.h>

#include <jansson.h>

#include "errcode.h"
#include "secrets.h"

/*
 * form_decode: decode len bytes of body (need not be NUL-terminated).
 *
 * Rules (PHP parse_str, main/php_variables.c; docs/bitrix24.md
 * section 1):
 * - pairs are split on '&'; empty pairs ("a=1&&b=2", a trailing '&') are
 *   skipped; a pair without '=' has the empty string as value;
 * - in names and values '+' is a space and %XX a byte (hex, either case);
 * - brackets may be literal or percent-encoded: "auth[member_id]" and
 *   "auth%5Bmember_id%5D" are the same name;
 * - "a[b][c]=v" nests; "a[]=v" appends with the next integer index (one
 *   more than the largest integer key so far, or 0); a later duplicate
 *   name replaces the earlier value in its original position; a scalar
 *   and a map under one name replace each other likewise;
 * - every value stays a string; a map whose keys are exactly "0".."n-1"
 *   in that order becomes a JSON array, any other map a JSON object.
 * Where PHP guesses, this decoder refuses (ERR_MALFORMED_BODY): a bad %
 * escape ("%zz", "%4"), a name with an empty base ("[a]=1", "=1"), an
 * unclosed '[' or text after a ']' that is not '[' ("a[b", "a[b]c"), a
 * NUL byte in a name.  PHP would also turn ' ' and '.' in a base name
 * into '_'; names are kept as sent here.
 *
 * With secrets NULL the tree is parse_str's, whole.  With secrets, the
 * members of the top-level auth that secrets.h names are taken out
 * while decoding: a pair auth[NAME]=v for a slot's NAME puts v in that
 * slot, not in the tree, and auth[client_endpoint]=v and
 * auth[server_endpoint]=v are checked as every pair is, then kept
 * nowhere.  PHP's replace rules hold across the tree and the slots: a
 * later auth[NAME]=v replaces the slot's value and any map the tree
 * holds at auth[NAME]; a map made at auth[NAME] empties NAME's slot and
 * goes in the tree; a value replacing auth empties every slot.  So the
 * tree, each slot put back as a string member of its auth, is
 * parse_str's tree without the endpoints' strings; an auth map that had
 * a member taken out stays an object, as that member's key made it.  The
 * same bodies fail, with the same error.
 *
 * On success returns 0 and *out is a new reference to a JSON object.
 * On failure returns -1, *out is NULL, the slots are empty and err says
 * why: ERR_MALFORMED_BODY as above; ERR_INVALID_UTF8 when a decoded name
 * or value is not UTF-8; ERR_LIMIT_EXCEEDED past LIMIT_PAIRS non-empty
 * pairs, LIMIT_DEPTH keys in one name, LIMIT_KEY bytes in one decoded
 * name, or an append after the largest index; ERR_INTERNAL when memory
 * runs out.  Whatever the slots held before the call is dropped first.
 */
int form_decode(const char *body, size_t len, json_t **out,
    struct auth_secrets *secrets, struct err *err);

#endif
