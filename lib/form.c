#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "form.h"
#include "limit.h"

/*
 * While decoding, a map that has integer keys keeps the largest one under
 * the key "", so that an append finds the next index without a rescan.
 * No input name can make that key: an empty segment ("a[]") means append
 * and an empty base is refused.  settle() removes it.
 */
#define NEXT_KEY ""

/* bytes: an int64 in decimal, sign and NUL included */
#define INDEX_SIZE 21

/* a hex digit's value (either case), or -1 */
static const signed char hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11,
	['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};
#define HEXVAL(c) (hexval[(unsigned char)(c)] - 1)

/*
 * unescape: decode n bytes of src ('+' and %XX) into dst, which has room
 * for n bytes; *dlen is the decoded length and *high has bit 0x80 set
 * when a decoded byte has (so that pure ASCII skips the UTF-8 check).
 * off is src's offset in the body, for the reason.
 */
static int
unescape(const char *src, size_t n, char *dst, size_t *dlen, int *high,
    size_t off, struct err *err)
{
	size_t i, j;
	int hi, lo, acc = 0;
	char c;

	for (i = 0, j = 0; i < n; i++, j++) {
		c = src[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (n - i < 3 || (hi = HEXVAL(src[i + 1])) == -1 ||
			    (lo = HEXVAL(src[i + 2])) == -1)
				return err_set(err, ERR_MALFORMED_BODY,
				    "bad_escape at byte %zu", off + i);
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		acc |= (unsigned char)c;
		dst[j] = c;
	}
	*dlen = j;
	*high |= acc & 0x80;
	return 0;
}

/*
 * utf8_valid: whether str is strict UTF-8 (RFC 3629): shortest form only,
 * no surrogates, nothing past U+10FFFF.
 */
static int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c, lo, hi;
	size_t i, k, more;

	for (i = 0; i < n;) {
		c = s[i++];
		if (c < 0x80)
			continue;
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* past U+10FFFF */
		} else
			return 0;
		if (n - i < more || s[i] < lo || s[i] > hi)
			return 0;
		for (k = 1; k < more; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += more;
	}
	return 1;
}

/*
 * parse_index: whether key is a PHP integer key, a canonical decimal
 * (0|-?[1-9][0-9]*) that fits int64; "05" and "-0" are string keys.
 */
static int
parse_index(const char *key, int64_t *out)
{
	const char *p = key + (*key == '-');
	uint64_t v = 0, max = (uint64_t)INT64_MAX + (*key == '-');

	if (*p < '0' || *p > '9' || (*p == '0' && (p[1] != '\0' || p != key)))
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0')
		return 0;
	/* -(v - 1) - 1: -2^63 without overflow */
	*out = *key == '-' ? -(int64_t)(v - 1) - 1 : (int64_t)v;
	return 1;
}

/*
 * put: map[key] = v, in place if key exists (PHP's replace); steals v,
 * even on failure, and a NULL v (a failed allocation) fails.
 */
static int
put(json_t *map, const char *key, json_t *v, struct err *err)
{
	json_t *top;
	int64_t k;

	if (json_object_set_new_nocheck(map, key, v) == -1)
		return err_set(err, ERR_INTERNAL, "json: no memory");
	if (!parse_index(key, &k))
		return 0;
	top = json_object_get(map, NEXT_KEY);
	if (top == NULL) {
		if (json_object_set_new_nocheck(
		        map, NEXT_KEY, json_integer(k)) == -1)
			return err_set(err, ERR_INTERNAL, "json: no memory");
	} else if (k > json_integer_value(top))
		json_integer_set(top, k);
	return 0;
}

/* next_index: write map's next append index into buf (INDEX_SIZE). */
static int
next_index(json_t *map, char *buf, struct err *err)
{
	json_t *top = json_object_get(map, NEXT_KEY);
	int64_t next = 0;

	if (top != NULL) {
		if (json_integer_value(top) == INT64_MAX)
			return err_set(err, ERR_LIMIT_EXCEEDED,
			    "limit=index max=%" PRId64, INT64_MAX);
		next = json_integer_value(top) + 1;
	}
	snprintf(buf, INDEX_SIZE, "%" PRId64, next);
	return 0;
}

/*
 * split_name: cut the decoded, NUL-terminated name in place into its base
 * and bracketed segments, stored in keys[LIMIT_DEPTH].  Returns how many,
 * or -1.
 */
static int
split_name(char *name, char **keys, size_t off, struct err *err)
{
	char *p = strchr(name, '['), *close;
	int n = 0;

	if (p == name || *name == '\0')
		return err_set(
		    err, ERR_MALFORMED_BODY, "empty_name at byte %zu", off);
	keys[n++] = name;
	while (p != NULL && *p != '\0') {
		if (*p != '[')
			return err_set(err, ERR_MALFORMED_BODY,
			    "text_after_bracket at byte %zu", off);
		if ((close = strchr(p + 1, ']')) == NULL)
			return err_set(err, ERR_MALFORMED_BODY,
			    "unclosed_bracket at byte %zu", off);
		if (n == LIMIT_DEPTH)
			return err_set(err, ERR_LIMIT_EXCEEDED,
			    "limit=depth max=%d", LIMIT_DEPTH);
		*p = *close = '\0';
		keys[n++] = p + 1;
		p = close + 1;
	}
	return n;
}

/*
 * The maps on the previous pair's path.  Consecutive pairs of a portal's
 * body share most of their path (data[DATA][0][connector][...]), so
 * insert() takes the maps it found for the previous pair again instead
 * of looking each key up.  Only one pair at a time changes the tree and
 * it changes nothing on its own path above its value, so the maps stay
 * in place until the next pair.
 */
struct path {
	char name[LIMIT_KEY + 1]; /* the previous decoded name, split */
	const char *keys[LIMIT_DEPTH];
	json_t *maps[LIMIT_DEPTH]; /* maps[i]: the map at keys[0..i] */
	size_t depth;		   /* valid entries */
};

/* One decode's state besides the tree. */
struct form {
	struct path path;
	struct auth_secrets *secrets; /* NULL: the whole tree */
	/*
	 * root's auth map had a member taken out: its key was no index, so
	 * the map stays an object whatever keys are left (settle)
	 */
	int object;
	/* bit 1 << member: auth[NAME] of that member may hold a map */
	unsigned maps;
};

/*
 * auth_pair: with secrets, what a pair named auth... does to the slots
 * before it is inserted, and what becomes of its value: taken out of the
 * tree (the member, as secrets_member says) or inserted (AUTH_KEEP).
 */
static int
auth_pair(struct form *f, char **keys, size_t n)
{
	int member;

	if (n == 1) {
		/* a value replaces the auth map and all it held */
		secrets_clear(f->secrets);
		f->object = 0;
		return AUTH_KEEP;
	}
	member = secrets_member(keys[1]);
	if (n == 2 || member == AUTH_KEEP)
		return member;
	/* a map at auth[NAME] replaces the value in NAME's slot */
	f->maps |= 1u << member;
	if (member != AUTH_DROP)
		secrets_drop(f->secrets, member);
	return AUTH_KEEP;
}

/*
 * take: the value of auth[key] taken out of the tree (auth) into
 * member's slot, or nowhere (AUTH_DROP); a map the tree holds there
 * goes, as a value put there would replace it.
 */
static int
take(json_t *auth, const char *key, int member, const char *val,
    size_t vlen, struct form *f, struct err *err)
{
	if (f->maps & (1u << member))
		json_object_del(auth, key);
	f->object = 1;
	if (member != AUTH_DROP &&
	    secrets_set(f->secrets, member, val, vlen) == -1)
		return err_errno(err, ERR_INTERNAL, errno, "malloc");
	return 0;
}

/*
 * insert: store value under the path keys[0..n-1] (split from name, dn
 * bytes), creating maps on the way and replacing a scalar that stands
 * where a map must go, or take() it when member is not AUTH_KEEP;
 * f->path is the previous pair's, and becomes this one's.
 */
static int
insert(json_t *map, char *name, size_t dn, char **keys, size_t n,
    const char *val, size_t vlen, int member, struct form *f,
    struct err *err)
{
	struct path *path = &f->path;
	char index[INDEX_SIZE];
	const char *key;
	json_t *child;
	size_t i, depth = 0;
	int same = 1;

	for (i = 0;; i++) {
		key = keys[i];
		if (*key == '\0') {
			if (next_index(map, index, err) == -1)
				goto fail;
			key = index;
		}
		if (i == n - 1)
			break;
		if (same && i < path->depth && key != index &&
		    strcmp(path->keys[i], key) == 0)
			map = path->maps[i];
		else {
			same = 0;
			child = json_object_get(map, key);
			if (!json_is_object(child)) {
				child = json_object();
				if (put(map, key, child, err) == -1)
					goto fail;
			}
			map = path->maps[i] = child;
		}
		/* an appended index is new each time: nothing below it */
		if (depth == i && key != index)
			depth = i + 1;
	}
	path->depth = depth;
	memcpy(path->name, name, dn + 1);
	for (i = 0; i < depth; i++)
		path->keys[i] = path->name + (keys[i] - name);
	if (member != AUTH_KEEP)
		return take(map, key, member, val, vlen, f, err);
	return put(map, key, json_stringn_nocheck(val, vlen), err);
fail:
	path->depth = 0;
	return -1;
}

/* pair: decode one non-empty name[=value] at byte off into root. */
static int
pair(json_t *root, const char *s, size_t n, size_t off, char *scratch,
    struct form *f, struct err *err)
{
	const char *eq = memchr(s, '=', n);
	size_t nlen = eq != NULL ? (size_t)(eq - s) : n, dn, dv = 0;
	char *name = scratch, *val, *keys[LIMIT_DEPTH];
	int nkeys, high = 0, member = AUTH_KEEP;

	if (unescape(s, nlen, name, &dn, &high, off, err) == -1)
		return -1;
	name[dn] = '\0';
	val = name + dn + 1;
	if (dn > LIMIT_KEY)
		return err_set(
		    err, ERR_LIMIT_EXCEEDED, "limit=key max=%d", LIMIT_KEY);
	if (eq != NULL &&
	    unescape(eq + 1, n - nlen - 1, val, &dv, &high, off + nlen + 1,
		err) == -1)
		return -1;
	if (memchr(name, '\0', dn) != NULL)
		return err_set(
		    err, ERR_MALFORMED_BODY, "nul_in_name at byte %zu", off);
	if (high && (!utf8_valid(name, dn) || !utf8_valid(val, dv)))
		return err_set(
		    err, ERR_INVALID_UTF8, "bad_utf8 in pair at byte %zu", off);
	if ((nkeys = split_name(name, keys, off, err)) == -1)
		return -1;
	if (f->secrets != NULL && keys[0][0] == 'a' &&
	    strcmp(keys[0], "auth") == 0)
		member = auth_pair(f, keys, (size_t)nkeys);
	return insert(
	    root, name, dn, keys, (size_t)nkeys, val, dv, member, f, err);
}

/* is_list: whether map's keys are exactly "0".."n-1" in that order. */
static int
is_list(json_t *map)
{
	const char *key;
	json_t *v;
	int64_t i = 0, k;

	json_object_foreach(map, key, v)
	{
		if (!parse_index(key, &k) || k != i++)
			return 0;
	}
	return 1;
}

/*
 * settle: drop map's NEXT_KEY and, depth first, turn each child map that
 * is a list into an array; map itself stays an object, and so does the
 * child object (NULL: none).
 */
static int
settle(json_t *map, const json_t *object, struct err *err)
{
	json_t *v, *arr, *elem;
	const char *key;
	void *it;

	json_object_del(map, NEXT_KEY);
	for (it = json_object_iter(map); it != NULL;
	     it = json_object_iter_next(map, it)) {
		v = json_object_iter_value(it);
		if (!json_is_object(v))
			continue;
		if (settle(v, NULL, err) == -1)
			return -1;
		if (v == object || !is_list(v))
			continue;
		if ((arr = json_array()) == NULL)
			return err_set(err, ERR_INTERNAL, "json: no memory");
		json_object_foreach(v, key, elem)
		{
			if (json_array_append(arr, elem) == -1) {
				json_decref(arr);
				return err_set(
				    err, ERR_INTERNAL, "json: no memory");
			}
		}
		json_object_iter_set_new(map, it, arr);
	}
	return 0;
}

/*
 * bytes: a pair this long or shorter is decoded on the stack.  Bodies
 * of a portal are a few KiB; one malloc of that size per request would
 * make glibc consolidate the small chunks jansson freed last request.
 */
#define SCRATCH_STACK 2048

int
form_decode(const char *body, size_t len, json_t **out,
    struct auth_secrets *secrets, struct err *err)
{
	struct form f;
	json_t *root;
	char stack[SCRATCH_STACK], *scratch, *heap = NULL;
	const char *amp;
	size_t off, end, pairs = 0;
	int rc = -1;

	*out = NULL;
	f.path.depth = 0;
	f.secrets = secrets;
	f.object = 0;
	f.maps = 0;
	if (secrets != NULL)
		secrets_clear(secrets);
	if ((root = json_object()) == NULL)
		return err_set(err, ERR_INTERNAL, "json: no memory");
	for (off = 0; off < len; off = end + 1) {
		amp = memchr(body + off, '&', len - off);
		end = amp != NULL ? (size_t)(amp - body) : len;
		if (end == off)
			continue;
		if (++pairs > LIMIT_PAIRS) {
			err_set(err, ERR_LIMIT_EXCEEDED, "limit=pairs max=%d",
			    LIMIT_PAIRS);
			goto fail;
		}
		/* decoding never grows: room for the name, a NUL, the value */
		scratch = end - off < sizeof(stack) ? stack : heap;
		if (scratch == NULL && (scratch = heap = malloc(len + 1)) ==
		    NULL) {
			err_errno(err, ERR_INTERNAL, errno, "malloc");
			goto fail;
		}
		if (pair(root, body + off, end - off, off, scratch, &f, err) ==
		    -1)
			goto fail;
	}
	if (settle(root, f.object ? json_object_get(root, "auth") : NULL,
		err) == -1)
		goto fail;
	*out = root;
	rc = 0;
fail:
	/* the scratch held decoded values, tokens among them */
	sodium_memzero(stack, sizeof(stack));
	if (heap != NULL)
		sodium_memzero(heap, len + 1);
	free(heap);
	if (rc == -1) {
		json_decref(root);
		if (secrets != NULL)
			secrets_clear(secrets);
	}
	return rc;
}
