#!/bin/bash
# The primary's side, on a puppetserver of its own (this test replaces its
# CA, so it never touches the shared server), driven as a real SysV service
# (/etc/init.d script from stack_service_install) that the tasks stop and
# start:
#   1. cert_regen::primary_cert: noop, bad parameters, a service list that
#      leaves the server running (refused, nothing changed), the real run
#      (new serial, same names, pp_cli_auth, old serial in the CRL, the
#      server presents the new cert, the cached catalog removed, backups
#      equal the pre-run dirs, inventory line, agents still run,
#      check_server, CA API still works with the new cert), and SIGKILL at
#      each server-* test point followed by a rerun that finishes;
#   2. cert_regen::ca_rebuild: refused without confirm, noop, the run; an
#      old agent fails against the new CA; regenerate with a wrong
#      ca_fingerprint is refused and leaves the agent byte-identical; with
#      the right one (autosigned, and a manually signed agent through
#      ca_sign) the agents run again;
#   3. cert_regen::primary_restore of the rebuild's backups: the old CA is
#      back (cadir equal to the backup), the server starts on it, an agent
#      that was not regenerated runs again.
# ok/not_ok always return 0: `cond && ok || not_ok` is safe here.
# shellcheck disable=SC2015
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/servers.sh"
. "$REPO_ROOT/tests/lib/task.sh"

needs_root "primary tasks" "installs an init script"
task_use_asan hooks

stack_start_own primary.test
SVC="cr-ps-primary-$$"
at_exit stack_service_remove "$SVC"
stack_service_install "$SVC" "$STACK_DIR"
PCONF="$STACK_SERVER_CONFDIR"
PSSL="$STACK_SSLDIR"
PCA="$STACK_CADIR"

server_pid() { cat "$STACK_DIR/run/server.pid" 2>/dev/null || true; }
agent_run() { stack_agent_run "$1" >"$TEST_TMP/run-$1.log" 2>&1; }
params() { # params KEY=JSON... -> object with confdir and services
    ruby -rjson -e 'h = { "confdir" => ARGV.shift, "services" => [ARGV.shift] }
        ARGV.each { |kv| k, v = kv.split("=", 2); h[k] = JSON.parse(v) }
        print JSON.generate(h)' "$PCONF" "$SVC" "$@"
}
err_kind() { json_get "$TASK_OUT" _error.kind; }

A1=a1.auto.test
A2=a2.auto.test
M1=m1.manual.test
for a in $A1 $A2; do stack_bootstrap "$a" >/dev/null 2>&1 || not_ok "bootstrap $a"; done
stack_agent "$M1" >/dev/null
stack_puppet "$M1" ssl bootstrap --waitforcert 0 >/dev/null 2>&1 || true
stack_ca sign --certname "$M1" >/dev/null 2>&1
stack_puppet "$M1" ssl bootstrap --waitforcert 0 >/dev/null 2>&1 &&
    ok "manual agent bootstrapped" || not_ok "manual agent bootstrapped"
agent_run $A1 && agent_run $M1 && ok "agents run before" ||
    not_ok "agents run before" "$(tail -5 "$TEST_TMP/run-$A1.log")"

# ------------------------------------------------------------ primary_cert
HOSTCERT="$PSSL/certs/primary.test.pem"
OLD_FP=$(cert_fp "$HOSTCERT")
OLD_SERIAL=$(cert_serial "$HOSTCERT")
OLD_SANS=$(cert_sans "$HOSTCERT")
snap "$PSSL" >"$TEST_TMP/ssl.0"
snap "$PCA" >"$TEST_TMP/ca.0"

task_run primary_cert "$(params _noop=true)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = unchanged ] &&
    [ "$(json_get "$TASK_OUT" services.$SVC)" = running ] &&
    ok "primary_cert noop reports" || not_ok "primary_cert noop reports" "$TASK_RC $TASK_OUT"
snap "$PSSL" | cmp -s - "$TEST_TMP/ssl.0" && snap "$PCA" | cmp -s - "$TEST_TMP/ca.0" &&
    ok "noop changed nothing" || not_ok "noop changed nothing"

task_run primary_cert "$(params 'dns_alt_names=["bad name"]')"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/invalid-parameter ] &&
    ok "a SAN with a space is refused" || not_ok "a SAN with a space is refused" "$TASK_OUT"
task_run primary_cert "{\"confdir\":\"$PCONF\",\"services\":[\"$SVC\"],\"revoke_old\":\"yes\"}"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/invalid-parameter ] &&
    ok "revoke_old must be a boolean" || not_ok "revoke_old must be a boolean" "$TASK_OUT"

# services that do not include the server: it keeps answering -> refused
task_run primary_cert "{\"confdir\":\"$PCONF\",\"services\":[\"cr-no-such-svc-$$\"]}"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/server-still-running ] &&
    [ "$(json_get "$TASK_OUT" _error.details.live)" = old ] &&
    ok "server still answering -> server-still-running" ||
    not_ok "server still answering -> server-still-running" "$TASK_OUT"
snap "$PSSL" | cmp -s - "$TEST_TMP/ssl.0" && snap "$PCA" | cmp -s - "$TEST_TMP/ca.0" &&
    [ ! -e "$STACK_DIR/.ssl.cert_regen.server" ] &&
    ok "refused run left ssldir, cadir and no journal" || not_ok "refused run left ssldir, cadir and no journal"
stack_status_ok && ok "server still up after the refused run" || not_ok "server still up after the refused run"

# the primary's own agent cached a catalog under the old identity
CATALOG="$(puppet config print client_datadir --section agent --confdir "$PCONF")/catalog/primary.test.json"
plant_catalog() { mkdir -p "$(dirname "$CATALOG")" && echo '{}' >"$CATALOG"; }
plant_catalog
PID0=$(server_pid)
task_run primary_cert "$(params)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = regenerated ] &&
    ok "primary_cert regenerates" || not_ok "primary_cert regenerates" "$TASK_RC $TASK_OUT $(tail -5 "$TEST_TMP/task.err")"
[ ! -e "$CATALOG" ] && [ "$(json_get "$TASK_OUT" cached_catalog_removed)" = "$CATALOG" ] &&
    ok "the primary's cached catalog removed and reported" ||
    not_ok "the primary's cached catalog removed and reported" "$CATALOG: $(json_get "$TASK_OUT" cached_catalog_removed)"
NEW_FP=$(cert_fp "$HOSTCERT")
[ "$NEW_FP" != "$OLD_FP" ] && [ "$(cert_serial "$HOSTCERT")" != "$OLD_SERIAL" ] &&
    ok "new fingerprint and serial" || not_ok "new fingerprint and serial"
[ "$(json_get "$TASK_OUT" new.fingerprint_sha256)" = "$NEW_FP" ] &&
    ok "result names the installed cert" || not_ok "result names the installed cert"
assert_eq "$OLD_SANS" "$(cert_sans "$HOSTCERT")" "same subject alt names"
openssl x509 -in "$HOSTCERT" -noout -text | grep -q '1.3.6.1.4.1.34380.1.3.39' &&
    ok "new cert carries pp_cli_auth" || not_ok "new cert carries pp_cli_auth"
openssl crl -in "$PCA/ca_crl.pem" -noout -text | grep -q "Serial Number: $OLD_SERIAL" &&
    ok "old serial revoked in the CA's CRL" || not_ok "old serial revoked in the CA's CRL"
cmp -s "$PCA/ca_crl.pem" "$PSSL/crl.pem" && ok "hostcrl = CA CRL" || not_ok "hostcrl = CA CRL"
cmp -s "$HOSTCERT" "$PCA/signed/primary.test.pem" && ok "CA's signed/ copy is the new cert" ||
    not_ok "CA's signed/ copy is the new cert"
grep -q "^0x$(cert_serial "$HOSTCERT" | tr 'A-F' 'a-f' | sed 's/^0*//' | awk '{printf "%04s", $0}' | tr ' ' 0) .* /CN=primary.test$" "$PCA/inventory.txt" &&
    ok "inventory line for the new cert" || not_ok "inventory line for the new cert" "$(tail -2 "$PCA/inventory.txt")"
assert_eq "$NEW_FP" "$(presented_fp "$STACK_PORT")" "server presents the new cert"
[ "$(json_get "$TASK_OUT" server_check.matches)" = true ] && ok "task's own server check" || not_ok "task's own server check"
[ -n "$PID0" ] && [ "$(server_pid)" != "$PID0" ] && stack_running &&
    ok "puppetserver was restarted by the task" || not_ok "puppetserver was restarted by the task"
B_SSL=$(json_get "$TASK_OUT" backup.ssldir)
B_CA=$(json_get "$TASK_OUT" backup.cadir)
snap "$B_SSL" | cmp -s - "$TEST_TMP/ssl.0" && snap "$B_CA" | cmp -s - "$TEST_TMP/ca.0" &&
    ok "backups equal the pre-run ssldir and cadir" || not_ok "backups equal the pre-run ssldir and cadir"
[ ! -e "$STACK_DIR/.ssl.cert_regen.server" ] && [ ! -e "$STACK_DIR/.ca.cert_regen.server" ] &&
    ok "staging removed" || not_ok "staging removed"
grep -q -- '-----BEGIN' <<<"$TASK_OUT" && not_ok "no PEM in the result" || ok "no PEM in the result"
agent_run $A1 && agent_run $M1 && ok "existing agents still run" ||
    not_ok "existing agents still run" "$(tail -5 "$TEST_TMP/run-$A1.log")"
task_run check_server "{\"confdir\":\"$(stack_agent_confdir $A1)\",\"expect_fingerprint\":\"$NEW_FP\",\"expect_names\":[\"localhost\",\"IP:127.0.0.1\"]}"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" chain_valid)" = true ] &&
    [ -n "$(json_get "$TASK_OUT" catalog.version)" ] &&
    ok "check_server: new cert, names, a catalog" || not_ok "check_server: new cert, names, a catalog" "$TASK_OUT"
task_run check_server "{\"confdir\":\"$(stack_agent_confdir $A1)\",\"expect_fingerprint\":\"$OLD_FP\"}"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/server-cert-mismatch ] &&
    ok "check_server: old fingerprint -> mismatch" || not_ok "check_server: old fingerprint -> mismatch" "$TASK_OUT"
task_run check_server "{\"confdir\":\"$(stack_agent_confdir $A1)\",\"port\":1}"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/server-unreachable ] &&
    ok "check_server: closed port -> server-unreachable" || not_ok "check_server: closed port -> server-unreachable" "$TASK_OUT"
task_run ca_list "{\"confdir\":\"$PCONF\"}"
[ "$TASK_RC" = 0 ] && grep -q "$A1" <<<"$TASK_OUT" &&
    ok "CA API accepts the new primary cert (ca_list)" || not_ok "CA API accepts the new primary cert (ca_list)" "$TASK_OUT"

# kill -9 at each server-* point, then a plain rerun finishes the job
points=$(grep -ho 'cr_killpoint("server-[a-z-]*")' "$REPO_ROOT"/ext/core/*.c | sed 's/.*("\(.*\)")/\1/')
for p in $points; do
    before=$(cert_fp "$HOSTCERT")
    CERT_REGEN_TEST_KILL_AT=$p task_run primary_cert "$(params)"
    [ "$TASK_RC" = 137 ] && ok "killed at $p" || not_ok "killed at $p" "rc $TASK_RC $TASK_OUT"
    task_run primary_cert "$(params)"
    [ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = regenerated ] &&
        ok "rerun after kill at $p finishes" || not_ok "rerun after kill at $p finishes" "$TASK_OUT"
    now=$(cert_fp "$HOSTCERT")
    [ "$now" != "$before" ] && [ "$(presented_fp "$STACK_PORT")" = "$now" ] &&
        cmp -s "$HOSTCERT" "$PCA/signed/primary.test.pem" &&
        openssl verify -CAfile "$PSSL/certs/ca.pem" -crl_check_all -CRLfile "$PSSL/crl.pem" "$HOSTCERT" >/dev/null 2>&1 &&
        ok "after kill at $p: one consistent new identity served" ||
        not_ok "after kill at $p: one consistent new identity served"
done
agent_run $A1 && ok "agent runs after the kill series" || not_ok "agent runs after the kill series"

# -------------------------------------------------------------- ca_rebuild
OLD_ROOT=$(openssl x509 -in "$PCA/ca_crt.pem" -noout -fingerprint -sha256 | cut -d= -f2) # intermediate
OLD_ROOT_FP=$(awk '/BEGIN/{n++} n==2' "$PCA/ca_crt.pem" | openssl x509 -noout -fingerprint -sha256 | cut -d= -f2)
PRIMARY_FP=$(cert_fp "$HOSTCERT")
snap "$PSSL" >"$TEST_TMP/ssl.1"
snap "$PCA" >"$TEST_TMP/ca.1"
task_run ca_rebuild "$(params)"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/invalid-parameter ] &&
    ok "ca_rebuild refused without confirm" || not_ok "ca_rebuild refused without confirm" "$TASK_OUT"
task_run ca_rebuild "$(params _noop=true)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = unchanged ] &&
    snap "$PCA" | cmp -s - "$TEST_TMP/ca.1" &&
    ok "ca_rebuild noop changes nothing" || not_ok "ca_rebuild noop changes nothing" "$TASK_OUT"
plant_catalog
task_run ca_rebuild "$(params confirm=true)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = rebuilt ] &&
    ok "ca_rebuild rebuilds" || not_ok "ca_rebuild rebuilds" "$TASK_RC $TASK_OUT $(tail -5 "$TEST_TMP/task.err")"
[ ! -e "$CATALOG" ] && ok "ca_rebuild removed the cached catalog" || not_ok "ca_rebuild removed the cached catalog"
NEW_ROOT_FP=$(json_get "$TASK_OUT" new_ca.root_fingerprint_sha256)
RB_SSL=$(json_get "$TASK_OUT" backup.ssldir)
RB_CA=$(json_get "$TASK_OUT" backup.cadir)
[ -n "$NEW_ROOT_FP" ] && [ "$NEW_ROOT_FP" != "$OLD_ROOT_FP" ] &&
    [ "$(awk '/BEGIN/{n++} n==2' "$PCA/ca_crt.pem" | openssl x509 -noout -fingerprint -sha256 | cut -d= -f2)" = "$NEW_ROOT_FP" ] &&
    ok "a new root CA, reported by fingerprint" || not_ok "a new root CA, reported by fingerprint" "$NEW_ROOT_FP vs $OLD_ROOT_FP"
snap "$RB_CA" | cmp -s - "$TEST_TMP/ca.1" && snap "$RB_SSL" | cmp -s - "$TEST_TMP/ssl.1" &&
    ok "rebuild backups equal the old CA and ssldir" || not_ok "rebuild backups equal the old CA and ssldir"
assert_eq "$(cert_fp "$HOSTCERT")" "$(presented_fp "$STACK_PORT")" "server presents the new CA's primary cert"
assert_eq "$OLD_SANS" "$(cert_sans "$HOSTCERT")" "primary keeps its names"
agent_run $A1 && not_ok "old agent fails against the new CA" || ok "old agent fails against the new CA"

A1C=$(stack_agent_confdir $A1)
snap "$A1C/ssl" >"$TEST_TMP/a1.ssl"
task_run regenerate "{\"confdir\":\"$A1C\",\"services\":[],\"ca_fingerprint\":\"$OLD_ROOT_FP\"}"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/ca-pin-mismatch ] &&
    ok "wrong ca_fingerprint (the old CA's) refused: ca-pin-mismatch" || not_ok "wrong ca_fingerprint (the old CA's) refused: ca-pin-mismatch" "$TASK_OUT"
assert_match 'fingerprint the new CA printed' "$(json_get "$TASK_OUT" _error.details.next_step)" "wrong ca_fingerprint: next_step says where the right one is"
snap "$A1C/ssl" | cmp -s - "$TEST_TMP/a1.ssl" && ok "refused agent left byte-identical" ||
    not_ok "refused agent left byte-identical"
task_run regenerate "{\"confdir\":\"$A1C\",\"services\":[],\"ca_fingerprint\":\"$NEW_ROOT_FP\"}"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = regenerated ] &&
    ok "agent regenerated against the new CA (autosign)" || not_ok "agent regenerated against the new CA (autosign)" "$TASK_OUT"
agent_run $A1 && ok "regenerated agent runs on the new CA" ||
    not_ok "regenerated agent runs on the new CA" "$(tail -5 "$TEST_TMP/run-$A1.log")"

M1C=$(stack_agent_confdir $M1)
task_run regenerate "{\"confdir\":\"$M1C\",\"services\":[],\"ca_fingerprint\":\"$NEW_ROOT_FP\",\"wait_for_cert\":0}"
CSR_FP=$(json_get "$TASK_OUT" csr_fingerprint)
[ "$(json_get "$TASK_OUT" state)" = pending ] && [ -n "$CSR_FP" ] &&
    ok "manual agent pending on the new CA" || not_ok "manual agent pending on the new CA" "$TASK_OUT"
task_run ca_sign "{\"confdir\":\"$PCONF\",\"certnames\":[\"$M1\"],\"expected_fingerprints\":{\"$M1\":\"$CSR_FP\"}}"
[ "$TASK_RC" = 0 ] && ok "ca_sign with the new primary cert" || not_ok "ca_sign with the new primary cert" "$TASK_OUT"
task_run regenerate "{\"confdir\":\"$M1C\",\"services\":[],\"ca_fingerprint\":\"$NEW_ROOT_FP\"}"
[ "$(json_get "$TASK_OUT" state)" = regenerated ] && agent_run $M1 &&
    ok "manual agent installed and runs" || not_ok "manual agent installed and runs" "$TASK_OUT"
task_run check_server "{\"confdir\":\"$M1C\",\"expect_fingerprint\":\"$(cert_fp "$HOSTCERT")\"}"
[ "$TASK_RC" = 0 ] && ok "check_server from a regenerated agent" || not_ok "check_server from a regenerated agent" "$TASK_OUT"

# --------------------------------------------------------- primary_restore
task_run primary_restore "$(params "backup=\"$RB_SSL\"" "ca_backup=\"$RB_CA\"")"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = restored ] &&
    ok "primary_restore of the rebuild's backups" || not_ok "primary_restore of the rebuild's backups" "$TASK_OUT $(tail -5 "$TEST_TMP/task.err")"
snap "$PCA" | cmp -s - "$TEST_TMP/ca.1" && ok "cadir is the old CA again, byte for byte" ||
    not_ok "cadir is the old CA again, byte for byte" "$(diff <(snap "$PCA") "$TEST_TMP/ca.1" | head -5)"
assert_eq "$PRIMARY_FP" "$(presented_fp "$STACK_PORT")" "server presents the old primary cert again"
agent_run $A2 && ok "an agent of the old CA runs again" || not_ok "an agent of the old CA runs again" "$(tail -5 "$TEST_TMP/run-$A2.log")"
agent_run $A1 && not_ok "an agent moved to the new CA fails on the old one" || ok "an agent moved to the new CA fails on the old one"
[ -d "$(json_get "$TASK_OUT" backup.cadir)" ] && ok "restore kept the replaced CA too" || not_ok "restore kept the replaced CA too"

finish
