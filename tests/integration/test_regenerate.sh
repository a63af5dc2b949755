#!/bin/bash
# cert_regen::regenerate and cert_regen::restore against a real puppetserver
# CA and real agents, run the way Bolt runs tasks (tests/lib/task.sh).
# Every identity is checked with `puppet ssl verify`, a real `puppet agent -t`
# where it matters, and openssl on the files themselves.
# ok/not_ok always return 0: `cond && ok || not_ok` is safe here.
# shellcheck disable=SC2015,SC2030,SC2031
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
. "$REPO_ROOT/tests/lib/agents.sh"

stack_ensure

# ------------------------------------------------------------- helpers --


# regen CONFDIR [EXTRA_JSON_MEMBERS]: regenerate with RSA 2048, no services.
regen() {
    task_run regenerate "{\"confdir\": \"$1\", \"key_size\": 2048, \"services\": []${2:+, $2}}"
}


# no_key_material DESC: neither the result nor stderr carries a private key.
no_key_material() {
    if grep -q 'PRIVATE KEY' "$TEST_TMP/task.err" || [[ $TASK_OUT == *'PRIVATE KEY'* ]]; then
        not_ok "$1: no key material in stdout/stderr" "found PRIVATE KEY"
    else
        ok "$1: no key material in stdout/stderr"
    fi
}

# expect_error KIND DESC
expect_error() {
    if [ "$TASK_RC" -ne 0 ] && [ "$(out _error.kind)" = "$1" ]; then
        ok "$2 ($1)"
    else
        not_ok "$2 ($1)" "rc=$TASK_RC out=$(printf '%s' "$TASK_OUT" | head -c 1500)"$'\n'"$(tail -n 5 "$TEST_TMP/task.err")"
    fi
}

expect_state() {
    if [ "$TASK_RC" -eq 0 ] && [ "$(out state)" = "$1" ]; then
        ok "$2 (state $1)"
    else
        not_ok "$2 (state $1)" "rc=$TASK_RC out=$(printf '%s' "$TASK_OUT" | head -c 1500)"$'\n'"$(tail -n 5 "$TEST_TMP/task.err")"
    fi
}

same_snap() { # DESC A_SNAPFILE B_SNAPFILE
    if diff "$2" "$3" >"$TEST_TMP/snapdiff" 2>&1; then
        ok "$1"
    else
        not_ok "$1" "$(head -n 20 "$TEST_TMP/snapdiff")"
    fi
}

no_staging() { # DESC CONFDIR
    if [ -e "$2/.ssl.cert_regen" ]; then not_ok "$1" "$2/.ssl.cert_regen exists"; else ok "$1"; fi
}

cert_ext() { openssl x509 -in "$1" -noout -text 2>/dev/null; }

# --- 1. autosign happy path ------------------------------------------------
n1=happy-$$.auto.test
c1=$(new_agent "$n1")
s1=$c1/ssl
old1=$(serial_of "$s1/certs/$n1.pem")
snap "$s1" >"$TEST_TMP/pre1"
assert_cmd "1: clean $n1 on the CA" -- stack_ca clean --certname "$n1"
t0=$(date +%s)
regen "$c1"
expect_state regenerated "1: autosigned regeneration"
new1=$(serial_of "$s1/certs/$n1.pem")
[ -n "$new1" ] && [ "$new1" != "$old1" ] && ok "1: new serial ($old1 -> $new1)" || not_ok "1: new serial" "old=$old1 new=$new1"
assert_eq "$old1" "$(out before.serial)" "1: result.before.serial is the old serial"
assert_eq "$new1" "$(out after.serial)" "1: result.after.serial is the new serial"
assert_match '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' "$(out csr_fingerprint)" "1: csr_fingerprint is upper-case colon hex SHA-256"
steps_ok=$(printf '%s' "$TASK_OUT" | ruby -rjson -e 's = JSON.parse(STDIN.read)["steps"]; print(s.is_a?(Array) && !s.empty? && s.all? { |x| x["name"].is_a?(String) && x["duration_ms"].is_a?(Integer) && x["duration_ms"] >= 0 } ? "yes" : "no")')
assert_eq yes "$steps_ok" "1: every step has a name and duration_ms"
assert_eq "preflight stage submit wait verify prepare swap restart" \
    "$(printf '%s' "$TASK_OUT" | ruby -rjson -e 'print JSON.parse(STDIN.read)["steps"].map { |x| x["name"] }.join(" ")')" "1: steps in order"
no_key_material 1
b1=$(out backup)
assert_match "^$s1"'_bak/[0-9]{8}T[0-9]{6}Z$' "$b1" "1: backup under <ssldir>_bak/<UTC timestamp>"
if [ -d "$b1" ]; then
    snap "$b1" >"$TEST_TMP/bak1"
    same_snap "1: backup equals the pre-run ssldir (content, modes, owners)" "$TEST_TMP/pre1" "$TEST_TMP/bak1"
else
    not_ok "1: backup directory exists" "$b1"
fi
no_staging "1: staging directory removed" "$c1"
[ -e "$s1/ssl.lock" ] && not_ok "1: no ssl.lock left in the live ssldir" "$(cat "$s1/ssl.lock")" || ok "1: no ssl.lock left in the live ssldir"
assert_eq "$(openssl x509 -in "$s1/certs/$n1.pem" -noout -pubkey)" "$(openssl pkey -in "$s1/private_keys/$n1.pem" -pubout 2>/dev/null)" "1: hostcert matches hostprivkey"
assert_eq "$(openssl pkey -in "$s1/private_keys/$n1.pem" -pubout 2>/dev/null)" "$(cat "$s1/public_keys/$n1.pem")" "1: hostpubkey matches hostprivkey"
assert_eq "640 puppet puppet" "$(stat -c '%a %U %G' "$s1/private_keys/$n1.pem")" "1: new key keeps Puppet's mode and owner"
[ -e "$s1/certificate_requests/$n1.pem" ] && not_ok "1: no CSR left in the live ssldir" || ok "1: no CSR left in the live ssldir"
assert_cmd "1: puppet ssl verify passes" -- stack_puppet "$n1" ssl verify
assert_cmd "1: puppet agent -t passes" -- stack_agent_run "$n1"
task_run status "{\"confdir\": \"$c1\"}"
assert_eq ok "$(out health)" "1: status task health ok"
echo "# 1 took $(( $(date +%s) - t0 ))s"

# --- 6. noop ---------------------------------------------------------------
snap "$s1" >"$TEST_TMP/pre6"
ls -a "$c1" >"$TEST_TMP/pre6.ls"
task_run regenerate "{\"confdir\": \"$c1\", \"key_size\": 2048, \"_noop\": true}"
expect_state unchanged "6: noop"
assert_eq true "$(out noop)" "6: result says noop"
assert_eq true "$(out plan.ca_holds_signed_cert)" "6: noop reports the CA still holds a signed cert"
snap "$s1" >"$TEST_TMP/post6"
same_snap "6: noop leaves the ssldir byte-identical" "$TEST_TMP/pre6" "$TEST_TMP/post6"
ls -a "$c1" >"$TEST_TMP/post6.ls"
same_snap "6: noop creates no staging or backup directory" "$TEST_TMP/pre6.ls" "$TEST_TMP/post6.ls"
no_key_material 6

# --- 7. invalid parameters -------------------------------------------------
for bad in "{\"confdir\": \"$c1\", \"certname\": \"../../etc/passwd\"}" \
    "{\"confdir\": \"$c1\", \"certname\": \"UPPER.example\"}" \
    "{\"confdir\": \"$c1\", \"key_size\": 1024}" \
    "{\"confdir\": \"$c1\", \"colour\": \"blue\"}" \
    "{\"confdir\": \"$c1\", \"ca_port\": 0}" \
    "{\"confdir\": \"$c1\", \"key_type\": \"dsa\"}" \
    "{\"confdir\": \"$c1\", \"wait_for_cert\": -1}" \
    "{\"confdir\": \"relative\"}"; do
    task_run regenerate "$bad" stdin
    expect_error cert_regen/invalid-parameter "7: rejected: $bad"
done
snap "$s1" >"$TEST_TMP/post7"
same_snap "7: invalid parameters change nothing" "$TEST_TMP/pre6" "$TEST_TMP/post7"
ls -a "$c1" >"$TEST_TMP/post7.ls"
same_snap "7: invalid parameters create nothing" "$TEST_TMP/pre6.ls" "$TEST_TMP/post7.ls"

# --- 8. CA down ------------------------------------------------------------
closed=$(_stack_pick_port)
t0=$(date +%s)
regen "$c1" "\"ca_server\": \"127.0.0.1\", \"ca_port\": $closed"
expect_error cert_regen/ca-unreachable "8: closed CA port"
el=$(( $(date +%s) - t0 ))
[ "$el" -le 30 ] && ok "8: failed within the connect timeout (${el}s)" || not_ok "8: failed within the connect timeout" "${el}s"
assert_match 'ca_server|ca_port|CA' "$(out _error.details.next_step)" "8: next_step says what to check"
snap "$s1" >"$TEST_TMP/post8"
same_snap "8: live ssldir untouched" "$TEST_TMP/pre6" "$TEST_TMP/post8"
no_staging "8: no staging directory" "$c1"

# --- 12. locks ---------------------------------------------------------------
lockfile=$(json_get "$("$REPO_ROOT/files/bin/linux-x86_64/cert_regen" settings --confdir "$c1" agent_catalog_run_lockfile)" agent_catalog_run_lockfile)
mkdir -p "$(dirname "$lockfile")"
# Puppet's pidlock only honours a PID whose command is puppet's: a copy of
# sleep named "puppet" is a live puppet run as far as pidlock can tell.
cp "$(command -v sleep)" "$TEST_TMP/puppet"
"$TEST_TMP/puppet" 60 &
holder=$!
printf '%s' "$holder" >"$lockfile"
t0=$(date +%s)
regen "$c1" '"lock_timeout": 2'
el=$(( $(date +%s) - t0 ))
expect_error cert_regen/locked "12: catalog run lock held by a live puppet process"
[ "$el" -ge 2 ] && [ "$el" -le 15 ] && ok "12: waited about lock_timeout (${el}s)" || not_ok "12: waited about lock_timeout" "${el}s"
assert_eq "$holder" "$(cat "$lockfile" 2>/dev/null)" "12: the holder's lock is left alone"
snap "$s1" >"$TEST_TMP/post12"
same_snap "12: live ssldir untouched" "$TEST_TMP/pre6" "$TEST_TMP/post12"
no_staging "12: no staging directory" "$c1"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
rm -f "$lockfile"

# --- 2. not cleaned, then cleaned: resume -----------------------------------
n2=nocl-$$.auto.test
c2=$(new_agent "$n2")
s2=$c2/ssl
old2=$(serial_of "$s2/certs/$n2.pem")
snap "$s2" >"$TEST_TMP/pre2"
regen "$c2"
expect_error cert_regen/ca-not-cleaned "2: CA still holds the old cert"
assert_match 'clean' "$(out _error.details.next_step)" "2: next_step says to clean on the CA"
assert_eq submit "$(out _error.details.step)" "2: error names the step (submit)"
fp2=$(out _error.details.csr_fingerprint)
snap "$s2" >"$TEST_TMP/post2"
same_snap "2: live ssldir byte-identical" "$TEST_TMP/pre2" "$TEST_TMP/post2"
assert_cmd "2: puppet ssl verify still passes" -- stack_puppet "$n2" ssl verify
no_key_material 2
# the staged CSR, as DER, hashed: the fingerprint a later run must reuse
staged_fp=$(openssl req -in "$c2/.ssl.cert_regen/csr.pem" -outform DER 2>/dev/null | sha256sum | awk '{print toupper($1)}' | sed 's/../&:/g; s/:$//')
assert_match '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' "$staged_fp" "2: the CSR stays staged"
stack_ca clean --certname "$n2" >/dev/null 2>&1
regen "$c2"
expect_state regenerated "2: after clean, the run resumes"
assert_match '^(staged|submitted)$' "$(out steps.0.resumed_from)" "2: steps[0].resumed_from is staged or submitted"
assert_eq "$staged_fp" "$(out csr_fingerprint)" "2: same CSR (fingerprint of the staged CSR DER)"
[ -z "$fp2" ] || assert_eq "$fp2" "$(out csr_fingerprint)" "2: fingerprint equals the failed run's"
new2=$(serial_of "$s2/certs/$n2.pem")
[ "$new2" != "$old2" ] && ok "2: new serial" || not_ok "2: new serial" "$old2"
assert_cmd "2: puppet ssl verify passes" -- stack_puppet "$n2" ssl verify
assert_cmd "2: puppet agent -t passes" -- stack_agent_run "$n2"

# --- 3. manual signing: pending, then resume --------------------------------
n3=man-$$.manual.test
c3=$(new_agent "$n3")
s3=$c3/ssl
old3=$(serial_of "$s3/certs/$n3.pem")
[ -n "$old3" ] && ok "3: manual agent bootstrapped" || not_ok "3: manual agent bootstrapped" "$(tail -n 5 "$TEST_TMP/boot-$n3.log")"
snap "$s3" >"$TEST_TMP/pre3"
stack_ca clean --certname "$n3" >/dev/null 2>&1
regen "$c3" '"wait_for_cert": 0'
expect_state pending "3: wait_for_cert 0 on a manual name"
fp3=$(out csr_fingerprint)
ca_fp3=$(stack_ca list 2>/dev/null | awk -v n="$n3" '$1 == n { print $3 }')
assert_eq "$fp3" "$ca_fp3" "3: csr_fingerprint equals the one puppetserver ca list shows"
assert_match 'sign' "$(out next_step)" "3: pending result says what to do next"
snap "$s3" >"$TEST_TMP/mid3"
same_snap "3: live ssldir untouched while pending" "$TEST_TMP/pre3" "$TEST_TMP/mid3"
[ -f "$c3/.ssl.cert_regen/key.pem" ] && ok "3: staged key kept" || not_ok "3: staged key kept"
# a second pending run polls for wait_for_cert seconds, submits no second CSR
t0=$(date +%s)
regen "$c3" '"wait_for_cert": 3'
el=$(( $(date +%s) - t0 ))
expect_state pending "3: still pending on a second run"
[ "$el" -ge 2 ] && [ "$el" -le 10 ] && ok "3: waited about wait_for_cert (${el}s)" || not_ok "3: waited about wait_for_cert 3" "${el}s"
assert_eq "$fp3" "$(out csr_fingerprint)" "3: second run keeps the same CSR"
assert_eq submitted "$(out steps.0.resumed_from)" "3: second run resumes from submitted"
assert_eq "$fp3" "$(stack_ca list 2>/dev/null | awk -v n="$n3" '$1 == n { print $3 }')" "3: the CA still lists the same fingerprint"
assert_cmd "3: sign on the CA" -- stack_ca sign --certname "$n3"
regen "$c3" '"wait_for_cert": 0'
expect_state regenerated "3: after signing"
assert_eq "$fp3" "$(out csr_fingerprint)" "3: no second CSR (same fingerprint)"
assert_eq "" "$(printf '%s' "$TASK_OUT" | ruby -rjson -e 'print JSON.parse(STDIN.read)["steps"].map { |x| x["name"] }.grep(/stage|submit/).join(" ")')" "3: no stage or submit step on resume"
new3=$(serial_of "$s3/certs/$n3.pem")
[ -n "$new3" ] && [ "$new3" != "$old3" ] && ok "3: new serial" || not_ok "3: new serial" "$old3 -> $new3"
assert_cmd "3: puppet ssl verify passes" -- stack_puppet "$n3" ssl verify
assert_cmd "3: puppet agent -t passes" -- stack_agent_run "$n3"

# verify: a certificate revoked on the CA by the time it is fetched
n3r=rev-$$.manual.test
c3r=$(new_agent "$n3r")
snap "$c3r/ssl" >"$TEST_TMP/pre3r"
stack_ca clean --certname "$n3r" >/dev/null 2>&1
regen "$c3r" '"wait_for_cert": 0'
expect_state pending "3r: pending"
stack_ca sign --certname "$n3r" >/dev/null 2>&1
stack_ca revoke --certname "$n3r" >/dev/null 2>&1
regen "$c3r" '"wait_for_cert": 0'
expect_error cert_regen/verify-failed "3r: a revoked new certificate is refused (fresh CRL)"
assert_eq verify "$(out _error.details.step)" "3r: error names the verify step"
snap "$c3r/ssl" >"$TEST_TMP/post3r"
same_snap "3r: live ssldir untouched" "$TEST_TMP/pre3r" "$TEST_TMP/post3r"
no_key_material 3r

# --- 4. carry-over of extensions and custom attributes -----------------------
n4=carry-$$.auto.test
c4=$(stack_agent "$n4")
cat >"$c4/csr_attributes.yaml" <<'EOF'
custom_attributes:
  challengePassword: "s3cret-for-policy"
extension_requests:
  pp_role: web
EOF
c4=$(new_agent "$n4")
s4=$c4/ssl
role_of() { cert_ext "$1" | grep -A1 '1.3.6.1.4.1.34380.1.1.13' | tail -n 1 | tr -d ' .' | sed 's/^\.*//'; }
assert_match 'web' "$(role_of "$s4/certs/$n4.pem")" "4: bootstrapped cert carries pp_role web"
# the cert is now the only source of pp_role
cat >"$c4/csr_attributes.yaml" <<'EOF'
custom_attributes:
  challengePassword: "s3cret-for-policy"
EOF
old4=$(serial_of "$s4/certs/$n4.pem")
stack_ca clean --certname "$n4" >/dev/null 2>&1
# stop after staging (test build) to look at the CSR itself, then resume
if [ -x "$REPO_ROOT/build/asan/cert_regen" ]; then
    (
        export TEST_TMP="$TEST_TMP/asan"
        mkdir -p "$TEST_TMP"
        export CERT_REGEN_TASK_BIN="$REPO_ROOT/build/asan/cert_regen" CERT_REGEN_TEST_KILL_AT=staged
        regen "$c4"
        exit 0
    )
    csrtext=$(openssl req -in "$c4/.ssl.cert_regen/csr.pem" -noout -text 2>/dev/null || true)
    assert_match 'challengePassword' "$csrtext" "4: staged CSR carries custom_attributes challengePassword"
    assert_match '1\.3\.6\.1\.4\.1\.34380\.1\.1\.13' "$csrtext" "4: staged CSR requests pp_role"
else
    skip "4: CSR contents" "no ASan build (make -C ext SAN=1)"
fi
regen "$c4"
expect_state regenerated "4: regeneration with carried-over extensions"
assert_match 'web' "$(role_of "$s4/certs/$n4.pem")" "4: new cert keeps pp_role web"
[ "$(serial_of "$s4/certs/$n4.pem")" != "$old4" ] && ok "4: new serial" || not_ok "4: new serial"
[[ "$(cert_ext "$s4/certs/$n4.pem")" == *s3cret* ]] && not_ok "4: challengePassword not copied into the cert" || ok "4: challengePassword not copied into the cert"
stack_ca clean --certname "$n4" >/dev/null 2>&1
regen "$c4" '"extension_requests": {"pp_role": "db"}'
expect_state regenerated "4: explicit extension_requests"
r4=$(role_of "$s4/certs/$n4.pem")
assert_match 'db' "$r4" "4: explicit pp_role db wins"
[[ $r4 == *web* ]] && not_ok "4: pp_role web is gone" || ok "4: pp_role web is gone"
assert_cmd "4: puppet agent -t passes" -- stack_agent_run "$n4"

# SANs: needs allow-subject-alt-names on the CA (shared server: restored).
if [ "${CR_SKIP_SAN:-0}" != 1 ]; then
    cp "$STACK_CA_CONF" "$TEST_TMP/ca.conf.orig"
    restore_ca_conf() {
        if ! cmp -s "$TEST_TMP/ca.conf.orig" "$STACK_CA_CONF"; then
            cp "$TEST_TMP/ca.conf.orig" "$STACK_CA_CONF"
            stack_hup >/dev/null 2>&1 || true
        fi
    }
    at_exit restore_ca_conf
    sed -i 's/^\( *\)# *allow-subject-alt-names: false/\1allow-subject-alt-names: true/' "$STACK_CA_CONF"
    grep -q 'allow-subject-alt-names: true' "$STACK_CA_CONF" ||
        sed -i 's/^certificate-authority: {/&\n    allow-subject-alt-names: true/' "$STACK_CA_CONF"
    t0=$(date +%s)
    if stack_hup; then
        echo "# HUP took $(( $(date +%s) - t0 ))s"
        n4s=san-$$.auto.test
        c4s=$(stack_agent "$n4s")
        grep -q '^keylength' "$c4s/puppet.conf" || echo 'keylength = 2048' >>"$c4s/puppet.conf"
        stack_bootstrap "$n4s" --dns_alt_names "alias-$$.example.test,IP:192.0.2.7" >/dev/null 2>&1 || true
        sans() { cert_ext "$1" | grep -A1 'Subject Alternative Name' | tail -n 1 | tr -d ' ' | tr ',' '\n' | sort | tr '\n' ' '; }
        before_sans=$(sans "$c4s/ssl/certs/$n4s.pem")
        assert_match "alias-$$" "$before_sans" "4: SAN agent bootstrapped with alt names"
        stack_ca clean --certname "$n4s" >/dev/null 2>&1
        regen "$c4s"
        expect_state regenerated "4: SANs carried over"
        assert_eq "$before_sans" "$(sans "$c4s/ssl/certs/$n4s.pem")" "4: new cert has the same SANs"
        stack_ca clean --certname "$n4s" >/dev/null 2>&1
        regen "$c4s" '"dns_alt_names": ["other-'$$'.example.test"]'
        expect_state regenerated "4: explicit dns_alt_names"
        s4s=$(sans "$c4s/ssl/certs/$n4s.pem")
        assert_match "other-$$" "$s4s" "4: explicit list used"
        [[ $s4s == *alias-$$* || $s4s == *192.0.2.7* ]] && not_ok "4: explicit list replaces the old SANs" "$s4s" || ok "4: explicit list replaces the old SANs"
        assert_cmd "4: SAN agent: puppet ssl verify passes" -- stack_puppet "$n4s" ssl verify
    else
        not_ok "4: server reloaded with allow-subject-alt-names" "HUP failed"
    fi
    restore_ca_conf
fi

# --- 5. EC key ---------------------------------------------------------------
n5=ec-$$.auto.test
c5=$(new_agent "$n5")
old5=$(serial_of "$c5/ssl/certs/$n5.pem")
stack_ca clean --certname "$n5" >/dev/null 2>&1
# parameters through PT_* variables only; run_puppet; backup_dir
task_run regenerate "{\"confdir\": \"$c5\", \"key_type\": \"ec\", \"services\": [], \"run_puppet\": true, \"backup_dir\": \"$TEST_TMP/bak5\"}" environment
expect_state regenerated "5: key_type ec (PT_* variables only)"
assert_eq true "$(out puppet_run.success)" "5: run_puppet: puppet agent -t succeeded (exit $(out puppet_run.exit_code))"
assert_match "^$TEST_TMP/bak5/[0-9]{8}T[0-9]{6}Z\$" "$(out backup)" "5: backup under backup_dir"
assert_eq "$old5" "$(serial_of "$(out backup)/certs/$n5.pem")" "5: backup_dir holds the old identity"
assert_match 'prime256v1' "$(openssl pkey -in "$c5/ssl/private_keys/$n5.pem" -noout -text 2>/dev/null | grep -i 'ASN1 OID')" "5: new key is EC prime256v1"
assert_eq EC "$(out after.key.type)" "5: result.after.key.type EC"
[ "$(serial_of "$c5/ssl/certs/$n5.pem")" != "$old5" ] && ok "5: new serial" || not_ok "5: new serial"
assert_cmd "5: puppet ssl verify passes" -- stack_puppet "$n5" ssl verify
assert_cmd "5: puppet agent -t passes with the EC key" -- stack_agent_run "$n5"

# --- 9. services, 10. cached catalog, 11. restore ---------------------------
svc=cr-test-svc-$$
svc2=cr-test-svc2-$$
make_svc "$svc"
make_svc "$svc2"
at_exit drop_svc "$svc"
at_exit drop_svc "$svc2"

n9=svc-$$.auto.test
c9=$(new_agent "$n9")
s9=$c9/ssl
old9=$(serial_of "$s9/certs/$n9.pem")
/etc/init.d/"$svc" start >/dev/null 2>&1
svc_running "$svc" && ok "9: test service running before" || not_ok "9: test service running before"
svc_running "$svc2" && not_ok "9: second service stopped before" || ok "9: second service stopped before"
pid_before=$(svc_pid "$svc")
dd=$(json_get "$("$REPO_ROOT/files/bin/linux-x86_64/cert_regen" settings --confdir "$c9" client_datadir)" client_datadir)
mkdir -p "$dd/catalog"
echo '{"tags":[],"name":"'"$n9"'","version":1,"resources":[],"edges":[],"classes":[]}' >"$dd/catalog/$n9.json"
snap "$s9" >"$TEST_TMP/pre9"
stack_ca clean --certname "$n9" >/dev/null 2>&1
task_run regenerate "{\"confdir\": \"$c9\", \"key_size\": 2048, \"services\": [\"$svc\", \"$svc2\"]}"
expect_state regenerated "9: regeneration with services"
assert_eq "[\"$svc\"]" "$(out services_stopped)" "9: services_stopped lists exactly the running one"
assert_eq "[\"$svc\"]" "$(out services_restarted)" "9: services_restarted lists it"
svc_running "$svc" && ok "9: service runs again" || not_ok "9: service runs again"
pid_after=$(svc_pid "$svc")
[ -n "$pid_after" ] && [ "$pid_after" != "$pid_before" ] && ok "9: with a new PID ($pid_before -> $pid_after)" || not_ok "9: with a new PID" "$pid_before -> $pid_after"
svc_running "$svc2" && not_ok "9: a service that was not running is not started" || ok "9: a service that was not running is not started"
[ -e "$dd/catalog/$n9.json" ] && not_ok "10: cached catalog removed" || ok "10: cached catalog removed"
assert_eq "$dd/catalog/$n9.json" "$(out cached_catalog_removed)" "10: result names the removed catalog"
new9=$(serial_of "$s9/certs/$n9.pem")
assert_cmd "9: puppet ssl verify passes" -- stack_puppet "$n9" ssl verify
b9=$(out backup)
snap "$s9" >"$TEST_TMP/regen9"
sleep 1   # backups are named by the second
pid_before=$(svc_pid "$svc")
# the old certificate was revoked by the clean before the regeneration:
# restore refuses it (cert_regen/backup-revoked, test_restore.sh) unless told
task_run restore "{\"confdir\": \"$c9\", \"backup\": \"latest\", \"allow_revoked\": true, \"services\": [\"$svc\", \"$svc2\"]}"
expect_state restored "11: restore backup=latest"
assert_eq "$b9" "$(out restored_from)" "11: latest is the regeneration's backup"
assert_eq "$old9" "$(serial_of "$s9/certs/$n9.pem")" "11: old serial live again"
snap "$s9" >"$TEST_TMP/post11"
snap "$b9" >"$TEST_TMP/bak11"
same_snap "11: live ssldir byte-identical to the backup" "$TEST_TMP/bak11" "$TEST_TMP/post11"
safety=$(out backup)
[ -n "$safety" ] && [ "$safety" != "$b9" ] && ok "11: restore made a safety copy" || not_ok "11: restore made a safety copy" "$safety"
assert_eq "$new9" "$(serial_of "$safety/certs/$n9.pem")" "11: the safety copy holds the regenerated identity"
[ -d "$safety" ] && snap "$safety" >"$TEST_TMP/safety11" && same_snap "11: safety copy equals the regenerated ssldir" "$TEST_TMP/regen9" "$TEST_TMP/safety11"
assert_eq "[\"$svc\"]" "$(out services_restarted)" "11: restore restarted the running service"
svc_running "$svc" && [ "$(svc_pid "$svc")" != "$pid_before" ] && ok "11: service restarted (new PID)" || not_ok "11: service restarted (new PID)"
svc_running "$svc2" && not_ok "11: stopped service left stopped" || ok "11: stopped service left stopped"
no_staging "11: no staging directory left" "$c9"
no_key_material 11
assert_eq "$(openssl x509 -in "$s9/certs/$n9.pem" -noout -pubkey)" "$(openssl pkey -in "$s9/private_keys/$n9.pem" -pubout 2>/dev/null)" "11: restored cert matches restored key"
# and back: restoring the safety copy brings the regenerated identity back
task_run restore "{\"confdir\": \"$c9\", \"backup\": \"$safety\", \"services\": []}"
expect_state restored "11: restore of the safety copy"
assert_eq "$new9" "$(serial_of "$s9/certs/$n9.pem")" "11: regenerated identity live again"
assert_cmd "11: puppet ssl verify passes after restoring the new identity" -- stack_puppet "$n9" ssl verify
task_run restore "{\"confdir\": \"$c9\", \"backup\": \"$TEST_TMP/nonexistent\", \"services\": []}"
[ "$TASK_RC" -ne 0 ] && [ -n "$(out _error.kind)" ] && ok "11: a missing backup is an _error ($(out _error.kind))" || not_ok "11: a missing backup is an _error" "$TASK_OUT"
assert_eq "$new9" "$(serial_of "$s9/certs/$n9.pem")" "11: failed restore leaves the live identity"

finish
