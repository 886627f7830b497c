/*
 * b24hookctl: the operator's command.  This is the counters branch's
 * minimal dispatcher (stats, status, ctl/stats.c), to be merged with the
 * enrollment branch's.  Settings come from the environment, as the
 * service's do (the same B24HOOK_* variables); it is not a CGI program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "stats.h"

/* settings_lookup over the process environment */
static const char *
env(const char *name)
{
	return getenv(name);
}

static int
usage(void)
{
	fputs("usage: b24hookctl stats [--format text|json|prometheus] "
	      "[--output FILE]\n"
	      "       b24hookctl stats --reset\n"
	      "       b24hookctl status [--silent-for DURATION]\n",
	    stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	struct settings s;
	struct err err;

	/* a web server must never run it: it reads and resets state */
	if (getenv("GATEWAY_INTERFACE") != NULL) {
		fputs("b24hookctl: not a CGI program\n", stderr);
		return 2;
	}
	if (argc < 2)
		return usage();
	if (settings_read(env, &s, &err) == -1) {
		fprintf(stderr, "b24hookctl: %s\n", err.reason);
		return 2;
	}
	if (strcmp(argv[1], "stats") == 0)
		return ctl_stats(argc - 1, argv + 1, &s);
	if (strcmp(argv[1], "status") == 0)
		return ctl_status(argc - 1, argv + 1, &s);
	return usage();
}
