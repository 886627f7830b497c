#!/bin/sh
# make demo: runs build/b24hook as plain CGI over every fixture event with
# the fixtures' allow-list, shows each reply, one forged-token refusal, and
# the per-portal logs.  Everything it writes is under build/demo/.
set -eu
cd "$(dirname "$0")/.."
fixtures=tests/fixtures/events
demo=build/demo
rm -rf "$demo"
mkdir -p "$demo/logs"
cp "$fixtures/allow.txt" "$demo/allow.txt"

# post FILE [CONTENT_TYPE]: one request as a web server would make it
post() {
	env B24HOOK_ALLOWLIST="$demo/allow.txt" B24HOOK_LOG_DIR="$demo/logs" \
	    REQUEST_METHOD=POST CONTENT_TYPE="${2:-application/x-www-form-urlencoded}" \
	    CONTENT_LENGTH="$(wc -c <"$1")" build/b24hook <"$1" |
	    sed -n 's/^Status: /  /p; /^{/s/^/  /p'
}

echo "== Posting every fixture event as a portal sends it"
for f in "$fixtures"/*.form; do
	echo "$(basename "$f" .form):"
	post "$f"
done

echo
echo "== A forged application token (the operator line goes to stderr)"
sed 's/application_token%5D=[0-9a-z]*/application_token%5D=forgedforgedforgedforgedforged12/' \
    "$fixtures/ONIMCONNECTORMESSAGEADD.form" >"$demo/forged.form"
post "$demo/forged.form" 2>&1

echo
for log in "$demo"/logs/*.jsonl; do
	echo "== $log ($(wc -l <"$log") records)"
	cat "$log"
done
echo
echo "Watch a log while you post:  tail -F $demo/logs/<member_id>.jsonl"
