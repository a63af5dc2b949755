#!/bin/bash
# The primary's tasks (primary_cert, ca_rebuild, primary_restore) take
# Puppet's agent locks BEFORE they read the old certificate and the journal,
# as regenerate does (issue 15 #7): a second concurrent run waits for the
# first and then sees the state it left, instead of going on with what it
# read before.  Focused on the order, on a primary's layout built here (no
# puppetserver needed): while another process holds the agent lock, a run
# with lock_timeout=1 must fail with cert_regen/locked, before it reads
#  - a damaged host certificate (read first, it failed with io/parse-error)
#  - the journal of another operation (read first: operation-in-progress).
# Also: a journal that names no operation says so, never "cert_regen::(null)".
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/task.sh"

bin=${CERT_REGEN_TASK_BIN:-$REPO_ROOT/files/bin/$(uname -s | tr 'A-Z' 'a-z')-$(uname -m)/cert_regen}
p=$TEST_TMP/primary
mkdir -p "$p/conf" "$p/ssl/certs" "$p/ssl/private_keys" "$p/ca" "$p/var/state" "$p/run" "$p/log"
cat >"$p/conf/puppet.conf" <<CONF
[main]
certname = primary.lock.test
confdir = $p/conf
vardir = $p/var
rundir = $p/run
logdir = $p/log
ssldir = $p/ssl
[server]
cadir = $p/ca
CONF
echo 'not a certificate' >"$p/ssl/certs/primary.lock.test.pem"
lockfile=$(json_get "$("$bin" settings --confdir "$p/conf" --section server agent_catalog_run_lockfile)" agent_catalog_run_lockfile)
assert_match "^$p/" "$lockfile" "the agent lock is under the test's vardir ($lockfile)"

holder_out=$TEST_TMP/holder.out
"$bin" lock "$lockfile" 60 >"$holder_out" 2>&1 &
holder=$!
stop_holder() { kill "$holder" 2>/dev/null || true; }
at_exit stop_holder
for _ in $(seq 50); do grep -q '"pid"' "$holder_out" && break; sleep 0.1; done
assert_match '"pid"' "$(cat "$holder_out")" "another process holds the agent lock"

task_run primary_cert "{\"confdir\":\"$p/conf\",\"lock_timeout\":1,\"services\":[]}"
assert_eq cert_regen/locked "$(json_get "$TASK_OUT" _error.kind 2>/dev/null)" "primary_cert waits for the lock before reading the (damaged) old certificate"
assert_eq preflight "$(json_get "$TASK_OUT" _error.details.step 2>/dev/null)" "it fails in preflight"

staging="$p/.ssl.cert_regen.server"
mkdir -p "$staging"
chmod 0700 "$staging"
echo '{"operation":"ca_rebuild","state":"stopped"}' >"$staging/journal.json"
chmod 0600 "$staging/journal.json"
task_run primary_restore "{\"confdir\":\"$p/conf\",\"lock_timeout\":1,\"services\":[]}"
assert_eq cert_regen/locked "$(json_get "$TASK_OUT" _error.kind 2>/dev/null)" "primary_restore waits for the lock before reading another run's journal"

kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
# without the holder: the journal is read, under the lock
task_run primary_restore "{\"confdir\":\"$p/conf\",\"lock_timeout\":1,\"services\":[]}"
assert_eq cert_regen/operation-in-progress "$(json_get "$TASK_OUT" _error.kind 2>/dev/null)" "then the other operation's journal is seen: operation-in-progress"
assert_match "run cert_regen::ca_rebuild again" "$(json_get "$TASK_OUT" _error.msg 2>/dev/null)" "it says to finish ca_rebuild"
echo '{"state":"stopped"}' >"$staging/journal.json"
task_run primary_restore "{\"confdir\":\"$p/conf\",\"lock_timeout\":1,\"services\":[]}"
assert_eq cert_regen/operation-in-progress "$(json_get "$TASK_OUT" _error.kind 2>/dev/null)" "a journal without operation: operation-in-progress"
if [[ $TASK_OUT == *'(null)'* ]]; then not_ok "no (null) in the answer" "$TASK_OUT"; else ok "no (null) in the answer"; fi
assert_match "names no operation.*move $staging aside" "$(json_get "$TASK_OUT" _error.msg 2>/dev/null)" "it says the journal names no operation and what to do"
finish
