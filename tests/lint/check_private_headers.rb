#!/usr/bin/env ruby
# frozen_string_literal: true

# Private headers stay private: a module's <module>_int.h (state shared by
# the files of one module, "not part of the core's API") may be included
# only by that module's own files: <module>.c and <module>_<part>.c under
# ext/, and its unit test tests/unit/test_<module without cr_>*.c.  Anything
# another module needs goes into a public header.  Prints one line per
# include that crosses a module line and exits 1 if there is any.
#
#   ruby tests/lint/check_private_headers.rb [module_root]

ROOT = File.expand_path(ARGV[0] || File.join(__dir__, '..', '..'))
INCLUDE = /^\s*#\s*include\s*[<"]([^">]*?)_int\.h[">]/

# The module a file belongs to: ext/core/cr_regen_ca.c -> names it may
# claim are cr_regen_ca and each of its prefixes at an underscore.
def owners(path)
  base = File.basename(path).sub(/\.[ch]\z/, '')
  base = "cr_#{base.delete_prefix('test_')}" if path.include?('/tests/') && base.start_with?('test_')
  parts = base.split('_')
  (1..parts.size).map { |n| parts.first(n).join('_') }
end

files = Dir[File.join(ROOT, '{ext,tests}', '**', '*.{c,h}')]
bad = []
files.each do |path|
  File.foreach(path).with_index(1) do |line, no|
    next unless (m = INCLUDE.match(line))

    mod = File.basename(m[1])
    next if owners(path).include?(mod)

    rel = path.delete_prefix("#{ROOT}/")
    bad << "#{rel}:#{no}: includes #{mod}_int.h, private to #{mod}: move what it needs into a public header"
  end
end
puts bad
puts "private headers: #{files.size} files checked, #{bad.size} crossing#{'s' unless bad.size == 1}"
exit(bad.empty? ? 0 : 1)
