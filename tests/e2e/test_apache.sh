#!/bin/bash
# End-to-end: b24hook behind real Apache, started from the recipes
# themselves: deploy/apache/b24hook-fcgi.conf (mod_proxy_fcgi to the
# persistent responder started by deploy/spawn-fcgi/b24hook-spawn) and
# deploy/apache/b24hook-cgi.conf (plain CGI through mod_cgid).
# Run from anywhere: bash tests/e2e/test_apache.sh
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
TEST_NAME=test_apache
MODULES=/usr/lib/apache2/modules

# apache_site NAME RECIPE LOGDIR ALLOW [MAX_BODY]: the virtual host of
# deploy/apache/b24hook-RECIPE.conf (fcgi or cgi), rendered for a free
# port into $T/apache/site-NAME.conf.
apache_site() {
	local name=$1 recipe=$2 port out=$T/apache/site-$1.conf opline
	local errlog=$T/apache/$1.error.log
	local -a more=()
	free_port port || return 1
	mkdir -p "$T/apache"
	case $recipe in
	fcgi)
		more=(/run/b24hook.sock "$T/run/b24hook${5:+-$5}.sock")
		# mod_proxy_fcgi: AH01071: Got error 'b24hook: ...\n'
		opline="s/.*AH01071: Got error '\\(b24hook: .*\\)'.*/\\1/; T; s/\\\\n\$//; p"
		;;
	cgi)
		more=(/usr/local/bin/b24hook "$BIN" /etc/b24hook/allow.txt "$4"
		    /var/log/b24hook "$3")
		[ -z "${5-}" ] ||
		    more+=("B24HOOK_MAX_BODY $LIMIT_BODY" "B24HOOK_MAX_BODY $5")
		# mod_cgid: the script's stderr, line by line, as it is, in
		# the main server's error log (not the virtual host's)
		errlog=$T/apache/error.log
		opline='/^b24hook: /p'
		;;
	esac
	render "$DEPLOY/apache/b24hook-$recipe.conf" "$out" \
	    '<VirtualHost *:443>' "<VirtualHost 127.0.0.1:$port>" \
	    "/etc/letsencrypt/live/$HOOK_HOST/fullchain.pem" "$T/tls/cert.pem" \
	    "/etc/letsencrypt/live/$HOOK_HOST/privkey.pem" "$T/tls/key.pem" \
	    /var/log/apache2/b24hook. "$T/apache/$name." \
	    "${more[@]}" || return 1
	echo "Listen 127.0.0.1:$port https" >>"$T/apache/listen.conf"
	site_add "$name" "$port" "$T/apache/$name.access.log" "$errlog" \
	    "$opline"
}

# apache_start: Apache with every site rendered so far, configured as
# Debian's apache2.conf does where it matters (www-data, <Directory />
# denied), its modules loaded explicitly, everything else in $T/apache.
apache_start() {
	local d=$T/apache m name
	mkdir -p "$d/run"
	{
		for m in mpm_event authz_core alias cgid env headers \
		    allowmethods proxy proxy_fcgi ssl socache_shmcb; do
			echo "LoadModule ${m}_module $MODULES/mod_$m.so"
		done
		cat <<-EOF
		ServerRoot $d
		ServerName 127.0.0.1
		PidFile $d/apache.pid
		DefaultRuntimeDir $d/run
		ScriptSock $d/run/cgisock
		ErrorLog $d/error.log
		LogLevel warn
		User www-data
		Group www-data
		Timeout 30
		LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
		<Directory />
		    AllowOverride None
		    Require all denied
		</Directory>
		Include $d/listen.conf
		Include $d/site-*.conf
		EOF
	} >"$d/apache.conf"
	apache2 -t -f "$d/apache.conf" >"$d/test.out" 2>&1 || return 1
	apache2 -f "$d/apache.conf" -k start >"$d/start.out" 2>&1 || return 1
	wait_until 5 test -s "$d/apache.pid" || return 1
	track_pidfile "$d/apache.pid"
	for name in "${!SITE_PORT[@]}"; do
		wait_until 5 listening "${SITE_PORT[$name]}" || return 1
	done
}

test_apache() {
	local site fcgi_logs cgi_logs fcgi_allow cgi_allow
	fcgi_logs=$(log_dir fcgi nobody:nogroup)
	cgi_logs=$(log_dir cgi www-data:www-data)
	fcgi_allow=$(allow_copy allow-fcgi.txt nogroup)
	cgi_allow=$(allow_copy allow-cgi.txt www-data)
	check "render b24hook-fcgi.conf" apache_site fcgi fcgi "$fcgi_logs" \
	    "$fcgi_allow"
	check "render b24hook-fcgi.conf, B24HOOK_MAX_BODY=1000" \
	    apache_site fcgi-small fcgi "$fcgi_logs" "$fcgi_allow" 1000
	check "render b24hook-cgi.conf" apache_site cgi cgi "$cgi_logs" \
	    "$cgi_allow"
	check "render b24hook-cgi.conf, B24HOOK_MAX_BODY=1000" \
	    apache_site cgi-small cgi "$cgi_logs" "$cgi_allow" 1000
	for site in fcgi cgi; do
		assert_eq "rendered vhost ($site): no production path left" "" \
		    "$(production_paths "$T/apache/site-$site.conf")"
	done
	check "responder started by deploy/spawn-fcgi/b24hook-spawn" \
	    responder_start "$T/run/b24hook.sock" "$fcgi_logs" "$fcgi_allow"
	check "responder with B24HOOK_MAX_BODY=1000 started" \
	    responder_start "$T/run/b24hook-1000.sock" "$fcgi_logs" \
	    "$fcgi_allow" 1 1000
	if ! apache_start; then
		fail "Apache started" "$(cat "$T/apache/test.out" \
		    "$T/apache/start.out" "$T/apache/error.log" 2>/dev/null |
		    tail -n 3)"
		return
	fi
	ok "Apache started (apache2 -t passed)"

	direct_keys
	LOGS=$fcgi_logs
	site_fixtures fcgi
	site_refusals fcgi fcgi-small "413 body_too_large"
	LOGS=$cgi_logs
	site_fixtures cgi
	# mod_cgid may start b24hook before it enforces its own limit (then
	# b24hook refuses by Content-Length); as CGI b24hook reads and drops
	# a body it refused unread, or mod_cgid can lose the reply.
	site_refusals cgi cgi-small either
	site_files_owned "$fcgi_logs" nobody
	site_files_owned "$cgi_logs" www-data
}

need apache2 spawn-fcgi curl openssl jq
servers_setup
tls_setup || {
	fail "TLS certificate made"
	finish $TEST_NAME
}
test_apache
check_no_secrets "no secret in logs, server logs or captured output" "$T"
check "every server stopped by its pid (SIGTERM)" servers_stop
finish $TEST_NAME
