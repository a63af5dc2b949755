#!/bin/bash
# ext/cert_regen_native/build_abi.sh VERSION OUT_SO - the self-contained
# extension for an agent Ruby this host does not run (VERSION: a line of
# rubies.lock, 2.7 or 3.3): compiled against the headers of that Ruby's
# Debian -dev package (fetched, checked against its pinned SHA-256,
# unpacked, never installed), linked with the static PIC OpenSSL and jansson
# of `ext/deps/build.sh x86_64-pic` and nothing of them exported.  libruby
# is not linked: the Ruby that loads the extension provides its symbols.
# A line with a fifth column `sysroot=SUITE` is built against that Debian
# release's glibc instead of the host's (its libc6 and libc6-dev of
# sysroots.lock, unpacked the same way; the kernel's headers stay the
# host's): Debian 11's Ruby 2.7 runs on glibc 2.31, and a build linked here
# would need 2.34 (pthread_*) and 2.33 (stat, fstat).
# The test that loads it is tests/integration/test_ext_abis.sh.
set -euo pipefail
ver=${1:?usage: build_abi.sh VERSION OUT_SO}
out=${2:?usage: build_abi.sh VERSION OUT_SO}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${CR_CACHE:-/var/cache/cert_regen}/src

# fetch_deb SHA256 POOL_PATH DIR: the package, from the cache or the mirror,
# checked, unpacked into DIR.
fetch_deb() {
    local sha=$1 path=$2 dir=$3 deb
    deb=$cache/${path##*/}
    mkdir -p "$cache"
    if ! echo "$sha  $deb" | sha256sum -c --status 2>/dev/null; then
        curl -fsSL --retry 3 -o "$deb.part" "${CR_DEBIAN_MIRROR:-http://deb.debian.org}/$path"
        if ! echo "$sha  $deb.part" | sha256sum -c --status; then
            rm -f "$deb.part"
            echo "build_abi: $path does not match its pinned sha256; check CR_DEBIAN_MIRROR" >&2
            return 1
        fi
        mv "$deb.part" "$deb"
    fi
    dpkg-deb -x "$deb" "$dir"
}

read -r sha path sysroot < <(awk -v v="$ver" '$1 == v { print $3, $4, $5 }' "$here/rubies.lock")
if [ -z "${path:-}" ]; then
    echo "build_abi: no Ruby $ver in ext/cert_regen_native/rubies.lock; add its -dev package there" >&2
    exit 1
fi
deps=$(bash "$top/ext/deps/build.sh" x86_64-pic)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch_deb "$sha" "$path" "$work/dev"
hdr=$(find "$work/dev/usr/include" -maxdepth 1 -name 'ruby-*' | head -n 1)
arch=$(find "$work/dev/usr/include" -mindepth 2 -maxdepth 2 -name 'ruby-*' | head -n 1)
if [ -z "$hdr" ] || [ -z "$arch" ]; then
    echo "build_abi: ${path##*/} holds no Ruby headers; give the rubyX.Y-dev package" >&2
    exit 1
fi
cflags=() ldflags=()
suite=${sysroot#sysroot=}
if [ -n "$suite" ]; then
    sys=$work/sysroot
    n=0
    while read -r s psha ppath; do
        [ "$s" = "$suite" ] || continue
        fetch_deb "$psha" "$ppath" "$sys"
        n=$((n + 1))
    done < <(grep -v '^#' "$here/sysroots.lock")
    if [ "$n" -eq 0 ]; then
        echo "build_abi: no $suite packages in ext/cert_regen_native/sysroots.lock; add its libc6 and libc6-dev there" >&2
        exit 1
    fi
    # the loader's path, a symlink libc6's maintainer script makes
    ld=$(cd "$sys/lib/x86_64-linux-gnu" && ls ld-*.so 2>/dev/null | head -n 1)
    mkdir -p "$sys/lib64"
    ln -sfn "../lib/x86_64-linux-gnu/$ld" "$sys/lib64/ld-linux-x86-64.so.2"
    # the kernel's headers (linux/, asm/), which glibc's include
    mkdir -p "$work/kernel"
    ln -s /usr/include/linux /usr/include/asm-generic "$work/kernel/"
    ln -s "/usr/include/$(gcc -dumpmachine)/asm" "$work/kernel/asm"
    cflags=(--sysroot="$sys" -idirafter "$work/kernel")
    ldflags=(--sysroot="$sys" -L"$sys/usr/lib/x86_64-linux-gnu" -L"$sys/lib/x86_64-linux-gnu")
fi
version=$(ruby -rjson -e 'print JSON.parse(File.read(ARGV[0]))["version"]' "$top/metadata.json")
srcs=("$here/cert_regen_native.c")
while read -r f; do srcs+=("$top/ext/core/$f.c"); done <"$here/fact_core.txt"
mkdir -p "$work/obj" "$(dirname "$out")"
objs=()
for src in "${srcs[@]}"; do
    obj=$work/obj/$(basename "$(dirname "$src")")_$(basename "$src" .c).o
    gcc "${cflags[@]}" -c -fPIC -std=c11 -D_GNU_SOURCE -O2 -fvisibility=hidden \
        -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
        -I"$hdr" -I"$arch" -I"$deps/include" -I"$top/ext/core" \
        -DCERT_REGEN_VERSION="\"$version\"" -o "$obj" "$src"
    objs+=("$obj")
done
gcc -shared "${ldflags[@]}" "${objs[@]}" \
    "$deps/lib/libssl.a" "$deps/lib/libcrypto.a" "$deps/lib/libjansson.a" \
    -Wl,--exclude-libs,ALL -Wl,--version-script="$here/export.map" -lpthread -o "$out"
echo "$out"
