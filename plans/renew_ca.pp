# @summary Renew the CA with its own keys, then give every agent the renewed bundle.
#
# Runs `cert_regen::ca_renew` on the primary: the CA certificates (root and
# intermediate, or the single CA of older installations) signed again with
# the same keys, names, serials and key identifiers and a new validity,
# through the primary's flow (services stopped, verified backups, new
# directories built and verified beside the live ones, exchanged with a
# journal, services started, TLS checked). Agents keep working with their
# old bundle as long as it has not expired (same keys). Then
# `cert_regen::ca_bundle_update` on `agents`: each takes the new bundle only
# when it holds the keys and subjects it already trusts. One row per agent;
# every failure with its next step. Also renews a CA that has expired: its
# agents fail until their bundle is updated, which this plan does.
#
# @param primary
#   The primary, the CA host (exactly one target). Its target var
#   `cert_regen_confdir`, when set, is passed as `confdir`.
# @param agents
#   Agents and compilers that get the renewed bundle. A target var
#   `cert_regen_confdir` is passed as `confdir`.
# @param days
#   Validity of the renewed CA certificates in days (30 to 36500). A value
#   that would end the CA sooner than it ends now is refused
#   (cert_regen/invalid-parameter, details.days_min) unless allow_shorter.
# @param allow_shorter
#   Shorten the CA on purpose: days may end before the CA does now.
# @param services
#   Services stopped and started on the primary. When not given: puppet,
#   pxp-agent, mcollective, puppetserver.
# @param fail_on_error
#   Fail the plan (`cert_regen/agents-failed`) when an agent's update failed.
#
# @return [Hash]
#   `primary`: ca_renew's result (per CA certificate old and new
#   fingerprint and not_after, `bundle_sha256`, the new root fingerprint in
#   `new_ca.root_fingerprint_sha256`); `agents`: one row per agent
#   (`target`, `outcome`: updated, kept (its bundle was already the renewed
#   one, or the CA offered one that ends sooner: `offered_ends_sooner`),
#   would_update or failed; `step`, `state`, `kind`, `message`,
#   `next_step`), see cert_regen::bundle_row.
#
# @example Renew the CA for 15 years and update two agents
#   bolt plan run cert_regen::renew_ca primary=puppet.example.com agents=agent1,agent2
plan cert_regen::renew_ca(
  TargetSpec $primary,
  Optional[TargetSpec] $agents = undef,
  Integer[30, 36500] $days = 5475,
  Boolean $allow_shorter = false,
  Optional[Array[Pattern[/\A[a-zA-Z0-9@._-]+\z/]]] $services = undef,
  Boolean $fail_on_error = true,
) {
  $primaries = get_targets($primary)
  if $primaries.length != 1 {
    fail_plan("primary must name exactly one target, not ${primaries.length}. Next step: name the primary alone in primary=",
    'cert_regen/invalid-parameter')
  }
  $p = $primaries[0]
  $p_conf = cert_regen::confdir_param($p.vars)
  $params = { 'days' => $days, 'allow_shorter' => $allow_shorter, 'services' => $services }.filter |$k, $v| { $v =~ NotUndef }

  $rn = run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::ca_renew', 'targets' => $p,
  'params' => $p_conf + $params)[$p.name]
  unless $rn['ok'] {
    $d = $rn['details']
    $msg = "cert_regen::ca_renew on ${p.name} failed (${rn['kind']}): ${cert_regen::short_message($rn['msg'], 2000)}"
    fail_plan("${msg}; the live CA is ${d['live']}; next step: ${d['next_step']}", $rn['kind'], { 'primary' => $p.name, 'details' => $d })
  }
  $v = $rn['value']
  $lines = $v['renewal'].map |$c| {
    "${c['subject']}: not_after ${c['old_not_after']} -> ${c['new_not_after']}, ${c['new_fingerprint_sha256']}"
  }.join('; ')
  $backups = "${v['backup']['ssldir']} ${v['backup']['cadir']}"
  out::message("cert_regen: CA of ${p.name} renewed: ${lines}; bundle ${v['bundle_sha256']}; backups ${backups}")

  $targets = $agents ? { Undef => [], default => get_targets($agents) }
  $answers = $targets.empty ? {
    true    => {},
    default => run_plan('cert_regen::util::run_task', 'task' => 'cert_regen::ca_bundle_update', 'targets' => $targets,
    'params' => {}),
  }
  $rows = $targets.map |$t| { cert_regen::bundle_row($t.name, $answers[$t.name]) }
  unless $rows.empty {
    out::message(cert_regen::table($rows, 'agent'))
  }
  $failed = $rows.filter |$row| { $row['outcome'] == 'failed' }
  $result = { 'primary' => $v, 'agents' => $rows }
  if $fail_on_error and !$failed.empty {
    $names = $failed.map |$row| { $row['target'] }.join(', ')
    $next = 'see each row\'s next step, then run cert_regen::ca_bundle_update on them'
    fail_plan("the CA is renewed, but ${failed.length} agent(s) did not get the new bundle: ${names}. Next step: ${next}",
    'cert_regen/agents-failed', $result)
  }
  return $result
}
