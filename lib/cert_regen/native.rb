# frozen_string_literal: true

require 'rbconfig'

module CertRegen
  # Finds and loads the compiled CertRegen::Native for the Ruby running this
  # code.  Builds live in lib/cert_regen/native/<ruby_version>/<arch>/ (see
  # `rake compile`), so one module can carry builds for several agent Rubies;
  # pluginsync copies all of lib/ to the agent's $vardir/lib, which keeps the
  # __dir__-relative path valid there.
  #
  #   CertRegen::NativeLoader.load!  # => true, or false with .reason set
  module NativeLoader
    # Mirrors CR_WARN_DAYS_DEFAULT (ext/core/cr_status.h).  Used only to
    # describe the answer when the extension cannot be loaded; otherwise
    # CertRegen::Native::WARN_DAYS_DEFAULT (defined by the extension) is the
    # one source of truth.
    WARN_DAYS_FALLBACK = 30

    class << self
      # Why the last load! failed, or nil.
      attr_reader :reason

      def ruby_abi
        RbConfig::CONFIG['ruby_version']
      end

      def ruby_arch
        RbConfig::CONFIG['arch']
      end

      # The build for this Ruby.  Specs stub this to simulate a missing build.
      def so_path
        File.expand_path(File.join(__dir__, 'native', ruby_abi, ruby_arch, 'cert_regen_native.so'))
      end

      # Loads the extension; true on success, false (see #reason) otherwise.
      # Never raises.
      def load!
        path = so_path
        unless File.file?(path)
          @reason = "no native build for ruby #{ruby_abi} #{ruby_arch}: " \
                    "run `rake compile` with this Ruby (RUBY=#{RbConfig.ruby})"
          return false
        end
        require path
        @reason = nil
        true
      rescue ScriptError, StandardError => e # LoadError is a ScriptError
        @reason = "cannot load #{path}: #{e.message} " \
                  "(rebuild with `rake compile` using RUBY=#{RbConfig.ruby})"
        false
      end

      def warn_days_default
        if defined?(CertRegen::Native::WARN_DAYS_DEFAULT)
          CertRegen::Native::WARN_DAYS_DEFAULT
        else
          WARN_DAYS_FALLBACK
        end
      end
    end
  end
end
