/* tb_json: strict parsing of request bodies with json-c, and the field tables that validate them.
 * Each resource declares its fields once ({name, type, bounds, validator}); tb_json_validate refuses
 * unknown fields, wrong types (json-c's getters would coerce), out-of-range numbers, over-long or
 * control-character strings, and names the field in its message. */
#ifndef TB_JSON_H
#define TB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "tb_err.h"

#define TB_JSON_MAX_DEPTH 32

/* Parses exactly len bytes of text as one JSON value (RFC 8259: whitespace around it allowed),
 * with json-c's strict mode, UTF-8 validation and nesting at most max_depth. A NUL byte, trailing
 * bytes or a truncated value are TB_ERR_INVALID. *out is owned by the caller (json_object_put). */
enum tb_err tb_json_parse(const char *text, size_t len, int max_depth, struct json_object **out);

enum tb_field_type {
	TB_FIELD_STRING, /* one line: no control characters at all */
	TB_FIELD_TEXT,   /* free text: newline and tab allowed, other control characters not */
	TB_FIELD_INT,    /* a JSON integer in [min, max] */
	TB_FIELD_ID,     /* a JSON integer in [1, INT64_MAX] */
	TB_FIELD_BOOL,
	TB_FIELD_OBJECT, /* a JSON object; its members are checked by the route (tb_json_validate_member) */
	TB_FIELD_TYPE__MAX
};

struct tb_field {
	const char *name;
	enum tb_field_type type;
	int64_t min, max;             /* INT: value bounds; STRING/TEXT: length in characters */
	bool required;                /* must be present (on create; PATCH passes false) */
	bool nullable;                /* JSON null accepted */
	bool (*valid)(const char *s); /* further check for strings, or NULL */
	const char *hint;             /* what valid() expects, for the message */
};

/* A field table and its length, as a route names the fields of its body (tb_route.h). */
struct tb_fields {
	const struct tb_field *v;
	size_t n;
};
/* A struct tb_fields initializer over an array: the compiler counts its rows. */
#define TB_FIELDS(array)                                    \
	{                                                   \
		(array), sizeof(array) / sizeof((array)[0]) \
	}

/* Checks obj against fields. obj must be an object; every member must be a listed field of the
 * right type and bounds; with require, every required field must be present. On failure returns
 * TB_ERR_INVALID and writes a message naming the field into msg. */
enum tb_err tb_json_validate(const struct tb_field *fields, size_t n_fields, struct json_object *obj, bool require,
                             char *msg, size_t msg_len);

/* Checks the member key of obj, when it is an object, against fields with every required one
 * present (as tb_json_validate with require); the message names the member "key.field". TB_OK when
 * obj is not an object or has no such object member (tb_json_validate answers for those). */
enum tb_err tb_json_validate_member(const struct tb_fields *fields, struct json_object *obj, const char *key, char *msg,
                                    size_t msg_len);

/* Number of Unicode code points in a valid UTF-8 string of len bytes. */
size_t tb_utf8_length(const char *s, size_t len);
/* True when s (len bytes) holds a control character (C0, DEL, C1); allow_text permits \n, \r, \t. */
bool tb_has_control(const char *s, size_t len, bool allow_text);

/* Borrowed member getters for validated objects: return false when the member is absent. */
bool tb_json_str(struct json_object *obj, const char *key, const char **out);
bool tb_json_int(struct json_object *obj, const char *key, int64_t *out);

#endif
