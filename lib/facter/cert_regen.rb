# frozen_string_literal: true

# cert_regen: the state of this node's Puppet agent certificate, read by the
# native extension CertRegen::Native (health, hostcert details, CA bundle,
# CRLs, pending CSR, files).  Linux only.
#
# Settings come from Puppet itself when the fact runs inside a Puppet agent
# run (confdir, ssldir, certname, hostcert, hostprivkey, localcacert,
# hostcrl, hostcsr, certificate_revocation).  Otherwise (plain `facter`,
# `facter -p`) the extension resolves them from puppet.conf in
# $CERT_REGEN_CONFDIR if set, else the packaging's default confdir, with
# Facter's fqdn as the default certname, as Puppet does.
#
# Without a build of the extension for this Ruby, the module's static task
# executable gives the same value ("source" says which one answered).
# The fact never raises: a missing build, a failing extension or an
# unreadable file gives a value with health "error" and a Facter warning.
require_relative '../cert_regen/native'
require_relative '../cert_regen/executable'

module CertRegen
  # Facter loads fact files again on every run of a daemon: start from a
  # clean module so the newest code wins without method-redefined warnings.
  remove_const(:Fact) if const_defined?(:Fact, false)

  # Builds the value of the cert_regen fact.
  module Fact
    module_function

    # Names of the Puppet settings passed on as overrides.
    def puppet_setting_names
      %i[hostcert hostprivkey localcacert hostcrl hostcsr certificate_revocation]
    end

    # "source" says which path gave the value: "extension" (the build for
    # this Ruby), "executable" (no build loads here: the module's static
    # task executable answered) or "none".
    def value
      status = if CertRegen::NativeLoader.load!
                 CertRegen::Native.status(options).merge('source' => 'extension')
               else
                 from_executable
               end
      return status if status['source'] == 'none'

      Array(status['errors']).each do |e|
        Facter.warn("cert_regen: #{e['part']}: #{e['msg']} (#{e['kind']})")
      end
      status
    rescue StandardError => e
      error_value(e)
    end

    def from_executable
      status = CertRegen::Executable.status(options)
      return status.merge('source' => 'executable') if status

      reason = "#{CertRegen::NativeLoader.reason}; #{CertRegen::Executable.reason}"
      Facter.warn("cert_regen: #{reason}")
      {
        'health' => 'error',
        'health_reasons' => [reason],
        'error' => reason,
        'ruby_abi' => CertRegen::NativeLoader.ruby_abi,
        'ruby_arch' => CertRegen::NativeLoader.ruby_arch,
        'warn_days' => CertRegen::NativeLoader.warn_days_default,
        'source' => 'none',
      }
    end

    def error_value(exc)
      kind = exc.respond_to?(:kind) ? exc.kind : exc.class.name
      Facter.warn("cert_regen: cannot collect the certificate state: #{exc.message} (#{kind})")
      {
        'health' => 'error',
        'health_reasons' => [exc.message],
        'error' => exc.message,
        'error_kind' => kind,
        'warn_days' => CertRegen::NativeLoader.warn_days_default,
      }
    end

    # Puppet's settings apply when an agent run loaded them.  Under `facter -p`
    # Puppet runs in "user" mode and would miss puppet.conf's [agent] section,
    # so only its confdir is used then and the extension reads [agent].
    def puppet_agent_settings?
      defined?(::Puppet) && ::Puppet.respond_to?(:settings) &&
        ::Puppet.settings.respond_to?(:app_defaults_initialized?) &&
        ::Puppet.settings.app_defaults_initialized?
    end

    def options
      if puppet_agent_settings?
        settings = ::Puppet.settings
        return puppet_options(settings) if settings.preferred_run_mode == :agent

        return { 'confdir' => settings[:confdir].to_s, 'default_certname' => default_certname }
      end
      opts = { 'default_certname' => default_certname }
      confdir = ENV.fetch('CERT_REGEN_CONFDIR', '')
      opts['confdir'] = confdir unless confdir.empty?
      opts
    end

    def puppet_options(settings)
      overrides = {}
      puppet_setting_names.each do |name|
        v = settings[name]
        overrides[name.to_s] = v.to_s unless v.nil? || v == ''
      end
      {
        'confdir' => settings[:confdir].to_s,
        'ssldir' => settings[:ssldir].to_s,
        'certname' => settings[:certname].to_s,
        'settings' => overrides,
      }
    end

    # Puppet's default certname: the fqdn, downcased, no trailing dot.
    def default_certname
      name = Facter.value('networking.fqdn') || Facter.value('networking.hostname')
      return nil if name.nil? || name.to_s.empty?

      name.to_s.downcase.sub(/\.\z/, '')
    end
  end
end

Facter.add(:cert_regen) do
  # Windows: no extension is built for AIO's mingw Ruby, so the fact runs
  # the packaged cert_regen.exe (lib/cert_regen/bin/windows-x86_64)
  confine kernel: %w[Linux windows]
  setcode { CertRegen::Fact.value }
end
