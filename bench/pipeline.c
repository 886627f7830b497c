/*
 * The in-process benchmark: b24hook's pipeline without I/O, on the real
 * library (build/libb24hook.a) -- decode (the tokens into their slots)
 * -> verify -> normalise -> serialise, as request_process does, with the
 * allow-list parsed once and the records serialised into a buffer
 * instead of the sink.
 *
 *	pipeline -t SECONDS ALLOWLIST BODY...
 *		per body: "name events_per_s ns_per_event records", the
 *		median of three timed runs of about SECONDS each
 *	pipeline -n COUNT ALLOWLIST BODY...
 *		exactly COUNT events per body, for callgrind
 *
 * The PHP twin is bench/pipeline.php.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "allowlist.h"
#include "buf.h"
#include "decode.h"
#include "event.h"
#include "limit.h"

/* bytes: the largest body read */
#define BODY_MAX LIMIT_BODY_DEFAULT

struct body {
	const char *name; /* the file's, ".form" left out */
	size_t name_len;
	char *text; /* owned */
	size_t len;
};

/*
 * One event: decode, verify, normalise and serialise into out.  Returns
 * the number of records, 0 when refused or on error.
 */
static size_t
pipeline(const struct allowlist *list, const struct body *b, struct buf *out)
{
	struct auth_secrets secrets = { 0 };
	const struct auth_slot *token = &secrets.slot[AUTH_APPLICATION_TOKEN];
	const char *member_id, *portal;
	struct timespec now;
	struct err err;
	json_t *root;
	size_t n = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	if (decode_body(MEDIA_FORM, b->text, b->len, &root, &secrets, &err) ==
	    -1)
		return 0;
	member_id = json_string_value(
	    json_object_get(json_object_get(root, "auth"), "member_id"));
	if (json_is_string(json_object_get(root, "event")) &&
	    member_id != NULL && token->len > 0 &&
	    allowlist_check(list, member_id, token->value, token->len,
		&portal) == ALLOWLIST_OK &&
	    event_records(root, portal, &now, out, &n, &err) == -1)
		n = 0;
	json_decref(root);
	secrets_clear(&secrets);
	buf_reset(out);
	return n;
}

static double
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per event over count events */
static double
timed(const struct allowlist *list, const struct body *b, struct buf *out,
    long count)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < count; i++)
		pipeline(list, b, out);
	return (now_ns() - t0) / (double)count;
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Time one body as pipeline.php does: calibrate, then three runs. */
static void
report(const struct allowlist *list, const struct body *b, struct buf *out,
    double seconds)
{
	double ns, runs[3];
	size_t records = pipeline(list, b, out);
	long count = 1;
	int r;

	while ((ns = timed(list, b, out, count)) * (double)count <
	    1e8 * seconds)
		count *= 2;
	count = (long)(seconds * 1e9 / ns);
	if (count < 1)
		count = 1;
	for (r = 0; r < 3; r++)
		runs[r] = timed(list, b, out, count);
	qsort(runs, 3, sizeof(runs[0]), by_value);
	printf("%.*s %.0f %.0f %zu\n", (int)b->name_len, b->name,
	    1e9 / runs[1], runs[1], records);
}

static int
body_read(const char *path, struct body *b)
{
	const char *slash = strrchr(path, '/');
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL ||
	    (b->text = malloc(BODY_MAX)) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	b->len = fread(b->text, 1, BODY_MAX, f);
	fclose(f);
	b->name = slash != NULL ? slash + 1 : path;
	b->name_len = strlen(b->name);
	if (b->name_len > 5 && strcmp(b->name + b->name_len - 5, ".form") == 0)
		b->name_len -= 5;
	return 0;
}

int
main(int argc, char **argv)
{
	struct allowlist *list;
	struct body b;
	struct buf out;
	struct err err;
	double arg;
	long i;
	int k;

	if (argc < 5 || (strcmp(argv[1], "-t") != 0 &&
			    strcmp(argv[1], "-n") != 0)) {
		fputs("usage: pipeline -t SECONDS|-n COUNT ALLOWLIST BODY...\n",
		    stderr);
		return 2;
	}
	arg = strtod(argv[2], NULL);
	if (sodium_init() < 0 || allowlist_load(argv[3], &list, &err) == -1) {
		fprintf(stderr, "pipeline: %s\n",
		    sodium_init() < 0 ? "libsodium" : err.reason);
		return 1;
	}
	buf_init(&out, LIMIT_RECORDS(BODY_MAX));
	for (k = 4; k < argc; k++) {
		if (body_read(argv[k], &b) == -1) {
			fprintf(stderr, "pipeline: %s: %s\n", argv[k],
			    strerror(errno));
			return 1;
		}
		if (strcmp(argv[1], "-n") == 0)
			for (i = 0; i < (long)arg; i++)
				pipeline(list, &b, &out);
		else
			report(list, &b, &out, arg);
		free(b.text);
	}
	buf_free(&out);
	allowlist_free(list);
	return 0;
}
