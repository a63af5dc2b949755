#!/bin/bash
# bench/fleet_bench.sh [N...] - regenerating N agents' certificates against
# one real puppetserver CA, manual signing (no autosign), side by side in
# one run (default N: 10 50 200):
#   cert_regen  ca_clean (all names, one call) -> regenerate on each agent
#               (stages, submits, returns pending + CSR fingerprint) ->
#               ca_sign (all names, fingerprints checked, one call) ->
#               regenerate on each agent again (verifies and swaps)
#   puppet      puppetserver ca clean --certname a,b,.. -> on each agent
#               puppet ssl clean + puppet ssl bootstrap --waitforcert 0 ->
#               puppetserver ca sign --certname a,b,.. -> puppet ssl
#               bootstrap --waitforcert 0 on each agent
#   floor       the same API round trips with curl(1) only (revoke, delete,
#               PUT CSR, sign, GET cert; CSRs made before the clock starts)
# Agents run one after the other (one machine); every agent uses RSA-2048
# (keylength = 2048 in its puppet.conf, key_size 2048 for cert_regen) so
# key generation does not drown the rest.  Prints agents per minute.
# A benchmark, not a test: nothing asserts.
# METHODS="cert_regen floor" limits the run to some methods.
set -uo pipefail
methods=" ${METHODS:-cert_regen puppet floor} "
sizes=("$@")
[ "${#sizes[@]}" -gt 0 ] || sizes=(10 50 200)
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../tests/lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
set +e
stack_ensure >/dev/null || { echo "no puppetserver"; exit 1; }
inst=$(task_installdir)
S=$STACK_SERVER_CONFDIR
SC=$STACK_SSLDIR/certs/$STACK_CERTNAME.pem
SK=$STACK_SSLDIR/private_keys/$STACK_CERTNAME.pem
now() { date +%s.%N; }
task() { # name params-json
    printf '%s' "$2" | PT__installdir="$inst" "$inst/cert_regen/tasks/$1.sh"
}
json_list() { ruby -rjson -e 'print JSON.generate(ARGV)' "$@"; }

setup_agents() { # prefix n -> agents with a signed identity (not timed)
    # First identities come from cert_regen::regenerate under a temporary
    # autosign glob (0.2 s each instead of 2 s for puppet ssl bootstrap):
    # an ssldir with just the CA bundle and CRL is enough for it.
    local p=$1 n=$2 i name conf
    printf '*.auto.test\n*.%s.bench.test\n' "$p" >"$STACK_DIR/etc/autosign.conf"
    for i in $(seq 1 "$n"); do
        name="a$i.$p.bench.test"
        conf=$(stack_agent "$name")
        grep -q keylength "$conf/puppet.conf" || printf 'keylength = 2048\n' >>"$conf/puppet.conf"
        mkdir -p "$conf/ssl/certs"
        cp "$STACK_CACERT" "$conf/ssl/certs/ca.pem"
        cp "$STACK_SSLDIR/crl.pem" "$conf/ssl/crl.pem"
        task regenerate "{\"confdir\":\"$conf\",\"services\":[],\"backup\":false}" |
            grep -q '"state":"regenerated"' || echo "setup: $name failed"
    done
    printf '*.auto.test\n' >"$STACK_DIR/etc/autosign.conf"
}

results="$TEST_TMP/results"
for n in "${sizes[@]}"; do
    echo "== $n agents: setting up 3 x $n agents (not timed)"
    [[ $methods == *" cert_regen "* ]] && setup_agents "cr$n-$$" "$n"
    [[ $methods == *" puppet "* ]] && setup_agents "pp$n-$$" "$n"
    [[ $methods == *" floor "* ]] && setup_agents "fl$n-$$" "$n"
    names() { local i; for i in $(seq 1 "$n"); do printf 'a%s.%s.bench.test\n' "$i" "$1"; done; }

    # --- cert_regen
    if [[ $methods == *" cert_regen "* ]]; then
    mapfile -t nm < <(names "cr$n-$$")
    t0=$(now)
    task ca_clean "{\"confdir\":\"$S\",\"certnames\":$(json_list "${nm[@]}")}" >/dev/null
    fps="{"
    for x in "${nm[@]}"; do
        out=$(task regenerate "{\"confdir\":\"$(stack_agent_confdir "$x")\",\"wait_for_cert\":0,\"key_size\":2048,\"services\":[],\"backup\":false}")
        fps="$fps\"$x\":\"$(json_get "$out" csr_fingerprint)\","
    done
    fps="${fps%,}}"
    task ca_sign "{\"confdir\":\"$S\",\"certnames\":$(json_list "${nm[@]}"),\"expected_fingerprints\":$fps}" >/dev/null
    ok=0
    for x in "${nm[@]}"; do
        out=$(task regenerate "{\"confdir\":\"$(stack_agent_confdir "$x")\",\"wait_for_cert\":0,\"services\":[],\"backup\":false}")
        [ "$(json_get "$out" state)" = regenerated ] && ok=$((ok + 1))
    done
    echo "cert_regen $n $ok $(now) $t0" >>"$results"
    fi

    # --- Puppet's own commands
    if [[ $methods == *" puppet "* ]]; then
    mapfile -t nm < <(names "pp$n-$$")
    t0=$(now)
    stack_ca clean --certname "$(IFS=,; echo "${nm[*]}")" >/dev/null 2>&1
    for x in "${nm[@]}"; do
        c=$(stack_agent_confdir "$x")
        puppet ssl clean --confdir "$c" >/dev/null 2>&1
        puppet ssl bootstrap --confdir "$c" --waitforcert 0 >/dev/null 2>&1
    done
    stack_ca sign --certname "$(IFS=,; echo "${nm[*]}")" >/dev/null 2>&1
    ok=0
    for x in "${nm[@]}"; do
        puppet ssl bootstrap --confdir "$(stack_agent_confdir "$x")" --waitforcert 0 >/dev/null 2>&1 && ok=$((ok + 1))
    done
    echo "puppet $n $ok $(now) $t0" >>"$results"
    fi

    # --- the floor: curl round trips only
    if [[ $methods == *" floor "* ]]; then
    mapfile -t nm < <(names "fl$n-$$")
    for x in "${nm[@]}"; do
        openssl req -new -newkey rsa:2048 -nodes -keyout "$TEST_TMP/$x.key" -subj "/CN=$x" -out "$TEST_TMP/$x.csr" 2>/dev/null
    done
    api="$STACK_URL/puppet-ca/v1"
    t0=$(now)
    ok=0
    for x in "${nm[@]}"; do
        adm=(curl -sf --cacert "$STACK_CACERT" --cert "$SC" --key "$SK")
        "${adm[@]}" -X PUT -H 'Content-Type: application/json' -d '{"desired_state":"revoked"}' "$api/certificate_status/$x" >/dev/null
        "${adm[@]}" -X DELETE "$api/certificate_status/$x" >/dev/null
        curl -sf --cacert "$STACK_CACERT" -X PUT -H 'Content-Type: text/plain' --data-binary "@$TEST_TMP/$x.csr" "$api/certificate_request/$x" >/dev/null
        "${adm[@]}" -X PUT -H 'Content-Type: application/json' -d '{"desired_state":"signed"}' "$api/certificate_status/$x" >/dev/null
        curl -sf --cacert "$STACK_CACERT" "$api/certificate/$x" -o "$TEST_TMP/$x.crt" && ok=$((ok + 1))
    done
    echo "floor $n $ok $(now) $t0" >>"$results"
    rm -f "$TEST_TMP"/*.key
    fi
done
echo
ruby -e '
  puts format("%-11s %7s %9s %11s %15s", "method", "agents", "done ok", "seconds", "agents/minute")
  File.readlines(ARGV[0]).each do |l|
    m, n, ok, t1, t0 = l.split
    s = t1.to_f - t0.to_f
    puts format("%-11s %7d %9d %11.1f %15.1f", m, n.to_i, ok.to_i, s, n.to_f / s * 60)
  end
' "$results"
echo "(one CA, agents one after the other, manual signing, RSA-2048; puppet = puppetserver ca clean/sign + puppet ssl clean/bootstrap; floor = curl API round trips only, no key generation)"
