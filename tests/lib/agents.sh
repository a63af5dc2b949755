# shellcheck shell=bash
# tests/lib/agents.sh - agent helpers shared by the integration tests
# (source after stack.sh).
#
#   snap DIR         every entry (path, type, mode, owner, group) and
#                    every file's sha256: compare two snaps to prove a
#                    directory was left byte-identical; entries named
#                    $SNAP_EXCLUDE (e.g. ssl.lock, which a SIGKILLed
#                    holder leaves behind and a test checks on its own)
#                    are left out
#   new_agent NAME   a confdir with RSA-2048 keys, bootstrapped (signed by
#                    hand when the name is not autosigned); prints the confdir
#   csr_put NAME     a fresh RSA-2048 CSR for NAME submitted to the real CA
#                    (autosigned for *.auto.test); the key in $TEST_TMP
#   ca_state NAME    requested | signed | revoked | absent, from the real CA
#                    (asked with the primary's own certificate)
#   make_svc NAME    a SysV service NAME (LSB init script, start-stop-daemon,
#                    pidfile /run/NAME.pid) whose daemon is a copy of sleep
#   drop_svc NAME    stops and removes it
#   svc_running NAME, svc_pid NAME

snap() {
    (cd "$1" && find . ! -name "${SNAP_EXCLUDE-}" -printf '%p %y %m %u %g\n' | sort &&
        find . -type f ! -name "${SNAP_EXCLUDE-}" -print0 | sort -z | xargs -0 -r sha256sum)
}

new_agent() {
    local n=$1 c
    c=$(stack_agent "$n")
    grep -q '^keylength' "$c/puppet.conf" || echo 'keylength = 2048' >>"$c/puppet.conf"
    if ! stack_bootstrap "$n" >"$TEST_TMP/boot-$n.log" 2>&1; then
        stack_ca sign --certname "$n" >>"$TEST_TMP/boot-$n.log" 2>&1 || true
        stack_bootstrap "$n" >>"$TEST_TMP/boot-$n.log" 2>&1 || true
    fi
    printf '%s\n' "$c"
}

csr_put() {
    openssl req -new -newkey rsa:2048 -nodes -keyout "$TEST_TMP/$1.key" -subj "/CN=$1" \
        -out "$TEST_TMP/$1.csr" 2>/dev/null
    curl -sS -o /dev/null --max-time 20 --cacert "$STACK_CACERT" -X PUT -H 'Content-Type: text/plain' \
        --data-binary @"$TEST_TMP/$1.csr" "https://127.0.0.1:$STACK_PORT/puppet-ca/v1/certificate_request/$1"
}

ca_state() {
    curl -sS --max-time 20 --cacert "$STACK_CACERT" --cert "$STACK_SSLDIR/certs/$STACK_CERTNAME.pem" \
        --key "$STACK_SSLDIR/private_keys/$STACK_CERTNAME.pem" \
        "https://127.0.0.1:$STACK_PORT/puppet-ca/v1/certificate_status/$1" 2>/dev/null |
        ruby -rjson -e 'begin; print JSON.parse(STDIN.read)["state"] || "absent"; rescue StandardError; print "absent"; end'
}

make_svc() {
    cat >"/etc/init.d/$1" <<EOF
#!/bin/sh
### BEGIN INIT INFO
# Provides:          $1
# Required-Start:
# Required-Stop:
# Default-Start:
# Default-Stop:
# Short-Description: cert_regen integration test service
### END INIT INFO
PIDFILE=/run/$1.pid
DAEMON=$TEST_TMP/$1-daemon
case "\$1" in
start)  start-stop-daemon --start --quiet --background --make-pidfile --pidfile \$PIDFILE --exec \$DAEMON -- 100000
        for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "\$0" status && exit 0; sleep 0.1; done; exit 1 ;;
stop)   start-stop-daemon --stop --quiet --retry 5 --pidfile \$PIDFILE --remove-pidfile --exec \$DAEMON
        rc=\$?; [ \$rc = 1 ] && exit 0; exit \$rc ;;
status) start-stop-daemon --status --pidfile \$PIDFILE --exec \$DAEMON ;;
restart) "\$0" stop; "\$0" start ;;
*)      echo "usage: \$0 start|stop|status|restart"; exit 3 ;;
esac
EOF
    chmod 0755 "/etc/init.d/$1"
    cp "$(command -v sleep)" "$TEST_TMP/$1-daemon"
}

drop_svc() {
    /etc/init.d/"$1" stop >/dev/null 2>&1 || true
    rm -f "/etc/init.d/$1" "/run/$1.pid"
}

svc_running() { /etc/init.d/"$1" status >/dev/null 2>&1; }
svc_pid() { cat "/run/$1.pid" 2>/dev/null; }
