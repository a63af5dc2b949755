# frozen_string_literal: true

# Plain RSpec + Facter (no Bundler, no rubygems activation needed).  The
# extension must be built for this Ruby first: `rake compile`.
require 'ipaddr'
require 'json'
require 'openssl'
require 'rbconfig'
require 'time'

ROOT = File.expand_path('..', __dir__)
$LOAD_PATH.unshift(File.join(ROOT, 'lib'))

require_relative 'support/pki'
require 'cert_regen/native'

unless CertRegen::NativeLoader.load!
  abort "spec: #{CertRegen::NativeLoader.reason}"
end

# What Ruby's own OpenSSL says about a certificate, CRL or key, in the
# formats the status hash uses.  The specs compare the extension against it.
module RubySays
  PLUMBING = %w[basicConstraints keyUsage extendedKeyUsage subjectKeyIdentifier
                authorityKeyIdentifier subjectAltName issuerAltName nsComment
                crlDistributionPoints authorityInfoAccess].freeze
  PUPPET_OIDS = { PKI::PP_ROLE_OID => 'pp_role' }.freeze

  module_function

  def name(n)
    n.to_s(OpenSSL::X509::Name::RFC2253)
  end

  def iso(t)
    t.utc.strftime('%Y-%m-%dT%H:%M:%SZ')
  end

  def days_until(t, now)
    (t.to_i - now.to_i).div(PKI::DAY) # floors: one second late is day -1
  end

  def fingerprint(cert)
    OpenSSL::Digest.hexdigest('SHA256', cert.to_der).upcase.scan(/../).join(':')
  end

  def serial(cert)
    cert.serial.to_s(16).upcase
  end

  # [dns names, ip addresses] from the DER of the subjectAltName extension.
  def sans(cert)
    ext = cert.extensions.find { |e| e.oid == 'subjectAltName' }
    return [[], []] unless ext

    dns = []
    ips = []
    OpenSSL::ASN1.decode(ext.value_der).value.each do |gn|
      case gn.tag
      when 2 then dns << gn.value
      when 7 then ips << IPAddr.new_ntoh(gn.value).to_s
      end
    end
    [dns, ips]
  end

  def extensions(cert)
    cert.extensions.reject { |e| PLUMBING.include?(e.oid) }.to_h do |e|
      decoded = OpenSSL::ASN1.decode(e.value_der)
      value = decoded.is_a?(OpenSSL::ASN1::UTF8String) ? decoded.value : e.value_der.unpack1('H*').upcase
      [PUPPET_OIDS.fetch(e.oid, e.oid), value]
    end
  end

  def key(pub)
    case pub
    when OpenSSL::PKey::RSA then { 'type' => 'RSA', 'bits' => pub.n.num_bits }
    when OpenSSL::PKey::EC
      { 'type' => 'EC', 'curve' => pub.group.curve_name, 'bits' => pub.group.degree }
    end
  end

  def cert(cert, now)
    dns, ips = sans(cert)
    {
      'subject' => name(cert.subject),
      'issuer' => name(cert.issuer),
      'serial' => serial(cert),
      'not_before' => iso(cert.not_before),
      'not_after' => iso(cert.not_after),
      'expires_in_days' => days_until(cert.not_after, now),
      'fingerprint_sha256' => fingerprint(cert),
      'dns_alt_names' => dns,
      'ip_alt_names' => ips,
      'extensions' => extensions(cert),
      'signature_algorithm' => cert.signature_algorithm,
      'key' => key(cert.public_key),
    }
  end

  def ca(cert, now)
    cert(cert, now).slice('subject', 'issuer', 'serial', 'not_before', 'not_after',
                          'expires_in_days', 'fingerprint_sha256')
  end

  def crl(crl, now)
    number = crl.extensions.find { |e| e.oid == 'crlNumber' }
    {
      'issuer' => name(crl.issuer),
      'last_update' => iso(crl.last_update),
      'next_update' => iso(crl.next_update),
      'expires_in_days' => days_until(crl.next_update, now),
      'revoked_count' => crl.revoked.size,
      'crl_number' => number && OpenSSL::ASN1.decode(number.value_der).value.to_s,
    }
  end

  # [valid?, error string] verifying leaf against bundle + CRLs at now, the
  # way Puppet does with certificate_revocation = chain.
  def verify(leaf, bundle, crls, now)
    store = OpenSSL::X509::Store.new
    bundle.each { |c| store.add_cert(c) }
    crls.each { |c| store.add_crl(c) }
    store.flags = OpenSSL::X509::V_FLAG_CRL_CHECK | OpenSSL::X509::V_FLAG_CRL_CHECK_ALL
    store.time = now
    ok = store.verify(leaf)
    [ok, ok ? nil : store.error_string]
  end

  def certs_in(path)
    File.read(path).scan(/-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n/m)
        .map { |pem| OpenSSL::X509::Certificate.new(pem) }
  end

  def crls_in(path)
    File.read(path).scan(/-----BEGIN X509 CRL-----.+?-----END X509 CRL-----\n/m)
        .map { |pem| OpenSSL::X509::CRL.new(pem) }
  end
end

RSpec.configure do |c|
  c.disable_monkey_patching!
  c.expect_with(:rspec) { |e| e.syntax = :expect }
  c.mock_with(:rspec) { |m| m.verify_partial_doubles = true }
  c.order = :defined

  # Tagged examples run their body with GC.stress (slow: use on a subset).
  c.around(:each, :gc_stress) do |ex|
    GC.stress = true
    begin
      ex.run
    ensure
      GC.stress = false
    end
  end
end
