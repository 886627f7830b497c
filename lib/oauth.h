/*
 * The one network call of b24hook: app.info on the OAuth server of the
 * settings, over verified TLS (libcurl).  Only b24hookctl links it (and
 * libcurl); the responder makes no network call.
 */
#ifndef OAUTH_H
#define OAUTH_H

#include "buf.h"
#include "errcode.h"
#include "request.h"

/*
 * oauth_app_info: GET <s->oauth_url>/rest/app.info?auth=<access_token>
 * (the token percent-encoded; one '/' between the URL and "rest").
 * TLS is verified, always: the peer's certificate against s->oauth_ca
 * when set, else the system's CAs, and its name against the URL's host;
 * https only, no redirect followed, no cookie kept; LIMIT_OAUTH_CONNECT_MS
 * to connect and LIMIT_OAUTH_TIMEOUT_MS in all.  The answer's body goes
 * to answer (emptied first), at most LIMIT_OAUTH_ANSWER bytes.
 * Returns 0 with *status the HTTP status (any: the caller judges it),
 * or -1 with ERR_STORAGE_UNAVAILABLE and why no answer came ("app.info:
 * Timeout was reached", "app.info: SSL peer certificate or SSH remote
 * key was not OK: ...", "app.info answer over 65536 bytes"), never the
 * URL's query.  An enroll_fetch (enroll.h).  The program calls
 * curl_global_init once before (curl_easy_init does it otherwise).
 */
int oauth_app_info(const struct settings *s, const char *access_token,
    long *status, struct buf *answer, struct err *err);

#endif
