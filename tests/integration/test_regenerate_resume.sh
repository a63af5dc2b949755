#!/bin/bash
# cert_regen::regenerate edge cases of a first identity and of resuming:
#  - an agent that never ran Puppet (no statedir, no public_keys/, only the
#    CA bundle and CRL in its ssldir) gets its identity;
#  - a run killed after downloading its certificate, whose name is then
#    cleaned on the CA, never installs that revoked certificate when
#    resumed: it submits the staged CSR again (same key) instead;
#  - a run left pending (journal "submitted") whose CSR is then cleaned on
#    the CA submits that CSR again when resumed, instead of waiting for a
#    request the CA no longer holds.
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
. "$REPO_ROOT/tests/lib/agents.sh"
# the ASan+UBSan test build: it has the kill points (task_run copies it once)
task_use_asan hooks
stack_ensure
S=$STACK_SERVER_CONFDIR

n="fresh-$$.auto.test"
c=$(stack_agent "$n")
mkdir -p "$c/ssl/certs"
cp "$STACK_CACERT" "$c/ssl/certs/ca.pem"
cp "$STACK_SSLDIR/crl.pem" "$c/ssl/crl.pem"
rm -rf "$c/var/state"
task_run regenerate "{\"confdir\":\"$c\",\"services\":[],\"key_type\":\"ec\"}"
assert_eq regenerated "$(json_get "$TASK_OUT" state)" "a never-run agent gets its first identity"
assert_eq null "$(json_get "$TASK_OUT" before)" "before is null: there was no certificate"
assert_cmd "public_keys/ was created with the public key" -- test -s "$c/ssl/public_keys/$n.pem"
assert_cmd "puppet ssl verify passes" -- stack_puppet "$n" ssl verify

m="resume-$$.auto.test"
mc=$(stack_agent "$m")
stack_bootstrap "$m" >/dev/null 2>&1
stack_ca clean --certname "$m" >/dev/null 2>&1
CERT_REGEN_TEST_KILL_AT=signed \
    task_run regenerate "{\"confdir\":\"$mc\",\"services\":[],\"key_type\":\"ec\"}"
assert_match "^(137|1)$" "$TASK_RC" "the run is killed after downloading its certificate"
staged_fp=$(openssl x509 -in "$mc/.ssl.cert_regen/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
task_run ca_clean "{\"confdir\":\"$S\",\"certnames\":[\"$m\"]}"
assert_eq cleaned "$(json_get "$TASK_OUT" results.0.outcome)" "the name is cleaned on the CA meanwhile (the downloaded cert is revoked)"
task_run regenerate "{\"confdir\":\"$mc\",\"services\":[]}"
assert_eq regenerated "$(json_get "$TASK_OUT" state)" "the resumed run ends regenerated (autosign signs the resubmitted CSR)"
assert_match "revoked on the CA since it was downloaded" "$(json_get "$TASK_OUT" warnings)" "it says why it resubmitted"
live_fp=$(openssl x509 -in "$mc/ssl/certs/$m.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
if [ "$live_fp" != "$staged_fp" ]; then ok "the revoked certificate was not installed"; else not_ok "the revoked certificate was not installed"; fi
assert_cmd "puppet ssl verify passes on the new identity" -- stack_puppet "$m" ssl verify

p="dropped-$$.manual.test"
pc=$(new_agent "$p")
stack_ca clean --certname "$p" >/dev/null 2>&1
task_run regenerate "{\"confdir\":\"$pc\",\"services\":[],\"wait_for_cert\":0}"
assert_eq pending "$(json_get "$TASK_OUT" state)" "a manual name's run is left pending (journal submitted)"
p_fp=$(json_get "$TASK_OUT" csr_fingerprint)
task_run ca_clean "{\"confdir\":\"$S\",\"certnames\":[\"$p\"]}"
assert_eq "" "$(stack_ca list 2>/dev/null | awk -v n="$p" '$1 == n { print $3 }')" "its CSR is cleaned on the CA meanwhile"
task_run regenerate "{\"confdir\":\"$pc\",\"services\":[],\"wait_for_cert\":0}"
assert_eq pending "$(json_get "$TASK_OUT" state)" "the resumed run is pending again"
assert_match "no longer holds the CSR" "$(json_get "$TASK_OUT" warnings)" "it says it submitted the CSR again"
assert_eq "$p_fp" "$(stack_ca list 2>/dev/null | awk -v n="$p" '$1 == n { print $3 }')" "the CA holds the same CSR again (same fingerprint)"
assert_cmd "sign it on the CA" -- stack_ca sign --certname "$p"
task_run regenerate "{\"confdir\":\"$pc\",\"services\":[],\"wait_for_cert\":0}"
assert_eq regenerated "$(json_get "$TASK_OUT" state)" "the next run installs the signed certificate"
assert_cmd "puppet ssl verify passes on that identity" -- stack_puppet "$p" ssl verify
finish
