/*
 * cr_killpoint.h - fault-injection points for the crash tests.
 *
 * A flow names each point where a crash leaves distinct state on disk
 * (after each journal write, between an exchange and its fsync, ...).
 * With CR_TEST_HOOKS (the ASan+UBSan test build only), reaching the point
 * named by the environment variable CERT_REGEN_TEST_KILL_AT sends SIGKILL
 * to this process (the integration tests), and a hook set by a unit test
 * is called with every point's name (the cmocka flow tests stop a flow
 * there with longjmp).  Release builds compile every point out.
 */
#ifndef CR_KILLPOINT_H
#define CR_KILLPOINT_H

#ifdef CR_TEST_HOOKS
void cr_killpoint(const char *name);
/* Called at every point before the environment is looked at; NULL: none. */
void cr_killpoint_hook_set(void (*hook)(const char *name));
#else
#define cr_killpoint(name) ((void)0)
#endif

#endif
