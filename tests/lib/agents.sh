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
