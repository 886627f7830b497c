/*
 * The allow-list: which portals (member_id) may post, and with which
 * application tokens.  A text file, one entry per line:
 *
 *	member_id application_token [label...]
 *
 * whitespace-separated; '#' at the start of a field starts a comment (to
 * the end of the line), so a token may contain '#'; blank lines are
 * ignored.  Every line ends in '\n': a last line without one is what a
 * writer cut short leaves, and could hold a prefix of a token, so it is
 * never an entry.  A portal may have several lines (token
 * rotation: any listed token is valid).  A malformed line is skipped with
 * a warning naming its line number.
 *
 * Bitrix24 facts (docs/bitrix24.md section 4): the application
 * token is a static shared secret per app and portal, the only proof an
 * event is authentic; it changes on reinstall and may change on update, so
 * one portal can briefly have two valid tokens.
 *
 * Tokens are kept only as BLAKE2b digests (libsodium crypto_generichash)
 * and compared with sodium_memcmp, so the comparison takes the same time
 * whatever the presented token's length or content.
 */
#ifndef ALLOWLIST_H
#define ALLOWLIST_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "errcode.h"

struct allowlist;

enum allowlist_verdict {
	ALLOWLIST_OK = 0,
	ALLOWLIST_UNKNOWN_PORTAL, /* no entry has this member_id */
	ALLOWLIST_TOKEN_MISMATCH, /* entries exist, none has this token */
};

/*
 * allowlist_parse: parse len bytes of allow-list text (need not be
 * NUL-terminated).  A line is an entry when its member_id matches
 * [A-Za-z0-9_-]{1,LIMIT_MEMBER_ID} and its token is 1..LIMIT_TOKEN bytes
 * of printable ASCII, and a newline ends it; any other non-blank,
 * non-comment line, and any line over LIMIT_ALLOWLIST_LINE bytes, is
 * skipped with a warning.  So a last line without its newline is skipped
 * with the warning "line N: no newline at the end: the file may be half
 * written", unless it is blank or only a comment, which is skipped
 * silently (nothing of an entry is lost).  Empty text is an empty list.
 * On success returns 0 and *out is a new list the caller frees with
 * allowlist_free.  Returns -1 with ERR_INTERNAL only when memory runs out.
 */
int allowlist_parse(const char *text, size_t len, struct allowlist **out,
    struct err *err);

/*
 * allowlist_valid_member_id: whether n bytes of s are a member_id of the
 * allow-list's shape, [A-Za-z0-9_-]{1,LIMIT_MEMBER_ID}: it names the
 * portal's log, so it is safe as a file name.  allowlist_valid_token:
 * whether they are an application token's, 1..LIMIT_TOKEN bytes of
 * printable ASCII (no space).  s need not be NUL-terminated: a NUL among
 * the n bytes makes it invalid.
 */
int allowlist_valid_member_id(const char *s, size_t n);
int allowlist_valid_token(const char *s, size_t n);

/* One allow-list line taken apart; the pointers are into the line. */
struct allowlist_line {
	const char *id, *token, *label;
	size_t idlen, toklen, labellen;
};

/*
 * allowlist_split_line: line of n bytes, newline excluded, taken apart
 * as allowlist_parse does: a last '\r' and the comment left out, its
 * first field (the member_id), its second (the token) and the rest (the
 * label, blanks around it left out), any of them possibly empty (idlen
 * 0: a blank or comment-only line).  Nothing is checked: the line is an
 * entry when allowlist_valid_member_id and allowlist_valid_token accept
 * its fields (and a newline ended it).  Returns 0, or -1 with l all zero
 * for a line over LIMIT_ALLOWLIST_LINE bytes, which is never an entry.
 */
int allowlist_split_line(const char *line, size_t n, struct allowlist_line *l);

/*
 * allowlist_load: read and parse the file at path.  Returns 0 and a new
 * list in *out, or -1 with ERR_CONFIG naming the failed call and errno
 * (missing, unreadable, a directory), or ERR_INTERNAL.  The reason never
 * contains the path's contents.
 */
int allowlist_load(const char *path, struct allowlist **out, struct err *err);

/* allowlist_free: release list (NULL is allowed). */
void allowlist_free(struct allowlist *list);

/* allowlist_size: the number of entries (lines that were accepted). */
size_t allowlist_size(const struct allowlist *list);

/*
 * allowlist_warnings / allowlist_warning: the number of skipped lines, and
 * the i-th warning as one line of text without a newline, such as
 * "line 7: member_id must match [A-Za-z0-9_-]{1,64}".  Borrowed: valid
 * until the list is freed.  A warning never contains a token.
 */
size_t allowlist_warnings(const struct allowlist *list);
const char *allowlist_warning(const struct allowlist *list, size_t i);

/*
 * bytes: a token's fingerprint, NUL included: the first 8 hex digits of
 * its BLAKE2b-256 digest (libsodium crypto_generichash, 32 bytes, no
 * key), which "printf %s TOKEN | b2sum -l 256 | cut -c1-8" also gives.
 */
#define ALLOWLIST_FP_SIZE 9

/*
 * allowlist_fingerprint: the fingerprint of len bytes of token, which
 * names a token wherever one must not be written (b24hookctl, the
 * operator's lines).
 */
void allowlist_fingerprint(const char *token, size_t len,
    char fp[ALLOWLIST_FP_SIZE]);

/*
 * allowlist_label: the label of member_id's first entry that has one (the
 * line's text after the token, blanks around it and the comment left
 * out; a label over LIMIT_LABEL bytes counts as none), or "".  Borrowed:
 * valid until the list is freed.  It is the operator's text: print it
 * only filtered.
 */
const char *allowlist_label(const struct allowlist *list,
    const char *member_id);

/*
 * allowlist_check: is (member_id, token of token_len bytes) allowed?
 * Every entry of the portal is compared, in constant time.  On
 * ALLOWLIST_OK, *portal (if portal is not NULL) is the entry's own
 * member_id: borrowed, valid until the list is freed, and safe to use
 * as a file name.  member_id is NUL-terminated and may be anything.
 */
enum allowlist_verdict allowlist_check(const struct allowlist *list,
    const char *member_id, const char *token, size_t token_len,
    const char **portal);

/*
 * A cached allow-list for a long-lived responder: the file is re-stat()ed
 * on every call and parsed again when its path, device, inode, size, mtime
 * or ctime changed, so an edit in place and a save by rename are both
 * seen.  Zero-initialise (struct allowlist_cache c = { 0 }) before use.
 */
struct allowlist_cache {
	char *path; /* owned */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	struct allowlist *list; /* owned; NULL until the first load */
};

/*
 * allowlist_cache_get: the list for path, reloaded if the file changed.
 * On success returns 0, *list is borrowed (valid until the next call or
 * allowlist_cache_clear) and *reloaded is 1 when the file was parsed by
 * this call (so the caller can print its warnings) and 0 otherwise.
 * On failure returns -1 (ERR_CONFIG, ERR_INTERNAL as allowlist_load) and
 * the cache is emptied, so nothing is allowed until the file is back.
 */
int allowlist_cache_get(struct allowlist_cache *cache, const char *path,
    const struct allowlist **list, int *reloaded, struct err *err);

/* allowlist_cache_clear: release the cache's memory; it stays usable. */
void allowlist_cache_clear(struct allowlist_cache *cache);

#endif
