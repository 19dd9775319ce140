/* The output layer: tables aligned by display width, and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crmctl.h"

struct capture {
	FILE	*fp;
	char	*buf;
	size_t	 len;
};

static void
cap_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	assert_non_null(c->fp = open_memstream(&c->buf, &c->len));
}

static char *
cap_close(struct capture *c)
{
	fclose(c->fp);
	return c->buf;
}

static const struct out_column customer_cols[] = {
	{ "ID", "id", ALIGN_RIGHT },
	{ "NAME", "name", ALIGN_LEFT },
	{ "CITY", "city", ALIGN_LEFT },
	{ "DUE", "due", ALIGN_LEFT },
};

#define CUSTOMERS \
	"[{\"id\": 7, \"name\": \"张三\", \"city\": \"上海\", \"due\": true}," \
	" {\"id\": 12, \"name\": \"Li Lei\", \"city\": \"Beijing\", \"due\": false}," \
	" {\"id\": 130, \"name\": \"欧阳小明\", \"city\": null}]"

static void
test_list_chinese_columns_line_up(void **state)
{
	json_t *rows = json_loads(CUSTOMERS, 0, NULL);
	struct capture c;

	assert_non_null(rows);
	cap_open(&c);
	assert_int_equal(out_list(c.fp, OUT_TABLE, customer_cols, 4, rows), 0);
	assert_string_equal(cap_close(&c),
	    " ID  NAME      CITY     DUE\n"
	    "  7  张三      上海     yes\n"
	    " 12  Li Lei    Beijing  no\n"
	    "130  欧阳小明  -        -\n");
	free(c.buf);
	json_decref(rows);
}

static void
test_list_json_is_the_array(void **state)
{
	json_t *rows = json_loads(CUSTOMERS, 0, NULL), *back;
	struct capture c;

	cap_open(&c);
	assert_int_equal(out_list(c.fp, OUT_JSON, customer_cols, 4, rows), 0);
	cap_close(&c);
	back = json_loads(c.buf, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, rows));
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(back, 0), "name")), "张三");
	assert_non_null(strstr(c.buf, "\"张三\""));	/* UTF-8, not \u escapes */
	free(c.buf);
	json_decref(back);
	json_decref(rows);
	assert_int_equal(out_list(stdout, OUT_TABLE, customer_cols, 4,
	    json_null()), -1);
}

static void
test_hostile_cells_are_neutralised(void **state)
{
	static const char *const hdr[] = { "NAME", "NOTE" };
	static const char *const row1[] = { "\x1b[31mred\x1b[0m", "a\nb" };
	static const char *const row2[] = { "王\xff", "ok" };
	struct table *t = table_new(2, hdr, NULL);
	struct capture c;

	assert_non_null(t);
	assert_int_equal(table_add_row(t, row1), 0);
	assert_int_equal(table_add_row(t, row2), 0);
	cap_open(&c);
	assert_int_equal(table_print(t, c.fp), 0);
	assert_string_equal(cap_close(&c),
	    "NAME                NOTE\n"
	    "\\x1b[31mred\\x1b[0m  a\\nb\n"
	    "王\xef\xbf\xbd                 ok\n");
	assert_null(memchr(c.buf, 0x1b, c.len));
	free(c.buf);
	table_free(t);
}

static void
test_kv_and_no_trailing_blanks(void **state)
{
	static const char *const kv[] = {
		"version", "0.1.0",
		"数据库", "/var/lib/客户.db",
		"pending reminders", "5",
	};
	struct capture c;

	cap_open(&c);
	assert_int_equal(out_kv(c.fp, kv, 3), 0);
	assert_string_equal(cap_close(&c),
	    "version            0.1.0\n"
	    "数据库             /var/lib/客户.db\n"
	    "pending reminders  5\n");
	assert_null(strstr(c.buf, " \n"));
	free(c.buf);
}

static void
test_json_cell(void **state)
{
	static const struct { const char *json; const char *cell; } cases[] = {
		{ "\"张三\"", "张三" }, { "42", "42" }, { "-7", "-7" },
		{ "1.5", "1.5" }, { "true", "yes" }, { "false", "no" },
		{ "null", "-" }, { "[1,\"a\"]", "[1,\"a\"]" },
		{ "{\"k\":1}", "{\"k\":1}" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		char *s = json_cell(v);

		assert_string_equal(s, cases[i].cell);
		free(s);
		json_decref(v);
	}
	char *missing = json_cell(NULL);
	assert_string_equal(missing, "-");
	free(missing);
}

static void
test_out_errorx_cleans(void **state)
{
	struct capture c;

	cap_open(&c);
	out_errorx(c.fp, "bad name %s", "x\x1b]0;t\x07");
	assert_string_equal(cap_close(&c), "crmctl: bad name x\\x1b]0;t\\x07\n");
	free(c.buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_chinese_columns_line_up),
		cmocka_unit_test(test_list_json_is_the_array),
		cmocka_unit_test(test_hostile_cells_are_neutralised),
		cmocka_unit_test(test_kv_and_no_trailing_blanks),
		cmocka_unit_test(test_json_cell),
		cmocka_unit_test(test_out_errorx_cleans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
