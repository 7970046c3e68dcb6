/* tb_json: strict request-body parsing and field-table validation on top of json-c. json-c's
 * getters coerce (a string "12" reads as 12), so every check looks at the type first. */
#include "tb_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_buf.h"

/* RFC 3629: well-formed UTF-8, no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Members of each object in document order, to catch a name given twice: json-c keeps only the
 * last value and says nothing, so the parsed object then has fewer members than the text. */
struct member_counts {
	size_t *n; /* per object, in the order the objects open */
	size_t used, cap;
};

/* What json-c 0.16 lets through even in strict mode, refused here: outside strings only JSON's
 * own characters (no quotes ', no NaN or Infinity); inside strings no raw control characters;
 * no escaped NUL (\u0000) in a member name, which json-c keeps as a C string, so that
 * "role\u0000zz" would silently be "role" (a value keeps its NUL: the field check refuses it).
 * Fills mc with the member count of every object. */
static bool lexically_json(const char *text, size_t len, struct member_counts *mc)
{
	enum { MAX_NEST = 64 };
	size_t stack[MAX_NEST]; /* index in mc->n of each open object, SIZE_MAX for arrays */
	int depth = 0;
	bool in_string = false, in_name = false, want_name = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (in_string) {
			if (c < 0x20)
				return false;
			if (c == '\\') {
				if (in_name && len - i > 5 && memcmp(text + i + 1, "u0000", 5) == 0)
					return false;
				i++;
			} else if (c == '"') {
				in_string = false;
			}
			continue;
		}
		if (c == '"') {
			in_string = true;
			in_name = want_name;
			want_name = false;
		} else if (c == ',') {
			want_name = depth > 0 && stack[depth - 1] != SIZE_MAX;
		} else if (c == '{' || c == '[') {
			want_name = c == '{';
			if (depth == MAX_NEST)
				return false;
			if (c == '{' && mc->used == mc->cap) {
				mc->cap = mc->cap ? mc->cap * 2 : 8;
				size_t *n = realloc(mc->n, mc->cap * sizeof *n);
				if (n == NULL)
					return false;
				mc->n = n;
			}
			if (c == '{')
				mc->n[mc->used] = 0;
			stack[depth++] = c == '{' ? mc->used++ : SIZE_MAX;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return false;
			depth--;
		} else if (c == ':') {
			if (depth == 0 || stack[depth - 1] == SIZE_MAX)
				return false;
			mc->n[stack[depth - 1]]++;
		} else if (!strchr(" \t\n\r,0123456789+-.eEtrufalsn", c)) {
			return false;
		}
	}
	return true;
}

/* Walks the parsed value in document order; false when an object lost members. */
static bool counts_match(struct json_object *v, const struct member_counts *mc, size_t *k)
{
	if (json_object_is_type(v, json_type_object)) {
		if (*k >= mc->used || (size_t)json_object_object_length(v) != mc->n[(*k)++])
			return false;
		json_object_object_foreach(v, key, val)
		{
			(void)key;
			if (!counts_match(val, mc, k))
				return false;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			if (!counts_match(json_object_array_get_idx(v, i), mc, k))
				return false;
		}
	}
	return true;
}

enum tb_err tb_json_parse(const char *text, size_t len, int max_depth, struct json_object **out)
{
	struct member_counts mc = {0};
	if (len == 0 || len > (size_t)INT32_MAX - 1 || memchr(text, '\0', len) ||
	    !utf8_valid((const unsigned char *)text, len) || !lexically_json(text, len, &mc)) {
		free(mc.n);
		return TB_ERR_INVALID;
	}
	struct json_tokener *tok = json_tokener_new_ex(max_depth);
	if (tok == NULL) {
		free(mc.n);
		return TB_ERR_NOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* With the terminating NUL json-c knows the input ends: "123" is then a whole number. */
	char *copy = tb_xstrndup(text, len);
	struct json_object *obj = json_tokener_parse_ex(tok, copy, (int)len + 1);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	free(copy);
	enum tb_err err = TB_OK;
	if (jerr != json_tokener_success)
		err = TB_ERR_INVALID;
	/* RFC 8259: JSON-text = ws value ws. Anything else after the value is refused. */
	for (size_t i = used; err == TB_OK && i < len; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
			err = TB_ERR_INVALID;
	}
	size_t k = 0;
	if (err == TB_OK && !counts_match(obj, &mc, &k))
		err = TB_ERR_INVALID; /* a member name given twice */
	free(mc.n);
	if (err) {
		json_object_put(obj);
		return err;
	}
	*out = obj; /* NULL for the JSON value null */
	return TB_OK;
}

size_t tb_utf8_length(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	}
	return n;
}

bool tb_has_control(const char *s, size_t len, bool allow_text)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20) {
			if (allow_text && (p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
				continue;
			return true;
		}
		if (p[i] == 0x7f)
			return true;
		/* C1 controls U+0080..U+009F are encoded as C2 80..C2 9F. */
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return true;
	}
	return false;
}

static const char *type_name(enum tb_field_type t)
{
	switch (t) {
	case TB_FIELD_STRING:
	case TB_FIELD_TEXT: return "a string";
	case TB_FIELD_INT: return "an integer";
	case TB_FIELD_ID: return "an integer id";
	case TB_FIELD_BOOL: return "true or false";
	case TB_FIELD_OBJECT: return "an object";
	default: return "valid";
	}
}

/* Integer value of a json-c int, refusing values beyond int64 (json-c keeps those as uint64). */
static bool int_value(struct json_object *v, int64_t *out)
{
	int64_t i = json_object_get_int64(v);
	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return false;
	*out = i;
	return true;
}

static enum tb_err check_field(const struct tb_field *f, struct json_object *v, char *msg, size_t msg_len)
{
	if (v == NULL || json_object_is_type(v, json_type_null)) {
		if (f->nullable)
			return TB_OK;
		snprintf(msg, msg_len, "%s: must be %s, not null", f->name, type_name(f->type));
		return TB_ERR_INVALID;
	}
	switch (f->type) {
	case TB_FIELD_STRING:
	case TB_FIELD_TEXT: {
		if (!json_object_is_type(v, json_type_string))
			break;
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);
		size_t chars = tb_utf8_length(s, len);
		if (memchr(s, '\0', len) || tb_has_control(s, len, f->type == TB_FIELD_TEXT)) {
			snprintf(msg, msg_len, "%s: must not contain control characters", f->name);
			return TB_ERR_INVALID;
		}
		if ((int64_t)chars < f->min || (int64_t)chars > f->max) {
			snprintf(msg, msg_len, "%s: must be %" PRId64 " to %" PRId64 " characters long", f->name,
			         f->min, f->max);
			return TB_ERR_INVALID;
		}
		if (f->valid && !f->valid(s)) {
			snprintf(msg, msg_len, "%s: must be %s", f->name, f->hint ? f->hint : "valid");
			return TB_ERR_INVALID;
		}
		return TB_OK;
	}
	case TB_FIELD_INT:
	case TB_FIELD_ID: {
		if (!json_object_is_type(v, json_type_int))
			break;
		int64_t i, min = f->type == TB_FIELD_ID ? 1 : f->min, max = f->type == TB_FIELD_ID ? INT64_MAX : f->max;
		if (!int_value(v, &i) || i < min || i > max) {
			if (f->type == TB_FIELD_ID)
				snprintf(msg, msg_len, "%s: must be a positive integer id", f->name);
			else
				snprintf(msg, msg_len, "%s: must be an integer from %" PRId64 " to %" PRId64, f->name,
				         min, max);
			return TB_ERR_INVALID;
		}
		return TB_OK;
	}
	case TB_FIELD_BOOL:
		if (json_object_is_type(v, json_type_boolean))
			return TB_OK;
		break;
	case TB_FIELD_OBJECT:
		if (json_object_is_type(v, json_type_object))
			return TB_OK;
		break;
	default: break;
	}
	snprintf(msg, msg_len, "%s: must be %s", f->name, type_name(f->type));
	return TB_ERR_INVALID;
}

enum tb_err tb_json_validate(const struct tb_field *fields, size_t n_fields, struct json_object *obj, bool require,
                             char *msg, size_t msg_len)
{
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(msg, msg_len, "body: must be a JSON object");
		return TB_ERR_INVALID;
	}
	json_object_object_foreach(obj, key, val)
	{
		size_t i = 0;
		while (i < n_fields && strcmp(fields[i].name, key) != 0)
			i++;
		if (i == n_fields) {
			/* The name came from the client: print it escaped and short. */
			char shown[40];
			size_t o = 0;
			for (const unsigned char *p = (const unsigned char *)key; *p && o < sizeof shown - 5; p++)
				shown[o++] = (*p >= 0x20 && *p < 0x7f && *p != '"') ? (char)*p : '?';
			shown[o] = '\0';
			snprintf(msg, msg_len, "%s: unknown field", shown);
			return TB_ERR_INVALID;
		}
		enum tb_err err = check_field(&fields[i], val, msg, msg_len);
		if (err)
			return err;
	}
	if (require) {
		for (size_t i = 0; i < n_fields; i++) {
			if (fields[i].required && !json_object_object_get_ex(obj, fields[i].name, NULL)) {
				snprintf(msg, msg_len, "%s: is required", fields[i].name);
				return TB_ERR_INVALID;
			}
		}
	}
	return TB_OK;
}

enum tb_err tb_json_validate_member(const struct tb_fields *fields, struct json_object *obj, const char *key, char *msg,
                                    size_t msg_len)
{
	struct json_object *v;
	if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return TB_OK;
	char inner[160];
	if (tb_json_validate(fields->v, fields->n, v, true, inner, sizeof inner) == TB_OK)
		return TB_OK;
	snprintf(msg, msg_len, "%s.%s", key, inner);
	return TB_ERR_INVALID;
}

bool tb_json_str(struct json_object *obj, const char *key, const char **out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return false;
	*out = json_object_get_string(v);
	return true;
}

bool tb_json_int(struct json_object *obj, const char *key, int64_t *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}
