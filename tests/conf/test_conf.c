/*
 * conf_load(): what a loaded config holds.  The golden corpus in bad/
 * covers the error messages; these tests cover the values: defaults,
 * relative paths, resolved groups, and what a reload must not change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static char	tmpdir[] = "/tmp/test_conf.XXXXXX";

/* Writes text to NAME in the private directory; returns its path. */
static const char *
write_conf(const char *name, const char *text)
{
	static char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static struct crmd_conf *
load_ok(const char *name, const char *text)
{
	struct crmd_conf *c;
	char *errors = (char *)"unset";

	c = conf_load(write_conf(name, text), &errors);
	if (c == NULL)
		fail_msg("%s: %s", name, errors ? errors : "(null)");
	assert_null(errors);
	return c;
}

static void
test_defaults(void **state)
{
	struct crmd_conf *c = load_ok("empty.conf", "");

	assert_string_equal(c->database, "/var/lib/crmd/crmd.db");
	assert_string_equal(c->socket, "/run/crmd/crmd.sock");
	assert_null(c->socket_group);
	assert_int_equal(c->socket_gid, (gid_t)-1);
	assert_string_equal(c->timezone, "UTC");
	assert_null(c->admin_group);
	assert_int_equal(c->admin_gid, (gid_t)-1);
	assert_null(c->read_group);
	assert_int_equal(c->read_gid, (gid_t)-1);
	assert_int_equal(c->log_target, CONF_LOG_STDERR);
	assert_int_equal(c->log_debug, 0);
	assert_int_equal(c->busy_timeout_ms, 5000);
	assert_int_equal(c->ctl_max_clients, 64);
	assert_int_equal(c->ctl_idle_timeout, 60);
	assert_int_equal(c->ctl_max_request, 65536);
	assert_non_null(strstr(c->path, "/empty.conf"));
	assert_int_equal(c->path[0], '/');
	conf_free(c);
}

static void
test_values(void **state)
{
	struct crmd_conf *c = load_ok("values.conf",
	    "timezone = \"Asia/Shanghai\";\n"
	    "admin_group = \"root\";\n"
	    "log = { target = \"syslog\"; level = \"debug\"; };\n"
	    "busy_timeout = \"1m\";\n"
	    "control = { max_clients = 3; idle_timeout = \"1h30m\";"
	    " max_request = 2048; };\n");

	assert_string_equal(c->timezone, "Asia/Shanghai");
	assert_string_equal(c->admin_group, "root");
	assert_int_equal(c->admin_gid, 0);
	/* No socket_group or read_group: the socket goes to the admins. */
	assert_null(c->socket_group);
	assert_int_equal(c->socket_gid, 0);
	assert_int_equal(c->log_target, CONF_LOG_SYSLOG);
	assert_int_equal(c->log_debug, 1);
	assert_int_equal(c->busy_timeout_ms, 60000);
	assert_int_equal(c->ctl_max_clients, 3);
	assert_int_equal(c->ctl_idle_timeout, 5400);
	assert_int_equal(c->ctl_max_request, 2048);
	conf_free(c);
}

static void
test_socket_group_order(void **state)
{
	struct crmd_conf *c;

	/* read_group wins over admin_group ... */
	c = load_ok("sg1.conf", "admin_group = \"root\";\n"
	    "read_group = \"nogroup\";\n");
	assert_int_equal(c->read_gid, 65534);
	assert_int_equal(c->socket_gid, 65534);
	conf_free(c);

	/* ... and socket_group wins over both. */
	c = load_ok("sg2.conf", "admin_group = \"root\";\n"
	    "read_group = \"nogroup\";\nsocket_group = \"adm\";\n");
	assert_string_equal(c->socket_group, "adm");
	assert_int_equal(c->socket_gid, 4);
	conf_free(c);
}

static void
test_relative_paths(void **state)
{
	char cwd[PATH_MAX], want[PATH_MAX + 32];
	struct crmd_conf *c;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	c = load_ok("rel.conf", "database = \"var/客户.db\";\n"
	    "socket = \"var/crmd.sock\";\n");
	snprintf(want, sizeof(want), "%s/var/客户.db", cwd);
	assert_string_equal(c->database, want);
	snprintf(want, sizeof(want), "%s/var/crmd.sock", cwd);
	assert_string_equal(c->socket, want);
	conf_free(c);

	/* Absolute paths are kept as written. */
	c = load_ok("abs.conf", "database = \"/srv/crm/crm.db\";\n");
	assert_string_equal(c->database, "/srv/crm/crm.db");
	conf_free(c);
}

static void
test_missing_file(void **state)
{
	char *errors = NULL, want[PATH_MAX + 64];
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
	assert_null(conf_load(path, &errors));
	snprintf(want, sizeof(want),
	    "%s: cannot open: No such file or directory\n", path);
	assert_string_equal(errors, want);
	free(errors);
}

/* A failed load returns every error and no config. */
static void
test_errors_all_reported(void **state)
{
	char *errors = NULL, *p;
	int lines = 0;

	assert_null(conf_load(write_conf("bad.conf",
	    "a = 1;\nb = 2;\ncontrol = { c = 3; };\n"), &errors));
	assert_non_null(errors);
	for (p = errors; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 3);
	assert_non_null(strstr(errors, "bad.conf:3: unknown key 'control.c'"));
	free(errors);
}

static void
test_restart_only_changes(void **state)
{
	struct crmd_conf *a, *b;
	char *changed;

	a = load_ok("r1.conf", "database = \"/a.db\";\n");
	b = load_ok("r2.conf", "database = \"/a.db\";\n"
	    "timezone = \"Asia/Shanghai\";\ncontrol = { max_clients = 2; };\n");
	/* Reloadable keys differ; nothing restart-only does. */
	assert_null(conf_restart_only_changes(a, b));
	conf_free(b);

	b = load_ok("r3.conf", "database = \"/b.db\";\n"
	    "socket = \"/tmp/x.sock\";\n");
	assert_non_null(changed = conf_restart_only_changes(a, b));
	assert_string_equal(changed, "database, socket");
	free(changed);
	conf_free(b);

	/* A new read_group moves the socket's group: that needs a restart. */
	b = load_ok("r4.conf", "database = \"/a.db\";\n"
	    "read_group = \"adm\";\n");
	assert_non_null(changed = conf_restart_only_changes(a, b));
	assert_string_equal(changed, "socket_group");
	free(changed);
	conf_free(b);
	conf_free(a);
}

static void
test_tzdir(void **state)
{
	struct crmd_conf *c;
	char *errors = NULL;

	/* $TZDIR is where zone names are looked up. */
	setenv("TZDIR", tmpdir, 1);
	write_conf("Fake_Zone", "TZif2 not really, but the magic is right");
	c = load_ok("tz.conf", "timezone = \"Fake_Zone\";\n");
	assert_string_equal(c->timezone, "Fake_Zone");
	conf_free(c);
	assert_null(conf_load(write_conf("tz2.conf",
	    "timezone = \"Asia/Shanghai\";\n"), &errors));
	assert_non_null(strstr(errors, "tz2.conf:1: 'timezone': unknown time "
	    "zone \"Asia/Shanghai\""));
	free(errors);
	unsetenv("TZDIR");
}

static int
setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_socket_group_order),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_errors_all_reported),
		cmocka_unit_test(test_restart_only_changes),
		cmocka_unit_test(test_tzdir),
	};

	unsetenv("TZDIR");
	return cmocka_run_group_tests(tests, setup, teardown);
}
