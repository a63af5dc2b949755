/*
 * commands.h - command-line subcommands that are not tasks.
 */
#ifndef CR_COMMANDS_H
#define CR_COMMANDS_H

/*
 * cert_regen settings [--confdir D] [--section S] [--set name=value ...]
 *     [--no-exec] [--sources] [--packaging auto|aio|debian]
 *     [--puppet-bin PATH] [NAME ...]
 * argv[0] is "settings".  Prints the resolved settings as JSON; returns the
 * exit code: 0, 1 (an {"_error": ...} was printed), 2 (usage error, also
 * printed as _error).
 */
int cr_cmd_settings(int argc, char **argv);

#endif
