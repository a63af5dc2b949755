# frozen_string_literal: true

# bench/fact_size.rb - how many bytes one node's cert_regen fact value takes
# (compact JSON, what PuppetDB stores per node) as the host certificate's
# subject alternative names grow: a synthetic ssldir shaped like Puppet 7's
# (RSA-2048 root and intermediate, both CRLs, RSA-2048 host key) with 1, 20
# and 50 DNS names of about 30 characters, read by CertRegen::Native.status.
# Needs `rake compile`.  Run: ruby bench/fact_size.rb
ROOT = File.expand_path("..", __dir__)
$LOAD_PATH.unshift(File.join(ROOT, 'lib')); require 'json'; require 'openssl'; require 'fileutils'; require 'tmpdir'; require 'cert_regen/native'
CertRegen::NativeLoader.load! or abort CertRegen::NativeLoader.reason
now = Time.now
def cert(subj, key, serial, issuer_cert, issuer_key, nb, na, ca: false, sans: [])
  c = OpenSSL::X509::Certificate.new; c.version = 2; c.serial = serial
  c.subject = OpenSSL::X509::Name.parse(subj); c.issuer = issuer_cert ? issuer_cert.subject : c.subject
  c.public_key = key.respond_to?(:public_to_der) ? key : key.public_key; c.not_before = nb; c.not_after = na
  ef = OpenSSL::X509::ExtensionFactory.new; ef.subject_certificate = c; ef.issuer_certificate = issuer_cert || c
  c.add_extension(ef.create_extension('basicConstraints', ca ? 'CA:TRUE' : 'CA:FALSE', true))
  c.add_extension(ef.create_extension('keyUsage', ca ? 'keyCertSign,cRLSign' : 'digitalSignature,keyEncipherment', true))
  c.add_extension(ef.create_extension('subjectKeyIdentifier', 'hash'))
  c.add_extension(ef.create_extension('authorityKeyIdentifier', 'keyid:always')) unless issuer_cert.nil? && !ca
  c.add_extension(ef.create_extension('subjectAltName', sans.map { |s| "DNS:#{s}" }.join(','))) unless sans.empty?
  c.sign(issuer_key, OpenSSL::Digest.new('SHA256')); c
end
def crl(ca, key, now)
  r = OpenSSL::X509::CRL.new; r.version = 1; r.issuer = ca.subject; r.last_update = now - 60; r.next_update = now + 5 * 365 * 86400
  r.sign(key, OpenSSL::Digest.new('SHA256')); r
end
TMP = Dir.mktmpdir('cr-fact-size')
at_exit { FileUtils.rm_rf(TMP) }
rk = OpenSSL::PKey::RSA.new(2048); ik = OpenSSL::PKey::RSA.new(2048); lk = OpenSSL::PKey::RSA.new(2048)
root = cert('/CN=Puppet Root CA: 0123456789abcd', rk, 1, nil, rk, now - 86400, now + 15 * 365 * 86400, ca: true)
inter = cert('/CN=Puppet CA: primary.example.com', ik, 2, root, rk, now - 86400, now + 15 * 365 * 86400, ca: true)
[1, 20, 50].each do |n|
  name = 'agent01.example.com'
  sans = n == 1 ? [name] : [name] + (1...n).map { |i| "alias#{i}.service.example.com" }
  leaf = cert("/CN=#{name}", lk, 10 + n, inter, ik, now - 86400, now + 5 * 365 * 86400, sans: sans)
  d = File.join(TMP, n.to_s); FileUtils.mkdir_p(["#{d}/certs", "#{d}/private_keys"])
  File.write("#{d}/certs/#{name}.pem", leaf.to_pem); File.write("#{d}/private_keys/#{name}.pem", lk.to_pem)
  File.write("#{d}/certs/ca.pem", inter.to_pem + root.to_pem); File.write("#{d}/crl.pem", crl(inter, ik, now).to_pem + crl(root, rk, now).to_pem)
  st = CertRegen::Native.status('confdir' => d, 'ssldir' => d, 'certname' => name)
  puts "#{n} SAN(s): health #{st['health']}, #{JSON.generate(st).bytesize} bytes"
end
