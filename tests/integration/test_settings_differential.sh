#!/usr/bin/env bash
# tests/integration/test_settings_differential.sh - `cert_regen settings`
# against the real `puppet config print ... --section agent`, setting by
# setting, over a set of puppet.conf files.
#
#   CERT_REGEN_BIN  the binary (default files/bin/<platform>/cert_regen)
#   PUPPET          the puppet to compare with (default: puppet in PATH)
#
# Expectations per case:
#   same       every setting the resolver knows prints the same value
#   both-fail  puppet exits non-zero, so must cert_regen (an _error)
#   refuse     puppet logs "Could not parse" and falls back to defaults;
#              cert_regen refuses on purpose (parse-error with the line)
#   lowercase  puppet's `config print` shows an upper-case [agent] certname
#              that `puppet agent` itself rejects; cert_regen refuses
set -eu

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

if [ -f "$ROOT/tests/lib/testlib.sh" ]; then
    # shellcheck source=../lib/testlib.sh
    . "$ROOT/tests/lib/testlib.sh"
else
    export LC_ALL=C
    TEST_TMP="$(mktemp -d "${TMPDIR:-/tmp}/cr-test.XXXXXX")"
    TESTS_PASSED=0
    TESTS_FAILED=0
    TESTS_NUM=0
    trap 'rm -rf "$TEST_TMP"' EXIT
    ok() {
        TESTS_NUM=$((TESTS_NUM + 1)); TESTS_PASSED=$((TESTS_PASSED + 1))
        printf 'ok %d - %s\n' "$TESTS_NUM" "$1"
    }
    not_ok() {
        TESTS_NUM=$((TESTS_NUM + 1)); TESTS_FAILED=$((TESTS_FAILED + 1))
        printf 'not ok %d - %s\n' "$TESTS_NUM" "$1"
        [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/#   /'
    }
    skip() { printf 'ok - %s # SKIP %s\n' "$1" "${2:-}"; }
    finish() {
        printf '%d passed, %d failed\n' "$TESTS_PASSED" "$TESTS_FAILED"
        [ "$TESTS_FAILED" -eq 0 ] || exit 1
        exit 0
    }
fi

PLATFORM="$(uname -s | tr A-Z a-z)-$(uname -m)"
BIN="${CERT_REGEN_BIN:-$ROOT/files/bin/$PLATFORM/cert_regen}"
PUPPET="${PUPPET:-puppet}"

if ! command -v jq >/dev/null 2>&1; then
    not_ok "jq is installed" "the comparison needs jq"
    finish
fi
if [ ! -x "$BIN" ]; then
    not_ok "cert_regen binary exists" "not executable: $BIN (make -C ext)"
    finish
fi
if ! command -v "$PUPPET" >/dev/null 2>&1; then
    skip "differential against puppet" "no puppet in PATH"
    finish
fi

# Settings Puppet 8 added: the resolver knows them whatever the version.
PUPPET8_ONLY="hostcert_renewal_interval crl_refresh_interval"
PUPPET_VERSION=$("$PUPPET" --version 2>/dev/null || echo unknown)

# Every setting the resolver knows (no puppet.conf there: defaults only).
NAMES=()
while IFS= read -r n; do NAMES+=("$n"); done < <(
    "$BIN" settings --no-exec --confdir "$TEST_TMP/no-such-dir" | jq -r 'keys_unsorted[]')
if [ "${#NAMES[@]}" -lt 20 ]; then
    not_ok "cert_regen lists its settings" "got ${#NAMES[@]} names"
    finish
fi

# Both tools run from the same directory and HOME: relative paths and ~
# expand the same way.
CWD="$TEST_TMP/cwd"
mkdir -p "$CWD"

# value_of FILE NAME: the value in puppet's "name = value" output.
value_of() {
    awk -v n="$2" 'index($0, n " = ") == 1 { print substr($0, length(n) + 4); found = 1; exit }
                   END { exit !found }' "$1"
}

# run_case NAME EXPECT [PUPPET_CONF_TEXT]  (no text: no puppet.conf at all)
run_case() {
    local name=$1 expect=$2 dir="$TEST_TMP/$1" prc=0 orc=0 n want got kind fails=0
    mkdir -p "$dir/conf"
    if [ "$#" -ge 3 ]; then
        printf '%s' "$3" >"$dir/conf/puppet.conf"
    fi
    (cd "$CWD" && "$PUPPET" config print "${NAMES[@]}" --section agent \
        --confdir "$dir/conf") >"$dir/puppet.out" 2>"$dir/puppet.err" || prc=$?
    (cd "$CWD" && "$BIN" settings --confdir "$dir/conf" "${NAMES[@]}") \
        >"$dir/ours.json" 2>"$dir/ours.err" || orc=$?
    kind="$(jq -r '._error.kind // empty' "$dir/ours.json" 2>/dev/null || true)"

    case $expect in
    same)
        if [ "$prc" -ne 0 ]; then
            not_ok "$name: puppet config print works" "$(cat "$dir/puppet.err")"
            return 0
        fi
        if [ "$orc" -ne 0 ]; then
            not_ok "$name: cert_regen settings works" "$(cat "$dir/ours.json" "$dir/ours.err")"
            return 0
        fi
        for n in "${NAMES[@]}"; do
            want="$(value_of "$dir/puppet.out" "$n")" || want="<not printed by puppet>"
            got="$(jq -r --arg n "$n" '.[$n] // "<missing>"' "$dir/ours.json")"
            if [ -z "$want" ] && [[ " $PUPPET8_ONLY " == *" $n "* ]]; then
                # Puppet 7 prints nothing for a setting it does not have; the
                # resolver answers Puppet 8's default (test_matrix checks it
                # against a real Puppet 8).
                skip "$name: $n" "puppet $PUPPET_VERSION has no setting $n (Puppet 8 has)"
            elif [ "$want" = "$got" ]; then
                ok "$name: $n"
            else
                fails=$((fails + 1))
                not_ok "$name: $n" "$(diff -u <(printf '%s\n' "$want") \
                    <(printf '%s\n' "$got") | sed -e "1s|.*|--- puppet config print $n|" \
                    -e "2s|.*|+++ cert_regen settings $n|")"
            fi
        done
        ;;
    both-fail)
        if [ "$prc" -ne 0 ] && [ "$orc" -eq 1 ] && [ -n "$kind" ]; then
            ok "$name: both refuse ($kind: $(jq -r '._error.msg' "$dir/ours.json"))"
        else
            not_ok "$name: both refuse" "puppet exit $prc: $(head -c 300 "$dir/puppet.err")"$'\n'"cert_regen exit $orc: $(head -c 300 "$dir/ours.json")"
        fi
        ;;
    refuse)
        if [ "$orc" -eq 1 ] && [ "$kind" = "cert_regen/parse-error" ] &&
            grep -q 'Could not parse' "$dir/puppet.err"; then
            ok "$name: puppet ignores the file, cert_regen refuses it ($(jq -r '._error.msg' "$dir/ours.json" | cut -c1-90))"
        else
            not_ok "$name: puppet ignores the file, cert_regen refuses it" "puppet exit $prc: $(head -c 300 "$dir/puppet.err")"$'\n'"cert_regen exit $orc: $(head -c 300 "$dir/ours.json")"
        fi
        ;;
    lowercase)
        if [ "$orc" -eq 1 ] && jq -r '._error.msg' "$dir/ours.json" | grep -q 'lower case'; then
            ok "$name: cert_regen refuses an upper-case certname ('puppet config print' shows $(value_of "$dir/puppet.out" certname || echo '?'))"
        else
            not_ok "$name: cert_regen refuses an upper-case certname" "cert_regen exit $orc: $(head -c 300 "$dir/ours.json")"
        fi
        ;;
    esac
    return 0
}

run_case no_puppet_conf same

run_case main_only same '[main]
server = puppet.example.com
certname = node1.example.com
ssldir = /srv/puppet/ssl
vardir = /srv/puppet/cache
'

run_case agent_over_main same '[main]
ssldir = /m/ssl
server = m.example.com
vardir = /m/var
keylength = 2048
[agent]
ssldir = /a/ssl
server = a.example.com
certname = agent1.example.com
'

run_case interpolation_chain same '[main]
vardir = $confdir/var
ssldir = $vardir/ssl
rundir = $vardir/run
[agent]
certdir = $ssldir/c
hostcert = $certdir/$certname.crt
client_datadir = $statedir/cd
ca_server = ca.$server
server = puppet.example.net
certname = chain.example.net
'

run_case certname_main_vs_agent same '[main]
certname = from-main.example.com
[agent]
certname = from-agent.example.com
[main]
certname = second-main-line-loses
'

run_case certname_only_main same '[main]
certname = only-main.example.com
[agent]
server = s.example.com
'

run_case hostcert_set_directly same '[agent]
hostcert = /etc/x/host.pem
hostprivkey = /etc/x/key.pem
hostpubkey = /etc/x/pub.pem
hostcsr = /etc/x/req.pem
localcacert = /etc/x/ca.pem
hostcrl = /etc/x/crl.pem
'

run_case ca_server_and_ports same '[main]
server = p.example.com
ca_server = ca.example.com
serverport = 8141
[agent]
ca_port = 8142
'

run_case serverport_alias_quirk same '[main]
serverport = 8150
[agent]
masterport = 8151
'

run_case server_master_sections_ignored same '[server]
ssldir = /srv/ssl
certname = srv.example.com
[master]
ssldir = /mst/ssl
server = master.example.com
vardir = /mst/var
[main]
server = m.example.com
'

run_case lines_before_any_header same 'certname = top.example.com
server = top.example.com
[agent]
ca_port = 9000
'

run_case comments_and_whitespace same $'# leading comment\r\n  [main]  \r\n\t certname\t=\t  ws.example.com \t\r\n   # indented comment\r\n\r\nserver = "quoted.example.com"\nca_server = \'single.example.com\'\ndns_alt_names = a,b # this is part of the value\n\n[agent]\n   ssldir   =   /ws/ssl/   \n'

run_case types_and_booleans same '[main]
certificate_revocation = TRUE
keylength = 0x800
key_type = ec
named_curve = secp384r1
autosign = false
[agent]
certificate_revocation = leaf
'

run_case paths_relative_tilde_dots same '[main]
ssldir = relative/ssl
vardir = ~/pcache
rundir = /a//b/../c/./
logdir = //net/log/
'

run_case file_metadata_braces same '[main]
ssldir = /meta/ssl { owner = service, mode = 0771 }
hostcert = /meta/cert.pem {mode = 644}
'

run_case run_mode_and_environment same '[main]
publicdir = /p/$run_mode/$environment
'

run_case uppercase_certname_main both-fail '[main]
certname = NODE1.Example.COM
'

run_case interpolation_loop both-fail '[main]
ssldir = $vardir/ssl
vardir = $ssldir/var
'

run_case unknown_variable both-fail '[main]
ssldir = $nosuchsetting/ssl
'

run_case braces_confdir refuse '[main]
ssldir = ${confdir}/ssl
'

run_case malformed_line refuse '[main]
certname = fine.example.com
this line is not a setting
'

run_case illegal_section refuse '[main]
certname = a.example.com
[production]
server = x
'

run_case uppercase_certname_agent lowercase '[agent]
certname = Agent1.Example.COM
'

# The native default certname (no `puppet config print`) against Facter's.
want="$("$PUPPET" config print certname --section agent --confdir "$TEST_TMP/no_puppet_conf/conf" 2>/dev/null || true)"
got="$("$BIN" settings --no-exec --confdir "$TEST_TMP/no_puppet_conf/conf" certname | jq -r .certname)"
if [ -n "$want" ] && [ "$want" = "$got" ]; then
    ok "native default certname matches puppet ($got)"
else
    not_ok "native default certname matches puppet" "puppet: '$want'"$'\n'"cert_regen --no-exec: '$got'"
fi

finish
