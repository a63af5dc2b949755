# @summary The certnames regenerate_agents takes from cert_regen::fleet_rows: every row's, or only those of a given list.
#
# @param rows
#   The rows of cert_regen::fleet_rows (already selected).
# @param among
#   Only these names (regenerate_agents' `targets` together with
#   `select`); undef: every row.
#
# @return [Array[String]]
#   Certnames, each once, in the rows' order (the worst first).
function cert_regen::fleet_pick(Array[Hash] $rows, Optional[Array[String]] $among = undef) >> Array[String] {
  $names = $rows.map |$r| { $r['certname'] }.filter |$n| { $n =~ String[1] }.unique
  $among ? {
    Undef   => $names,
    default => $names.filter |$n| { $n in $among },
  }
}
