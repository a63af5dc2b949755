#!/bin/bash
# cert_regen::status and the cert_regen fact against a real puppetserver CA
# and real agents: the task run the way Bolt runs it, the fact through
# facter -p, puppet facts show and a real `puppet agent -t`, all compared
# with what `openssl x509` says about the same files.
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"

stack_ensure

name=status-$$.auto.test
conf=$(stack_agent "$name")
assert_cmd "agent $name bootstraps with puppet ssl bootstrap" -- stack_bootstrap "$name"
ssl="$conf/ssl"
cert="$ssl/certs/$name.pem"

# --- the task, as Bolt runs it (stdin + PT_*), then env only, then stdin only
task_run status "{\"confdir\": \"$conf\"}"
assert_eq 0 "$TASK_RC" "status task exits 0 (input_method both)"
printf '%s' "$TASK_OUT" >"$TEST_TMP/status.json"
assert_eq "$name" "$(json_get "$TEST_TMP/status.json" certname)" "certname resolved from the agent's puppet.conf"
assert_eq "$ssl" "$(json_get "$TEST_TMP/status.json" ssldir)" "ssldir resolved from the agent's puppet.conf"
assert_eq ok "$(json_get "$TEST_TMP/status.json" health)" "health is ok"

ox() { openssl x509 -in "$cert" -noout "$@"; }
assert_eq "$(ox -serial | sed 's/^serial=//')" "$(json_get "$TEST_TMP/status.json" hostcert.serial)" "serial equals openssl x509 -serial"
assert_eq "$(ox -fingerprint -sha256 | sed 's/^.*Fingerprint=//')" "$(json_get "$TEST_TMP/status.json" hostcert.fingerprint_sha256)" "SHA-256 fingerprint equals openssl's"
assert_eq "$(ox -subject -nameopt RFC2253 | sed 's/^subject=//')" "$(json_get "$TEST_TMP/status.json" hostcert.subject)" "subject equals openssl's (RFC 2253)"
assert_eq "$(ox -issuer -nameopt RFC2253 | sed 's/^issuer=//')" "$(json_get "$TEST_TMP/status.json" hostcert.issuer)" "issuer equals openssl's"
not_after=$(date -u -d "$(ox -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ)
assert_eq "$not_after" "$(json_get "$TEST_TMP/status.json" hostcert.not_after)" "not_after equals openssl's"
not_before=$(date -u -d "$(ox -startdate | sed 's/^notBefore=//')" +%Y-%m-%dT%H:%M:%SZ)
assert_eq "$not_before" "$(json_get "$TEST_TMP/status.json" hostcert.not_before)" "not_before equals openssl's"
# whole days from the moment the task looked (checked_at), rounded down
days=$(( ($(date -u -d "$not_after" +%s) - $(date -u -d "$(json_get "$TEST_TMP/status.json" checked_at)" +%s)) / 86400 ))
assert_eq "$days" "$(json_get "$TEST_TMP/status.json" hostcert.expires_in_days)" "expires_in_days matches not_after"
assert_eq true "$(json_get "$TEST_TMP/status.json" hostcert.key_matches)" "key matches the cert"
assert_eq true "$(json_get "$TEST_TMP/status.json" hostcert.chain_valid)" "chain verifies against ca.pem + crl.pem"
assert_eq false "$(json_get "$TEST_TMP/status.json" hostcert.revoked)" "not revoked"
assert_eq RSA "$(json_get "$TEST_TMP/status.json" hostcert.key.type)" "key type RSA"
assert_eq "$(openssl pkey -in "$ssl/private_keys/$name.pem" -noout -text 2>/dev/null | sed -n 's/.*Private-Key: (\([0-9]*\) bit.*/\1/p')" \
    "$(json_get "$TEST_TMP/status.json" hostcert.key.bits)" "key bits equal openssl's"
assert_eq 2 "$(json_get "$TEST_TMP/status.json" ca | ruby -rjson -e 'print JSON.parse(STDIN.read).size')" "CA bundle has root + intermediate"
assert_eq 2 "$(json_get "$TEST_TMP/status.json" crl | ruby -rjson -e 'print JSON.parse(STDIN.read).size')" "crl.pem has two CRLs"
# split the bundle with awk, fingerprint each part with openssl x509
awk -v dir="$TEST_TMP" '/-----BEGIN CERTIFICATE-----/{n++} n{print > (dir "/ca-part-" n ".pem")}' "$ssl/certs/ca.pem"
ca_fps=$(for f in "$TEST_TMP"/ca-part-*.pem; do openssl x509 -in "$f" -noout -fingerprint -sha256 | sed 's/^.*Fingerprint=//'; done)
assert_eq "$ca_fps" "$(json_get "$TEST_TMP/status.json" ca | ruby -rjson -e 'puts JSON.parse(STDIN.read).map { |c| c["fingerprint_sha256"] }')" "CA fingerprints equal openssl's, in bundle order"
assert_eq false "$(json_get "$TEST_TMP/status.json" csr_pending)" "no CSR pending after bootstrap"

task_run status "{\"confdir\": \"$conf\"}" environment
assert_eq 0 "$TASK_RC" "status task exits 0 with PT_* variables only"
assert_eq "$(json_get "$TEST_TMP/status.json" hostcert.serial)" "$(json_get "$TASK_OUT" hostcert.serial)" "environment input gives the same answer"
task_run status "{\"confdir\": \"$conf\", \"warn_days\": 3650}" stdin
assert_eq 0 "$TASK_RC" "status task exits 0 with stdin JSON only"
assert_eq expiring "$(json_get "$TASK_OUT" health)" "warn_days 3650 turns health to expiring"
assert_eq 3650 "$(json_get "$TASK_OUT" warn_days)" "warn_days is reported"

# --- invalid parameters: _error, kind invalid-parameter, non-zero exit
for bad in '{"warn_days": "soon"}' '{"warn_days": -1}' '{"certname": "../../etc/passwd"}' \
    '{"certname": "UPPER.example"}' '{"confdir": "relative/dir"}' '{"colour": "blue"}'; do
    task_run status "$bad" stdin
    if [ "$TASK_RC" -ne 0 ] && [ "$(json_get "$TASK_OUT" _error.kind)" = cert_regen/invalid-parameter ]; then
        ok "invalid parameters $bad rejected with cert_regen/invalid-parameter"
    else
        not_ok "invalid parameters $bad rejected" "rc=$TASK_RC out=$TASK_OUT"
    fi
done

# --- no binary for this platform: a JSON _error, not a shell error
inst=$(task_installdir)
mv "$inst/cert_regen/files/bin" "$inst/cert_regen/files/bin.off"
task_run status "{\"confdir\": \"$conf\"}"
assert_eq 1 "$TASK_RC" "no binary for the platform: exit 1"
assert_eq cert_regen/unsupported-platform "$(json_get "$TASK_OUT" _error.kind || echo "not JSON: $TASK_OUT")" "no binary: _error kind unsupported-platform"
mv "$inst/cert_regen/files/bin.off" "$inst/cert_regen/files/bin"

# --- a CSR waiting for signature (no autosign): missing cert, csr_pending
pend=pending-$$.manual.test
pconf=$(stack_agent "$pend")
stack_bootstrap "$pend" >/dev/null 2>&1 || true
task_run status "{\"confdir\": \"$pconf\"}"
assert_eq 0 "$TASK_RC" "status of an agent without a signed cert exits 0"
assert_eq missing "$(json_get "$TASK_OUT" health)" "health is missing while the CSR waits"
assert_eq true "$(json_get "$TASK_OUT" csr_pending)" "csr_pending is true"
assert_eq false "$(json_get "$TASK_OUT" hostcert.present)" "hostcert.present is false"

# --- the fact: facter -p and puppet facts show after pluginsync, and in a manifest
stack_site_pp 'notify { "cert_regen health=${facts[cert_regen][health]} days=${facts[cert_regen][hostcert][expires_in_days]} serial=${facts[cert_regen][hostcert][serial]}": }'
assert_cmd "puppet agent -t passes (pluginsync delivers the fact and its .so)" -- stack_agent_run "$name"
serial=$(json_get "$TEST_TMP/status.json" hostcert.serial)
# the run comes seconds after the task: a day boundary may have passed since
assert_match "health=ok days=($days|$((days - 1))) serial=$serial" "$(cat "$TEST_TMP/last.out")" "the manifest sees \$facts['cert_regen'] from the real agent run"
assert_cmd "pluginsync copied the native build" -- test -n "$(find "$conf/var/lib/cert_regen/native" -name 'cert_regen_native.so' -print -quit)"

stack_facter_root "$conf" facter -p cert_regen --json >"$TEST_TMP/facter.json" 2>"$TEST_TMP/facter.err" || true
assert_eq "$serial" "$(json_get "$TEST_TMP/facter.json" cert_regen.hostcert.serial 2>/dev/null)" "facter -p cert_regen reports the same serial"
assert_eq ok "$(json_get "$TEST_TMP/facter.json" cert_regen.health 2>/dev/null)" "facter -p cert_regen health ok"
stack_facter_ns puppet facts show cert_regen --confdir "$conf" --render-as json >"$TEST_TMP/facts.json" 2>"$TEST_TMP/facts.err" || true
assert_eq "$serial" "$(json_get "$TEST_TMP/facts.json" cert_regen.hostcert.serial 2>/dev/null)" "puppet facts show cert_regen reports the same serial"
assert_eq "$(json_get "$TEST_TMP/status.json" hostcert.fingerprint_sha256)" \
    "$(json_get "$TEST_TMP/facts.json" cert_regen.hostcert.fingerprint_sha256 2>/dev/null)" "fact and task agree on the fingerprint"

assert_eq local "$(json_get "$TEST_TMP/status.json" crl_source)" "without fresh_crl the local CRL is used"
assert_eq ok "$(json_get "$TEST_TMP/status.json" hostcert_health)" "hostcert_health is ok"
assert_eq ok "$(json_get "$TEST_TMP/status.json" ca_health)" "ca_health is ok"
task_run status "{\"confdir\": \"$conf\", \"fresh_crl\": true}"
assert_eq 0 "$TASK_RC" "status with fresh_crl exits 0"
assert_eq ca "$(json_get "$TASK_OUT" crl_source)" "fresh_crl: the CA's CRL is used"
assert_eq ok "$(json_get "$TASK_OUT" health)" "fresh_crl: health ok before any revocation"

# --- revoke on the CA: the local CRL predates it, the CA's CRL does not
assert_cmd "puppetserver ca revoke $name" -- stack_ca revoke --certname "$name"
task_run status "{\"confdir\": \"$conf\"}"
assert_eq false "$(json_get "$TASK_OUT" hostcert.revoked)" "without fresh_crl: not revoked (the local CRL is older)"
assert_eq local "$(json_get "$TASK_OUT" crl_source)" "without fresh_crl: crl_source local"
task_run status "{\"confdir\": \"$conf\", \"fresh_crl\": true}"
assert_eq 0 "$TASK_RC" "status with fresh_crl exits 0 after the revocation"
assert_eq ca "$(json_get "$TASK_OUT" crl_source)" "fresh_crl: crl_source ca"
assert_eq true "$(json_get "$TASK_OUT" hostcert.revoked)" "fresh_crl: hostcert.revoked is true"
assert_eq revoked "$(json_get "$TASK_OUT" health)" "fresh_crl: health revoked"
assert_eq revoked "$(json_get "$TASK_OUT" hostcert_health)" "fresh_crl: hostcert_health revoked"
assert_match "revoked by the CA's CRL" "$(json_get "$TASK_OUT" health_reasons)" "fresh_crl: the reason names the CA's CRL"
# the CA out of reach: said so, with a next step, never ok-from-the-CA
uconf="$TEST_TMP/unreachable_conf"
mkdir -p "$uconf"
sed 's/^ca_port *=.*/ca_port = 1/' "$conf/puppet.conf" >"$uconf/puppet.conf"
grep -q '^ca_port = 1' "$uconf/puppet.conf" || printf '[main]\nca_port = 1\n' >>"$uconf/puppet.conf"
task_run status "{\"confdir\": \"$uconf\", \"ssldir\": \"$ssl\", \"certname\": \"$name\", \"fresh_crl\": true}"
assert_eq 0 "$TASK_RC" "fresh_crl with the CA out of reach still exits 0"
assert_eq local "$(json_get "$TASK_OUT" crl_source)" "CA out of reach: crl_source local"
assert_eq crl_fresh "$(json_get "$TASK_OUT" errors.0.part 2>/dev/null || echo "$TASK_OUT")" "CA out of reach: an errors entry"
assert_match "ca_server / ca_port" "$(json_get "$TASK_OUT" errors.0.next_step 2>/dev/null)" "CA out of reach: the entry has its next step"

# --- fetch the new CRL as the agent would: revoked
curl -sf --cacert "$ssl/certs/ca.pem" "$STACK_URL/puppet-ca/v1/certificate_revocation_list/ca" -o "$ssl/crl.pem.new" &&
    mv "$ssl/crl.pem.new" "$ssl/crl.pem"
task_run status "{\"confdir\": \"$conf\"}"
assert_eq revoked "$(json_get "$TASK_OUT" health)" "after revocation and a CRL refresh, health is revoked"
assert_eq true "$(json_get "$TASK_OUT" hostcert.revoked)" "hostcert.revoked is true"
assert_eq false "$(json_get "$TASK_OUT" hostcert.chain_valid)" "chain_valid is false for a revoked cert"
assert_match "revoked" "$(json_get "$TASK_OUT" hostcert.verify_error)" "verify_error says revoked"

# --- the ASan+UBSan build gives the same answer with no sanitizer report
if [ -x "$REPO_ROOT/build/asan/cert_regen" ]; then
    printf '{"confdir": "%s"}' "$conf" | ASAN_OPTIONS=detect_leaks=1 "$REPO_ROOT/build/asan/cert_regen" task status \
        >"$TEST_TMP/asan.out" 2>"$TEST_TMP/asan.err" && rc=0 || rc=$?
    assert_eq 0 "$rc" "ASan+UBSan build of the status task exits 0"
    assert_eq "" "$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$TEST_TMP/asan.err" || true)" "no sanitizer report"
    assert_eq "$serial" "$(json_get "$TEST_TMP/asan.out" hostcert.serial)" "ASan build reports the same serial"
else
    not_ok "ASan build present" "build/asan/cert_regen missing: run make -C ext SAN=1"
fi

finish
