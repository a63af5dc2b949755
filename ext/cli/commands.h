/*
 * commands.h - command-line subcommands that are not tasks.
 */
#ifndef CR_COMMANDS_H
#define CR_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "cr_err.h"

/* A non-negative decimal count <= max from the command line, or -1. */
long cr_cmd_count(const char *s, long max);
/* Prints "usage: USAGE" as an _error (invalid-parameter); returns 2. */
int cr_cmd_usage(cr_err *err, const char *usage);
/*
 * The exit code of a command that stops once it has read its arguments: 2
 * when they did not parse (err is set; the command prints it at its end),
 * else 0 after printing usage on stdout (they asked for --help).
 */
int cr_cmd_stop_at_args(const cr_err *err, void (*usage)(FILE *));
/* Prints a command's result with print (0 on success); false with err set
 * when stdout does not take it. */
bool cr_cmd_print(json_t *result, int (*print)(json_t *), cr_err *err);

/*
 * cert_regen settings [--confdir D] [--section S] [--set name=value ...]
 *     [--no-exec] [--sources] [--packaging auto|aio|debian]
 *     [--puppet-bin PATH] [NAME ...]
 * argv[0] is "settings".  Prints the resolved settings as JSON; returns the
 * exit code: 0, 1 (an {"_error": ...} was printed), 2 (usage error, also
 * printed as _error).
 */
int cr_cmd_settings(int argc, char **argv);

/*
 * cert_regen ca-request METHOD PATH [--body-file F] [--content-type T]
 *     [--cacert F | --bootstrap] [--ca-fingerprint FP] [--cert F --key F]
 *     [--server S] [--port N] [--confdir D] [--proxy URL] [--max-body N]
 *     [--timeout S] [--connect-timeout S] [--raw] [--repeat N]
 * argv[0] is "ca-request".  One call of the CA API through cr_http (CA
 * endpoints through the typed cr_ca_* helpers unless --raw); prints
 * {"helper", "status", "body", ...} or an _error; exit codes as above.
 * Server, port and CA bundle default to the agent's ca_server, ca_port and
 * localcacert.  For tests and debugging.
 */
int cr_cmd_ca_request(int argc, char **argv);

/*
 * cert_regen service NAME state|stop|start|restart|restart-detached|
 *     restart-logged [--delay SECONDS]
 * argv[0] is "service".  Drives cr_service (systemd, SysV or the SCM);
 * prints {"service", "backend", "action", "state" | "scheduled"+"delay",
 * "under_pxp_agent"} or an _error; exit codes as above.  restart-logged
 * (the process a detached restart leaves behind) prints nothing: it
 * waits, restarts and writes the outcome to the system's log, exit 0 when
 * the restart worked.  For tests and debugging.
 */
int cr_cmd_service(int argc, char **argv);

/*
 * cert_regen lock PATH SECONDS [--timeout MS]
 * cert_regen lock --disabled FILE
 * argv[0] is "lock".  Takes a Puppet-compatible pid lock through cr_lock
 * (waiting up to MS, default 10000), prints {"path", "pid", "waited_ms"},
 * holds it SECONDS (or until SIGTERM/SIGINT) and releases it; with
 * --disabled prints {"path", "disabled", "message"} for an
 * agent_disabled.lock.  Exit codes as above.  For tests and debugging.
 */
int cr_cmd_lock(int argc, char **argv);

#endif
