/*
 * Editing the allow-list (allowlist.h gives its format) the way
 * b24hookctl does: under a lock, so that two edits never lose each
 * other, and atomically, so that a responder reading it at any moment
 * sees the whole old file or the whole new one.
 *
 * An edit opens the list (allowedit_open: takes the lock file PATH.lock
 * beside it, lockfile.h; reads PATH), changes
 * its text in memory (allowedit_add, allowedit_remove: every other line,
 * comments included, is kept byte for byte) and commits it
 * (allowedit_commit: written to a temp file beside it, given the old
 * file's owner, group and mode, fsynced, renamed over PATH, and the
 * directory fsynced).  A running responder re-stats PATH on every
 * request, so it sees the edit on its next one.
 *
 * Tokens are never shown: an entry is named by its member_id and its
 * token's fingerprint (allowlist_fingerprint).
 */
#ifndef ALLOWEDIT_H
#define ALLOWEDIT_H

#include <sys/stat.h>

#include <stddef.h>

#include "allowlist.h"
#include "buf.h"
#include "errcode.h"
#include "limit.h"


/* One entry line of an allow-list, without its token. */
struct allowedit_entry {
	size_t line; /* from 1 */
	char member_id[LIMIT_MEMBER_ID + 1];
	char fingerprint[ALLOWLIST_FP_SIZE];
	char label[LIMIT_ALLOWLIST_LINE + 1]; /* the rest, comment cut */
};

/*
 * allowedit_entries: the entries of len bytes of allow-list text, as the
 * responder parses them (allowlist.h): lines of at most
 * LIMIT_ALLOWLIST_LINE bytes whose member_id and token are well formed,
 * but for a last line without its newline (a file caught half written).
 * *out is a new array of *n entries (free(3) it), or NULL when n is 0.
 * Returns 0, or -1 with ERR_INTERNAL.
 */
int allowedit_entries(const char *text, size_t len,
    struct allowedit_entry **out, size_t *n, struct err *err);

/*
 * allowedit_read: the bytes of the allow-list at path into text (which
 * the caller wipes with sodium_memzero and frees: it holds tokens), and
 * its lstat in *st.  A symlink is refused (an edit would replace it),
 * as is anything but a regular file.  Returns 0, or -1 with ERR_CONFIG.
 */
int allowedit_read(const char *path, struct buf *text, struct stat *st,
    struct err *err);

/* An allow-list open for editing; zero-initialise before allowedit_open. */
struct allowedit {
	char *path;	 /* owned */
	int lock;	 /* descriptor of PATH.lock holding flock; -1: none */
	struct stat st;	 /* PATH as read */
	struct buf text; /* its bytes, then the edited text; wiped on close */
	int changed;	 /* text differs from what was read */
};

/*
 * allowedit_open: lock path (PATH.lock, created 0600 if absent) and read
 * it (allowedit_read).  A file that does not end in a newline is
 * refused: it may be half written, and a line completed by an edit could
 * become an entry nobody wrote.  Returns 0, or -1 with ERR_CONFIG
 * (unreadable, a symlink, no final newline) or ERR_STORAGE_UNAVAILABLE
 * (the lock: "allowlist locked by another edit for N ms"); ed is then
 * closed.
 */
int allowedit_open(struct allowedit *ed, const char *path, struct err *err);

enum allowedit_found {
	ALLOWEDIT_ABSENT = 0, /* no entry has this member_id */
	ALLOWEDIT_OTHER,      /* entries have it, none this token */
	ALLOWEDIT_LISTED,     /* an entry has this member_id and token */
};

/* allowedit_find: is (member_id, len bytes of token) in ed's text? */
enum allowedit_found allowedit_find(const struct allowedit *ed,
    const char *member_id, const char *token, size_t len);

/*
 * allowedit_add: append the line "MEMBER_ID TOKEN LABEL\n" (LABEL may be
 * NULL or "": no label).  member_id and token must have the allow-list's
 * shapes, label be printable ASCII of at most LIMIT_LABEL bytes not
 * starting with '#' (so the line always fits LIMIT_ALLOWLIST_LINE).
 * An entry with this member_id and token already there is not added
 * twice: *added is 0 then, 1 otherwise.  Returns 0, or -1 with
 * ERR_CONFIG (a shape) or ERR_INTERNAL.
 */
int allowedit_add(struct allowedit *ed, const char *member_id,
    const char *token, size_t len, const char *label, int *added,
    struct err *err);

/*
 * allowedit_remove: delete every entry line of member_id whose token
 * has the fingerprint fp (NULL: every entry line of member_id).  Their
 * fingerprints are added to removed (NULL allowed), one per line
 * removed, each ALLOWLIST_FP_SIZE bytes; *n counts them.  Returns 0, or
 * -1 with ERR_INTERNAL.
 */
int allowedit_remove(struct allowedit *ed, const char *member_id,
    const char *fp, struct buf *removed, size_t *n, struct err *err);

/*
 * allowedit_commit: write ed's text over its file as described above,
 * if it changed.  The file must still be the one read (same device,
 * inode, size and mtime): someone who edited it without the lock (an
 * editor) would lose their edit, so it fails with ERR_CONFIG instead.
 * Returns 0, or -1 with ERR_CONFIG or ERR_STORAGE_UNAVAILABLE and the
 * failed call ("allowlist fchown errno=EPERM"); the file is then as it
 * was.
 */
int allowedit_commit(struct allowedit *ed, struct err *err);

/* allowedit_close: release the lock, wipe and free the text. */
void allowedit_close(struct allowedit *ed);

#endif
