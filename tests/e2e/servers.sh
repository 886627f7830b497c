# tests/e2e/servers.sh: helpers for the end-to-end tests that run b24hook
# behind real servers started from the recipes the repository ships
# (nginx.conf.example, deploy/).  Sourced after lib.sh.
#
# Every server listens on loopback only, keeps its configuration, pid and
# log files under $T, runs as the users a Debian host would use (www-data
# for the web server and fcgiwrap, nobody:nogroup standing in for the
# dedicated b24hook user) and is stopped by pid when the test exits.
# Recipes are rendered, never copied by hand: render() replaces the
# documented production paths with the test's and fails when one of them
# is missing from the recipe, so a recipe edited out of shape fails here.
#
# Same rule as lib.sh: nothing printed here holds a body or a token.

DEPLOY=$E2E_ROOT/deploy
NGINX_EXAMPLE=$E2E_ROOT/nginx.conf.example
HOOK_HOST=hooks.example.com
HOOK_PATH=/bitrix24/event
LIMIT_BODY=1048576 # B24HOOK_MAX_BODY and the servers' limit in the recipes

# --- setup, processes ------------------------------------------------------

# servers_setup: e2e_setup, plus what the servers' users need: they may
# traverse $T and $IN (not list them), run $BIN (a copy of build/b24hook,
# so its path does not depend on where the repository lives; $CTL is one
# of build/b24hookctl) and read allow-lists made by allow_copy.
servers_setup() {
	e2e_setup
	trap servers_cleanup EXIT
	STOP=()
	USED_PORTS=
	chmod 0711 "$T" "$IN"
	mkdir -p "$T/bin" "$IN/etc"
	chmod 0711 "$IN/etc"
	BIN=$T/bin/b24hook
	install -m 0755 "$B24HOOK" "$BIN"
	CTL=$T/bin/b24hookctl
	install -m 0755 "$B24HOOKCTL" "$CTL"
}

servers_cleanup() {
	servers_stop
	e2e_cleanup
}

# need TOOL...: every tool is installed (make check installs them through
# scripts/deps.d/deploy.txt), or the test stops here as failed.
need() {
	local t missing=
	for t; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] && return 0
	fail "tools installed" "missing:$missing (make deps)"
	finish "${TEST_NAME:-servers}"
}

# track_pid PID / track_pidfile FILE: stop it (every pid in FILE, read at
# stop time) when the test ends, in the reverse order of tracking.
track_pid() { STOP+=("pid:$1"); }
track_pidfile() { STOP+=("file:$1"); }

# servers_stop: stop every tracked process by pid: SIGTERM, then SIGKILL
# after 5 s.  Returns 1 when one had to be killed.
servers_stop() {
	local i entry pid rc=0
	for ((i = ${#STOP[@]} - 1; i >= 0; i--)); do
		entry=${STOP[i]}
		case $entry in
		pid:*) set -- "${entry#pid:}" ;;
		file:*) set -- $(cat "${entry#file:}" 2>/dev/null) ;;
		esac
		for pid; do
			[ -n "$pid" ] || continue
			stop_pid "$pid" && continue
			kill -KILL "$pid" 2>/dev/null
			rc=1
		done
	done
	STOP=()
	return $rc
}

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s; 0 once it
# succeeds, 1 when the time is up.
wait_until() {
	local n=$(($1 * 10)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# listening PORT: something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port VAR: a loopback port nothing listens on, not handed out yet.
free_port() {
	local p i
	for i in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		case " $USED_PORTS " in *" $p "*) continue ;; esac
		listening "$p" && continue
		USED_PORTS="$USED_PORTS $p"
		printf -v "$1" '%s' "$p"
		return 0
	done
	echo "free_port: no free port found" >&2
	return 1
}

# --- recipes --------------------------------------------------------------

# render SRC OUT [FROM TO]...: SRC with every FROM (a literal string)
# replaced by TO, written to OUT.  Fails, naming FROM, when SRC lacks it.
render() {
	local src=$1 out=$2 text
	shift 2
	text=$(cat "$src" && echo .) || return 1
	text=${text%.}
	while [ $# -ge 2 ]; do
		case $text in
		*"$1"*) text=${text//"$1"/"$2"} ;;
		*)
			echo "render: '$1' is not in $(basename "$src")" >&2
			return 1
			;;
		esac
		shift 2
	done
	printf '%s' "$text" >"$out"
}

# production_paths FILE: the lines of FILE, comments aside, that still
# name a production path; nothing when the rendering replaced them all.
production_paths() {
	grep -nE "(^|[[:space:]:=\"'])(/etc/|/var/|/run/|/usr/local/)|example\.com" "$1" |
	    grep -vE '^[0-9]+:[[:space:]]*#' | grep -v 'server_name\|ServerName'
}

# nginx_block N: the Nth top-level "server {" block of nginx.conf.example.
nginx_block() {
	awk -v want="$1" '/^server[ \t]*\{/ { n++; on = (n == want) }
	    on { print } on && /^\}/ { on = 0 }' "$NGINX_EXAMPLE"
}

# allow_copy NAME GROUP: the fixtures' allow-list as $IN/etc/NAME, mode
# 0640 root:GROUP as the README installs it; prints its path.
allow_copy() {
	install -m 0640 -o root -g "$2" "$FIXTURES/allow.txt" "$IN/etc/$1"
	printf '%s\n' "$IN/etc/$1"
}

# log_dir NAME OWNER:GROUP: an empty log directory $T/logs/NAME, mode 2750
# (the README's), owned so; prints its path.
log_dir() {
	install -d -m 2750 -o "${2%%:*}" -g "${2##*:}" "$T/logs/$1"
	printf '%s\n' "$T/logs/$1"
}

# tls_setup: a self-signed certificate for $HOOK_HOST in $T/tls, which
# curl is told to trust: the TLS lines of the recipes are exercised too.
tls_setup() {
	mkdir -p "$T/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -subj "/CN=$HOOK_HOST" -addext "subjectAltName=DNS:$HOOK_HOST" \
	    -keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" >/dev/null 2>&1
}

# The responder, started with deploy/spawn-fcgi/b24hook-spawn itself.
# responder_start SOCK LOGDIR ALLOW [CHILDREN [MAX_BODY [ENROLL_DIR]]]:
# runs as nobody:nogroup, its socket owned by www-data (the web server's
# workers); pids in SOCK.pid.  MAX_BODY: B24HOOK_MAX_BODY, the script's
# default when empty or not given; ENROLL_DIR: B24HOOK_ENROLL_DIR
# (enrollment on).  RESPONDER_STATE_DIR, when set: B24HOOK_STATE_DIR (the
# counters), which the script passes on.  RESPONDER_CONF: the script's
# B24HOOK_CONF (none when unset: the host's /etc/b24hook is not read).
responder_start() {
	local -a more=()
	[ -z "${5-}" ] || more=(B24HOOK_MAX_BODY="$5")
	[ -z "${6-}" ] || more+=(B24HOOK_ENROLL_DIR="$6")
	[ -z "${RESPONDER_STATE_DIR-}" ] ||
	    more+=(B24HOOK_STATE_DIR="$RESPONDER_STATE_DIR")
	env -i PATH="$PATH" SPAWN_SOCKET="$1" SPAWN_SOCKET_USER=www-data \
	    SPAWN_USER=nobody SPAWN_GROUP=nogroup SPAWN_CHILDREN="${4:-2}" \
	    SPAWN_PIDFILE="$1.pid" SPAWN_BIN="$BIN" \
	    B24HOOK_CONF="${RESPONDER_CONF:-/dev/null}" B24HOOK_ALLOWLIST="$3" B24HOOK_LOG_DIR="$2" "${more[@]}" \
	    sh "$DEPLOY/spawn-fcgi/b24hook-spawn" >"$T/run/spawn.out" 2>&1 ||
	    return 1
	track_pidfile "$1.pid"
	wait_until 5 test -S "$1"
}

# fcgiwrap_start SOCK: fcgiwrap as Debian's fcgiwrap.service runs it
# (www-data, -f: the CGI's stderr goes to the web server).
fcgiwrap_start() {
	spawn-fcgi -s "$1" -M 0660 -U www-data -u www-data -g www-data \
	    -P "$1.pid" -- /usr/bin/env -i /usr/sbin/fcgiwrap -f \
	    >"$T/run/fcgiwrap.out" 2>&1 || return 1
	track_pidfile "$1.pid"
	wait_until 5 test -S "$1"
}

# --- sites: one server block or virtual host of a recipe, on one port -------

declare -A SITE_URL SITE_PORT SITE_ACCESS SITE_ERROR SITE_OPLINE

# site_add NAME PORT ACCESS_LOG ERROR_LOG OPLINE_SED: register a site;
# OPLINE_SED extracts b24hook's operator lines from the server's error log.
site_add() {
	SITE_PORT[$1]=$2
	SITE_URL[$1]="https://$HOOK_HOST:$2$HOOK_PATH"
	SITE_ACCESS[$1]=$3
	SITE_ERROR[$1]=$4
	SITE_OPLINE[$1]=$5
}

# nginx_site NAME BLOCK LOGDIR ALLOW [MAX_BODY]: server block BLOCK of
# nginx.conf.example, rendered for a free port into
# $T/nginx/site-NAME.conf.  Block 1 passes to the persistent responder on
# $T/run/b24hook.sock ($T/run/b24hook-MAX_BODY.sock with MAX_BODY), which
# has its settings (LOGDIR, ALLOW) of its own; block 2, to fcgiwrap on
# $T/run/fcgiwrap.sock, passing LOGDIR, ALLOW and MAX_BODY.
nginx_site() {
	local name=$1 block=$2 port src=$T/nginx/block-$1 out=$T/nginx/site-$1.conf
	local -a more=()
	free_port port || return 1
	mkdir -p "$T/nginx"
	nginx_block "$block" >"$src"
	case $block in
	1) more=(/run/b24hook.sock "$T/run/b24hook${5:+-$5}.sock") ;;
	2) more=(/run/fcgiwrap.socket "$T/run/fcgiwrap.sock"
	    /usr/local/bin/b24hook "$BIN" /etc/b24hook/allow.txt "$4"
	    /var/log/b24hook "$3")
	    [ -z "${5-}" ] ||
		more+=("B24HOOK_MAX_BODY $LIMIT_BODY" "B24HOOK_MAX_BODY $5") ;;
	esac
	render "$src" "$out" \
	    'listen 443 ssl;' "listen 127.0.0.1:$port ssl;" \
	    'listen [::]:443 ssl;' '# (no [::]:443 in the test)' \
	    "/etc/letsencrypt/live/$HOOK_HOST/fullchain.pem" "$T/tls/cert.pem" \
	    "/etc/letsencrypt/live/$HOOK_HOST/privkey.pem" "$T/tls/key.pem" \
	    /var/log/nginx/b24hook. "$T/nginx/$name." \
	    "${more[@]}" || return 1
	site_add "$name" "$port" "$T/nginx/$name.access.log" \
	    "$T/nginx/$name.error.log" \
	    's/.*FastCGI sent in stderr: "\(b24hook: .*\)" while .*/\1/p'
}

# nginx_start: nginx with every site rendered so far, as Debian's
# nginx.conf runs it (workers as www-data), in $T/nginx.
nginx_start() {
	local d=$T/nginx name
	mkdir -p "$d/tmp"
	ln -sf /etc/nginx/fastcgi_params "$d/fastcgi_params"
	cat >"$d/nginx.conf" <<-EOF
	user www-data;
	worker_processes 2;
	pid $d/nginx.pid;
	error_log $d/error.log;
	events { worker_connections 256; }
	http {
	    client_body_temp_path $d/tmp/body;
	    fastcgi_temp_path $d/tmp/fastcgi;
	    proxy_temp_path $d/tmp/proxy;
	    uwsgi_temp_path $d/tmp/uwsgi;
	    scgi_temp_path $d/tmp/scgi;
	    access_log $d/access.log;
	    include $d/site-*.conf;
	}
	EOF
	nginx -e "$d/error.log" -p "$d/" -c "$d/nginx.conf" -t -q \
	    >"$d/test.out" 2>&1 || return 1
	nginx -e "$d/error.log" -p "$d/" -c "$d/nginx.conf" \
	    >"$d/start.out" 2>&1 || return 1
	wait_until 5 test -s "$d/nginx.pid" || return 1
	track_pidfile "$d/nginx.pid"
	for name in "${!SITE_PORT[@]}"; do
		wait_until 5 listening "${SITE_PORT[$name]}" || return 1
	done
}

# --- requests through a site ----------------------------------------------

# lib.sh's post takes the modes cgi and fcgi; a registered site name as the
# mode posts through that site instead (post_site).
eval "lib_post() $(declare -f post | tail -n +2)"
post() {
	if [ -n "${SITE_URL[$1]-}" ]; then
		post_site "$@"
	else
		lib_post "$@"
	fi
}

# post_site SITE CT BODY [CURL-ARG]...
#
# POSTs BODY (a file, or - for no body) to SITE with curl as a portal does
# (Content-Type CT, or - for none), over TLS to $HOOK_HOST, trusting only
# the test's certificate.  Sets what lib.sh's post sets: STATUS, HEADERS,
# REPLY, ERROR, RECORDS, OUT, and ERR / OPLINES: b24hook's operator lines
# that reached the server's error log for this request (read once the
# server has logged the request, so none is still on its way).
post_site() {
	local site=$1 ct=$2 body=$3 acc before errbefore hdr
	local -a args=()
	shift 3
	acc=${SITE_ACCESS[$site]}
	POST_N=$((POST_N + 1))
	OUT=$T/run/$POST_N.out
	ERR=$T/run/$POST_N.err
	hdr=$T/run/$POST_N.headers
	before=$(lines "$acc")
	errbefore=$(lines "${SITE_ERROR[$site]}")
	if [ "$ct" = - ]; then args+=(-H 'Content-Type:'); else args+=(-H "Content-Type: $ct"); fi
	[ "$body" = - ] || args+=(--data-binary "@$body")
	STATUS=$(curl -sS --noproxy '*' --max-time 30 --cacert "$T/tls/cert.pem" \
	    --resolve "$HOOK_HOST:${SITE_PORT[$site]}:127.0.0.1" \
	    -o "$OUT" -D "$hdr" -w '%{http_code}' "${args[@]}" "$@" \
	    "${SITE_URL[$site]}" 2>"$T/run/$POST_N.curl")
	wait_until 5 eval '[ "$(lines "$acc")" -gt "$before" ]' ||
	    echo "post_site: $site did not log request $POST_N" >&2
	tail -n +"$((errbefore + 1))" "${SITE_ERROR[$site]}" 2>/dev/null |
	    sed -n "${SITE_OPLINE[$site]}" >"$ERR"
	HEADERS=$(tr -d '\r' <"$hdr")
	REPLY=$(cat "$OUT" 2>/dev/null)
	ERROR=$(jq -r '.error // empty' <<<"$REPLY" 2>/dev/null)
	RECORDS=$(jq -r '.records // empty' <<<"$REPLY" 2>/dev/null)
	OPLINES=$(grep -c "" "$ERR")
}

# header NAME: the value of the last reply's header NAME (last one wins).
header() {
	sed -n "s/^$1: *//Ip" <<<"$HEADERS" | tail -n 1
}

# allowed: the methods the last reply's Allow header lines list together
# (RFC 9110: lines of a list header combine; empty elements mean nothing),
# sorted, space-separated.
allowed() {
	sed -n 's/^Allow: *//Ip' <<<"$HEADERS" | tr ',' '\n' | tr -d ' \t' |
	    grep . | LC_ALL=C sort -u | paste -sd ' '
}

# --- checks shared by the web server tests ---------------------------------

# direct_keys: KEYS[NAME] = the record keys of every fixture posted as plain
# CGI straight to the binary, to compare with what arrives through a server
# (same keys: the server passed the body through unchanged).
declare -A KEYS
direct_keys() {
	local f name dir=$T/logs/direct
	mkdir -p "$dir"
	for f in "$FIXTURES"/*.form; do
		name=$(basename "$f" .form)
		lib_post cgi "$FORM" "$f" "B24HOOK_ALLOWLIST=$FIXTURES/allow.txt" \
		    "B24HOOK_LOG_DIR=$dir"
		KEYS[$name]=$(jq -r .key "$dir/$(fixture_portal "$name").jsonl" |
		    tail -n "${RECORDS:-0}" | paste -sd ' ')
	done
}

expected_records() {
	case $1 in
	ONIMCONNECTORMESSAGEDELETE) echo 2 ;;
	*) echo 1 ;;
	esac
}

# site_fixtures SITE: every fixture event, form-encoded as a portal posts
# it, is accepted through SITE into $LOGS with the same records (keys) as
# when posted straight to the binary.
site_fixtures() {
	local site=$1 f name portal
	for f in "$FIXTURES"/*.form; do
		name=$(basename "$f" .form)
		portal=$(fixture_portal "$name")
		accepted "$site $name" "$(expected_records "$name")" "$portal" \
		    "$site" "$FORM" "$f"
		assert_eq "$site $name: same records as posted directly" \
		    "${KEYS[$name]}" "$(new_keys)"
		assert_eq "$site $name: Content-Type" application/json \
		    "$(header Content-Type)"
	done
}

# site_refusals SITE SMALL [LINE]: the error cases through SITE, whose
# limit is $LIMIT_BODY, and SMALL, the same recipe with B24HOOK_MAX_BODY=1000.
# LINE: the operator line ("413 body_too_large") when the server passes a
# body over its limit on to b24hook, "either" when the server may do one or
# the other; none by default.
site_refusals() {
	local site=$1 small=$2 reached=${3-} name=ONIMCONNECTORMESSAGEADD mid tok before line
	mid=$(fixture_portal $name)
	tok=$(allow_token "$mid")
	sed "s/=$tok/=forgedforgedforgedforgedforged00/" \
	    "$FIXTURES/$name.form" >"$IN/forged.form"
	sed "s/=$mid/=0123456789abcdef0123456789abcdef/" \
	    "$FIXTURES/$name.form" >"$IN/unknown.form"

	refused "$site forged token" 403 forbidden token_mismatch \
	    "$site" "$FORM" "$IN/forged.form"
	refused "$site unknown portal" 403 forbidden unknown_portal \
	    "$site" "$FORM" "$IN/unknown.form"

	# Refused by the server itself: b24hook never sees them.
	before=$(dir_sum "$T/logs")
	post "$site" - - -X GET
	assert_eq "$site GET: status" 405 "$STATUS"
	assert_eq "$site GET: Allow" POST "$(allowed)"
	assert_eq "$site GET: b24hook not reached" 0 "$OPLINES"
	post "$site" "$FORM" "$FIXTURES/$name.form" -X PUT
	assert_eq "$site PUT: status" 405 "$STATUS"
	assert_eq "$site PUT: Allow" POST "$(allowed)"
	assert_eq "$site PUT: b24hook not reached" 0 "$OPLINES"
	post "$site" "$FORM" "$(body_of_size $((LIMIT_BODY + 1)))"
	assert_eq "$site body of limit+1 bytes: status" 413 "$STATUS"
	# nginx refuses it before starting b24hook; mod_proxy_fcgi passes the
	# request on first, and b24hook refuses it by its length; mod_cgid
	# may do either, depending on whether the script started first.
	line=$(awk '{ print $2, $3 }' "$ERR")
	[ "$reached" != either ] || case $line in
	"" | "413 body_too_large") line=either ;;
	esac
	assert_eq "$site body of limit+1 bytes: b24hook not reached, or refused it" \
	    "$reached" "$line"
	assert_eq "$site GET, PUT, limit+1: logs unchanged" "$before" \
	    "$(dir_sum "$T/logs")"

	accepted "$site body of exactly the limit" 1 \
	    "$(fixture_portal ONAPPUNINSTALL)" "$site" "$FORM" \
	    "$(body_of_size "$LIMIT_BODY")"
	accepted "$site exactly B24HOOK_MAX_BODY=1000" 1 \
	    "$(fixture_portal ONAPPUNINSTALL)" "$small" "$FORM" \
	    "$(body_of_size 1000)"
	refused "$site over B24HOOK_MAX_BODY=1000 (b24hook's own 413)" 413 \
	    body_too_large "" "$small" "$FORM" "$(body_of_size 1001)"
}

# site_files_owned DIR USER: every log in DIR is USER's, mode 0640.
site_files_owned() {
	assert_eq "logs in $(basename "$1") are $2's, mode 0640" "" \
	    "$(find "$1" -name '*.jsonl' \( ! -user "$2" -o ! -perm 640 \) \
	    -printf '%f ')"
}

# all_records: every line of every log in $LOGS, rotated, compressed or current.
all_records() {
	local f
	for f in "$LOGS"/*; do
		case $f in
		*.gz) zcat "$f" ;;
		*) cat "$f" ;;
		esac
	done
}
