#!/bin/bash
# Runs every Check suite in build/tests, every end-to-end test in
# tests/e2e, then each command given as an argument (such as "make
# sanitize"), and prints one closing line: "total: N passed, M failed".
# Each end-to-end test and command ends with "NAME: N passed, M failed";
# one that ends without its summary line counts as one failure.
set -u
cd "$(dirname "$0")/.."
commands=("$@")
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

count() { # $1: passed, $2: failed, from one suite
	passed=$((passed + $1))
	failed=$((failed + $2))
}

for t in build/tests/check_*; do
	[ -x "$t" ] || continue
	"$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	# Check: "100%: Checks: 65, Failures: 0, Errors: 0"
	summary=$(sed -n 's/^[0-9]*%: Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\)$/\1 \2 \3/p' "$out")
	if [ -z "$summary" ]; then
		echo "$t: no summary (exit $rc)"
		count 0 1
		continue
	fi
	set -- $summary
	count $(($1 - $2 - $3)) $(($2 + $3))
	[ "$rc" -eq 0 ] || [ $(($2 + $3)) -gt 0 ] || count 0 1
done

# counted CMD: run CMD, count its closing "NAME: N passed, M failed" line
counted() {
	bash -c "$1" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	summary=$(sed -n 's/^[a-z0-9_-]*: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out" | tail -n 1)
	if [ -z "$summary" ]; then
		echo "$1: no summary (exit $rc)"
		count 0 1
		return
	fi
	set -- $summary
	count "$1" "$2"
	[ "$rc" -eq 0 ] || [ "$2" -gt 0 ] || count 0 1
}

for t in tests/e2e/test_*.sh; do
	counted "bash $t"
done
for cmd in "${commands[@]}"; do
	counted "$cmd"
done

echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
