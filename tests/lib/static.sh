#!/bin/bash
# tests/lib/static.sh [TRIPLE] - print the path of the self-contained (static
# musl) task executable for TRIPLE (default x86_64-linux-musl), building it
# and its pinned libraries first when missing (ext/deps, cached under
# /var/cache/cert_regen).  Other tests take it as CR_STATIC_EXE:
#   CR_STATIC_EXE=$(bash tests/lib/static.sh)
set -euo pipefail
triple=${1:-x86_64-linux-musl}
root=$(cd "$(dirname "$0")/../.." && pwd)
make -s -C "$root/ext" TARGET="$triple" -j2 >&2
echo "$root/build/$triple/bin/cert_regen"
