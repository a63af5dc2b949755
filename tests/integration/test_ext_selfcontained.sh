#!/bin/bash
# The fact's extension (issue 12 #2):
#  - it links only what the fact needs: no libcurl and no libyaml, in the
#    system-library build as in the self-contained one;
#  - the self-contained build (CERT_REGEN_DEPS = ext/deps x86_64-pic) carries
#    its own static OpenSSL and jansson, needs neither libssl nor libjansson,
#    and exports nothing but Init_cert_regen_native;
#  - loaded into one Ruby process together with Ruby's own openssl (the
#    system libssl3), both work: the extension's status equals the system
#    build's, and Ruby's OpenSSL still signs and verifies afterwards.
. "$(dirname "$0")/../lib/testlib.sh"

deps=$(bash "$REPO_ROOT/ext/deps/build.sh" x86_64-pic 2>"$TEST_TMP/deps.err") || deps=""
assert_cmd "ext/deps x86_64-pic builds (or is cached)" -- test -f "$deps/lib/libcrypto.a"
build="$TEST_TMP/selfcontained"
mkdir -p "$build"
assert_cmd "extconf.rb + make with CERT_REGEN_DEPS" -- \
    sh -c "cd '$build' && CERT_REGEN_DEPS='$deps' ruby '$REPO_ROOT/ext/cert_regen_native/extconf.rb' && make -j2"
so="$build/cert_regen_native.so"
sys=$(ls "$REPO_ROOT"/lib/cert_regen/native/*/*/cert_regen_native.so 2>/dev/null | head -n 1)
assert_cmd "the system-library build exists (rake compile)" -- test -f "$sys"

for f in "$sys" "$so"; do
    what=$([ "$f" = "$so" ] && echo self-contained || echo system)
    assert_eq "" "$(ldd "$f" | grep -E 'libcurl|libyaml')" "$what build: neither libcurl nor libyaml is loaded"
    assert_eq "" "$(nm -D --undefined-only "$f" | grep -E ' (curl|yaml)_')" "$what build: no curl_ or yaml_ symbol wanted"
done
assert_eq "" "$(ldd "$so" | grep -E 'libssl|libcrypto|libjansson')" "self-contained: no libssl, libcrypto or libjansson needed"
assert_eq "Init_cert_regen_native" "$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRV]$/ {print $3}' | sort -u | tr '\n' ' ' | sed 's/ $//')" \
    "self-contained: Init_cert_regen_native is its only exported symbol"
assert_eq 0 "$(nm -D --defined-only "$so" | grep -c -E ' (EVP|SSL|X509|OPENSSL|json)_')" "self-contained: no OpenSSL or jansson symbol exported"

# One process: Ruby's openssl (system libssl3) and the extension's own OpenSSL.
assert_cmd "Ruby's openssl and the self-contained extension work in one process" -- ruby -I"$REPO_ROOT/spec" -e '
    require "openssl"
    require "json"
    require "support/pki"
    so, sys = ARGV
    world = PKI.world
    conf = world.confdir_for(:ok)
    key = OpenSSL::PKey::EC.generate("prime256v1")      # Ruby OpenSSL before
    require so
    mine = CertRegen::Native.status("confdir" => conf)
    abort "status: #{mine["health"]}" unless mine["health"] == "ok" && mine["errors"] == []
    sig = key.sign("SHA256", "data")                       # Ruby OpenSSL after
    abort "ruby openssl broken" unless key.verify("SHA256", sig, "data")
    puts JSON.generate(mine.reject { |k, _| k == "checked_at" })
    puts OpenSSL::OPENSSL_LIBRARY_VERSION
    puts CertRegen::Native::VERSION
' "$so" "$sys"
assert_match "OpenSSL 3\\.0\\." "$(cat "$TEST_TMP/last.out")" "Ruby reports its own (system) OpenSSL in the same process"
selfjson=$(sed -n 1p "$TEST_TMP/last.out")
assert_cmd "the system build's status for the same confdir" -- ruby -I"$REPO_ROOT/spec" -e '
    require "json"
    require "support/pki"
    require ARGV[0]
    conf = PKI.world.confdir_for(:ok)
    puts JSON.generate(CertRegen::Native.status("confdir" => conf).reject { |k, _| k == "checked_at" })
' "$sys"
sysjson=$(sed -n 1p "$TEST_TMP/last.out")
# the PKI world is generated per process: compare the shape and verdicts
assert_eq "$(json_get "$sysjson" health)" "$(json_get "$selfjson" health)" "same health from both builds"
assert_eq "$(printf '%s' "$sysjson" | ruby -rjson -e 'puts JSON.parse(STDIN.read).keys.sort.join(",")')" \
    "$(printf '%s' "$selfjson" | ruby -rjson -e 'puts JSON.parse(STDIN.read).keys.sort.join(",")')" "same keys from both builds"
finish
