# frozen_string_literal: true

require_relative '../puppet_helper'

RSpec.describe 'cert_regen::table' do
  rows = [
    { 'target' => 'a1.test', 'outcome' => 'ok', 'step' => 'check', 'next_step' => 'none' },
    { 'target' => 'a-much-longer-target-name.example.test', 'outcome' => 'failed', 'step' => 'preflight',
      'kind' => 'cert_regen/unhealthy-after-regenerate-and-longer', 'next_step' => 'fix it',
      'message' => "cannot lock /var/lib/puppet/ssl:\n read-only file system. Next step: fix it" },
    { 'certname' => 'c.test', 'outcome' => 'skipped', 'step' => 'status', 'kind' => '', 'message' => 'x' * 200,
      'next_step' => 'none' },
  ]

  let(:lines) { subject.execute(rows).split("\n") }

  it 'has a header and one line per row' do
    expect(lines.length).to eq(4)
    expect(lines[0]).to match(/\Atarget +outcome +step +kind +message +next step\z/)
  end

  # issue: kinds longer than 34 characters pushed the next step out of its column
  it 'aligns every column for any length' do
    %w[outcome step kind message].each do |col|
      at = lines[0].index(col)
      lines[1..].each { |l| expect(l[at - 2, 2]).to eq('  '), "column #{col} in #{l.inspect}" }
      lines[1..].each { |l| expect(l[at]).not_to eq(' ') }
    end
    at = lines[0].index('next step')
    expect(lines[1..].map { |l| l[at..] }).to eq(['none', 'fix it', 'none'])
  end

  it 'shows a short message on one line, without the appended next step, and - for empty cells' do
    expect(lines[2]).to include('cannot lock /var/lib/puppet/ssl: read-only file system.')
    expect(lines[2]).not_to include('Next step')
    expect(lines[3]).to include("#{'x' * 57}...")
    expect(lines[1].split(/ {2,}/)[3..4]).to eq(['-', '-'])
    expect(lines[3]).to start_with('c.test ')
  end

  it 'takes the first heading' do
    expect(subject.execute([], 'compiler')).to eq('compiler  outcome  step  kind  message  next step')
  end
end

RSpec.describe 'cert_regen::short_message' do
  it { is_expected.to run.with_params('cannot lock x. Next step: fix it').and_return('cannot lock x.') }
  it { is_expected.to run.with_params(nil).and_return('') }
  it { is_expected.to run.with_params('a' * 70, 10).and_return('aaaaaaa...') }
end

RSpec.describe 'cert_regen::move_command' do
  it 'is a command line with the plan real parameter names' do
    is_expected.to run.with_params(%w[a1 a2], 'puppet', 'AB:CD')
                      .and_return('bolt plan run cert_regen::regenerate_agents targets=a1,a2 ca=puppet ca_fingerprint=AB:CD force=true')
  end
end

RSpec.describe 'cert_regen::report_lines' do
  it 'shows a noop result as indented key: value lines' do
    v = { 'state' => 'unchanged', 'would' => %w[stop swap], 'old_ca' => [{ 'fingerprint_sha256' => 'AB' }],
          'backup' => { 'ssldir' => '/x' }, 'empty' => [], 'none' => nil }
    is_expected.to run.with_params(v, 0).and_return(<<~TEXT.chomp)
        state: unchanged
        would: stop, swap
        old_ca:
          -
            fingerprint_sha256: AB
        backup:
          ssldir: /x
        empty: (none)
        none: -
    TEXT
  end
end

RSpec.describe 'cert_regen::left_out' do
  it 'lists the signed names that were neither moved nor the primary' do
    certs = [{ 'name' => 'p.test', 'state' => 'signed' }, { 'name' => 'a2', 'state' => 'signed' },
             { 'name' => 'a1', 'state' => 'signed' }, { 'name' => 'old', 'state' => 'revoked' },
             { 'name' => 'new', 'state' => 'requested' }, { 'name' => 'z9', 'state' => 'signed' }]
    is_expected.to run.with_params(certs, ['a1'], 'p.test').and_return(%w[a2 z9])
  end
end
