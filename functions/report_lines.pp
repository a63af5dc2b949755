# @summary A task result as readable lines (`key: value`, nested values indented), for a plan's output.
#
# @param value
#   The value to show.
# @param indent
#   Spaces in front of each line.
#
# @return [String] The lines, joined by newlines.
function cert_regen::report_lines(Any $value, Integer[0] $indent = 2) >> String {
  $pad = sprintf("%${indent}s", '')
  $value ? {
    Hash    => $value.map |$k, $v| {
      $v ? {
        Hash[Any, Any, 1]  => "${pad}${k}:\n${cert_regen::report_lines($v, $indent + 2)}",
        Array[Any, 1]      => $v.all |$e| { $e =~ Scalar } ? {
          true    => "${pad}${k}: ${v.join(', ')}",
          default => "${pad}${k}:\n${cert_regen::report_lines($v, $indent + 2)}",
        },
        Undef              => "${pad}${k}: -",
        Variant[Hash, Array] => "${pad}${k}: (none)",
        default            => "${pad}${k}: ${v}",
      }
    }.join("\n"),
    Array   => $value.map |$e| {
      $e =~ Scalar ? {
        true    => "${pad}- ${e}",
        default => "${pad}-\n${cert_regen::report_lines($e, $indent + 2)}",
      }
    }.join("\n"),
    default => "${pad}${value}",
  }
}
