#!/bin/bash
# End-to-end: build/b24hook as plain CGI (settings and request in the
# environment, body on stdin), checked by its reply, its operator line and
# the per-portal logs.  Run from anywhere: bash tests/e2e/test_cgi.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# What each fixture's records must say beyond the common fields: a jq
# filter over the array of the records one post appended.
declare -A DISTINCT=(
	[ONAPPINSTALL]='.[0] | .user_id == 1 and
	    .domain == "some-domain.bitrix24.com" and .data.LANGUAGE_ID == "en"'
	[ONAPPUNINSTALL]='.[0].data | .LANGUAGE_ID == "en" and
	    (.CLEAN | tostring) == "1"'
	[ONIMCONNECTORDIALOGSTART]='.[0] | .session_closed == false and
	    .session_id == 3282 and .line == 105 and
	    .connector == "newcustomconnector" and .external_chat_id == "8" and
	    .context.CONNECTOR == "newcustomconnector" and
	    (.context.LINE | tostring) == "105"'
	[ONIMCONNECTORDIALOGFINISH]='.[0] | .session_closed == true and
	    .session_id == 3282 and .close_term == 10 and .line == 105'
	[ONIMCONNECTORLINEDELETE]='.[0] | .line == 107 and
	    (.data | tostring) == "107"'
	[ONIMCONNECTORMESSAGEADD]='.[0] | .message_id == 86497 and
	    .chat_id == 1807 and .external_chat_id == "channel-123" and
	    (.context | keys) == ["CONNECTOR", "LINE"] and
	    .context.CONNECTOR == "myconnector" and
	    (.context.LINE | tostring) == "107"'
	[ONIMCONNECTORMESSAGEUPDATE]='.[0] | .message_id == 86501 and
	    .external_message_ids == ["ext-msg-005"]'
	[ONIMCONNECTORMESSAGEDELETE]='map(.message_id) == [86501, 86502] and
	    map(.external_message_ids) == [["ext-msg-005"], ["ext-msg-006"]] and
	    map(.item) == [0, 1] and map(.items) == [2, 2] and
	    (map(.context | .LINE |= tostring) | unique) ==
	    [{"CONNECTOR": "myconnector", "LINE": "107"}]'
	[ONIMCONNECTORSTATUSDELETE]='.[0] | .connector == "myconnector" and
	    .line == 107'
	[ONOPENLINEMESSAGEADD]='.[0] | .message_id == 99120 and .line == 128 and
	    .connector == "livechat" and .context.CONNECTOR == "livechat"'
	[ONSESSIONSTART]='.[0] | .line_name == "linename" and .line == 128 and
	    .chat_id == 10585 and (has("context") | not)'
	[ONSESSIONFINISH]='.[0] | .line_name == "linename" and .line == 128'
	[ONSESSIONFINISH.doc]='.[0] | .connector == "livechat" and
	    .line == 128 and .chat_id == 10585'
)
SEEDS="ONIMCONNECTORDIALOGSTART ONIMCONNECTORDIALOGFINISH ONSESSIONFINISH.doc"
declare -A KEYS # NAME.ENC -> the keys of its records

# roundtrip NAME ENC: one fixture in one encoding.
roundtrip() {
	local name=$1 enc=$2 desc=$1.$2 ct=$FORM ev portal
	[ "$enc" = json ] && ct=$JSON
	ev=$(fixture_event "$name")
	portal=$(fixture_portal "$name")
	accepted "$desc" "$(fixture_records "$name")" "$portal" cgi \
	    "$ct" "$FIXTURES/$desc"
	assert_eq "$desc: .event" "$ev" \
	    "$(jq -r '.event | ascii_upcase' "$NEW" | sort -u)"
	assert_eq "$desc: .member_id" "$portal" \
	    "$(jq -r .member_id "$NEW" | sort -u)"
	assert_eq "$desc: .key is 32 hex" "$(lines "$NEW")" \
	    "$(jq -r .key "$NEW" | grep -cxE '[0-9a-f]{32}')"
	if [ -n "${DISTINCT[$name]-}" ]; then
		check "$desc: distinctive fields" jq -se "${DISTINCT[$name]}" "$NEW"
	else
		fail "$desc: distinctive fields" "no check written for $name"
	fi
	KEYS[$desc]=$(new_keys)
}

test_fixtures() {
	local f name seed
	for seed in $SEEDS; do
		check "seed example $seed is a fixture" \
		    test -f "$FIXTURES/$seed.form" -a -f "$FIXTURES/$seed.json"
	done
	for f in "$FIXTURES"/*.form; do
		name=$(basename "$f" .form)
		roundtrip "$name" form
		roundtrip "$name" json
		assert_eq "$name: .form and .json give the same keys" \
		    "${KEYS[$name.form]}" "${KEYS[$name.json]}"
	done
}

# The form as test tools send it, and content types as clients spell them.
test_form_variants() {
	local name=ONIMCONNECTORMESSAGEDELETE body portal
	portal=$(fixture_portal $name)
	body=$IN/literal.form
	sed 's/%5B/[/g; s/%5D/]/g' "$FIXTURES/$name.form" >"$body"
	accepted "literal brackets" 2 "$portal" cgi "$FORM" "$body"
	assert_eq "literal brackets: same keys as encoded" \
	    "${KEYS[$name.form]}" "$(new_keys)"

	name=ONAPPINSTALL
	portal=$(fixture_portal $name)
	accepted "form; charset=UTF-8" 1 "$portal" cgi \
	    "$FORM; charset=UTF-8" "$FIXTURES/$name.form"
	assert_eq "form; charset=UTF-8: same key" "${KEYS[$name.form]}" \
	    "$(new_keys)"
	accepted "form in upper case" 1 "$portal" cgi \
	    "APPLICATION/X-WWW-FORM-URLENCODED" "$FIXTURES/$name.form"
	accepted "no CONTENT_TYPE: taken as form" 1 "$portal" cgi - \
	    "$FIXTURES/$name.form"
	assert_eq "no CONTENT_TYPE: same key" "${KEYS[$name.form]}" \
	    "$(new_keys)"
	accepted "json; charset=utf-8" 1 "$portal" cgi \
	    "$JSON; charset=utf-8" "$FIXTURES/$name.json"
}

# A body with a valid portal and token, for the checks past verification.
auth_pairs() {
	local mid
	mid=$(fixture_portal ONAPPINSTALL)
	printf 'auth[member_id]=%s&auth[application_token]=%s' \
	    "$mid" "$(allow_token "$mid")"
}

# nested N: a name of N levels, a[b][b]...
nested() { printf 'a'; printf '[b]%.0s' $(seq 2 "$1"); }

# pairs N: N extra pairs.
pairs() { printf '&x[]=1%.0s' $(seq "$1"); }

test_limits() {
	local auth mid
	auth=$(auth_pairs)
	mid=$(fixture_portal ONAPPINSTALL)
	accepted "32 levels accepted" 1 "$mid" cgi "$FORM" \
	    "$(make_body depth32 "event=ONX&$(nested 32)=1&$auth")"
	refused "33 levels" 400 limit_exceeded "" cgi "$FORM" \
	    "$(make_body depth33 "event=ONX&$(nested 33)=1&$auth")"
	# event + 2 auth pairs + the extra ones
	accepted "10000 pairs accepted" 1 "$mid" cgi "$FORM" \
	    "$(make_body pairs10000 "event=ONX&$auth$(pairs 9997)")"
	refused "10001 pairs" 400 limit_exceeded "" cgi "$FORM" \
	    "$(make_body pairs10001 "event=ONX&$auth$(pairs 9998)")"
}

# make_variant NAME FIXTURE SED: a fixture's form edited by SED.
make_variant() {
	sed "$3" "$FIXTURES/$2.form" >"$IN/$1"
	printf '%s\n' "$IN/$1"
}

# What a portal sends beside the items is in each item's record: a LINE
# that is not an integer (no line then) and a key unknown today.
test_context() {
	local name=ONIMCONNECTORMESSAGEADD portal body
	portal=$(fixture_portal $name)
	body=$(make_variant context.form $name \
	    's/data%5BLINE%5D=107/data%5BLINE%5D=107a\&data%5BEXTRA%5D=kept-where%3F/;
	    s/$/\&data%5BMESSAGES%5D%5B1%5D%5Bim%5D%5Bmessage_id%5D=86498/')
	accepted "LINE=107a, EXTRA, two messages" 2 "$portal" cgi "$FORM" "$body"
	check "LINE=107a, EXTRA: each record keeps them in .context" jq -se '
	    length == 2 and all(.[]; .context == {"CONNECTOR": "myconnector",
	    "LINE": "107a", "EXTRA": "kept-where?"} and (has("line") | not))
	    and map(.data.im.message_id) == ["86497", "86498"]' "$NEW"
}

# set_field FILE NAME VALUE: a copy of a form body with NAME's value
# replaced (NAME added when absent); prints the copy's path.
set_field() {
	local out
	out=$IN/$(basename "$1").$2.$3
	if grep -q "\(^\|&\)$2=" "$1"; then
		sed "s/\(^\|&\)$2=[^&]*/\1$2=$3/" "$1" >"$out"
	else
		{ cat "$1"; printf '&%s=%s' "$2" "$3"; } >"$out"
	fi
	printf '%s\n' "$out"
}

# post_copy PORTAL BODY HANDLER TS: BODY with that event_handler_id and
# ts, accepted as one record.
post_copy() {
	accepted "copies: ${2##*/} handler $3 ts $4" 1 "$1" cgi "$FORM" \
	    "$(set_field "$(set_field "$2" event_handler_id "$3")" ts "$4")" \
	    "B24HOOK_LOG_DIR=$LOGS"
}

# The key identifies content, and docs/records.md's jq program drops only
# copies:
# a message (A), its copy from a second binding (another event_handler_id,
# ts a second later), an edit (B), the edit undone (A again, with its own
# copy), then an install and the same install again later.
test_copies() {
	local name=ONIMCONNECTORMESSAGEADD a b log portal prog=$T/run/dedupe.jq
	local ka kb LOGS=$T/logs/copies
	mkdir -p "$LOGS"
	portal=$(fixture_portal $name)
	a=$FIXTURES/$name.form
	b=$(make_variant edited.form $name 's/Guten+Tag/Guten+Abend/')
	post_copy "$portal" "$a" 555 1773759161
	post_copy "$portal" "$a" 556 1773759162
	post_copy "$portal" "$b" 555 1773759400
	post_copy "$portal" "$a" 555 1773759700
	post_copy "$portal" "$a" 556 1773759701
	log=$LOGS/$portal.jsonl
	ka=$(jq -r .key "$log" | sed -n 1p)
	kb=$(jq -r .key "$log" | sed -n 3p)
	assert_eq "copies: A, its copy, B, A again and its copy: keys" \
	    "$ka $ka $kb $ka $ka" "$(jq -r .key "$log" | paste -sd ' ')"
	check "copies: B has a key of its own" test "$ka" != "$kb"
	# docs/records.md's program, as printed there
	awk '/^```jq$/ { f = 1; b = ""; next }
	    /^```$/ && f { f = 0; if (b ~ /foreach inputs/) printf "%s", b }
	    f { b = b $0 "\n" }' "$E2E_ROOT/docs/records.md" >"$prog"
	check "docs/records.md has the jq program" grep -q 'foreach inputs' "$prog"
	assert_eq "docs/records.md's program keeps A, B and A again, drops the copies" \
	    "555 1773759161,555 1773759400,555 1773759700" \
	    "$(jq -cn -f "$prog" "$log" | jq -r '"\(.event_handler_id) \(.ts)"' |
	    paste -sd ,)"

	name=ONAPPINSTALL
	portal=$(fixture_portal $name)
	accepted "install" 1 "$portal" cgi "$FORM" "$FIXTURES/$name.form" \
	    "B24HOOK_LOG_DIR=$LOGS"
	accepted "install again, later" 1 "$portal" cgi "$FORM" \
	    "$(set_field "$FIXTURES/$name.form" ts 1790000000)" \
	    "B24HOOK_LOG_DIR=$LOGS"
	log=$LOGS/$portal.jsonl
	assert_eq "install twice: one key" 1 "$(jq -r .key "$log" | sort -u |
	    wc -l | tr -d ' ')"
	assert_eq "docs/records.md's program keeps both installs" \
	    "1714640000,1790000000" \
	    "$(jq -cn -f "$prog" "$log" | jq -r .ts | paste -sd ,)"
}

test_bad_bodies() {
	local auth body
	auth=$(auth_pairs)
	refused "bad escape" 400 malformed_body "" cgi "$FORM" \
	    "$(make_body bad_escape 'a=%zz')"
	refused "bad JSON" 400 malformed_body "" cgi "$JSON" \
	    "$(make_body bad_json '{"event":')"
	refused "placement POST" 400 not_an_event "" cgi "$FORM" \
	    "$(make_body placement 'PLACEMENT=SETTING_CONNECTOR&AUTH_ID=x')"
	body=$IN/no_token.form
	tr '&' '\n' <"$FIXTURES/ONAPPUNINSTALL.form" |
	    grep -v '^auth%5Bapplication_token%5D=' | paste -sd '&' |
	    tr -d '\n' >"$body"
	refused "no auth[application_token]" 400 missing_auth "" \
	    cgi "$FORM" "$body"
	refused "invalid UTF-8" 400 invalid_utf8 "" cgi "$FORM" \
	    "$(make_body bad_utf8 "event=ONX&data=%FF&$auth")"
	body=$FIXTURES/ONAPPUNINSTALL.form
	refused "truncated body" 400 malformed_body "" cgi "$FORM" "$body" \
	    "CONTENT_LENGTH=$(($(stat -c %s "$body") + 10))"
	refused "CONTENT_LENGTH not a number" 400 malformed_body "" cgi \
	    "$FORM" "$body" CONTENT_LENGTH=12abc
}

test_forbidden() {
	local name=ONIMCONNECTORMESSAGEADD mid tok forged_reply
	mid=$(fixture_portal $name)
	tok=$(allow_token "$mid")
	refused "forged token" 403 forbidden token_mismatch cgi "$FORM" \
	    "$(make_variant forged.form $name "s/=$tok/=forgedforgedforgedforgedforged00/")"
	forged_reply=$REPLY
	refused "unknown portal" 403 forbidden unknown_portal cgi "$FORM" \
	    "$(make_variant unknown.form $name "s/=$mid/=0123456789abcdef0123456789abcdef/")"
	assert_eq "forged token and unknown portal: same reply" \
	    "$forged_reply" "$REPLY"
}

test_http() {
	local body=$FIXTURES/ONAPPUNINSTALL.form size
	size=$(stat -c %s "$body")
	refused "GET" 405 method_not_allowed "" cgi - "$(make_body empty '')" \
	    REQUEST_METHOD=GET -CONTENT_LENGTH
	check "GET: Allow: POST" grep -qx 'Allow: POST' <<<"$HEADERS"
	refused "PUT" 405 method_not_allowed "" cgi "$FORM" "$body" \
	    REQUEST_METHOD=PUT
	check "PUT: Allow: POST" grep -qx 'Allow: POST' <<<"$HEADERS"
	refused "no CONTENT_LENGTH" 411 length_required "" cgi "$FORM" "$body" \
	    -CONTENT_LENGTH
	refused "over B24HOOK_MAX_BODY=100" 413 body_too_large "" cgi "$FORM" \
	    "$body" B24HOOK_MAX_BODY=100
	refused "one byte over B24HOOK_MAX_BODY" 413 body_too_large "" cgi \
	    "$FORM" "$body" "B24HOOK_MAX_BODY=$((size - 1))"
	accepted "exactly B24HOOK_MAX_BODY" 1 \
	    "$(fixture_portal ONAPPUNINSTALL)" cgi "$FORM" "$body" \
	    "B24HOOK_MAX_BODY=$size"
	refused "text/plain" 415 unsupported_media_type "" cgi text/plain \
	    "$body"
}

test_config() {
	local body=$FIXTURES/ONAPPUNINSTALL.form missing=$T/no-such-allowlist
	refused "B24HOOK_ALLOWLIST unset" 500 config_error "" cgi "$FORM" \
	    "$body" -B24HOOK_ALLOWLIST
	refused "allow-list missing" 500 config_error "" cgi "$FORM" "$body" \
	    "B24HOOK_ALLOWLIST=$missing"
	case $REPLY in
	*no-such-allowlist* | *"$T"*) fail "allow-list missing: reply hides the path" ;;
	*) ok "allow-list missing: reply hides the path" ;;
	esac
	refused "B24HOOK_LOG_DIR unset" 500 config_error "" cgi "$FORM" \
	    "$body" -B24HOOK_LOG_DIR
	refused "B24HOOK_MAX_BODY not a number" 500 config_error "" cgi \
	    "$FORM" "$body" B24HOOK_MAX_BODY=abc
	refused "log dir missing" 503 storage_unavailable "" cgi "$FORM" \
	    "$body" "B24HOOK_LOG_DIR=$T/logs/missing"
}

test_modes() {
	local dir=$T/logs/umask0 old
	mkdir "$dir"
	old=$(umask)
	umask 000
	post cgi "$FORM" "$FIXTURES/ONAPPUNINSTALL.form" "B24HOOK_LOG_DIR=$dir"
	umask "$old"
	expect_ok "under umask 000" 1
	assert_eq "log created under umask 000: mode" 640 \
	    "$(stat -c %a "$dir/$(fixture_portal ONAPPUNINSTALL).jsonl")"
	assert_eq "every log is mode 0640" "" \
	    "$(find "$T/logs" -name '*.jsonl' ! -perm 640 -printf '%f ')"
}

test_secrets() {
	check "no record holds an auth key" jq -se \
	    'all(.[]; [.. | objects | keys[]] | any(IN("auth", "access_token",
	    "refresh_token", "application_token")) | not)' \
	    "$LOGS"/*.jsonl
	check_no_secrets "no secret in logs or captured output" "$T"
}

[ -x "$B24HOOK" ] || {
	echo "test_cgi: $B24HOOK is missing: run make" >&2
	exit 1
}
e2e_setup
LOGS=$T/logs/main
mkdir "$LOGS"
POST_ENV=("B24HOOK_ALLOWLIST=$FIXTURES/allow.txt" "B24HOOK_LOG_DIR=$LOGS")

test_fixtures
test_form_variants
test_limits
test_context
test_copies
test_bad_bodies
test_forbidden
test_http
test_config
test_modes
test_secrets
finish test_cgi
