#!/bin/bash
# End-to-end: a persistent responder told to stop, and what an idle one
# keeps in memory.  Each worker runs in the foreground under spawn-fcgi -n
# (the listening socket on fd 0, as systemd gives it), so its exit status
# is the test's to read.  Run from anywhere: bash tests/e2e/test_signals.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# worker_start: one worker on $T/w.sock with the test's settings, as
# nobody (standing in for the b24hook user); sets WORKER (its pid).
worker_start() {
	rm -f "$T/w.sock"
	env -i "B24HOOK_ALLOWLIST=$ALLOW" "B24HOOK_LOG_DIR=$LOGS" \
	    spawn-fcgi -n -s "$T/w.sock" -u nobody -g nogroup -- "$B24HOOK" \
	    >"$T/run/worker.out" 2>&1 &
	WORKER=$!
	SOCK=$T/w.sock
	for _ in $(seq 50); do
		[ -S "$SOCK" ] && break
		sleep 0.1
	done
	# once it has answered, it is past its start-up and waits in accept
	post fcgi - "$(make_body empty '')" REQUEST_METHOD=GET -CONTENT_LENGTH
	[ "$STATUS" = 405 ]
}

# worker_exit SECONDS: EXIT is the worker's exit status once it has gone,
# or "running" when it is still there after SECONDS.
worker_exit() {
	local i
	EXIT=running
	for ((i = 0; i < $1 * 10; i++)); do
		if gone "$WORKER"; then
			wait "$WORKER"
			EXIT=$?
			return
		fi
		sleep 0.1
	done
}

# post_split BODY: post BODY to the worker in two parts, 0.5 s apart, so
# the worker is reading the body when the test signals it; sets what
# lib.sh's post sets, from the client run in the background (POSTED: its
# pid).
post_split() {
	local body=$1
	POST_N=$((POST_N + 1))
	OUT=$T/run/$POST_N.out
	ERR=$T/run/$POST_N.err
	{
		head -c 100 "$body"
		sleep 0.5
		tail -c +101 "$body"
	} | env -i REQUEST_METHOD=POST "CONTENT_TYPE=$FORM" \
	    "CONTENT_LENGTH=$(stat -c %s "$body")" \
	    "$(command -v cgi-fcgi)" -bind -connect "$SOCK" >"$OUT" 2>"$ERR" &
	POSTED=$!
}

# read_reply: what lib.sh's post sets, from the last post_split's files.
read_reply() {
	wait "$POSTED"
	STATUS=$(tr -d '\r' <"$OUT" | sed -n '1s/^Status: \([0-9][0-9]*\) .*/\1/p')
	RECORDS=$(tr -d '\r' <"$OUT" | sed '1,/^$/d' |
	    jq -r '.records // empty' 2>/dev/null)
}

# Each stop signal while a body is half read: the request is finished,
# stored and answered, then the worker exits 0.
test_stop_mid_body() {
	local sig body=$FIXTURES/ONIMCONNECTORMESSAGEADD.form portal before
	portal=$(fixture_portal ONIMCONNECTORMESSAGEADD)
	for sig in TERM INT HUP QUIT USR1; do
		if ! worker_start; then
			fail "SIG$sig: worker started"
			continue
		fi
		before=$(lines "$LOGS/$portal.jsonl")
		post_split "$body"
		sleep 0.2
		kill -"$sig" "$WORKER"
		read_reply
		assert_eq "SIG$sig mid-body: status" 200 "$STATUS"
		assert_eq "SIG$sig mid-body: records" 1 "$RECORDS"
		assert_eq "SIG$sig mid-body: the record is on disk" \
		    $((before + 1)) "$(lines "$LOGS/$portal.jsonl")"
		worker_exit 5
		assert_eq "SIG$sig mid-body: then the worker exits 0" 0 "$EXIT"
	done
}

# An idle worker exits at once.
test_stop_idle() {
	local sig
	for sig in TERM INT HUP QUIT USR1; do
		if ! worker_start; then
			fail "SIG$sig: worker started"
			continue
		fi
		kill -"$sig" "$WORKER"
		worker_exit 1
		assert_eq "SIG$sig idle: exits 0 within 1 s" 0 "$EXIT"
	done
}

# After a request, no token is left in an idle worker's memory, and the
# worker cannot be dumped by its own user.
test_no_token_in_core() {
	local body=$FIXTURES/ONAPPINSTALL.form tok found=0 n=0
	worker_start || fail "worker started"
	post fcgi "$FORM" "$body"
	expect_ok "ONAPPINSTALL" 1
	post fcgi "$FORM" "$FIXTURES/ONIMCONNECTORMESSAGEADD.form"
	expect_ok "ONIMCONNECTORMESSAGEADD" 1
	if ! gcore -o "$IN/core" "$WORKER" >/dev/null 2>&1; then
		fail "gcore of the idle worker"
	else
		ok "gcore of the idle worker"
		while read -r tok; do
			n=$((n + 1))
			grep -qaF "$tok" "$IN/core.$WORKER" && found=$((found + 1))
		done < <(tr '&' '\n' <"$body" |
		    sed -n 's/^auth%5B\(access_token\|refresh_token\|application_token\)%5D=//p')
		assert_eq "ONAPPINSTALL's tokens looked for" 3 "$n"
		assert_eq "tokens found in the idle worker's memory" 0 "$found"
		rm -f "$IN/core.$WORKER"
	fi
	assert_eq "not dumpable: /proc/PID/environ is root's" root \
	    "$(stat -c %U "/proc/$WORKER/environ")"
	kill -TERM "$WORKER"
	worker_exit 5
	assert_eq "worker exits 0" 0 "$EXIT"
}

for tool in spawn-fcgi cgi-fcgi jq gcore; do
	command -v "$tool" >/dev/null || {
		echo "test_signals: $tool is missing: run make deps" >&2
		exit 1
	}
done
e2e_setup
chmod 0711 "$T" "$IN"
ALLOW=$IN/allow.txt
install -m 0640 -g nogroup "$FIXTURES/allow.txt" "$ALLOW"
LOGS=$T/logs/main
install -d -m 0750 -o nobody -g nogroup "$T/logs" "$LOGS"
test_stop_mid_body
test_stop_idle
test_no_token_in_core
check_no_secrets "no secret in logs or captured output" "$T"
finish test_signals
