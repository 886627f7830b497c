/*
 * The secrets of a body's auth, taken out of the decoded tree: the
 * decoders (decode_body, form_decode) copy auth[application_token],
 * auth[access_token] and auth[refresh_token] into slots of their own
 * instead of the tree, and keep auth[client_endpoint] and
 * auth[server_endpoint] nowhere (the OAuth URL is configuration, records
 * never copy auth).  So the tree that the event's normaliser, the spool's
 * body and every copy of it come from holds no token, and each token is
 * in memory once, in a block wiped when it is released.
 *
 * Bitrix24 facts (docs/bitrix24.md section 3): the three tokens are
 * secrets; only application_token is on every event.
 */
#ifndef SECRETS_H
#define SECRETS_H

#include <stddef.h>

/* The slots: the auth members that are secrets. */
enum auth_secret {
	AUTH_APPLICATION_TOKEN,
	AUTH_ACCESS_TOKEN,
	AUTH_REFRESH_TOKEN,
	AUTH_SECRETS /* how many */
};

/*
 * What secrets_member says of an auth member that is no slot's: the
 * endpoints are dropped, any other member stays in the tree.
 */
#define AUTH_DROP AUTH_SECRETS
#define AUTH_KEEP (-1)

/*
 * One auth member's decoded value: value is an owned copy of len bytes
 * and a NUL after them (the bytes may hold a NUL: compare len with
 * strlen before taking value as a C string); NULL when the body has no
 * such string member.
 */
struct auth_slot {
	char *value;
	size_t len;
};

/*
 * A body's secrets, slot[AUTH_APPLICATION_TOKEN] and so on.
 * Zero-initialise (struct auth_secrets s = { 0 }); secrets_clear wipes
 * and releases what it holds.  Not to be shared between threads.
 */
struct auth_secrets {
	struct auth_slot slot[AUTH_SECRETS];
};

/*
 * secrets_member: what becomes of auth[key] when secrets are taken out:
 * its slot (an enum auth_secret), AUTH_DROP for client_endpoint and
 * server_endpoint, AUTH_KEEP for any other key.
 */
int secrets_member(const char *key);

/* secrets_name: slot's auth member, "application_token" and so on. */
const char *secrets_name(enum auth_secret slot);

/*
 * secrets_set: slot holds a copy of len bytes of value, the value it
 * held before wiped and released.  Returns 0, or -1 with errno ENOMEM,
 * the slot then empty.
 */
int secrets_set(struct auth_secrets *s, enum auth_secret slot,
    const char *value, size_t len);

/* secrets_drop: slot's value wiped and released; the slot is empty. */
void secrets_drop(struct auth_secrets *s, enum auth_secret slot);

/* secrets_clear: every slot dropped; s stays usable. */
void secrets_clear(struct auth_secrets *s);

#endif
