/*
 * The record key: a digest of what an item says, built from portal,
 * event and the item's content with its context in data (the whole data
 * for an event without items) -- never ts, event_handler_id, the domain,
 * the arrival time or the encoding.  It identifies content, not a
 * delivery.  Bitrix24 has no per-event id and delivers copies when a
 * handler is bound twice (docs/bitrix24.md section 5), each
 * with its own event_handler_id and a ts equal or a second later: they
 * have equal keys.  So has the same content sent again later, a reinstall
 * or an edit A -> B -> A.  Equal keys are copies of one delivery only
 * when their ts are at most 5 seconds apart (docs/records.md, "Copies
 * and the key", gives the rule and a jq program); any content byte
 * changes it.
 */
#ifndef KEY_H
#define KEY_H

#include <jansson.h>
#include <sodium.h>

/* bytes: a key as hex, NUL included (BLAKE2b-128) */
#define KEY_HEX_SIZE 33

/*
 * What every item of one event shares in its key (portal, event, the
 * context in data), hashed once: an event of n items then costs one pass
 * over data, not n, which a large body of many items would make
 * quadratic.
 */
struct key_context {
	crypto_generichash_state state;
	int items; /* items_key was given: key_finish adds the item */
};

/*
 * key_start: begin the keys of one event in ctx.  portal and event
 * (upper-case) are NUL-terminated; data (may be NULL) is the event's
 * data; when items_key is not NULL, data[items_key] holds the items and
 * is left out of the context (what their records carry as context), so
 * two items of one event get different keys and the same item sent again
 * in a batch of other size keeps its key.  All borrowed for this call
 * only.
 * The content is encoded canonically: object keys sorted, integers,
 * booleans and strings compared as the wire sends them ("105" and 105
 * are one value, true is "1"), so a form body and its JSON drawing give
 * the same key.  Returns 0, or -1 when memory runs out.
 */
int key_start(struct key_context *ctx, const char *portal, const char *event,
    const json_t *data, const char *items_key);

/*
 * key_finish: write to hex the key of item (borrowed: one entry of
 * data[items_key]; ignored when key_start had no items_key) from ctx,
 * which stays as it was, ready for the next item.  Returns 0, or -1 when
 * memory runs out.
 */
int key_finish(const struct key_context *ctx, const json_t *item,
    char hex[KEY_HEX_SIZE]);

#endif
