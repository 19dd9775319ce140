/* crmctl's command line: global options, the command table's bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crmctl.h"

#define ARGV(...)	((char *[]){ "crmctl", __VA_ARGS__, NULL })
#define ARGC(...)	((int)(sizeof((char *[]){ "crmctl", __VA_ARGS__ }) / \
			    sizeof(char *)))
#define PARSE(inv, err, ...) \
	parse_argv(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (inv), (err), \
	    sizeof(err))

static void
test_global_options(void **state)
{
	struct invocation inv;
	char err[256] = "";

	assert_int_equal(PARSE(&inv, err, "-s", "/tmp/x.sock", "--json",
	    "--timeout", "2m", "status"), 0);
	assert_string_equal(inv.socket, "/tmp/x.sock");
	assert_true(inv.json);
	assert_int_equal(inv.timeout_s, 120);
	assert_non_null(inv.cmd);
	assert_string_equal(inv.cmd->name, "status");
	assert_int_equal(inv.args.argc, 0);

	assert_int_equal(PARSE(&inv, err, "--socket=/a", "-j", "-t", "5",
	    "ping"), 0);
	assert_string_equal(inv.socket, "/a");
	assert_true(inv.json);
	assert_int_equal(inv.timeout_s, 5);
	assert_string_equal(inv.cmd->name, "ping");

	/* Nothing given: no socket, table format, timeout unset. */
	assert_int_equal(PARSE(&inv, err, "status"), 0);
	assert_null(inv.socket);
	assert_false(inv.json);
	assert_int_equal(inv.timeout_s, -1);
}

static void
test_json_after_command(void **state)
{
	struct invocation inv;
	char err[256];

	assert_int_equal(PARSE(&inv, err, "status", "--json"), 0);
	assert_true(inv.json);
	assert_string_equal(inv.cmd->name, "status");
}

static void
test_unknown_option(void **state)
{
	struct invocation inv;
	char err[256];

	assert_int_equal(PARSE(&inv, err, "--bogus", "status"), -1);
	assert_string_equal(err, "unknown option --bogus");
	assert_int_equal(PARSE(&inv, err, "-x", "status"), -1);
	assert_string_equal(err, "unknown option -x");
	assert_int_equal(PARSE(&inv, err, "status", "-q"), -1);
	assert_string_equal(err, "unknown option -q");
	assert_non_null(inv.cmd);		/* so main can print its usage */
	assert_string_equal(inv.cmd->name, "status");
	assert_int_equal(PARSE(&inv, err, "--json=yes", "status"), -1);
	assert_string_equal(err, "option --json takes no argument");
}

static void
test_missing_option_argument(void **state)
{
	struct invocation inv;
	char err[256];

	assert_int_equal(PARSE(&inv, err, "status", "-s"), -1);
	assert_string_equal(err, "unknown option -s");	/* global only */
	assert_int_equal(PARSE(&inv, err, "-s"), -1);
	assert_string_equal(err, "option -s needs an argument");
	assert_int_equal(PARSE(&inv, err, "--socket"), -1);
	assert_string_equal(err, "option --socket needs an argument");
	assert_int_equal(PARSE(&inv, err, "-s", "", "status"), -1);
	assert_int_equal(PARSE(&inv, err, "-t", "soon", "status"), -1);
	assert_non_null(strstr(err, "--timeout"));
	assert_int_equal(PARSE(&inv, err, "-t", "0", "status"), -1);
}

static void
test_arg_bounds(void **state)
{
	struct invocation inv;
	char err[256];

	assert_int_equal(PARSE(&inv, err, "status", "now"), -1);
	assert_string_equal(err, "status takes no arguments");
	assert_string_equal(inv.cmd->name, "status");
	assert_int_equal(PARSE(&inv, err, "reload", "a", "b"), -1);
	assert_int_equal(PARSE(&inv, err, "help", "a", "b", "c"), -1);
	assert_string_equal(err, "help: too many arguments");
	assert_int_equal(PARSE(&inv, err, "help", "status"), 0);
	assert_int_equal(inv.args.argc, 1);
	assert_string_equal(inv.args.argv[0], "status");
}

static void
test_no_or_unknown_command(void **state)
{
	struct invocation inv;
	char err[256];
	char *none[] = { "crmctl", NULL };

	assert_int_equal(parse_argv(1, none, &inv, err, sizeof(err)), -1);
	assert_string_equal(err, "no command given");
	assert_null(inv.cmd);
	assert_int_equal(PARSE(&inv, err, "frobnicate"), -1);
	assert_non_null(strstr(err, "unknown command \"frobnicate\""));
	assert_null(inv.cmd);
}

static void
test_help_and_version(void **state)
{
	struct invocation inv;
	char err[256];

	assert_int_equal(PARSE(&inv, err, "-h"), 0);
	assert_true(inv.help);
	assert_null(inv.cmd);
	assert_int_equal(PARSE(&inv, err, "--help"), 0);
	assert_true(inv.help);
	assert_int_equal(PARSE(&inv, err, "--version"), 0);
	assert_true(inv.version);
	/* -h after a command asks for that command, whatever its bounds. */
	assert_int_equal(PARSE(&inv, err, "status", "-h", "extra"), 0);
	assert_true(inv.help);
	assert_string_equal(inv.cmd->name, "status");
	assert_int_equal(PARSE(&inv, err, "help"), 0);
	assert_false(inv.help);
	assert_string_equal(inv.cmd->name, "help");
}

static void
test_table_is_consistent(void **state)
{
	int used;

	assert_true(cmd_count >= 4);
	for (size_t i = 0; i < cmd_count; i++) {
		const struct cmd_entry *c = &cmd_table[i];
		char *word = (char *)c->name;

		assert_non_null(c->exec);
		assert_non_null(c->usage);
		assert_non_null(c->summary);
		assert_true(c->min_args >= 0);
		assert_true(c->max_args < 0 || c->max_args >= c->min_args);
		assert_ptr_equal(cmd_find(1, &word, &used), c);
		if (i > 0)
			assert_true(strcmp(cmd_table[i - 1].name, c->name) < 0);
	}
	assert_string_equal(cmd_access_str(CMD_ADMIN), "admin");
	assert_string_equal(cmd_access_str(CMD_READONLY), "read-only");
	char *reload = "reload";
	assert_int_equal(cmd_find(1, &reload, &used)->access, CMD_ADMIN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global_options),
		cmocka_unit_test(test_json_after_command),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_option_argument),
		cmocka_unit_test(test_arg_bounds),
		cmocka_unit_test(test_no_or_unknown_command),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_table_is_consistent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
