#!/usr/bin/env bash
# test_csr_puppet.sh - keys and CSRs made by cr_keygen/cr_csr are what
# Puppet makes and reads:
#   - test_keygen_csr (unit runner) exports rsa/ec key + CSR (CR_EXPORT_DIR);
#   - openssl: self-signature, SANs, pp_* values DER UTF8String,
#     challengePassword PrintableString;
#   - Puppet's own CertificateRequest#generate, given the same key and
#     inputs, produces a byte-identical RSA CSR; Puppet parses ours;
#   - `puppet ssl verify` accepts our key (traditional PEM, and PKCS#8)
#     with a certificate issued from our CSR, and refuses a wrong key.
# shellcheck source=../lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"

EXP="$TEST_TMP/export"
RUNNER="$REPO_ROOT/build/release/unit/test_keygen_csr"
mkdir -p "$EXP"

if ! make -s -C "$REPO_ROOT/ext" "$RUNNER" >"$TEST_TMP/build.log" 2>&1; then
    not_ok "build test_keygen_csr" "$(tail -n 20 "$TEST_TMP/build.log")"
    finish
fi
assert_cmd "unit runner exports keys and CSRs" -- env CR_EXPORT_DIR="$EXP" "$RUNNER"

for t in rsa ec; do
    assert_cmd "$t: openssl verifies the CSR self-signature" -- \
        openssl req -in "$EXP/$t.csr" -verify -noout
    text=$(openssl req -in "$EXP/$t.csr" -noout -text 2>&1)
    assert_match 'DNS:agent\.example\.com, DNS:puppet, DNS:puppet\.example\.com, IP Address:192\.0\.2\.10' \
        "$text" "$t: SAN = certname + alt names, sorted as Puppet does"
    assert_match 'challengePassword +:s3cr3t' "$text" "$t: challengePassword attribute"
    parse=$(openssl asn1parse -in "$EXP/$t.csr")
    # OCTET STRING right after the OID = DER UTF8String (0x0C, length, bytes)
    role=$(printf '%s\n' "$parse" | grep -A1 ':1.3.6.1.4.1.34380.1.1.13$' | sed -n 's/.*\[HEX DUMP\]://p')
    assert_eq "0C09$(printf webserver | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" "$role" \
        "$t: pp_role value is DER UTF8String 'webserver'"
    assert_match 'PRINTABLESTRING +:s3cr3t' "$parse" "$t: challengePassword is a PrintableString"
    head1=$(head -n 1 "$EXP/$t.key")
    want="-----BEGIN ${t^^} PRIVATE KEY-----"
    assert_eq "$want" "$head1" "$t: key in Puppet's (traditional) PEM format"
done

# Puppet's generator with the same key and inputs; Puppet reading ours.
cat >"$TEST_TMP/puppet_csr.rb" <<'EOF'
require 'puppet'
dir = ARGV[0]
Puppet.initialize_settings(['--confdir', "#{dir}/conf", '--vardir', "#{dir}/var",
                            '--certname', 'agent.example.com'])
Puppet::SSL::Oids.register_puppet_oids
key = OpenSSL::PKey.read(File.read("#{dir}/rsa.key"))
theirs = Puppet::SSL::CertificateRequest.new('agent.example.com').generate(key,
  dns_alt_names: 'puppet, puppet.example.com, IP:192.0.2.10',
  csr_attributes: { '1.2.840.113549.1.9.7' => 's3cr3t' },
  extension_requests: { 'pp_role' => 'webserver', 'pp_environment' => 'production',
                        '1.3.6.1.4.1.34380.1.2.1' => 'private value' })
ours = OpenSSL::X509::Request.new(File.read("#{dir}/rsa.csr"))
puts "identical=#{theirs.to_der == ours.to_der}"
%w[rsa ec].each do |t|
  r = Puppet::SSL::CertificateRequest.from_s(File.read("#{dir}/#{t}.csr"))
  ext = r.request_extensions.reject { |e| e['oid'] == 'subjectAltName' }
                            .map { |e| "#{e['oid']}=#{e['value']}" }.join(',')
  puts "#{t}.ext=#{ext}"
  puts "#{t}.sans=#{r.subject_alt_names.join(',')}"
  puts "#{t}.custom=#{r.custom_attributes.map { |a| "#{a['oid']}=#{a['value']}" }.join(',')}"
end
EOF
if ruby "$TEST_TMP/puppet_csr.rb" "$EXP" >"$TEST_TMP/puppet.out" 2>&1; then
    out=$(cat "$TEST_TMP/puppet.out")
    assert_match 'identical=true' "$out" "rsa: byte-identical to Puppet's CertificateRequest#generate"
    for t in rsa ec; do
        assert_match "$t\.ext=pp_role=webserver,pp_environment=production,1\.3\.6\.1\.4\.1\.34380\.1\.2\.1=private value" \
            "$out" "$t: Puppet reads the extension requests"
        assert_match "$t\.sans=DNS:agent\.example\.com,DNS:puppet,DNS:puppet\.example\.com,IP Address:192\.0\.2\.10" \
            "$out" "$t: Puppet reads the alt names"
        assert_match "$t\.custom=challengePassword=s3cr3t" "$out" "$t: Puppet reads the custom attribute"
    done
else
    not_ok "Puppet generates and parses CSRs" "$(tail -n 20 "$TEST_TMP/puppet.out")"
fi

# puppet ssl verify: an ssldir with a cert issued from our CSR.
CA="$TEST_TMP/ca"
SSL="$TEST_TMP/ssl"
mkdir -p "$CA" "$SSL/certs" "$SSL/private_keys"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CA/ca.key" -out "$CA/ca.pem" \
    -subj "/CN=Test CA" -days 30 >/dev/null 2>&1
openssl x509 -req -in "$EXP/rsa.csr" -CA "$CA/ca.pem" -CAkey "$CA/ca.key" \
    -CAcreateserial -out "$SSL/certs/agent.example.com.pem" -days 30 \
    -copy_extensions copyall >/dev/null 2>&1
cp "$CA/ca.pem" "$SSL/certs/ca.pem"
verify() {
    puppet ssl verify --confdir "$TEST_TMP/conf" --vardir "$TEST_TMP/var" \
        --ssldir "$SSL" --certname agent.example.com --certificate_revocation false
}
cp "$EXP/rsa.key" "$SSL/private_keys/agent.example.com.pem"
assert_cmd "puppet ssl verify accepts our key (BEGIN RSA PRIVATE KEY)" -- verify
openssl pkey -in "$EXP/rsa.key" -out "$SSL/private_keys/agent.example.com.pem"
assert_eq "-----BEGIN PRIVATE KEY-----" "$(head -n 1 "$SSL/private_keys/agent.example.com.pem")" \
    "key converted to PKCS#8"
assert_cmd "puppet ssl verify accepts PKCS#8 (BEGIN PRIVATE KEY) too" -- verify
cp "$EXP/ec.key" "$SSL/private_keys/agent.example.com.pem"
assert_fail "puppet ssl verify refuses a key that is not the cert's" -- verify

finish
