# @summary The certnames the old CA had signed that a CA rebuild did not move to the new CA.
#
# @param ca_certificates
#   `certificates` of `cert_regen::ca_list` on the old CA (`name`, `state`).
# @param moved
#   Certnames (or target names) of the agents the plan handled.
# @param primary
#   The primary's certname (it gets its certificate from the rebuild itself).
#
# @return [Array[String]] Sorted certnames still signed by the old CA only.
function cert_regen::left_out(Array[Hash] $ca_certificates, Array[String] $moved, String $primary) >> Array[String] {
  $ca_certificates.filter |$c| { $c['state'] == 'signed' and $c['name'] =~ String }.map |$c| { $c['name'] }.filter |$n| {
    !($n in $moved) and $n != $primary
  }.unique.sort
}
