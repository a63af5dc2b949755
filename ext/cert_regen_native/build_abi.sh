#!/bin/bash
# ext/cert_regen_native/build_abi.sh RUBY_DEV_DEB OUT_SO - the self-contained
# extension for a Ruby this host does not run (an agent's Ruby 2.7 or 3.3):
# compiled against the headers in that Ruby's Debian -dev package (unpacked,
# never installed), linked with the static PIC OpenSSL and jansson of
# `ext/deps/build.sh x86_64-pic` and nothing of them exported.  libruby is
# not linked: the Ruby that loads the extension provides its symbols.
# The test that loads it is tests/integration/test_ext_abis.sh.
set -euo pipefail
deb=${1:?usage: build_abi.sh RUBY_DEV_DEB OUT_SO}
out=${2:?usage: build_abi.sh RUBY_DEV_DEB OUT_SO}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
deps=$(bash "$top/ext/deps/build.sh" x86_64-pic)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/dev"
hdr=$(find "$work/dev/usr/include" -maxdepth 1 -name 'ruby-*' | head -n 1)
arch=$(find "$work/dev/usr/include" -mindepth 2 -maxdepth 2 -name 'ruby-*' | head -n 1)
if [ -z "$hdr" ] || [ -z "$arch" ]; then
    echo "build_abi: $deb holds no Ruby headers; give the rubyX.Y-dev package" >&2
    exit 1
fi
version=$(ruby -rjson -e 'print JSON.parse(File.read(ARGV[0]))["version"]' "$top/metadata.json")
srcs=("$here/cert_regen_native.c")
while read -r f; do srcs+=("$top/ext/core/$f.c"); done <"$here/fact_core.txt"
mkdir -p "$(dirname "$out")"
gcc -shared -fPIC -std=c11 -D_GNU_SOURCE -O2 -fvisibility=hidden -Wall -Wextra -Werror \
    -Wno-unused-parameter -Wno-missing-field-initializers \
    -I"$hdr" -I"$arch" -I"$deps/include" -I"$top/ext/core" \
    -DCERT_REGEN_VERSION="\"$version\"" "${srcs[@]}" \
    "$deps/lib/libssl.a" "$deps/lib/libcrypto.a" "$deps/lib/libjansson.a" \
    -Wl,--exclude-libs,ALL -Wl,--version-script="$here/export.map" -lpthread -o "$out"
echo "$out"
