/*
 * Every limit b24hook enforces, in one place.  Each is refused with a
 * documented error (never silently truncated) and each is tested at N and
 * N+1 (tests/check_*.c, "limits" cases).
 */
#ifndef LIMIT_H
#define LIMIT_H

/* bytes: default largest request body (B24HOOK_MAX_BODY); over it, 413 */
#define LIMIT_BODY_DEFAULT 1048576
/* bytes: largest value B24HOOK_MAX_BODY may be set to; over it, 500 */
#define LIMIT_BODY_CEILING (64 * 1048576)

/*
 * count: form pairs (name=value) per body, or JSON values per body; over
 * it, 400 limit_exceeded.  PHP silently drops pairs past max_input_vars
 * (1000); a real event is far below this, a batch of a hundred messages
 * included.
 */
#define LIMIT_PAIRS 10000
/*
 * levels: keys on the path to a value ("a=1" is 1, "a[b][c]=1" is 3, the
 * same for JSON); over it, 400 limit_exceeded.  Real events use at most 7;
 * PHP's max_input_nesting_level is 64.
 */
#define LIMIT_DEPTH 32
/* bytes: one decoded key (a whole form name, or one JSON object key) */
#define LIMIT_KEY 512

/*
 * bytes: records one request may produce from a body of at most b bytes.
 * Each body byte lands in at most one item's data plus one normalised
 * copy, and each record adds a head of a few hundred bytes.  JSON keeps
 * text as it is but writes a control byte as six (\u00XX), so only a body
 * made mostly of control bytes can pass this; it is refused with 400
 * limit_exceeded, never cut.
 */
#define LIMIT_RECORDS(b) (4 * (size_t)(b) + (size_t)LIMIT_PAIRS * 1024)

/* bytes: one allow-list line, newline excluded; longer lines are skipped */
#define LIMIT_ALLOWLIST_LINE 1024
/* bytes: member_id, [A-Za-z0-9_-]; it names the portal's log file */
#define LIMIT_MEMBER_ID 64
/* bytes: an application token in the allow-list, printable ASCII */
#define LIMIT_TOKEN 128
/* bytes: an event code written to records, [A-Za-z0-9_] */
#define LIMIT_EVENT 128

/*
 * Enrollment (README "Adding a portal"): claims an ONAPPINSTALL or
 * ONAPPUPDATE makes for a portal or token not yet listed wait in the
 * spool (B24HOOK_ENROLL_DIR) until b24hookctl verifies them.
 */
/* bytes: a portal's domain (auth[domain]), a DNS name (RFC 1035) */
#define LIMIT_DOMAIN 253
/*
 * count and bytes: the pending claims the spool holds together; past
 * either, a claim is answered 503 storage_unavailable.  A genuine install
 * comes once per portal and the verifier (b24hook-enroll.path) takes it
 * within seconds, so 256 waiting claims is far beyond a real burst; what
 * is past it is a flood of forged installs, which must not fill a disk.
 * A real install makes an entry of about 1.5 KiB: 4 MiB is nothing to a
 * disk, and scanning 256 names per claim costs microseconds.
 */
#define LIMIT_SPOOL_ENTRIES 256
#define LIMIT_SPOOL_BYTES (4 * 1048576)
/*
 * bytes: one spool entry (the claim's event without its OAuth tokens,
 * and the two tokens); over it, 400 limit_exceeded.  Forty times a real
 * install, and small enough that 64 of them fill LIMIT_SPOOL_BYTES.
 */
#define LIMIT_SPOOL_ENTRY 65536
/*
 * count: verified, rejected or expired entries (no token, a few hundred
 * bytes each) b24hookctl keeps for "enroll list"; it removes the oldest
 * past this count, and any older than LIMIT_SPOOL_KEEP seconds.
 */
#define LIMIT_SPOOL_DONE 256
#define LIMIT_SPOOL_KEEP (7 * 86400)
/*
 * seconds: an access token's life.  Bitrix24 OAuth gives access tokens
 * for one hour (auth[expires_in]=3600); a claim older than that is not
 * checked, and its token is erased.
 */
#define LIMIT_ACCESS_TOKEN_AGE 3600
/*
 * milliseconds: the app.info call, whole and to connect.  A verifier
 * that meets a server that never answers stops after this long and
 * leaves the rest of the claims for its next run.
 */
#define LIMIT_OAUTH_TIMEOUT_MS 10000
#define LIMIT_OAUTH_CONNECT_MS 5000
/* bytes: an app.info answer (a real one is under 1 KiB); longer: refused */
#define LIMIT_OAUTH_ANSWER 65536
/* bytes: B24HOOK_OAUTH_URL */
#define LIMIT_URL 512
/* bytes: B24HOOK_CLIENT_ID (Bitrix24: "local.<hex>.<digits>", "app.<...>") */
#define LIMIT_CLIENT_ID 128
/*
 * bytes: an allow-list b24hookctl edits (the responder reads any size):
 * some 150,000 entries, far more than one host serves
 */
#define LIMIT_ALLOWLIST_FILE (16 * 1048576)
/* bytes: an allow-list label written by b24hookctl, printable ASCII */
#define LIMIT_LABEL 256
/* milliseconds: the longest wait for the allow-list's or the spool's lock */
#define LIMIT_LOCK_WAIT_MS 10000

#endif
