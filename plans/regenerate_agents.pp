# @summary Regenerate the Puppet certificates of many agents: check, stage, clean on the CA, sign, install, verify.
#
# Every agent is checked first with `cert_regen::status`, and the CA with
# `cert_regen::ca_list`. An agent is skipped (unless `force`) when its health
# is `ok` AND the CA holds exactly its certificate as signed (same SHA-256
# fingerprint); so an agent whose certificate was already cleaned on the CA
# by an earlier, interrupted run is picked up again even though its local
# files still look healthy. The others are handled in batches of
# `batch_size`, each in this order:
#
# 1. `cert_regen::regenerate` on the agents while the CA still holds their
#    old certificates: it generates the new key and CSR in its staging
#    directory and stops with `cert_regen/ca-not-cleaned` (an expected
#    result here). This proves the agent is reachable and delivers the
#    task's files to it BEFORE anything is revoked. An agent that fails
#    here is reported and never touched on the CA.
# 2. `cert_regen::ca_clean` on `ca` for exactly the agents that answered
#    `ca-not-cleaned` (their old certificates are revoked and deleted).
# 3. `cert_regen::regenerate` again: it resumes with the staged key and
#    submits the CSR. Under autosign it installs the new certificate now;
#    otherwise it answers `pending` with the CSR's fingerprint (after
#    waiting up to `wait_for_cert` seconds).
# 4. `cert_regen::ca_sign` on `ca` for the pending agents, with
#    `expected_fingerprints` from their `pending` results: a CSR that is not
#    the one the agent staged is refused (`cert_regen/fingerprint-mismatch`).
# 5. `cert_regen::regenerate` once more on the signed agents: it downloads,
#    verifies and installs the certificate (backup, atomic swap).
# 6. `wait_until_available`, then `cert_regen::status` on every regenerated
#    agent: the row is `ok` only when its health is `ok`.
#
# Every task runs with `_catch_errors`: one failing agent never stops the
# others, and each failure becomes a `failed` row with the error kind and a
# next step, after which that agent is left alone (a failure before step 2
# leaves its identity untouched; a failure after it leaves the staged key,
# and running this plan again resumes). Only the known answers above move an
# agent forward.
#
# Services: the regenerate task itself stops the services listed in
# `services` that are running around the swap and starts exactly those
# again (under pxp-agent, pxp-agent is restarted detached after the task's
# result is written), so the plan does not manage service state.
#
# PE orchestrator (PCP transport): pxp-agent downloads a task's files from
# the primary server's file_content endpoint with the agent's OWN
# certificate, and keeps them in its cache under `<sha256>/<file name>`; a
# file already there with the right SHA-256 is not downloaded again
# (pxp-agent's `ModuleCacheDir::downloadFileFromMaster`). After step 2 the
# agent's certificate is revoked, and puppetserver refuses it at the TLS
# handshake (within a second of the revocation), so any download the agent
# needed then would fail. The files all cert_regen tasks share
# (`files/launch.sh` and every file under `files/bin/`) are cached by the
# first `cert_regen::status`, but each task's own executable
# (`tasks/regenerate.sh`) is a different file: that is why step 1 runs
# `cert_regen::regenerate` before the CA is touched. Steps 3 and 5 then
# find every file in the cache and need no download; neither does step 6
# (`tasks/status.sh` is cached, and the new certificate is valid anyway).
# tests/integration/test_plan_sequence.sh checks this against a real
# puppetserver. The pxp-agent's broker connection stays up across step 2 (the
# broker checks certificates when a connection is made); if it drops
# between steps 2 and 5 the agent cannot reconnect until it has its new
# certificate: run `cert_regen::regenerate` on it over SSH (or its
# executable locally), which resumes with the staged key. Keep batches
# small to keep that window short. After step 5, pxp-agent reconnects with
# the new certificate; the plan waits for that before step 6.
#
# Per-target settings: a target var `cert_regen_confdir` is passed to every
# task run on that target as `confdir` (the puppet.conf to read), on the
# agents and on `ca` alike. Targets are grouped by it, so targets without it
# are handled with one task run per step.
#
# @param targets
#   The agents whose certificates are regenerated.
# @param ca
#   The CA host (exactly one target), where `cert_regen::ca_list`,
#   `cert_regen::ca_clean` and `cert_regen::ca_sign` run with the host's own
#   certificate (which has `pp_cli_auth`).
# @param force
#   Regenerate healthy agents too.
# @param batch_size
#   How many agents are cleaned, signed and installed together.
# @param warn_days
#   `warn_days` of `cert_regen::status`: an agent whose certificate expires
#   within this many days is `expiring` and so regenerated. Default: the
#   task's (30).
# @param ca_server
#   `ca_server` for the regenerate task. Default: each agent's setting.
# @param ca_port
#   `ca_port` for the regenerate task. Default: each agent's setting.
# @param dns_alt_names
#   Subject alternative names for EVERY agent's new certificate. Default:
#   each agent keeps the SANs of its current certificate.
# @param extension_requests
#   Certificate extensions to request, for every agent. Default: each
#   agent's current `pp_*` extensions merged with its csr_attributes.yaml.
# @param key_type
#   `rsa` or `ec`. Default: each agent's `key_type` setting.
# @param key_size
#   RSA key size. Default: each agent's `keylength` setting.
# @param curve
#   EC curve. Default: each agent's `named_curve` setting.
# @param ca_fingerprint
#   SHA-256 fingerprint of a new CA (after a CA rebuild) that the agents
#   accept. Default: the new certificates must chain to the CA the agents
#   trust today.
# @param wait_for_cert
#   Seconds the regenerate task waits for its CSR to be signed in step 3
#   before it answers `pending`. 0 (the default) leaves signing to step 4;
#   puppetserver's autosign signs at once, so this matters only for a CA
#   that signs by other means within a known delay.
# @param backup
#   Back up each ssldir before the swap. Default: the task's (true).
# @param backup_dir
#   Where the backups go. Default: `<ssldir>_bak` on each agent.
# @param services
#   Services stopped (when running) around the swap and started again.
#   Default: the task's (puppet, mcollective, pxp-agent).
# @param remove_cached_catalog
#   Remove each agent's cached catalog. Default: the task's (true).
# @param run_puppet
#   Run `puppet agent -t` on each agent after the swap. Default: the task's
#   (false).
# @param lock_timeout
#   Seconds the regenerate task waits for a running puppet agent to release
#   its locks. Default: the task's (300).
# @param fail_on_error
#   Fail the plan (error kind `cert_regen/agents-failed`, the table in
#   `details.agents`) when any agent failed. With false the plan returns the
#   table in any case.
#
# @return [Array[Hash]]
#   One row per target, in the order of `targets`: `target`, `certname`,
#   `outcome` (`ok`, `skipped` or `failed`), `step` (where it ended),
#   `kind` (the error kind of a failed row), `message`, `next_step`,
#   `revoked_on_ca` (whether this run cleaned its old certificate on the CA)
#   and `health` (before, or after for an `ok` row).
#
# @example Regenerate the certificates of the agents that need it, 20 at a time
#   bolt plan run cert_regen::regenerate_agents targets=agents ca=puppet.example.com batch_size=20
plan cert_regen::regenerate_agents(
  TargetSpec $targets,
  TargetSpec $ca,
  Boolean $force = false,
  Integer[1] $batch_size = 10,
  Optional[Integer[0, 3650]] $warn_days = undef,
  Optional[String[1]] $ca_server = undef,
  Optional[Integer[1, 65535]] $ca_port = undef,
  Optional[Array[String[1]]] $dns_alt_names = undef,
  Optional[Hash[String[1], String[1]]] $extension_requests = undef,
  Optional[Enum['rsa', 'ec']] $key_type = undef,
  Optional[Integer[2048, 16384]] $key_size = undef,
  Optional[String[1]] $curve = undef,
  Optional[Pattern[/\A(SHA256:|\(SHA256\) )?([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}\z/]] $ca_fingerprint = undef,
  Integer[0, 3600] $wait_for_cert = 0,
  Optional[Boolean] $backup = undef,
  Optional[Pattern[/\A\//]] $backup_dir = undef,
  Optional[Array[Pattern[/\A[a-zA-Z0-9@._-]+\z/]]] $services = undef,
  Optional[Boolean] $remove_cached_catalog = undef,
  Optional[Boolean] $run_puppet = undef,
  Optional[Integer[0, 86400]] $lock_timeout = undef,
  Boolean $fail_on_error = true,
) {
  $agents = get_targets($targets)
  $ca_targets = get_targets($ca)
  if $ca_targets.length != 1 {
    fail_plan("ca must name exactly one target, not ${ca_targets.length}", 'cert_regen/invalid-parameter')
  }
  $ca_target = $ca_targets[0]
  $ca_conf = $ca_target.vars['cert_regen_confdir'] ? {
    String[1] => { 'confdir' => $ca_target.vars['cert_regen_confdir'] },
    default   => {},
  }
  # target name => its cert_regen_confdir var ('' when unset): task runs are grouped by it
  $confdir_of = $agents.reduce({}) |$m, $t| {
    $m + { $t.name => $t.vars['cert_regen_confdir'] ? { String[1] => $t.vars['cert_regen_confdir'], default => '' } }
  }
  $status_params = { 'warn_days' => $warn_days }.filter |$k, $v| { $v =~ NotUndef }
  $regen_params = {
    'ca_server'             => $ca_server,
    'ca_port'               => $ca_port,
    'dns_alt_names'         => $dns_alt_names,
    'extension_requests'    => $extension_requests,
    'key_type'              => $key_type,
    'key_size'              => $key_size,
    'curve'                 => $curve,
    'ca_fingerprint'        => $ca_fingerprint,
    'wait_for_cert'         => $wait_for_cert,
    'backup'                => $backup,
    'backup_dir'            => $backup_dir,
    'services'              => $services,
    'remove_cached_catalog' => $remove_cached_catalog,
    'run_puppet'            => $run_puppet,
    'lock_timeout'          => $lock_timeout,
  }.filter |$k, $v| { $v =~ NotUndef }

  # --- check first: every agent's status, and what the CA holds ----------
  $status = $agents.group_by |$t| { $confdir_of[$t.name] }.map |$cd, $group| {
    $conf = $cd ? { '' => {}, default => { 'confdir' => $cd } }
    run_task('cert_regen::status', $group, $status_params + $conf + { '_catch_errors' => true }).results
  }.flatten.reduce({}) |$m, $r| { $m + { $r.target.name => $r } }

  $ca_list = run_task('cert_regen::ca_list', $ca_target, $ca_conf + { 'state' => 'all', '_catch_errors' => true }).first
  unless $ca_list.ok {
    fail_plan("cert_regen::ca_list on ${ca_target.name} failed (${ca_list.error.kind}): ${ca_list.error.message}; nothing was changed",
      'cert_regen/ca-check-failed', {
        'ca'    => $ca_target.name,
        'error' => { 'kind' => $ca_list.error.kind, 'msg' => $ca_list.error.message, 'details' => $ca_list.error.details },
    })
  }
  $on_ca = $ca_list.value['certificates'].reduce({}) |$m, $c| { $m + { $c['name'] => $c } }

  $checked = $agents.map |$t| {
    $r = $status[$t.name]
    if !$r.ok {
      $d = $r.error.details ? { Hash => $r.error.details, default => {} }
      $failed_row = {
        'target'        => $t.name,
        'outcome'       => 'failed',
        'step'          => 'status',
        'kind'          => $r.error.kind,
        'message'       => $r.error.message,
        'next_step'     => $d['next_step'] ? {
          String[1] => $d['next_step'],
          default   => 'make the target reachable (or fix the error) and run the plan again; nothing was changed on it',
        },
        'revoked_on_ca' => false,
      }
      $failed_row
    } else {
      $fp = $r.value.dig('hostcert', 'fingerprint_sha256')
      $held = $on_ca[$r['certname']]
      $in_sync = $held =~ Hash and $held['state'] == 'signed' and $held['fingerprint'] == $fp
      $row = {
        'target'        => $t.name,
        'certname'      => $r['certname'],
        'health'        => $r['health'],
        'revoked_on_ca' => false,
      }
      if $r['health'] == 'ok' and $in_sync and !$force {
        $row + { 'outcome' => 'skipped', 'step' => 'status', 'next_step' => 'none: healthy (force=true regenerates it anyway)' }
      } else {
        $row + { 'outcome' => 'todo' }
      }
    }
  }
  $todo = $checked.filter |$row| { $row['outcome'] == 'todo' }
  $by_name = $agents.reduce({}) |$m, $t| { $m + { $t.name => $t } }
  out::message("cert_regen: ${agents.length} agent(s) checked, ${todo.length} to regenerate in batches of ${batch_size}")

  # --- per batch: stage, clean, submit, sign, install, verify -------------
  $batch_rows = $todo.slice($batch_size).map |$bi, $batch| {
    $names = $batch.map |$row| { $row['target'] }
    $certname = $batch.reduce({}) |$m, $row| { $m + { $row['target'] => $row['certname'] } }
    out::message("cert_regen: batch ${$bi + 1}: ${names.join(', ')}")

    # Rounds of cert_regen::regenerate, each followed by the CA's part for
    # the agents that need it: round 1 stages (the CA still holds the old
    # certificates: ca-not-cleaned), round 2 submits, round 3 installs.
    $final = [1, 2, 3].reduce({ 'active' => $names, 'done' => [], 'cleaned' => [], 'failed' => {} }) |$acc, $round| {
      if $acc['active'].empty {
        $acc
      } else {
        $step = { 1 => 'stage', 2 => 'submit', 3 => 'install' }[$round]
        $res = $acc['active'].map |$n| { $by_name[$n] }.group_by |$t| { $confdir_of[$t.name] }.map |$cd, $group| {
          $conf = $cd ? { '' => {}, default => { 'confdir' => $cd } }
          run_task('cert_regen::regenerate', $group, $regen_params + $conf + { '_catch_errors' => true }).results
        }.flatten.reduce({}) |$m, $r| { $m + { $r.target.name => $r } }

        $done = $res.filter |$n, $r| { $r.ok and $r['state'] == 'regenerated' }.keys
        $pending = $res.filter |$n, $r| { $r.ok and $r['state'] == 'pending' and $round < 3 }
        $to_clean = $res.filter |$n, $r| {
          !$r.ok and $r.error.kind == 'cert_regen/ca-not-cleaned' and !($n in $acc['cleaned']) and $round < 3
        }.keys
        $regen_failed = $res.filter |$n, $r| { !($n in $done) and !($n in $pending) and !($n in $to_clean) }.reduce({}) |$m, $kv| {
          $n = $kv[0]
          $r = $kv[1]
          $revoked = $n in $acc['cleaned']
          $fail = $r.ok ? {
            true    => {
              'kind'      => 'cert_regen/incomplete',
              'message'   => "cert_regen::regenerate answered state '${r['state']}' in step ${step}",
              'next_step' => 'run the plan again: the agent resumes with its staged key',
            },
            default => {
              'kind'      => $r.error.kind,
              'message'   => $r.error.message,
              'next_step' => ($r.error.details ? { Hash => $r.error.details, default => {} })['next_step'] ? {
                String[1] => $r.error.details['next_step'],
                default   => 'fix the error and run the plan again: the agent resumes with its staged key',
              },
            },
          }
          $m + { $n => $fail + { 'step' => $step, 'revoked_on_ca' => $revoked } }
        }

        # CA: clean the old certificates of the agents that staged.
        $clean = $to_clean.empty ? {
          true    => { 'ok' => [], 'failed' => {} },
          default => run_task('cert_regen::ca_clean', $ca_target, $ca_conf + {
              'certnames'     => $to_clean.map |$n| { $certname[$n] },
              '_catch_errors' => true,
          }).first.then |$cr| {
            $rows = $cr.ok ? {
              true    => $cr.value['results'],
              default => $cr.error.kind ? {
                'cert_regen/ca-partial-failure' => $cr.error.details['results'],
                default                         => [],
              },
            }
            $by_cn = $rows.reduce({}) |$m, $x| { $m + { $x['certname'] => $x } }
            $to_clean.reduce({ 'ok' => [], 'failed' => {} }) |$m, $n| {
              $x = $by_cn[$certname[$n]]
              if $x =~ Hash and $x['outcome'] in ['cleaned', 'nothing_to_clean'] {
                $m + { 'ok' => $m['ok'] + [$n] }
              } else {
                $e = $x =~ Hash ? {
                  true    => $x['error'],
                  default => { 'kind' => $cr.error.kind, 'msg' => $cr.error.message },
                }
                $m + { 'failed' => $m['failed'] + { $n => {
                      'step'          => 'ca_clean',
                      'kind'          => $e['kind'],
                      'message'       => $e['msg'],
                      'next_step'     => $e['next_step'] ? {
                        String[1] => $e['next_step'],
                        default   => "fix the CA (${ca_target.name}) and run the plan again; the agent's certificate is unchanged",
                      },
                      'revoked_on_ca' => false,
                } } }
              }
            }
          },
        }

        # CA: sign the pending CSRs, but only the ones the agents staged.
        $sign = $pending.empty ? {
          true    => { 'ok' => [], 'failed' => {} },
          default => run_task('cert_regen::ca_sign', $ca_target, $ca_conf + {
              'certnames'             => $pending.keys.map |$n| { $certname[$n] },
              'expected_fingerprints' => $pending.reduce({}) |$m, $kv| { $m + { $certname[$kv[0]] => $kv[1]['csr_fingerprint'] } },
              '_catch_errors'         => true,
          }).first.then |$sr| {
            $rows = $sr.ok ? {
              true    => $sr.value['results'],
              default => $sr.error.kind ? {
                'cert_regen/ca-partial-failure' => $sr.error.details['results'],
                default                         => [],
              },
            }
            $by_cn = $rows.reduce({}) |$m, $x| { $m + { $x['certname'] => $x } }
            $pending.keys.reduce({ 'ok' => [], 'failed' => {} }) |$m, $n| {
              $x = $by_cn[$certname[$n]]
              if $x =~ Hash and $x['outcome'] in ['signed', 'already_signed'] {
                $m + { 'ok' => $m['ok'] + [$n] }
              } else {
                $e = $x =~ Hash ? {
                  true    => $x['error'],
                  default => { 'kind' => $sr.error.kind, 'msg' => $sr.error.message },
                }
                $m + { 'failed' => $m['failed'] + { $n => {
                      'step'          => 'ca_sign',
                      'kind'          => $e['kind'],
                      'message'       => $e['msg'],
                      'next_step'     => $e['next_step'] ? {
                        String[1] => $e['next_step'],
                        default   => "check the pending request with `puppetserver ca list` on ${ca_target.name}, then run the plan again",
                      },
                      'revoked_on_ca' => $n in $acc['cleaned'],
                } } }
              }
            }
          },
        }

        $next = {
          'active'  => $clean['ok'] + $sign['ok'],
          'done'    => $acc['done'] + $done,
          'cleaned' => $acc['cleaned'] + $clean['ok'],
          'failed'  => $acc['failed'] + $regen_failed + $clean['failed'] + $sign['failed'],
        }
        $next
      }
    }

    # Verify: pxp-agent restarts itself after the swap; wait for it.
    $done_targets = $final['done'].map |$n| { $by_name[$n] }
    unless $done_targets.empty {
      if $done_targets.any |$t| { $t.transport == 'pcp' } {
        ctrl::sleep(10)
      }
      wait_until_available($done_targets, { 'wait_time' => 120, '_catch_errors' => true })
    }
    $verify = $done_targets.group_by |$t| { $confdir_of[$t.name] }.map |$cd, $group| {
      $conf = $cd ? { '' => {}, default => { 'confdir' => $cd } }
      run_task('cert_regen::status', $group, $status_params + $conf + { '_catch_errors' => true }).results
    }.flatten.reduce({}) |$m, $r| { $m + { $r.target.name => $r } }

    $names.reduce({}) |$m, $n| {
      $revoked = $n in $final['cleaned']
      $v = $verify[$n]
      $row = if $n in $final['failed'] {
        $final['failed'][$n] + { 'outcome' => 'failed' }
      } elsif $v =~ NotUndef and $v.ok and $v['health'] == 'ok' {
        { 'outcome' => 'ok', 'step' => 'verify', 'health' => $v['health'], 'next_step' => 'none' }
      } elsif $v =~ NotUndef and $v.ok {
        {
          'outcome'   => 'failed',
          'step'      => 'verify',
          'kind'      => 'cert_regen/unhealthy-after-regenerate',
          'health'    => $v['health'],
          'message'   => "the new certificate is installed but health is ${v['health']}: ${v['health_reasons'].join('; ')}",
          'next_step' => 'run cert_regen::status on it; cert_regen::restore puts the backup back',
        }
      } elsif $v =~ NotUndef {
        {
          'outcome'   => 'failed',
          'step'      => 'verify',
          'kind'      => $v.error.kind,
          'message'   => $v.error.message,
          'next_step' => 'the new certificate is installed; run cert_regen::status on it once it is reachable',
        }
      } else {
        {
          'outcome'   => 'failed',
          'step'      => 'stage',
          'kind'      => 'cert_regen/incomplete',
          'message'   => 'the agent did not finish within the plan\'s rounds',
          'next_step' => 'run the plan again: the agent resumes with its staged key',
        }
      }
      $m + { $n => $row + { 'revoked_on_ca' => $revoked } }
    }
  }.reduce({}) |$m, $h| { $m + $h }

  # --- the table ----------------------------------------------------------
  $table = $checked.map |$row| {
    $r = $batch_rows[$row['target']] ? { Hash => $row + $batch_rows[$row['target']], default => $row }
    $out = {
      'target'        => $r['target'],
      'certname'      => $r['certname'],
      'outcome'       => $r['outcome'],
      'step'          => $r['step'],
      'kind'          => $r['kind'],
      'message'       => $r['message'],
      'next_step'     => $r['next_step'],
      'revoked_on_ca' => $r['revoked_on_ca'],
      'health'        => $r['health'],
    }
    $out
  }
  $failed = $table.filter |$r| { $r['outcome'] == 'failed' }
  $lines = $table.map |$r| {
    $who = $r['certname'] ? { String => $r['certname'], default => $r['target'] }
    $kind = $r['kind'] ? { String => $r['kind'], default => '-' }
    sprintf('%-30s %-8s %-34s %s', $who, $r['outcome'], $kind, $r['next_step'])
  }
  out::message(([sprintf('%-30s %-8s %-34s %s', 'certname', 'outcome', 'error kind', 'next step')] + $lines).join("\n"))
  $count = ['ok', 'skipped', 'failed'].map |$o| { "${table.filter |$r| { $r['outcome'] == $o }.length} ${o}" }
  out::message("cert_regen: ${count.join(', ')}")

  if $fail_on_error and !$failed.empty {
    fail_plan("${failed.length} of ${table.length} agent(s) failed: ${failed.map |$r| { $r['target'] }.join(', ')}",
    'cert_regen/agents-failed', { 'agents' => $table })
  }
  return $table
}
