#!/bin/bash
# Regenerates the seed corpora under tests/fuzz/corpus/<target>/ with
# openssl(1): a throwaway CA hierarchy (RSA root, EC intermediate), leaf
# certificates with SANs and pp_* extensions, CRLs (a 2-entry chain, one
# revocation), CSRs with SANs, pp_* extension requests and a
# challengePassword, private keys in PEM and DER, plus sample puppet.conf,
# csr_attributes.yaml, task parameters and CA answers.
#
# Every key written here is TEST DATA: generated on the spot, used for
# nothing else, named testonly_*.  Re-running replaces every seed (new keys,
# new serials); the fuzzers only need the shapes.
#   tests/fuzz/make_corpus.sh [OUTDIR]    (default tests/fuzz/corpus)
set -eu
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

ossl() { openssl "$@" 2>/dev/null; }

# ---- a CA hierarchy: root (RSA) -> intermediate (EC) -> leaves ----------
cat >ca.cnf <<'EOF'
[ca]
default_ca = ca_sect
[ca_sect]
dir = .
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = policy_any
copy_extensions = copy
unique_subject = no
[policy_any]
commonName = supplied
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:agent.example.com, DNS:puppet, IP:192.0.2.10, IP:2001:db8::10
1.3.6.1.4.1.34380.1.1.13 = ASN1:UTF8String:webserver
1.3.6.1.4.1.34380.1.1.12 = ASN1:UTF8String:production
1.3.6.1.4.1.34380.1.3.39 = ASN1:UTF8String:true
[req]
distinguished_name = dn
prompt = no
[dn]
CN = agent.example.com
[csr_ext]
subjectAltName = DNS:agent.example.com, DNS:puppet.example.com, IP:192.0.2.10
1.3.6.1.4.1.34380.1.1.1 = ASN1:UTF8String:ED803750-E3C7-44F5-BB08-41A04433FE2E
1.3.6.1.4.1.34380.1.1.13 = ASN1:UTF8String:webserver
1.3.6.1.4.1.34380.1.2.1 = ASN1:UTF8String:private-value
[csr_attrs]
challengePassword = testonly-secret
EOF

mkca() {	# dir
	mkdir -p "$1"
	: >"$1/index.txt"
	echo 1000 >"$1/serial"
	echo 1000 >"$1/crlnumber"
}
mkca root
mkca inter

ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out testonly_root.key
ossl req -new -x509 -config ca.cnf -key testonly_root.key -days 3650 \
    -subj "/CN=Puppet CA: testonly.example.com" -extensions v3_ca \
    -out root.pem
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out testonly_inter.key
ossl req -new -config ca.cnf -key testonly_inter.key \
    -subj "/CN=Puppet Intermediate CA: testonly.example.com" -out inter.csr
(cd root && ossl ca -batch -config ../ca.cnf -cert ../root.pem \
    -keyfile ../testonly_root.key -extensions v3_ca -in ../inter.csr \
    -out ../inter.pem -notext)

ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out testonly_leaf_rsa.key
ossl req -new -config ca.cnf -key testonly_leaf_rsa.key -out leaf.csr
(cd inter && ossl ca -batch -config ../ca.cnf -cert ../inter.pem \
    -keyfile ../testonly_inter.key -extensions v3_leaf -in ../leaf.csr \
    -out ../leaf.pem -notext)
ossl req -new -config ca.cnf -key testonly_leaf_rsa.key \
    -subj "/CN=revoked.example.com" -out revoked.csr
(cd inter && ossl ca -batch -config ../ca.cnf -cert ../inter.pem \
    -keyfile ../testonly_inter.key -extensions v3_leaf -in ../revoked.csr \
    -out ../revoked.pem -notext)
(cd inter && ossl ca -config ../ca.cnf -cert ../inter.pem \
    -keyfile ../testonly_inter.key -revoke ../revoked.pem \
    -crl_reason keyCompromise)
(cd root && ossl ca -config ../ca.cnf -cert ../root.pem \
    -keyfile ../testonly_root.key -gencrl -out ../root_crl.pem)
(cd inter && ossl ca -config ../ca.cnf -cert ../inter.pem \
    -keyfile ../testonly_inter.key -gencrl -out ../inter_crl.pem)

ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out testonly_leaf_ec.key
ossl req -new -x509 -config ca.cnf -key testonly_leaf_ec.key -days 3650 \
    -subj "/CN=selfsigned.example.com" -addext "subjectAltName=DNS:a.example.com" \
    -out ec_selfsigned.pem
ossl genpkey -algorithm ED25519 -out testonly_ed25519.key

# ---- certs: single, bundles, chains, DER ---------------------------------
d=$out/certs
rm -rf "$d" && mkdir -p "$d"
cp leaf.pem "$d/leaf_rsa_sans_pp.pem"
cp ec_selfsigned.pem "$d/selfsigned_ec.pem"
cat root.pem inter.pem >"$d/bundle_root_intermediate.pem"
cat leaf.pem inter.pem root.pem >"$d/leaf_then_chain.pem"
ossl x509 -in leaf.pem -outform DER -out "$d/leaf_rsa.der"
ossl x509 -in inter.pem -outform DER -out "$d/intermediate_ec.der"

# ---- CRLs: one, the 2-entry chain, a chain with its certificates ---------
d=$out/crls
rm -rf "$d" && mkdir -p "$d"
cp root_crl.pem "$d/crl_root_empty.pem"
cat inter_crl.pem root_crl.pem >"$d/crl_chain_2_entries.pem"
cat revoked.pem inter.pem root.pem inter_crl.pem root_crl.pem \
    >"$d/revoked_leaf_chain_and_crls.pem"
cat leaf.pem inter.pem root.pem inter_crl.pem root_crl.pem \
    >"$d/good_leaf_chain_and_crls.pem"
ossl crl -in inter_crl.pem -outform DER -out "$d/crl_intermediate_1_revoked.der"

# ---- CSRs -----------------------------------------------------------------
d=$out/csr
rm -rf "$d" && mkdir -p "$d"
ossl req -new -config ca.cnf -key testonly_leaf_rsa.key -reqexts csr_ext \
    -out "$d/csr_sans_pp_ext.pem"
# challengePassword as a custom attribute, as csr_attributes.yaml makes it
cat >attr.cnf <<'EOF'
[req]
distinguished_name = dn
attributes = attrs
req_extensions = ext
prompt = no
[dn]
CN = agent.example.com
[attrs]
challengePassword = testonly-secret
[ext]
subjectAltName = DNS:agent.example.com, IP:2001:db8::1
1.3.6.1.4.1.34380.1.1.4 = ASN1:UTF8String:testonly-psk
EOF
ossl req -new -config attr.cnf -key testonly_leaf_ec.key \
    -out "$d/csr_challenge_password_ec.pem"
ossl req -in "$d/csr_challenge_password_ec.pem" -outform DER \
    -out "$d/csr_challenge_password_ec.der"
ossl req -new -key testonly_ed25519.key -subj "/CN=plain.example.com" \
    -out "$d/csr_plain_ed25519.pem"

# ---- private keys ----------------------------------------------------------
# Not kept in the repository: tests/fuzz/run.sh makes the key target's seeds
# (RSA, EC, Ed25519; PEM, DER, PKCS#1, SEC1, encrypted) in its temporary work
# directory on every run.

# ---- csr_attributes.yaml ----------------------------------------------------
d=$out/csr_attributes
rm -rf "$d" && mkdir -p "$d"
cat >"$d/full.yaml" <<'EOF'
---
custom_attributes:
  1.2.840.113549.1.9.7: "testonly-challenge"
extension_requests:
  pp_uuid: ED803750-E3C7-44F5-BB08-41A04433FE2E
  pp_role: webserver
  pp_environment: production
  1.3.6.1.4.1.34380.1.2.1: private
  pp_auth_role: admin
EOF
cat >"$d/scalars.yaml" <<'EOF'
extension_requests:
  pp_cost_center: 0x1F
  pp_software_version: 1.50
  pp_zone: yes
  pp_region: ~
  pp_cluster: :sym
  pp_project: 1_000
  pp_network: 1:30:00
  pp_owner: 'single quoted'
  pp_service: "a \"double\" \u00e9"
  pp_department: !!str 2024-01-01
custom_attributes:
EOF
cat >"$d/block_scalars.yaml" <<'EOF'
# comment
extension_requests: {pp_role: web, pp_product: "x"}
custom_attributes:
  challengePassword: |
    multi
    line
EOF
printf 'extension_requests:\n  pp_role: &a x\n  pp_zone: *a\n' >"$d/alias_refused.yaml"
printf -- '---\n{}\n...\n' >"$d/empty_map.yaml"

# ---- puppet.conf -----------------------------------------------------------
d=$out/puppet_conf
rm -rf "$d" && mkdir -p "$d"
cat >"$d/agent.conf" <<'EOF'
# managed by puppet
[main]
certname = agent01.example.com
server = puppet.example.com
ssldir = $vardir/ssl { owner = service, mode = 0750 }
vardir = /opt/puppetlabs/puppet/cache

[agent]
ca_server = "ca.example.com"
ca_port = 8141
certificate_revocation = leaf
dns_alt_names = puppet,puppet.example.com
splay = TRUE
EOF
cat >"$d/server.conf" <<'EOF'
[master]
masterport = 8140
[server]
serverport = 0x1F90
cadir = ${ssldir}/ca
[main]
  hostcert = $certdir/$certname.pem
logdir = ~/log/
key_type = ec
named_curve = secp384r1
keylength = 3_072
autosign = /etc/puppetlabs/puppet/autosign.rb
EOF
printf '[main]\r\ncertname = x\r\nbad line\r\n' >"$d/crlf_bad_line.conf"
printf '[agent]\nssldir = ${confdir}/ssl\n' >"$d/brace_interpolation.conf"
printf '[main]\nvardir = $ssldir/v\nssldir = $vardir/s\n' >"$d/loop.conf"
rm -rf "$out/settings" && cp -r "$d" "$out/settings"

# ---- task parameters ---------------------------------------------------------
d=$out/task_params
rm -rf "$d" && mkdir -p "$d"
cat >"$d/regenerate.json" <<'EOF'
{"certname":"agent01.example.com","ca_server":"puppet.example.com","ca_port":8140,
 "dns_alt_names":["puppet","DNS:puppet.example.com","IP:192.0.2.1"],
 "extension_requests":{"pp_role":"web","1.3.6.1.4.1.34380.1.2.1":"x"},
 "key_type":"ec","curve":"prime256v1","wait_for_cert":120,"backup":true,
 "backup_dir":"/var/backups/puppet","services":["puppet","pxp-agent"],
 "lock_timeout":600,"_noop":false,"_task":"cert_regen::regenerate",
 "_installdir":"/tmp/x"}
EOF
cat >"$d/status.json" <<'EOF'
{"confdir":"/etc/puppetlabs/puppet","ssldir":"/etc/puppetlabs/puppet/ssl","certname":"a.example.com"}
EOF
cat >"$d/ca_sign.json" <<'EOF'
{"certnames":["a.example.com","b.example.com"],"expected_fingerprints":{"a.example.com":"AB:CD"},"ca_port":8140,"cacert":"/x/ca.pem"}
EOF
echo '{"state":"signed","expiring_within_days":30}' >"$d/ca_list.json"
echo '{"ssldir":"/a/../b","key_size":1,"certname":"UPPER"}' >"$d/invalid.json"
printf 'PT_certname=agent01.example.com\nPT_ca_port=8140\nPT_dns_alt_names=["a","b"]\nPT__noop=true\nPT_backup=false\n' \
    >"$d/env_regenerate.txt"

# ---- the CA's HTTP answers (4 header bytes, then the body) ----------------
d=$out/http_answer
rm -rf "$d" && mkdir -p "$d"
hdr() { printf "\\x$1\\x$2\\x$3\\x$4"; }	# endpoint, status hi, lo, chunk
{ hdr 00 00 c8 05; cat root.pem inter.pem; } >"$d/bootstrap_bundle_digest_pin"
{ hdr 40 00 c8 05; cat inter.pem root.pem; } >"$d/bootstrap_bundle_cert_pin"
{ hdr 80 00 c8 7f; cat root.pem; } >"$d/bootstrap_bundle_wrong_pin"
{ hdr 01 00 c8 01; cat leaf.pem; } >"$d/certificate_200"
{ hdr 02 00 c8 10; cat inter_crl.pem root_crl.pem; } >"$d/crl_200"
{ hdr 03 00 c8 02; printf '{"name":"a.example.com","state":"requested","fingerprint":"SHA256:%s","dns_alt_names":["DNS:a"]}' \
    "$(printf 'AB:%.0s' $(seq 31))CD"; } >"$d/status_requested"
{ hdr 04 00 c8 03; cat <<'EOF'
[{"name":"a.example.com","state":"signed","not_after":"2031-11-22T21:13:29UTC","fingerprint":"AB"},
 {"name":"b.example.com","state":"signed","not_after":"2026-01-22T21:13:29UTC"},
 {"name":"c.example.com","state":"requested","not_after":null},
 {"state":"revoked","not_after":"2027-01-01T00:00:00UTC"},
 {"name":null,"state":"signed"}]
EOF
} >"$d/statuses_list"
{ hdr 04 00 c8 83; printf '[1,2,3]'; } >"$d/statuses_too_large"
{ hdr 01 01 94 04; printf 'Not Found: Could not find certificate a.example.com'; } >"$d/certificate_404"
{ hdr 03 01 93 04; printf 'Forbidden request: /puppet-ca/v1/certificate_status/a (method :get).\r\n'; } >"$d/status_403"
{ hdr 05 01 99 04; printf '\x1b[31m<html>\t\x7fconflict</html>\n\n  '; } >"$d/put_409_control_chars"
{ hdr 05 01 f4 04; head -c 700 /dev/zero | tr '\0' 'x'; } >"$d/error_500_long_body"

printf "corpus: %s files, %s bytes\n" "$(find "$out" -type f | wc -l)" "$(du -sb "$out" | cut -f1)"
