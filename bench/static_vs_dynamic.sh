#!/bin/bash
# bench/static_vs_dynamic.sh [ROUNDS] - the self-contained (static musl,
# stripped) task executable against the dynamic one (Debian's libssl3,
# libcurl4, libjansson4, libyaml), side by side in one run:
#   size        bytes on disk (the dynamic one also stripped, and with the
#               shared libraries it loads)
#   --version   start-up, hyperfine (warm cache)
#   status      `cert_regen task status` of a bootstrapped agent, hyperfine
#   regenerate  `cert_regen task regenerate` with an EC key (prime256v1)
#               against the real puppetserver CA, ROUNDS (default 5) each,
#               alternating, median wall time
# Prints a Markdown table.  A benchmark, not a test: nothing asserts.
set -euo pipefail
rounds=${1:-5}
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../tests/lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
set +e
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (tests/setup-debian.sh)"; exit 1; }

static=$(bash "$REPO_ROOT/tests/lib/static.sh" x86_64-linux-musl) || { echo "static build failed"; exit 1; }
dyn="$TEST_TMP/dynamic/cert_regen"
make -s -C "$REPO_ROOT/ext" -j2 BINDIR="$TEST_TMP/dynamic" "$dyn" >&2 || { echo "dynamic build failed"; exit 1; }
strip -o "$TEST_TMP/dynamic/cert_regen.stripped" "$dyn"

stack_ensure >/dev/null || { echo "no puppetserver"; exit 1; }
n="bench-sd-$$.auto.test"
c=$(stack_agent "$n")
stack_bootstrap "$n" >/dev/null 2>&1

size() { stat -c %s "$1"; }
libs_size() {   # the executable plus every shared library ldd names
    local total
    total=$(size "$1")
    for l in $(ldd "$1" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}'); do
        total=$((total + $(stat -L -c %s "$l")))
    done
    echo "$total"
}
median_of() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
hf() {   # hyperfine median in ms of a command
    hyperfine -N --warmup 3 --runs "${HF_RUNS:-30}" --export-json "$TEST_TMP/hf.json" "$1" >/dev/null 2>&1
    ruby -rjson -e 'printf("%.2f", JSON.parse(File.read(ARGV[0]))["results"][0]["median"] * 1000)' "$TEST_TMP/hf.json"
}
printf '{"confdir":"%s"}' "$c" >"$TEST_TMP/status.json"

ver_s=$(hf "$static --version")
ver_d=$(hf "$dyn --version")
st_s=$(hf "sh -c '$static task status <$TEST_TMP/status.json >/dev/null'")
st_d=$(hf "sh -c '$dyn task status <$TEST_TMP/status.json >/dev/null'")

regen() {   # wall ms of one regenerate with an EC key
    local t0 t1
    t0=$(date +%s%N)
    printf '{"confdir":"%s","key_type":"ec","services":[],"backup":false}' "$c" | "$1" task regenerate >"$TEST_TMP/regen.out" 2>&1
    t1=$(date +%s%N)
    grep -q '"state": *"regenerated"' "$TEST_TMP/regen.out" || { echo "regenerate failed: $(head -c 300 "$TEST_TMP/regen.out")" >&2; }
    echo $(((t1 - t0) / 1000000))
}
: >"$TEST_TMP/rs"; : >"$TEST_TMP/rd"
for _ in $(seq "$rounds"); do
    regen "$static" >>"$TEST_TMP/rs"
    regen "$dyn" >>"$TEST_TMP/rd"
done
rg_s=$(median_of <"$TEST_TMP/rs")
rg_d=$(median_of <"$TEST_TMP/rd")
pct() { ruby -e 'printf("%+.1f%%", (ARGV[0].to_f / ARGV[1].to_f - 1) * 100)' "$1" "$2"; }

echo "| measure | static (musl) | dynamic (glibc) | static vs dynamic |"
echo "|---|---|---|---|"
echo "| size, as shipped | $(size "$static") B | $(size "$dyn") B (with -g) | |"
echo "| size, stripped | $(size "$static") B | $(size "$TEST_TMP/dynamic/cert_regen.stripped") B | |"
echo "| size with the shared libraries loaded | $(size "$static") B | $(libs_size "$dyn") B | |"
echo "| --version, median of ${HF_RUNS:-30} | $ver_s ms | $ver_d ms | $(pct "$ver_s" "$ver_d") |"
echo "| status task, median of ${HF_RUNS:-30} | $st_s ms | $st_d ms | $(pct "$st_s" "$st_d") |"
echo "| regenerate (EC P-256) vs the real CA, median of $rounds | $rg_s ms | $rg_d ms | $(pct "$rg_s" "$rg_d") |"
