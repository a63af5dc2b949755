# ext/deps/lib.sh - shared by build.sh and prefix.sh (sourced, not run).
# The prefix of a triple is named by a hash of everything that decides its
# contents: the lock file and the build scripts.  Change any of them and the
# next build goes to a new prefix; old prefixes are left for the cache to age.
CR_DEPS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CR_CACHE=${CR_CACHE:-/var/cache/cert_regen}
CR_TRIPLES="x86_64-linux-musl aarch64-linux-musl x86_64-pic x86_64-w64-mingw32"

cr_deps_check_triple() {
    local t
    for t in $CR_TRIPLES; do
        [ "$t" = "$1" ] && return 0
    done
    echo "ext/deps: unknown triple '$1'; use one of: $CR_TRIPLES" >&2
    return 1
}

cr_deps_hash() {
    cat "$CR_DEPS_DIR/sources.lock" "$CR_DEPS_DIR/build.sh" "$CR_DEPS_DIR/lib.sh" |
        sha256sum | cut -c1-12
}

cr_deps_prefix() {
    echo "$CR_CACHE/deps/$1-$(cr_deps_hash)"
}
