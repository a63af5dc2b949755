# frozen_string_literal: true

# Status objects the way cert_regen::status answers (hostcert, ca, crl,
# health, and the contract's hostcert_health / ca_health when `contract`).
module StatusFixtures
  FP = 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99'
  FP2 = 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:00'

  module_function

  # A 5-year agent certificate issued a year ago, a CA good for 14 more
  # years, a CRL good for 4 more; overrides merge into hostcert, ca[0], crl[0].
  def status(warn_days: 30, host: {}, ca: {}, crl: {}, top: {})
    hostcert = {
      'fingerprint_sha256' => FP, 'not_before' => '2025-12-06T00:00:00Z', 'not_after' => '2030-12-06T00:00:00Z',
      'expires_in_days' => 1460, 'key_matches' => true, 'chain_valid' => true, 'revoked' => false,
      'dns_alt_names' => ['a1.test'], 'ip_alt_names' => [], 'extensions' => { 'pp_role' => 'web' }
    }.merge(host)
    {
      'certname' => 'a1.test', 'warn_days' => warn_days, 'checked_at' => '2026-12-06T00:00:00Z',
      'hostcert' => hostcert,
      'ca' => [{ 'subject' => 'CN=Puppet CA: ca.test', 'expires_in_days' => 5110 }.merge(ca)],
      'crl' => [{ 'issuer' => 'CN=Puppet CA: ca.test', 'expires_in_days' => 1460 }.merge(crl)],
      'health' => 'ok', 'health_reasons' => []
    }.merge(top)
  end

  def held(fp = FP, state = 'signed')
    { 'name' => 'a1.test', 'state' => state, 'fingerprint' => fp }
  end
end
