/* crmctl's command line: global options, the command table's bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
test_command_long_options(void **state)
{
	struct invocation inv;
	char err[256];

	assert_int_equal(PARSE(&inv, err, "reminder", "add", "--customer", "3",
	    "--at", "2030-01-01 09:00", "--note=确认报价", "--json"), 0);
	assert_string_equal(inv.cmd->name, "reminder add");
	assert_true(inv.json);
	assert_true(inv.args.set['c']);
	assert_string_equal(inv.args.value['c'], "3");
	assert_string_equal(inv.args.value['a'], "2030-01-01 09:00");
	assert_string_equal(inv.args.value['n'], "确认报价");
	assert_false(inv.args.set['u']);
	assert_int_equal(inv.args.argc, 0);

	/* The letter is the short form. */
	assert_int_equal(PARSE(&inv, err, "plan", "add", "-c", "4", "-r",
	    "FREQ=DAILY"), 0);
	assert_string_equal(inv.cmd->name, "plan add");
	assert_string_equal(inv.args.value['r'], "FREQ=DAILY");

	/* Only the command's own options. */
	assert_int_equal(PARSE(&inv, err, "reminder", "list", "--rrule", "x"),
	    -1);
	assert_string_equal(err, "unknown option --rrule");
	assert_int_equal(PARSE(&inv, err, "today", "--state", "fired"), -1);
	assert_string_equal(err, "unknown option --state");
	assert_int_equal(PARSE(&inv, err, "plan", "add", "--customer"), -1);
	assert_string_equal(err, "option --customer needs an argument");
	assert_int_equal(PARSE(&inv, err, "reminder", "list", "--limit", "5",
	    "--state", "fired"), 0);
	assert_string_equal(inv.args.value['l'], "5");
	assert_string_equal(inv.args.value['S'], "fired");
}

static void
test_two_word_commands(void **state)
{
	struct invocation inv;
	char err[256];

	assert_int_equal(PARSE(&inv, err, "reminder", "snooze", "7", "2h"), 0);
	assert_string_equal(inv.cmd->name, "reminder snooze");
	assert_int_equal(inv.args.argc, 2);
	assert_string_equal(inv.args.argv[0], "7");
	assert_string_equal(inv.args.argv[1], "2h");
	assert_int_equal(PARSE(&inv, err, "reminder", "snooze", "7"), -1);
	assert_string_equal(err, "reminder snooze: missing argument");
	assert_int_equal(PARSE(&inv, err, "plan", "pause", "1", "2"), -1);
	assert_string_equal(err, "plan pause: too many arguments");
	assert_int_equal(PARSE(&inv, err, "reminder"), -1);
	assert_null(inv.cmd);
	assert_int_equal(PARSE(&inv, err, "reminder", "frob"), -1);
	assert_non_null(strstr(err, "unknown command \"reminder\""));
	assert_string_equal(cmd_option_name('c'), "customer");
	assert_null(cmd_option_name('Z'));
}

static void
test_table_is_consistent(void **state)
{
	int used;

	assert_true(cmd_count >= 4);
	for (size_t i = 0; i < cmd_count; i++) {
		const struct cmd_entry *c = &cmd_table[i];
		char name[64], *words[4], *save = NULL;
		int n = 0;

		/* "reminder add" is typed as two words. */
		snprintf(name, sizeof(name), "%s", c->name);
		for (char *w = strtok_r(name, " ", &save); w != NULL && n < 4;
		    w = strtok_r(NULL, " ", &save))
			words[n++] = w;

		assert_non_null(c->exec);
		assert_non_null(c->usage);
		assert_non_null(c->summary);
		assert_true(c->min_args >= 0);
		assert_true(c->max_args < 0 || c->max_args >= c->min_args);
		assert_ptr_equal(cmd_find(n, words, &used), c);
		assert_int_equal(used, n);
		/* Every option letter has a long name. */
		for (const char *o = c->opts; o != NULL && *o != '\0'; o++)
			if (*o != ':')
				assert_non_null(cmd_option_name(*o));
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
		cmocka_unit_test(test_command_long_options),
		cmocka_unit_test(test_two_word_commands),
		cmocka_unit_test(test_table_is_consistent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
