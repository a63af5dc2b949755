# frozen_string_literal: true

require_relative '../../spec_helper'
require 'rbconfig'
require 'cert_regen/executable'

# Where the fact's executable fallback looks, by the Ruby it runs in: AIO's
# Ruby on Windows (x64-mingw32, x64-mingw-ucrt) finds
# files/bin/windows-x86_64/cert_regen.exe, the name ext/Makefile's Windows
# section builds; Linux keeps files/bin/linux-<arch>/cert_regen.
RSpec.describe CertRegen::Executable do
  def with_host(os, cpu)
    stub_const('RbConfig::CONFIG', RbConfig::CONFIG.merge('host_os' => os, 'host_cpu' => cpu))
  end

  it 'maps AIO Windows Rubies to windows-x86_64 and cert_regen.exe' do
    %w[mingw32 mingw-ucrt mswin64].each do |os|
      with_host(os, 'x86_64')
      expect(described_class.platform).to eq('windows-x86_64')
      expect(described_class.candidates.last).to end_with(File.join('files', 'bin', 'windows-x86_64', 'cert_regen.exe'))
    end
  end

  it 'keeps linux-<arch>/cert_regen on Linux' do
    with_host('linux-gnu', 'amd64')
    expect(described_class.platform).to eq('linux-x86_64')
    expect(described_class.candidates.last).to end_with(File.join('files', 'bin', 'linux-x86_64', 'cert_regen'))
  end
end
