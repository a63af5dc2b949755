#!/bin/bash
# The fact's extension for agent Rubies other than the host's (issue 12 #2):
# for each Ruby of ext/cert_regen_native/rubies.lock (2.7: Debian 11, 3.3:
# Debian 13), the self-contained build compiled against that Ruby's own
# headers is loaded by that Ruby in a root of its Debian release (roots of
# tests/build-roots.sh under /var/cache/cert_regen/roots), in one process
# with that Ruby's openssl (the root's own libssl), and answers status.
# A build that does not load is a failure here; on such an agent the fact
# falls back to the static executable (test_static, the fact's specs).
. "$(dirname "$0")/../lib/testlib.sh"
while read -r ver suite _; do
    case $ver in '#'* | '') continue ;; esac
    so="$TEST_TMP/$ver/cert_regen_native.so"
    assert_cmd "ruby $ver: build_abi.sh compiles against its pinned headers" -- \
        bash "$REPO_ROOT/ext/cert_regen_native/build_abi.sh" "$ver" "$so"
    root=""
    for r in /var/cache/cert_regen/roots/"$suite"-*/; do
        [ -x "$r/usr/bin/ruby$ver" ] && root=${r%/}
    done
    if [ -z "$root" ] && [ -f "$REPO_ROOT/tests/build-roots.sh" ]; then
        bash "$REPO_ROOT/tests/build-roots.sh" >"$TEST_TMP/roots.log" 2>&1 || true
        for r in /var/cache/cert_regen/roots/"$suite"-*/; do
            [ -x "$r/usr/bin/ruby$ver" ] && root=${r%/}
        done
    fi
    if [ -z "$root" ]; then
        not_ok "ruby $ver: a Debian $suite root with ruby$ver (build the roots: bash tests/build-roots.sh)"
        continue
    fi
    inroot="/tmp/cr-abi-$$-$ver"
    mkdir -p "$root$inroot/conf"
    cp "$so" "$root$inroot/"
    printf '[main]\nssldir = %s/ssl\ncertname = abi.example.com\n' "$inroot/conf" >"$root$inroot/conf/puppet.conf"
    assert_cmd "ruby $ver loads it in the $suite root, with its own openssl in the same process" -- \
        chroot "$root" "ruby$ver" -e '
            require "openssl"
            key = OpenSSL::PKey::EC.generate("prime256v1")
            require ARGV[0]
            st = CertRegen::Native.status("confdir" => ARGV[1])
            abort "no status: #{st.inspect}" unless st["health"] == "missing" && st["certname"] == "abi.example.com"
            sig = key.sign("SHA256", "x")
            abort "ruby openssl broken" unless key.verify("SHA256", sig, "x")
            puts "ruby=#{RUBY_VERSION} ruby_openssl=#{OpenSSL::OPENSSL_LIBRARY_VERSION} ext=#{CertRegen::Native::VERSION}"
        ' "$inroot/cert_regen_native.so" "$inroot/conf"
    assert_match "ruby=$ver" "$(cat "$TEST_TMP/last.out")" "ruby $ver: the root's Ruby ran it"
    rm -rf "${root:?}$inroot"
done <"$REPO_ROOT/ext/cert_regen_native/rubies.lock"
finish
