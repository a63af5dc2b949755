#!/bin/bash
# cr_http (the CA API client) against a real puppetserver CA, through the
# test driver `cert_regen ca-request`: the CA bundle and CRL, a manual CSR
# through requested -> signed -> revoked -> deleted, 403 for a client
# without pp_cli_auth, a wrong CA, a closed port, fingerprint pins, the
# bootstrap download, the body bound, the proxy environment, and what this
# puppetserver says about /expirations and /clean.
#
# CERT_REGEN_BIN overrides the binary (default files/bin/<platform>/cert_regen).
# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
# shellcheck source=tests/lib/stack.sh
. "$REPO_ROOT/tests/lib/stack.sh"

plat="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
X=${CERT_REGEN_BIN:-$REPO_ROOT/files/bin/$plat/cert_regen}
if ! "$X" ca-request --help >/dev/null 2>&1; then
    skip "cert_regen ca-request" "$X has no ca-request subcommand (dispatch missing in main.c?)"
    finish
fi

stack_ensure

CA=/puppet-ca/v1
SRV=(--server localhost --port "$STACK_PORT")
TRUST=(--cacert "$STACK_CACERT")
ADMIN=(--cert "$STACK_SSLDIR/certs/$STACK_CERTNAME.pem"
       --key "$STACK_SSLDIR/private_keys/$STACK_CERTNAME.pem")
T=$TEST_TMP

# car OUT ARGS...: cert_regen ca-request ARGS > OUT; CAR_RC = exit code.
car() {
    local out=$1
    shift
    CAR_RC=0
    "$X" ca-request "$@" >"$out" 2>"$out.err" </dev/null || CAR_RC=$?
}

# expect_error OUT KIND STATUS DESC
expect_error() {
    local out=$1 kind=$2 status=$3 desc=$4 got
    got="rc=$CAR_RC kind=$(json_get "$out" _error.kind 2>/dev/null || true) status=$(json_get "$out" _error.details.status 2>/dev/null || true)"
    assert_eq "rc=1 kind=$kind status=$status" "$got" "$desc"
}

# --- CA bundle and CRL ------------------------------------------------
car "$T/ca.json" GET "$CA/certificate/ca" "${SRV[@]}" "${TRUST[@]}"
assert_eq "0 cr_ca_get_ca_bundle 200 2" \
    "$CAR_RC $(json_get "$T/ca.json" helper) $(json_get "$T/ca.json" status) $(json_get "$T/ca.json" certs)" \
    "GET certificate/ca: 200, two certificates parsed (root + intermediate)"
json_get "$T/ca.json" body >"$T/ca_body.pem"
assert_eq "$(cat "$STACK_CADIR/ca_crt.pem")" "$(cat "$T/ca_body.pem")" "the bundle is the CA's ca_crt.pem"
car "$T/raw.json" GET "$CA/certificate/ca" "${SRV[@]}" "${TRUST[@]}" --raw
assert_eq "0 cr_http_request text/plain" "$CAR_RC $(json_get "$T/raw.json" helper) $(json_get "$T/raw.json" content_type)" \
    "--raw goes through cr_http_request and reports the content type"

car "$T/crl.json" GET "$CA/certificate_revocation_list/ca" "${SRV[@]}" "${TRUST[@]}"
assert_eq "0 cr_ca_get_crl 2" "$CAR_RC $(json_get "$T/crl.json" helper) $(json_get "$T/crl.json" crls)" \
    "GET the CRL: two CRLs parsed"
json_get "$T/crl.json" body >"$T/crl.pem"
assert_cmd "openssl reads the CRL" -- openssl crl -in "$T/crl.pem" -noout

# --- a manual CSR through its life ------------------------------------
name=http-$$.manual.test
assert_cmd "openssl makes a CSR for $name" -- \
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$name" \
    -keyout "$T/$name.key" -out "$T/$name.csr"
car "$T/put.json" PUT "$CA/certificate_request/$name" --body-file "$T/$name.csr" "${SRV[@]}" "${TRUST[@]}"
assert_eq "0 cr_ca_put_csr 200" "$CAR_RC $(json_get "$T/put.json" helper) $(json_get "$T/put.json" status)" \
    "PUT certificate_request/$name"

car "$T/st.json" GET "$CA/certificate_status/$name" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
assert_eq "0 $name requested" "$CAR_RC $(json_get "$T/st.json" body.name) $(json_get "$T/st.json" body.state)" \
    "GET certificate_status with the CA host's cert (pp_cli_auth): requested"
assert_match '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' "$(json_get "$T/st.json" body.fingerprint)" "the status carries a SHA-256 fingerprint"

car "$T/noauth.json" GET "$CA/certificate_status/$name" "${SRV[@]}" "${TRUST[@]}"
expect_error "$T/noauth.json" cert_regen/ca-unauthorized 403 "certificate_status without a client cert: ca-unauthorized, 403"
assert_eq "https://localhost:$STACK_PORT$CA/certificate_status/$name" "$(json_get "$T/noauth.json" _error.details.url)" \
    "the error names the URL"
assert_match 'Forbidden request' "$(json_get "$T/noauth.json" _error.details.body)" "the error carries the server's words"

printf '{"desired_state":"signed"}' >"$T/sign.json"
car "$T/signed.json" PUT "$CA/certificate_status/$name" --body-file "$T/sign.json" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
assert_eq "0 cr_ca_status_put 204" "$CAR_RC $(json_get "$T/signed.json" helper) $(json_get "$T/signed.json" status)" \
    "PUT certificate_status desired_state=signed: 204"

car "$T/cert.json" GET "$CA/certificate/$name" "${SRV[@]}" "${TRUST[@]}"
assert_eq "0 cr_ca_get_cert 1" "$CAR_RC $(json_get "$T/cert.json" helper) $(json_get "$T/cert.json" certs)" \
    "GET certificate/$name: one PEM certificate"
json_get "$T/cert.json" body >"$T/$name.pem"
assert_eq "$(openssl pkey -in "$T/$name.key" -pubout)" "$(openssl x509 -in "$T/$name.pem" -noout -pubkey)" \
    "the signed certificate carries the CSR's key"
assert_cmd "it verifies against the CA bundle" -- openssl verify -CAfile "$STACK_CACERT" "$T/$name.pem"

car "$T/list.json" GET "$CA/certificate_statuses/any_key?state=signed" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
assert_match "\"name\":\"$name\"" "$(json_get "$T/list.json" body)" "certificate_statuses?state=signed lists $name"

printf '{"desired_state":"revoked"}' >"$T/revoke.json"
car "$T/rev.json" PUT "$CA/certificate_status/$name" --body-file "$T/revoke.json" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
assert_eq "0 204" "$CAR_RC $(json_get "$T/rev.json" status)" "PUT certificate_status desired_state=revoked: 204"
car "$T/st2.json" GET "$CA/certificate_status/$name" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
assert_eq revoked "$(json_get "$T/st2.json" body.state)" "the status says revoked"
serial=$(openssl x509 -in "$T/$name.pem" -noout -serial | sed 's/^serial=//')
car "$T/crl2.json" GET "$CA/certificate_revocation_list/ca" "${SRV[@]}" "${TRUST[@]}"
json_get "$T/crl2.json" body | openssl crl -noout -text >"$T/crl2.txt"
assert_match "Serial Number: 0*$serial" "$(tr '\n' ' ' <"$T/crl2.txt")" "the CRL now lists serial $serial"

car "$T/again.json" PUT "$CA/certificate_status/$name" --body-file "$T/sign.json" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
expect_error "$T/again.json" cert_regen/ca-error 409 "signing a revoked cert again: ca-error 409"

car "$T/del.json" DELETE "$CA/certificate_status/$name" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
assert_eq "0 cr_ca_status_delete 204" "$CAR_RC $(json_get "$T/del.json" helper) $(json_get "$T/del.json" status)" \
    "DELETE certificate_status: 204"
car "$T/gone.json" GET "$CA/certificate/$name" "${SRV[@]}" "${TRUST[@]}"
expect_error "$T/gone.json" cert_regen/ca-error 404 "GET certificate/$name after DELETE: ca-error 404"
car "$T/gone2.json" GET "$CA/certificate_status/$name" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
expect_error "$T/gone2.json" cert_regen/ca-error 404 "GET certificate_status after DELETE: ca-error 404"

# --- an agent cert without pp_cli_auth --------------------------------
agent=http-agent-$$.auto.test
aconf=$(stack_agent "$agent")
assert_cmd "agent $agent bootstraps" -- stack_bootstrap "$agent"
AGENT=(--cert "$aconf/ssl/certs/$agent.pem" --key "$aconf/ssl/private_keys/$agent.pem")
car "$T/a403.json" GET "$CA/certificate_status/$agent" "${SRV[@]}" "${TRUST[@]}" "${AGENT[@]}"
expect_error "$T/a403.json" cert_regen/ca-unauthorized 403 "certificate_status with an agent cert (no pp_cli_auth): ca-unauthorized"
car "$T/a403b.json" GET "$CA/certificate_statuses/any_key" "${SRV[@]}" "${TRUST[@]}" "${AGENT[@]}"
expect_error "$T/a403b.json" cert_regen/ca-unauthorized 403 "certificate_statuses with an agent cert: ca-unauthorized"
car "$T/aok.json" GET "$CA/certificate/$agent" "${SRV[@]}" "${TRUST[@]}" "${AGENT[@]}"
assert_eq "0 1" "$CAR_RC $(json_get "$T/aok.json" certs)" "the agent cert may fetch its own certificate"
car "$T/conf.json" GET "$CA/certificate/ca" --confdir "$aconf"
assert_eq "0 2" "$CAR_RC $(json_get "$T/conf.json" certs)" \
    "server, port and CA bundle from the agent's puppet.conf (--confdir)"

# --- TLS and transport failures ---------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=Not the Puppet CA" -days 2 \
    -keyout "$T/fake.key" -out "$T/fake.pem" >/dev/null 2>&1
car "$T/wrongca.json" GET "$CA/certificate/ca" "${SRV[@]}" --cacert "$T/fake.pem"
expect_error "$T/wrongca.json" cert_regen/ca-tls-error 0 "a self-signed CA the server does not chain to: ca-tls-error"
car "$T/sysca.json" GET "$CA/certificate/ca" "${SRV[@]}" --cacert /etc/ssl/certs/ca-certificates.crt
expect_error "$T/sysca.json" cert_regen/ca-tls-error 0 "the system CA bundle does not vouch for the Puppet CA"

other_name=$(awk '$1 == "127.0.0.1" { for (i = 2; i <= NF; i++) if ($i != "localhost" && $i != "'"$STACK_CERTNAME"'") { print $i; exit } }' /etc/hosts)
if [ -n "$other_name" ]; then
    car "$T/host.json" GET "$CA/certificate/ca" --server "$other_name" --port "$STACK_PORT" "${TRUST[@]}"
    expect_error "$T/host.json" cert_regen/ca-tls-error 0 "a host name ($other_name) not in the server cert's SANs: ca-tls-error"
else
    skip "host name mismatch" "no other name for 127.0.0.1 in /etc/hosts"
fi

closed=$(_stack_pick_port)
t0=$(date +%s%N)
car "$T/closed.json" GET "$CA/certificate/ca" --server 127.0.0.1 --port "$closed" "${TRUST[@]}" --connect-timeout 3
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_error "$T/closed.json" cert_regen/ca-unreachable 0 "a closed port: ca-unreachable"
assert_eq 1 "$([ "$ms" -lt 3000 ] && echo 1 || echo "$ms ms")" "... within the connect time-out"

car "$T/big.json" GET "$CA/certificate/ca" "${SRV[@]}" "${TRUST[@]}" --max-body 1000
expect_error "$T/big.json" cert_regen/ca-protocol-error 200 "a bundle over --max-body 1000: ca-protocol-error, not a truncation"

CAR_RC=0
env https_proxy="http://127.0.0.1:$closed" HTTPS_PROXY="http://127.0.0.1:$closed" \
    ALL_PROXY="http://127.0.0.1:$closed" http_proxy="http://127.0.0.1:$closed" \
    "$X" ca-request GET "$CA/certificate/ca" "${SRV[@]}" "${TRUST[@]}" >"$T/proxy.json" 2>/dev/null || CAR_RC=$?
assert_eq 0 "$CAR_RC" "proxy variables in the environment are ignored"
car "$T/proxy2.json" GET "$CA/certificate/ca" "${SRV[@]}" "${TRUST[@]}" --proxy "http://127.0.0.1:$closed"
expect_error "$T/proxy2.json" cert_regen/ca-unreachable 0 "an explicit --proxy is used (closed: ca-unreachable)"

# --- fingerprint pins ---------------------------------------------------
awk -v d="$T" '/BEGIN CERT/ { n++ } { print > (d "/bundle" n ".pem") }' "$STACK_CACERT"
fp_inter=$(openssl x509 -in "$T/bundle1.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
fp_root=$(openssl x509 -in "$T/bundle2.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
fp_text=$(sha256sum "$STACK_CACERT" | cut -c1-64)
fp_fake=$(openssl x509 -in "$T/fake.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
for fp in "$fp_root" "$fp_inter" "$fp_text"; do
    car "$T/pin.json" GET "$CA/certificate/ca" "${SRV[@]}" "${TRUST[@]}" --ca-fingerprint "$fp"
    assert_eq 0 "$CAR_RC" "pin ${fp:0:11}... matches the CA bundle"
done
car "$T/pinbad.json" GET "$CA/certificate/ca" "${SRV[@]}" "${TRUST[@]}" --ca-fingerprint "$fp_fake"
expect_error "$T/pinbad.json" cert_regen/ca-pin-mismatch 0 "a pin of another CA: ca-pin-mismatch"
for fp in "$fp_root" "$fp_text"; do
    car "$T/boot.json" GET "$CA/certificate/ca" "${SRV[@]}" --bootstrap --ca-fingerprint "$fp"
    assert_eq "0 2" "$CAR_RC $(json_get "$T/boot.json" certs)" "bootstrap (no CA bundle) with pin ${fp:0:11}...: the bundle is accepted"
done
car "$T/bootbad.json" GET "$CA/certificate/ca" "${SRV[@]}" --bootstrap --ca-fingerprint "$fp_fake"
expect_error "$T/bootbad.json" cert_regen/ca-pin-mismatch 200 "bootstrap with a wrong pin: ca-pin-mismatch"
car "$T/bootnopin.json" GET "$CA/certificate/ca" "${SRV[@]}" --bootstrap
assert_eq "1 cert_regen/invalid-parameter" "$CAR_RC $(json_get "$T/bootnopin.json" _error.kind)" \
    "bootstrap without a pin is refused"

# --- endpoints of this puppetserver version -----------------------------
car "$T/exp.json" GET "$CA/expirations" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
printf '# /expirations (admin cert): rc=%s %s\n' "$CAR_RC" "$(head -c 400 "$T/exp.json")"
assert_eq 0 "$CAR_RC" "GET /expirations answers with a client cert"
assert_match '"ca-certs"' "$(json_get "$T/exp.json" body)" "... a JSON object with ca-certs"
car "$T/exp2.json" GET "$CA/expirations" "${SRV[@]}" "${TRUST[@]}"
printf '# /expirations (no cert): %s\n' "$(json_get "$T/exp2.json" _error.msg 2>/dev/null | head -c 200)"
car "$T/exp3.json" GET "$CA/expirations" "${SRV[@]}" "${TRUST[@]}" "${AGENT[@]}"
printf '# /expirations (agent cert): rc=%s status=%s\n' "$CAR_RC" "$(json_get "$T/exp3.json" status 2>/dev/null || json_get "$T/exp3.json" _error.details.status)"

cname=http-clean-$$.auto.test
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$cname" -keyout "$T/c.key" -out "$T/c.csr" >/dev/null 2>&1
car "$T/cput.json" PUT "$CA/certificate_request/$cname" --body-file "$T/c.csr" "${SRV[@]}" "${TRUST[@]}"
car "$T/cst.json" GET "$CA/certificate_status/$cname" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
assert_eq signed "$(json_get "$T/cst.json" body.state)" "$cname was autosigned"
printf '{"certnames":["%s"]}' "$cname" >"$T/clean.json"
car "$T/clean.out" PUT "$CA/clean" --body-file "$T/clean.json" --content-type application/json \
    "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
printf '# /clean: rc=%s %s\n' "$CAR_RC" "$(head -c 300 "$T/clean.out")"
assert_eq "0 200" "$CAR_RC $(json_get "$T/clean.out" status)" "PUT /clean exists on this puppetserver"
car "$T/cgone.json" GET "$CA/certificate_status/$cname" "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
expect_error "$T/cgone.json" cert_regen/ca-error 404 "... and removed $cname"
printf '{"certnames":["never-existed-%s.test"]}' "$$" >"$T/clean2.json"
car "$T/clean2.out" PUT "$CA/clean" --body-file "$T/clean2.json" --content-type application/json \
    "${SRV[@]}" "${TRUST[@]}" "${ADMIN[@]}"
printf '# /clean of an unknown name: rc=%s %s\n' "$CAR_RC" "$(head -c 300 "$T/clean2.out")"

# --- round trip, for the record (not asserted) ---------------------------
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
car "$T/rep.json" GET "$CA/certificate/ca" "${SRV[@]}" "${TRUST[@]}" --repeat 21
printf '# in-process GET certificate/ca, one handle, median of 21: %.1f ms (first, with the handshake: %.1f ms)\n' \
    "$(json_get "$T/rep.json" times_ms | tr -d '[]' | tr ',' '\n' | median)" \
    "$(json_get "$T/rep.json" times_ms.0)"
for i in $(seq 1 11); do
    s=$(date +%s%N); "$X" ca-request GET "$CA/certificate/ca" "${SRV[@]}" "${TRUST[@]}" >/dev/null
    echo $(( ($(date +%s%N) - s) / 1000 ))
done | median | awk '{ printf "# cert_regen ca-request process, median of 11: %.1f ms\n", $1 / 1000 }'
for i in $(seq 1 11); do
    s=$(date +%s%N); curl -fsS --cacert "$STACK_CACERT" "$STACK_URL$CA/certificate/ca" >/dev/null
    echo $(( ($(date +%s%N) - s) / 1000 ))
done | median | awk '{ printf "# curl(1) process, median of 11: %.1f ms\n", $1 / 1000 }'

finish
