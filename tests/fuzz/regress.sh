#!/bin/bash
# Replays every file under tests/fuzz/regressions/<target>/ (inputs that
# once crashed a target, kept after the fix) through that target, once
# each, and with -s also the seed corpora.  Builds first (incremental).
# Last line "N passed, N failed", one count per file.
#   tests/fuzz/regress.sh [-s]
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=$top/build/fuzz
dirs=("$here/regressions")
[ "${1:-}" = "-s" ] && dirs+=("$here/corpus")

if ! out=$(nice make -C "$here" -j"${JOBS:-2}" 2>&1); then
	printf '%s\nbuild failed\n0 passed, 1 failed\n' "$out"
	exit 1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
for base in "${dirs[@]}"; do
	for d in "$base"/*/; do
		[ -d "$d" ] || continue
		t=$(basename "$d")
		for f in "$d"*; do
			[ -f "$f" ] || continue
			if [ ! -x "$bin/fuzz_$t" ]; then
				echo "FAIL $t/$(basename "$f"): no target fuzz_$t"
				failed=$((failed + 1))
			elif log=$("$bin/fuzz_$t" -runs=1 "$f" 2>&1); then
				passed=$((passed + 1))
			else
				echo "FAIL $t/$(basename "$f")"
				printf '%s\n' "$log" | grep -E -A12 \
				    'ERROR|runtime error|fuzz oracle' | head -30
				failed=$((failed + 1))
			fi
		done
	done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
