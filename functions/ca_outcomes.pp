# @summary Which names a `cert_regen::ca_clean` or `cert_regen::ca_sign` run handled, and the error of each other name.
#
# @param answer
#   The task's answer as data (`ok`, `value` or `kind`, `msg`, `details`).
# @param certnames
#   The names the task was asked about.
# @param done
#   The per-name outcomes that count as handled (e.g. cleaned, nothing_to_clean).
#
# @return [Hash]
#   `ok`: the names handled; `failed`: name => the error as data (`ok`
#   false, `kind`, `msg`, `details` with the per-name `next_step`).
function cert_regen::ca_outcomes(Hash $answer, Array[String] $certnames, Array[String] $done) >> Hash {
  $rows = $answer['ok'] == true ? {
    true    => $answer.dig('value', 'results'),
    default => $answer.dig('details', 'results'),
  }
  $by_cn = ($rows ? { Array => $rows, default => [] }).reduce({}) |$m, $x| {
    $x =~ Hash ? { true => $m + { $x['certname'] => $x }, default => $m }
  }
  $certnames.reduce({ 'ok' => [], 'failed' => {} }) |$m, $n| {
    $x = $by_cn[$n]
    if $x =~ Hash and $x['outcome'] in $done {
      $m + { 'ok' => $m['ok'] + [$n] }
    } else {
      $e = ($x =~ Hash and $x['error'] =~ Hash) ? {
        true    => {
          'ok'      => false,
          'kind'    => $x['error']['kind'],
          'msg'     => $x['error']['msg'],
          'details' => { 'next_step' => $x['error']['next_step'] },
        },
        default => $answer['ok'] == true ? {
          true    => { 'ok' => false, 'kind' => 'cert_regen/ca-protocol-error', 'msg' => "the CA task's answer has no row for ${n}" },
          default => $answer,
        },
      }
      $m + { 'failed' => $m['failed'] + { $n => $e } }
    }
  }
}
