#!/bin/bash
# cert_regen::restore against the real puppetserver CA (issue 15 #2, #6):
#  - a backup whose certificate the CA has revoked (the plan cleaned the old
#    name before regenerating) is refused with cert_regen/backup-revoked and
#    nothing changes; allow_revoked=true restores it with a warning;
#  - restore --noop says which certificate would come back: serial,
#    fingerprint_sha256, not_after, revoked (fresh CRL from the CA);
#  - a CA that cannot be asked: the restore goes on, with a warning that the
#    revocation check could not be done.
. "$(dirname "$0")/../lib/testlib.sh"
. "$REPO_ROOT/tests/lib/stack.sh"
. "$REPO_ROOT/tests/lib/task.sh"
stack_ensure

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//'; }
tree_sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }

n="restore-$$.auto.test"
c=$(stack_agent "$n")
s=$c/ssl
stack_bootstrap "$n" >/dev/null 2>&1
old=$(serial_of "$s/certs/$n.pem")
oldfp=$(fp_of "$s/certs/$n.pem")
# the plan's order: clean the old name on the CA (revokes it), regenerate
stack_ca clean --certname "$n" >/dev/null 2>&1
task_run regenerate "{\"confdir\":\"$c\",\"key_size\":2048,\"services\":[]}"
assert_eq regenerated "$(out state)" "the agent is regenerated after its old name was cleaned"
new=$(serial_of "$s/certs/$n.pem")
newfp=$(fp_of "$s/certs/$n.pem")
bak=$(out backup)
assert_eq "$old" "$(serial_of "$bak/certs/$n.pem")" "the backup holds the old (revoked) certificate"
sleep 1   # backups are named by the second

# --noop: which certificate would come back, revoked by the fresh CRL
task_run restore "{\"confdir\":\"$c\",\"services\":[],\"_noop\":true}"
assert_eq 0 "$TASK_RC" "restore --noop exits 0"
assert_eq unchanged "$(out state)" "noop: state unchanged"
assert_eq "$bak" "$(out restored_from)" "noop: names the backup it would restore"
assert_eq "$old" "$(out backup_certificate.serial)" "noop: the serial that would come back"
assert_eq "$oldfp" "$(out backup_certificate.fingerprint_sha256)" "noop: its SHA-256 fingerprint"
assert_eq "$(date -u -d "$(openssl x509 -in "$bak/certs/$n.pem" -noout -enddate | sed 's/notAfter=//')" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(out backup_certificate.not_after)" "noop: its not_after"
assert_eq true "$(out backup_certificate.revoked)" "noop: revoked true (the CA's fresh CRL; the local crl.pem predates it)"
assert_eq true "$(out backup_certificate.revocation_checked)" "noop: the revocation was checked"
assert_match "revoked this certificate.*refuses it unless allow_revoked" "$(out warnings)" "noop: warns that a real run would refuse it"
assert_eq "$new" "$(serial_of "$s/certs/$n.pem")" "noop changed nothing"

# the real run refuses it and changes nothing
before=$(tree_sum "$s")
nbak_before=$(ls "${s}_bak" | wc -l)
task_run restore "{\"confdir\":\"$c\",\"services\":[]}"
assert_eq 1 "$TASK_RC" "restore of a revoked backup fails"
assert_eq cert_regen/backup-revoked "$(out _error.kind)" "kind backup-revoked"
assert_match "serial $old, which the CA has revoked" "$(out _error.msg)" "the message names the revoked serial"
assert_match "cert_regen::regenerate" "$(out _error.details.next_step)" "next step: regenerate"
assert_match "Next step: regenerate instead" "$(out _error.msg)" "the printed message ends with the next step"
assert_eq "$before" "$(tree_sum "$s")" "nothing changed in the live ssldir"
assert_eq "$nbak_before" "$(ls "${s}_bak" | wc -l)" "no safety backup was made either"
assert_cmd "puppet ssl verify still passes on the live identity" -- stack_puppet "$n" ssl verify

# allow_revoked: restored, loudly
task_run restore "{\"confdir\":\"$c\",\"services\":[],\"allow_revoked\":true}"
assert_eq restored "$(out state)" "allow_revoked=true restores it"
assert_eq "$old" "$(serial_of "$s/certs/$n.pem")" "the old serial is live again"
assert_match "revoked this certificate \\(serial $old\\).*regenerate it" "$(out warnings)" "with a warning that the CA revoked it"
safety=$(out backup)
assert_eq "$new" "$(serial_of "$safety/certs/$n.pem")" "the safety copy holds the regenerated identity"

# the safety copy (not revoked): noop says so, the restore is silent
sleep 1
task_run restore "{\"confdir\":\"$c\",\"services\":[],\"backup\":\"$safety\",\"_noop\":true}"
assert_eq "$new" "$(out backup_certificate.serial)" "noop on the safety copy: its serial"
assert_eq "$newfp" "$(out backup_certificate.fingerprint_sha256)" "noop on the safety copy: its fingerprint"
assert_eq false "$(out backup_certificate.revoked)" "noop on the safety copy: not revoked"
assert_eq "[]" "$(out warnings)" "noop on the safety copy: no warning"
task_run restore "{\"confdir\":\"$c\",\"services\":[],\"backup\":\"$safety\"}"
assert_eq restored "$(out state)" "the good identity is restored"
assert_eq "[]" "$(out warnings)" "without a warning"
assert_cmd "puppet ssl verify passes" -- stack_puppet "$n" ssl verify

# a CA that cannot be asked: the restore (the rollback) goes on, loudly
sleep 1
cp "$c/puppet.conf" "$TEST_TMP/puppet.conf.saved"
sed -i 's/^ca_port = .*/ca_port = 1/' "$c/puppet.conf"
task_run restore "{\"confdir\":\"$c\",\"services\":[],\"backup\":\"$safety\"}"
assert_eq restored "$(out state)" "CA unreachable: restored anyway"
assert_eq false "$(out backup_certificate.revocation_checked)" "revocation_checked false"
assert_eq null "$(out backup_certificate.revoked)" "revoked null (unknown)"
assert_match "revocation check could not be done" "$(out warnings)" "a warning says the revocation check could not be done"
cp "$TEST_TMP/puppet.conf.saved" "$c/puppet.conf"

# no backup at all: a message that names what was asked, never "(null)"
e="nobak-$$.auto.test"
ec=$(stack_agent "$e")
task_run restore "{\"confdir\":\"$ec\",\"services\":[]}"
assert_eq 1 "$TASK_RC" "restore without any backup fails"
assert_match "no backups found" "$(out _error.msg)" "it says no backups were found"
if [[ $TASK_OUT == *'(null)'* ]]; then not_ok "no (null) in the message" "$TASK_OUT"; else ok "no (null) in the message"; fi
finish
