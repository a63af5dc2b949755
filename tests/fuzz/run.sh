#!/bin/bash
# Builds the fuzz targets, then runs each one for SECONDS (default 30) on a
# copy of its seed corpus (the repository's corpus never grows), one job,
# at low priority.  Prints executions, exec/s and crashes per target, and
# last "N passed, N failed": a target passes when it ran its time without
# a crash, leak, time-out or out-of-memory.  Crashing inputs are copied to
# tests/fuzz/crashes/<target>/ for triage (then, fixed, to regressions/).
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#   FUZZ_KEEP=1: keep the temporary directory (grown corpora, logs)
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=$top/build/fuzz
secs=${1:-30}
shift || true
case $secs in *[!0-9]* | '') echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac

if ! nice make -C "$here" -j"${JOBS:-2}" >"${TMPDIR:-/tmp}/cert_regen_fuzz_build.$$" 2>&1; then
	cat "${TMPDIR:-/tmp}/cert_regen_fuzz_build.$$"
	rm -f "${TMPDIR:-/tmp}/cert_regen_fuzz_build.$$"
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/cert_regen_fuzz_build.$$"

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in "$here"/fuzz_*.c; do
		t=$(basename "$f" .c)
		targets+=("${t#fuzz_}")
	done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cert_regen_fuzz.XXXXXX")
[ -n "${FUZZ_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=64}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# key_seeds DIR: throwaway RSA/EC/Ed25519 keys, PEM and DER, as seeds.
key_seeds() {
	local k=$1
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/rsa_pkcs8.pem" 2>/dev/null
	openssl rsa -in "$k/rsa_pkcs8.pem" -traditional -out "$k/rsa_pkcs1.pem" 2>/dev/null
	openssl pkey -in "$k/rsa_pkcs8.pem" -outform DER -out "$k/rsa_pkcs8.der" 2>/dev/null
	openssl rsa -in "$k/rsa_pkcs8.pem" -traditional -outform DER -out "$k/rsa_pkcs1.der" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k/ec_pkcs8.pem" 2>/dev/null
	openssl ec -in "$k/ec_pkcs8.pem" -out "$k/ec_sec1.pem" 2>/dev/null
	openssl ec -in "$k/ec_pkcs8.pem" -outform DER -out "$k/ec_sec1.der" 2>/dev/null
	openssl pkey -in "$k/ec_pkcs8.pem" -outform DER -out "$k/ec_pkcs8.der" 2>/dev/null
	openssl genpkey -algorithm ED25519 -out "$k/ed25519.pem" 2>/dev/null
	openssl pkey -in "$k/ec_pkcs8.pem" -aes128 -passout pass:x -out "$k/ec_encrypted.pem" 2>/dev/null
	return 0
}

# report TARGET LOG DIR: what a failed target found, as "# " lines on
# stdout (a CI log is often all there is to triage from): the seed, the
# first lines of the sanitizer / oracle / libFuzzer report, the failing
# input (hex, first 512 bytes) and how to replay it.
report() {
	local t=$1 log=$2 d=$3 a
	echo "# --- fuzz_$t failed"
	grep -m1 -e '^INFO: Seed:' "$log" | sed 's/^/# /'
	local files=("$log")
	[ -f "$d/leak.log" ] && files+=("$d/leak.log")
	{ grep -h -A 30 -m1 -e '^==[0-9]*==ERROR' -e 'runtime error:' \
	    -e '^fuzz oracle:' -e 'ALARM: working on the last Unit' \
	    -e 'out-of-memory' -e 'deadly signal' "${files[@]}" ||
	    tail -n 20 "$log"; } | head -n 40 | sed 's/^/# /'
	for a in "$d"/artifacts/*; do
		[ -f "$a" ] || continue
		echo "# input $(basename "$a") ($(wc -c <"$a") bytes):"
		head -c 512 "$a" | od -An -tx1 | sed 's/^/#  /'
		echo "# replay: build/fuzz/fuzz_$t tests/fuzz/crashes/$t/$(basename "$a")"
	done
}

passed=0
failed=0
printf '%-16s %10s %8s %8s  %s\n' target executions exec/s crashes result
for t in "${targets[@]}"; do
	exe=$bin/fuzz_$t
	d=$work/$t
	mkdir -p "$d/corpus" "$d/artifacts"
	[ -d "$here/corpus/$t" ] && cp -r "$here/corpus/$t/." "$d/corpus/"
	# private-key seeds are never kept in the repository: made here, in
	# the temporary work directory, and removed with it
	[ "$t" = key ] && key_seeds "$d/corpus"
	dict=()
	[ -f "$here/dict/$t.dict" ] && dict=(-dict="$here/dict/$t.dict")
	if [ ! -x "$exe" ]; then
		printf '%-16s %10s %8s %8s  %s\n' "$t" - - - "FAILED (no $exe)"
		failed=$((failed + 1))
		continue
	fi
	# One job: libFuzzer forks a worker that logs to fuzz-0.log in cwd.
	# OpenSSL's allocation pattern makes libFuzzer's leak check after
	# every mutation an LSan scan each time (30x slower), so the timed
	# run goes without it and the grown corpus is then replayed with
	# leak detection per input (leak.log): a leak still fails the target.
	(cd "$d" && nice -n 10 "$exe" -jobs=1 -max_total_time="$secs" \
	    -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
	    -detect_leaks=0 -artifact_prefix="$d/artifacts/" "${dict[@]}" \
	    corpus >"$d/run.log" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		(cd "$d" && nice -n 10 "$exe" -runs=0 -detect_leaks=1 \
		    -rss_limit_mb=2048 -artifact_prefix="$d/artifacts/" \
		    corpus >"$d/leak.log" 2>&1)
		rc=$?
		[ "$rc" -eq 0 ] || cp "$d/leak.log" "$d/fuzz-0.log.leak"
	fi
	log=$d/fuzz-0.log
	[ -f "$log" ] || log=$d/run.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	crashes=$(find "$d/artifacts" -type f | wc -l)
	if [ "$crashes" -gt 0 ] || [ "$rc" -ne 0 ] ||
	    grep -q -e '^==[0-9]*==ERROR' -e 'runtime error:' -e '^fuzz oracle:' \
	    "$log" "$d/leak.log" 2>/dev/null; then
		mkdir -p "$here/crashes/$t"
		for a in "$d"/artifacts/*; do
			[ -f "$a" ] && cp "$a" "$here/crashes/$t/"
		done
		cp "$log" "$here/crashes/$t/last.log"
		[ -f "$d/fuzz-0.log.leak" ] &&
		    cp "$d/fuzz-0.log.leak" "$here/crashes/$t/leak.log"
		[ "$crashes" -gt 0 ] || crashes=1
		result="FAILED (see tests/fuzz/crashes/$t/)"
		# CI keeps only this output: the report itself, the seed
		# that reproduces the run and the failing input in hex
		report "$t" "$log" "$d"
		failed=$((failed + 1))
	else
		result=ok
		passed=$((passed + 1))
	fi
	printf '%-16s %10s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" \
	    "$crashes" "$result"
done
[ -n "${FUZZ_KEEP:-}" ] && echo "kept: $work"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
