# frozen_string_literal: true

require 'fileutils'
require 'openssl'
require 'tmpdir'

# Test PKI made with Ruby's OpenSSL, laid out the way puppetserver and the
# agent lay it out: a root CA and an intermediate CA ("Puppet CA: ..."), a
# CA bundle holding both (intermediate first), one CRL per CA in crl.pem, and
# agent ssldirs (certs/<certname>.pem, private_keys/<certname>.pem,
# certs/ca.pem, crl.pem, certificate_requests/<certname>.pem).
#
#   world = PKI.world                 # built once per process, EC keys mostly
#   dir = world.ssldir(:ok)           # an ssldir in one of the VARIANTS
module PKI
  CERTNAME = 'agent.example.com'
  PP_ROLE_OID = '1.3.6.1.4.1.34380.1.1.13'
  # A private-arc extension whose value is not a string: reported as hex.
  INT_EXT_OID = '1.2.3.4.5'
  DAY = 86_400
  VARIANTS = %i[ok expiring expired revoked key_mismatch untrusted missing
                garbage ca_expiring csr_pending weak].freeze

  # A CA: its certificate, key and the serials it has revoked.
  class CA
    attr_reader :cert, :key, :revoked

    def initialize(cert, key)
      @cert = cert
      @key = key
      @revoked = []
    end

    def crl(number:, now:)
      crl = OpenSSL::X509::CRL.new
      crl.version = 1
      crl.issuer = cert.subject
      crl.last_update = now - DAY
      crl.next_update = now + (5 * 365 * DAY)
      revoked.each do |serial|
        r = OpenSSL::X509::Revoked.new
        r.serial = serial
        r.time = now - 3600
        crl.add_revoked(r)
      end
      ef = OpenSSL::X509::ExtensionFactory.new
      ef.issuer_certificate = cert
      crl.add_extension(OpenSSL::X509::Extension.new('crlNumber', OpenSSL::ASN1::Integer.new(number).to_der))
      crl.add_extension(ef.create_extension('authorityKeyIdentifier', 'keyid:always'))
      crl.sign(key, OpenSSL::Digest.new('SHA256'))
      crl
    end
  end

  # A host certificate and the key that belongs with it.
  Leaf = Struct.new(:cert, :key)

  module_function

  def ec_key
    OpenSSL::PKey::EC.generate('prime256v1')
  end

  def rsa_key
    @rsa_key ||= OpenSSL::PKey::RSA.new(2048)
  end

  # Half a day in the past: every date below is a whole number of days from
  # it, so expires_in_days computed at the real time never sits on a day
  # boundary (two calls a second apart must give the same answer).
  def now
    @now ||= Time.at(Time.now.to_i - (DAY / 2)).utc
  end

  # Signs a certificate for subject/key with issuer (nil: self-signed).
  def make_cert(subject:, key:, serial:, not_before:, not_after:, issuer: nil, ca: false, extra: [])
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2
    cert.serial = serial
    cert.subject = OpenSSL::X509::Name.parse(subject)
    cert.issuer = issuer ? issuer.cert.subject : cert.subject
    cert.public_key = key
    cert.not_before = not_before
    cert.not_after = not_after
    ef = OpenSSL::X509::ExtensionFactory.new
    ef.subject_certificate = cert
    ef.issuer_certificate = issuer ? issuer.cert : cert
    if ca
      cert.add_extension(ef.create_extension('basicConstraints', 'CA:TRUE', true))
      cert.add_extension(ef.create_extension('keyUsage', 'keyCertSign,cRLSign', true))
    else
      cert.add_extension(ef.create_extension('basicConstraints', 'CA:FALSE', true))
      cert.add_extension(ef.create_extension('keyUsage', 'digitalSignature,keyEncipherment', true))
      cert.add_extension(ef.create_extension('extendedKeyUsage', 'serverAuth,clientAuth', true))
      cert.add_extension(ef.create_extension('nsComment', 'Puppet Server Internal Certificate'))
    end
    cert.add_extension(ef.create_extension('subjectKeyIdentifier', 'hash'))
    cert.add_extension(ef.create_extension('authorityKeyIdentifier', 'keyid:always'))
    extra.each { |e| cert.add_extension(e) }
    cert.sign(issuer ? issuer.key : key, OpenSSL::Digest.new('SHA256'))
    cert
  end

  def make_ca(subject, serial:, issuer: nil, not_after: now + (15 * 365 * DAY))
    key = ec_key
    CA.new(make_cert(subject: subject, key: key, serial: serial, issuer: issuer, ca: true,
                     not_before: now - DAY, not_after: not_after), key)
  end

  def leaf_extensions
    ef = OpenSSL::X509::ExtensionFactory.new
    [
      ef.create_extension('subjectAltName', "DNS:#{CERTNAME},DNS:puppet,IP:127.0.0.1,IP:::1"),
      OpenSSL::X509::Extension.new(PP_ROLE_OID, OpenSSL::ASN1::UTF8String.new('webserver').to_der),
      OpenSSL::X509::Extension.new(INT_EXT_OID, OpenSSL::ASN1::Integer.new(5).to_der),
    ]
  end

  def make_leaf(issuer, serial:, key: ec_key, not_before: now - DAY, not_after: now + (365 * DAY), extra: [])
    Leaf.new(make_cert(subject: "/CN=#{CERTNAME}", key: key, serial: serial, issuer: issuer,
                       not_before: not_before, not_after: not_after, extra: extra), key)
  end

  def world
    @world ||= World.new
  end

  # Every CA, leaf and ssldir the specs use, generated once in a tmpdir that
  # is removed at exit.
  class World
    attr_reader :root, :inter, :rogue, :short_root, :short_inter, :leaves, :dir

    def initialize
      @dir = Dir.mktmpdir('cert_regen_spec')
      at_exit { FileUtils.remove_entry(@dir) if File.directory?(@dir) }
      build_cas
      build_leaves
    end

    def now
      PKI.now
    end

    # The CA bundle and CRL chain of a CA pair, intermediate first.
    def bundle(root = @root, inter = @inter)
      [inter.cert, root.cert]
    end

    def crls(root = @root, inter = @inter)
      [inter.crl(number: 7, now: now), root.crl(number: 1, now: now)]
    end

    # Writes (once) and returns an ssldir for one of VARIANTS.
    def ssldir(variant)
      raise ArgumentError, "unknown variant #{variant}" unless VARIANTS.include?(variant)

      path = File.join(@dir, variant.to_s, 'ssl')
      write_variant(variant, path) unless File.directory?(path)
      path
    end

    # An ssldir path that does not exist.
    def missing_ssldir
      File.join(@dir, 'nonexistent', 'ssl')
    end

    # A confdir with no puppet.conf, so nothing on the host leaks in.
    def empty_confdir
      path = File.join(@dir, 'empty_confdir')
      FileUtils.mkdir_p(path)
      path
    end

    # A confdir whose puppet.conf names the certname and ssldir.
    def confdir_for(variant, certname: CERTNAME)
      path = File.join(@dir, variant.to_s, 'confdir')
      FileUtils.mkdir_p(path)
      File.write(File.join(path, 'puppet.conf'), <<~CONF)
        [main]
        certname = #{certname}
        ssldir = #{ssldir(variant)}
      CONF
      path
    end

    def hostcert_path(variant)
      File.join(ssldir(variant), 'certs', "#{CERTNAME}.pem")
    end

    def hostkey_path(variant)
      File.join(ssldir(variant), 'private_keys', "#{CERTNAME}.pem")
    end

    private

    def build_cas
      @root = PKI.make_ca('/CN=Puppet Root CA: 5a1b2c3d4e5f', serial: 1)
      @inter = PKI.make_ca('/CN=Puppet CA: puppet.example.com', serial: 2, issuer: @root)
      @rogue = PKI.make_ca('/CN=Some Other CA', serial: 1)
      @short_root = PKI.make_ca('/CN=Puppet Root CA: short', serial: 1)
      @short_inter = PKI.make_ca('/CN=Puppet CA: short', serial: 2, issuer: @short_root,
                                                         not_after: now + (20 * DAY))
    end

    def build_leaves
      ok_serial = OpenSSL::BN.new('0AFF00112233445566778899', 16) # leading zero nibble
      @leaves = {
        ok: PKI.make_leaf(@inter, serial: ok_serial, key: PKI.rsa_key, extra: PKI.leaf_extensions),
        expiring: PKI.make_leaf(@inter, serial: 3, not_after: now + (10 * DAY)),
        expired: PKI.make_leaf(@inter, serial: 4, not_before: now - (40 * DAY), not_after: now - DAY),
        revoked: PKI.make_leaf(@inter, serial: 5),
        untrusted: PKI.make_leaf(@rogue, serial: 6),
        ca_expiring: PKI.make_leaf(@short_inter, serial: 7),
        # a key OpenSSL's default security level refuses (56 bits)
        weak: PKI.make_leaf(@inter, serial: 8, key: OpenSSL::PKey::EC.generate('secp112r1')),
      }
      @inter.revoked << OpenSSL::BN.new(5)
    end

    def write_pem(path, objs, mode = 0o644)
      FileUtils.mkdir_p(File.dirname(path))
      File.write(path, Array(objs).map(&:to_pem).join)
      File.chmod(mode, path)
    end

    def write_variant(variant, path)
      FileUtils.mkdir_p(path)
      chain = variant == :ca_expiring ? [@short_root, @short_inter] : [@root, @inter]
      write_pem(File.join(path, 'certs', 'ca.pem'), bundle(*chain))
      write_pem(File.join(path, 'crl.pem'), crls(*chain))
      leaf = @leaves.fetch(variant) { @leaves[:ok] }
      cert = File.join(path, 'certs', "#{CERTNAME}.pem")
      key = File.join(path, 'private_keys', "#{CERTNAME}.pem")
      case variant
      when :missing
        return
      when :garbage
        FileUtils.mkdir_p(File.dirname(cert))
        File.write(cert, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n")
        write_pem(key, leaf.key, 0o640)
        return
      when :key_mismatch
        write_pem(key, PKI.ec_key, 0o640)
      when :csr_pending
        write_pem(key, leaf.key, 0o640)
        req = OpenSSL::X509::Request.new
        req.subject = OpenSSL::X509::Name.parse("/CN=#{CERTNAME}")
        req.public_key = leaf.key
        req.sign(leaf.key, OpenSSL::Digest.new('SHA256'))
        write_pem(File.join(path, 'certificate_requests', "#{CERTNAME}.pem"), req)
      else
        write_pem(key, leaf.key, 0o640)
      end
      write_pem(cert, leaf.cert)
    end
  end
end
