#!/bin/bash
# cert_regen::regenerate killed with SIGKILL at every test point of the
# ASan+UBSan build (CERT_REGEN_TEST_KILL_AT, -DCR_TEST_HOOKS), then run
# again: the live ssldir must hold a complete old or new identity at every
# moment, the second run must finish the job (resuming where the journal
# says), the services the killed run stopped must run again, and nothing
# may be lost (the pre-run identity is in the backup or still live).
# ok/not_ok always return 0: `cond && ok || not_ok` is safe here.
# shellcheck disable=SC2015,SC2030,SC2031
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/agents.sh"
SNAP_EXCLUDE=ssl.lock	# a SIGKILLed holder leaves its lock: checked on its own
. "$REPO_ROOT/tests/lib/task.sh"

# leaks are reported, but a SIGKILLed run cannot report anything
task_use_asan hooks

stack_ensure

# (the server-* points belong to the primary's tasks: test_primary.sh; the
# restore-* points to the restore: tests/unit/test_flow_restore.c)
points=$(grep -ho 'cr_killpoint("[a-z-]*")' "$REPO_ROOT"/ext/core/*.c | sed 's/.*("\(.*\)")/\1/' | grep -v '^server-\|^restore-')
# the order a run reaches them in
order="staging-created staged submitted signed tree-built prepared services-stopped exchanged swapped staging-emptied"
for p in $points; do
    case " $order " in *" $p "*) ;; *) not_ok "kill point $p is covered by this test" "add it to \$order" ;; esac
done

asan_clean() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TEST_TMP/task.err"; }

# A SysV service (LSB init script, start-stop-daemon, pidfile) that runs.
svc=cr-kill-svc-$$
make_svc "$svc"
at_exit drop_svc "$svc"

for p in $order; do
    n=kill-$p-$$.auto.test
    c=$(new_agent "$n")
    s=$c/ssl
    old=$(serial_of "$s/certs/$n.pem")
    if [ -z "$old" ]; then
        not_ok "$p: agent bootstrapped" "$(tail -n 5 "$TEST_TMP/boot-$n.log")"
        continue
    fi
    snap "$s" >"$TEST_TMP/pre-$p"
    svc_running "$svc" || /etc/init.d/"$svc" start >/dev/null 2>&1
    stack_ca clean --certname "$n" >/dev/null 2>&1
    params="{\"confdir\": \"$c\", \"key_size\": 2048, \"services\": [\"$svc\"]}"

    # --- the killed run
    export CERT_REGEN_TEST_KILL_AT=$p
    task_run regenerate "$params"
    unset CERT_REGEN_TEST_KILL_AT
    if [ "$TASK_RC" -ne 0 ] && [ -z "$(out state)" ] && [ -z "$(out _error.kind)" ]; then
        ok "$p: run killed (rc $TASK_RC, no result)"
    else
        not_ok "$p: run killed" "rc=$TASK_RC out=$(printf '%s' "$TASK_OUT" | head -c 800)"
    fi

    # --- the live ssldir: a complete identity, old or new
    snap "$s" >"$TEST_TMP/kill-$p"
    pub_cert=$(openssl x509 -in "$s/certs/$n.pem" -noout -pubkey 2>/dev/null || echo nocert)
    pub_key=$(openssl pkey -in "$s/private_keys/$n.pem" -pubout 2>/dev/null || echo nokey)
    case $p in
    exchanged|swapped|staging-emptied) want=new ;;
    *) want=old ;;
    esac
    if diff -q "$TEST_TMP/pre-$p" "$TEST_TMP/kill-$p" >/dev/null; then
        got=old
    elif [ "$pub_cert" = "$pub_key" ] && [ "$pub_key" != nokey ] &&
        [ "$(serial_of "$s/certs/$n.pem")" != "$old" ] &&
        [ "$(cat "$s/public_keys/$n.pem" 2>/dev/null)" = "$pub_key" ] &&
        [ ! -e "$s/certificate_requests/$n.pem" ]; then
        got=new
    else
        got=mixed
    fi
    assert_eq "$want" "$got" "$p: after kill -9 the live ssldir is the complete $want identity"
    assert_eq "$pub_key" "$pub_cert" "$p: live hostcert matches live hostprivkey"
    assert_cmd "$p: puppet ssl verify passes right after the kill" -- stack_puppet "$n" ssl verify
    if [ -e "$s/ssl.lock" ]; then
        lp=$(cat "$s/ssl.lock")
        if kill -0 "$lp" 2>/dev/null; then not_ok "$p: a leftover ssl.lock is stale" "pid $lp alive"; else ok "$p: a leftover ssl.lock is stale (dead pid)"; fi
    fi

    # --- run again, without the kill point
    task_run regenerate "$params"
    if [ "$TASK_RC" -eq 0 ] && [ "$(out state)" = regenerated ]; then
        ok "$p: second run regenerates"
    else
        not_ok "$p: second run regenerates" "rc=$TASK_RC out=$(printf '%s' "$TASK_OUT" | head -c 1500)"$'\n'"$(grep -v 'PRIVATE' "$TEST_TMP/task.err" | tail -n 15)"
    fi
    if grep -q 'PRIVATE KEY' "$TEST_TMP/task.err" || [[ $TASK_OUT == *'PRIVATE KEY'* ]]; then
        not_ok "$p: no key material in stdout/stderr"
    else
        ok "$p: no key material in stdout/stderr"
    fi
    asan_clean && ok "$p: no ASan/UBSan report" || not_ok "$p: no ASan/UBSan report" "$(grep -A 12 -E 'Sanitizer|runtime error' "$TEST_TMP/task.err" | head -n 30)"
    case $p in
    staging-created) resumed=none ;;
    tree-built) resumed=signed ;;
    services-stopped|exchanged) resumed=prepared ;;
    staging-emptied) resumed=swapped ;;   # the journal is removed last
    *) resumed=$p ;;
    esac
    assert_eq "$resumed" "$(out steps.0.resumed_from)" "$p: second run resumes from $resumed"
    new=$(serial_of "$s/certs/$n.pem")
    [ -n "$new" ] && [ "$new" != "$old" ] && ok "$p: new serial ($old -> $new)" || not_ok "$p: new serial" "$old -> $new"
    [ -e "$c/.ssl.cert_regen" ] && not_ok "$p: staging directory removed" "$(ls -a "$c/.ssl.cert_regen")" || ok "$p: staging directory removed"
    [ -e "$s/ssl.lock" ] && not_ok "$p: no ssl.lock left" "$(cat "$s/ssl.lock")" || ok "$p: no ssl.lock left"
    svc_running "$svc" && ok "$p: the service the runs stopped runs again" || not_ok "$p: the service the runs stopped runs again" "services_stopped=$(out services_stopped) restarted=$(out services_restarted)"
    assert_cmd "$p: puppet ssl verify passes" -- stack_puppet "$n" ssl verify
    assert_cmd "$p: puppet agent -t passes" -- stack_agent_run "$n"
    # nothing lost: the pre-run identity, byte for byte, in the backup
    b=$(out backup)
    if [ -n "$b" ] && [ -d "$b" ]; then
        snap "$b" >"$TEST_TMP/bak-$p"
        if diff "$TEST_TMP/pre-$p" "$TEST_TMP/bak-$p" >"$TEST_TMP/d" 2>&1; then
            ok "$p: the pre-run identity is byte-identical in the backup"
        else
            not_ok "$p: the pre-run identity is byte-identical in the backup" "$(head -n 10 "$TEST_TMP/d")"
        fi
        [ -e "$b/ssl.lock" ] && not_ok "$p: no lock file in the backup" || ok "$p: no lock file in the backup"
    else
        not_ok "$p: backup reported and present" "backup=$b"
    fi
    assert_eq 1 "$(find "${s}_bak" -mindepth 1 -maxdepth 1 | wc -l)" "$p: exactly one backup"
done

finish
