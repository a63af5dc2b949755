#!/bin/bash
# tests/demo.sh - the main job on a throwaway stack: a real puppetserver CA
# and a real agent under a temporary directory; prints the cert_regen fact
# and the cert_regen::status task result, regenerates the agent's
# certificate, and prints both again.  Everything is removed at the end
# (KEEP_TMP=1 keeps it).
set -euo pipefail
export LC_ALL=C
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib/testlib.sh"
. "$here/lib/stack.sh"
. "$here/lib/task.sh"
set +e +u

stack_start "$TEST_TMP/stack" || { echo "puppetserver did not start"; exit 1; }
at_exit stack_stop
name=demo.auto.test
conf=$(stack_agent "$name")
echo "== puppetserver CA on $STACK_URL (started in ${STACK_START_SECONDS:-?} s); agent $name in $conf"
stack_bootstrap "$name" >/dev/null || { echo "bootstrap failed"; exit 1; }
stack_site_pp 'notify { "cert_regen: ${facts[cert_regen][certname]} health=${facts[cert_regen][health]} serial=${facts[cert_regen][hostcert][serial]} expires_in_days=${facts[cert_regen][hostcert][expires_in_days]}": }'

show() {
    echo "== $1: the cert_regen fact (facter -p, after pluginsync by puppet agent -t)"
    stack_agent_run "$name" >"$TEST_TMP/run.out" 2>&1 || { cat "$TEST_TMP/run.out"; exit 1; }
    grep -o 'cert_regen: [^ ]* health=.*expires_in_days=[-0-9]*' "$TEST_TMP/run.out" | head -n 1 | sed 's/^/   manifest saw: /'
    stack_facter_root "$conf" facter -p cert_regen --json 2>/dev/null |
        ruby -rjson -e 'f = JSON.parse(STDIN.read)["cert_regen"]; h = f["hostcert"]
          puts JSON.pretty_generate(f.slice("certname", "health", "health_reasons", "ssldir").merge(
            "hostcert" => h.slice("serial", "not_after", "expires_in_days", "fingerprint_sha256", "key", "key_matches", "chain_valid", "revoked"),
            "ca" => f["ca"].map { |c| c.slice("subject", "expires_in_days") },
            "crl" => f["crl"].map { |c| c.slice("issuer", "revoked_count", "expires_in_days") }))'
    echo "== $1: cert_regen::status task (JSON on stdin + PT_* variables, as Bolt runs it)"
    task_run status "{\"confdir\": \"$conf\"}"
    printf '%s' "$TASK_OUT" | ruby -rjson -e 'r = JSON.parse(STDIN.read); h = r["hostcert"] || {}
      puts JSON.generate(r.slice("health").merge(h.slice("serial", "fingerprint_sha256", "expires_in_days")))'
}

show before
echo "== regenerating $name's certificate with the module's tasks, run as Bolt runs them"
task_run ca_clean "{\"confdir\": \"$STACK_SERVER_CONFDIR\", \"certnames\": [\"$name\"]}"
echo "   cert_regen::ca_clean (on the CA): $(printf '%s' "$TASK_OUT" | ruby -rjson -e 'puts JSON.parse(STDIN.read)["results"].map { |r| "#{r["certname"]} #{r["outcome"]}" }.join(", ")')"
task_run regenerate "{\"confdir\": \"$conf\", \"services\": []}"
[ "$TASK_RC" = 0 ] || { echo "regenerate failed: $TASK_OUT"; exit 1; }
printf '%s' "$TASK_OUT" | ruby -rjson -e 'r = JSON.parse(STDIN.read)
  puts "   cert_regen::regenerate (on the agent): state #{r["state"]}, serial #{r.dig("before", "serial")} -> #{r.dig("after", "serial")}, backup #{r["backup"]}"
  puts "   steps: " + r["steps"].map { |s| "#{s["name"]} #{s["duration_ms"]} ms" }.join(", ")'
show after
echo "== done: the serial and fingerprint above changed; the old certificate is revoked in the CA's CRL and kept in the backup"
