#!/bin/bash
# fuzz/run.sh SECONDS TARGET...: runs each build/fuzz/fuzz_TARGET for
# SECONDS over its corpus (new inputs kept in build/fuzz/corpus/TARGET,
# the seeds fuzz/seed.sh makes in build/fuzz/seeds/TARGET), with the
# dictionary, crash artifacts under build/fuzz/artifacts/.  A target
# passes when libFuzzer exits 0: no crash, leak, timeout, out-of-memory
# or sanitizer report.  Ends with "fuzz: N passed, M failed".
#
# The output of a failed run is shown with every fixture token replaced,
# as a crashing input may hold one.
set -u
cd "$(dirname "$0")/.."
seconds=$1
shift
. tests/e2e/lib.sh
out=build/fuzz
mkdir -p "$out/artifacts" "$out/work"
fixture_secrets_to() { # FILE: the secrets as sed expressions
	IN=$out/work fixture_secrets | sed 's/[][\.*^$/]/\\&/g; s|.*|s/&/<token>/g|' >"$1"
}
fixture_secrets_to "$out/work/redact.sed"
sh fuzz/seed.sh "$out/seeds"

# run TARGET: one fuzzer, its output in build/fuzz/TARGET.log
run() {
	local t=$1
	mkdir -p "$out/corpus/$t"
	B24HOOK_FUZZ_ALLOWLIST=$PWD/tests/fixtures/events/allow.txt \
	B24HOOK_FUZZ_WORK=$PWD/$out/work \
	"$out/fuzz_$t" -max_total_time="$seconds" -timeout=25 \
	    -rss_limit_mb=2048 -dict=fuzz/b24hook.dict -close_fd_mask=3 \
	    -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
	    "$out/corpus/$t" "$out/seeds/$t" >"$out/$t.log" 2>&1
}

# report TARGET RC: its line, and on failure the end of its log
report() {
	local t=$1 rc=$2 log=$out/$1.log runs cov
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - fuzz_$t: ${runs:-?} runs in ${seconds}s, $cov, no crash, leak or report"
	else
		failed=$((failed + 1))
		echo "not ok - fuzz_$t: exit $rc after ${runs:-?} runs; log $log, artifacts $out/artifacts/$t-*"
		grep -v '^#[0-9]' "$log" | tail -n 60 | sed -f "$out/work/redact.sed"
	fi
}

# FUZZ_JOBS (default: the number of cores) fuzzers at a time
jobs=${FUZZ_JOBS:-$(nproc)}
passed=0
failed=0
set -- "$@"
while [ $# -gt 0 ]; do
	batch=("${@:1:jobs}")
	shift $((${#batch[@]}))
	pids=()
	for t in "${batch[@]}"; do
		run "$t" &
		pids+=($!)
	done
	for i in "${!batch[@]}"; do
		wait "${pids[$i]}"
		report "${batch[$i]}" $?
	done
done
rm -rf "$out"/work/logs.*
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
