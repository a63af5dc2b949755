# @summary The PQL query for the cert_regen facts of the fleet's active nodes, as PuppetDB's inventory endpoint.
#
# Projects only what the report shows (health verdicts, reasons, the host
# certificate's days left and end), never the whole fact, and filters in
# PuppetDB by `select`. Values come from `Cert_regen::Fleet_select`'s types
# only (numbers and fixed words), so nothing is quoted from input.
#
# @param select
#   Which nodes (see Cert_regen::Fleet_select); `{}`: every node with the fact.
#
# @return [String]
#   The query for `puppetdb_query`; each answer row has `certname` and the
#   keys `facts.cert_regen.<path>` (see cert_regen::fleet_rows).
function cert_regen::fleet_query(Cert_regen::Fleet_select $select = {}) >> String {
  $fields = ['certname'] + cert_regen::fleet_fields().map |$f| { "facts.cert_regen.${f}" }
  $within = $select['expiring_within_days'] ? {
    Integer => ["facts.cert_regen.hostcert.expires_in_days <= ${select['expiring_within_days']}"],
    default => [],
  }
  $any = ['health', 'hostcert_health'].filter |$k| { $select[$k] =~ Array }.map |$k| {
    $alts = $select[$k].map |$h| { "facts.cert_regen.${k} = \"${h}\"" }
    "(${alts.join(' or ')})"
  }
  $conds = ['facts.cert_regen.health is not null'] + $within + $any
  "inventory[${fields.join(', ')}] { ${conds.join(' and ')} }"
}
