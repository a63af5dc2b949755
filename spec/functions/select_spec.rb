# frozen_string_literal: true

require_relative '../puppet_helper'
require_relative 'status_fixtures'

RSpec.describe 'cert_regen::select' do
  include StatusFixtures

  def pick(status, on_ca = held, opts = {})
    subject.execute(status, on_ca, opts)
  end

  it 'leaves a healthy agent the CA holds alone' do
    expect(pick(status)).to include('regenerate' => false, 'reasons' => [], 'ca_condition' => nil)
  end

  # issue: warn_days=3650 regenerated every agent (and then called them failed)
  it 'does not regenerate at warn_days=3650 when a new certificate would be inside it too' do
    d = pick(status(warn_days: 3650))
    expect(d['regenerate']).to be(false)
    expect(d['hostcert_health']).to eq('expiring')
    expect(d['note']).to match(/regenerating cannot help; lower warn_days/)
  end

  it 'regenerates an expiring certificate a new one takes out of warn_days' do
    d = pick(status(warn_days: 30, host: { 'expires_in_days' => 10, 'not_before' => '2021-12-16T00:00:00Z',
                                           'not_after' => '2026-12-16T00:00:00Z' }))
    expect(d).to include('regenerate' => true, 'reasons' => ['host certificate: expiring'])
  end

  # issue: a CA inside warn_days made every agent "expiring", so the whole fleet was regenerated
  it 'reports an expiring CA as its own condition and regenerates nothing for it' do
    s = status(ca: { 'expires_in_days' => 20 }, top: { 'health' => 'expiring' })
    d = pick(s)
    expect(d['regenerate']).to be(false)
    expect(d['ca_condition']).to include('kind' => 'cert_regen/ca-expiring')
    expect(d['ca_condition']['next_step']).to match(/renew the CA with its own keys.*cert_regen::renew_ca/)
  end

  it 'uses the contract fields when the status has them' do
    s = status(top: { 'health' => 'expiring', 'hostcert_health' => 'ok', 'ca_health' => 'expiring' },
               crl: { 'expires_in_days' => 3 })
    d = pick(s)
    expect(d).to include('regenerate' => false, 'hostcert_health' => 'ok')
    expect(d['ca_condition']['next_step']).to match(/refresh the CRL/)
  end

  {
    'missing' => { 'hostcert_health' => 'missing' },
    'expired' => { 'hostcert_health' => 'expired' },
    'not_yet_valid' => { 'hostcert_health' => 'not_yet_valid' },
    'revoked' => { 'hostcert_health' => 'revoked' },
    'key_mismatch' => { 'hostcert_health' => 'key_mismatch' },
    'untrusted' => { 'hostcert_health' => 'untrusted' },
    'weak_crypto' => { 'hostcert_health' => 'weak_crypto' },
    'error' => { 'hostcert_health' => 'error' },
  }.each do |verdict, top|
    it "regenerates a host certificate that is #{verdict}" do
      expect(pick(status(top: top))['reasons']).to include("host certificate: #{verdict}")
    end
  end

  {
    'revoked' => { 'revoked' => true },
    'expired' => { 'expires_in_days' => -2 },
    'key_mismatch' => { 'key_matches' => false },
    'untrusted' => { 'chain_valid' => false },
    'not_yet_valid' => { 'not_before' => '2027-01-01T00:00:00Z' },
  }.each do |verdict, host|
    it "computes #{verdict} from the hostcert fields of an older status" do
      d = pick(status(host: host))
      expect(d).to include('regenerate' => true, 'hostcert_health' => verdict)
    end
  end

  it 'regenerates an agent whose certificate the CA no longer holds (an interrupted run cleaned it)' do
    expect(pick(status, nil)['reasons']).to eq(['the CA holds no signed certificate for it'])
    expect(pick(status, held(StatusFixtures::FP2))['regenerate']).to be(true)
    expect(pick(status, held(StatusFixtures::FP, 'revoked'))['regenerate']).to be(true)
  end

  it 'regenerates when other names or extensions are asked for, not when the same ones are' do
    expect(pick(status, held, 'dns_alt_names' => ['DNS:a1.test'])['regenerate']).to be(false)
    expect(pick(status, held, 'dns_alt_names' => ['a1.test', 'IP:10.0.0.1'])['reasons'].first).to match(/names asked/)
    expect(pick(status, held, 'extension_requests' => { 'pp_role' => 'web' })['regenerate']).to be(false)
    expect(pick(status, held, 'extension_requests' => { 'pp_role' => 'db' })['reasons']).to eq(['extensions asked to change: pp_role'])
  end

  it 'regenerates anything with force' do
    expect(pick(status, held, 'force' => true)).to include('regenerate' => true, 'reasons' => ['force'])
  end
end

RSpec.describe 'cert_regen::verify' do
  include StatusFixtures

  it 'accepts the certificate the CA signed, even at warn_days=3650 and with an expiring CA' do
    s = status(warn_days: 3650, ca: { 'expires_in_days' => 3 }, top: { 'health' => 'expiring' })
    is_expected.to run.with_params(s, StatusFixtures::FP).and_return('ok' => true, 'reasons' => [])
  end

  it 'compares fingerprints whatever their spelling' do
    is_expected.to run.with_params(status, "SHA256:#{StatusFixtures::FP.delete(':').downcase}").and_return('ok' => true, 'reasons' => [])
  end

  it 'refuses a certificate other than the one the CA signed' do
    r = subject.execute(status, StatusFixtures::FP2)
    expect(r['ok']).to be(false)
    expect(r['reasons'].first).to match(/is not the one the CA signed/)
  end

  {
    { 'key_matches' => false } => /key does not match/,
    { 'chain_valid' => false } => /does not chain/,
    { 'revoked' => true } => /revoked/,
    { 'fingerprint_sha256' => nil } => /no host certificate/,
  }.each do |host, why|
    it "refuses #{host.keys.first} = #{host.values.first.inspect}" do
      r = subject.execute(status(host: host), StatusFixtures::FP)
      expect(r['ok']).to be(false)
      expect(r['reasons'].join(' ')).to match(why)
    end
  end

  it 'refuses when the task reported no fingerprint to compare' do
    expect(subject.execute(status, nil)['ok']).to be(false)
  end
end

RSpec.describe 'cert_regen::ca_condition' do
  include StatusFixtures

  it { is_expected.to run.with_params(status).and_return(nil) }

  it 'names an expired CA certificate and what to do' do
    r = subject.execute(status(ca: { 'expires_in_days' => -1 }))
    expect(r['kind']).to eq('cert_regen/ca-expired')
    expect(r['message']).to eq('CA certificate CN=Puppet CA: ca.test has expired')
    expect(r['next_step']).to match(/renew the CA with its own keys.*cert_regen::renew_ca.*cert_regen::rebuild_ca.*does not fix this/)
  end

  it 'names a CRL near its nextUpdate' do
    r = subject.execute(status(crl: { 'expires_in_days' => 5 }))
    expect(r['message']).to eq('CRL of CN=Puppet CA: ca.test reaches its nextUpdate in 5 day(s)')
    expect(r['next_step']).not_to match(/renew the CA/)
  end
end
