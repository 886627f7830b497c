/*
 * The record key: a digest that is the same for a re-delivered identical
 * item and differs for different items.  Bitrix24 has no per-event id and
 * delivers copies when a handler is bound twice
 * (../shared/bitrix24-events.md section 5), so the key is built from what
 * identifies an item: portal, event and the item's content with its
 * context in data -- never ts, event_handler_id or the arrival time.
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
 * over data, not n (a 1 MiB body of 9,990 items took 10 s of CPU when
 * each item hashed data again).
 */
struct key_context {
	crypto_generichash_state state;
	int items; /* items_key was given: key_finish adds the item */
};

/*
 * key_start: begin the keys of one event in ctx.  portal and event
 * (upper-case) are NUL-terminated; data (may be NULL) is the event's
 * data; when items_key is not NULL, data[items_key] holds the items and
 * is left out of the context, so two items of one event get different
 * keys and the same item re-delivered in a batch of other size keeps its
 * key.  All borrowed for this call only.
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
