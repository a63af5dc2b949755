#!/bin/bash
# tests/lib/win_cmocka.sh [--prefix] - cmocka built with mingw-w64 for the
# Windows unit suites (ext/Makefile windows-unit), from Debian's pinned
# source tarball, once, into $CR_CACHE/wine/cmocka-<sha>/{include,lib}.
# Prints the prefix on stdout; progress goes to stderr.
set -euo pipefail
CR_CACHE=${CR_CACHE:-/var/cache/cert_regen}
MIRROR=${CR_DEBIAN_MIRROR:-http://deb.debian.org}
SRC_PATH=debian/pool/main/c/cmocka/cmocka_1.1.5.orig.tar.xz
SHA=f0ccd8242d55e2fd74b16ba518359151f6f8383ff8aef4976e48393f77bba8b6
PREFIX=$CR_CACHE/wine/cmocka-${SHA:0:12}
[ "${1:-}" = --prefix ] || [ $# -eq 0 ] || { echo "usage: $0 [--prefix]" >&2; exit 2; }

if [ -f "$PREFIX/lib/libcmocka.a" ]; then
    echo "$PREFIX"
    exit 0
fi
mkdir -p "$CR_CACHE/src" "$CR_CACHE/wine"
tarball=$CR_CACHE/src/${SRC_PATH##*/}
if [ ! -f "$tarball" ] || ! echo "$SHA  $tarball" | sha256sum -c --status; then
    echo "win_cmocka: fetching $MIRROR/$SRC_PATH" >&2
    curl -fsSL --retry 3 -o "$tarball.part" "$MIRROR/$SRC_PATH"
    echo "$SHA  $tarball.part" | sha256sum -c --status || {
        echo "win_cmocka: $tarball.part does not match its pinned sha256: check the mirror, then delete the file and run again" >&2
        exit 1
    }
    mv "$tarball.part" "$tarball"
fi
work=$(mktemp -d "$CR_CACHE/wine/.cmocka.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xJf "$tarball" -C "$work"
src=$work/cmocka-1.1.5
# The configuration CMake would find for mingw-w64 (only what cmocka.c asks).
cat > "$src/config.h" <<'CONF'
#define HAVE_ASSERT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_IO_H 1
#define HAVE_MALLOC_H 1
#define HAVE_MEMORY_H 1
#define HAVE_SETJMP_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_STDARG_H 1
#define HAVE_STDDEF_H 1
#define HAVE_STDINT_H 1
#define HAVE_STDIO_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_TIME_H 1
#define HAVE_STRUCT_TIMESPEC 1
#define HAVE_CALLOC 1
#define HAVE_EXIT 1
#define HAVE_FPRINTF 1
#define HAVE_SNPRINTF 1
#define HAVE__SNPRINTF 1
#define HAVE_VSNPRINTF 1
#define HAVE__VSNPRINTF 1
#define HAVE_FREE 1
#define HAVE_LONGJMP 1
#define HAVE_MALLOC 1
#define HAVE_MEMCPY 1
#define HAVE_MEMSET 1
#define HAVE_PRINTF 1
#define HAVE_SETJMP 1
#define HAVE_SIGNAL 1
#define HAVE_STRCMP 1
CONF
mkdir -p "$work/out/include" "$work/out/lib"
x86_64-w64-mingw32-gcc -O2 -std=gnu99 -DHAVE_CONFIG_H -I"$src" -I"$src/include" \
    -c -o "$work/cmocka.o" "$src/src/cmocka.c"
x86_64-w64-mingw32-ar rcs "$work/out/lib/libcmocka.a" "$work/cmocka.o"
cp "$src/include/cmocka.h" "$work/out/include/"
rm -rf "$PREFIX"
mv "$work/out" "$PREFIX"
echo "$PREFIX"
