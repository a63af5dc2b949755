# @summary The first part of an error message, for one line of a table.
#
# Drops the " Next step: ..." the tasks append (the table has its own
# column for it) and cuts what is left at `width` characters.
#
# @param msg
#   The error message.
# @param width
#   The most characters kept.
#
# @return [String] The message on one line, at most `width` characters.
function cert_regen::short_message(Optional[String] $msg, Integer[8] $width = 60) >> String {
  $text = $msg ? {
    String[1] => $msg.split(/ Next step: /)[0].regsubst(/\s+/, ' ', 'G').strip,
    default   => '',
  }
  $text.length > $width ? {
    true    => "${text[0, $width - 3]}...",
    default => $text,
  }
}
