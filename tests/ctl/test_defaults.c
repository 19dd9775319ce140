/* crmctl.ini: system then user file, environment, command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "crmctl.h"

struct files {
	char	dir[64];
	char	sys[128];
	char	user[128];
};

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int
setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/crmctl-test.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/system.ini", f->dir);
	snprintf(f->user, sizeof(f->user), "%s/user.ini", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct files *f = *state;

	unlink(f->sys);
	unlink(f->user);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
load_ok(struct settings *s, const char *path)
{
	char *errors = (char *)"untouched";

	assert_int_equal(settings_load_file(s, path, &errors), 0);
	assert_null(errors);
}

static void
test_missing_file_is_fine(void **state)
{
	struct files *f = *state;
	struct settings s;

	settings_init(&s);
	load_ok(&s, f->sys);
	assert_null(s.socket);
	assert_int_equal(s.format, OUT_TABLE);
	assert_int_equal(s.timeout_s, 30);
}

static void
test_user_overrides_system(void **state)
{
	struct files *f = *state;
	struct settings s;

	write_file(f->sys, "; system defaults\nsocket = /run/sys.sock\n"
	    "format = json\ntimeout = 1m\n");
	write_file(f->user, "[crmctl]\n# mine\nsocket = /home/u/crmd.sock\n");
	settings_init(&s);
	load_ok(&s, f->sys);
	assert_string_equal(s.socket, "/run/sys.sock");
	load_ok(&s, f->user);
	assert_string_equal(s.socket, "/home/u/crmd.sock");
	assert_int_equal(s.format, OUT_JSON);	/* from system, not overridden */
	assert_int_equal(s.timeout_s, 60);
	settings_free(&s);
}

static void
test_errors_name_file_and_line(void **state)
{
	struct files *f = *state;
	struct settings s;
	char *errors = NULL, want[1024];

	write_file(f->user, "socket = /ok.sock\n\nsokcet = /typo\n"
	    "format = yaml\n[other]\nsocket = /x\ntimeout = soon\n");
	settings_init(&s);
	assert_int_equal(settings_load_file(&s, f->user, &errors), -1);
	snprintf(want, sizeof(want),
	    "%1$s:3: unknown key \"sokcet\" (known: socket, format, timeout)\n"
	    "%1$s:4: format: \"yaml\" is not table or json\n"
	    "%1$s:6: unknown section [other]\n"
	    "%1$s:7: unknown section [other]\n", f->user);
	assert_string_equal(errors, want);
	free(errors);
	settings_free(&s);
}

static void
test_syntax_error_line(void **state)
{
	struct files *f = *state;
	struct settings s;
	char *errors = NULL, want[1024];

	write_file(f->user, "format = table\nthis line has no equals\n");
	settings_init(&s);
	assert_int_equal(settings_load_file(&s, f->user, &errors), -1);
	snprintf(want, sizeof(want), "%s:2: syntax error: expected key = "
	    "value or [section]\n", f->user);
	assert_string_equal(errors, want);
	free(errors);
}

static void
test_long_line_is_an_error(void **state)
{
	struct files *f = *state;
	struct settings s;
	char text[600], *errors = NULL, want[1024];

	memset(text, 'x', sizeof(text));
	memcpy(text, "socket = /", 10);
	memcpy(text + sizeof(text) - 20, "\nformat = jsn\n", 15);
	write_file(f->user, text);
	settings_init(&s);
	assert_int_equal(settings_load_file(&s, f->user, &errors), -1);
	snprintf(want, sizeof(want), "%1$s:1: line longer than 198 bytes\n"
	    "%1$s:2: format: \"jsn\" is not table or json\n", f->user);
	assert_string_equal(errors, want);
	assert_null(s.socket);
	free(errors);
}

static void
test_precedence_env_and_flags(void **state)
{
	struct settings s;
	struct invocation inv;

	/* built-in default */
	memset(&inv, 0, sizeof(inv));
	inv.timeout_s = -1;
	settings_init(&s);
	assert_int_equal(settings_apply(&s, &inv, NULL), 0);
	assert_string_equal(s.socket, "/run/crmd/crmd.sock");
	settings_free(&s);

	/* ini < $CRMCTL_SOCKET < -s */
	settings_init(&s);
	s.socket = strdup("/from/ini");
	assert_int_equal(settings_apply(&s, &inv, ""), 0);
	assert_string_equal(s.socket, "/from/ini");	/* empty env ignored */
	assert_int_equal(settings_apply(&s, &inv, "/from/env"), 0);
	assert_string_equal(s.socket, "/from/env");
	inv.socket = "/from/flag";
	assert_int_equal(settings_apply(&s, &inv, "/from/env"), 0);
	assert_string_equal(s.socket, "/from/flag");

	/* --json beats format = table; --timeout beats timeout = */
	assert_int_equal(s.format, OUT_TABLE);
	inv.json = 1;
	inv.timeout_s = 5;
	assert_int_equal(settings_apply(&s, &inv, NULL), 0);
	assert_int_equal(s.format, OUT_JSON);
	assert_int_equal(s.timeout_s, 5);
	settings_free(&s);
}

static void
test_user_path(void **state)
{
	char *p;

	setenv("HOME", "/home/王", 1);
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	p = settings_user_path();
	assert_string_equal(p, "/xdg/crmctl.ini");
	free(p);
	setenv("XDG_CONFIG_HOME", "relative", 1);	/* ignored, per XDG */
	p = settings_user_path();
	assert_string_equal(p, "/home/王/.config/crmctl.ini");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	p = settings_user_path();
	assert_string_equal(p, "/home/王/.config/crmctl.ini");
	free(p);
	unsetenv("HOME");
	assert_null(settings_user_path());
}

static void
test_shipped_sample_loads(void **state)
{
	struct settings s;

	settings_init(&s);
	load_ok(&s, SAMPLE_INI);
	assert_null(s.socket);		/* everything commented out */
	assert_int_equal(s.format, OUT_TABLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_file_is_fine,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_overrides_system,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_name_file_and_line,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_error_line,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_is_an_error,
		    setup, teardown),
		cmocka_unit_test(test_precedence_env_and_flags),
		cmocka_unit_test(test_user_path),
		cmocka_unit_test(test_shipped_sample_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
