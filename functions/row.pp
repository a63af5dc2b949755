# @summary The table row of an agent whose regeneration stopped: the step that failed, its kind, message and next step.
#
# The step and the next step come from the task's error (`details.step`,
# `details.next_step`); a staged key is claimed only when the task says one
# is staged (`details.journal_state`, a `pending` answer, or `staged` in
# `ctx`). Once the old certificate is revoked on the CA, the next step is
# to finish the regeneration, never to restore the old certificate.
#
# @param target
#   The target's name.
# @param answer
#   The task's answer as data: `ok` (Boolean) and `value` (the result) or
#   `kind`, `msg` and `details` (the error).
# @param ctx
#   `task`: which part answered (status, regenerate, ca_clean, ca_sign or
#   check); `revoked_on_ca` (Boolean): this run cleaned its old certificate
#   on the CA; `staged` (Boolean): an earlier step staged a key; `ca`: the
#   CA target's name; `rerun`: how to run the plan again, in words.
#
# @return [Hash]
#   `outcome` (failed), `step`, `kind`, `message`, `next_step`,
#   `revoked_on_ca`, `staged`.
function cert_regen::row(String $target, Hash $answer, Hash $ctx) >> Hash {
  $task = $ctx['task'] ? { String[1] => $ctx['task'], default => 'regenerate' }
  $revoked = $ctx['revoked_on_ca'] == true
  $ca = $ctx['ca'] ? { String[1] => $ctx['ca'], default => 'the CA' }
  $rerun = $ctx['rerun'] ? { String[1] => $ctx['rerun'], default => 'run the plan again with the same parameters' }
  $value = $answer['value'] ? { Hash => $answer['value'], default => {} }
  $d = $answer['details'] ? { Hash => $answer['details'], default => {} }
  $pending = $answer['ok'] == true and $value['state'] == 'pending'
  $staged = $ctx['staged'] == true or $pending or $d['journal_state'] in ['staged', 'submitted', 'signed', 'prepared', 'swapped']
  $installed = $d['live'] == 'new' or $d['journal_state'] == 'swapped'

  $step = $task ? {
    'regenerate' => $d['step'] ? {
      String[1] => $d['step'],
      default   => $pending ? { true => 'wait', default => 'regenerate' },
    },
    default      => $task,
  }
  $kind = $answer['ok'] == true ? {
    true    => 'cert_regen/incomplete',
    default => $answer['kind'] ? { String[1] => $answer['kind'], default => 'cert_regen/internal-error' },
  }
  $message = $answer['ok'] == true ? {
    true    => "cert_regen::regenerate answered state '${value['state']}' and the plan has no step left for it",
    default => $answer['msg'] ? { String => $answer['msg'], default => '' },
  }

  $finish = $staged ? {
    true    => "finish the regeneration: ${rerun} (it resumes with the key staged on ${target})",
    default => "finish the regeneration: ${rerun}",
  }
  $no_restore = 'its old certificate is revoked on the CA, so restoring a backup cannot help'
  $default_next = $task ? {
    'status'   => "nothing was changed on ${target}: make it reachable (or fix the error), then ${rerun}",
    'ca_clean' => "nothing was revoked for ${target} and its certificate still works: fix the CA (${ca}), then ${rerun}",
    'ca_sign'  => "look at the request on ${ca} (puppetserver ca list), then ${finish}; ${no_restore}",
    'check'    => "the new certificate is installed: run cert_regen::status on ${target} once it is reachable",
    default    => $pending ? {
      true    => "sign its request on ${ca} after comparing csr_fingerprint with puppetserver ca list, then ${finish}",
      default => $installed ? {
        true    => "the new certificate is installed: run cert_regen::status on ${target} and look at the warnings",
        default => $revoked ? {
          true    => "fix the error, then ${finish}; ${no_restore}",
          default => $staged ? {
            true    => "fix the error, then ${rerun}: it resumes with the staged key; the current certificate still works",
            default => "nothing was changed on ${target}: fix the error, then ${rerun}",
          },
        },
      },
    },
  }
  $given = $d['next_step'] ? { String[1] => $d['next_step'], default => undef }
  $next = $given ? {
    undef   => $default_next,
    default => ($revoked and $given =~ /restore/) ? {
      true    => "fix the error, then ${finish}; ${no_restore}",
      default => $revoked ? {
        true    => "${given} (${no_restore}: finish the regeneration)",
        default => $given,
      },
    },
  }
  $result = {
    'outcome'       => 'failed',
    'step'          => $step,
    'kind'          => $kind,
    'message'       => $message,
    'next_step'     => $next,
    'revoked_on_ca' => $revoked,
    'staged'        => $staged,
  }
  $result
}
