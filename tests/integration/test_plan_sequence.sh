#!/bin/bash
# The task sequence of plans/regenerate_agents.pp, run task by task the way
# Bolt runs tasks (tests/lib/task.sh), against a real puppetserver CA and ten
# real agents, one of them broken (its ca_port is a closed port):
#   status -> ca_list -> regenerate (stage: ca-not-cleaned) -> ca_clean
#   -> regenerate (submit) -> ca_sign (expected fingerprints) -> regenerate
#   (install) -> status (verify)
# Nine agents end with a new certificate and a passing `puppet agent -t`; the
# broken one is reported with cert_regen/ca-unreachable and nothing of it is
# lost: its ssldir is byte-identical and the CA still holds its certificate.
#
# It also checks the plan's PE orchestrator (pxp-agent) reasoning with a
# model of pxp-agent's task file cache: every task file is fetched the way
# the orchestrator describes it (GET /puppet/v3/tasks/<module>/<task>) and
# downloaded from file_content with the AGENT'S certificate unless a file
# with that sha256 is already cached, as pxp-agent's
# ModuleCacheDir::downloadFileFromMaster does. No call after ca_clean may
# need a download, and a download with the revoked certificate must fail.
#
# CR_BOLT=<bolt command> additionally runs the plan itself with Bolt's local
# transport on three more agents (skipped when unset).
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
. "$REPO_ROOT/tests/lib/agents.sh"

stack_ensure
S=$STACK_SERVER_CONFDIR
id=$$

# ------------------------------------------------------------- helpers --


fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*Fingerprint=//'; }

# ca_fp NAME: the fingerprint the CA lists for NAME's signed cert ("" if none)
ca_fp() {
    printf '%s' "$CA_LIST" | ruby -rjson -e '
        c = JSON.parse(STDIN.read)["certificates"].find { |x| x["name"] == ARGV[0] && x["state"] == "signed" }
        print(c ? c["fingerprint"] : "")' "$1"
}

ca_list() {
    task_run ca_list "{\"confdir\": \"$S\", \"state\": \"all\"}"
    CA_LIST=$TASK_OUT
}

# --- pxp-agent task file cache model ---------------------------------------
# pxp_files TASK: "sha256 uri" for every file pxp-agent needs to run TASK:
# the implementation's own file, plus metadata/implementation files with
# directories (trailing /) expanded (pxp-agent getMultiFiles), as the
# orchestrator gets them from puppetserver (here with the server's cert).
pxp_files() {
    curl -fsS --cacert "$STACK_CACERT" --cert "$STACK_SSLDIR/certs/$STACK_CERTNAME.pem" \
        --key "$STACK_SSLDIR/private_keys/$STACK_CERTNAME.pem" \
        "$STACK_URL/puppet/v3/tasks/cert_regen/$1?environment=production" |
    ruby -rjson -e '
        t = JSON.parse(STDIN.read)
        files = t["files"]
        impl = (t["metadata"]["implementations"] || []).find { |i| (i["requirements"] || []) - ["shell", "puppet-agent"] == [] }
        want = [impl["name"]] + (t["metadata"]["files"] || []) + (impl["files"] || [])
        want = want.flat_map { |w| w.end_with?("/") ? files.map { |f| f["filename"] }.select { |n| n.start_with?(w) } : [w] }.uniq
        want.each do |w|
          f = files.find { |x| x["filename"] == w } or abort "#{w} not in the task files"
          q = f["uri"]["params"].map { |k, v| "#{k}=#{v}" }.join("&")
          puts "#{f["sha256"]} #{f["uri"]["path"]}?#{q}"
        end'
}

# pxp_prepare AGENT CONFDIR TASK: make TASK's files present in AGENT's cache,
# downloading with the agent's certificate what is missing. Sets PXP_DL
# (files downloaded) and PXP_FAIL (downloads refused); returns 1 on a refusal.
pxp_prepare() {
    local n=$1 c=$2 task=$3 sha uri dir
    PXP_DL=0 PXP_FAIL=0
    while read -r sha uri; do
        dir="$TEST_TMP/pxp-cache/$n/$sha"
        if [ -f "$dir/file" ] && [ "$(sha256sum <"$dir/file" | cut -c1-64)" = "$sha" ]; then
            continue
        fi
        mkdir -p "$dir"
        if curl -fsS --max-time 20 --cacert "$c/ssl/certs/ca.pem" --cert "$c/ssl/certs/$n.pem" \
                --key "$c/ssl/private_keys/$n.pem" "$STACK_URL$uri" -o "$dir/file.tmp" 2>>"$TEST_TMP/pxp.err" &&
           [ "$(sha256sum <"$dir/file.tmp" | cut -c1-64)" = "$sha" ]; then
            mv "$dir/file.tmp" "$dir/file"
            PXP_DL=$((PXP_DL + 1))
        else
            rm -f "$dir/file.tmp"
            PXP_FAIL=$((PXP_FAIL + 1))
        fi
    done < <(pxp_files "$task")
    [ "$PXP_FAIL" -eq 0 ]
}

# on_agent AGENT TASK PARAMS: one task call on one agent, files through the model.
# Appends "AGENT TASK downloads refusals" to $TEST_TMP/pxp.log.
on_agent() {
    local n=$1 task=$2 params=$3 c
    c=$(stack_agent_confdir "$n")
    pxp_prepare "$n" "$c" "$task" || true
    echo "$n $task $PXP_DL $PXP_FAIL" >>"$TEST_TMP/pxp.log"
    task_run "$task" "$params"
}

regen_params() { printf '{"confdir": "%s", "key_size": 2048, "services": [], "wait_for_cert": 0}' "$1"; }

# ---------------------------------------------------------------- agents --

agents=()
for i in 1 2 3 4 5 6 7; do agents+=("seq$i-$id.auto.test"); done
agents+=("seq8-$id.manual.test" "seq9-$id.manual.test")
broken="seqbroken-$id.auto.test"
all=("${agents[@]}" "$broken")

declare -A conf before_fp
for n in "${all[@]}"; do
    conf[$n]=$(new_agent "$n")
done
# the broken agent: its CA port is a closed port (the CA it talks to is down)
sed -i 's/^ca_port = .*/ca_port = 1/' "${conf[$broken]}/puppet.conf"
snap "${conf[$broken]}" >"$TEST_TMP/broken.before"

# --- 1. status on every agent (the plan's check) ----------------------------
n_ok=0
for n in "${all[@]}"; do
    on_agent "$n" status "{\"confdir\": \"${conf[$n]}\"}"
    if [ "$TASK_RC" -eq 0 ] && [ "$(out health)" = ok ] && [ "$(out certname)" = "$n" ]; then
        n_ok=$((n_ok + 1))
    fi
    before_fp[$n]=$(out hostcert.fingerprint_sha256)
done
assert_eq 10 "$n_ok" "1: status: all 10 agents healthy, certname as the plan reads it"

# --- 2. ca_list: the CA holds exactly each agent's certificate ----------------
ca_list
assert_eq 0 "$TASK_RC" "2: ca_list on the CA exits 0"
n_sync=0
for n in "${all[@]}"; do [ "$(ca_fp "$n")" = "${before_fp[$n]}" ] && n_sync=$((n_sync + 1)); done
assert_eq 10 "$n_sync" "2: the CA's fingerprint equals the agent's for all 10 (in sync: skipped without force)"
broken_ca_fp=$(ca_fp "$broken")

# --- 3. stage: regenerate while the CA still holds the old certificates -------
staged=() n_nc=0
for n in "${all[@]}"; do
    on_agent "$n" regenerate "$(regen_params "${conf[$n]}")"
    if [ "$n" = "$broken" ]; then
        assert_eq cert_regen/ca-unreachable "$(out _error.kind)" "3: the broken agent stops with ca-unreachable"
        assert_match "ca_port|CA" "$(out _error.details.next_step)" "3: ... and its error names a next step"
        continue
    fi
    if [ "$TASK_RC" -ne 0 ] && [ "$(out _error.kind)" = cert_regen/ca-not-cleaned ] &&
       [ "$(out _error.details.journal_state)" = staged ] &&
       [ "$(fp_of "${conf[$n]}/ssl/certs/$n.pem")" = "${before_fp[$n]}" ]; then
        n_nc=$((n_nc + 1))
        staged+=("$n")
    fi
done
assert_eq 9 "$n_nc" "3: 9 agents staged key+CSR and stopped with ca-not-cleaned, live cert untouched"
if [ -d "${conf[$broken]}/.ssl.cert_regen" ]; then
    not_ok "3: nothing staged for the broken agent" "$(ls -la "${conf[$broken]}/.ssl.cert_regen")"
else
    ok "3: nothing staged for the broken agent"
fi
first_dl=$(awk '$2 == "regenerate" { s += $3 } END { print s + 0 }' "$TEST_TMP/pxp.log")
assert_eq 10 "$first_dl" "3: pxp model: each agent downloaded exactly one file for regenerate (regenerate.sh; launch.sh and the binary were cached by status)"

# --- 4. ca_clean for the staged agents only -----------------------------------
names=$(printf '"%s",' "${staged[@]}")
task_run ca_clean "{\"confdir\": \"$S\", \"certnames\": [${names%,}]}"
assert_eq 0 "$TASK_RC" "4: ca_clean of the 9 exits 0"
assert_eq 9 "$(printf '%s' "$TASK_OUT" | ruby -rjson -e 'print JSON.parse(STDIN.read)["results"].count { |r| r["outcome"] == "cleaned" }')" "4: 9 cleaned"
# pxp model: a download with the revoked certificate is refused (why step 3
# exists). puppetserver reloads its CRL a fraction of a second after the
# revocation, so poll for up to 10 s.
probe=${staged[0]}
refused=0
for i in $(seq 1 40); do
    if ! curl -fsS --max-time 20 --cacert "${conf[$probe]}/ssl/certs/ca.pem" --cert "${conf[$probe]}/ssl/certs/$probe.pem" \
            --key "${conf[$probe]}/ssl/private_keys/$probe.pem" \
            "$STACK_URL/puppet/v3/file_content/tasks/cert_regen/regenerate.sh?environment=production" -o /dev/null 2>/dev/null; then
        refused=1
        break
    fi
    sleep 0.25
done
assert_eq 1 "$refused" "4: pxp model: the revoked agent cert can no longer download task files"
: >"$TEST_TMP/pxp.after"

# --- 5. submit: regenerate resumes with the staged key ------------------------
declare -A csr_fp
done_=() pending=() n_sub=0
for n in "${staged[@]}"; do
    on_agent "$n" regenerate "$(regen_params "${conf[$n]}")"
    tail -n 1 "$TEST_TMP/pxp.log" >>"$TEST_TMP/pxp.after"
    case "$TASK_RC:$(out state)" in
        0:regenerated) done_+=("$n"); n_sub=$((n_sub + 1)) ;;
        0:pending) pending+=("$n"); csr_fp[$n]=$(out csr_fingerprint); n_sub=$((n_sub + 1)) ;;
        *) not_ok "5: submit on $n" "rc=$TASK_RC $(printf '%s' "$TASK_OUT" | head -c 800)" ;;
    esac
done
assert_eq 9 "$n_sub" "5: submit: 9 agents answered regenerated or pending"
assert_eq 7 "${#done_[@]}" "5: the 7 autosigned agents are regenerated at once"
assert_eq "seq8-$id.manual.test seq9-$id.manual.test" "${pending[*]}" "5: the 2 manual agents are pending"
assert_match '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' "${csr_fp[seq8-$id.manual.test]:-}" "5: pending carries the CSR fingerprint"

# --- 6. ca_sign with the fingerprints the agents reported ----------------------
fps=""
for n in "${pending[@]}"; do fps="$fps\"$n\": \"${csr_fp[$n]}\","; done
names=$(printf '"%s",' "${pending[@]}")
task_run ca_sign "{\"confdir\": \"$S\", \"certnames\": [${names%,}], \"expected_fingerprints\": {${fps%,}}}"
assert_eq 0 "$TASK_RC" "6: ca_sign with the expected fingerprints exits 0"
assert_eq 2 "$(printf '%s' "$TASK_OUT" | ruby -rjson -e 'print JSON.parse(STDIN.read)["results"].count { |r| r["outcome"] == "signed" }')" "6: 2 signed"

# --- 7. install on the signed agents --------------------------------------------
n_inst=0
for n in "${pending[@]}"; do
    on_agent "$n" regenerate "$(regen_params "${conf[$n]}")"
    tail -n 1 "$TEST_TMP/pxp.log" >>"$TEST_TMP/pxp.after"
    [ "$TASK_RC" -eq 0 ] && [ "$(out state)" = regenerated ] && { n_inst=$((n_inst + 1)); done_+=("$n"); }
done
assert_eq 2 "$n_inst" "7: install: the 2 signed agents are regenerated"

# --- 8. verify ------------------------------------------------------------------
ca_list
n_ver=0 n_run=0 n_ca=0
for n in "${done_[@]}"; do
    on_agent "$n" status "{\"confdir\": \"${conf[$n]}\"}"
    tail -n 1 "$TEST_TMP/pxp.log" >>"$TEST_TMP/pxp.after"
    fp=$(out hostcert.fingerprint_sha256)
    [ "$(out health)" = ok ] && [ -n "$fp" ] && [ "$fp" != "${before_fp[$n]}" ] && n_ver=$((n_ver + 1))
    [ "$(ca_fp "$n")" = "$fp" ] && n_ca=$((n_ca + 1))
    if stack_agent_run "$n" >"$TEST_TMP/run-$n.log" 2>&1; then
        n_run=$((n_run + 1))
    else
        tail -n 5 "$TEST_TMP/run-$n.log" | sed 's/^/#   /'
    fi
done
assert_eq 9 "$n_ver" "8: 9 agents healthy with a new certificate"
assert_eq 9 "$n_ca" "8: the CA holds each new certificate (a re-run would skip them)"
assert_eq 9 "$n_run" "8: puppet agent -t passes on all 9"
assert_eq 0 "$(awk '{ s += $3 + $4 } END { print s + 0 }' "$TEST_TMP/pxp.after")" \
    "8: pxp model: no task call after ca_clean needed a download ($(wc -l <"$TEST_TMP/pxp.after") calls)"

# --- 9. the broken agent: reported, nothing lost ----------------------------------
snap "${conf[$broken]}" >"$TEST_TMP/broken.after"
if diff -u "$TEST_TMP/broken.before" "$TEST_TMP/broken.after" >"$TEST_TMP/broken.diff"; then
    ok "9: the broken agent's confdir (ssldir included) is byte-identical"
else
    not_ok "9: the broken agent's confdir is byte-identical" "$(head -n 20 "$TEST_TMP/broken.diff")"
fi
assert_eq "$broken_ca_fp" "$(ca_fp "$broken")" "9: the CA still holds the broken agent's certificate"
sed -i "s/^ca_port = .*/ca_port = $STACK_PORT/" "${conf[$broken]}/puppet.conf"
assert_cmd "9: once its ca_port is fixed, the broken agent still runs puppet agent -t with its old cert" -- stack_agent_run "$broken"

# --- 10. optional: the plan itself, through Bolt's local transport ------------------
if [ -n "${CR_BOLT:-}" ]; then
    proj="$TEST_TMP/bolt"
    mkdir -p "$proj/modules"
    ln -s "$REPO_ROOT" "$proj/modules/cert_regen"
    {
        echo "groups:"
        echo "  - name: agents"
        echo "    config: {transport: local}"
        echo "    targets:"
        for i in 1 2; do
            b="bolt$i-$id.auto.test"
            echo "      - name: $b"
            echo "        vars: {cert_regen_confdir: $(new_agent "$b")}"
        done
        b="boltm-$id.manual.test"
        echo "      - name: $b"
        echo "        vars: {cert_regen_confdir: $(new_agent "$b")}"
        echo "  - name: cas"
        echo "    config: {transport: local}"
        echo "    targets:"
        echo "      - name: ca"
        echo "        vars: {cert_regen_confdir: $S}"
    } >"$proj/inventory.yaml"
    rc=0
    (cd "$proj" && $CR_BOLT plan run cert_regen::regenerate_agents targets=agents ca=ca force=true key_size=2048 \
        'services=[]' --inventoryfile "$proj/inventory.yaml" --modulepath "$proj/modules" --format json) \
        >"$TEST_TMP/bolt.json" 2>"$TEST_TMP/bolt.err" || rc=$?
    assert_eq 0 "$rc" "10: bolt plan run cert_regen::regenerate_agents exits 0"
    assert_eq "ok ok ok" "$(ruby -rjson -e 'puts JSON.parse(File.read(ARGV[0])).map { |r| r["outcome"] }.join(" ")' "$TEST_TMP/bolt.json" 2>/dev/null)" \
        "10: the plan's table: 3 agents ok"

    # 11. the same agents at warn_days=3650 (longer than a new certificate
    # lasts), one of them with a CA certificate in its bundle that ends in 5
    # days: a new agent certificate fixes neither, so nothing is regenerated
    # and nothing fails; the CA's end is its own condition with its own kind.
    c1=$(sed -n "/name: bolt1-$id.auto.test/{n;s/.*cert_regen_confdir: \(.*\)}/\1/p}" "$proj/inventory.yaml")
    openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -subj "/CN=short-lived test CA" -days 5 \
        -out "$TEST_TMP/short-ca.pem" 2>/dev/null
    cat "$TEST_TMP/short-ca.pem" >>"$c1/ssl/certs/ca.pem"
    sums_before=$(cd "$TEST_TMP/bolt" && sha256sum "$c1"/ssl/certs/*.pem | sort)
    rc=0
    (cd "$proj" && $CR_BOLT plan run cert_regen::regenerate_agents targets=agents ca=ca warn_days=3650 key_size=2048 \
        'services=[]' --inventoryfile "$proj/inventory.yaml" --modulepath "$proj/modules" --format json) \
        >"$TEST_TMP/bolt11.json" 2>"$TEST_TMP/bolt11.err" || rc=$?
    assert_eq 0 "$rc" "11: warn_days=3650 and a CA ending in 5 days: the plan exits 0 (no false failure)"
    assert_eq "skipped skipped skipped" "$(ruby -rjson -e 'puts JSON.parse(File.read(ARGV[0])).map { |r| r["outcome"] }.join(" ")' "$TEST_TMP/bolt11.json" 2>/dev/null)" \
        "11: nothing is regenerated"
    assert_eq "cert_regen/ca-expiring" "$(ruby -rjson -e 'r = JSON.parse(File.read(ARGV[0])).find { |x| x["target"].start_with?("bolt1-") }; puts r["kind"] if r["message"].include?("short-lived test CA")' "$TEST_TMP/bolt11.json" 2>/dev/null)" \
        "11: the agent with the short-lived CA says so, as ca-expiring"
    assert_eq "$sums_before" "$(cd "$TEST_TMP/bolt" && sha256sum "$c1"/ssl/certs/*.pem | sort)" \
        "11: its certificates are unchanged"
else
    skip "10: the plan through Bolt" "CR_BOLT is not set"
fi

finish
