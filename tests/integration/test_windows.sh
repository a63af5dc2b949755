#!/bin/bash
# The Windows build under wine: the portable cmocka suites (the platform
# seam's reads and writes: secret files, DACLs as far as wine models them,
# the directory exchange and its finishing after a kill, lock-file pids,
# the Service Control Manager; Puppet's Windows settings) built with
# mingw-w64 and run as .exe,
# then cert_regen.exe's status task on a Windows-style confdir inside the
# wine prefix (C:\ProgramData\PuppetLabs\puppet\etc) holding a certificate
# the real puppetserver CA issued, its values compared with openssl's, and
# the answer of a task the Windows build does not carry yet.
# The first run builds OpenSSL, libcurl, jansson and libyaml for mingw
# (ext/deps/build.sh, cached under /var/cache/cert_regen/deps) and cmocka
# (tests/lib/win_cmocka.sh); docs/windows.md has the costs.
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"

WINE=${CR_WINE:-/usr/lib/wine/wine64}
if [ ! -x "$WINE" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    not_ok "wine64 and mingw-w64 are installed (tests/setup-debian.sh installs them)"
    exit 1
fi
if [ -z "${WIN_DEPS:-}" ]; then
    if [ ! -f "$REPO_ROOT/ext/deps/build.sh" ]; then
        skip "the Windows build" "ext/deps/build.sh (the pinned dependency builds) is not in this tree yet"
        finish
    fi
    WIN_DEPS=$(bash "$REPO_ROOT/ext/deps/build.sh" x86_64-w64-mingw32) || {
        not_ok "ext/deps/build.sh x86_64-w64-mingw32 builds the static libraries"
        exit 1
    }
fi
ok "mingw dependencies at $WIN_DEPS"
WIN_CMOCKA=$(bash "$REPO_ROOT/tests/lib/win_cmocka.sh")
assert_cmd "cert_regen.exe and the Windows unit suites build" -- \
    make -C "$REPO_ROOT/ext" -j2 TARGET=x86_64-w64-mingw32 WIN_DEPS="$WIN_DEPS" \
    WIN_CMOCKA="$WIN_CMOCKA" windows windows-unit
exe=$REPO_ROOT/files/bin/windows-x86_64/cert_regen.exe
assert_match 'PE32\+ executable.*x86-64' "$(file -b "$exe")" "cert_regen.exe is a 64-bit Windows executable"
assert_eq "" "$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\tDLL Name: //p' | grep -viE '^(kernel32|advapi32|user32|ws2_32|crypt32|bcrypt|gdi32|msvcrt|api-ms-win-.*|ntdll|shell32|ole32)\.dll$' | sort -u | tr '\n' ' ')" \
    "cert_regen.exe needs no DLL beyond Windows' own (OpenSSL, libcurl, jansson, libyaml linked in)"

# A wine prefix of our own; wineboot makes C:\ProgramData on first use.
export WINEPREFIX=$TEST_TMP/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$WINEPREFIX"
# the prefix's wineserver outlives the programs: stop it so the prefix goes
at_exit "WINEPREFIX='$WINEPREFIX' /usr/lib/wine/wineserver -k 2>/dev/null; WINEPREFIX='$WINEPREFIX' /usr/lib/wine/wineserver -w 2>/dev/null"
assert_cmd "a new wine prefix boots" -- timeout 300 "$WINE" wineboot --init
wine_run() { timeout 120 "$WINE" "$@"; }

for t in "$REPO_ROOT"/build/windows/unit/*.exe; do
    out=$(wine_run "$t" 2>&1)
    rc=$?
    n=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' | tr -d '\r')
    assert_eq 0 "$rc" "$(basename "$t") under wine: ${n:-0} cmocka tests pass"
    [ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /' | tail -30
done

# --- a real certificate from the real CA, in a Windows-style confdir
stack_ensure
name=win-$$.auto.test
conf=$(stack_agent "$name")
assert_cmd "agent $name bootstraps with puppet ssl bootstrap" -- stack_bootstrap "$name"
wconf=$WINEPREFIX/drive_c/ProgramData/PuppetLabs/puppet/etc
mkdir -p "$wconf"
cp -a "$conf/ssl" "$wconf/ssl"
printf '[main]\r\ncertname = %s\r\nserver = localhost\r\nserverport = %s\r\nca_port = %s\r\n' \
    "$name" "$STACK_PORT" "$STACK_PORT" >"$wconf/puppet.conf"
cert=$wconf/ssl/certs/$name.pem

out=$(printf '{}' | wine_run "$exe" task status | tr -d '\r')
rc=$?
printf '%s' "$out" >"$TEST_TMP/status.json"
assert_eq 0 "$rc" "cert_regen.exe task status exits 0 under wine"
assert_eq "C:/ProgramData/PuppetLabs/puppet/etc/ssl" "$(json_get "$TEST_TMP/status.json" ssldir)" "ssldir is C:\\ProgramData\\PuppetLabs\\puppet\\etc\\ssl, printed as Puppet prints it"
assert_eq "$name" "$(json_get "$TEST_TMP/status.json" certname)" "certname from C:\\ProgramData\\PuppetLabs\\puppet\\etc\\puppet.conf (CRLF)"
assert_eq ok "$(json_get "$TEST_TMP/status.json" health)" "health is ok"
ox() { openssl x509 -in "$cert" -noout "$@"; }
assert_eq "$(ox -serial | sed 's/^serial=//')" "$(json_get "$TEST_TMP/status.json" hostcert.serial)" "serial equals openssl x509 -serial"
assert_eq "$(ox -fingerprint -sha256 | sed 's/^.*Fingerprint=//')" "$(json_get "$TEST_TMP/status.json" hostcert.fingerprint_sha256)" "SHA-256 fingerprint equals openssl's"
assert_eq "$(ox -subject -nameopt RFC2253 | sed 's/^subject=//')" "$(json_get "$TEST_TMP/status.json" hostcert.subject)" "subject equals openssl's"
assert_eq "$(ox -issuer -nameopt RFC2253 | sed 's/^issuer=//')" "$(json_get "$TEST_TMP/status.json" hostcert.issuer)" "issuer equals openssl's"
not_after=$(date -u -d "$(ox -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ)
assert_eq "$not_after" "$(json_get "$TEST_TMP/status.json" hostcert.not_after)" "not_after equals openssl's"
assert_eq true "$(json_get "$TEST_TMP/status.json" hostcert.key_matches)" "key matches the cert"
assert_eq true "$(json_get "$TEST_TMP/status.json" hostcert.chain_valid)" "chain verifies against ca.pem + crl.pem"
assert_eq false "$(json_get "$TEST_TMP/status.json" hostcert.revoked)" "not revoked"
assert_eq "$(openssl pkey -in "$wconf/ssl/private_keys/$name.pem" -noout -text 2>/dev/null | sed -n 's/.*Private-Key: (\([0-9]*\) bit.*/\1/p')" \
    "$(json_get "$TEST_TMP/status.json" hostcert.key.bits)" "key bits equal openssl's"
awk -v dir="$TEST_TMP" '/-----BEGIN CERTIFICATE-----/{n++} n{print > (dir "/ca-part-" n ".pem")}' "$wconf/ssl/certs/ca.pem"
ca_fps=$(for f in "$TEST_TMP"/ca-part-*.pem; do openssl x509 -in "$f" -noout -fingerprint -sha256 | sed 's/^.*Fingerprint=//'; done)
assert_eq "$ca_fps" "$(json_get "$TEST_TMP/status.json" ca | ruby -rjson -e 'puts JSON.parse(STDIN.read).map { |c| c["fingerprint_sha256"] }')" "CA fingerprints equal openssl's, in bundle order"
crl_next=$(openssl crl -in "$wconf/ssl/crl.pem" -noout -nextupdate | sed 's/^nextUpdate=//')
assert_eq "$(date -u -d "$crl_next" +%Y-%m-%dT%H:%M:%SZ)" "$(json_get "$TEST_TMP/status.json" crl | ruby -rjson -e 'print JSON.parse(STDIN.read).first["next_update"]')" "first CRL's nextUpdate equals openssl's"

# --- revoked on the CA: the local CRL predates it; fresh_crl fetches the
# CA's CRL over HTTPS (libcurl + OpenSSL inside the .exe, on loopback)
assert_cmd "puppetserver ca revoke $name" -- stack_ca revoke --certname "$name"
out=$(printf '{}' | wine_run "$exe" task status | tr -d '\r')
assert_eq false "$(json_get "$out" hostcert.revoked)" "without fresh_crl: not revoked (the local CRL is older)"
out=$(printf '{"fresh_crl": true}' | wine_run "$exe" task status | tr -d '\r')
assert_eq true "$(json_get "$out" hostcert.revoked)" "fresh_crl under wine: revoked by the CA's CRL"
assert_eq revoked "$(json_get "$out" health)" "fresh_crl under wine: health revoked"
rm "$cert"
out=$(printf '{}' | wine_run "$exe" task status | tr -d '\r')
assert_match 'missing|absent|no_cert' "$(json_get "$out" health)" "a missing host certificate shows in health"

# --- what the Windows build does not carry yet answers with its next step
out=$(printf '{"noop": true}' | wine_run "$exe" task regenerate | tr -d '\r')
rc=$?
assert_eq cert_regen/unsupported-platform "$(json_get "$out" _error.kind)" "regenerate answers unsupported-platform on Windows"
assert_match 'docs/windows.md' "$(json_get "$out" _error.msg)" "its message names the manual procedure"
out=$(printf '{}' | wine_run "$exe" task ca_list | tr -d '\r')
assert_match 'Linux' "$(json_get "$out" _error.msg)" "ca_list says the CA side runs on Linux"
finish
