#!/usr/bin/env ruby
# frozen_string_literal: true

# Links in the user docs lead somewhere: every relative link of README.md,
# REFERENCE.md and docs/*.md names a file of the module, and its #anchor, if
# any, a heading of that file (GitHub's anchor for it).  Parts of the README
# move to docs/ and back; a link left pointing at the old place is what an
# operator follows first.  Links to other sites are not fetched.  Prints one
# line per broken link and exits 1 if there is any.
#
#   ruby tests/lint/check_doc_links.rb [module_root]
ROOT = File.expand_path(ARGV[0] || File.join(__dir__, '..', '..'))
LINK = /\[[^\]]*\]\(([^)\s]+)\)/.freeze

# GitHub's anchor of a heading: lower case, punctuation other than - and _
# dropped, spaces to '-'; a repeated heading gets -1, -2, ...  Headings
# that carry their own <a name="..."> (puppet-strings' REFERENCE.md) give
# that name too.
def anchors(path)
  seen = Hash.new(0)
  in_code = false
  File.readlines(path).each_with_object([]) do |line, out|
    in_code = !in_code if line.start_with?('```')
    next if in_code

    out.concat(line.scan(/<a (?:name|id)="([^"]+)"/).flatten)
    next unless (m = line.match(/\A\#{1,6}\s+(.*?)\s*\z/))

    slug = m[1].gsub(/<[^>]*>/, '').downcase.gsub(/[^\p{Word}\- ]/, '').tr(' ', '-')
    out << (seen[slug].zero? ? slug : "#{slug}-#{seen[slug]}")
    seen[slug] += 1
  end
end

# Links outside fenced code blocks and inline code.
def links(path)
  in_code = false
  File.readlines(path).each_with_index.flat_map do |line, i|
    in_code = !in_code if line.start_with?('```')
    next [] if in_code

    line.gsub(/`[^`]*`/, '').scan(LINK).flatten.map { |l| [l, i + 1] }
  end
end

docs = [File.join(ROOT, 'README.md'), File.join(ROOT, 'REFERENCE.md'), *Dir[File.join(ROOT, 'docs', '*.md')]]
problems = []
count = 0
docs.select { |d| File.file?(d) }.sort.each do |doc|
  links(doc).each do |target, line|
    next if target.match?(%r{\A[a-z][a-z0-9+.-]*:}i) # http:, https:, mailto:

    count += 1
    file, anchor = target.split('#', 2)
    dest = file.empty? ? doc : File.expand_path(file, File.dirname(doc))
    where = "#{doc.delete_prefix("#{ROOT}/")}:#{line}"
    if !dest.start_with?("#{ROOT}/") || !File.exist?(dest)
      problems << "#{where}: #{target}: no such file"
    elsif anchor && File.file?(dest) && dest.end_with?('.md') && !anchors(dest).include?(anchor)
      problems << "#{where}: #{target}: no such heading in #{dest.delete_prefix("#{ROOT}/")}"
    end
  end
end

if problems.empty?
  puts "doc links: #{count} relative links, each to a file and heading that exist"
else
  puts problems
  exit 1
end
