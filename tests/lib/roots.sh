# shellcheck shell=bash
# tests/lib/roots.sh - Debian roots (11, 12, 13) built once with debootstrap,
# cached outside the work tree, booted with a real systemd under
# systemd-nspawn.  Each test works on an overlayfs copy so the cache stays clean.
#
#   roots_path SUITE          cached root directory of SUITE (may not exist yet)
#   roots_ensure SUITE        build the root when missing (prints its path)
#   roots_overlay SUITE DIR   DIR/merged = writable copy (upper/work under DIR)
#   roots_overlay_drop DIR    unmount and remove that copy
#   roots_boot NAME DIR [ARG...]  boot systemd in DIR/merged (background),
#                             wait until `systemctl is-system-running` says
#                             running or degraded (ARGs go to systemd-nspawn)
#   roots_exec_dir DIR CMD... run CMD inside the booted container
#   roots_poweroff DIR        stop the container (and wait)
# Env in: CR_ROOTS_CACHE (/var/cache/cert_regen/roots), CR_DEBIAN_MIRROR
# Suites: bullseye (Debian 11, puppet 5.5), bookworm (12, puppet 7.23),
#         trixie (13, puppet 8.10 + puppetserver 8.7).

ROOTS_CACHE=${CR_ROOTS_CACHE:-/var/cache/cert_regen/roots}
ROOTS_MIRROR=${CR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Everything a root holds besides minbase.  Changing a list rebuilds the root.
ROOTS_BASE_PKGS="systemd systemd-sysv dbus ca-certificates openssl procps iproute2"
# What today's dynamically linked executable and extension need (Debian 12
# builds run on 13 too; Debian 11's glibc 2.31 is too old for them).
ROOTS_DYN_LIBS="libjansson4 libyaml-0-2 libcurl4"
declare -A ROOTS_PKGS=(
    [bullseye]="$ROOTS_BASE_PKGS puppet"
    [bookworm]="$ROOTS_BASE_PKGS puppet-agent $ROOTS_DYN_LIBS"
    [trixie]="$ROOTS_BASE_PKGS puppet-agent puppetserver $ROOTS_DYN_LIBS curl"
)
# /proc/1/environ etc. are unreadable in nested containers too.
ROOTS_FACTER_CONF='facts : { blocklist : [ "hypervisors", "virtual", "is_virtual", "system_uptime", "uptime", "uptime_days", "uptime_hours", "uptime_seconds", "ec2_metadata", "ec2_userdata", "az_metadata", "cloud" ] }'

_roots_log() { printf 'roots: %s\n' "$*" >&2; }

roots_key() {
    local suite=$1
    printf '%s\n%s\n%s\n' "$suite" "${ROOTS_PKGS[$suite]}" "$ROOTS_FACTER_CONF" \
        | sha256sum | cut -c1-12
}

roots_path() {
    local suite=$1
    [ -n "${ROOTS_PKGS[$suite]:-}" ] || { _roots_log "unknown suite $suite: use bullseye, bookworm or trixie"; return 1; }
    echo "$ROOTS_CACHE/$suite-$(roots_key "$suite")"
}

_roots_chroot() {
    local root=$1; shift
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

# roots_build SUITE: debootstrap into a temporary directory, install the
# packages, rename into place (atomic: a half-built root is never used).
roots_build() {
    local suite=$1 final tmp rc=1 t0
    final=$(roots_path "$suite") || return 1
    tmp="$final.tmp.$$"
    t0=$(date +%s)
    mkdir -p "$ROOTS_CACHE"
    rm -rf "$tmp"
    _roots_log "building $suite in $tmp"
    if ! debootstrap --variant=minbase "$suite" "$tmp" "$ROOTS_MIRROR" >"$tmp.log" 2>&1; then
        _roots_log "debootstrap $suite failed (log: $tmp.log); check the mirror $ROOTS_MIRROR is reachable"
        return 1
    fi
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    mount -t proc proc "$tmp/proc"
    mount --bind /dev "$tmp/dev"
    cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
    # shellcheck disable=SC2086
    if _roots_chroot "$tmp" apt-get install -y -q --no-install-recommends ${ROOTS_PKGS[$suite]} >>"$tmp.log" 2>&1 \
        && _roots_chroot "$tmp" apt-get clean >>"$tmp.log" 2>&1; then
        rc=0
    else
        _roots_log "apt-get install in $suite failed (log: $tmp.log); read the log's last lines"
    fi
    umount "$tmp/dev" "$tmp/proc" || true
    [ "$rc" -eq 0 ] || return 1
    rm -f "$tmp/usr/sbin/policy-rc.d"
    mkdir -p "$tmp/etc/facter"
    echo "$ROOTS_FACTER_CONF" >"$tmp/etc/facter/facter.conf"
    echo "cert-regen-$suite" >"$tmp/etc/hostname"
    # No getty on a console nobody reads; no network setup to wait for.
    rm -f "$tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
    : >"$tmp/etc/machine-id"
    rm -rf "$final"
    mv "$tmp" "$final"
    mv "$tmp.log" "$final.log"
    _roots_log "$suite built in $(( $(date +%s) - t0 )) s, $(du -sh "$final" | cut -f1)"
}

roots_ensure() {
    local suite=$1 p
    p=$(roots_path "$suite") || return 1
    if [ ! -x "$p/usr/bin/env" ]; then
        roots_build "$suite" || return 1
    fi
    echo "$p"
}

roots_overlay() {
    local suite=$1 dir=$2 lower
    lower=$(roots_path "$suite") || return 1
    [ -d "$lower" ] || { _roots_log "root $suite missing: run tests/build-roots.sh $suite"; return 1; }
    mkdir -p "$dir/upper" "$dir/work" "$dir/merged"
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged" || return 1
    # debootstrap writes no /etc/hosts: agents must resolve localhost.
    [ -s "$dir/merged/etc/hosts" ] || printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' >"$dir/merged/etc/hosts"
}

roots_overlay_drop() {
    local dir=$1
    if mountpoint -q "$dir/merged"; then umount "$dir/merged" || umount -l "$dir/merged"; fi
    rm -rf "$dir"
}

# roots_boot NAME DIR [NSPAWN_ARG...]: systemd-nspawn --boot in the
# background (extra arguments such as --bind-ro=PATH go to nspawn); the
# container shares the host's network (and so its loopback).
roots_boot() {
    local name=$1 dir=$2 i st
    shift 2
    setsid systemd-nspawn -q -D "$dir/merged" -M "$name" --boot --register=no --keep-unit \
        "$@" \
        >"$dir/console.log" 2>&1 </dev/null &
    echo $! >"$dir/nspawn.pid"
    for i in $(seq 1 120); do
        if ! kill -0 "$(cat "$dir/nspawn.pid")" 2>/dev/null; then
            _roots_log "container $name exited during boot (console: $dir/console.log)"
            return 1
        fi
        st=$(roots_exec_dir "$dir" systemctl is-system-running 2>/dev/null || true)
        case "$st" in running|degraded) echo "$st" >"$dir/boot-state"; return 0 ;; esac
        sleep 0.5
        : "$i"
    done
    _roots_log "container $name did not reach multi-user in 60 s (last state: ${st:-none}; console: $dir/console.log)"
    return 1
}

# Run a command in the container's namespaces (its PID 1 is systemd).
roots_exec_dir() {
    local dir=$1 pid leader; shift
    pid=$(cat "$dir/nspawn.pid" 2>/dev/null) || return 1
    leader=$(pgrep -P "$pid" 2>/dev/null | head -1)
    [ -n "$leader" ] || return 1
    nsenter -t "$leader" -m -u -i -p -r -w -- /usr/bin/env -i \
        PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root "$@"
}

roots_poweroff() {
    local dir=$1 pid i
    pid=$(cat "$dir/nspawn.pid" 2>/dev/null) || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    roots_exec_dir "$dir" systemctl poweroff >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5; : "$i"
    done
    kill -KILL "$pid" 2>/dev/null || true
}
