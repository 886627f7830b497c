#!/bin/bash
# End-to-end: the counters as an operator reads them.  nginx (block 1 of
# nginx.conf.example) in front of the persistent responder started by
# deploy/spawn-fcgi/b24hook-spawn with B24HOOK_STATE_DIR; events accepted
# and refused through it (a forged token, an unknown portal, a malformed
# body, no auth); then the command of deploy/systemd/b24hook-stats.service
# (its ExecStart= with its Environment=, rendered) writes the counters
# into the textfile directory of a real prometheus-node-exporter on
# loopback, which curl scrapes: every b24hook_* series has the value the
# requests made, and promtool check metrics passes on the file and on the
# scrape.  b24hookctl status --silent-for names exactly the silent
# portals; stats --reset starts over and the workers follow; a counters
# file cut short under a worker changes no reply.
# Run from anywhere: bash tests/e2e/test_metrics.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
TEST_NAME=test_metrics

# value FILE KEY: the value of a "KEY=value" (systemd) line, all of them.
value() { sed -n "s/^$2=//p" "$1"; }

# sample FILE NAME [LABEL=VALUE]...: the value, as an integer, of the
# series NAME with exactly these labels (in any order) in an exposition
# FILE; nothing when it has none.  Label values hold no ',' or '"' here.
sample() {
	local file=$1 name=$2 want got line labels
	shift 2
	want=$(printf '%s\n' "$@" | LC_ALL=C sort | paste -sd ' ')
	while IFS= read -r line; do
		case $line in
		"$name "*) labels= ;;
		"$name{"*)
			labels=${line#*\{}
			labels=${labels%\}*}
			;;
		*) continue ;;
		esac
		got=$(tr ',' '\n' <<<"$labels" | sed 's/="\(.*\)"$/=\1/' |
		    grep . | LC_ALL=C sort | paste -sd ' ')
		if [ "$got" = "$want" ]; then
			awk '{ printf "%.0f\n", $NF }' <<<"$line"
			return
		fi
	done <"$file"
}

# ctl ARGS...: b24hookctl with the responder's settings; output in
# $T/run/ctl.out, exit status in CTL_RC.
ctl() {
	env -i "B24HOOK_ALLOWLIST=$ALLOW" "B24HOOK_LOG_DIR=$LOGS" \
	    "B24HOOK_STATE_DIR=$STATE" "$CTL" "$@" >"$T/run/ctl.out" \
	    2>"$T/run/ctl.err"
	CTL_RC=$?
}

# timer_run: what b24hook-stats.timer starts: the rendered service's
# ExecStart= with only its Environment=.
timer_run() {
	local unit=$T/systemd/b24hook-stats.service exec env
	exec=$(value "$unit" ExecStart)
	mapfile -t env < <(value "$unit" Environment)
	# shellcheck disable=SC2086 # ExecStart= is split on spaces
	env -i "${env[@]}" $exec >"$T/run/timer.out" 2>&1
}

# scrape: node_exporter's /metrics into $T/run/scrape.txt.
scrape() {
	curl -sS --noproxy '*' --max-time 10 \
	    "http://127.0.0.1:$EXPORTER_PORT/metrics" >"$T/run/scrape.txt" \
	    2>"$T/run/scrape.err"
}

# align: wait for the start of a second, so that what follows (a few
# requests, a few ms) falls within one second.
align() {
	while [ "$(date +%N | cut -c1-2)" -ge 10 ]; do sleep 0.01; done
}

setup_all() {
	local d=$T/systemd
	LOGS=$(log_dir fcgi nobody:nogroup)
	ALLOW=$(allow_copy allow-fcgi.txt nogroup)
	STATE=$T/state
	install -d -o nobody -g nogroup -m 0750 "$STATE"
	mkdir -p "$d" "$T/textfile"
	chmod 0755 "$T/textfile"
	check "render b24hook-stats.service" render \
	    "$DEPLOY/systemd/b24hook-stats.service" "$d/b24hook-stats.service" \
	    /usr/local/bin/b24hookctl "$CTL" /etc/b24hook/allow.txt "$ALLOW" \
	    /var/log/b24hook "$LOGS" /var/lib/b24hook "$STATE" \
	    /var/lib/prometheus/node-exporter "$T/textfile"
	check "render nginx block 1" nginx_site hook 1 "$LOGS" "$ALLOW"
	RESPONDER_STATE_DIR=$STATE check \
	    "responder started by b24hook-spawn with B24HOOK_STATE_DIR" \
	    responder_start "$T/run/b24hook.sock" "$LOGS" "$ALLOW"
	if ! nginx_start; then
		fail "nginx started" "$(cat "$T/nginx/test.out" \
		    "$T/nginx/start.out" | grep -o 'emerg.*' | head -n 3)"
		finish $TEST_NAME
	fi
	free_port EXPORTER_PORT || exit 1
	# as nobody, as Debian runs it as prometheus: only what any user reads
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    prometheus-node-exporter \
	    --web.listen-address="127.0.0.1:$EXPORTER_PORT" \
	    --collector.disable-defaults --collector.textfile \
	    --collector.textfile.directory="$T/textfile" \
	    >"$T/run/exporter.out" 2>&1 &
	track_pid $!
	check "node_exporter listening on 127.0.0.1:$EXPORTER_PORT" \
	    wait_until 10 listening "$EXPORTER_PORT"
}

# The bodies: A's and B's events, A's token forged, an unknown portal,
# B with a domain of its own.
bodies() {
	local name=ONIMCONNECTORMESSAGEADD
	A=$(fixture_portal $name)
	B=$(fixture_portal ONAPPINSTALL)
	# their allow-list labels, which stats and status show
	A_LABEL=$(awk -v m="$A" '$1 == m { print $3; exit }' "$ALLOW")
	B_LABEL=$(awk -v m="$B" '$1 == m { print $3; exit }' "$ALLOW")
	sed "s/=$(allow_token "$A")/=forgedforgedforgedforgedforged00/" \
	    "$FIXTURES/$name.form" >"$IN/forged.form"
	sed "s/=$A/=0123456789abcdef0123456789abcdef/" \
	    "$FIXTURES/$name.form" >"$IN/unknown.form"
	sed 's/auth%5Bdomain%5D=[^&]*/auth%5Bdomain%5D=b-portal.bitrix24.com/' \
	    "$FIXTURES/ONAPPINSTALL.form" >"$IN/b.form"
	A_DOMAIN=$(form_value "$FIXTURES/$name.form" 'auth%5Bdomain%5D')
}

test_requests() {
	T0=$(date +%s)
	accepted "A message add" 1 "$A" hook "$FORM" \
	    "$FIXTURES/ONIMCONNECTORMESSAGEADD.form"
	accepted "A message delete" 2 "$A" hook "$FORM" \
	    "$FIXTURES/ONIMCONNECTORMESSAGEDELETE.form"
	accepted "B app install" 1 "$B" hook "$FORM" "$IN/b.form"
	refused "A forged token" 403 forbidden token_mismatch hook "$FORM" \
	    "$IN/forged.form"
	refused "unknown portal" 403 forbidden unknown_portal hook "$FORM" \
	    "$IN/unknown.form"
	refused "malformed JSON" 400 malformed_body "" hook "$JSON" \
	    "$(make_body bad.json '{"event":')"
	refused "no auth" 400 missing_auth "no auth[member_id]" hook "$FORM" \
	    "$(make_body noauth.form 'event=ONAPPINSTALL')"
	post hook - - -X GET
	assert_eq "GET: refused by nginx, b24hook never sees it" 405 "$STATUS"
	# A falls silent; B goes on, and a forged token for A is no sign of life
	sleep 3
	accepted "B app install, 3 s later" 1 "$B" hook "$FORM" "$IN/b.form"
	refused "A forged token, 3 s later" 403 forbidden token_mismatch hook \
	    "$FORM" "$IN/forged.form"
	T1=$(date +%s)
}

test_status() {
	local last rc
	ctl status --silent-for 2s
	assert_eq "status --silent-for 2s: exit 1" 1 "$CTL_RC"
	assert_eq "status --silent-for 2s: names A only" \
	    "WARNING: 1 of 2 portals silent for more than 2s: $A (\"$A_LABEL\")" \
	    "$(head -n 1 "$T/run/ctl.out")"
	assert_eq "status: one line per portal, the silent one marked" \
	    "$B|$A silent" "$(tail -n +2 "$T/run/ctl.out" |
	    sed -n 's/^\([0-9a-f]*\) .*refusals_today=[0-9]*\(.*\)$/\1\2/p' |
	    paste -sd '|')"
	assert_eq "status: A's line" \
	    "$A label=\"$A_LABEL\" domain=$A_DOMAIN records_today=3 refusals_today=2" \
	    "$(grep "^$A " "$T/run/ctl.out" | sed 's/ last_event=[^ ]*//; s/ silent$//')"
	last=$(grep "^$B " "$T/run/ctl.out" |
	    sed 's/.* last_event=\([^ ]*\).*/\1/')
	check "status: B's last event in UTC ISO 8601, just now" \
	    grep -qxE "($(date -u -d "@$T1" +%FT%TZ)|$(date -u -d \
	    "@$((T1 - 1))" +%FT%TZ)|$(date -u -d "@$((T1 - 2))" +%FT%TZ))" \
	    <<<"$last"
	ctl status --silent-for 1h
	assert_eq "status --silent-for 1h: exit 0" 0 "$CTL_RC"
	assert_eq "status --silent-for 1h: OK" \
	    "OK: 2 portals, none silent for more than 1h" \
	    "$(head -n 1 "$T/run/ctl.out")"
	ctl status --silent-for 6x
	assert_eq "status --silent-for 6x: a usage error, exit 2" 2 "$CTL_RC"
	env -i "B24HOOK_ALLOWLIST=$ALLOW" "B24HOOK_LOG_DIR=$LOGS" \
	    "B24HOOK_STATE_DIR=$T/nowhere" "$CTL" status --silent-for 1h \
	    >"$T/run/ctl.out" 2>&1
	rc=$?
	assert_eq "status, no counters file: exit 2" 2 "$rc"
	assert_eq "status, no counters file: CRITICAL" \
	    "CRITICAL: counters cannot be read: counters open errno=ENOENT" \
	    "$(cat "$T/run/ctl.out")"
	env -i GATEWAY_INTERFACE=CGI/1.1 "B24HOOK_ALLOWLIST=$ALLOW" \
	    "B24HOOK_LOG_DIR=$LOGS" "B24HOOK_STATE_DIR=$STATE" "$CTL" stats \
	    >"$T/run/ctl.out" 2>&1
	rc=$?
	assert_eq "b24hookctl as CGI: refused, exit 2" \
	    "2 b24hookctl: not a CGI program" \
	    "$rc $(cut -d: -f1-2 "$T/run/ctl.out")"
}

test_exporter() {
	local f=$T/textfile/b24hook.prom now
	check "the timer's command (rendered ExecStart= and Environment=)" \
	    timer_run
	assert_eq "textfile: b24hook.prom alone, mode 0644" "b24hook.prom 644" \
	    "$(find "$T/textfile" -mindepth 1 -printf '%f %m\n')"
	check "promtool check metrics: b24hook.prom" \
	    sh -c "promtool check metrics <'$f'"
	check "scrape node_exporter's /metrics" scrape
	check "promtool check metrics: the whole scrape" \
	    sh -c "promtool check metrics <'$T/run/scrape.txt'"
	local S=$T/run/scrape.txt
	assert_eq "node_exporter read the file without error" 0 \
	    "$(sample "$S" node_textfile_scrape_error)"
	assert_eq "b24hook_requests_accepted_total" 4 \
	    "$(sample "$S" b24hook_requests_accepted_total)"
	assert_eq "b24hook_records_total" 5 "$(sample "$S" b24hook_records_total)"
	assert_eq "refusals: forbidden, token_mismatch" 2 \
	    "$(sample "$S" b24hook_refusals_total code=forbidden \
	    reason=token_mismatch)"
	assert_eq "refusals: forbidden, unknown_portal" 1 \
	    "$(sample "$S" b24hook_refusals_total code=forbidden \
	    reason=unknown_portal)"
	assert_eq "refusals: malformed_body" 1 \
	    "$(sample "$S" b24hook_refusals_total code=malformed_body \
	    reason=malformed_body)"
	assert_eq "refusals: missing_auth" 1 \
	    "$(sample "$S" b24hook_refusals_total code=missing_auth \
	    reason=missing_auth)"
	assert_eq "refusals: method_not_allowed (nginx refused the GET)" 0 \
	    "$(sample "$S" b24hook_refusals_total code=method_not_allowed \
	    reason=method_not_allowed)"
	assert_eq "b24hook_storage_failures_total" 0 \
	    "$(sample "$S" b24hook_storage_failures_total)"
	assert_eq "A: requests, records, refusals" "2 3 2" \
	    "$(sample "$S" b24hook_portal_requests_accepted_total \
	    member_id="$A" label="$A_LABEL") $(sample "$S" b24hook_portal_records_total \
	    member_id="$A" label="$A_LABEL") $(sample "$S" b24hook_portal_refusals_total \
	    member_id="$A" label="$A_LABEL")"
	assert_eq "B: requests, records, refusals" "2 2 0" \
	    "$(sample "$S" b24hook_portal_requests_accepted_total \
	    member_id="$B" label="$B_LABEL") $(sample "$S" b24hook_portal_records_total \
	    member_id="$B" label="$B_LABEL") $(sample "$S" b24hook_portal_refusals_total \
	    member_id="$B" label="$B_LABEL")"
	assert_eq "A: records per event" "1 2" \
	    "$(sample "$S" b24hook_portal_event_records_total member_id="$A" \
	    label="$A_LABEL" event=ONIMCONNECTORMESSAGEADD) $(sample "$S" \
	    b24hook_portal_event_records_total member_id="$A" label="$A_LABEL" \
	    event=ONIMCONNECTORMESSAGEDELETE)"
	assert_eq "B: records per event" 2 \
	    "$(sample "$S" b24hook_portal_event_records_total member_id="$B" \
	    label="$B_LABEL" event=ONAPPINSTALL)"
	assert_eq "portal info: A's domain, B's own" "1 1" \
	    "$(sample "$S" b24hook_portal_info member_id="$A" label="$A_LABEL" \
	    domain="$A_DOMAIN") $(sample "$S" b24hook_portal_info \
	    member_id="$B" label="$B_LABEL" domain=b-portal.bitrix24.com)"
	now=$(sample "$S" b24hook_portal_last_accepted_seconds member_id="$B" \
	    label="$B_LABEL")
	check "B last accepted: a time of the run, in seconds" \
	    test "${now:-0}" -ge $((T1 - 2)) -a "${now:-0}" -le "$T1"
	now=$(sample "$S" b24hook_portal_last_accepted_seconds member_id="$A" \
	    label="$A_LABEL")
	check "A last accepted: before the silence" \
	    test "${now:-0}" -ge "$T0" -a "${now:-0}" -le $((T1 - 3))
	assert_eq "B never refused: no last_refused sample" "" \
	    "$(sample "$S" b24hook_portal_last_refused_seconds \
	    member_id="$B" label="$B_LABEL")"
}

test_reset() {
	local i
	ctl stats --reset
	assert_eq "stats --reset: exit 0" "0 counters reset: $STATE/counters" \
	    "$CTL_RC $(cat "$T/run/ctl.out")"
	assert_eq "stats --reset: the file keeps its owner and mode" \
	    "nobody 640" "$(stat -c '%U %a' "$STATE/counters")"
	# as root, with no file yet: the state directory's owner gets it
	install -d -o nobody -g nogroup -m 0750 "$T/state-new"
	STATE=$T/state-new ctl stats --reset
	assert_eq "stats --reset as root, no file yet: the directory's owner" \
	    "0 nobody:nogroup" \
	    "$CTL_RC $(stat -c '%U:%G' "$T/state-new/counters")"
	# both workers had the old file mapped: each moves to the new one
	for i in 1 2 3 4; do
		accepted "B after the reset ($i)" 1 "$B" hook "$FORM" "$IN/b.form"
	done
	ctl stats --format json
	assert_eq "after the reset: only what came after it" "4 4 1" \
	    "$(jq -r '"\(.requests_accepted) \(.records) \(.portals | length)"' \
	    "$T/run/ctl.out")"
}

# A counters file of another format version: left alone, every request
# answered as ever, the operator told once per process.
test_other_version() {
	local dir=$T/state-v2 sum why
	why="b24hook: counters off: counters file format version 2, not 1:"
	why="$why left alone; b24hookctl stats --reset replaces it"
	install -d -o nobody -g nogroup -m 0750 "$dir"
	STATE=$dir ctl stats --reset
	chown nobody:nogroup "$dir/counters"
	printf '\002' | dd of="$dir/counters" bs=1 seek=8 conv=notrunc \
	    status=none
	sum=$(sha256sum <"$dir/counters")
	SOCK=$T/run/v2.sock
	RESPONDER_STATE_DIR=$dir check "a responder on a version 2 file" \
	    responder_start "$SOCK" "$LOGS" "$ALLOW" 1
	post fcgi "$FORM" "$IN/b.form"
	assert_eq "version 2, first request: 200, a record" "200 1" \
	    "$STATUS $RECORDS"
	assert_eq "version 2, first request: the operator told why" "$why" \
	    "$(cat "$ERR")"
	post fcgi "$FORM" "$IN/b.form"
	assert_eq "version 2, next request: 200, told once per process" \
	    "200 1 0" "$STATUS $RECORDS $OPLINES"
	post cgi "$FORM" "$IN/b.form" "B24HOOK_ALLOWLIST=$ALLOW" \
	    "B24HOOK_LOG_DIR=$LOGS" "B24HOOK_STATE_DIR=$dir"
	assert_eq "version 2, as CGI (a process a request): 200, told" \
	    "200 1 $why" "$STATUS $RECORDS $(cat "$ERR")"
	assert_eq "version 2: the file left alone" "$sum" \
	    "$(sha256sum <"$dir/counters")"
	STATE=$dir ctl status
	assert_eq "version 2: status says so, exit 2" \
	    "2 CRITICAL: counters cannot be read: ${why#b24hook: counters off: }" \
	    "$CTL_RC $(cat "$T/run/ctl.out")"
}

# b24hook-spawn reads the settings of /etc/b24hook/b24hook.conf, as the
# systemd units do; the environment's own win.
test_spawn_conf() {
	local dir=$T/state-conf conf=$T/run/b24hook.conf
	install -d -o nobody -g nogroup -m 0750 "$dir"
	printf '%s\n' '# a comment' "B24HOOK_STATE_DIR=\"$dir\"" \
	    'B24HOOK_LOG_DIR=/nonexistent' 'PATH=/nonexistent' >"$conf"
	SOCK=$T/run/conf.sock
	RESPONDER_CONF=$conf check "a responder started with a conf file" \
	    responder_start "$SOCK" "$LOGS" "$ALLOW" 1
	post fcgi "$FORM" "$IN/b.form"
	assert_eq "conf file: 200, a record in the environment's log dir" \
	    "200 1" "$STATUS $RECORDS"
	check "conf file: its B24HOOK_STATE_DIR counts" test -s "$dir/counters"
}

# A worker's counters file cut short under it: the count is lost, the
# reply is not, the worker lives, and the file is made anew.
test_cut_short() {
	local pids try t0
	SOCK=$T/run/one.sock
	RESPONDER_STATE_DIR=$STATE check "one more responder, one child" \
	    responder_start "$SOCK" "$LOGS" "$ALLOW" 1
	pids=$(cat "$SOCK.pid")
	# the worker looks at the file again once a second: the cut and the
	# next request must fall within one second, tried again if they did not
	for try in 1 2 3; do
		align
		t0=$(date +%s)
		post fcgi "$FORM" "$IN/b.form"
		truncate -s 4096 "$STATE/counters"
		post fcgi "$FORM" "$IN/b.form"
		[ "$(date +%s)" != "$t0" ] || break
		sleep 1.1 # the file made anew, for the next try
	done
	assert_eq "B after the cut: 200, a record" "200 1" "$STATUS $RECORDS"
	assert_eq "B after the cut: the worker says why it did not count" \
	    "b24hook: counters off: counters file cut short while mapped" \
	    "$(cat "$ERR")"
	assert_eq "the worker lives" 1 "$(for p in $pids; do gone "$p" ||
	    echo alive; done | grep -c alive)"
	sleep 1.1
	accepted "B a second later" 1 "$B" fcgi "$FORM" "$IN/b.form"
	ctl stats --format json
	assert_eq "the file made anew, counting again" "0 1" \
	    "$CTL_RC $(jq -r .requests_accepted "$T/run/ctl.out")"
}

need nginx spawn-fcgi curl openssl jq cgi-fcgi prometheus-node-exporter \
    promtool setpriv
servers_setup
tls_setup || {
	fail "TLS certificate made"
	finish $TEST_NAME
}
setup_all
bodies
test_requests
test_status
test_exporter
test_reset
test_spawn_conf
test_other_version
test_cut_short
check_no_secrets "no secret in logs, counters, metrics or captured output" "$T"
check "every server stopped by its pid (SIGTERM)" servers_stop
finish $TEST_NAME
