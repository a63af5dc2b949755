# @summary The fleet report as text: one line per node (node, health, days left, reasons), then the counts.
#
# @param rows
#   The rows of cert_regen::fleet_rows.
# @param summary
#   cert_regen::fleet_summary of the same rows.
# @param width
#   Reasons are cut to this many characters.
#
# @return [String]
#   The table.
function cert_regen::fleet_table(Array[Hash] $rows, Hash $summary, Integer[8] $width = 80) >> String {
  $cells = $rows.map |$r| {
    [$r['certname'], $r['health'], $r['hostcert_health'], $r['days_left'],
    cert_regen::short_message($r['reasons'].join('; '), $width)].map |$c| {
      $c ? { Undef => '-', '' => '-', default => String($c) }
    }
  }
  $all = [['node', 'health', 'hostcert', 'days left', 'reasons']] + $cells
  $widths = [0, 1, 2, 3].map |$i| { $all.map |$line| { $line[$i].length }.max }
  $lines = $all.map |$line| {
    $padded = [0, 1, 2, 3].map |$i| { sprintf("%-${widths[$i]}s", $line[$i]) }
    "${padded.join('  ')}  ${line[4]}".regsubst(/\s+\z/, '')
  }
  $counts = $summary['by_health'].keys.sort.map |$h| { "${h} ${summary['by_health'][$h]}" }.join(', ')
  $soon = $summary['soonest'] ? {
    Hash    => "; soonest: ${summary['soonest']['certname']} (${summary['soonest']['days_left']} days)",
    default => '',
  }
  $tail = "${summary['nodes']} node(s): ${counts}; expired ${summary['expired']}, within 30 days ${summary['within_30_days']}${soon}"
  ($lines + [$tail]).join("\n")
}
