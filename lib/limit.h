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

/* bytes: auth[domain] the counters keep per portal, printable ASCII;
 * a longer or unprintable one is not kept (the request is not refused) */
#define LIMIT_DOMAIN 253

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
