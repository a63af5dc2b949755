# @summary The verdict on an agent's host certificate and key alone: what a new agent certificate can fix.
#
# Uses the status object's `hostcert_health`. A status from an older task
# without it gets the same verdict computed from its `hostcert` fields.
#
# @param status
#   The result of `cert_regen::status` (or the `cert_regen` fact).
#
# @return [String]
#   ok, expiring, expired, not_yet_valid, revoked, key_mismatch, untrusted,
#   missing, weak_crypto or error.
function cert_regen::hostcert_health(Hash $status) >> String {
  if $status['hostcert_health'] =~ String[1] {
    $status['hostcert_health']
  } else {
    $hc = $status['hostcert'] ? { Hash => $status['hostcert'], default => {} }
    $files_missing = ['hostcert', 'hostprivkey'].any |$f| { $status.dig('files', $f, 'present') == false }
    $days = $hc['expires_in_days']
    $warn = $status['warn_days'] ? { Integer => $status['warn_days'], default => 30 }
    $now = $status['checked_at'] ? { String => $status['checked_at'], default => '' }
    if $hc.empty or $hc['fingerprint_sha256'] !~ String[1] or $files_missing {
      'missing'
    } elsif $hc['revoked'] == true {
      'revoked'
    } elsif $days !~ Integer or $days < 0 {
      'expired'
    } elsif $now != '' and $hc['not_before'] =~ String and $hc['not_before'] > $now {
      'not_yet_valid'
    } elsif $hc['key_matches'] == false {
      'key_mismatch'
    } elsif $hc['chain_valid'] == false {
      'untrusted'
    } elsif $days < $warn {
      'expiring'
    } else {
      'ok'
    }
  }
}
