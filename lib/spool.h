/*
 * The enrollment spool: claims of portals (an ONAPPINSTALL or
 * ONAPPUPDATE whose portal or token is not listed) waiting for
 * b24hookctl, one file per claim in one directory (B24HOOK_ENROLL_DIR):
 *
 *	ID.pending	a claim not yet decided, mode 0600: it holds the
 *			application token and, until used or expired, the
 *			access token
 *	ID.done		a decided claim (verified, rejected, expired),
 *			mode 0600, without any token or the event
 *	.ID.tmp		an entry being written, renamed into place once
 *			synced
 *
 * ID is 16 random lowercase hex digits.  Several claims for one portal
 * are kept side by side, never merged.  The responder only adds
 * (spool_add); b24hookctl reads, rewrites and prunes, holding the
 * spool's lock (spool_lock) so that two of them never decide one claim
 * twice.  Bitrix24 facts (docs/enrollment.md): nothing in an
 * install is signed; the access token is an OAuth token valid one hour.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "errcode.h"
#include "limit.h"

enum spool_state {
	SPOOL_PENDING,	/* not decided; note may say why (not checked...) */
	SPOOL_APPROVE,	/* app.info accepted it; the operator must decide */
	SPOOL_VERIFIED, /* listed (by the verifier or the operator) */
	SPOOL_REJECTED, /* note says why */
	SPOOL_EXPIRED,	/* not checked within LIMIT_ACCESS_TOKEN_AGE */
};

/* bytes: an entry's id, NUL included */
#define SPOOL_ID_SIZE 17
/* bytes: an entry's note, NUL included; printable ASCII */
#define SPOOL_NOTE_SIZE 160

struct spool_entry {
	char id[SPOOL_ID_SIZE];
	char event[LIMIT_EVENT + 1]; /* ONAPPINSTALL or ONAPPUPDATE */
	char member_id[LIMIT_MEMBER_ID + 1];
	char domain[LIMIT_DOMAIN + 1];
	struct timespec received; /* arrival, microseconds kept */
	enum spool_state state;
	int checked; /* app.info accepted the claim */
	char note[SPOOL_NOTE_SIZE];
	char application_token[LIMIT_TOKEN + 1]; /* "" once decided */
	char access_token[LIMIT_TOKEN + 1];	  /* "" once used or expired */
	/* owned: the event with auth cut to member_id, domain and user_id;
	 * what its records are made of; NULL once decided */
	json_t *body;
};

/* spool_final: is state a decided one (written as ID.done)? */
int spool_final(enum spool_state state);

/*
 * The shapes of a claim's fields: member_id and the tokens as the
 * allow-list's (allowlist_valid_member_id, allowlist_valid_token in
 * allowlist.h: member_id names the portal's log); spool_valid_domain:
 * domain a DNS name of labels [A-Za-z0-9-]{1,63} joined by '.', at most
 * LIMIT_DOMAIN bytes.  s is n bytes, NUL-free or not: any NUL makes it
 * invalid.
 */
int spool_valid_domain(const char *s, size_t n);
/* spool_valid_id: 16 lowercase hex digits, NUL-terminated */
int spool_valid_id(const char *s);

/*
 * spool_entry_format: e as one JSON object, its file's content, into
 * out (emptied first; out->max is set to LIMIT_SPOOL_ENTRY).  A decided
 * entry is written without its tokens and body.  Returns 0, or -1 with
 * ERR_LIMIT_EXCEEDED ("limit=spool_entry max=N") or ERR_INTERNAL.
 */
int spool_entry_format(const struct spool_entry *e, struct buf *out,
    struct err *err);

/*
 * spool_entry_parse: len bytes of an entry file (need not be
 * NUL-terminated) into e, which the caller releases with
 * spool_entry_clear.  Every field must have its shape (above), a pending
 * entry an application token and a body that is an object with a string
 * "event", a decided one neither token nor body.  Returns 0, or -1 with
 * ERR_CONFIG and the first fault ("spool entry: no member_id"), never a
 * token; e is then cleared.
 */
int spool_entry_parse(const char *text, size_t len, struct spool_entry *e,
    struct err *err);

/* spool_entry_clear: wipe e's tokens, release its body; e stays usable. */
void spool_entry_clear(struct spool_entry *e);

/*
 * spool_state_text: e's state for a person, NUL-terminated into buf of
 * size bytes: "pending", "pending: <note>", "pending: needs approve
 * (<note>)", "verified", "rejected: <note>", "expired".
 */
void spool_state_text(const struct spool_entry *e, char *buf, size_t size);

/*
 * spool_add: keep e (its id is chosen here) as a new ID.pending in dir:
 * written to .ID.tmp (O_EXCL, mode 0600), fsynced, renamed, the
 * directory fsynced, under flock on the directory, which also holds
 * every other adder while this one counts.  Past LIMIT_SPOOL_ENTRIES
 * entries or LIMIT_SPOOL_BYTES bytes (ID.pending and .ID.tmp files,
 * this one included) it writes nothing and fails with
 * ERR_STORAGE_UNAVAILABLE "enrollment spool full"; an entry over
 * LIMIT_SPOOL_ENTRY bytes is ERR_LIMIT_EXCEEDED; a failed call
 * ERR_STORAGE_UNAVAILABLE "spool <call> errno=E...".
 */
int spool_add(const char *dir, struct spool_entry *e, struct err *err);

/*
 * spool_lock: b24hookctl's lock on dir: lockfile_take on dir/.lock
 * (lockfile.h); *fd is released by spool_unlock.  Returns 0, or -1 with
 * ERR_STORAGE_UNAVAILABLE.
 */
int spool_lock(const char *dir, int *fd, struct err *err);
void spool_unlock(int fd);

/* Every entry of a spool, sorted by arrival, then id. */
struct spool_list {
	struct spool_entry *entries; /* owned */
	size_t n;
	/* files that are no entry: "NAME: reason", never a token; owned */
	char **bad;
	size_t nbad;
};

/*
 * spool_load: every ID.pending and ID.done of dir into l (an ID with
 * both is the decided one: a rewrite was cut short).  Returns 0, or -1
 * with ERR_STORAGE_UNAVAILABLE (the directory cannot be read) or
 * ERR_INTERNAL; release l with spool_list_free.
 */
int spool_load(const char *dir, struct spool_list *l, struct err *err);
void spool_list_free(struct spool_list *l);

/*
 * spool_get: the entry id of dir into e (release with spool_entry_clear).
 * Returns 0, or -1 with ERR_CONFIG ("no entry ID") or the errors of
 * spool_load.
 */
int spool_get(const char *dir, const char *id, struct spool_entry *e,
    struct err *err);

/*
 * spool_update: write e back, atomically as spool_add: a pending entry
 * replaces ID.pending; a decided one is written as ID.done, then
 * ID.pending is removed, so its tokens are gone from the spool's names.
 * Returns 0, or -1 as spool_add (no bound applies).
 */
int spool_update(const char *dir, const struct spool_entry *e,
    struct err *err);

/*
 * spool_prune: remove from dir the decided entries older than
 * LIMIT_SPOOL_KEEP seconds (by the time they were decided, their
 * files' mtime) or past the LIMIT_SPOOL_DONE newest, and .ID.tmp files
 * an hour old (a writer that died).  *removed counts them.  Returns 0,
 * or -1 with ERR_STORAGE_UNAVAILABLE.
 */
int spool_prune(const char *dir, const struct timespec *now, size_t *removed,
    struct err *err);

#endif
