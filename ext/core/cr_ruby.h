/*
 * cr_ruby.h - the two bits of Ruby semantics Puppet's settings rely on,
 * so that paths and numbers come out exactly as `puppet config print`
 * prints them.
 */
#ifndef CR_RUBY_H
#define CR_RUBY_H

#include <stdbool.h>
#include <stddef.h>

#include "cr_err.h"

/*
 * File.expand_path(path) on Unix: `~` is $HOME (which must then be
 * absolute; unset: the passwd entry), `~user` that user's home, a relative
 * path is taken from the working directory; then ".", "..", repeated and
 * trailing slashes are folded lexically (no symlinks are followed).  Like
 * Ruby it keeps a run of leading slashes ("//a" stays "//a").  A new
 * string, or NULL (err set: CR_KIND_SETTINGS) if it is longer than max.
 */
char *cr_ruby_expand_path(const char *path, size_t max, cr_err *err);
/* PATH when it fits in MAX bytes; otherwise frees PATH, sets err, NULL. */
char *cr_ruby_path_within(char *path, size_t max, cr_err *err);

/*
 * File.expand_path(path) on Windows (cr_ruby_win.c): '\' is '/', a drive
 * letter is kept as written, `~` is HOME (else USERPROFILE), a path with
 * no drive takes the current one; "." and ".." fold under the root ("C:"
 * or "//server/share").  A new string, or NULL (err set) as above.
 */
char *cr_ruby_expand_path_windows(const char *path, size_t max, cr_err *err);
/* Puppet::Util.absolute_path? on Windows: "C:\x", "C:/x", "\\srv\x",
 * "\\?\x" (either slash). */
bool cr_ruby_absolute_path_windows(const char *path);

/*
 * Integer(String): surrounding whitespace, a sign, 0x/0b/0o/0d prefixes,
 * a leading 0 for octal, single underscores between digits.  false if s is
 * not such a number or does not fit a long long.
 */
bool cr_ruby_integer(const char *s, long long *out);

#endif
