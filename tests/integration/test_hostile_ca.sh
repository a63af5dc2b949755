#!/bin/bash
# A CA that misbehaves or lies.  tests/hostile/ca_proxy.rb sits between the
# tasks and the real puppetserver (TLS terminated with a certificate of the
# real CA, so the client's TLS check passes) and delays, cuts, resets,
# answers 500, truncates, sends oversized bodies, presents another CA's
# certificate, or forges certificates, CA bundles and CRLs.  For every mode:
#   - the task exits non-zero with one JSON object whose _error.kind is a
#     documented kind (and the one expected for that fault);
#   - it ends within its time-out (10 s connect, 60 s per request) + slack;
#   - regenerate: the live ssldir is byte-identical (sha256 of every file,
#     modes, owners), `puppet ssl verify` passes, no forged certificate,
#     CA or CRL is anywhere in the ssldir; then the same agent, pointed back
#     at the real CA, regenerates (resume after a hostile attempt);
#   - CA side (ca_list, ca_clean, ca_sign): the names end in a state the
#     real CA then finishes cleanly.
# The slow modes (TLS handshake stalled past the 10 s connect time-out, an
# answer delayed past the 60 s request time-out) run in the background
# while the others run.
# shellcheck disable=SC2015,SC2030,SC2031
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/agents.sh"
. "$REPO_ROOT/tests/lib/task.sh"

stack_ensure
T_START=$(date +%s)
PROXY=$REPO_ROOT/tests/hostile/ca_proxy.rb
S=$STACK_SERVER_CONFDIR
SCERT=$STACK_SSLDIR/certs/$STACK_CERTNAME.pem
SKEY=$STACK_SSLDIR/private_keys/$STACK_CERTNAME.pem
DOC_KINDS='^cert_regen/(ca-unreachable|ca-tls-error|ca-pin-mismatch|parameters-changed|path-symlink|ca-error|ca-protocol-error|ca-unauthorized|verify-failed|ca-changed|ca-not-cleaned|csr-conflict|locked|staging-conflict|service-error|ca-partial-failure|no-request|fingerprint-mismatch|sign-refused)$'
FAST=20        # seconds: a fault that needs no time-out to be noticed
CONNECT_MAX=25 # the 10 s connect time-out + slack
REQUEST_MAX=80 # the 60 s request time-out + slack
PROXY_PIDS=()
# shellcheck disable=SC2016
at_exit 'for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null; done'

# ------------------------------------------------------------- helpers --

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# pem_fps FILE_OR_DIR...: sha256 of the DER of every certificate and CRL in
# them (private keys are never read into the output).
pem_fps() {
    # shellcheck disable=SC2016
    ruby -ropenssl -e '
        files = ARGV.flat_map { |a| File.directory?(a) ? Dir.glob(File.join(a, "**", "*"), File::FNM_DOTMATCH).select { |f| File.file?(f) } : [a] }
        files.select { |f| File.file?(f) }.each do |f|
          File.binread(f).scan(/-----BEGIN (CERTIFICATE|X509 CRL)-----.+?-----END \1-----/m) do
            kind = Regexp.last_match(1)
            blk = Regexp.last_match(0)
            der = begin
              (kind == "CERTIFICATE" ? OpenSSL::X509::Certificate : OpenSSL::X509::CRL).new(blk).to_der
            rescue OpenSSL::OpenSSLError
              next
            end
            puts OpenSSL::Digest::SHA256.hexdigest(der)
          end
        end' "$@" | sort -u
}

# proxy_start ID MODE [proxy options...]: sets PROXY_PID PROXY_PORT PROXY_DIR.
proxy_start() {
    local id=$1 mode=$2 i
    shift 2
    PROXY_DIR=$TEST_TMP/proxy-$id
    mkdir -p "$PROXY_DIR"
    ruby "$PROXY" --upstream-port "$STACK_PORT" --cadir "$STACK_CADIR" \
        --client-cert "$SCERT" --client-key "$SKEY" --mode "$mode" \
        --workdir "$PROXY_DIR" --log "$PROXY_DIR/log" \
        --max-seconds "${PROXY_MAX_SECONDS:-90}" "$@" \
        >"$PROXY_DIR/port" 2>"$PROXY_DIR/err" &
    PROXY_PID=$!
    PROXY_PIDS+=("$PROXY_PID")
    for i in $(seq 1 100); do
        [ -s "$PROXY_DIR/port" ] && break
        kill -0 "$PROXY_PID" 2>/dev/null || break
        sleep 0.1
        : "$i"
    done
    PROXY_PORT=$(head -n 1 "$PROXY_DIR/port" 2>/dev/null || true)
    if [ -z "$PROXY_PORT" ]; then
        not_ok "$id: the hostile proxy starts" "$(head -n 5 "$PROXY_DIR/err")"
        return 1
    fi
}

proxy_stop() {
    local pid=${1:-$PROXY_PID}
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# proxy_hit ID DESC: the proxy applied its fault at least once.
proxy_hit() {
    if grep -q '^HIT ' "$TEST_TMP/proxy-$1/log" 2>/dev/null; then
        ok "$2: the fault was applied"
    else
        not_ok "$2: the fault was applied" "$(cat "$TEST_TMP/proxy-$1/log" 2>/dev/null)"
    fi
}

# regen_via CONFDIR PORT [EXTRA_JSON_MEMBERS]: regenerate (EC key, no
# services) against 127.0.0.1:PORT.
regen_via() {
    task_run regenerate "{\"confdir\": \"$1\", \"key_type\": \"ec\", \"services\": [], \"wait_for_cert\": 5, \"lock_timeout\": 20, \"ca_server\": \"127.0.0.1\", \"ca_port\": $2${3:+, $3}}"
}

# clean_real NAME: revoke + delete NAME on the real CA (nothing there is fine).
clean_real() {
    task_run ca_clean "{\"confdir\": \"$S\", \"certnames\": [\"$1\"]}"
}


# one_json: stdout is exactly one JSON object.
one_json() {
    printf '%s' "$TASK_OUT" | ruby -rjson -e 'v = JSON.parse(STDIN.read); exit(v.is_a?(Hash) ? 0 : 1)' 2>/dev/null
}

# expect_fail DESC KINDS_REGEX MAX_SECONDS ELAPSED
expect_fail() {
    local kind
    kind=$(out _error.kind)
    if [ "$TASK_RC" -ne 0 ] && one_json && [[ $kind =~ $DOC_KINDS ]] && [[ $kind =~ $2 ]]; then
        ok "$1: fails closed with $kind (exit $TASK_RC)"
    else
        not_ok "$1: fails closed with a documented kind ~ $2" \
            "rc=$TASK_RC out=$(printf '%s' "$TASK_OUT" | head -c 1200)"$'\n'"$(tail -n 3 "$TEST_TMP/task.err" 2>/dev/null)"
    fi
    if le "$4" "$3"; then ok "$1: ended in ${4}s (limit $3 s)"; else not_ok "$1: ended within $3 s" "took $4 s"; fi
}

# untouched DESC SSLDIR PRESNAP NAME: byte-identical and still verifies.
untouched() {
    snap "$2" >"$TEST_TMP/post.snap"
    if diff "$3" "$TEST_TMP/post.snap" >"$TEST_TMP/snapdiff" 2>&1; then
        ok "$1: live ssldir byte-identical"
    else
        not_ok "$1: live ssldir byte-identical" "$(head -n 20 "$TEST_TMP/snapdiff")"
    fi
    if stack_puppet "$4" ssl verify >"$TEST_TMP/verify.log" 2>&1; then
        ok "$1: puppet ssl verify passes"
    else
        not_ok "$1: puppet ssl verify passes" "$(tail -n 5 "$TEST_TMP/verify.log")"
    fi
}

# nothing_forged DESC SSLDIR ID: no certificate/CRL the proxy forged is in
# the ssldir (nor the rogue CA).
nothing_forged() {
    local d=$TEST_TMP/proxy-$3 common
    pem_fps "$d/rogue-ca.pem" "$d"/forged-*.pem 2>/dev/null >"$TEST_TMP/forged.fps" || true
    pem_fps "$2" >"$TEST_TMP/live.fps"
    common=$(comm -12 "$TEST_TMP/forged.fps" "$TEST_TMP/live.fps")
    if [ -s "$TEST_TMP/forged.fps" ] && [ -z "$common" ]; then
        ok "$1: nothing forged is in the ssldir ($(wc -l <"$TEST_TMP/forged.fps") forged object(s) checked)"
    else
        not_ok "$1: nothing forged is in the ssldir" "installed: $common"
    fi
}

# consistent DESC CONFDIR NAME: hostcert <-> hostprivkey, chain + CRL (openssl).
consistent() {
    local s=$2/ssl n=$3 a b
    a=$(openssl x509 -in "$s/certs/$n.pem" -noout -pubkey 2>/dev/null)
    b=$(openssl pkey -in "$s/private_keys/$n.pem" -pubout 2>/dev/null)
    if [ -n "$a" ] && [ "$a" = "$b" ] &&
        openssl verify -crl_check_all -CAfile "$s/certs/ca.pem" -CRLfile "$s/crl.pem" "$s/certs/$n.pem" >/dev/null 2>&1; then
        ok "$1: new identity consistent (cert = key, chain + CRL)"
    else
        not_ok "$1: new identity consistent (cert = key, chain + CRL)" "$(openssl verify -crl_check_all -CAfile "$s/certs/ca.pem" -CRLfile "$s/crl.pem" "$s/certs/$n.pem" 2>&1 | tail -n 2)"
    fi
}

# resume DESC CONFDIR NAME: against the real CA the same agent regenerates.
resume() {
    regen_via "$2" "$STACK_PORT"
    if [ "$TASK_RC" -eq 0 ] && [ "$(out state)" = regenerated ]; then
        ok "$1: then the real CA regenerates it (resumed from $(printf '%s' "$TASK_OUT" | ruby -rjson -e 'print JSON.parse(STDIN.read)["steps"][0]["resumed_from"]' 2>/dev/null))"
    else
        not_ok "$1: then the real CA regenerates it" "rc=$TASK_RC out=$(printf '%s' "$TASK_OUT" | head -c 1200)"
    fi
    consistent "$1" "$2" "$3"
}

# hostile_regen ID KINDS MAX MODE [PROXY_OPTS...] [-- EXTRA_JSON]
#   KINDS SUCCEED: the run must succeed; "": it may succeed (a lie it can
#   safely ignore) or fail closed; either way nothing forged is installed.
#   EXTRA_JSON may hold @ROGUE_FP@ (the proxy's rogue CA, SHA-256).
hostile_regen() {
    local id=$1 kinds=$2 max=$3 mode=$4 extra="" t0 el fp
    local -a popts=()
    shift 4
    while [ "$#" -gt 0 ]; do
        if [ "$1" = -- ]; then extra=$2; break; fi
        popts+=("$1")
        shift
    done
    clean_real "$A"
    snap "$AS" >"$TEST_TMP/pre.snap"
    proxy_start "$id" "$mode" "${popts[@]}" || return 0
    if [[ $extra == *@ROGUE_FP@* ]]; then
        fp=$(openssl x509 -in "$PROXY_DIR/rogue-ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
        extra=${extra//@ROGUE_FP@/$fp}
    fi
    t0=$(now)
    regen_via "$AC" "$PROXY_PORT" "$extra"
    el=$(since "$t0")
    proxy_stop
    COVERED+=("regenerate:$id")
    [ "$mode" = pass ] || proxy_hit "$id" "regenerate/$id"
    if [ "$kinds" = SUCCEED ]; then
        if [ "$TASK_RC" -eq 0 ] && [ "$(out state)" = regenerated ]; then
            ok "regenerate/$id: regenerated through the proxy in ${el}s"
        else
            not_ok "regenerate/$id: regenerated through the proxy" "rc=$TASK_RC out=$(printf '%s' "$TASK_OUT" | head -c 1200)"
        fi
        consistent "regenerate/$id" "$AC" "$A"
    elif [ -z "$kinds" ] && [ "$TASK_RC" -eq 0 ]; then
        ok "regenerate/$id: accepted (state $(out state)) in ${el}s"
        consistent "regenerate/$id" "$AC" "$A"
    else
        expect_fail "regenerate/$id" "${kinds:-.}" "$max" "$el"
        untouched "regenerate/$id" "$AS" "$TEST_TMP/pre.snap" "$A"
        resume "regenerate/$id" "$AC" "$A"
    fi
    nothing_forged "regenerate/$id" "$AS" "$id"
}

# hostile_ca ID TASK PARAMS_JSON KINDS MAX MODE [PROXY_OPTS...]: a CA-side
# task (confdir of the CA host) through the proxy.
hostile_ca() {
    local id=$1 task=$2 params=$3 kinds=$4 max=$5 mode=$6 t0 el
    shift 6
    proxy_start "$id" "$mode" "$@" || return 0
    t0=$(now)
    task_run "$task" "{\"confdir\": \"$S\", \"ca_server\": \"127.0.0.1\", \"ca_port\": $PROXY_PORT, $params}"
    el=$(since "$t0")
    proxy_stop
    COVERED+=("$task:$id")
    proxy_hit "$id" "$task/$id"
    expect_fail "$task/$id" "$kinds" "$max" "$el"
}

COVERED=()

# ------------------------------------------------------------- agents --
A=hostile-$$.auto.test
B=hsdelay-$$.auto.test
C=delay-$$.auto.test
AC=$(new_agent "$A")
AS=$AC/ssl
BC=$(new_agent "$B")
CC=$(new_agent "$C")
for n in "$A" "$B" "$C"; do
    c=$(stack_agent_confdir "$n")
    [ -s "$c/ssl/certs/$n.pem" ] && ok "agent $n bootstrapped" || not_ok "agent $n bootstrapped" "$(tail -n 5 "$TEST_TMP/boot-$n.log")"
done
REAL_FP=$(openssl x509 -in "$STACK_CACERT" -noout -fingerprint -sha256 | sed 's/.*=//')

# ---------------------------------------- slow modes, in the background --
# bg_regen ID CONFDIR NAME MODE [PROXY_OPTS...]: writes $TEST_TMP/bg-ID/{rc,out,elapsed,pre.snap}
bg_regen() {
    local id=$1 c=$2 n=$3 mode=$4
    shift 4
    local d=$TEST_TMP/bg-$id
    mkdir -p "$d"
    task_installdir >/dev/null
    ln -sfn "$TEST_TMP/installdir" "$d/installdir"
    clean_real "$n"
    snap "$c/ssl" >"$d/pre.snap"
    PROXY_MAX_SECONDS=100 proxy_start "$id" "$mode" "$@" || return 0
    echo "$PROXY_PID" >"$d/proxy.pid"
    (
        TEST_TMP=$d
        t0=$(now)
        regen_via "$c" "$PROXY_PORT"
        since "$t0" >"$d/elapsed"
        printf '%s' "$TASK_OUT" >"$d/out"
        echo "$TASK_RC" >"$d/rc"
    ) &
    echo $! >"$d/job.pid"
}

bg_ca_list() {
    local id=$1 mode=$2
    shift 2
    local d=$TEST_TMP/bg-$id
    mkdir -p "$d"
    task_installdir >/dev/null
    ln -sfn "$TEST_TMP/installdir" "$d/installdir"
    PROXY_MAX_SECONDS=100 proxy_start "$id" "$mode" "$@" || return 0
    echo "$PROXY_PID" >"$d/proxy.pid"
    (
        TEST_TMP=$d
        t0=$(now)
        task_run ca_list "{\"confdir\": \"$S\", \"ca_server\": \"127.0.0.1\", \"ca_port\": $PROXY_PORT}"
        since "$t0" >"$d/elapsed"
        printf '%s' "$TASK_OUT" >"$d/out"
        echo "$TASK_RC" >"$d/rc"
    ) &
    echo $! >"$d/job.pid"
}

# bg_collect ID TASK KINDS MAX [CONFDIR NAME]
bg_collect() {
    local id=$1 task=$2 kinds=$3 max=$4 c=${5:-} n=${6:-} d=$TEST_TMP/bg-$1
    [ -s "$d/job.pid" ] || { not_ok "$task/$id: started" ""; return 0; }
    wait "$(cat "$d/job.pid")" 2>/dev/null || true
    proxy_stop "$(cat "$d/proxy.pid")"
    COVERED+=("$task:$id")
    proxy_hit "$id" "$task/$id"
    TASK_RC=$(cat "$d/rc" 2>/dev/null || echo 0)
    TASK_OUT=$(cat "$d/out" 2>/dev/null || true)
    expect_fail "$task/$id" "$kinds" "$max" "$(cat "$d/elapsed" 2>/dev/null || echo 9999)"
    if [ -n "$c" ]; then
        untouched "$task/$id" "$c/ssl" "$d/pre.snap" "$n"
        resume "$task/$id" "$c" "$n"
    fi
}

# TLS handshake stalled past the 10 s connect time-out; an answer delayed
# past the 60 s request time-out (the first request: GET certificate/ca).
bg_regen hsdelay "$BC" "$B" hsdelay=14
bg_regen delay "$CC" "$C" delay=66 --match 'certificate/ca$'
bg_ca_list list-hsdelay hsdelay=14
bg_ca_list list-delay delay=66 --match 'certificate_statuses'

# ------------------------------------------- regenerate, one mode each --
# An honest proxy first: the path through it works, with and without a pin.
hostile_regen pass SUCCEED "$FAST" pass
hostile_regen pass-pinned SUCCEED "$FAST" pass -- "\"ca_fingerprint\": \"$REAL_FP\""
# transport
hostile_regen reset-first ca-unreachable "$FAST" reset
hostile_regen cut-first ca-unreachable "$FAST" cut
hostile_regen 500-first ca-error "$FAST" status=500
hostile_regen truncate-ca 'ca-unreachable|ca-protocol-error' "$FAST" truncate --match 'certificate/ca$'
hostile_regen oversize-ca ca-protocol-error "$FAST" oversize --match 'certificate/ca$'
hostile_regen wrongca ca-tls-error "$FAST" wrongca
hostile_regen cut-put ca-unreachable "$FAST" cut --match '^PUT '
hostile_regen cutafter-put ca-unreachable "$FAST" cutafter --match '^PUT '
hostile_regen 500-put ca-error "$FAST" status=500 --match '^PUT '
hostile_regen reset-cert ca-unreachable "$FAST" reset --match 'GET .*/certificate/[^c]' --skip 1
hostile_regen truncate-cert 'ca-unreachable|ca-protocol-error' "$FAST" truncate=full --match 'GET .*/certificate/[^c]' --skip 1
hostile_regen 503-crl ca-error "$FAST" status=503 --match 'certificate_revocation_list'
hostile_regen oversize-crl ca-protocol-error "$FAST" oversize-chunked --match 'certificate_revocation_list'
# a CA that lies about the certificate
hostile_regen swapcert-otherkey 'ca-not-cleaned|verify-failed' "$FAST" swapcert=otherkey
hostile_regen swapcert-othercn verify-failed "$FAST" swapcert=othercn
hostile_regen swapcert-rogueca 'verify-failed|ca-changed' "$FAST" swapcert=rogueca
hostile_regen swapcert-expired verify-failed "$FAST" swapcert=expired
hostile_regen swapcert-append verify-failed "$FAST" swapcert=append
# ... about the CA bundle, with and without the ca_fingerprint pin
hostile_regen swapca-rogue 'verify-failed|ca-changed' "$FAST" swapca=rogue
hostile_regen swapca-append ca-changed "$FAST" swapca=append
hostile_regen swapca-garbage ca-protocol-error "$FAST" swapca=garbage
hostile_regen swapca-rogue-pinreal ca-pin-mismatch "$FAST" swapca=rogue -- "\"ca_fingerprint\": \"$REAL_FP\""
hostile_regen swapca-append-pinreal ca-pin-mismatch "$FAST" swapca=append -- "\"ca_fingerprint\": \"$REAL_FP\""
hostile_regen swapca-rogue-pinrogue 'ca-tls-error|verify-failed' "$FAST" swapca=rogue -- '"ca_fingerprint": "@ROGUE_FP@"'
# ... about the CRL
hostile_regen crl-garbage ca-protocol-error "$FAST" crl=garbage
hostile_regen crl-rogue verify-failed "$FAST" crl=rogue
hostile_regen crl-prepend verify-failed "$FAST" crl=prepend
hostile_regen crl-append verify-failed "$FAST" crl=append
hostile_regen crl-revoked verify-failed "$FAST" crl=revoked
hostile_regen crl-stale verify-failed "$FAST" crl=stale

# ----------------------------------------------------------- CA side --
hostile_ca list-reset ca_list '"state": "all"' ca-unreachable "$FAST" reset
hostile_ca list-cut ca_list '"state": "all"' ca-unreachable "$FAST" cut
hostile_ca list-500 ca_list '"state": "all"' ca-error "$FAST" status=500
hostile_ca list-truncate ca_list '"state": "all"' 'ca-unreachable|ca-protocol-error' "$FAST" truncate
hostile_ca list-oversize ca_list '"state": "all"' ca-protocol-error "$FAST" oversize
hostile_ca list-oversize-chunked ca_list '"state": "all"' ca-protocol-error "$FAST" oversize-chunked
hostile_ca list-wrongca ca_list '"state": "all"' ca-tls-error "$FAST" wrongca
hostile_ca list-json ca_list '"state": "all"' ca-protocol-error "$FAST" json=garbage --match 'certificate_statuses'

# ca_clean: the revoke answered 500; the delete cut after the CA did it
# (the client never hears it succeeded)
k1=clean1-$$.auto.test
csr_put "$k1"
hostile_ca clean-500 ca_clean "\"certnames\": [\"$k1\"]" 'ca-error|ca-partial-failure' "$FAST" status=500 --match '^PUT '
assert_eq signed "$(ca_state "$k1")" "ca_clean/clean-500: the name is untouched on the CA (signed)"
hostile_ca clean-cutafter ca_clean "\"certnames\": [\"$k1\"]" 'ca-unreachable|ca-partial-failure' "$FAST" cutafter --match '^DELETE '
clean_real "$k1"
assert_match '^0 (cleaned|nothing_to_clean)$' "$TASK_RC $(out results.0.outcome)" "ca_clean/clean-cutafter: the real CA then cleans it (or finds it done)"
assert_eq absent "$(ca_state "$k1")" "ca_clean/clean-cutafter: the name is gone from the CA"
hostile_ca clean-wrongca ca_clean "\"certnames\": [\"$k1\"]" ca-tls-error "$FAST" wrongca

# ca_sign: the status lookup not JSON, the sign answered 500, cut
k2=sign2-$$.manual.test
csr_put "$k2"
hostile_ca sign-json ca_sign "\"certnames\": [\"$k2\"]" 'ca-protocol-error|ca-partial-failure' "$FAST" json=garbage
hostile_ca sign-500 ca_sign "\"certnames\": [\"$k2\"]" 'ca-error|ca-partial-failure' "$FAST" status=500 --match '^PUT '
hostile_ca sign-cut ca_sign "\"certnames\": [\"$k2\"]" 'ca-unreachable|ca-partial-failure' "$FAST" cut --match '^PUT '
assert_eq requested "$(ca_state "$k2")" "ca_sign: after the hostile attempts the CSR still waits (requested)"
task_run ca_sign "{\"confdir\": \"$S\", \"certnames\": [\"$k2\"]}"
assert_eq "0 signed" "$TASK_RC $(out results.0.outcome)" "ca_sign: the real CA then signs it"
clean_real "$k2"

# ------------------------------------------------- collect the slow ones --
bg_collect hsdelay regenerate ca-unreachable "$CONNECT_MAX" "$BC" "$B"
bg_collect list-hsdelay ca_list ca-unreachable "$CONNECT_MAX"
bg_collect delay regenerate ca-unreachable "$REQUEST_MAX" "$CC" "$C"
bg_collect list-delay ca_list ca-unreachable "$REQUEST_MAX"

# the main agent's final identity works for a real agent run
assert_cmd "the hostile agent's final identity: puppet ssl verify" -- stack_puppet "$A" ssl verify
clean_real "$A"; clean_real "$B"; clean_real "$C"

echo "# covered: ${#COVERED[@]} mode x task combinations in $(($(date +%s) - T_START)) s"
finish
