#!/bin/bash
# cert_regen::regenerate against a real puppetserver CA: parameters that the
# TLS stack would refuse, reruns with other parameters than the staged ones,
# what noop promises, advice around the CA's certificate, the backup path,
# a wrong ca_fingerprint (issues 10 and 15).
# ok/not_ok always return 0: `cond && ok || not_ok` is safe here.
# shellcheck disable=SC2015,SC2030,SC2031
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
. "$REPO_ROOT/tests/lib/agents.sh"

stack_ensure
ASAN_BIN="$REPO_ROOT/build/asan/cert_regen"

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | sed 's/^.*=//'; }
regen() { # CONFDIR [EXTRA_JSON_MEMBERS]
    task_run regenerate "{\"confdir\": \"$1\", \"services\": []${2:+, $2}}"
}
show() { printf 'rc=%s out=%s\n%s' "$TASK_RC" "$(printf '%s' "$TASK_OUT" | head -c 1500)" "$(tail -n 5 "$TEST_TMP/task.err")"; }
expect_error() { # KIND DESC
    if [ "$TASK_RC" -ne 0 ] && [ "$(out _error.kind)" = "$1" ]; then ok "$2 ($1)"; else not_ok "$2 ($1)" "$(show)"; fi
}
expect_state() { # STATE DESC
    if [ "$TASK_RC" -eq 0 ] && [ "$(out state)" = "$1" ]; then ok "$2 (state $1)"; else not_ok "$2 (state $1)" "$(show)"; fi
}
no_staging() { # DESC CONFDIR
    if [ -e "$2/.ssl.cert_regen" ]; then not_ok "$1" "$(ls -la "$2/.ssl.cert_regen")"; else ok "$1"; fi
}
same_snap() { # DESC A B
    if diff "$2" "$3" >"$TEST_TMP/snapdiff" 2>&1; then ok "$1"; else not_ok "$1" "$(head -n 20 "$TEST_TMP/snapdiff")"; fi
}
key_text() { openssl pkey -in "$1" -noout -text 2>/dev/null; }
role_of() { openssl x509 -in "$1" -noout -text 2>/dev/null | grep -A1 '1.3.6.1.4.1.34380.1.1.13' | tail -n 1 | tr -d ' .'; }

# --- 1. weak or foreign curves are refused before anything is staged ---------
n1=curve-$$.auto.test
c1=$(new_agent "$n1")
snap "$c1/ssl" >"$TEST_TMP/pre1"
for curve in secp112r1 secp256k1 brainpoolP256r1 prime192v1; do
    regen "$c1" "\"key_type\": \"ec\", \"curve\": \"$curve\""
    expect_error cert_regen/invalid-parameter "1: curve $curve refused"
    assert_match 'prime256v1.*secp384r1.*secp521r1' "$(out _error.details.next_step)" "1: $curve: next_step names the curves that work"
    no_staging "1: $curve: no staging directory" "$c1"
done
# the same from Puppet's own setting
cp "$c1/puppet.conf" "$TEST_TMP/puppet.conf1"
printf '[agent]\nnamed_curve = secp112r1\n' >>"$c1/puppet.conf"
regen "$c1" '"key_type": "ec"'
expect_error cert_regen/invalid-parameter "1: named_curve secp112r1 in puppet.conf refused"
task_run regenerate "{\"confdir\": \"$c1\", \"key_type\": \"ec\", \"_noop\": true}"
expect_error cert_regen/invalid-parameter "1: ... in noop too"
cp "$TEST_TMP/puppet.conf1" "$c1/puppet.conf"
snap "$c1/ssl" >"$TEST_TMP/post1"
same_snap "1: the live ssldir is byte-identical" "$TEST_TMP/pre1" "$TEST_TMP/post1"
# every accepted name of the three curves works end to end (P-521 here)
stack_ca clean --certname "$n1" >/dev/null 2>&1 || true
regen "$c1" '"key_type": "ec", "curve": "secp521r1"'
expect_state regenerated "1: curve secp521r1"
assert_match 'secp521r1' "$(key_text "$c1/ssl/private_keys/$n1.pem" | grep 'ASN1 OID')" "1: the new key is on secp521r1"
assert_cmd "1: puppet agent -t passes with the P-521 key" -- stack_agent_run "$n1"

# --- 5. parameter errors of the stage step leave no staging directory ------
for bad in '"dns_alt_names": ["bad name!"]' '"extension_requests": {"no_such_ext": "x"}' \
    '"extension_requests": {"1.2.3.4": "x"}'; do
    regen "$c1" "\"key_size\": 2048, $bad"
    expect_error cert_regen/invalid-parameter "5: $bad"
    no_staging "5: $bad: no staging directory left" "$c1"
done

# --- 2. a rerun with other parameters: staged EC P-384, ca-not-cleaned ------
n2=rerun-$$.auto.test
c2=$(new_agent "$n2")
regen "$c2" '"key_type": "ec", "curve": "secp384r1"'
expect_error cert_regen/ca-not-cleaned "2: EC P-384 staged, CA not cleaned"
assert_match 'secp384r1' "$(key_text "$c2/.ssl.cert_regen/key.pem" | grep 'ASN1 OID')" "2: the staged key is P-384"
stack_ca clean --certname "$n2" >/dev/null 2>&1 || true
regen "$c2" '"key_type": "rsa", "key_size": 2048, "extension_requests": {"pp_role": "web"}'
expect_state regenerated "2: rerun with rsa 2048 + pp_role"
assert_match 'discarded' "$(out warnings)" "2: warnings say the staged key and CSR were discarded"
assert_match 'RSA.*2048|2048 bit' "$(key_text "$c2/ssl/private_keys/$n2.pem" | head -n 1)" "2: the live key is RSA 2048"
assert_match 'web' "$(role_of "$c2/ssl/certs/$n2.pem")" "2: the new certificate carries pp_role web"
assert_eq RSA "$(out after.key.type)" "2: result.after.key.type RSA"
no_staging "2: no staging left" "$c2"
assert_cmd "2: puppet agent -t passes" -- stack_agent_run "$n2"

# --- 2b. after submission: pending on a manual CA name ---------------------
n2b=rerun-$$.manual.test
c2b=$(new_agent "$n2b")
stack_ca clean --certname "$n2b" >/dev/null 2>&1 || true
regen "$c2b" '"key_size": 2048, "wait_for_cert": 0, "extension_requests": {"pp_role": "db"}'
expect_state pending "2b: submitted, pending"
fp2b=$(out csr_fingerprint)
regen "$c2b" '"key_size": 2048, "wait_for_cert": 0, "extension_requests": {"pp_role": "web"}'
expect_error cert_regen/parameters-changed "2b: other parameters after submission"
ns=$(out _error.details.next_step)
assert_match 'pp_role' "$(out _error.details.differences)" "2b: details.differences names pp_role"
assert_match 'db' "$(out _error.msg)" "2b: msg says what was staged"
assert_match "staged parameters.*pp_role.*db" "$ns" "2b: next_step: rerun with the staged parameters"
assert_match "puppetserver ca clean --certname $n2b" "$ns" "2b: next_step: or clean the request on the CA"
assert_eq "$fp2b" "$(stack_ca list 2>/dev/null | awk -v n="$n2b" '$1 == n { print $3 }')" "2b: the CA's pending request is untouched"
# following the next step works
# (exit 24 for a request that was never signed: nothing to revoke, removed)
stack_ca clean --certname "$n2b" >/dev/null 2>&1 || true
regen "$c2b" '"key_size": 2048, "wait_for_cert": 0, "extension_requests": {"pp_role": "web"}'
expect_state pending "2b: after the clean on the CA: a new request"
[ "$(out csr_fingerprint)" != "$fp2b" ] && ok "2b: ... with a new CSR" || not_ok "2b: ... with a new CSR" "$fp2b"
stack_ca sign --certname "$n2b" >/dev/null 2>&1 || true
regen "$c2b" '"key_size": 2048, "wait_for_cert": 0, "extension_requests": {"pp_role": "web"}'
expect_state regenerated "2b: signed and installed"
assert_match 'web' "$(role_of "$c2b/ssl/certs/$n2b.pem")" "2b: with pp_role web"

# --- 2c. the csr-refused fix-and-rerun flow (the CA refuses alt names) -------
n2c=refused-$$.auto.test
c2c=$(new_agent "$n2c")
stack_ca clean --certname "$n2c" >/dev/null 2>&1 || true
regen "$c2c" "\"key_size\": 2048, \"dns_alt_names\": [\"alias-$$.example.test\"]"
expect_error cert_regen/csr-refused "2c: alt names refused by the CA"
pend=$(stack_ca list 2>/dev/null | awk -v n="$n2c" '$1 == n { print $3 }')
echo "# 2c: after csr-refused the CA holds ${pend:-no} pending request"
regen "$c2c" '"key_size": 2048, "dns_alt_names": []'
if [ -z "$pend" ]; then
    expect_state regenerated "2c: the rerun with corrected dns_alt_names regenerates"
    assert_match 'discarded' "$(out warnings)" "2c: warnings say the refused CSR was discarded"
else
    expect_error cert_regen/parameters-changed "2c: the CA kept the refused request: the rerun says so"
    assert_match "puppetserver ca clean --certname $n2c" "$(out _error.details.next_step)" "2c: next_step says what to run"
    # following it: clean the pending request, rerun with the corrected names
    stack_ca clean --certname "$n2c" >/dev/null 2>&1 || true
    regen "$c2c" '"key_size": 2048, "dns_alt_names": []'
    expect_state regenerated "2c: after the clean, the rerun with corrected dns_alt_names regenerates"
fi
if [ "$(out state)" = regenerated ]; then
    sans=$(openssl x509 -in "$c2c/ssl/certs/$n2c.pem" -noout -ext subjectAltName 2>/dev/null || true)
    [[ $sans == *alias-$$* ]] && not_ok "2c: the refused alt name is not in the certificate" "$sans" || ok "2c: the refused alt name is not in the certificate"
    assert_cmd "2c: puppet agent -t passes" -- stack_agent_run "$n2c"
fi

# --- 6. noop says what would block the real run ------------------------------
n6=noop-$$.auto.test
c6=$(new_agent "$n6")
snap "$c6/ssl" >"$TEST_TMP/pre6"
task_run regenerate "{\"confdir\": \"$c6\", \"key_size\": 2048, \"_noop\": true}"
expect_state unchanged "6: noop"
assert_eq cert_regen/ca-not-cleaned "$(out plan.blocked_by.kind)" "6: noop: the real run would stop at ca-not-cleaned"
assert_eq submit "$(out plan.blocked_by.step)" "6: ... at the submit step"
assert_match "puppetserver ca clean --certname $n6" "$(out plan.blocked_by.next_step)" "6: ... and what to run first"
assert_eq true "$(out plan.blocked_by.ca_cert_is_live)" "6: ... the CA's certificate is the live one"
[[ $(out plan.would) == *swap* ]] && not_ok "6: noop no longer promises the swap" "$(out plan.would)" || ok "6: noop no longer promises the swap"
snap "$c6/ssl" >"$TEST_TMP/post6"
same_snap "6: noop changes nothing" "$TEST_TMP/pre6" "$TEST_TMP/post6"
no_staging "6: noop stages nothing" "$c6"
stack_ca clean --certname "$n6" >/dev/null 2>&1 || true
task_run regenerate "{\"confdir\": \"$c6\", \"key_size\": 2048, \"_noop\": true}"
assert_eq "" "$(out plan.blocked_by.kind)" "6: after the clean, noop sees nothing blocking"
assert_match 'swap' "$(out plan.would)" "6: ... and lists the whole run"

# --- 8. a ca_fingerprint that does not match the CA's bundle ------------------
real_fp=$(fp_of "$STACK_CACERT")
wrong_fp=$(printf 'not the CA' | sha256sum | cut -c1-64 | tr 'a-f' 'A-F' | sed 's/../&:/g; s/:$//')
regen "$c6" "\"key_size\": 2048, \"ca_fingerprint\": \"$wrong_fp\""
expect_error cert_regen/ca-pin-mismatch "8: wrong pin"
assert_match "$wrong_fp" "$(out _error.msg)" "8: msg shows the pinned fingerprint"
assert_match "$real_fp" "$(out _error.msg)" "8: msg shows the CA bundle's fingerprint"
assert_match 'fingerprint the new CA printed' "$(out _error.details.next_step)" "8: next_step says where the right fingerprint is"
snap "$c6/ssl" >"$TEST_TMP/post8"
same_snap "8: the live ssldir is byte-identical" "$TEST_TMP/pre6" "$TEST_TMP/post8"
no_staging "8: no staging directory" "$c6"

# --- 4. a symlinked <ssldir>_bak is not followed -----------------------------
n4=baklink-$$.auto.test
c4=$(new_agent "$n4")
mkdir -p "$TEST_TMP/elsewhere4"
ln -s "$TEST_TMP/elsewhere4" "$c4/ssl_bak"
stack_ca clean --certname "$n4" >/dev/null 2>&1 || true
snap "$c4/ssl" >"$TEST_TMP/pre4"
regen "$c4" '"key_size": 2048'
expect_error cert_regen/path-symlink "4: symlinked ssl_bak refused"
assert_match "remove the symlink $c4/ssl_bak" "$(out _error.details.next_step)" "4: next_step: remove the link"
assert_eq 0 "$(find "$TEST_TMP/elsewhere4" -mindepth 1 | wc -l)" "4: nothing written into the link's target"
snap "$c4/ssl" >"$TEST_TMP/post4"
same_snap "4: the live ssldir is byte-identical" "$TEST_TMP/pre4" "$TEST_TMP/post4"
rm "$c4/ssl_bak"
regen "$c4" '"key_size": 2048'
expect_state regenerated "4: after removing the link, the rerun finishes"
[ -d "$c4/ssl_bak" ] && [ ! -L "$c4/ssl_bak" ] && ok "4: a real ssl_bak directory" || not_ok "4: a real ssl_bak directory"

# --- 7. a server journal without (or with an unknown) operation -------------
sst="$(dirname "$STACK_SSLDIR")/.$(basename "$STACK_SSLDIR").cert_regen.server"
if [ -e "$sst" ]; then
    skip "7: server journal" "$sst exists already"
else
    mkdir -m 0700 "$sst"
    for j in '{"state": "stopped"}' '{"operation": "bogus_op", "state": "stopped"}'; do
        printf '%s\n' "$j" >"$sst/journal.json"
        task_run primary_cert "{\"confdir\": \"$STACK_SERVER_CONFDIR\", \"_noop\": true}"
        expect_error cert_regen/operation-in-progress "7: journal $j"
        [[ $(out _error.msg) == *"(null)"* ]] && not_ok "7: no (null) in the message" "$(out _error.msg)" || ok "7: no (null) in the message"
        assert_match "check_server.*move $sst aside" "$(out _error.details.next_step)" "7: next_step says what to inspect and remove"
    done
    rm -rf "$sst"
fi

# --- 3. no advice to clean a live certificate --------------------------------
if [ -x "$ASAN_BIN" ] && strings "$ASAN_BIN" | grep -q CERT_REGEN_TEST_KILL_AT; then
    # the old cleanup order: killed after the journal went, before key.pem
    # and tree/ (simulated: kill after the swap, then drop the journal)
    n3=cleanup-$$.auto.test
    c3=$(new_agent "$n3")
    stack_ca clean --certname "$n3" >/dev/null 2>&1 || true
    (
        export TEST_TMP="$TEST_TMP/asan3" CERT_REGEN_TASK_BIN="$ASAN_BIN" CERT_REGEN_TEST_KILL_AT=swapped
        mkdir -p "$TEST_TMP"
        regen "$c3" '"key_size": 2048'
        exit 0
    )
    rm -f "$c3/.ssl.cert_regen/journal.json"
    live3=$(fp_of "$c3/ssl/certs/$n3.pem")
    regen "$c3" '"key_size": 2048'
    expect_state current "3: a rerun after a cleanup killed without its journal"
    [[ $TASK_OUT == *"ca clean"* ]] && not_ok "3: no advice to clean the name on the CA" "$TASK_OUT" || ok "3: no advice to clean the name on the CA"
    no_staging "3: the stale staging (with its key) is removed" "$c3"
    assert_eq "$live3" "$(fp_of "$c3/ssl/certs/$n3.pem")" "3: the live certificate is untouched"
    assert_cmd "3: puppet agent -t passes" -- stack_agent_run "$n3"
    # the new order: killed with only the journal left; the rerun finishes
    n3b=cleanup2-$$.auto.test
    c3b=$(new_agent "$n3b")
    stack_ca clean --certname "$n3b" >/dev/null 2>&1 || true
    (
        export TEST_TMP="$TEST_TMP/asan3b" CERT_REGEN_TASK_BIN="$ASAN_BIN" CERT_REGEN_TEST_KILL_AT=staging-emptied
        mkdir -p "$TEST_TMP"
        regen "$c3b" '"key_size": 2048'
        exit 0
    )
    assert_eq "journal.json" "$(find "$c3b/.ssl.cert_regen" -mindepth 1 -printf '%P ' 2>/dev/null | sed 's/ $//')" "3: killed in the cleanup: only the journal is left"
    regen "$c3b" '"key_size": 2048'
    expect_state regenerated "3: the rerun finishes the cleanup"
    assert_eq swapped "$(out steps.0.resumed_from)" "3: ... resuming from swapped"
    no_staging "3: staging removed" "$c3b"
    assert_cmd "3: puppet agent -t passes" -- stack_agent_run "$n3b"
else
    skip "3: kill points" "no ASan build with test hooks (make -C ext SAN=1)"
fi

finish
