# @summary Which nodes of the fleet a PuppetDB query selects (cert_regen::report, cert_regen::regenerate_agents).
#
# `expiring_within_days`: nodes whose host certificate ends within that many
# days (expired ones included); `health`: nodes whose overall health (the
# cert_regen fact's `health`) is one of these; `hostcert_health`: the same
# for the host certificate alone. Conditions combine with "and"; an empty
# hash selects every node that reports the fact.
type Cert_regen::Fleet_select = Struct[{
  Optional['expiring_within_days'] => Integer[0, 36500],
  Optional['health']               => Array[Enum['missing', 'error', 'revoked', 'expired', 'weak_crypto',
  'key_mismatch', 'untrusted', 'expiring', 'ok'], 1],
  Optional['hostcert_health']      => Array[Enum['missing', 'error', 'revoked', 'expired', 'not_yet_valid',
  'weak_crypto', 'key_mismatch', 'untrusted', 'expiring', 'ok'], 1],
}]
