#!/bin/bash
# bench/primary_bench.sh [N] - regenerating the primary's own certificate,
# side by side in one run on one puppetserver of its own (SysV-style init
# script, as the tasks see a real service):
#   cert_regen   the cert_regen::primary_cert task (stop, verified backups of
#                ssldir and cadir, old cert revoked in the CRL, new cert by
#                `puppetserver ca generate --ca-client`, exchange, start,
#                TLS check), run as Bolt runs it
#   by hand      Puppet's documented procedure in today's commands: stop,
#                `cp -a` of the ssldir and the cadir, remove the host's
#                cert/key/public key and signed/ copy, `puppetserver ca
#                generate --ca-client --force` with the same names, start
#                (no revocation: puppetserver's CLI cannot revoke offline)
# Per method and round: wall time of the whole procedure, the server's
# downtime (port closed or not answering), peak RSS of the procedure's
# processes.  Prints medians.  A benchmark, not a test: nothing asserts.
set -euo pipefail
n=${1:-3}
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../tests/lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
set +e
unset CR_STACK_DIR
STACK_CERTNAME=primary.bench
stack_start "$TEST_TMP/p" >/dev/null || { echo "no puppetserver"; exit 1; }
at_exit stack_stop -f
SVC="cr-ps-bench-$$"
stack_service_install "$SVC" "$STACK_DIR"
at_exit stack_service_remove "$SVC"
inst=$(task_installdir)
now() { date +%s.%N; }

# downtime watcher: writes the seconds the status endpoint did not answer
watch_start() {
    ( down=0; while :; do
        t0=$(now)
        if ! curl -fsS --max-time 1 --cacert "$STACK_CACERT" "$STACK_URL/status/v1/simple" >/dev/null 2>&1; then
            down=$(awk -v d="$down" -v a="$t0" -v b="$(now)" 'BEGIN { print d + (b - a) + 0.2 }')
        fi
        echo "$down" >"$TEST_TMP/down"
        sleep 0.2
    done ) &
    WATCH=$!
}
watch_stop() { kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; cat "$TEST_TMP/down"; }

by_hand() {
    local s=$STACK_SSLDIR c=$STACK_CADIR stamp
    stamp=$(date +%s%N)
    /etc/init.d/"$SVC" stop &&
        cp -a "$s" "$s.hand.$stamp" && cp -a "$c" "$c.hand.$stamp" &&
        rm -f "$s/certs/$STACK_CERTNAME.pem" "$s/private_keys/$STACK_CERTNAME.pem" \
              "$s/public_keys/$STACK_CERTNAME.pem" "$c/signed/$STACK_CERTNAME.pem" &&
        puppetserver ca generate --config "$STACK_SERVER_CONFDIR/puppet.conf" \
            --certname "$STACK_CERTNAME" --subject-alt-names "DNS:localhost,DNS:$STACK_CERTNAME,IP:127.0.0.1" \
            --ca-client --force &&
        /etc/init.d/"$SVC" start
}
export -f by_hand
export SVC STACK_SSLDIR STACK_CADIR STACK_CERTNAME STACK_SERVER_CONFDIR

: >"$TEST_TMP/times"
for i in $(seq 1 "$n"); do
    printf '{"confdir":"%s","services":["%s"],"_installdir":"%s"}' \
        "$STACK_SERVER_CONFDIR" "$SVC" "$inst" >"$TEST_TMP/params.json"
    watch_start
    t0=$(now)
    /usr/bin/time -f "%M" -o "$TEST_TMP/rss" sh -c "PT__installdir='$inst' '$inst/cert_regen/tasks/primary_cert.sh' <'$TEST_TMP/params.json'" >"$TEST_TMP/out" 2>&1 ||
        { echo "cert_regen failed"; tail -3 "$TEST_TMP/out"; exit 1; }
    t1=$(now)
    stack_status_ok || sleep 1
    echo "cert_regen $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $(watch_stop) $(cat "$TEST_TMP/rss")" >>"$TEST_TMP/times"

    watch_start
    t0=$(now)
    /usr/bin/time -f "%M" -o "$TEST_TMP/rss" bash -c by_hand >"$TEST_TMP/out" 2>&1 ||
        { echo "by hand failed"; tail -3 "$TEST_TMP/out"; exit 1; }
    until stack_status_ok; do sleep 0.2; done
    t1=$(now)
    echo "by_hand $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $(watch_stop) $(cat "$TEST_TMP/rss")" >>"$TEST_TMP/times"
done
ruby -e '
rows = Hash.new { |h, k| h[k] = [] }
File.readlines(ARGV[0]).each { |l| m, t, d, k = l.split; rows[m] << [t.to_f, d.to_f, k.to_i] }
med = ->(a) { s = a.sort; s[s.size / 2] }
puts format("%-11s %6s %12s %12s %14s", "method", "rounds", "total s", "downtime s", "peak RSS MB")
rows.each do |m, r|
  puts format("%-11s %6d %12.2f %12.2f %14.1f", m, r.size, med.(r.map { _1[0] }), med.(r.map { _1[1] }), med.(r.map { _1[2] }) / 1024.0)
end
puts "(medians; total includes waiting for the server to answer again; RSS: largest single process)"
' "$TEST_TMP/times"
finish >/dev/null 2>&1 || true
