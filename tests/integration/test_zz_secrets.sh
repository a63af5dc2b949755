#!/bin/bash
# Private keys stay where they belong.  Runs last in the suite (the runner
# runs test_*.sh in glob order; "zz" sorts after every other test) and scans
#   - every file under the test stack dir (server and CA, every agent's
#     confdir: ssldirs, backups, staging, logs, vardirs; puppetserver logs),
#   - the /tmp/cr-test.* directories other tests left behind (kept on
#     failure) and the runner's output logs (/tmp/cr-itest.*),
# for PEM private key blocks and for the base64 body of every private key
# found in the allowed places:
#   <ssldir or a copy of one>/private_keys/*.pem   (agents, server, backups,
#                                                   staging tree/restore)
#   <parent>/.<ssldir>.cert_regen/key.pem          (the staged key)
#   <cadir>/ca_key.pem, <cadir>/root_key.pem       (a CA directory: the live
#                                                   one, <cadir>_bak/<UTC>,
#                                                   the staged new CA)
# Key material anywhere else fails.  Modes: every private key file is a
# regular 0600 or 0640 file owned like its directory, never world-readable;
# staging directories are 0700; <ssldir>_bak and <cadir>_bak directories
# 0700 and the private_keys directories in them not world-readable; no
# temporary file (.NAME.XXXXXX) is left in an agent's confdir.  Only paths
# are printed.
#
# The scanner first proves on planted files that it finds a PEM block, a
# bare base64 body and a loose mode.
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"

stack_ensure
T0=$(date +%s)
# the scanner's own files hold key material (the patterns): removed at
# exit whatever the outcome, never kept with TEST_TMP
W=$(mktemp -d "${TMPDIR:-/tmp}/cr-secrets.XXXXXX")
chmod 0700 "$W"
at_exit 'rm -rf "$W"'

# allowed_key PATH: 0 when PATH is a place a private key belongs
allowed_key() {
    local p=$1 d b
    d=$(dirname "$p")
    b=$(basename "$d")
    if [ "$(basename "$p")" = key.pem ] && [[ $b == .*.cert_regen ]]; then
        return 0
    fi
    if [ "$b" = private_keys ] && [[ $p == *.pem ]] && [ -d "$(dirname "$d")/certs" ]; then
        return 0
    fi
    # a CA's keys in a CA directory: the live one, a verified copy in
    # <cadir>_bak/<UTC>/, or the staged new one (.<cadir>.cert_regen.server/ca)
    case $(basename "$p") in
        ca_key.pem | root_key.pem)
            [ -f "$d/ca_crt.pem" ] && [ -d "$d/signed" ] && return 0 ;;
    esac
    return 1
}

# scan ROOT...: prints one line per problem ("<kind>: <path>") and leaves
# counts in SCANNED_FILES, KEYS_ALLOWED.
scan() {
    local f pats=$W/patterns
    # (find says 1 when a file vanishes under it: a stack still in use)
    # A test's node root (tests/lib/roots.sh: DIR/merged, an overlayfs copy
    # of a Debian root) holds system libraries with PEM test vectors: not
    # the suite's keys, and the nodes' ssldirs are bind mounts scanned apart.
    find "$@" -path '*/merged' -prune -o -type f -print0 2>/dev/null >"$W/files0" || true
    SCANNED_FILES=$(tr -cd '\0' <"$W/files0" | wc -c)
    # 1. PEM private key blocks
    xargs -0 -r grep -lE -- '-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----' <"$W/files0" 2>/dev/null >"$W/pem" || true
    : >"$W/allowed"
    while IFS= read -r f; do
        if allowed_key "$f"; then
            echo "$f" >>"$W/allowed"
        else
            echo "private key block outside the allowed places: $f"
        fi
    done <"$W/pem"
    KEYS_ALLOWED=$(wc -l <"$W/allowed")
    # 2. the base64 body of every allowed key, anywhere else.  Lines that
    # also occur in public material (an RSA modulus is in the certificate
    # and the public key too) are dropped: the private parts remain.
    tr '\n' '\0' <"$W/allowed" | xargs -0 -r awk '
        FNR == 1 { b = 0 }
        /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/ { b = 1; next }
        /-----END/ { b = 0 }
        b && length($0) == 64 { print }' 2>/dev/null | sort -u >"$pats" || true
    if [ -s "$pats" ]; then
        xargs -0 -r grep -lE -- '-----BEGIN (CERTIFICATE|PUBLIC KEY|CERTIFICATE REQUEST|X509 CRL|RSA PUBLIC KEY)-----' \
            <"$W/files0" 2>/dev/null >"$W/public" || true
        tr '\n' '\0' <"$W/public" | xargs -0 -r grep -ohF -f "$pats" 2>/dev/null | sort -u >"$W/public-hits" || true
        if [ -s "$W/public-hits" ]; then
            grep -vxF -f "$W/public-hits" "$pats" >"$pats.private" || true
            mv "$pats.private" "$pats"
        fi
    fi
    if [ -s "$pats" ]; then
        xargs -0 -r grep -lF -f "$pats" <"$W/files0" 2>/dev/null | while IFS= read -r f; do
            allowed_key "$f" || echo "base64 of a private key outside the allowed places: $f"
        done
    fi
    # 3. modes and owners of every key file, wherever it is, and of the
    # directory it is in (files that vanished since are skipped)
    # (the directories first: awk reads them before the files)
    sort -u "$W/pem" | sed 's|/[^/]*$||' | sort -u | tr '\n' '\0' |
        xargs -0 -r stat -c 'D %a %U:%G %n' 2>/dev/null >"$W/stat" || true
    sort -u "$W/pem" | tr '\n' '\0' | xargs -0 -r stat -c 'F %a %U:%G %n' 2>/dev/null >>"$W/stat" || true
    awk '
        $1 == "D" { dm[$4] = $2; downer[$4] = $3; next }
        { f = $4; d = f; sub(/\/[^\/]*$/, "", d); n = split(d, parts, "/"); base = parts[n]
          m = $2; others = substr(m, length(m), 1)
          if (m != "600" && m != "640") print "private key mode " m " (not 0600/0640): " f
          if (others != "0") print "private key accessible to others (" m "): " f
          if (base == "private_keys" || (f ~ /\/key\.pem$/ && base ~ /^\..*\.cert_regen$/)) {
              if ($3 != downer[d]) print "private key owned by " $3 " in a directory of " downer[d] ": " f
              o = substr(dm[d], length(dm[d]), 1)
              if (o == "4" || o == "5" || o == "6" || o == "7") print "directory of a private key readable by others (" dm[d] "): " d
          } }' "$W/stat" | sort -u
    # 4. staging 0700, every *_bak 0700, no temporary files in confdirs
    find "$@" -type d -name '.*.cert_regen' ! -perm 0700 -printf 'staging directory mode %m (not 0700): %p\n' 2>/dev/null || true
    find "$@" -type d -name '*_bak' ! -perm 0700 -printf 'backup directory mode %m (not 0700): %p\n' 2>/dev/null || true
    find "$@" -path '*/agents/*' -regextype posix-extended -regex '.*/\.[^/]+\.[A-Za-z0-9]{6}' \
        -printf 'temporary file left in an agent confdir: %p\n' 2>/dev/null || true
    return 0
}

# --- the scanner finds what it must (planted in this test's own tree) --------
P=$TEST_TMP/plant
mkdir -p "$P/agents/a/ssl/private_keys" "$P/agents/a/ssl/certs" "$P/agents/a/log" "$P/ca" "$P/conf.d"
chmod 0750 "$P/agents/a/ssl/private_keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$P/agents/a/ssl/private_keys/a.pem" 2>/dev/null
chmod 0640 "$P/agents/a/ssl/private_keys/a.pem"
openssl req -new -x509 -key "$P/agents/a/ssl/private_keys/a.pem" -subj /CN=a -days 1 \
    -out "$P/agents/a/ssl/certs/a.pem" 2>/dev/null
openssl pkey -in "$P/agents/a/ssl/private_keys/a.pem" -pubout -out "$P/agents/a/pub.pem" 2>/dev/null
scan "$P" >"$W/clean.out"
assert_eq "" "$(cat "$W/clean.out")" "scanner: a key in private_keys 0640 beside its certificate is allowed"
# a bare base64 body (no BEGIN line) in a log, a copy in /tmp-like place, a loose mode
sed -n '5,9p' "$P/agents/a/ssl/private_keys/a.pem" >"$P/agents/a/log/leak.log"
cp "$P/agents/a/ssl/private_keys/a.pem" "$P/agents/a/leaked-copy.pem"
chmod 0600 "$P/agents/a/leaked-copy.pem"
printf 'x' >"$P/agents/a/.journal.json.Ab12Cd"
scan "$P" >"$W/planted.out"
assert_match "base64 of a private key outside the allowed places: $P/agents/a/log/leak.log" "$(cat "$W/planted.out")" \
    "scanner: finds a bare base64 key body in a log"
assert_match "private key block outside the allowed places: $P/agents/a/leaked-copy.pem" "$(cat "$W/planted.out")" \
    "scanner: finds a PEM key block outside the allowed places"
assert_match "temporary file left in an agent confdir: $P/agents/a/.journal.json.Ab12Cd" "$(cat "$W/planted.out")" \
    "scanner: finds a leftover temporary file"
[[ $(cat "$W/planted.out") == *pub.pem* ]] && not_ok "scanner: a public key is not key material" "$(cat "$W/planted.out")" ||
    ok "scanner: a public key is not key material"
# a CA key: allowed in a CA directory (a cadir backup), not in a loose copy
mkdir -p "$P/ca_bak/20260101T000000Z/signed" "$P/loose"
chmod 0700 "$P/ca_bak"
cp "$P/agents/a/ssl/private_keys/a.pem" "$P/ca_bak/20260101T000000Z/ca_key.pem"
cp "$P/agents/a/ssl/certs/a.pem" "$P/ca_bak/20260101T000000Z/ca_crt.pem"
cp "$P/agents/a/ssl/private_keys/a.pem" "$P/loose/ca_key.pem"
chmod 0600 "$P/ca_bak/20260101T000000Z/ca_key.pem" "$P/loose/ca_key.pem"
scan "$P" >"$W/ca.out"
[[ $(cat "$W/ca.out") == *ca_bak/20260101T000000Z/ca_key.pem* ]] &&
    not_ok "scanner: a CA key in a cadir backup is allowed" "$(cat "$W/ca.out")" ||
    ok "scanner: a CA key in a cadir backup is allowed"
assert_match "private key block outside the allowed places: $P/loose/ca_key.pem" "$(cat "$W/ca.out")" \
    "scanner: finds a CA key outside a CA directory"
chmod 0755 "$P/ca_bak"
scan "$P" >"$W/ca.out"
assert_match "backup directory mode 755 \\(not 0700\\): $P/ca_bak" "$(cat "$W/ca.out")" \
    "scanner: finds a backup directory others can enter"
rm -rf "$P/ca_bak" "$P/loose"
chmod 0644 "$P/agents/a/ssl/private_keys/a.pem"
scan "$P" >"$W/mode.out"
assert_match "private key mode 644 \\(not 0600/0640\\): $P/agents/a/ssl/private_keys/a.pem" "$(cat "$W/mode.out")" \
    "scanner: finds a world-readable key"
rm -rf "$P"

# --- the suite's files -----------------------------------------------------------
roots=("$STACK_DIR")
for d in "${TMPDIR:-/tmp}"/cr-test.* /tmp/cr-test.*; do
    [ -d "$d" ] && [ "$d" != "$TEST_TMP" ] && [[ $STACK_DIR != "$d"* ]] && roots+=("$d")
done
for f in "${TMPDIR:-/tmp}"/cr-itest.* /tmp/cr-itest.*; do
    [ -f "$f" ] && roots+=("$f")
done
mapfile -t roots < <(printf '%s\n' "${roots[@]}" | awk '!seen[$0]++')
scan "${roots[@]}" >"$W/suite.out"
echo "# scanned $SCANNED_FILES files under ${#roots[@]} roots ($STACK_DIR and $(( ${#roots[@]} - 1 )) /tmp/cr-test.*, /tmp/cr-itest.*); $KEYS_ALLOWED private keys in allowed places; $(( $(date +%s) - T0 ))s"
[ "$KEYS_ALLOWED" -gt 0 ] && ok "found the private keys of the stack ($KEYS_ALLOWED)" ||
    not_ok "found the private keys of the stack" "none: is $STACK_DIR the suite's stack?"
while IFS='|' read -r check desc; do
    hits=$(grep -F "$check" "$W/suite.out" || true)
    if [ -z "$hits" ]; then
        ok "$desc"
    else
        not_ok "$desc ($(printf '%s\n' "$hits" | wc -l) found)" "$(printf '%s\n' "$hits" | head -n 8)"
    fi
done <<'EOF'
private key block outside the allowed places|no PEM private key outside the allowed places
base64 of a private key outside the allowed places|no private key's base64 body outside the allowed places (logs, outputs, temp files)
private key mode|every private key file is 0600 or 0640
private key accessible to others|no private key file is accessible to others
private key owned by|every private key is owned like its directory
directory of a private key readable by others|no private_keys or staging directory is readable by others
staging directory mode|every staging directory is 0700
backup directory mode|every <ssldir>_bak and <cadir>_bak directory is 0700
temporary file left in an agent confdir|no temporary file (.NAME.XXXXXX) is left in an agent confdir
EOF
finish
