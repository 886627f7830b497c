# tests/e2e/lib.sh: helpers for the end-to-end tests, sourced by
# tests/e2e/test_*.sh (run from anywhere; paths are from the repo root).
#
# Rule for every message printed here: never a request body, a token or a
# whole stderr.  A failing assertion prints what differs (a status, a code,
# a count, a field), which the callers keep free of secrets.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FIXTURES=$E2E_ROOT/tests/fixtures/events
B24HOOK=$E2E_ROOT/build/b24hook
B24HOOKCTL=$E2E_ROOT/build/b24hookctl
# shellcheck disable=SC2034 # used by the tests
FORM=application/x-www-form-urlencoded JSON=application/json

E2E_PASSED=0
E2E_FAILED=0

# --- assertions -----------------------------------------------------------

ok() {
	E2E_PASSED=$((E2E_PASSED + 1))
	printf 'ok - %s\n' "$1"
}

# fail DESC [DETAIL]: DETAIL must be free of secrets.
fail() {
	E2E_FAILED=$((E2E_FAILED + 1))
	printf 'not ok - %s\n' "$1"
	[ -z "${2-}" ] || printf '#   %s\n' "$2"
}

# assert_eq DESC EXPECTED ACTUAL
assert_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected '$2', got '$3'"
	fi
}

# check DESC COMMAND...: passes when COMMAND exits 0 (its output is hidden).
check() {
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		ok "$desc"
	else
		fail "$desc"
	fi
}

# check_not DESC COMMAND...: passes when COMMAND exits non-zero.
check_not() {
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		fail "$desc"
	else
		ok "$desc"
	fi
}

# finish NAME: the closing line, and the exit status.
finish() {
	printf '%s: %d passed, %d failed\n' "$1" "$E2E_PASSED" "$E2E_FAILED"
	[ "$E2E_FAILED" -eq 0 ]
	exit
}

# --- the work dirs --------------------------------------------------------

# e2e_setup: T holds whatever the program writes and whatever the test
# captures (it must never contain a secret); IN holds what the test sends
# (request bodies, allow-list copies), which carries tokens by nature.
# Both are removed on exit, after any server the test started is stopped.
e2e_setup() {
	T=$(mktemp -d) && IN=$(mktemp -d) || exit 1
	mkdir -p "$T/run" "$T/logs"
	SERVER_PID=
	POST_N=0
	POST_ENV=()
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
}

e2e_cleanup() {
	[ -z "${SERVER_PID-}" ] || stop_pid "$SERVER_PID" || true
	rm -rf "$T" "$IN"
}

# gone PID: the process has exited (a zombie awaiting its reaper counts).
gone() {
	local state
	kill -0 "$1" 2>/dev/null || return 0
	state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) ||
	    return 0
	[ "$state" = Z ]
}

# stop_pid PID: SIGTERM, then wait up to 5 s; returns 0 once it is gone.
stop_pid() {
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do
		gone "$1" && return 0
		sleep 0.1
	done
	return 1
}

# --- the program's state --------------------------------------------------

# dir_sum DIR: one checksum of DIR's tree (names, types, modes, contents),
# or "absent".
dir_sum() {
	[ -e "$1" ] || {
		echo absent
		return
	}
	(
		cd "$1" && {
			find . -printf '%y %m %p\n' | LC_ALL=C sort
			find . -type f -print0 | LC_ALL=C sort -z |
			    xargs -0r sha256sum
		}
	) | sha256sum | cut -c1-64
}

# lines FILE: its line count, 0 when absent.
lines() {
	if [ -f "$1" ]; then
		wc -l <"$1" | tr -d ' '
	else
		echo 0
	fi
}

# --- fixtures -------------------------------------------------------------

# form_value FILE NAME: the first value of NAME in a form body, as sent
# (NAME as encoded in the file, e.g. 'auth%5Bmember_id%5D').
form_value() {
	tr '&' '\n' <"$1" | sed -n "s/^$2=//p" | head -n 1
}

fixture_event() { form_value "$FIXTURES/$1.form" event; }
fixture_portal() { form_value "$FIXTURES/$1.form" 'auth%5Bmember_id%5D'; }

# fixture_records NAME: how many records the fixture makes.
fixture_records() {
	case $1 in
	ONIMCONNECTORMESSAGEDELETE) echo 2 ;;
	*) echo 1 ;;
	esac
}

# allow_token MEMBER_ID [FILE]: the first token the allow-list gives it.
allow_token() {
	awk -v m="$1" '$1 == m { print $2; exit }' \
	    "${2:-$FIXTURES/allow.txt}"
}

# fixture_secrets: every access/refresh/application token in the fixtures
# and the allow-list, one per line, found at run time.
fixture_secrets() {
	{
		for f in "$FIXTURES"/*.form; do
			tr '&' '\n' <"$f"
			echo
		done |
		    sed -n 's/^auth%5B\(access_token\|refresh_token\|application_token\)%5D=//p'
		jq -r '.auth | (.access_token, .refresh_token,
		    .application_token) // empty' "$FIXTURES"/*.json
		grep -v '^[[:space:]]*#' "$FIXTURES/allow.txt" |
		    awk 'NF >= 2 { print $2 }'
	} | LC_ALL=C sort -u
}

# check_no_secrets DESC DIR [SECRET...]: no file under DIR holds any
# fixture secret nor any SECRET given.  Names the files on failure, never
# the secret.  First proves the list works: every fixture must hold one.
check_no_secrets() {
	local desc=$1 dir=$2 list found
	shift 2
	list=$IN/secrets
	fixture_secrets >"$list"
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$list"
	found=$(grep -LF -f "$list" "$FIXTURES"/*.form "$FIXTURES"/*.json |
	    xargs -r -n1 basename | tr '\n' ' ')
	assert_eq "secret scan: $(lines "$list") secrets, one in every fixture" \
	    "" "$found"
	found=$(grep -rlF -f "$list" "$dir" 2>/dev/null | sed "s|^$dir/||" |
	    tr '\n' ' ')
	assert_eq "$desc" "" "$found"
}

# --- requests -------------------------------------------------------------

# post MODE CT BODY [NAME=VALUE | -NAME]...
#
# Sends BODY (a file) once.  MODE is cgi (runs build/b24hook with an
# environment of its own) or fcgi (cgi-fcgi to the responder on $SOCK,
# the environment becoming the FastCGI params).  CT is the content type,
# or - for none.  The environment is REQUEST_METHOD=POST, CONTENT_TYPE,
# CONTENT_LENGTH (BODY's size), then POST_ENV, then the arguments: a later
# NAME=VALUE wins, -NAME leaves NAME out.  Nothing else is inherited.
#
# Sets STATUS (the number), HEADERS, REPLY (the body), ERROR (.error),
# RECORDS (.records), OUT and ERR (the files holding stdout and stderr,
# in $T/run) and OPLINES (stderr's line count).
post() {
	local mode=$1 ct=$2 body=$3 v drop=" " env=()
	shift 3
	POST_N=$((POST_N + 1))
	OUT=$T/run/$POST_N.out
	ERR=$T/run/$POST_N.err
	for v in "${POST_ENV[@]}" "$@"; do
		case $v in -*) drop="$drop${v#-} " ;; esac
	done
	for v in REQUEST_METHOD=POST "CONTENT_TYPE=$ct" \
	    "CONTENT_LENGTH=$(stat -c %s "$body")" "${POST_ENV[@]}" "$@"; do
		case $v in
		-* | "CONTENT_TYPE=-") ;;
		*) case $drop in *" ${v%%=*} "*) ;; *) env+=("$v") ;; esac ;;
		esac
	done
	case $mode in
	cgi) env -i "${env[@]}" "$B24HOOK" <"$body" >"$OUT" 2>"$ERR" ;;
	fcgi) env -i "${env[@]}" "$(command -v cgi-fcgi)" -bind \
	    -connect "$SOCK" <"$body" >"$OUT" 2>"$ERR" ;;
	*) echo "post: bad mode $mode" >&2; exit 2 ;;
	esac
	HEADERS=$(tr -d '\r' <"$OUT" | sed '/^$/q')
	REPLY=$(tr -d '\r' <"$OUT" | sed '1,/^$/d')
	STATUS=$(printf '%s\n' "$HEADERS" |
	    sed -n '1s/^Status: \([0-9][0-9]*\) .*/\1/p')
	ERROR=$(jq -r '.error // empty' <<<"$REPLY" 2>/dev/null)
	RECORDS=$(jq -r '.records // empty' <<<"$REPLY" 2>/dev/null)
	OPLINES=$(grep -c "" "$ERR")
}

# expect_ok DESC N: the last post was a 200 with records=N, no operator line.
expect_ok() {
	assert_eq "$1: status" 200 "$STATUS"
	assert_eq "$1: reply records" "$2" "$RECORDS"
	assert_eq "$1: no operator line" 0 "$OPLINES"
}

# expect_error DESC STATUS CODE [REASON]: the last post failed so, with one
# operator line naming the status, code and (if given) the reason.
expect_error() {
	local desc=$1 status=$2 code=$3 reason=${4-} line
	line=$(head -n 1 "$ERR")
	assert_eq "$desc: status" "$status" "$STATUS"
	assert_eq "$desc: error code" "$code" "$ERROR"
	assert_eq "$desc: reply body" \
	    "{\"status\":\"error\",\"error\":\"$code\"}" \
	    "$(jq -c . <<<"$REPLY" 2>/dev/null)"
	assert_eq "$desc: one operator line" 1 "$OPLINES"
	assert_eq "$desc: operator line status and code" "$status $code" \
	    "$(printf '%s\n' "$line" | awk '$1 == "b24hook:" { print $2, $3 }')"
	if [ -n "$reason" ]; then
		assert_eq "$desc: operator reason" "$reason" \
		    "$(printf '%s\n' "$line" |
		    sed -n 's/.* reason="\([^"]*\)".*/\1/p')"
	fi
}

# refused DESC STATUS CODE REASON POST-ARGS...: post, expect that error,
# and expect no change under $T/logs.
refused() {
	local desc=$1 status=$2 code=$3 reason=$4 before
	shift 4
	before=$(dir_sum "$T/logs")
	post "$@"
	expect_error "$desc" "$status" "$code" "$reason"
	assert_eq "$desc: logs unchanged" "$before" "$(dir_sum "$T/logs")"
}

# make_body NAME TEXT: write TEXT (no newline added) to $IN/NAME, print
# the path.
make_body() {
	printf '%s' "$2" >"$IN/$1"
	printf '%s\n' "$IN/$1"
}

# body_of_size N [CHAR]: a valid event (ONAPPUNINSTALL, one record) padded
# to exactly N bytes with CHAR (x; a tr escape such as '\001' for others);
# prints its path.
body_of_size() {
	local char=${2:-x} f base pad
	f=$IN/size-$1-$(printf '%s' "$char" | od -An -tx1 | tr -d ' ').form
	base=$(cat "$FIXTURES/ONAPPUNINSTALL.form")
	base="$base&data%5Bpad%5D="
	pad=$(($1 - ${#base}))
	{
		printf '%s' "$base"
		head -c "$pad" /dev/zero | tr '\0' "$char"
	} >"$f"
	printf '%s\n' "$f"
}

# others_sum PORTAL: checksum of every file under $T/logs but
# $LOGS/PORTAL.jsonl and its lock file $LOGS/.PORTAL.lock (which its
# first append creates).
others_sum() {
	find "$T/logs" -type f ! -path "$LOGS/$1.jsonl" \
	    ! -path "$LOGS/.$1.lock" -print0 |
	    LC_ALL=C sort -z | xargs -0r sha256sum | sha256sum
}

# accepted DESC N PORTAL POST-ARGS...: post; expect a 200 with N records,
# exactly N new lines in $LOGS/PORTAL.jsonl, each a JSON object, and no
# other log touched.  The new lines are left in the file $NEW.
accepted() {
	local desc=$1 n=$2 portal=$3 log=$LOGS/$3.jsonl before others
	shift 3
	before=$(lines "$log")
	others=$(others_sum "$portal")
	post "$@"
	expect_ok "$desc" "$n"
	NEW=$T/run/$POST_N.records
	tail -n +"$((before + 1))" "$log" 2>/dev/null >"$NEW"
	assert_eq "$desc: new lines in the portal's log" "$n" "$(lines "$NEW")"
	assert_eq "$desc: every new line is a JSON object" "$n" \
	    "$(jq -R 'try (fromjson | type) catch "bad"' "$NEW" |
	    grep -cx '"object"')"
	assert_eq "$desc: other logs unchanged" "$others" \
	    "$(others_sum "$portal")"
}

# new_keys: the .key of each record in $NEW, space-separated.
new_keys() { jq -r .key "$NEW" | paste -sd ' '; }
