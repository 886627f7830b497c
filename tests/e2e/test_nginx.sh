#!/bin/bash
# End-to-end: b24hook behind real nginx, started from nginx.conf.example
# itself (both server blocks), in front of the persistent responder started
# by deploy/spawn-fcgi/b24hook-spawn and of fcgiwrap; the systemd units of
# deploy/systemd/; make install's share/ files; make serve.
# Run from anywhere: bash tests/e2e/test_nginx.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
TEST_NAME=test_nginx

# value FILE KEY: the value of a "KEY=value" (systemd) line, all of them.
value() { sed -n "s/^$2=//p" "$1"; }

# The paths every recipe must agree on, as the README installs them.
test_recipes_agree() {
	local svc=$DEPLOY/systemd/b24hook.service sock=$DEPLOY/systemd/b24hook.socket
	assert_eq "socket unit listens where nginx block 1 passes" \
	    /run/b24hook.sock "$(value "$sock" ListenStream)"
	check "nginx block 1: fastcgi_pass unix:/run/b24hook.sock" \
	    grep -q 'fastcgi_pass unix:/run/b24hook.sock;' <(nginx_block 1)
	check "nginx block 2: fastcgi_pass to Debian's fcgiwrap socket" \
	    grep -q 'fastcgi_pass unix:/run/fcgiwrap.socket;' <(nginx_block 2)
	check "spawn-fcgi script: same socket" \
	    grep -q 'SPAWN_SOCKET:=/run/b24hook.sock' "$DEPLOY/spawn-fcgi/b24hook-spawn"
	check "Apache proxy_fcgi: same socket" \
	    grep -q 'unix:/run/b24hook.sock|fcgi:' "$DEPLOY/apache/b24hook-fcgi.conf"
	assert_eq "service: ReadWritePaths= is the log directory only" \
	    /var/log/b24hook "$(value "$svc" ReadWritePaths)"
	assert_eq "service: Environment= log directory is the same" \
	    B24HOOK_LOG_DIR=/var/log/b24hook \
	    "$(value "$svc" Environment | grep LOG_DIR)"
	check "logrotate rotates that directory's logs" \
	    grep -qx '/var/log/b24hook/\*.jsonl {' "$DEPLOY/logrotate/b24hook"
	check "rsyslog tails that directory's logs" \
	    grep -q 'file="/var/log/b24hook/\*.jsonl"' "$DEPLOY/rsyslog/b24hook-ship.conf"
	check "nginx blocks: client_max_body_size 1m = B24HOOK_MAX_BODY" \
	    test "$(grep -c 'client_max_body_size 1m;' "$NGINX_EXAMPLE")" = 2 \
	    -a "$(grep -c "B24HOOK_MAX_BODY $LIMIT_BODY;" "$NGINX_EXAMPLE")" = 1
	assert_eq "service: Environment= body limit is the same" \
	    "B24HOOK_MAX_BODY=$LIMIT_BODY" \
	    "$(value "$svc" Environment | grep MAX_BODY)"
	check "spawn script: the same body limit" \
	    grep -q "B24HOOK_MAX_BODY:=$LIMIT_BODY}" "$DEPLOY/spawn-fcgi/b24hook-spawn"
	check_not "nginx persistent block: passes no B24HOOK_ setting" \
	    grep -q 'B24HOOK_' <(nginx_block 1 | grep -v '^[[:space:]]*#')
	check_not "Apache FastCGI recipe: passes no B24HOOK_ setting" \
	    grep -q '^[^#]*B24HOOK_' "$DEPLOY/apache/b24hook-fcgi.conf"
	check "nginx blocks: fastcgi_param HTTP_PROXY \"\"" \
	    test "$(grep -c 'fastcgi_param HTTP_PROXY "";' "$NGINX_EXAMPLE")" = 2
	check_not "logrotate snippet: no copytruncate" \
	    grep -q '^[^#]*copytruncate' "$DEPLOY/logrotate/b24hook"

	# enrollment: one spool for the responder, the verifier and its path
	local enroll=$DEPLOY/systemd/b24hook-enroll.service
	local spool=/var/lib/b24hook/enroll
	assert_eq "path unit watches the spool" "$spool" \
	    "$(value "$DEPLOY/systemd/b24hook-enroll.path" PathChanged)"
	assert_eq "path and timer units start the verifier" \
	    "b24hook-enroll.service b24hook-enroll.service" \
	    "$(value "$DEPLOY/systemd/b24hook-enroll.path" Unit) $(value "$DEPLOY/systemd/b24hook-enroll.timer" Unit)"
	assert_eq "verifier: B24HOOK_ENROLL_DIR is the spool" \
	    "B24HOOK_ENROLL_DIR=$spool" "$(value "$enroll" Environment | grep ENROLL)"
	check "service: the spool, commented, as the README turns it on" \
	    grep -qx "#Environment=B24HOOK_ENROLL_DIR=$spool" "$svc"
	check "service: its ReadWritePaths= too" \
	    grep -qx "#ReadWritePaths=$spool" "$svc"
	check "spawn script: passes B24HOOK_ENROLL_DIR when set" \
	    grep -q '${B24HOOK_ENROLL_DIR:+"B24HOOK_ENROLL_DIR=$B24HOOK_ENROLL_DIR"}' \
	    "$DEPLOY/spawn-fcgi/b24hook-spawn"
	assert_eq "verifier: same allow-list and logs as the responder" \
	    "$(value "$svc" Environment | grep -E 'ALLOWLIST|LOG_DIR')" \
	    "$(value "$enroll" Environment | grep -E 'ALLOWLIST|LOG_DIR')"
	assert_eq "verifier: may write the allow-list's directory, logs, spool" \
	    "/etc/b24hook /var/log/b24hook $spool" "$(value "$enroll" ReadWritePaths)"
	check_not "responder: may not write the allow-list" \
	    grep -q '^ReadWritePaths=.*/etc/b24hook' "$svc"
	check "responder: keeps PrivateNetwork" grep -qx PrivateNetwork=yes "$svc"

	local stats=$DEPLOY/systemd/b24hook-stats.service
	assert_eq "stats service: the same settings as the service" \
	    "$(value "$svc" Environment | grep -v MAX_BODY)" \
	    "$(value "$stats" Environment)"
	assert_eq "service: StateDirectory= is B24HOOK_STATE_DIR" \
	    "B24HOOK_STATE_DIR=/var/lib/$(value "$svc" StateDirectory)" \
	    "$(value "$svc" Environment | grep STATE_DIR)"
	assert_eq "stats service: waits for the counters file" \
	    /var/lib/b24hook/counters "$(value "$stats" ConditionPathExists)"
}

# deploy/systemd: verified by systemd-analyze, and the service's own
# ExecStart= and Environment= run with a listening socket on fd 0 (what
# StandardInput=socket gives it) as an unprivileged user.
test_systemd() {
	local d=$T/systemd sock=$T/run/systemd.sock logs allow out exec env state
	mkdir -p "$d"
	logs=$(log_dir systemd nobody:nogroup)
	allow=$(allow_copy allow-systemd.txt nogroup)
	state=$T/state-systemd
	install -d -o nobody -g nogroup -m 0750 "$state"
	check "render b24hook.service" render "$DEPLOY/systemd/b24hook.service" \
	    "$d/b24hook.service" /usr/local/bin/b24hook "$BIN" \
	    /etc/b24hook/allow.txt "$allow" /var/log/b24hook "$logs" \
	    /var/lib/b24hook "$state"
	check "render b24hook.socket" render "$DEPLOY/systemd/b24hook.socket" \
	    "$d/b24hook.socket" /run/b24hook.sock "$sock"
	check "render b24hook-enroll.service" render \
	    "$DEPLOY/systemd/b24hook-enroll.service" "$d/b24hook-enroll.service" \
	    /usr/local/bin/b24hookctl "$CTL"
	check "render b24hook-enroll.path" render \
	    "$DEPLOY/systemd/b24hook-enroll.path" "$d/b24hook-enroll.path" \
	    /var/lib/b24hook/enroll "$T/spool"
	cp "$DEPLOY/systemd/b24hook-enroll.timer" "$d/"
	check "render b24hook-stats.service" render \
	    "$DEPLOY/systemd/b24hook-stats.service" "$d/b24hook-stats.service" \
	    /usr/local/bin/b24hookctl "$CTL" /etc/b24hook/allow.txt "$allow" \
	    /var/log/b24hook "$logs" /var/lib/b24hook "$state" \
	    /var/lib/prometheus/node-exporter "$T/textfile"
	check "render b24hook-stats.timer" cp \
	    "$DEPLOY/systemd/b24hook-stats.timer" "$d/b24hook-stats.timer"
	out=$(systemd-analyze verify "$d/b24hook.socket" "$d/b24hook.service" \
	    "$d/b24hook-enroll.path" "$d/b24hook-enroll.timer" \
	    "$d/b24hook-enroll.service" "$d/b24hook-stats.timer" \
	    "$d/b24hook-stats.service" 2>&1)
	assert_eq "systemd-analyze verify: exit status" 0 "$?"
	assert_eq "systemd-analyze verify: no warning" "" "$out"
	for out in b24hook b24hook-stats; do
		check "systemd-analyze security $out.service: exposure at most 1.0" \
		    systemd-analyze security --offline=yes --threshold=10 \
		    "$d/$out.service"
	done
	check "systemd-analyze security (verifier, with network): at most 3.0" \
	    systemd-analyze security --offline=yes --threshold=30 \
	    "$d/b24hook-enroll.service"
	for out in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
	    StandardInput=socket User=b24hook; do
		check "service: $out" grep -qx "$out" "$DEPLOY/systemd/b24hook.service"
	done

	exec=$(value "$d/b24hook.service" ExecStart)
	mapfile -t env < <(value "$d/b24hook.service" Environment)
	spawn-fcgi -s "$sock" -u nobody -g nogroup -P "$sock.pid" -- \
	    /usr/bin/env -i "${env[@]}" $exec >"$T/run/systemd.out" 2>&1
	track_pidfile "$sock.pid"
	check "service's ExecStart on a socket: listening" wait_until 5 test -S "$sock"
	SOCK=$sock
	LOGS=$logs
	# no B24HOOK_* parameter: the settings come from Environment=
	accepted "service's ExecStart + Environment=" 1 \
	    "$(fixture_portal ONAPPUNINSTALL)" fcgi "$FORM" \
	    "$FIXTURES/ONAPPUNINSTALL.form" -B24HOOK_ALLOWLIST -B24HOOK_LOG_DIR
	site_files_owned "$logs" nobody
	assert_eq "service's Environment=: counters in B24HOOK_STATE_DIR" \
	    "nobody 640" "$(stat -c '%U %a' "$state/counters" 2>&1)"
}

# make install puts every recipe under $(PREFIX)/share/b24hook.
test_install() {
	local dest=$T/dest share f missing=
	if ! make -s -C "$E2E_ROOT" install DESTDIR="$dest" PREFIX=/usr/local \
	    >"$T/run/install.out" 2>&1; then
		fail "make install DESTDIR=..." "$(tail -n 3 "$T/run/install.out")"
		return
	fi
	share=$dest/usr/local/share/b24hook
	for f in nginx.conf.example $(cd "$E2E_ROOT" && find deploy -mindepth 2 -type f | sort); do
		cmp -s "$E2E_ROOT/$f" "$share/$f" || missing="$missing $f"
	done
	assert_eq "make install: every recipe under share/b24hook" "" "$missing"
	check "make install: b24hook-spawn stays executable" \
	    test -x "$share/deploy/spawn-fcgi/b24hook-spawn"
	check "make install: b24hookctl beside b24hook" \
	    test -x "$dest/usr/local/bin/b24hookctl" -a -x "$dest/usr/local/bin/b24hook"
	rm -rf "$dest" # its README quotes the fixtures' allow-list
}

test_nginx() {
	local site fcgi_logs cgi_logs fcgi_allow cgi_allow
	fcgi_logs=$(log_dir fcgi nobody:nogroup)
	cgi_logs=$(log_dir cgi www-data:www-data)
	fcgi_allow=$(allow_copy allow-fcgi.txt nogroup)
	cgi_allow=$(allow_copy allow-cgi.txt www-data)
	check "render nginx block 1 (persistent responder)" \
	    nginx_site fcgi 1 "$fcgi_logs" "$fcgi_allow"
	check "render nginx block 1, B24HOOK_MAX_BODY=1000" \
	    nginx_site fcgi-small 1 "$fcgi_logs" "$fcgi_allow" 1000
	check "render nginx block 2 (fcgiwrap)" \
	    nginx_site cgi 2 "$cgi_logs" "$cgi_allow"
	check "render nginx block 2, B24HOOK_MAX_BODY=1000" \
	    nginx_site cgi-small 2 "$cgi_logs" "$cgi_allow" 1000
	for site in fcgi cgi; do
		assert_eq "rendered block ($site): no production path left" "" \
		    "$(production_paths "$T/nginx/site-$site.conf")"
	done
	check "responder started by deploy/spawn-fcgi/b24hook-spawn" \
	    responder_start "$T/run/b24hook.sock" "$fcgi_logs" "$fcgi_allow"
	check "responder with B24HOOK_MAX_BODY=1000 started" \
	    responder_start "$T/run/b24hook-1000.sock" "$fcgi_logs" \
	    "$fcgi_allow" 1 1000
	assert_eq "b24hook-spawn: 2 responders, as nobody" "nobody nobody" \
	    "$(for p in $(cat "$T/run/b24hook.sock.pid"); do
		ps -o user= -p "$p"; done | paste -sd ' ')"
	assert_eq "b24hook-spawn: socket owned by www-data, mode 0660" \
	    "www-data 660" "$(stat -c '%U %a' "$T/run/b24hook.sock")"
	check "fcgiwrap started" fcgiwrap_start "$T/run/fcgiwrap.sock"
	if ! nginx_start; then
		fail "nginx started" "$(cat "$T/nginx/test.out" "$T/nginx/start.out" |
		    grep -o 'emerg.*' | head -n 3)"
		return
	fi
	ok "nginx started (nginx -t passed)"

	direct_keys
	LOGS=$fcgi_logs
	site_fixtures fcgi
	site_refusals fcgi fcgi-small
	check "GET: nginx's reply is b24hook's JSON" \
	    test "$(post fcgi - - -X GET; jq -c . "$OUT")" = \
	    '{"status":"error","error":"method_not_allowed"}'
	LOGS=$cgi_logs
	site_fixtures cgi
	site_refusals cgi cgi-small
	site_files_owned "$fcgi_logs" nobody
	site_files_owned "$cgi_logs" www-data
}

# make serve, as a person runs it: it prints a curl line and a tail line;
# the curl line posts an event that lands in the file the tail line
# watches; Ctrl-C (SIGINT to its process group) stops all it started.
test_serve() {
	local port dir=$T/serve out=$T/run/serve.out pid line pids p left=
	free_port port || return
	SERVE_PORT=$port SERVE_DIR=$dir setsid bash "$E2E_ROOT/scripts/serve.sh" \
	    >"$out" 2>&1 &
	pid=$!
	if ! wait_until 20 grep -q '^ *curl ' "$out"; then
		fail "make serve: ready" "$(tail -n 3 "$out")"
		kill -INT -- -"$pid" 2>/dev/null
		return
	fi
	ok "make serve: ready on 127.0.0.1:$port"
	pids=$(cat "$dir"/*.pid 2>/dev/null)
	line=$(sed -n 's/^ *\(curl .*\)/\1/p' "$out" | head -n 1)
	check "make serve: the curl line posts on 127.0.0.1:$port" \
	    grep -q "http://127.0.0.1:$port/bitrix24/event" <<<"$line"
	(cd "$E2E_ROOT" && eval "$line") >"$T/run/serve.reply" 2>&1
	assert_eq "make serve: the curl line's reply" \
	    '{"status":"ok","records":1}' "$(cat "$T/run/serve.reply")"
	line=$(sed -n 's/^ *tail -f \(.*\)/\1/p' "$out" | head -n 1)
	assert_eq "make serve: the tail line's file has the record" 1 \
	    "$(cd "$E2E_ROOT" && lines "$line")"
	kill -INT -- -"$pid"
	check "make serve: Ctrl-C ends it" wait_until 10 gone "$pid"
	for p in $pids; do gone "$p" || left="$left $p"; done
	assert_eq "make serve: Ctrl-C stopped nginx and the responders" "" "$left"
	check "make serve: it had started nginx and 2 responders" \
	    test "$(wc -w <<<"$pids")" -ge 3
	rm -f "$dir/allow.txt" # the input, a copy of the fixtures'
}

need nginx spawn-fcgi /usr/sbin/fcgiwrap curl openssl jq cgi-fcgi \
    systemd-analyze make
servers_setup
test -x "$CTL" || {
	fail "build/b24hookctl built (make)"
	finish $TEST_NAME
}
tls_setup || {
	fail "TLS certificate made"
	finish $TEST_NAME
}
test_recipes_agree
test_systemd
test_install
test_nginx
test_serve
check_no_secrets "no secret in logs, server logs or captured output" "$T"
check "every server stopped by its pid (SIGTERM)" servers_stop
finish $TEST_NAME
