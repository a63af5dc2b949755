#!/bin/bash
# A compile server's certificate (Puppet's "regenerating a compile master
# certificate"), on a REAL second puppetserver with the CA service disabled
# (stack_compiler_start) run as a SysV service (stack_service_install),
# against the shared primary CA.  Agents use the compiler for catalogs and
# the primary as CA.  The tasks run in cert_regen::regenerate_compiler's
# order (the order of cert_regen::regenerate_agents, services including
# the compiler's puppetserver), the way Bolt runs them:
#   - before: agents get catalogs through the compiler;
#   - regenerate (stages, ca-not-cleaned), ca_clean, regenerate (installs,
#     stops and starts the compiler's puppetserver): new serial, same SANs,
#     old serial in the CA's CRL, the compiler presents the new cert, the
#     agents' `puppet agent -t` through it pass, check_server from an agent;
#   - dns_alt_names given: the presented cert carries the added name;
#   - the CA refusing alt names: the compiler keeps serving with its
#     identity byte-identical, the error names allow-subject-alt-names, and
#     once the CA allows them a rerun finishes.
# ok/not_ok always return 0: `cond && ok || not_ok` is safe here.
# shellcheck disable=SC2015
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/servers.sh"
. "$REPO_ROOT/tests/lib/task.sh"

needs_root "compile server" "installs an init script"
stack_ensure
at_exit stack_allow_sans restore
stack_allow_sans true >/dev/null || not_ok "CA reloaded with allow-subject-alt-names"

C1=compiler1-$$.auto.test
at_exit stack_compiler_stop "$TEST_TMP/c1"
if ! stack_compiler_start "$C1" "$TEST_TMP/c1"; then
    not_ok "compile server starts" "$(tail -20 "$TEST_TMP/c1/log/puppetserver.log" 2>/dev/null)"
    finish
fi
ok "compile server $C1 up on port $COMPILER_PORT"
SVC="cr-ps-compiler-$$"
at_exit stack_service_remove "$SVC"
stack_service_install "$SVC" "$COMPILER_DIR"
CSSL="$COMPILER_DIR/ssl"
CCERT="$CSSL/certs/$C1.pem"

compiler_pid() { cat "$COMPILER_DIR/run/server.pid" 2>/dev/null || true; }
err_kind() { json_get "$TASK_OUT" _error.kind; }
regen() { # regen [extra JSON members]
    task_run regenerate "{\"confdir\":\"$COMPILER_CONFDIR\",\"services\":[\"$SVC\"],\"wait_for_cert\":0${1:+,$1}}"
}
through_compiler() { # an agent that compiles on the compiler, CA on the primary
    local c
    c=$(stack_agent "$1")
    sed -i "s/^serverport = .*/serverport = $COMPILER_PORT/" "$c/puppet.conf"
    printf '%s\n' "$c"
}
agent_run() { stack_agent_run "$1" >"$TEST_TMP/run-$1.log" 2>&1; }

G1=ag1-$$.auto.test
G2=ag2-$$.auto.test
G1C=$(through_compiler $G1)
through_compiler $G2 >/dev/null
for g in $G1 $G2; do stack_bootstrap "$g" >/dev/null 2>&1 || not_ok "bootstrap $g"; done
agent_run $G1 && agent_run $G2 && ok "agents run through the compiler before" ||
    not_ok "agents run through the compiler before" "$(tail -5 "$TEST_TMP/run-$G1.log")"
grep -q "$COMPILER_PORT" "$TEST_TMP/run-$G1.log" 2>/dev/null || true

# --- the plan's order: stage, clean, install ---------------------------------
OLD_FP=$(cert_fp "$CCERT")
OLD_SERIAL=$(cert_serial "$CCERT")
OLD_SANS=$(cert_sans "$CCERT")
assert_match "DNS:localhost" "$OLD_SANS" "compiler's cert has its alt names"
PID0=$(compiler_pid)

regen
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/ca-not-cleaned ] &&
    ok "1st regenerate stages and answers ca-not-cleaned" || not_ok "1st regenerate stages and answers ca-not-cleaned" "$TASK_OUT"
[ "$(compiler_pid)" = "$PID0" ] && ok "staging did not touch the compiler's service" || not_ok "staging did not touch the compiler's service"
task_run ca_clean "{\"confdir\":\"$STACK_SERVER_CONFDIR\",\"certnames\":[\"$C1\"]}"
[ "$TASK_RC" = 0 ] && ok "ca_clean on the primary" || not_ok "ca_clean on the primary" "$TASK_OUT"
regen
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = regenerated ] &&
    ok "2nd regenerate installs (autosigned, SANs allowed)" || not_ok "2nd regenerate installs (autosigned, SANs allowed)" "$TASK_OUT"
NEW_FP=$(cert_fp "$CCERT")
[ "$NEW_FP" != "$OLD_FP" ] && [ "$(cert_serial "$CCERT")" != "$OLD_SERIAL" ] &&
    ok "new certificate and serial" || not_ok "new certificate and serial"
assert_eq "$OLD_SANS" "$(cert_sans "$CCERT")" "alt names carried over"
openssl crl -in "$STACK_CADIR/ca_crl.pem" -noout -text | grep -q "Serial Number: $OLD_SERIAL" &&
    ok "old serial in the CA's CRL" || not_ok "old serial in the CA's CRL"
[ -n "$PID0" ] && [ "$(compiler_pid)" != "$PID0" ] && kill -0 "$(compiler_pid)" 2>/dev/null &&
    ok "the task stopped and started the compiler's puppetserver" || not_ok "the task stopped and started the compiler's puppetserver"
svcs=$(json_get "$TASK_OUT" services_restarted)
assert_match "$SVC" "$svcs" "result lists the compiler service as restarted"
assert_eq "$NEW_FP" "$(presented_fp "$COMPILER_PORT")" "the compiler presents the new cert"
agent_run $G1 && agent_run $G2 && ok "agents run through the compiler after" ||
    not_ok "agents run through the compiler after" "$(tail -5 "$TEST_TMP/run-$G1.log")"
task_run check_server "{\"confdir\":\"$G1C\",\"expect_fingerprint\":\"$NEW_FP\",\"expect_names\":[\"localhost\",\"$C1\"]}"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" port)" = "$COMPILER_PORT" ] &&
    [ -n "$(json_get "$TASK_OUT" catalog.version)" ] &&
    ok "check_server from an agent: new cert, names, a catalog through the compiler" ||
    not_ok "check_server from an agent: new cert, names, a catalog through the compiler" "$TASK_OUT"
task_run check_server "{\"confdir\":\"$G1C\",\"expect_names\":[\"not-there.test\"],\"catalog\":false}"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/server-cert-mismatch ] &&
    ok "check_server: a missing name is a mismatch" || not_ok "check_server: a missing name is a mismatch" "$TASK_OUT"

# --- dns_alt_names given: one more name ---------------------------------------
ALIAS=c1-alias-$$.example.test
NAMES="\"dns_alt_names\":[\"localhost\",\"$C1\",\"IP:127.0.0.1\",\"$ALIAS\"]"
regen "$NAMES"
[ "$(err_kind)" = cert_regen/ca-not-cleaned ] && ok "with dns_alt_names: staged" || not_ok "with dns_alt_names: staged" "$TASK_OUT"
task_run ca_clean "{\"confdir\":\"$STACK_SERVER_CONFDIR\",\"certnames\":[\"$C1\"]}"
regen "$NAMES"
[ "$(json_get "$TASK_OUT" state)" = regenerated ] && ok "with dns_alt_names: installed" || not_ok "with dns_alt_names: installed" "$TASK_OUT"
assert_match "DNS:$ALIAS" "$(cert_sans "$CCERT")" "the new cert carries the added name"
task_run check_server "{\"confdir\":\"$G1C\",\"expect_fingerprint\":\"$(cert_fp "$CCERT")\",\"expect_names\":[\"DNS:$ALIAS\"]}"
[ "$TASK_RC" = 0 ] && ok "the compiler presents it" || not_ok "the compiler presents it" "$TASK_OUT"

# --- the CA refuses alt names -------------------------------------------------
stack_allow_sans false >/dev/null || not_ok "CA reloaded without allow-subject-alt-names"
snap "$CSSL" >"$TEST_TMP/cssl.0"
FP2=$(cert_fp "$CCERT")
regen
[ "$(err_kind)" = cert_regen/ca-not-cleaned ] && ok "SANs refused: staged first" || not_ok "SANs refused: staged first" "$TASK_OUT"
task_run ca_clean "{\"confdir\":\"$STACK_SERVER_CONFDIR\",\"certnames\":[\"$C1\"]}"
[ "$TASK_RC" = 0 ] && ok "SANs refused: ca_clean" || not_ok "SANs refused: ca_clean" "$TASK_OUT"
regen
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/csr-refused ] &&
    ok "SANs refused: regenerate fails with csr-refused" || not_ok "SANs refused: regenerate fails with csr-refused" "$TASK_OUT"
assert_match "allow-subject-alt-names" "$(json_get "$TASK_OUT" _error.details.next_step)" "the next step names allow-subject-alt-names"
snap "$CSSL" | cmp -s - "$TEST_TMP/cssl.0" && ok "the compiler's ssldir is byte-identical" ||
    not_ok "the compiler's ssldir is byte-identical" "$(diff <(snap "$CSSL") "$TEST_TMP/cssl.0" | head -5)"
assert_eq "$FP2" "$(presented_fp "$COMPILER_PORT")" "the compiler still serves with its certificate"
stack_allow_sans true >/dev/null || not_ok "CA reloaded with allow-subject-alt-names again"
# puppetserver kept the refused CSR as pending: the rerun finds it (same
# fingerprint), and it is signed the way the plan signs, with ca_sign
regen
CSR_FP=$(json_get "$TASK_OUT" csr_fingerprint)
[ "$(json_get "$TASK_OUT" state)" = pending ] && [ -n "$CSR_FP" ] &&
    ok "rerun finds its own pending CSR" || not_ok "rerun finds its own pending CSR" "$TASK_OUT"
task_run ca_sign "{\"confdir\":\"$STACK_SERVER_CONFDIR\",\"certnames\":[\"$C1\"],\"expected_fingerprints\":{\"$C1\":\"$CSR_FP\"}}"
[ "$TASK_RC" = 0 ] && ok "ca_sign with the staged fingerprint" || not_ok "ca_sign with the staged fingerprint" "$TASK_OUT"
regen
[ "$(json_get "$TASK_OUT" state)" = regenerated ] && ok "once the CA allows alt names, a rerun finishes" ||
    not_ok "once the CA allows alt names, a rerun finishes" "$TASK_OUT"
assert_eq "$(cert_fp "$CCERT")" "$(presented_fp "$COMPILER_PORT")" "the compiler presents the newest cert"
agent_run $G2 && ok "an agent runs through the compiler at the end" ||
    not_ok "an agent runs through the compiler at the end" "$(tail -5 "$TEST_TMP/run-$G2.log")"

finish
