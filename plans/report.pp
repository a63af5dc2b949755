# @summary The fleet's certificates from PuppetDB: every node's cert_regen fact by health and expiry.
#
# Queries PuppetDB (`puppetdb_query`, Bolt's PuppetDB client: configure it
# in bolt-defaults.yaml's `puppetdb` section) for the cert_regen fact of the
# active nodes (cert_regen::fleet_query: only the fields shown, filtered in
# PuppetDB), prints one line per node, the worst first (node, health, the
# host certificate's health and days left, the reasons), then the counts,
# and returns them as data. Nothing runs on the nodes: the values are those
# of each node's last agent run (`checked_at`). A node whose agent has not
# run since the module arrived reports no fact and is not listed.
#
# @param expiring_within_days
#   Only nodes whose host certificate ends within this many days (expired
#   ones included).
# @param health
#   Only nodes whose overall health is one of these.
# @param hostcert_health
#   Only nodes whose host certificate's health is one of these.
#
# @return [Hash]
#   `query` (the PQL sent), `summary` (cert_regen::fleet_summary: `nodes`,
#   `by_health`, `by_hostcert_health`, `expired`, `within_7_days`,
#   `within_30_days`, `within_90_days`, `soonest`), `nodes` (the rows of
#   cert_regen::fleet_rows: `certname`, `health`, `hostcert_health`,
#   `ca_health`, `days_left`, `not_after`, `reasons`, `checked_at`).
#
# @example Every node whose certificate ends within 60 days
#   bolt plan run cert_regen::report expiring_within_days=60
plan cert_regen::report(
  Optional[Integer[0, 36500]] $expiring_within_days = undef,
  Optional[Array[String[1], 1]] $health = undef,
  Optional[Array[String[1], 1]] $hostcert_health = undef,
) {
  $raw = {
    'expiring_within_days' => $expiring_within_days,
    'health'               => $health,
    'hostcert_health'      => $hostcert_health,
  }.filter |$k, $v| { $v =~ NotUndef }
  unless $raw =~ Cert_regen::Fleet_select {
    fail_plan("unknown health value in ${raw}. Next step: use the words of the cert_regen fact (docs/fact.md)",
    'cert_regen/invalid-parameter')
  }
  $query = cert_regen::fleet_query($raw)
  $rows = cert_regen::fleet_rows(puppetdb_query($query), $raw)
  $summary = cert_regen::fleet_summary($rows)
  out::message(cert_regen::fleet_table($rows, $summary))
  $result = { 'query' => $query, 'summary' => $summary, 'nodes' => $rows }
  return $result
}
