#!/usr/bin/env ruby
# frozen_string_literal: true

# REFERENCE.md must be exactly what puppet-strings generates now, and
# generating it must not warn (an undocumented parameter, a bad @example,
# an unknown tag ... all show up as YARD "[warn]"/"[error]" lines).
#
#   ruby tests/lint/check_reference.rb [module_root]
#
# Exits 1 with the warnings and a unified diff; `rake reference` rewrites
# REFERENCE.md.  Ruby's own warnings about puppet-strings' source (ERB.new
# arguments, Ruby >= 2.6) are switched off with -W0: they are not about this
# module's documentation, and YARD's "[warn]" lines go through YARD's own
# logger, which -W0 does not silence (checked with an undocumented class).
require 'fileutils'
require 'open3'
require 'tmpdir'

root = File.expand_path(ARGV[0] || File.join(__dir__, '..', '..'))
reference = File.join(root, 'REFERENCE.md')
yardoc = File.join(root, '.yardoc')
had_yardoc = File.exist?(yardoc)
problems = []

Dir.mktmpdir('cert_regen_reference') do |tmp|
  generated = File.join(tmp, 'REFERENCE.md')
  env = { 'RUBYOPT' => [ENV.fetch('RUBYOPT', nil), '-W0'].compact.join(' ') }
  out, status = Open3.capture2e(env, 'puppet', 'strings', 'generate', '--format', 'markdown',
                                '--out', generated, chdir: root)
  # puppet-strings leaves YARD's cache behind; remove it unless it was there.
  FileUtils.rm_rf(yardoc) unless had_yardoc

  warnings = out.lines.grep(/\[(warn|error)\]|\bwarning\b|\berror\b/i)
  problems << "puppet strings generate exited #{status.exitstatus}:\n#{out}" unless status.success?
  problems << "puppet strings generate warned:\n#{warnings.join}" unless warnings.empty?

  if !File.file?(generated)
    problems << 'puppet strings generate wrote nothing'
  elsif !File.file?(reference)
    problems << 'REFERENCE.md is missing: run `rake reference`'
  elsif File.binread(generated) != File.binread(reference)
    diff, = Open3.capture2e('diff', '-u', reference, generated)
    problems << "REFERENCE.md is out of date (run `rake reference`):\n#{diff}"
  end
end

if problems.empty?
  puts 'REFERENCE.md is up to date and puppet-strings did not warn'
  exit 0
end
problems.each { |p| puts "ERROR #{p}" }
exit 1
