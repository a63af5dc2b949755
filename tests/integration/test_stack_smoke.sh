#!/bin/bash
# Smoke test of the shared integration stack: a real puppetserver (CA and
# compiler), real agents, real facter.
# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
# shellcheck source=tests/lib/stack.sh
. "$(dirname "$0")/../lib/stack.sh"

stack_ensure
ok "puppetserver is running on port $STACK_PORT"

status=$(curl -fsS --max-time 10 --cacert "$STACK_CACERT" "$STACK_URL/status/v1/simple" || true)
assert_eq running "$status" "/status/v1/simple answers over https, verified with the CA"

A=smoke1.auto.test
C=$(stack_agent_confdir "$A")
rm -rf "$C"
stack_ca clean --certname "$A" >/dev/null 2>&1 || true
assert_cmd "autosigned agent $A bootstraps" -- stack_bootstrap "$A"
assert_cmd "agent cert file exists" -- test -s "$C/ssl/certs/$A.pem"
assert_cmd "puppet ssl verify passes for $A" -- stack_puppet "$A" ssl verify

stack_site_pp "notify { 'smoke': }"
assert_cmd "puppet agent -t passes for $A" -- stack_agent_run "$A"
assert_match 'Notice: smoke' "$(cat "$TEST_TMP/last.out")" "the catalog applied notify smoke"

M=smoke-manual1.test
rm -rf "$(stack_agent_confdir "$M")"
stack_ca clean --certname "$M" >/dev/null 2>&1 || true
assert_fail "non-autosigned agent $M gets no cert (waitforcert 0)" -- stack_bootstrap "$M"
assert_cmd "puppetserver ca list runs" -- stack_ca list
assert_match "Requested Certificates:.*[[:space:]]${M//./\\.}[[:space:]]" "$(tr '\n' ' ' <"$TEST_TMP/last.out")" \
    "$M shows as requested in puppetserver ca list"
stack_ca clean --certname "$M" >/dev/null 2>&1 || true

assert_cmd "facter -p os.family runs as the agent (stack_facter_root)" -- \
    stack_facter_root "$C" facter -p os.family
assert_eq Debian "$(cat "$TEST_TMP/last.out")" "facter -p os.family prints Debian"
assert_eq "$A" "$(stack_facter_root "$C" puppet config print certname)" \
    "puppet config print certname sees the agent in the namespace"

assert_eq running "$(json_get '{"a":[{"b":"running"}]}' a.0.b)" "json_get reads a dotted path"

finish
