#!/bin/bash
# End-to-end: rotation under load.  Clients keep posting through nginx
# (nginx.conf.example, block 1) to the persistent responder while
# logrotate -f rotates the logs again and again with deploy/logrotate/b24hook
# itself.  Every accepted request must be in exactly one of the files
# (rotated, compressed or current), no line broken, nothing refused, and
# the files b24hook creates after each rotation are as create would make
# them (nobody's here, the b24hook user's in production; mode 0640).
# Run from anywhere: bash tests/e2e/test_rotation.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
TEST_NAME=test_rotation
WORKERS=4     # concurrent clients
PER_WORKER=1000 # requests each, sequential, on one kept-alive connection
ROTATIONS=20  # at most; fewer than the snippet's "rotate 30" keeps

# worker_config W: a curl config posting PER_WORKER bodies, each an event
# (two portals in turn) whose ts is its own number, printing "STATUS TS".
worker_config() {
	local w=$1 i ts body form rest
	local -a fixture=("$(cat "$FIXTURES/ONIMCONNECTORLINEDELETE.form")"
	    "$(cat "$FIXTURES/ONAPPUNINSTALL.form")")
	for ((i = 0; i < PER_WORKER; i++)); do
		ts=$((1000000 + w * 100000 + i))
		form=${fixture[i % 2]}
		body=$IN/load/$ts.form
		rest=${form#*&ts=}
		rest=${rest#"${rest%%[!0-9]*}"}
		printf '%s&ts=%s%s' "${form%%&ts=*}" "$ts" "$rest" >"$body"
		((i == 0)) || echo next
		cat <<-EOF
		url = "${SITE_URL[rot]}"
		resolve = "$HOOK_HOST:${SITE_PORT[rot]}:127.0.0.1"
		cacert = "$T/tls/cert.pem"
		header = "Content-Type: $FORM"
		data-binary = "@$body"
		output = "/dev/null"
		write-out = "%{http_code} $ts\n"
		max-time = 10
		noproxy = "*"
		silent
		EOF
	done
}

test_rotation() {
	local allow w pids=() n=0 rc bad=0 sent accepted
	LOGS=$(log_dir rot nobody:nogroup)
	allow=$(allow_copy allow.txt nogroup)
	mkdir -p "$IN/load" "$T/logrotate"
	check "render deploy/logrotate/b24hook" render \
	    "$DEPLOY/logrotate/b24hook" "$T/logrotate/b24hook" \
	    '/var/log/b24hook/*.jsonl' "$LOGS/*.jsonl" \
	    'b24hook adm' 'nobody nogroup'
	check "logrotate accepts the snippet (-d)" \
	    logrotate -d -s "$T/logrotate/state" "$T/logrotate/b24hook"
	check "render nginx block 1" nginx_site rot 1 "$LOGS" "$allow"
	check "responder started by deploy/spawn-fcgi/b24hook-spawn" \
	    responder_start "$T/run/b24hook.sock" "$LOGS" "$allow"
	if ! nginx_start; then
		fail "nginx started"
		return
	fi
	ok "nginx started"

	for ((w = 0; w < WORKERS; w++)); do
		worker_config "$w" >"$IN/load/worker$w.curl"
		curl -K "$IN/load/worker$w.curl" >"$T/run/worker$w.out" \
		    2>"$T/run/worker$w.err" &
		pids+=($!)
	done
	while ((n < ROTATIONS)); do
		sleep 0.05
		logrotate -f -s "$T/logrotate/state" "$T/logrotate/b24hook" \
		    >>"$T/run/logrotate.out" 2>&1 || bad=$((bad + 1))
		n=$((n + 1))
		kill -0 "${pids[@]}" 2>/dev/null || break
	done
	rc=0
	for w in "${pids[@]}"; do wait "$w" || rc=1; done
	assert_eq "clients finished (curl exit status)" 0 "$rc"
	assert_eq "logrotate -f: every run succeeded ($n while posting)" 0 "$bad"
	check "logrotate ran at least 3 times while posting" test "$n" -ge 3
	assert_eq "no .backup file (a create racing with a request)" "" \
	    "$(cd "$LOGS" && ls | grep backup)"
	check "the snippet never copies: no copytruncate, no create" \
	    test -z "$(grep -E '^[[:space:]]*(copytruncate|create)' \
	    "$DEPLOY/logrotate/b24hook")"

	sent=$((WORKERS * PER_WORKER))
	cat "$T"/run/worker*.out >"$T/run/replies"
	assert_eq "replies: one per request" "$sent" "$(lines "$T/run/replies")"
	accepted=$(awk '$1 == 200' "$T/run/replies" | wc -l)
	assert_eq "every request accepted (200)" "$sent" "$accepted"
	all_records >"$T/run/records"
	assert_eq "records on disk: one per accepted request" "$accepted" \
	    "$(lines "$T/run/records")"
	assert_eq "no line broken: every line a JSON object" "$accepted" \
	    "$(jq -R 'try (fromjson | type) catch "bad"' "$T/run/records" |
	    grep -cx '"object"')"
	assert_eq "each accepted request in exactly one record" "" \
	    "$(diff <(awk '$1 == 200 { print $2 }' "$T/run/replies" | sort) \
	    <(jq -r .ts "$T/run/records" 2>/dev/null | sort) | head -n 3)"
	check "the records are spread over at least 3 files" \
	    test "$(grep -lc . "$LOGS"/* 2>/dev/null | wc -l)" -ge 3
	check "rotated files are compressed (compress, delaycompress)" \
	    ls "$LOGS"/*.jsonl.2.gz
	site_files_owned "$LOGS" nobody
}

need nginx spawn-fcgi curl openssl jq logrotate zcat
servers_setup
tls_setup || {
	fail "TLS certificate made"
	finish $TEST_NAME
}
test_rotation
check_no_secrets "no secret in logs, server logs or captured output" "$T"
check "every server stopped by its pid (SIGTERM)" servers_stop
finish $TEST_NAME
