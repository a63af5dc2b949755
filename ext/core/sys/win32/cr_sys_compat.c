/*
 * cr_sys_compat.c (Windows) - strndup and memmem, which mingw-w64's C
 * library does not have (declared in compat.h).
 */
#include <stdlib.h>
#include <string.h>

#include "compat.h"

char *
strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

void *
memmem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
	const unsigned char *h = hay, *end;

	if (nlen == 0)
		return (void *)hay;
	if (hlen < nlen)
		return NULL;
	for (end = h + (hlen - nlen); h <= end; h++)
		if (*h == *(const unsigned char *)needle &&
		    memcmp(h, needle, nlen) == 0)
			return (void *)h;
	return NULL;
}
