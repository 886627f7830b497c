#!/bin/bash
# End-to-end: enrollment.  Real nginx (server block 1 of
# nginx.conf.example) in front of the persistent responder started by
# deploy/spawn-fcgi/b24hook-spawn with B24HOOK_ENROLL_DIR; build/b24hookctl
# run as the verifier service runs it (root); a stand-in for Bitrix24's
# OAuth server: the same nginx serving HTTPS on 127.0.0.1 with a
# certificate from a test CA made here (openssl), answering
# /rest/app.info per access token from files; a second one whose
# certificate comes from another CA; a socket that never answers.
# Run from anywhere: bash tests/e2e/test_enroll.sh
#
# Secrets: the tokens each claim carries are made here at random; the
# bodies, the allow-list, the spool and the stand-in (whose file names
# are access tokens) live in $IN.  $T gets what the programs print and
# write (logs, replies, operator lines, b24hookctl's output), and is
# scanned for every token at the end.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
TEST_NAME=test_enroll

CLIENT_ID=local.5f0c1b2a3d4e5f.12345678
SPOOL_ENTRIES=256   # LIMIT_SPOOL_ENTRIES
TOKEN_AGE=3600      # LIMIT_ACCESS_TOKEN_AGE, seconds
OAUTH_TIMEOUT=10    # LIMIT_OAUTH_TIMEOUT_MS / 1000
OAUTH_ANSWER=65536  # LIMIT_OAUTH_ANSWER, bytes
SECRETS=()          # every token made here, for the closing scan

# --- the parts ------------------------------------------------------------

# rand N: N random bytes as hex.
rand() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# new_claim VAR [MEMBER_ID [DOMAIN]]: a new claimant: VAR_M (member_id,
# random unless given), VAR_D (domain), VAR_A (application token), VAR_K
# (access token), VAR_R (refresh token); the tokens join SECRETS.
new_claim() {
	local v=$1 m=${2:-$(rand 16)} d=${3:-p$(rand 4).bitrix24.com}
	printf -v "${v}_M" %s "$m"
	printf -v "${v}_D" %s "$d"
	printf -v "${v}_A" %s "$(rand 16)"
	printf -v "${v}_K" %s "$(rand 18)"
	printf -v "${v}_R" %s "$(rand 18)"
	eval 'SECRETS+=("${'"$v"'_A}" "${'"$v"'_K}" "${'"$v"'_R}")'
}

# claim_body VAR [EVENT]: the fixture ONAPPINSTALL as a portal posts it,
# with VAR's member_id, domain and tokens (EVENT: ONAPPUPDATE...); prints
# its path ($IN/VAR.form).
claim_body() {
	local v=$1 ev=${2:-ONAPPINSTALL} m d a k r
	m=${v}_M d=${v}_D a=${v}_A k=${v}_K r=${v}_R
	sed -e "s/^event=ONAPPINSTALL&/event=$ev\&/" \
	    -e "s/auth%5Bmember_id%5D=[^&]*/auth%5Bmember_id%5D=${!m}/" \
	    -e "s/auth%5Bdomain%5D=[^&]*/auth%5Bdomain%5D=${!d}/" \
	    -e "s/auth%5Bapplication_token%5D=[^&]*/auth%5Bapplication_token%5D=${!a}/" \
	    -e "s/auth%5Baccess_token%5D=[^&]*/auth%5Baccess_token%5D=${!k}/" \
	    -e "s/auth%5Brefresh_token%5D=[^&]*/auth%5Brefresh_token%5D=${!r}/" \
	    "$FIXTURES/ONAPPINSTALL.form" >"$IN/$v-$ev.form"
	printf '%s\n' "$IN/$v-$ev.form"
}

# event_body VAR TOKEN: the fixture ONIMCONNECTORMESSAGEADD from VAR's
# portal presenting TOKEN; prints its path.
event_body() {
	local v=$1 m=${1}_M d=${1}_D src=$FIXTURES/ONIMCONNECTORMESSAGEADD.form
	sed -e "s/auth%5Bmember_id%5D=[^&]*/auth%5Bmember_id%5D=${!m}/" \
	    -e "s/auth%5Bdomain%5D=[^&]*/auth%5Bdomain%5D=${!d}/" \
	    -e "s/auth%5Bapplication_token%5D=[^&]*/auth%5Bapplication_token%5D=$2/" \
	    "$src" >"$IN/$v-event-$2.form"
	printf '%s\n' "$IN/$v-event-$2.form"
}

# answer VAR [CLIENT_ID [MEMBER_ID [DOMAIN [INSTALLED]]]]: what the
# stand-in answers, 200, for VAR's access token: app.info's result as
# Bitrix24 gives it, by default all VAR's own (a genuine install).
answer() {
	local v=$1 m=${1}_M d=${1}_D k=${1}_K
	jq -n --arg c "${2:-$CLIENT_ID}" --arg m "${3:-${!m}}" \
	    --arg d "${4:-${!d}}" --argjson i "${5:-true}" \
	    '{result: {client_id: $c, scope: "imconnector,imopenlines,im",
	     install: {installed: $i, version: 1, status: "L", domain: $d,
	     member_id: $m}, user_id: 1},
	     time: {start: 1714640000.1, finish: 1714640000.2}}' \
	    >"$IN/oauth/www/answers/${!k}.json"
	chmod 0644 "$IN/oauth/www/answers/${!k}.json"
}

# pad VAR BYTES: VAR's answer padded with spaces to BYTES bytes.
pad() {
	local k=${1}_K f
	f=$IN/oauth/www/answers/${!k}.json
	printf '%*s' $(($2 - $(stat -c %s "$f"))) '' >>"$f"
}

# fp TOKEN: its fingerprint, as b24hookctl shows it (BLAKE2b-256, 8 hex).
fp() { printf %s "$1" | b2sum -l 256 | cut -c1-8; }

# ca NAME: a test CA in $IN/oauth/NAME-ca.pem and a certificate it signs
# for IP 127.0.0.1, NAME.pem and NAME.key.
ca() {
	local d=$IN/oauth n=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 2 -subj "/CN=b24hook test CA $n" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign \
	    -keyout "$d/$n-ca.key" -out "$d/$n-ca.pem" >/dev/null 2>&1 &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -subj /CN=127.0.0.1 -keyout "$d/$n.key" \
	    -out "$d/$n.csr" >/dev/null 2>&1 &&
	openssl x509 -req -in "$d/$n.csr" -CA "$d/$n-ca.pem" \
	    -CAkey "$d/$n-ca.key" -CAcreateserial -days 2 -out "$d/$n.pem" \
	    -extfile <(printf '%s\n' 'subjectAltName=IP:127.0.0.1' \
	    'basicConstraints=CA:FALSE' 'extendedKeyUsage=serverAuth') \
	    >/dev/null 2>&1 && chmod 0644 "$d/$n.key"
}

# oauth_site NAME CERT PORT: a server block of the stand-in, in the
# nginx that nginx_start runs.  Its logs stay in $IN: the query holds
# the access token.
oauth_site() {
	local d=$IN/oauth
	cat >"$T/nginx/site-oauth-$1.conf" <<-EOF
	server {
	    listen 127.0.0.1:$3 ssl;
	    ssl_certificate $d/$2.pem;
	    ssl_certificate_key $d/$2.key;
	    access_log off;
	    error_log $d/$1.error.log;
	    root $d/www;
	    location = /rest/app.info {
	        default_type application/json;
	        try_files /answers/\$arg_auth.json @invalid;
	    }
	    location @invalid {
	        default_type application/json;
	        return 401 '{"error":"invalid_token","error_description":"The access token provided is invalid."}';
	    }
	    location / { return 404; }
	}
	EOF
}

# ctl [NAME=VALUE...] -- ARG...: b24hookctl with the verifier's settings
# (NAME=VALUE adds or replaces), as root, nothing else in its
# environment; CTL_RC, CTL_OUT and CTL_ERR (files in $T/run).
CTL_N=0
ctl() {
	local -a env=("B24HOOK_ALLOWLIST=$ALLOW" "B24HOOK_LOG_DIR=$LOGS"
	    "B24HOOK_ENROLL_DIR=$SPOOL" "B24HOOK_CLIENT_ID=$CLIENT_ID"
	    "B24HOOK_OAUTH_URL=https://127.0.0.1:$OAUTH_PORT"
	    "B24HOOK_OAUTH_CA=$IN/oauth/good-ca.pem")
	while [ "$1" != -- ]; do
		env+=("$1")
		shift
	done
	shift
	CTL_N=$((CTL_N + 1))
	CTL_OUT=$T/run/ctl.$CTL_N.out
	CTL_ERR=$T/run/ctl.$CTL_N.err
	env -i "${env[@]}" "$CTL" "$@" >"$CTL_OUT" 2>"$CTL_ERR"
	CTL_RC=$?
}

allow_sum() { sha256sum <"$ALLOW" | cut -c1-64; }
pending() { find "$SPOOL" -maxdepth 1 -name '*.pending' | wc -l; }
# state ID: the state column of b24hookctl enroll list for claim ID.
state() {
	ctl -- enroll list
	sed -n "s/^$1 [^ ]* [^ ]* [^ ]* [^ ]* //p" "$CTL_OUT"
}
# spool_holds TOKEN: some file of the spool holds TOKEN.
spool_holds() { grep -rqF -- "$1" "$SPOOL"; }

# claimed DESC BODY MEMBER_ID DOMAIN: post BODY through nginx; expect
# 202 {"status":"pending"}, the operator line exactly, no log touched and
# one new 0600 entry in the spool, whose id is left in CLAIM.
claimed() {
	local desc=$1 logs before after new
	logs=$(dir_sum "$T/logs")
	before=$(find "$SPOOL" -maxdepth 1 -name '*.pending' | sort)
	post fcgi "$FORM" "$2"
	assert_eq "$desc: status" 202 "$STATUS"
	assert_eq "$desc: reply" '{"status":"pending"}' \
	    "$(jq -c . <<<"$REPLY" 2>/dev/null)"
	assert_eq "$desc: operator line" \
	    "b24hook: 202 enrollment_pending member_id=$3 domain=$4" \
	    "$(cat "$ERR")"
	assert_eq "$desc: no log written" "$logs" "$(dir_sum "$T/logs")"
	after=$(find "$SPOOL" -maxdepth 1 -name '*.pending' | sort)
	new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") |
	    grep .)
	assert_eq "$desc: one new entry in the spool" 1 "$(grep -c . <<<"$new")"
	assert_eq "$desc: the entry is the responder's, mode 0600" \
	    "nobody 600" "$(stat -c '%U %a' "$new" 2>/dev/null)"
	CLAIM=$(basename "$new" .pending)
}

# verify_refuses DESC VAR WHY: enroll verify rejects VAR's claim $CLAIM
# saying WHY, exits 0 (a decision), and changes neither the allow-list
# nor any log; the claim's tokens leave the spool.
verify_refuses() {
	local desc=$1 v=$2 why=$3 m=${2}_M d=${2}_D a=${2}_A k=${2}_K allow logs
	allow=$(allow_sum)
	logs=$(dir_sum "$T/logs")
	ctl -- enroll verify
	assert_eq "$desc: verify exit status" 0 "$CTL_RC"
	assert_eq "$desc: verify says" "$CLAIM ${!m} ${!d} rejected: $why" \
	    "$(cat "$CTL_OUT")"
	assert_eq "$desc: allow-list byte-identical" "$allow" "$(allow_sum)"
	assert_eq "$desc: no log written" "$logs" "$(dir_sum "$T/logs")"
	assert_eq "$desc: enroll list" "rejected: $why" "$(state "$CLAIM")"
	check_not "$desc: its tokens are gone from the spool" \
	    eval 'spool_holds "${!a}" || spool_holds "${!k}"'
}

# --- the tests ------------------------------------------------------------

setup() {
	mkdir -p "$IN/oauth/www/answers"
	chmod 0755 "$IN/oauth" "$IN/oauth/www" "$IN/oauth/www/answers"
	ca good && ca evil || return 1
	LOGS=$(log_dir enroll nobody:nogroup)
	ALLOW=$(allow_copy allow-enroll.txt nogroup)
	SPOOL=$IN/spool
	install -d -o nobody -g nogroup -m 0700 "$SPOOL"
	nginx_site fcgi 1 "$LOGS" "$ALLOW" || return 1
	free_port OAUTH_PORT && free_port EVIL_PORT && free_port HANG_PORT ||
	    return 1
	oauth_site good good "$OAUTH_PORT"
	oauth_site evil evil "$EVIL_PORT"
	responder_start "$T/run/b24hook.sock" "$LOGS" "$ALLOW" 2 "" \
	    "$SPOOL" || return 1
	nginx_start || return 1
	wait_until 5 listening "$OAUTH_PORT" && wait_until 5 listening "$EVIL_PORT"
}

# A socket that listens and never answers: the TCP handshake completes
# (the kernel's backlog), TLS never starts.
hang_start() {
	perl -MIO::Socket::INET -e '
	    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
	        LocalPort => $ARGV[0], Listen => 8, ReuseAddr => 1) or exit 1;
	    sleep 300;' "$HANG_PORT" >/dev/null 2>&1 &
	track_pid $!
	wait_until 5 listening "$HANG_PORT"
}

# The first install of a portal not listed, verified: listed, and its
# install is the first record of its log.
test_happy() {
	local body line fp1 before
	new_claim P
	answer P
	body=$(claim_body P)
	before=$(cat "$ALLOW")
	claimed "install from a new portal" "$body" "$P_M" "$P_D"
	ctl -- enroll list
	assert_eq "enroll list: the claim, pending" \
	    "$CLAIM $P_M $P_D ONAPPINSTALL pending" \
	    "$(sed -n "s/^\($CLAIM [^ ]* [^ ]* [^ ]*\) [^ ]* /\1 /p" "$CTL_OUT")"
	check "enroll list: received as UTC ISO 8601" \
	    grep -qE "^$CLAIM [^ ]+ [^ ]+ [^ ]+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z " "$CTL_OUT"
	check "the spool holds the claim's tokens until verified" \
	    eval 'spool_holds "$P_A" && spool_holds "$P_K"'
	check_not "the spool never holds its refresh token" spool_holds "$P_R"

	fp1=$(fp "$P_A")
	ctl -- enroll verify
	assert_eq "enroll verify: exit status" 0 "$CTL_RC"
	assert_eq "enroll verify: one line" \
	    "$CLAIM $P_M $P_D verified: listed with token $fp1, label $P_D; install record written" \
	    "$(cat "$CTL_OUT")"
	assert_eq "allow-list: the new line last" "$P_M $P_A $P_D" \
	    "$(tail -n 1 "$ALLOW")"
	assert_eq "allow-list: every other line kept byte for byte" \
	    "$before" "$(head -n -1 "$ALLOW")"
	assert_eq "allow-list: owner, group, mode kept" "root nogroup 640" \
	    "$(stat -c '%U %G %a' "$ALLOW")"
	assert_eq "the portal's log: one record, the install" \
	    "ONAPPINSTALL $P_M $P_D" \
	    "$(jq -r '[.event, .member_id, .domain] | join(" ")' "$LOGS/$P_M.jsonl")"
	assert_eq "the portal's log: owned by the responder's user, 0640" \
	    "nobody 640" "$(stat -c '%U %a' "$LOGS/$P_M.jsonl")"
	check_not "the spool no longer holds its tokens" \
	    eval 'spool_holds "$P_A" || spool_holds "$P_K"'
	assert_eq "enroll list: verified" verified "$(state "$CLAIM")"
	ctl -- portal list
	check "portal list: member_id, fingerprint, label" \
	    grep -qx "$P_M $fp1 $P_D" "$CTL_OUT"

	accepted "the new portal's next event" 1 "$P_M" fcgi "$FORM" \
	    "$(event_body P "$P_A")"
	assert_eq "its log starts with the install record" \
	    "ONAPPINSTALL ONIMCONNECTORMESSAGEADD" \
	    "$(jq -r .event "$LOGS/$P_M.jsonl" | paste -sd ' ')"
	ctl -- enroll verify
	assert_eq "enroll verify again: nothing to do, nothing said" \
	    "0 " "$CTL_RC $(cat "$CTL_OUT")"
}

# Each refusal of app.info's answer: rejected, nothing listed.
test_refusals() {
	new_claim W
	answer W app.another.app
	claimed "claim, app.info names another app" "$(claim_body W)" "$W_M" "$W_D"
	verify_refuses "client_id another app's" W "client_id is another app's"

	new_claim X
	answer X "" "$(rand 16)"
	claimed "claim, app.info names another portal" "$(claim_body X)" "$X_M" "$X_D"
	verify_refuses "member_id mismatch" X "install.member_id is another portal's"

	new_claim Y
	answer Y "" "" other.bitrix24.com
	claimed "claim, app.info names another domain" "$(claim_body Y)" "$Y_M" "$Y_D"
	verify_refuses "domain mismatch" Y "install.domain is not the claim's domain"

	new_claim Z
	answer Z "" "" "" false
	claimed "claim, app not installed" "$(claim_body Z)" "$Z_M" "$Z_D"
	verify_refuses "installed false" Z "the app is not installed on the portal"

	new_claim B
	claimed "claim with a token app.info does not know" "$(claim_body B)" "$B_M" "$B_D"
	verify_refuses "401 invalid_token" B "app.info answered 401 invalid_token"
}

# No answer: the claim stays (its token may still be checked), verify
# fails within its timeout; the operator rejects it.
test_no_answer() {
	local allow start took
	new_claim H
	answer H
	claimed "claim, the OAuth server hangs" "$(claim_body H)" "$H_M" "$H_D"
	check "a socket that never answers" hang_start
	allow=$(allow_sum)
	start=$(date +%s%N)
	ctl "B24HOOK_OAUTH_URL=https://127.0.0.1:$HANG_PORT" -- enroll verify
	took=$((($(date +%s%N) - start) / 1000000))
	assert_eq "no answer: verify fails" 1 "$CTL_RC"
	check "no answer: verify returns within ${OAUTH_TIMEOUT} s + 3 (took $took ms)" \
	    test "$took" -lt $(((OAUTH_TIMEOUT + 3) * 1000))
	check "no answer: verify says the claim is not checked, and why" \
	    grep -qx "$CLAIM $H_M $H_D pending: not checked (app.info: Timeout was reached.*)" "$CTL_OUT"
	assert_eq "no answer: allow-list byte-identical" "$allow" "$(allow_sum)"
	assert_eq "no answer: the claim stays pending" pending "$(state "$CLAIM")"
	check "no answer: its tokens stay, to be checked later" spool_holds "$H_K"
	ctl -- enroll reject "$CLAIM"
	assert_eq "enroll reject: exit status" 0 "$CTL_RC"
	assert_eq "enroll reject: says so" \
	    "$CLAIM rejected: by the operator; its tokens are erased" "$(cat "$CTL_OUT")"
	assert_eq "enroll reject: enroll list" "rejected: by the operator" \
	    "$(state "$CLAIM")"
	check_not "enroll reject: its tokens are gone" \
	    eval 'spool_holds "$H_A" || spool_holds "$H_K"'
	assert_eq "enroll reject: allow-list byte-identical" "$allow" "$(allow_sum)"
	ctl -- enroll reject "$CLAIM"
	assert_eq "enroll reject of a decided claim: exit 1" 1 "$CTL_RC"
}

# A server whose certificate the settings' CA did not sign: no answer is
# taken from it, whatever it says; the claim waits, and is verified by
# the right server on the next run.
test_untrusted() {
	local allow
	new_claim U
	answer U
	claimed "claim, then an untrusted server" "$(claim_body U)" "$U_M" "$U_D"
	allow=$(allow_sum)
	ctl "B24HOOK_OAUTH_URL=https://127.0.0.1:$EVIL_PORT" -- enroll verify
	assert_eq "untrusted certificate: verify fails" 1 "$CTL_RC"
	check "untrusted certificate: says so" \
	    grep -qE "^$CLAIM $U_M $U_D pending: not checked \(app.info: (SSL|Peer).*certificate" "$CTL_OUT"
	assert_eq "untrusted certificate: allow-list byte-identical" "$allow" \
	    "$(allow_sum)"
	assert_eq "untrusted certificate: the claim stays pending" pending \
	    "$(state "$CLAIM")"
	ctl "B24HOOK_OAUTH_CA=" -- enroll verify
	assert_eq "the system's CAs do not trust the test CA either" 1 "$CTL_RC"
	assert_eq "still pending" pending "$(state "$CLAIM")"
	ctl -- enroll verify
	assert_eq "the trusted server: verified" \
	    "0 $CLAIM $U_M $U_D verified: listed with token $(fp "$U_A"), label $U_D; install record written" \
	    "$CTL_RC $(cat "$CTL_OUT")"
	ctl "B24HOOK_OAUTH_URL=http://127.0.0.1:$OAUTH_PORT" -- enroll verify
	assert_eq "B24HOOK_OAUTH_URL http://: refused" 1 "$CTL_RC"
	check "B24HOOK_OAUTH_URL http://: names the setting" \
	    grep -q 'B24HOOK_OAUTH_URL not https://' "$CTL_ERR"
}

# LIMIT_OAUTH_ANSWER: an answer of N bytes is read, one of N+1 is not.
test_answer_size() {
	local allow
	new_claim S
	answer S
	pad S "$OAUTH_ANSWER"
	claimed "claim, an answer of $OAUTH_ANSWER bytes" "$(claim_body S)" "$S_M" "$S_D"
	ctl -- enroll verify
	check "an answer of $OAUTH_ANSWER bytes: read, verified" \
	    grep -q "^$CLAIM $S_M $S_D verified: " "$CTL_OUT"
	new_claim V
	answer V
	pad V $((OAUTH_ANSWER + 1))
	claimed "claim, an answer of $((OAUTH_ANSWER + 1)) bytes" "$(claim_body V)" "$V_M" "$V_D"
	allow=$(allow_sum)
	ctl -- enroll verify
	assert_eq "an answer of $((OAUTH_ANSWER + 1)) bytes: not taken" \
	    "1 $CLAIM $V_M $V_D pending: not checked (app.info answer over $OAUTH_ANSWER bytes)" \
	    "$CTL_RC $(cat "$CTL_OUT")"
	assert_eq "an answer too long: allow-list byte-identical" "$allow" "$(allow_sum)"
	ctl -- enroll reject "$CLAIM"
	assert_eq "an answer too long: rejected by hand" 0 "$CTL_RC"
}

# age ID SECONDS: make claim ID SECONDS older, as if it came then.
age() {
	local f=$SPOOL/$1.pending
	jq -c ".received -= $2" "$f" >"$f.new" && cat "$f.new" >"$f" &&
	    rm -f "$f.new"
}

# An access token lives an hour: a claim older is never checked.
test_expired() {
	local allow
	new_claim O
	answer O
	claimed "claim, an hour old" "$(claim_body O)" "$O_M" "$O_D"
	age "$CLAIM" "$TOKEN_AGE"
	allow=$(allow_sum)
	ctl -- enroll verify
	assert_eq "an hour old: expired, not checked" \
	    "0 $CLAIM $O_M $O_D expired: received over $TOKEN_AGE s ago, not checked; its tokens are erased" \
	    "$CTL_RC $(cat "$CTL_OUT")"
	assert_eq "an hour old: allow-list byte-identical" "$allow" "$(allow_sum)"
	assert_eq "an hour old: enroll list" expired "$(state "$CLAIM")"
	check_not "an hour old: its tokens are gone" \
	    eval 'spool_holds "$O_A" || spool_holds "$O_K"'

	new_claim N
	answer N
	claimed "claim, not quite an hour old" "$(claim_body N)" "$N_M" "$N_D"
	age "$CLAIM" $((TOKEN_AGE - 60))
	ctl -- enroll verify
	check "59 minutes old: checked, verified" \
	    grep -q "^$CLAIM $N_M $N_D verified: " "$CTL_OUT"
}

# Two claims for one portal with different tokens: neither is applied;
# the operator approves one and rejects the other.
test_conflict() {
	local allow c1 c2
	new_claim C1
	new_claim C2 "$C1_M" "$C1_D"
	answer C1
	answer C2
	claimed "first claim for a portal" "$(claim_body C1)" "$C1_M" "$C1_D"
	c1=$CLAIM
	claimed "second claim, same portal, another token" "$(claim_body C2)" "$C1_M" "$C1_D"
	c2=$CLAIM
	allow=$(allow_sum)
	ctl -- enroll verify
	assert_eq "conflict: verify exit status" 0 "$CTL_RC"
	assert_eq "conflict: both wait for the operator" \
	    "$(printf '%s\n' "$c1" "$c2" | sort | sed "s/\$/ $C1_M $C1_D pending: needs approve (another claim for this portal has another token)/")" \
	    "$(sort "$CTL_OUT")"
	assert_eq "conflict: allow-list byte-identical" "$allow" "$(allow_sum)"
	check "conflict: no log" test ! -e "$LOGS/$C1_M.jsonl"
	assert_eq "conflict: enroll list" \
	    "pending: needs approve (another claim for this portal has another token)" \
	    "$(state "$c2")"
	ctl -- enroll verify
	assert_eq "conflict: verify again: both still wait" "0 2" \
	    "$CTL_RC $(grep -c ' pending: needs approve ' "$CTL_OUT")"
	assert_eq "conflict: allow-list still byte-identical" "$allow" \
	    "$(allow_sum)"

	ctl -- enroll approve "$c1"
	assert_eq "approve: exit status" 0 "$CTL_RC"
	assert_eq "approve: says what it added" \
	    "$c1 $C1_M $C1_D verified: approved; listed with token $(fp "$C1_A"), label $C1_D; install record written" \
	    "$(cat "$CTL_OUT")"
	assert_eq "approve: the allow-list's new line" "$C1_M $C1_A $C1_D" \
	    "$(tail -n 1 "$ALLOW")"
	ctl -- enroll reject "$c2"
	assert_eq "reject the other: exit status" 0 "$CTL_RC"
	accepted "the approved token" 1 "$C1_M" fcgi "$FORM" \
	    "$(event_body C1 "$C1_A")"
	assert_eq "its log starts with the install record" \
	    "ONAPPINSTALL ONIMCONNECTORMESSAGEADD" \
	    "$(jq -r .event "$LOGS/$C1_M.jsonl" | paste -sd ' ')"
	refused "the rejected token" 403 forbidden token_mismatch fcgi "$FORM" \
	    "$(event_body C1 "$C2_A")"
	check_not "no claim's token stays in the spool" \
	    eval 'spool_holds "$C1_A" || spool_holds "$C2_A"'
}

# A listed portal's new token (ONAPPUPDATE): never replaced by a rule;
# approve adds it beside the old one.
test_token_change() {
	local allow old portal=bac1cd5c8940947a75e0d71b1a84e348
	old=$(allow_token "$portal" "$ALLOW")
	new_claim L "$portal" some-domain.bitrix24.com
	answer L
	claimed "ONAPPUPDATE with a new token for a listed portal" \
	    "$(claim_body L ONAPPUPDATE)" "$L_M" "$L_D"
	allow=$(allow_sum)
	ctl -- enroll verify
	assert_eq "token change: waits for the operator" \
	    "0 $CLAIM $L_M $L_D pending: needs approve (the portal is listed with another token)" \
	    "$CTL_RC $(cat "$CTL_OUT")"
	assert_eq "token change: allow-list byte-identical" "$allow" "$(allow_sum)"
	refused "token change: the new token before approval" 403 forbidden \
	    token_mismatch fcgi "$FORM" "$(event_body L "$L_A")"
	ctl -- enroll approve "$CLAIM"
	assert_eq "approve: exit status" 0 "$CTL_RC"
	check "approve: says the old token stays valid during rotation" \
	    grep -q "^$CLAIM $L_M $L_D note: the portal's 1 other token(s) stay valid" "$CTL_OUT"
	assert_eq "approve: both tokens listed" 2 \
	    "$(awk -v m="$portal" '$1 == m' "$ALLOW" | wc -l)"
	accepted "the new token" 1 "$portal" fcgi "$FORM" "$(event_body L "$L_A")"
	accepted "the old token, still" 1 "$portal" fcgi "$FORM" "$(event_body L "$old")"
	assert_eq "the log has the update, then both events" \
	    "ONAPPUPDATE ONIMCONNECTORMESSAGEADD ONIMCONNECTORMESSAGEADD" \
	    "$(jq -r .event "$LOGS/$portal.jsonl" | paste -sd ' ')"
}

# What is refused as before, with enrollment on.
test_not_claims() {
	local spool
	new_claim Q
	spool=$(dir_sum "$SPOOL")
	refused "another event from a portal not listed" 403 forbidden \
	    unknown_portal fcgi "$FORM" "$(event_body Q "$Q_A")"
	sed 's/&auth%5Baccess_token%5D=[^&]*//' "$(claim_body Q)" >"$IN/Q-noaccess.form"
	refused "an install without an access token" 403 forbidden \
	    unknown_portal fcgi "$FORM" "$IN/Q-noaccess.form"
	sed 's/auth%5Bdomain%5D=[^&]*/auth%5Bdomain%5D=bad_domain%0A.com/' \
	    "$(claim_body Q)" >"$IN/Q-baddomain.form"
	refused "an install with a malformed domain" 403 forbidden \
	    unknown_portal fcgi "$FORM" "$IN/Q-baddomain.form"
	assert_eq "nothing kept in the spool" "$spool" "$(dir_sum "$SPOOL")"
}

# The spool holds at most LIMIT_SPOOL_ENTRIES claims: the next is 503,
# and the same install posted again and again is kept side by side.
test_flood() {
	local n i ok=0 body
	new_claim F
	body=$(claim_body F)
	n=$((SPOOL_ENTRIES - $(pending)))
	for ((i = 0; i < n; i++)); do
		post fcgi "$FORM" "$body"
		[ "$STATUS" = 202 ] && ok=$((ok + 1))
	done
	assert_eq "flood: claims up to the limit kept (202)" "$n" "$ok"
	assert_eq "flood: the spool holds $SPOOL_ENTRIES claims" \
	    "$SPOOL_ENTRIES" "$(pending)"
	refused "flood: one claim more" 503 storage_unavailable \
	    "enrollment spool full" fcgi "$FORM" "$body"
	assert_eq "flood: the spool still holds $SPOOL_ENTRIES" \
	    "$SPOOL_ENTRIES" "$(pending)"
	check "flood: within LIMIT_SPOOL_BYTES" \
	    test "$(du -sb "$SPOOL" | cut -f1)" -le $((4 * 1048576 + 65536))
	ctl -- enroll list
	assert_eq "flood: the same claim, kept side by side" "$n" \
	    "$(grep -c " $F_M $F_D ONAPPINSTALL .* pending$" "$CTL_OUT")"
}

# portal list / add / remove; check; the CGI guard.
test_cli() {
	local before m=0123456789abcdef0123456789abcdef t
	t=$(rand 16)
	SECRETS+=("$t")
	before=$(allow_sum)
	ctl -- portal add "$m" - by-hand <<<"$t"
	assert_eq "portal add (token on stdin)" \
	    "0 $m $(fp "$t") added with label by-hand" "$CTL_RC $(cat "$CTL_OUT")"
	assert_eq "portal add: the line" "$m $t by-hand" "$(tail -n 1 "$ALLOW")"
	ctl -- portal add "$m" - by-hand <<<"$t"
	assert_eq "portal add again: nothing added" \
	    "0 $m $(fp "$t") listed already: nothing added" "$CTL_RC $(cat "$CTL_OUT")"
	ctl -- portal list
	check "portal list: the entry" grep -qx "$m $(fp "$t") by-hand" "$CTL_OUT"
	ctl -- portal remove "$m" 00000000
	assert_eq "portal remove, another fingerprint: exit 1" 1 "$CTL_RC"
	ctl -- portal remove "$m" "$(fp "$t")"
	assert_eq "portal remove" "0 $m $(fp "$t") removed" "$CTL_RC $(cat "$CTL_OUT")"
	assert_eq "add then remove: allow-list byte-identical" "$before" "$(allow_sum)"
	assert_eq "allow-list: owner, group, mode kept" "root nogroup 640" \
	    "$(stat -c '%U %G %a' "$ALLOW")"
	ctl -- portal add "bad/id" "$t"
	assert_eq "portal add bad/id: exit 1" 1 "$CTL_RC"

	ctl -- check
	assert_eq "check: passes" 0 "$CTL_RC"
	cp "$ALLOW" "$IN/etc/bad.txt"
	printf 'bad/id token\nfine tok\n' >>"$IN/etc/bad.txt"
	chmod 0644 "$IN/etc/bad.txt"
	ctl "B24HOOK_ALLOWLIST=$IN/etc/bad.txt" -- check
	assert_eq "check, a bad line: exit 1" 1 "$CTL_RC"
	check "check: names the bad line by number" \
	    grep -q "line $(($(wc -l <"$ALLOW") + 1)): member_id must match" "$CTL_ERR"
	check "check: warns of a world-readable allow-list" \
	    grep -q 'world-readable' "$CTL_ERR"
	ctl "B24HOOK_LOG_DIR=$IN/nowhere" -- check
	assert_eq "check, no log directory: exit 1" 1 "$CTL_RC"

	ctl GATEWAY_INTERFACE=CGI/1.1 -- enroll list
	assert_eq "as a CGI program (GATEWAY_INTERFACE): exit 2" 2 "$CTL_RC"
	ctl REQUEST_METHOD=POST -- portal list
	assert_eq "as a CGI program (REQUEST_METHOD): exit 2, nothing printed" \
	    "2 0" "$CTL_RC $(wc -c <"$CTL_OUT")"
	ctl -- enroll
	assert_eq "usage: exit 2" 2 "$CTL_RC"
}

need nginx spawn-fcgi curl openssl jq perl b2sum
servers_setup
SOCK=$T/run/b24hook.sock
if ! tls_setup || ! setup; then
	fail "set-up: nginx, the responder, the OAuth stand-in" \
	    "$(cat "$T/nginx/test.out" "$T/nginx/start.out" 2>/dev/null |
	    grep -o 'emerg.*' | head -n 3)"
	finish $TEST_NAME
fi
ok "set-up: nginx, the responder with enrollment, the OAuth stand-in"
test -x "$CTL" || {
	fail "build/b24hookctl built"
	finish $TEST_NAME
}
test_happy
test_refusals
test_no_answer
test_untrusted
test_answer_size
test_expired
test_conflict
test_token_change
test_not_claims
test_cli
test_flood
check_no_secrets "no token in logs, replies, operator lines, b24hookctl's output" \
    "$T" "${SECRETS[@]}"
check "every server stopped by its pid (SIGTERM)" servers_stop
finish $TEST_NAME
