#!/bin/bash
# End-to-end: build/b24hook as a persistent FastCGI responder, started by
# spawn-fcgi on a unix socket and driven by the real FastCGI client
# cgi-fcgi (libfcgi-bin).  Run from anywhere: bash tests/e2e/test_fastcgi.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# For these fixtures the records' .data must be what the form decodes to:
# the JSON fixture's part at this path, with every number as a string.
declare -A DATA_PATH=(
	[ONAPPINSTALL]='[.data]'
	[ONIMCONNECTORLINEDELETE]='[.data]'
	[ONIMCONNECTORDIALOGSTART]='[.data.DATA[]]'
	[ONIMCONNECTORMESSAGEDELETE]='[.data.MESSAGES[]]'
	[ONSESSIONSTART]='[.data.DATA]'
)

# start_responder SOCK [NAME=VALUE...]: spawn-fcgi with only these
# variables in its environment; sets SERVER_PID and SOCK.
start_responder() {
	SOCK=$1
	shift
	rm -f "$T/pid"
	env -i "$@" spawn-fcgi -s "$SOCK" -P "$T/pid" -- "$B24HOOK" \
	    >"$T/run/spawn.out" 2>&1
	SERVER_PID=$(cat "$T/pid" 2>/dev/null)
	if [ -n "$SERVER_PID" ] && ! gone "$SERVER_PID"; then
		ok "responder started (pid $SERVER_PID)"
	else
		fail "responder started" "spawn-fcgi: $(head -c 200 "$T/run/spawn.out")"
		finish test_fastcgi
	fi
}

# identity: the responder's pid and start time.
identity() {
	echo "$SERVER_PID $(cut -d' ' -f22 "/proc/$SERVER_PID/stat" 2>/dev/null)"
}

# stop_responder: stop it by pid; it must be gone and its socket dead.
stop_responder() {
	local pid=$SERVER_PID
	check "responder $pid stopped by SIGTERM" stop_pid "$pid"
	SERVER_PID=
	post fcgi "$FORM" "$FIXTURES/ONAPPUNINSTALL.form"
	assert_eq "stopped responder answers nothing" "" "$STATUS"
}

# with_portal NAME FIXTURE MEMBER_ID TOKEN: the fixture's form posted by
# another portal; prints the body's path.
with_portal() {
	local mid tok
	mid=$(fixture_portal "$2")
	tok=$(allow_token "$mid")
	sed "s/=$mid/=$3/; s/=$tok/=$4/" "$FIXTURES/$2.form" >"$IN/$1"
	printf '%s\n' "$IN/$1"
}

# random_token: 32 characters of [0-9a-z], like Bitrix's.
random_token() {
	LC_ALL=C tr -dc '0-9a-z' </dev/urandom | head -c 32
}

# check_data NAME: the records in $NEW (NAME.form's) carry as .data what
# the form decodes to.  On failure names the paths that differ, not the
# values (a regression could put a token there).
check_data() {
	local want=$T/run/$1.want got=$T/run/$1.got
	jq -cS "walk(if type == \"number\" then tostring else . end) |
	    ${DATA_PATH[$1]}" "$FIXTURES/$1.json" >"$want"
	jq -cS .data "$NEW" | jq -cSs . >"$got"
	if cmp -s "$want" "$got"; then
		ok "$1.form: .data is the form decoded"
	else
		fail "$1.form: .data is the form decoded" "differs at: $(jq -rn \
		    --slurpfile a "$want" --slurpfile b "$got" '
		    [$a[0], $b[0] | paths(scalars)] | unique |
		    map(select(. as $p | ($a[0] | getpath($p)) !=
		    ($b[0] | getpath($p))) | map(tostring) | join(".")) |
		    join(" ")')"
	fi
}

# All fixtures, both encodings, to one process.
test_all_fixtures() {
	local f name enc ct n before expected=$T/run/expected.txt
	before=$(identity)
	: >"$expected"
	for f in "$FIXTURES"/*.form; do
		name=$(basename "$f" .form)
		n=$(fixture_records "$name")
		for enc in form json; do
			ct=$FORM
			[ "$enc" = json ] && ct=$JSON
			accepted "$name.$enc" "$n" "$(fixture_portal "$name")" \
			    fcgi "$ct" "$FIXTURES/$name.$enc"
			for _ in $(seq "$n"); do
				echo "$(fixture_portal "$name") $(fixture_event "$name")"
			done >>"$expected"
			if [ "$enc" = form ] && [ -n "${DATA_PATH[$name]-}" ]; then
				check_data "$name"
			fi
		done
	done
	assert_eq "one process served every fixture" "$before" "$(identity)"
	assert_eq "records on disk: count" "$(lines "$expected")" \
	    "$(cat "$LOGS"/*.jsonl | wc -l | tr -d ' ')"
	assert_eq "records on disk: member_id and event of each" \
	    "$(LC_ALL=C sort "$expected" | sha256sum)" \
	    "$(jq -r '"\(.member_id) \(.event | ascii_upcase)"' "$LOGS"/*.jsonl |
	    LC_ALL=C sort | sha256sum)"
}

# Settings sent as FastCGI params are ignored: the service's own
# environment decides (a request must not choose the allow-list, the log
# directory or a limit).
test_params_ignored() {
	local body portal forged tok
	body=$FIXTURES/ONAPPINSTALL.form
	portal=$(fixture_portal ONAPPINSTALL)
	tok=$(allow_token "$portal")
	forged=$IN/forged-token.form
	sed "s/=$tok/=attacker-chosen-token/" "$body" >"$forged"
	printf '%s attacker-chosen-token forged\n' "$portal" >"$IN/attacker-allow.txt"
	refused "params B24HOOK_ALLOWLIST naming the attacker's list" 403 \
	    forbidden token_mismatch fcgi "$FORM" "$forged" \
	    "B24HOOK_ALLOWLIST=$IN/attacker-allow.txt"
	refused "params B24HOOK_ALLOWLIST=/etc/passwd" 403 forbidden \
	    token_mismatch fcgi "$FORM" "$forged" B24HOOK_ALLOWLIST=/etc/passwd
	check_not "/etc/passwd: nothing of it on stderr" grep -q root "$ERR"

	mkdir "$T/logs/params"
	accepted "params B24HOOK_LOG_DIR: the service's directory" 1 \
	    "$portal" fcgi "$FORM" "$body" "B24HOOK_LOG_DIR=$T/logs/params"
	assert_eq "params B24HOOK_LOG_DIR: nothing in the named directory" \
	    "" "$(ls -A "$T/logs/params")"
	accepted "params B24HOOK_MAX_BODY=100: the service's limit" 1 \
	    "$portal" fcgi "$FORM" "$body" B24HOOK_MAX_BODY=100
	refused "params B24HOOK_MAX_BODY cannot raise the limit" 413 \
	    body_too_large "" fcgi "$FORM" "$(body_of_size 2001)" \
	    B24HOOK_MAX_BODY=1048576
	accepted "environment settings again" 1 "$portal" fcgi "$FORM" "$body"
}

# The allow-list edited under a running responder.
test_allowlist_edits() {
	local before old new
	before=$(identity)
	old=$(with_portal new-old.form ONAPPUNINSTALL "$NEW_MID" "$NEW_TOK")
	new=$(with_portal new-new.form ONAPPUNINSTALL "$NEW_MID" "$NEW_TOK2")

	refused "new portal before it is listed" 403 forbidden unknown_portal \
	    fcgi "$FORM" "$old"
	echo "$NEW_MID $NEW_TOK new-portal" >>"$ALLOW"
	accepted "new portal appended in place" 1 "$NEW_MID" fcgi "$FORM" "$old"

	sed "s/^$NEW_MID $NEW_TOK /$NEW_MID $NEW_TOK2 /" "$ALLOW" \
	    >"$IN/allow.tmp"
	mv "$IN/allow.tmp" "$ALLOW"
	refused "old token after a rename-save rotation" 403 forbidden \
	    token_mismatch fcgi "$FORM" "$old"
	accepted "new token after a rename-save rotation" 1 "$NEW_MID" \
	    fcgi "$FORM" "$new"

	mv "$ALLOW" "$IN/allow.saved"
	refused "allow-list deleted" 500 config_error "" fcgi "$FORM" "$new"
	mv "$IN/allow.saved" "$ALLOW"
	accepted "allow-list restored" 1 "$NEW_MID" fcgi "$FORM" "$new"
	assert_eq "edits seen without a restart" "$before" "$(identity)"
}

# A refusal leaves the process able to serve the next request.
test_error_then_good() {
	local before
	before=$(identity)
	refused "forged token" 403 forbidden token_mismatch fcgi "$FORM" \
	    "$(with_portal forged.form ONSESSIONSTART \
	    "$(fixture_portal ONSESSIONSTART)" "$(random_token)")"
	accepted "good request after a 403" 1 \
	    "$(fixture_portal ONSESSIONSTART)" fcgi "$FORM" \
	    "$FIXTURES/ONSESSIONSTART.form"
	refused "GET" 405 method_not_allowed "" fcgi - \
	    "$(make_body empty '')" REQUEST_METHOD=GET -CONTENT_LENGTH
	check "GET: Allow: POST" grep -qx 'Allow: POST' <<<"$HEADERS"
	refused "truncated body" 400 malformed_body "" fcgi "$FORM" \
	    "$FIXTURES/ONSESSIONSTART.form" CONTENT_LENGTH=1999
	accepted "good request after a truncated one" 1 \
	    "$(fixture_portal ONSESSIONSTART)" fcgi "$FORM" \
	    "$FIXTURES/ONSESSIONSTART.form"
	assert_eq "same process after the errors" "$before" "$(identity)"
}

# A responder with no settings in its environment serves none from the
# params; its CGI variables come from the params only, never from its own
# environment.
test_params_only() {
	local body=$FIXTURES/ONAPPUNINSTALL.form
	refused "no settings in the environment, params given" 500 \
	    config_error "B24HOOK_ALLOWLIST unset" fcgi "$FORM" "$body" \
	    "B24HOOK_ALLOWLIST=$ALLOW" "B24HOOK_LOG_DIR=$LOGS"
}

test_cgi_vars_from_params() {
	local body=$FIXTURES/ONAPPUNINSTALL.form
	refused "no REQUEST_METHOD param, one in the environment" 405 \
	    method_not_allowed "" fcgi "$FORM" "$body" -REQUEST_METHOD
	refused "no CONTENT_LENGTH param, one in the environment" 411 \
	    length_required "" fcgi "$FORM" "$body" -CONTENT_LENGTH
	accepted "both given as params" 1 "$(fixture_portal ONAPPUNINSTALL)" \
	    fcgi "$FORM" "$body"
}

[ -x "$B24HOOK" ] || {
	echo "test_fastcgi: $B24HOOK is missing: run make" >&2
	exit 1
}
for tool in spawn-fcgi cgi-fcgi jq; do
	command -v "$tool" >/dev/null || {
		echo "test_fastcgi: $tool is missing: run scripts/deps.sh" >&2
		exit 1
	}
done
e2e_setup
ALLOW=$IN/allow.txt
cp "$FIXTURES/allow.txt" "$ALLOW"
LOGS=$T/logs/main
mkdir "$LOGS"
NEW_MID=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
NEW_TOK=$(random_token)
NEW_TOK2=$(random_token)

start_responder "$T/env.sock" "B24HOOK_ALLOWLIST=$ALLOW" "B24HOOK_LOG_DIR=$LOGS" \
    B24HOOK_MAX_BODY=2000 REQUEST_METHOD=POST CONTENT_LENGTH=10
test_all_fixtures
test_params_ignored
test_cgi_vars_from_params
test_allowlist_edits
test_error_then_good
stop_responder

start_responder "$T/bare.sock"
test_params_only
stop_responder

check_no_secrets "no secret in logs or captured output" "$T" \
    "$NEW_TOK" "$NEW_TOK2"
finish test_fastcgi
