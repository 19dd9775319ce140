/*
 * The template engine (daemon/template.c) and crmd's built-in texts
 * (daemon/template_defaults.c): compiling, every escape mode against
 * hostile values, and that every default webhook body stays valid JSON
 * whatever the database holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "template.h"

/* What an attacker-controlled customer record might hold. */
#define HOSTILE	"张\"三\\\r\nBcc: x@example.com\t\x01\x7f}{{x}}&a=b+c%20😀"

static struct tmpl *
compile_ok(const char *text)
{
	struct tmpl *t;
	char *err = NULL;
	int line = -1;

	if ((t = tmpl_compile(text, &err, &line)) == NULL)
		fail_msg("\"%s\": %s (line %d)", text, err, line);
	assert_null(err);
	return t;
}

/* Compiling text fails with exactly want at line. */
static void
compile_fails(const char *text, const char *want, int want_line)
{
	char *err = NULL;
	int line = -1;

	assert_null(tmpl_compile(text, &err, &line));
	assert_non_null(err);
	assert_string_equal(err, want);
	assert_int_equal(line, want_line);
	free(err);
}

/* Renders text with one field set to value, escaped by esc. */
static char *
render1(const char *text, enum tmpl_field f, const char *value,
    enum tmpl_escape esc)
{
	struct tmpl_vars v = { 0 };
	struct tmpl *t = compile_ok(text);
	char *out;

	v.v[f] = value;
	assert_non_null(out = tmpl_render(t, &v, esc));
	tmpl_free(t);
	return out;
}

static void
expect_render(const char *text, const char *value, enum tmpl_escape esc,
    const char *want)
{
	char *out = render1(text, TF_CUSTOMER_NAME, value, esc);

	assert_string_equal(out, want);
	free(out);
}

static void
test_every_placeholder(void **state)
{
	for (int f = 0; f < TF_MAX; f++) {
		char text[64], *out;

		/* Names are distinct and look like "group.field". */
		for (int g = 0; g < f; g++)
			assert_string_not_equal(tmpl_field_name(f),
			    tmpl_field_name(g));
		assert_non_null(strchr(tmpl_field_name(f), '.'));
		snprintf(text, sizeof(text), "<{%s}>", tmpl_field_name(f));
		out = render1(text, f, "值", TE_TEXT);
		assert_string_equal(out, "<值>");
		free(out);
	}
	assert_string_equal(tmpl_field_name(TF_CUSTOMER_NAME), "customer.name");
	assert_string_equal(tmpl_field_name(TF_CONTRACT_END),
	    "contract.end_date");
	assert_string_equal(tmpl_field_name(TF_DIGEST_COUNTS), "digest.counts");
}

static void
test_substitution(void **state)
{
	struct tmpl_vars v = { 0 };
	struct tmpl *t;
	char *out;

	t = compile_ok("客户 {customer.name}（{customer.level} 类）"
	    "{reminder.note}{customer.name}");
	v.v[TF_CUSTOMER_NAME] = "上海明远";
	v.v[TF_CUSTOMER_LEVEL] = "A";
	/* reminder.note is NULL: it renders as nothing. */
	assert_non_null(out = tmpl_render(t, &v, TE_TEXT));
	assert_string_equal(out, "客户 上海明远（A 类）上海明远");
	free(out);
	tmpl_free(t);

	/* No placeholders at all, and the empty template. */
	expect_render("只有文字", "x", TE_JSON, "只有文字");
	expect_render("", "x", TE_TEXT, "");
	expect_render("{customer.name}", "", TE_TEXT, "");
}

static void
test_literal_braces(void **state)
{
	expect_render("{{customer.name}}", "张三", TE_TEXT, "{customer.name}");
	expect_render("{{{customer.name}}}", "张三", TE_TEXT, "{张三}");
	expect_render("a}}b{{c", "x", TE_TEXT, "a}b{c");
	/* The template's own text is never escaped, only values. */
	expect_render("{{\"k\":\"{customer.name}\"}}", "x\"y", TE_JSON,
	    "{\"k\":\"x\\\"y\"}");
	expect_render("a&b={customer.name}", "c&d", TE_FORM, "a&b=c%26d");
}

static void
test_compile_errors(void **state)
{
	compile_fails("a\nb\n续约 {customer.nmae}", "unknown placeholder "
	    "{customer.nmae}", 3);
	compile_fails("{Customer.Name}", "unknown placeholder {Customer.Name}",
	    1);
	compile_fails("x {customer.name", "unterminated placeholder: '{' "
	    "without '}' (write '{{' for a literal brace)", 1);
	/* A placeholder does not continue on the next line. */
	compile_fails("一\n{customer.name\n}", "unterminated placeholder: '{' "
	    "without '}' (write '{{' for a literal brace)", 2);
	compile_fails("{", "unterminated placeholder: '{' without '}' "
	    "(write '{{' for a literal brace)", 1);
	compile_fails("\n\n{}", "empty placeholder {}", 3);
	compile_fails("{ \t}", "empty placeholder { ?}", 1);
	compile_fails("{ customer.name }", "spaces in placeholder "
	    "{ customer.name }", 1);
	compile_fails("a\n}", "'}' that does not end a placeholder must be "
	    "written '}}'", 2);
	compile_fails("{\"msgtype\":\"text\"}", "'{' that does not start a "
	    "placeholder must be written '{{'", 1);
	/* A long bad name is shortened in the message. */
	compile_fails("{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}",
	    "unknown placeholder {"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...}", 1);
}

static void
test_escape_text(void **state)
{
	/* As is: even bytes that are not UTF-8. */
	expect_render("[{customer.name}]", HOSTILE, TE_TEXT, "[" HOSTILE "]");
	expect_render("[{customer.name}]", "\xff\xfe\xc0\x80", TE_TEXT,
	    "[\xff\xfe\xc0\x80]");
	/* A value is a C string: an embedded NUL ends it. */
	expect_render("[{customer.name}]", "a\0b", TE_TEXT, "[a]");
}

static void
test_escape_header(void **state)
{
	expect_render("回访 {customer.name}", "张三\r\nBcc: x@example.com",
	    TE_HEADER, "回访 张三  Bcc: x@example.com");
	/* Every C0 control, DEL and the C1 controls (NEL) become spaces. */
	expect_render("{customer.name}", "a\tb\x01\x1f\x7f" "c\xc2\x85" "d",
	    TE_HEADER, "a b   c d");
	expect_render("{customer.name}", "\r\n\r\n", TE_HEADER, "    ");
	/* Chinese, emoji, quotes and ordinary punctuation stay. */
	expect_render("{customer.name}", "张\"三\"😀 <a@b.cn>; é", TE_HEADER,
	    "张\"三\"😀 <a@b.cn>; é");
	expect_render("{customer.name}", "a\0\r\nb", TE_HEADER, "a");
}

static void
test_escape_form(void **state)
{
	expect_render("text={customer.name}", "a b&c=d+e%f", TE_FORM,
	    "text=a+b%26c%3Dd%2Be%25f");
	expect_render("{customer.name}", "张", TE_FORM, "%E5%BC%A0");
	expect_render("{customer.name}", "😀", TE_FORM, "%F0%9F%98%80");
	expect_render("{customer.name}", "AZaz09-._*~!'()/?#\r\n", TE_FORM,
	    "AZaz09-._*%7E%21%27%28%29%2F%3F%23%0D%0A");
	/* Invalid UTF-8 is percent-encoded byte by byte, not lost. */
	expect_render("{customer.name}", "\xff\x80", TE_FORM, "%FF%80");
}

static void
test_escape_json(void **state)
{
	expect_render("\"{customer.name}\"", "say \"hi\" \\ /", TE_JSON,
	    "\"say \\\"hi\\\" \\\\ /\"");
	expect_render("{customer.name}", "\r\n\t\b\f\x01\x1f\x7f", TE_JSON,
	    "\\r\\n\\t\\b\\f\\u0001\\u001F\\u007F");
	/* Valid UTF-8 is copied, including characters JSON allows raw. */
	expect_render("{customer.name}", "张三😀é\xe2\x80\xa8", TE_JSON,
	    "张三😀é\xe2\x80\xa8");
	/* Invalid UTF-8 becomes U+FFFD, one per bad byte. */
	expect_render("{customer.name}", "a\xff" "b", TE_JSON, "a\\ufffdb");
	expect_render("{customer.name}", "\xc0\x80", TE_JSON,
	    "\\ufffd\\ufffd");			/* overlong NUL */
	expect_render("{customer.name}", "\xed\xa0\x80", TE_JSON,
	    "\\ufffd\\ufffd\\ufffd");		/* surrogate */
	expect_render("{customer.name}", "\xe5\xbc", TE_JSON,
	    "\\ufffd\\ufffd");			/* truncated 张 */
	expect_render("{customer.name}", "\xf4\x90\x80\x80", TE_JSON,
	    "\\ufffd\\ufffd\\ufffd\\ufffd");	/* above U+10FFFF */
}

/* An email's HTML alternative: a value is text, never markup, in an
 * element or a quoted attribute; the template's own markup is kept. */
static void
test_escape_html(void **state)
{
	expect_render("<p>{customer.name}</p>",
	    "<script>alert(1)</script>", TE_HTML,
	    "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
	expect_render("<a title=\"{customer.name}\">x</a>", "a\" onclick=\"x",
	    TE_HTML, "<a title=\"a&quot; onclick=&quot;x\">x</a>");
	expect_render("<a title='{customer.name}'>", "O'Brien & 张三",
	    TE_HTML, "<a title='O&#39;Brien &amp; 张三'>");
	/* Already an entity: escaped again, shown as typed. */
	expect_render("{customer.name}", "&lt;", TE_HTML, "&amp;lt;");
	expect_render("{customer.name}", "上海明远\n第二行", TE_HTML,
	    "上海明远\n第二行");
}

/* Every field set to the hostile value. */
static void
hostile_vars(struct tmpl_vars *v)
{
	for (int f = 0; f < TF_MAX; f++)
		v->v[f] = HOSTILE "\xff";
}

/*
 * Every built-in webhook body, rendered with hostile values, is one JSON
 * object whose content string holds those values intact.
 */
static void
test_webhook_json(void **state)
{
	struct tmpl_vars v = { 0 };

	hostile_vars(&v);
	for (int k = 0; k < KIND_MAX; k++) {
		struct tmpl *t = compile_ok(tmpl_default_body(k, CH_WEBHOOK));
		char *out = tmpl_render(t, &v, TE_JSON);
		const char *content;
		json_error_t jerr;
		json_t *doc;

		assert_non_null(out);
		if ((doc = json_loads(out, JSON_REJECT_DUPLICATES, &jerr)) ==
		    NULL)
			fail_msg("%s: %s in %s", kind_name(k), jerr.text, out);
		assert_true(json_is_object(doc));
		assert_int_equal(json_object_size(doc), 2);
		assert_string_equal(json_string_value(json_object_get(doc,
		    "msgtype")), "text");
		content = json_string_value(json_object_get(
		    json_object_get(doc, "text"), "content"));
		assert_non_null(content);
		assert_non_null(strstr(content, HOSTILE "\xef\xbf\xbd"));
		json_decref(doc);
		free(out);
		tmpl_free(t);
	}
}

/* The same for an admin's own JSON with a value outside any string. */
static void
test_webhook_custom(void **state)
{
	struct tmpl_vars v = { 0 };
	struct tmpl *t;
	json_t *doc;
	char *out;

	t = compile_ok("{{\"msgtype\":\"markdown\",\"markdown\":{{"
	    "\"content\":\"**回访** {customer.name}\\n> {reminder.note}\"}}}}");
	hostile_vars(&v);
	assert_non_null(out = tmpl_render(t, &v, TE_JSON));
	assert_non_null(doc = json_loads(out, 0, NULL));
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(doc, "markdown"), "content")), "\n> " HOSTILE));
	json_decref(doc);
	free(out);
	tmpl_free(t);
}

/* Counts UTF-8 characters. */
static size_t
chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Every kind and channel has a text; titles, subjects and SMS fit. */
static void
test_defaults(void **state)
{
	struct tmpl_vars v = { 0 };

	/* A realistic, long-ish record. */
	v.v[TF_CUSTOMER_NAME] = "上海明远国际贸易有限公司";
	v.v[TF_CUSTOMER_CODE] = "C-2026-0042";
	v.v[TF_CUSTOMER_LEVEL] = "A";
	v.v[TF_CONTACT_NAME] = "王经理";
	v.v[TF_CONTACT_PHONE] = "13812345678";
	v.v[TF_USER_NAME] = "李娜";
	v.v[TF_REMINDER_DUE] = "2026-03-02 09:30";
	v.v[TF_REMINDER_KIND] = "回访";
	v.v[TF_CONTRACT_TITLE] = "年度采购合同";
	v.v[TF_CONTRACT_END] = "2026-04-01";
	v.v[TF_DIGEST_COUNTS] = "今日 3 项，逾期 1 项，错过 0 项";
	for (int k = 0; k < KIND_MAX; k++) {
		for (int c = 0; c < CH_MAX; c++) {
			const char *subj = tmpl_default_subject(k, c);
			const char *body = tmpl_default_body(k, c);
			struct tmpl *t;
			char *out;

			assert_non_null(body);
			assert_int_equal(subj != NULL,
			    c == CH_INAPP || c == CH_EMAIL);
			tmpl_free(compile_ok(body));
			if (subj != NULL) {
				assert_null(strchr(subj, '\n'));
				tmpl_free(compile_ok(subj));
			}
			if (c != CH_SMS)
				continue;
			t = compile_ok(body);
			assert_non_null(out = tmpl_render(t, &v, TE_TEXT));
			assert_null(strchr(out, '\n'));
			if (chars(out) > 70)
				fail_msg("%s sms: %zu characters: %s",
				    kind_name(k), chars(out), out);
			free(out);
			tmpl_free(t);
		}
	}
	assert_null(tmpl_default_body(KIND_MAX, CH_INAPP));
	assert_null(tmpl_default_subject(KIND_FOLLOWUP, CH_MAX));
}

/* The texts the issue asks for, word for word. */
static void
test_defaults_wording(void **state)
{
	assert_string_equal(tmpl_default_subject(KIND_FOLLOWUP, CH_INAPP),
	    "【回访提醒】{customer.name}{reminder.late}");
	assert_string_equal(tmpl_default_body(KIND_FOLLOWUP, CH_INAPP),
	    "客户 {customer.name}（{customer.code}，{customer.level} 类）"
	    "需要回访，时间 {reminder.due}。{reminder.note}");
	assert_string_equal(tmpl_default_subject(KIND_DIGEST, CH_INAPP),
	    "今日待办：{digest.counts}");
	assert_string_equal(tmpl_default_body(KIND_DIGEST, CH_INAPP),
	    "{digest.items}");
	assert_non_null(strstr(tmpl_default_body(KIND_RENEWAL, CH_INAPP),
	    "{contract.title}"));
	assert_non_null(strstr(tmpl_default_body(KIND_RENEWAL, CH_INAPP),
	    "{contract.end_date}"));
	assert_non_null(strstr(tmpl_default_subject(KIND_BIRTHDAY, CH_INAPP),
	    "{contact.name}"));
	assert_non_null(strstr(tmpl_default_body(KIND_ESCALATION, CH_EMAIL),
	    "{manager.name}"));
}

static void
test_utf8_check(void **state)
{
	const char ok[] = "回访\n张三 😀 é";
	const char bad[] = "一\n二\n\xe5\xbc";
	int line = 0;

	assert_int_equal(tmpl_utf8_check(ok, sizeof(ok) - 1, &line), 0);
	assert_int_equal(tmpl_utf8_check(bad, sizeof(bad) - 1, &line), -1);
	assert_int_equal(line, 3);
	/* A NUL byte inside the length is not text. */
	assert_int_equal(tmpl_utf8_check("a\0b", 3, &line), -1);
	/* A sequence cut off by the length is invalid even if more follows. */
	assert_int_equal(tmpl_utf8_check("\xe5\xbc\xa0", 2, &line), -1);
	assert_int_equal(tmpl_utf8_check("\xe5\xbc\xa0", 3, &line), 0);
}

/* A long template with many fields renders every segment in order. */
static void
test_many_segments(void **state)
{
	struct tmpl_vars v = { 0 };
	char *text, *out, *want;
	size_t i, n = 2000;
	struct tmpl *t;

	assert_non_null(text = malloc(n * 20 + 1));
	assert_non_null(want = malloc(n * 20 + 1));
	text[0] = want[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(text, i % 2 ? "{user.name}" : "甲{{");
		strcat(want, i % 2 ? "李\"" : "甲{");
	}
	v.v[TF_USER_NAME] = "李\"";
	t = compile_ok(text);
	assert_non_null(out = tmpl_render(t, &v, TE_TEXT));
	assert_string_equal(out, want);
	free(out);
	tmpl_free(t);
	free(text);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_placeholder),
		cmocka_unit_test(test_substitution),
		cmocka_unit_test(test_literal_braces),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_escape_text),
		cmocka_unit_test(test_escape_header),
		cmocka_unit_test(test_escape_form),
		cmocka_unit_test(test_escape_json),
		cmocka_unit_test(test_escape_html),
		cmocka_unit_test(test_webhook_json),
		cmocka_unit_test(test_webhook_custom),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_defaults_wording),
		cmocka_unit_test(test_utf8_check),
		cmocka_unit_test(test_many_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
