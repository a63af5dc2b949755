# @summary A command that moves agents to a new CA, to paste as it is.
#
# @param targets
#   The agents' target names.
# @param ca
#   The CA's target name.
# @param ca_fingerprint
#   SHA-256 fingerprint of the new root CA certificate.
#
# @return [String] A `bolt plan run cert_regen::regenerate_agents` command line.
function cert_regen::move_command(Array[String[1], 1] $targets, String[1] $ca, String[1] $ca_fingerprint) >> String {
  "bolt plan run cert_regen::regenerate_agents targets=${targets.join(',')} ca=${ca} ca_fingerprint=${ca_fingerprint} force=true"
}
