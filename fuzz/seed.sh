#!/bin/sh
# fuzz/seed.sh DIR: writes the seed corpora DIR/<target>/, made from
# tests/fixtures/events (so they follow the fixtures and hold no copy of
# them in the repository) plus the request and allow-list shapes below.
set -eu
cd "$(dirname "$0")/.."
ev=tests/fixtures/events
c=$1
rm -rf "$c"
mkdir -p "$c/form" "$c/json" "$c/event" "$c/allowlist" "$c/request" \
    "$c/appinfo" "$c/spool"

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

# auth's secrets replaced every way PHP replaces a value (form.h)
printf '%s' 'auth[0]=a&auth[application_token]=t&auth[application_token][x]=1&auth[refresh_token][x]=1&auth[refresh_token]=r&auth[client_endpoint]=c&auth=s&auth[access_token]=a&auth[]=b' \
    >"$c/form/auth-replace"
printf '%s' '{"auth":{"application_token":"t","access_token":1,"refresh_token":{"x":"r"},"client_endpoint":"c","server_endpoint":["s"]}}' \
    >"$c/json/auth-members"

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

# app.info answers (first byte: the status, '\000' is 200, '\001' 401),
# shaped as Bitrix24 gives them (lib/appinfo.h)
ok='{"result":{"client_id":"local.5f0c1b2a3d4e5f.12345678","scope":"imopenlines","install":{"installed":true,"version":1,"status":"L","domain":"portal.bitrix24.com","member_id":"0123456789abcdef0123456789abcdef"},"user_id":1},"time":{"start":1.5}}'
printf '\000%s' "$ok" >"$c/appinfo/ok"
printf '\000%s' "$ok" | sed 's/"installed":true/"installed":false/' >"$c/appinfo/not-installed"
printf '\001%s' '{"error":"invalid_token","error_description":"The access token provided is invalid."}' >"$c/appinfo/invalid-token"

# spool entries: pending (with its tokens and body) and decided
printf '%s\n' '{"v":1,"id":"0123456789abcdef","event":"ONAPPINSTALL","member_id":"0123456789abcdef0123456789abcdef","domain":"portal.bitrix24.com","received":1773759200,"received_us":123456,"state":"pending","checked":false,"note":"","application_token":"app-token","access_token":"access-token","body":{"event":"ONAPPINSTALL","data":{"VERSION":"1"},"ts":"1714640000","auth":{"member_id":"0123456789abcdef0123456789abcdef","domain":"portal.bitrix24.com","user_id":"1"}}}' >"$c/spool/pending"
printf '%s\n' '{"v":1,"id":"0123456789abcdef","event":"ONAPPUPDATE","member_id":"m","domain":"p.bitrix24.com","received":1,"received_us":0,"state":"approve","checked":true,"note":"the portal is listed with another token","application_token":"t","access_token":"","body":{"event":"ONAPPUPDATE"}}' >"$c/spool/approve"
printf '%s\n' '{"v":1,"id":"fedcba9876543210","event":"ONAPPINSTALL","member_id":"m","domain":"p.bitrix24.com","received":1,"received_us":0,"state":"rejected","checked":false,"note":"client_id is another app'"'"'s"}' >"$c/spool/rejected"
