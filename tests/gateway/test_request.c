/*
 * gateway.h, requests: a body rendered from the gateway's template with
 * hostile values decodes back to exactly those values (form by
 * percent-decoding, JSON by jansson); the Twilio preset's shape; the
 * Idempotency-Key and Content-Type headers; raw webhook bodies; and the
 * config mistakes caught at load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "gateway.h"

/* Values a customer could have typed. */
static const char *const hostile[] = {
	"plain",
	"a&b=c",
	"quote \" and ' and \\ backslash",
	"line1\nline2\r\nline3\ttab",
	"张三 回访提醒",
	"emoji 😀👍🏽",
	"100% + 50% = ?#frag",
	"\"}],\"x\":{\"y\":\"",
	"To=+8613800138000&Body=injected",
	"{to} {{braces}}",
	"",
};
#define NHOSTILE	(sizeof(hostile) / sizeof(hostile[0]))

static struct gw_conf
conf(enum gw_format f, const char *body)
{
	struct gw_conf c = { 0 };
	char *err = NULL;
	int line;

	c.url = strdup("http://127.0.0.1:8080/sms?token=SECRET");
	c.format = f;
	c.body = gw_body_compile(body, &err, &line);
	assert_null(err);
	assert_non_null(c.body);
	assert_int_equal(gw_conf_check(&c, &err), 0);
	return c;
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ?
	    c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) ('+' is a space) into a malloc'd string. */
static char *
form_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;

	assert_non_null(out);
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%') {
			assert_true(i + 2 < n);
			assert_true(hexval(s[i + 1]) >= 0 &&
			    hexval(s[i + 2]) >= 0);
			out[o++] = (char)(hexval(s[i + 1]) * 16 +
			    hexval(s[i + 2]));
			i += 2;
		} else {
			/* only the unreserved set travels bare */
			assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789-._*", s[i]));
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* The decoded value of key in form body, or NULL; asserts one only. */
static char *
form_get(const char *body, const char *key)
{
	const char *p = body, *amp, *eq;
	char *found = NULL, *k;

	for (;;) {
		amp = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(amp - p));
		assert_non_null(eq);
		k = form_decode(p, (size_t)(eq - p));
		if (strcmp(k, key) == 0) {
			assert_null(found);
			found = form_decode(eq + 1, (size_t)(amp - eq - 1));
		}
		free(k);
		if (*amp == '\0')
			break;
		p = amp + 1;
	}
	return found;
}

static const char *
header(const struct gw_request *r, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < r->nheaders; i++)
		if (strncasecmp(r->headers[i], name, n) == 0 &&
		    r->headers[i][n] == ':')
			return r->headers[i] + n + 1 + (r->headers[i][n + 1] ==
			    ' ');
	return NULL;
}

static void
test_form_round_trip(void **state)
{
	struct gw_conf c = conf(GW_FORM, "to={to}&msg={text}&sub={subject}");
	size_t i;

	for (i = 0; i < NHOSTILE; i++) {
		struct gw_msg m = { "+8613800138000", hostile[i],
		    hostile[NHOSTILE - 1 - i], "rem.42.sms" };
		struct gw_request r;
		char *err = NULL, *v;

		assert_int_equal(gw_build(&c, &m, &r, &err), 0);
		assert_int_equal(r.body_len, strlen(r.body));
		assert_null(strchr(r.body, ' '));
		assert_null(strchr(r.body, '\n'));
		v = form_get(r.body, "msg");
		assert_string_equal(v, hostile[i]);
		free(v);
		v = form_get(r.body, "sub");
		assert_string_equal(v, hostile[NHOSTILE - 1 - i]);
		free(v);
		v = form_get(r.body, "to");
		assert_string_equal(v, "+8613800138000");	/* %2B */
		free(v);
		assert_null(form_get(r.body, "Body"));
		gw_request_free(&r);
	}
	gw_conf_free(&c);
}

static void
test_json_round_trip(void **state)
{
	struct gw_conf c = conf(GW_JSON,
	    "{{\"to\":\"{to}\",\"msg\":{{\"text\":\"{text}\"}},"
	    "\"key\":\"{key}\"}}");
	size_t i;

	for (i = 0; i < NHOSTILE; i++) {
		struct gw_msg m = { "+12025550123", hostile[i], NULL, "k-1" };
		struct gw_request r;
		json_error_t je;
		json_t *j;
		char *err = NULL;

		assert_int_equal(gw_build(&c, &m, &r, &err), 0);
		j = json_loadb(r.body, r.body_len, 0, &je);
		assert_non_null(j);
		assert_int_equal(json_object_size(j), 3);
		assert_string_equal(json_string_value(json_object_get(j,
		    "to")), "+12025550123");
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(j, "msg"), "text")), hostile[i]);
		assert_string_equal(json_string_value(json_object_get(j,
		    "key")), "k-1");
		json_decref(j);
		gw_request_free(&r);
	}
	gw_conf_free(&c);
}

static void
test_headers(void **state)
{
	struct gw_conf c = conf(GW_JSON, "{{\"t\":\"{text}\"}}");
	struct gw_msg m = { "", "x", NULL, "reminder.7.2026-03-01.webhook" };
	struct gw_request r;
	char *err = NULL;

	assert_int_equal(gw_build(&c, &m, &r, &err), 0);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.url, "http://127.0.0.1:8080/sms?token=SECRET");
	assert_string_equal(header(&r, "Idempotency-Key"),
	    "reminder.7.2026-03-01.webhook");
	assert_string_equal(header(&r, "Content-Type"),
	    "application/json; charset=utf-8");
	assert_null(r.auth_user);
	gw_request_free(&r);

	/* The config's own Content-Type wins; its headers go as written. */
	c.headers = calloc(2, sizeof(char *));
	c.headers[c.nheaders++] = strdup("Content-Type: text/plain");
	c.headers[c.nheaders++] = strdup("X-Api-Key: abc");
	c.method = strdup("PUT");
	assert_int_equal(gw_conf_check(&c, &err), 0);
	assert_int_equal(gw_build(&c, &m, &r, &err), 0);
	assert_string_equal(r.method, "PUT");
	assert_int_equal(r.nheaders, 3);
	assert_string_equal(header(&r, "Content-Type"), "text/plain");
	assert_string_equal(header(&r, "X-Api-Key"), "abc");
	gw_request_free(&r);

	/* A key that could break the header line kills the message. */
	m.key = "k\r\nX-Evil: 1";
	assert_int_equal(gw_build(&c, &m, &r, &err), -1);
	assert_non_null(strstr(err, "idempotency key"));
	free(err);
	gw_conf_free(&c);
}

static void
test_form_content_type(void **state)
{
	struct gw_conf c = conf(GW_FORM, "b={text}");
	struct gw_msg m = { "", "x", NULL, "k" };
	struct gw_request r;
	char *err = NULL;

	assert_int_equal(gw_build(&c, &m, &r, &err), 0);
	assert_string_equal(header(&r, "Content-Type"),
	    "application/x-www-form-urlencoded");
	assert_string_equal(r.body, "b=x");
	gw_request_free(&r);
	gw_conf_free(&c);
}

static void
test_twilio(void **state)
{
	struct gw_preset_args a = { "AC0123456789abcdef0123456789abcdef",
	    "+15005550006", "tok3n-s3cret" };
	struct gw_msg m = { "+8613800138000", "您好 & 再见", NULL,
	    "k.1.sms" };
	struct gw_conf c;
	struct gw_request r;
	char *err = NULL, *v;

	assert_int_equal(gw_preset("twilio", &a, &c, &err), 0);
	assert_int_equal(gw_conf_check(&c, &err), 0);
	assert_int_equal(gw_build(&c, &m, &r, &err), 0);
	assert_string_equal(r.url, "https://api.twilio.com/2010-04-01/"
	    "Accounts/AC0123456789abcdef0123456789abcdef/Messages.json");
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.body, "To=%2B8613800138000&From=%2B15005550006"
	    "&Body=%E6%82%A8%E5%A5%BD+%26+%E5%86%8D%E8%A7%81");
	v = form_get(r.body, "Body");
	assert_string_equal(v, "您好 & 再见");
	free(v);
	assert_string_equal(r.auth_user, a.account);
	assert_string_equal(r.auth_secret, "tok3n-s3cret");
	assert_string_equal(header(&r, "Content-Type"),
	    "application/x-www-form-urlencoded");
	assert_string_equal(header(&r, "Idempotency-Key"), "k.1.sms");
	gw_request_free(&r);
	gw_conf_free(&c);

	assert_int_equal(gw_preset("twilio", NULL, &c, &err), -1);
	free(err);
	a.account = "AC/../x";
	assert_int_equal(gw_preset("twilio", &a, &c, &err), -1);
	free(err);
	assert_int_equal(gw_preset("nexmo", &a, &c, &err), -1);
	assert_non_null(strstr(err, "unknown preset"));
	free(err);
}

/* A webhook whose message text is already the JSON document. */
static void
test_raw_json_body(void **state)
{
	struct gw_conf c = { .url = strdup("https://oapi.dingtalk.com/robot/"
	    "send?access_token=abc"), .format = GW_JSON };
	struct gw_msg m = { "", "{\"msgtype\":\"text\",\"text\":"
	    "{\"content\":\"张\\\"三\"}}", NULL, "k" };
	struct gw_request r;
	char *err = NULL;

	assert_int_equal(gw_conf_check(&c, &err), 0);
	assert_int_equal(gw_build(&c, &m, &r, &err), 0);
	assert_string_equal(r.body, m.text);
	gw_request_free(&r);

	m.text = "{\"content\":\"broken}";
	assert_int_equal(gw_build(&c, &m, &r, &err), -1);
	assert_non_null(strstr(err, "not JSON"));
	free(err);
	gw_conf_free(&c);
}

static void
test_body_errors(void **state)
{
	char *err = NULL;
	int line = 0;

	assert_null(gw_body_compile("a={to}\nb={customer.name}", &err,
	    &line));
	assert_int_equal(line, 2);
	assert_non_null(strstr(err, "unknown placeholder {customer.name}"));
	free(err);
	assert_null(gw_body_compile("x={text", &err, &line));
	assert_int_equal(line, 1);
	assert_non_null(strstr(err, "unclosed"));
	free(err);
}

static void
expect_conf_error(struct gw_conf *c, const char *what)
{
	char *err = NULL;

	assert_int_equal(gw_conf_check(c, &err), -1);
	if (strstr(err, what) == NULL)
		fail_msg("\"%s\" does not mention \"%s\"", err, what);
	free(err);
	gw_conf_free(c);
}

static void
test_conf_errors(void **state)
{
	struct gw_conf c;
	char *err = NULL;
	int line;

	/* A bare placeholder in JSON: a value could become markup. */
	c = (struct gw_conf){ .url = strdup("http://h/"), .format = GW_JSON };
	c.body = gw_body_compile("{{\"n\":{text}}}", &err, &line);
	expect_conf_error(&c, "not JSON once rendered");

	c = (struct gw_conf){ .url = strdup("ftp://h/"), .format = GW_JSON };
	expect_conf_error(&c, "url");
	c = (struct gw_conf){ .url = strdup("http://h/ x"),
	    .format = GW_JSON };
	expect_conf_error(&c, "url");
	c = (struct gw_conf){ .url = strdup("http://h/"), .format = GW_FORM };
	expect_conf_error(&c, "needs a body");
	c = (struct gw_conf){ .url = strdup("http://h/"), .format = GW_JSON,
	    .method = strdup("post\r\n") };
	expect_conf_error(&c, "method");
	c = (struct gw_conf){ .url = strdup("http://h/"), .format = GW_JSON };
	c.headers = calloc(1, sizeof(char *));
	c.headers[c.nheaders++] = strdup("X-A: 1\r\nX-B: 2");
	expect_conf_error(&c, "header 1");
	c = (struct gw_conf){ .url = strdup("http://h/"), .format = GW_JSON };
	c.headers = calloc(1, sizeof(char *));
	c.headers[c.nheaders++] = strdup("idempotency-key: fixed");
	expect_conf_error(&c, "Idempotency-Key");
	c = (struct gw_conf){ .url = strdup("http://h/"), .format = GW_JSON };
	c.json_ok[c.njson_ok++] = strdup("0");
	expect_conf_error(&c, "JSON field");
	c = (struct gw_conf){ .url = strdup("http://h/"), .format = GW_JSON,
	    .dead = { { 700 }, 1 } };
	expect_conf_error(&c, "100-599");
	c = (struct gw_conf){ .url = strdup("http://h/"), .format = GW_JSON,
	    .auth_user = strdup("u") };
	expect_conf_error(&c, "basic auth");
}

static void
test_url_redacted(void **state)
{
	static const char *const cases[][2] = {
		{ "https://oapi.dingtalk.com/robot/send?access_token=abc",
		  "https://oapi.dingtalk.com/..." },
		{ "https://hooks.slack.com/services/T0/B0/XXXXSECRET",
		  "https://hooks.slack.com/..." },
		{ "http://user:pw@127.0.0.1:8080/x",
		  "http://127.0.0.1:8080/..." },
		{ "http://127.0.0.1:8080", "http://127.0.0.1:8080" },
		{ "http://h?key=s", "http://h/..." },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = gw_url_redacted(cases[i][0]);

		assert_string_equal(s, cases[i][1]);
		free(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_round_trip),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_form_content_type),
		cmocka_unit_test(test_twilio),
		cmocka_unit_test(test_raw_json_body),
		cmocka_unit_test(test_body_errors),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_url_redacted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
