#!/bin/bash
# `RUBY=/path/to/ruby rake compile` builds the extension with that Ruby's
# extconf.rb + make (not rake-compiler's), into the directory named by that
# Ruby's ABI and arch, and the fact's loader finds it.  The "other" Ruby is
# the system Ruby behind a wrapper script, which is all this machine has.
. "$(dirname "$0")/../lib/testlib.sh"

copy="$TEST_TMP/module"
mkdir -p "$copy"
(cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard | grep -zv '^lib/cert_regen/native/' |
    xargs -0 cp --parents -t "$copy" 2>/dev/null) || true
cat >"$TEST_TMP/other-ruby" <<'W'
#!/bin/sh
exec /usr/bin/ruby "$@"
W
chmod +x "$TEST_TMP/other-ruby"

abi=$(ruby -rrbconfig -e 'print RbConfig::CONFIG["ruby_version"]')
arch=$(ruby -rrbconfig -e 'print RbConfig::CONFIG["arch"]')
assert_cmd "RUBY=<wrapper> rake compile builds with extconf.rb + make" -- \
    env -C "$copy" RUBY="$TEST_TMP/other-ruby" rake compile
assert_match "extconf.rb" "$(cat "$TEST_TMP/last.out")" "the other-Ruby path ran (not rake-compiler)"
so="$copy/lib/cert_regen/native/$abi/$arch/cert_regen_native.so"
assert_cmd "the build lands in lib/cert_regen/native/<ABI>/<arch>" -- test -f "$so"
assert_cmd "only Init_cert_regen_native is exported" -- \
    sh -c "test \"\$(nm -D --defined-only '$so' | awk '\$2 == \"T\" {print \$3}')\" = Init_cert_regen_native"
assert_cmd "the fact's loader loads it" -- ruby -I"$copy/lib" -e '
    require "cert_regen/native"
    exit(CertRegen::NativeLoader.load! ? 0 : 1)'
finish
