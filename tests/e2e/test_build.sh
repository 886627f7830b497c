#!/bin/bash
# The build: every program hardened as Debian hardens its packages, with
# the user's flags kept.  Run from anywhere: bash tests/e2e/test_build.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v hardening-check >/dev/null || {
	fail "hardening-check installed (devscripts: make deps)"
	finish test_build
}
# --nocfprotection: Debian 12's start files (Scrt1.o) carry no IBT/SHSTK
# note, so no program linked on it is marked, Debian's own included
# (hardening-check /usr/sbin/nginx says the same); the objects are
# compiled with -fcf-protection all the same.
for prog in "$B24HOOK" "$B24HOOKCTL"; do
	out=$(hardening-check --nocfprotection "$prog" 2>&1)
	assert_eq "hardening-check $(basename "$prog")" 0 "$?"
	[ "$E2E_FAILED" -eq 0 ] || printf '%s\n' "$out"
done
flags=$(make -s -n -C "$E2E_ROOT" -B CFLAGS=-O1 CPPFLAGS=-DUSER_FLAG \
    build/lib/buf.o 2>/dev/null)
for flag in -O1 -DUSER_FLAG -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
    -fPIE; do
	check "compile line has $flag" grep -qe " $flag " <<<" $flags "
done
flags=$(make -s -n -C "$E2E_ROOT" -B CPPFLAGS=-D_FORTIFY_SOURCE=3 \
    build/lib/buf.o 2>/dev/null)
check_not "a _FORTIFY_SOURCE of the user's own wins" \
    grep -qe '-D_FORTIFY_SOURCE=2' <<<"$flags"
finish test_build
