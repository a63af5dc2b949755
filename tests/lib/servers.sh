# shellcheck shell=bash
# tests/lib/servers.sh - for the tests that change a puppetserver's own
# certificate (source after stack.sh): a certificate as openssl sees it, and
# snap (agents.sh) without the ssl.lock a running server may hold.
#
#   cert_fp PEM        SHA-256 fingerprint (AA:BB:...)
#   cert_serial PEM    serial in hex, as openssl prints it
#   cert_sans PEM      subject alt names, sorted, one space after each
#   presented_fp PORT  the fingerprint of the certificate the server on
#                      127.0.0.1:PORT presents (SNI localhost)

# shellcheck disable=SC2034  # read by snap (agents.sh)
SNAP_EXCLUDE=ssl.lock
# shellcheck source=tests/lib/agents.sh
. "$REPO_ROOT/tests/lib/agents.sh"

cert_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
cert_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
cert_sans() { openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr -d ' ' | tr ',' '\n' | sort -u | tr '\n' ' '; }
presented_fp() {
    openssl s_client -connect "127.0.0.1:$1" -servername localhost </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
