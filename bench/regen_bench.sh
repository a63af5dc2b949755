#!/bin/bash
# bench/regen_bench.sh [N] - regenerating an agent's certificate, side by
# side in one run against one real puppetserver (autosign on):
#   cert_regen   the cert_regen::regenerate task, run as Bolt runs it
#   puppet ssl   Puppet's own agent-side procedure: `puppet ssl clean`
#                then `puppet ssl bootstrap` (same RSA-4096 key size)
# For each of N agents and each method: the CA-side clean first (not
# timed, the same for both), then the agent-side step, timed, with its
# peak RSS.  Prints medians.  A benchmark, not a test: nothing asserts.
set -euo pipefail
n=${1:-5}
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../tests/lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
set +e
stack_ensure >/dev/null || { echo "no puppetserver"; exit 1; }

measure() { # label cmd... -> appends "label seconds kb" to $TEST_TMP/times
    local label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$TEST_TMP/t.one" "$@" >"$TEST_TMP/out.one" 2>&1 ||
        { echo "FAILED: $label"; tail -5 "$TEST_TMP/out.one"; return 1; }
    printf '%s %s\n' "$label" "$(cat "$TEST_TMP/t.one")" >>"$TEST_TMP/times"
}

inst=$(task_installdir)
for i in $(seq 1 "$n"); do
    name="bench$i-$$.auto.test"
    conf=$(stack_agent "$name")
    stack_bootstrap "$name" >/dev/null 2>&1 || { echo "bootstrap $name failed"; exit 1; }
    # cert_regen
    stack_ca clean --certname "$name" >/dev/null 2>&1
    printf '{"confdir":"%s","services":[],"_installdir":"%s"}' "$conf" "$inst" >"$TEST_TMP/params.json"
    measure cert_regen sh -c "PT__installdir='$inst' '$inst/cert_regen/tasks/regenerate.sh' <'$TEST_TMP/params.json'"
    # Puppet's own
    stack_ca clean --certname "$name" >/dev/null 2>&1
    measure "puppet_ssl" sh -c "puppet ssl clean --confdir '$conf' && puppet ssl bootstrap --confdir '$conf' --waitforcert 0"
done
ruby -e '
  rows = File.readlines(ARGV[0]).map(&:split).group_by(&:first)
  med = ->(a) { s = a.sort; s[s.size / 2] }
  puts format("%-12s %5s %14s %12s %14s", "method", "runs", "median s", "min s", "median RSS MB")
  rows.each do |label, r|
    secs = r.map { |x| x[1].to_f }
    rss = r.map { |x| x[2].to_f / 1024 }
    puts format("%-12s %5d %14.3f %12.3f %14.1f", label, r.size, med.(secs), secs.min, med.(rss))
  end
' "$TEST_TMP/times"
echo "(puppet ssl = puppet ssl clean + puppet ssl bootstrap; both RSA-4096 with autosign; the CA-side clean is not timed)"
