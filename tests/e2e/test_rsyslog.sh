#!/bin/bash
# End-to-end: shipping to a central store with rsyslog, from the recipes
# themselves.  One rsyslogd runs deploy/rsyslog/b24hook-ship.conf (imfile
# tails the log directory, omfwd forwards over TCP), another runs
# deploy/rsyslog/b24hook-central.conf (imtcp, one file per host).  Events
# are posted, the logs rotated with deploy/logrotate/b24hook, more events
# posted: the store must hold every record, byte for byte, once.
# Run from anywhere: bash tests/e2e/test_rsyslog.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
TEST_NAME=test_rsyslog

# rsyslog_start NAME SNIPPET: rsyslogd in the foreground (in the
# background of this test) on a main file made as Debian's rsyslog.conf
# is (modules loaded first, then the snippet included), with its own work
# directory and pid file in $T/rsyslog/NAME.
rsyslog_start() {
	local d=$T/rsyslog/$1
	mkdir -p "$d/work"
	cat >"$d/rsyslog.conf" <<-EOF
	global(workDirectory="$d/work")
	module(load="imuxsock" SysSock.Use="off")
	include(file="$2")
	EOF
	rsyslogd -N1 -f "$d/rsyslog.conf" >"$d/check.out" 2>&1 || return 1
	rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" \
	    >"$d/rsyslogd.out" 2>&1 &
	track_pid $!
	wait_until 5 test -s "$d/rsyslogd.pid"
}

# post_all: every fixture event, as plain CGI, into $LOGS.
post_all() {
	local f
	for f in "$FIXTURES"/*.form; do
		lib_post cgi "$FORM" "$f"
		[ "$STATUS" = 200 ] || fail "post $(basename "$f")" "status $STATUS"
	done
}

stored_lines() { cat "$T"/central/*.jsonl 2>/dev/null | wc -l; }

test_rsyslog() {
	local port d=$T/rsyslog want big
	mkdir -p "$d"
	LOGS=$(log_dir ship root:adm)
	POST_ENV=("B24HOOK_ALLOWLIST=$FIXTURES/allow.txt" "B24HOOK_LOG_DIR=$LOGS")
	free_port port || return
	check "render b24hook-central.conf" render \
	    "$DEPLOY/rsyslog/b24hook-central.conf" "$d/central.conf" \
	    /var/log/b24hook-central "$T/central" \
	    'port="10514"' "port=\"$port\""
	check "render b24hook-ship.conf" render \
	    "$DEPLOY/rsyslog/b24hook-ship.conf" "$d/ship.conf" \
	    'file="/var/log/b24hook/*.jsonl"' "file=\"$LOGS/*.jsonl\"" \
	    'target="logs.example.com"' 'target="127.0.0.1"' \
	    'port="10514"' "port=\"$port\""
	check "render deploy/logrotate/b24hook" render \
	    "$DEPLOY/logrotate/b24hook" "$d/logrotate" \
	    '/var/log/b24hook/*.jsonl' "$LOGS/*.jsonl" 'b24hook adm' 'root adm'
	for f in central ship; do
		assert_eq "rendered $f.conf: no production path left" "" \
		    "$(production_paths "$d/$f.conf")"
	done
	if ! rsyslog_start central "$d/central.conf" ||
	    ! wait_until 5 listening "$port"; then
		fail "central rsyslogd started" "$(tail -n 3 "$d"/central/*.out)"
		return
	fi
	ok "central rsyslogd started (rsyslogd -N1 passed)"
	if ! rsyslog_start ship "$d/ship.conf"; then
		fail "shipping rsyslogd started" "$(tail -n 3 "$d"/ship/*.out)"
		return
	fi
	ok "shipping rsyslogd started (rsyslogd -N1 passed)"

	post_all
	# the largest record b24hook writes with the default limit (a body
	# of raw control bytes: 6 bytes each in JSON), and one in several
	# scripts
	big=$(body_of_size "$LIMIT_BODY" '\001')
	lib_post cgi "$FORM" "$big"
	assert_eq "a 1 MiB event of control bytes accepted" 200 "$STATUS"
	check "its record is over 6,000,000 bytes" test "$(tail -n 1 \
	    "$LOGS/$(fixture_portal ONAPPUNINSTALL).jsonl" | wc -c)" -gt 6000000
	lib_post cgi "$FORM" "$(make_body utf8.form \
	    "$(cat "$FIXTURES/ONAPPUNINSTALL.form")&data%5Btext%5D=Gr%C3%BC%C3%9Fe+%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82+%E4%BD%A0%E5%A5%BD")"
	assert_eq "a UTF-8 event accepted" 200 "$STATUS"
	want=$(all_records | wc -l)
	check "store: the records before rotation arrived" \
	    wait_until 20 eval '[ "$(stored_lines)" -ge "$want" ]'

	check "logrotate -f with the shipped snippet" \
	    logrotate -f -s "$d/logrotate.state" "$d/logrotate"
	check "the logs were rotated" ls "$LOGS"/*.jsonl.1
	post_all
	want=$(all_records | wc -l)
	check "store: the records after rotation arrived" \
	    wait_until 20 eval '[ "$(stored_lines)" -ge "$want" ]'
	sleep 0.5 # anything more would be a duplicate
	assert_eq "store: one file per sending host" 1 \
	    "$(find "$T/central" -name '*.jsonl' | wc -l)"
	assert_eq "store: every record, once, byte for byte" "" \
	    "$(diff <(all_records | LC_ALL=C sort) \
	    <(cat "$T"/central/*.jsonl | LC_ALL=C sort) | wc -l | grep -vx 0)"
	assert_eq "store: $want records, none broken" "$want" \
	    "$(cat "$T"/central/*.jsonl | jq -R 'try (fromjson | type) catch "bad"' |
	    grep -cx '"object"')"
	assert_eq "rsyslogd: no error reported" "" \
	    "$(grep -ih 'error\|discard' "$d"/*/rsyslogd.out | head -n 2)"
}

need rsyslogd logrotate jq zcat
servers_setup
test_rsyslog
check_no_secrets "no secret in logs, the store or captured output" "$T"
check "every server stopped by its pid (SIGTERM)" servers_stop
finish $TEST_NAME
