/*
 * flow_env.h - what the cmocka flow tests (test_flow_*.c) share.
 *
 * A node: a real confdir (puppet.conf naming ssldir, vardir, certname
 * agent.test, ca_server ca.test, EC keys) and ssldir with a complete "old"
 * identity, in a fresh temporary directory.  A CA behind the flows' seam
 * (cr_flow_ops.h): it keeps its pending request and signed certificate in
 * memory and signs each CSR for real with the intermediate of a pki.c
 * world (as puppetserver does), answers 404 / 400 as puppetserver does,
 * and can be down, sign another key, sign with a rogue CA or revoke.
 * Services are kept in memory ({"puppet": running?}).
 *
 * A CA host (env_server_new, flow_env_server.c): the same node with a
 * cadir beside the ssldir, laid out as puppetserver's (ca_crt.pem the
 * intermediate and the root, ca_key.pem, root_key.pem, ca_crl.pem,
 * signed/, serial, inventory.txt), its certificate carrying pp_cli_auth;
 * a server that answers /status/v1/simple while the service
 * "puppetserver" runs, presenting the live hostcert; and a CA tool that
 * does what `puppetserver ca generate --ca-client` does.
 *
 * Kill and resume: flow_run() runs a flow; with kill it is stopped at the
 * first kill point past kill_after (cr_killpoint_hook_set + longjmp: the
 * flow's code after the point never runs, as with SIGKILL).  At every
 * point of every run the hook checks that the live ssldir holds a
 * complete identity, the old one or the one the CA signed (check_live;
 * on a CA host check_server_live), and calls at_point.  Memory a stopped
 * run leaves behind is what a killed process leaves to the kernel:
 * LeakSanitizer ignores allocations made while it ran; finished runs are
 * leak-checked.
 *
 * Only with CR_TEST_HOOKS (the ASan+UBSan build).
 */
#ifndef FLOW_ENV_H
#define FLOW_ENV_H

#ifdef CR_TEST_HOOKS

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cr_err.h"
#include "cr_flow_ops.h"
#include "cr_regen.h"
#include "cr_server.h"
#include "pki.h"

#define CERTNAME "agent.test"
#define FP_LEN (2 * EVP_MAX_MD_SIZE + 1)

struct tca {
	pki_world *w;
	pki_ca *rogue;		/* signs instead of the CA when use_rogue */
	bool down;		/* every request: connection refused */
	bool autosign;
	bool wrong_key;		/* signs another key than the CSR's */
	bool use_rogue;
	X509_REQ *pending;
	X509 *signed_;		/* the certificate it holds for CERTNAME */
	uint64_t serial;
	uint64_t revoked[4];	/* serials its CRL revokes */
	size_t n_revoked;
	int submits;
	json_t *svc;		/* {"name": running?} */
	int stops, starts;
	bool stop_fails;	/* services_stop: an error, nothing stopped */
	/* the server (CA host): presents the first certificate of served,
	 * or the rogue CA's when wrong_peer */
	char *served;
	bool wrong_peer;
	int tool_runs;		/* the CA tool's runs */
	bool tool_fails;	/* the CA tool exits 1 */
};

struct env {
	char *dir, *conf, *ssl, *backups, *staging;
	struct tca ca;
	struct cr_flow_ops ops;
	struct cr_regen_opts o;		/* regenerate */
	struct cr_restore_opts ro;	/* restore (services: o's) */
	char old_fp[FP_LEN];		/* the identity env_new() made */
	uint64_t old_serial;
	/* a CA host (env_server_new) */
	char *cadir;
	struct cr_server_opts so;
	char *old_bundle;		/* the text of ca_crt.pem */
};

struct env *env_new(void);
/* The temporary node with an old identity carrying the DNS names dns
 * and exts (NULL or ended by .oid == NULL), the CA and the services on
 * the seam, no flow's options yet. */
struct env *env_base_new(const char *const *dns, const struct pki_ext *exts);
/* An error as cr_http's when nothing answers on the port. */
void tca_refused(cr_err *err);
/* A CA host (see above): so set for CR_SRV_CA_RENEW, services puppet
 * and puppetserver running. */
struct env *env_server_new(void);
/* On a CA host: the ssldir and the cadir each complete and of this CA (the
 * same subjects and keys), the ssldir's certificate the old one or the
 * one in the live cadir's signed/; a pair that does not match (the
 * ssldir's bundle or certificate is not the cadir's) only with the server
 * stopped and the run's journal there. */
void check_server_live(struct env *e);
/* The ssldir's bundle and certificate are the cadir's own. */
bool server_pair_consistent(struct env *e);
char *flow_read(const char *path);
void env_free(struct env *e);
/* The CA signs its pending request. */
void tca_sign(struct tca *ca);

/* A new printf-formatted string. */
char *flow_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
void hex_fp(X509 *x, char *out);
bool flow_exists(const char *path);
/* mkdir dir/rel, which must not exist yet. */
void flow_mkdir(const char *dir, const char *rel, mode_t mode);
/* The identity of an ssldir checked with plain OpenSSL (key matches cert,
 * CN, chain to certs/ca.pem with every CRL of crl.pem); its SHA-256. */
void assert_identity(const char *ssl, char *fp);
/* The live identity is the old one or the one the CA signed. */
void check_live(struct env *e);
/* The live identity is the old one and the service runs. */
void assert_untouched(struct env *e);
/* No name starting with '.' (temporary files, staging) nor lock file
 * under dir. */
void assert_no_leftovers(const char *dir);
/* The one backup under backups/ (new path); fails if there are more. */
char *the_backup(struct env *e);
void assert_next_step(const cr_err *err, const char *words);
void fail_err(const cr_err *err);
const char *state_of(json_t *res);
double ms_since(const struct timespec *t0);

/* Kill and resume (see above). */
typedef json_t *(*flow_fn)(struct env *e, cr_err *err);
extern json_t *flow_points;		/* a flow's kill flow_points, in order */
extern json_t *flow_seen;		/* the points the last run reached */
extern long kill_after;
extern long killed_at;		/* index in flow_points of the last kill */
extern void (*at_point)(struct env *e, const char *name);
long point_index(const char *name);
/* true when the run was stopped; else *res is its result (NULL: err). */
bool flow_run(struct env *e, flow_fn flow, bool kill, json_t **res, cr_err *err);
/* After a recording run: the points it reached (flow_seen) must be
 * expected (NULL-terminated), in order; they become flow_points. */
void flow_points_take(const char *const *expected);
/* cmocka group teardown of a flow suite: flow_points, flow_seen, pki. */
int flow_group_teardown(void **state);

#endif

/* The main of a flow suite built without CR_TEST_HOOKS: one skipped test. */
int flow_needs_hooks_main(void);

/* A flow suite's main: FLOW_SUITE_MAIN(cmocka_unit_test(t1), ...) after
 * the suite's tests, outside its #ifdef CR_TEST_HOOKS (without the hooks
 * the tests are not built and the main skips). */
#ifdef CR_TEST_HOOKS
#define FLOW_SUITE_MAIN(...)						\
	int								\
	main(void)							\
	{								\
		const struct CMUnitTest tests[] = { __VA_ARGS__ };	\
									\
		return cmocka_run_group_tests(tests, pki_group_setup,	\
		    flow_group_teardown);				\
	}
#else
#define FLOW_SUITE_MAIN(...)						\
	int								\
	main(void)							\
	{								\
		return flow_needs_hooks_main();				\
	}
#endif
#endif
