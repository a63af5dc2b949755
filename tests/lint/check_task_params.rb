#!/usr/bin/env ruby
# frozen_string_literal: true

# One definition of each task parameter serves Bolt and the C checks: for
# every task, tasks/<task>.json and the C parameter table (printed by
# `cert_regen params`) must declare the same parameters, and on a set of
# probe values (empty, too long, malformed fingerprints, '..' paths, names
# with capitals or spaces, ranges' edges, wrong shapes, ...) the JSON type
# (Puppet's type system, as Bolt checks it) and the C check
# (`cert_regen check-params TASK`) must accept exactly the same values.
# Windows paths (C:\..., \\server\share) are probed too: for a task with
# a PowerShell implementation its path parameters' JSON type accepts them,
# so there the Windows executable's check is the one to agree with; with
# CERT_REGEN_WIN_EXE (run under wine, CR_WINE) it is asked, otherwise those
# probes are left to test_windows.sh, which sets it.  A Linux-only task
# must refuse them, as the Linux check does.
# Prints one line per difference and exits 1 if there is any.
#
#   ruby tests/lint/check_task_params.rb [module_root]
require 'json'
require 'open3'
require 'puppet'

ROOT = File.expand_path(ARGV[0] || File.join(__dir__, '..', '..'))
PLATFORM = "#{`uname -s`.strip.downcase}-#{`uname -m`.strip}"
BIN = ENV['CERT_REGEN_BIN'] || File.join(ROOT, 'files', 'bin', PLATFORM, 'cert_regen')

unless ENV['CERT_REGEN_BIN']
  _o, st = Open3.capture2e('make', '-s', '-C', File.join(ROOT, 'ext'))
  abort "cannot build #{BIN} (make -C ext)" unless st.success?
end

FP = (0...32).map { |i| format('%02X', (i * 37) % 256) }.join(':')
NAMES_MAX = Array.new(1000) { |i| "n#{i}.test" }
STRINGS = [
  '', 'a', 'web', 'rsa', 'ec', 'dsa', 'all', 'signed', 'requested', 'revoked', 'bogus', 'prime256v1',
  'production', 'Production', 'agent.example.com', 'Agent.example.com', 'a..b', '.a', '-a', '_a',
  'a b', 'a@b', 'pxp-agent', 'Bad/Name', 'IP:127.0.0.1', 'latest', 'x' * 255, 'x' * 256,
  'x' * 4096, 'x' * 4097, '/tmp', '/', '/tmp/../tmp', '/..', '/a/..b/c..', '/nonexistent-dir-xyz',
  'relative/path', "/#{'x' * 4095}", "/#{'x' * 4096}", "a\nb", FP, "#{FP}:", FP.delete(':'),
  "SHA256:#{FP}", "(SHA256) #{FP}", "SHA256:#{FP}:", FP.downcase, FP[0..-4]
].freeze
INTS = [-1, 0, 1, 30, 1000, 2047, 2048, 3600, 3601, 3650, 3651, 16_384, 16_385, 36_500, 36_501,
        65_535, 65_536, 86_400, 86_401].freeze
ARRAYS = [[], ['a'], [''], ['x' * 4097], ['agent.example.com'], ['a..b'], ['Bad/Name'], ['a b'],
          ['pxp-agent', 'puppet'], ['-x'], [1], [nil], NAMES_MAX, NAMES_MAX + ['n1000.test'],
          ['IP:127.0.0.1', 'puppet.example.com']].freeze
HASHES = [{}, { 'pp_role' => 'web' }, { '' => 'v' }, { 'k' => '' }, { 'k' => 'x' * 4097 },
          { 'x' * 4097 => 'v' }, { 'agent.example.com' => FP }, { 'agent.example.com' => "#{FP}:" },
          { 'agent.example.com' => 'nonsense' }, { 'Bad/Name' => FP }, { 'k' => 1 }].freeze
WIN_PATHS = ['C:/ProgramData/PuppetLabs/puppet/etc', 'C:\\x', 'c:/x', '\\\\srv\\share\\ssl', 'C:/a/../b',
             'C:\\a\\..\\b', 'C:\\..', 'C:', 'C:x', 'C:/x/..'].freeze
PROBES = (STRINGS + INTS + [true, false, 1.5] + ARRAYS + HASHES + WIN_PATHS).freeze
WIN_EXE = ENV.fetch('CERT_REGEN_WIN_EXE', nil)
WINE = ENV.fetch('CR_WINE', '/usr/lib/wine/wine64')

def json_type(expr)
  Puppet::Pops::Types::TypeParser.singleton.parse(expr)
end

# A well-formed absolute path that simply does not exist: the C check of a
# directory parameter looks at the disk, Bolt's type cannot.
def skip_for_dir?(value)
  return false unless value.is_a?(String) && value.length <= 4096 && !value.include?("\n")

  if WIN_PATHS.include?(value)
    value.match?(%r{\A([A-Za-z]:[/\\]|\\\\)}) && value !~ %r{(\A|[/\\])\.\.([/\\]|\z)}
  else
    value.start_with?('/') && value !~ %r{(\A|/)\.\.(/|\z)} && !File.directory?(value)
  end
end

def path_param?(cparam)
  %w[path dir].include?(cparam['type'])
end

# [answers] of `cert_regen check-params TASK` for cases ([name, value, _]).
def c_check(cmd, task, cases)
  out, st = Open3.capture2(*cmd, 'check-params', task,
                           stdin_data: JSON.generate(cases.map { |n, v, _| { n => v } }))
  abort "#{cmd.last} check-params #{task} failed" unless st.success?
  JSON.parse(out.delete("\r"))
end

def show(value)
  s = value.inspect
  s.length > 60 ? "#{s[0, 40]}...(#{s.length} chars)" : s
end

c_tables, st = Open3.capture2(BIN, 'params')
abort "#{BIN} params failed" unless st.success?
c_tables = JSON.parse(c_tables)
errs = []
Dir[File.join(ROOT, 'tasks', '*.json')].sort.each do |file|
  task = File.basename(file, '.json')
  meta = JSON.parse(File.read(file))
  jparams = meta['parameters'] || {}
  cparams = c_tables[task]
  if cparams.nil?
    errs << "tasks/#{task}.json: no C parameter table for this task"
    next
  end
  (jparams.keys - cparams.keys).each { |p| errs << "#{task}.#{p}: in tasks/#{task}.json, not in the C table" }
  (cparams.keys - jparams.keys).each { |p| errs << "#{task}.#{p}: in the C table, not in tasks/#{task}.json" }
  windows = (meta['implementations'] || []).any? { |i| Array(i['requirements']).include?('powershell') }
  cases = []
  win_cases = []
  (jparams.keys & cparams.keys).each do |name|
    type = json_type(jparams[name]['type'])
    PROBES.each do |v|
      next if cparams[name]['type'] == 'dir' && skip_for_dir?(v)

      (windows && path_param?(cparams[name]) && WIN_PATHS.include?(v) ? win_cases : cases) <<
        [name, v, type.instance?(v)]
    end
  end
  checks = [[[BIN], cases, 'the C check']]
  checks << [[WINE, WIN_EXE], win_cases, "the Windows executable's check"] if WIN_EXE && !win_cases.empty?
  checks.each do |cmd, cs, who|
    c_check(cmd, task, cs).zip(cs).each do |c_answer, (name, v, j_ok)|
      c_ok = c_answer == true
      next if c_ok == j_ok

      errs << "#{task}.#{name}: #{show(v)}: tasks/#{task}.json #{j_ok ? 'accepts' : 'refuses'} " \
              "(#{jparams[name]['type']}), #{who} #{c_ok ? 'accepts' : "refuses (#{c_answer})"}"
    end
  end
end
puts errs
exit(errs.empty? ? 0 : 1)
