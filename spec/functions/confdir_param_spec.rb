# frozen_string_literal: true

require_relative '../puppet_helper'

# Every plan turns a target's `cert_regen_confdir` into the tasks' `confdir`.
RSpec.describe 'cert_regen::confdir_param' do
  it 'passes a confdir the target names' do
    is_expected.to run.with_params({ 'cert_regen_confdir' => '/srv/agent2/etc' })
                      .and_return({ 'confdir' => '/srv/agent2/etc' })
  end

  [{}, { 'cert_regen_confdir' => '' }, { 'cert_regen_confdir' => nil }, { 'cert_regen_confdir' => 42 },
   { 'other' => '/etc' }].each do |vars|
    it "passes nothing for #{vars.inspect}" do
      is_expected.to run.with_params(vars).and_return({})
    end
  end
end
