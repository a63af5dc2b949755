#!/bin/bash
# Runs that race, against the real puppetserver:
#   1. two cert_regen::regenerate runs on the same agent, released at the same
#      instant: one regenerates, the other waits on Puppet's lock and then
#      fails cleanly (or finds the work done) - never a mixed identity;
#   2. a regenerate while `puppet agent -t` runs on that agent (a catalog
#      that sleeps): with a short lock_timeout it fails with
#      cert_regen/locked and changes nothing; with a long one it waits for
#      the run to end and then regenerates; the agent run is unaffected;
#   3. ca_clean, ca_sign and ca_list racing on the same names on the CA:
#      every run ends with one clean outcome per name or a clean _error, and
#      the CA's final state is consistent (files, API, `puppetserver ca list`).
# shellcheck disable=SC2015,SC2030,SC2031
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/agents.sh"
. "$REPO_ROOT/tests/lib/task.sh"

stack_ensure
T_START=$(date +%s)
S=$STACK_SERVER_CONFDIR
SCERT=$STACK_SSLDIR/certs/$STACK_CERTNAME.pem
SKEY=$STACK_SSLDIR/private_keys/$STACK_CERTNAME.pem
DOC_KINDS='^cert_regen/(ca-unreachable|ca-tls-error|ca-pin-mismatch|parameters-changed|path-symlink|ca-error|ca-protocol-error|ca-unauthorized|verify-failed|ca-changed|ca-not-cleaned|csr-conflict|locked|staging-conflict|service-error|ca-partial-failure|no-request|fingerprint-mismatch|sign-refused)$'
BG_PIDS=()
# shellcheck disable=SC2016
at_exit 'for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done'

# ------------------------------------------------------------- helpers --

now() { date +%s.%N; }

regen_json() { # CONFDIR LOCK_TIMEOUT
    printf '{"confdir": "%s", "key_type": "ec", "services": [], "wait_for_cert": 10, "lock_timeout": %s, "ca_server": "127.0.0.1", "ca_port": %s}' \
        "$1" "$2" "$STACK_PORT"
}


# bg_task ID TASK JSON [GO_FILE]: runs the task in the background (its own
# TEST_TMP, the shared installdir) once GO_FILE exists; results in
# $TEST_TMP/bg-ID/{rc,out,t0,t1}.
bg_task() {
    local id=$1 task=$2 json=$3 go=${4:-} d=$TEST_TMP/bg-$1
    mkdir -p "$d"
    task_installdir >/dev/null
    ln -sfn "$TEST_TMP/installdir" "$d/installdir"
    (
        TEST_TMP=$d
        if [ -n "$go" ]; then
            while [ ! -e "$go" ]; do sleep 0.01; done
        fi
        now >"$d/t0"
        task_run "$task" "$json"
        now >"$d/t1"
        printf '%s' "$TASK_OUT" >"$d/out"
        echo "$TASK_RC" >"$d/rc"
    ) &
    BG_PIDS+=("$!")
    echo "$!" >"$d/pid"
}

bg_wait() { wait "$(cat "$TEST_TMP/bg-$1/pid")" 2>/dev/null || true; }
bg_rc() { cat "$TEST_TMP/bg-$1/rc" 2>/dev/null || echo 99; }
bg_out() { cat "$TEST_TMP/bg-$1/out" 2>/dev/null || true; }
bg_get() { json_get "$(bg_out "$1")" "$2" 2>/dev/null || true; }

one_json() { # TEXT: exactly one JSON object
    printf '%s' "$1" | ruby -rjson -e 'v = JSON.parse(STDIN.read); exit(v.is_a?(Hash) ? 0 : 1)' 2>/dev/null
}

# identity_ok DESC CONFDIR NAME: hostcert <-> hostprivkey <-> hostpubkey,
# chain + CRL, and `puppet ssl verify`.
identity_ok() {
    local s=$2/ssl n=$3 a b p
    a=$(openssl x509 -in "$s/certs/$n.pem" -noout -pubkey 2>/dev/null)
    b=$(openssl pkey -in "$s/private_keys/$n.pem" -pubout 2>/dev/null)
    p=$(cat "$s/public_keys/$n.pem" 2>/dev/null || true)
    if [ -n "$a" ] && [ "$a" = "$b" ] && { [ -z "$p" ] || [ "$p" = "$b" ]; }; then
        ok "$1: one identity (hostcert, hostprivkey and hostpubkey agree)"
    else
        not_ok "$1: one identity (hostcert, hostprivkey and hostpubkey agree)" "cert/key/pubkey differ"
    fi
    if openssl verify -crl_check_all -CAfile "$s/certs/ca.pem" -CRLfile "$s/crl.pem" "$s/certs/$n.pem" >/dev/null 2>&1; then
        ok "$1: hostcert chains to ca.pem, not revoked by crl.pem"
    else
        not_ok "$1: hostcert chains to ca.pem, not revoked by crl.pem" ""
    fi
    if stack_puppet "$n" ssl verify >"$TEST_TMP/verify.log" 2>&1; then
        ok "$1: puppet ssl verify passes"
    else
        not_ok "$1: puppet ssl verify passes" "$(tail -n 5 "$TEST_TMP/verify.log")"
    fi
}

# ----------------------------------- 1. two regenerates at the same time --
n1=twin-$$.auto.test
c1=$(new_agent "$n1")
[ -s "$c1/ssl/certs/$n1.pem" ] && ok "1: agent $n1 bootstrapped" || not_ok "1: agent $n1 bootstrapped" "$(tail -n 5 "$TEST_TMP/boot-$n1.log")"
task_run ca_clean "{\"confdir\": \"$S\", \"certnames\": [\"$n1\"]}"
old_fp=$(openssl x509 -in "$c1/ssl/certs/$n1.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
go=$TEST_TMP/go-twins
bg_task twin-a regenerate "$(regen_json "$c1" 300)" "$go"
bg_task twin-b regenerate "$(regen_json "$c1" 300)" "$go"
sleep 0.3
touch "$go"
bg_wait twin-a
bg_wait twin-b
wins=0
for r in twin-a twin-b; do
    o=$(bg_out "$r")
    one_json "$o" && ok "1: $r printed one JSON object" || not_ok "1: $r printed one JSON object" "$(printf '%s' "$o" | head -c 800)"
    if [ "$(bg_rc "$r")" -eq 0 ] && [ "$(bg_get "$r" state)" = regenerated ]; then
        wins=$((wins + 1))
        winner=$r
    elif [ "$(bg_rc "$r")" -eq 0 ] && [ "$(bg_get "$r" state)" = current ]; then
        # the loser waited for the lock (lock_timeout 300) and found the
        # certificate replaced: nothing to do, and no advice to clean the
        # name on the CA (that would revoke the winner's certificate)
        ok "1: $r found the work done (state current: $(bg_get "$r" reason))"
    else
        k=$(bg_get "$r" _error.kind)
        if [ "$(bg_rc "$r")" -ne 0 ] && [[ $k =~ ^cert_regen/(locked|staging-conflict|csr-conflict)$ ]]; then
            ok "1: $r failed cleanly ($k, live $(bg_get "$r" _error.details.live))"
            [ "$(bg_get "$r" _error.details.live)" = old ] &&
                ok "1: $r says it left the live identity untouched" ||
                not_ok "1: $r says it left the live identity untouched" "$(printf '%s' "$o" | head -c 800)"
        else
            not_ok "1: $r regenerated or failed cleanly" "rc=$(bg_rc "$r") out=$(printf '%s' "$o" | head -c 1200)"
        fi
    fi
done
assert_eq 1 "$wins" "1: exactly one of the two runs regenerated"
if [ "$wins" -eq 1 ]; then
    assert_eq "$(bg_get "$winner" after.fingerprint_sha256)" \
        "$(openssl x509 -in "$c1/ssl/certs/$n1.pem" -noout -fingerprint -sha256 | sed 's/.*=//')" \
        "1: the live certificate is the winner's"
    [ "$(bg_get "$winner" before.fingerprint_sha256)" = "$old_fp" ] &&
        ok "1: the winner replaced the original certificate" || not_ok "1: the winner replaced the original certificate" ""
fi
identity_ok "1" "$c1" "$n1"
# whatever the loser staged is not live; a later run still works once the
# name is cleaned (it resumes from, or replaces, the loser's staging)
task_run ca_clean "{\"confdir\": \"$S\", \"certnames\": [\"$n1\"]}"
task_run regenerate "$(regen_json "$c1" 30)"
assert_eq "0 regenerated" "$TASK_RC $(out state)" "1: a later regenerate on the same agent succeeds"
identity_ok "1 (after a later run)" "$c1" "$n1"

# ------------------------------------- 2. regenerate during puppet agent -t --
n2=busy-$$.auto.test
c2=$(new_agent "$n2")
[ -s "$c2/ssl/certs/$n2.pem" ] && ok "2: agent $n2 bootstrapped" || not_ok "2: agent $n2 bootstrapped" "$(tail -n 5 "$TEST_TMP/boot-$n2.log")"
# A node block of its own (a separate file of the manifests directory, so
# other agents of a shared server keep `node default`).
pp=$STACK_ENVDIR/manifests/zz_cr_concurrency_$$.pp
cat >"$pp" <<EOF
node '$n2' {
  exec { 'cr-concurrency-sleep': command => '/bin/sleep 8', path => ['/bin', '/usr/bin'] }
}
EOF
at_exit "rm -f '$pp'"
# The CA forgets the certificate without revoking it: the running agent keeps
# a valid identity, and the regenerate may submit a new CSR.
curl -sS -o /dev/null --max-time 20 --cacert "$STACK_CACERT" --cert "$SCERT" --key "$SKEY" -X DELETE \
    "https://127.0.0.1:$STACK_PORT/puppet-ca/v1/certificate_status/$n2"
lockf=$c2/var/state/agent_catalog_run.lock
snap "$c2/ssl" >"$TEST_TMP/pre2.snap"
(
    rc=0
    stack_agent_run "$n2" >"$TEST_TMP/agent2.log" 2>&1 || rc=$?
    echo "$rc" >"$TEST_TMP/agent2.rc"
    now >"$TEST_TMP/agent2.t1"
) &
agent_pid=$!
BG_PIDS+=("$agent_pid")
for i in $(seq 1 600); do
    [ -s "$lockf" ] && break
    [ -e "$TEST_TMP/agent2.rc" ] && break
    sleep 0.1
    : "$i"
done
if [ -s "$lockf" ]; then
    ok "2: puppet agent -t holds agent_catalog_run.lock"
    # short lock_timeout: locked, nothing changed
    t0=$(now)
    task_run regenerate "$(regen_json "$c2" 1)"
    el=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    if [ "$TASK_RC" -ne 0 ] && [ "$(out _error.kind)" = cert_regen/locked ] && one_json "$TASK_OUT"; then
        ok "2: lock_timeout 1 -> cert_regen/locked in ${el}s"
    else
        not_ok "2: lock_timeout 1 -> cert_regen/locked" "rc=$TASK_RC out=$(printf '%s' "$TASK_OUT" | head -c 1200)"
    fi
    awk -v e="$el" 'BEGIN { exit !(e < 15) }' && ok "2: ... without waiting past its lock_timeout" || not_ok "2: locked quickly" "took $el s"
    snap "$c2/ssl" >"$TEST_TMP/post2.snap"
    diff "$TEST_TMP/pre2.snap" "$TEST_TMP/post2.snap" >/dev/null && ok "2: the locked run left the ssldir byte-identical" ||
        not_ok "2: the locked run left the ssldir byte-identical" "$(diff "$TEST_TMP/pre2.snap" "$TEST_TMP/post2.snap" | head -n 10)"
    [ -e "$c2/.ssl.cert_regen" ] && not_ok "2: the locked run staged nothing" "$c2/.ssl.cert_regen exists" || ok "2: the locked run staged nothing"
    # long lock_timeout: waits for the agent run, then regenerates
    if [ -e "$TEST_TMP/agent2.rc" ]; then
        skip "2: regenerate waits for the agent run" "the agent run ended before the second regenerate started"
    else
        ok "2: the agent run is still going when the waiting regenerate starts"
    fi
    t0=$(now)
    task_run regenerate "$(regen_json "$c2" 120)"
    t1=$(now)
    wait "$agent_pid" 2>/dev/null || true
    if [ "$TASK_RC" -eq 0 ] && [ "$(out state)" = regenerated ]; then
        ok "2: lock_timeout 120 -> waited, then regenerated"
    else
        not_ok "2: lock_timeout 120 -> waited, then regenerated" "rc=$TASK_RC out=$(printf '%s' "$TASK_OUT" | head -c 1200)"
    fi
    at1=$(cat "$TEST_TMP/agent2.t1" 2>/dev/null || echo 0)
    awk -v a="$at1" -v b="$t1" 'BEGIN { exit !(a > 0 && a <= b) }' &&
        ok "2: the regenerate finished after the agent run" || not_ok "2: the regenerate finished after the agent run" "agent end $at1, regenerate end $t1"
    pre_ms=$(printf '%s' "$TASK_OUT" | ruby -rjson -e 'print JSON.parse(STDIN.read)["steps"][0]["duration_ms"]' 2>/dev/null || echo 0)
    [ "${pre_ms:-0}" -ge 1000 ] && ok "2: its preflight waited for the lock (${pre_ms} ms)" || not_ok "2: its preflight waited for the lock" "preflight took ${pre_ms} ms"
else
    not_ok "2: puppet agent -t holds agent_catalog_run.lock" "$(tail -n 20 "$TEST_TMP/agent2.log")"
    wait "$agent_pid" 2>/dev/null || true
fi
arc=$(cat "$TEST_TMP/agent2.rc" 2>/dev/null || echo 99)
[ "$arc" -eq 0 ] && ok "2: the agent run succeeded (exit 0/2)" || not_ok "2: the agent run succeeded" "exit $arc"$'\n'"$(tail -n 15 "$TEST_TMP/agent2.log")"
grep -q 'Exec\[cr-concurrency-sleep\]/returns: executed successfully' "$TEST_TMP/agent2.log" &&
    ok "2: the agent run applied its catalog (the sleep ran)" || not_ok "2: the agent run applied its catalog" "$(tail -n 15 "$TEST_TMP/agent2.log")"
grep -q '^Error' "$TEST_TMP/agent2.log" && not_ok "2: no error in the agent run" "$(grep '^Error' "$TEST_TMP/agent2.log" | head -n 5)" || ok "2: no error in the agent run"
rm -f "$pp"
identity_ok "2" "$c2" "$n2"
assert_cmd "2: puppet agent -t with the new identity" -- stack_agent_run "$n2"

# ------------------------------------- 3. ca_clean / ca_sign racing --
# check_rows ID: every name has one clean outcome (or a clean per-name error)
check_rows() {
    local id=$1 o rc
    o=$(bg_out "$id")
    rc=$(bg_rc "$id")
    # shellcheck disable=SC2016
    if printf '%s' "$o" | ruby -rjson -e '
        names, kinds = ARGV[0].split(","), Regexp.new(ARGV[2])
        ok_outcomes = %w[signed already_signed cleaned nothing_to_clean]
        v = JSON.parse(STDIN.read)
        rc = ARGV[1].to_i
        rows = if rc.zero? then v["results"]
               elsif v.dig("_error", "kind") == "cert_regen/ca-partial-failure" then v.dig("_error", "details", "results")
               elsif v.dig("_error", "kind").to_s =~ kinds then (puts "fatal #{v["_error"]["kind"]}"; exit 0)
               end
        abort "no rows: #{v.inspect[0, 300]}" unless rows.is_a?(Array)
        abort "names #{rows.map { |r| r["certname"] }} != #{names}" unless rows.map { |r| r["certname"] }.sort == names.sort
        rows.each do |r|
          o = r["outcome"]
          next if ok_outcomes.include?(o)
          abort "#{r["certname"]}: outcome #{o.inspect}" unless o == "failed" && r.dig("error", "kind").to_s =~ kinds && !r.dig("error", "msg").to_s.empty?
        end
        abort "exit #{rc} but a row failed" if rc.zero? && rows.any? { |r| r["outcome"] == "failed" }
        abort "exit 1 without a failed row" if !rc.zero? && rows.none? { |r| r["outcome"] == "failed" }
        puts rows.map { |r| "#{r["certname"].split("-").first}=#{r["outcome"]}#{r["error"] ? "(" + r["error"]["kind"].sub("cert_regen/", "") + ")" : ""}" }.join(" ")
    ' "$NAMES_CSV" "$rc" "$DOC_KINDS" >"$TEST_TMP/rows.txt" 2>&1; then
        ok "3: $id: exit $rc, per-name outcomes: $(cat "$TEST_TMP/rows.txt")"
    else
        not_ok "3: $id: a clean outcome per name" "$(cat "$TEST_TMP/rows.txt")"$'\n'"rc=$rc out=$(printf '%s' "$o" | head -c 1200)"
    fi
}

# consistent_ca NAME...: the API, the CA's files and `puppetserver ca list
# --all` agree for every name.
consistent_ca() {
    local n st files listed bad=""
    stack_ca list --all >"$TEST_TMP/ca-list.txt" 2>&1 || true
    for n in "$@"; do
        st=$(ca_state "$n")
        files=""
        [ -e "$STACK_CADIR/requests/$n.pem" ] && files="${files}requested"
        [ -e "$STACK_CADIR/signed/$n.pem" ] && files="${files}signed"
        listed=$(awk -v n="$n" '
            /^Requested Certificates:/ { s = "requested" } /^Signed Certificates:/ { s = "signed" }
            /^Revoked Certificates:/ { s = "revoked" }
            $1 == n || $1 == "\"" n "\"" { print s }' "$TEST_TMP/ca-list.txt" | sort -u | tr '\n' ' ' | sed 's/ $//')
        case "$st:$files:$listed" in
        absent::) ;;
        requested:requested:requested) ;;
        signed:signed:signed) ;;
        revoked:signed:revoked) ;;
        *) bad="$bad $n($st:$files:$listed)" ;;
        esac
        printf '%s=%s ' "${n%%-*}" "$st"
    done >"$TEST_TMP/ca-states.txt"
    if [ -z "$bad" ]; then
        ok "3: CA state consistent (API = files = puppetserver ca list): $(cat "$TEST_TMP/ca-states.txt")"
    else
        not_ok "3: CA state consistent (API = files = puppetserver ca list)" "$bad"$'\n'"$(head -n 30 "$TEST_TMP/ca-list.txt")"
    fi
}

NAMES=()
for i in 1 2 3 4; do NAMES+=("race$i-$$.manual.test"); done
NAMES_CSV=$(IFS=,; echo "${NAMES[*]}")
# names_json I...: the names in that order (so runs meet in the middle)
names_json() {
    local i j=""
    for i in "$@"; do j="$j\"${NAMES[i]}\","; done
    printf '[%s]' "${j%,}"
}
ALL=$(names_json 0 1 2 3)
ORDERS=("0 1 2 3" "3 2 1 0" "1 3 0 2" "2 0 3 1" "3 1 2 0")
for round in 1 2 3; do
    # round 1: four pending CSRs; round 2: two of them signed first;
    # round 3: all signed first
    for n in "${NAMES[@]}"; do csr_put "$n"; done
    [ "$round" = 2 ] && task_run ca_sign "{\"confdir\": \"$S\", \"certnames\": $(names_json 0 1)}"
    [ "$round" = 3 ] && task_run ca_sign "{\"confdir\": \"$S\", \"certnames\": $ALL}"
    go=$TEST_TMP/go-ca-$round
    runs=()
    k=$round
    for j in 1 2 3; do
        # shellcheck disable=SC2086
        bg_task "r$round-sign$j" ca_sign "{\"confdir\": \"$S\", \"certnames\": $(names_json ${ORDERS[k % 5]})}" "$go"
        runs+=("r$round-sign$j")
        k=$((k + 1))
    done
    for j in 1 2; do
        # shellcheck disable=SC2086
        bg_task "r$round-clean$j" ca_clean "{\"confdir\": \"$S\", \"certnames\": $(names_json ${ORDERS[k % 5]})}" "$go"
        runs+=("r$round-clean$j")
        k=$((k + 1))
    done
    bg_task "r$round-list" ca_list "{\"confdir\": \"$S\"}" "$go"
    sleep 0.3
    t0=$(now)
    touch "$go"
    for r in "${runs[@]}" "r$round-list"; do bg_wait "$r"; done
    el=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    ok "3: round $round: ${#runs[@]} racing CA-side runs + ca_list ended in ${el}s"
    for r in "${runs[@]}"; do check_rows "$r"; done
    # puppetserver itself may fail a listing that races a delete (HTTP 500,
    # FileNotFoundException): then ca_list must say so cleanly
    lo=$(bg_out "r$round-list")
    if one_json "$lo" && { [ "$(bg_rc "r$round-list")" -eq 0 ] ||
        [[ $(json_get "$lo" _error.kind 2>/dev/null) =~ $DOC_KINDS ]]; }; then
        ok "3: round $round: ca_list during the race answers or fails cleanly (exit $(bg_rc "r$round-list") $(json_get "$lo" _error.kind 2>/dev/null || true))"
    else
        not_ok "3: round $round: ca_list during the race answers or fails cleanly" "$(printf '%s' "$lo" | head -c 600)"
    fi
    consistent_ca "${NAMES[@]}"
    # a final clean settles every name
    task_run ca_clean "{\"confdir\": \"$S\", \"certnames\": $ALL}"
    assert_eq 0 "$TASK_RC" "3: round $round: a final ca_clean succeeds"
    left=""
    for n in "${NAMES[@]}"; do
        st=$(ca_state "$n")
        [ "$st" = absent ] || left="$left $n=$st"
    done
    assert_eq "" "$left" "3: round $round: every name is gone from the CA afterwards"
done

task_run ca_clean "{\"confdir\": \"$S\", \"certnames\": [\"$n1\", \"$n2\"]}"
echo "# test_concurrency: $(($(date +%s) - T_START)) s"
finish
