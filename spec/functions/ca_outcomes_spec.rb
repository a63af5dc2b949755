# frozen_string_literal: true

require_relative '../puppet_helper'

RSpec.describe 'cert_regen::ca_outcomes' do
  done = %w[cleaned nothing_to_clean]

  it 'takes the handled names from a successful answer' do
    a = { 'ok' => true, 'value' => { 'results' => [{ 'certname' => 'a', 'outcome' => 'cleaned' },
                                                   { 'certname' => 'b', 'outcome' => 'nothing_to_clean' }] } }
    is_expected.to run.with_params(a, %w[a b], done).and_return('ok' => %w[a b], 'failed' => {})
  end

  it "gives each failed name its own error and next step (partial failure)" do
    a = { 'ok' => false, 'kind' => 'cert_regen/ca-partial-failure', 'msg' => 'clean failed for 1 of 2',
          'details' => { 'results' => [
            { 'certname' => 'a', 'outcome' => 'cleaned' },
            { 'certname' => 'b', 'outcome' => 'failed',
              'error' => { 'kind' => 'cert_regen/ca-error', 'msg' => 'HTTP 500', 'next_step' => 'look at the CA log' } },
          ] } }
    r = subject.execute(a, %w[a b], done)
    expect(r['ok']).to eq(['a'])
    expect(r['failed']['b']).to include('kind' => 'cert_regen/ca-error', 'msg' => 'HTTP 500',
                                        'details' => { 'next_step' => 'look at the CA log' })
  end

  it 'gives every name the error of a task that failed as a whole' do
    a = { 'ok' => false, 'kind' => 'cert_regen/ca-unauthorized', 'msg' => 'forbidden', 'details' => {} }
    r = subject.execute(a, %w[a b], done)
    expect(r['ok']).to eq([])
    expect(r['failed'].keys).to eq(%w[a b])
    expect(r['failed']['a']['kind']).to eq('cert_regen/ca-unauthorized')
  end
end
