# @summary The plans' table as text: one line per row, every column as wide as its widest cell.
#
# @param rows
#   Rows with `target` (or `certname`), `outcome`, `step`, `kind`, `message`
#   and `next_step`; a missing cell is shown as `-`.
# @param first
#   The heading of the first column.
# @param width
#   The most characters of a message shown (the rest is in the result).
#
# @return [String] The header line and one line per row, joined by newlines.
function cert_regen::table(Array[Hash] $rows, String[1] $first = 'target', Integer[8] $width = 60) >> String {
  $cells = $rows.map |$r| {
    $who = $r['target'] ? { String[1] => $r['target'], default => $r['certname'] }
    [
      $who,
      $r['outcome'],
      $r['step'],
      $r['kind'],
      cert_regen::short_message($r['message'], $width),
      $r['next_step'],
    ].map |$c| { $c ? { Undef => '-', '' => '-', default => String($c) } }
  }
  $all = [[$first, 'outcome', 'step', 'kind', 'message', 'next step']] + $cells
  $widths = [0, 1, 2, 3, 4].map |$i| { $all.map |$line| { $line[$i].length }.max }
  $all.map |$line| {
    $padded = [0, 1, 2, 3, 4].map |$i| { sprintf("%-${widths[$i]}s", $line[$i]) }
    "${padded.join('  ')}  ${line[5]}".regsubst(/\s+\z/, '')
  }.join("\n")
}
