# @summary The tasks' `confdir` parameter from a target's vars.
#
# A target var `cert_regen_confdir` names the agent's confdir when it is
# not where Puppet puts it (a second agent on one host, a test root). Every
# plan passes it to the tasks the same way, through this function.
#
# @param vars
#   The target's vars (`$target.vars`).
#
# @return [Hash]
#   `{ 'confdir' => <the var> }` when the var is a non-empty string, else `{}`.
function cert_regen::confdir_param(Hash $vars) >> Hash {
  $vars['cert_regen_confdir'] ? {
    String[1] => { 'confdir' => $vars['cert_regen_confdir'] },
    default   => {},
  }
}
