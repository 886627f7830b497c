# shellcheck shell=bash
# tests/e2e/harden.sh: helpers for test_hostile.sh, test_faults.sh and
# test_stress.sh (sourced after lib.sh), and the runner behind make
# sanitize and make valgrind when executed:
#
#   bash tests/e2e/harden.sh shadow ROOT [TEST...|all]
#   bash tests/e2e/harden.sh sanitize ROOT OUTDIR
#   bash tests/e2e/harden.sh valgrind ROOT OUTDIR BINARY
#
# A shadow root is a directory of links to the repository's files with a
# build/ of its own: scripts/runtests.sh and tests/e2e/lib.sh find their
# root from their own path, so run from ROOT they test ROOT/build/b24hook
# and ROOT/build/tests/check_* with nothing in them changed.
#
# Same rule as lib.sh: nothing printed here holds a body or a token.

# --- for the tests --------------------------------------------------------

# harden_setup: e2e_setup, plus a copy of everything the test prints in
# $T/run/printed.log (so the closing secret scan covers it too) and a
# cleanup that also stops the workers and unmounts what the test started.
harden_setup() {
	e2e_setup
	HARDEN_PIDS=()
	HARDEN_MOUNTS=()
	exec > >(tee -a "$T/run/printed.log") 2>&1
	trap harden_cleanup EXIT
}

harden_cleanup() {
	local p m
	for p in "${HARDEN_PIDS[@]}"; do
		stop_pid "$p" || kill -9 "$p" 2>/dev/null
	done
	for m in "${HARDEN_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	e2e_cleanup
}

# no_dac_wrapper: print the path of a script that runs $B24HOOK without
# root's power to ignore file modes (CAP_DAC_OVERRIDE and
# CAP_DAC_READ_SEARCH dropped), so a mode that denies the service user
# denies it here too.  When not root it is $B24HOOK itself.
no_dac_wrapper() {
	local w=$T/bin/b24hook-nodac
	if [ "$(id -u)" -ne 0 ]; then
		printf '%s\n' "$B24HOOK"
		return
	fi
	mkdir -p "$T/bin"
	printf '#!/bin/sh\nexec %s --bounding-set -dac_override,-dac_read_search -- %s "$@"\n' \
	    "$(command -v setpriv)" "$B24HOOK" >"$w"
	chmod 755 "$w"
	printf '%s\n' "$w"
}

# start_workers NAME N [NAME=VALUE...]: N persistent responders (spawn-fcgi
# -F N) on $T/NAME.sock with only these variables in their environment
# (BIN, if set, is the program instead of $B24HOOK); sets SOCK and
# WORKERS (their pids).
start_workers() {
	local name=$1 n=$2
	shift 2
	SOCK=$T/$name.sock
	rm -f "$T/$name.pid"
	env -i "$@" spawn-fcgi -F "$n" -s "$SOCK" -P "$T/$name.pid" -- \
	    "${BIN:-$B24HOOK}" >"$T/run/$name.spawn" 2>&1
	mapfile -t WORKERS <"$T/$name.pid"
	HARDEN_PIDS+=("${WORKERS[@]}")
	assert_eq "$name: $n workers started" "$n" "$(alive "${WORKERS[@]}")"
}

# quick_post MODE CT BODY [NAME=VALUE...]: lib.sh's post without its jq
# and sed (a few ms instead of ~70, for the many-request loops); sets
# STATUS, ERROR, RECORDS (0 when none), OUT, ERR and OPLINES as post
# does.  NAME=VALUE only adds (no -NAME).
quick_post() {
	local mode=$1 ct=$2 body=$3 line reply='' oplines
	shift 3
	POST_N=$((POST_N + 1))
	OUT=$T/run/$POST_N.out
	ERR=$T/run/$POST_N.err
	set -- REQUEST_METHOD=POST "CONTENT_TYPE=$ct" \
	    "CONTENT_LENGTH=$(stat -c %s "$body")" "${POST_ENV[@]}" "$@"
	if [ "$mode" = cgi ]; then
		env -i "$@" "$B24HOOK" <"$body" >"$OUT" 2>"$ERR"
	else
		env -i "$@" "$(command -v cgi-fcgi)" -bind -connect "$SOCK" \
		    <"$body" >"$OUT" 2>"$ERR"
	fi
	STATUS=
	ERROR=
	RECORDS=0
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"Status: "*) STATUS=${line#Status: } STATUS=${STATUS%% *} ;;
		"{"*) reply=$line ;;
		esac
	done <"$OUT"
	[[ $reply =~ \"records\":([0-9]+) ]] && RECORDS=${BASH_REMATCH[1]}
	[[ $reply =~ \"error\":\"([a-z_]+)\" ]] && ERROR=${BASH_REMATCH[1]}
	mapfile -t oplines <"$ERR"
	OPLINES=${#oplines[@]}
}

# alive PID...: how many of them still run.
alive() {
	local p n=0
	for p in "$@"; do
		gone "$p" || n=$((n + 1))
	done
	echo "$n"
}

# stop_workers: SIGTERM every worker of the last start_workers.
stop_workers() {
	local p
	for p in "${WORKERS[@]}"; do
		stop_pid "$p" || kill -9 "$p" 2>/dev/null
	done
	rm -f "$SOCK"
}

# whole_lines FILE...: "ok" when every file ends in a newline and every
# line is a JSON object with a 32-hex key, else what is wrong (no content).
whole_lines() {
	local f bad
	for f in "$@"; do
		[ -s "$f" ] || continue
		if [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ]; then
			echo "$(basename "$f"): torn last line"
			return
		fi
		bad=$(jq -R 'try (fromjson | select(type == "object" and
		    (.key | test("^[0-9a-f]{32}$"))) | "") catch "bad"' "$f" |
		    grep -vcx '""')
		if [ "$bad" -ne 0 ]; then
			echo "$(basename "$f"): $bad lines not records"
			return
		fi
	done
	echo ok
}

# count_lines DIR: newlines in every *.jsonl under DIR.
count_lines() {
	find "$1" -name '*.jsonl' -type f -print0 | xargs -0r cat | wc -l |
	    tr -d ' '
}

# --- shadow roots -----------------------------------------------------------

# shadow ROOT [TEST...|all]: (re)make ROOT, linking every top-level entry
# of the repository but build/ and tests/, every entry of tests/ but e2e/,
# and in tests/e2e/ every helper (all but test_*.sh) and the tests named
# (all: every test_*.sh).
harden_shadow() {
	local root=$1 repo e t
	shift
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	[ $# -gt 0 ] || set -- all
	mkdir -p "$root/build" "$root/tests/e2e"
	find "$root" -maxdepth 1 -type l -delete
	find "$root/tests" -maxdepth 1 -type l -delete
	find "$root/tests/e2e" -maxdepth 1 -type l -delete
	for e in "$repo"/* "$repo"/.clang-format; do
		case ${e##*/} in build | tests) continue ;; esac
		[ -e "$e" ] && ln -s "$e" "$root/"
	done
	for e in "$repo"/tests/*; do
		[ "${e##*/}" = e2e ] || ln -s "$e" "$root/tests/"
	done
	for e in "$repo"/tests/e2e/*; do
		case ${e##*/} in test_*.sh) ;; *) ln -s "$e" "$root/tests/e2e/" ;; esac
	done
	if [ "$1" = all ]; then
		set -- "$repo"/tests/e2e/test_*.sh
		set -- "${@##*/}"
	fi
	for t in "$@"; do
		t=${t%.sh}
		ln -s "$repo/tests/e2e/$t.sh" "$root/tests/e2e/"
	done
}

# secrets_in FILE...: how many fixture secrets the files hold (never which).
secrets_in() {
	local list
	list=$(mktemp)
	IN=$(dirname "$list") fixture_secrets >"$list"
	grep -ohF -f "$list" "$@" 2>/dev/null | wc -l | tr -d ' '
	rm -f "$list"
}

# run_shadow NAME ROOT OUT: runs ROOT's runtests.sh, its whole output kept
# in OUT/output.log; sets RUN_PASSED, RUN_FAILED.
run_shadow() {
	local name=$1 root=$2 out=$3 total
	echo "== $name: every test against $root/build"
	bash "$root/scripts/runtests.sh" 2>&1 | tee "$out/output.log"
	total=$(sed -n 's/^total: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' \
	    "$out/output.log" | tail -n 1)
	set -- ${total:-0 1}
	RUN_PASSED=$1
	RUN_FAILED=$2
}

# harden_sanitize ROOT OUT: the tests against ROOT's ASan+UBSan build;
# fails on any test failure and on any report in OUT/reports.
harden_sanitize() {
	local root=$1 out=$2 reports n
	reports=$out/reports
	# some tests run the responder as nobody or www-data
	mkdir -p "$reports"
	chmod 1777 "$reports"
	find "$reports" -type f -delete
	run_shadow sanitize "$root" "$out"
	n=$(find "$reports" -type f | wc -l)
	if [ "$n" -eq 0 ]; then
		echo "ok - sanitize: no AddressSanitizer, LeakSanitizer or UBSan report"
	else
		RUN_FAILED=$((RUN_FAILED + 1))
		echo "not ok - sanitize: $n reports in $reports:"
		find "$reports" -type f | head -n 5 | while read -r f; do
			echo "# $f"
			grep -E 'ERROR|SUMMARY|runtime error|#[0-9] ' "$f" |
			    head -n 30 | sed 's/^/#   /'
		done
	fi
	harden_secret_scan "$out" "$reports"
	echo "sanitize: $RUN_PASSED passed, $RUN_FAILED failed"
	[ "$RUN_FAILED" -eq 0 ]
}

# harden_valgrind ROOT OUT BINARY: ROOT/build/b24hook becomes a script
# running BINARY under memcheck, each process logging to OUT/logs/; the
# tests run; every log must say 0 errors (leaks of every kind count as
# errors).  A log without a summary is a process killed by SIGKILL (the
# fault and stress tests do that on purpose): counted, not failed.
harden_valgrind() {
	local root=$1 out=$2 bin=$3 logs clean dirty cut f
	logs=$out/logs
	mkdir -p "$logs"
	chmod 1777 "$logs" # some tests run the responder as nobody or www-data
	find "$logs" -type f -delete
	# the real objects, so that a make run by a test (make install)
	# finds the script up to date instead of building over it
	ln -sfn "$(dirname "$bin")/cgi" "$root/build/cgi"
	ln -sfn "$(dirname "$bin")/lib" "$root/build/lib"
	ln -sfn "$(dirname "$bin")/libb24hook.a" "$root/build/libb24hook.a"
	ln -sfn "$(dirname "$bin")/b24hookctl" "$root/build/b24hookctl"
	rm -f "$root/build/b24hook"
	cat >"$root/build/b24hook" <<EOF
#!/bin/sh
exec $(command -v valgrind) --tool=memcheck --leak-check=full \\
    --show-leak-kinds=all --errors-for-leak-kinds=all \\
    --error-exitcode=99 --num-callers=30 --child-silent-after-fork=yes \\
    --vgdb=no --log-file=$logs/vg.%p $bin "\$@"
EOF
	chmod 755 "$root/build/b24hook"
	run_shadow valgrind "$root" "$out"
	clean=0 dirty=0 cut=0
	for f in "$logs"/vg.*; do
		[ -f "$f" ] || continue
		if grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
			clean=$((clean + 1))
		elif grep -q 'ERROR SUMMARY' "$f"; then
			dirty=$((dirty + 1))
			[ "$dirty" -gt 3 ] && continue
			echo "# $f:"
			grep -E '^==[0-9]+== ( {0,3}(at|by) |[A-Z][a-z]|[0-9,]+ bytes)' \
			    "$f" | head -n 40 | sed 's/^/#   /'
		else
			cut=$((cut + 1))
		fi
	done
	if [ "$dirty" -eq 0 ] && [ "$clean" -gt 0 ]; then
		echo "ok - valgrind: $clean processes, 0 errors, 0 leaks ($cut killed by SIGKILL, no summary)"
	else
		RUN_FAILED=$((RUN_FAILED + 1))
		echo "not ok - valgrind: $dirty of $((clean + dirty)) processes with errors or leaks (logs in $logs)"
	fi
	harden_secret_scan "$out" "$logs"
	echo "valgrind: $RUN_PASSED passed, $RUN_FAILED failed"
	[ "$RUN_FAILED" -eq 0 ]
}

# harden_secret_scan OUT DIR: no fixture secret in what the run printed
# (OUT/output.log) nor in DIR.
harden_secret_scan() {
	local n
	n=$(secrets_in "$1/output.log" $(find "$2" -type f))
	if [ "$n" -eq 0 ]; then
		echo "ok - no fixture token in anything the run printed or reported"
	else
		RUN_FAILED=$((RUN_FAILED + 1))
		echo "not ok - $n fixture tokens in the run's output or reports"
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	. "$(dirname "$0")/lib.sh"
	cmd=$1
	shift
	case $cmd in
	shadow) harden_shadow "$@" ;;
	sanitize) harden_sanitize "$@" ;;
	valgrind) harden_valgrind "$@" ;;
	*)
		echo "harden.sh: unknown command $cmd" >&2
		exit 2
		;;
	esac
fi
