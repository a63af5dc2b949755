#!/bin/bash
# bench/fleet_concurrent.sh [N] [BATCH] - N agents (default 100) through one
# real puppetserver CA, BATCH agents at a time (default 100) run
# concurrently, manual signing (no autosign), side by side in one run:
#   cert_regen  cert_regen::regenerate_agents' task sequence: status on every
#               agent + ca_list (once), then per batch: regenerate on each
#               agent (stages key and CSR; the CA still holds the old
#               certificate: ca-not-cleaned) -> ca_clean (the batch's names,
#               one call) -> regenerate (submits, pending + CSR fingerprint)
#               -> ca_sign (the batch's names, fingerprints checked, one
#               call) -> regenerate (verifies and swaps) -> status (check)
#   floor       the same API round trips with curl(1) only, concurrently:
#               revoke + delete, key + CSR (openssl) + PUT CSR, sign, GET cert
#   puppet      puppetserver ca clean --certname a,b,.. -> on each agent
#               puppet ssl clean + puppet ssl bootstrap --waitforcert 0 ->
#               puppetserver ca sign --certname a,b,.. -> puppet ssl
#               bootstrap --waitforcert 0 on each agent (RSA only: key_type
#               = ec is broken in Puppet 7 on OpenSSL 3)
# each with RSA-2048 and EC P-256 keys.  The agent-side steps of a batch run
# as BATCH concurrent processes (xargs -P; Bolt's default concurrency is
# 100); every agent lives on this machine, so all key generation shares its
# cores with the CA.  The floor generates its keys inside the clock too.
# All methods regenerate the same N agents (set up once, not timed).
# Prints agents per minute, the CA JVM's CPU seconds and RSS (from /proc),
# the machine's CPU use and load average per method, and where the time
# goes (seconds per phase, summed over batches).
# A benchmark, not a test: nothing asserts.
# METHODS="cert_regen_rsa floor_rsa" limits the run (default: cert_regen_rsa
# cert_regen_ec floor_rsa floor_ec puppet_rsa); PUPPET_N=M runs Puppet's
# commands on the first M agents only (they cost about 1.5 CPU-s each);
# RSA_N=M runs the RSA-2048 variants on the first M agents only.
# Starts a puppetserver: run it under flock /tmp/cr-jvm.lock.
set -uo pipefail
N=${1:-100}
BATCH=${2:-100}
methods=" ${METHODS:-cert_regen_rsa cert_regen_ec floor_rsa floor_ec puppet_rsa} "
PUPPET_N=${PUPPET_N:-$N}
RSA_N=${RSA_N:-$N}
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../tests/lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
set +e
stack_ensure >/dev/null || { echo "no puppetserver"; exit 1; }
inst=$(task_installdir)
S=$STACK_SERVER_CONFDIR
api="$STACK_URL/puppet-ca/v1"
jvm=$(cat "$STACK_DIR/run/server.pid")
tck=$(getconf CLK_TCK)
export inst S api TEST_TMP STACK_CACERT STACK_DIR
export SC=$STACK_SSLDIR/certs/$STACK_CERTNAME.pem SK=$STACK_SSLDIR/private_keys/$STACK_CERTNAME.pem
now() { date +%s.%N; }
json_list() { ruby -rjson -e 'print JSON.generate(ARGV)' "$@"; }
ca_cpu() { awk -v t="$tck" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$jvm/stat"; }
ca_rss() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$jvm/status"; }
ca_hwm() { awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$jvm/status"; }
sys_cpu() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# --- agent-side steps, one process per agent (run by xargs -P) -------------
task() { # name params-json
    printf '%s' "$2" | PT__installdir="$inst" "$inst/cert_regen/tasks/$1.sh"
}
agent_conf() { printf '%s/agents/%s\n' "$STACK_DIR" "$1"; }
# cr_regen KEYARGS NAME: one regenerate run; prints "NAME STATE-OR-KIND FP"
cr_regen() {
    local out st
    out=$(task regenerate "{\"confdir\":\"$(agent_conf "$2")\",\"wait_for_cert\":0,$1\"services\":[],\"backup\":false}")
    st=$(printf '%s' "$out" | sed -n 's/.*"state":"\([a-z_]*\)".*/\1/p; s/.*"kind":"\([a-z/_-]*\)".*/\1/p' | head -n 1)
    printf '%s %s %s\n' "$2" "${st:-?}" "$(printf '%s' "$out" | sed -n 's/.*"csr_fingerprint":"\([^"]*\)".*/\1/p')"
    # the task's own step timings: "TAG STEP MS" lines
    [ -n "${CR_TAG:-}" ] && printf '%s' "$out" | grep -o '"name":"[a-z_]*","duration_ms":[0-9]*' |
        sed "s/\"name\":\"\\([a-z_]*\\)\",\"duration_ms\":/$CR_TAG \\1 /" >>"$TEST_TMP/steps"
    return 0
}
cr_status() {
    task status "{\"confdir\":\"$(agent_conf "$1")\"}" | grep -q '"health"' && echo "$1 ok"
}
adm() { curl -sf --cacert "$STACK_CACERT" --cert "$SC" --key "$SK" "$@"; }
fl_clean() {
    adm -X PUT -H 'Content-Type: application/json' -d '{"desired_state":"revoked"}' "$api/certificate_status/$1" >/dev/null
    adm -X DELETE "$api/certificate_status/$1" >/dev/null
}
fl_submit() { # KEYTYPE NAME
    local k=$TEST_TMP/fl/$2
    if [ "$1" = ec ]; then
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$k.key" -subj "/CN=$2" -out "$k.csr" 2>/dev/null
    else
        openssl req -new -newkey rsa:2048 -nodes -keyout "$k.key" -subj "/CN=$2" -out "$k.csr" 2>/dev/null
    fi
    curl -sf --cacert "$STACK_CACERT" -X PUT -H 'Content-Type: text/plain' --data-binary "@$k.csr" "$api/certificate_request/$2" >/dev/null
}
fl_sign() {
    adm -X PUT -H 'Content-Type: application/json' -d '{"desired_state":"signed"}' "$api/certificate_status/$1" >/dev/null
}
fl_fetch() { curl -sf --cacert "$STACK_CACERT" "$api/certificate/$1" -o "$TEST_TMP/fl/$1.crt" && echo "$1 ok"; }
pp_submit() {
    local c
    c=$(agent_conf "$1")
    puppet ssl clean --confdir "$c" >/dev/null 2>&1
    puppet ssl bootstrap --confdir "$c" --waitforcert 0 >/dev/null 2>&1
    return 0
}
pp_install() { puppet ssl bootstrap --confdir "$(agent_conf "$1")" --waitforcert 0 >/dev/null 2>&1 && echo "$1 ok"; }
export -f task agent_conf cr_regen cr_status adm fl_clean fl_submit fl_sign fl_fetch pp_submit pp_install
# each NAME ... FUNC ARGS...: FUNC ARGS NAME for each name on stdin, BATCH at once
each() { xargs -r -P "$BATCH" -I{} bash -c '"$@" {}' _ "$@"; }

# --- set-up (not timed): N agents with a signed EC identity -----------------
tag=$$
names=()
for i in $(seq 1 "$N"); do names+=("a$i.c$tag.bench.test"); done
printf '%s\n' "${names[@]}" >"$TEST_TMP/names"
echo "== setting up $N agents (not timed)"
for x in "${names[@]}"; do
    c=$(stack_agent "$x")
    printf 'keylength = 2048\n' >>"$c/puppet.conf"
    mkdir -p "$c/ssl/certs"
    cp "$STACK_CACERT" "$c/ssl/certs/ca.pem"
    cp "$STACK_SSLDIR/crl.pem" "$c/ssl/crl.pem"
done
mkdir -p "$TEST_TMP/fl"
printf '*.auto.test\n*.c%s.bench.test\n' "$tag" >"$STACK_DIR/etc/autosign.conf"
each cr_regen '"key_type":"ec",' <"$TEST_TMP/names" | grep -c ' regenerated ' | sed 's/^/setup: identities: /'
printf '*.auto.test\n' >"$STACK_DIR/etc/autosign.conf"

results="$TEST_TMP/results"
phases="$TEST_TMP/phases"
: >"$results"
: >"$phases"
# phase METHOD PHASE CMD...: run CMD, add its wall time to METHOD's PHASE
phase() {
    local m=$1 p=$2 t0 rc
    shift 2
    t0=$(now)
    "$@"
    rc=$?
    echo "$m $p $t0 $(now)" >>"$phases"
    return $rc
}
batches() { split -l "$BATCH" -d -a 4 "$1" "$TEST_TMP/batch."; ls "$TEST_TMP"/batch.*; }

run_cert_regen() { # METHOD KEYARGS
    local m=$1 k=$2 b ok=0 fps
    phase "$m" status_all each cr_status <"$TEST_TMP/run" >/dev/null
    phase "$m" ca_list task ca_list "{\"confdir\":\"$S\",\"state\":\"all\"}" >/dev/null
    for b in $(batches "$TEST_TMP/run"); do
        mapfile -t nm <"$b"
        export CR_TAG="$m stage"
        phase "$m" stage each cr_regen "$k" <"$b" >"$b.1"
        phase "$m" ca_clean task ca_clean "{\"confdir\":\"$S\",\"certnames\":$(json_list "${nm[@]}")}" >"$b.c"
        export CR_TAG="$m submit"
        phase "$m" submit each cr_regen "$k" <"$b" >"$b.2"
        fps=$(ruby -rjson -e 'print JSON.generate(STDIN.each_line.map(&:split).select { |l| l[1] == "pending" }.to_h { |l| [l[0], l[2]] })' <"$b.2")
        phase "$m" ca_sign task ca_sign "{\"confdir\":\"$S\",\"certnames\":$(json_list "${nm[@]}"),\"expected_fingerprints\":$fps}" >"$b.s"
        export CR_TAG="$m install"
        phase "$m" install each cr_regen "$k" <"$b" >"$b.3"
        CR_TAG=
        phase "$m" check each cr_status <"$b" >/dev/null
        ok=$((ok + $(grep -c ' regenerated ' "$b.3")))
        grep -qv ' ca-not-cleaned \| cert_regen/ca-not-cleaned ' "$b.1" && echo "$m: stage: $(grep -v 'ca-not-cleaned' "$b.1" | head -n 2)" >&2
        grep -qv ' pending ' "$b.2" && echo "$m: submit: $(grep -v ' pending ' "$b.2" | head -n 2)" >&2
    done
    rm -f "$TEST_TMP"/batch.*
    echo "$ok"
}
run_floor() { # METHOD KEYTYPE
    local m=$1 k=$2 b ok=0
    for b in $(batches "$TEST_TMP/run"); do
        phase "$m" clean each fl_clean <"$b"
        phase "$m" submit each fl_submit "$k" <"$b"
        phase "$m" sign each fl_sign <"$b"
        ok=$((ok + $(phase "$m" fetch each fl_fetch <"$b" | grep -c ' ok$')))
    done
    rm -f "$TEST_TMP"/batch.* "$TEST_TMP"/fl/*
    echo "$ok"
}
run_puppet() { # METHOD
    local m=$1 b ok=0 list
    for b in $(batches "$TEST_TMP/run"); do
        list=$(paste -sd, "$b")
        phase "$m" ca_clean stack_ca clean --certname "$list" >/dev/null 2>&1
        phase "$m" submit each pp_submit <"$b"
        phase "$m" ca_sign stack_ca sign --certname "$list" >/dev/null 2>&1
        ok=$((ok + $(phase "$m" install each pp_install <"$b" | grep -c ' ok$')))
    done
    rm -f "$TEST_TMP"/batch.*
    echo "$ok"
}

for m in cert_regen_rsa cert_regen_ec floor_rsa floor_ec puppet_rsa; do
    [[ $methods == *" $m "* ]] || continue
    n=$N
    case $m in *_rsa) n=$((RSA_N < N ? RSA_N : N)) ;; esac
    [ "$m" = puppet_rsa ] && n=$((PUPPET_N < n ? PUPPET_N : n))
    head -n "$n" "$TEST_TMP/names" >"$TEST_TMP/run"
    echo "== $m: $n agents, batches of $BATCH"
    c0=$(ca_cpu); s0=$(sys_cpu); l0=$(load1); t0=$(now)
    case $m in
    cert_regen_rsa) ok=$(run_cert_regen "$m" '"key_type":"rsa","key_size":2048,' | tail -n 1) ;;
    cert_regen_ec) ok=$(run_cert_regen "$m" '"key_type":"ec","curve":"prime256v1",' | tail -n 1) ;;
    floor_rsa) ok=$(run_floor "$m" rsa) ;;
    floor_ec) ok=$(run_floor "$m" ec) ;;
    puppet_rsa) ok=$(run_puppet "$m") ;;
    esac
    t1=$(now); c1=$(ca_cpu); s1=$(sys_cpu); l1=$(load1)
    echo "$m $n $ok $t0 $t1 $c0 $c1 $(ca_rss) $(ca_hwm) $s0 $s1 $l0 $l1" >>"$results"
done

echo
ruby -e '
  rows = File.readlines(ARGV[0]).map(&:split)
  puts format("%-15s %6s %5s %8s %9s %8s %7s %7s %7s %11s", "method", "agents", "ok", "seconds",
              "agents/min", "CA cpu-s", "CA RSS", "CA peak", "machine", "load1 b/a")
  rows.each do |m, n, ok, t0, t1, c0, c1, rss, hwm, sb0, st0, sb1, st1, l0, l1|
    s = t1.to_f - t0.to_f
    busy = (sb1.to_f - sb0.to_f) / (st1.to_f - st0.to_f) * 100
    puts format("%-15s %6d %5d %8.1f %9.1f %8.1f %5dMB %5dMB %6.0f%% %5s/%-5s", m, n.to_i, ok.to_i, s,
                n.to_f / s * 60, c1.to_f - c0.to_f, rss.to_i, hwm.to_i, busy, l0, l1)
  end
  puts
  puts "where the time goes (seconds per phase, summed over batches):"
  ph = Hash.new { |h, k| h[k] = Hash.new(0.0) }
  File.readlines(ARGV[1]).each { |l| m, p, a, b = l.split; ph[m][p] += b.to_f - a.to_f }
  ph.each { |m, h| puts format("  %-15s %s", m, h.map { |p, s| format("%s %.1f", p, s) }.join(", ")) }
  if File.exist?(ARGV[2])
    puts "inside cert_regen::regenerate (its own step timings, mean ms per agent and round):"
    st = Hash.new { |h, k| h[k] = Hash.new(0.0) }
    File.readlines(ARGV[2]).each { |l| m, r, s, ms = l.split; st["#{m} #{r}"][s] += ms.to_f }
    n = rows.to_h { |r| [r[0], r[1].to_f] }
    st.each { |k, h| puts format("  %-22s %s", k, h.map { |s, ms| format("%s %.0f", s, ms / n[k.split[0]]) }.join(", ")) }
  end
  fl = rows.to_h { |r| [r[0], r[1].to_f / (r[4].to_f - r[3].to_f)] }
  %w[rsa ec].each do |k|
    next unless fl["floor_#{k}"] && fl["cert_regen_#{k}"]
    puts format("cert_regen_%s takes %.2fx the floor'"'"'s time", k, fl["floor_#{k}"] / fl["cert_regen_#{k}"])
  end
' "$results" "$phases" "$TEST_TMP/steps"
echo "(one CA on this machine ($(nproc) cores) with every agent; batches of $BATCH concurrent; manual signing; machine = all cores busy during the method; load1 = 1-minute load average before/after)"
