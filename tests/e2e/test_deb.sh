#!/bin/bash
# The Debian package, as an admin installs it: make deb builds it,
# lintian finds nothing to say (no E: or W:), dpkg -i installs it (user,
# directories, settings, units, pages), the responder runs exactly as the
# installed b24hook.service would start it (its ExecStart=, Environment=,
# EnvironmentFile=, User=, Group=, UMask=, with a listening socket owned
# as b24hook.socket says) behind nginx rendered from the packaged
# nginx.conf.example, a fixture event lands in /var/log/b24hook, logrotate
# rotates it with the packaged snippet; dpkg -r removes the programs and
# units and keeps the logs and settings; dpkg -P removes the settings,
# state and spool and still keeps the logs.
#
# Runs as root on the machine itself: it refuses to start when anything
# of b24hook's is there already (the package, its user, /etc/b24hook,
# /var/log/b24hook, /var/lib/b24hook), and at the end removes all it
# made, the log directory and the user included.
# Run from anywhere: bash tests/e2e/test_deb.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=servers.sh
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
TEST_NAME=test_deb

UNITS=/lib/systemd/system
DOC=/usr/share/doc/b24hook
SVC=$UNITS/b24hook.service
SOCKUNIT=$UNITS/b24hook.socket
PKG_LOGS=/var/log/b24hook
OWNED= # set once the machine was found clean: cleanup may then remove

# value FILE KEY: the values of a systemd KEY= line, one a line.
value() { sed -n "s/^$2=//p" "$1"; }

# clean_machine: nothing of b24hook's is on this machine.
clean_machine() {
	local found=
	dpkg-query -W -f='${db:Status-Status}' b24hook 2>/dev/null |
	    grep -qv '^not-installed$' && found="$found package"
	getent passwd b24hook >/dev/null && found="$found user"
	getent group b24hook >/dev/null && found="$found group"
	for p in /etc/b24hook "$PKG_LOGS" /var/lib/b24hook; do
		[ ! -e "$p" ] || found="$found $p"
	done
	printf '%s' "$found"
}

deb_cleanup() {
	servers_stop
	if [ -n "$OWNED" ]; then
		dpkg -P b24hook >/dev/null 2>&1
		rm -rf "$PKG_LOGS" /etc/b24hook /var/lib/b24hook
		getent passwd b24hook >/dev/null && userdel b24hook
		getent group b24hook >/dev/null && groupdel b24hook
	fi
	e2e_cleanup
}

# --- build and lint ----------------------------------------------------------

test_build() {
	local lint p
	if ! make -C "$E2E_ROOT" deb >"$T/run/deb.out" 2>&1; then
		fail "make deb" "$(grep -iE 'error|warning' "$T/run/deb.out" |
		    tail -n 3)"
		return 1
	fi
	DEB=$(ls "$E2E_ROOT"/build/deb/b24hook_*.deb 2>/dev/null | head -n 1)
	check "make deb: build/deb/b24hook_VERSION_ARCH.deb" test -f "$DEB"
	[ -f "$DEB" ] || return 1
	assert_eq "version from debian/changelog" \
	    "$(dpkg-parsechangelog -l "$E2E_ROOT/debian/changelog" -S Version)" \
	    "$(dpkg-deb -f "$DEB" Version)"
	assert_eq "Section, Priority" "net optional" \
	    "$(dpkg-deb -f "$DEB" Section Priority | awk '{ print $2 }' |
	    paste -sd ' ')"
	assert_eq "Recommends" "nginx | apache2" "$(dpkg-deb -f "$DEB" Recommends)"
	assert_eq "Suggests" prometheus-node-exporter \
	    "$(dpkg-deb -f "$DEB" Suggests)"
	check "Depends: the libraries, from shlibs" \
	    grep -q 'libjansson4.*libsodium23' <<<"$(dpkg-deb -f "$DEB" Depends)"
	lint=$(lintian "$DEB" 2>&1)
	assert_eq "lintian: exit status" 0 "$?"
	assert_eq "lintian: no E: or W: line" "" \
	    "$(grep -E '^[EW]: ' <<<"$lint")"
	dpkg-deb -x "$DEB" "$T/x"
	for p in b24hook b24hookctl; do
		# --nocfprotection: Debian 12's start files carry no IBT/SHSTK
		# note (tests/e2e/test_build.sh says more)
		check "hardening-check $p: PIE, RELRO, BIND_NOW, fortify, protector" \
		    hardening-check --nocfprotection "$T/x/usr/sbin/$p"
	done
}

# --- install -------------------------------------------------------------

test_install() {
	local f out
	if ! dpkg -i "$DEB" >"$T/run/dpkg-i.out" 2>&1; then
		fail "dpkg -i" "$(tail -n 3 "$T/run/dpkg-i.out")"
		return 1
	fi
	ok "dpkg -i"
	assert_eq "dpkg: installed" "install ok installed" \
	    "$(dpkg-query -W -f='${Status}' b24hook)"
	for f in /usr/sbin/b24hook /usr/sbin/b24hookctl; do
		check "$f" test -x "$f"
	done
	for f in b24hook.8 b24hookctl.8 b24hook.conf.5; do
		check "man ${f%.*}: /usr/share/man/man${f##*.}/$f.gz" \
		    test -f "/usr/share/man/man${f##*.}/$f.gz"
	done
	check "man -w b24hook.conf" man -w 5 b24hook.conf

	# the user (sysusers.d)
	check "user b24hook, a system user" \
	    test "$(id -u b24hook 2>/dev/null || echo 99999)" -lt 1000
	assert_eq "user b24hook: no login shell" /usr/sbin/nologin \
	    "$(getent passwd b24hook | cut -d: -f7)"
	check "/usr/lib/sysusers.d/b24hook.conf" test -f /usr/lib/sysusers.d/b24hook.conf

	# the directories (tmpfiles.d), as README makes them
	assert_eq "$PKG_LOGS: 2750 b24hook:adm" "2750 b24hook adm" \
	    "$(stat -c '%a %U %G' "$PKG_LOGS" 2>&1)"
	assert_eq "/var/lib/b24hook: 755 b24hook:b24hook" "755 b24hook b24hook" \
	    "$(stat -c '%a %U %G' /var/lib/b24hook 2>&1)"
	assert_eq "the spool: 700 b24hook:b24hook" "700 b24hook b24hook" \
	    "$(stat -c '%a %U %G' /var/lib/b24hook/enroll 2>&1)"
	check "/usr/lib/tmpfiles.d/b24hook.conf" test -f /usr/lib/tmpfiles.d/b24hook.conf

	# the settings: conffiles, 0640 root:b24hook
	assert_eq "conffiles" \
	    "/etc/b24hook/allow.txt /etc/b24hook/b24hook.conf /etc/logrotate.d/b24hook" \
	    "$(dpkg-query -W -f='${Conffiles}\n' b24hook | awk 'NF { print $1 }' |
	    LC_ALL=C sort | paste -sd ' ')"
	for f in /etc/b24hook/allow.txt /etc/b24hook/b24hook.conf; do
		assert_eq "$f: 640 root:b24hook" "640 root b24hook" \
		    "$(stat -c '%a %U %G' "$f" 2>&1)"
	done
	assert_eq "/etc/b24hook: 750 root:b24hook" "750 root b24hook" \
	    "$(stat -c '%a %U %G' /etc/b24hook 2>&1)"

	# the units: the socket enabled, nothing else
	for f in $(cd "$E2E_ROOT/deploy/systemd" && ls); do
		check "unit $f installed" test -f "$UNITS/$f"
	done
	check "b24hook.socket enabled (sockets.target.wants)" \
	    test -L /etc/systemd/system/sockets.target.wants/b24hook.socket
	assert_eq "no other unit enabled" "" \
	    "$(find /etc/systemd/system -name 'b24hook*' ! -name b24hook.socket \
	    -printf '%f ')"
	out=$(cd "$UNITS" && systemd-analyze verify b24hook.socket \
	    b24hook.service $(ls b24hook-*.path b24hook-*.timer) 2>&1 |
	    grep -v 'enroll.env')
	assert_eq "systemd-analyze verify the installed units: no warning" "" "$out"

	# paths: all rendered for /usr/sbin and /etc
	assert_eq "service: ExecStart=/usr/sbin/b24hook" /usr/sbin/b24hook \
	    "$(value "$SVC" ExecStart)"
	assert_eq "service: reads /etc/b24hook/b24hook.conf" \
	    -/etc/b24hook/b24hook.conf "$(value "$SVC" EnvironmentFile)"
	assert_eq "no installed unit, example or setting names /usr/local" "" \
	    "$(grep -rl /usr/local "$UNITS"/b24hook* "$DOC/examples" \
	    /etc/b24hook /etc/logrotate.d/b24hook)"
	check "logrotate snippet: /etc/logrotate.d/b24hook" \
	    grep -qx "$PKG_LOGS/\*.jsonl {" /etc/logrotate.d/b24hook
	for f in nginx.conf.example deploy/apache/b24hook-fcgi.conf \
	    deploy/apache/b24hook-cgi.conf; do
		check "example $DOC/examples/$f (plain)" test -f "$DOC/examples/$f"
	done
	check "README.md in $DOC (plain: the units' Documentation=)" \
	    test -f "$DOC/README.md"
	check "copyright in $DOC" test -f "$DOC/copyright"
}

# --- run it as the unit would ------------------------------------------------

# unit_env: the installed service's settings: its Environment= lines,
# then the KEY=value lines of its EnvironmentFile= ("-": optional), which
# win, as systemd reads them; one NAME=value a line.
unit_env() {
	local f
	value "$SVC" Environment
	while IFS= read -r f; do
		f=${f#-}
		[ -r "$f" ] || continue
		grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$f"
	done < <(value "$SVC" EnvironmentFile)
}

test_run() {
	local sock=$T/run/b24hook.sock user group umask exec mode suser sgroup
	local -a env=()
	local name portal log before
	# the fixtures' portals, in the packaged allow-list (its mode kept)
	cat "$FIXTURES/allow.txt" >/etc/b24hook/allow.txt
	# a local setting, which must win over the unit's
	printf 'B24HOOK_MAX_BODY=65536\n' >>/etc/b24hook/b24hook.conf

	mapfile -t env < <(unit_env)
	exec=$(value "$SVC" ExecStart)
	user=$(value "$SVC" User)
	group=$(value "$SVC" Group)
	umask=$(value "$SVC" UMask)
	mode=$(value "$SOCKUNIT" SocketMode)
	suser=$(value "$SOCKUNIT" SocketUser)
	sgroup=$(value "$SOCKUNIT" SocketGroup)
	assert_eq "the socket unit listens where the packaged nginx example passes" \
	    "$(value "$SOCKUNIT" ListenStream)" \
	    "$(sed -n 's/^ *fastcgi_pass unix:\(.*\);/\1/p' "$DOC/examples/nginx.conf.example" |
	    head -n 1)"
	assert_eq "settings: the unit's, then b24hook.conf's" \
	    "B24HOOK_ALLOWLIST=/etc/b24hook/allow.txt B24HOOK_LOG_DIR=$PKG_LOGS B24HOOK_MAX_BODY=1048576 B24HOOK_STATE_DIR=/var/lib/b24hook B24HOOK_MAX_BODY=65536" \
	    "${env[*]}"
	# The listening socket on fd 0 (StandardInput=socket), owned as the
	# socket unit says; the process as User=, Group=, with UMask=.
	spawn-fcgi -s "$sock" -M "$mode" -U "$suser" -G "$sgroup" \
	    -u "$user" -g "$group" -P "$sock.pid" -- /bin/sh -c \
	    'umask "$0" && exec "$@"' "$umask" /usr/bin/env -i "${env[@]}" \
	    $exec >"$T/run/spawn.out" 2>&1
	track_pidfile "$sock.pid"
	check "responder listening" wait_until 5 test -S "$sock"
	assert_eq "responder runs /usr/sbin/b24hook as b24hook" \
	    "b24hook /usr/sbin/b24hook" \
	    "$(ps -o user=,args= -p "$(cat "$sock.pid" 2>/dev/null)" 2>&1 |
	    awk '{ $1 = $1; print }')"

	NGINX_EXAMPLE=$DOC/examples/nginx.conf.example
	check "render the packaged nginx.conf.example, block 1" \
	    nginx_site pkg 1 "$PKG_LOGS" /etc/b24hook/allow.txt
	if ! nginx_start; then
		fail "nginx started" "$(cat "$T/nginx/test.out" "$T/nginx/start.out" |
		    grep -o 'emerg.*' | head -n 3)"
		return
	fi
	ok "nginx started"

	LOGS=$PKG_LOGS
	for name in ONIMCONNECTORMESSAGEADD ONAPPINSTALL; do
		portal=$(fixture_portal $name)
		accepted "$name through nginx" "$(fixture_records $name)" \
		    "$portal" pkg "$FORM" "$FIXTURES/$name.form"
		assert_eq "$name: the record's event and portal" \
		    "$name $portal" \
		    "$(jq -r '"\(.event) \(.member_id)"' "$NEW" | tail -n 1)"
	done
	log=$PKG_LOGS/$(fixture_portal ONIMCONNECTORMESSAGEADD).jsonl
	assert_eq "the log: 640 b24hook:adm" "640 b24hook adm" \
	    "$(stat -c '%a %U %G' "$log" 2>&1)"

	before=$(dir_sum "$PKG_LOGS")
	post pkg "$FORM" "$(body_of_size 65537)"
	expect_error "over b24hook.conf's B24HOOK_MAX_BODY=65536" 413 \
	    body_too_large
	sed "s/=$(allow_token "$(fixture_portal ONIMCONNECTORMESSAGEADD)")/=forgedforgedforgedforgedforged00/" \
	    "$FIXTURES/ONIMCONNECTORMESSAGEADD.form" >"$IN/forged.form"
	post pkg "$FORM" "$IN/forged.form"
	expect_error "a forged token" 403 forbidden token_mismatch
	assert_eq "refusals: the logs unchanged" "$before" "$(dir_sum "$PKG_LOGS")"

	# the operator's tool, installed, with the unit's settings
	env -i "${env[@]}" /usr/sbin/b24hookctl check >"$T/run/ctl.out" 2>&1
	assert_eq "b24hookctl check with the unit's settings" 0 "$?"
	assert_eq "b24hookctl portal list: the fixtures' portals" \
	    "$(grep -cv '^#' "$FIXTURES/allow.txt")" \
	    "$(env -i "${env[@]}" /usr/sbin/b24hookctl portal list | wc -l)"

	# the counters, in the state directory the package made
	assert_eq "counters: /var/lib/b24hook/counters, 640 b24hook" \
	    "640 b24hook" "$(stat -c '%a %U' /var/lib/b24hook/counters 2>&1)"
	env -i "${env[@]}" /usr/sbin/b24hookctl status --silent-for 1h \
	    >"$T/run/status.out" 2>&1
	assert_eq "b24hookctl status: exit status" 0 "$?"
	check "b24hookctl status: OK" grep -q '^OK: ' "$T/run/status.out"
	assert_eq "b24hookctl stats: the 2 records, the 2 refusals counted" \
	    "2 2" "$(env -i "${env[@]}" /usr/sbin/b24hookctl stats --format json |
	    jq -r '"\(.records) \([.refusals[].count] | add)"' 2>&1)"

	# logrotate with the packaged snippet: renamed, and the next event
	# makes the log anew
	logrotate -f -s "$T/run/logrotate.state" /etc/logrotate.d/b24hook \
	    >"$T/run/logrotate.out" 2>&1
	assert_eq "logrotate /etc/logrotate.d/b24hook: exit status" 0 "$?"
	check "logrotate: the log renamed" test -f "$log.1" -a ! -e "$log"
	accepted "an event after rotation" 1 \
	    "$(fixture_portal ONIMCONNECTORMESSAGEADD)" pkg "$FORM" \
	    "$FIXTURES/ONIMCONNECTORMESSAGEADD.form"
	assert_eq "after rotation: a new log, 640 b24hook:adm" "640 b24hook adm" \
	    "$(stat -c '%a %U %G' "$log" 2>&1)"
	check_no_secrets "no secret in the package's logs" "$PKG_LOGS"
	check "responder and nginx stopped" servers_stop
}

# --- remove, purge -------------------------------------------------------------

test_remove() {
	local logs f
	logs=$(dir_sum "$PKG_LOGS")
	if ! dpkg -r b24hook >"$T/run/dpkg-r.out" 2>&1; then
		fail "dpkg -r" "$(tail -n 3 "$T/run/dpkg-r.out")"
		return 1
	fi
	ok "dpkg -r"
	assert_eq "dpkg -r: config-files left" "deinstall ok config-files" \
	    "$(dpkg-query -W -f='${Status}' b24hook)"
	for f in /usr/sbin/b24hook /usr/sbin/b24hookctl "$SVC" "$SOCKUNIT" \
	    /usr/share/man/man8/b24hook.8.gz /usr/lib/tmpfiles.d/b24hook.conf; do
		check "dpkg -r: $f gone" test ! -e "$f"
	done
	assert_eq "dpkg -r: no unit left" "" "$(ls "$UNITS" | grep '^b24hook')"
	assert_eq "dpkg -r: the logs kept, untouched" "$logs" "$(dir_sum "$PKG_LOGS")"
	check "dpkg -r: the settings kept" test -f /etc/b24hook/b24hook.conf
}

test_purge() {
	local logs
	logs=$(dir_sum "$PKG_LOGS")
	if ! dpkg -P b24hook >"$T/run/dpkg-p.out" 2>&1; then
		fail "dpkg -P" "$(tail -n 3 "$T/run/dpkg-p.out")"
		return 1
	fi
	ok "dpkg -P"
	check_not "dpkg -P: the package is gone" \
	    dpkg-query -W -f='${Status}' b24hook
	check "dpkg -P: /etc/b24hook gone" test ! -e /etc/b24hook
	check "dpkg -P: /etc/logrotate.d/b24hook gone" test ! -e /etc/logrotate.d/b24hook
	check "dpkg -P: state and spool gone" test ! -e /var/lib/b24hook
	assert_eq "dpkg -P: no stat override left" "" \
	    "$(dpkg-statoverride --list | grep b24hook)"
	assert_eq "dpkg -P: no unit enabled" "" \
	    "$(find /etc/systemd/system -name 'b24hook*' -printf '%p ')"
	assert_eq "dpkg -P: the logs of events kept, untouched" "$logs" \
	    "$(dir_sum "$PKG_LOGS")"
}

[ "$(id -u)" -eq 0 ] || {
	fail "run as root (it installs a package)"
	finish $TEST_NAME
}
need dpkg-buildpackage lintian hardening-check nginx spawn-fcgi curl jq \
    openssl logrotate systemd-analyze make
found=$(clean_machine)
if [ -n "$found" ]; then
	fail "a machine without b24hook" "found:$found (left alone)"
	finish $TEST_NAME
fi
servers_setup
trap deb_cleanup EXIT
OWNED=1
tls_setup || {
	fail "TLS certificate made"
	finish $TEST_NAME
}
if test_build && test_install; then
	test_run
	test_remove && test_purge
fi
deb_cleanup
trap - EXIT
assert_eq "the machine as before: nothing of b24hook's" "" "$(clean_machine)"
finish $TEST_NAME
