/*
 * libFuzzer target: a spool entry file, spool_entry_parse (spool.h), and
 * spool_entry_format on what it accepts.  Checked on every input: a
 * refusal says "spool entry: ..." and leaves the entry cleared; an
 * accepted entry has its fields' shapes, formats back (or is over
 * LIMIT_SPOOL_ENTRY) to a text that parses to the same entry, and a
 * decided one formats without its tokens or body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "allowlist.h"
#include "buf.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* same: a and b hold the same entry */
static int
same(const struct spool_entry *a, const struct spool_entry *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->event, b->event) == 0 &&
	    strcmp(a->member_id, b->member_id) == 0 &&
	    strcmp(a->domain, b->domain) == 0 &&
	    a->received.tv_sec == b->received.tv_sec &&
	    a->received.tv_nsec == b->received.tv_nsec &&
	    a->state == b->state && a->checked == b->checked &&
	    strcmp(a->note, b->note) == 0 &&
	    strcmp(a->application_token, b->application_token) == 0 &&
	    strcmp(a->access_token, b->access_token) == 0 &&
	    (a->body == NULL ? b->body == NULL
			     : json_equal(a->body, b->body));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_entry e, g;
	struct buf out = { 0 };
	struct err err;
	char text[SPOOL_NOTE_SIZE + 64];

	if (spool_entry_parse((const char *)data, size, &e, &err) == -1) {
		if (err.code != ERR_CONFIG ||
		    strncmp(err.reason, "spool entry: ", 13) != 0 ||
		    e.body != NULL || e.application_token[0] != '\0')
			abort();
		return 0;
	}
	if (!spool_valid_id(e.id) ||
	    !allowlist_valid_member_id(e.member_id, strlen(e.member_id)) ||
	    !spool_valid_domain(e.domain, strlen(e.domain)) ||
	    (spool_final(e.state) ? e.body != NULL ||
		    e.application_token[0] != '\0'
				  : e.body == NULL ||
		    !allowlist_valid_token(e.application_token,
			strlen(e.application_token))))
		abort();
	spool_state_text(&e, text, sizeof(text));
	if (spool_entry_format(&e, &out, &err) == 0) {
		if (out.len > LIMIT_SPOOL_ENTRY ||
		    spool_entry_parse(out.data, out.len, &g, &err) == -1 ||
		    !same(&e, &g))
			abort();
		spool_entry_clear(&g);
	} else if (err.code != ERR_LIMIT_EXCEEDED)
		abort();
	buf_free(&out);
	spool_entry_clear(&e);
	return 0;
}
