/*
 * cr_sys_regex.c (POSIX) - extended regular expressions through <regex.h>
 * (see sys/cr_sys_regex.h).
 */
#include <regex.h>
#include <stdlib.h>

#include "sys/cr_sys_regex.h"

struct cr_sys_regex {
	regex_t re;
};

cr_sys_regex *
cr_sys_regex_new(const char *ere, unsigned flags)
{
	cr_sys_regex *r = malloc(sizeof(*r));

	if (r != NULL && regcomp(&r->re, ere, REG_EXTENDED | REG_NOSUB |
	    ((flags & CR_SYS_RE_ICASE) ? REG_ICASE : 0)) != 0) {
		free(r);
		r = NULL;
	}
	return r;
}

bool
cr_sys_regex_match(const cr_sys_regex *r, const char *s)
{
	return regexec(&r->re, s, 0, NULL, 0) == 0;
}

void
cr_sys_regex_free(cr_sys_regex *r)
{
	if (r == NULL)
		return;
	regfree(&r->re);
	free(r);
}
