# shellcheck shell=bash
# tests/lib/puppetdb.sh - a real PuppetDB (Debian's puppetdb package) on a
# real PostgreSQL 15 cluster, both living in a directory of their own and
# started by the tests, wired to the puppetserver of tests/lib/stack.sh so
# that real agent runs store their facts in it.  Source after stack.sh.
#
#   STACK_PRE_LAUNCH=pdb_pre_launch; stack_start DIR   puppetserver gets
#       puppetdb.conf, routes.yaml (facts -> puppetdb) and storeconfigs; the
#       cluster and PuppetDB are started in the background meanwhile (they
#       use the server's own certificate, made by stack_start's CA setup)
#   pdb_wait            until PuppetDB answers (after stack_start)
#   pdb_query PQL       the query's JSON answer (plain HTTP on 127.0.0.1)
#   pdb_stop            PuppetDB, then PostgreSQL (safe twice, from a trap)
# Exports: PDB_DIR PDB_HTTP_PORT PDB_SSL_PORT PDB_PG_PORT PDB_URL PDB_START_SECONDS
# Env in:  PDB_START_TIMEOUT (240)
#
# PostgreSQL refuses to run as root: the cluster belongs to the postgres
# user (created by the postgresql package) in a directory of its own.

PDB_JAR=/usr/share/puppetdb/puppetdb.jar
PDB_PG_BIN=/usr/lib/postgresql/15/bin

_pdb_log() { printf 'puppetdb: %s\n' "$*" >&2; }

_pdb_pg() { runuser -u postgres -- "$@"; }

# _pdb_pg_start DIR: initdb + start a cluster on 127.0.0.1:$PDB_PG_PORT;
# role and database puppetdb, with pg_trgm (PuppetDB needs it).
_pdb_pg_start() {
    local dir=$1 pg
    pg=$(mktemp -d /tmp/cr-pg.XXXXXX) || return 1
    echo "$pg" >"$dir/pgdir"
    chown postgres: "$pg" && chmod 0700 "$pg"
    _pdb_pg "$PDB_PG_BIN/initdb" -D "$pg/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/log/initdb.log" 2>&1 || return 1
    _pdb_pg "$PDB_PG_BIN/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" -w -t 60 \
        -o "-p $PDB_PG_PORT -k $pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB" \
        start >"$dir/log/pg_ctl.log" 2>&1 || return 1
    _pdb_pg psql -h "$pg" -p "$PDB_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE puppetdb LOGIN PASSWORD '$(cat "$dir/pdb/db.secret")'" \
        -c 'CREATE DATABASE puppetdb OWNER puppetdb' >>"$dir/log/pg_ctl.log" 2>&1 &&
    _pdb_pg psql -h "$pg" -p "$PDB_PG_PORT" -U postgres -d puppetdb -v ON_ERROR_STOP=1 -q \
        -c 'CREATE EXTENSION pg_trgm' >>"$dir/log/pg_ctl.log" 2>&1
}

_pdb_write_config() {
    local dir=$1 ssl=$STACK_SSLDIR c=$1/pdb/conf.d
    mkdir -p "$c" "$dir/pdb/var" "$dir/log"
    ( umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/pdb/db.secret" )
    cat >"$c/config.ini" <<EOF
[global]
vardir = $dir/pdb/var
logging-config = $dir/pdb/logback.xml

[command-processing]
threads = 1
EOF
    ( umask 077; cat >"$c/database.ini" <<EOF
[database]
subname = //127.0.0.1:$PDB_PG_PORT/puppetdb
username = puppetdb
password = $(cat "$dir/pdb/db.secret")
EOF
    )
    cat >"$c/jetty.ini" <<EOF
[jetty]
host = 127.0.0.1
port = $PDB_HTTP_PORT
ssl-host = 127.0.0.1
ssl-port = $PDB_SSL_PORT
ssl-key = $ssl/private_keys/$STACK_CERTNAME.pem
ssl-cert = $ssl/certs/$STACK_CERTNAME.pem
ssl-ca-cert = $ssl/certs/ca.pem
EOF
    cp /etc/puppetdb/conf.d/auth.conf "$c/auth.conf"
    grep -v 'dashboard' /etc/puppetdb/bootstrap.cfg >"$dir/pdb/bootstrap.cfg"
    cat >"$dir/pdb/logback.xml" <<EOF
<configuration>
  <appender name="F1" class="ch.qos.logback.core.FileAppender">
    <file>$dir/log/puppetdb.log</file>
    <append>true</append>
    <encoder><pattern>%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5p [%c{2}] %m%n</pattern></encoder>
  </appender>
  <root level="info"><appender-ref ref="F1"/></root>
</configuration>
EOF
}

# _pdb_server_config DIR: the puppetserver of DIR sends facts to PuppetDB.
_pdb_server_config() {
    local dir=$1
    cat >"$dir/etc/puppetdb.conf" <<EOF
[main]
server_urls = https://localhost:$PDB_SSL_PORT
soft_write_failure = false
EOF
    cat >"$dir/etc/routes.yaml" <<EOF
---
server:
  facts:
    terminus: puppetdb
    cache: yaml
EOF
    cat >>"$dir/etc/puppet.conf" <<EOF
storeconfigs = true
storeconfigs_backend = puppetdb
EOF
}

# pdb_pre_launch DIR: the STACK_PRE_LAUNCH hook of stack_start.
pdb_pre_launch() {
    local dir=$1
    export PDB_DIR=$dir
    PDB_HTTP_PORT=$(_stack_pick_port) && PDB_SSL_PORT=$(_stack_pick_port) &&
        PDB_PG_PORT=$(_stack_pick_port) || return 1
    export PDB_HTTP_PORT PDB_SSL_PORT PDB_PG_PORT
    export PDB_URL="http://127.0.0.1:$PDB_HTTP_PORT"
    _pdb_write_config "$dir"
    _pdb_server_config "$dir"
    PDB_T0=$(date +%s.%N)
    # the cluster, then the JVM, in the background: puppetserver starts
    # meanwhile; pdb_wait joins them
    (
        _pdb_pg_start "$dir" || { echo pg >"$dir/pdb/failed"; exit 1; }
        # shellcheck disable=SC2016
        exec setsid bash -c 'echo $$ >"$1/pdb/pid"; exec java -Xmx256m -XX:+UseSerialGC \
            -XX:-UsePerfData -Djava.io.tmpdir="$1/pdb/var" -cp "$2" clojure.main \
            -m puppetlabs.puppetdb.core services -c "$1/pdb/conf.d" \
            --bootstrap-config "$1/pdb/bootstrap.cfg"' _ "$dir" "$PDB_JAR" \
            </dev/null >>"$dir/log/puppetdb-console.log" 2>&1
    ) &
    return 0
}

# pdb_wait: PuppetDB answers its status (and so has migrated its schema).
pdb_wait() {
    local timeout=${PDB_START_TIMEOUT:-240} i st
    for i in $(seq 1 $((timeout * 2))); do
        if [ -e "$PDB_DIR/pdb/failed" ]; then
            _pdb_log "PostgreSQL did not start:"; tail -5 "$PDB_DIR/log/"{initdb,pg_ctl}.log >&2
            return 1
        fi
        st=$(curl -fsS --max-time 5 "$PDB_URL/status/v1/services/puppetdb-status" 2>/dev/null |
            ruby -rjson -e 'print JSON.parse(STDIN.read)["state"]' 2>/dev/null)
        if [ "$st" = running ]; then
            PDB_START_SECONDS=$(awk -v a="$PDB_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
            export PDB_START_SECONDS
            return 0
        fi
        if [ -s "$PDB_DIR/pdb/pid" ] && ! kill -0 "$(cat "$PDB_DIR/pdb/pid")" 2>/dev/null; then
            _pdb_log "PuppetDB died:"; tail -20 "$PDB_DIR/log/puppetdb.log" >&2
            return 1
        fi
        sleep 0.5
        : "$i"
    done
    _pdb_log "PuppetDB did not answer within ${timeout}s"; tail -20 "$PDB_DIR/log/puppetdb.log" >&2
    return 1
}

# pdb_query PQL: the answer of /pdb/query/v4 (JSON array).
pdb_query() {
    curl -fsS --max-time 30 -G "$PDB_URL/pdb/query/v4" --data-urlencode "query=$1"
}

pdb_stop() {
    local pid pg
    [ -n "${PDB_DIR:-}" ] || return 0
    if [ -s "$PDB_DIR/pdb/pid" ]; then
        pid=$(cat "$PDB_DIR/pdb/pid")
        _stack_kill_pid "$pid" PuppetDB
        rm -f "$PDB_DIR/pdb/pid"
    fi
    if [ -s "$PDB_DIR/pgdir" ]; then
        pg=$(cat "$PDB_DIR/pgdir")
        [ -d "$pg/data" ] && _pdb_pg "$PDB_PG_BIN/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1
        case $pg in /tmp/cr-pg.*) rm -rf "$pg" ;; esac
        rm -f "$PDB_DIR/pgdir"
    fi
    return 0
}
