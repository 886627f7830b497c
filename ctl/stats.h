/*
 * b24hookctl's counters commands (lib/counters.h):
 *
 *	b24hookctl stats [--format text|json|prometheus] [--output FILE]
 *	b24hookctl stats --reset
 *	b24hookctl status [--silent-for DURATION]
 */
#ifndef CTL_STATS_H
#define CTL_STATS_H

#include "request.h"

/*
 * ctl_stats: print the counters of s->state_dir to stdout in the format
 * asked (text by default), or, with --output FILE, write them to FILE
 * atomically (a temporary file beside it, renamed over it: what
 * node_exporter's textfile collector needs).  --reset starts the
 * counters over instead (counters_reset).  argv[0] is the command's
 * name.  Returns the exit status: 0, or 2 when the counters cannot be
 * read or reset, the output cannot be written, or the arguments are
 * wrong (a message on stderr).
 */
int ctl_stats(int argc, char **argv, const struct settings *s);

/*
 * ctl_status: print one line per portal (counters_render_status) after
 * a first line "OK: ..." or "WARNING: ..."; with --silent-for DURATION
 * (N followed by s, m, h or d) every portal without an accepted event
 * for longer is named.  argv[0] is the command's name.  Returns 0, 1
 * when a portal is silent, or 2 when the counters cannot be read
 * ("CRITICAL: ..." on stdout) or the arguments are wrong (stderr).
 */
int ctl_status(int argc, char **argv, const struct settings *s);

#endif
