#!/bin/bash
# End-to-end: the per-request arena's checks (lib/arena.h).  A responder
# built to leak a reference in every request (build/tests/b24hook-leak)
# says so on the operator stream, as CGI and as FastCGI, and still
# answers; a use of a freed block (tests/arena_uaf.c) is reported by
# AddressSanitizer and by memcheck.  Run from anywhere:
# bash tests/e2e/test_arena.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_setup
LEAK=$E2E_ROOT/build/tests/b24hook-leak
ALLOW=$IN/allow.txt
cp "$FIXTURES/allow.txt" "$ALLOW"
BODY=$FIXTURES/ONIMCONNECTORMESSAGEADD.form
LEN=$(stat -c %s "$BODY")

# leak_lines FILE: the arena's operator lines in FILE
leak_lines() { grep -c '^b24hook: arena: [1-9][0-9]* blocks not freed$' "$1"; }

# the real responder frees every block: no arena line
env -i B24HOOK_ALLOWLIST="$ALLOW" B24HOOK_LOG_DIR="$T/logs" \
    REQUEST_METHOD=POST CONTENT_TYPE="$FORM" CONTENT_LENGTH="$LEN" \
    "$B24HOOK" <"$BODY" >"$T/run/ok.out" 2>"$T/run/ok.err"
assert_eq "b24hook: 200" 1 "$(grep -c '^Status: 200' "$T/run/ok.out")"
assert_eq "b24hook: no arena line" 0 "$(grep -c 'arena' "$T/run/ok.err")"

if [ -x "$LEAK" ]; then
	env -i B24HOOK_ALLOWLIST="$ALLOW" B24HOOK_LOG_DIR="$T/logs" \
	    REQUEST_METHOD=POST CONTENT_TYPE="$FORM" CONTENT_LENGTH="$LEN" \
	    "$LEAK" <"$BODY" >"$T/run/cgi.out" 2>"$T/run/cgi.err"
	assert_eq "leak, CGI: 200" 1 "$(grep -c '^Status: 200' "$T/run/cgi.out")"
	assert_eq "leak, CGI: the arena line" 1 "$(leak_lines "$T/run/cgi.err")"
	# FastCGI: one worker, three requests, one line each
	rm -f "$T/leak.sock"
	env -i B24HOOK_ALLOWLIST="$ALLOW" B24HOOK_LOG_DIR="$T/logs" \
	    spawn-fcgi -n -s "$T/leak.sock" -- "$LEAK" >"$T/run/fcgi.err" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 50); do
		[ -S "$T/leak.sock" ] && break
		sleep 0.1
	done
	n=0
	for _ in 1 2 3; do
		env -i REQUEST_METHOD=POST CONTENT_TYPE="$FORM" \
		    CONTENT_LENGTH="$LEN" "$(command -v cgi-fcgi)" -bind \
		    -connect "$T/leak.sock" <"$BODY" >"$T/run/f.out" \
		    2>>"$T/run/f.err"
		grep -q '^Status: 200' "$T/run/f.out" && n=$((n + 1))
	done
	assert_eq "leak, FastCGI: 3 replies 200" 3 "$n"
	assert_eq "leak, FastCGI: an arena line each" 3 \
	    "$(leak_lines "$T/run/f.err")"
	stop_pid "$SERVER_PID"
	SERVER_PID=
else
	fail "leak build" "no $LEAK (make build/tests/b24hook-leak)"
fi

# uaf CC FLAGS...: tests/arena_uaf.c and lib/arena.c built into $T/uaf
uaf() {
	local cc=$1
	shift
	"$cc" -std=c11 -D_DEFAULT_SOURCE -g -O1 -iquote "$E2E_ROOT/lib" "$@" \
	    $(pkg-config --cflags libsodium) -o "$T/uaf" \
	    "$E2E_ROOT/tests/arena_uaf.c" "$E2E_ROOT/lib/arena.c" \
	    $(pkg-config --libs libsodium) 2>"$T/run/uaf.cc"
}

# AddressSanitizer: a freed block and a reset arena are poisoned
if command -v clang >/dev/null && uaf clang -fsanitize=address \
    -fno-omit-frame-pointer; then
	for m in free reset; do
		ASAN_OPTIONS=detect_leaks=0 "$T/uaf" "$m" >/dev/null \
		    2>"$T/run/asan.$m"
		assert_eq "asan: use after $m reported" 1 \
		    "$(grep -c 'ERROR: AddressSanitizer: use-after-poison' \
		    "$T/run/asan.$m")"
	done
	ASAN_OPTIONS=detect_leaks=0 "$T/uaf" none >/dev/null 2>"$T/run/asan.none"
	assert_eq "asan: a block in use, no report" 0 \
	    "$(grep -c AddressSanitizer "$T/run/asan.none")"
else
	fail "asan build" "clang -fsanitize=address failed"
fi

# memcheck: the chunks are a mempool
if uaf cc; then
	for m in free reset none; do
		valgrind --tool=memcheck --error-exitcode=99 \
		    --log-file="$T/run/vg.$m" "$T/uaf" "$m" >/dev/null 2>&1
		echo $? >"$T/run/vg.$m.rc"
	done
	assert_eq "memcheck: use after free reported" 99 "$(cat "$T/run/vg.free.rc")"
	assert_eq "memcheck: use after reset reported" 99 "$(cat "$T/run/vg.reset.rc")"
	assert_eq "memcheck: invalid read named" 2 \
	    "$(cat "$T/run/vg.free" "$T/run/vg.reset" | grep -c 'Invalid read')"
	assert_eq "memcheck: a block in use, no error" 0 "$(cat "$T/run/vg.none.rc")"
else
	fail "memcheck build" "cc failed"
fi

finish arena
