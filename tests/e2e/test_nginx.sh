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
	missing=
	for f in README.md $(cd "$E2E_ROOT" && ls docs/*.md); do
		cmp -s "$E2E_ROOT/$f" "$share/$f" || missing="$missing $f"
	done
	assert_eq "make install: README.md and docs/ under share/b24hook" "" \
	    "$missing"
	rm -rf "$dest" # its docs quote the fixtures' allow-list
}

# make install with PREFIX=/usr, the programs in /usr/sbin: every unit and
# example names the programs and the documentation where they went, none
# /usr/local; make uninstall removes all it put.
test_install_usr() {
	local dest=$T/dest-usr left
	local -a vars=(DESTDIR="$dest" PREFIX=/usr BINDIR=/usr/sbin)
	if ! make -s -C "$E2E_ROOT" install "${vars[@]}" \
	    >"$T/run/install-usr.out" 2>&1; then
		fail "make install PREFIX=/usr" "$(tail -n 3 "$T/run/install-usr.out")"
		return
	fi
	check "PREFIX=/usr: programs in /usr/sbin" \
	    test -x "$dest/usr/sbin/b24hook" -a -x "$dest/usr/sbin/b24hookctl"
	assert_eq "PREFIX=/usr: no unit or example names /usr/local" "" \
	    "$(grep -rl /usr/local "$dest/usr/share/b24hook/nginx.conf.example" \
	    "$dest/usr/share/b24hook/deploy" | sed "s|^$dest||")"
	assert_eq "PREFIX=/usr: the service runs /usr/sbin/b24hook" \
	    /usr/sbin/b24hook "$(value \
	    "$dest/usr/share/b24hook/deploy/systemd/b24hook.service" ExecStart)"
	assert_eq "PREFIX=/usr: the verifier runs /usr/sbin/b24hookctl" \
	    "/usr/sbin/b24hookctl enroll verify" "$(value \
	    "$dest/usr/share/b24hook/deploy/systemd/b24hook-enroll.service" ExecStart)"
	check "PREFIX=/usr: fcgiwrap block's SCRIPT_FILENAME" \
	    grep -q 'SCRIPT_FILENAME /usr/sbin/b24hook;' \
	    "$dest/usr/share/b24hook/nginx.conf.example"
	check "PREFIX=/usr: spawn script's SPAWN_BIN" \
	    grep -q 'SPAWN_BIN:=/usr/sbin/b24hook}' \
	    "$dest/usr/share/b24hook/deploy/spawn-fcgi/b24hook-spawn"
	make -s -C "$E2E_ROOT" install "${vars[@]}" SYSCONFDIR=/opt/etc \
	    >/dev/null 2>&1
	check "SYSCONFDIR=/opt/etc: the service's allow-list there" \
	    grep -qx 'Environment=B24HOOK_ALLOWLIST=/opt/etc/b24hook/allow.txt' \
	    "$dest/usr/share/b24hook/deploy/systemd/b24hook.service"
	make -s -C "$E2E_ROOT" uninstall "${vars[@]}" >"$T/run/uninstall.out" 2>&1
	left=$(cd "$dest" && find . -type f | sort | paste -sd ' ')
	assert_eq "make uninstall: no file left" "" "$left"
	check "make uninstall: share/b24hook gone" test ! -e "$dest/usr/share/b24hook"
	rm -rf "$dest"
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
	nginx_json fcgi
	LOGS=$cgi_logs
	nginx_json cgi
	LOGS=$cgi_logs
	site_fixtures cgi
	site_refusals cgi cgi-small
	site_files_owned "$fcgi_logs" nobody
	site_files_owned "$cgi_logs" www-data
}

# nginx_json SITE: nginx's own 413 and 404 are b24hook's replies: the
# status, Content-Type application/json, the JSON body; b24hook is not
# reached and nothing is written.
nginx_json() {
	local site=$1 before url
	before=$(dir_sum "$T/logs")
	post "$site" "$FORM" "$(body_of_size $((LIMIT_BODY + 1)))"
	assert_eq "$site over client_max_body_size: 413" 413 "$STATUS"
	assert_eq "$site over client_max_body_size: b24hook's JSON" \
	    '{"status":"error","error":"body_too_large"}' \
	    "$(jq -c . <<<"$REPLY" 2>&1)"
	assert_eq "$site over client_max_body_size: Content-Type" \
	    application/json "$(header Content-Type)"
	assert_eq "$site over client_max_body_size: b24hook not reached" 0 \
	    "$OPLINES"
	for url in / /bitrix24/event/ /bitrix24/other; do
		STATUS=$(curl -sS --noproxy '*' --max-time 30 \
		    --cacert "$T/tls/cert.pem" \
		    --resolve "$HOOK_HOST:${SITE_PORT[$site]}:127.0.0.1" \
		    -o "$T/run/404.out" -D "$T/run/404.headers" -w '%{http_code}' \
		    -H "Content-Type: $FORM" \
		    --data-binary "@$FIXTURES/ONAPPUNINSTALL.form" \
		    "https://$HOOK_HOST:${SITE_PORT[$site]}$url" 2>&1)
		HEADERS=$(tr -d '\r' <"$T/run/404.headers")
		assert_eq "$site POST $url: 404" 404 "$STATUS"
		assert_eq "$site POST $url: JSON not_found" \
		    '{"status":"error","error":"not_found"}' \
		    "$(jq -c . "$T/run/404.out" 2>&1)"
		assert_eq "$site POST $url: Content-Type" application/json \
		    "$(header Content-Type)"
	done
	assert_eq "$site 413, 404: logs unchanged" "$before" "$(dir_sum "$T/logs")"
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
	line=$(sed -n 's/^ *tail -F \(.*\)/\1/p' "$out" | head -n 1)
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

# make serve when it cannot serve: its port is taken (by a first make
# serve), or nginx does not start.  Either way one clear line, a failed
# exit, and nothing left running.
test_serve_fails() {
	local port out=$T/run/serve-busy.out pid rc pids p left=
	free_port port || return
	SERVE_PORT=$port SERVE_DIR=$T/serve-first setsid bash \
	    "$E2E_ROOT/scripts/serve.sh" >"$T/run/serve-first.out" 2>&1 &
	pid=$!
	if ! wait_until 20 grep -q '^ *curl ' "$T/run/serve-first.out"; then
		fail "make serve: a first one ready" \
		    "$(tail -n 3 "$T/run/serve-first.out")"
		kill -INT -- -"$pid" 2>/dev/null
		return
	fi
	SERVE_PORT=$port SERVE_DIR=$T/serve-busy timeout 20 \
	    bash "$E2E_ROOT/scripts/serve.sh" >"$out" 2>&1
	rc=$?
	assert_eq "make serve, port taken: exit 1" 1 "$rc"
	check "make serve, port taken: says so" \
	    grep -q "^serve: 127.0.0.1:$port is in use" "$out"
	check "make serve, port taken: the first one still serves" \
	    listening "$port"
	kill -INT -- -"$pid"
	wait_until 10 gone "$pid"

	# nginx failing to start: a stand-in that fails as nginx -t would
	mkdir -p "$T/fakebin"
	printf '#!/bin/sh\necho "nginx: [emerg] a stand-in that fails" >&2\nexit 1\n' \
	    >"$T/fakebin/nginx"
	chmod 0755 "$T/fakebin/nginx"
	free_port port || return
	out=$T/run/serve-nonginx.out
	PATH=$T/fakebin:$PATH SERVE_PORT=$port SERVE_DIR=$T/serve-nonginx \
	    timeout 20 bash "$E2E_ROOT/scripts/serve.sh" >"$out" 2>&1
	rc=$?
	assert_eq "make serve, nginx fails: exit 1" 1 "$rc"
	check "make serve, nginx fails: says so" \
	    grep -q "^serve: nginx did not start on 127.0.0.1:$port" "$out"
	pids=$(cat "$T/serve-nonginx/responders.pid" 2>/dev/null)
	check "make serve, nginx fails: it had started the responders" \
	    test -n "$pids"
	for p in $pids; do wait_until 5 gone "$p" || left="$left $p"; done
	assert_eq "make serve, nginx fails: the responders stopped" "" "$left"
	rm -f "$T"/serve-*/allow.txt
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
test_install_usr
test_nginx
test_serve
test_serve_fails
check_no_secrets "no secret in logs, server logs or captured output" "$T"
check "every server stopped by its pid (SIGTERM)" servers_stop
finish $TEST_NAME
