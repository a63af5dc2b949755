#!/bin/bash
# CA renewal with the same keys, on a puppetserver of its own (this test
# re-signs its CA), driven as a real SysV service that the task stops and
# starts:
#   1. a CA that ends in two days (its root and intermediate re-signed with
#      the server's own root key, notAfter = now + 2 days, before the server
#      starts); agents bootstrap and run;
#   2. cert_regen::ca_renew: noop (what would change, nothing written), the
#      run: same keys, subjects and key identifiers, notAfter ~10 years out,
#      cacert == localcacert, the CRL untouched, the server answers; days
#      that would end the CA sooner: refused (days_min) unless allow_shorter;
#   3. an agent with the OLD bundle still runs; cert_regen::ca_bundle_update
#      installs the new one (noop first; a rerun: current) and it runs;
#   4. a bundle from another CA (a fake CA port: openssl s_server) is refused
#      with cert_regen/ca-key-changed and nothing changes; the CA's old
#      bundle replayed there (same keys, ends earlier) is not installed
#      (offered_ends_sooner) and plan renew_ca's rows say kept;
#   5. an EXPIRED CA (notAfter an hour ago, re-signed with the server's own
#      root key, in the CA and in an agent's bundle): the agent fails;
#      ca_renew renews it; ca_bundle_update (the expired bundle cannot
#      verify the server: fetched unverified, content checked) then the agent
#      runs again.
# ok/not_ok always return 0: `cond && ok || not_ok` is safe here.
# shellcheck disable=SC2015
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"

needs_root "ca_renew" "installs an init script"
task_use_asan

stack_start_own primary.test
stack_stop -f
SVC="cr-ps-renew-$$"
at_exit stack_service_remove "$SVC"
stack_service_install "$SVC" "$STACK_DIR"
PCONF="$STACK_SERVER_CONFDIR"
PSSL="$STACK_SSLDIR"
PCA="$STACK_CADIR"

# resign FILE SECONDS: every certificate of FILE signed again by the CA's
# root key with notAfter = now + SECONDS (Ruby's OpenSSL; keys unchanged).
resign() {
    ruby -ropenssl -e '
        file, key, secs = ARGV[0], ARGV[1], Integer(ARGV[2])
        root = OpenSSL::PKey.read(File.read(key))
        pems = File.read(file).scan(/-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?/m)
        out = pems.map do |p|
          c = OpenSSL::X509::Certificate.new(p)
          c.not_before = Time.now - 10 * 86400
          c.not_after = Time.now + secs
          c.sign(root, OpenSSL::Digest.new("SHA256"))
          c.to_pem
        end
        File.write(file, out.join)' "$1" "$PCA/root_key.pem" "$2"
}
not_after() { # not_after FILE INDEX -> epoch of the INDEXth cert
    ruby -ropenssl -e 'pems = File.read(ARGV[0]).scan(/-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----/m)
        print OpenSSL::X509::Certificate.new(pems[Integer(ARGV[1])]).not_after.to_i' "$1" "$2"
}
ids() { # subjects, public keys, key identifiers of a bundle
    ruby -ropenssl -e 'File.read(ARGV[0]).scan(/-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----/m).each do |p|
        c = OpenSSL::X509::Certificate.new(p)
        ext = c.extensions.map(&:to_s).sort.join(";")
        puts [c.subject.to_s, OpenSSL::Digest::SHA256.hexdigest(c.public_key.to_der), ext].join("|")
      end' "$1"
}
sha() { sha256sum "$1" | cut -d" " -f1; }
params() { # params KEY=JSON... -> object with confdir and services
    ruby -rjson -e 'h = { "confdir" => ARGV.shift, "services" => [ARGV.shift] }
        ARGV.each { |kv| k, v = kv.split("=", 2); h[k] = JSON.parse(v) }
        print JSON.generate(h)' "$PCONF" "$SVC" "$@"
}
aparams() { # aparams AGENT KEY=JSON... -> object with the agent's confdir
    ruby -rjson -e 'h = { "confdir" => ARGV.shift }
        ARGV.each { |kv| k, v = kv.split("=", 2); h[k] = JSON.parse(v) }
        print JSON.generate(h)' "$(stack_agent_confdir "$1")" "${@:2}"
}
agent_run() { stack_agent_run "$1" >"$TEST_TMP/run-$1.log" 2>&1; }
err_kind() { json_get "$TASK_OUT" _error.kind; }
now() { date +%s; }

# ------------------------------------------------- 1. a CA ending in 2 days
resign "$PCA/ca_crt.pem" $((2 * 86400))
cp "$PCA/ca_crt.pem" "$PSSL/certs/ca.pem"
"/etc/init.d/$SVC" start >/dev/null && stack_status_ok &&
    ok "server starts on a CA that ends in two days" ||
    { not_ok "server starts on a CA that ends in two days" "$(tail -5 "$STACK_DIR/log/puppetserver.log")"; finish; }
A1=a1.auto.test
A2=a2.auto.test
for a in $A1 $A2; do stack_bootstrap "$a" >/dev/null 2>&1 || not_ok "bootstrap $a"; done
agent_run $A1 && agent_run $A2 && ok "agents run before" ||
    not_ok "agents run before" "$(tail -5 "$TEST_TMP/run-$A1.log")"
A1CA="$(stack_agent_confdir $A1)/ssl/certs/ca.pem"
A2CA="$(stack_agent_confdir $A2)/ssl/certs/ca.pem"
OLD_END=$(not_after "$PCA/ca_crt.pem" 0)
ids "$PCA/ca_crt.pem" >"$TEST_TMP/ids.0"
KEYS0="$(sha "$PCA/ca_key.pem") $(sha "$PCA/root_key.pem")"
CRL0=$(sha "$PCA/ca_crl.pem")
BUNDLE0=$(sha "$PCA/ca_crt.pem")

# ------------------------------------------------------------- 2. ca_renew
task_run ca_renew "$(params _noop=true days=3650)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = unchanged ] &&
    [ "$(json_get "$TASK_OUT" renewal.0.old_fingerprint_sha256)" != "" ] &&
    [ "$(json_get "$TASK_OUT" renewal.1.root)" = true ] &&
    [ "$(sha "$PCA/ca_crt.pem")" = "$BUNDLE0" ] &&
    ok "ca_renew noop says what would change and changes nothing" ||
    not_ok "ca_renew noop says what would change and changes nothing" "$TASK_OUT"
task_run ca_renew "$(params days=10)"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/invalid-parameter ] &&
    ok "days below 30 refused" || not_ok "days below 30 refused" "$TASK_OUT"

T0=$(now)
task_run ca_renew "$(params days=3650)"
echo "# ca_renew took $(( $(now) - T0 )) s" >&2
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = renewed ] &&
    ok "ca_renew renews" || not_ok "ca_renew renews" "$TASK_RC $TASK_OUT $(tail -5 "$TEST_TMP/task.err")"
NEW_END=$(not_after "$PCA/ca_crt.pem" 0)
[ "$NEW_END" -gt $(( $(now) + 3640 * 86400 )) ] && [ "$NEW_END" -gt "$OLD_END" ] &&
    [ "$(not_after "$PCA/ca_crt.pem" 1)" -gt $(( $(now) + 3640 * 86400 )) ] &&
    ok "root and intermediate end in ~10 years" || not_ok "root and intermediate end in ~10 years" "$OLD_END -> $NEW_END"
ids "$PCA/ca_crt.pem" | cmp -s - "$TEST_TMP/ids.0" &&
    [ "$KEYS0" = "$(sha "$PCA/ca_key.pem") $(sha "$PCA/root_key.pem")" ] &&
    ok "same subjects, keys, key identifiers and extensions; key files untouched" ||
    not_ok "same subjects, keys, key identifiers and extensions" "$(ids "$PCA/ca_crt.pem" | diff - "$TEST_TMP/ids.0")"
cmp -s "$PCA/ca_crt.pem" "$PSSL/certs/ca.pem" && [ "$(sha "$PCA/ca_crl.pem")" = "$CRL0" ] &&
    ok "localcacert is the new bundle; the CRL is kept" || not_ok "localcacert is the new bundle; the CRL is kept"
[ "$(json_get "$TASK_OUT" server_check.matches)" = true ] && stack_status_ok &&
    [ -n "$(json_get "$TASK_OUT" bundle_sha256)" ] &&
    [ "$(json_get "$TASK_OUT" renewal.0.new_fingerprint_sha256)" != "$(json_get "$TASK_OUT" renewal.0.old_fingerprint_sha256)" ] &&
    ok "server answers over TLS; result has fingerprints and bundle_sha256" ||
    not_ok "server answers over TLS; result has fingerprints and bundle_sha256" "$TASK_OUT"
BAK_CA=$(json_get "$TASK_OUT" backup.cadir)
[ -n "$BAK_CA" ] && [ "$(sha "$BAK_CA/ca_crt.pem")" = "$BUNDLE0" ] &&
    ok "verified backup holds the old bundle" || not_ok "verified backup holds the old bundle" "$BAK_CA"
ROOT_FP=$(json_get "$TASK_OUT" new_ca.root_fingerprint_sha256)
# a renewal that would end sooner than the CA does now: refused before
# anything stops, with the fewest days that do not shorten it
BUNDLE1=$(sha "$PCA/ca_crt.pem")
task_run ca_renew "$(params days=3000)"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/invalid-parameter ] &&
    [ "$(json_get "$TASK_OUT" _error.details.days_min)" -ge 3650 ] &&
    [ "$(json_get "$TASK_OUT" _error.details.days_min)" -le 3651 ] &&
    json_get "$TASK_OUT" _error.msg | grep -q 'allow_shorter=true' &&
    [ "$(sha "$PCA/ca_crt.pem")" = "$BUNDLE1" ] && stack_status_ok &&
    ok "a shorter renewal is refused (days_min, next step), nothing stops or changes" ||
    not_ok "a shorter renewal is refused (days_min, next step), nothing stops or changes" "$TASK_OUT"
task_run ca_renew "$(params _noop=true days=3000 allow_shorter=true)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = unchanged ] &&
    [ "$(sha "$PCA/ca_crt.pem")" = "$BUNDLE1" ] &&
    ok "allow_shorter=true lets it through (noop)" || not_ok "allow_shorter=true lets it through (noop)" "$TASK_OUT"

# ------------------------------------------ 3. old bundle, then the update
agent_run $A1 && ok "agent with the OLD bundle still runs" ||
    not_ok "agent with the OLD bundle still runs" "$(tail -5 "$TEST_TMP/run-$A1.log")"
A1SHA=$(sha "$A1CA")
task_run ca_bundle_update "$(aparams $A1 _noop=true)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = would_update ] && [ "$(sha "$A1CA")" = "$A1SHA" ] &&
    ok "ca_bundle_update noop" || not_ok "ca_bundle_update noop" "$TASK_OUT"
task_run ca_bundle_update "$(aparams $A1)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = updated ] &&
    [ "$(json_get "$TASK_OUT" fetched)" = verified ] && cmp -s "$A1CA" "$PCA/ca_crt.pem" &&
    [ "$(not_after "$A1CA" 0)" = "$NEW_END" ] &&
    ok "ca_bundle_update installs the new bundle (new not_after)" ||
    not_ok "ca_bundle_update installs the new bundle (new not_after)" "$TASK_OUT"
[ -n "$(json_get "$TASK_OUT" backup)" ] && [ "$(sha "$(json_get "$TASK_OUT" backup)/certs/ca.pem")" = "$A1SHA" ] &&
    ok "the old ca.pem is in the backup" || not_ok "the old ca.pem is in the backup" "$TASK_OUT"
agent_run $A1 && ok "agent runs with the new bundle" ||
    not_ok "agent runs with the new bundle" "$(tail -5 "$TEST_TMP/run-$A1.log")"
task_run ca_bundle_update "$(aparams $A1)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = current ] &&
    [ "$(json_get "$TASK_OUT" offered_ends_sooner)" = false ] &&
    ok "rerun: state current" || not_ok "rerun: state current" "$TASK_OUT"
echo "$TASK_OUT" >"$TEST_TMP/answer-current.json"
task_run ca_bundle_update "$(aparams $A2 "ca_fingerprint=\"$ROOT_FP\"")"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = updated ] &&
    [ "$(json_get "$TASK_OUT" fetched)" = pinned ] && cmp -s "$A2CA" "$PCA/ca_crt.pem" &&
    ok "pinned to the new root fingerprint: installed" || not_ok "pinned to the new root fingerprint: installed" "$TASK_OUT"

# ----------------------------------------- 4. another CA's bundle: refused
FAKE="$TEST_TMP/fake"
mkdir -p "$FAKE/www/puppet-ca/v1/certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$FAKE/key.pem" -out "$FAKE/www/puppet-ca/v1/certificate/ca" \
    -days 30 -subj "/CN=Puppet CA: primary.test" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
FPORT=$(_stack_pick_port)
(cd "$FAKE/www" && exec openssl s_server -quiet -WWW -accept "$FPORT" -cert "$FAKE/www/puppet-ca/v1/certificate/ca" \
    -key "$FAKE/key.pem" </dev/null >"$FAKE/log" 2>&1) &
FAKE_PID=$!
stop_fake() { kill "$FAKE_PID" 2>/dev/null || true; }
at_exit stop_fake
for _ in $(seq 1 50); do _stack_port_free "$FPORT" || break; sleep 0.1; done
A1SHA=$(sha "$A1CA")
task_run ca_bundle_update "$(aparams $A1 "ca_port=$FPORT")"
[ "$TASK_RC" = 1 ] && [ "$(err_kind)" = cert_regen/ca-key-changed ] &&
    [ -n "$(json_get "$TASK_OUT" _error.details.next_step)" ] && [ "$(sha "$A1CA")" = "$A1SHA" ] &&
    ok "a bundle with another key is refused, ca.pem unchanged" ||
    not_ok "a bundle with another key is refused, ca.pem unchanged" "$TASK_OUT"
# the same fake port serving the CA's OLD bundle (a replay): same keys, but
# it ends before the installed one: kept, nothing written
cp "$BAK_CA/ca_crt.pem" "$FAKE/www/puppet-ca/v1/certificate/ca"
task_run ca_bundle_update "$(aparams $A1 "ca_port=$FPORT")"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = current ] && [ "$(sha "$A1CA")" = "$A1SHA" ] &&
    [ -n "$(json_get "$TASK_OUT" warnings.0)" ] && [ "$(json_get "$TASK_OUT" offered_ends_sooner)" = true ] &&
    ok "an older bundle with the same keys is not installed (offered_ends_sooner)" ||
    not_ok "an older bundle with the same keys is not installed (offered_ends_sooner)" "$TASK_OUT"
echo "$TASK_OUT" >"$TEST_TMP/answer-sooner.json"
stop_fake
# plan renew_ca's rows for these real answers (cert_regen::bundle_row,
# evaluated as Bolt evaluates a plan's body): both nodes kept, the replay
# said so
mkdir -p "$TEST_TMP/pal/mods" && ln -sfn "$REPO_ROOT" "$TEST_TMP/pal/mods/cert_regen"
ruby "$REPO_ROOT/tests/lib/pal.rb" "$TEST_TMP/pal" "$TEST_TMP/pal/mods" \
    '$r = [cert_regen::bundle_row("c", $a[0]), cert_regen::bundle_row("s", $a[1])]
     $out = { "rows" => $r, "table" => cert_regen::table($r, "agent") }
     $out' \
    "$(ruby -rjson -e 'print JSON.generate("a" => ARGV.map { |f| { "ok" => true, "value" => JSON.parse(File.read(f)) } })' \
        "$TEST_TMP/answer-current.json" "$TEST_TMP/answer-sooner.json")" >"$TEST_TMP/rows.json" 2>"$TEST_TMP/rows.err" || true
[ "$(ruby -rjson -e 'print JSON.parse(File.read(ARGV[0]))["rows"].map { |x| "#{x["outcome"]}/#{x["offered_ends_sooner"]}" }.join(" ")' \
    "$TEST_TMP/rows.json" 2>/dev/null)" = "kept/false kept/true" ] &&
    json_get "$TEST_TMP/rows.json" table | grep -q 'ends sooner' &&
    ok "renew_ca's table says kept for both (bundle_row on the real answers)" ||
    not_ok "renew_ca's table says kept for both (bundle_row on the real answers)" "$(cat "$TEST_TMP/rows.json") $(tail -3 "$TEST_TMP/rows.err")"

# -------------------------------------------------- 5. an expired CA
"/etc/init.d/$SVC" stop >/dev/null
resign "$PCA/ca_crt.pem" -3600
cp "$PCA/ca_crt.pem" "$PSSL/certs/ca.pem"
cp "$PCA/ca_crt.pem" "$A2CA"	# the agent holds the CA's (expired) bundle
"/etc/init.d/$SVC" start >/dev/null
! agent_run $A2 && ok "agent fails with the expired CA" ||
    not_ok "agent fails with the expired CA" "$(tail -3 "$TEST_TMP/run-$A2.log")"
task_run ca_renew "$(params)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = renewed ] &&
    [ "$(not_after "$PCA/ca_crt.pem" 0)" -gt $(( $(now) + 5470 * 86400 )) ] &&
    ok "an expired CA is renewed (default 15 years)" ||
    not_ok "an expired CA is renewed (default 15 years)" "$TASK_RC $TASK_OUT"
! agent_run $A2 && ok "agent with the expired bundle still fails" ||
    not_ok "agent with the expired bundle still fails"
task_run ca_bundle_update "$(aparams $A2)"
[ "$TASK_RC" = 0 ] && [ "$(json_get "$TASK_OUT" state)" = updated ] &&
    [ "$(json_get "$TASK_OUT" fetched)" = unverified_tls_content_checked ] && cmp -s "$A2CA" "$PCA/ca_crt.pem" &&
    ok "expired bundle: fetched unverified, content checked, installed" ||
    not_ok "expired bundle: fetched unverified, content checked, installed" "$TASK_OUT"
agent_run $A2 && ok "agent runs again after the update" ||
    not_ok "agent runs again after the update" "$(tail -5 "$TEST_TMP/run-$A2.log")"

# ------------------- 6. optional: plan renew_ca through Bolt's local transport
if [ -n "${CR_BOLT:-}" ]; then
    proj="$TEST_TMP/bolt"
    mkdir -p "$proj/modules"
    ln -s "$REPO_ROOT" "$proj/modules/cert_regen"
    cat >"$proj/inventory.yaml" <<INV
groups:
  - name: agents
    config: {transport: local}
    targets:
      - name: $A1
        vars: {cert_regen_confdir: $(stack_agent_confdir $A1)}
      - name: $A2
        vars: {cert_regen_confdir: $(stack_agent_confdir $A2)}
  - name: primaries
    config: {transport: local}
    targets:
      - name: primary
        vars: {cert_regen_confdir: $PCONF}
INV
    END_BEFORE=$(not_after "$PCA/ca_crt.pem" 0)
    rc=0
    (cd "$proj" && $CR_BOLT plan run cert_regen::renew_ca primary=primary agents=agents days=6000 \
        "services=[\"$SVC\"]" --inventoryfile "$proj/inventory.yaml" --modulepath "$proj/modules" --format json) \
        >"$TEST_TMP/bolt.json" 2>"$TEST_TMP/bolt.err" || rc=$?
    assert_eq 0 "$rc" "6: bolt plan run cert_regen::renew_ca exits 0"
    assert_eq "updated updated" "$(ruby -rjson -e 'puts JSON.parse(File.read(ARGV[0]))["agents"].map { |r| r["outcome"] }.join(" ")' \
        "$TEST_TMP/bolt.json" 2>/dev/null)" "6: the plan's table: both agents updated"
    # (longer than the 15 years of section 5: an agent never takes a bundle
    # with the same keys that ends sooner than the one it holds)
    [ "$(not_after "$PCA/ca_crt.pem" 0)" -gt "$END_BEFORE" ] && cmp -s "$A1CA" "$PCA/ca_crt.pem" &&
        cmp -s "$A2CA" "$PCA/ca_crt.pem" && ok "6: renewed for 6000 days, both agents hold the renewed bundle" ||
        not_ok "6: renewed for 6000 days, both agents hold the renewed bundle" "$(head -c 2000 "$TEST_TMP/bolt.json")"
    agent_run $A1 && agent_run $A2 && ok "6: both agents run after the plan" ||
        not_ok "6: both agents run after the plan" "$(tail -5 "$TEST_TMP/run-$A1.log")"
else
    skip "6: the plan renew_ca through Bolt" "CR_BOLT is not set"
fi
finish
