# frozen_string_literal: true

require_relative '../puppet_helper'

# The fleet report's decisions: the query sent to PuppetDB, the rows made
# of its answer, the counts and the table.
module FleetFixtures
  # one inventory answer row, as PuppetDB returns it for fleet_query's projection
  def pdb_row(name, health, days, hostcert: nil, reasons: [])
    { 'certname' => name,
      'facts.cert_regen.health' => health,
      'facts.cert_regen.hostcert_health' => hostcert || (health == 'expiring' ? 'expiring' : health),
      'facts.cert_regen.ca_health' => 'ok',
      'facts.cert_regen.health_reasons' => reasons,
      'facts.cert_regen.hostcert.expires_in_days' => days,
      'facts.cert_regen.hostcert.not_after' => '2027-01-01T00:00:00Z',
      'facts.cert_regen.checked_at' => '2026-12-06T20:00:00Z' }
  end

  def answer
    [pdb_row('c.test', 'ok', 400), pdb_row('a.test', 'expiring', 9, reasons: ['host certificate ends in 9 days']),
     pdb_row('b.test', 'expired', -2), pdb_row('d.test', 'ok', 800), pdb_row('e.test', 'expiring', 20)]
  end
end

RSpec.describe 'cert_regen::fleet_query' do
  it 'asks the inventory for the fields shown, for every node with the fact' do
    q = subject.execute({})
    expect(q).to start_with('inventory[certname, facts.cert_regen.health, facts.cert_regen.hostcert_health, ')
    expect(q).to include('facts.cert_regen.hostcert.expires_in_days', 'facts.cert_regen.health_reasons')
    expect(q).to end_with('{ facts.cert_regen.health is not null }')
  end

  it 'filters by days left and by health in PuppetDB' do
    q = subject.execute('expiring_within_days' => 30, 'health' => %w[expiring expired])
    expect(q).to include('facts.cert_regen.hostcert.expires_in_days <= 30 and ' \
                         '(facts.cert_regen.health = "expiring" or facts.cert_regen.health = "expired")')
  end

  it 'takes only the words of the fact (nothing quoted from input)' do
    expect { subject.execute('health' => ['ok" or true or "']) }.to raise_error(ArgumentError, /expects a match/)
    expect { subject.execute('expiring_within_days' => -1) }.to raise_error(ArgumentError)
    expect { subject.execute('nodes' => 'x') }.to raise_error(ArgumentError)
  end
end

RSpec.describe 'cert_regen::fleet_rows' do
  include FleetFixtures

  it 'makes one row per node, the worst health first, then the fewest days' do
    rows = subject.execute(answer)
    expect(rows.map { |r| r['certname'] }).to eq(%w[b.test a.test e.test c.test d.test])
    expect(rows[1]).to eq('certname' => 'a.test', 'health' => 'expiring', 'hostcert_health' => 'expiring',
                          'ca_health' => 'ok', 'days_left' => 9, 'not_after' => '2027-01-01T00:00:00Z',
                          'reasons' => ['host certificate ends in 9 days'], 'checked_at' => '2026-12-06T20:00:00Z')
  end

  it 'holds the answer to the selection again' do
    expect(subject.execute(answer, 'expiring_within_days' => 10).map { |r| r['certname'] }).to eq(%w[b.test a.test])
    expect(subject.execute(answer, 'health' => ['ok']).map { |r| r['certname'] }).to eq(%w[c.test d.test])
    expect(subject.execute(answer, 'hostcert_health' => ['expired'], 'expiring_within_days' => 0).length).to eq(1)
  end

  it 'keeps a node whose fact lacks the host certificate, without days, and never selects it by days' do
    bare = { 'certname' => 'm.test', 'facts.cert_regen.health' => 'missing' }
    rows = subject.execute(answer + [bare])
    expect(rows.first).to include('certname' => 'm.test', 'health' => 'missing', 'days_left' => nil, 'reasons' => [])
    expect(subject.execute([bare], 'expiring_within_days' => 30)).to eq([])
  end

  it 'answers nothing for an empty fleet' do
    expect(subject.execute([])).to eq([])
  end
end

RSpec.describe 'cert_regen::fleet_summary' do
  include FleetFixtures

  it 'counts by health and days left and names the soonest' do
    rows = answer.map do |a|
      { 'certname' => a['certname'], 'health' => a['facts.cert_regen.health'],
        'hostcert_health' => a['facts.cert_regen.hostcert_health'],
        'days_left' => a['facts.cert_regen.hostcert.expires_in_days'] }
    end
    expect(subject.execute(rows)).to eq(
      'nodes' => 5, 'by_health' => { 'expired' => 1, 'expiring' => 2, 'ok' => 2 },
      'by_hostcert_health' => { 'expired' => 1, 'expiring' => 2, 'ok' => 2 },
      'expired' => 1, 'within_7_days' => 1, 'within_30_days' => 3, 'within_90_days' => 3,
      'soonest' => { 'certname' => 'b.test', 'days_left' => -2 }
    )
  end

  it 'says no node for an empty fleet' do
    expect(subject.execute([])).to include('nodes' => 0, 'by_health' => {}, 'soonest' => nil)
  end
end

RSpec.describe 'cert_regen::fleet_table' do
  it 'prints node, health, days left and reasons, then the counts' do
    rows = [{ 'certname' => 'a.test', 'health' => 'expiring', 'hostcert_health' => 'expiring', 'days_left' => 9,
              'reasons' => ['host certificate ends in 9 days'] }]
    summary = { 'nodes' => 1, 'by_health' => { 'expiring' => 1 }, 'expired' => 0, 'within_30_days' => 1,
                'soonest' => { 'certname' => 'a.test', 'days_left' => 9 } }
    text = subject.execute(rows, summary)
    expect(text.lines.first).to match(/\Anode\s+health\s+hostcert\s+days left\s+reasons/)
    expect(text).to match(/^a\.test\s+expiring\s+expiring\s+9\s+host certificate ends in 9 days$/)
    expect(text.lines.last).to eq('1 node(s): expiring 1; expired 0, within 30 days 1; soonest: a.test (9 days)')
  end

  # found against the real PuppetDB: a healthy node has no reasons
  it 'prints a node without reasons, and a node without days' do
    rows = [{ 'certname' => 'ok.test', 'health' => 'ok', 'hostcert_health' => 'ok', 'days_left' => 1824, 'reasons' => [] },
            { 'certname' => 'm.test', 'health' => 'missing', 'reasons' => [] }]
    summary = { 'nodes' => 2, 'by_health' => { 'ok' => 1, 'missing' => 1 }, 'expired' => 0, 'within_30_days' => 0,
                'soonest' => { 'certname' => 'ok.test', 'days_left' => 1824 } }
    text = subject.execute(rows, summary)
    expect(text).to match(/^ok\.test\s+ok\s+ok\s+1824\s+-$/)
    expect(text).to match(/^m\.test\s+missing\s+-\s+-\s+-$/)
    expect(text.lines.last).to eq('2 node(s): missing 1, ok 1; expired 0, within 30 days 0; soonest: ok.test (1824 days)')
  end
end

RSpec.describe 'cert_regen::fleet_pick' do
  rows = [{ 'certname' => 'b.test' }, { 'certname' => 'a.test' }, { 'certname' => 'b.test' }, { 'certname' => nil }]

  it "takes every selected node once, in the rows' order" do
    expect(subject.execute(rows)).to eq(%w[b.test a.test])
  end

  it 'keeps only the listed targets when a list is given too' do
    expect(subject.execute(rows, %w[a.test c.test])).to eq(%w[a.test])
    expect(subject.execute(rows, [])).to eq([])
  end
end
