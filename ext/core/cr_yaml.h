/*
 * cr_yaml.h - Puppet's csr_attributes.yaml, read with libyaml.
 *
 * The file is a mapping with two optional members, custom_attributes and
 * extension_requests, each a mapping of scalar keys (pp_* short names or
 * dotted OIDs, kept as written) to scalar values.  Values become strings
 * exactly as Puppet makes them (Psych safe_load, then to_s): yes/on/true
 * -> "true", 0x1F -> "31", 1.50 -> "1.5", ~ -> "", :sym -> "sym"; quoted
 * scalars are kept verbatim; dates and timestamps are refused (Puppet's
 * safe_load refuses them too).
 */
#ifndef CR_YAML_H
#define CR_YAML_H

#include <stddef.h>

#include <jansson.h>

#include "cr_err.h"

#define CR_MAX_CSR_ATTRIBUTES_FILE ((size_t)64 << 10)

/*
 * New {"custom_attributes": {...}, "extension_requests": {...}} (both
 * members always present).  A missing file gives both empty, not an error.
 * A file over CR_MAX_CSR_ATTRIBUTES_FILE is refused (CR_KIND_IO, as
 * cr_file_read reports it).  Anything but the shape above (a sequence or
 * mapping as a value, an alias, a non-mapping top level, an unknown
 * top-level key, a duplicate key, several documents, a tag other than
 * !!str/!!map, a syntax error) is CR_KIND_PARSE with details.line and
 * details.column (1-based) and details.path.
 */
json_t *cr_csr_attributes_read(const char *path, cr_err *err);
/* The same on memory (what names the input in messages). */
json_t *cr_csr_attributes_parse(const char *text, size_t len,
    const char *what, cr_err *err);

#endif
