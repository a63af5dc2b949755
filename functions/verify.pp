# @summary Whether an agent runs with the certificate the CA signed for its staged key.
#
# Checked after the install, from the agent's `cert_regen::status`: the
# installed certificate is the one `cert_regen::regenerate` reported
# installing (its SHA-256 fingerprint, the certificate the CA signed for the
# staged key), its key matches, it chains to the CA bundle and CRLs, and it
# is not revoked. An expiring CA or a small `warn_days` is no failure here.
#
# @param status
#   The agent's `cert_regen::status` result after the install.
# @param signed_fingerprint
#   `after.fingerprint_sha256` of the regenerate task's result.
#
# @return [Hash]
#   `ok` (Boolean) and `reasons` (Array of String, empty when ok).
function cert_regen::verify(Hash $status, Optional[String] $signed_fingerprint) >> Hash {
  $hc = $status['hostcert'] ? { Hash => $status['hostcert'], default => {} }
  [$have, $want] = [$hc['fingerprint_sha256'], $signed_fingerprint].map |$f| {
    $f ? { String => $f.upcase.regsubst(/\A(SHA256:|\(SHA256\) )/, '').regsubst(/:/, '', 'G'), default => '' }
  }
  $reasons = [
    $have ? { '' => ['no host certificate is installed'], default => [] },
    ($want == '') ? {
      true    => ['the regenerate task reported no installed fingerprint to compare'],
      default => ($have != '' and $have != $want) ? {
        true    => ["the installed certificate (${hc['fingerprint_sha256']}) is not the one the CA signed (${signed_fingerprint})"],
        default => [],
      },
    },
    $hc['key_matches'] == true ? { true => [], default => ['the private key does not match the certificate'] },
    $hc['chain_valid'] == true ? { true => [], default => ['the certificate does not chain to the CA bundle and CRLs'] },
    $hc['revoked'] == true ? { true => ['the certificate is revoked'], default => [] },
  ].flatten
  $result = { 'ok' => $reasons.empty, 'reasons' => $reasons }
  $result
}
