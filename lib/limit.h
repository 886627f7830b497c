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
 * count: items of one event (its MESSAGES or DATA list), a record each;
 * over it, 400 limit_exceeded before any key or record is built.  Each
 * record copies the domain and context: 10,000 items of two bytes ("0,")
 * would make 30 MB of records from a 20 KB body.  A portal's batch is
 * about a hundred messages, and PHP's max_input_vars (1000) leaves a PHP
 * handler no more than 1000 pairs, its items included.
 */
#define LIMIT_ITEMS 1000
/*
 * levels: keys on the path to a value ("a=1" is 1, "a[b][c]=1" is 3, the
 * same for JSON); over it, 400 limit_exceeded.  Real events use at most 7;
 * PHP's max_input_nesting_level is 64.
 */
#define LIMIT_DEPTH 32
/* bytes: one decoded key (a whole form name, or one JSON object key) */
#define LIMIT_KEY 512

/*
 * bytes: auth[domain], copied into every record; over it, 400
 * limit_exceeded before any record is built.  A host name is at most 253
 * bytes (RFC 1035); a portal's is a few dozen.
 */
#define LIMIT_DOMAIN 253
/*
 * bytes: the compact JSON of the context (data but its item list) of an
 * event of two or more items, which every item's record copies, and its
 * CONNECTOR again as connector; over it, 400 limit_exceeded.  The context
 * portals send is CONNECTOR and LINE, {"CONNECTOR":"myconnector",
 * "LINE":"107"}: 40 bytes.  512 leaves room for a connector id ten times
 * as long and keys unknown today, while each byte allowed here is up to
 * 2 * LIMIT_ITEMS bytes of records.  The context of one item is copied
 * once, like any body byte, and is not limited.
 */
#define LIMIT_CONTEXT 512

/*
 * bytes: what a record holds that is neither a copy of body bytes
 * LIMIT_RECORDS counts nor the domain or context: member names and
 * punctuation, v, received, key, item and items, an event of the shapes'
 * at most 26 bytes (LIMIT_EVENT, 128, for an event of one record), a
 * member_id of LIMIT_MEMBER_ID bytes, integers of 20 characters
 * (event_handler_id, ts, user_id, line, every normalised id) and the
 * quotes and brackets of the normalised strings.  The dialog events,
 * with the most normalised fields, come to 576 (check_event's
 * record_head measures every shape).
 */
#define LIMIT_RECORD_FIXED 600
/*
 * bytes: the most a record holds beside copies of its own body bytes:
 * the fixed part, the domain (a byte written as at most six, \u00XX),
 * the context and its CONNECTOR again as connector.
 */
#define LIMIT_RECORD_HEAD \
	(LIMIT_RECORD_FIXED + 6 * LIMIT_DOMAIN + 2 * LIMIT_CONTEXT)
/*
 * bytes: records one request may produce from a body of b bytes, derived
 * from what a record copies.  A value lands in at most two places, its
 * item's data (or the whole data, or the context of a single item) and
 * one normalised field, each in at most twice the bytes the value takes
 * on the wire with its = and & (JSON: its comma), as " is written \",
 * %01 \u0001 and =Y& true; a name is written once, [k] as "k":{}, in at
 * most 7/3 of its bytes ("data" itself is not written, which pays the
 * commas): 4 b in all.  Beside that each record holds at most
 * LIMIT_RECORD_HEAD bytes.  There is one record per item, or one for an
 * event without items; an event has at most LIMIT_ITEMS items, each of
 * at least two bytes (JSON's "0,"): at most min(b / 2, LIMIT_ITEMS) + 1
 * records.  A body at that ceiling comes within 15% of the bound
 * (check_request, ceiling_form and ceiling_json).  Two kinds of body can
 * pass it, neither sent by a portal: form bodies with raw control bytes
 * (each written as six; http_build_query and curl escape them) and JSON
 * with real numbers (0.1 is written as 0.10000000000000001).  Past it,
 * 400 limit_exceeded, never cut.
 */
#define LIMIT_RECORDS(b) \
	(4 * (size_t)(b) + \
	    ((size_t)(b) / 2 < LIMIT_ITEMS ? (size_t)(b) / 2 + 1 \
					   : (size_t)LIMIT_ITEMS + 1) * \
		(size_t)LIMIT_RECORD_HEAD)

/*
 * ms: longest an append waits for its portal's lock, held by another
 * append to the same log; past it the request is answered 503
 * storage_unavailable ("lock timeout") with nothing written.  Bitrix24
 * does not document how long it waits for a reply ("a few seconds"), and
 * an append holds the lock for milliseconds, so a wait this long means a
 * stuck writer, not a busy one.
 */
#define LIMIT_LOCK_WAIT_MS 2000

/* bytes: one allow-list line, newline excluded; longer lines are skipped */
#define LIMIT_ALLOWLIST_LINE 1024
/* bytes: member_id, [A-Za-z0-9_-]; it names the portal's log file */
#define LIMIT_MEMBER_ID 64
/* bytes: an application token in the allow-list, printable ASCII */
#define LIMIT_TOKEN 128
/* bytes: an event code written to records, [A-Za-z0-9_] */
#define LIMIT_EVENT 128

/*
 * Enrollment (docs/enrollment.md): claims an ONAPPINSTALL or
 * ONAPPUPDATE makes for a portal or token not yet listed wait in the
 * spool (B24HOOK_ENROLL_DIR) until b24hookctl verifies them.
 */
/* a claim's domain: LIMIT_DOMAIN, a DNS name (RFC 1035) */
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
#define LIMIT_EDIT_LOCK_WAIT_MS 10000

/*
 * count: portals the counters file has a slot for (B24HOOK_STATE_DIR).
 * Past it, a portal's figures go to one "other portals" bucket; nothing
 * is refused.  Only allow-listed portals take a slot.
 */
#define LIMIT_COUNTER_PORTALS 1024
/*
 * count: event names the counters keep apart per portal; past it, that
 * portal's records go to its "other events" bucket.  A portal's slot is
 * one page (counters.h), which holds 24; the open-lines app's events and
 * the app lifecycle's are about 20.
 */
#define LIMIT_COUNTER_EVENTS 24
/* seconds: longest b24hookctl status --silent-for (3650 days); over it,
 * the command refuses the argument */
#define LIMIT_SILENT_FOR (3650LL * 86400)

#endif
