#!/bin/bash
# The fleet's certificates from a real PuppetDB (Debian's puppetdb 7 on a
# PostgreSQL 15 cluster, both started here by tests/lib/puppetdb.sh) that
# the real puppetserver feeds with real agent runs:
#   1. four agents: two healthy, two whose host certificate ends in ~10 and
#      ~20 days (re-signed by the CA's own key); each runs, and its
#      cert_regen fact reaches PuppetDB through the puppetdb terminus;
#   2. the body of plan cert_regen::report - puppetdb_query of
#      cert_regen::fleet_query, cert_regen::fleet_rows, fleet_summary,
#      fleet_table - evaluated as Bolt evaluates a plan (Puppet::Pal's
#      script compiler, tests/lib/pal.rb) with Puppet's own puppetdb_query
#      (puppet-terminus-puppetdb) against the real PuppetDB, and its numbers
#      checked against each agent's own fact (`puppet facts show`);
#   3. the selections regenerate_agents takes (expiring_within_days,
#      health; cert_regen::fleet_pick), filtered by PuppetDB;
#   4. the size of one node's cert_regen fact as PuppetDB holds it.
# The plans themselves need Bolt (run_plan, out::message), which is not
# packaged in Debian: what they do between those calls is what runs here.
# ok/not_ok always return 0: `cond && ok || not_ok` is safe here.
# shellcheck disable=SC2015
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/puppetdb.sh"

if [ "$(id -u)" -ne 0 ]; then
    skip "puppetdb" "needs root (PostgreSQL runs as the postgres user)"
    finish
fi
for f in "$PDB_JAR" "$PDB_PG_BIN/initdb" /usr/lib/ruby/vendor_ruby/puppet/functions/puppetdb_query.rb; do
    if [ ! -e "$f" ]; then
        not_ok "puppetdb, postgresql and puppet-terminus-puppetdb installed" "no $f: run tests/setup-debian.sh"
        finish
    fi
done

unset CR_STACK_DIR
STACK_CERTNAME=primary.test
STACK_PRE_LAUNCH=pdb_pre_launch
# two JVMs start side by side on the CI's 2 CPUs: more time than one alone
STACK_START_TIMEOUT=${STACK_START_TIMEOUT:-480}
PDB_START_TIMEOUT=${PDB_START_TIMEOUT:-480}
at_exit pdb_stop
at_exit stack_stop -f
T0=$(date +%s)
if ! stack_start "$TEST_TMP/p"; then
    not_ok "puppetserver starts" "see $TEST_TMP/p/log"
    finish
fi
if pdb_wait; then
    ok "PostgreSQL 15 and PuppetDB start (PuppetDB answered after ${PDB_START_SECONDS}s, puppetserver ${STACK_START_SECONDS}s)"
else
    not_ok "PostgreSQL 15 and PuppetDB start" "$(tail -5 "$STACK_DIR/log/puppetdb.log" 2>/dev/null)"
    finish
fi
echo "# stack + PuppetDB up in $(( $(date +%s) - T0 )) s" >&2

# resign_host AGENT SECONDS: the agent's host certificate signed again by the
# CA's key (the intermediate's) with notAfter = now + SECONDS.
resign_host() {
    local c
    c="$(stack_agent_confdir "$1")/ssl/certs/$1.pem"
    ruby -ropenssl -e '
        file, key, secs = ARGV[0], ARGV[1], Integer(ARGV[2])
        c = OpenSSL::X509::Certificate.new(File.read(file))
        c.not_after = Time.now + secs
        c.sign(OpenSSL::PKey.read(File.read(key)), OpenSSL::Digest.new("SHA256"))
        File.write(file, c.to_pem)' "$c" "$STACK_CADIR/ca_key.pem" "$2"
}

# ------------------------------------------- 1. agents feed PuppetDB
OK1=ok1.auto.test OK2=ok2.auto.test E10=e10.auto.test E20=e20.auto.test
AGENTS="$OK1 $OK2 $E10 $E20"
for a in $AGENTS; do stack_bootstrap "$a" >"$TEST_TMP/boot-$a.log" 2>&1 || not_ok "bootstrap $a"; done
resign_host $E10 $((10 * 86400 + 3600))
resign_host $E20 $((20 * 86400 + 3600))
T1=$(date +%s)
fails=
for a in $AGENTS; do stack_agent_run "$a" >"$TEST_TMP/run-$a.log" 2>&1 || fails="$fails $a"; done
[ -z "$fails" ] && ok "four agents run (two of them on certificates ending in 10 and 20 days)" ||
    not_ok "four agents run" "failed:$fails $(tail -3 "$TEST_TMP/run-${fails# }.log" 2>/dev/null)"
echo "# 4 agent runs: $(( $(date +%s) - T1 )) s" >&2
# PuppetDB stores commands asynchronously: wait for the four facts
n=0
for _ in $(seq 1 120); do
    n=$(pdb_query 'inventory[certname] { facts.cert_regen.health is not null }' 2>/dev/null |
        ruby -rjson -e 'print JSON.parse(STDIN.read).length' 2>/dev/null || echo 0)
    [ "$n" = 4 ] && break
    sleep 0.5
done
assert_eq 4 "$n" "PuppetDB holds the cert_regen fact of the four agents"

# each agent's own view of its fact (same code, run locally by the agent)
for a in $AGENTS; do
    stack_puppet "$a" facts show cert_regen --render-as json >"$TEST_TMP/fact-$a.json" 2>/dev/null ||
        not_ok "puppet facts show on $a"
done
ruby -rjson -e '
    rows = ARGV.map do |f|
      v = JSON.parse(File.read(f))["cert_regen"]
      [v["certname"], v["health"], v["hostcert_health"], v["hostcert"]["expires_in_days"]]
    end
    rows.sort.each { |r| puts r.join(" ") }' "$TEST_TMP"/fact-*.json >"$TEST_TMP/agents.txt"

# --------------------- 2. the report's logic with Puppet's puppetdb_query
APPLY="$TEST_TMP/apply"
mkdir -p "$APPLY/mods" "$APPLY/var"
ln -sfn "$REPO_ROOT" "$APPLY/mods/cert_regen"
printf '[main]\ncertname = %s\nssldir = %s\n' "$STACK_CERTNAME" "$STACK_SSLDIR" >"$APPLY/puppet.conf"
cp "$STACK_SERVER_CONFDIR/puppetdb.conf" "$APPLY/puppetdb.conf"
# report SELECT_JSON: what plan cert_regen::report computes for that
# selection (its body, evaluated as Bolt does; puppetdb_query over TLS with
# the primary's certificate), plus fleet_pick (regenerate_agents' select=)
report() {
    ruby "$REPO_ROOT/tests/lib/pal.rb" "$APPLY" "$APPLY/mods" '
        $query = cert_regen::fleet_query($sel)
        $rows = cert_regen::fleet_rows(puppetdb_query($query), $sel)
        $summary = cert_regen::fleet_summary($rows)
        $out = { "query" => $query, "summary" => $summary, "nodes" => $rows,
          "pick" => cert_regen::fleet_pick($rows), "table" => cert_regen::fleet_table($rows, $summary) }
        $out' \
        "{\"sel\": $1}" 2>>"$TEST_TMP/report.err"
}
T2=$(date +%s)
report '{}' >"$TEST_TMP/report.json"
echo "# one report (Puppet::Pal, puppetdb_query): $(( $(date +%s) - T2 )) s" >&2
ruby -rjson -e 'JSON.parse(File.read(ARGV[0]))["nodes"].map { |r| [r["certname"], r["health"], r["hostcert_health"], r["days_left"]] }
    .sort.each { |r| puts r.join(" ") }' "$TEST_TMP/report.json" >"$TEST_TMP/pdb.txt" 2>/dev/null
[ -s "$TEST_TMP/pdb.txt" ] && cmp -s "$TEST_TMP/agents.txt" "$TEST_TMP/pdb.txt" &&
    ok "the report's nodes, health and days left are the agents' own facts" ||
    not_ok "the report's nodes, health and days left are the agents' own facts" \
        "agents: $(tr '\n' ';' <"$TEST_TMP/agents.txt") report: $(tr '\n' ';' <"$TEST_TMP/pdb.txt") $(head -c 600 "$TEST_TMP/report.json")"
summary=$(ruby -rjson -e 's = JSON.parse(File.read(ARGV[0]))["summary"]
    print [s["nodes"], s["by_health"]["ok"], s["by_health"]["expiring"], s["within_30_days"], s["expired"],
           s["soonest"]["certname"], s["soonest"]["days_left"]].join(" ")' "$TEST_TMP/report.json" 2>/dev/null)
want=$(awk '{ n++; if ($2 == "ok") o++; if ($2 == "expiring") e++; if ($4 <= 30) w++; if ($4 < 0) x++
             if (m == "" || $4 < m) { m = $4; s = $1 } } END { printf "%d %d %d %d %d %s %d", n, o, e, w, x, s, m }' \
        "$TEST_TMP/agents.txt")
assert_eq "$want" "$summary" "the counts (nodes, ok, expiring, within 30 days, expired, soonest) match the agents' facts"
[ "$(json_get "$TEST_TMP/report.json" nodes.0.certname)" = $E10 ] &&
    [ "$(json_get "$TEST_TMP/report.json" nodes.0.health)" = expiring ] &&
    ruby -rjson -e 'exit(JSON.parse(File.read(ARGV[0]))["table"].lines.last =~ /\A4 node\(s\): expiring 2, ok 2; expired 0, within 30 days 2; soonest: e10\.auto\.test \(1[01] days\)\z/ ? 0 : 1)' \
        "$TEST_TMP/report.json" &&
    ok "the worst first; the table's last line counts them" ||
    not_ok "the worst first; the table's last line counts them" "$(json_get "$TEST_TMP/report.json" table)"
json_get "$TEST_TMP/report.json" table | sed 's/^/#   /' >&2

# ------------------------- 3. the selections of regenerate_agents' select=
report '{"expiring_within_days": 15}' >"$TEST_TMP/sel15.json"
assert_eq "$E10" "$(ruby -rjson -e 'print JSON.parse(File.read(ARGV[0]))["pick"].join(" ")' "$TEST_TMP/sel15.json" 2>/dev/null)" \
    "expiring_within_days=15 selects the agent ending in 10 days only"
report '{"health": ["expiring"]}' >"$TEST_TMP/selh.json"
assert_eq "$E10 $E20" "$(ruby -rjson -e 'print JSON.parse(File.read(ARGV[0]))["pick"].join(" ")' "$TEST_TMP/selh.json" 2>/dev/null)" \
    "health=[expiring] selects both expiring agents, the sooner first"
report '{"health": ["expired", "revoked"]}' >"$TEST_TMP/selx.json"
assert_eq "0" "$(json_get "$TEST_TMP/selx.json" summary.nodes)" "health=[expired, revoked] selects none"
# the filter is PuppetDB's: the query itself answers only the selected node
q=$(json_get "$TEST_TMP/sel15.json" query)
assert_eq "$E10" "$(pdb_query "$q" | ruby -rjson -e 'print JSON.parse(STDIN.read).map { |r| r["certname"] }.join(" ")' 2>/dev/null)" \
    "PuppetDB itself filters by days left (fleet_query's PQL)"

# ------------------------------------------- 4. the size of one node's fact
for a in $OK1 $E10; do
    size=$(pdb_query "facts[value] { name = \"cert_regen\" and certname = \"$a\" }" |
        ruby -rjson -e 'print JSON.generate(JSON.parse(STDIN.read)[0]["value"]).bytesize' 2>/dev/null)
    [ -n "$size" ] && [ "$size" -gt 500 ] && [ "$size" -lt 16384 ] &&
        ok "the cert_regen fact of $a in PuppetDB: $size bytes (compact JSON)" ||
        not_ok "the cert_regen fact of $a in PuppetDB: under 16 KiB" "$size"
done
echo "# test_puppetdb total: $(( $(date +%s) - T0 )) s" >&2
finish
