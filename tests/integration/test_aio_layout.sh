#!/bin/bash
# test_aio_layout: a Debian 12 node laid out like Puppet's AIO packages:
# Debian's puppet, facter and Ruby reached at /opt/puppetlabs/{bin,puppet/bin},
# its defaults moved to AIO's (/etc/puppetlabs/puppet, $confdir/ssl,
# /opt/puppetlabs/puppet/cache, ...) and a decoy /etc/puppet/puppet.conf
# naming another certname.  Proves that the settings resolver, the task
# launcher and the fact find the AIO files.  Also: Debian 11's own layout
# ($confdir/ssl) through the real bullseye run_mode.rb.
# shellcheck disable=SC2015,SC2016,SC2012
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/nodes.sh"

T_START=$(date +%s)
dir=$TEST_TMP/aio
cn=aio-$$.auto.test
nodes_agent_begin "AIO layout" "$dir" "$cn" /etc/puppetlabs/puppet/puppet.conf
m=$dir/merged
# Bolt's tasks land in a temporary directory, never under the module path
# (/var/tmp: systemd mounts a fresh tmpfs over the container's /tmp)
INST=/var/tmp/bolt-task-aio
node_install_tasks "$m" "$INST"
mkdir -p "$m/opt/puppetlabs/bin" "$m/opt/puppetlabs/puppet/bin" "$m/etc/puppetlabs/puppet" "$m/etc/puppetlabs/code"
for t in puppet facter; do
    printf '#!/bin/sh\nexec /usr/bin/%s "$@"\n' "$t" >"$m/opt/puppetlabs/puppet/bin/$t"
    chmod 0755 "$m/opt/puppetlabs/puppet/bin/$t"
    ln -s ../puppet/bin/$t "$m/opt/puppetlabs/bin/$t"
done
ln -s /usr/bin/ruby "$m/opt/puppetlabs/puppet/bin/ruby"
# AIO's defaults in place of Debian's (the only file Debian patches for them)
sed -i -e 's|"/etc/puppet/code"|"/etc/puppetlabs/code"|' -e 's|"/etc/puppet"|"/etc/puppetlabs/puppet"|' \
    -e 's|"/var/cache/puppet/public"|"/opt/puppetlabs/puppet/public"|' -e 's|"/var/cache/puppet"|"/opt/puppetlabs/puppet/cache"|' \
    -e 's|"/run/puppet"|"/var/run/puppetlabs"|' -e 's|"/var/log/puppet"|"/var/log/puppetlabs/puppet"|' \
    -e 's|system_ssl = "/var/lib/puppet/ssl"|system_ssl = "/etc/puppetlabs/puppet/ssl"|' \
    "$m/usr/lib/ruby/vendor_ruby/puppet/util/run_mode.rb"
printf '[main]\ncertname = decoy-debian.test\nssldir = /var/lib/decoy/ssl\n' >"$m/etc/puppet/puppet.conf"
if ! roots_boot aio "$dir"; then not_ok "AIO node boots" "$(tail -n 5 "$dir/console.log")"; finish; fi
ok "AIO-laid-out Debian 12 node boots systemd ($(cat "$dir/boot-state"))"

P=/opt/puppetlabs/bin/puppet
assert_eq "confdir = /etc/puppetlabs/puppet
ssldir = /etc/puppetlabs/puppet/ssl
vardir = /opt/puppetlabs/puppet/cache" \
    "$(roots_exec_dir "$dir" $P config print confdir ssldir vardir --section agent 2>&1 | sort)" "the AIO puppet uses AIO's directories"
rc=0; roots_exec_dir "$dir" timeout 300 $P agent -t --waitforcert 0 >"$TEST_TMP/agent.out" 2>&1 || rc=$?
{ [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]; } && ok "$P agent -t bootstraps (rc $rc)" || not_ok "$P agent -t bootstraps" "$(tail -n 5 "$TEST_TMP/agent.out")"
hostcert=/etc/puppetlabs/puppet/ssl/certs/$cn.pem
[ -s "$m$hostcert" ] && ok "the agent's certificate is at $hostcert" || not_ok "the agent's certificate is at $hostcert" "$(ls -R "$m/etc/puppetlabs/puppet" | head)"

why=$(node_bin_probe "$dir" "$INST")
B=$INST/cert_regen/files/bin/linux-x86_64/cert_regen
if [ -n "$why" ]; then
    skip "resolver and tasks on the AIO node" "executable does not run: $why"
else
    # the resolver with no --confdir: AIO found by /opt/puppetlabs/puppet/bin/puppet
    names="confdir ssldir vardir certname hostcert localcacert hostcrl"
    # shellcheck disable=SC2086
    want=$(roots_exec_dir "$dir" $P config print $names --section agent 2>&1 | sort)
    # shellcheck disable=SC2086
    got=$(roots_exec_dir "$dir" "$B" settings $names 2>&1 | ruby -rjson -e 'JSON.parse(STDIN.read).sort.each { |k, v| puts "#{k} = #{v}" }' 2>&1)
    assert_eq "$want" "$got" "cert_regen settings (no --confdir) = the AIO puppet's config print"
    # the status task through the launcher, from Bolt's temporary directory
    node_task "$dir" status '{}' "$INST"
    assert_eq "0 ok" "$TASK_RC $(json_get "$TASK_OUT" health 2>/dev/null)" "status task via files/launch.sh: health ok"
    assert_eq "/etc/puppetlabs/puppet/ssl $cn" "$(json_get "$TASK_OUT" ssldir 2>/dev/null) $(json_get "$TASK_OUT" certname 2>/dev/null)" \
        "status read the AIO ssldir and certname (not the decoy)"
    assert_eq "$(openssl x509 -in "$m$hostcert" -noout -serial | sed 's/^serial=//')" "$(json_get "$TASK_OUT" hostcert.serial 2>/dev/null)" \
        "status reports the AIO hostcert's serial"
    # the launcher's answer when the build for this platform is missing
    mv "$m$B" "$m$B.off"
    node_task "$dir" status '{}' "$INST"
    assert_eq "1 cert_regen/unsupported-platform" "$TASK_RC $(json_get "$TASK_OUT" _error.kind 2>/dev/null)" \
        "without the executable the launcher answers unsupported-platform"
    assert_match "cert_regen/files/bin/linux-x86_64/cert_regen" "$(json_get "$TASK_OUT" _error.details.expected 2>/dev/null)" \
        "and names the file it looked for"
    mv "$m$B.off" "$m$B"
fi

# the fact under the AIO facter (Puppet's settings: pluginsynced to AIO's vardir)
fact=$(roots_exec_dir "$dir" /opt/puppetlabs/bin/facter -p --json cert_regen 2>"$TEST_TMP/facter.err")
assert_match '^/opt/puppetlabs/puppet/cache/lib/facter/cert_regen.rb$' "$(ls "$m/opt/puppetlabs/puppet/cache/lib/facter/cert_regen.rb" 2>/dev/null | sed "s|^$m||")" \
    "pluginsync put the fact under AIO's vardir"
case "$(json_get "$fact" cert_regen.health 2>/dev/null)" in
    ok) assert_eq "/etc/puppetlabs/puppet/ssl $cn" "$(json_get "$fact" cert_regen.ssldir 2>/dev/null) $(json_get "$fact" cert_regen.certname 2>/dev/null)" \
        "facter -p cert_regen: health ok, AIO ssldir and certname" ;;
    *) not_ok "facter -p cert_regen gives health ok" "$(printf '%s' "$fact" | head -c 600) $(head -n 3 "$TEST_TMP/facter.err")" ;;
esac

# Debian 11: puppet 5.5 keeps Puppet's own ssldir, $confdir/ssl.  The
# resolver reads the real bullseye run_mode.rb (bound over this host's).
BIN=$(nodes_bin)
b11=$(roots_path bullseye)/usr/lib/ruby/vendor_ruby/puppet/util/run_mode.rb
if [ -x "$BIN" ] && [ -r "$b11" ] && command -v unshare >/dev/null; then
    mkdir -p "$TEST_TMP/etcpuppet"
    got=$(unshare -m sh -c 'mount --bind "$1" /usr/lib/ruby/vendor_ruby/puppet/util/run_mode.rb && exec "$2" settings --confdir "$3" ssldir' \
        _ "$b11" "$BIN" "$TEST_TMP/etcpuppet" 2>&1 | ruby -rjson -e 'print JSON.parse(STDIN.read)["ssldir"]' 2>&1)
    assert_eq "$TEST_TMP/etcpuppet/ssl" "$got" "Debian 11's run_mode.rb: ssldir is \$confdir/ssl"
    got=$("$BIN" settings --confdir "$TEST_TMP/etcpuppet" ssldir 2>&1 | ruby -rjson -e 'print JSON.parse(STDIN.read)["ssldir"]' 2>&1)
    assert_eq /var/lib/puppet/ssl "$got" "Debian 12's run_mode.rb: ssldir is /var/lib/puppet/ssl"
else
    skip "Debian 11's ssldir through its run_mode.rb" "needs $BIN, the bullseye root and unshare"
fi
echo "# test_aio_layout took $(( $(date +%s) - T_START )) s"
finish
