/*
 * cr_sys_regex.h - POSIX extended regular expressions on every platform
 * (POSIX: <regex.h>; Windows, which has none: the C++ library's
 * std::regex with its POSIX extended grammar).  Matching is a search, as
 * regexec: anchor with ^ and $ for a whole-string match.
 */
#ifndef CR_SYS_REGEX_H
#define CR_SYS_REGEX_H

#include <stdbool.h>

#define CR_SYS_RE_ICASE 1u

typedef struct cr_sys_regex cr_sys_regex;

/* A compiled pattern, or NULL when it is not valid (or out of memory). */
cr_sys_regex *cr_sys_regex_new(const char *ere, unsigned flags);
bool cr_sys_regex_match(const cr_sys_regex *re, const char *s);
void cr_sys_regex_free(cr_sys_regex *re);

#endif
