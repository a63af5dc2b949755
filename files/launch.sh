#!/bin/sh
# launch.sh TASK - runs the compiled cert_regen executable that fits this
# host, for the task TASK.  Bolt and pxp-agent choose task implementations by
# feature (shell), never by CPU, so this picks files/bin/<os>-<arch>/cert_regen
# itself.  When nothing fits it answers with the task contract's _error JSON
# (kind cert_regen/unsupported-platform) instead of a shell error.
# Parameters pass through untouched: stdin is not read here.
task=$1
here=$(cd "$(dirname "$0")" 2>/dev/null && pwd)
os=$(uname -s 2>/dev/null | tr '[:upper:]' '[:lower:]' | tr -cd 'a-z0-9_.-')
arch=$(uname -m 2>/dev/null | tr '[:upper:]' '[:lower:]' | tr -cd 'a-z0-9_.-')
case $arch in
	amd64) arch=x86_64 ;;
	arm64) arch=aarch64 ;;
esac
platform="$os-$arch"
bin="$here/bin/$platform/cert_regen"

# The default next step of the kind (ext/core/cr_err.c, kind_registry).
next='run the task on a platform cert_regen has a build for, or build one (docs/building.md: Building for other agent Rubies and platforms).'
fail() {
	# $1: why (a fixed text or a sanitised one); no input is echoed raw
	why=$(printf '%s' "$1" | tr -cd 'A-Za-z0-9 ._:/()=+-' | cut -c1-300)
	printf '{"_error":{"kind":"cert_regen/unsupported-platform","msg":"no cert_regen build runs on %s: %s. Next step: %s","details":{"platform":"%s","expected":"cert_regen/files/bin/%s/cert_regen","task":"%s","next_step":"%s"}}}\n' \
		"$platform" "$why" "$next" "$platform" "$platform" \
		"$(printf '%s' "$task" | tr -cd 'a-z0-9_')" "$next"
	exit 1
}

[ -f "$bin" ] || fail "the module carries no binary for this platform; build one with rake binaries on a $platform host and add it under files/bin/$platform"
# task file copies may lose the execute bit
[ -x "$bin" ] || chmod u+x "$bin" 2>/dev/null || fail "the binary is not executable"
probe=$("$bin" --version 2>&1) || fail "the binary does not run here (missing libssl3, libcurl4, libjansson4 or libyaml?): $(printf '%s' "$probe" | head -n 1)"
exec "$bin" task "$task"
