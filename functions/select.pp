# @summary Whether an agent needs a new certificate, and why.
#
# An agent is regenerated when a new agent certificate fixes something:
# its host certificate is missing, expired, expiring within warn_days (when
# a new one would end after warn_days), not
# yet valid, revoked, does not match its key, no longer chains to the CA
# bundle, uses weak crypto, or cannot be read; the CA no longer holds it as
# signed (cleaned or replaced, e.g. by an interrupted run); the names or
# extensions asked for differ from the certificate's; or `force`. A CA
# certificate or CRL that ends soon is reported (`ca_condition`), never a
# reason to regenerate.
#
# @param status
#   The agent's `cert_regen::status` result.
# @param on_ca
#   The CA's entry for the agent's certname from `cert_regen::ca_list`
#   (`state`, `fingerprint`), or undef when the CA has none.
# @param opts
#   `force` (Boolean), `dns_alt_names` and `extension_requests` as given to
#   the plan (undef: keep the certificate's).
#
# @return [Hash]
#   `regenerate` (Boolean), `reasons` (Array of String),
#   `hostcert_health`, `ca_condition` (see cert_regen::ca_condition),
#   `note` (why an expiring certificate is left alone, or undef).
function cert_regen::select(Hash $status, Optional[Hash] $on_ca, Hash $opts = {}) >> Hash {
  $hh = cert_regen::hostcert_health($status)
  $hc = $status['hostcert'] ? { Hash => $status['hostcert'], default => {} }
  $fp = $hc['fingerprint_sha256']
  $in_sync = $on_ca =~ Hash and $on_ca['state'] == 'signed' and $fp =~ String and $on_ca['fingerprint'] == $fp

  $ask_names = $opts['dns_alt_names'] ? {
    Array   => $opts['dns_alt_names'].map |$n| { $n.regsubst(/\A(DNS|IP):/, '') }.filter |$n| { $n != $status['certname'] }.unique.sort,
    default => undef,
  }
  $have_names = ($hc['dns_alt_names'] ? { Array => $hc['dns_alt_names'], default => [] } +
    $hc['ip_alt_names'] ? { Array => $hc['ip_alt_names'], default => [] }).filter |$n| { $n != $status['certname'] }.unique.sort
  $have_ext = $hc['extensions'] ? { Hash => $hc['extensions'], default => {} }
  $ext_changed = $opts['extension_requests'] ? {
    Hash    => $opts['extension_requests'].filter |$k, $v| { $have_ext[$k] != $v }.keys.sort,
    default => [],
  }

  # A new certificate lasts about as long as the current one did, and not
  # past the CA's own end: when that is within warn_days too, regenerating
  # cannot take an expiring certificate out of warn_days.
  $warn = $status['warn_days'] ? { Integer => $status['warn_days'], default => 30 }
  $lifetime = ($hc['not_before'] =~ String and $hc['not_after'] =~ String) ? {
    true    => Integer(Timestamp($hc['not_after']) - Timestamp($hc['not_before'])) / 86400,
    default => undef,
  }
  $ca_days = $status['ca'] ? {
    Array   => $status['ca'].filter |$c| { $c =~ Hash and $c['expires_in_days'] =~ Integer }.map |$c| { $c['expires_in_days'] },
    default => [],
  }
  $new_days = ([$lifetime] + $ca_days).filter |$x| { $x =~ Integer }.min
  $expiring_fixable = $new_days !~ Integer or $new_days > $warn
  $fixable = $hh ? {
    'ok'       => false,
    'expiring' => $expiring_fixable,
    default    => true,
  }
  $note = ($hh == 'expiring' and !$fixable) ? {
    true    => [
      "its certificate ends in ${hc['expires_in_days']} day(s), within warn_days (${warn}), but a new one would end",
      "within ${new_days} day(s): regenerating cannot help; lower warn_days (or force=true)",
    ].join(' '),
    default => undef,
  }

  $reasons = [
    $fixable ? { true => ["host certificate: ${hh}"], default => [] },
    ($hh != 'missing' and !$in_sync) ? {
      true    => [$on_ca =~ Hash ? {
          true    => "the CA holds another certificate for it (${on_ca['state']})",
          default => 'the CA holds no signed certificate for it',
      }],
      default => [],
    },
    ($ask_names =~ Array and $ask_names != $have_names) ? {
      true    => ["names asked: ${ask_names.join(', ')} (now: ${have_names.join(', ')})"],
      default => [],
    },
    $ext_changed.empty ? { true => [], default => ["extensions asked to change: ${ext_changed.join(', ')}"] },
    $opts['force'] == true ? { true => ['force'], default => [] },
  ].flatten

  $result = {
    'regenerate'      => !$reasons.empty,
    'reasons'         => $reasons,
    'hostcert_health' => $hh,
    'ca_condition'    => cert_regen::ca_condition($status),
    'note'            => $note,
  }
  $result
}
