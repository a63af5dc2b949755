#!/bin/bash
# cr_service against a REAL SysV service, and cr_lock against the REAL puppet
# agent (no puppetserver needed):
#   - a test init script /etc/init.d/cr-test-svc-$$ (start-stop-daemon, a
#     pidfile in TEST_TMP) driven by `cert_regen service NAME ...`: absent,
#     start, stop, restart-detached (returns at once with stdout released,
#     the service comes back with a new PID);
#   - `cert_regen lock` holding the agent's ssl.lock / catalog run lock makes
#     `puppet agent -t` stop with Puppet's own "already running" messages and
#     leave our lock alone; Puppet::Util::Pidlock (run by ruby) holding the
#     lock makes our acquire wait, then fail with cert_regen/locked, or
#     succeed once it is released; `puppet agent --disable` is read back.
# Needs root (it installs an init script).  Environment:
#   CERT_REGEN_BIN  the binary (default files/bin/<platform>/cert_regen);
#                   it must dispatch the `service` and `lock` subcommands.
. "$(dirname "$0")/../lib/testlib.sh"

PLATFORM="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
BIN="${CERT_REGEN_BIN:-$REPO_ROOT/files/bin/$PLATFORM/cert_regen}"
SVC="cr-test-svc-$$"
INIT="/etc/init.d/$SVC"
PIDFILE="$TEST_TMP/$SVC.pid"

if [ "$(id -u)" -ne 0 ]; then
    skip "services and locks" "needs root (installs $INIT)"
    finish
fi
if [ ! -x "$BIN" ]; then
    not_ok "cert_regen binary exists" "not executable: $BIN (make -C ext)"
    finish
fi
rc=0
"$BIN" service "$SVC-missing" state >"$TEST_TMP/probe.out" 2>&1 || rc=$?
if ! grep -q '"state"' "$TEST_TMP/probe.out"; then
    not_ok "cert_regen dispatches the service subcommand" \
        "exit $rc: $(head -c 300 "$TEST_TMP/probe.out") (is the dispatch line in ext/cli/main.c?)"
    finish
fi

now_ms() { date +%s%3N; }
svc_pid() { cat "$PIDFILE" 2>/dev/null || true; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# --- a real SysV service --------------------------------------------------
cat >"$INIT" <<EOF
#!/bin/sh
### BEGIN INIT INFO
# Provides:          $SVC
# Required-Start:    \$remote_fs
# Required-Stop:     \$remote_fs
# Default-Start:
# Default-Stop:
# Short-Description: cert_regen test service (tests/integration/test_services.sh)
### END INIT INFO
PIDFILE="$PIDFILE"
case "\$1" in
start)
    start-stop-daemon --start --quiet --background --make-pidfile \\
        --pidfile "\$PIDFILE" --startas /bin/sleep -- 86400 ;;
stop)
    start-stop-daemon --stop --quiet --retry TERM/5/KILL/2 --oknodo \\
        --pidfile "\$PIDFILE" --remove-pidfile ;;
restart)
    "\$0" stop && "\$0" start ;;
status)
    start-stop-daemon --status --pidfile "\$PIDFILE" ;;
*)
    echo "usage: \$0 start|stop|restart|status" >&2; exit 2 ;;
esac
EOF
chmod 0755 "$INIT"
# shellcheck disable=SC2016
at_exit 'start-stop-daemon --stop --quiet --oknodo --retry KILL/2 --pidfile "$PIDFILE" >/dev/null 2>&1; rm -f "$INIT"'

svc() { "$BIN" service "$@" 2>"$TEST_TMP/svc.err"; }

out=$(svc "$SVC-missing" state) || true
assert_eq absent "$(json_get "$out" state)" "a service without an init script is absent"
assert_eq sysv "$(json_get "$out" backend)" "backend is SysV (no /run/systemd/system here)"
rc=0; out=$(svc "$SVC-missing" start) || rc=$?
assert_eq "1 cert_regen/service-error" "$rc $(json_get "$out" _error.kind)" "starting an absent service fails with service-error"
rc=0; out=$(svc 'x;id' state) || rc=$?
assert_eq "1 cert_regen/invalid-parameter" "$rc $(json_get "$out" _error.kind)" "a name outside [a-zA-Z0-9@._-] is refused"

assert_eq stopped "$(json_get "$(svc "$SVC" state)" state)" "installed, not started: stopped"
t0=$(now_ms)
out=$(svc "$SVC" start) || true
took=$(( $(now_ms) - t0 ))
assert_eq running "$(json_get "$out" state)" "start -> running"
pid1=$(svc_pid)
if alive "$pid1"; then ok "the daemon runs (pid $pid1)"; else not_ok "the daemon runs" "pidfile: '$pid1'"; fi
if [ "$took" -lt 10000 ]; then ok "start returned in ${took} ms (the daemon does not hold our pipes)"; else not_ok "start returned promptly" "${took} ms"; fi
assert_eq running "$(json_get "$(svc "$SVC" state)" state)" "state -> running"
out=$(svc "$SVC" stop) || true
assert_eq stopped "$(json_get "$out" state)" "stop -> stopped"
if alive "$pid1"; then not_ok "the daemon is gone after stop" "pid $pid1 alive"; else ok "the daemon is gone after stop"; fi
assert_eq running "$(json_get "$(svc "$SVC" start)" state)" "start again -> running"
pid1=$(svc_pid)

# restart-detached: the command substitution must end at once although the
# restart happens 3 s later: the detached child holds no copy of our stdout.
t0=$(now_ms)
out=$(svc "$SVC" restart-detached --delay 3) || true
took=$(( $(now_ms) - t0 ))
assert_eq true "$(json_get "$out" scheduled)" "restart-detached reports scheduled"
if [ "$took" -lt 2000 ]; then ok "restart-detached returned in ${took} ms (stdout released)"; else not_ok "restart-detached returned at once" "${took} ms"; fi
assert_eq "$pid1" "$(svc_pid)" "nothing restarted before the delay"
pid2=""
for _ in $(seq 1 60); do
    pid2=$(svc_pid)
    if [ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && alive "$pid2"; then break; fi
    sleep 0.5
done
if [ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && alive "$pid2"; then
    ok "service restarted by the detached child (pid $pid1 -> $pid2)"
else
    not_ok "service restarted by the detached child" "old $pid1, now '$pid2'"
fi
if alive "$pid1"; then not_ok "the old daemon is gone" "pid $pid1 alive"; else ok "the old daemon is gone"; fi
assert_eq running "$(json_get "$(svc "$SVC" state)" state)" "running again after the detached restart"
assert_eq false "$(json_get "$out" under_pxp_agent)" "not under pxp-agent here"
svc "$SVC" stop >/dev/null || true

# --- locks against the real puppet agent -----------------------------------
conf="$TEST_TMP/puppet/conf"
pvar="$TEST_TMP/puppet/var"
pssl="$TEST_TMP/puppet/ssl"
mkdir -p "$conf" "$pvar/state" "$pssl/certs" "$pssl/private_keys"
cat >"$conf/puppet.conf" <<EOF
[main]
vardir = $pvar
ssldir = $pssl
rundir = $TEST_TMP/puppet/run
logdir = $TEST_TMP/puppet/log
server = cr-no-such-server.invalid
certname = cr-lock-test
certificate_revocation = false
EOF
"$BIN" settings --confdir "$conf" agent_catalog_run_lockfile ssl_lockfile \
    agent_disabled_lockfile >"$TEST_TMP/settings.json"
run_lock=$(json_get "$TEST_TMP/settings.json" agent_catalog_run_lockfile)
ssl_lock=$(json_get "$TEST_TMP/settings.json" ssl_lockfile)
dis_lock=$(json_get "$TEST_TMP/settings.json" agent_disabled_lockfile)
assert_eq "$(puppet config print agent_catalog_run_lockfile --section agent --confdir "$conf")" "$run_lock" "catalog run lock path equals puppet's"
assert_eq "$(puppet config print ssl_lockfile --section agent --confdir "$conf")" "$ssl_lock" "ssl lock path equals puppet's"

# A CA and a signed agent cert, so `puppet agent -t` gets past its SSL state
# machine to the catalog lock without a server.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TEST_TMP/ca.key" \
    -out "$pssl/certs/ca.pem" -days 2 -subj "/CN=cr test CA" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout "$pssl/private_keys/cr-lock-test.pem" \
    -out "$TEST_TMP/agent.csr" -subj "/CN=cr-lock-test" >/dev/null 2>&1
openssl x509 -req -in "$TEST_TMP/agent.csr" -CA "$pssl/certs/ca.pem" \
    -CAkey "$TEST_TMP/ca.key" -CAcreateserial -days 2 \
    -out "$pssl/certs/cr-lock-test.pem" >/dev/null 2>&1

HOLDER=""
stop_holder() {
    if [ -n "$HOLDER" ]; then kill "$HOLDER" 2>/dev/null || true; wait "$HOLDER" 2>/dev/null || true; fi
    HOLDER=""
}
at_exit stop_holder
# hold_lock PATH: cert_regen holds PATH in the background until stop_holder.
hold_lock() {
    : >"$TEST_TMP/hold.out"
    "$BIN" lock "$1" 120 --timeout 5000 >"$TEST_TMP/hold.out" 2>&1 &
    HOLDER=$!
    for _ in $(seq 1 50); do
        grep -q '"pid"' "$TEST_TMP/hold.out" && return 0
        sleep 0.1
    done
    return 1
}
agent_t() { puppet agent -t --confdir "$conf" --color false >"$TEST_TMP/agent.out" 2>&1; }
# agent_refused LOCK NAME DESC SAYS: cert_regen holds LOCK (the NAME) and
# puppet agent -t, refused, exits 1 saying SAYS (a regex; the check DESC).
# The holder stays for the caller's checks.
agent_refused() {
    local lock=$1 name=$2 desc=$3 says=$4 rc=0
    assert_cmd "cert_regen takes the $name" -- hold_lock "$lock"
    agent_t || rc=$?
    assert_eq 1 "$rc" "puppet agent -t exits 1 while we hold the $name"
    assert_match "$says" "$(cat "$TEST_TMP/agent.out")" "$desc"
}

agent_refused "$ssl_lock" "ssl lock" "puppet reports another instance holding the SSL lock" \
    "Another puppet instance is already running and the waitforlock setting is set to 0; exiting"
assert_eq "$HOLDER" "$(cat "$ssl_lock")" "puppet left our ssl.lock alone (it judged us a puppet process)"
stop_holder
assert_eq "" "$(cat "$ssl_lock" 2>/dev/null)" "ssl.lock removed on release"

agent_refused "$run_lock" "catalog run lock" "puppet reports a run already in progress" \
    "Run of Puppet configuration client already in progress; skipping +\\($run_lock exists\\)"
assert_eq "$HOLDER" "$(cat "$run_lock")" "puppet left our catalog run lock alone"
# Puppet's own Pidlock sees it as locked
assert_eq true "$(ruby -e 'require "puppet"; Puppet.initialize_settings(["--confdir", ARGV[1]]); print Puppet::Util::Pidlock.new(ARGV[0]).locked?' "$run_lock" "$conf" 2>&1)" \
    "Puppet::Util::Pidlock#locked? is true for our lock"
stop_holder

# Control: a lock held by a live non-puppet process is stale to Puppet.
sleep 60 &
sleeper=$!
printf '%s' "$sleeper" >"$run_lock"
agent_t || true
kill "$sleeper" 2>/dev/null || true; wait "$sleeper" 2>/dev/null || true
if grep -q "already in progress" "$TEST_TMP/agent.out"; then
    not_ok "control: puppet clears a lock held by a non-puppet PID" "$(tail -5 "$TEST_TMP/agent.out")"
else
    ok "control: puppet clears a lock held by a non-puppet PID (so the name check above matters)"
fi
rm -f "$run_lock"

# Vice versa: Puppet::Util::Pidlock (ruby + puppet in its arguments, as a
# real agent) holds the lock; our acquire waits, then fails or succeeds.
ruby -e 'require "puppet"; l = Puppet::Util::Pidlock.new(ARGV[0]); l.lock or exit 2
         STDOUT.puts Process.pid; STDOUT.flush; sleep Float(ARGV[1]); l.unlock' \
    "$run_lock" 4 >"$TEST_TMP/ruby.out" 2>&1 &
ruby_pid=$!
for _ in $(seq 1 100); do [ -s "$TEST_TMP/ruby.out" ] && break; sleep 0.1; done
assert_eq "$ruby_pid" "$(cat "$run_lock" 2>/dev/null)" "Puppet's Pidlock wrote its PID"
t0=$(now_ms)
rc=0; out=$("$BIN" lock "$run_lock" 0 --timeout 1000 2>/dev/null) || rc=$?
took=$(( $(now_ms) - t0 ))
assert_eq "1 cert_regen/locked" "$rc $(json_get "$out" _error.kind)" "acquire fails with cert_regen/locked while puppet holds it"
assert_eq "$ruby_pid" "$(json_get "$out" _error.details.pid)" "the error names the holder's PID"
assert_match "require \"puppet\"" "$(json_get "$out" _error.details.holder)" "the error shows the holder's command line"
if [ "$took" -ge 1000 ] && [ "$took" -lt 3000 ]; then ok "it waited the 1000 ms bound (${took} ms)"; else not_ok "it waited the 1000 ms bound" "${took} ms"; fi
rc=0; out=$("$BIN" lock "$run_lock" 0 --timeout 15000 2>/dev/null) || rc=$?
assert_eq 0 "$rc" "acquire with a longer bound succeeds once puppet releases"
waited=$(json_get "$out" waited_ms)
if [ "${waited:-0}" -ge 500 ]; then ok "it waited for the holder (${waited} ms)"; else not_ok "it waited for the holder" "waited_ms: '$waited'"; fi
wait "$ruby_pid" 2>/dev/null || true
assert_eq "" "$(cat "$run_lock" 2>/dev/null)" "no lock left behind"

# The agent's administrative disable, as `puppet agent --disable` writes it
puppet agent --disable "cr test maintenance" --confdir "$conf" >/dev/null 2>&1
out=$("$BIN" lock --disabled "$dis_lock")
assert_eq "true|cr test maintenance" "$(json_get "$out" disabled)|$(json_get "$out" message)" "puppet agent --disable is read with its message"
puppet agent --enable --confdir "$conf" >/dev/null 2>&1
assert_eq false "$(json_get "$("$BIN" lock --disabled "$dis_lock")" disabled)" "puppet agent --enable is seen"

finish
