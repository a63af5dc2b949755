/*
 * cr_sys_regex.cpp (Windows) - extended regular expressions through the
 * C++ library's std::regex, POSIX extended grammar (see
 * sys/cr_sys_regex.h).  No exception leaves this file.
 */
#include <new>
#include <regex>

extern "C" {
#include "sys/cr_sys_regex.h"
}

struct cr_sys_regex {
	std::regex re;
};

extern "C" cr_sys_regex *
cr_sys_regex_new(const char *ere, unsigned flags)
{
	std::regex::flag_type f = std::regex::extended | std::regex::nosubs;

	if (flags & CR_SYS_RE_ICASE)
		f |= std::regex::icase;
	try {
		return new cr_sys_regex{ std::regex(ere, f) };
	} catch (...) {
		return nullptr;
	}
}

extern "C" bool
cr_sys_regex_match(const cr_sys_regex *r, const char *s)
{
	try {
		return std::regex_search(s, r->re);
	} catch (...) {
		return false;
	}
}

extern "C" void
cr_sys_regex_free(cr_sys_regex *r)
{
	delete r;
}
