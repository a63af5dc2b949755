# @summary Replace the whole Puppet CA, then move every agent to the new CA with its fingerprint pinned.
#
# Puppet's documented procedure ("regenerating all certificates in a Puppet
# deployment") destroys the CA: back up the ssldir, stop the services,
# delete the ssldir, create a new CA and the primary's certificate, start,
# regenerate the certificates of extensions that use Puppet's CA, then the
# certificate of every agent. This plan does it so that nothing is lost:
#
# 1. Without `confirm=true` it only runs `cert_regen::ca_rebuild` in noop
#    mode, prints what would happen, and stops (`cert_regen/not-confirmed`).
# 2. `cert_regen::ca_rebuild` on the primary: services stopped, the ssldir
#    and the cadir copied and the copies verified (the only way back: the
#    task refuses to continue without them), a new root and intermediate CA
#    and the primary's certificate made by `puppetserver ca setup` in new
#    directories, exchanged atomically, services started, TLS checked. Its
#    result names the old and the new CA fingerprints and the backups.
# 3. Every agent in `agents` goes through `cert_regen::regenerate_agents`
#    with `ca_fingerprint` set to the new root's SHA-256 (agents cannot
#    trust the new CA by themselves: the task accepts the new CA bundle only
#    when it matches), `force=true`, CSRs signed by autosign or by
#    `cert_regen::ca_sign` on the primary with the fingerprints the agents
#    staged.
# 4. `cert_regen::check_server` on every regenerated agent against the
#    primary (target var `cert_regen_server`, default its certname; port
#    `cert_regen_port`, default 8140): the primary presents its new
#    certificate, and the agent gets a catalog.
#
# Extensions. PuppetDB uses the certificate of the host it runs on: put
# that host in `agents`, then on it run `puppetdb ssl-setup -f` and restart
# puppetdb (not automated here). Anything else that trusts Puppet's CA
# (MCollective, a load balancer, external node classifiers) needs the new
# `ca.pem` too.
#
# PE orchestrator (PCP): after step 2 pxp-agent's certificate no longer
# chains to the broker's CA, so agents cannot be reached over PCP. Run this
# plan with an SSH/WinRM (or local) inventory for the agents.
#
# Going back: `cert_regen::primary_restore` with the backups from the
# result puts the old CA and the old primary certificate back; agents
# already moved to the new CA then need `cert_regen::restore` (their own
# backups) or a regeneration.
#
# @param primary
#   The primary, the CA host (exactly one target; var `cert_regen_confdir`
#   is passed as `confdir`).
# @param agents
#   Every agent that must move to the new CA (compilers included; the
#   primary itself gets its certificate in step 2).
# @param confirm
#   Must be true to change anything.
# @param dns_alt_names
#   Names of the primary's new certificate. Default: those of the current.
# @param ca_name
#   Name of the new intermediate CA. Default: Puppet's (`Puppet CA: <certname>`).
# @param services
#   Services stopped and started on the primary. Default: the task's.
# @param agent_services
#   Services stopped and started on the agents. Default: the task's.
# @param batch_size
#   Agents handled together.
# @param fail_on_error
#   Fail the plan (`cert_regen/agents-failed`) when an agent failed.
#
# @return [Hash]
#   `old_ca` and `new_ca` (fingerprints), `ca_fingerprint` (what the agents
#   were pinned to), `primary` (the task's result), `agents` (one row per
#   agent: `target`, `certname`, `outcome`, `step`, `kind`, `message`,
#   `next_step`).
#
# @example See what a rebuild would do, then do it
#   bolt plan run cert_regen::rebuild_ca primary=puppet.example.com agents=all_agents
#   bolt plan run cert_regen::rebuild_ca primary=puppet.example.com agents=all_agents confirm=true
plan cert_regen::rebuild_ca(
  TargetSpec $primary,
  TargetSpec $agents,
  Boolean $confirm = false,
  Optional[Array[String[1]]] $dns_alt_names = undef,
  Optional[String[1]] $ca_name = undef,
  Optional[Array[Pattern[/\A[a-zA-Z0-9@._-]+\z/]]] $services = undef,
  Optional[Array[Pattern[/\A[a-zA-Z0-9@._-]+\z/]]] $agent_services = undef,
  Integer[1] $batch_size = 10,
  Boolean $fail_on_error = true,
) {
  $primaries = get_targets($primary)
  if $primaries.length != 1 {
    fail_plan("primary must name exactly one target, not ${primaries.length}", 'cert_regen/invalid-parameter')
  }
  $p = $primaries[0]
  $p_conf = $p.vars['cert_regen_confdir'] ? {
    String[1] => { 'confdir' => $p.vars['cert_regen_confdir'] },
    default   => {},
  }
  $params = {
    'dns_alt_names' => $dns_alt_names,
    'ca_name'       => $ca_name,
    'services'      => $services,
  }.filter |$k, $v| { $v =~ NotUndef }

  unless $confirm {
    $n = run_task('cert_regen::ca_rebuild', $p, $p_conf + $params + { '_noop' => true, '_catch_errors' => true }).first
    $report = $n.ok ? { true => $n.value, default => { 'error' => $n.error.message } }
    out::message("cert_regen: dry run on ${p.name}: ${report}")
    $count = get_targets($agents).length
    $msg = 'a CA rebuild invalidates every certificate the current CA issued; nothing was changed'
    fail_plan("${msg}. Run again with confirm=true to rebuild the CA of ${p.name} and move ${count} agent(s) to it",
    'cert_regen/not-confirmed', { 'dry_run' => $report })
  }

  $rb = run_task('cert_regen::ca_rebuild', $p, $p_conf + $params + { 'confirm' => true, '_catch_errors' => true }).first
  unless $rb.ok {
    $d = $rb.error.details ? { Hash => $rb.error.details, default => {} }
    $msg = "cert_regen::ca_rebuild on ${p.name} failed (${rb.error.kind}): ${rb.error.message}"
    fail_plan("${msg}; the live CA is ${d['live']}; next: ${d['next_step']}", $rb.error.kind, { 'primary' => $p.name, 'details' => $d })
  }
  $old_ca = $rb['old_ca'].map |$c| { $c['fingerprint_sha256'] }
  $new_fp = $rb['new_ca']['root_fingerprint_sha256']
  $backups = "${rb['backup']['ssldir']} ${rb['backup']['cadir']}"
  out::message("cert_regen: new CA on ${p.name}: root ${new_fp} (old: ${old_ca.join(', ')}); backups ${backups}")

  $table = run_plan('cert_regen::regenerate_agents', {
      'targets'        => $agents,
      'ca'             => $p,
      'force'          => true,
      'batch_size'     => $batch_size,
      'ca_fingerprint' => $new_fp,
      'services'       => $agent_services,
      'fail_on_error'  => false,
  }.filter |$k, $v| { $v =~ NotUndef })

  $by_name = get_targets($agents).reduce({}) |$m, $t| { $m + { $t.name => $t } }
  $ok_targets = $table.filter |$row| { $row['outcome'] == 'ok' }.map |$row| { $by_name[$row['target']] }
  $checks = $ok_targets.group_by |$t| {
    $t.vars['cert_regen_confdir'] ? { String[1] => $t.vars['cert_regen_confdir'], default => '' }
  }.map |$cd, $group| {
    $conf = $cd ? { '' => {}, default => { 'confdir' => $cd } }
    run_task('cert_regen::check_server', $group, $conf + {
        'server'             => $p.vars['cert_regen_server'] ? { String[1] => $p.vars['cert_regen_server'], default => $rb['certname'] },
        'port'               => $p.vars['cert_regen_port'] ? { Integer => $p.vars['cert_regen_port'], default => 8140 },
        'expect_fingerprint' => $rb['new']['fingerprint_sha256'],
        '_catch_errors'      => true,
    }).results
  }.flatten.reduce({}) |$m, $c| { $m + { $c.target.name => $c } }

  $rows = $table.map |$row| {
    $c = $checks[$row['target']]
    if $c =~ NotUndef and !$c.ok {
      $row + {
        'outcome'   => 'failed',
        'step'      => 'check_server',
        'kind'      => $c.error.kind,
        'message'   => $c.error.message,
        'next_step' => 'it has a certificate of the new CA but cannot use the primary: run cert_regen::check_server on it',
      }
    } else {
      $row
    }
  }
  $lines = $rows.map |$row| {
    $who = $row['certname'] ? { String => $row['certname'], default => $row['target'] }
    $kind = $row['kind'] ? { String => $row['kind'], default => '-' }
    sprintf('%-30s %-8s %-34s %s', $who, $row['outcome'], $kind, $row['next_step'])
  }
  out::message(([sprintf('%-30s %-8s %-34s %s', 'certname', 'outcome', 'error kind', 'next step')] + $lines).join("\n"))
  $failed = $rows.filter |$row| { $row['outcome'] == 'failed' }
  out::message("cert_regen: CA ${old_ca.join(', ')} -> ${new_fp}; ${rows.length - $failed.length} agent(s) moved, ${failed.length} failed")
  $result = {
    'old_ca'         => $old_ca,
    'new_ca'         => $rb['new_ca'],
    'ca_fingerprint' => $new_fp,
    'primary'        => $rb.value,
    'agents'         => $rows,
  }
  if $fail_on_error and !$failed.empty {
    $names = $failed.map |$row| { $row['target'] }.join(', ')
    $again = "cert_regen::regenerate_agents ca_fingerprint=${new_fp} force=true"
    fail_plan("the new CA is live, but ${failed.length} agent(s) failed: ${names}; move them with ${again} (not this plan again)",
    'cert_regen/agents-failed', $result)
  }
  return $result
}
