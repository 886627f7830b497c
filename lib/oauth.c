#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "limit.h"
#include "oauth.h"

/* What the write callback fills. */
struct sink_answer {
	struct buf *answer;
	int over; /* the answer passed LIMIT_OAUTH_ANSWER */
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink_answer *a = arg;

	if (buf_append(a->answer, p, size * n) == -1) {
		a->over = 1;
		return 0; /* stops the transfer: CURLE_WRITE_ERROR */
	}
	return size * n;
}

/* url: base, "/rest/app.info?auth=" and the escaped token, in out */
static int
url(CURL *c, const char *base, const char *token, struct buf *out)
{
	size_t n = strlen(base);
	char *esc;
	int rc;

	while (n > 0 && base[n - 1] == '/')
		n--;
	if ((esc = curl_easy_escape(c, token, 0)) == NULL)
		return -1;
	rc = buf_append(out, base, n) == 0 &&
		buf_append(out, "/rest/app.info?auth=", 20) == 0 &&
		buf_append(out, esc, strlen(esc)) == 0
	    ? 0
	    : -1;
	sodium_memzero(esc, strlen(esc));
	curl_free(esc);
	return rc;
}

int
oauth_app_info(const struct settings *s, const char *access_token,
    long *status, struct buf *answer, struct err *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink_answer a = { answer, 0 };
	struct buf u;
	CURLcode rc = CURLE_OK;
	CURL *c;
	int ret = -1;

	buf_reset(answer);
	answer->max = LIMIT_OAUTH_ANSWER;
	buf_init(&u, LIMIT_URL + 3 * LIMIT_TOKEN + 32);
	if ((c = curl_easy_init()) == NULL)
		return err_set(err, ERR_INTERNAL, "app.info: libcurl failed "
		    "to start");
	if (url(c, s->oauth_url, access_token, &u) == -1) {
		err_set(err, ERR_INTERNAL, "app.info: URL too long");
		goto out;
	}
#define SET(opt, val)                                           \
	if (rc == CURLE_OK)                                     \
	rc = curl_easy_setopt(c, opt, val)
	SET(CURLOPT_URL, u.data);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->oauth_ca != NULL)
		SET(CURLOPT_CAINFO, s->oauth_ca);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)LIMIT_OAUTH_CONNECT_MS);
	SET(CURLOPT_TIMEOUT_MS, (long)LIMIT_OAUTH_TIMEOUT_MS);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)LIMIT_OAUTH_ANSWER);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "b24hookctl");
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, &a);
#undef SET
	if (rc != CURLE_OK) {
		err_set(err, ERR_INTERNAL, "app.info: %s",
		    curl_easy_strerror(rc));
		goto out;
	}
	rc = curl_easy_perform(c);
	if (a.over || rc == CURLE_FILESIZE_EXCEEDED)
		err_set(err, ERR_STORAGE_UNAVAILABLE,
		    "app.info answer over %d bytes", LIMIT_OAUTH_ANSWER);
	else if (rc != CURLE_OK) {
		/* libcurl's words name the host; any that quote the URL's
		 * query, which holds the token, are left out */
		if (strstr(errbuf, access_token) != NULL ||
		    strstr(errbuf, "auth=") != NULL)
			errbuf[0] = '\0';
		err_set(err, ERR_STORAGE_UNAVAILABLE, "app.info: %s%s%s",
		    curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
	}
	else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status) !=
	    CURLE_OK)
		err_set(err, ERR_STORAGE_UNAVAILABLE, "app.info: no status");
	else
		ret = 0;
out:
	if (u.data != NULL)
		sodium_memzero(u.data, u.cap);
	buf_free(&u);
	curl_easy_cleanup(c);
	return ret;
}
