#!/usr/bin/env ruby
# frozen_string_literal: true

# Error kinds, one registry and one table:
#   - every kind the C code (`#define CR_KIND_*` and "cert_regen/..." string
#     literals under ext/) and the task launchers (files/*.sh, tasks/*.sh)
#     can print is in cr_err.c's kind_registry, with its default next step;
#   - every kind the C code, the launchers, the plans and the functions can
#     return has exactly one line in the "Error kinds" table of
#     docs/troubleshooting.md (kind | meaning | what to do), sorted, and the
#     table names no kind that nothing returns;
#   - the README's short Troubleshooting section names only kinds that
#     something returns.
# Prints one line per problem and exits 1 if there is any.
#
#   ruby tests/lint/check_error_kinds.rb [module_root]
ROOT = File.expand_path(ARGV[0] || File.join(__dir__, '..', '..'))
KIND = %r{cert_regen/[a-z0-9]+(?:-[a-z0-9]+)*}.freeze

def rel(path)
  path.delete_prefix("#{ROOT}/")
end

problems = []

# -- the C registry
registry_src = File.read(File.join(ROOT, 'ext/core/cr_err.c'))
body = registry_src[/kind_registry\[\] = \{(.*?)\n\};/m, 1]
abort 'ext/core/cr_err.c: kind_registry not found' if body.nil?
registered = body.scan(/\{ "(#{KIND})"/o).flatten
registered.tally.each { |k, n| problems << "ext/core/cr_err.c: #{k} registered #{n} times" if n > 1 }

printed = Hash.new { |h, k| h[k] = [] } # kinds a task executable or launcher prints
Dir[File.join(ROOT, 'ext/**/*.{c,h}')].sort.each do |f|
  File.read(f).scan(/"(#{KIND})"/o).flatten.each { |k| printed[k] << rel(f) }
end
Dir[File.join(ROOT, '{files,tasks}/*.sh')].sort.each do |f|
  File.read(f).scan(/"kind"\s*:\s*"(#{KIND})"/o).flatten.each { |k| printed[k] << rel(f) }
end
printed.each do |k, where|
  next if registered.include?(k)

  problems << "#{where.uniq.join(', ')}: kind #{k} is not in cr_err.c's kind_registry (add it with its default next step)"
end

# -- kinds the plans and functions return
planned = Dir[File.join(ROOT, '{plans,functions}/**/*.pp')].sort.flat_map do |f|
  File.read(f).scan(/"(#{KIND})"|'(#{KIND})'|(cert_regen\/ca-\$\{verdict\})/o).flatten.compact
end
# cert_regen::ca_condition builds "cert_regen/ca-${verdict}" for its two verdicts
planned = planned - ['cert_regen/ca-${verdict}'] + %w[cert_regen/ca-expiring cert_regen/ca-expired]
used = (printed.keys + registered + planned).uniq.sort

# -- the table in docs/troubleshooting.md
TABLE = 'docs/troubleshooting.md'
doc = File.read(File.join(ROOT, TABLE))
section = doc[/^## Error kinds\n(.*?)(?=^## |\z)/m, 1]
abort "#{TABLE} has no \"## Error kinds\" section" unless section

rows = section.lines.grep(/\A\| `cert_regen\//)
listed = rows.map { |l| l[/\A\| `(#{KIND})` \|/o, 1] }
rows.each_with_index do |l, i|
  problems << "#{TABLE}: not one kind per line, or not kind | meaning | what to do: #{l.strip}" if listed[i].nil? || l.count('|') != 4
end
listed.compact!
problems << "#{TABLE}: troubleshooting table not sorted" unless listed == listed.sort
listed.tally.each { |k, n| problems << "#{TABLE}: #{k} listed #{n} times" if n > 1 }
(used - listed).each { |k| problems << "#{TABLE}: #{k} is returned but has no line in the troubleshooting table" }
(listed - used).each { |k| problems << "#{TABLE}: #{k} is in the troubleshooting table but nothing returns it" }

# -- the README names a few kinds; a renamed or removed one must not linger there
readme = File.read(File.join(ROOT, 'README.md'))
(readme.scan(/`(#{KIND})`/o).flatten.uniq - used).each do |k|
  problems << "README.md: #{k} is named but nothing returns it (see #{TABLE})"
end

if problems.empty?
  puts "error kinds: #{registered.size} registered, #{used.size} returned, each with its troubleshooting line"
else
  puts problems
  exit 1
end
