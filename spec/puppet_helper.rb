# frozen_string_literal: true

# rspec-puppet for the module's Puppet-language functions (functions/*.pp):
# the decisions the plans make are tested here, without Bolt. The module is
# found as tmp/rspec-puppet/modules/cert_regen, a symlink to the repository
# made here (outside spec/, so that `rspec spec` does not walk into it).
require 'fileutils'
require 'rspec-puppet'

PUPPET_ROOT = File.expand_path('..', __dir__)
fixtures = File.join(PUPPET_ROOT, 'tmp', 'rspec-puppet')
link = File.join(fixtures, 'modules', 'cert_regen')
FileUtils.mkdir_p(File.dirname(link))
FileUtils.ln_s(PUPPET_ROOT, link) unless File.symlink?(link)
FileUtils.mkdir_p(File.join(fixtures, 'manifests'))
FileUtils.touch(File.join(fixtures, 'manifests', 'site.pp'))

RSpec.configure do |c|
  c.module_path = File.join(fixtures, 'modules')
  c.manifest = File.join(fixtures, 'manifests', 'site.pp')
  c.expect_with(:rspec) { |e| e.syntax = :expect }
end
