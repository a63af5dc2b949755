#!/bin/bash
# ext/deps/prefix.sh TRIPLE - print the prefix holding TRIPLE's pinned
# libraries, or fail when build.sh has not built them yet.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [ $# -ne 1 ]; then
    echo "usage: ext/deps/prefix.sh TRIPLE ($CR_TRIPLES)" >&2
    exit 2
fi
cr_deps_check_triple "$1"
p=$(cr_deps_prefix "$1")
if [ ! -f "$p/.complete" ]; then
    echo "ext/deps: no libraries for $1 at $p; build them with: bash ext/deps/build.sh $1" >&2
    exit 1
fi
echo "$p"
