/* tb_request: builds struct tb_req from CGI meta-variables, reads the body within a limit, and
 * parses the small grammars a request carries (Content-Length, ids, query strings, cookies,
 * bearer tokens, media types, If-Match, If-None-Match). Every parser refuses what it does not fully understand. */
#include "tb_request.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const method_names[TB_METHOD__MAX] = {
	[TB_GET] = "GET", [TB_POST] = "POST", [TB_PATCH] = "PATCH",     [TB_DELETE] = "DELETE",
	[TB_PUT] = "PUT", [TB_HEAD] = "HEAD", [TB_OPTIONS] = "OPTIONS", [TB_METHOD_OTHER] = "OTHER",
};

const char *tb_method_name(enum tb_method m)
{
	return (unsigned)m < TB_METHOD__MAX ? method_names[m] : "OTHER";
}

enum tb_method tb_method_parse(const char *s)
{
	for (int i = 0; i < TB_METHOD_OTHER; i++) {
		if (s && strcmp(s, method_names[i]) == 0)
			return (enum tb_method)i;
	}
	return TB_METHOD_OTHER;
}

static const char *param(tb_param_fn get, void *ctx, const char *name)
{
	const char *v = get(ctx, name);
	return v && *v ? v : NULL;
}

enum tb_err tb_req_init(struct tb_req *req, tb_param_fn get, void *ctx, const struct tb_io *io)
{
	memset(req, 0, sizeof *req);
	req->io = *io;
	const char *method = param(get, ctx, "REQUEST_METHOD");
	const char *uri = param(get, ctx, "REQUEST_URI");
	if (uri == NULL) /* plain CGI servers without REQUEST_URI: rebuild it */
		uri = param(get, ctx, "SCRIPT_URL");
	if (method == NULL || uri == NULL)
		return TB_ERR_INVALID;
	req->method_name = method;
	req->method = tb_method_parse(method);
	const char *q = strchr(uri, '?');
	req->path = q ? tb_xstrndup(uri, (size_t)(q - uri)) : tb_xstrdup(uri);
	req->query = tb_xstrdup(q ? q + 1 : "");
	req->content_type = param(get, ctx, "CONTENT_TYPE");
	req->cookie = param(get, ctx, "HTTP_COOKIE");
	req->authorization = param(get, ctx, "HTTP_AUTHORIZATION");
	req->origin = param(get, ctx, "HTTP_ORIGIN");
	req->referer = param(get, ctx, "HTTP_REFERER");
	req->host = param(get, ctx, "HTTP_HOST");
	req->accept = param(get, ctx, "HTTP_ACCEPT");
	req->if_match = param(get, ctx, "HTTP_IF_MATCH");
	req->last_event_id = param(get, ctx, "HTTP_LAST_EVENT_ID");
	req->if_none_match = param(get, ctx, "HTTP_IF_NONE_MATCH");
	req->idempotency_key = get(ctx, "HTTP_IDEMPOTENCY_KEY"); /* "" is a bad key, not none */
	req->remote_addr = param(get, ctx, "REMOTE_ADDR");
	const char *https = param(get, ctx, "HTTPS");
	req->https = https && strcasecmp(https, "off") != 0;
	const char *cl = param(get, ctx, "CONTENT_LENGTH");
	if (cl) {
		req->has_content_length = tb_parse_content_length(cl, &req->content_length);
		req->content_length_bad = !req->has_content_length;
	}
	return TB_OK;
}

void tb_req_free(struct tb_req *req)
{
	free(req->path);
	free(req->query);
	free(req->user_name);
	tb_buf_free(&req->body);
	req->path = req->query = req->user_name = NULL;
}

enum tb_err tb_req_read_body(struct tb_req *req, size_t max)
{
	if (req->body_read)
		return TB_OK;
	req->body_read = true;
	if (req->has_content_length && req->content_length > max)
		return TB_ERR_TOO_LARGE;
	size_t want = req->has_content_length ? (size_t)req->content_length : max + 1;
	char chunk[8192];
	while (req->body.len < want) {
		size_t n = want - req->body.len;
		ssize_t got = req->io.read(req->io.ctx, chunk, n < sizeof chunk ? n : sizeof chunk);
		if (got < 0)
			return errno == ETIMEDOUT ? TB_ERR_TIMEOUT : TB_ERR_IO;
		if (got == 0)
			break;
		tb_buf_append(&req->body, chunk, (size_t)got);
	}
	if (req->body.len > max)
		return TB_ERR_TOO_LARGE;
	if (req->has_content_length && req->body.len != want)
		return TB_ERR_IO;
	if (req->body.data == NULL)
		tb_buf_append(&req->body, "", 0);
	return TB_OK;
}

bool tb_parse_content_length(const char *s, uint64_t *out)
{
	if (s == NULL || *s == '\0')
		return false;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool tb_parse_id(const char *s, size_t len, int64_t *out)
{
	if (len == 0 || s[0] < '1' || s[0] > '9')
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		int d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) (form encoding) into a new string; NULL for a bad escape or a NUL. */
static char *form_decode(const char *s, size_t len)
{
	char *out = tb_xmalloc(len + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= len) {
				free(out);
				return NULL;
			}
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

enum tb_err tb_query_get(const char *query, const char *name, char **out)
{
	size_t nlen = strlen(name);
	for (const char *p = query ? query : ""; *p;) {
		const char *end = strchr(p, '&');
		size_t plen = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;
		if (klen == nlen && memcmp(p, name, nlen) == 0) {
			char *v = eq ? form_decode(eq + 1, plen - klen - 1) : tb_xstrdup("");
			if (v == NULL)
				return TB_ERR_INVALID;
			*out = v;
			return TB_OK;
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	return TB_ERR_NOT_FOUND;
}

enum tb_err tb_query_int(const char *query, const char *name, int64_t min, int64_t max, int64_t *out)
{
	char *v;
	enum tb_err err = tb_query_get(query, name, &v);
	if (err)
		return err;
	errno = 0;
	char *end;
	long long n = strtoll(v, &end, 10);
	bool ok = *v && (isdigit((unsigned char)*v) || *v == '-') && *end == '\0' && errno == 0 && n >= min && n <= max;
	free(v);
	if (!ok)
		return TB_ERR_RANGE;
	*out = n;
	return TB_OK;
}

enum tb_err tb_cookie_get(const char *header, const char *name, char **out)
{
	size_t nlen = strlen(name);
	for (const char *p = header ? header : ""; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t plen = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			const char *v = eq + 1;
			size_t vlen = plen - nlen - 1;
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			*out = tb_xstrndup(v, vlen);
			return TB_OK;
		}
		p += plen;
	}
	return TB_ERR_NOT_FOUND;
}

enum tb_err tb_bearer_get(const char *header, char **out)
{
	if (header == NULL)
		return TB_ERR_NOT_FOUND;
	while (*header == ' ')
		header++;
	if (strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\t'))
		return TB_ERR_INVALID;
	const char *t = header + 6;
	while (*t == ' ' || *t == '\t')
		t++;
	size_t len = strlen(t);
	while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
		len--;
	if (len == 0 || strcspn(t, " \t") < len)
		return TB_ERR_INVALID;
	*out = tb_xstrndup(t, len);
	return TB_OK;
}

bool tb_content_type_is_json(const char *ct)
{
	if (ct == NULL)
		return false;
	while (*ct == ' ')
		ct++;
	static const char type[] = "application/json";
	if (strncasecmp(ct, type, sizeof type - 1) != 0)
		return false;
	const char *p = ct + sizeof type - 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return true;
	if (*p != ';')
		return false;
	/* Parameters: only a charset of utf-8 is meaningful; any other charset is refused. */
	for (p++; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len >= 8 && strncasecmp(p, "charset=", 8) == 0) {
			const char *v = p + 8;
			size_t vlen = len - 8;
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			if (!((vlen == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
			      (vlen == 4 && strncasecmp(v, "utf8", 4) == 0)))
				return false;
		}
		p += len;
	}
	return true;
}

bool tb_if_match(const char *header, int64_t version)
{
	if (header == NULL)
		return true;
	const char *p = header;
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '*') {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		return *p == '\0';
	}
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return false;
		const char *q = strchr(p + 1, '"');
		if (q == NULL)
			return false;
		int64_t v;
		if (tb_parse_id(p + 1, (size_t)(q - p - 1), &v) && v == version)
			return true;
		p = q + 1;
	}
	return false;
}

/* Skips optional whitespace (OWS: space, tab). */
static const char *ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* RFC 9110 etagc: %x21 / %x23-7E / obs-text (%x80-FF); not '"', not a control or space. */
static bool etagc(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/* Reads one entity-tag (W/ optional, then "opaque") at p. Returns the character after it, or
 * NULL when p holds none; *tag and *len are the quoted opaque tag (W/ left out). */
static const char *entity_tag(const char *p, const char **tag, size_t *len)
{
	if (strncmp(p, "W/", 2) == 0)
		p += 2;
	if (*p != '"')
		return NULL;
	const char *q = p + 1;
	while (etagc((unsigned char)*q))
		q++;
	if (*q != '"')
		return NULL;
	*tag = p;
	*len = (size_t)(q + 1 - p);
	return q + 1;
}

bool tb_if_none_match(const char *header, const char *etag)
{
	if (header == NULL || etag == NULL)
		return false;
	const char *p = ows(header);
	if (*p == '*')
		return *ows(p + 1) == '\0';
	/* #entity-tag: members separated by OWS "," OWS, empty members allowed (RFC 9110, 5.6.1).
	 * The whole header is read before answering: one malformed member and nothing matches. */
	size_t want = strlen(etag);
	bool match = false;
	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return match;
		const char *tag;
		size_t len;
		p = entity_tag(p, &tag, &len);
		if (p == NULL)
			return false;
		if (len == want && memcmp(tag, etag, want) == 0)
			match = true;
		p = ows(p);
		if (*p != ',' && *p != '\0')
			return false;
	}
}
