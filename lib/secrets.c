#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secrets.h"

/* the members secrets_member knows: the slots', then the dropped ones */
static const char *const names[] = {
	[AUTH_APPLICATION_TOKEN] = "application_token",
	[AUTH_ACCESS_TOKEN] = "access_token",
	[AUTH_REFRESH_TOKEN] = "refresh_token",
	"client_endpoint",
	"server_endpoint",
};

int
secrets_member(const char *key)
{
	size_t i;

	/* every auth pair of a body asks: two bytes rule out most keys */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (key[0] == names[i][0] && key[1] == names[i][1] &&
		    strcmp(key + 2, names[i] + 2) == 0)
			return i < AUTH_SECRETS ? (int)i : AUTH_DROP;
	return AUTH_KEEP;
}

const char *
secrets_name(enum auth_secret slot)
{
	return names[slot];
}

int
secrets_set(struct auth_secrets *s, enum auth_secret slot,
    const char *value, size_t len)
{
	struct auth_slot *p = &s->slot[slot];

	secrets_drop(s, slot);
	if ((p->value = malloc(len + 1)) == NULL)
		return -1;
	memcpy(p->value, value, len);
	p->value[len] = '\0';
	p->len = len;
	return 0;
}

void
secrets_drop(struct auth_secrets *s, enum auth_secret slot)
{
	struct auth_slot *p = &s->slot[slot];

	if (p->value != NULL) {
		sodium_memzero(p->value, p->len);
		free(p->value);
	}
	p->value = NULL;
	p->len = 0;
}

void
secrets_clear(struct auth_secrets *s)
{
	int i;

	for (i = 0; i < AUTH_SECRETS; i++)
		secrets_drop(s, i);
}
