#!/usr/bin/env ruby
# frozen_string_literal: true

# Every error kind the tasks and plans can return has its line in the
# README's "Troubleshooting" table (kind | meaning | what to do), one kind
# per line, sorted, and the table names no kind that nothing returns.
#
#   ruby tests/lint/check_error_kinds.rb [module_root]
root = File.expand_path(ARGV[0] || File.join(__dir__, '..', '..'))
KIND = %r{cert_regen/[a-z0-9]+(?:-[a-z0-9]+)*}

code = Dir[File.join(root, '{ext,plans,functions}/**/*.{c,h,pp}')].reject { |f| f.include?('/tests/') }
used = code.flat_map { |f| File.read(f).scan(/"(#{KIND})"|'(#{KIND})'|(cert_regen\/ca-\$\{verdict\})/o) }
           .flatten.compact.uniq
# cert_regen::ca_condition builds "cert_regen/ca-${verdict}" for its two verdicts
used = (used - ['cert_regen/ca-${verdict}'] + %w[cert_regen/ca-expiring cert_regen/ca-expired]).uniq.sort

readme = File.read(File.join(root, 'README.md'))
section = readme[/^## Troubleshooting\n(.*?)(?=^## )/m, 1]
abort 'README.md has no "## Troubleshooting" section' unless section

rows = section.lines.grep(/\A\| `cert_regen\//)
listed = rows.map { |l| l[/\A\| `(#{KIND})` \|/o, 1] }
problems = []
rows.each_with_index do |l, i|
  problems << "not one kind per line, or not kind | meaning | what to do: #{l.strip}" if listed[i].nil? || l.count('|') != 4
end
listed.compact!
problems << "not sorted: #{listed.inspect}" unless listed == listed.sort
problems << "listed twice: #{listed.tally.select { |_, n| n > 1 }.keys.join(', ')}" if listed.uniq.size != listed.size
(used - listed).each { |k| problems << "#{k} is returned but has no line in the README's troubleshooting table" }
(listed - used).each { |k| problems << "#{k} is in the troubleshooting table but nothing returns it" }

if problems.empty?
  puts "error kinds: #{used.size} kinds, each with its troubleshooting line"
else
  puts problems
  exit 1
end
