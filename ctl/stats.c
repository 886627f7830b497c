#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allowlist.h"
#include "buf.h"
#include "counters.h"
#include "fileio.h"
#include "stats.h"

/* counters_label over the allow-list (arg): a portal's label, or NULL */
static const char *
label_lookup(const char *member_id, void *arg)
{
	const char *label = allowlist_label(arg, member_id);

	return *label != '\0' ? label : NULL;
}

/*
 * labels: the allow-list, for its labels; NULL (no labels shown) when it
 * cannot be read, which the counters do not need.
 */
static struct allowlist *
labels(const struct settings *s)
{
	struct allowlist *list;
	struct err err;

	return allowlist_load(s->allowlist, &list, &err) == 0 ? list : NULL;
}

/* bytes: the largest rendering kept in memory (1024 full portals fit) */
#define CTL_OUTPUT_MAX (256 * 1024 * 1024)

static int
usage(const char *cmd)
{
	if (strcmp(cmd, "status") == 0)
		fputs("usage: b24hookctl status [--silent-for DURATION]\n"
		      "  DURATION: N followed by s, m, h or d (6h)\n",
		    stderr);
	else
		fputs("usage: b24hookctl stats [--format text|json|prometheus] "
		      "[--output FILE]\n"
		      "       b24hookctl stats --reset\n",
		    stderr);
	return 2;
}

/* The counters as of now, or why not (a message for the operator). */
static int
snapshot(
    const struct settings *s, struct counters_snapshot *snap, struct err *err)
{
	struct counters k = {0};
	int rc;

	if (s->state_dir == NULL)
		return err_set(err, ERR_CONFIG,
		    "B24HOOK_STATE_DIR is unset: no counters are kept");
	if (counters_open_read(&k, s->state_dir, err) == -1)
		return -1;
	rc = counters_snapshot(&k, time(NULL), snap, err);
	counters_close(&k);
	return rc;
}

/* len bytes of data to path, through a temporary file renamed over it. */
static int
write_atomically(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	int fd, e, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -1;
	/* readable by the exporter, whoever runs it */
	rc = fileio_write_all(fd, data, len) == -1 || fchmod(fd, 0644) == -1 ||
		fsync(fd) == -1
	    ? -1
	    : 0;
	e = errno;
	if (close(fd) == -1 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0 && rename(tmp, path) == 0)
		return 0;
	if (rc == 0)
		e = errno;
	unlink(tmp);
	errno = e;
	return -1;
}

int
ctl_stats(int argc, char **argv, const struct settings *s)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"reset", no_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	enum counters_format format = COUNTERS_TEXT;
	struct counters_snapshot snap;
	struct allowlist *list;
	const char *output = NULL;
	int rendered;
	struct buf out;
	struct err err;
	int c, reset = 0, rc = 2;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (c) {
		case 'f':
			if (strcmp(optarg, "text") == 0)
				format = COUNTERS_TEXT;
			else if (strcmp(optarg, "json") == 0)
				format = COUNTERS_JSON;
			else if (strcmp(optarg, "prometheus") == 0)
				format = COUNTERS_PROMETHEUS;
			else
				return usage(argv[0]);
			break;
		case 'o':
			output = optarg;
			break;
		case 'r':
			reset = 1;
			break;
		default:
			return usage(argv[0]);
		}
	if (optind != argc || (reset && (output != NULL || argc != 2)))
		return usage(argv[0]);
	if (reset) {
		if (s->state_dir == NULL) {
			fputs("b24hookctl: B24HOOK_STATE_DIR is unset: no "
			      "counters are kept\n",
			    stderr);
			return 2;
		}
		if (counters_reset(s->state_dir, &err) == -1) {
			fprintf(stderr, "b24hookctl: %s\n", err.reason);
			return 2;
		}
		printf("counters reset: %s/%s\n", s->state_dir, COUNTERS_NAME);
		return 0;
	}
	if (snapshot(s, &snap, &err) == -1) {
		fprintf(stderr, "b24hookctl: %s\n", err.reason);
		return 2;
	}
	buf_init(&out, CTL_OUTPUT_MAX);
	list = labels(s);
	rendered = counters_render(&snap, format,
	    list != NULL ? label_lookup : NULL, list, &out, &err);
	allowlist_free(list);
	if (rendered == -1)
		fprintf(stderr, "b24hookctl: %s\n", err.reason);
	else if (output != NULL) {
		if (write_atomically(output, out.data, out.len) == -1)
			fprintf(stderr, "b24hookctl: %s: %s\n", output,
			    strerror(errno));
		else
			rc = 0;
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0)
		fprintf(stderr, "b24hookctl: stdout: %s\n", strerror(errno));
	else
		rc = 0;
	buf_free(&out);
	counters_snapshot_free(&snap);
	return rc;
}

int
ctl_status(int argc, char **argv, const struct settings *s)
{
	static const struct option opts[] = {
	    {"silent-for", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	struct counters_snapshot snap;
	struct allowlist *list;
	long long silent_for = 0;
	int rendered;
	struct buf out;
	struct err err;
	size_t silent = 0;
	int c, rc = 2;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (c) {
		case 's':
			if (counters_parse_duration(optarg, &silent_for) == -1)
				return usage(argv[0]);
			break;
		default:
			return usage(argv[0]);
		}
	if (optind != argc)
		return usage(argv[0]);
	if (snapshot(s, &snap, &err) == -1) {
		printf("CRITICAL: counters cannot be read: %s\n", err.reason);
		return 2;
	}
	buf_init(&out, CTL_OUTPUT_MAX);
	list = labels(s);
	rendered = counters_render_status(&snap,
	    list != NULL ? label_lookup : NULL, list, silent_for, &out, &silent,
	    &err);
	allowlist_free(list);
	if (rendered == -1)
		printf("CRITICAL: %s\n", err.reason);
	else if (fwrite(out.data, 1, out.len, stdout) == out.len &&
	    fflush(stdout) == 0)
		rc = silent > 0 ? 1 : 0;
	buf_free(&out);
	counters_snapshot_free(&snap);
	return rc;
}
