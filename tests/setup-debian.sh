#!/bin/bash
# tests/setup-debian.sh - install what the build and the tests need on a fresh
# Debian 12 (run as root).  Idempotent: apt is skipped when everything is
# already installed, /etc/facter/facter.conf is written only if absent.
set -euo pipefail
export LC_ALL=C

PACKAGES=(
    puppetserver puppet-agent facter ruby ruby-dev
    libssl-dev libcurl4-openssl-dev libjansson-dev libyaml-dev libcmocka-dev
    rake rake-compiler ruby-rspec ruby-rspec-puppet ruby-puppetlabs-spec-helper
    metadata-json-lint puppet-lint puppet-strings ruby-puppetserver-ca-cli
    build-essential pkg-config curl openssl clang procps util-linux iproute2
    git ca-certificates time libclang-rt-14-dev
    puppetdb puppet-terminus-puppetdb postgresql
    debootstrap systemd-container
    # self-contained builds (ext/deps, make TARGET=...) and their tests
    musl-tools gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
    binfmt-support mingw-w64 cmake ninja-build patch xz-utils hyperfine
    wine64
)
FACTER_CONF=${FACTER_CONF:-/etc/facter/facter.conf}

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-debian: must run as root" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-debian: all ${#PACKAGES[@]} packages already installed"
else
    echo "setup-debian: installing ${#missing[@]} missing package(s): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # the tests run PuppetDB on a cluster of their own (tests/lib/puppetdb.sh):
    # no database in the system's cluster
    echo 'puppetdb puppetdb/dbconfig-install boolean false' | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
fi

# /proc/1/environ is unreadable in this kind of sandbox: without this
# blocklist `facter -p` exits 1 and `puppet agent` logs permission errors.
if [ -e "$FACTER_CONF" ]; then
    echo "setup-debian: $FACTER_CONF exists, left as is"
else
    mkdir -p "$(dirname "$FACTER_CONF")"
    cat >"$FACTER_CONF" <<'EOF'
# Written by cert_regen tests/setup-debian.sh: facts that fail in containers.
facts : { blocklist : [ "hypervisors", "virtual", "is_virtual", "system_uptime", "uptime", "uptime_days", "uptime_hours", "uptime_seconds", "ec2_metadata", "ec2_userdata", "az_metadata", "cloud" ] }
EOF
    echo "setup-debian: wrote $FACTER_CONF (facter blocklist)"
fi
echo "setup-debian: done"
