# @summary Runs a task on targets, each with its target var `cert_regen_confdir` as `confdir`, and returns the answers as data.
#
# @api private
#
# @param task
#   The task's name.
# @param targets
#   Where it runs. Targets are grouped by their `cert_regen_confdir`, one
#   task run per group.
# @param params
#   The task's parameters (`confdir` is added per target).
#
# @return [Hash]
#   target name => `ok` (Boolean) and `value` (the result), or `ok` false
#   and the error's `kind`, `msg` and `details`.
plan cert_regen::util::run_task(
  String[1] $task,
  TargetSpec $targets,
  Hash $params = {},
) {
  $answers = get_targets($targets).group_by |$t| { cert_regen::confdir_param($t.vars) }.map |$conf, $group| {
    run_task($task, $group, $params + $conf + { '_catch_errors' => true }).results
  }.flatten.reduce({}) |$m, $r| {
    $answer = $r.ok ? {
      true    => { 'ok' => true, 'value' => $r.value },
      default => {
        'ok'      => false,
        'kind'    => $r.error.kind,
        'msg'     => $r.error.message,
        'details' => $r.error.details ? { Hash => $r.error.details, default => {} },
      },
    }
    $m + { $r.target.name => $answer }
  }
  return $answers
}
