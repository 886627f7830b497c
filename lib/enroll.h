/*
 * Enrollment: a portal listed from its own install.
 *
 * Bitrix24 facts (docs/enrollment.md; Bitrix24 REST docs:
 * events/on-app-install, settings/app-installation, "safe event
 * handlers", the OAuth pages; the official Python SDK bitrix24/b24pysdk):
 * ONAPPINSTALL is posted like any event, form-encoded, with
 * auth[access_token] (OAuth, valid one hour), auth[refresh_token],
 * auth[member_id], auth[domain], auth[user_id] and
 * auth[application_token], the token every later event of the app on
 * that portal carries; ONAPPUPDATE carries the new one when it changes.
 * Nothing in it is signed, and Bitrix24 never sends it again.
 *
 * So an install from a portal or token not listed is kept as a claim
 * (the responder: enroll_claim, spool_add) and decided later
 * (b24hookctl: enroll_verify, enroll_approve, enroll_reject).  The
 * verifier asks the OAuth server of the settings (never a URL from the
 * body) whether the claim's access token is a live token of this app
 * on this portal (appinfo.h).  That proves the claimant holds such a
 * token, not that Bitrix24 sent the claim: any user of a portal with
 * the app installed does.  So a verified claim lists a portal that is
 * not listed yet, and nothing more: a claim to change a listed portal's
 * token, or two claims for one portal with different tokens, wait for
 * the operator.
 */
#ifndef ENROLL_H
#define ENROLL_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "allowedit.h"
#include "buf.h"
#include "errcode.h"
#include "request.h"
#include "secrets.h"
#include "spool.h"

/*
 * enroll_claim: is root with its secrets (an event decoded with its
 * tokens taken out, decode_body, that the allow-list refused) a claim?
 * Yes when its event is ONAPPINSTALL or ONAPPUPDATE (any case), root's
 * auth holds member_id (allowlist_valid_member_id) and domain
 * (spool_valid_domain) as strings without NUL, and the slots
 * application_token and access_token hold tokens
 * (allowlist_valid_token).  Then returns 0 with e filled (no id yet:
 * spool_add gives it), its tokens copied from the slots, its body a copy
 * of root whose auth keeps only member_id, domain and user_id; release
 * it with spool_entry_clear.  Returns -1 when it is no claim (err says
 * which field, never a value), or when memory runs out (ERR_INTERNAL).
 */
int enroll_claim(const json_t *root, const struct auth_secrets *secrets,
    const struct timespec *received, struct spool_entry *e,
    struct err *err);

/*
 * enroll_fetch: GET <s->oauth_url>/rest/app.info?auth=<access_token>,
 * the answer's status in *status and its body in answer; 0, or -1 with
 * err saying why no answer came (timeout, TLS, connection: the claim is
 * not at fault).  oauth.h gives the real one.
 */
typedef int enroll_fetch(const struct settings *s, const char *access_token,
    long *status, struct buf *answer, struct err *err);

/*
 * enroll_report: one outcome, for one line of output: the entry as it
 * now is, and the outcome's text (never a token), for instance
 * "verified: listed with token 1a2b3c4d, label portal.bitrix24.com;
 * install record written", "rejected: client_id is another app's",
 * "pending: needs approve (the portal is listed with another token)".
 * failed is 1 when the outcome is a failure of the verifier (nothing
 * could be decided), 0 for a decision.
 */
typedef void enroll_report(void *arg, const struct spool_entry *e,
    const char *outcome, int failed);

/*
 * enroll_verify: decide the claims of s->enroll_dir, holding the spool's
 * lock (spool_lock), in two passes, each claim in order of arrival:
 *
 * 1. Every claim not yet checked: one received more than
 *    LIMIT_ACCESS_TOKEN_AGE seconds before now is expired (not
 *    checked); any other is checked with fetch and appinfo_check for
 *    s->client_id: a refusal rejects it.  Its access token is erased
 *    from the spool either way.  When fetch fails (no answer), the
 *    claim stays as it was and the claims after it are not checked in
 *    this run (the server is out of reach; each is reported).
 * 2. Every checked claim not yet decided: its pair already listed is
 *    verified; a portal listed with other tokens, or another claim not
 *    decided for the same portal with another application token, waits
 *    for the operator (SPOOL_APPROVE); else the install becomes the
 *    first record of the portal's log (event_records, sink_append:
 *    created as the log directory's owner) and the portal is listed
 *    (allowedit_add, label the domain), under the allow-list's lock.
 *
 * A claim decided loses its tokens (spool_update writes ID.done); one
 * waiting for the operator keeps its application token only.  A claim
 * waiting for the operator is reported and left alone.  Then decided
 * claims past their keep are pruned (spool_prune).  Each claim's
 * outcome goes to report.  Returns the number of failures (fetch, the
 * spool, the allow-list or the log failing), or -1 with err when
 * nothing could be done (settings, the spool's lock or listing).
 */
int enroll_verify(const struct settings *s, const struct timespec *now,
    enroll_fetch *fetch, enroll_report *report, void *arg, struct err *err);

/* What an operator's approval adds, for b24hookctl to say. */
struct enroll_approval {
	char member_id[LIMIT_MEMBER_ID + 1];
	char domain[LIMIT_DOMAIN + 1];
	char fingerprint[ALLOWLIST_FP_SIZE]; /* of the claimed token */
	size_t others; /* the portal's entries with other tokens, kept */
	int added;     /* 0: the pair was listed already */
};

/*
 * enroll_approve: the operator's yes to claim id of s->enroll_dir (not
 * decided yet, checked or not): its install is written to the portal's
 * log and its token listed, as enroll_verify does, even for a portal
 * listed with other tokens (which stay valid: both work while the
 * portal changes over, until "portal remove").  a says what was added.
 * Returns 0, or -1 with err (no such claim, a decided one, the
 * allow-list or log failing: then nothing changed).
 */
int enroll_approve(const struct settings *s, const char *id,
    struct enroll_approval *a, struct err *err);

/*
 * enroll_reject: the operator's no to claim id (not decided yet): it is
 * rejected ("rejected by the operator") and its tokens erased.  Returns
 * 0, or -1 with err.
 */
int enroll_reject(const struct settings *s, const char *id,
    struct err *err);

#endif
