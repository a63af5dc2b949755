# @summary Regenerate the primary's (the CA host's) own certificate, then prove that existing agents still trust it and get catalogs.
#
# Runs `cert_regen::primary_cert` on the primary: services stopped, ssldir
# and cadir backed up and verified, the old certificate revoked, a new one
# from the same CA with the same names and extensions built beside the live
# directories and swapped in atomically, services started, TLS checked.
# Then `cert_regen::check_server` on `agents`: each must trust the new
# certificate and get its catalog. Rerunning resumes a run that stopped
# half-way; `cert_regen::primary_restore` puts the backups back. Details:
# docs/plans.md.
#
# @param primary
#   The primary (exactly one target). Its target var `cert_regen_confdir`,
#   when set, is passed to the task as `confdir`.
# @param agents
#   Agents that check the primary afterwards (their own identity, a catalog
#   each). A target var `cert_regen_confdir` is passed as `confdir`.
# @param dns_alt_names
#   Names of the new certificate. When not given: those of the current one.
# @param services
#   Services stopped and started on the primary. When not given: puppet, pxp-agent,
#   mcollective, puppetserver.
# @param revoke_old
#   Revoke the old certificate in the CA's CRL.
# @param fail_on_error
#   Fail the plan (`cert_regen/agents-failed`) when an agent's check failed.
#
# @return [Hash]
#   `primary`: the task's result (old and new certificate, backups,
#   services, server check); `agents`: one row per agent (`target`,
#   `outcome` ok/failed, `kind`, `message`, `next_step`, `catalog_resources`).
#
# @example New certificate for the primary, then a check from two agents
#   bolt plan run cert_regen::regenerate_primary primary=puppet.example.com agents=agent1,agent2
plan cert_regen::regenerate_primary(
  TargetSpec $primary,
  Optional[TargetSpec] $agents = undef,
  Optional[Array[String[1]]] $dns_alt_names = undef,
  Optional[Array[Pattern[/\A[a-zA-Z0-9@._-]+\z/]]] $services = undef,
  Boolean $revoke_old = true,
  Boolean $fail_on_error = true,
) {
  $primaries = get_targets($primary)
  if $primaries.length != 1 {
    fail_plan("primary must name exactly one target, not ${primaries.length}", 'cert_regen/invalid-parameter')
  }
  $p = $primaries[0]
  $p_conf = cert_regen::confdir_param($p.vars)
  $params = {
    'dns_alt_names' => $dns_alt_names,
    'services'      => $services,
    'revoke_old'    => $revoke_old,
  }.filter |$k, $v| { $v =~ NotUndef }

  $r = run_task('cert_regen::primary_cert', $p, $p_conf + $params + { '_catch_errors' => true }).first
  unless $r.ok {
    $d = $r.error.details ? { Hash => $r.error.details, default => {} }
    $msg = "cert_regen::primary_cert on ${p.name} failed (${r.error.kind}): ${cert_regen::short_message($r.error.message, 2000)}"
    fail_plan("${msg}; the live identity is ${d['live']}; next step: ${d['next_step']}", $r.error.kind, {
        'primary' => $p.name,
        'details' => $d,
    })
  }
  $new = "serial ${r['old']['serial']} -> ${r['new']['serial']}, ${r['new']['fingerprint_sha256']}"
  out::message("cert_regen: ${p.name}: ${new}; backups ${r['backup']['ssldir']} ${r['backup']['cadir']}")

  $checkers = $agents ? { Undef => [], default => get_targets($agents) }
  $rows = $checkers.group_by |$t| { cert_regen::confdir_param($t.vars) }.map |$conf, $group| {
    run_task('cert_regen::check_server', $group, $conf + {
        'server'             => $p.vars['cert_regen_server'] ? { String[1] => $p.vars['cert_regen_server'], default => $r['certname'] },
        'port'               => $p.vars['cert_regen_port'] ? { Integer => $p.vars['cert_regen_port'], default => 8140 },
        'expect_fingerprint' => $r['new']['fingerprint_sha256'],
        '_catch_errors'      => true,
    }).results
  }.flatten.map |$c| {
    if $c.ok {
      $ok_row = {
        'target'            => $c.target.name,
        'outcome'           => 'ok',
        'step'              => 'check_server',
        'next_step'         => 'none',
        'catalog_resources' => $c.value.dig('catalog', 'resources'),
      }
      $ok_row
    } else {
      $cd = $c.error.details ? { Hash => $c.error.details, default => {} }
      $failed_row = {
        'target'    => $c.target.name,
        'outcome'   => 'failed',
        'step'      => 'check_server',
        'kind'      => $c.error.kind,
        'message'   => $c.error.message,
        'next_step' => $cd['next_step'] ? { String[1] => $cd['next_step'], default => 'look at the agent and the server log' },
      }
      $failed_row
    }
  }
  unless $rows.empty {
    out::message(cert_regen::table($rows, 'agent'))
  }
  $failed = $rows.filter |$row| { $row['outcome'] == 'failed' }
  $result = { 'primary' => $r.value, 'agents' => $rows }
  if $fail_on_error and !$failed.empty {
    $names = $failed.map |$row| { $row['target'] }.join(', ')
    fail_plan("the primary has its new certificate, but ${failed.length} agent check(s) failed: ${names}",
    'cert_regen/agents-failed', $result)
  }
  return $result
}
