/*
 * cr_json.c - jansson helpers (see cr_json.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cr_json.h"

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t left)
{
	size_t n, i;
	unsigned int cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0) {
		n = 2;
		cp = p[0] & 0x1F;
	} else if ((p[0] & 0xF0) == 0xE0) {
		n = 3;
		cp = p[0] & 0x0F;
	} else if ((p[0] & 0xF8) == 0xF0) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

json_t *
cr_json_strn(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *out = NULL;
	char *buf = NULL;
	size_t i = 0, o = 0, n;

	if (s == NULL)
		return json_null();
	/* jansson accepts an embedded NUL: replace it too, or a consumer
	 * reading a C string would silently truncate the value */
	if (memchr(s, '\0', len) == NULL &&
	    (out = json_stringn(s, len)) != NULL)
		return out;
	/* invalid UTF-8 (or embedded NUL): rebuild, 3 bytes per bad byte */
	if (len > (SIZE_MAX - 1) / 3 || (buf = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (i < len) {
		n = p[i] == 0 ? 0 : utf8_seq(p + i, len - i);
		if (n == 0) {
			memcpy(buf + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else {
			memcpy(buf + o, p + i, n);
			o += n;
			i += n;
		}
	}
	out = json_stringn(buf, o);
	free(buf);
	return out;
}

json_t *
cr_json_str(const char *s)
{
	return s == NULL ? json_null() : cr_json_strn(s, strlen(s));
}

int
cr_json_set(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value ? value : json_null());
}
