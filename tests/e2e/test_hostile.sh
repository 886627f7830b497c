#!/bin/bash
# End-to-end: hostile requests, a table of them, each posted to
# build/b24hook as plain CGI and to a persistent FastCGI responder, each
# with its expected status, error code and operator line, and the proof
# that nothing was written (or, for the few a portal could legitimately
# send, exactly the records expected and nothing else).  Ends with the
# secret scan of everything the run wrote and printed.
# Run from anywhere: bash tests/e2e/test_hostile.sh
#
# HOSTILE_TOKEN_MAX (default 160): tokens of every length 0..N are tried.
# HOSTILE_MODES (default "cgi fcgi"): the ways the table is posted.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/harden.sh"

# --- bodies -----------------------------------------------------------------

# bin NAME FORMAT-ARG: a body from printf %b (so \0, \001, \xff are bytes).
bin() {
	printf '%b' "$2" >"$IN/$1"
	printf '%s\n' "$IN/$1"
}

# rep N TEXT: TEXT N times.
rep() { head -c "$(($1 * ${#2}))" < <(yes "$2" | tr -d '\n'); }

# big NAME PREFIX N CHAR SUFFIX: PREFIX, N times CHAR, SUFFIX.
big() {
	{
		printf '%s' "$2"
		head -c "$3" /dev/zero | tr '\0' "$4"
		printf '%s' "$5"
	} >"$IN/$1"
	printf '%s\n' "$IN/$1"
}

# A listed portal, its token, and an event body that passes every check.
MID=$(fixture_portal ONAPPINSTALL)
TOK=$(allow_token "$MID")
A="auth[member_id]=$MID&auth[application_token]=$TOK"
OK="event=ONAPPINSTALL&$A"
JA="\"auth\":{\"member_id\":\"$MID\",\"application_token\":\"$TOK\"}"

# --- the table --------------------------------------------------------------

# row DESC STATUS CODE|RECORDS REASON CT BODY [NAME=VALUE | -NAME]...
# STATUS 200: RECORDS records for $MID, nothing else written.  Otherwise
# the error CODE, the operator REASON (if not empty) and no write at all.
row() {
	local desc="$MODE: $1" status=$2 what=$3 reason=$4 ct=$5 body=$6
	shift 6
	if [ "$status" = 200 ]; then
		accepted "$desc" "$what" "$MID" "$MODE" "$ct" "$body" "$@"
	else
		refused "$desc" "$status" "$what" "$reason" "$MODE" "$ct" \
		    "$body" "$@"
	fi
}

rows_length() {
	local f=$FIXTURES/ONAPPINSTALL.form last n
	n=$(stat -c %s "$f")
	row "truncated body: CONTENT_LENGTH 10 over" 400 malformed_body "" \
	    "$FORM" "$f" "CONTENT_LENGTH=$((n + 10))"
	last=$(make_body token-last "$OK")
	row "CONTENT_LENGTH 1 under: the token's last byte unread" \
	    403 forbidden token_mismatch "$FORM" "$last" \
	    "CONTENT_LENGTH=$(($(stat -c %s "$last") - 1))"
	row "CONTENT_LENGTH=0 with a body" 400 not_an_event "no event key" \
	    "$FORM" "$f" CONTENT_LENGTH=0
	row "body longer than CONTENT_LENGTH: the rest never read" 200 1 "" \
	    "$FORM" "$(make_body longer "$OK&x=1&junk=%zz")" \
	    "CONTENT_LENGTH=$((${#OK} + 4))"
	for n in -1 +12 " 12" 12x 0x10 1e3 18446744073709551616 \
	    99999999999999999999999; do
		row "CONTENT_LENGTH='$n'" 400 malformed_body \
		    "bad content_length" "$FORM" "$f" "CONTENT_LENGTH=$n"
	done
	row "CONTENT_LENGTH=2^64-1" 413 body_too_large "" "$FORM" "$f" \
	    CONTENT_LENGTH=18446744073709551615
	row "CONTENT_LENGTH empty" 411 length_required "" "$FORM" "$f" \
	    CONTENT_LENGTH=
	row "body of 1 MiB + 1" 413 body_too_large "" "$FORM" \
	    "$(big over '' $((1048576 + 1)) x '')"
}

rows_escapes() {
	local e i=0
	for e in 'x=%' 'x=%4' 'x=%zz' 'x=%%41' 'x=%G1' 'x%=1' 'x=%u0041' \
	    'x=1%' '%=1' 'x[%5]=1'; do
		i=$((i + 1))
		row "bad escape '$e'" 400 malformed_body "" "$FORM" \
		    "$(make_body "esc$i" "$OK&$e")"
	done
}

rows_nul() {
	row "raw NUL in a value: kept as data" 200 1 "" "$FORM" \
	    "$(bin nul-value "$OK&x=a\0b")"
	row "raw NUL in a name" 400 malformed_body "" "$FORM" \
	    "$(bin nul-name "$OK&x\0y=1")"
	row "%00 in a name" 400 malformed_body "" "$FORM" \
	    "$(make_body nul-name-esc "$OK&x%00y=1")"
	row "%00 in event" 400 malformed_body "event not [A-Za-z0-9_]" \
	    "$FORM" "$(make_body nul-event "event=ONAPPINSTALL%00zz&$A")"
	row "%00 after a listed member_id" 403 forbidden unknown_portal \
	    "$FORM" "$(make_body nul-mid \
	    "event=ONX&auth[member_id]=$MID%00../x&auth[application_token]=$TOK")"
	row "%00 after the right token" 403 forbidden token_mismatch \
	    "$FORM" "$(make_body nul-tok "$OK%00")"
	row "JSON \\u0000 in a value" 400 malformed_body "" "$JSON" \
	    "$(make_body nul.json "{\"event\":\"ONX\",$JA,\"x\":\"a\\u0000b\"}")"
	row "JSON raw NUL" 400 malformed_body "" "$JSON" \
	    "$(bin nul-raw.json "{\"event\":\"ONX\",$JA,\"x\":\"a\0b\"}")"
}

rows_utf8() {
	local e i=0
	for e in '%FF' '%C0%80' '%ED%A0%80' '%F4%90%80%80' '%E2%82' '%80' \
	    '%F8%88%80%80%80'; do
		i=$((i + 1))
		row "invalid UTF-8 value $e" 400 invalid_utf8 "" "$FORM" \
		    "$(make_body "utf$i" "$OK&x=a$e")"
	done
	row "invalid UTF-8 name" 400 invalid_utf8 "" "$FORM" \
	    "$(make_body utf-name "$OK&%FE=1")"
	row "invalid UTF-8 raw byte" 400 invalid_utf8 "" "$FORM" \
	    "$(bin utf-raw "$OK&x=\xff")"
	row "JSON invalid UTF-8" 400 invalid_utf8 "" "$JSON" \
	    "$(bin utf.json "{\"event\":\"ONX\",$JA,\"x\":\"\xc0\x80\"}")"
	row "JSON lone surrogate escape" 400 malformed_body "" "$JSON" \
	    "$(make_body surrogate.json "{\"event\":\"ONX\",$JA,\"x\":\"\\ud800\"}")"
}

rows_depth() {
	row "10,000-deep form name" 400 limit_exceeded "limit=key max=512" \
	    "$FORM" "$(make_body deep "$OK&a$(rep 9999 '[b]')=1")"
	row "10,000 '[' in a name" 400 limit_exceeded "limit=key max=512" \
	    "$FORM" "$(make_body brackets "$OK&a$(rep 10000 '[')=1")"
	row "33 levels of a[]" 400 limit_exceeded "limit=depth max=32" \
	    "$FORM" "$(make_body depth33 "$OK&a$(rep 32 '[]')=1")"
	row "JSON 10,000-deep list" 400 limit_exceeded "limit=depth max=32" \
	    "$JSON" "$(make_body deep.json \
	    "{\"event\":\"ONX\",$JA,\"x\":$(rep 10000 '[')$(rep 10000 ']')}")"
	row "JSON 10,000-deep objects" 400 limit_exceeded "limit=depth max=32" \
	    "$JSON" "$(make_body deepobj.json \
	    "{\"event\":\"ONX\",$JA,\"x\":$(rep 10000 '{"a":')1$(rep 10000 '}')}")"
	row "JSON 33 levels" 400 limit_exceeded "limit=depth max=32" \
	    "$JSON" "$(make_body depth33.json \
	    "{\"event\":\"ONX\",$JA,\"x\":$(rep 32 '{"a":')1$(rep 32 '}')}")"
}

rows_indices() {
	row "a[99999999999]" 200 1 "" "$FORM" \
	    "$(make_body idx1 "$OK&a[99999999999]=1&a[]=2")"
	row "a[INT64_MAX] then a[]" 400 limit_exceeded \
	    "limit=index max=9223372036854775807" "$FORM" \
	    "$(make_body idx2 "$OK&a[9223372036854775807]=1&a[]=2")"
	row "a[INT64_MAX+1] then a[]: a string key" 200 1 "" "$FORM" \
	    "$(make_body idx3 "$OK&a[9223372036854775808]=1&a[]=2")"
	row "a[INT64_MIN] then a[]" 200 1 "" "$FORM" \
	    "$(make_body idx4 "$OK&a[-9223372036854775808]=1&a[]=2")"
}

rows_sizes() {
	local im="event=ONIMCONNECTORMESSAGEADD&$A"
	local jm="{\"event\":\"ONIMCONNECTORMESSAGEADD\",$JA,\"data\":{\"MESSAGES\":"
	row "10,001 pairs" 400 limit_exceeded "limit=pairs max=10000" \
	    "$FORM" "$(make_body pairs "$OK$(rep 9998 '&x[]=1')")"
	row "200,000 empty pairs" 200 1 "" "$FORM" \
	    "$(big empty-pairs "$OK" 200000 '&' '')"
	row "JSON over 10,000 values" 400 limit_exceeded "limit=pairs max=10000" \
	    "$JSON" "$(make_body values.json \
	    "{\"event\":\"ONX\",$JA,\"x\":[$(rep 9997 '1,')1]}")"
	row "a 512-byte key" 200 1 "" "$FORM" \
	    "$(big key512 "$OK&" 512 k '=1')"
	row "a 513-byte key" 400 limit_exceeded "limit=key max=512" "$FORM" \
	    "$(big key513 "$OK&" 513 k '=1')"
	row "a 1 MiB name" 400 limit_exceeded "limit=key max=512" "$FORM" \
	    "$(big name1m '' 1048000 n "&$OK")"
	row "a 1,000,000-byte value" 200 1 "" "$FORM" \
	    "$(big value1m "$OK&x=" 1000000 v '')"
	row "300,000 control bytes (6 bytes each in JSON)" 200 1 "" "$FORM" \
	    "$(big ctl "$OK&x=" 300000 '\001' '')"
	row "one item beside an 800 KB context" 200 1 "" "$FORM" \
	    "$(big item "event=ONIMCONNECTORMESSAGEADD&$A&data[ZZZ]=" \
	    819200 z '&data[MESSAGES][]=x')"
	row "1,000 items beside an 800 KB context" 400 limit_exceeded \
	    "limit=context max=512" "$FORM" \
	    "$(big items "event=ONIMCONNECTORMESSAGEADD&$A&data[ZZZ]=" \
	    819200 z "$(rep 1000 '&data[MESSAGES][]=x')")"
	row "1,000 items" 200 1000 "" "$FORM" \
	    "$(make_body items1000 "$im$(rep 1000 '&data[MESSAGES][]=x')")"
	row "1,001 items" 400 limit_exceeded "limit=items max=1000" "$FORM" \
	    "$(make_body items1001 "$im$(rep 1001 '&data[MESSAGES][]=x')")"
	row "JSON 1,001 items of two bytes" 400 limit_exceeded \
	    "limit=items max=1000" "$JSON" \
	    "$(make_body items1001.json "$jm[$(rep 1000 '1,')1]}}")"
	row "a 500 KB field copied into 1,000 records" 400 limit_exceeded \
	    "limit=context max=512" "$FORM" \
	    "$(big amplify "event=ONIMCONNECTORMESSAGEADD&$A&data[CONNECTOR]=" \
	    512000 c "$(rep 1000 '&data[MESSAGES][]=x')")"
	# {"CONNECTOR":"..."} is 16 bytes beside the connector
	row "a context of 512 bytes beside two items" 200 2 "" "$FORM" \
	    "$(big ctx512 "event=ONIMCONNECTORMESSAGEADD&$A&data[CONNECTOR]=" \
	    496 c '&data[MESSAGES][]=x&data[MESSAGES][]=y')"
	row "a context of 513 bytes beside two items" 400 limit_exceeded \
	    "limit=context max=512" "$FORM" \
	    "$(big ctx513 "event=ONIMCONNECTORMESSAGEADD&$A&data[CONNECTOR]=" \
	    497 c '&data[MESSAGES][]=x&data[MESSAGES][]=y')"
	row "a domain of 253 bytes" 200 1 "" "$FORM" \
	    "$(big dom253 "$OK&auth[domain]=" 253 d '')"
	row "a domain of 254 bytes" 400 limit_exceeded "limit=domain max=253" \
	    "$FORM" "$(big dom254 "$OK&auth[domain]=" 254 d '')"
	row "a 60 KB domain beside 250 messages" 400 limit_exceeded \
	    "limit=domain max=253" "$FORM" \
	    "$(big dom60k "event=ONIMCONNECTORMESSAGEADD&$A&auth[domain]=" \
	    61440 d "$(rep 250 '&data[MESSAGES][]=x')")"
	# the megabytes above, checked: set aside (still secret-scanned) so
	# the rows below do not checksum them again and again
	assert_eq "$MODE: sizes: every log is whole records" ok \
	    "$(whole_lines "$LOGS"/*.jsonl)"
	mkdir -p "$T/sizes-$MODE"
	mv "$LOGS"/*.jsonl "$T/sizes-$MODE/"
}

rows_collisions() {
	row "a[] then a[x]" 200 1 "" "$FORM" \
	    "$(make_body col1 "$OK&a[]=1&a[x]=2")"
	row "scalar a then map a[b]" 200 1 "" "$FORM" \
	    "$(make_body col2 "$OK&a=1&a[b]=2")"
	row "map a[b] then scalar a" 200 1 "" "$FORM" \
	    "$(make_body col3 "$OK&a[b]=2&a=1")"
	row "a[0] scalar then a[0][b]" 200 1 "" "$FORM" \
	    "$(make_body col4 "$OK&a[0]=1&a[0][b]=2")"
	row "MESSAGES a scalar" 200 1 "" "$FORM" \
	    "$(make_body col5 "event=ONIMCONNECTORMESSAGEADD&$A&data[MESSAGES]=s")"
	row "MESSAGES a map, not a list" 200 1 "" "$FORM" \
	    "$(make_body col6 "event=ONIMCONNECTORMESSAGEADD&$A&data[MESSAGES][0]=s&data[MESSAGES][x][y]=1")"
	row "MESSAGES three scalars" 200 3 "" "$FORM" \
	    "$(make_body col7 "event=ONIMCONNECTORMESSAGEADD&$A&data[MESSAGES][]=a&data[MESSAGES][]=b&data[MESSAGES][]=c")"
	row "auth[member_id] a list" 400 missing_auth "no auth[member_id]" \
	    "$FORM" "$(make_body col8 \
	    "event=ONX&auth[member_id][]=$MID&auth[application_token]=$TOK")"
	row "auth replaced by a scalar" 400 missing_auth "no auth[member_id]" \
	    "$FORM" "$(make_body col9 "$OK&auth=1")"
	row "a scalar auth replaced by the map" 200 1 "" "$FORM" \
	    "$(make_body col10 "auth=1&$OK")"
	row "event twice: the later wins" 200 1 "" "$FORM" \
	    "$(make_body col11 "event=ON-BAD&$OK")"
	row "token a list" 400 missing_auth "no auth[application_token]" \
	    "$FORM" "$(make_body col12 \
	    "event=ONX&auth[member_id]=$MID&auth[application_token][]=$TOK")"
}

rows_member_id() {
	local m i=0
	for m in '../../x' 'a/b' '.' '..' '%2e%2e%2fx' '%2F' \
	    "$(tr a-z A-Z <<<"$MID")" "$MID+" "$(rep 10240 m)"; do
		i=$((i + 1))
		row "member_id '${m:0:20}' (${#m} bytes)" 403 forbidden \
		    unknown_portal "$FORM" "$(make_body "mid$i" \
		    "event=ONX&auth[member_id]=$m&auth[application_token]=$TOK")"
	done
	row "member_id empty" 400 missing_auth "no auth[member_id]" "$FORM" \
	    "$(make_body mid-empty "event=ONX&auth[member_id]=&auth[application_token]=$TOK")"
	check "$MODE: nothing written outside the log directory" \
	    test -z "$(find "$T" "$IN" -name '*.jsonl' ! -path "$T/logs/*" \
	    ! -path "$T/sizes-*")"
}

# Tokens of every length 0..HOSTILE_TOKEN_MAX, then a few large ones,
# each made of the right token repeated (so its own length is accepted,
# and every prefix and extension of it is refused).
rows_tokens() {
	local max=${HOSTILE_TOKEN_MAX:-160} len tok want got wrong='' lines
	local all
	all=$(rep 28000 "$TOK")
	lines=$(count_lines "$T/logs")
	for len in $(seq 0 "$max") 1000 10000 100000 700000; do
		tok=${all:0:len}
		printf '%s' "event=ONX&auth[member_id]=$MID&auth[application_token]=$tok" \
		    >"$IN/tok"
		quick_post "$MODE" "$FORM" "$IN/tok"
		case $len in
		0) want="400 missing_auth" ;;
		"${#TOK}") want="200 " ;;
		*) want="403 forbidden" ;;
		esac
		got="$STATUS $ERROR"
		[ "$got" = "$want" ] && [ "$OPLINES" = "$([ "$STATUS" = 200 ] &&
		    echo 0 || echo 1)" ] || wrong="$wrong $len:$STATUS"
	done
	assert_eq "$MODE: tokens of lengths 0..$max and up to 700,000: only the right one passes" \
	    "" "$wrong"
	assert_eq "$MODE: tokens: one record written in all" $((lines + 1)) \
	    "$(count_lines "$T/logs")"
}

rows_json() {
	row "JSON duplicate top-level key" 400 malformed_body "" "$JSON" \
	    "$(make_body dup.json "{\"event\":\"ONX\",\"event\":\"ONAPPINSTALL\",$JA}")"
	row "JSON duplicate key in auth" 400 malformed_body "" "$JSON" \
	    "$(make_body dup2.json "{\"event\":\"ONX\",\"auth\":{\"member_id\":\"x\",\"member_id\":\"$MID\",\"application_token\":\"$TOK\"}}")"
	row "JSON 1e999" 400 malformed_body "" "$JSON" \
	    "$(make_body real.json "{\"event\":\"ONX\",$JA,\"x\":1e999}")"
	row "JSON 2^70" 400 malformed_body "" "$JSON" \
	    "$(make_body int.json "{\"event\":\"ONX\",$JA,\"x\":1180591620717411303424}")"
	row "JSON top-level list" 400 malformed_body "json not an object" \
	    "$JSON" "$(make_body list.json "[{\"event\":\"ONX\",$JA}]")"
	row "JSON null" 400 malformed_body "" "$JSON" \
	    "$(make_body null.json "null")"
	row "JSON empty body" 400 malformed_body "" "$JSON" \
	    "$(make_body empty.json "")"
	row "JSON two objects" 400 malformed_body "" "$JSON" \
	    "$(make_body two.json "{\"event\":\"ONX\",$JA}{}")"
	row "JSON 9,000 keys in one object" 200 1 "" "$JSON" \
	    "$(make_body keys.json "{\"event\":\"ONX\",$JA,\"x\":{$(seq -f '"k%g":1,' 8999 | tr -d '\n')\"k\":1}}")"
}

rows_not_event() {
	row "placement POST" 400 not_an_event "no event key" "$FORM" \
	    "$(make_body placement 'PLACEMENT=SETTING_CONNECTOR&PLACEMENT_OPTIONS=%7B%7D')"
	row "empty form body" 400 not_an_event "no event key" "$FORM" \
	    "$(make_body empty.form '')"
	row "JSON {}" 400 not_an_event "no event key" "$JSON" \
	    "$(make_body obj.json '{}')"
	row "event a list" 400 malformed_body "event not a string" "$FORM" \
	    "$(make_body ev-list "event[]=ONX&$A")"
	row "JSON event an object" 400 malformed_body "event not a string" \
	    "$JSON" "$(make_body ev-obj.json "{\"event\":{},$JA}")"
	row "event with '-'" 400 malformed_body "event not [A-Za-z0-9_]" \
	    "$FORM" "$(make_body ev-dash "event=ON-X&$A")"
	row "event '../x'" 400 malformed_body "event not [A-Za-z0-9_]" \
	    "$FORM" "$(make_body ev-dots "event=../x&$A")"
	row "event of 129 bytes" 400 limit_exceeded "limit=event max=128" \
	    "$FORM" "$(make_body ev-long "event=$(rep 129 E)&$A")"
	row "EVENT in upper case" 400 not_an_event "no event key" "$FORM" \
	    "$(make_body ev-upper "EVENT=ONX&$A")"
}

rows_http() {
	local m f=$FIXTURES/ONAPPINSTALL.form t
	for m in GET HEAD PUT DELETE OPTIONS PATCH TRACE post 'POST ' ''; do
		row "method '$m'" 405 method_not_allowed "" "$FORM" "$f" \
		    "REQUEST_METHOD=$m"
		check "$MODE: method '$m': Allow: POST" \
		    grep -qx 'Allow: POST' <<<"$HEADERS"
	done
	row "no REQUEST_METHOD" 405 method_not_allowed "" "$FORM" "$f" \
	    -REQUEST_METHOD
	for t in text/plain 'multipart/form-data; boundary=x' \
	    application/jsonx application/x-www-form-urlencodedx \
	    "$(rep 300 t)"; do
		row "content type '${t:0:40}'" 415 unsupported_media_type "" \
		    "$t" "$f"
	done
}

run_table() {
	MODE=$1
	rows_length
	rows_escapes
	rows_nul
	rows_utf8
	rows_depth
	rows_indices
	rows_sizes
	rows_collisions
	rows_member_id
	rows_tokens
	rows_json
	rows_not_event
	rows_http
	assert_eq "$MODE: every log is whole records" ok \
	    "$(whole_lines "$LOGS"/*.jsonl)"
}

[ -x "$B24HOOK" ] || {
	echo "test_hostile: $B24HOOK is missing: run make" >&2
	exit 1
}
harden_setup
LOGS=$T/logs/main
mkdir "$LOGS"
POST_ENV=("B24HOOK_ALLOWLIST=$FIXTURES/allow.txt" "B24HOOK_LOG_DIR=$LOGS")

for mode in ${HOSTILE_MODES:-cgi fcgi}; do
	if [ "$mode" = fcgi ]; then
		start_workers hostile 1 "B24HOOK_ALLOWLIST=$FIXTURES/allow.txt" \
		    "B24HOOK_LOG_DIR=$LOGS"
		run_table fcgi
		assert_eq "fcgi: the one worker served every request" 1 \
		    "$(alive "${WORKERS[@]}")"
		stop_workers
	else
		run_table "$mode"
	fi
done

check "no record holds an auth key" jq -se \
    'all(.[]; has("auth") | not)' "$LOGS"/*.jsonl "$T"/sizes-*/*.jsonl
check_no_secrets "no secret in logs, captured output or what the test printed" "$T"
finish test_hostile
