# shellcheck shell=bash
# tests/lib/testlib.sh - sourced by every integration test script.
#
#   ok DESC | not_ok DESC WHY | skip DESC WHY
#   assert_eq EXPECTED ACTUAL DESC | assert_match REGEX ACTUAL DESC
#   assert_cmd DESC -- CMD ARGS...   (passes on exit 0)
#   assert_fail DESC -- CMD ARGS...  (passes on non-zero exit)
#     both leave the command's output in $TEST_TMP/last.out
#   json_get FILE_OR_JSON PATH       (dotted path: hostcert.serial, ca.0.subject)
#   at_exit CMD...                   (run at exit, before TEST_TMP is removed)
#   needs_root DESC WHY              (not root: skip DESC and finish)
#   finish                           (prints "N passed, N failed"; exits 1 on failure)
#
# TEST_TMP is a fresh directory, removed at exit unless KEEP_TMP=1 or the
# script failed (then its path is printed).

set -eu
export LC_ALL=C

TESTLIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TESTLIB_DIR/../.." && pwd)"
export REPO_ROOT
TEST_NAME="$(basename "${0%.sh}")"

TEST_TMP="$(mktemp -d "${TMPDIR:-/tmp}/cr-test.XXXXXX")"
export TEST_TMP
TESTS_PASSED=0
TESTS_FAILED=0
TESTS_NUM=0
_TL_AT_EXIT=()

needs_root() {
    if [ "$(id -u)" -ne 0 ]; then
        skip "$1" "needs root ($2)"
        finish
    fi
}

at_exit() {
    _TL_AT_EXIT+=("$*")
}

_tl_exit() {
    local rc=$? i
    set +e
    for ((i = ${#_TL_AT_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${_TL_AT_EXIT[i]}"
    done
    if [ "$rc" -ne 0 ] || [ "$TESTS_FAILED" -ne 0 ] || [ "${KEEP_TMP:-0}" = 1 ]; then
        printf '# %s: files kept in %s\n' "$TEST_NAME" "$TEST_TMP" >&2
    else
        rm -rf "$TEST_TMP"
    fi
    exit "$rc"
}
trap _tl_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ok() {
    TESTS_NUM=$((TESTS_NUM + 1))
    TESTS_PASSED=$((TESTS_PASSED + 1))
    printf 'ok %d - %s\n' "$TESTS_NUM" "$1"
}

not_ok() {
    TESTS_NUM=$((TESTS_NUM + 1))
    TESTS_FAILED=$((TESTS_FAILED + 1))
    printf 'not ok %d - %s\n' "$TESTS_NUM" "$1"
    if [ -n "${2:-}" ]; then
        printf '%s\n' "$2" | sed 's/^/#   /'
    fi
}

# skip DESC WHY: reported, counted as neither passed nor failed.
skip() {
    printf 'ok - %s # SKIP %s\n' "$1" "${2:-}"
}

assert_eq() {
    if [ "$1" = "$2" ]; then
        ok "$3"
    else
        not_ok "$3" "expected: '$1'"$'\n'"actual:   '$2'"
    fi
}

assert_match() {
    if [[ $2 =~ $1 ]]; then
        ok "$3"
    else
        not_ok "$3" "expected to match: $1"$'\n'"actual: $2"
    fi
}

_tl_outtail() {
    # Last lines of the command's output, never key material.
    grep -v -e '-----BEGIN .*PRIVATE KEY-----' -e '^[A-Za-z0-9+/=]\{64\}$' \
        "$TEST_TMP/last.out" | tail -n 20
}

_tl_run() {
    local desc=$1 want=$2 rc=0
    shift 2
    if [ "${1:-}" = -- ]; then shift; fi
    [ "$#" -gt 0 ] || { not_ok "$desc" "no command given"; return 0; }
    "$@" >"$TEST_TMP/last.out" 2>&1 </dev/null || rc=$?
    if { [ "$want" = zero ] && [ "$rc" -eq 0 ]; } ||
       { [ "$want" = nonzero ] && [ "$rc" -ne 0 ]; }; then
        ok "$desc"
    else
        not_ok "$desc" "command: $*"$'\n'"exit: $rc"$'\n'"$(_tl_outtail)"
    fi
    return 0
}

assert_cmd() {
    local desc=$1
    shift
    _tl_run "$desc" zero "$@"
}

assert_fail() {
    local desc=$1
    shift
    _tl_run "$desc" nonzero "$@"
}

# json_get FILE_OR_JSON PATH: print the value at a dotted PATH (array
# indexes are numbers).  Strings print raw, everything else as JSON.
# Exit 1 (nothing printed) if the path does not exist.
json_get() {
    local src=$1 path=${2:-}
    # shellcheck disable=SC2016
    ruby -rjson -e '
        src, path = ARGV
        text = (src != "-" && !src.lstrip.start_with?("{", "[") && File.file?(src)) ? File.read(src) :
               (src == "-" ? STDIN.read : src)
        v = JSON.parse(text)
        path.split(".").each do |k|
          case v
          when Array
            exit 1 unless k =~ /\A-?\d+\z/ && k.to_i < v.length && k.to_i >= -v.length
            v = v[k.to_i]
          when Hash
            exit 1 unless v.key?(k)
            v = v[k]
          else
            exit 1
          end
        end
        puts(v.is_a?(String) ? v : JSON.generate(v, quirks_mode: true))
    ' "$src" "$path"
}

finish() {
    printf '%d passed, %d failed\n' "$TESTS_PASSED" "$TESTS_FAILED"
    [ "$TESTS_FAILED" -eq 0 ] || exit 1
    exit 0
}
