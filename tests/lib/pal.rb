# frozen_string_literal: true

# tests/lib/pal.rb - evaluate Puppet-language code the way Bolt evaluates a
# plan's body (Puppet::Pal's script compiler: the module's functions, and
# whatever functions Puppet itself brings, such as puppet-terminus-puppetdb's
# puppetdb_query), with variables given as JSON; prints the value of the
# last expression as JSON.  No Bolt needed; Bolt's own functions
# (out::message, run_plan...) are not there.
#
#   ruby tests/lib/pal.rb CONFDIR MODULEPATH CODE [VARIABLES_JSON]
#
# CONFDIR's puppet.conf (certname, ssldir) and puppetdb.conf are read.
require 'json'
require 'puppet'

confdir, modulepath, code, vars = ARGV
abort 'usage: pal.rb CONFDIR MODULEPATH CODE [VARIABLES_JSON]' if code.nil?
Puppet.initialize_settings(['--confdir', confdir, '--vardir', File.join(confdir, 'var'),
                            '--codedir', File.join(confdir, 'code'), '--color', 'false'])
value = Puppet::Pal.in_tmp_environment('pal', modulepath: modulepath.split(':'), facts: {},
                                              variables: JSON.parse(vars || '{}')) do |pal|
  pal.with_script_compiler { |c| c.evaluate_string(code) }
end
puts JSON.generate(value)
