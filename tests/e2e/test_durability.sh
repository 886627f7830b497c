#!/bin/bash
# End-to-end: with B24HOOK_FSYNC=1 an accepted record survives a crash,
# the name of a log made for it included.  build/b24hook runs as plain
# CGI under strace, which notes every fsync and fdatasync and the file
# each was given: a log the append creates is fdatasync'ed, then its
# directory fsync'ed; a log that was there already is only fdatasync'ed;
# with B24HOOK_FSYNC=0 or unset, neither.  A directory fsync that fails
# (strace injects EIO) fails the append, 503, and leaves the log empty;
# the next append to that empty log syncs the directory again.
# Run from anywhere: bash tests/e2e/test_durability.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME=ONIMCONNECTORMESSAGEDELETE # two records
PORTAL=$(fixture_portal $NAME)
BODY=$FIXTURES/$NAME.form
REAL=$B24HOOK
CASE=0

# fresh_logs: a new, empty log directory for the next case; sets LOGS,
# LOG and the settings every post carries.
fresh_logs() {
	CASE=$((CASE + 1))
	LOGS=$T/logs/$CASE
	mkdir -p "$LOGS"
	LOG=$LOGS/$PORTAL.jsonl
	POST_ENV=("B24HOOK_ALLOWLIST=$FIXTURES/allow.txt" "B24HOOK_LOG_DIR=$LOGS")
}

# traced [OPTION...]: from now on B24HOOK runs the responder under
# strace (with OPTIONs, such as a fault to inject), noting its fsync and
# fdatasync calls in $TRACE.
traced() {
	local w=$T/bin/b24hook-strace
	mkdir -p "$T/bin"
	TRACE=$T/run/strace
	printf '#!/bin/sh\nexec %s -f -qq -y -o %s -e trace=fsync,fdatasync %s -- %s "$@"\n' \
	    "$(command -v strace)" "$TRACE" "$*" "$REAL" >"$w"
	chmod 755 "$w"
	B24HOOK=$w
}

# synced: the calls the last post made, in order, as "CALL FILE" joined
# by ", ", the log directory written DIR.
synced() {
	sed -n 's/^[0-9]* *\(fsync\|fdatasync\)([0-9]*<\(.*\)>) = .*/\1 \2/p' \
	    "$TRACE" | sed "s|$(realpath "$LOGS")|DIR|" | paste -sd, - |
	    sed 's/,/, /g'
}

# traced_post DESC [NAME=VALUE...]: post the body as CGI, the trace
# fresh.
traced_post() {
	rm -f "$TRACE"
	post cgi "$FORM" "$BODY" "$@"
}

[ -x "$B24HOOK" ] || {
	echo "test_durability: $B24HOOK is missing: run make" >&2
	exit 1
}
e2e_setup
command -v strace >/dev/null || {
	fail "strace installed" "missing: strace (make deps)"
	finish test_durability
}
if ! strace -o /dev/null true 2>/dev/null; then
	ok "# SKIP strace cannot trace here (no ptrace)"
	finish test_durability
fi
traced

fresh_logs
traced_post B24HOOK_FSYNC=1
expect_ok "FSYNC=1, a new log" 2
assert_eq "FSYNC=1, a new log: its data, then its directory, synced" \
    "fdatasync DIR/$PORTAL.jsonl, fsync DIR" "$(synced)"
traced_post B24HOOK_FSYNC=1
expect_ok "FSYNC=1, the log there already" 2
assert_eq "FSYNC=1, the log there already: its data synced, not the directory" \
    "fdatasync DIR/$PORTAL.jsonl" "$(synced)"
assert_eq "FSYNC=1: the records on disk" 4 "$(lines "$LOG")"

fresh_logs
traced_post B24HOOK_FSYNC=0
expect_ok "FSYNC=0, a new log" 2
assert_eq "FSYNC=0, a new log: nothing synced" "" "$(synced)"
fresh_logs
traced_post -B24HOOK_FSYNC
expect_ok "FSYNC unset, a new log" 2
assert_eq "FSYNC unset, a new log: nothing synced" "" "$(synced)"

fresh_logs
traced -e inject=fsync:error=EIO
traced_post B24HOOK_FSYNC=1
expect_error "FSYNC=1, the directory's fsync fails" 503 storage_unavailable \
    "dir fsync errno=EIO"
assert_eq "... after the log's data was synced" \
    "fdatasync DIR/$PORTAL.jsonl, fsync DIR" "$(synced)"
assert_eq "... the log cut back, empty" 0 "$(stat -c %s "$LOG")"
traced
traced_post B24HOOK_FSYNC=1
expect_ok "FSYNC=1, the log left empty" 2
assert_eq "FSYNC=1, the log left empty: its directory synced" \
    "fdatasync DIR/$PORTAL.jsonl, fsync DIR" "$(synced)"

check_no_secrets "no secret in logs, traces or captured output" "$T"
finish test_durability
