#!/bin/bash
# test_matrix: Debian 11, 12 and 13 agent nodes (real systemd under
# systemd-nspawn, roots from tests/build-roots.sh) against the CA of Debian 12
# (the host's puppetserver 7.9.5) and of Debian 13 (puppetserver 8.7 in a
# trixie root).  Each cell: bootstrap + the fact through a real agent run,
# the agent's service started under systemd, status, the CA tasks (clean),
# regenerate and restore around the running service, an agent run after;
# on 8.7 also ca_list and regenerate_agents' task sequence
# (test_plan_sequence.sh run inside the Debian 13 root).
# A cell that cannot run says why (# SKIP) and is never counted as passed.
# One puppetserver JVM of this test runs at a time (the 8.7 one only after
# the Debian 12 column is done; the shared host server stays up meanwhile).
# Results, one line per cell and item: $TEST_TMP/matrix.tsv (copied to
# $CR_MATRIX_RESULTS when set).
# shellcheck disable=SC2015
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
. "$REPO_ROOT/tests/lib/roots.sh"
. "$REPO_ROOT/tests/lib/nodes.sh"

T_START=$(date +%s)
nodes_begin "the Debian 11/12/13 x CA 7.9.5/8.7 matrix" bullseye bookworm trixie

# JVM starts take 20 s on a quiet machine and minutes on a loaded one
export STACK_START_TIMEOUT=${STACK_START_TIMEOUT:-420}
# The executable every node gets: CR_MATRIX_BIN, else the self-contained
# release build (tests/lib/static.sh builds it from the cached pinned
# libraries), else the dynamic files/bin build.
if [ -z "${CR_MATRIX_BIN:-}" ] && [ -z "${CR_STATIC_EXE:-}" ]; then
    if CR_STATIC_EXE=$(bash "$REPO_ROOT/tests/lib/static.sh" 2>"$TEST_TMP/static.log"); then
        export CR_STATIC_EXE
    else
        unset CR_STATIC_EXE
        echo "# no static build ($(tail -n 1 "$TEST_TMP/static.log")): nodes get the dynamic one"
    fi
fi
echo "# nodes run $(nodes_bin) ($(file -b "$(nodes_bin)" 2>/dev/null | cut -d, -f1-5))"
RESULTS=$TEST_TMP/matrix.tsv
: >"$RESULTS"
# cell CA NODE ITEM pass|fail|skip REASON
cell() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$RESULTS"; }
out() { json_get "$TASK_OUT" "$1" 2>/dev/null || true; }
serial_in() { openssl x509 -in "$1" -noout -serial 2>/dev/null | sed 's/^serial=//'; }
# cert_regen settings' JSON as `puppet config print` lines, sorted
settings_lines() { ruby -rjson -e 'JSON.parse(STDIN.read).sort.each { |k, v| puts "#{k} = #{v}" }' 2>&1; }
tail_err() { printf 'rc=%s out=%s\n%s' "$TASK_RC" "$(printf '%s' "$TASK_OUT" | head -c 800)" "$(tail -n 5 "$TEST_TMP/task.err" 2>/dev/null)"; }

# check CA NODE ITEM DESC COND-RESULT(0/1) WHY
check() {
    if [ "$5" -eq 0 ]; then ok "[$1 x $2] $4"; cell "$1" "$2" "$3" pass
    else not_ok "[$1 x $2] $4" "$6"; cell "$1" "$2" "$3" fail "$(printf '%s' "$6" | head -n 1 | cut -c1-200)"; fi
}
skipcell() { skip "[$1 x $2] $4" "$5"; cell "$1" "$2" "$3" skip "$5"; }

# ---------------------------------------------------------------- CAs --
# CA_TAG CA_PORT CA_SSL (host path of the server's ssldir) CA_ENVS (host
# path of its environments) CA_LINK (module path as the server sees it)
# ca_task TASK JSON: the CA tasks, run where the CA runs.
ca_use_host() {
    stack_ensure || return 1
    CA_TAG=ps7.9.5; CA_PORT=$STACK_PORT; CA_SSL=$STACK_SSLDIR
    CA_ENVS=$STACK_DIR/code/environments; CA_CONFDIR=$STACK_SERVER_CONFDIR; CA_DIR=""
}
ca_task() {
    if [ -z "$CA_DIR" ]; then task_run "$1" "$2"; else node_task "$CA_DIR" "$1" "$2"; fi
}

CA8=$TEST_TMP/ca8
ca8_stop() {
    [ -d "$CA8" ] || return 0
    roots_poweroff "$CA8"
    roots_overlay_drop "$CA8"
}
at_exit ca8_stop
ca_use_8() {
    local port rc=0
    port=$(_stack_pick_port) || return 1
    roots_overlay trixie "$CA8" || return 1
    node_install_tasks "$CA8/merged"
    roots_boot ca8 "$CA8" "--bind-ro=$REPO_ROOT" || return 1
    # tests/lib/stack.sh, run inside the Debian 13 root: its puppetserver 8.7
    # listens on the shared loopback.
    # shellcheck disable=SC2016
    roots_exec_dir "$CA8" "STACK_START_TIMEOUT=$STACK_START_TIMEOUT" bash -c \
        '. "$1/tests/lib/stack.sh" && stack_start /srv/stack "$2"' _ "$REPO_ROOT" "$port" \
        >"$TEST_TMP/ca8-start.log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || { cat "$TEST_TMP/ca8-start.log" >&2; return 1; }
    CA_TAG=ps8.7; CA_PORT=$port; CA_SSL=$CA8/merged/srv/stack/ssl
    CA_ENVS=$CA8/merged/srv/stack/code/environments; CA_CONFDIR=/srv/stack/etc; CA_DIR=$CA8
}

# The environment "matrix": the module as the release package lays it out
# (`rake package`): lib/ with an extension per agent Ruby of rubies.lock
# (Debian 11's 2.7, Debian 13's 3.3, beside the host's 3.1) and the nodes'
# executable in lib/cert_regen/bin/linux-x86_64, the fact's fallback; and a
# site.pp that shows the fact (its "source" says which path it took).
ca_env() {
    local mod=$CA_ENVS/matrix/modules/cert_regen ver
    rm -rf "$mod"
    mkdir -p "$mod/lib/cert_regen/bin/linux-x86_64" "$CA_ENVS/matrix/manifests"
    cp -a "$REPO_ROOT/metadata.json" "$REPO_ROOT/lib" "$mod/"
    cp "$(nodes_bin)" "$mod/lib/cert_regen/bin/linux-x86_64/cert_regen"
    for ver in $(awk '/^[0-9]/ { print $1 }' "$REPO_ROOT/ext/cert_regen_native/rubies.lock"); do
        bash "$REPO_ROOT/ext/cert_regen_native/build_abi.sh" "$ver" \
            "$mod/lib/cert_regen/native/$ver.0/x86_64-linux-gnu/cert_regen_native.so" \
            >>"$TEST_TMP/build_abi.log" 2>&1 ||
            echo "# no extension for ruby $ver in the matrix environment (the fact falls back to the executable): $(tail -n 1 "$TEST_TMP/build_abi.log")"
    done
    # shellcheck disable=SC2016
    printf '%s\n' 'node default {' \
        '  $h = $facts.dig("cert_regen", "health")' \
        '  $e = $facts.dig("cert_regen", "error")' \
        '  $s = $facts.dig("cert_regen", "source")' \
        '  notify { "matrix-fact health=${h} source=${s} error=${e} end": }' '}' \
        >"$CA_ENVS/matrix/manifests/site.pp"
}

# ---------------------------------------------------------------- nodes --
declare -A DEBIAN=([bullseye]=11 [bookworm]=12 [trixie]=13)

# node_agent_t DIR: `puppet agent -t`, waiting while the service's own run
# holds the lock; output in $TEST_TMP/agent.out, returns puppet's exit code.
# Also tried again: Puppet's own pidlock race, when the service's run ends
# between Pidlock's kill(0) and its `ps -p PID -o comm=` (puppet then fails
# with "Execution of 'ps -p ...' returned 1").
node_agent_t() {
    local dir=$1 rc i
    for i in $(seq 1 30); do
        rc=0
        roots_exec_dir "$dir" timeout 300 puppet agent -t --waitforcert 0 >"$TEST_TMP/agent.out" 2>&1 || rc=$?
        grep -q -e 'already in progress' -e "Execution of 'ps -p" "$TEST_TMP/agent.out" || break
        sleep 2; : "$i"
    done
    return "$rc"
}

# svc_start_settled DIR: (re)starts puppet.service and waits (at most
# 180 s) until the daemon's first run has written its lastrunfile.  A
# daemon still starting when a task takes Puppet's agent lock exits with
# "Another puppet instance is already running and the waitforlock setting
# is set to 0" and the unit fails: the tests must not race its start.
svc_start_settled() {
    local f t0 i mtime
    f=$(roots_exec_dir "$1" puppet config print lastrunfile --section agent 2>/dev/null | tr -d '\r')
    t0=$(date +%s)
    roots_exec_dir "$1" systemctl restart puppet >/dev/null 2>&1
    for i in $(seq 1 90); do
        mtime=$(stat -c %Y "$(cpath "$f")" 2>/dev/null || echo 0)
        [ "$mtime" -ge "$t0" ] && return 0
        sleep 2; : "$i"
    done
    echo "# puppet.service: no run of the daemon within 180 s ($f): $(svc_log "$1")"
}

# svc_log DIR: puppet.service's state and last journal lines on the node,
# one line (why a service check failed: the unit's own words)
svc_log() {
    roots_exec_dir "$1" sh -c 'systemctl status puppet --no-pager -n 0 2>&1 | sed -n 3p; journalctl -u puppet --no-pager -n 8 -o cat 2>&1' 2>/dev/null |
        tr '\n' '|' | cut -c1-900
}

# cpath PATH: where a path of the running node is on the host (run_cell's
# locals: the bound ssldir parent, else the overlay)
cpath() {
    case $1 in
        "$sslparent"/*) printf '%s\n' "$dir/sslparent${1#"$sslparent"}" ;;
        *) printf '%s\n' "$m$1" ;;
    esac
}

run_cell() {
    local suite=$1 deb node dir cn m why t0 rc ssldir old new svc fact
    deb="Debian ${DEBIAN[$suite]}"
    node="deb${DEBIAN[$suite]}"
    t0=$(date +%s)
    dir=$TEST_TMP/$node-$CA_TAG
    cn="$node-${CA_TAG//./-}-$$.auto.test"
    m=$dir/merged
    roots_overlay "$suite" "$dir" || { check "$CA_TAG" "$node" boot "overlay of $suite" 1 "mount failed"; return; }
    node_install_tasks "$m"
    local portkey=serverport
    [ "$suite" = bullseye ] && portkey=masterport   # Puppet 5.5 has no serverport
    printf '[main]\ncertname = %s\nserver = localhost\n%s = %s\nca_port = %s\nkeylength = 2048\n[agent]\nenvironment = matrix\nruninterval = 1h\n' \
        "$cn" "$portkey" "$CA_PORT" "$CA_PORT" >"$m/etc/puppet/puppet.conf"
    if [ "$suite" = bullseye ]; then
        # Puppet 5.5 keeps only the first certificate of the CA bundle it
        # downloads and only the first CRL of crl.pem; against puppetserver's
        # root + intermediate CA it needs the bundle placed by hand and CRL
        # checking off (docs/limitations.md, "Debian 11's Puppet 5.5").
        ssldir=/etc/puppet/ssl
        mkdir -p "$m$ssldir/certs"
        cp "$CA_SSL/certs/ca.pem" "$m$ssldir/certs/ca.pem"
        printf 'certificate_revocation = false\n' >>"$m/etc/puppet/puppet.conf"
    fi
    # The ssldir's parent on the host's filesystem, not on overlayfs: restore
    # exchanges directories with renameat2(RENAME_EXCHANGE), which overlayfs
    # refuses (docs/limitations.md).
    local sslparent=/var/lib/puppet
    [ "$suite" = bullseye ] && sslparent=/etc/puppet
    mkdir -p "$dir/sslparent"
    cp -a "$m$sslparent/." "$dir/sslparent/"
    if ! roots_boot "$node" "$dir" "--bind=$dir/sslparent:$sslparent"; then
        check "$CA_TAG" "$node" boot "$deb boots systemd" 1 "$(tail -n 5 "$dir/console.log")"
        roots_overlay_drop "$dir"; return
    fi
    check "$CA_TAG" "$node" boot "$deb boots systemd ($(cat "$dir/boot-state"))" 0 ""
    [ "$suite" = bullseye ] && roots_exec_dir "$dir" chown -R puppet:puppet /etc/puppet/ssl
    ssldir=$(roots_exec_dir "$dir" puppet config print ssldir --section agent 2>/dev/null)

    # bootstrap + the fact through a real agent run (pluginsync ships it)
    rc=0; node_agent_t "$dir" || rc=$?
    { [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]; } && check "$CA_TAG" "$node" agent "$deb: puppet agent -t bootstraps and applies (rc $rc)" 0 "" ||
        check "$CA_TAG" "$node" agent "$deb: puppet agent -t bootstraps and applies" 1 "rc $rc: $(grep -i error "$TEST_TMP/agent.out" | head -n 3)"
    fact=$(sed -n 's/.*matrix-fact health=\([a-z]*\) source=\([a-z]*\) error=\(.*\) end.*/\1|\3|\2/p' "$TEST_TMP/agent.out" | head -n 1)
    case "$fact" in
        ok\|*|warn\|*) check "$CA_TAG" "$node" fact "$deb: the fact in the agent run (health ${fact%%|*}, source ${fact##*|})" 0 "" ;;
        *) check "$CA_TAG" "$node" fact "$deb: the fact in the agent run" 1 "fact: '${fact:-absent}'" ;;
    esac

    # the agent's service under systemd
    svc_start_settled "$dir"
    svc=$(roots_exec_dir "$dir" systemctl is-active puppet 2>/dev/null || true)
    check "$CA_TAG" "$node" service "$deb: puppet.service active under systemd" "$([ "$svc" = active ]; echo $?)" "is-active: $svc"

    why=$(node_bin_probe "$dir")
    if [ -n "$why" ]; then
        for it in settings status ca_clean regenerate restore; do
            skipcell "$CA_TAG" "$node" "$it" "$deb: $it" "executable does not run on $deb: $why"
        done
    else
        # the resolver against the real agent, on this node
        local want got
        want=$(roots_exec_dir "$dir" puppet config print ssldir hostcert localcacert --section agent 2>/dev/null | sort)
        got=$(roots_exec_dir "$dir" "$NODES_INST/cert_regen/files/bin/linux-x86_64/cert_regen" settings ssldir hostcert localcacert 2>&1 | settings_lines)
        check "$CA_TAG" "$node" settings "$deb: cert_regen settings = puppet config print (ssldir hostcert localcacert)" \
            "$([ "$want" = "$got" ]; echo $?)" "puppet: $want / cert_regen: $got"
        old=$(serial_in "$(cpath "$ssldir/certs/$cn.pem")")
        node_task "$dir" status '{}'
        check "$CA_TAG" "$node" status "$deb: status (health $(out health), serial $(out hostcert.serial))" \
            "$([ "$TASK_RC" -eq 0 ] && [ "$(out hostcert.serial)" = "$old" ] && [ -n "$old" ]; echo $?)" "$(tail_err)"
        ca_task ca_clean "{\"confdir\": \"$CA_CONFDIR\", \"certnames\": [\"$cn\"]}"
        check "$CA_TAG" "$node" ca_clean "CA $CA_TAG: ca_clean $cn" "$TASK_RC" "$(tail_err)"
        # the agent's daemon may have died on its own since it was
        # started (its journal goes into the message): regenerate is
        # tested around a running one
        before=$(roots_exec_dir "$dir" systemctl is-active puppet 2>/dev/null || true)
        if [ "$before" != active ]; then
            echo "# [$CA_TAG x $node] puppet.service was $before before regenerate: $(svc_log "$dir")"
            svc_start_settled "$dir"
            before=$(roots_exec_dir "$dir" systemctl is-active puppet 2>/dev/null || true)
        fi
        node_task "$dir" regenerate '{"key_size": 2048, "services": ["puppet"]}'
        new=$(serial_in "$(cpath "$ssldir/certs/$cn.pem")")
        svc=$(roots_exec_dir "$dir" systemctl is-active puppet 2>/dev/null || true)
        check "$CA_TAG" "$node" regenerate "$deb: regenerate around the running service (serial $old -> $new, service $before -> $svc)" \
            "$([ "$TASK_RC" -eq 0 ] && [ "$(out state)" = regenerated ] && [ -n "$new" ] && [ "$new" != "$old" ] && [ "$svc" = active ]; echo $?)" \
            "$(tail_err) stopped=$(out services_stopped) restarted=$(out services_restarted) warnings=$(out warnings) $(svc_log "$dir")"
        rc=0; node_agent_t "$dir" || rc=$?
        check "$CA_TAG" "$node" regenerate "$deb: puppet agent -t with the regenerated certificate (rc $rc)" \
            "$({ [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]; }; echo $?)" "$(grep -i error "$TEST_TMP/agent.out" | head -n 3)"
        node_task "$dir" restore '{"services": ["puppet"], "allow_revoked": true}'
        svc=$(roots_exec_dir "$dir" systemctl is-active puppet 2>/dev/null || true)
        check "$CA_TAG" "$node" restore "$deb: restore brings back serial $old (service $svc)" \
            "$([ "$TASK_RC" -eq 0 ] && [ "$(out state)" = restored ] && [ "$(serial_in "$(cpath "$ssldir/certs/$cn.pem")")" = "$old" ] && [ "$svc" = active ]; echo $?)" \
            "$(tail_err) stopped=$(out services_stopped) $(svc_log "$dir")"
        if [ "$suite" = trixie ]; then
            want=$(roots_exec_dir "$dir" puppet config print hostcert_renewal_interval crl_refresh_interval --section agent 2>/dev/null | sort)
            got=$(roots_exec_dir "$dir" "$NODES_INST/cert_regen/files/bin/linux-x86_64/cert_regen" settings hostcert_renewal_interval crl_refresh_interval 2>&1 | settings_lines)
            check "$CA_TAG" "$node" settings "$deb: Puppet 8 renewal settings resolved as puppet does (${want//$'\n'/, })" \
                "$([ "$want" = "$got" ]; echo $?)" "puppet: $want / cert_regen: $got"
        fi
    fi
    roots_poweroff "$dir"
    roots_overlay_drop "$dir"
    echo "# [$CA_TAG x $node] $(( $(date +%s) - t0 )) s"
}

# CR_MATRIX_NODES / CR_MATRIX_CAS narrow the run while developing; a cell
# left out this way is reported as skipped.
MATRIX_NODES=${CR_MATRIX_NODES:-bullseye bookworm trixie}
MATRIX_CAS=${CR_MATRIX_CAS:-7 8}
run_column() {
    local s
    ca_env
    for s in bullseye bookworm trixie; do
        if [[ " $MATRIX_NODES " == *" $s "* ]]; then run_cell "$s"
        else skipcell "$CA_TAG" "deb${DEBIAN[$s]}" all "Debian ${DEBIAN[$s]}" "left out by CR_MATRIX_NODES"; fi
    done
}

t0=$(date +%s)
if [[ " $MATRIX_CAS " == *" 7 "* ]]; then
    if ca_use_host; then
        run_column
    else
        not_ok "puppetserver 7.9.5 up on the host" "see the stack log above"
        cell ps7.9.5 all all fail "puppetserver 7.9.5 did not start"
    fi
    echo "# column CA 7.9.5 (host) took $(( $(date +%s) - t0 )) s"
else
    skipcell ps7.9.5 all all "CA 7.9.5" "left out by CR_MATRIX_CAS"
fi

# One JVM at a time: a server this test started goes before 8.7 starts (a
# server shared by tests/run-integration.sh stays up for the tests after us).
[ "${STACK_OWNED:-0}" = 1 ] && stack_stop
t0=$(date +%s)
if [[ " $MATRIX_CAS " != *" 8 "* ]]; then
    skipcell ps8.7 all all "CA 8.7" "left out by CR_MATRIX_CAS"
elif ca_use_8; then
    ok "puppetserver 8.7 up in the Debian 13 root ($(( $(date +%s) - t0 )) s)"
    ca_task ca_list "{\"confdir\": \"$CA_CONFDIR\", \"state\": \"all\"}"
    [ "$TASK_RC" -eq 0 ] && ok "CA 8.7: ca_list answers" && cell ps8.7 ca ca_list pass ||
        { not_ok "CA 8.7: ca_list answers" "$(tail_err)"; cell ps8.7 ca ca_list fail "rc $TASK_RC"; }
    run_column
    # regenerate_agents' task sequence (test_plan_sequence.sh, ten agents, one
    # broken) run inside the Debian 13 root: Puppet 8.10 agents, 8.7 CA.
    t1=$(date +%s)
    why=$(node_bin_probe "$CA8")
    if [ -n "$why" ]; then
        skipcell ps8.7 deb13 plan_sequence "regenerate_agents' task sequence on 8.7" "executable does not run: $why"
    else
        rc=0
        roots_exec_dir "$CA8" CR_STACK_DIR=/srv/stack TMPDIR=/var/tmp \
            bash "$REPO_ROOT/tests/integration/test_plan_sequence.sh" >"$TEST_TMP/plan8.log" 2>&1 || rc=$?
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TEST_TMP/plan8.log" | tail -n 1)
        check ps8.7 deb13 plan_sequence "regenerate_agents' task sequence, Puppet 8.10 agents on 8.7: ${line:-no summary} ($(( $(date +%s) - t1 )) s)" \
            "$rc" "$(grep -A3 '^not ok' "$TEST_TMP/plan8.log" | head -n 12; tail -n 3 "$TEST_TMP/plan8.log")"
    fi
else
    not_ok "puppetserver 8.7 up in the Debian 13 root" "$(tail -n 20 "$TEST_TMP/ca8-start.log")"
fi
ca8_stop
echo "# column CA 8.7 took $(( $(date +%s) - t0 )) s"

echo "# matrix (CA, node, item, result, reason):"
sed 's/^/#   /' "$RESULTS"
[ -n "${CR_MATRIX_RESULTS:-}" ] && cp "$RESULTS" "$CR_MATRIX_RESULTS"
echo "# test_matrix took $(( $(date +%s) - T_START )) s"
finish
