# @summary Regenerate the certificates of compile servers, then prove each one serves catalogs again.
#
# Runs `cert_regen::regenerate_agents` on the compilers with `force=true`,
# puppetserver among the services stopped around the swap, and each
# compiler's names carried over (the CA must allow subject alt names). Then
# `cert_regen::check_server` from `verify_with` (default: each compiler
# itself) against each compiler at its target var `cert_regen_server`
# (default: its certname) and `cert_regen_port` (default 8140): it must
# present its new certificate and compile a catalog. Details: docs/plans.md.
#
# @param targets
#   The compile servers.
# @param ca
#   The CA host (one target).
# @param dns_alt_names
#   Names for every compiler's new certificate. When not given: each keeps its own.
# @param services
#   Services stopped and started around the swap on each compiler.
# @param batch_size
#   Compilers handled together (each one stops serving while it swaps).
# @param verify_with
#   Agents that check each compiler afterwards. When not given: the compilers.
# @param fail_on_error
#   Fail the plan (`cert_regen/compilers-failed`) when a compiler failed.
#
# @return [Array[Hash]]
#   One row per compiler: `target`, `certname`, `outcome`, `step`, `kind`,
#   `message`, `next_step`, `fingerprint_sha256`, `checked_by`.
#
# @example Two compilers, checked from an agent that uses them
#   bolt plan run cert_regen::regenerate_compiler targets=compile1,compile2 ca=puppet.example.com verify_with=agent1
plan cert_regen::regenerate_compiler(
  TargetSpec $targets,
  TargetSpec $ca,
  Optional[Array[String[1]]] $dns_alt_names = undef,
  Array[Pattern[/\A[a-zA-Z0-9@._-]+\z/]] $services = ['puppet', 'pxp-agent', 'mcollective', 'puppetserver', 'pe-puppetserver'],
  Integer[1] $batch_size = 1,
  Optional[TargetSpec] $verify_with = undef,
  Boolean $fail_on_error = true,
) {
  $compilers = get_targets($targets)
  $table = run_plan('cert_regen::regenerate_agents', {
      'targets'       => $compilers,
      'ca'            => $ca,
      'force'         => true,
      'batch_size'    => $batch_size,
      'dns_alt_names' => $dns_alt_names,
      'services'      => $services,
      'fail_on_error' => false,
  }.filter |$k, $v| { $v =~ NotUndef })

  $by_name = $compilers.reduce({}) |$m, $t| { $m + { $t.name => $t } }
  $confdir_of = $compilers.reduce({}) |$m, $t| {
    $m + { $t.name => cert_regen::confdir_param($t.vars) }
  }
  $checkers = $verify_with ? { Undef => undef, default => get_targets($verify_with) }

  $rows = $table.map |$row| {
    if $row['outcome'] != 'ok' {
      $again = "run cert_regen::regenerate_compiler again for ${row['target']}"
      $row + {
        'next_step' => $row['kind'] ? {
          /\Acert_regen\/(sign|csr)-refused\z/ => [
            "set allow-subject-alt-names: true in puppetserver's ca.conf on the CA (then HUP or restart it), then ${again}:",
            $row['revoked_on_ca'] ? {
              true    => 'its old certificate is already revoked on the CA, so finish the regeneration (it resumes with the staged key)',
              default => 'the compiler kept its certificate',
            },
          ].join(' '),
          default                   => $row['next_step'],
        },
      }
    } else {
      $t = $by_name[$row['target']]
      $st = run_task('cert_regen::status', $t, $confdir_of[$t.name] + { '_catch_errors' => true }).first
      $fp = $st.ok ? { true => $st.value.dig('hostcert', 'fingerprint_sha256'), default => undef }
      $host = $t.vars['cert_regen_server'] ? { String[1] => $t.vars['cert_regen_server'], default => $row['certname'] }
      $port = $t.vars['cert_regen_port'] ? { Integer => $t.vars['cert_regen_port'], default => 8140 }
      $who = $checkers ? { Undef => [$t], default => $checkers }
      $checks = $who.map |$c| {
        $cconf = cert_regen::confdir_param($c.vars)
        run_task('cert_regen::check_server', $c, $cconf + {
            'server'             => $host,
            'port'               => $port,
            'expect_fingerprint' => $fp,
            '_catch_errors'      => true,
        }.filter |$k, $v| { $v =~ NotUndef }).first
      }
      $bad = $checks.filter |$c| { !$c.ok }
      if $bad.empty {
        $row + { 'step' => 'check_server', 'fingerprint_sha256' => $fp, 'checked_by' => $who.map |$c| { $c.name } }
      } else {
        $row + {
          'outcome'            => 'failed',
          'step'               => 'check_server',
          'kind'               => $bad[0].error.kind,
          'message'            => "${bad[0].target.name}: ${bad[0].error.message}",
          'next_step'          => [
            "the compiler has its new certificate but does not serve ${bad[0].target.name}: look at its puppetserver log",
            "and fix the server, then run cert_regen::check_server from ${bad[0].target.name} again",
            '(its old certificate is revoked on the CA, so restoring a backup cannot help)',
          ].join(' '),
          'fingerprint_sha256' => $fp,
          'checked_by'         => $who.map |$c| { $c.name },
        }
      }
    }
  }
  out::message(cert_regen::table($rows, 'compiler'))
  $failed = $rows.filter |$row| { $row['outcome'] == 'failed' }
  if $fail_on_error and !$failed.empty {
    fail_plan("${failed.length} of ${rows.length} compiler(s) failed: ${failed.map |$row| { $row['target'] }.join(', ')}",
    'cert_regen/compilers-failed', { 'compilers' => $rows })
  }
  return $rows
}
