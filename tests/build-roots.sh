#!/bin/bash
# tests/build-roots.sh [SUITE...] - build the cached Debian roots the
# systemd/matrix tests boot (default: bullseye bookworm trixie), in parallel
# (the cost is mostly downloads).  Already cached roots are left as they are.
set -euo pipefail
# shellcheck source=tests/lib/roots.sh
. "$(dirname "$0")/lib/roots.sh"
[ "$(id -u)" -eq 0 ] || { echo "build-roots: must run as root (debootstrap, mount)" >&2; exit 1; }
suites=("$@")
[ "${#suites[@]}" -gt 0 ] || suites=(bullseye bookworm trixie)
t0=$(date +%s)
# one builder at a time; a second caller waits, then finds the roots cached
mkdir -p "$ROOTS_CACHE"
exec 9>"$ROOTS_CACHE/.build.lock"
flock 9
pids=()
for s in "${suites[@]}"; do
    roots_ensure "$s" >/dev/null &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
for s in "${suites[@]}"; do
    p=$(roots_path "$s")
    [ -d "$p" ] && echo "build-roots: $s -> $p ($(du -sh "$p" | cut -f1))"
done
echo "build-roots: done in $(( $(date +%s) - t0 )) s (rc $rc)"
exit "$rc"
