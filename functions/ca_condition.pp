# @summary What an agent's status says about the CA bundle and the CRLs, with its own next step.
#
# A CA certificate or a CRL that ends within `warn_days` is not something
# a new agent certificate fixes: it is reported as its own condition and
# never leads to a regeneration. Uses the status object's `ca_health`; a
# status without it gets the verdict computed from its `ca` and `crl` lists.
#
# @param status
#   The result of `cert_regen::status`.
#
# @return [Optional[Hash]]
#   undef when the CA bundle and the CRLs are fine; else `kind`
#   (cert_regen/ca-expiring or cert_regen/ca-expired), `message` and
#   `next_step`.
function cert_regen::ca_condition(Hash $status) >> Optional[Hash] {
  $warn = $status['warn_days'] ? { Integer => $status['warn_days'], default => 30 }
  $cas = $status['ca'] ? { Array => $status['ca'].filter |$c| { $c =~ Hash }, default => [] }
  $crls = $status['crl'] ? { Array => $status['crl'].filter |$c| { $c =~ Hash }, default => [] }
  $late_cas = $cas.filter |$c| { $c['expires_in_days'] =~ Integer and $c['expires_in_days'] < $warn }
  $late_crls = $crls.filter |$c| { $c['expires_in_days'] =~ Integer and $c['expires_in_days'] < $warn }
  $computed = ($late_cas + $late_crls).empty ? {
    true    => 'ok',
    default => ($late_cas + $late_crls).any |$c| { $c['expires_in_days'] < 0 } ? { true => 'expired', default => 'expiring' },
  }
  $verdict = $status['ca_health'] ? { String[1] => $status['ca_health'], default => $computed }

  if $verdict in ['expiring', 'expired'] {
    $what = ($late_cas.map |$c| {
        $d = $c['expires_in_days']
        $when = $d < 0 ? { true => 'has expired', default => "ends in ${d} day(s)" }
        "CA certificate ${c['subject']} ${when}"
      } + $late_crls.map |$c| {
        $d = $c['expires_in_days']
        $when = $d < 0 ? { true => 'is past its nextUpdate', default => "reaches its nextUpdate in ${d} day(s)" }
        "CRL of ${c['issuer']} ${when}"
    })
    $message = $what.empty ? {
      true    => "the CA bundle or a CRL is ${verdict} (within warn_days ${warn})",
      default => $what.join('; '),
    }
    $steps = [
      $late_cas.empty ? {
        true    => [],
        default => [
          'renew the CA with its own keys and give every agent the renewed bundle:',
          'bolt plan run cert_regen::renew_ca primary=<primary> agents=<agents> (or move to a new CA with cert_regen::rebuild_ca)',
        ],
      },
      $late_crls.empty ? {
        true    => [],
        default => [
          "refresh the CRL: the CA issues a new one when it revokes a certificate, and an agent fetches the CA's",
          'current CRL on its next run (crl_refresh_interval) or after its ssldir/crl.pem is removed',
        ],
      },
    ].flatten
    $next = $steps.empty ? {
      true    => 'look at the CA bundle and the CRLs with cert_regen::status, and renew what ends',
      default => $steps.join(' '),
    }
    $result = {
      'kind'      => "cert_regen/ca-${verdict}",
      'message'   => $message,
      'next_step' => "${next}; a new agent certificate does not fix this",
    }
    $result
  } else {
    undef
  }
}
