#!/bin/sh
# fuzz/seed.sh DIR: writes the seed corpora DIR/<target>/, made from
# tests/fixtures/events (so they follow the fixtures and hold no copy of
# them in the repository) plus the request and allow-list shapes below.
set -eu
cd "$(dirname "$0")/.."
ev=tests/fixtures/events
c=$1
rm -rf "$c"
mkdir -p "$c/form" "$c/json" "$c/event" "$c/allowlist" "$c/request"

# each fixture of one encoding (form, json) and its content type
for enc in form:application/x-www-form-urlencoded json:application/json; do
	x=${enc%%:*}
	for f in "$ev"/*."$x"; do
		n=$(basename "$f" ."$x")
		cp "$f" "$c/$x/$n"
		cp "$f" "$c/event/$n.$x"
		printf 'REQUEST_METHOD=POST\nCONTENT_TYPE=%s\nCONTENT_LENGTH=*\n\n' \
		    "${enc#*:}" | cat - "$f" >"$c/request/$n.$x"
	done
done

# the request line variants a live server can produce
f=$ev/ONAPPINSTALL.form
printf 'REQUEST_METHOD=GET\n\n' >"$c/request/get"
printf 'REQUEST_METHOD=POST\nCONTENT_TYPE=text/plain\nCONTENT_LENGTH=*\n\n' |
    cat - "$f" >"$c/request/text-plain"
printf 'REQUEST_METHOD=POST\n\n' | cat - "$f" >"$c/request/no-length"
printf 'REQUEST_METHOD=POST\nCONTENT_LENGTH=%d\n\n' $(($(wc -c <"$f") + 7)) |
    cat - "$f" >"$c/request/length-over"
printf 'REQUEST_METHOD=POST\nCONTENT_LENGTH=%d\n\n' $(($(wc -c <"$f") - 7)) |
    cat - "$f" >"$c/request/length-under"
printf 'REQUEST_METHOD=POST\nCONTENT_LENGTH=*\nB24HOOK_MAX_BODY=100\n\n' |
    cat - "$f" >"$c/request/max-body"

# allow-lists: the fixture's, and the shapes the parser must take apart
cp "$ev/allow.txt" "$c/allowlist/fixture"
printf 'p1 tok1 label\r\np1 tok#2 # rotation\n\n  # comment\n\tp2\ttok3\n' \
    >"$c/allowlist/crlf-comments-tabs"
printf '../x tok\np2\nbad id tok\np3 \001tok\n' >"$c/allowlist/malformed"
printf 'p1 tok1\np2 to' >"$c/allowlist/half-written"
