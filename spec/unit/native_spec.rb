# frozen_string_literal: true

require 'tmpdir'

require_relative '../spec_helper'

RSpec.describe CertRegen::Native do
  let(:world) { PKI.world }
  let(:now) { PKI.now }
  let(:certname) { PKI::CERTNAME }
  let(:confdir) { world.empty_confdir }

  # Every call goes through here: the libcrypto error queue (shared with
  # Ruby's openssl in this process and thread) must be empty afterwards.
  def native(meth, *args)
    OpenSSL.errors # drain whatever the fixtures left
    result = described_class.public_send(meth, *args)
    expect(OpenSSL.errors).to eq([])
    result
  end

  def native_raises(error, message = nil, *args)
    OpenSSL.errors
    expect { described_class.status(*args) }.to raise_error(error, message)
    expect(OpenSSL.errors).to eq([])
  end

  def status(variant, **extra)
    native(:status, { 'confdir' => confdir, 'ssldir' => world.ssldir(variant),
                      'certname' => certname, 'now' => now.to_i }.merge(extra.transform_keys(&:to_s)))
  end

  def ssl_file(variant, *parts)
    File.join(world.ssldir(variant), *parts)
  end

  describe 'constants' do
    it 'exposes the warn threshold and version' do
      expect(described_class::WARN_DAYS_DEFAULT).to be_an(Integer).and be_positive
      expect(described_class::VERSION).to match(/\A\d+\.\d+\.\d+\z/)
    end

    it 'has the version of metadata.json, as the task executable does' do
      root = File.expand_path('../..', __dir__)
      version = JSON.parse(File.read(File.join(root, 'metadata.json')))['version']
      expect(described_class::VERSION).to eq(version)
      # this host's build: files/bin may hold other arches (rake binaries:release)
      require 'cert_regen/executable'
      exe = File.join(root, 'files/bin', CertRegen::Executable.platform, 'cert_regen')
      skip 'no task executable built' unless File.file?(exe)
      expect(IO.popen([exe, '--version'], &:read)).to start_with("cert_regen #{version} ")
    end
  end

  describe '.status on a healthy ssldir' do
    subject(:st) { status(:ok) }

    let(:leaf) { world.leaves[:ok] }
    let(:bundle) { RubySays.certs_in(ssl_file(:ok, 'certs', 'ca.pem')) }
    let(:crls) { RubySays.crls_in(ssl_file(:ok, 'crl.pem')) }

    it 'has the top-level fields' do
      expect(st).to include(
        'certname' => certname,
        'confdir' => confdir,
        'ssldir' => world.ssldir(:ok),
        'warn_days' => described_class::WARN_DAYS_DEFAULT,
        'checked_at' => RubySays.iso(now),
        'health' => 'ok',
        'health_reasons' => [],
        'csr_pending' => false,
        'errors' => [],
      )
      expect(st.keys).to include('hostcert', 'ca', 'crl', 'files')
    end

    it 'describes the hostcert exactly as Ruby OpenSSL does' do
      expected = RubySays.cert(leaf.cert, now)
      expect(st['hostcert'].slice(*expected.keys)).to eq(expected)
      expect(st['hostcert']).to include(
        'present' => true,
        'path' => ssl_file(:ok, 'certs', "#{certname}.pem"),
        'key_matches' => true,
        'chain_valid' => true,
        'revoked' => false,
      )
      expect(st['hostcert']['verify_error']).to be_nil
    end

    it 'uses the documented formats' do
      hc = st['hostcert']
      expect(hc['serial']).to eq('0AFF00112233445566778899')
      expect(hc['fingerprint_sha256']).to match(/\A(\h\h:){31}\h\h\z/).and eq(hc['fingerprint_sha256'].upcase)
      expect(hc['not_after']).to match(/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\z/)
      expect(hc['dns_alt_names']).to eq([certname, 'puppet'])
      expect(hc['ip_alt_names']).to eq(['127.0.0.1', '::1'])
      expect(hc['extensions']).to eq('pp_role' => 'webserver', PKI::INT_EXT_OID => '020105')
      expect(hc['key']).to eq('type' => 'RSA', 'bits' => 2048)
      expect(hc['expires_in_days']).to eq(365)
    end

    it 'describes every CA certificate of the bundle, intermediate first' do
      expect(bundle.size).to eq(2)
      expect(st['ca']).to eq(bundle.map { |c| RubySays.ca(c, now) })
      expect(st['ca'].map { |c| c['subject'] }).to eq(['CN=Puppet CA: puppet.example.com',
                                                       'CN=Puppet Root CA: 5a1b2c3d4e5f'])
    end

    it 'describes every CRL of the chain' do
      expect(crls.size).to eq(2)
      expect(st['crl']).to eq(crls.map { |c| RubySays.crl(c, now) })
      expect(st['crl'].first).to include('revoked_count' => 1, 'crl_number' => '7')
    end

    it 'lists the files with their paths and presence' do
      expect(st['files']).to eq(
        'hostcert' => { 'path' => ssl_file(:ok, 'certs', "#{certname}.pem"), 'present' => true },
        'hostprivkey' => { 'path' => ssl_file(:ok, 'private_keys', "#{certname}.pem"), 'present' => true },
        'localcacert' => { 'path' => ssl_file(:ok, 'certs', 'ca.pem'), 'present' => true },
        'hostcrl' => { 'path' => ssl_file(:ok, 'crl.pem'), 'present' => true },
        'hostcsr' => { 'path' => ssl_file(:ok, 'certificate_requests', "#{certname}.pem"), 'present' => false },
      )
    end

    it 'agrees with Ruby OpenSSL on chain verification' do
      ok, = RubySays.verify(leaf.cert, bundle, crls, now)
      expect(st['hostcert']['chain_valid']).to eq(ok)
    end

    it 'accepts Symbol keys' do
      sym = native(:status, confdir: confdir, ssldir: world.ssldir(:ok), certname: certname, now: now.to_i)
      expect(sym).to eq(st)
    end

    it 'defaults now to the current time' do
      st2 = native(:status, 'confdir' => confdir, 'ssldir' => world.ssldir(:ok), 'certname' => certname)
      expect(Time.iso8601(st2['checked_at']).to_i).to be_within(5).of(Time.now.to_i)
    end
  end

  describe 'health' do
    {
      ok: ['ok', []],
      csr_pending: ['ok', []],
      expiring: ['expiring', ['hostcert expires within warn_days']],
      ca_expiring: ['expiring', ['a CA certificate expires within warn_days']],
      expired: ['expired', ['hostcert has expired']],
      revoked: ['revoked', ['hostcert is revoked by the local CRL']],
      key_mismatch: ['key_mismatch', ['hostprivkey does not belong to hostcert']],
      untrusted: ['untrusted', ['hostcert does not verify against the CA bundle and CRL']],
      missing: ['missing', ['hostcert is missing', 'hostprivkey is missing']],
      garbage: ['error', ['a certificate, key or CRL file cannot be parsed']],
    }.each do |variant, (health, reasons)|
      it "is #{health} for the #{variant} ssldir" do
        st = status(variant)
        expect(st['health']).to eq(health)
        expect(st['health_reasons']).to eq(reasons)
      end
    end

    {
      ok: %w[ok ok], csr_pending: %w[ok ok], expiring: %w[expiring ok],
      ca_expiring: %w[ok expiring], expired: %w[expired ok], revoked: %w[revoked ok],
      key_mismatch: %w[key_mismatch ok], untrusted: %w[untrusted ok], missing: %w[missing ok],
      garbage: %w[error ok], weak: %w[weak_crypto ok]
    }.each do |variant, (host, ca)|
      it "says hostcert_health #{host} and ca_health #{ca} for the #{variant} ssldir" do
        st = status(variant)
        expect(st).to include('hostcert_health' => host, 'ca_health' => ca)
      end
    end

    it 'judges revocation on the local CRL (the fact never goes to the network)' do
      expect(status(:ok)['crl_source']).to eq('local')
    end

    it 'does not fail the verdict on a garbage crl.pem that certificate_revocation = false leaves unread' do
      ssl = File.join(world.dir, 'garbage_crl_off')
      FileUtils.rm_rf(ssl)
      FileUtils.cp_r(world.ssldir(:ok), ssl)
      File.write(File.join(ssl, 'crl.pem'), "garbage\n")
      base = { 'confdir' => confdir, 'ssldir' => ssl, 'certname' => certname, 'now' => now.to_i }
      off = native(:status, base.merge('settings' => { 'certificate_revocation' => 'false' }))
      expect(off).to include('health' => 'ok', 'hostcert_health' => 'ok', 'ca_health' => 'ok')
      expect(off['errors'].map { |e| e['part'] }).to eq(['crl'])
      expect(off['health_reasons']).to include(/hostcrl cannot be parsed/)
      expect(native(:status, base)['health']).to eq('error')
    end

    it 'is weak_crypto for a key below the default security level, with the reason' do
      st = status(:weak)
      expect(st['health']).to eq('weak_crypto')
      expect(st['health_reasons']).to include(/\Athe host key has 56 security bits, fewer than the \d+ that OpenSSL's default security level \d requires\z/)
      expect(st['hostcert']['chain_valid']).to be(true)
    end

    %i[ok expiring ca_expiring expired revoked key_mismatch untrusted].each do |variant|
      it "agrees with Ruby OpenSSL on the #{variant} hostcert" do
        st = status(variant)
        leaf = world.leaves.fetch(variant) { world.leaves[:ok] }
        bundle = RubySays.certs_in(ssl_file(variant, 'certs', 'ca.pem'))
        crls = RubySays.crls_in(ssl_file(variant, 'crl.pem'))
        ok, why = RubySays.verify(leaf.cert, bundle, crls, now)
        expected = RubySays.cert(leaf.cert, now)
        expect(st['hostcert'].slice(*expected.keys)).to eq(expected)
        expect(st['hostcert']['chain_valid']).to eq(ok)
        expect(st['hostcert']['verify_error']).to eq(why)
        key = OpenSSL::PKey.read(File.read(ssl_file(variant, 'private_keys', "#{certname}.pem")))
        expect(st['hostcert']['key_matches']).to eq(leaf.cert.check_private_key(key))
        expect(st['ca']).to eq(bundle.map { |c| RubySays.ca(c, now) })
        expect(st['crl']).to eq(crls.map { |c| RubySays.crl(c, now) })
      end
    end

    it 'marks a revoked hostcert' do
      hc = status(:revoked)['hostcert']
      expect(hc).to include('revoked' => true, 'chain_valid' => false, 'verify_error' => 'certificate revoked')
    end

    it 'cannot say revoked for a cert whose issuer has no CRL here' do
      expect(status(:untrusted)['hostcert']['revoked']).to be_nil
    end

    it 'reports a pending CSR' do
      st = status(:csr_pending)
      expect(st['csr_pending']).to be(true)
      expect(st['files']['hostcsr']['present']).to be(true)
    end

    it 'turns expiring when warn_days reaches the expiry' do
      expect(status(:ok, warn_days: 400)).to include('health' => 'expiring', 'warn_days' => 400)
      expect(status(:expiring, warn_days: 0)['health']).to eq('ok')
    end

    it 'counts days down with floor at the given time' do
      not_after = world.leaves[:ok].cert.not_after.to_i
      expect(status(:ok, now: not_after)['hostcert']['expires_in_days']).to eq(0)
      late = status(:ok, now: not_after + 1)
      expect(late['hostcert']['expires_in_days']).to eq(-1)
      expect(late['health']).to eq('expired')
    end
  end

  describe 'broken and missing files' do
    it 'reports a missing ssldir as missing, not as an error' do
      st = native(:status, 'confdir' => confdir, 'ssldir' => world.missing_ssldir, 'certname' => certname)
      expect(st).to include('health' => 'missing', 'ssldir' => world.missing_ssldir, 'errors' => [],
                            'ca' => [], 'crl' => [], 'csr_pending' => false)
      expect(st['hostcert']).to include('present' => false)
      expect(st['files'].values.map { |f| f['present'] }).to all(be(false))
      expect(st['health_reasons']).to include('hostcert is missing', 'hostprivkey is missing',
                                              'localcacert (CA bundle) is missing')
    end

    it 'still resolves everything else around a garbage hostcert' do
      st = status(:garbage)
      expect(st['health']).to eq('error')
      expect(st['errors']).not_to be_empty
      # bad base64 inside PEM armour: libcrypto's error queue is the message
      expect(st['errors'].first).to include('part' => 'hostcert', 'kind' => 'cert_regen/openssl-error')
      expect(st['errors'].first['msg']).to include('bad base64 decode')
      expect(st['errors'].first['msg']).to include(ssl_file(:garbage, 'certs', "#{certname}.pem"))
      expect(st['hostcert']).to include('present' => true)
      expect(st['hostcert']['error']).to eq(st['errors'].first['msg'])
      bundle = RubySays.certs_in(ssl_file(:garbage, 'certs', 'ca.pem'))
      crls = RubySays.crls_in(ssl_file(:garbage, 'crl.pem'))
      expect(st['ca']).to eq(bundle.map { |c| RubySays.ca(c, now) })
      expect(st['crl']).to eq(crls.map { |c| RubySays.crl(c, now) })
      expect(st['files']['hostprivkey']['present']).to be(true)
    end

    it 'reports a garbage CRL as an error of its own part' do
      Dir.mktmpdir do |d|
        FileUtils.cp_r(world.ssldir(:ok), d)
        ssl = File.join(d, 'ssl')
        File.write(File.join(ssl, 'crl.pem'), "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
        st = native(:status, 'confdir' => confdir, 'ssldir' => ssl, 'certname' => certname, 'now' => now.to_i)
        expect(st['health']).to eq('error')
        expect(st['errors'].map { |e| e['part'] }).to eq(['crl'])
        expect(st['hostcert']['fingerprint_sha256']).to eq(RubySays.fingerprint(world.leaves[:ok].cert))
      end
    end
  end

  describe 'option validation' do
    let(:base) { { 'confdir' => confdir, 'ssldir' => world.ssldir(:ok), 'certname' => certname } }

    it 'rejects a non-Hash argument' do
      native_raises(TypeError, nil, 1)
      native_raises(TypeError, nil, 'confdir')
      native_raises(TypeError, nil, [])
    end

    it 'rejects extra arguments' do
      expect { described_class.status({}, {}) }.to raise_error(ArgumentError)
      expect { described_class.settings({}, {}) }.to raise_error(ArgumentError)
    end

    it 'rejects non-String paths and names' do
      %w[confdir ssldir certname default_certname].each do |k|
        native_raises(TypeError, /#{k} must be a String/, base.merge(k => 1))
        native_raises(TypeError, /#{k} must be a String/, base.merge(k => ['x']))
      end
    end

    it 'ends an error message with the next step of its kind (issue 15 #3)' do
      Dir.mktmpdir do |dir|
        File.write(File.join(dir, 'puppet.conf'), "[main]\nssldir = $nosuch/ssl\n")
        OpenSSL.errors
        expect { described_class.status('confdir' => dir) }.to raise_error(described_class::Error) { |e|
          expect(e.kind).to eq('cert_regen/settings-error')
          expect(e.message).to match(/\$nosuch.*\. Next step: fix puppet\.conf .*run the task again\.\z/)
        }
        expect(OpenSSL.errors).to eq([])
      end
    end

    it 'rejects embedded NUL bytes' do
      native_raises(ArgumentError, /null byte/, base.merge('ssldir' => "/tmp\0/x"))
    end

    it 'range-checks warn_days and type-checks numbers' do
      native_raises(ArgumentError, /warn_days must be 0\.\./, base.merge('warn_days' => -1))
      native_raises(ArgumentError, /warn_days must be 0\.\./, base.merge('warn_days' => 100_000))
      native_raises(TypeError, nil, base.merge('warn_days' => 'x'))
      native_raises(TypeError, nil, base.merge('now' => 'x'))
      native_raises(RangeError, nil, base.merge('now' => 2**80))
    end

    it 'type-checks settings' do
      native_raises(TypeError, nil, base.merge('settings' => 'x'))
      native_raises(TypeError, /setting value must be a String/, base.merge('settings' => { 'hostcert' => 1 }))
      native_raises(TypeError, /setting name must be a String/, base.merge('settings' => { 1 => 'x' }))
      many = (1..40).to_h { |i| ["s#{i}", 'v'] }
      native_raises(ArgumentError, /at most/, base.merge('settings' => many))
    end

    it 'uses every setting it accepts, the last one included' do
      names = %w[codedir vardir publicdir rundir logdir statedir client_datadir hostpubkey csr_attributes
                 trusted_oid_mapping_file cadir cacert cakey capub cacrl serial signeddir csrdir cert_inventory
                 pidfile lastrunfile lastrunreport]
      many = names.to_h { |n| [n, "/nonexistent/#{n}"] }
      many.merge!('server' => 'a', 'ca_server' => 'b', 'ca_name' => 'c', 'user' => 'u', 'group' => 'g',
                  'named_curve' => 'prime256v1', 'ssl_lockfile' => '/x', 'agent_catalog_run_lockfile' => '/y',
                  'agent_disabled_lockfile' => '/z')
      many['hostcert'] = '/nonexistent/elsewhere.pem'
      expect(many.size).to eq(32)
      st = native(:status, base.merge('settings' => many, 'now' => now.to_i))
      expect(st['hostcert']['path']).to eq('/nonexistent/elsewhere.pem')
    end

    it 'ignores a nil setting value' do
      st = native(:status, base.merge('settings' => { 'hostcert' => nil }, 'now' => now.to_i))
      expect(st['health']).to eq('ok')
    end
  end

  describe '.settings' do
    # `puppet config print certname` (run when puppet.conf names no
    # certname) takes seconds: other Ruby threads must run meanwhile.
    it 'lets other Ruby threads run while it asks puppet for the certname' do
      conf = File.join(world.dir, 'gvl_confdir')
      FileUtils.mkdir_p(conf)
      File.write(File.join(conf, 'puppet.conf'), "[main]\nssldir = #{world.ssldir(:ok)}\n")
      ticks = 0
      stop = false
      ticker = Thread.new do
        until stop
          ticks += 1
          sleep 0.01
        end
      end
      sleep 0.05
      before = ticks
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      s = native(:settings, 'confdir' => conf, 'allow_exec' => true)
      took = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      during = ticks - before
      stop = true
      ticker.join
      expect(s['certname']).to be_a(String)
      expect(took).to be > 0.3 # it did run puppet
      # held GVL: the ticker gets (almost) nothing; released: ~100/s
      expect(during).to be > (took * 100 / 4).floor
    end

    it 'resolves the file settings from explicit ssldir and certname' do
      s = native(:settings, 'confdir' => confdir, 'ssldir' => world.ssldir(:ok), 'certname' => certname)
      expect(s).to include(
        'certname' => certname,
        'ssldir' => world.ssldir(:ok),
        'hostcert' => ssl_file(:ok, 'certs', "#{certname}.pem"),
        'hostprivkey' => ssl_file(:ok, 'private_keys', "#{certname}.pem"),
        'localcacert' => ssl_file(:ok, 'certs', 'ca.pem'),
        'hostcrl' => ssl_file(:ok, 'crl.pem'),
        'hostcsr' => ssl_file(:ok, 'certificate_requests', "#{certname}.pem"),
      )
    end

    it 'reads puppet.conf in the confdir' do
      s = native(:settings, 'confdir' => world.confdir_for(:ok, certname: 'conf.example.com'))
      expect(s).to include('certname' => 'conf.example.com', 'ssldir' => world.ssldir(:ok),
                           'hostcert' => ssl_file(:ok, 'certs', 'conf.example.com.pem'))
    end

    it 'lets overrides win' do
      s = native(:settings, 'confdir' => confdir, 'ssldir' => world.ssldir(:ok), 'certname' => certname,
                            'settings' => { 'hostcert' => '/elsewhere/cert.pem', certificate_revocation: 'leaf' })
      expect(s).to include('hostcert' => '/elsewhere/cert.pem', 'certificate_revocation' => 'leaf')
    end

    it 'agrees with `puppet config print` on the same confdir' do
      conf = world.confdir_for(:ok)
      names = %w[certname ssldir hostcert hostprivkey localcacert hostcrl hostcsr]
      out = IO.popen(['puppet', 'config', 'print', '--section', 'agent', '--confdir', conf, *names],
                     err: File::NULL, &:read)
      skip 'puppet config print failed' unless $?.success?
      puppet = out.lines.to_h { |l| l.chomp.split(' = ', 2) }
      expect(native(:settings, 'confdir' => conf).slice(*names)).to eq(puppet)
    end

    it 'feeds .status the same paths' do
      conf = world.confdir_for(:ok)
      st = native(:status, 'confdir' => conf, 'now' => now.to_i)
      expect(st).to include('health' => 'ok', 'certname' => certname, 'confdir' => conf)
      expect(st['hostcert']['path']).to eq(native(:settings, 'confdir' => conf)['hostcert'])
    end
  end

  describe 'under GC.stress', :gc_stress do
    # Results computed without stress first (let is lazy: force it before).
    it 'returns the same status for a healthy ssldir' do
      GC.stress = false
      expected = status(:ok)
      GC.stress = true
      expect(status(:ok)).to eq(expected)
    end

    it 'returns the same status around a garbage hostcert' do
      GC.stress = false
      expected = status(:garbage)
      GC.stress = true
      expect(status(:garbage)).to eq(expected)
    end

    it 'returns the same settings' do
      GC.stress = false
      opts = { 'confdir' => world.confdir_for(:ok), 'settings' => { 'hostcrl' => '/x/crl.pem' } }
      expected = native(:settings, opts)
      GC.stress = true
      expect(native(:settings, opts)).to eq(expected)
    end

    it 'raises cleanly on bad options' do
      GC.stress = false
      opts = { 'confdir' => confdir, 'settings' => { 'a' => 'b', 'c' => 1 } }
      GC.stress = true
      native_raises(TypeError, nil, opts)
      native_raises(ArgumentError, nil, opts.merge('warn_days' => -5, 'settings' => {}))
    end
  end

  describe 'threads' do
    it 'gives every thread the same answer (the GVL is released during collection)' do
      GC.stress = false
      expected = status(:ok)
      results = Array.new(4) do
        Thread.new { Array.new(5) { described_class.status('confdir' => confdir, 'ssldir' => world.ssldir(:ok), 'certname' => certname, 'now' => now.to_i) } }
      end.flat_map(&:value)
      expect(results).to all(eq(expected))
    end
  end
end
