#!/usr/bin/env ruby
# frozen_string_literal: true

# Benchmark (not a test): the cost of the cert_regen fact, side by side.
#
#   ruby bench/fact_bench.rb            (or `rake bench`; needs `rake compile`)
#   N=50 FACTER_N=5 CRL_ENTRIES=100000 ruby bench/fact_bench.rb
#
# Two ssldirs: a normal one (root + intermediate CA, 2 CRLs, RSA-2048 leaf)
# and one whose intermediate CRL holds CRL_ENTRIES revoked serials (built
# once with Ruby OpenSSL into tmp/bench/, reused afterwards).  For each:
#   - CertRegen::Native.status in-process (median of N calls)
#   - bench/pure_ruby_status.rb, the same fields with ruby/openssl (median of N)
#   - `facter --custom-dir lib/facter cert_regen --json` as a subprocess
#     (median of FACTER_N), plus `facter kernel` as facter's own baseline.
# In-process cases run in a fresh child Ruby each, so their RSS is their own:
# "peak RSS" is the child's VmHWM, "added" is VmHWM minus VmRSS before the
# first call.  Subprocess RSS is /usr/bin/time's maximum resident set size.
require 'etc'
require 'fileutils'
require 'json'
require 'open3'
require 'rbconfig'
require 'tmpdir'

ROOT = File.expand_path('..', __dir__)
N = Integer(ENV.fetch('N', '50'))
FACTER_N = Integer(ENV.fetch('FACTER_N', '5'))
CRL_ENTRIES = Integer(ENV.fetch('CRL_ENTRIES', '100000'))

def proc_status_kb(field)
  File.read('/proc/self/status')[/^#{field}:\s+(\d+) kB/, 1].to_i
end

def median(xs)
  s = xs.sort
  s.size.odd? ? s[s.size / 2] : (s[s.size / 2 - 1] + s[s.size / 2]) / 2.0
end

def clock
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

# ---- child mode: time one implementation in a process of its own ---------
if ARGV.first == '--child'
  _, impl, ssldir, certname, n = ARGV
  $LOAD_PATH.unshift(File.join(ROOT, 'lib'))
  require 'openssl'
  if impl == 'native'
    require 'cert_regen/native'
    abort CertRegen::NativeLoader.reason unless CertRegen::NativeLoader.load!
    confdir = Dir.mktmpdir('bench_confdir') # no puppet.conf: explicit inputs only
    call = -> { CertRegen::Native.status('confdir' => confdir, 'ssldir' => ssldir, 'certname' => certname) }
  else
    require_relative 'pure_ruby_status'
    call = -> { CertRegen::PureRubyStatus.status(ssldir: ssldir, certname: certname) }
  end
  GC.start
  rss_before = proc_status_kb('VmRSS')
  health = call.call['health'] # warm-up, also checks it works
  times = Array.new(Integer(n)) do
    t = clock
    call.call
    (clock - t) * 1000.0
  end
  puts JSON.generate('ms' => times, 'rss_before_kb' => rss_before, 'hwm_kb' => proc_status_kb('VmHWM'),
                     'health' => health)
  exit 0
end

# ---- fixtures -----------------------------------------------------------------
require_relative '../spec/support/pki'

def write_pem(path, objs, mode = 0o644)
  FileUtils.mkdir_p(File.dirname(path))
  File.write(path, Array(objs).map(&:to_pem).join)
  File.chmod(mode, path)
end

def write_confdir(dir, ssldir)
  FileUtils.mkdir_p(dir)
  File.write(File.join(dir, 'puppet.conf'), "[main]\ncertname = #{PKI::CERTNAME}\nssldir = #{ssldir}\n")
  dir
end

# An ssldir whose intermediate CRL revokes `entries` serials (none the leaf's).
def big_crl_ssldir(entries)
  base = File.join(ROOT, 'tmp', 'bench', "crl-#{entries}")
  ssl = File.join(base, 'ssl')
  done = File.join(base, 'complete')
  if File.exist?(done)
    puts "using the cached #{entries}-entry CRL ssldir in #{base}"
    return [ssl, write_confdir(File.join(base, 'confdir'), ssl)]
  end
  FileUtils.rm_rf(base)
  puts "building an ssldir with a #{entries}-entry CRL in #{base} (once; reused next time)"
  root = PKI.make_ca('/CN=Puppet Root CA: bench', serial: 1)
  inter = PKI.make_ca('/CN=Puppet CA: bench.example.com', serial: 2, issuer: root)
  leaf = PKI.make_leaf(inter, serial: 2, key: PKI.rsa_key, extra: PKI.leaf_extensions)
  crl = OpenSSL::X509::CRL.new
  crl.version = 1
  crl.issuer = inter.cert.subject
  crl.last_update = PKI.now - PKI::DAY
  crl.next_update = PKI.now + (5 * 365 * PKI::DAY)
  t0 = clock
  revoked_at = PKI.now - 3600
  # One CRL#revoked= call: CRL#add_revoked per entry is quadratic here
  # (8.5 s for 20k entries, 414 s for 100k; revoked= takes 0.04 s for 20k).
  list = Array.new(entries) do |i|
    if ((i + 1) % 10_000).zero?
      print format("\r  revoked entries: %<n>d/%<of>d (%<s>.1f s)", n: i + 1, of: entries, s: clock - t0)
      $stdout.flush
    end
    r = OpenSSL::X509::Revoked.new
    r.serial = OpenSSL::BN.new(1000 + i)
    r.time = revoked_at
    r
  end
  crl.revoked = list
  puts
  crl.add_extension(OpenSSL::X509::Extension.new('crlNumber', OpenSSL::ASN1::Integer.new(entries).to_der))
  print '  signing the CRL... '
  $stdout.flush
  crl.sign(inter.key, OpenSSL::Digest.new('SHA256'))
  puts format('done (%.1f s in all)', clock - t0)
  write_pem(File.join(ssl, 'certs', 'ca.pem'), [inter.cert, root.cert])
  write_pem(File.join(ssl, 'crl.pem'), [crl, root.crl(number: 1, now: PKI.now)])
  write_pem(File.join(ssl, 'certs', "#{PKI::CERTNAME}.pem"), leaf.cert)
  write_pem(File.join(ssl, 'private_keys', "#{PKI::CERTNAME}.pem"), leaf.key, 0o640)
  File.write(done, "#{Time.now.utc}\n")
  puts format('  crl.pem: %.1f MiB', File.size(File.join(ssl, 'crl.pem')) / 1048576.0)
  [ssl, write_confdir(File.join(base, 'confdir'), ssl)]
end

# ---- measurements -------------------------------------------------------------
Row = Struct.new(:what, :ssldir, :runs, :median_ms, :min_ms, :peak_mb, :added_mb, :health)

def in_process(impl, label, ssldir_label, ssldir)
  out, err, st = Open3.capture3(RbConfig.ruby, __FILE__, '--child', impl, ssldir, PKI::CERTNAME, N.to_s)
  abort "#{label} failed: #{err}" unless st.success?
  r = JSON.parse(out)
  Row.new(label, ssldir_label, N, median(r['ms']), r['ms'].min, r['hwm_kb'] / 1024.0,
          (r['hwm_kb'] - r['rss_before_kb']) / 1024.0, r['health'])
end

def subprocess(label, ssldir_label, cmd, env)
  ms = []
  rss = []
  health = nil
  FACTER_N.times do
    t = clock
    out, err, st = Open3.capture3(env, '/usr/bin/time', '-f', 'CR_BENCH_MAXRSS_KB=%M', *cmd)
    ms << (clock - t) * 1000.0
    abort "#{cmd.join(' ')} failed: #{err}" unless st.success?
    rss << err[/CR_BENCH_MAXRSS_KB=(\d+)/, 1].to_i
    health = (JSON.parse(out)['cert_regen'] || {})['health'] if cmd.include?('--json')
  end
  Row.new(label, ssldir_label, FACTER_N, median(ms), ms.min, rss.max / 1024.0, nil, health || '-')
end

# The pure-Ruby baseline must compute the same thing, or the comparison is moot.
def check_same(ssldir)
  $LOAD_PATH.unshift(File.join(ROOT, 'lib'))
  require 'cert_regen/native'
  require_relative 'pure_ruby_status'
  abort CertRegen::NativeLoader.reason unless CertRegen::NativeLoader.load!
  now = Time.at(Time.now.to_i)
  a = CertRegen::Native.status('confdir' => Dir.mktmpdir, 'ssldir' => ssldir, 'certname' => PKI::CERTNAME,
                               'now' => now.to_i)
  b = CertRegen::PureRubyStatus.status(ssldir: ssldir, certname: PKI::CERTNAME, now: now)
  keys = %w[health health_reasons ca crl csr_pending files]
  same = a.slice(*keys) == b.slice(*keys) && b['hostcert'].all? { |k, v| a['hostcert'][k] == v }
  warn "pure-Ruby and native disagree on #{ssldir}" unless same
  same
end

unless File.executable?('/usr/bin/time')
  abort 'bench needs /usr/bin/time (apt-get install time) for subprocess RSS'
end

puts "Ruby #{RUBY_VERSION}, #{OpenSSL::OPENSSL_LIBRARY_VERSION}, facter #{`facter --version`.strip}, " \
     "#{Etc.nprocessors} CPUs"
normal_ssl = PKI.world.ssldir(:ok)
normal_conf = PKI.world.confdir_for(:ok)
big_ssl, big_conf = big_crl_ssldir(CRL_ENTRIES)

agree = { 'normal' => check_same(normal_ssl), 'big' => check_same(big_ssl) }
fact_cmd = ['facter', '--custom-dir', File.join(ROOT, 'lib', 'facter'), 'cert_regen', '--json']
big_label = "#{CRL_ENTRIES / 1000}k CRL"
rows = []
[['normal', normal_ssl, normal_conf], [big_label, big_ssl, big_conf]].each do |label, ssl, conf|
  puts "measuring #{label}..."
  rows << in_process('native', 'CertRegen::Native.status, in-process', label, ssl)
  rows << in_process('ruby', 'pure Ruby OpenSSL, in-process', label, ssl)
  rows << subprocess('facter --custom-dir lib/facter cert_regen', label, fact_cmd,
                     { 'CERT_REGEN_CONFDIR' => conf })
end
rows << subprocess('facter kernel (facter alone, baseline)', '-', %w[facter kernel], {})

puts
header = format('%-42s %-9s %4s %10s %8s %9s %9s  %s', 'case', 'ssldir', 'runs', 'median ms', 'min ms',
                'peak RSS', 'added', 'health')
puts header
puts '-' * header.size
rows.each do |r|
  puts format('%-42s %-9s %4d %10.2f %8.2f %7.1fMB %9s  %s', r.what, r.ssldir, r.runs, r.median_ms, r.min_ms,
              r.peak_mb, r.added_mb ? format('%.1fMB', r.added_mb) : '-', r.health)
end
puts
puts "pure-Ruby fields == native fields: normal #{agree['normal'] ? 'yes' : 'NO'}, " \
     "#{big_label} #{agree['big'] ? 'yes' : 'NO'}"
