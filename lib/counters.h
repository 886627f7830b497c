/*
 * Shared counters: how many events each portal sent, which requests were
 * refused and why, when each portal was last heard from.
 *
 * One fixed-size file, $B24HOOK_STATE_DIR/counters, mapped MAP_SHARED by
 * every responder process (each FastCGI worker once, each CGI process
 * for its request) and updated with 64-bit atomic operations in the
 * mapping: no lock on the way of a request.  A portal's slot is claimed
 * once, by a compare-and-swap on the slot's state word.  The file is
 * allocated whole when made (posix_fallocate), so a full disk never
 * faults a page of it; it survives restarts.
 *
 * Layout, version COUNTERS_VERSION (native byte order and alignment,
 * struct counters_file below): a header (magic "B24HKCNT", the version,
 * a byte-order mark, the sizes of every table and entry, the file's
 * size, the time it was made, a "retired" flag) and the refusal table
 * (COUNTERS_CODES entries: error code, reason, HTTP status, count) in
 * the first page, then the other-portals bucket and LIMIT_COUNTER_PORTALS
 * portal slots, a page each (COUNTERS_PAGE), each with
 * LIMIT_COUNTER_EVENTS event entries: 4.2 MB in all.
 *
 * What is counted, per request, once its reply is decided:
 *   - accepted (200): the portal's requests, records, records per event
 *     name, last accepted time, last seen auth[domain], and the day's
 *     records;
 *   - refused: the refusal table, by error code (errcode.h's names) and
 *     reason: the code's name again, except 403 forbidden, whose reason
 *     is unknown_portal or token_mismatch.  A listed portal's
 *     token_mismatch also counts in its slot (refusals, the day's
 *     refusals, last refused time), and so does a storage failure (503
 *     storage_unavailable) of a listed portal.  An unknown portal never
 *     takes a slot: only allow-listed portals do.
 * Past LIMIT_COUNTER_PORTALS portals, a portal's figures go to the
 * "other portals" bucket; past LIMIT_COUNTER_EVENTS event names, a
 * portal's records go to its "other events" bucket.
 *
 * Per-day figures: each "today" counter is one 64-bit word holding the
 * UTC day number (days since 1970-01-01) of its last update and that
 * day's count, updated by one compare-and-swap: the first update of a
 * new day starts it at that update's amount, so the figure is exact for
 * the day of the last update and reads as 0 on any later day.  The day
 * is the request's arrival time's (the responder's clock).
 *
 * Every number is exact on its own; a snapshot taken while requests run
 * may see a request's requests count and not yet its records.
 *
 * A missing file, or a damaged one (bad magic, a size other than its
 * header says), is made anew: built beside it as "counters.new",
 * then renamed over the name, under flock() on the directory.  A file
 * of another format version, or of this version with other sizes, is
 * left alone and refused (ERR_CONFIG): nothing is counted until it is
 * moved away or b24hookctl stats --reset replaces it.  Counting never
 * changes a reply.  The file must never be truncated or edited in
 * place (a worker touching a page past the end gets SIGBUS; the
 * responder survives it, cgi/b24hook.c, but loses the count).
 *
 * Reset (b24hookctl stats --reset, counters_reset): a fresh file is
 * renamed over the name and the old file's "retired" flag set; a
 * process still mapping the old file sees the flag at its next count
 * (counters_refresh) and maps the new one.  Counts made in between
 * land in the old file and are lost with it.
 */
#ifndef COUNTERS_H
#define COUNTERS_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "errcode.h"
#include "limit.h"
#include "request.h"

#define COUNTERS_NAME "counters" /* the file's name in the state dir */
#define COUNTERS_MAGIC "B24HKCNT"
#define COUNTERS_VERSION 1
/*
 * entries of the refusal table: one per (code, reason) the program can
 * give, which is a fixed list (errcode.h, plus forbidden's two
 * reasons), not an input; a pair that finds no entry is counted in
 * other_refusals
 */
#define COUNTERS_CODES 32
/* mode of the file when it is made (less the process umask) */
#define COUNTERS_MODE 0640

/* The file as mapped; every counter is updated with __atomic builtins. */
struct counters_code {
	uint32_t state;  /* 0 free, 1 being claimed, 2 in use */
	uint32_t status; /* the code's HTTP status */
	char code[32];   /* errcode.h name, NUL-terminated */
	char reason[24]; /* "unknown_portal", "token_mismatch", or code */
	uint64_t count;  /* requests */
};

struct counters_event {
	uint32_t state;             /* as counters_code's */
	char name[LIMIT_EVENT + 4]; /* [A-Za-z0-9_]{1,LIMIT_EVENT} */
	uint64_t records;
};

/*
 * A portal's slot is one page, page-aligned: what one request counts is
 * written to one page.  A CGI process maps the file for one request, and
 * each page it first writes costs it a page fault (measured in
 * bench/README.md).
 */
#define COUNTERS_PAGE 4096

struct counters_portal {
	_Alignas(COUNTERS_PAGE) uint32_t state; /* as counters_code's */
	uint32_t domain_seq;                 /* odd while domain is written */
	char member_id[LIMIT_MEMBER_ID + 8]; /* NUL-terminated */
	char domain[LIMIT_DOMAIN + 3];       /* last seen; "" unknown */
	uint64_t requests;                   /* accepted */
	uint64_t records;                    /* of the accepted requests */
	uint64_t refusals;                   /* token_mismatch */
	uint64_t storage_failures;           /* 503 storage_unavailable */
	int64_t last_accepted;   /* seconds since the epoch; 0 never */
	int64_t last_refused;    /* same, token_mismatch */
	uint64_t records_today;  /* day << 40 | count */
	uint64_t refusals_today; /* day << 40 | count */
	uint64_t other_events;   /* records of events past the table */
	struct counters_event event[LIMIT_COUNTER_EVENTS];
};

struct counters_head {
	char magic[8];        /* COUNTERS_MAGIC, no NUL */
	uint32_t version;     /* COUNTERS_VERSION */
	uint32_t byte_order;  /* 0x01020304 as written */
	uint32_t head_size;   /* bytes: sizeof(struct counters_head) */
	uint32_t code_size;   /* bytes: sizeof(struct counters_code) */
	uint32_t codes;       /* COUNTERS_CODES */
	uint32_t portal_size; /* bytes: sizeof(struct counters_portal) */
	uint32_t portals;     /* LIMIT_COUNTER_PORTALS */
	uint32_t event_size;  /* bytes: sizeof(struct counters_event) */
	uint32_t events;      /* LIMIT_COUNTER_EVENTS */
	uint32_t retired;     /* 1: a reset renamed a new file over it */
	uint64_t file_size;   /* bytes: sizeof(struct counters_file) */
	int64_t created;      /* seconds since the epoch */
};

struct counters_file {
	struct counters_head head;
	uint64_t enrollments_pending; /* 202 enrollment_pending replies */
	uint64_t other_refusals;      /* refusals that found no entry */
	struct counters_portal other; /* portals past the table */
	struct counters_code code[COUNTERS_CODES];
	struct counters_portal portal[LIMIT_COUNTER_PORTALS];
};

/*
 * One process's handle on the file, owned by the caller.
 * Zero-initialise before use (struct counters k = { 0 }); release with
 * counters_close.  Not to be shared between threads; a child of fork()
 * may count through its parent's mapping (the mapping is shared).
 */
struct counters {
	struct counters_file *map; /* NULL: not mapped */
	int writable;              /* mapped for counting */
	char path[PATH_MAX];       /* "dir/counters" */
	dev_t dev;                 /* the mapped file, as opened */
	ino_t ino;
	time_t checked; /* seconds: when the name was last looked up */
	/* code_slot[code][kind]: refusal entry + 1, 0 unknown (a cache) */
	unsigned short code_slot[64][3];
};

/*
 * counters_open: map dir/counters for counting, making it when missing
 * or damaged (see above).  Returns 0, or -1 with ERR_CONFIG: the
 * directory cannot be used ("counters open errno=EACCES"), the file is
 * of another version ("counters file format version 2, not 1: ...") or
 * layout, or cannot be made ("counters fallocate errno=ENOSPC").  Any
 * mapping k held is released first.
 */
int counters_open(struct counters *k, const char *dir, struct err *err);

/*
 * counters_open_read: map dir/counters read-only, for reading: never
 * makes or replaces it.  Returns 0, or -1 with ERR_CONFIG (missing:
 * "counters open errno=ENOENT", damaged, of another version).
 */
int counters_open_read(struct counters *k, const char *dir, struct err *err);

/*
 * counters_refresh: for a process that counts many requests, before
 * each count; now in seconds.  When the mapped file was retired by a
 * reset, or (at most once per second of now) the name no longer names
 * the mapped file or its size changed, the mapping is replaced
 * (counters_open).  When nothing is mapped it tries counters_open, at
 * most once per second.  Returns 0 when k is mapped for counting, or -1
 * with err set by the counters_open that failed; within the same second
 * as a failed one, -1 with err left as it was.
 */
int counters_refresh(
    struct counters *k, const char *dir, time_t now, struct err *err);

/* counters_close: unmap; k stays usable (zeroed). */
void counters_close(struct counters *k);

/*
 * counters_record: count one request's outcome o (request.h), whose
 * reply has been decided; now is its arrival time.  Uses o->err.code,
 * o->err.reason (for 403: "unknown_portal", "token_mismatch"),
 * o->member_id, o->event, o->records and o->domain.  A 202
 * enrollment_pending counts as counters_enrollment_pending does, not as
 * a refusal.  Does nothing when k is not mapped for
 * counting.  No allocation, no system call.
 */
void counters_record(
    struct counters *k, const struct outcome *o, const struct timespec *now);

/* counters_enrollment_pending: count one 202 enrollment_pending reply. */
void counters_enrollment_pending(struct counters *k);

/*
 * counters_reset: start the counters over: a fresh file (same owner,
 * group and mode as the one it replaces) renamed over dir/counters, and
 * the replaced file marked retired.  Returns 0, or -1 with ERR_CONFIG
 * (as counters_open; the old file is left as it was).
 */
int counters_reset(const char *dir, struct err *err);

/* One portal's figures, copied out of the file. */
struct counters_portal_snap {
	char member_id[LIMIT_MEMBER_ID +
	    1];                        /* "" for the other-portals bucket */
	char domain[LIMIT_DOMAIN + 1]; /* "" unknown */
	uint64_t requests, records, refusals, storage_failures;
	int64_t last_accepted,
	    last_refused; /* seconds since the epoch; 0 never */
	uint64_t records_today, refusals_today; /* of the snapshot's day */
	size_t nevents;
	struct counters_event_snap {
		char name[LIMIT_EVENT + 1];
		uint64_t records;
	} event[LIMIT_COUNTER_EVENTS]; /* sorted by name */
	uint64_t other_events;
};

/* The whole file, copied out: what the renderers take. */
struct counters_snapshot {
	int64_t created; /* seconds since the epoch: made or last reset */
	int64_t taken;   /* seconds since the epoch: now, as given */
	uint64_t enrollments_pending;
	size_t ncodes;
	struct counters_code_snap {
		char code[32], reason[24];
		int status;
		uint64_t count;
	} code[COUNTERS_CODES]; /* entries in use, by status, code, reason */
	uint64_t other_refusals;
	struct counters_portal_snap other; /* portals past the table */
	size_t nportals;
	struct counters_portal_snap *portal; /* owned; sorted by member_id */
};

/*
 * counters_snapshot: copy k's file (mapped by either open) into s, as
 * of now (seconds: the day of the "today" figures).  A portal found in
 * two slots (a claim that outwaited its reader, see counters.c) is
 * merged.  Returns 0; or -1 with ERR_INTERNAL (out of memory) or
 * ERR_CONFIG (not mapped).  Free s with counters_snapshot_free.
 */
int counters_snapshot(const struct counters *k, time_t now,
    struct counters_snapshot *s, struct err *err);

/* counters_snapshot_free: release what s owns; s is emptied. */
void counters_snapshot_free(struct counters_snapshot *s);

/*
 * counters_label: a portal's label (the allow-list's third field) by
 * member_id, or NULL when it has none; the string is borrowed until the
 * renderer returns.
 */
typedef const char *counters_label(const char *member_id, void *arg);

enum counters_format {
	COUNTERS_TEXT,       /* for people */
	COUNTERS_JSON,       /* one object */
	COUNTERS_PROMETHEUS, /* text exposition format 0.0.4 */
};

/*
 * counters_render: append s to out in format f.  label (may be NULL:
 * every label "") names the portals.  Prometheus: metric names start
 * b24hook_, counters end _total, last-seen times are gauges in seconds
 * since the epoch (left out while "never"), label values are escaped as
 * the format says.  Returns 0, or -1 with ERR_INTERNAL (out of memory,
 * or out's max reached).
 */
int counters_render(const struct counters_snapshot *s, enum counters_format f,
    counters_label *label, void *arg, struct buf *out, struct err *err);

/*
 * counters_render_status: append b24hookctl status's report to out: a
 * first line "OK: ..." or "WARNING: ..." naming every silent portal,
 * then one line per portal: member_id, label, domain, last accepted
 * event (UTC ISO 8601, or "never"), records today, refusals today.
 * silent_for: seconds; a portal whose last accepted event is older than
 * s->taken - silent_for, or that never had one, is silent; 0: none is.
 * Sets *silent to the number of silent portals.  Returns 0, or -1 with
 * ERR_INTERNAL.
 */
int counters_render_status(const struct counters_snapshot *s,
    counters_label *label, void *arg, long long silent_for, struct buf *out,
    size_t *silent, struct err *err);

/*
 * counters_parse_duration: "N" followed by one unit s, m, h or d (N
 * decimal, at least 1) into *seconds, at most LIMIT_SILENT_FOR.
 * Returns 0, or -1 when s is not one or is out of range.
 */
int counters_parse_duration(const char *s, long long *seconds);

#endif
