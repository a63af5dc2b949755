# shellcheck shell=bash
# tests/lib/nodes.sh - agent nodes and CAs in booted Debian roots
# (tests/lib/roots.sh, sourced here when the test has not), shared by
# test_matrix, test_services_systemd and test_aio_layout.  Source after
# testlib.sh and stack.sh.
#
#   nodes_prereq                  prints why roots cannot run here (empty: they can)
#   nodes_bin                     the executable shipped to nodes: $CR_MATRIX_BIN,
#                                 else $CR_STATIC_EXE (tests/lib/static.sh: the
#                                 self-contained release build), else
#                                 files/bin/linux-x86_64/cert_regen (dynamic)
#   node_install_tasks MERGED [PREFIX]  the module's task files + executable
#                                 under MERGED/PREFIX (default /opt/cr-inst) the
#                                 way Bolt lays out _installdir
#   node_task DIR TASK JSON       run a task inside the booted container DIR;
#                                 sets TASK_RC and TASK_OUT (stderr: $TEST_TMP/task.err)
#   node_x DIR CMD...             roots_exec_dir
#   node_bin_probe DIR [PREFIX]   prints "" when the executable runs in DIR,
#                                 else the reason (first line of its error)
#   nodes_begin WHAT [SUITE...]   a roots test's opening: skips the whole test
#                                 (WHAT) when roots cannot run here, builds the
#                                 roots (all three without SUITEs: whichever
#                                 roots test runs first builds them) or ends
#                                 the test with not_ok, prints an ok line when
#                                 SUITEs are named
#   nodes_overlay SUITE DIR       an overlay copy of SUITE's root at DIR,
#                                 powered off and dropped when the test exits
#   nodes_agent_begin WHAT DIR CERTNAME CONF  the opening of a test of one
#                                 Debian 12 agent node of the shared server:
#                                 nodes_begin WHAT, stack_ensure, the node at
#                                 DIR, and its puppet.conf CONF (a path in
#                                 the node) for CERTNAME, keylength 2048

declare -F roots_overlay >/dev/null || . "$REPO_ROOT/tests/lib/roots.sh"

NODES_INST=/opt/cr-inst

nodes_begin() {
    local what=$1 why t0
    shift
    why=$(nodes_prereq)
    if [ -n "$why" ]; then skip "$what" "$why"; finish; fi
    t0=$(date +%s)
    if ! bash "$REPO_ROOT/tests/build-roots.sh" "$@" >"$TEST_TMP/build-roots.log" 2>&1; then
        not_ok "roots ${*:-bullseye, bookworm, trixie} built" "$(tail -n 15 "$TEST_TMP/build-roots.log")"
        finish
    fi
    [ $# -eq 0 ] || ok "roots $* ready ($(( $(date +%s) - t0 )) s; cached under $ROOTS_CACHE)"
    return 0
}

nodes_overlay() {
    roots_overlay "$1" "$2"
    at_exit "roots_poweroff '$2'; roots_overlay_drop '$2'"
}

nodes_agent_begin() {
    local what=$1 dir=$2 cn=$3 conf=$2/merged$4
    nodes_begin "$what"
    stack_ensure
    nodes_overlay bookworm "$dir"
    mkdir -p "${conf%/*}"
    printf '[main]\ncertname = %s\nserver = localhost\nserverport = %s\nca_port = %s\nkeylength = 2048\n' \
        "$cn" "$STACK_PORT" "$STACK_PORT" >"$conf"
}

nodes_prereq() {
    local why=""
    [ "$(id -u)" -eq 0 ] || why="not root (debootstrap, mount and systemd-nspawn need root)"
    command -v debootstrap >/dev/null 2>&1 || why="${why:+$why; }debootstrap missing (tests/setup-debian.sh installs it)"
    command -v systemd-nspawn >/dev/null 2>&1 || why="${why:+$why; }systemd-nspawn missing (package systemd-container)"
    grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null ||
        why="${why:+$why; }no overlayfs in this kernel"
    printf '%s' "$why"
}

nodes_bin() {
    printf '%s\n' "${CR_MATRIX_BIN:-${CR_STATIC_EXE:-$REPO_ROOT/files/bin/linux-x86_64/cert_regen}}"
}

node_install_tasks() {
    local m=$1 prefix=${2:-$NODES_INST} bin
    bin=$(nodes_bin)
    mkdir -p "$m$prefix/cert_regen/tasks" "$m$prefix/cert_regen/files/bin/linux-x86_64"
    cp "$REPO_ROOT/files/launch.sh" "$m$prefix/cert_regen/files/"
    cp "$REPO_ROOT"/tasks/*.sh "$m$prefix/cert_regen/tasks/"
    if [ -f "$bin" ]; then
        cp "$bin" "$m$prefix/cert_regen/files/bin/linux-x86_64/cert_regen"
        chmod 0755 "$m$prefix/cert_regen/files/bin/linux-x86_64/cert_regen"
    fi
}

node_x() { roots_exec_dir "$@"; }

node_bin_probe() {
    local dir=$1 prefix=${2:-$NODES_INST} out rc=0
    [ -f "$dir/merged$prefix/cert_regen/files/bin/linux-x86_64/cert_regen" ] || {
        printf 'no executable at %s (build it: rake binaries, or set CR_MATRIX_BIN)' "$(nodes_bin)"
        return 0
    }
    out=$(roots_exec_dir "$dir" "$prefix/cert_regen/files/bin/linux-x86_64/cert_regen" --version 2>&1) || rc=$?
    [ "$rc" -eq 0 ] || printf '%s' "$(printf '%s' "$out" | head -n 1 | cut -c1-200)"
}

# node_task DIR TASK JSON [PREFIX]: Bolt's "both" input method, run from /.
# shellcheck disable=SC2034  # TASK_RC and TASK_OUT are read by the tests
node_task() {
    local dir=$1 task=$2 params=${3:-"{}"} prefix=${4:-$NODES_INST} full
    full=$(ruby -rjson -e 'p = JSON.parse(ARGV[0]); p["_task"] = "cert_regen::" + ARGV[1]; p["_installdir"] = ARGV[2]; print JSON.generate(p)' \
        "$params" "$task" "$prefix")
    local -a envargs=()
    while IFS= read -r -d '' kv; do envargs+=("$kv"); done < <(ruby -rjson -e \
        'JSON.parse(ARGV[0]).each { |k, v| print "PT_#{k}=", (v.is_a?(String) ? v : JSON.generate(v)), "\0" }' "$full")
    TASK_RC=0
    TASK_OUT=$(printf '%s' "$full" | roots_exec_dir "$dir" "${envargs[@]}" \
        "$prefix/cert_regen/tasks/$task.sh" 2>"$TEST_TMP/task.err") || TASK_RC=$?
}
