# @summary The fleet's nodes from PuppetDB's answer to cert_regen::fleet_query: one row each, worst first.
#
# Each answer row becomes `certname`, `health`, `hostcert_health`,
# `ca_health`, `days_left` (whole days the host certificate has left,
# negative once expired; undef when there is none), `not_after`, `reasons`
# and `checked_at` (when the fact was computed). `select` is applied again
# here, so an answer from another query is held to the same rule. Order:
# the worst overall health first (missing, error, revoked, expired,
# weak_crypto, key_mismatch, untrusted, expiring, ok), then the fewest days
# left, then the name.
#
# @param answer
#   What `puppetdb_query(cert_regen::fleet_query($select))` returned.
# @param select
#   The selection the query was made with.
#
# @return [Array[Hash]]
#   The rows.
function cert_regen::fleet_rows(Array[Hash] $answer, Cert_regen::Fleet_select $select = {}) >> Array[Hash] {
  $order = ['missing', 'error', 'revoked', 'expired', 'weak_crypto', 'key_mismatch', 'untrusted', 'expiring', 'ok']
  $rows = $answer.map |$a| {
    $f = cert_regen::fleet_fields().reduce({}) |$m, $p| { $m + { $p => $a["facts.cert_regen.${p}"] } }
    $reasons = $f['health_reasons'] ? { Array => $f['health_reasons'], String => [$f['health_reasons']], default => [] }
    $days = $f['hostcert.expires_in_days'] ? { Numeric => Integer($f['hostcert.expires_in_days']), default => undef }
    $row = {
      'certname'        => $a['certname'],
      'health'          => $f['health'] ? { String[1] => $f['health'], default => 'unknown' },
      'hostcert_health' => $f['hostcert_health'],
      'ca_health'       => $f['ca_health'],
      'days_left'       => $days,
      'not_after'       => $f['hostcert.not_after'],
      'reasons'         => $reasons,
      'checked_at'      => $f['checked_at'],
    }
    $row
  }
  $kept = $rows.filter |$r| {
    $w = $select['expiring_within_days']
    ($w =~ Undef or ($r['days_left'] =~ Integer and $r['days_left'] <= $w)) and
    ($select['health'] =~ Undef or $r['health'] in $select['health']) and
    ($select['hostcert_health'] =~ Undef or $r['hostcert_health'] in $select['hostcert_health'])
  }
  $kept.sort |$a, $b| {
    $ra = $order.index |$h| { $h == $a['health'] }
    $rb = $order.index |$h| { $h == $b['health'] }
    $ka = [$ra ? { Undef => -1, default => $ra }, $a['days_left'] ? { Undef => -100000, default => $a['days_left'] }]
    $kb = [$rb ? { Undef => -1, default => $rb }, $b['days_left'] ? { Undef => -100000, default => $b['days_left'] }]
    $c = compare($ka[0], $kb[0])
    $d = compare($ka[1], $kb[1])
    if $c != 0 { $c } elsif $d != 0 { $d } else { compare($a['certname'], $b['certname']) }
  }
}
