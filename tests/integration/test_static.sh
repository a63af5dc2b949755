#!/bin/bash
# The self-contained executables (issue 12 #1) against the real puppetserver CA:
#  - x86_64: make TARGET=x86_64-linux-musl gives a static, stripped executable
#    whose debug info stays in build/ (not shipped); it runs in an empty root
#    (nothing but the kernel); status, regenerate (EC key) and restore run
#    through the task launcher against the real CA, and the agent verifies;
#  - aarch64: make TARGET=aarch64-linux-musl, run under qemu-aarch64: status
#    and regenerate against the real CA.
# The pinned libraries are built on first use (ext/deps, cached in
# /var/cache/cert_regen/deps): the first run pays for them.
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
stack_ensure


# ---- x86_64 -----------------------------------------------------------
exe=$(bash "$REPO_ROOT/tests/lib/static.sh" x86_64-linux-musl) || exe=""
assert_cmd "make TARGET=x86_64-linux-musl builds" -- test -x "$exe"
assert_match "statically linked" "$(file -b "$exe")" "x86_64: statically linked"
assert_match "stripped" "$(file -b "$exe" | sed 's/not stripped/NOT/')" "x86_64: stripped"
assert_eq "" "$(readelf -d "$exe" 2>/dev/null | grep NEEDED)" "x86_64: no shared library needed"
assert_cmd "x86_64: its debug info is kept beside the build" -- \
    test -s "$REPO_ROOT/build/x86_64-linux-musl/cert_regen.debug"
assert_match "debuglink" "$(readelf -S "$exe")" "x86_64: the stripped executable points at its debug file"

# Nothing but the kernel: a root holding only the executable.
empty="$TEST_TMP/empty-root"
mkdir -p "$empty"
cp "$exe" "$empty/cert_regen"
assert_cmd "x86_64: --version runs in an empty root (chroot)" -- chroot "$empty" /cert_regen --version
assert_match "^cert_regen [0-9.]+ \\(OpenSSL 3\\.0\\.22" "$(cat "$TEST_TMP/last.out")" "x86_64: it names the pinned OpenSSL"

export CERT_REGEN_TASK_BIN=$exe
n="static-$$.auto.test"
c=$(stack_agent "$n")
s=$c/ssl
stack_bootstrap "$n" >/dev/null 2>&1
old=$(serial_of "$s/certs/$n.pem")
task_run status "{\"confdir\":\"$c\"}"
assert_eq 0 "$TASK_RC" "x86_64 status exits 0"
assert_eq ok "$(out health)" "x86_64 status: health ok"
assert_eq "$old" "$(out hostcert.serial)" "x86_64 status: the live serial"
task_run status "{\"confdir\":\"$c\",\"fresh_crl\":true}"
assert_eq ca "$(out crl_source)" "x86_64 status fresh_crl: the CA's CRL over HTTPS (static libcurl)"

stack_ca clean --certname "$n" >/dev/null 2>&1   # the plan's order: clean, then regenerate
task_run regenerate "{\"confdir\":\"$c\",\"key_type\":\"ec\",\"services\":[]}"
assert_eq regenerated "$(out state)" "x86_64 regenerate (EC key) against the real CA"
new=$(serial_of "$s/certs/$n.pem")
assert_cmd "x86_64: the new key is EC" -- sh -c "openssl pkey -in '$s/private_keys/$n.pem' -noout -text | grep -q 'ASN1 OID: prime256v1'"
if [ -n "$new" ] && [ "$new" != "$old" ]; then ok "x86_64: a new serial"; else not_ok "x86_64: a new serial" "$old -> $new"; fi
assert_cmd "x86_64: puppet ssl verify passes on the new identity" -- stack_puppet "$n" ssl verify
sleep 1
task_run restore "{\"confdir\":\"$c\",\"services\":[],\"allow_revoked\":true}"
assert_eq restored "$(out state)" "x86_64 restore"
assert_eq "$old" "$(serial_of "$s/certs/$n.pem")" "x86_64 restore: the old serial is live again"
unset CERT_REGEN_TASK_BIN

# ---- aarch64 under qemu ------------------------------------------------
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ]; then
    not_ok "qemu-aarch64 is installed (tests/setup-debian.sh: qemu-user-static)"
    finish
fi
a64=$(bash "$REPO_ROOT/tests/lib/static.sh" aarch64-linux-musl) || a64=""
assert_cmd "make TARGET=aarch64-linux-musl builds" -- test -x "$a64"
assert_match "ARM aarch64.*statically linked" "$(file -b "$a64")" "aarch64: a static ARM aarch64 executable"
assert_cmd "aarch64: --version under qemu" -- "$qemu" "$a64" --version
m="static-a64-$$.auto.test"
ca=$(stack_agent "$m")
stack_bootstrap "$m" >/dev/null 2>&1
a64_task() {
    TASK_RC=0
    TASK_OUT=$(printf '%s' "$2" | "$qemu" "$a64" task "$1" 2>"$TEST_TMP/task.err") || TASK_RC=$?
}
a64_task status "{\"confdir\":\"$ca\"}"
assert_eq 0 "$TASK_RC" "aarch64 status exits 0"
assert_eq ok "$(out health)" "aarch64 status: health ok"
aold=$(serial_of "$ca/ssl/certs/$m.pem")
stack_ca clean --certname "$m" >/dev/null 2>&1
a64_task regenerate "{\"confdir\":\"$ca\",\"key_type\":\"ec\",\"services\":[]}"
assert_eq regenerated "$(out state)" "aarch64 regenerate (EC key) against the real CA"
anew=$(serial_of "$ca/ssl/certs/$m.pem")
if [ -n "$anew" ] && [ "$anew" != "$aold" ]; then ok "aarch64: a new serial"; else not_ok "aarch64: a new serial" "$aold -> $anew"; fi
assert_cmd "aarch64: puppet ssl verify passes on the new identity" -- stack_puppet "$m" ssl verify
finish
