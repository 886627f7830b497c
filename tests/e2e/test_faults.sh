#!/bin/bash
# End-to-end: faults of the machine under build/b24hook, as plain CGI and
# as persistent FastCGI workers: the log directory unwritable, missing or
# a file; the log a directory, a symlink, a FIFO, unwritable; the
# allow-list missing, unreadable, emptied, half-written, renamed over
# while requests run; the disk full (a small tmpfs when root) and a file
# size limit (RLIMIT_FSIZE); a worker killed by SIGKILL in the middle of
# its append.  Each gives its documented status and one operator line,
# leaves no partial record, and the service resumes by itself once the
# fault is gone.  Run from anywhere: bash tests/e2e/test_faults.sh
#
# As root the responder runs without CAP_DAC_OVERRIDE and
# CAP_DAC_READ_SEARCH (setpriv), so file modes bind it as they bind the
# service user.  FAULTS_KILL_MB (default 32): the size of the record the
# killed worker is writing.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/harden.sh"

NAME=ONIMCONNECTORMESSAGEDELETE # two records
PORTAL=$(fixture_portal $NAME)
BODY=$FIXTURES/$NAME.form
CASE=0

# fresh_logs: a new, empty log directory for the next case; sets LOGS and
# the settings every CGI post carries.  The persistent workers' directory
# is their own setting, $FCGI_LOGS: while it is set, the last case's
# directory is moved away and an empty one made in its place.
fresh_logs() {
	CASE=$((CASE + 1))
	LOGS=$T/logs/$CASE
	if [ -n "${FCGI_LOGS-}" ]; then
		[ ! -e "$FCGI_LOGS" ] || mv "$FCGI_LOGS" "$LOGS"
		LOGS=$FCGI_LOGS
	fi
	mkdir -p "$LOGS"
	POST_ENV=("B24HOOK_ALLOWLIST=$ALLOW" "B24HOOK_LOG_DIR=$LOGS")
}

# fault MODE DESC STATUS CODE REASON BREAK FIX: BREAK (shell code) makes
# the fault; a post must then be refused so, writing nothing; after FIX,
# the same post must be accepted, with no restart.  BREAK and FIX see
# $LOGS (fresh, holding one earlier append) and $LOG, the portal's log.
fault() {
	local mode=$1 desc="$1: $2" status=$3 code=$4 reason=$5
	fresh_logs
	LOG=$LOGS/$PORTAL.jsonl
	accepted "$desc: before" 2 "$PORTAL" "$mode" "$FORM" "$BODY"
	eval "$6"
	refused "$desc" "$status" "$code" "$reason" "$mode" "$FORM" "$BODY"
	refused "$desc (again)" "$status" "$code" "$reason" "$mode" "$FORM" \
	    "$BODY"
	eval "$7"
	accepted "$desc: resumes once fixed" 2 "$PORTAL" "$mode" "$FORM" \
	    "$BODY"
}

storage_faults() {
	local m=$1
	fault "$m" "log directory unwritable (log not yet made)" 503 \
	    storage_unavailable "open errno=EACCES" \
	    'rm "$LOG"; chmod 555 "$LOGS"' 'chmod 755 "$LOGS"'
	fault "$m" "log directory missing" 503 storage_unavailable \
	    "open errno=ENOENT" 'mv "$LOGS" "$LOGS.away"' \
	    'mv "$LOGS.away" "$LOGS"'
	fault "$m" "log directory replaced by a file" 503 \
	    storage_unavailable "open errno=ENOTDIR" \
	    'mv "$LOGS" "$LOGS.away"; echo x >"$LOGS"' \
	    'rm "$LOGS"; mv "$LOGS.away" "$LOGS"'
	fault "$m" "log unwritable (0440)" 503 storage_unavailable \
	    "open errno=EACCES" 'chmod 440 "$LOG"' 'chmod 640 "$LOG"'
	fault "$m" "log a directory" 503 storage_unavailable \
	    "open errno=EISDIR" 'mv "$LOG" "$LOG.away"; mkdir "$LOG"' \
	    'rmdir "$LOG"; mv "$LOG.away" "$LOG"'
	fault "$m" "log a symlink" 503 storage_unavailable "open errno=ELOOP" \
	    'mv "$LOG" "$LOG.away"; ln -s "$LOG.away" "$LOG"' \
	    'rm "$LOG"; mv "$LOG.away" "$LOG"'
	fault "$m" "log a FIFO" 503 storage_unavailable "not a regular file" \
	    'mv "$LOG" "$LOG.away"; mkfifo "$LOG"' \
	    'rm "$LOG"; mv "$LOG.away" "$LOG"'
	# a log the responder may write but not read: appended all the same
	fresh_logs
	touch "$LOGS/$PORTAL.jsonl"
	chmod 220 "$LOGS/$PORTAL.jsonl"
	post "$m" "$FORM" "$BODY"
	expect_ok "$m: write-only log (0220)" 2
	chmod 640 "$LOGS/$PORTAL.jsonl"
	assert_eq "$m: write-only log: its two records" 2 \
	    "$(lines "$LOGS/$PORTAL.jsonl")"
}

# half_written MODE DESC BYTES [BODY]: the allow-list cut to its first
# BYTES, inside the portal's line, as an editor writing in place leaves
# it for a moment.  A last line without its newline is not an entry,
# whatever part of it is there, so BODY (default $BODY) is refused
# unknown_portal after a warning naming that line, and nothing is
# written; the whole list back, the post is accepted.
half_written() {
	local m=$1 desc="$1: allow-list half-written ($2)" before
	fresh_logs
	head -c "$3" "$IN/allow.full" >"$ALLOW"
	before=$(dir_sum "$T/logs")
	post "$m" "$FORM" "${4:-$BODY}"
	assert_eq "$desc: status" "403 forbidden" "$STATUS $ERROR"
	assert_eq "$desc: two operator lines" 2 "$OPLINES"
	assert_eq "$desc: first, a warning naming the cut line" \
	    "b24hook: allowlist line $CUT_LINE: no newline at the end: the file may be half written" \
	    "$(head -n 1 "$ERR")"
	check "$desc: then the refusal, unknown_portal" \
	    grep -q '^b24hook: 403 forbidden reason="unknown_portal"' \
	    <(tail -n 1 "$ERR")
	assert_eq "$desc: logs unchanged" "$before" "$(dir_sum "$T/logs")"
	cp "$IN/allow.full" "$ALLOW"
	accepted "$desc: whole again" 2 "$PORTAL" "$m" "$FORM" "$BODY"
}

allow_faults() {
	local m=$1 off tok
	fault "$m" "allow-list missing" 500 config_error \
	    "allowlist stat errno=ENOENT" 'mv "$ALLOW" "$ALLOW.away"' \
	    'mv "$ALLOW.away" "$ALLOW"'
	fault "$m" "allow-list unreadable" 500 config_error \
	    "allowlist open errno=EACCES" 'chmod 000 "$ALLOW"' \
	    'chmod 644 "$ALLOW"'
	fault "$m" "allow-list a directory" 500 config_error \
	    "allowlist not a regular file" \
	    'mv "$ALLOW" "$ALLOW.away"; mkdir "$ALLOW"' \
	    'rmdir "$ALLOW"; mv "$ALLOW.away" "$ALLOW"'
	fault "$m" "allow-list emptied" 403 forbidden unknown_portal \
	    ': >"$ALLOW"' 'cp "$IN/allow.full" "$ALLOW"'
	off=$(grep -bo "^$PORTAL [^ ]*" "$IN/allow.full" | cut -d: -f1)
	CUT_LINE=$(grep -n "^$PORTAL " "$IN/allow.full" | cut -d: -f1)
	half_written "$m" "inside the member_id" $((off + 10))
	half_written "$m" "inside the token" $((off + ${#PORTAL} + 10))
	# the cut token's first 9 bytes, presented as the token: the cut
	# must not make them valid
	tok=$(allow_token "$PORTAL" "$IN/allow.full")
	sed "s/application_token%5D=$tok/application_token%5D=${tok:0:9}/" \
	    "$BODY" >"$IN/prefix.form"
	half_written "$m" "inside the token, the post presenting what is there" \
	    $((off + ${#PORTAL} + 10)) "$IN/prefix.form"
}

# The disk full, for real: a 256 KiB tmpfs (as root), filled up; the
# records are larger than what is left of the log's last page, so the
# write is cut short before ENOSPC and the sink must cut it back.
disk_full() {
	local m=$1 mnt=$T/logs/full-$1 big
	if [ "$(id -u)" -ne 0 ] || ! mkdir -p "$mnt" ||
	    ! mount -t tmpfs -o size=256k,mode=755 tmpfs "$mnt" 2>/dev/null; then
		ok "$m: disk full: # SKIP not root or no tmpfs mount"
		return
	fi
	HARDEN_MOUNTS+=("$mnt")
	big=$IN/padded.form
	{ cat "$BODY"; printf '&data%%5BMESSAGES%%5D%%5B0%%5D%%5Bpad%%5D='
	    head -c 9000 /dev/zero | tr '\0' p; } >"$big"
	LOGS=$mnt
	POST_ENV=("B24HOOK_ALLOWLIST=$ALLOW" "B24HOOK_LOG_DIR=$mnt")
	if [ "$m" = fcgi ]; then
		local sock=$SOCK workers=("${WORKERS[@]}")
		BIN=$B24HOOK start_workers full 1 "${POST_ENV[@]}"
	fi
	accepted "$m: disk full: before" 2 "$PORTAL" "$m" "$FORM" "$big"
	dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null
	refused "$m: disk full" 503 storage_unavailable "write errno=ENOSPC" \
	    "$m" "$FORM" "$big"
	check "$m: disk full: the log is still whole lines" \
	    test "$(whole_lines "$mnt/$PORTAL.jsonl")" = ok
	rm "$mnt/filler"
	accepted "$m: disk full: resumes once space is freed" 2 "$PORTAL" \
	    "$m" "$FORM" "$big"
	if [ "$m" = fcgi ]; then
		stop_workers
		SOCK=$sock
		WORKERS=("${workers[@]}")
	fi
	umount "$mnt" 2>/dev/null && unset 'HARDEN_MOUNTS[-1]'
}

# A file size limit (ulimit -f, systemd LimitFSIZE=): write() fails with
# EFBIG mid-append (the responder ignores SIGXFSZ, whose default would
# kill it there, leaving a partial line and no reply).
fsize_cgi() {
	local limited=$T/bin/b24hook-fsize size real=$B24HOOK
	fresh_logs
	accepted "cgi: file size limit: before" 2 "$PORTAL" cgi "$FORM" \
	    "$BODY"
	size=$(stat -c %s "$LOGS/$PORTAL.jsonl")
	mkdir -p "$T/bin"
	printf '#!/bin/sh\nexec %s --fsize=%d -- %s "$@"\n' \
	    "$(command -v prlimit)" $((size + 700)) "$real" >"$limited"
	chmod 755 "$limited"
	B24HOOK=$limited
	refused "cgi: file size limit" 503 storage_unavailable \
	    "write errno=EFBIG" cgi "$FORM" "$BODY"
	B24HOOK=$real
	accepted "cgi: file size limit lifted: resumes" 2 "$PORTAL" cgi \
	    "$FORM" "$BODY"
}

fsize_fcgi() {
	local size cmd
	fresh_logs
	post cgi "$FORM" "$BODY"
	size=$(stat -c %s "$LOGS/$PORTAL.jsonl")
	cmd="$(command -v prlimit) --fsize=$((size + 700)) -- $B24HOOK"
	SOCK=$T/fsize.sock
	rm -f "$T/fsize.pid"
	env -i "${POST_ENV[@]}" spawn-fcgi -s "$SOCK" -P "$T/fsize.pid" -- \
	    $cmd >"$T/run/fsize.spawn" 2>&1
	mapfile -t WORKERS <"$T/fsize.pid"
	HARDEN_PIDS+=("${WORKERS[@]}")
	refused "fcgi: file size limit" 503 storage_unavailable \
	    "write errno=EFBIG" fcgi "$FORM" "$BODY"
	assert_eq "fcgi: file size limit: the worker lives on" 1 \
	    "$(alive "${WORKERS[@]}")"
	mv "$LOGS/$PORTAL.jsonl" "$T/logs/rotated.jsonl"
	accepted "fcgi: file size limit: resumes once the log is rotated" 2 \
	    "$PORTAL" fcgi "$FORM" "$BODY"
	stop_workers
	SOCK=$T/faults.sock
}

# The allow-list replaced by rename (an editor's save) 200 times while
# three clients post through two workers and CGI: every version lists
# the portal, so every request must pass.
rename_race() {
	local i c pids=() statuses
	fresh_logs
	(
		for i in $(seq 200); do
			{ cat "$IN/allow.full"; echo "# version $i"; } \
			    >"$ALLOW.tmp.$i"
			mv "$ALLOW.tmp.$i" "$ALLOW"
		done
	) &
	pids+=($!)
	for c in 1 2 3; do
		(
			POST_N=$((c * 100000)) # output files of its own
			for i in $(seq 25); do
				if [ $((i % 5)) -eq 0 ]; then
					post cgi "$FORM" "$BODY"
				else
					post fcgi "$FORM" "$BODY"
				fi
				echo "$STATUS"
			done >"$T/run/race.$c"
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
	statuses=$(cat "$T/run/race."* | sort | uniq -c | awk '{ print $2 "x" $1 }' |
	    paste -sd ' ')
	assert_eq "allow-list renamed over 200 times under 75 requests: all 200" \
	    "200x75" "$statuses"
	assert_eq "... 150 records on disk" 150 "$(count_lines "$LOGS")"
	assert_eq "... every line a whole record" ok \
	    "$(whole_lines "$LOGS"/*.jsonl)"
}

# file_size FILE: its size in bytes.
file_size() { stat -c %s "$1"; }

# A worker killed by SIGKILL while it writes a large record: Linux keeps
# what write() had copied, so a torn line can land; the next append by
# any worker cuts it back (sink.c heal()).  Meanwhile the other worker
# serves on.
killed_mid_write() {
	local mb=${FAULTS_KILL_MB:-32} try before after torn=0 whole=0 \
	    none=0 victim client p big
	fresh_logs
	big=$IN/huge.form
	{ cat "$BODY"; printf '&data%%5BMESSAGES%%5D%%5B0%%5D%%5Bpad%%5D='
	    head -c $((mb * 1048576)) /dev/zero | tr '\0' p; } >"$big"
	for try in 1 2 3; do
		start_workers "kill$try" 2 "B24HOOK_ALLOWLIST=$ALLOW" \
		    "B24HOOK_LOG_DIR=$LOGS" "B24HOOK_MAX_BODY=$((64 * 1048576))"
		post fcgi "$FORM" "$BODY"
		before=$(file_size "$LOGS/$PORTAL.jsonl")
		(POST_N=900000 post fcgi "$FORM" "$big") &
		client=$!
		# the busy worker: the one holding the big body in memory
		victim=$(for p in "${WORKERS[@]}"; do
			echo "$(awk '/^VmRSS/ { print $2 }' /proc/$p/status \
			    2>/dev/null || echo 0) $p"
		done | sort -n | tail -n 1 | cut -d' ' -f2)
		# kill it once its write has begun: the log grows
		while after=$(file_size "$LOGS/$PORTAL.jsonl") &&
		    [ "$after" -eq "$before" ] && kill -0 "$client" 2>/dev/null; do
			victim=$(for p in "${WORKERS[@]}"; do
				echo "$(awk '/^VmRSS/ { print $2 }' \
				    /proc/$p/status 2>/dev/null || echo 0) $p"
			done | sort -n | tail -n 1 | cut -d' ' -f2)
		done
		kill -9 "$victim" 2>/dev/null
		wait "$client"
		after=$(file_size "$LOGS/$PORTAL.jsonl")
		if [ "$after" -eq "$before" ]; then
			none=$((none + 1))
		elif [ "$(tail -c 1 "$LOGS/$PORTAL.jsonl")" = "" ] &&
		    [ "$(whole_lines "$LOGS/$PORTAL.jsonl")" = ok ]; then
			whole=$((whole + 1))
		else
			torn=$((torn + 1))
		fi
		assert_eq "SIGKILL $try: the other worker lives on" 1 \
		    "$(alive "${WORKERS[@]}")"
		accepted "SIGKILL $try: the next request is served" 2 \
		    "$PORTAL" fcgi "$FORM" "$BODY"
		assert_eq "SIGKILL $try: the log is whole records again" ok \
		    "$(whole_lines "$LOGS/$PORTAL.jsonl")"
		stop_workers
	done
	ok "SIGKILL inside a ${mb} MiB write: torn $torn, whole $whole, before the write $none (of 3 tries; informational)"
	echo "# torn: a partial line was on disk until the next append cut it"
}

[ -x "$B24HOOK" ] || {
	echo "test_faults: $B24HOOK is missing: run make" >&2
	exit 1
}
harden_setup
ALLOW=$IN/allow.txt
cp "$FIXTURES/allow.txt" "$ALLOW"
cp "$FIXTURES/allow.txt" "$IN/allow.full"
chmod 644 "$ALLOW"
B24HOOK=$(no_dac_wrapper)
fresh_logs

storage_faults cgi
allow_faults cgi
disk_full cgi
fsize_cgi

FCGI_LOGS=$T/logs/fcgi
BIN=$B24HOOK start_workers faults 2 "B24HOOK_ALLOWLIST=$ALLOW" \
    "B24HOOK_LOG_DIR=$FCGI_LOGS"
FAULT_WORKERS=("${WORKERS[@]}")
storage_faults fcgi
allow_faults fcgi
disk_full fcgi
rename_race
assert_eq "fcgi: both workers survived every fault" 2 \
    "$(alive "${FAULT_WORKERS[@]}")"
stop_workers
FCGI_LOGS=
fsize_fcgi
killed_mid_write

check_no_secrets "no secret in logs, captured output or what the test printed" "$T"
finish test_faults
