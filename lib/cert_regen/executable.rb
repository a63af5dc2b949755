# frozen_string_literal: true

require 'json'
require 'open3'
require 'rbconfig'
require 'tmpdir'
require 'fileutils'

module CertRegen
  # The fact's second path: when no extension loads for this Ruby, run the
  # module's self-contained task executable (`cert_regen task status`) and
  # take its answer, which is the same object (one C core serves both).
  #
  #   CertRegen::Executable.status(opts)  # => Hash, or nil with .reason set
  module Executable
    class << self
      attr_reader :reason

      # os-arch as files/launch.sh (launch.ps1 on Windows) names it.
      def platform
        host = RbConfig::CONFIG['host_os'].to_s.downcase
        os = if host.start_with?('linux') then 'linux'
             elsif windows? then 'windows'
             else RbConfig::CONFIG['host_os']
             end
        arch = RbConfig::CONFIG['host_cpu'].to_s.downcase
        arch = { 'amd64' => 'x86_64', 'arm64' => 'aarch64' }.fetch(arch, arch)
        "#{os}-#{arch}"
      end

      # AIO's Ruby on Windows is x64-mingw32 or x64-mingw-ucrt.
      def windows?
        RbConfig::CONFIG['host_os'].to_s.downcase.match?(/mingw|mswin/)
      end

      def exe_name
        windows? ? 'cert_regen.exe' : 'cert_regen'
      end

      # Where a build may be: $CERT_REGEN_EXE, lib/cert_regen/bin/<platform>
      # (what `rake package` puts into lib/, so pluginsync brings it to every
      # agent), then the module's own files/bin/<platform>.
      def candidates
        [ENV.fetch('CERT_REGEN_EXE', ''),
         File.join(__dir__, 'bin', platform, exe_name),
         File.expand_path(File.join(__dir__, '..', '..', 'files', 'bin', platform, exe_name))]
          .reject(&:empty?)
      end

      def path
        candidates.find { |p| File.file?(p) }
      end

      # Runs the status task with the fact's options; nil (see #reason) when
      # there is no build or it gives no answer.  Never raises.
      def status(opts)
        exe = path
        if exe.nil?
          @reason = "and no cert_regen executable for #{platform} either (looked at #{candidates.join(', ')})"
          return nil
        end
        run(exe, task_params(opts))
      rescue StandardError => e
        @reason = "the cert_regen executable failed: #{e.message}"
        nil
      end

      # The task takes confdir, ssldir and certname; default_certname has
      # no task parameter: the task resolves certname itself.
      def task_params(opts)
        opts.slice('confdir', 'ssldir', 'certname').reject { |_, v| v.nil? || v.to_s.empty? }
      end

      private

      # pluginsync may drop the execute bit: run a private 0700 copy then.
      def run(exe, params)
        return run_direct(exe, params) if File.executable?(exe)

        Dir.mktmpdir('cert_regen-') do |dir|
          copy = File.join(dir, exe_name)
          FileUtils.cp(exe, copy)
          File.chmod(0o700, copy)
          run_direct(copy, params)
        end
      end

      def run_direct(exe, params)
        out, err, st = Open3.capture3(exe, 'task', 'status', stdin_data: JSON.generate(params))
        value = begin
          JSON.parse(out)
        rescue JSON::ParserError
          nil
        end
        if !value.is_a?(Hash) || value.key?('_error')
          msg = value.is_a?(Hash) ? value['_error'].to_s : "#{err.strip} (exit #{st.exitstatus})"
          @reason = "#{exe} task status gave no status: #{msg}"
          return nil
        end
        @reason = nil
        value
      end
    end
  end
end
