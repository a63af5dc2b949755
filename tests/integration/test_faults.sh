#!/bin/bash
# Faults on the agent's disk.  tests/faults/faultshim.so (LD_PRELOAD) makes
# the Nth open/write/fsync/rename/link/mkdir under the agent's confdir fail
# with EIO, ENOSPC or EACCES in turn; cert_regen::regenerate and ::restore
# are driven over EVERY N of a run.  After each faulted run:
#   - stdout is one JSON object: a result, or an _error naming the step;
#   - the live ssldir holds the complete old identity (byte for byte) or the
#     complete new one (cert <-> key <-> public key, chain + CRL with
#     openssl on every N; `puppet ssl verify` on a sample);
#   - a backup named by the result or the journal, and any backup directory
#     the run left, equals the pre-run ssldir;
#   - no temporary file is left, every private key is 0600/0640, a regular
#     file, staging is 0700;
#   - an error that says the live identity is untouched is telling the truth;
#   - a run without faults then finishes the job.
# The same loop runs over the swap step with renameat2(RENAME_EXCHANGE)
# refused (the file-by-file fallback).  Then: a read-only ssldir, confdir
# and backup_dir (bind mounts), a full filesystem (a 2 MB tmpfs over the
# agent's confdir, filled to 0..128 KB free), and symlinks planted where a
# key is created, before a run and racing it (the target stays untouched).
#
# The faulted runs call the task executable directly (JSON on stdin, the
# task contract) rather than through tests/lib/task.sh, to keep each N fast.
# CR_FAULTS_BIN overrides the executable (default: the release build).
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/agents.sh"
SNAP_EXCLUDE=ssl.lock	# a SIGKILLed holder leaves its lock: checked on its own

T_START=$(date +%s)
PLAT="$(uname -s | tr 'A-Z' 'a-z')-$(uname -m)"
BIN=${CR_FAULTS_BIN:-$REPO_ROOT/files/bin/$PLAT/cert_regen}
SHIM=$REPO_ROOT/build/faults/faultshim.so
ERRS=(EIO ENOSPC EACCES)
# every Nth N (and the first of each failure category) gets `puppet ssl verify`
VERIFY_EVERY=${CR_FAULTS_VERIFY_EVERY:-10}
# CR_FAULTS_STEP=K runs every Kth N only (for debugging; the suite runs all)
STEP=${CR_FAULTS_STEP:-1}

if ! command -v jq >/dev/null 2>&1; then
    not_ok "jq is installed" "this test reads every result with jq"
    finish
fi
if ! make -s -C "$REPO_ROOT/tests/faults" >"$TEST_TMP/shim-build.log" 2>&1 || [ ! -f "$SHIM" ]; then
    not_ok "fault shim builds" "$(tail -n 20 "$TEST_TMP/shim-build.log")"
    finish
fi
[ -x "$BIN" ] || { not_ok "task executable present" "$BIN (rake binaries)"; finish; }

stack_ensure
SCONF=$STACK_SERVER_CONFDIR

# ------------------------------------------------------------- helpers --

# NSRUN: a command prefix (nsenter into a mount namespace) for bin_task.
NSRUN=()
RC=0 OUT=""

# bin_task TASK JSON [VAR=VALUE...]: sets RC and OUT (stdout); stderr in
# $TEST_TMP/bin.err.
bin_task() {
    local task=$1 json=$2
    shift 2
    RC=0
    OUT=$(cd / && printf '%s' "$json" | "${NSRUN[@]}" env "$@" "$BIN" task "$task" 2>"$TEST_TMP/bin.err") || RC=$?
}

# fields: sets J_OK (1: stdout is one JSON object on one line), J_STATE,
# J_KIND, J_STEP, J_BACKUP, J_LIVE (details.live), J_MSG from $OUT.
fields() {
    local line
    J_OK=0 J_STATE="" J_KIND="" J_STEP="" J_BACKUP="" J_LIVE="" J_MSG=""
    line=$(printf '%s' "$OUT" | jq -r 'if type == "object" then
        [.state // "", ._error.kind // "", ._error.details.step // "",
         (.backup // ._error.details.backup // "" | tostring),
         ._error.details.live // "", (._error.msg // "" | .[0:300])]
        | join("\u001f") else error("not an object") end' 2>/dev/null) || return 0
    [[ $OUT != *$'\n'* ]] || return 0
    J_OK=1
    IFS=$'\x1f' read -r J_STATE J_KIND J_STEP J_BACKUP J_LIVE J_MSG <<<"$line" || true
}
short() { printf '%s' "$OUT" | head -c "${1:-400}"; }

# ident DIR NAME: the serial when DIR holds a complete identity (hostcert
# with the key's public key, the public key file if any, chains to the CA
# bundle, not revoked by the CRL), else "BAD <why>".  Prints no key.
ident() {
    local d=$1 n=$2 cx kp
    local cert=$d/certs/$n.pem key=$d/private_keys/$n.pem
    [ -f "$cert" ] || { echo "BAD no hostcert"; return; }
    [ -f "$key" ] || { echo "BAD no hostprivkey"; return; }
    cx=$(openssl x509 -in "$cert" -noout -serial -pubkey 2>/dev/null) || { echo "BAD hostcert unreadable"; return; }
    kp=$(openssl pkey -in "$key" -pubout 2>/dev/null) || { echo "BAD hostprivkey unreadable"; return; }
    [ "${cx#*$'\n'}" = "$kp" ] || { echo "BAD hostcert does not match hostprivkey"; return; }
    if [ -e "$d/public_keys/$n.pem" ] && [ "$(cat "$d/public_keys/$n.pem")" != "$kp" ]; then
        echo "BAD hostpubkey does not match hostprivkey"; return
    fi
    openssl verify -CAfile "$d/certs/ca.pem" -CRLfile "$d/crl.pem" -crl_check "$cert" >/dev/null 2>&1 ||
        { echo "BAD hostcert does not verify against ca.pem + crl.pem"; return; }
    cx=${cx%%$'\n'*}
    echo "${cx#serial=}"
}

# hygiene DIR: one line per problem: temporary files, private keys that are
# not regular 0600/0640 files, a staging directory that is not 0700, key
# material in the last task output.
hygiene() {
    find "$1" -regextype posix-extended \
        \( -regex '.*/\.[^/]+\.[A-Za-z0-9]{6}' -printf 'T %p\n' \) -o \
        \( -name .ssl.cert_regen -printf 'S %m %y %p\n' \) -o \
        \( \( -path '*/private_keys/*' -o -name key.pem \) ! -type d -printf 'K %m %y %p\n' \) |
        awk '$1 == "T" { print "temporary file left: " $2 }
             $1 == "S" && ($2 != "700" || $3 != "d") { print "staging " $4 " is " $2 " " $3 }
             $1 == "K" && (($2 != "600" && $2 != "640") || $3 != "f") { print "private key " $4 " is " $2 " " $3 }'
    no_key_out
}
no_key_out() {
    if grep -q 'PRIVATE KEY' "$TEST_TMP/bin.err" || [[ $OUT == *'PRIVATE KEY'* ]]; then
        echo "key material in the task's stdout/stderr"
    fi
}

# ca_clean NAME: the module's own task (~50 ms; the Ruby CLI takes ~1 s)
ca_clean() {
    local rc=$RC out=$OUT
    RC=0
    OUT=$(cd / && printf '{"confdir": "%s", "certnames": ["%s"]}' "$SCONF" "$1" |
        "$BIN" task ca_clean 2>/dev/null) || RC=$?
    [ "$RC" -eq 0 ] || echo "# ca_clean $1 failed: $OUT" >&2
    RC=$rc OUT=$out
}

# Failures of a loop are collected per check: one ok/not_ok per check, the
# first offending N in the message.
declare -A FAILS FAILN
fail_n() { # CHECK N WHY
    FAILN[$1]=$(( ${FAILN[$1]:-0} + 1 ))
    if [ "${FAILN[$1]}" -le 4 ]; then
        FAILS[$1]+="N=$2: $3"$'\n'
    fi
}
report() { # PREFIX CHECK...
    local p=$1 k
    shift
    for k in "$@"; do
        if [ "${FAILN[$k]:-0}" -eq 0 ]; then
            ok "$p: $k"
        else
            not_ok "$p: $k (${FAILN[$k]} N)" "${FAILS[$k]}"
        fi
    done
    for k in "${!FAILN[@]}"; do   # a check missing from the list
        case " $* " in *" $k "*) ;; *) not_ok "$p: $k (${FAILN[$k]} N)" "${FAILS[$k]}" ;; esac
    done
    FAILS=() FAILN=()
}

# faulted_env N [VAR=VALUE...]: FENV, the environment of a faulted run
faulted_env() {
    local n=$1
    shift
    FENV=(LD_PRELOAD="$SHIM" FAULT_PATH_PREFIX="$C" FAULT_EXE=cert_regen
        FAULT_AT="$n" FAULT_ERRNO="${ERRS[$((n % 3))]}"
        FAULT_COUNT_FILE="$TEST_TMP/count" FAULT_TRACE_FILE="$TEST_TMP/trace" "$@")
    rm -f "$TEST_TMP/count" "$TEST_TMP/trace"
}
# the faulted call, for messages ("write .ssl.cert_regen/.journal.json.X")
faulted_call() { grep -m1 ' FAILED ' "$TEST_TMP/trace" 2>/dev/null | cut -d' ' -f2-3 | sed "s|$C/||"; }
# the op mix of a trace, for the log
op_mix() { cut -d' ' -f2 "$1" | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }'; }

# journal_backup CONFDIR: the backup the staging journal names, if any
# (journal.json is written indented, one member a line)
journal_backup() {
    sed -n 's/^ *"backup": "\([^"]*\)",\{0,1\}$/\1/p' "$1/.ssl.cert_regen/journal.json" 2>/dev/null || true
}

# tree_sum DIR: one hash over names, modes, owners, times and contents
tree_sum() { tar -C "$1" --sort=name --numeric-owner -cf - . | sha256sum; }

# backups_left DIR: backup directories (YYYYmmddTHHMMSSZ) in DIR
backups_left() { find "$1" -mindepth 1 -maxdepth 1 -type d -name '????????T??????Z' 2>/dev/null | sort; }

# `puppet ssl verify` on a copy of the live ssldir, in the background (one
# at a time): ~3 s of Ruby that the loop does not wait for.
VPID=""
bg_verify() { # CHECK N WHY
    bg_collect
    rm -rf "$C/vsnap"
    cp -a "$L" "$C/vsnap"
    (stack_puppet "$N1" ssl verify --ssldir "$C/vsnap" >"$TEST_TMP/vsnap.out" 2>&1) </dev/null &
    VPID=$! VCHECK=$1 VN=$2 VWHY=$3
}
bg_collect() {
    [ -n "$VPID" ] || return 0
    wait "$VPID" || fail_n "$VCHECK" "$VN" "$VWHY: $(grep -v PRIVATE "$TEST_TMP/vsnap.out" | tail -n 2)"
    VPID=""
    rm -rf "$C/vsnap"
}

# answer_checks STATE N WHAT CALL: a faulted run's answer is one JSON
# object, an _error naming its kind and step or (exit 0) STATE, and the Nth
# call (CALL, from the trace) was reached and failed.
answer_checks() {
    local state=$1 n=$2 what=$3 call=$4
    if [ "$J_OK" != 1 ]; then
        fail_n "stdout is one JSON object" "$n" "$what: rc=$RC $(short 300)"
    elif [ "$RC" -ne 0 ]; then
        [ -n "$J_KIND" ] && [ -n "$J_STEP" ] ||
            fail_n "a failed run's _error names its kind and details.step" "$n" "$what: $(short)"
    else
        [ "$J_STATE" = "$state" ] || fail_n "a run that exits 0 $state" "$n" "$what: state '$J_STATE'"
    fi
    [ -n "$call" ] || fail_n "the Nth call was reached and failed" "$n" "$(cat "$TEST_TMP/count" 2>/dev/null) calls"
}

# hygiene_check N WHAT: hygiene's problems in the agent's confdir, as one check
hygiene_check() {
    local h
    h=$(hygiene "$C")
    [ -z "$h" ] || fail_n "no temp file, keys 0600/0640 files, staging 0700, no key printed" "$1" "$2: $h"
}

# verify_sampled N WHAT: bg_verify on every VERIFY_EVERY-th run (RAN) and on
# the first N of each failed step, remembered in the loop's own seen[]
verify_sampled() {
    local cat=${J_STEP:-none}
    if [ $((RAN % VERIFY_EVERY)) -eq 0 ] || [ -z "${seen[$cat]:-}" ]; then
        seen[$cat]=$1
        bg_verify "puppet ssl verify passes on the ssldir a faulted run left (sampled)" "$1" "$2"
    fi
}

# ------------------------------------------------- 1. regenerate, every N --
N1=flt-$$.auto.test
C=$(new_agent "$N1")
L=$C/ssl
at_exit 'kill "$VPID" 2>/dev/null'
pre_serial=$(ident "$L" "$N1")
assert_match '^[0-9A-F]+$' "$pre_serial" "agent $N1 bootstrapped"

REGEN() { # BACKUP_DIR
    printf '{"confdir": "%s", "key_type": "ec", "services": [], "lock_timeout": 5, "backup_dir": "%s"}' "$C" "$1"
}

# regen_count LABEL [VAR=VALUE...]: one run with FAULT_AT=0; sets COUNT and
# keeps the trace in $TEST_TMP/trace-LABEL
regen_count() {
    local label=$1
    shift
    ca_clean "$N1"
    mkdir -p "$C/bak"   # as in the loop: only bak/N is new
    faulted_env 0 "$@"
    bin_task regenerate "$(REGEN "$C/bak/0")" "${FENV[@]}"
    fields
    COUNT=$(cat "$TEST_TMP/count" 2>/dev/null || echo 0)
    cp "$TEST_TMP/trace" "$TEST_TMP/trace-$label" 2>/dev/null || true
    rm -rf "$C/bak/0"
}

# regen_loop LABEL FROM TO [VAR=VALUE...]: the faulted run for every N in
# FROM..TO, each followed by the checks and a run without faults (with the
# same extra environment, without FAULT_AT).
regen_loop() {
    local label=$1 from=$2 to=$3 n now after b jb call what
    shift 3
    local -a extra=("$@") rec=()
    [ "${#extra[@]}" -eq 0 ] || rec=(LD_PRELOAD="$SHIM" FAULT_PATH_PREFIX="$C" FAULT_EXE=cert_regen FAULT_AT=0 "${extra[@]}")
    declare -A seen=()
    local t0
    t0=$(date +%s)
    RAN=0
    pre_serial=$(ident "$L" "$N1")
    snap "$L" >"$TEST_TMP/pre"
    for ((n = from; n <= to; n += STEP)); do
        RAN=$((RAN + 1))
        ca_clean "$N1"
        faulted_env "$n" "${extra[@]}"
        bin_task regenerate "$(REGEN "$C/bak/$n")" "${FENV[@]}"
        fields
        call=$(faulted_call)
        what="${ERRS[$((n % 3))]} at '$call'"
        # (a) the answer
        answer_checks regenerated "$n" "$what" "$call"
        # (b) the live ssldir: the whole old identity (byte for byte as
        # before, checked then), or a whole new one
        snap "$L" >"$TEST_TMP/post"
        if cmp -s "$TEST_TMP/pre" "$TEST_TMP/post"; then
            now=$pre_serial
        else
            now=$(ident "$L" "$N1")
        fi
        if [[ $now == BAD* ]]; then
            fail_n "the live ssldir holds a complete identity" "$n" "$what: $now (step $J_STEP)"
        elif [ "$now" = "$pre_serial" ]; then
            cmp -s "$TEST_TMP/pre" "$TEST_TMP/post" ||
                fail_n "an old identity is left byte for byte" "$n" "$what: $(diff "$TEST_TMP/pre" "$TEST_TMP/post" | head -n 4)"
            [ "$RC" -ne 0 ] || fail_n "a run that exits 0 regenerated" "$n" "$what: serial unchanged"
        else
            [ "$RC" -eq 0 ] || [ "$J_LIVE" = new ] ||
                fail_n "an error after the swap says live new" "$n" "$what: the new identity ($now) is live; step $J_STEP, live '$J_LIVE'"
        fi
        if [ -e "$L/ssl.lock" ] && kill -0 "$(cat "$L/ssl.lock" 2>/dev/null || echo 0)" 2>/dev/null; then
            fail_n "no live process holds ssl.lock" "$n" "$what"
        fi
        # (c) backups: the named one and any left behind equal the pre-run ssldir
        jb=$(journal_backup "$C")
        for b in $J_BACKUP $jb $(backups_left "$C/bak/$n"); do
            [ -d "$b" ] || { fail_n "a named backup exists" "$n" "$what: $b"; continue; }
            snap "$b" >"$TEST_TMP/bak"
            cmp -s "$TEST_TMP/pre" "$TEST_TMP/bak" ||
                fail_n "every backup equals the pre-run ssldir" "$n" "$what: $b: $(diff "$TEST_TMP/pre" "$TEST_TMP/bak" | head -n 4)"
        done
        # (d) temp files, key modes, staging mode, no key in the output
        hygiene_check "$n" "$what"
        # (e) puppet itself: every VERIFY_EVERY-th N and the first N of each step
        verify_sampled "$n" "$what"
        # (f) a run without faults finishes the job
        bin_task regenerate "$(REGEN "$C/bak/$n")" "${rec[@]}"
        fields
        if [ "$J_KIND" = cert_regen/ca-not-cleaned ]; then
            ca_clean "$N1"
            bin_task regenerate "$(REGEN "$C/bak/$n")" "${rec[@]}"
            fields
        fi
        if [ "$J_STATE" != regenerated ]; then
            fail_n "the next run without faults regenerates" "$n" "$what (then step $J_STEP): $(short)"
            rm -rf "$C/.ssl.cert_regen"    # back to a known state
            ca_clean "$N1"
            bin_task regenerate "$(REGEN "$C/bak/$n")"
        fi
        after=$(ident "$L" "$N1")
        if [[ $after == BAD* ]] || [ "$after" = "$pre_serial" ]; then
            fail_n "after it a new complete identity is live" "$n" "$what: $after"
        fi
        [ ! -e "$C/.ssl.cert_regen" ] || fail_n "it removes the staging directory" "$n" "$what"
        [ ! -e "$L/ssl.lock" ] || fail_n "no ssl.lock is left after it" "$n" "$what"
        hygiene_check "$n" "after the next run"
        rm -rf "$C/bak/$n"
        pre_serial=$after
        snap "$L" >"$TEST_TMP/pre"
    done
    bg_collect
    LOOP_SECS=$(( $(date +%s) - t0 ))
    SEEN=$(for k in "${!seen[@]}"; do printf '%s@%s ' "$k" "${seen[$k]}"; done)
}
REGEN_CHECKS=("stdout is one JSON object" "a failed run's _error names its kind and details.step"
    "a run that exits 0 regenerated" "the Nth call was reached and failed"
    "the live ssldir holds a complete identity" "an old identity is left byte for byte"
    "an error after the swap says live new" "no live process holds ssl.lock"
    "every backup equals the pre-run ssldir" "no temp file, keys 0600/0640 files, staging 0700, no key printed"
    "puppet ssl verify passes on the ssldir a faulted run left (sampled)"
    "the next run without faults regenerates" "after it a new complete identity is live"
    "it removes the staging directory" "no ssl.lock is left after it")

regen_count regen
CR=$COUNT
assert_eq regenerated "$J_STATE" "regenerate under the shim with FAULT_AT=0 succeeds"
[ "$CR" -gt 50 ] && ok "regenerate: C = $CR calls counted" || not_ok "regenerate: the shim counts calls" "C=$CR"
echo "# regenerate: C=$CR ($(op_mix "$TEST_TMP/trace-regen"))"
regen_loop regen 1 "$CR"
T_REGEN=$LOOP_SECS
echo "# regenerate: $RAN of $CR N in ${T_REGEN}s; first N of each failed step: $SEEN"
[ "$STEP" = 1 ] && assert_eq "$CR" "$RAN" "regenerate: every N from 1 to C ran" || skip "regenerate: every N ran" "CR_FAULTS_STEP=$STEP"
report "regenerate, every N" "${REGEN_CHECKS[@]}"

# ------------------ 1b. the swap without RENAME_EXCHANGE (file by file) --
regen_count noexch FAULT_NO_EXCHANGE=1
CX=$COUNT
assert_eq "regenerated files" "$J_STATE $(printf '%s' "$OUT" | jq -r .swap)" "without RENAME_EXCHANGE the swap installs file by file"
K=$(grep -n ' renameat2 ' "$TEST_TMP/trace-noexch" | head -n 1 | cut -d: -f1)
if [ -n "$K" ]; then
    # the calls before the exchange are the ones loop 1 drove already
    regen_loop noexch $((K - 1)) "$CX" FAULT_NO_EXCHANGE=1
    echo "# regenerate, file by file: N $((K - 1))..$CX ($RAN N) in ${LOOP_SECS}s; first N of each failed step: $SEEN"
    report "regenerate file by file, every N of the swap" "${REGEN_CHECKS[@]}"
else
    not_ok "the file-by-file run tries the exchange first" "no renameat2 in the trace"
fi

# ---------------------------------------------------- 2. restore, every N --
# Two backups of two identities under the agent's confdir (the faults hit
# reading them too); each N restores the one that is not live.
BA=$C/keep/A
BB=$C/keep/B
mkdir -p "$C/keep"
chmod 0700 "$C/keep"
cp -a "$L" "$BA"
ca_clean "$N1"
bin_task regenerate "$(REGEN "$C/bak/r")"
fields
rm -rf "$C/bak/r"
cp -a "$L" "$BB"
snap "$BA" >"$TEST_TMP/snapA"
snap "$BB" >"$TEST_TMP/snapB"
KEEPSUM=$(tree_sum "$C/keep")
serA=$(ident "$BA" "$N1")
serB=$(ident "$BB" "$N1")
[ "$J_STATE" = regenerated ] && [ "$serA" != "$serB" ] && ok "restore: two identities to restore ($serA, $serB)" ||
    not_ok "restore: two identities to restore" "$serA $serB $(short)"

# The identities restored here were cleaned (revoked) on the CA when the
# other one was made: restore refuses a revoked backup by default
# (backup-revoked, tested in test_restore.sh), so these disk-fault runs
# say allow_revoked.
RESTORE() { # BACKUP BACKUP_DIR
    printf '{"confdir": "%s", "backup": "%s", "backup_dir": "%s", "services": [], "lock_timeout": 5, "allow_revoked": true}' "$C" "$1" "$2"
}
mkdir -p "$C/rbak"   # as in the loop: only rbak/N is new
faulted_env 0
bin_task restore "$(RESTORE "$BA" "$C/rbak/0")" "${FENV[@]}"
fields
CS=$(cat "$TEST_TMP/count" 2>/dev/null || echo 0)
assert_eq restored "$J_STATE" "restore under the shim with FAULT_AT=0 succeeds"
[ "$CS" -gt 20 ] && ok "restore: C = $CS calls counted" || not_ok "restore: the shim counts calls" "C=$CS"
echo "# restore: C=$CS ($(op_mix "$TEST_TMP/trace"))"
rm -rf "$C/rbak/0"
live_is=A

declare -A seen=()
t0=$(date +%s)
RAN=0
for ((n = 1; n <= CS; n += STEP)); do
    RAN=$((RAN + 1))
    if [ "$live_is" = A ]; then target=$BB tsnap=$TEST_TMP/snapB; else target=$BA tsnap=$TEST_TMP/snapA; fi
    snap "$L" >"$TEST_TMP/pre"
    faulted_env "$n"
    bin_task restore "$(RESTORE "$target" "$C/rbak/$n")" "${FENV[@]}"
    fields
    call=$(faulted_call)
    what="${ERRS[$((n % 3))]} at '$call'"
    answer_checks restored "$n" "$what" "$call"
    # the pre-run ssldir and both backups are complete identities (checked
    # when they were made): being byte for byte one of them is enough
    snap "$L" >"$TEST_TMP/post"
    if ! cmp -s "$TEST_TMP/pre" "$TEST_TMP/post" && ! cmp -s "$tsnap" "$TEST_TMP/post" &&
        [[ $(ident "$L" "$N1") == BAD* ]]; then
        fail_n "the live ssldir holds a complete identity" "$n" "$what: $(ident "$L" "$N1")"
    elif cmp -s "$TEST_TMP/pre" "$TEST_TMP/post"; then
        [ "$RC" -ne 0 ] || fail_n "a run that exits 0 restored" "$n" "$what: live unchanged"
    elif cmp -s "$tsnap" "$TEST_TMP/post"; then
        [ "$RC" -eq 0 ] || [ "$J_LIVE" = restored ] ||
            fail_n "an error after the exchange says live restored" "$n" "$what: $(short 300)"
    else
        fail_n "the live ssldir is byte for byte the old one or the backup" "$n" "$what: $(diff "$TEST_TMP/pre" "$TEST_TMP/post" | head -n 4)"
    fi
    [ "$(tree_sum "$C/keep")" = "$KEEPSUM" ] || fail_n "the backups restored from are intact" "$n" "$what"
    for b in $J_BACKUP $(backups_left "$C/rbak/$n"); do
        snap "$b" >"$TEST_TMP/bak"
        cmp -s "$TEST_TMP/pre" "$TEST_TMP/bak" ||
            fail_n "every safety copy equals the pre-run ssldir" "$n" "$what: $b: $(diff "$TEST_TMP/pre" "$TEST_TMP/bak" | head -n 4)"
    done
    if [ -e "$L/ssl.lock" ] && kill -0 "$(cat "$L/ssl.lock" 2>/dev/null || echo 0)" 2>/dev/null; then
        fail_n "no live process holds ssl.lock" "$n" "$what"
    fi
    hygiene_check "$n" "$what"
    verify_sampled "$n" "$what"
    # the next run without faults
    bin_task restore "$(RESTORE "$target" "$C/rbak/$n")"
    fields
    [ "$J_STATE" = restored ] || fail_n "the next run without faults restores" "$n" "$what: $(short)"
    snap "$L" >"$TEST_TMP/post"
    if ! cmp -s "$tsnap" "$TEST_TMP/post"; then
        fail_n "after it the backup is live" "$n" "$what"
        rm -rf "$L" && cp -a "$target" "$L"    # back to a known state
    fi
    if [ "$live_is" = A ]; then live_is=B; else live_is=A; fi
    [ ! -e "$C/.ssl.cert_regen" ] || fail_n "it removes the staging directory" "$n" "$what"
    hygiene_check "$n" "after the next run"
    rm -rf "$C/rbak/$n"
done
bg_collect
T_RESTORE=$(( $(date +%s) - t0 ))
echo "# restore: $RAN of $CS N in ${T_RESTORE}s; first N of each failed step: $(for k in "${!seen[@]}"; do printf '%s@%s ' "$k" "${seen[$k]}"; done)"
[ "$STEP" = 1 ] && assert_eq "$CS" "$RAN" "restore: every N from 1 to C ran" || skip "restore: every N ran" "CR_FAULTS_STEP=$STEP"
report "restore, every N" "stdout is one JSON object" \
    "a failed run's _error names its kind and details.step" "a run that exits 0 restored" \
    "the Nth call was reached and failed" "the live ssldir holds a complete identity" \
    "the live ssldir is byte for byte the old one or the backup" \
    "an error after the exchange says live restored" "the backups restored from are intact" \
    "every safety copy equals the pre-run ssldir" "no live process holds ssl.lock" \
    "no temp file, keys 0600/0640 files, staging 0700, no key printed" \
    "puppet ssl verify passes on the ssldir a faulted run left (sampled)" \
    "the next run without faults restores" "after it the backup is live" "it removes the staging directory"

# restore where the file system cannot exchange: refused, nothing changed
if [ "$live_is" = A ]; then target=$BB; else target=$BA; fi
snap "$L" >"$TEST_TMP/pre"
faulted_env 0 FAULT_NO_EXCHANGE=1
bin_task restore "$(RESTORE "$target" "$C/rbak/nx")" "${FENV[@]}"
fields
snap "$L" >"$TEST_TMP/post"
[ "$RC" -ne 0 ] && [ -n "$J_KIND" ] && cmp -s "$TEST_TMP/pre" "$TEST_TMP/post" &&
    ok "restore without RENAME_EXCHANGE: refused ($J_KIND), live ssldir unchanged" ||
    not_ok "restore without RENAME_EXCHANGE: refused, live ssldir unchanged" "rc=$RC $(short)"
rm -rf "$C/rbak" "$C/.ssl.cert_regen"

# --------------------------------------------------- 3. read-only mounts --
# A private mount namespace held by a sleeping process; bin_task runs in it
# through NSRUN.  The bind mounts never reach the host's namespace.
NSPID=""
ns_start() {
    local me i
    me=$(readlink /proc/$$/ns/mnt)
    unshare --mount --propagation private sleep 600 </dev/null >/dev/null 2>&1 &
    NSPID=$!
    for i in $(seq 1 100); do   # unshare(2) done before anything is mounted
        [ "$(readlink "/proc/$NSPID/ns/mnt" 2>/dev/null)" != "$me" ] && [ -n "$(readlink "/proc/$NSPID/ns/mnt" 2>/dev/null)" ] && break
        sleep 0.02
        : "$i"
    done
    [ "$(readlink "/proc/$NSPID/ns/mnt" 2>/dev/null)" != "$me" ] || { ns_stop; return 1; }
    NSRUN=(nsenter -t "$NSPID" -m --)
}
ns() { nsenter -t "$NSPID" -m -- "$@"; }
ns_stop() {
    NSRUN=()
    [ -n "$NSPID" ] || return 0
    kill "$NSPID" 2>/dev/null || true
    wait "$NSPID" 2>/dev/null || true
    NSPID=""
}
at_exit ns_stop
ro_bind() { ns mount --bind "$1" "$1" && ns mount -o remount,ro,bind "$1"; }
rw_bind() { ns mount --bind "$1" "$1" && ns mount -o remount,rw,bind "$1"; }

# ro_case DESC STEP_RE: the run fails with an _error whose step matches,
# the live ssldir is unchanged, nothing is left that should not be; then,
# out of the namespace, a run finishes the job.
ro_case() {
    local desc=$1 want=$2 bd=$3 h
    ca_clean "$N1"
    bin_task regenerate "$(REGEN "$bd")"
    fields
    snap "$L" >"$TEST_TMP/post"
    if [ "$RC" -ne 0 ] && [ "$J_OK" = 1 ] && [[ $J_STEP =~ $want ]] && cmp -s "$TEST_TMP/pre" "$TEST_TMP/post"; then
        ok "$desc: fails in step $J_STEP ($J_MSG), live ssldir unchanged"
    else
        not_ok "$desc: fails in step ~ $want, live ssldir unchanged" "rc=$RC $(short)"$'\n'"$(diff "$TEST_TMP/pre" "$TEST_TMP/post" | head -n 4)"
    fi
    h=$(hygiene "$C")
    [ -z "$h" ] && ok "$desc: no temp file, keys and staging private" || not_ok "$desc: no temp file, keys and staging private" "$h"
    ns_stop
    bin_task regenerate "$(REGEN "$bd")"
    fields
    if [ "$J_KIND" = cert_regen/ca-not-cleaned ]; then
        ca_clean "$N1"
        bin_task regenerate "$(REGEN "$bd")"
        fields
    fi
    [ "$J_STATE" = regenerated ] && [[ $(ident "$L" "$N1") != BAD* ]] &&
        ok "$desc: writable again, a run regenerates" || not_ok "$desc: writable again, a run regenerates" "$(short)"
    rm -rf "$bd"
    snap "$L" >"$TEST_TMP/pre"
}

snap "$L" >"$TEST_TMP/pre"
if ns_start && ro_bind "$L"; then
    ro_case "read-only ssldir" 'preflight|stage|prepare' "$C/bak/ro1"
    # restore too
    ns_start && ro_bind "$L"
    bin_task restore "$(RESTORE "$BA" "$C/rbak/ro")"
    fields
    snap "$L" >"$TEST_TMP/post"
    [ "$RC" -ne 0 ] && [ -n "$J_STEP" ] && cmp -s "$TEST_TMP/pre" "$TEST_TMP/post" &&
        ok "read-only ssldir: restore fails ($J_STEP: $J_MSG), live ssldir unchanged" ||
        not_ok "read-only ssldir: restore fails, live ssldir unchanged" "rc=$RC $(short)"
    ns_stop
    rm -rf "$C/rbak" "$C/.ssl.cert_regen"
else
    not_ok "a read-only bind mount of the ssldir in a private mount namespace" "unshare/mount refused"
    ns_stop
fi
# the confdir read-only (no staging directory can be made beside the
# ssldir); the ssldir and vardir stay writable for Puppet's locks
if ns_start && ro_bind "$C" && rw_bind "$C/var" && rw_bind "$L"; then
    ro_case "read-only parent of the ssldir" 'stage' "$C/bak/ro2"
else
    not_ok "read-only bind mount of the confdir" "mount refused"
    ns_stop
fi
mkdir -p "$C/robak"
if ns_start && ro_bind "$C/robak"; then
    ro_case "read-only backup_dir" 'prepare|backup' "$C/robak/x"
else
    not_ok "read-only bind mount of backup_dir" "mount refused"
    ns_stop
fi
rm -rf "$C/robak"

# ------------------------------------------------------ 4. a full disk --
# A 2 MB tmpfs over the agent's confdir (in the namespace only), holding a
# copy of it, filled up to leave K KB; a regeneration per K, then one after
# the filler is gone.  Checks run inside the namespace (nsf).
nsf() { nsenter -t "$NSPID" -m -- env TEST_TMP="$TEST_TMP" bash -c "$(declare -f snap ident hygiene no_key_out backups_left journal_backup); \"\$@\"" _ "$@"; }
fill_to() { # KB free
    ns rm -f "$C/filler"
    ns dd if=/dev/zero of="$C/filler" bs=64k >/dev/null 2>&1 || true   # ENOSPC
    ns truncate -s "-$(( $1 * 1024 ))" "$C/filler" 2>/dev/null || ns rm -f "$C/filler"
}
full_ok=0
mkdir -p "$TEST_TMP/orig"
if ns_start && ns mount --bind "$C" "$TEST_TMP/orig" &&
    ns mount -t tmpfs -o size=2m,mode=0755 cr-faults-full "$C" &&
    ns cp -a "$TEST_TMP/orig/." "$C/" && ns umount "$TEST_TMP/orig"; then
    full_ok=1
    ns rm -rf "$C/bak" "$C/keep" "$C/vsnap"
    [ "$(ns stat -f -c %T "$C")" = tmpfs ] && ok "full disk: the agent's confdir is a 2 MB tmpfs in the namespace" ||
        not_ok "full disk: tmpfs mounted" "$(ns stat -f -c %T "$C")"
fi
if [ "$full_ok" = 1 ]; then
    steps_seen=""
    bad=""
    pre_serial=$(nsf ident "$L" "$N1")
    nsf snap "$L" >"$TEST_TMP/pre"
    for k in 0 4 8 12 16 20 24 28 32 40 48 56 64 80 96 128; do
        ca_clean "$N1"
        fill_to "$k"
        bin_task regenerate "$(REGEN "$C/bak/$k")"
        fields
        steps_seen+="${k}K:${J_STEP:-ok} "
        now=$(nsf ident "$L" "$N1")
        nsf snap "$L" >"$TEST_TMP/post"
        if [ "$J_OK" != 1 ] || { [ "$RC" -ne 0 ] && [ -z "$J_STEP" ]; }; then
            bad+="K=$k: answer rc=$RC $(short 300)"$'\n'
        fi
        if [[ $now == BAD* ]]; then
            bad+="K=$k: $now"$'\n'
        elif [ "$now" = "$pre_serial" ]; then
            cmp -s "$TEST_TMP/pre" "$TEST_TMP/post" || bad+="K=$k: old identity changed: $(diff "$TEST_TMP/pre" "$TEST_TMP/post" | head -n 3)"$'\n'
        elif [ "$RC" -ne 0 ] && [ "$J_LIVE" != new ]; then
            bad+="K=$k: new identity live but the error says '$J_LIVE'"$'\n'
        fi
        jb=$(nsf journal_backup "$C")
        for b in $J_BACKUP $jb $(nsf backups_left "$C/bak/$k"); do
            nsf snap "$b" | cmp -s "$TEST_TMP/pre" - || bad+="K=$k: backup $b differs from the pre-run ssldir"$'\n'
        done
        h=$(nsf hygiene "$C"; no_key_out)
        [ -z "$h" ] || bad+="K=$k: $h"$'\n'
        # room again: the next run finishes
        ns rm -f "$C/filler"
        bin_task regenerate "$(REGEN "$C/bak/$k")"
        fields
        if [ "$J_KIND" = cert_regen/ca-not-cleaned ]; then
            ca_clean "$N1"
            bin_task regenerate "$(REGEN "$C/bak/$k")"
            fields
        fi
        after=$(nsf ident "$L" "$N1")
        if [ "$J_STATE" != regenerated ] || [[ $after == BAD* ]] || ns test -e "$C/.ssl.cert_regen"; then
            bad+="K=$k: the run with room again: $after $(short 300)"$'\n'
        fi
        h=$(nsf hygiene "$C"; no_key_out)
        [ -z "$h" ] || bad+="K=$k, after: $h"$'\n'
        ns rm -rf "$C/bak/$k"
        pre_serial=$after
        nsf snap "$L" >"$TEST_TMP/pre"
    done
    echo "# full disk, regenerate: failed step by free space: $steps_seen"
    [ -z "$bad" ] && ok "full disk: regenerate with 0..128 KB free: old or new identity, intact backups, nothing left, then finishes" ||
        not_ok "full disk: regenerate with 0..128 KB free" "$(printf '%s' "$bad" | head -n 12)"
    [[ $steps_seen == *prepare* || $steps_seen == *backup* ]] && [[ $steps_seen == *stage* || $steps_seen == *preflight* ]] &&
        ok "full disk: the runs failed in several steps ($steps_seen)" || not_ok "full disk: the runs failed in several steps" "$steps_seen"

    # restore on the full disk: the target is a backup of the previous identity
    ns mkdir -p "$C/keep"
    ns cp -a "$L" "$C/keep/T"
    ca_clean "$N1"
    bin_task regenerate "$(REGEN "$C/bak/r")"
    ns rm -rf "$C/bak"
    nsf snap "$C/keep/T" >"$TEST_TMP/snapT"
    bad=""
    steps_seen=""
    for k in 0 8 16 32 64 128; do
        nsf snap "$L" >"$TEST_TMP/pre"
        fill_to "$k"
        bin_task restore "$(RESTORE "$C/keep/T" "$C/rbak/$k")"
        fields
        steps_seen+="${k}K:${J_STEP:-ok} "
        nsf snap "$L" >"$TEST_TMP/post"
        if [[ $(nsf ident "$L" "$N1") == BAD* ]]; then
            bad+="K=$k: incomplete identity"$'\n'
        elif cmp -s "$TEST_TMP/pre" "$TEST_TMP/post"; then
            [ "$RC" -ne 0 ] || bad+="K=$k: exit 0, nothing restored"$'\n'
        elif cmp -s "$TEST_TMP/snapT" "$TEST_TMP/post"; then
            [ "$RC" -eq 0 ] || [ "$J_LIVE" = restored ] || bad+="K=$k: restored, but the error says otherwise: $(short 300)"$'\n'
        else
            bad+="K=$k: live ssldir neither the old one nor the backup"$'\n'
        fi
        for b in $J_BACKUP $(nsf backups_left "$C/rbak/$k"); do
            nsf snap "$b" | cmp -s "$TEST_TMP/pre" - || bad+="K=$k: safety copy $b differs from the pre-run ssldir"$'\n'
        done
        nsf snap "$C/keep/T" | cmp -s "$TEST_TMP/snapT" - || bad+="K=$k: the backup restored from changed"$'\n'
        h=$(nsf hygiene "$C"; no_key_out)
        [ -z "$h" ] || bad+="K=$k: $h"$'\n'
        ns rm -f "$C/filler"
        # back to the other identity for the next K
        ns rm -rf "$C/rbak" "$C/.ssl.cert_regen"
        ca_clean "$N1"
        bin_task regenerate "$(REGEN "$C/bak/r")"
        fields
        [ "$J_STATE" = regenerated ] || bad+="K=$k: the regeneration between restores failed: $(short 300)"$'\n'
        ns rm -rf "$C/bak"
    done
    echo "# full disk, restore: failed step by free space: $steps_seen"
    [ -z "$bad" ] && ok "full disk: restore with 0..128 KB free: old or restored ssldir, intact backups, nothing left" ||
        not_ok "full disk: restore with 0..128 KB free" "$(printf '%s' "$bad" | head -n 12)"
else
    not_ok "full disk: a tmpfs over the agent's confdir in a private mount namespace" "mount refused"
fi
ns_stop
# the host's view of the confdir is the one from before the tmpfs; the CA
# has moved on: start from a fresh certificate
ca_clean "$N1"
bin_task regenerate "$(REGEN "$C/bak/x")"
fields
assert_eq regenerated "$J_STATE" "after the full-disk cases the agent regenerates on its real disk"
rm -rf "$C/bak"

# -------------------------------------------------------- 5. symlinks --
# A victim file a planted symlink points to: it must stay byte for byte and
# mode for mode what it was, and no key may ever be written to it.
VICTIM=$TEST_TMP/victim
printf 'victim file: cert_regen must not write here\n' >"$VICTIM"
chmod 0644 "$VICTIM"
victim_state() { stat -c '%a %s %h %F' "$VICTIM"; sha256sum <"$VICTIM"; }
VSTATE=$(victim_state)
victim_ok() { [ "$(victim_state)" = "$VSTATE" ]; }

# sym_case DESC STEP_RE [VAR=VALUE...]: a faulted-env run (FAULT_AT=0 with
# the given FAULT_PLANT) fails in STEP_RE, the victim and the live ssldir
# are untouched; a plain run then regenerates.
sym_case() {
    local desc=$1 want=$2 h
    shift 2
    snap "$L" >"$TEST_TMP/pre"
    ca_clean "$N1"
    faulted_env 0 "$@"
    bin_task regenerate "$(REGEN "$C/bak/sym")" "${FENV[@]}"
    fields
    grep -q planted-symlink "$TEST_TMP/trace" 2>/dev/null && ok "$desc: the symlink was planted" ||
        not_ok "$desc: the symlink was planted" "$(tail -n 3 "$TEST_TMP/trace" 2>/dev/null)"
    snap "$L" >"$TEST_TMP/post"
    [ "$RC" -ne 0 ] && [[ $J_STEP =~ $want ]] && ok "$desc: refused in step $J_STEP ($J_MSG)" ||
        not_ok "$desc: refused in step ~ $want" "rc=$RC $(short)"
    victim_ok && ok "$desc: the symlink's target is untouched" || not_ok "$desc: the symlink's target is untouched" "$(victim_state)"
    cmp -s "$TEST_TMP/pre" "$TEST_TMP/post" && ok "$desc: live ssldir unchanged" || not_ok "$desc: live ssldir unchanged"
    bin_task regenerate "$(REGEN "$C/bak/sym")"
    fields
    if [ "$J_KIND" = cert_regen/ca-not-cleaned ]; then
        ca_clean "$N1"
        bin_task regenerate "$(REGEN "$C/bak/sym")"
        fields
    fi
    h=$(hygiene "$C")
    [ "$J_STATE" = regenerated ] && [ -z "$h" ] && victim_ok &&
        ok "$desc: the next run regenerates, victim untouched, nothing left" ||
        not_ok "$desc: the next run regenerates, victim untouched, nothing left" "$(short) $h"
    rm -rf "$C/bak/sym"
}
S=$C/.ssl.cert_regen
sym_case "symlink racing the staged key's creation" 'stage' FAULT_PLANT="$S/key.pem=$VICTIM"
sym_case "symlink racing the copy of the old key into the new ssldir" 'prepare' \
    FAULT_PLANT="$S/tree/private_keys/$N1.pem=$VICTIM"
sym_case "symlink racing the new key's creation in the new ssldir" 'prepare' \
    FAULT_PLANT="$S/tree/private_keys/$N1.pem=$VICTIM" FAULT_PLANT_NTH=2

# planted before the run: a staging directory without a journal whose
# key.pem is a symlink; the staging path itself a symlink to a directory
snap "$L" >"$TEST_TMP/pre"
mkdir -m 0700 "$S"
ln -s "$VICTIM" "$S/key.pem"
ca_clean "$N1"
bin_task regenerate "$(REGEN "$C/bak/sym")"
fields
[ "$J_STATE" = regenerated ] && victim_ok && [ ! -e "$S" ] &&
    ok "a leftover staging directory with key.pem -> victim: cleared without following, the run regenerates" ||
    not_ok "a leftover staging directory with key.pem -> victim" "$(short) victim: $(victim_state)"
rm -rf "$C/bak/sym"
mkdir -p "$TEST_TMP/victimdir"
printf 'x\n' >"$TEST_TMP/victimdir/file"
ln -s "$TEST_TMP/victimdir" "$S"
ca_clean "$N1"
bin_task regenerate "$(REGEN "$C/bak/sym")"
fields
[ "$J_STATE" = regenerated ] && [ "$(ls -A "$TEST_TMP/victimdir")" = file ] && [ ! -L "$S" ] && [ ! -e "$S" ] &&
    ok "the staging path a symlink to a directory: not followed, the run regenerates" ||
    not_ok "the staging path a symlink to a directory: not followed" "$(short) victimdir: $(ls -A "$TEST_TMP/victimdir")"
rm -rf "$C/bak/sym"
# the live hostprivkey a symlink to a key kept elsewhere: the new key is a
# new regular file, the old key's file stays as it was
mkdir -m 0700 "$TEST_TMP/extkey"
mv "$L/private_keys/$N1.pem" "$TEST_TMP/extkey/key.pem"
ln -s "$TEST_TMP/extkey/key.pem" "$L/private_keys/$N1.pem"
ext_before=$(sha256sum <"$TEST_TMP/extkey/key.pem")
ca_clean "$N1"
bin_task regenerate "$(REGEN "$C/bak/sym")"
fields
k=$L/private_keys/$N1.pem
[ "$J_STATE" = regenerated ] && [ -f "$k" ] && [ ! -L "$k" ] && [ "$(stat -c %a "$k")" = 640 ] &&
    [ "$ext_before" = "$(sha256sum <"$TEST_TMP/extkey/key.pem")" ] && [[ $(ident "$L" "$N1") != BAD* ]] &&
    ok "hostprivkey a symlink: the new key is a 0640 regular file, the symlink's target is untouched" ||
    not_ok "hostprivkey a symlink: not written through" "$(short) $(stat -c '%a %F' "$k")"
rm -rf "$C/bak" "$TEST_TMP/extkey"
assert_cmd "after all cases: puppet ssl verify passes" -- stack_puppet "$N1" ssl verify

T_END=$(date +%s)
echo "# fault loops: regenerate C=$CR (${T_REGEN}s), file-by-file swap C=$CX, restore C=$CS (${T_RESTORE}s); whole test $((T_END - T_START))s"
finish
