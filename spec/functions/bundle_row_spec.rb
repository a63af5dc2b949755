# frozen_string_literal: true

require_relative '../puppet_helper'

# plan renew_ca's per-agent row from cert_regen::ca_bundle_update's answer.
RSpec.describe 'cert_regen::bundle_row' do
  def ok(state, sooner: false)
    { 'ok' => true, 'value' => { 'state' => state, 'offered_ends_sooner' => sooner } }
  end

  it 'says updated for a node that took the renewed bundle' do
    expect(subject.execute('a1', ok('updated'))).to include('target' => 'a1', 'outcome' => 'updated',
                                                            'state' => 'updated', 'next_step' => 'none')
  end

  it 'says kept for a node whose bundle was already current' do
    row = subject.execute('a1', ok('current'))
    expect(row).to include('outcome' => 'kept', 'state' => 'current', 'offered_ends_sooner' => false,
                           'next_step' => 'none')
    expect(row).not_to have_key('message')
  end

  it 'says kept, and why, when the CA offered a bundle that ends sooner' do
    row = subject.execute('a1', ok('current', sooner: true))
    expect(row).to include('outcome' => 'kept', 'offered_ends_sooner' => true)
    expect(row['message']).to match(/ends sooner.*refused/)
    expect(row['next_step']).to match(/cert_regen::ca_renew _noop=true/)
  end

  it 'says would_update under noop' do
    expect(subject.execute('a1', ok('would_update'))).to include('outcome' => 'would_update',
                                                                 'next_step' => 'run the plan without _noop')
  end

  it 'never calls an unknown state a success' do
    expect(subject.execute('a1', ok('strange'))).to include('outcome' => 'failed', 'message' => /strange/)
  end

  it "carries a failure's kind, message and next step" do
    a = { 'ok' => false, 'kind' => 'cert_regen/ca-key-changed', 'msg' => 'a new CA',
          'details' => { 'next_step' => 'nothing was changed: move it' } }
    expect(subject.execute('a2', a)).to eq('target' => 'a2', 'outcome' => 'failed', 'step' => 'ca_bundle_update',
                                           'kind' => 'cert_regen/ca-key-changed', 'message' => 'a new CA',
                                           'next_step' => 'nothing was changed: move it')
  end

  it 'gives a failure without a next step one' do
    row = subject.execute('a2', 'ok' => false, 'kind' => 'puppetlabs.tasks/connect-error', 'msg' => 'no route')
    expect(row['next_step']).to match(/run cert_regen::ca_bundle_update on it/)
  end
end
