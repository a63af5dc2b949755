# @summary Regenerate the certificates of compile servers, then prove each one serves catalogs again.
#
# Puppet's documented procedure ("regenerating a compile master
# certificate"): clean the compiler's certificate on the CA, back up its
# ssldir, stop the agent, puppetserver and pxp-agent services, delete the
# ssldir and the cached catalog, start the services, sign the new request
# with alt names allowed, run Puppet. This plan runs the same steps through
# `cert_regen::regenerate_agents` (see there: the key and CSR are staged
# before anything is revoked, the CA cleans exactly those, CSRs are signed
# only with the fingerprints the compilers staged, each compiler installs
# its certificate with a verified backup and an atomic swap), with:
#
# - `services` including puppetserver, so the task stops it before the
#   swap and starts it after (a compiler must not serve with half an
#   identity), and exactly the services that ran are started again;
# - `dns_alt_names` carried over from each compiler's current certificate
#   (or replaced by the parameter): the names agents use to reach it. The
#   CA must allow subject alt names (`allow-subject-alt-names: true` in
#   puppetserver's ca.conf) to sign them; otherwise the row fails with
#   `cert_regen/sign-refused`, nothing is installed, and the message says so;
# - `force`: healthy compilers are regenerated too (that is why you run it).
#
# Then the proof: `cert_regen::status` on each compiler for its new
# fingerprint, and `cert_regen::check_server` from `verify_with` (agents
# that use the compilers; default: each compiler checks itself) against
# each compiler: the compiler presents the new certificate, it chains to the
# agent's CA bundle and CRLs, and it compiles the agent's catalog.
#
# A compiler is reached at its target var `cert_regen_server` (default: its
# certname) and port `cert_regen_port` (default 8140).
#
# @param targets
#   The compile servers.
# @param ca
#   The CA host (exactly one target).
# @param dns_alt_names
#   Names for EVERY compiler's new certificate. Default: each keeps its own.
# @param services
#   Services stopped and started around the swap on each compiler.
# @param batch_size
#   Compilers handled together (keep it small: each one stops serving
#   while it swaps).
# @param verify_with
#   Agents that check each compiler afterwards. Default: the compilers.
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
    $m + { $t.name => $t.vars['cert_regen_confdir'] ? { String[1] => { 'confdir' => $t.vars['cert_regen_confdir'] }, default => {} } }
  }
  $checkers = $verify_with ? { Undef => undef, default => get_targets($verify_with) }

  $rows = $table.map |$row| {
    if $row['outcome'] != 'ok' {
      $row + {
        'next_step' => $row['kind'] ? {
          /\Acert_regen\/(sign|csr)-refused\z/ => [
            "set allow-subject-alt-names: true in puppetserver's ca.conf on the CA (then HUP or restart it)",
            'and run the plan again; the compiler kept its certificate',
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
        $cconf = $c.vars['cert_regen_confdir'] ? { String[1] => { 'confdir' => $c.vars['cert_regen_confdir'] }, default => {} }
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
            "the compiler has its new certificate but does not serve ${bad[0].target.name}: look at its puppetserver log;",
            'cert_regen::restore on it puts the backup back',
          ].join(' '),
          'fingerprint_sha256' => $fp,
          'checked_by'         => $who.map |$c| { $c.name },
        }
      }
    }
  }
  $lines = $rows.map |$row| {
    $name = $row['certname'] ? { String => $row['certname'], default => $row['target'] }
    $kind = $row['kind'] ? { String => $row['kind'], default => '-' }
    sprintf('%-30s %-8s %-34s %s', $name, $row['outcome'], $kind, $row['next_step'])
  }
  out::message(([sprintf('%-30s %-8s %-34s %s', 'compiler', 'outcome', 'error kind', 'next step')] + $lines).join("\n"))
  $failed = $rows.filter |$row| { $row['outcome'] == 'failed' }
  if $fail_on_error and !$failed.empty {
    fail_plan("${failed.length} of ${rows.length} compiler(s) failed: ${failed.map |$row| { $row['target'] }.join(', ')}",
    'cert_regen/compilers-failed', { 'compilers' => $rows })
  }
  return $rows
}
