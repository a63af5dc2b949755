#!/bin/bash
# ext/cert_regen_native/build_abi.sh VERSION OUT_SO - the self-contained
# extension for an agent Ruby this host does not run (VERSION: a line of
# rubies.lock, 2.7 or 3.3): compiled against the headers of that Ruby's
# Debian -dev package (fetched, checked against its pinned SHA-256,
# unpacked, never installed), linked with the static PIC OpenSSL and jansson
# of `ext/deps/build.sh x86_64-pic` and nothing of them exported.  libruby
# is not linked: the Ruby that loads the extension provides its symbols.
# The test that loads it is tests/integration/test_ext_abis.sh.
set -euo pipefail
ver=${1:?usage: build_abi.sh VERSION OUT_SO}
out=${2:?usage: build_abi.sh VERSION OUT_SO}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
read -r sha path < <(awk -v v="$ver" '$1 == v { print $3, $4 }' "$here/rubies.lock")
if [ -z "${path:-}" ]; then
    echo "build_abi: no Ruby $ver in ext/cert_regen_native/rubies.lock; add its -dev package there" >&2
    exit 1
fi
deb=${CR_CACHE:-/var/cache/cert_regen}/src/${path##*/}
mkdir -p "$(dirname "$deb")"
if ! echo "$sha  $deb" | sha256sum -c --status 2>/dev/null; then
    curl -fsSL --retry 3 -o "$deb.part" "${CR_DEBIAN_MIRROR:-http://deb.debian.org}/$path"
    if ! echo "$sha  $deb.part" | sha256sum -c --status; then
        rm -f "$deb.part"
        echo "build_abi: $path does not match its sha256 in rubies.lock; check CR_DEBIAN_MIRROR" >&2
        exit 1
    fi
    mv "$deb.part" "$deb"
fi
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
