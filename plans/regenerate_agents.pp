# @summary Regenerate the Puppet certificates of many agents: check, stage, clean on the CA, sign, install, check again.
#
# Checks every agent (`cert_regen::status`) and the CA (`cert_regen::ca_list`),
# then regenerates only the agents a new certificate helps: host certificate
# missing, expired, expiring (when a new one would end after `warn_days`),
# revoked, not matching its key, untrusted, weak, no longer held by the CA,
# or names/extensions asked to change; or all of them with `force`. A CA
# certificate or CRL near its end is reported with its own next step and
# regenerates nothing. Per batch, the key and CSR are staged on the agents
# before the CA cleans anything; the CA signs only the CSRs the agents
# staged; each agent then installs its certificate and must run with exactly
# the one the CA signed. Prints a table (target, outcome, step, kind,
# message, next step) and returns it. Details: docs/plans.md.
#
# @param targets
#   The agents. Not needed with `select`; with it, only the agents the
#   query selects among these.
# @param select
#   Select the agents from PuppetDB instead of (or among) a list: the
#   active nodes whose cert_regen fact matches (Cert_regen::Fleet_select:
#   `expiring_within_days`, `health`, `hostcert_health`; see
#   cert_regen::report), each taken as a target of its certname. The plan
#   still checks each one itself before regenerating it.
# @param ca
#   The CA host (one target), where the CA tasks run with its own certificate.
# @param force
#   Regenerate agents whose certificate needs nothing too.
# @param batch_size
#   Agents cleaned, signed and installed together.
# @param warn_days
#   A host certificate that ends within this many days is renewed (and a CA
#   certificate or CRL that does is reported).
# @param ca_server
#   CA host name the agents use. When not given: each agent's setting.
# @param ca_port
#   CA port the agents use. When not given: each agent's setting.
# @param dns_alt_names
#   Subject alternative names for every agent's new certificate. When not given:
#   each agent keeps its own.
# @param extension_requests
#   Certificate extensions for every agent. When not given: each agent's own.
# @param key_type
#   rsa or ec. When not given: each agent's key_type setting.
# @param key_size
#   RSA key size. When not given: each agent's keylength setting.
# @param curve
#   EC curve. When not given: each agent's named_curve setting.
# @param ca_fingerprint
#   SHA-256 fingerprint of a new CA the agents are to trust (after
#   cert_regen::rebuild_ca). When not given: the CA the agents trust today.
# @param wait_for_cert
#   Seconds each agent waits for its CSR to be signed before the plan signs it.
# @param backup
#   Back up each ssldir before the swap.
# @param backup_dir
#   Where the backups go. When not given: `<ssldir>_bak` on each agent.
# @param services
#   Services stopped (when running) around the swap and started again.
# @param remove_cached_catalog
#   Remove each agent's cached catalog.
# @param run_puppet
#   Run `puppet agent -t` on each agent after the swap.
# @param lock_timeout
#   Seconds to wait for a running puppet agent to release its locks.
# @param fail_on_error
#   Fail the plan (`cert_regen/agents-failed`, the table in the details)
#   when an agent failed.
#
# @return [Array[Hash]]
#   One row per target: `target`, `certname`, `outcome` (ok, skipped or
#   failed), `step`, `kind`, `message`, `next_step`, `revoked_on_ca`, `health`.
#
# @example Regenerate the agents that need it, 20 at a time
#   bolt plan run cert_regen::regenerate_agents targets=agents ca=puppet.example.com batch_size=20
# @example Regenerate every node whose certificate ends within 30 days, as PuppetDB knows them
#   bolt plan run cert_regen::regenerate_agents ca=puppet.example.com 'select={"expiring_within_days": 30}'
plan cert_regen::regenerate_agents(
  Optional[TargetSpec] $targets = undef,
  TargetSpec $ca,
  Optional[Cert_regen::Fleet_select] $select = undef,
  Boolean $force = false,
  Integer[1] $batch_size = 10,
  Integer[0, 3650] $warn_days = 30,
  Optional[String[1]] $ca_server = undef,
  Optional[Integer[1, 65535]] $ca_port = undef,
  Optional[Array[String[1]]] $dns_alt_names = undef,
  Optional[Hash[String[1], String[1]]] $extension_requests = undef,
  Optional[Enum['rsa', 'ec']] $key_type = undef,
  Optional[Integer[2048, 16384]] $key_size = undef,
  Optional[String[1]] $curve = undef,
  Optional[Pattern[/\A(SHA256:|\(SHA256\) )?([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}\z/]] $ca_fingerprint = undef,
  Integer[0, 3600] $wait_for_cert = 0,
  Boolean $backup = true,
  Optional[Pattern[/\A\//]] $backup_dir = undef,
  Array[Pattern[/\A[a-zA-Z0-9@._-]+\z/]] $services = ['puppet', 'mcollective', 'pxp-agent'],
  Boolean $remove_cached_catalog = true,
  Boolean $run_puppet = false,
  Integer[0, 86400] $lock_timeout = 300,
  Boolean $fail_on_error = true,
) {
  if $targets =~ Undef and $select =~ Undef {
    fail_plan('name the agents in targets=, or select them from PuppetDB with select=. Next step: give one of them',
    'cert_regen/invalid-parameter')
  }
  $agents = $select ? {
    Undef   => get_targets($targets),
    default => cert_regen::fleet_pick(cert_regen::fleet_rows(puppetdb_query(cert_regen::fleet_query($select)), $select),
      $targets ? { Undef => undef, default => get_targets($targets).map |$t| { $t.name } }).map |$n| { get_target($n) },
  }
  if $select =~ NotUndef {
    out::message("cert_regen: PuppetDB selected ${agents.length} agent(s) by ${select}")
  }
  $ca_targets = get_targets($ca)
  if $ca_targets.length != 1 {
    fail_plan("ca must name exactly one target, not ${ca_targets.length}. Next step: name the CA host alone in ca=",
    'cert_regen/invalid-parameter')
  }
  $ca_target = $ca_targets[0]
  $ca_conf = cert_regen::confdir_param($ca_target.vars)
  $status_params = { 'warn_days' => $warn_days }
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
  $rerun = "run cert_regen::regenerate_agents again for it (ca=${ca_target.name}, the same parameters)"
  $ctx = { 'ca' => $ca_target.name, 'rerun' => $rerun }

  # --- check first: every agent's status, and what the CA holds ----------
  $status = run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::status', 'targets' => $agents, 'params' => $status_params)
  $ca_list = run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::ca_list', 'targets' => $ca_target,
  'params' => $ca_conf + { 'state' => 'all' })[$ca_target.name]
  unless $ca_list['ok'] {
    fail_plan("nothing was changed: cert_regen::ca_list on ${ca_target.name} failed (${ca_list['kind']}): ${ca_list['msg']}",
    'cert_regen/ca-check-failed', { 'ca' => $ca_target.name, 'error' => $ca_list })
  }
  $on_ca = $ca_list['value']['certificates'].reduce({}) |$m, $c| { $m + { $c['name'] => $c } }
  $opts = { 'force' => $force, 'dns_alt_names' => $dns_alt_names, 'extension_requests' => $extension_requests }

  $checked = $agents.map |$t| {
    $a = $status[$t.name]
    if !$a['ok'] {
      cert_regen::row($t.name, $a, $ctx + { 'task' => 'status' }) + { 'target' => $t.name }
    } else {
      $s = $a['value']
      $d = cert_regen::select($s, $on_ca[$s['certname']], $opts)
      $c = $d['ca_condition']
      $row = {
        'target'        => $t.name,
        'certname'      => $s['certname'],
        'health'        => $s['health'],
        'revoked_on_ca' => false,
        'ca_condition'  => $c,
      }
      if $d['regenerate'] {
        $row + { 'outcome' => 'todo', 'reasons' => $d['reasons'] }
      } else {
        $row + {
          'outcome'   => 'skipped',
          'step'      => 'status',
          'kind'      => $c ? { Hash => $c['kind'], default => undef },
          'message'   => [$d['note'], $c ? { Hash => $c['message'], default => undef }].filter |$x| { $x =~ String }.join('; '),
          'next_step' => $c ? {
            Hash    => $c['next_step'],
            default => $d['note'] ? {
              String  => 'lower warn_days, or force=true to regenerate it anyway',
              default => 'none: its certificate needs nothing (force=true regenerates it anyway)',
            },
          },
        }
      }
    }
  }
  $todo = $checked.filter |$row| { $row['outcome'] == 'todo' }
  $by_name = $agents.reduce({}) |$m, $t| { $m + { $t.name => $t } }
  out::message("cert_regen: ${agents.length} agent(s) checked, ${todo.length} to regenerate in batches of ${batch_size}")
  $todo.each |$row| { out::message("cert_regen: ${row['target']}: ${row['reasons'].join('; ')}") }

  # --- per batch: stage, clean, submit, sign, install, check --------------
  $batch_rows = $todo.slice($batch_size).map |$bi, $batch| {
    out::message("cert_regen: batch ${$bi + 1}: ${batch.map |$row| { $row['target'] }.join(', ')}")
    run_plan('cert_regen::util::regenerate_batch', {
        'targets'       => $batch.map |$row| { $by_name[$row['target']] },
        'certnames'     => $batch.reduce({}) |$m, $row| { $m + { $row['target'] => $row['certname'] } },
        'ca'            => $ca_target,
        'regen_params'  => $regen_params,
        'status_params' => $status_params,
        'rerun'         => $rerun,
    })
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
  out::message(cert_regen::table($table))
  $conditions = $checked.map |$row| { $row['ca_condition'] }.filter |$c| { $c =~ Hash }.unique
  $conditions.each |$c| {
    out::message("cert_regen: ${c['kind']}: ${c['message']}. Next step: ${c['next_step']}")
  }
  $failed = $table.filter |$r| { $r['outcome'] == 'failed' }
  $count = ['ok', 'skipped', 'failed'].map |$o| { "${table.filter |$r| { $r['outcome'] == $o }.length} ${o}" }
  out::message("cert_regen: ${count.join(', ')}")

  if $fail_on_error and !$failed.empty {
    fail_plan("${failed.length} of ${table.length} agent(s) failed: ${failed.map |$r| { $r['target'] }.join(', ')}; see the table",
    'cert_regen/agents-failed', { 'agents' => $table })
  }
  return $table
}
