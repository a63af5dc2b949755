/*
 * cr_json.h - small jansson helpers shared by every face.
 */
#ifndef CR_JSON_H
#define CR_JSON_H

#include <stddef.h>
#include <jansson.h>

/* New reference to a JSON string; bytes that are not UTF-8 (and NUL) become
 * U+FFFD, so a hostile file name or subject never makes a value disappear. */
json_t *cr_json_str(const char *s);
json_t *cr_json_strn(const char *s, size_t len);
/* json_object_set_new, but a NULL value is stored as JSON null. */
int cr_json_set(json_t *obj, const char *key, json_t *value);

#endif
