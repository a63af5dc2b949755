# frozen_string_literal: true

require_relative '../puppet_helper'

# The row of an agent whose regeneration stopped, for a failure at every
# step of the plan and of the regenerate task.
RSpec.describe 'cert_regen::row' do
  def err(kind, step: nil, journal: nil, live: nil, next_step: nil, msg: 'it failed')
    d = { 'step' => step, 'journal_state' => journal, 'live' => live, 'next_step' => next_step }.compact
    { 'ok' => false, 'kind' => kind, 'msg' => msg, 'details' => d }
  end

  ctx = { 'ca' => 'ca1', 'rerun' => 'run the plan again' }
  # [task, answer, extra ctx, step, staged?, next step must match, must not match]
  cases = [
    ['status', ->(s) { s.err('puppetlabs.tasks/connect-error') }, {}, 'status', false,
     /nothing was changed on a1/, /staged|restore/],
    # the read-only ssldir: preflight's lock failed, nothing was staged (issue: the row said "stage")
    ['regenerate', ->(s) { s.err('cert_regen/io-error', step: 'preflight', live: 'old') }, {}, 'preflight', false,
     /nothing was changed on a1/, /staged|restore/],
    ['regenerate', ->(s) { s.err('cert_regen/ca-unreachable', step: 'preflight', next_step: 'start the CA') }, {}, 'preflight',
     false, /\Astart the CA\z/, /staged/],
    ['regenerate', ->(s) { s.err('cert_regen/io-error', step: 'stage', live: 'old') }, {}, 'stage', false,
     /nothing was changed/, /staged key/],
    ['regenerate', ->(s) { s.err('cert_regen/ca-unreachable', step: 'submit', journal: 'staged') }, {}, 'submit', true,
     /resumes with the staged key/, /restore/],
    ['regenerate', ->(s) { s.err('cert_regen/ca-unreachable', step: 'submit', journal: 'staged') },
     { 'revoked_on_ca' => true }, 'submit', true, /finish the regeneration.*key staged on a1.*cannot help/, /cert_regen::restore/],
    ['regenerate', ->(s) { s.err('cert_regen/ca-error', step: 'wait', journal: 'submitted') },
     { 'revoked_on_ca' => true }, 'wait', true, /finish the regeneration/, /cert_regen::restore/],
    ['regenerate', ->(_s) { { 'ok' => true, 'value' => { 'state' => 'pending' } } },
     { 'revoked_on_ca' => true }, 'wait', true, /sign its request on ca1.*csr_fingerprint/, /cert_regen::restore/],
    ['regenerate', ->(s) { s.err('cert_regen/verify-failed', step: 'verify', journal: 'submitted') },
     { 'revoked_on_ca' => true }, 'verify', true, /finish the regeneration/, /cert_regen::restore/],
    ['regenerate', ->(s) { s.err('cert_regen/io-error', step: 'prepare', journal: 'signed') },
     { 'revoked_on_ca' => true }, 'prepare', true, /finish the regeneration/, /cert_regen::restore/],
    ['regenerate', ->(s) { s.err('cert_regen/service-error', step: 'swap', journal: 'prepared', live: 'old') },
     { 'revoked_on_ca' => true }, 'swap', true, /finish the regeneration/, /cert_regen::restore/],
    # a task that still suggests a restore after the clean: replaced
    ['regenerate', ->(s) { s.err('cert_regen/io-error', step: 'swap', journal: 'prepared', next_step: 'cert_regen::restore puts it back') },
     { 'revoked_on_ca' => true }, 'swap', true, /finish the regeneration/, /cert_regen::restore/],
    ['regenerate', ->(s) { s.err('cert_regen/service-error', step: 'restart', journal: 'swapped') },
     { 'revoked_on_ca' => true }, 'restart', true, /new certificate is installed/, /restore/],
    ['regenerate', ->(s) { s.err('cert_regen/catalog-failed', step: 'puppet', live: 'new') },
     { 'revoked_on_ca' => true }, 'puppet', false, /new certificate is installed/, /restore/],
    # Bolt could not run the task at all: no task step to name
    ['regenerate', ->(s) { s.err('puppetlabs.tasks/connect-error') }, {}, 'regenerate', false,
     /nothing was changed on a1/, /staged/],
    ['ca_clean', ->(s) { s.err('cert_regen/ca-unauthorized') }, { 'staged' => true }, 'ca_clean', true,
     /nothing was revoked for a1.*fix the CA \(ca1\)/, /restore/],
    ['ca_sign', ->(s) { s.err('cert_regen/fingerprint-mismatch') }, { 'staged' => true, 'revoked_on_ca' => true },
     'ca_sign', true, /puppetserver ca list.*finish the regeneration/, /cert_regen::restore/],
    ['check', ->(s) { s.err('puppetlabs.tasks/connect-error') }, { 'revoked_on_ca' => true }, 'check', false,
     /new certificate is installed/, /restore/],
  ].freeze

  cases.each_with_index do |(task, answer, extra, step, staged, want, never), i|
    context "#{task} failing at #{step} (case #{i})" do
      let(:row) { subject.execute('a1', answer.call(self), ctx.merge('task' => task).merge(extra)) }

      it('names the step that failed') { expect(row['step']).to eq(step) }
      it('claims a staged key only when there is one') { expect(row['staged']).to eq(staged) }
      it('gives the right next step') { expect(row['next_step']).to match(want) }
      it('gives no next step that cannot work') { expect(row['next_step']).not_to match(never) }
      it('is a failed row with kind and message') do
        expect(row).to include('outcome' => 'failed')
        expect(row['kind']).to match(%r{/})
        expect(row['message']).to be_a(String)
      end
    end
  end

  it 'keeps the kind and message of the error' do
    row = subject.execute('a1', err('cert_regen/locked', step: 'preflight', msg: 'a puppet run holds the lock'),
                          'task' => 'regenerate')
    expect(row).to include('kind' => 'cert_regen/locked', 'message' => 'a puppet run holds the lock',
                           'step' => 'preflight', 'revoked_on_ca' => false)
  end
end
