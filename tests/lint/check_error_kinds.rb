#!/usr/bin/env ruby
# frozen_string_literal: true

# The one registry of error kinds (ext/core/cr_err.c, kind_registry) must
# hold every kind the module's C code and task launchers can print, so
# that every printed error ends with a next step for its kind:
#   - every `#define CR_KIND_* "cert_regen/..."` under ext/
#   - every "cert_regen/<kind>" string literal in ext/ C sources
#   - every "kind":"cert_regen/<kind>" printed by files/*.sh and tasks/*.sh
# and every registered kind must be named in README.md (a table row).
# Prints one line per problem and exits 1 if there is any.
#
#   ruby tests/lint/check_error_kinds.rb [module_root]
ROOT = File.expand_path(ARGV[0] || File.join(__dir__, '..', '..'))
KIND = %r{cert_regen/[a-z0-9][a-z0-9-]*}.freeze

registry_src = File.read(File.join(ROOT, 'ext/core/cr_err.c'))
body = registry_src[/kind_registry\[\] = \{(.*?)\n\};/m, 1]
abort 'ext/core/cr_err.c: kind_registry not found' if body.nil?
registered = body.scan(/\{ "(#{KIND})"/o).flatten

errs = []
dups = registered.group_by(&:itself).select { |_k, v| v.size > 1 }.keys
errs.concat(dups.map { |k| "ext/core/cr_err.c: #{k} registered twice" })

used = Hash.new { |h, k| h[k] = [] }
Dir[File.join(ROOT, 'ext/**/*.{c,h}')].sort.each do |f|
  rel = f.delete_prefix("#{ROOT}/")
  File.read(f).scan(/"(#{KIND})"/o).flatten.each { |k| used[k] << rel }
end
Dir[File.join(ROOT, '{files,tasks}/*.sh')].sort.each do |f|
  rel = f.delete_prefix("#{ROOT}/")
  File.read(f).scan(/"kind"\s*:\s*"(#{KIND})"/o).flatten.each { |k| used[k] << rel }
end
used.each do |k, where|
  errs << "#{where.uniq.join(', ')}: kind #{k} is not in cr_err.c's kind_registry (add it with its default next step)" unless registered.include?(k)
end

readme = File.read(File.join(ROOT, 'README.md'))
registered.each do |k|
  short = k.delete_prefix('cert_regen/')
  next if readme.each_line.any? { |l| l.start_with?('|') && l =~ /`(cert_regen\/)?#{Regexp.escape(short)}`/ }

  errs << "README.md: kind #{k} has no row in a troubleshooting/error table"
end

puts errs
exit(errs.empty? ? 0 : 1)
