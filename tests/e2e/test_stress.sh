#!/bin/bash
# End-to-end stress: several persistent FastCGI workers (spawn-fcgi -F)
# and plain CGI processes append concurrently to the same two portals'
# logs, for a bounded number of requests from several clients, over a
# unix socket (nothing leaves the machine), all counting in one shared
# counters file (B24HOOK_STATE_DIR).  Then: every request was answered
# 200 (or 403, the forged tokens), the records on disk per portal equal
# the records the replies announced, exactly; every line is a whole
# record; the records of one request stand together, in order; the
# counters (b24hookctl stats) equal the replies and the records on disk,
# per portal and per event; no secret anywhere.
# Run from anywhere: bash tests/e2e/test_stress.sh
#
# STRESS_CLIENTS (default 4), STRESS_REQUESTS per client (default 500),
# STRESS_WORKERS (default 3).  Every third request is plain CGI; every
# fifth asks for fdatasync (B24HOOK_FSYNC=1); every seventh carries a
# forged token (403 token_mismatch).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/harden.sh"

CLIENTS=${STRESS_CLIENTS:-4}
REQUESTS=${STRESS_REQUESTS:-500}
NWORKERS=${STRESS_WORKERS:-3}

# client C: REQUESTS posts, fixtures in turn from an offset of its own;
# one line per request: "STATUS RECORDS PORTAL EVENT".
client() {
	local c=$1 i f mode extra
	POST_N=$((c * 1000000))
	for i in $(seq "$REQUESTS"); do
		f=${BODIES[$(((i + c * 7) % ${#BODIES[@]}))]}
		[ $((i % 7)) -eq 0 ] && f=$IN/forged.form
		mode=fcgi
		[ $((i % 3)) -eq 0 ] && mode=cgi
		extra=()
		[ $((i % 5)) -eq 0 ] && extra=(B24HOOK_FSYNC=1)
		case $f in
		*.json) quick_post "$mode" "$JSON" "$f" "${extra[@]}" ;;
		*) quick_post "$mode" "$FORM" "$f" "${extra[@]}" ;;
		esac
		echo "${STATUS:-none} $RECORDS ${PORTALS[$f]} ${EVENTS[$f]}"
	done >"$T/run/client.$c"
}

# together LOG: "ok" when every record of a multi-item request is
# followed by its next item, from the same request (same arrival time,
# event and handler), else the first line where that fails.
together() {
	jq -rs '. as $r | [range(length) | select($r[.].items != null and
	    $r[.].item + 1 < $r[.].items) | select($r[. + 1] as $n |
	    $n.item != $r[.].item + 1 or $n.received != $r[.].received or
	    $n.event != $r[.].event)] | if length == 0 then "ok"
	    else "line \(.[0] + 1)" end' "$1"
}

[ -x "$B24HOOK" ] || {
	echo "test_stress: $B24HOOK is missing: run make" >&2
	exit 1
}
harden_setup
LOGS=$T/logs/main
STATE=$T/state
mkdir "$LOGS" "$STATE"
SETTINGS=("B24HOOK_ALLOWLIST=$FIXTURES/allow.txt" "B24HOOK_LOG_DIR=$LOGS"
    "B24HOOK_STATE_DIR=$STATE")
POST_ENV=("${SETTINGS[@]}")
BODIES=("$FIXTURES"/*.form "$FIXTURES"/*.json)
declare -A PORTALS EVENTS # body -> its portal, its event
for f in "${BODIES[@]}"; do
	name=$(basename "$f")
	PORTALS[$f]=$(fixture_portal "${name%.*}")
	EVENTS[$f]=$(fixture_event "${name%.*}")
done
name=ONIMCONNECTORMESSAGEADD
sed "s/=$(allow_token "$(fixture_portal $name)")/=forgedforgedforgedforgedforged00/" \
    "$FIXTURES/$name.form" >"$IN/forged.form"
PORTALS[$IN/forged.form]=$(fixture_portal $name)
EVENTS[$IN/forged.form]=$(fixture_event $name)

start_workers stress "$NWORKERS" "${SETTINGS[@]}"
started=$SECONDS
pids=()
for c in $(seq "$CLIENTS"); do
	client "$c" &
	pids+=($!)
done
wait "${pids[@]}"
total=$((CLIENTS * REQUESTS))
echo "# $total requests from $CLIENTS clients to $NWORKERS workers and CGI in $((SECONDS - started)) s"

cat "$T"/run/client.* >"$T/run/replies"
assert_eq "every request answered" "$total" "$(lines "$T/run/replies")"
forged=$((CLIENTS * (REQUESTS / 7)))
assert_eq "every reply a 200, or a 403 for a forged token" \
    "$(printf '200x%d 403x%d' $((total - forged)) $forged |
    sed 's/ 403x0$//')" \
    "$(cut -d' ' -f1 "$T/run/replies" | sort | uniq -c |
    awk '{ print $2 "x" $1 }' | paste -sd ' ')"
for portal in $(cut -d' ' -f3 "$T/run/replies" | sort -u); do
	assert_eq "$portal: records on disk = records accepted" \
	    "$(awk -v p="$portal" '$1 == 200 && $3 == p { n += $2 }
	    END { print n + 0 }' "$T/run/replies")" \
	    "$(lines "$LOGS/$portal.jsonl")"
	assert_eq "$portal: every line a whole record" ok \
	    "$(whole_lines "$LOGS/$portal.jsonl")"
	assert_eq "$portal: each request's records together, in order" ok \
	    "$(together "$LOGS/$portal.jsonl")"
	assert_eq "$portal: every record of this portal" "" \
	    "$(jq -r --arg p "$portal" 'select(.member_id != $p) | .key' \
	    "$LOGS/$portal.jsonl" | head -n 1)"
done
# counted: every figure exactly what the replies and the logs say
env -i "${SETTINGS[@]}" "$B24HOOKCTL" stats --format json \
    >"$T/run/counters.json" 2>"$T/run/counters.err"
assert_eq "b24hookctl stats: read" "" "$(cat "$T/run/counters.err")"
counted() { # JQ-FILTER [ARGS]: applied to the counters
	jq -r "$@" "$T/run/counters.json" 2>&1
}
for portal in $(cut -d' ' -f3 "$T/run/replies" | sort -u); do
	portal_of=".portals[] | select(.member_id == \"$portal\")"
	assert_eq "$portal: counted requests = 200 replies" \
	    "$(awk -v p="$portal" '$1 == 200 && $3 == p' "$T/run/replies" |
	    wc -l)" "$(counted "$portal_of | .requests_accepted")"
	assert_eq "$portal: counted records = records on disk" \
	    "$(lines "$LOGS/$portal.jsonl")" "$(counted "$portal_of | .records")"
	assert_eq "$portal: counted refusals = 403 replies" \
	    "$(awk -v p="$portal" '$1 == 403 && $3 == p' "$T/run/replies" |
	    wc -l)" "$(counted "$portal_of | .refusals")"
	assert_eq "$portal: counted records per event = the replies'" \
	    "$(awk -v p="$portal" '$1 == 200 && $3 == p { n[$4] += $2 }
	    END { for (e in n) print e, n[e] }' "$T/run/replies" | sort)" \
	    "$(counted "$portal_of | .events | to_entries[] |
	    \"\(.key) \(.value)\"" | sort)"
	if [ "$(date -u +%F)" = "$(counted '.read[0:10]')" ] &&
	    [ "$(counted '.since[0:10]')" = "$(counted '.read[0:10]')" ]; then
		assert_eq "$portal: today's records = its records" \
		    "$(counted "$portal_of | .records")" \
		    "$(counted "$portal_of | .today.records")"
	fi
done
assert_eq "counted: token_mismatch refusals = 403 replies, nothing else" \
    "forbidden token_mismatch $forged" \
    "$(counted '.refusals[] | select(.count > 0) |
    "\(.code) \(.reason) \(.count)"')"
assert_eq "counted: no other portal, refusal or storage failure" "0 0 0" \
    "$(counted '"\(.other_refusals) \(.storage_failures) \(
    [.portals[] | select(.member_id | test("^[0-9a-f]{32}$") | not)] |
    length)"')"
assert_eq "no log but the two portals'" 2 \
    "$(find "$T/logs" -type f -name '*.jsonl' | wc -l)"
assert_eq "all $NWORKERS workers still serving" "$NWORKERS" \
    "$(alive "${WORKERS[@]}")"
stop_workers

check "no record holds an auth key" jq -se \
    'all(.[]; has("auth") | not)' "$LOGS"/*.jsonl
check_no_secrets "no secret in logs, captured output or what the test printed" "$T"
finish test_stress
