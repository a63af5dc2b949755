# @summary Counts over cert_regen::fleet_rows: nodes by health and by days left, and the soonest end.
#
# @param rows
#   The rows of cert_regen::fleet_rows.
#
# @return [Hash]
#   `nodes`; `by_health` (health => count); `by_hostcert_health`;
#   `expired` (host certificates past their end), `within_7_days`,
#   `within_30_days`, `within_90_days` (ending within, expired ones
#   included); `soonest` (`certname` and `days_left` of the first to end;
#   undef without any).
function cert_regen::fleet_summary(Array[Hash] $rows) >> Hash {
  $by = ['health', 'hostcert_health'].map |$key| {
    $rows.reduce({}) |$m, $r| {
      $k = $r[$key] ? { String[1] => $r[$key], default => 'unknown' }
      $m + { $k => ($m[$k] ? { Undef => 0, default => $m[$k] }) + 1 }
    }
  }
  $dated = $rows.filter |$r| { $r['days_left'] =~ Integer }
  $first = $dated.sort |$a, $b| { compare($a['days_left'], $b['days_left']) }[0]
  $summary = {
    'nodes'              => $rows.length,
    'by_health'          => $by[0],
    'by_hostcert_health' => $by[1],
    'expired'            => $dated.filter |$r| { $r['days_left'] < 0 }.length,
    'within_7_days'      => $dated.filter |$r| { $r['days_left'] <= 7 }.length,
    'within_30_days'     => $dated.filter |$r| { $r['days_left'] <= 30 }.length,
    'within_90_days'     => $dated.filter |$r| { $r['days_left'] <= 90 }.length,
    'soonest'            => $first ? {
      Undef   => undef,
      default => { 'certname' => $first['certname'], 'days_left' => $first['days_left'] },
    },
  }
  $summary
}
