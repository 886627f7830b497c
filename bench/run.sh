#!/bin/bash
# make bench: everything on loopback and in one temporary run directory,
# stopped by pid at the end (bench/README.md says what and why).
#
#   1. nginx with five persistent FastCGI backends, each with WORKERS
#      worker processes: the floor (bench/floor.c), the floor with
#      b24hook's system calls (bench/floor_io.c), PHP under php-fpm
#      (bench/handler.php), b24hook, and b24hook counting in a
#      B24HOOK_STATE_DIR (b24hook-counters); wrk drives each in turn, ROUNDS
#      rounds of SECONDS seconds per body, the backends' order rotated
#      every round so that machine drift cancels out.
#   2. The same per request through fcgiwrap: b24hook (with and without
#      counters) against a minimal C CGI (bench/floor_cgi.c).
#   3. b24hook's RSS over a sustained run of SUSTAIN requests.
#   4. The pipeline in process (bench/pipeline.c) next to PHP's
#      (bench/pipeline.php), and callgrind's instruction counts.
# After every run the records acknowledged by 200 replies are counted in
# the logs.  The table goes to stdout and build/bench/results.txt; the
# exit status is 1 when a check failed (a target missed is reported, not
# an error).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
SUSTAIN=${BENCH_SUSTAIN:-1000000}
SUSTAIN_FIRST=${BENCH_SUSTAIN_FIRST:-10000}
INPROC=${BENCH_INPROC_SECONDS:-1}
WORKERS=${BENCH_WORKERS:-2}
CONNS=${BENCH_CONNECTIONS:-8}
PORT=${BENCH_PORT:-18080}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-1}
# wrk on one core, the servers on the other ("" to leave it to the kernel)
WRK_CPU=${BENCH_WRK_CPU-1}
SERVER_CPUS=${BENCH_SERVER_CPUS-0}

OUT=build/bench
RESULTS=$OUT/results.txt
BODIES=bench/bodies
FIXTURES=tests/fixtures/events
PHP_FPM=$(ls /usr/sbin/php-fpm* 2>/dev/null | sort -V | tail -n 1)

declare -A BODYSET=(
	[dialogstart]="$BODIES/dialogstart.form"
	[messageadd3]="$BODIES/messageadd3.form"
	[mix]="$BODIES/dialogstart.form $BODIES/messageadd3.form
	    $BODIES/forged.form $BODIES/openlinemessageadd.form
	    $BODIES/messageupdate.form $BODIES/unknown.form"
)
BODYNAMES="dialogstart messageadd3 mix"

FAILED=0
RUN=$(mktemp -d /tmp/b24bench.XXXXXX)
chmod 755 "$RUN"
mkdir -p "$OUT" "$RUN/logs/floor_io" "$RUN/logs/php" "$RUN/logs/b24hook" \
    "$RUN/logs/cgi-b24hook" "$RUN/logs/cgi-b24hook-static" \
    "$RUN/logs/b24hook-counters" "$RUN/logs/cgi-b24hook-counters" \
    "$RUN/state" "$RUN/state-cgi"
cp "$FIXTURES/allow.txt" "$RUN/allow.txt"
# the binaries, copied: a rebuild in the tree during the run changes nothing
BIN=$RUN/bin
mkdir "$BIN"
cp build/b24hook build/bench/floor build/bench/floor_io build/bench/floor_cgi \
    build/bench/pipeline build/bench/b24hook-static "$BIN/"
B24HOOK=$BIN/b24hook

say() {
	printf '%s\n' "$*" | tee -a "$RESULTS"
}

# --- processes --------------------------------------------------------------

# pids PIDFILE: the pids in a pid file (spawn-fcgi writes one per child)
pids() {
	cat "$1" 2>/dev/null || true
}

# children PID: its child processes
children() {
	ps -o pid= --ppid "$1" || true
}

# stop PID...: SIGTERM, then up to 5 s, then SIGKILL
stop() {
	local p i
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	for p in "$@"; do
		for i in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
	done
}

# on_cpus CMD...: CMD on the servers' cores
on_cpus() {
	if [ -n "$SERVER_CPUS" ]; then taskset -c "$SERVER_CPUS" "$@"; else "$@"; fi
}

# b24hook's settings, from the responder's environment (never a request's):
# b24hook_env NAME [STATE_DIR]
b24hook_env() {
	echo "B24HOOK_ALLOWLIST=$RUN/allow.txt B24HOOK_LOG_DIR=$RUN/logs/$1" \
	    "B24HOOK_FSYNC=0${2:+ B24HOOK_STATE_DIR=$2}"
}

# floor_io's arguments, LENGTH:MEMBER:RECORDS:BYTES per body b24hook
# accepts (bench/floor_io.c): what b24hook, run as CGI on the body, wrote
# and where.  A refused body writes nothing and gives no argument.
floor_io_args() {
	local f log len dir=$RUN/logs/floor_io-args
	for f in "$BODIES"/*.form; do
		rm -rf "$dir"
		mkdir "$dir"
		len=$(wc -c <"$f")
		# shellcheck disable=SC2046
		env -i $(b24hook_env floor_io-args) REQUEST_METHOD=POST \
		    CONTENT_TYPE=application/x-www-form-urlencoded \
		    CONTENT_LENGTH="$len" "$B24HOOK" <"$f" >/dev/null 2>&1 || true
		for log in "$dir"/*.jsonl; do
			[ -f "$log" ] || continue
			log=${log##*/}
			echo "$len:${log%.jsonl}:$(wc -l <"$dir/$log"):$(wc -c <"$dir/$log")"
		done
	done
	rm -rf "$dir"
}

start_spawn() { # NAME PROGRAM [ARGS]: WORKERS children on RUN/NAME.sock
	local name=$1
	shift
	on_cpus env -i PATH=/usr/bin:/bin spawn-fcgi -s "$RUN/$name.sock" \
	    -M 0666 -F "$WORKERS" -P "$RUN/$name.pid" -- "$@" >/dev/null
}

stop_spawn() { # NAME
	# shellcheck disable=SC2046
	stop $(pids "$RUN/$1.pid")
	rm -f "$RUN/$1.pid" "$RUN/$1.sock"
}

start_all() {
	sed "s|@RUN@|$RUN|g; s|@PORT@|$PORT|g; s|@ROOT@|$ROOT|g; s|@BIN@|$BIN|g;
	    s|@NGINX_WORKERS@|$NGINX_WORKERS|g" bench/nginx.conf >"$RUN/nginx.conf"
	sed "s|@RUN@|$RUN|g; s|@WORKERS@|$WORKERS|g" bench/php-fpm.conf \
	    >"$RUN/php-fpm.conf"
	start_spawn floor "$BIN/floor"
	# shellcheck disable=SC2046
	start_spawn floor_io /usr/bin/env $(b24hook_env floor_io) \
	    "$BIN/floor_io" "${FLOOR_IO_ARGS[@]}"
	# shellcheck disable=SC2046
	start_spawn b24hook /usr/bin/env $(b24hook_env b24hook) "$B24HOOK"
	# shellcheck disable=SC2046
	start_spawn b24hook-counters /usr/bin/env \
	    $(b24hook_env b24hook-counters "$RUN/state") "$B24HOOK"
	on_cpus "$PHP_FPM" -R -y "$RUN/php-fpm.conf"
	on_cpus env -i PATH=/usr/bin:/bin spawn-fcgi -s "$RUN/fcgiwrap.sock" \
	    -M 0666 -P "$RUN/fcgiwrap.pid" -- /usr/sbin/fcgiwrap \
	    -c "$WORKERS" -f >/dev/null
	on_cpus nginx -c "$RUN/nginx.conf" -e "$RUN/nginx-error.log"
	sleep 0.5
}

stop_all() {
	local p
	[ -f "$RUN/nginx.pid" ] && stop "$(cat "$RUN/nginx.pid")"
	[ -f "$RUN/php-fpm.pid" ] && stop "$(cat "$RUN/php-fpm.pid")"
	for p in $(pids "$RUN/fcgiwrap.pid"); do
		# shellcheck disable=SC2046
		stop $(children "$p") "$p"
	done
	stop_spawn floor
	stop_spawn floor_io
	stop_spawn b24hook
	stop_spawn b24hook-counters
	rm -f "$RUN"/*.pid
}

cleanup() {
	trap '' INT TERM
	stop_all 2>/dev/null || true
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# workers BACKEND: the pids of its worker processes
workers() {
	case $1 in
	floor | floor_io | b24hook | b24hook-counters) pids "$RUN/$1.pid" ;;
	php) children "$(cat "$RUN/php-fpm.pid")" ;;
	esac
}

# rss_kib FIELD BACKEND: the largest FIELD (VmHWM, VmRSS) of its workers
rss_kib() {
	local p max=0 v
	for p in $(workers "$2"); do
		v=$(awk -v f="$1:" '$1 == f {print $2}' "/proc/$p/status")
		[ "${v:-0}" -gt "$max" ] && max=$v
	done
	echo "$max"
}

# --- driving ----------------------------------------------------------------

# wrk_run SECONDS URLPATH BODY... [limit=N]: prints wrk's RESULT line
wrk_run() {
	local secs=$1 path=$2
	shift 2
	local cmd=(wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 10s --latency
	    -s bench/post.lua "http://127.0.0.1:$PORT$path" -- "$@")
	[ -z "$WRK_CPU" ] || cmd=(taskset -c "$WRK_CPU" "${cmd[@]}")
	"${cmd[@]}" | grep '^RESULT '
}

field() { # NAME LINE: the value of NAME= in a RESULT line
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}

lines_in() { # DIR: how many records its logs hold
	cat "$1"/*.jsonl 2>/dev/null | wc -l
}

# check_records BACKEND LOGDIR RESULT: every acknowledged record is on
# disk (more may be: replies still in flight when wrk stopped), and
# nothing but 200 and 403 came back.
check_records() {
	local r=$3 acked on_disk
	sleep 0.3
	acked=$(field records "$r")
	if [ "$(field other "$r")" != 0 ] || [ "$(field errors "$r")" != 0 ]; then
		say "CHECK FAILED $1: $(field other "$r") unexpected replies, $(field errors "$r") socket errors"
		FAILED=1
	fi
	[ -n "$2" ] || return 0
	on_disk=$(lines_in "$2")
	if [ "$on_disk" -lt "$acked" ] ||
	    [ "$on_disk" -gt $((acked + 3 * CONNS)) ]; then
		say "CHECK FAILED $1: $acked records acknowledged, $on_disk on disk"
		FAILED=1
	fi
	CHECKS=$((CHECKS + 1))
	rm -f "$2"/*.jsonl
}

logdir() { # BACKEND: where its records go ("" for the floors but floor_io)
	case $1 in
	floor_io | php | b24hook | b24hook-counters | cgi-b24hook*)
		echo "$RUN/logs/$1" ;;
	esac
}

declare -A RPS P50 P99
# rounds SECTION BACKEND...: ROUNDS rounds over every body
rounds() {
	local section=$1 r i b body n r_line
	shift
	local backends=("$@")
	n=${#backends[@]}
	for r in $(seq 1 "$ROUNDS"); do
		for body in $BODYNAMES; do
			for i in $(seq 0 $((n - 1))); do
				b=${backends[$(((i + r - 1) % n))]}
				# shellcheck disable=SC2086
				r_line=$(wrk_run "$SECS" "/$b" ${BODYSET[$body]})
				check_records "$b/$body" "$(logdir "$b")" "$r_line"
				RPS[$body/$b]+=" $(field rps "$r_line")"
				P50[$body/$b]+=" $(field p50_us "$r_line")"
				P99[$body/$b]+=" $(field p99_us "$r_line")"
				printf '  %s round %d %-12s %-12s %8s req/s\n' \
				    "$section" "$r" "$body" "$b" \
				    "$(field rps "$r_line")" >&2
			done
		done
	done
}

median() { # VALUES...
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
	    if (NR % 2) print v[(NR + 1) / 2];
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ms() { # MICROSECONDS
	awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'
}

ratio() { # A B
	awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'
}

# verdict NAME VALUE OP LIMIT: one line of the targets' summary
verdict() {
	local ok
	ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN {
	    print (op == ">=" ? v >= l : v <= l) ? "held" : "MISSED" }')
	say "$(printf '  %-58s %8s %s %-6s %s' "$1" "$2" "$3" "$4" "$ok")"
}

# table SECTION "A/B..." BACKEND...: the medians per body, then the
# ratios A/B of their requests/s
table() {
	local section=$1 pairs=$2 body b rps line
	shift 2
	say "$(printf '%-12s %-19s %10s %9s %9s' body backend req/s p50_ms p99_ms)"
	for body in $BODYNAMES; do
		for b in "$@"; do
			# shellcheck disable=SC2086
			rps=$(median ${RPS[$body/$b]})
			# shellcheck disable=SC2086
			say "$(printf '%-12s %-19s %10.0f %9s %9s' "$body" "$b" "$rps" \
			    "$(ms "$(median ${P50[$body/$b]})")" \
			    "$(ms "$(median ${P99[$body/$b]})")")"
			eval "MED_${section}_${body}_${b//-/_}=$rps"
		done
		line=
		for b in $pairs; do
			line+="  $b = $(ratio "$(med "$section" "$body" "${b%/*}")" \
			    "$(med "$section" "$body" "${b#*/}")")"
		done
		say "$(printf '%-12s%s' "" "$line")"
	done
}

med() { # SECTION BODY BACKEND
	eval echo "\$MED_${1}_${2}_${3//-/_}"
}

# --- the run ----------------------------------------------------------------

: >"$RESULTS"
CHECKS=0
say "== make bench, $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores," \
    "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
say "   $(nginx -v 2>&1 | sed 's/.*: //'), $("$PHP_FPM" -v | head -n 1 | cut -d' ' -f1-2) (fpm, opcache on), wrk -t1 -c$CONNS," \
    "$WORKERS workers per backend, $ROUNDS rounds x ${SECS}s per body and backend"
say "   tree $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- lib cgi 2>/dev/null || echo ' with changes in lib/ or cgi/')"
mapfile -t FLOOR_IO_ARGS < <(floor_io_args)
start_all
for b in floor floor_io php b24hook b24hook-counters cgi-floor cgi-b24hook \
    cgi-b24hook-static cgi-b24hook-counters; do # warm up
	wrk_run 2 "/$b" "$BODIES/dialogstart.form" >/dev/null
	rm -f "$RUN"/logs/*/*.jsonl
done

say ""
say "== Persistent FastCGI responders behind nginx"
rounds fcgi floor floor_io php b24hook b24hook-counters
table fcgi "b24hook/floor b24hook/floor_io b24hook/php
    b24hook-counters/b24hook" floor floor_io php b24hook b24hook-counters
say "$(printf '%-12s %-12s %10s' "" "peak RSS/worker" "")"
for b in floor floor_io php b24hook b24hook-counters; do
	say "$(printf '%-12s %-12s %7d KiB' "" "$b" "$(rss_kib VmHWM "$b")")"
done
HWM_B24HOOK=$(rss_kib VmHWM b24hook)

say ""
say "== Per request CGI through fcgiwrap ($WORKERS fcgiwrap workers)"
rounds cgi cgi-floor cgi-b24hook cgi-b24hook-static cgi-b24hook-counters
table cgi "cgi-b24hook/cgi-floor cgi-b24hook-static/cgi-floor
    cgi-b24hook-counters/cgi-b24hook" cgi-floor cgi-b24hook \
    cgi-b24hook-static cgi-b24hook-counters

say ""
say "== Sustained: fresh b24hook workers, the mix, $SUSTAIN requests"
stop_spawn b24hook
# shellcheck disable=SC2046
start_spawn b24hook /usr/bin/env $(b24hook_env b24hook) "$B24HOOK"
# shellcheck disable=SC2086
r_line=$(wrk_run 3600 /b24hook ${BODYSET[mix]} "limit=$SUSTAIN_FIRST")
check_records b24hook/sustain "" "$r_line"
RSS_FIRST=$(rss_kib VmRSS b24hook)
# shellcheck disable=SC2086
r_line2=$(wrk_run 3600 /b24hook ${BODYSET[mix]} \
    "limit=$((SUSTAIN - SUSTAIN_FIRST))")
acked=$(($(field records "$r_line") + $(field records "$r_line2")))
check_records b24hook/sustain "$RUN/logs/b24hook" \
    "RESULT records=$acked other=$(field other "$r_line2") errors=$(field errors "$r_line2")"
RSS_LAST=$(rss_kib VmRSS b24hook)
HWM_SUSTAIN=$(rss_kib VmHWM b24hook)
say "  RSS after $SUSTAIN_FIRST requests: $RSS_FIRST KiB;" \
    "after $SUSTAIN: $RSS_LAST KiB; peak $HWM_SUSTAIN KiB" \
    "($(field rps "$r_line2") req/s)"
stop_all

say ""
say "== In process, no I/O: decode -> verify -> normalise -> serialise"
INPROC_BODIES=("$FIXTURES"/*.form "$BODIES/messageadd3.form")
"$BIN/pipeline" -t "$INPROC" "$RUN/allow.txt" "${INPROC_BODIES[@]}" \
    >"$RUN/inproc-c"
php bench/pipeline.php -t "$INPROC" "$RUN/allow.txt" "${INPROC_BODIES[@]}" \
    >"$RUN/inproc-php"
say "$(printf '%-26s %11s %9s %11s %9s %6s' body b24hook_ev/s ns/ev php_ev/s ns/ev ratio)"
MIN_INPROC=
while read -r name cev cns rec && read -r _ pev pns _ <&3; do
	r=$(ratio "$cev" "$pev")
	say "$(printf '%-26s %11s %9s %11s %9s %6s' "$name" "$cev" "$cns" "$pev" "$pns" "$r")"
	if [ -z "$MIN_INPROC" ] || awk -v a="$r" -v b="$MIN_INPROC" 'BEGIN {exit !(a < b)}'; then
		MIN_INPROC=$r
		MIN_INPROC_BODY=$name
	fi
done <"$RUN/inproc-c" 3<"$RUN/inproc-php"

say ""
say "== Instructions (valgrind --tool=callgrind)"
ir() { # OUTFILE: total Ir of a callgrind output
	sed -n 's/^summary: *//p; s/^totals: *//p' "$1" | head -n 1
}
callgrind() { # OUTFILE CMD...
	local out=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$out" "$@" \
	    >/dev/null 2>&1 || true
	ir "$out"
}
CG=$RUN/cg
say "$(printf '%-26s %14s %14s' "per event, in process" b24hook php)"
for body in dialogstart messageadd3 forged; do
	f=$BODIES/$body.form
	c1=$(callgrind "$CG.c1" "$BIN/pipeline" -n 1 "$RUN/allow.txt" "$f")
	c2=$(callgrind "$CG.c2" "$BIN/pipeline" -n 1001 "$RUN/allow.txt" "$f")
	p1=$(callgrind "$CG.p1" php bench/pipeline.php -n 1 "$RUN/allow.txt" "$f")
	p2=$(callgrind "$CG.p2" php bench/pipeline.php -n 201 "$RUN/allow.txt" "$f")
	say "$(printf '%-26s %14d %14d' "$body" $(((c2 - c1) / 1000)) $(((p2 - p1) / 200)))"
done
cgi_ir() { # PROGRAM BODY [STATE_DIR]
	# shellcheck disable=SC2046
	env -i $(b24hook_env cgi-b24hook "${3-}") REQUEST_METHOD=POST \
	    CONTENT_TYPE=application/x-www-form-urlencoded \
	    CONTENT_LENGTH="$(wc -c <"$2")" \
	    valgrind --tool=callgrind --callgrind-out-file="$CG.cgi" "$1" \
	    <"$2" >/dev/null 2>&1 || true
	ir "$CG.cgi"
}
# responder_ir COUNT BODY STATE_DIR PROGRAM [ARG...]: total Ir of PROGRAM
# as a FastCGI responder under callgrind that served COUNT requests
# (libfcgi's cgi-fcgi posts them one by one); b24hook's settings in its
# environment, B24HOOK_STATE_DIR when STATE_DIR is not ""
responder_ir() {
	local count=$1 body=$2 state=$3 i pid
	shift 3
	rm -f "$RUN/vg.sock" "$CG.fcgi"
	# shellcheck disable=SC2046
	spawn-fcgi -n -s "$RUN/vg.sock" -- /usr/bin/env \
	    $(b24hook_env b24hook "$state") /usr/bin/valgrind --tool=callgrind \
	    --callgrind-out-file="$CG.fcgi" "$@" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 100); do
		[ -S "$RUN/vg.sock" ] && break
		sleep 0.1
	done
	for i in $(seq "$count"); do
		env -i REQUEST_METHOD=POST \
		    CONTENT_TYPE=application/x-www-form-urlencoded \
		    CONTENT_LENGTH="$(wc -c <"$body")" \
		    cgi-fcgi -bind -connect "$RUN/vg.sock" <"$body" >/dev/null
	done
	# libfcgi may take a second SIGTERM to leave accept()
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		[ $((i % 10)) = 1 ] && kill "$pid" 2>/dev/null
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
	ir "$CG.fcgi"
}
say "$(printf '%-26s %14s %14s %14s %16s' "per request, responder" b24hook \
    floor floor_io b24hook-counters)"
for body in dialogstart messageadd3; do
	f=$BODIES/$body.form
	b1=$(responder_ir 1 "$f" "" "$B24HOOK")
	b2=$(responder_ir 101 "$f" "" "$B24HOOK")
	f1=$(responder_ir 1 "$f" "" "$BIN/floor")
	f2=$(responder_ir 101 "$f" "" "$BIN/floor")
	o1=$(responder_ir 1 "$f" "" "$BIN/floor_io" "${FLOOR_IO_ARGS[@]}")
	o2=$(responder_ir 101 "$f" "" "$BIN/floor_io" "${FLOOR_IO_ARGS[@]}")
	k1=$(responder_ir 1 "$f" "$RUN/state" "$B24HOOK")
	k2=$(responder_ir 101 "$f" "$RUN/state" "$B24HOOK")
	say "$(printf '%-26s %14d %14d %14d %16d' "$body" $(((b2 - b1) / 100)) \
	    $(((f2 - f1) / 100)) $(((o2 - o1) / 100)) $(((k2 - k1) / 100)))"
	eval "IR_FCGI_$body=\"$(((b2 - b1) / 100)) $(((k2 - k1) / 100))\""
done
say "$(printf '%-26s %14s %14s %14s %16s' "per request, CGI process" b24hook \
    floor b24hook-static b24hook-counters)"
for body in dialogstart messageadd3; do
	c1=$(cgi_ir "$B24HOOK" "$BODIES/$body.form")
	k1=$(cgi_ir "$B24HOOK" "$BODIES/$body.form" "$RUN/state-cgi")
	say "$(printf '%-26s %14d %14d %14d %16d' "$body" "$c1" \
	    "$(cgi_ir "$BIN/floor_cgi" "$BODIES/$body.form")" \
	    "$(cgi_ir "$BIN/b24hook-static" "$BODIES/$body.form")" "$k1")"
	eval "IR_CGI_$body=\"$c1 $k1\""
done
rm -f "$RUN"/logs/*/*.jsonl

say ""
say "== Targets"
# b24hook against floor_io, the least this job costs; not on the mix,
# where floor_io appends for the two bodies b24hook refuses
for t in dialogstart:0.80 messageadd3:0.68; do
	body=${t%:*}
	verdict "persistent $body: b24hook/floor_io req/s" \
	    "$(ratio "$(med fcgi "$body" b24hook)" "$(med fcgi "$body" floor_io)")" ">=" "${t#*:}"
done
for body in $BODYNAMES; do
	verdict "persistent $body: b24hook/php-fpm req/s" \
	    "$(ratio "$(med fcgi "$body" b24hook)" "$(med fcgi "$body" php)")" ">=" 1.8
	verdict "CGI $body: b24hook/floor req/s" \
	    "$(ratio "$(med cgi "$body" cgi-b24hook)" "$(med cgi "$body" cgi-floor)")" ">=" 0.85
	# counters (B24HOOK_STATE_DIR): at most 2% more per request
	verdict "persistent $body: b24hook with counters/without req/s" \
	    "$(ratio "$(med fcgi "$body" b24hook-counters)" "$(med fcgi "$body" b24hook)")" ">=" 0.98
	verdict "CGI $body: b24hook with counters/without req/s" \
	    "$(ratio "$(med cgi "$body" cgi-b24hook-counters)" "$(med cgi "$body" cgi-b24hook)")" ">=" 0.98
done
for body in dialogstart messageadd3; do
	eval "set -- \$IR_FCGI_$body \$IR_CGI_$body"
	verdict "instructions, responder $body: with counters/without" \
	    "$(awk -v a="$2" -v b="$1" 'BEGIN {printf "%.3f", a / b}')" "<=" 1.02
	verdict "instructions, CGI $body: with counters/without" \
	    "$(awk -v a="$4" -v b="$3" 'BEGIN {printf "%.3f", a / b}')" "<=" 1.02
done
verdict "in process, lowest b24hook/php ev/s ($MIN_INPROC_BODY)" "$MIN_INPROC" ">=" 3
verdict "peak RSS per b24hook worker (MiB)" \
    "$(awk -v k="$(( HWM_SUSTAIN > HWM_B24HOOK ? HWM_SUSTAIN : HWM_B24HOOK ))" 'BEGIN {printf "%.2f", k / 1024}')" "<=" 4
verdict "RSS after $SUSTAIN / after $SUSTAIN_FIRST requests" \
    "$(ratio "$RSS_LAST" "$RSS_FIRST")" "<=" 1.05
say "  records checks: $CHECKS runs, $([ "$FAILED" = 0 ] && echo "all passed" || echo FAILED)"
exit "$FAILED"
