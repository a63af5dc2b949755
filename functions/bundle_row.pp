# @summary The row of plan renew_ca's table for one agent's cert_regen::ca_bundle_update answer.
#
# A node whose bundle was already the renewed one (state `current`) is
# `kept`, and so is a node offered a bundle that ends sooner than the one it
# holds (`offered_ends_sooner`: refused, its own bundle kept); `updated` and
# `would_update` (noop) say what the task did; a failure carries its kind,
# message and next step.
#
# @param target
#   The agent's name.
# @param answer
#   The task's answer as data: `ok` (Boolean) and `value` (the result) or
#   `kind`, `msg` and `details` (the error).
#
# @return [Hash]
#   `target`, `outcome` (updated, kept, would_update or failed), `step`
#   (ca_bundle_update), `state` (the task's state), `offered_ends_sooner`,
#   `kind`, `message` and `next_step`.
function cert_regen::bundle_row(String $target, Hash $answer) >> Hash {
  $v = $answer['value'] ? { Hash => $answer['value'], default => {} }
  $d = $answer['details'] ? { Hash => $answer['details'], default => {} }
  if $answer['ok'] == true {
    $sooner = $v['offered_ends_sooner'] == true
    $outcome = $v['state'] ? {
      'current'      => 'kept',
      'updated'      => 'updated',
      'would_update' => 'would_update',
      default        => 'failed',
    }
    $message = $outcome ? {
      'failed' => "unexpected state '${v['state']}'",
      default  => $sooner ? {
        true    => 'the CA offered a bundle that ends sooner than this one: refused, this one kept',
        default => undef,
      },
    }
    $next = $outcome ? {
      'failed'       => 'run cert_regen::ca_bundle_update on it again and read its result',
      'would_update' => 'run the plan without _noop',
      default        => $sooner ? {
        true    => 'check the CA with cert_regen::ca_renew _noop=true: it serves an older bundle',
        default => 'none',
      },
    }
    $row = {
      'target'              => $target,
      'outcome'             => $outcome,
      'step'                => 'ca_bundle_update',
      'state'               => $v['state'],
      'offered_ends_sooner' => $sooner,
      'message'             => $message,
      'next_step'           => $next,
    }
  } else {
    $next = $d['next_step'] ? {
      String[1] => $d['next_step'],
      default   => 'fix what the message says, then run cert_regen::ca_bundle_update on it',
    }
    $row = {
      'target'    => $target,
      'outcome'   => 'failed',
      'step'      => 'ca_bundle_update',
      'kind'      => $answer['kind'],
      'message'   => $answer['msg'],
      'next_step' => $next,
    }
  }
  $row.filter |$k, $x| { $x =~ NotUndef }
}
