# shellcheck shell=bash
# tests/lib/stack.sh - a real puppetserver (CA + compiler) and puppet agents,
# each living in a directory of its own.  Sourced by integration tests.
#
# Server:  stack_ensure | stack_start DIR [PORT] | stack_stop [-f] | stack_hup
#          stack_restart | stack_site_pp CODE | stack_ca ARGS... | stack_status_ok
# Service: stack_service_install NAME DIR | stack_service_remove NAME  (/etc/init.d script)
# Compile server: stack_compiler_start NAME DIR [PORT] | stack_compiler_stop DIR
#          stack_allow_sans true|false|restore  (the CA's allow-subject-alt-names)
# Agents:  stack_agent NAME (prints confdir) | stack_agent_confdir NAME
#          stack_bootstrap NAME [args] | stack_agent_run NAME [args]
#          stack_puppet NAME SUBCOMMAND [args]  (any `puppet` command for that agent)
# Facter:  stack_facter_root CONFDIR CMD...  (CMD sees CONFDIR as /etc/puppet)
#          stack_facter_ns CMD...            (only ensures the facter blocklist)
# Exports: STACK_DIR STACK_PORT STACK_SERVER_CONFDIR STACK_CADIR STACK_CODEDIR
#          STACK_SSLDIR STACK_CACERT STACK_CERTNAME STACK_URL STACK_ENVDIR
#          STACK_MODULEDIR STACK_AUTH_CONF STACK_CA_CONF
# Env in:  CR_STACK_DIR (reuse a running server), STACK_START_TIMEOUT (180),
#          STACK_PRE_LAUNCH (a function run with DIR before the JVM starts)
#
# Nothing here prints private key material.

STACK_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STACK_REPO_ROOT="$(cd "$STACK_LIB_DIR/../.." && pwd)"
STACK_PS_HOME=/usr/share/puppetserver
STACK_PS_ETC=/etc/puppet/puppetserver
STACK_CERTNAME=${STACK_CERTNAME:-puppet.test}
STACK_OWNED=${STACK_OWNED:-0}
# Facts that read /proc/1/environ etc., which is unreadable in this sandbox.
STACK_FACTER_BLOCKLIST='facts : { blocklist : [ "hypervisors", "virtual", "is_virtual", "system_uptime", "uptime", "uptime_days", "uptime_hours", "uptime_seconds", "ec2_metadata", "ec2_userdata", "az_metadata", "cloud" ] }'

_stack_log() { printf 'stack: %s\n' "$*" >&2; }

_stack_now() { date +%s.%N; }

_stack_port_free() {
    [ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

_stack_pick_port() {
    local p i
    for i in $(seq 1 50); do
        p=$((18140 + RANDOM % 1800))
        if _stack_port_free "$p"; then echo "$p"; return 0; fi
        : "$i"
    done
    _stack_log "no free port found"
    return 1
}

_stack_pid() {
    [ -n "${STACK_DIR:-}" ] && [ -s "$STACK_DIR/run/server.pid" ] && cat "$STACK_DIR/run/server.pid"
}

# stack_running [DIR]: the server's JVM process is alive.
stack_running() {
    local dir=${1:-${STACK_DIR:-}} pid
    [ -n "$dir" ] && [ -s "$dir/run/server.pid" ] || return 1
    pid=$(cat "$dir/run/server.pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

_stack_export() {
    local dir=$1
    export STACK_DIR="$dir"
    STACK_PORT=$(cat "$dir/port")
    export STACK_PORT
    export STACK_SERVER_CONFDIR="$dir/etc"
    export STACK_CADIR="$dir/ca"
    export STACK_CODEDIR="$dir/code"
    export STACK_SSLDIR="$dir/ssl"
    export STACK_CACERT="$dir/ssl/certs/ca.pem"
    export STACK_CERTNAME
    export STACK_URL="https://localhost:$STACK_PORT"
    export STACK_ENVDIR="$dir/code/environments/production"
    export STACK_MODULEDIR="$STACK_ENVDIR/modules"
    export STACK_AUTH_CONF="$dir/conf.d/auth.conf"
    export STACK_CA_CONF="$dir/conf.d/ca.conf"
}

# _stack_dirs DIR: the puppet.conf lines that put an instance's state under
# DIR, the same for the servers and the agents
_stack_dirs() {
    printf '%s\n' "vardir = $1/var" "ssldir = $1/ssl" "rundir = $1/run" "logdir = $1/log" "publicdir = $1/public"
}

# _stack_server_main DIR CODEDIR CERTNAME: a puppetserver's [main] lines for
# its directories and its identity (alt names localhost and 127.0.0.1)
_stack_server_main() {
    printf '%s\n' "confdir = $1/etc" "codedir = $2"
    _stack_dirs "$1"
    printf '%s\n' "certname = $3" "dns_alt_names = localhost,$3,IP:127.0.0.1"
}

_stack_write_config() {
    local dir=$1 port=$2 f
    mkdir -p "$dir"/{etc,conf.d,services.d,run,log,var,code,ca,ssl,public,agents,tmp}
    chmod 0750 "$dir/ca" "$dir/ssl"
    echo "$port" >"$dir/port"

    cat >"$dir/etc/puppet.conf" <<EOF
[main]
$(_stack_server_main "$dir" "$dir/code" "$STACK_CERTNAME")
server = localhost
serverport = $port
ca_port = $port

[server]
cadir = $dir/ca
autosign = $dir/etc/autosign.conf
EOF
    printf '*.auto.test\n' >"$dir/etc/autosign.conf"

    for f in auth.conf ca.conf metrics.conf web-routes.conf; do
        cp "$STACK_PS_ETC/conf.d/$f" "$dir/conf.d/$f"
    done
    for f in bootstrap.cfg ca.cfg; do
        cp "$STACK_PS_ETC/services.d/$f" "$dir/services.d/$f"
    done

    cat >"$dir/etc/logback.xml" <<EOF
<configuration>
  <appender name="F1" class="ch.qos.logback.core.FileAppender">
    <file>$dir/log/puppetserver.log</file>
    <append>true</append>
    <encoder>
      <pattern>%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5p [%t] [%c{2}] %m%n</pattern>
    </encoder>
  </appender>
  <logger name="org.eclipse.jetty" level="INFO"/>
  <logger name="org.apache.http" level="INFO"/>
  <logger name="jruby" level="info"/>
  <root level="info">
    <appender-ref ref="F1"/>
  </root>
</configuration>
EOF
    cat >"$dir/conf.d/global.conf" <<EOF
global: {
    logging-config: "$dir/etc/logback.xml"
}
EOF
    cat >"$dir/conf.d/webserver.conf" <<EOF
webserver: {
    client-auth: want
    ssl-host: 127.0.0.1
    ssl-port: $port
    # TLS 1.3 makes Ruby's Net::HTTP wait 30 s for Jetty's idle timeout.
    ssl-protocols: [TLSv1.2]
}
EOF
    cat >"$dir/conf.d/puppetserver.conf" <<EOF
jruby-puppet: {
    ruby-load-path: [/usr/lib/puppetserver/ruby/vendor_ruby]
    gem-home: "$dir/var/jruby-gems"
    gem-path: [\${jruby-puppet.gem-home}, "/usr/lib/puppetserver/vendored-jruby-gems"]
    server-conf-dir: "$dir/etc"
    server-code-dir: "$dir/code"
    server-var-dir: "$dir/var"
    server-run-dir: "$dir/run"
    server-log-dir: "$dir/log"
    max-active-instances: 1
}
http-client: {
}
profiler: {
}
EOF

    # Code: the repo itself is the module cert_regen (pluginsync ships lib/).
    mkdir -p "$dir/code/environments/production/modules" \
             "$dir/code/environments/production/manifests"
    ln -sfn "$STACK_REPO_ROOT" "$dir/code/environments/production/modules/cert_regen"
    [ -e "$dir/code/environments/production/manifests/site.pp" ] ||
        printf 'node default { }\n' >"$dir/code/environments/production/manifests/site.pp"
}

# _stack_launch: start the JVM for $STACK_DIR and wait until it is up.
_stack_launch() {
    local dir=$STACK_DIR timeout=${STACK_START_TIMEOUT:-180} t0 t1 pid i
    if stack_running "$dir"; then
        _stack_log "server already running (pid $(cat "$dir/run/server.pid"))"
        return 0
    fi
    if ! _stack_port_free "$STACK_PORT"; then
        _stack_log "port $STACK_PORT is in use"
        return 1
    fi
    rm -f "$dir/run/restart" "$dir/run/server.pid"
    t0=$(_stack_now)
    # setsid (not nohup): the JVM must keep its SIGHUP handler for reloads.
    # A JVM started with SIGHUP ignored (a suite run under nohup) installs no
    # handler and never reloads, so the disposition is reset to the default.
    # The inner shell writes its own pid and execs java, so the pid is java's
    # whether or not setsid had to fork.
    # shellcheck disable=SC2016
    (
        cd "$STACK_PS_HOME" &&
        exec setsid env --default-signal=HUP bash -c 'echo $$ >"$1/run/server.pid"; exec java \
            -Xms256m -Xmx768m -XX:+UseSerialGC -XX:-UsePerfData \
            -Djava.io.tmpdir="$1/tmp" \
            -Djruby.logger.class=com.puppetlabs.jruby_utils.jruby.Slf4jLogger \
            -Djruby.lib=/usr/share/jruby/lib \
            -jar /usr/share/puppetserver/puppetserver.jar \
            --config "$1/conf.d" --bootstrap-config "$1/services.d" \
            --restart-file "$1/run/restart"' _ "$dir" \
            </dev/null >>"$dir/log/console.log" 2>&1
    ) &
    for i in $(seq 1 50); do
        [ -s "$dir/run/server.pid" ] && break
        sleep 0.1
        : "$i"
    done
    pid=$(cat "$dir/run/server.pid" 2>/dev/null || true)
    if [ -z "$pid" ]; then
        _stack_log "server did not write its pid"
        return 1
    fi
    while :; do
        if [ "$(cat "$dir/run/restart" 2>/dev/null)" = 1 ]; then break; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            _stack_log "server (pid $pid) died during start; log tail:"
            _stack_log_tail
            return 1
        fi
        t1=$(_stack_now)
        if awk -v a="$t0" -v b="$t1" -v t="$timeout" 'BEGIN { exit !(b - a > t) }'; then
            _stack_log "server not ready after ${timeout}s; log tail:"
            _stack_log_tail
            stack_stop -f
            return 1
        fi
        sleep 0.25
    done
    t1=$(_stack_now)
    STACK_START_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    export STACK_START_SECONDS
    _stack_log "puppetserver up on port $STACK_PORT (pid $pid) in ${STACK_START_SECONDS}s"
}

_stack_log_tail() {
    local f
    for f in "$STACK_DIR/log/console.log" "$STACK_DIR/log/puppetserver.log"; do
        [ -s "$f" ] || continue
        printf -- '--- %s (last 40 lines)\n' "$f" >&2
        tail -n 40 "$f" >&2
    done
}

# stack_start DIR [PORT]: configure DIR, create the CA, start the server.
stack_start() {
    local dir=${1:?stack_start DIR [PORT]} port=${2:-}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -z "$port" ]; then
        if [ -s "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(_stack_pick_port); fi
    fi
    _stack_write_config "$dir" "$port"
    _stack_export "$dir"
    if [ ! -s "$dir/ca/ca_crt.pem" ]; then
        # Pre-generating the CA in Ruby is faster than letting the JVM do it.
        if ! stack_ca setup --certname "$STACK_CERTNAME" \
                --subject-alt-names "DNS:localhost,DNS:$STACK_CERTNAME,IP:127.0.0.1" \
                >"$dir/log/ca-setup.log" 2>&1; then
            _stack_log "puppetserver ca setup failed:"
            grep -v -- '-----BEGIN\|^[A-Za-z0-9+/=]\{60,\}$' "$dir/log/ca-setup.log" >&2 || true
            return 1
        fi
    fi
    {
        printf 'export CR_STACK_DIR=%q\n' "$dir"
    } >"$dir/stack.env"
    # STACK_PRE_LAUNCH: a function run with DIR once the config and the CA
    # exist, before the JVM starts (tests/lib/puppetdb.sh's pdb_pre_launch)
    if [ -n "${STACK_PRE_LAUNCH:-}" ] && ! "$STACK_PRE_LAUNCH" "$dir"; then
        _stack_log "STACK_PRE_LAUNCH $STACK_PRE_LAUNCH failed"
        return 1
    fi
    STACK_OWNED=1
    _stack_launch
}

# stack_ensure: reuse the server at $CR_STACK_DIR when it is alive, else start
# a new one (in $TEST_TMP/stack when testlib.sh is loaded) and stop it on exit.
stack_ensure() {
    if [ -n "${STACK_DIR:-}" ] && stack_running "$STACK_DIR"; then
        return 0
    fi
    if [ -n "${CR_STACK_DIR:-}" ] && stack_running "$CR_STACK_DIR"; then
        _stack_export "$CR_STACK_DIR"
        STACK_OWNED=0
        return 0
    fi
    [ -n "${CR_STACK_DIR:-}" ] && _stack_log "CR_STACK_DIR=$CR_STACK_DIR has no live server; starting one"
    local dir
    if [ -n "${TEST_TMP:-}" ]; then dir="$TEST_TMP/stack"; else dir=$(mktemp -d /tmp/cr-stack.XXXXXX); fi
    if declare -F at_exit >/dev/null; then
        at_exit stack_stop
    else
        trap 'stack_stop' EXIT
    fi
    stack_start "$dir"
}

# _stack_kill_pid PID WHAT: SIGTERM, up to 10 s, then SIGKILL (said).
_stack_kill_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
        : "$i"
    done
    _stack_log "$2 pid $pid ignored SIGTERM; killing"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
}

# stack_stop [-f]: stop the server if this shell started it (-f: in any case).
# Safe to call twice and from a trap.
stack_stop() {
    local force=0 pid
    [ "${1:-}" = -f ] && force=1
    [ -n "${STACK_DIR:-}" ] || return 0
    if [ "$force" = 0 ] && [ "${STACK_OWNED:-0}" != 1 ]; then return 0; fi
    pid=$(_stack_pid || true)
    [ -n "$pid" ] || return 0
    _stack_kill_pid "$pid" server
    rm -f "$STACK_DIR/run/server.pid"
    return 0
}

# stack_restart: stop and start the same server (keeps the CA and any edits
# to conf.d); for changes a HUP does not pick up.
stack_restart() {
    stack_stop -f
    _stack_launch
}

# stack_status_ok: /status/v1/simple answers "running".
stack_status_ok() {
    [ "$(curl -fsS --max-time 5 --cacert "$STACK_CACERT" \
        "$STACK_URL/status/v1/simple" 2>/dev/null)" = running ]
}

# stack_hup: reload the server's config (auth.conf, ca.conf...) and wait.
stack_hup() {
    local pid before now i
    pid=$(_stack_pid) || { _stack_log "no server to HUP"; return 1; }
    before=$(cat "$STACK_DIR/run/restart" 2>/dev/null || echo 0)
    kill -HUP "$pid"
    for i in $(seq 1 240); do
        now=$(cat "$STACK_DIR/run/restart" 2>/dev/null || echo 0)
        if [ "$now" != "$before" ] && [ -n "$now" ] && stack_status_ok; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            _stack_log "server died during HUP"; _stack_log_tail; return 1
        fi
        sleep 0.25
        : "$i"
    done
    _stack_log "server did not come back within 60s after HUP"
    _stack_log_tail
    return 1
}

# stack_site_pp CODE: replace the production environment's site.pp.
stack_site_pp() {
    printf '%s\n' "$1" >"$STACK_ENVDIR/manifests/site.pp"
}

# stack_ca ARGS...: puppetserver ca ARGS --config <server puppet.conf>
stack_ca() {
    puppetserver ca "$@" --config "${STACK_SERVER_CONFDIR:-$STACK_DIR/etc}/puppet.conf"
}

stack_agent_confdir() {
    printf '%s\n' "$STACK_DIR/agents/${1:?NAME}"
}

# stack_agent NAME: create (if needed) the agent confdir; prints its path.
stack_agent() {
    local name=${1:?stack_agent NAME} c
    c=$(stack_agent_confdir "$name")
    mkdir -p "$c"/{var,ssl,run,log,public,code}
    if [ ! -e "$c/puppet.conf" ]; then
        cat >"$c/puppet.conf" <<EOF
[main]
certname = $name
server = localhost
serverport = $STACK_PORT
ca_port = $STACK_PORT
confdir = $c
$(_stack_dirs "$c")
codedir = $c/code
color = false
EOF
    fi
    printf '%s\n' "$c"
}

# stack_puppet NAME SUBCOMMAND [args]: run puppet for agent NAME (facter
# blocklist in effect).
stack_puppet() {
    local name=${1:?stack_puppet NAME SUBCOMMAND...} c
    shift
    c=$(stack_agent "$name")
    local sub=$1
    shift
    stack_facter_ns puppet "$sub" --confdir "$c" "$@"
}

# stack_bootstrap NAME [args]: get a cert (autosigned for *.auto.test).
stack_bootstrap() {
    local name=${1:?stack_bootstrap NAME}
    shift
    stack_puppet "$name" ssl bootstrap --waitforcert 0 "$@"
}

# stack_agent_run NAME [args]: puppet agent -t; exit 0 and 2 are success.
stack_agent_run() {
    local name=${1:?stack_agent_run NAME} rc=0
    shift
    stack_puppet "$name" agent -t "$@" || rc=$?
    case $rc in 0|2) return 0 ;; *) return "$rc" ;; esac
}

# --- facter / mount namespace helpers --------------------------------------

_stack_facter_ok() {
    [ -r /etc/facter/facter.conf ] && grep -q blocklist /etc/facter/facter.conf
}

# _stack_ns_script: shell code run inside the private mount namespace.
# $1 = agent confdir or "" ; $2 = scratch dir ; rest = command.
# shellcheck disable=SC2016
_STACK_NS_SCRIPT='
set -e
confdir=$1 scratch=$2 blocklist=$3
shift 3
if ! { [ -r /etc/facter/facter.conf ] && grep -q blocklist /etc/facter/facter.conf; }; then
    if [ -e /etc/facter/facter.conf ]; then
        printf "%s\n" "$blocklist" >"$scratch/facter.conf"
        mount --bind "$scratch/facter.conf" /etc/facter/facter.conf
    elif [ -d /etc/facter ]; then
        mkdir -p "$scratch/facterdir"
        cp -a /etc/facter/. "$scratch/facterdir/"
        printf "%s\n" "$blocklist" >"$scratch/facterdir/facter.conf"
        mount --bind "$scratch/facterdir" /etc/facter
    else
        mkdir -p "$scratch/etc-upper/facter" "$scratch/etc-work"
        printf "%s\n" "$blocklist" >"$scratch/etc-upper/facter/facter.conf"
        mount -t overlay overlay \
            -o "lowerdir=/etc,upperdir=$scratch/etc-upper,workdir=$scratch/etc-work" /etc
    fi
fi
if [ -n "$confdir" ]; then
    mount --bind "$confdir" /etc/puppet
fi
exec "$@"
'

_stack_ns_run() {
    local confdir=$1 scratch rc=0
    shift
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/cr-ns.XXXXXX")
    unshare --mount --propagation private \
        bash -c "$_STACK_NS_SCRIPT" _ "$confdir" "$scratch" "$STACK_FACTER_BLOCKLIST" "$@" || rc=$?
    rm -rf "$scratch"
    return "$rc"
}

# stack_facter_ns CMD...: run CMD with the facter blocklist in effect (a
# private mount namespace only when /etc/facter/facter.conf lacks it).
stack_facter_ns() {
    if _stack_facter_ok; then "$@"; else _stack_ns_run "" "$@"; fi
}

# stack_facter_root CONFDIR CMD...: run CMD in a private mount namespace where
# /etc/puppet is the agent confdir CONFDIR (a bind mount), so tools that only
# read the default confdir (facter -p, puppet facts show, puppet config print)
# see that agent: its vardir/lib (pluginsync), ssldir, certname.
# Inside it /etc/puppet/puppetserver is gone: do not run `puppetserver` there.
stack_facter_root() {
    local confdir=${1:?stack_facter_root CONFDIR CMD...}
    shift
    [ -f "$confdir/puppet.conf" ] || { _stack_log "no puppet.conf in $confdir"; return 1; }
    confdir=$(cd "$confdir" && pwd)
    _stack_ns_run "$confdir" "$@"
}

# stack_service_install NAME DIR: a real SysV init script /etc/init.d/NAME
# (root) for the puppetserver living in stack dir DIR: start (waits until
# it is up; exit 1 if it does not come up), stop (SIGTERM, KILL after 10 s),
# status (LSB: 0 running, 3 stopped), restart.  cert_regen's service code
# runs it with only PATH and LANG set, so every path is absolute.
stack_service_install() {
    local name=${1:?stack_service_install NAME DIR} dir=${2:?stack_service_install NAME DIR}
    dir=$(cd "$dir" && pwd)
    cat >"/etc/init.d/$name" <<EOF2
#!/bin/bash
### BEGIN INIT INFO
# Provides:          $name
# Short-Description: puppetserver of the cert_regen test stack in $dir
### END INIT INFO
. "$STACK_LIB_DIR/stack.sh"
_stack_export "$dir"
case "\$1" in
start) _stack_launch >>"$dir/log/init.log" 2>&1 || { echo "$name did not start (see $dir/log)"; exit 1; } ;;
stop) stack_stop -f ;;
status) if stack_running "$dir"; then echo "$name is running"; exit 0; fi; echo "$name is stopped"; exit 3 ;;
restart) stack_stop -f; _stack_launch >>"$dir/log/init.log" 2>&1 || exit 1 ;;
*) echo "usage: \$0 start|stop|status|restart"; exit 2 ;;
esac
exit 0
EOF2
    chmod 0755 "/etc/init.d/$name"
}

stack_service_remove() {
    rm -f "/etc/init.d/${1:?stack_service_remove NAME}"
}

# stack_start_own CERTNAME: (in a test script) a puppetserver of the
# test's own in $TEST_TMP/p with certname CERTNAME, stopped at exit: the
# shared one (CR_STACK_DIR) must keep its CA.  When it does not start: one
# not_ok and finish.
stack_start_own() {
    unset CR_STACK_DIR
    STACK_CERTNAME=${1:?stack_start_own CERTNAME}
    at_exit stack_stop -f
    if ! stack_start "$TEST_TMP/p"; then
        not_ok "own puppetserver starts" "see $TEST_TMP/p/log"
        finish
    fi
}

# stack_compiler_start NAME DIR [PORT]: a second puppetserver, a compile
# server, in DIR: the CA service disabled, its own confdir/ssldir/vardir,
# certname NAME with dns_alt_names localhost,NAME,IP:127.0.0.1, the
# primary's code (same modules and site.pp) and the primary as ca_server.
# Its identity comes from the primary's CA (`puppet ssl bootstrap`; the CA
# must sign alt names: stack_allow_sans).  Sets COMPILER_DIR, COMPILER_PORT
# and COMPILER_CONFDIR; the STACK_* variables still name the primary.
stack_compiler_start() {
    local name=${1:?stack_compiler_start NAME DIR [PORT]} dir=${2:?stack_compiler_start NAME DIR [PORT]}
    local port=${3:-} f
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -n "$port" ] || port=$(_stack_pick_port) || return 1
    mkdir -p "$dir"/{etc,conf.d,services.d,run,log,var,ssl,public,tmp}
    chmod 0750 "$dir/ssl"
    echo "$port" >"$dir/port"
    cat >"$dir/etc/puppet.conf" <<EOF2
[main]
$(_stack_server_main "$dir" "$STACK_CODEDIR" "$name")
keylength = 2048
server = localhost
serverport = $STACK_PORT
ca_server = localhost
ca_port = $STACK_PORT
EOF2
    for f in auth.conf metrics.conf web-routes.conf global.conf; do
        cp "$STACK_DIR/conf.d/$f" "$dir/conf.d/$f"
    done
    sed -i "s|$STACK_DIR/etc/logback.xml|$dir/etc/logback.xml|" "$dir/conf.d/global.conf"
    sed "s|$STACK_DIR/log/|$dir/log/|" "$STACK_DIR/etc/logback.xml" >"$dir/etc/logback.xml"
    cp "$STACK_DIR/services.d/bootstrap.cfg" "$dir/services.d/bootstrap.cfg"
    printf '%s\n' 'puppetlabs.services.ca.certificate-authority-disabled-service/certificate-authority-disabled-service' \
        'puppetlabs.trapperkeeper.services.watcher.filesystem-watch-service/filesystem-watch-service' \
        >"$dir/services.d/ca.cfg"
    sed "s|ssl-port: .*|ssl-port: $port|" "$STACK_DIR/conf.d/webserver.conf" >"$dir/conf.d/webserver.conf"
    sed -e "s|$STACK_DIR/var|$dir/var|g" -e "s|$STACK_DIR/run|$dir/run|g" \
        -e "s|$STACK_DIR/log|$dir/log|g" -e "s|server-conf-dir: \"$STACK_DIR/etc\"|server-conf-dir: \"$dir/etc\"|" \
        "$STACK_DIR/conf.d/puppetserver.conf" >"$dir/conf.d/puppetserver.conf"
    if [ ! -s "$dir/ssl/certs/$name.pem" ] &&
        ! stack_facter_ns puppet ssl bootstrap --confdir "$dir/etc" --waitforcert 0 >"$dir/log/bootstrap.log" 2>&1; then
        _stack_log "compiler $name: puppet ssl bootstrap failed:"
        tail -n 5 "$dir/log/bootstrap.log" >&2
        return 1
    fi
    COMPILER_DIR=$dir
    COMPILER_PORT=$port
    COMPILER_CONFDIR=$dir/etc
    export COMPILER_DIR COMPILER_PORT COMPILER_CONFDIR
    ( _stack_export "$dir"; STACK_OWNED=1; _stack_launch )
}

# stack_compiler_stop DIR: stop the compile server of DIR.
stack_compiler_stop() {
    ( _stack_export "${1:?stack_compiler_stop DIR}"; stack_stop -f )
}

# stack_allow_sans true|false: the primary CA's allow-subject-alt-names,
# then a reload.  The old ca.conf is kept in $STACK_DIR/conf.d/ca.conf.orig
# the first time; stack_allow_sans restore puts it back.
stack_allow_sans() {
    local want=${1:?stack_allow_sans true|false|restore}
    [ -e "$STACK_CA_CONF.orig" ] || cp "$STACK_CA_CONF" "$STACK_CA_CONF.orig"
    if [ "$want" = restore ]; then
        cmp -s "$STACK_CA_CONF.orig" "$STACK_CA_CONF" && return 0
        cp "$STACK_CA_CONF.orig" "$STACK_CA_CONF"
    else
        sed -i '/allow-subject-alt-names/d' "$STACK_CA_CONF"
        sed -i "s/^certificate-authority: {/&\n    allow-subject-alt-names: $want/" "$STACK_CA_CONF"
    fi
    stack_hup
}
