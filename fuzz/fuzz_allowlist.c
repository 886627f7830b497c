/*
 * libFuzzer target: the allow-list parser, allowlist_parse, and
 * allowlist_check (allowlist.h).  Every warning is "line N: " and fixed
 * text, never the line itself; a first line that is plainly
 * "member_id token" (no '#', no CR, short) and ends in a newline is an
 * entry its own pair passes; the last line's fields, checked as a
 * request would present them, never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "limit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ID_CHARS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			       "0123456789_-";

/* a warning is "line N: " and one of the parser's own messages */
static void
check_warning(const char *w)
{
	static const char *const texts[] = {
		"line longer than",
		"member_id must match",
		"no application token",
		"application token must be",
		"no newline at the end",
	};
	const char *p;
	size_t i;

	if (strncmp(w, "line ", 5) != 0 || (p = strstr(w, ": ")) == NULL)
		abort();
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strncmp(p + 2, texts[i], strlen(texts[i])) == 0)
			return;
	abort();
}

/*
 * the first line, when it is plainly "ID TOKEN" and a newline ends it:
 * both, NUL-terminated
 */
static int
plain_first_line(const char *text, size_t len, char *id, char *token)
{
	size_t n = 0, i, j;

	while (n < len && text[n] != '\n')
		n++;
	if (n == len || n > LIMIT_ALLOWLIST_LINE ||
	    memchr(text, '#', n) != NULL)
		return 0;
	for (i = 0; i < n && strchr(ID_CHARS, text[i]) && text[i]; i++)
		;
	if (i == 0 || i > LIMIT_MEMBER_ID || i == n || text[i] != ' ')
		return 0;
	for (j = i + 1; j < n && text[j] > ' ' && text[j] <= '~'; j++)
		;
	if (j == i + 1 || j - i - 1 > LIMIT_TOKEN ||
	    (j < n && text[j] != ' '))
		return 0;
	memcpy(id, text, i);
	id[i] = '\0';
	memcpy(token, text + i + 1, j - i - 1);
	token[j - i - 1] = '\0';
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *last;
	char id[LIMIT_MEMBER_ID + 1], token[LIMIT_TOKEN + 1], *mid;
	struct allowlist *list;
	struct err err;
	const char *portal;
	size_t i, n;

	if (allowlist_parse(text, size, &list, &err) == -1)
		return 0;
	for (i = 0; i < allowlist_warnings(list); i++)
		check_warning(allowlist_warning(list, i));
	if (plain_first_line(text, size, id, token) &&
	    (allowlist_check(list, id, token, strlen(token), &portal) !=
		    ALLOWLIST_OK ||
		strcmp(portal, id) != 0))
		abort();

	/* the last line as a request's member_id, the rest as its token */
	for (last = text + size; last > text && last[-1] != '\n'; last--)
		;
	n = text + size - last;
	if ((mid = strndup(last, n < 80 ? n : 80)) != NULL) {
		allowlist_check(list, mid, last, n, &portal);
		allowlist_check(list, mid, NULL, 0, NULL);
		free(mid);
	}
	allowlist_free(list);
	return 0;
}
