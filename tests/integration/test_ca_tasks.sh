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
# --- every printed error ends with its next step in words (issue 15 #3):
# Bolt's human output prints _error.msg only.
assert_next_step() { # $1: what; checks the last TASK_OUT
    local r
    r=$(printf '%s' "$TASK_OUT" | ruby -rjson -e '
        e = (JSON.parse(STDIN.read)["_error"] rescue nil) or (print "no _error"; exit)
        ns = e.dig("details", "next_step").to_s
        print(ns.empty? ? "no details.next_step" : e["msg"].end_with?(" Next step: " + ns) ? "ok" : "msg: " + e["msg"])')
    assert_eq ok "$r" "$1: msg ends with ' Next step: ' + details.next_step"
}
task_run ca_clean "{\"confdir\":\"$S\",\"certnames\":[\"Bad/Name\"]}"
assert_next_step "invalid certname (default next step of invalid-parameter)"
task_run ca_list "{\"confdir\":\"$S\",\"ca_port\":1}"
assert_next_step "ca-unreachable"
task_run ca_sign "{\"confdir\":\"$S\",\"certnames\":[\"nobody-$$.test\"]}"
assert_next_step "ca-partial-failure"
# Bolt prints msg only: the failed names, their reasons and their shared
# next step must be in it, not only in details.results
assert_match "sign failed for 1 of 1 name\\(s\\): nobody-$$.test: the CA has no request" "$(json_get "$TASK_OUT" _error.msg)" "partial failure: msg names the failed name and why"
assert_match "Next step: run cert_regen::regenerate on the agent first" "$(json_get "$TASK_OUT" _error.msg)" "partial failure: msg ends with the rows' next step"
task_run status "{\"confdir\":\"$S\",\"bogus\":1}"
assert_next_step "status: unknown parameter"
task_run regenerate "{\"confdir\":\"$S\",\"ca_fingerprint\":7}"
assert_next_step "regenerate: wrong type"
task_run restore "{\"confdir\":\"$S\",\"ssldir\":\"$TEST_TMP/nossl\"}"
assert_next_step "restore: no backup"
task_run check_server "{\"confdir\":\"$S\",\"port\":1}"
assert_next_step "check_server: unreachable"
task_run primary_cert "{\"confdir\":\"$TEST_TMP/none\"}"
assert_next_step "primary_cert: confdir missing"

# --- the CA tasks on a host without a CA identity (issue 15 #5): a clear
# kind that says confdir must name the CA's, not "cannot open ...".
na="noca-$$.test"
naconf=$(stack_agent "$na")
for t in ca_list ca_clean ca_sign; do
    task_run "$t" "{\"confdir\":\"$naconf\",\"certnames\":[\"x.test\"]}"
    [ "$t" = ca_list ] && task_run ca_list "{\"confdir\":\"$naconf\"}"
    assert_eq cert_regen/not-a-ca-host "$(json_get "$TASK_OUT" _error.kind)" "$t on a host with no CA identity: not-a-ca-host"
    assert_match "no CA identity under confdir $naconf.*confdir must name the CA" "$(json_get "$TASK_OUT" _error.msg)" "$t: the message names the confdir and says it must be the CA's"
    assert_match "cert_regen_confdir" "$(json_get "$TASK_OUT" _error.details.next_step)" "$t: the next step names the plans' target variable"
    assert_next_step "$t not-a-ca-host"
done

# --- certnames: de-duplicated and capped; expected_fingerprints checked
# against certnames and for form before anything is signed (issue 10)
d="dup-$$.auto.test"
stack_agent "$d" >/dev/null
stack_bootstrap "$d" >/dev/null 2>&1
task_run ca_clean "{\"confdir\":\"$S\",\"certnames\":[\"$d\",\"$d\",\"$d\"]}"
assert_eq 0 "$TASK_RC" "ca_clean of one name listed three times exits 0"
assert_eq 1 "$(json_get "$TASK_OUT" results | ruby -rjson -e 'print JSON.parse(STDIN.read).length')" "a name listed three times is cleaned once (one result row)"
assert_eq cleaned "$(json_get "$TASK_OUT" results.0.outcome)" "and that row says cleaned"
big=$(ruby -rjson -e 'print JSON.generate({"confdir" => ARGV[0], "certnames" => Array.new(1001) { |i| "n#{i}.test" }})' "$S")
t0=$(date +%s)
task_run ca_clean "$big"
assert_eq cert_regen/invalid-parameter "$(json_get "$TASK_OUT" _error.kind)" "1001 certnames: invalid-parameter (the cap is 1000)"
assert_match "1 to 1000" "$(json_get "$TASK_OUT" _error.msg)" "the message gives the cap"
# 60,000 copies of one name (fits the 1 MiB input limit; too large for argv)
bin=${CERT_REGEN_TASK_BIN:-$REPO_ROOT/files/bin/$(uname -s | tr 'A-Z' 'a-z')-$(uname -m)/cert_regen}
out=$(ruby -rjson -e 'print JSON.generate({"confdir" => ARGV[0], "certnames" => Array.new(60000, "same.test")})' "$S" |
    "$bin" task ca_sign 2>/dev/null) || true
assert_eq cert_regen/invalid-parameter "$(json_get "$out" _error.kind)" "60,000 copies of one name: refused at once"
assert_cmd "both refusals took under 20 s" -- test $(( $(date +%s) - t0 )) -lt 20
p2="pend-$$.manual.test"
p2conf=$(stack_agent "$p2")
stack_bootstrap "$p2" >/dev/null 2>&1 || true
fp2=$(csr_fp "$p2conf/ssl/certificate_requests/$p2.pem")
task_run ca_sign "{\"confdir\":\"$S\",\"certnames\":[\"$p2\"],\"expected_fingerprints\":{\"${p2}x\":\"$fp2\"}}"
assert_eq cert_regen/invalid-parameter "$(json_get "$TASK_OUT" _error.kind)" "ca_sign: an expected_fingerprints entry for a name not in certnames is refused"
assert_eq "${p2}x" "$(json_get "$TASK_OUT" _error.details.entry)" "the refusal names the entry"
task_run ca_sign "{\"confdir\":\"$S\",\"certnames\":[\"$p2\"],\"expected_fingerprints\":{\"$p2\":\"${fp2}:\"}}"
assert_eq cert_regen/invalid-parameter "$(json_get "$TASK_OUT" _error.kind)" "ca_sign: a malformed fingerprint (trailing colon) is refused"
task_run ca_sign "{\"confdir\":\"$S\",\"certnames\":[\"$p2\"],\"expected_fingerprints\":{\"$p2\":\"nonsense\"}}"
assert_eq cert_regen/invalid-parameter "$(json_get "$TASK_OUT" _error.kind)" "ca_sign: a fingerprint that is not one is refused"
assert_match "Requested|requested" "$(stack_ca list 2>&1)" "nothing was signed by the refused calls"
task_run ca_sign "{\"confdir\":\"$S\",\"certnames\":[\"$p2\",\"$p2\"],\"expected_fingerprints\":{\"$p2\":\"$fp2\"}}"
assert_eq signed "$(json_get "$TASK_OUT" results.0.outcome)" "the right fingerprint, name listed twice: signed once"
assert_eq 1 "$(json_get "$TASK_OUT" summary.signed)" "summary: one signed"
finish
