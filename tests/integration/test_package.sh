#!/bin/bash
# `rake package` (issue 12 #6): the module release tarball
#  - holds both static executables (in files/bin for the tasks and in
#    lib/cert_regen/bin for the fact's fallback), the self-contained
#    extension for this Ruby, REFERENCE.md, and nothing of tests/, spec/,
#    build/ or ext/;
#  - installs with `puppet module install <tarball>` into a modulepath;
#  - from there: the status task (Bolt's layout: the modulepath is the
#    _installdir) and a real agent run in an environment holding only the
#    installed module, whose fact comes from the packaged extension.
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
stack_ensure

version=$(ruby -rjson -e 'print JSON.parse(File.read(ARGV[0]))["version"]' "$REPO_ROOT/metadata.json")
tarball="$REPO_ROOT/pkg/certregen-cert_regen-$version.tar.gz"
assert_cmd "rake package builds the tarball" -- env -C "$REPO_ROOT" rake package
assert_cmd "the tarball exists" -- test -s "$tarball"
list=$(tar -tzf "$tarball")
printf '%s\n' "$list" >"$TEST_TMP/list"
for f in metadata.json REFERENCE.md README.md files/launch.sh files/bin/linux-x86_64/cert_regen \
    files/bin/linux-aarch64/cert_regen lib/cert_regen/bin/linux-x86_64/cert_regen \
    lib/facter/cert_regen.rb lib/cert_regen/executable.rb tasks/status.json tasks/status.sh \
    files/bin/windows-x86_64/cert_regen.exe lib/cert_regen/bin/windows-x86_64/cert_regen.exe \
    files/launch.ps1 tasks/status.ps1 tasks/regenerate.ps1 tasks/restore.ps1; do
    assert_cmd "the tarball holds $f" -- grep -qxF "certregen-cert_regen-$version/$f" "$TEST_TMP/list"
done
assert_match "lib/cert_regen/native/[^/]+/[^/]+/cert_regen_native.so" "$list" "the tarball holds an extension build"
mkdir -p "$TEST_TMP/win"
tar -xzf "$tarball" -C "$TEST_TMP/win" "certregen-cert_regen-$version/files/bin/windows-x86_64/cert_regen.exe"
assert_match 'PE32\+ executable.*x86-64' "$(file -b "$TEST_TMP/win/certregen-cert_regen-$version/files/bin/windows-x86_64/cert_regen.exe")" \
    "the tarball's cert_regen.exe is a 64-bit Windows executable"
for abi in $(ruby -rrbconfig -e 'print RbConfig::CONFIG["ruby_version"]') \
    $(awk '/^[0-9]/ { print $1 ".0" }' "$REPO_ROOT/ext/cert_regen_native/rubies.lock"); do
    assert_cmd "the tarball holds the extension for ruby $abi" -- \
        grep -qxF "certregen-cert_regen-$version/lib/cert_regen/native/$abi/x86_64-linux-gnu/cert_regen_native.so" "$TEST_TMP/list"
done
assert_eq "" "$(printf '%s\n' "$list" | grep -E "^[^/]+/(tests|spec|build|ext|bench|tmp)/")" "nothing of tests/, spec/, build/, ext/, bench/ or tmp/"

env_dir="$(dirname "$STACK_ENVDIR")/pkgtest"
rm -rf "$env_dir"
mkdir -p "$env_dir/modules" "$env_dir/manifests"
# --ignore-dependencies: the module has none, and without it puppet asks
# the Forge, which CI cannot reach.
assert_cmd "puppet module install <tarball> into a modulepath" -- \
    puppet module install --ignore-dependencies --modulepath "$env_dir/modules" "$tarball"
mod="$env_dir/modules/cert_regen"
assert_cmd "installed as cert_regen" -- test -f "$mod/metadata.json"
assert_match "statically linked" "$(file -b "$mod/files/bin/linux-x86_64/cert_regen")" "the installed x86_64 executable is static"
assert_match "ARM aarch64" "$(file -b "$mod/files/bin/linux-aarch64/cert_regen")" "the installed aarch64 executable"

n="pkg-$$.auto.test"
c=$(stack_agent "$n")
stack_bootstrap "$n" >/dev/null 2>&1
assert_cmd "the status task from the installed module (Bolt's layout)" -- sh -c \
    "printf '{\"confdir\":\"%s\",\"_installdir\":\"%s\"}' '$c' '$env_dir/modules' | env PT__installdir='$env_dir/modules' '$mod/tasks/status.sh'"
assert_eq ok "$(json_get "$(cat "$TEST_TMP/last.out")" health)" "status from the package: health ok"

printf 'node default { notify { "pkg health=${facts[cert_regen][health]} source=${facts[cert_regen][source]}": } }\n' \
    >"$env_dir/manifests/site.pp"
assert_cmd "puppet agent -t in the environment of the installed module" -- \
    stack_agent_run "$n" --environment pkgtest
assert_match "pkg health=ok source=extension" "$(cat "$TEST_TMP/last.out")" \
    "the agent run's fact comes from the packaged extension"
assert_cmd "pluginsync brought the packaged fallback executable" -- \
    test -f "$c/var/lib/cert_regen/bin/linux-x86_64/cert_regen"
rm -rf "$env_dir"
finish
