# shellcheck shell=bash
# tests/lib/task.sh - run a module task the way Bolt runs it.
#
#   task_run TASK PARAMS_JSON [MODE]
#     MODE: both (default; JSON on stdin AND PT_* variables, as Bolt's
#     input_method "both"), stdin, environment.
#     Copies the task file and the files its metadata lists into an
#     _installdir laid out as Bolt lays it out ($_installdir/cert_regen/...),
#     adds the metaparameters _task and _installdir, and runs the task file
#     directly (its shebang), from an unrelated working directory.
#     Sets TASK_RC and TASK_OUT (stdout, the result); stderr goes to
#     $TEST_TMP/task.err.  CERT_REGEN_TASK_BIN, when set, replaces the
#     binary delivered in files/bin (for the ASan build).
#   task_installdir  prints the _installdir (created on first use)
#   out PATH         json_get PATH of the last TASK_OUT; empty when absent
#   serial_of PEM    a certificate's serial as the tasks report it (hex, no
#                    "serial="); empty when it cannot be read
#   task_use_asan [hooks]
#     (in a test script) the ASan build as the tasks' executable, leaks
#     reported (ASAN_BIN, CERT_REGEN_TASK_BIN, ASAN_OPTIONS); with hooks it
#     must carry the kill points.  Without it: one not_ok and finish.

task_installdir() {
    local d="$TEST_TMP/installdir"
    if [ ! -d "$d/cert_regen" ]; then
        mkdir -p "$d/cert_regen/tasks"
        cp -a "$REPO_ROOT/files" "$d/cert_regen/files"
        cp "$REPO_ROOT"/tasks/*.sh "$d/cert_regen/tasks/"
        if [ -n "${CERT_REGEN_TASK_BIN:-}" ]; then
            if [ ! -x "$CERT_REGEN_TASK_BIN" ]; then
                # never the release build in its place: a kill point would
                # silently not fire
                echo "CERT_REGEN_TASK_BIN=$CERT_REGEN_TASK_BIN is missing: build it (make -C ext SAN=1, or rake binaries:asan) and run the test again" >&2
                return 1
            fi
            local plat
            plat="$(uname -s | tr 'A-Z' 'a-z')-$(uname -m)"
            mkdir -p "$d/cert_regen/files/bin/$plat"
            cp "$CERT_REGEN_TASK_BIN" "$d/cert_regen/files/bin/$plat/cert_regen"
        fi
    fi
    printf '%s\n' "$d"
}

task_use_asan() {
    ASAN_BIN="$REPO_ROOT/build/asan/cert_regen"
    if [ ! -x "$ASAN_BIN" ] ||
        { [ "${1:-}" = hooks ] && ! strings "$ASAN_BIN" | grep -q CERT_REGEN_TEST_KILL_AT; }; then
        not_ok "ASan build${1:+ with test hooks} present" "run: make -C ext SAN=1"
        finish
    fi
    export CERT_REGEN_TASK_BIN="$ASAN_BIN"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
}

out() { json_get "$TASK_OUT" "$1" 2>/dev/null || true; }
serial_of() { openssl x509 -in "$1" -noout -serial 2>/dev/null | sed 's/^serial=//'; }

task_run() {
    local task=${1:?task_run TASK PARAMS_JSON} params=${2:-"{}"} mode=${3:-both}
    local inst full envfile
    inst=$(task_installdir)
    full=$(ruby -rjson -e 'p = JSON.parse(ARGV[0]); p["_task"] = "cert_regen::" + ARGV[1]; p["_installdir"] = ARGV[2]; print JSON.generate(p)' \
        "$params" "$task" "$inst")
    # PT_<name>: strings raw, everything else JSON-encoded (Bolt's rule).
    envfile="$TEST_TMP/task.env"
    ruby -rjson -e 'JSON.parse(ARGV[0]).each { |k, v| print "PT_#{k}=", (v.is_a?(String) ? v : JSON.generate(v)), "\0" }' \
        "$full" >"$envfile"
    local -a envargs=()
    if [ "$mode" != stdin ]; then
        while IFS= read -r -d '' kv; do envargs+=("$kv"); done <"$envfile"
    fi
    TASK_RC=0
    if [ "$mode" = environment ]; then
        TASK_OUT=$(cd / && env "${envargs[@]}" "$inst/cert_regen/tasks/$task.sh" \
            </dev/null 2>"$TEST_TMP/task.err") || TASK_RC=$?
    else
        TASK_OUT=$(cd / && printf '%s' "$full" | env "${envargs[@]}" \
            "$inst/cert_regen/tasks/$task.sh" 2>"$TEST_TMP/task.err") || TASK_RC=$?
    fi
    # not exported: a large result must not reach the environment of
    # every later command (E2BIG)
}
