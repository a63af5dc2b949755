# frozen_string_literal: true

# A pure-Ruby (ruby/openssl) version of CertRegen::Native.status, written
# only as the baseline for bench/fact_bench.rb: the same fields and health
# rules as ext/core/cr_status.c, but it takes ssldir and certname explicitly
# (no puppet.conf resolution) and has no per-part error isolation beyond
# what the comparison needs.  Not used by the module.
require 'ipaddr'
require 'openssl'

module CertRegen
  module PureRubyStatus
    PLUMBING = %w[basicConstraints keyUsage extendedKeyUsage subjectKeyIdentifier
                  authorityKeyIdentifier subjectAltName issuerAltName nsComment
                  crlDistributionPoints authorityInfoAccess].freeze
    PUPPET_OIDS = {
      '1.3.6.1.4.1.34380.1.1.13' => 'pp_role',
      '1.3.6.1.4.1.34380.1.1.12' => 'pp_environment',
      '1.3.6.1.4.1.34380.1.3.39' => 'pp_cli_auth',
    }.freeze
    DAY = 86_400

    module_function

    def iso(t)
      t.utc.strftime('%Y-%m-%dT%H:%M:%SZ')
    end

    def days(t, now)
      (t.to_i - now.to_i).div(DAY)
    end

    def name(n)
      n.to_s(OpenSSL::X509::Name::RFC2253)
    end

    def pems(path, label)
      File.read(path).scan(/-----BEGIN #{label}-----.+?-----END #{label}-----/m)
    end

    def sans(cert)
      dns = []
      ips = []
      ext = cert.extensions.find { |e| e.oid == 'subjectAltName' }
      ext && OpenSSL::ASN1.decode(ext.value_der).value.each do |gn|
        dns << gn.value if gn.tag == 2
        ips << IPAddr.new_ntoh(gn.value).to_s if gn.tag == 7
      end
      [dns, ips]
    end

    def extensions(cert)
      cert.extensions.reject { |e| PLUMBING.include?(e.oid) }.to_h do |e|
        v = begin
          OpenSSL::ASN1.decode(e.value_der)
        rescue OpenSSL::ASN1::ASN1Error
          nil
        end
        value = v.is_a?(OpenSSL::ASN1::UTF8String) || v.is_a?(OpenSSL::ASN1::PrintableString) ? v.value : e.value_der.unpack1('H*').upcase
        [PUPPET_OIDS.fetch(e.oid, e.oid), value]
      end
    end

    def key(pub)
      case pub
      when OpenSSL::PKey::RSA then { 'type' => 'RSA', 'bits' => pub.n.num_bits }
      when OpenSSL::PKey::EC then { 'type' => 'EC', 'curve' => pub.group.curve_name, 'bits' => pub.group.degree }
      else { 'type' => pub.oid }
      end
    end

    def ca(cert, now)
      {
        'subject' => name(cert.subject), 'issuer' => name(cert.issuer),
        'serial' => cert.serial.to_s(16),
        'not_before' => iso(cert.not_before), 'not_after' => iso(cert.not_after),
        'expires_in_days' => days(cert.not_after, now),
        'fingerprint_sha256' => OpenSSL::Digest.hexdigest('SHA256', cert.to_der).upcase.scan(/../).join(':'),
      }
    end

    def cert(cert, now)
      dns, ips = sans(cert)
      ca(cert, now).merge('dns_alt_names' => dns, 'ip_alt_names' => ips, 'extensions' => extensions(cert),
                          'signature_algorithm' => cert.signature_algorithm, 'key' => key(cert.public_key))
    end

    def crl(crl, now)
      number = crl.extensions.find { |e| e.oid == 'crlNumber' }
      {
        'issuer' => name(crl.issuer), 'last_update' => iso(crl.last_update),
        'next_update' => iso(crl.next_update), 'expires_in_days' => days(crl.next_update, now),
        'revoked_count' => crl.revoked.size,
        'crl_number' => number && OpenSSL::ASN1.decode(number.value_der).value.to_s,
      }
    end

    def status(ssldir:, certname:, now: Time.now, warn_days: 30)
      files = {
        'hostcert' => File.join(ssldir, 'certs', "#{certname}.pem"),
        'hostprivkey' => File.join(ssldir, 'private_keys', "#{certname}.pem"),
        'localcacert' => File.join(ssldir, 'certs', 'ca.pem'),
        'hostcrl' => File.join(ssldir, 'crl.pem'),
        'hostcsr' => File.join(ssldir, 'certificate_requests', "#{certname}.pem"),
      }
      out = { 'certname' => certname, 'ssldir' => ssldir, 'warn_days' => warn_days, 'checked_at' => iso(now),
              'files' => files.transform_values { |p| { 'path' => p, 'present' => File.exist?(p) } },
              'csr_pending' => File.exist?(files['hostcsr']), 'errors' => [] }
      reasons = []
      bundle = File.exist?(files['localcacert']) ? pems(files['localcacert'], 'CERTIFICATE').map { |p| OpenSSL::X509::Certificate.new(p) } : []
      crls = File.exist?(files['hostcrl']) ? pems(files['hostcrl'], 'X509 CRL').map { |p| OpenSSL::X509::CRL.new(p) } : []
      out['ca'] = bundle.map { |c| ca(c, now) }
      out['crl'] = crls.map { |c| crl(c, now) }
      unless File.exist?(files['hostcert']) && File.exist?(files['hostprivkey']) && !bundle.empty?
        reasons << 'hostcert is missing' unless File.exist?(files['hostcert'])
        reasons << 'hostprivkey is missing' unless File.exist?(files['hostprivkey'])
        reasons << 'localcacert (CA bundle) is missing' if bundle.empty?
        return out.merge('health' => 'missing', 'health_reasons' => reasons, 'hostcert' => { 'present' => File.exist?(files['hostcert']) })
      end
      leaf = OpenSSL::X509::Certificate.new(File.read(files['hostcert']))
      pkey = OpenSSL::PKey.read(File.read(files['hostprivkey']))
      hc = cert(leaf, now).merge('present' => true, 'path' => files['hostcert'])
      hc['key_matches'] = leaf.check_private_key(pkey)
      store = OpenSSL::X509::Store.new
      bundle.each { |c| store.add_cert(c) }
      crls.each { |c| store.add_crl(c) }
      store.flags = OpenSSL::X509::V_FLAG_CRL_CHECK | OpenSSL::X509::V_FLAG_CRL_CHECK_ALL unless crls.empty?
      store.time = now
      hc['chain_valid'] = store.verify(leaf)
      hc['verify_error'] = store.error_string unless hc['chain_valid']
      own = crls.select { |c| c.issuer.cmp(leaf.issuer).zero? }
      hc['revoked'] = own.empty? ? nil : own.any? { |c| c.revoked.any? { |r| r.serial == leaf.serial } }
      out['hostcert'] = hc
      health =
        if hc['revoked'] then reasons << 'hostcert is revoked by the local CRL'; 'revoked'
        elsif hc['expires_in_days'].negative? then reasons << 'hostcert has expired'; 'expired'
        elsif !hc['key_matches'] then reasons << 'hostprivkey does not belong to hostcert'; 'key_mismatch'
        elsif !hc['chain_valid'] then reasons << 'hostcert does not verify against the CA bundle and CRL'; 'untrusted'
        else
          reasons << 'hostcert expires within warn_days' if hc['expires_in_days'] < warn_days
          reasons << 'a CA certificate expires within warn_days' if out['ca'].any? { |c| c['expires_in_days'] < warn_days }
          reasons.empty? ? 'ok' : 'expiring'
        end
      out.merge('health' => health, 'health_reasons' => reasons)
    end
  end
end
