#!/bin/bash
# tests/run-integration.sh [TEST_FILE...]
# Starts one puppetserver for the whole run (unless CR_STACK_DIR names a live
# one), runs each tests/integration/test_*.sh (or the given files) in its own
# bash, prints a summary and the total line "N passed, N failed".
# KEEP_TMP=1 keeps the stack directory.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/lib/stack.sh
. "$here/lib/stack.sh"

if [ "$#" -gt 0 ]; then
    tests=()
    for t in "$@"; do
        if [ ! -f "$t" ] && [ -f "$here/integration/$t" ]; then t="$here/integration/$t"; fi
        if [ ! -f "$t" ] && [ -f "$here/integration/$t.sh" ]; then t="$here/integration/$t.sh"; fi
        tests+=("$t")
    done
else
    tests=()
    for t in "$here"/integration/test_*.sh; do
        [ -e "$t" ] && tests+=("$t")
    done
fi
if [ "${#tests[@]}" -eq 0 ]; then
    echo "no integration tests found"
    echo "0 passed, 0 failed"
    exit 0
fi

own_dir=""
total_failed=0
cleanup() {
    stack_stop
    if [ -n "$own_dir" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ] || [ "$total_failed" -ne 0 ]; then
            echo "# stack files kept in $own_dir (logs: $own_dir/log)" >&2
        else
            rm -rf "$own_dir"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${CR_STACK_DIR:-}" ] && stack_running "$CR_STACK_DIR"; then
    echo "# reusing puppetserver in $CR_STACK_DIR"
    stack_ensure
else
    own_dir=$(mktemp -d /tmp/cr-stack.XXXXXX)
    echo "# starting puppetserver in $own_dir"
    if ! stack_start "$own_dir"; then
        total_failed=1
        echo "stack start failed"
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "# puppetserver ready on port $STACK_PORT in ${STACK_START_SECONDS}s"
fi
export CR_STACK_DIR="$STACK_DIR"

total_passed=0
summary=()
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    echo "# --- $name"
    log=$(mktemp "${TMPDIR:-/tmp}/cr-itest.XXXXXX")
    start=$(date +%s)
    rc=0
    bash "$t" </dev/null 2>&1 | tee "$log" || rc=$?
    secs=$(( $(date +%s) - start ))
    closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
    rm -f "$log"
    if [ -n "$closing" ]; then
        p=${closing%% passed*}
        f=${closing#*passed, }
        f=${f%% failed}
    else
        p=0 f=0
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        # Aborted (set -e, crash) or exited non-zero without a failed assertion.
        f=$((f + 1))
        closing="${closing:-no closing line}; exit $rc"
    fi
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    summary+=("$(printf '%-40s %-28s %4ss' "$name" "${closing:-no closing line}" "$secs")")
done

echo "# === summary"
for line in "${summary[@]}"; do echo "# $line"; done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
