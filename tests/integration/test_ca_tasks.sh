#!/bin/bash
# cert_regen::ca_clean, ca_sign and ca_list against the real puppetserver CA,
# run the way Bolt runs them, authenticated with the CA host's own
# certificate (pp_cli_auth) unless a test says otherwise.
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
stack_ensure
S=$STACK_SERVER_CONFDIR

csr_fp() { # the SHA-256 of a CSR's DER, upper-case colon hex
    openssl req -in "$1" -outform DER | sha256sum | cut -c1-64 | tr 'a-f' 'A-F' | sed 's/../&:/g; s/:$//'
}
ca_state() { stack_ca list --all 2>/dev/null | grep -F "\"$1\"" | head -n 1; }

# --- sign: wrong fingerprint refused, right one signed
m="sign-$$.manual.test"
mconf=$(stack_agent "$m")
stack_bootstrap "$m" >/dev/null 2>&1 || true
fp=$(csr_fp "$mconf/ssl/certificate_requests/$m.pem")
task_run ca_sign "{\"confdir\":\"$S\",\"certnames\":[\"$m\"],\"expected_fingerprints\":{\"$m\":\"$(echo "$fp" | sed 's/^../00/')\"}}"
assert_eq 1 "$TASK_RC" "ca_sign with a wrong fingerprint fails"
assert_eq cert_regen/ca-partial-failure "$(json_get "$TASK_OUT" _error.kind)" "kind ca-partial-failure"
assert_eq cert_regen/fingerprint-mismatch "$(json_get "$TASK_OUT" _error.details.results.0.error.kind)" "the name is refused with fingerprint-mismatch"
assert_match "Requested|requested" "$(stack_ca list 2>&1)" "the CSR is still waiting on the CA"
task_run ca_sign "{\"confdir\":\"$S\",\"certnames\":[\"$m\"],\"expected_fingerprints\":{\"$m\":\"$fp\"}}"
assert_eq 0 "$TASK_RC" "ca_sign with the CSR's fingerprint exits 0"
assert_eq signed "$(json_get "$TASK_OUT" results.0.outcome)" "outcome signed"
assert_eq "$fp" "$(json_get "$TASK_OUT" results.0.fingerprint)" "the CA's fingerprint is the CSR's DER SHA-256"
assert_cmd "the agent gets its signed certificate" -- stack_bootstrap "$m"
assert_cmd "puppet ssl verify passes" -- stack_puppet "$m" ssl verify

# --- already signed under autosign
a="auto-$$.auto.test"
stack_agent "$a" >/dev/null
stack_bootstrap "$a" >/dev/null 2>&1
task_run ca_sign "{\"confdir\":\"$S\",\"certnames\":[\"$a\"]}"
assert_eq already_signed "$(json_get "$TASK_OUT" results.0.outcome)" "an autosigned name is already_signed"
task_run ca_sign "{\"confdir\":\"$S\",\"certnames\":[\"nobody-$$.test\"]}"
assert_eq cert_regen/no-request "$(json_get "$TASK_OUT" _error.details.results.0.error.kind)" "signing an unknown name: no-request with a next step"

# --- list
task_run ca_list "{\"confdir\":\"$S\"}"
assert_eq 0 "$TASK_RC" "ca_list exits 0"
assert_match "\"name\":\"$a\"" "$TASK_OUT" "ca_list lists the agent"
assert_eq "true" "$(printf '%s' "$TASK_OUT" | ruby -rjson -e 'c = JSON.parse(STDIN.read)["certificates"].map { |x| x["expires_in_days"] || -1 }; print c == c.sort')" "ca_list is sorted by expiry"
task_run ca_list "{\"confdir\":\"$S\",\"state\":\"signed\",\"expiring_within_days\":0}"
assert_eq 0 "$(json_get "$TASK_OUT" count)" "nothing expires within 0 days"
task_run ca_list "{\"confdir\":\"$S\",\"state\":\"bogus\"}"
assert_eq cert_regen/invalid-parameter "$(json_get "$TASK_OUT" _error.kind)" "state bogus rejected"

# --- clean: revoke + delete, idempotent
serial=$(openssl x509 -in "$STACK_CADIR/signed/$a.pem" -noout -serial | sed 's/serial=//')
task_run ca_clean "{\"confdir\":\"$S\",\"certnames\":[\"$a\"]}"
assert_eq 0 "$TASK_RC" "ca_clean exits 0"
assert_eq cleaned "$(json_get "$TASK_OUT" results.0.outcome)" "outcome cleaned"
assert_eq true "$(json_get "$TASK_OUT" results.0.revoked)" "it was revoked"
assert_cmd "the signed cert is gone from the CA" -- test ! -e "$STACK_CADIR/signed/$a.pem"
curl -sf --cacert "$STACK_CACERT" "$STACK_URL/puppet-ca/v1/certificate_revocation_list/ca" -o "$TEST_TMP/crl.pem"
assert_match "Serial Number: 0*$serial" "$(openssl crl -in "$TEST_TMP/crl.pem" -noout -text 2>/dev/null)" "its serial is in the CA's CRL"
task_run ca_clean "{\"confdir\":\"$S\",\"certnames\":[\"$a\"]}"
assert_eq nothing_to_clean "$(json_get "$TASK_OUT" results.0.outcome)" "cleaning again: nothing_to_clean, not a failure"
assert_eq 0 "$TASK_RC" "cleaning again exits 0"

# --- refusals: unauthorised cert, unreachable CA, a CA that is not ours
u="user-$$.auto.test"
uconf=$(stack_agent "$u")
stack_bootstrap "$u" >/dev/null 2>&1
task_run ca_clean "{\"confdir\":\"$S\",\"certnames\":[\"$m\"],\"cert\":\"$uconf/ssl/certs/$u.pem\",\"key\":\"$uconf/ssl/private_keys/$u.pem\"}"
assert_eq cert_regen/ca-unauthorized "$(json_get "$TASK_OUT" _error.kind)" "an agent cert without pp_cli_auth: ca-unauthorized"
assert_cmd "nothing changed: $m still verifies" -- stack_puppet "$m" ssl verify
task_run ca_list "{\"confdir\":\"$S\",\"ca_port\":1}"
assert_eq cert_regen/ca-unreachable "$(json_get "$TASK_OUT" _error.kind)" "closed port: ca-unreachable"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TEST_TMP/other.key" -out "$TEST_TMP/other.pem" -subj /CN=other-ca -days 2 2>/dev/null
task_run ca_list "{\"confdir\":\"$S\",\"cacert\":\"$TEST_TMP/other.pem\"}"
assert_eq cert_regen/ca-tls-error "$(json_get "$TASK_OUT" _error.kind)" "a server that does not chain to cacert: ca-tls-error"
task_run ca_clean "{\"confdir\":\"$S\",\"certnames\":[]}"
assert_eq cert_regen/invalid-parameter "$(json_get "$TASK_OUT" _error.kind)" "empty certnames rejected"
task_run ca_clean "{\"confdir\":\"$S\",\"certnames\":[\"Bad/Name\"]}"
assert_eq cert_regen/invalid-parameter "$(json_get "$TASK_OUT" _error.kind)" "an invalid certname is rejected before any request"
finish
