#!/bin/bash
# README's quick start, run as a newcomer runs it: every ```sh block of
# the section between "## Quick start" and "<!-- end of quick-start -->",
# in order, as one bash script (kill %1 signals make, which passes SIGTERM
# on to make serve's script, as Ctrl-C or an interactive shell's kill %1
# would), from a copy of the repository with the built programs, on a
# port of its own instead of 8080.  Then: the reply and the record it
# promises, the portal it adds, and nothing of it left running.
# Run from anywhere: bash tests/e2e/test_readme.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=servers.sh
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
TEST_NAME=test_readme
README=$E2E_ROOT/README.md
PORTAL=bac1cd5c8940947a75e0d71b1a84e348 # the quick start's fixture's
NEW_PORTAL=0123456789abcdef0123456789abcdef
NEW_TOKEN=5e0c2f7d9a41b3c68e2d07f5a9b1c43e

# quick_start: the sh blocks of the quick-start section, in order.
quick_start() {
	awk '/^## Quick start$/ { on = 1; next }
	    on && /^<!-- end of quick-start -->$/ { exit }
	    on && /^## / { exit }
	    on && /^```sh$/ { code = 1; next }
	    code && /^```$/ { code = 0; print ""; next }
	    code { print }' "$README"
}

# copy_tree DIR: the files git tracks or would track (never build/), and
# the built programs with their objects, times kept (so nothing rebuilds).
copy_tree() {
	local f
	mkdir -p "$1/build"
	(cd "$E2E_ROOT" && git ls-files -co --exclude-standard |
	    while IFS= read -r f; do [ ! -e "$f" ] || echo "$f"; done |
	    tar -c -T - -f -) | tar -x -C "$1" || return 1
	for f in b24hook b24hookctl libb24hook.a lib cgi ctl; do
		[ ! -e "$E2E_ROOT/build/$f" ] || cp -a "$E2E_ROOT/build/$f" "$1/build/"
	done
}

# leftovers DIR: the pids of make serve's nginx and responders still alive.
leftovers() {
	local p
	for p in $(cat "$1"/build/serve/*.pid 2>/dev/null); do
		gone "$p" || printf '%s ' "$p"
	done
}

need make nginx spawn-fcgi curl jq b2sum git
e2e_setup
repo=$IN/repo
trap 'for p in $(leftovers "$repo"); do kill "$p"; done; e2e_cleanup' EXIT

script=$(quick_start)
check "README: a quick-start section with sh blocks" test -n "$script"
for want in 'make demo' 'make serve &' 'curl ' 'portal add' 'kill %1'; do
	check "quick start: $want" grep -qF -- "$want" <<<"$script"
done
check "quick start: posts to 127.0.0.1:8080" grep -q '127\.0\.0\.1:8080' <<<"$script"
USED_PORTS=
free_port port || finish $TEST_NAME
printf '%s\n' "${script//127.0.0.1:8080/127.0.0.1:$port}" >"$IN/quick.sh"
check "copy of the repository, with the built programs" copy_tree "$repo"

(cd "$repo" && SERVE_PORT=$port timeout 300 setsid bash -e "$IN/quick.sh") \
    >"$T/run/quick.out" 2>&1
rc=$?
assert_eq "the quick start runs to its end (exit status)" 0 "$rc"
[ "$rc" -eq 0 ] || tail -n 5 "$T/run/quick.out" | sed 's/^/#   /'

check "make demo: every fixture posted, a forged token refused" \
    grep -q '^== A forged application token' "$T/run/quick.out"
check "curl: the reply the README promises" \
    grep -qx '{"status":"ok","records":1}' "$T/run/quick.out"
log=$repo/build/serve/logs/$PORTAL.jsonl
assert_eq "the record in the file tail reads" ONIMCONNECTORMESSAGEADD \
    "$(tail -n 1 "$log" 2>/dev/null | jq -r .event 2>&1)"
check "tail printed that record" grep -qF "\"member_id\":\"$PORTAL\"" \
    "$T/run/quick.out"
fp=$(printf %s "$NEW_TOKEN" | b2sum -l 256 | cut -c1-8)
check "portal add, then portal list: the new portal by its fingerprint" \
    grep -qx "$NEW_PORTAL $fp my-portal" "$T/run/quick.out"
check "the allow-list has the new line" \
    grep -qx "$NEW_PORTAL $NEW_TOKEN my-portal" "$repo/build/serve/allow.txt"
check "kill %1: make serve stopped nginx and the responders" \
    wait_until 10 eval '[ -z "$(leftovers "$repo")" ]'
check "make serve said it stopped" grep -q '^serve: stopped' "$T/run/quick.out"
check_no_secrets "no token in what the quick start printed" "$T" "$NEW_TOKEN"
finish $TEST_NAME
