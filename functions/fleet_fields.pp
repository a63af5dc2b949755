# @summary The paths of the cert_regen fact the fleet report reads (cert_regen::fleet_query, cert_regen::fleet_rows).
#
# @return [Array[String]]
#   Dotted paths under the fact.
function cert_regen::fleet_fields() >> Array[String] {
  ['health', 'hostcert_health', 'ca_health', 'health_reasons', 'hostcert.expires_in_days', 'hostcert.not_after',
  'checked_at']
}
