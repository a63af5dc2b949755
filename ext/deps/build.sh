#!/bin/bash
# ext/deps/build.sh TRIPLE - build OpenSSL, libcurl, jansson and libyaml for
# TRIPLE from the sources pinned in sources.lock, once, into
# $CR_CACHE/deps/TRIPLE-HASH, and print that prefix on stdout (progress goes
# to stderr and to the prefix's build.log).  A finished prefix is reused.
#
# Triples:
#   x86_64-linux-musl   static musl libraries for the x86_64 executable
#   aarch64-linux-musl  the same for aarch64 (cross gcc + Debian's arm64 musl)
#   x86_64-pic          PIC static OpenSSL and jansson (glibc) for the Ruby extension
#   x86_64-w64-mingw32  static libraries for the Windows executable
#
# The prefix also holds bin/cc: the compiler driver to build against it.
# Environment: CR_CACHE (default /var/cache/cert_regen), CR_DEBIAN_MIRROR
# (default http://deb.debian.org), CR_DEPS_JOBS (default 2).
set -euo pipefail
export LC_ALL=C
. "$(dirname "$0")/lib.sh"

if [ $# -ne 1 ]; then
    echo "usage: ext/deps/build.sh TRIPLE ($CR_TRIPLES)" >&2
    exit 2
fi
TRIPLE=$1
cr_deps_check_triple "$TRIPLE"
MIRROR=${CR_DEBIAN_MIRROR:-http://deb.debian.org}
JOBS=${CR_DEPS_JOBS:-2}
SRC_CACHE=$CR_CACHE/src
PREFIX=$(cr_deps_prefix "$TRIPLE")

log() { echo "deps[$TRIPLE]: $*" >&2; }

# One build per triple at a time; a second caller waits and reuses it.
mkdir -p "$CR_CACHE/deps" "$SRC_CACHE"
exec 9>"$CR_CACHE/deps/.lock-$TRIPLE"
flock 9
if [ -f "$PREFIX/.complete" ]; then
    echo "$PREFIX"
    exit 0
fi

# lock_field PACKAGE ROLE COLUMN: one column of sources.lock (2=sha256, 3=path).
lock_field() {
    awk -v p="$1" -v r="$2" -v c="$3" '$1 == p && $2 == r { print $c; n++ }
        END { exit n == 1 ? 0 : 1 }' "$CR_DEPS_DIR/sources.lock" | sed -n 1p
}

# fetch PACKAGE ROLE: print the path of the checked file in the source cache.
fetch() {
    local sha path file
    sha=$(awk -v p="$1" -v r="$2" '$1 == p && $2 == r { print $3 }' "$CR_DEPS_DIR/sources.lock")
    path=$(awk -v p="$1" -v r="$2" '$1 == p && $2 == r { print $4 }' "$CR_DEPS_DIR/sources.lock")
    if [ -z "$sha" ] || [ -z "$path" ]; then
        echo "ext/deps: sources.lock has no '$1 $2' line; restore it from git" >&2
        return 1
    fi
    file=$SRC_CACHE/${path##*/}
    if [ ! -f "$file" ] || ! echo "$sha  $file" | sha256sum -c --status; then
        log "fetching $MIRROR/$path"
        curl -fsSL --retry 3 -o "$file.part" "$MIRROR/$path"
        if ! echo "$sha  $file.part" | sha256sum -c --status; then
            rm -f "$file.part"
            echo "ext/deps: $path does not match its sha256 in sources.lock; check CR_DEBIAN_MIRROR or update the lock deliberately" >&2
            return 1
        fi
        mv "$file.part" "$file"
    fi
    echo "$file"
}

# unpack PACKAGE DIR [SKIP_REGEX]: upstream tarball into DIR, then the Debian
# patches of its series in order, up to a "Do not add patches below" marker,
# leaving out the names matching SKIP_REGEX.
unpack() {
    local pkg=$1 dir=$2 skip=${3:-'^$'} orig deb line name opts
    orig=$(fetch "$pkg" orig)
    deb=$(fetch "$pkg" debian)
    mkdir -p "$dir"
    tar -xf "$orig" -C "$dir" --strip-components=1
    tar -xf "$deb" -C "$dir"
    [ -f "$dir/debian/patches/series" ] || return 0
    while IFS= read -r line; do
        case $line in
            *"Do not add patches below"*) break ;;
            '#'* | '') continue ;;
        esac
        name=${line%% *}
        opts=-p1
        [ "$name" != "$line" ] && opts=${line#* }
        if [[ $name =~ $skip ]]; then
            log "$pkg: not applying packaging patch $name"
            continue
        fi
        patch -d "$dir" -s -f --no-backup-if-mismatch $opts -i "debian/patches/$name"
    done <"$dir/debian/patches/series"
}

# The compiler driver for the triple, written to $P/bin/cc; it finds its
# prefix from its own path so the finished prefix can be renamed into place.
write_cc() {
    local P=$1 real=$2 extra=$3
    mkdir -p "$P/bin"
    cat >"$P/bin/cc" <<EOF
#!/bin/sh
# Compiler driver for $TRIPLE written by ext/deps/build.sh.
P=\$(cd "\$(dirname "\$0")/.." && pwd)
exec $real $extra "\$@"
EOF
    chmod +x "$P/bin/cc"
}

# The Linux uapi headers musl's own headers leave out: kernel_headers P
# DIR... copies each DIR (linux, asm, asm-generic) into P/kinclude.
kernel_headers() {
    local P=$1 d
    shift
    mkdir -p "$P/kinclude"
    for d in "$@"; do
        cp -r "$d" "$P/kinclude/"
    done
}

# toolchain P: set the compiler and flags of the triple into globals.
toolchain() {
    local P=$1
    CFLAGS_T="-O2"
    CROSS=""
    HOST=""
    CMAKE_SYS=()
    OSSL_TARGET=linux-x86_64
    case $TRIPLE in
        x86_64-linux-musl)
            kernel_headers "$P" /usr/include/linux /usr/include/asm-generic \
                /usr/include/x86_64-linux-gnu/asm
            write_cc "$P" musl-gcc '-idirafter "$P/kinclude"'
            HOST=x86_64-linux-musl
            ;;
        aarch64-linux-musl)
            # Debian's arm64 musl unpacked as is; its specs file names
            # /usr/.../aarch64-linux-musl paths, rewritten to the prefix.
            dpkg-deb -x "$(fetch musl deb)" "$P/musl"
            sed -e "s|/usr/include/aarch64-linux-musl|$P/musl/usr/include/aarch64-linux-musl|g" \
                -e "s|/usr/lib/aarch64-linux-musl|$P/musl/usr/lib/aarch64-linux-musl|g" \
                "$P/musl/usr/lib/aarch64-linux-musl/musl-gcc.specs" >"$P/musl/musl-gcc.specs"
            kernel_headers "$P" /usr/aarch64-linux-gnu/include/{linux,asm,asm-generic}
            # libgcc's outline atomics call __getauxval, which musl lacks.
            write_cc "$P" aarch64-linux-gnu-gcc \
                '-specs "$P/musl/musl-gcc.specs" -mno-outline-atomics -idirafter "$P/kinclude"'
            HOST=aarch64-linux-musl
            CROSS=aarch64-linux-gnu-
            OSSL_TARGET=linux-aarch64
            CMAKE_SYS=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64)
            ;;
        x86_64-pic)
            write_cc "$P" gcc '-fPIC -fvisibility=hidden'
            ;;
        x86_64-w64-mingw32)
            write_cc "$P" x86_64-w64-mingw32-gcc ''
            HOST=x86_64-w64-mingw32
            CROSS=x86_64-w64-mingw32-
            OSSL_TARGET=mingw64
            CMAKE_SYS=(-DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=x86_64
                       -DCMAKE_RC_COMPILER=x86_64-w64-mingw32-windres)
            ;;
    esac
}

build_openssl() {
    local P=$1 W=$2/openssl
    unpack openssl "$W"
    log "openssl: configure $OSSL_TARGET"
    # Only the libraries: no apps, tests, docs, engines or loadable modules.
    (cd "$W" && ./Configure "$OSSL_TARGET" --prefix="$P" --libdir=lib \
        --openssldir=/usr/lib/ssl no-shared no-tests no-engine no-afalgeng \
        no-dso no-module no-legacy no-comp no-ssl3 no-srp no-idea no-mdc2 \
        no-rc5 no-seed no-whirlpool no-camellia no-aria no-sm2 no-sm3 no-sm4 \
        no-gost no-cms no-ts no-ct no-ocsp \
        CC="$P/bin/cc" AR="${CROSS}ar" RANLIB="${CROSS}ranlib" \
        ${CROSS:+RC="${CROSS}windres"} CFLAGS="$CFLAGS_T") >&2
    log "openssl: build"
    make -C "$W" -j"$JOBS" build_libs >&2
    make -C "$W" install_dev >&2
}

build_curl() {
    local P=$1 W=$2/curl libs=""
    # The first block of the series is Debian's packaging (curl-config,
    # zsh, krb5 and NSS link flags); the fixes after it are all applied.
    unpack curl "$W" '^(04_|08_|build-Divide|11_omit|Remove-curl-s-LDFLAGS|Use-correct-path)'
    # The packaging patches left out are the ones touching configure.ac and
    # Makefile.am: keep the generated files newer so make does not rerun autotools.
    (cd "$W" && touch aclocal.m4 && touch configure && find . -name Makefile.in -exec touch {} + &&
        touch lib/curl_config.h.in)
    [ "$TRIPLE" = x86_64-w64-mingw32 ] && libs="-lws2_32 -lcrypt32 -lbcrypt -lgdi32"
    log "curl: configure"
    (cd "$W" && PKG_CONFIG_LIBDIR="$P/lib/pkgconfig" CC="$P/bin/cc" CFLAGS="$CFLAGS_T" \
        CPPFLAGS="-I$P/include" LDFLAGS="-L$P/lib" LIBS="$libs" ./configure \
        ${HOST:+--host=$HOST} --prefix="$P" --libdir="$P/lib" \
        --disable-shared --enable-static --with-openssl="$P" \
        --without-zlib --without-brotli --without-zstd --without-libpsl \
        --without-libidn2 --without-nghttp2 --without-libssh2 --without-librtmp \
        --without-ca-bundle --without-ca-path --without-ca-fallback \
        --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
        --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
        --disable-smtp --disable-gopher --disable-mqtt --disable-ftp \
        --disable-file --disable-smb --disable-manual --disable-ntlm-wb \
        --disable-alt-svc --disable-netrc --disable-dependency-tracking) >&2
    log "curl: build"
    make -C "$W/lib" -j"$JOBS" >&2
    make -C "$W/lib" install >&2
    make -C "$W/include" install >&2
    make -C "$W" install-pkgconfigDATA >&2
}

build_cmake() {
    local P=$1 pkg=$2 W=$3/$2
    shift 3
    unpack "$pkg" "$W"
    log "$pkg: configure"
    cmake -S "$W" -B "$W/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_COMPILER="$P/bin/cc" -DCMAKE_C_FLAGS="$CFLAGS_T" \
        -DCMAKE_INSTALL_PREFIX="$P" -DCMAKE_INSTALL_LIBDIR=lib \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF \
        ${CMAKE_SYS[@]+"${CMAKE_SYS[@]}"} "$@" >&2
    log "$pkg: build"
    cmake --build "$W/build" -j "$JOBS" >&2
    cmake --install "$W/build" >&2
}

main() {
    local P=$PREFIX t0
    t0=$(date +%s)
    rm -rf "$P"
    mkdir -p "$P"
    W=$(mktemp -d "$CR_CACHE/deps/.work-$TRIPLE.XXXXXX")
    trap 'rm -rf "$W"' EXIT
    exec 3>&2 2> >(tee "$P/build.log" >&3)
    log "building into $P"
    toolchain "$P"
    build_openssl "$P" "$W"
    build_cmake "$P" jansson "$W" -DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF \
        -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_BUILD_SHARED_LIBS=OFF
    if [ "$TRIPLE" != x86_64-pic ]; then
        build_cmake "$P" libyaml "$W" -DBUILD_TESTING=OFF -DINSTALL_LIB_DIR=lib
        build_curl "$P" "$W"
    fi
    rm -rf "$P/share" "$P/bin/openssl" "$P/bin/c_rehash"
    log "done in $(($(date +%s) - t0)) s"
    touch "$P/.complete"
    echo "$P"
}

main
