/*
 * cr_journal.h - the staging directory of a regeneration and its journal.
 *
 * A regeneration never touches the live ssldir until the new identity is
 * complete and verified.  Everything it makes lives in a staging directory
 * beside the ssldir (same filesystem, so renames are atomic):
 *
 *   <parent>/.<ssldir name>.cert_regen/      0700
 *     journal.json   the state below, rewritten atomically at each step
 *     key.pem        the new private key (0600, created O_EXCL)
 *     csr.pem        the CSR submitted to the CA
 *     cert.pem       the signed certificate, once downloaded
 *     ca.pem crl.pem the CA bundle and CRL chain fetched with it
 *     tree/          the complete new ssldir, exchanged with the live one
 *
 * States, in order (see docs/tasks.md, "Journal"):
 *   staged     key + CSR exist; nothing sent yet
 *   submitted  the CA has our CSR (or signed it already under autosign)
 *   signed     cert.pem, ca.pem, crl.pem downloaded and verified
 *   prepared   tree/ built and checked; backup made (journal.backup)
 *   swapped    tree/ and the live ssldir exchanged (the old identity is
 *              in tree/ now); services still to be restarted
 * A run that finds a journal resumes from its state with the same key and
 * CSR; a finished run removes the staging directory.
 */
#ifndef CR_JOURNAL_H
#define CR_JOURNAL_H

#include <stdbool.h>

#include <jansson.h>

#include "cr_err.h"

enum cr_jstate {
	CR_J_NONE = 0,
	CR_J_STAGED,
	CR_J_SUBMITTED,
	CR_J_SIGNED,
	CR_J_PREPARED,
	CR_J_SWAPPED,
};

const char *cr_jstate_name(enum cr_jstate s);
enum cr_jstate cr_jstate_parse(const char *name);

/* New path of the staging directory for ssldir ("/x/ssl" ->
 * "/x/.ssl.cert_regen"); NULL if ssldir has no parent. */
char *cr_staging_path(const char *ssldir);
/* New "<staging>/<name>". */
char *cr_staging_file(const char *staging, const char *name);

/* The journal object, or NULL.  A missing journal is not an error: *found
 * says whether one was there. */
json_t *cr_journal_read(const char *staging, bool *found, cr_err *err);
/* The journal's file name in a staging directory: the regeneration's,
 * and the restore's (cr_restore.c: backup, safety copy, services). */
#define CR_JOURNAL_FILE "journal.json"
#define CR_RESTORE_JOURNAL_FILE "restore.json"
/* cr_journal_read / cr_journal_save for the journal file name. */
json_t *cr_journal_read_named(const char *staging, const char *name,
    bool *found, cr_err *err);
bool cr_journal_save_named(const char *staging, const char *name,
    json_t *journal, const char *state, cr_err *err);
/*
 * The one journal writer, for every flow: sets journal.state = state and
 * journal.updated_at, and writes <staging>/journal.json atomically (0600,
 * fsynced).  The object is the caller's; it is modified in place.  The
 * agent flow's states are enum cr_jstate (cr_journal_write); the server
 * flows name theirs in cr_server.c's state table.
 */
bool cr_journal_save(const char *staging, json_t *journal, const char *state,
    cr_err *err);
/* cr_journal_save with the agent flow's state s. */
bool cr_journal_write(const char *staging, json_t *journal, enum cr_jstate s,
    cr_err *err);
enum cr_jstate cr_journal_state(json_t *journal);

#endif
