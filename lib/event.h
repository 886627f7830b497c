/*
 * The Bitrix normaliser: one verified event body in, its records out.
 *
 * A record is one compact JSON object on one line, keys in this order:
 * v, received, event, event_handler_id, ts, member_id, domain, user_id,
 * item, items, then the normalised fields that apply (connector, line,
 * line_name, session_id, session_closed, parent_session_id, close_term,
 * chat_id, message_id, external_chat_id, external_user_id,
 * external_message_ids), then key, context and data.  Keys that do not
 * apply, or whose value is absent or not of the expected form, are
 * omitted; a normalised field's value is always still in context or
 * data, which are never trimmed.
 *
 * One record per item: DATA[i] of ONIMCONNECTORDIALOGSTART/FINISH,
 * MESSAGES[i] of ONIMCONNECTORMESSAGEADD/UPDATE/DELETE, DATA of
 * ONSESSIONSTART/FINISH, ONOPENLINEMESSAGEADD/UPDATE/DELETE (a list or a
 * single object: portals send the object, the docs draw a list).  An
 * item's record has the item as data and, as context, an object of every
 * other member of data (CONNECTOR, LINE, whatever else the portal sent),
 * left out when there is none: the records of one event hold all of its
 * data.  Any other event, or an item event whose list is absent or
 * empty, gives one record whose data is the whole data value.  Shapes
 * and where the official docs are wrong: docs/bitrix24.md
 * section 6.
 *
 * auth is never copied: access_token, refresh_token and
 * application_token appear in no record.
 */
#ifndef EVENT_H
#define EVENT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "errcode.h"

/*
 * event_records: append the records of body to out, each ending in '\n'.
 * body (borrowed) is the decoded event: an object with a string "event",
 * and optional "event_handler_id" (or "eventId"), "ts", "data" and
 * "auth" (only auth.domain and auth.user_id are read).  Integer fields
 * accept decimal strings (the wire) and JSON integers (the docs' JSON).
 * portal is the allow-listed member_id written as member_id; received is
 * the time the request arrived (UTC, written with microseconds).
 * On success returns 0 and adds the number of records to *nrecords.
 * On failure returns -1 with ERR_NOT_AN_EVENT (no usable "event"),
 * ERR_LIMIT_EXCEEDED (auth.domain over LIMIT_DOMAIN bytes, over
 * LIMIT_ITEMS items, the context of two or more items over LIMIT_CONTEXT
 * bytes of compact JSON, all checked before any record is built; or
 * out->max reached) or ERR_INTERNAL; out may then hold part of the
 * records and must be discarded.
 */
int event_records(const json_t *body, const char *portal,
    const struct timespec *received, struct buf *out, size_t *nrecords,
    struct err *err);

#endif
