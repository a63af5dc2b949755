#!/bin/sh
# cert_regen::status - the implementation is compiled C; files/launch.sh picks
# the binary for this host.
if [ -n "${PT__installdir:-}" ]; then
	files="$PT__installdir/cert_regen/files"
else
	files="$(dirname "$0")/../files"
fi
if [ ! -r "$files/launch.sh" ]; then
	printf '{"_error":{"kind":"cert_regen/unsupported-platform","msg":"files/launch.sh of the cert_regen module was not delivered with the task","details":{}}}\n'
	exit 1
fi
exec /bin/sh "$files/launch.sh" status
