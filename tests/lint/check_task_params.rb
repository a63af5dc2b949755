#!/usr/bin/env ruby
# frozen_string_literal: true

# One definition of each task parameter serves Bolt and the C checks: for
# every task, tasks/<task>.json and the C parameter table (printed by
# `cert_regen params`) must declare the same parameters, and on a set of
# probe values (empty, too long, malformed fingerprints, '..' paths, names
# with capitals or spaces, ranges' edges, wrong shapes, ...) the JSON type
# (Puppet's type system, as Bolt checks it) and the C check
# (`cert_regen check-params TASK`) must accept exactly the same values.
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
PROBES = (STRINGS + INTS + [true, false, 1.5] + ARRAYS + HASHES).freeze

def json_type(expr)
  Puppet::Pops::Types::TypeParser.singleton.parse(expr)
end

# A well-formed absolute path that simply does not exist: the C check of a
# directory parameter looks at the disk, Bolt's type cannot.
def skip_for_dir?(value)
  value.is_a?(String) && value.start_with?('/') && value.length <= 4096 &&
    value !~ %r{(\A|/)\.\.(/|\z)} && !value.include?("\n") && !File.directory?(value)
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
  cases = []
  (jparams.keys & cparams.keys).each do |name|
    type = json_type(jparams[name]['type'])
    PROBES.each do |v|
      next if cparams[name]['type'] == 'dir' && skip_for_dir?(v)

      cases << [name, v, type.instance?(v)]
    end
  end
  out, st = Open3.capture2(BIN, 'check-params', task,
                           stdin_data: JSON.generate(cases.map { |n, v, _| { n => v } }))
  abort "#{BIN} check-params #{task} failed" unless st.success?
  JSON.parse(out).zip(cases).each do |c_answer, (name, v, j_ok)|
    c_ok = c_answer == true
    next if c_ok == j_ok

    errs << "#{task}.#{name}: #{show(v)}: tasks/#{task}.json #{j_ok ? 'accepts' : 'refuses'} " \
            "(#{jparams[name]['type']}), the C check #{c_ok ? 'accepts' : "refuses (#{c_answer})"}"
  end
end
puts errs
exit(errs.empty? ? 0 : 1)
