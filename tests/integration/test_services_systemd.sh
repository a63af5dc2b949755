#!/bin/bash
# test_services_systemd: service control under a real systemd (Debian 12
# root booted by systemd-nspawn), then regenerate around the swap: a
# running puppet.service, pxp-agent (not packaged in Debian: absent), a
# disabled unit, a masked unit and a running unit that fails to start again.
# States before and after come from systemctl itself.
# shellcheck disable=SC2015,SC2016,SC2012
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
. "$REPO_ROOT/tests/lib/nodes.sh"

T_START=$(date +%s)
dir=$TEST_TMP/node
cn=svc-$$.auto.test
nodes_agent_begin "services under a real systemd" "$dir" "$cn" /etc/puppet/puppet.conf
m=$dir/merged
node_install_tasks "$m"
u=$m/etc/systemd/system
printf '[Unit]\nDescription=cert_regen test: runs until /run/cr-break exists\n[Service]\nExecStartPre=/bin/sh -c "test ! -e /run/cr-break"\nExecStart=/bin/sleep infinity\n' >"$u/cr-flaky.service"
printf '[Unit]\nDescription=cert_regen test: never starts\n[Service]\nType=oneshot\nExecStart=/bin/false\n' >"$u/cr-fails.service"
printf '[Unit]\nDescription=cert_regen test: installed, not enabled\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n' >"$u/cr-disabled.service"
printf '[Unit]\nDescription=cert_regen test: masked\n[Service]\nExecStart=/bin/sleep infinity\n' >"$u/cr-masked-real.service"
ln -s /dev/null "$u/cr-masked.service"
# ssldir's parent off overlayfs (renameat2 RENAME_EXCHANGE; docs/limitations.md)
mkdir -p "$dir/varlib"; cp -a "$m/var/lib/puppet/." "$dir/varlib/"
if ! roots_boot svc "$dir" "--bind=$dir/varlib:/var/lib/puppet"; then
    not_ok "Debian 12 boots systemd" "$(tail -n 5 "$dir/console.log")"; finish
fi
ok "Debian 12 boots systemd ($(cat "$dir/boot-state")) with PID 1 $(roots_exec_dir "$dir" cat /proc/1/comm)"
why=$(node_bin_probe "$dir")
if [ -n "$why" ]; then skip "service control in Debian 12" "executable does not run: $why"; finish; fi

B=$NODES_INST/cert_regen/files/bin/linux-x86_64/cert_regen
svc() { SVC_RC=0; SVC_OUT=$(roots_exec_dir "$dir" "$B" service "$@" 2>"$TEST_TMP/svc.err") || SVC_RC=$?; }
sd() { roots_exec_dir "$dir" systemctl "$@" 2>/dev/null || true; }
states() { # NAME... -> "name:active/enabled ..."
    local n; for n in "$@"; do printf '%s:%s/%s ' "$n" "$(sd is-active "$n")" "$(sd is-enabled "$n")"; done
}

# --- the service subcommand against systemd ---------------------------------
svc puppet state
assert_eq "systemd stopped" "$(json_get "$SVC_OUT" backend) $(json_get "$SVC_OUT" state)" "puppet: backend systemd, stopped after boot (disabled by Debian's policy-rc.d at install)"
svc puppet start
assert_eq "running active" "$(json_get "$SVC_OUT" state) $(sd is-active puppet)" "puppet start -> running; systemctl: active"
pid=$(sd show -p MainPID --value puppet)
[ -n "$pid" ] && [ "$pid" != 0 ] && ok "puppet.service has a main PID ($pid)" || not_ok "puppet.service has a main PID" "MainPID=$pid"
svc puppet stop
assert_eq "stopped inactive" "$(json_get "$SVC_OUT" state) $(sd is-active puppet)" "puppet stop -> stopped; systemctl: inactive"
svc pxp-agent state
assert_eq absent "$(json_get "$SVC_OUT" state)" "pxp-agent (not packaged in Debian) is absent"
svc cr-fails start
assert_eq "1 cert_regen/service-error" "$SVC_RC $(json_get "$SVC_OUT" _error.kind)" "a unit that fails to start: service-error"
assert_match "Next step" "$(json_get "$SVC_OUT" _error.msg)" "its message ends with a next step"
assert_eq failed "$(sd is-failed cr-fails)" "systemctl: cr-fails failed"
svc cr-disabled state
assert_eq "stopped disabled" "$(json_get "$SVC_OUT" state) $(sd is-enabled cr-disabled)" "a disabled unit: stopped"
svc cr-masked state
assert_eq "stopped masked" "$(json_get "$SVC_OUT" state) $(sd is-enabled cr-masked)" "a masked unit: stopped"
svc cr-masked start
assert_eq "1 cert_regen/service-error" "$SVC_RC $(json_get "$SVC_OUT" _error.kind)" "starting a masked unit fails: service-error"
assert_eq "inactive masked" "$(sd is-active cr-masked) $(sd is-enabled cr-masked)" "the masked unit stays masked and inactive"

# --- regenerate around the swap ---------------------------------------------
rc=0; roots_exec_dir "$dir" timeout 300 puppet agent -t --waitforcert 0 >"$TEST_TMP/agent.out" 2>&1 || rc=$?
{ [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]; } && ok "agent bootstrapped against the CA (rc $rc)" || not_ok "agent bootstrapped" "$(tail -n 5 "$TEST_TMP/agent.out")"
sd start puppet; sd start cr-flaky
roots_exec_dir "$dir" touch /run/cr-break   # cr-flaky runs now, but will not start again
units=(puppet pxp-agent cr-disabled cr-masked cr-flaky)
before=$(states "${units[@]}")
echo "# before: $before"
assert_eq "puppet:active/disabled pxp-agent:inactive/ cr-disabled:inactive/disabled cr-masked:inactive/masked cr-flaky:active/static " \
    "$before" "state before the swap"
task_run ca_clean "{\"confdir\": \"$STACK_SERVER_CONFDIR\", \"certnames\": [\"$cn\"]}"
assert_eq 0 "$TASK_RC" "ca_clean $cn"
node_task "$dir" regenerate "{\"key_size\": 2048, \"services\": [\"puppet\", \"pxp-agent\", \"cr-disabled\", \"cr-masked\", \"cr-flaky\"]}"
assert_eq "0 regenerated" "$TASK_RC $(json_get "$TASK_OUT" state 2>/dev/null)" "regenerate with five services"
assert_eq '["puppet","cr-flaky"]' "$(json_get "$TASK_OUT" services_stopped 2>/dev/null)" "it stopped only the running units"
assert_eq '["puppet"]' "$(json_get "$TASK_OUT" services_restarted 2>/dev/null)" "it started puppet again; cr-flaky could not"
assert_match 'cr-flaky' "$(json_get "$TASK_OUT" warnings 2>/dev/null)" "a warning names the unit that failed to start"
after=$(states "${units[@]}")
echo "# after:  $after"
assert_eq "puppet:active/disabled pxp-agent:inactive/ cr-disabled:inactive/disabled cr-masked:inactive/masked cr-flaky:failed/static " \
    "$after" "state after the swap: puppet running again, disabled and masked untouched, cr-flaky failed"
rc=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    roots_exec_dir "$dir" timeout 300 puppet agent -t >"$TEST_TMP/agent.out" 2>&1 && rc=0 || rc=$?
    grep -q 'already in progress' "$TEST_TMP/agent.out" || break; sleep 2; : "$i"
done
{ [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]; } && ok "puppet agent -t on the new certificate (rc $rc)" || not_ok "puppet agent -t on the new certificate" "$(tail -n 5 "$TEST_TMP/agent.out")"
echo "# test_services_systemd took $(( $(date +%s) - T_START )) s"
finish
