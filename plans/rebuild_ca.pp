# @summary Replace the whole Puppet CA, then move every agent to the new CA with its fingerprint pinned.
#
# Without `confirm=true` it shows what `cert_regen::ca_rebuild` would do and
# changes nothing. With it: the primary's ssldir and cadir are backed up and
# verified, a new CA and the primary's certificate are made and swapped in
# (`cert_regen::ca_rebuild`), then every agent in `agents` gets a certificate
# from the new CA through `cert_regen::regenerate_agents` with the new
# root's fingerprint pinned, and checks the primary with
# `cert_regen::check_server`. Agents the old CA had signed but `agents` does
# not name are listed with the command that moves them. Never run it again
# to fix an agent: a rerun makes yet another CA. Details: docs/plans.md.
#
# @param primary
#   The primary, the CA host (one target).
# @param agents
#   Every agent that must move to the new CA (compilers included).
# @param confirm
#   Must be true to change anything.
# @param dns_alt_names
#   Names of the primary's new certificate. When not given: those of the current one.
# @param ca_name
#   Name of the new intermediate CA. When not given: `Puppet CA: <certname>`.
# @param services
#   Services stopped and started on the primary. When not given: puppet, pxp-agent,
#   mcollective, puppetserver.
# @param agent_services
#   Services stopped and started on the agents.
# @param batch_size
#   Agents handled together.
# @param fail_on_error
#   Fail the plan (`cert_regen/agents-failed`) when an agent failed.
#
# @return [Hash]
#   `old_ca` and `new_ca` (fingerprints), `ca_fingerprint` (the pin),
#   `primary` (the task's result), `agents` (one row per agent),
#   `left_out` (certnames the old CA signed that were not moved),
#   `move_command` (the command that moves the failed and left-out agents).
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
  Array[Pattern[/\A[a-zA-Z0-9@._-]+\z/]] $agent_services = ['puppet', 'mcollective', 'pxp-agent'],
  Integer[1] $batch_size = 10,
  Boolean $fail_on_error = true,
) {
  $primaries = get_targets($primary)
  if $primaries.length != 1 {
    fail_plan("primary must name exactly one target, not ${primaries.length}. Next step: name the primary alone in primary=",
    'cert_regen/invalid-parameter')
  }
  $p = $primaries[0]
  $p_conf = cert_regen::confdir_param($p.vars)
  $params = {
    'dns_alt_names' => $dns_alt_names,
    'ca_name'       => $ca_name,
    'services'      => $services,
  }.filter |$k, $v| { $v =~ NotUndef }
  $agent_targets = get_targets($agents)

  # What the old CA signed, to name the agents this run leaves behind.
  $old_list = run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::ca_list', 'targets' => $p,
  'params' => $p_conf + { 'state' => 'signed' })[$p.name]
  $old_certs = $old_list['ok'] ? { true => $old_list['value']['certificates'], default => undef }

  unless $confirm {
    $n = run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::ca_rebuild', 'targets' => $p,
    'params' => $p_conf + $params + { '_noop' => true })[$p.name]
    $report = $n['ok'] ? { true => $n['value'], default => { 'error' => $n['kind'], 'message' => $n['msg'] } }
    $lines = cert_regen::report_lines($report)
    out::message("cert_regen: dry run of cert_regen::ca_rebuild on ${p.name} (nothing was changed):\n${lines}")
    $signed = $old_certs ? { Array => "; the current CA has ${old_certs.length} signed certificate(s)", default => '' }
    $msg = "a CA rebuild invalidates every certificate the current CA issued; nothing was changed${signed}"
    $next = "run again with confirm=true to rebuild the CA of ${p.name} and move ${agent_targets.length} agent(s) to it"
    fail_plan("${msg}. Next step: ${next}", 'cert_regen/not-confirmed', { 'dry_run' => $report })
  }

  $rb = run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::ca_rebuild', 'targets' => $p,
  'params' => $p_conf + $params + { 'confirm' => true })[$p.name]
  unless $rb['ok'] {
    $d = $rb['details']
    $msg = "cert_regen::ca_rebuild on ${p.name} failed (${rb['kind']}): ${cert_regen::short_message($rb['msg'], 2000)}"
    fail_plan("${msg}; the live CA is ${d['live']}; next step: ${d['next_step']}", $rb['kind'], { 'primary' => $p.name, 'details' => $d })
  }
  $v = $rb['value']
  $old_ca = $v['old_ca'].map |$c| { $c['fingerprint_sha256'] }
  $new_fp = $v['new_ca']['root_fingerprint_sha256']
  $backups = "${v['backup']['ssldir']} ${v['backup']['cadir']}"
  out::message("cert_regen: new CA on ${p.name}: root ${new_fp} (old: ${old_ca.join(', ')}); backups ${backups}")

  $table = run_plan('cert_regen::regenerate_agents', {
      'targets'        => $agent_targets,
      'ca'             => $p,
      'force'          => true,
      'batch_size'     => $batch_size,
      'ca_fingerprint' => $new_fp,
      'services'       => $agent_services,
      'fail_on_error'  => false,
  })

  $by_name = $agent_targets.reduce({}) |$m, $t| { $m + { $t.name => $t } }
  $ok_targets = $table.filter |$row| { $row['outcome'] == 'ok' }.map |$row| { $by_name[$row['target']] }
  $checks = $ok_targets.empty ? {
    true    => {},
    default => run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::check_server', 'targets' => $ok_targets, 'params' => {
        'server'             => $p.vars['cert_regen_server'] ? { String[1] => $p.vars['cert_regen_server'], default => $v['certname'] },
        'port'               => $p.vars['cert_regen_port'] ? { Integer => $p.vars['cert_regen_port'], default => 8140 },
        'expect_fingerprint' => $v['new']['fingerprint_sha256'],
    }),
  }

  $again = 'not cert_regen::rebuild_ca again, which would make yet another CA'
  $rows = $table.map |$row| {
    $c = $checks[$row['target']]
    $move = cert_regen::move_command([$row['target']], $p.name, $new_fp)
    if $c =~ Hash and !$c['ok'] {
      $row + {
        'outcome'   => 'failed',
        'step'      => 'check_server',
        'kind'      => $c['kind'],
        'message'   => $c['msg'],
        'next_step' => $c.dig('details', 'next_step') ? {
          String[1] => "it has a certificate of the new CA but cannot use the primary: ${c['details']['next_step']}",
          default   => 'it has a certificate of the new CA but cannot use the primary: run cert_regen::check_server on it',
        },
      }
    } elsif $row['outcome'] == 'failed' {
      $row + { 'next_step' => "fix what the message says, then move it with: ${move} (${again})" }
    } else {
      $row
    }
  }
  out::message(cert_regen::table($rows))

  $failed = $rows.filter |$row| { $row['outcome'] == 'failed' }
  $moved = $rows.map |$row| { [$row['target'], $row['certname']] }.flatten.filter |$x| { $x =~ String }
  $left_out = $old_certs ? {
    Array   => cert_regen::left_out($old_certs, $moved, $v['certname'] ? { String => $v['certname'], default => $p.name }),
    default => [],
  }
  $to_move = $failed.map |$row| { $row['target'] } + $left_out
  $command = $to_move.empty ? { true => undef, default => cert_regen::move_command($to_move, $p.name, $new_fp) }
  out::message("cert_regen: CA ${old_ca.join(', ')} -> ${new_fp}; ${rows.length - $failed.length} agent(s) moved, ${failed.length} failed")
  unless $left_out.empty {
    out::message([
        "cert_regen: ${left_out.length} certificate(s) of the old CA were not in agents: ${left_out.join(', ')}.",
        'Those nodes fail against the new CA until they are moved (target names assumed to be their certnames):',
        cert_regen::move_command($left_out, $p.name, $new_fp),
    ].join("\n"))
  }
  unless $old_certs =~ Array {
    out::message("cert_regen: the old CA's list could not be read (${old_list['kind']}): agents left out of agents= are not known")
  }
  $result = {
    'old_ca'         => $old_ca,
    'new_ca'         => $v['new_ca'],
    'ca_fingerprint' => $new_fp,
    'primary'        => $v,
    'agents'         => $rows,
    'left_out'       => $left_out,
    'move_command'   => $command,
  }
  if $fail_on_error and !$failed.empty {
    $names = $failed.map |$row| { $row['target'] }.join(', ')
    $next = "fix them, then move them with: ${command} (${again})"
    fail_plan("the new CA is live, but ${failed.length} agent(s) failed: ${names}. Next step: ${next}", 'cert_regen/agents-failed', $result)
  }
  return $result
}
