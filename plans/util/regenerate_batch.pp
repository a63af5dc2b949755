# @summary One batch of cert_regen::regenerate_agents: stage, clean, submit, sign, install, check.
#
# @api private
#
# @param targets
#   The agents of the batch.
# @param certnames
#   target name => certname.
# @param ca
#   The CA target.
# @param regen_params
#   Parameters for `cert_regen::regenerate`.
# @param status_params
#   Parameters for `cert_regen::status`.
# @param rerun
#   How to run the plan again, in words (for next steps).
#
# @return [Hash] target name => the row's step, outcome, kind, message, next_step, revoked_on_ca.
plan cert_regen::util::regenerate_batch(
  TargetSpec $targets,
  Hash[String, String] $certnames,
  Target $ca,
  Hash $regen_params,
  Hash $status_params,
  String[1] $rerun,
) {
  $by_name = get_targets($targets).reduce({}) |$m, $t| { $m + { $t.name => $t } }
  $ca_conf = cert_regen::confdir_param($ca.vars)
  $ctx = { 'ca' => $ca.name, 'rerun' => $rerun }

  # Three rounds of cert_regen::regenerate, each followed by the CA's part:
  # round 1 stages (the CA still holds the old certificates: ca-not-cleaned
  # is the expected answer), round 2 submits, round 3 installs.
  $start = { 'active' => $by_name.keys, 'done' => {}, 'cleaned' => [], 'staged' => [], 'failed' => {} }
  $final = [1, 2, 3].reduce($start) |$acc, $round| {
    if $acc['active'].empty {
      $acc
    } else {
      $res = run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::regenerate',
        'targets' => $acc['active'].map |$n| { $by_name[$n] }, 'params' => $regen_params)
      # `current`: an earlier or concurrent run already installed the new
      # certificate; the check below verifies it like a fresh one.
      $done = $res.filter |$n, $a| { $a['ok'] and $a['value']['state'] in ['regenerated', 'current'] }.reduce({}) |$m, $kv| {
        $m + { $kv[0] => $kv[1].dig('value', 'after', 'fingerprint_sha256') }
      }
      $pending = $res.filter |$n, $a| { $a['ok'] and $a['value']['state'] == 'pending' and $round < 3 }
      $to_clean = $res.filter |$n, $a| {
        !$a['ok'] and $a['kind'] == 'cert_regen/ca-not-cleaned' and !($n in $acc['cleaned']) and $round < 3
      }.keys
      $staged = $acc['staged'] + $to_clean + $pending.keys
      $failed = $res.filter |$n, $a| { !($n in $done) and !($n in $pending) and !($n in $to_clean) }.reduce({}) |$m, $kv| {
        $n = $kv[0]
        $m + { $n => cert_regen::row($n, $kv[1], $ctx + {
              'task' => 'regenerate', 'revoked_on_ca' => $n in $acc['cleaned'], 'staged' => $n in $acc['staged'],
        }) }
      }

      # CA: clean the old certificates of exactly the agents that staged.
      $clean = $to_clean.empty ? {
        true    => { 'ok' => [], 'failed' => {} },
        default => cert_regen::ca_outcomes(run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::ca_clean',
            'targets' => $ca, 'params' => $ca_conf + { 'certnames' => $to_clean.map |$n| { $certnames[$n] } })[$ca.name],
        $to_clean.map |$n| { $certnames[$n] }, ['cleaned', 'nothing_to_clean']),
      }
      # CA: sign the pending requests, only with the fingerprints the agents staged.
      $sign = $pending.empty ? {
        true    => { 'ok' => [], 'failed' => {} },
        default => cert_regen::ca_outcomes(run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::ca_sign',
            'targets' => $ca, 'params' => $ca_conf + {
              'certnames'             => $pending.keys.map |$n| { $certnames[$n] },
              'expected_fingerprints' => $pending.reduce({}) |$m, $kv| {
                $m + { $certnames[$kv[0]] => $kv[1]['value']['csr_fingerprint'] }
              },
        })[$ca.name], $pending.keys.map |$n| { $certnames[$n] }, ['signed', 'already_signed']),
      }
      $name_of = $certnames.reduce({}) |$m, $kv| { $m + { $kv[1] => $kv[0] } }
      $ca_failed = ($clean['failed'].map |$cn, $e| { [$name_of[$cn], 'ca_clean', $e] } +
        $sign['failed'].map |$cn, $e| { [$name_of[$cn], 'ca_sign', $e] }).reduce({}) |$m, $x| {
        $m + { $x[0] => cert_regen::row($x[0], $x[2], $ctx + {
              'task' => $x[1], 'revoked_on_ca' => $x[0] in $acc['cleaned'], 'staged' => true,
        }) }
      }
      $result = {
        'active'  => ($clean['ok'] + $sign['ok']).map |$cn| { $name_of[$cn] },
        'done'    => $acc['done'] + $done,
        'cleaned' => $acc['cleaned'] + $clean['ok'].map |$cn| { $name_of[$cn] },
        'staged'  => $staged,
        'failed'  => $acc['failed'] + $failed + $ca_failed,
      }
      $result
    }
  }

  # Check: pxp-agent restarts itself after the swap; wait for it, then the
  # installed certificate must be the one the CA signed for the staged key.
  $done_targets = $final['done'].keys.map |$n| { $by_name[$n] }
  unless $done_targets.empty {
    if $done_targets.any |$t| { $t.transport == 'pcp' } {
      ctrl::sleep(10)
    }
    wait_until_available($done_targets, { 'wait_time' => 120, '_catch_errors' => true })
  }
  $after = $done_targets.empty ? {
    true    => {},
    default => run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::status', 'targets' => $done_targets,
    'params' => $status_params),
  }

  $rows = $by_name.keys.reduce({}) |$m, $n| {
    $revoked = $n in $final['cleaned']
    $a = $after[$n]
    $row = if $n in $final['failed'] {
      $final['failed'][$n]
    } elsif $a =~ Hash and $a['ok'] {
      $v = cert_regen::verify($a['value'], $final['done'][$n])
      $v['ok'] ? {
        true    => {
          'outcome'      => 'ok',
          'step'         => 'check',
          'health'       => $a['value']['health'],
          'ca_condition' => cert_regen::ca_condition($a['value']),
          'next_step'    => 'none',
        },
        default => {
          'outcome'   => 'failed',
          'step'      => 'check',
          'kind'      => 'cert_regen/install-unverified',
          'health'    => $a['value']['health'],
          'message'   => "the regenerate task installed a certificate, but: ${v['reasons'].join('; ')}",
          'next_step' => [
            "run cert_regen::status on ${n} and compare hostcert.fingerprint_sha256 with cert_regen::ca_list on ${ca.name};",
            "if they differ, run cert_regen::regenerate on ${n} (or ${rerun});",
            'its old certificate is revoked on the CA, so restoring a backup cannot help',
          ].join(' '),
        },
      }
    } elsif $a =~ Hash {
      cert_regen::row($n, $a, $ctx + { 'task' => 'check', 'revoked_on_ca' => $revoked })
    } else {
      $unfinished = { 'ok' => false, 'kind' => 'cert_regen/incomplete', 'msg' => "the agent did not finish within the plan's rounds" }
      cert_regen::row($n, $unfinished, $ctx + {
          'task' => 'regenerate', 'revoked_on_ca' => $revoked, 'staged' => $n in $final['staged'],
      })
    }
    $m + { $n => $row + { 'revoked_on_ca' => $revoked } }
  }
  return $rows
}
