# @summary Regenerate the primary's (the CA host's) own certificate, then prove that existing agents still trust it and get catalogs.
#
# Puppet's documented procedure ("regenerating certs for the Puppet
# master") is: back up the ssl directories, stop the Puppet services,
# clean the primary's certificate, remove the cached catalog, generate a
# new certificate with the same `dns_alt_names`, start the services. This
# plan runs `cert_regen::primary_cert` on the primary, which does all of it
# with these guarantees:
#
# 1. the services in `services` that run are stopped (and only those are
#    started again); nothing may answer on the CA port afterwards;
# 2. the ssldir AND the cadir are copied and the copies verified before
#    anything changes (`<ssldir>_bak/<UTC>`, `<cadir>_bak/<UTC>`);
# 3. the new directories are built beside the live ones: the old
#    certificate revoked in the CA's CRL (`revoke_old`), the new one made by
#    `puppetserver ca generate --ca-client` with the old names (or
#    `dns_alt_names`), `pp_*` extensions and `pp_cli_auth`, then verified;
# 4. cadir and ssldir are exchanged atomically (journaled), the services
#    started, and the server must answer over TLS with the new certificate.
#
# Then, when `agents` is given, `cert_regen::check_server` runs on them: each
# agent connects with its own certificate to the primary (its target var
# `cert_regen_server`, default its certname; port `cert_regen_port`,
# default 8140), checks that the primary presents
# the new certificate (fingerprint) and that it chains to the agent's CA
# bundle and CRLs, and asks for its catalog. That is the proof the procedure
# asks for: existing agents still run.
#
# On failure: the error's `next_step` says what to do. Running the plan (or
# the task) again resumes a run that stopped half-way (the journal knows
# where it was); `cert_regen::primary_restore` puts the backups back.
#
# @param primary
#   The primary (exactly one target). Its target var `cert_regen_confdir`,
#   when set, is passed to the task as `confdir`.
# @param agents
#   Agents that check the primary afterwards (their own identity, a catalog
#   each). A target var `cert_regen_confdir` is passed as `confdir`.
# @param dns_alt_names
#   Names of the new certificate. Default: those of the current one.
# @param services
#   Services stopped and started on the primary. Default: the task's
#   (puppet, pxp-agent, mcollective, puppetserver).
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
  $p_conf = $p.vars['cert_regen_confdir'] ? {
    String[1] => { 'confdir' => $p.vars['cert_regen_confdir'] },
    default   => {},
  }
  $params = {
    'dns_alt_names' => $dns_alt_names,
    'services'      => $services,
    'revoke_old'    => $revoke_old,
  }.filter |$k, $v| { $v =~ NotUndef }

  $r = run_task('cert_regen::primary_cert', $p, $p_conf + $params + { '_catch_errors' => true }).first
  unless $r.ok {
    $d = $r.error.details ? { Hash => $r.error.details, default => {} }
    $msg = "cert_regen::primary_cert on ${p.name} failed (${r.error.kind}): ${r.error.message}"
    fail_plan("${msg}; the live identity is ${d['live']}; next: ${d['next_step']}", $r.error.kind, {
        'primary' => $p.name,
        'details' => $d,
    })
  }
  $new = "serial ${r['old']['serial']} -> ${r['new']['serial']}, ${r['new']['fingerprint_sha256']}"
  out::message("cert_regen: ${p.name}: ${new}; backups ${r['backup']['ssldir']} ${r['backup']['cadir']}")

  $checkers = $agents ? { Undef => [], default => get_targets($agents) }
  $rows = $checkers.group_by |$t| {
    $t.vars['cert_regen_confdir'] ? { String[1] => $t.vars['cert_regen_confdir'], default => '' }
  }.map |$cd, $group| {
    $conf = $cd ? { '' => {}, default => { 'confdir' => $cd } }
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
        'next_step'         => 'none',
        'catalog_resources' => $c.value.dig('catalog', 'resources'),
      }
      $ok_row
    } else {
      $cd = $c.error.details ? { Hash => $c.error.details, default => {} }
      $failed_row = {
        'target'    => $c.target.name,
        'outcome'   => 'failed',
        'kind'      => $c.error.kind,
        'message'   => $c.error.message,
        'next_step' => $cd['next_step'] ? { String[1] => $cd['next_step'], default => 'look at the agent and the server log' },
      }
      $failed_row
    }
  }
  unless $rows.empty {
    $lines = $rows.map |$row| {
      $kind = $row['kind'] ? { String => $row['kind'], default => '-' }
      sprintf('%-30s %-8s %-34s %s', $row['target'], $row['outcome'], $kind, $row['next_step'])
    }
    out::message(([sprintf('%-30s %-8s %-34s %s', 'agent', 'outcome', 'error kind', 'next step')] + $lines).join("\n"))
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
