# frozen_string_literal: true

require_relative '../../spec_helper'
require 'facter'
require 'open3'
require 'timeout'
require 'cert_regen/executable'

# The task executable of this host (`rake binaries`), for the fallback path.
EXE = File.join(ROOT, 'files', 'bin', CertRegen::Executable.platform, 'cert_regen')

RSpec.describe 'the cert_regen fact' do
  let(:world) { PKI.world }
  let(:fact_file) { File.join(ROOT, 'lib', 'facter', 'cert_regen.rb') }

  def resolve
    Facter.clear
    load fact_file
    Facter.fact(:cert_regen).value
  end

  def with_env(vars)
    old = vars.keys.to_h { |k| [k, ENV.fetch(k, nil)] }
    vars.each { |k, v| ENV[k] = v }
    yield
  ensure
    old.each { |k, v| ENV[k] = v }
  end

  before do
    allow(Facter).to receive(:warn) # recorded, not printed
    allow(Facter).to receive(:value).and_call_original
  end

  after { Facter.clear }

  describe 'without Puppet loaded' do
    it 'resolves to the status hash for the confdir in CERT_REGEN_CONFDIR' do
      conf = world.confdir_for(:ok)
      value = with_env('CERT_REGEN_CONFDIR' => conf) { resolve }
      direct = CertRegen::Native.status('confdir' => conf)
      expect(value).to be_a(Hash)
      expect(value).to include('health' => 'ok', 'certname' => PKI::CERTNAME, 'confdir' => conf,
                               'ssldir' => world.ssldir(:ok), 'errors' => [])
      expect(value['source']).to eq('extension')
      expect(value.reject { |k, _| %w[checked_at source].include?(k) }).to eq(direct.reject { |k, _| k == 'checked_at' })
      expect(value['hostcert']['fingerprint_sha256']).to eq(RubySays.fingerprint(world.leaves[:ok].cert))
      expect(Facter).not_to have_received(:warn)
    end

    it "passes Facter's fqdn, downcased, as the default certname and nothing else" do
      allow(Facter).to receive(:value).with('networking.fqdn').and_return('Node1.Example.COM.')
      expect(CertRegen::Native).to receive(:status)
        .with({ 'default_certname' => 'node1.example.com' }).and_return('health' => 'ok', 'errors' => [])
      with_env('CERT_REGEN_CONFDIR' => nil) do
        expect(resolve).to eq('health' => 'ok', 'errors' => [], 'source' => 'extension')
      end
    end

    it 'uses the default certname when puppet.conf names none' do
      allow(Facter).to receive(:value).with('networking.fqdn').and_return(PKI::CERTNAME)
      conf = File.join(world.dir, 'conf_without_certname')
      FileUtils.mkdir_p(conf)
      File.write(File.join(conf, 'puppet.conf'), "[main]\nssldir = #{world.ssldir(:ok)}\n")
      value = with_env('CERT_REGEN_CONFDIR' => conf) { resolve }
      expect(value).to include('certname' => PKI::CERTNAME, 'health' => 'ok')
    end

    it 'warns once per entry of errors[] and still resolves' do
      conf = world.confdir_for(:garbage)
      value = with_env('CERT_REGEN_CONFDIR' => conf) { resolve }
      expect(value['health']).to eq('error')
      expect(value['errors']).not_to be_empty
      expect(value['ca'].size).to eq(2)
      expect(Facter).to have_received(:warn).exactly(value['errors'].size).times
      expect(Facter).to have_received(:warn).with(/\Acert_regen: hostcert: .*#{Regexp.escape(PKI::CERTNAME)}\.pem.*\(cert_regen\/openssl-error\)\z/)
    end
  end

  describe 'with Puppet settings of an agent run' do
    let(:settings) do
      values = {
        confdir: '/c', ssldir: '/c/ssl', certname: 'agent.example.com',
        hostcert: '/c/ssl/certs/agent.example.com.pem', hostprivkey: '/c/ssl/private_keys/agent.example.com.pem',
        localcacert: '/c/ssl/certs/ca.pem', hostcrl: '/c/ssl/crl.pem',
        hostcsr: '/c/ssl/certificate_requests/agent.example.com.pem', certificate_revocation: false
      }
      Class.new do
        define_method(:app_defaults_initialized?) { true }
        attr_accessor :preferred_run_mode

        define_method(:[]) { |k| values.fetch(k) }
      end.new
    end

    before do
      puppet = Module.new
      s = settings
      puppet.define_singleton_method(:settings) { s }
      stub_const('Puppet', puppet)
    end

    it "passes Puppet's resolved confdir, ssldir, certname and file settings" do
      settings.preferred_run_mode = :agent
      expect(CertRegen::Native).to receive(:status).with({
        'confdir' => '/c', 'ssldir' => '/c/ssl', 'certname' => 'agent.example.com',
        'settings' => {
          'hostcert' => '/c/ssl/certs/agent.example.com.pem',
          'hostprivkey' => '/c/ssl/private_keys/agent.example.com.pem',
          'localcacert' => '/c/ssl/certs/ca.pem', 'hostcrl' => '/c/ssl/crl.pem',
          'hostcsr' => '/c/ssl/certificate_requests/agent.example.com.pem',
          'certificate_revocation' => 'false'
        }
      }).and_return('health' => 'missing', 'errors' => [])
      expect(resolve).to eq('health' => 'missing', 'errors' => [], 'source' => 'extension')
    end

    it "passes only Puppet's confdir outside an agent run (facter -p reads [main] only)" do
      settings.preferred_run_mode = :user
      allow(Facter).to receive(:value).with('networking.fqdn').and_return('n.example.com')
      expect(CertRegen::Native).to receive(:status)
        .with({ 'confdir' => '/c', 'default_certname' => 'n.example.com' }).and_return('health' => 'ok')
      with_env('CERT_REGEN_CONFDIR' => '/ignored') { resolve }
    end
  end

  describe 'never raises' do
    it 'turns an extension error into health error plus a warning' do
      err = CertRegen::Native::Error.new('cannot resolve settings: boom')
      err.instance_variable_set(:@kind, 'cert_regen/settings-error')
      allow(CertRegen::Native).to receive(:status).and_raise(err)
      value = resolve
      expect(value).to include('health' => 'error', 'error' => 'cannot resolve settings: boom',
                               'error_kind' => 'cert_regen/settings-error')
      expect(Facter).to have_received(:warn).with(/boom \(cert_regen\/settings-error\)/)
    end

    it 'turns any other exception into health error' do
      allow(CertRegen::Native).to receive(:status).and_raise(TypeError, 'weird')
      expect(resolve).to include('health' => 'error', 'error' => 'weird', 'error_kind' => 'TypeError')
      expect(Facter).to have_received(:warn).with(/weird/)
    end

    it 'reports a missing build for this Ruby and no executable without loading anything' do
      allow(CertRegen::NativeLoader).to receive(:so_path).and_return(File.join(world.dir, 'no', 'such.so'))
      allow(CertRegen::Executable).to receive(:candidates).and_return([File.join(world.dir, 'no', 'cert_regen')])
      expect(CertRegen::Native).not_to receive(:status)
      abi = RbConfig::CONFIG['ruby_version']
      arch = RbConfig::CONFIG['arch']
      value = resolve
      expect(value).to eq(
        'health' => 'error',
        'health_reasons' => [value['error']],
        'error' => "no native build for ruby #{abi} #{arch}: run `rake compile` with this Ruby (RUBY=#{RbConfig.ruby}); " \
                   "and no cert_regen executable for #{CertRegen::Executable.platform} either " \
                   "(looked at #{File.join(world.dir, 'no', 'cert_regen')})",
        'ruby_abi' => abi,
        'ruby_arch' => arch,
        'warn_days' => CertRegen::Native::WARN_DAYS_DEFAULT,
        'source' => 'none',
      )
      expect(Facter).to have_received(:warn).with("cert_regen: #{value['error']}")
    end

    it 'says so when the executable answers with an error' do
      allow(CertRegen::NativeLoader).to receive(:so_path).and_return(File.join(world.dir, 'no', 'such.so'))
      with_env('CERT_REGEN_EXE' => EXE, 'CERT_REGEN_CONFDIR' => File.join(world.dir, 'no', 'confdir')) do
        value = resolve
        expect(value).to include('health' => 'error', 'source' => 'none')
        expect(value['error']).to include("#{EXE} task status gave no status: ")
      end
    end

    it 'keeps the fallback threshold in step with the extension' do
      expect(CertRegen::NativeLoader::WARN_DAYS_FALLBACK).to eq(CertRegen::Native::WARN_DAYS_DEFAULT)
    end

    it 'reports a build that does not load' do
      bad = File.join(world.dir, 'bad', 'cert_regen_native.so')
      FileUtils.mkdir_p(File.dirname(bad))
      File.write(bad, 'not an ELF file')
      allow(CertRegen::NativeLoader).to receive(:so_path).and_return(bad)
      allow(CertRegen::Executable).to receive(:candidates).and_return([])
      value = resolve
      expect(value['health']).to eq('error')
      expect(value['error']).to start_with("cannot load #{bad}: ")
      expect(Facter).to have_received(:warn).once
    end
  end

  describe 'without a build for this Ruby' do
    before do
      allow(CertRegen::NativeLoader).to receive(:so_path).and_return(File.join(world.dir, 'no', 'such.so'))
    end

    it 'gives the same value through the task executable and says so' do
      conf = world.confdir_for(:ok)
      value = with_env('CERT_REGEN_EXE' => EXE, 'CERT_REGEN_CONFDIR' => conf) { resolve }
      direct = CertRegen::Native.status('confdir' => conf)
      expect(value['source']).to eq('executable')
      expect(value.reject { |k, _| %w[checked_at source].include?(k) }).to eq(direct.reject { |k, _| k == 'checked_at' })
      expect(Facter).not_to have_received(:warn)
    end

    it 'runs a private copy of a build that lost its execute bit (pluginsync)' do
      copy = File.join(world.dir, 'noexec', 'cert_regen')
      FileUtils.mkdir_p(File.dirname(copy))
      FileUtils.cp(EXE, copy)
      File.chmod(0o644, copy)
      conf = world.confdir_for(:ok)
      value = with_env('CERT_REGEN_EXE' => copy, 'CERT_REGEN_CONFDIR' => conf) { resolve }
      expect(value).to include('source' => 'executable', 'health' => 'ok', 'certname' => PKI::CERTNAME)
      expect(File.stat(copy).mode & 0o777).to eq(0o644)
    end
  end

  describe 'end to end in a subprocess' do
    def facter(conf)
      env = { 'CERT_REGEN_CONFDIR' => conf, 'RUBYOPT' => nil, 'RUBYLIB' => nil }
      Open3.capture3(env, 'facter', '--custom-dir', File.join(ROOT, 'lib', 'facter'), 'cert_regen', '--json')
    end

    it 'works with facter --custom-dir against a generated ssldir' do
      out, err, st = facter(world.confdir_for(:ok))
      expect(st).to be_success, err
      value = JSON.parse(out).fetch('cert_regen')
      expect(value).to include('health' => 'ok', 'certname' => PKI::CERTNAME, 'ssldir' => world.ssldir(:ok))
      expect(value['hostcert']).to include(RubySays.cert(world.leaves[:ok].cert, Time.now).except('expires_in_days'))
      expect(err).not_to match(/WARN|ERROR/)
    end

    it 'resolves on a Windows kernel (FACTER_kernel=windows) and on no other' do
      conf = world.confdir_for(:ok)
      { 'windows' => 'ok', 'Darwin' => nil }.each do |kernel, health|
        env = { 'CERT_REGEN_CONFDIR' => conf, 'RUBYOPT' => nil, 'RUBYLIB' => nil, 'FACTER_kernel' => kernel }
        out, err, st = Open3.capture3(env, 'facter', '--custom-dir', File.join(ROOT, 'lib', 'facter'),
                                      'cert_regen', '--json')
        expect(st).to be_success, err
        expect(JSON.parse(out)['cert_regen']&.fetch('health')).to eq(health), "kernel #{kernel}: #{out}"
      end
    end

    it 'prints warnings but still exits 0 on a broken ssldir' do
      out, err, st = facter(world.confdir_for(:garbage))
      expect(st).to be_success, err
      expect(JSON.parse(out).dig('cert_regen', 'health')).to eq('error')
      expect(err).to match(/WARN.*cert_regen: hostcert: /)
    end

    it 'answers promptly with an error entry when a FIFO sits at a file it reads' do
      %w[hostcert hostprivkey localcacert hostcrl].each do |setting|
        ssl = File.join(world.dir, "fifo_#{setting}")
        FileUtils.rm_rf(ssl)
        FileUtils.cp_r(world.ssldir(:ok), ssl)
        conf = File.join(world.dir, "fifo_conf_#{setting}")
        FileUtils.mkdir_p(conf)
        File.write(File.join(conf, 'puppet.conf'), "[main]\ncertname = #{PKI::CERTNAME}\nssldir = #{ssl}\n")
        path = CertRegen::Native.settings('confdir' => conf).fetch(setting)
        File.unlink(path)
        File.mkfifo(path)
        started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        out, err, st = Timeout.timeout(60) { facter(conf) }
        expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 30
        expect(st).to be_success, err
        value = JSON.parse(out).fetch('cert_regen')
        expect(value['health']).to eq('error')
        expect(value['errors'].map { |e| e['msg'] }.join).to include("#{path} is not a regular file (a FIFO)")
      end
    end

    it 'answers promptly with an error when puppet.conf is a FIFO' do
      conf = File.join(world.dir, 'fifo_puppet_conf')
      FileUtils.mkdir_p(conf)
      File.mkfifo(File.join(conf, 'puppet.conf')) unless File.exist?(File.join(conf, 'puppet.conf'))
      out, err, st = Timeout.timeout(60) { facter(conf) }
      expect(st).to be_success, err
      expect(JSON.parse(out).dig('cert_regen', 'health')).to eq('error')
      expect(JSON.parse(out).dig('cert_regen', 'error')).to include('is not a regular file (a FIFO)')
    end

    it "uses Puppet's own settings inside an agent-mode Puppet, including [agent]" do
      conf = File.join(world.dir, 'agent_section_confdir')
      FileUtils.mkdir_p(conf)
      File.write(File.join(conf, 'puppet.conf'),
                 "[main]\ncertname = #{PKI::CERTNAME}\n[agent]\nssldir = #{world.ssldir(:ok)}\n")
      script = <<~RUBY
        require 'puppet'
        require 'json'
        Puppet.send(:do_initialize_settings_for_run_mode, :agent, ['--confdir', ARGV[0]], true, true, {})
        require 'facter'
        load ARGV[1]
        puts JSON.generate(Facter.value(:cert_regen))
      RUBY
      out, err, st = Open3.capture3({ 'RUBYOPT' => nil, 'RUBYLIB' => nil, 'CERT_REGEN_CONFDIR' => nil },
                                    RbConfig.ruby, '-e', script, conf, fact_file)
      expect(st).to be_success, err
      value = JSON.parse(out.lines.last)
      expect(value).to include('health' => 'ok', 'ssldir' => world.ssldir(:ok), 'confdir' => conf)
    end
  end
end
