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
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "template.h"

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

/* Renders conf message m's part with every field set to its own name. */
static char *
render_named(const struct tmpl *t)
{
	struct tmpl_vars v = { 0 };
	char *out;

	for (int f = 0; f < TF_MAX; f++)
		v.v[f] = tmpl_field_name(f);
	assert_non_null(t);
	assert_non_null(out = tmpl_render(t, &v, TE_TEXT));
	return out;
}

static void
test_reminder_defaults(void **state)
{
	struct crmd_conf *c = load_ok("rdefaults.conf", "");
	char *out;

	/* Mon-Fri 09:00-18:00, bit 0 = Sunday. */
	assert_int_equal(c->working_hours.days, 0x3e);
	assert_int_equal(c->working_hours.start, 9 * 60);
	assert_int_equal(c->working_hours.end, 18 * 60);
	assert_null(c->working_hours.holidays);
	assert_int_equal(c->working_hours.nholidays, 0);
	assert_int_equal(c->immediate_channels, CH_BIT(CH_INAPP));
	assert_int_equal(c->renewal_days_before, 30);
	assert_int_equal(c->renewal_time, 9 * 60 + 30);
	assert_int_equal(c->birthday_time, 9 * 60);
	assert_int_equal(c->catchup_max_age, 86400);
	assert_int_equal(c->escalation_after, 86400);
	assert_int_equal(c->digest_time, 8 * 60 + 30);
	assert_int_equal(c->kind_channels[KIND_FOLLOWUP],
	    CH_BIT(CH_INAPP) | CH_BIT(CH_EMAIL));
	assert_int_equal(c->kind_channels[KIND_CALLBACK],
	    CH_BIT(CH_INAPP) | CH_BIT(CH_SMS));
	assert_int_equal(c->kind_channels[KIND_RENEWAL],
	    CH_BIT(CH_INAPP) | CH_BIT(CH_EMAIL));
	assert_int_equal(c->kind_channels[KIND_BIRTHDAY], CH_BIT(CH_INAPP));
	assert_int_equal(c->kind_channels[KIND_CUSTOM], CH_BIT(CH_INAPP));
	/* Every message has a body; inapp and email a subject, sms none. */
	for (int k = 0; k < KIND_MAX; k++) {
		for (int ch = 0; ch < CH_MAX; ch++) {
			const struct conf_message *m = &c->messages[k][ch];

			assert_non_null(m->body);
			assert_int_equal(m->subject != NULL,
			    ch == CH_INAPP || ch == CH_EMAIL);
		}
	}
	out = render_named(c->messages[KIND_FOLLOWUP][CH_INAPP].subject);
	assert_string_equal(out, "【回访提醒】customer.namereminder.late");
	free(out);
	conf_free(c);
}

static void
test_reminder_values(void **state)
{
	struct crmd_conf *c = load_ok("rvalues.conf",
	    "working_hours = {\n"
	    "  days = [\"sun\", \"sat\"];\n"
	    "  start = \"00:00\"; end = \"24:00\";\n"
	    "  holidays = [\"2027-01-01\", \"2026-10-01\", \"2026-02-17\"];\n"
	    "  immediate = [];\n"
	    "};\n"
	    "renewal = { days_before = 0; time = \"23:59\"; };\n"
	    "birthday = { time = \"07:05\"; };\n"
	    "catchup = { max_age = \"0s\"; };\n"
	    "escalation = { after = \"30d\"; };\n"
	    "digest = { time = \"00:00\"; };\n"
	    "reminders = { followup = []; callback = [\"webhook\", \"sms\"];"
	    " birthday = (\"inapp\", \"email\"); };\n");

	assert_int_equal(c->working_hours.days, 0x41);
	assert_int_equal(c->working_hours.start, 0);
	assert_int_equal(c->working_hours.end, 1440);
	/* Sorted, whatever the order in the file. */
	assert_int_equal(c->working_hours.nholidays, 3);
	assert_int_equal(c->working_hours.holidays[0].year, 2026);
	assert_int_equal(c->working_hours.holidays[0].mon, 2);
	assert_int_equal(c->working_hours.holidays[0].day, 17);
	assert_int_equal(c->working_hours.holidays[1].mon, 10);
	assert_int_equal(c->working_hours.holidays[2].year, 2027);
	assert_int_equal(c->immediate_channels, 0);
	assert_int_equal(c->renewal_days_before, 0);
	assert_int_equal(c->renewal_time, 23 * 60 + 59);
	assert_int_equal(c->birthday_time, 7 * 60 + 5);
	assert_int_equal(c->catchup_max_age, 0);
	assert_int_equal(c->escalation_after, 30 * 86400);
	assert_int_equal(c->digest_time, 0);
	/* inapp is always there, listed or not. */
	assert_int_equal(c->kind_channels[KIND_FOLLOWUP], CH_BIT(CH_INAPP));
	assert_int_equal(c->kind_channels[KIND_CALLBACK],
	    CH_BIT(CH_INAPP) | CH_BIT(CH_SMS) | CH_BIT(CH_WEBHOOK));
	assert_int_equal(c->kind_channels[KIND_BIRTHDAY],
	    CH_BIT(CH_INAPP) | CH_BIT(CH_EMAIL));
	/* Kinds not mentioned keep their defaults. */
	assert_int_equal(c->kind_channels[KIND_RENEWAL],
	    CH_BIT(CH_INAPP) | CH_BIT(CH_EMAIL));
	conf_free(c);
}

/*
 * Configured templates replace the built-in ones piece by piece; a
 * body_file is found relative to the config file, not the working
 * directory, and loses one final newline.
 */
static void
test_templates(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], *errors = NULL, *out;
	struct crmd_conf *c;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/etc", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/续约.tmpl", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("《{contract.title}》\n{{到期}} {contract.end_date}\n", fp);
	assert_int_equal(fclose(fp), 0);
	snprintf(path, sizeof(path), "%s/crmd.conf", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("templates = {\n"
	    "  renewal = {\n"
	    "    email = { body_file = \"续约.tmpl\"; };\n"
	    "    webhook = { subject = \"续约 {customer.name}\"; };\n"
	    "  };\n"
	    "  followup = { inapp = { subject = \"回访 {customer.name}\"; }; };\n"
	    "};\n", fp);
	assert_int_equal(fclose(fp), 0);

	if ((c = conf_load(path, &errors)) == NULL)
		fail_msg("%s", errors);
	out = render_named(c->messages[KIND_RENEWAL][CH_EMAIL].body);
	assert_string_equal(out, "《contract.title》\n{到期} contract.end_date");
	free(out);
	/* The subject of that message is still the built-in one. */
	out = render_named(c->messages[KIND_RENEWAL][CH_EMAIL].subject);
	assert_non_null(strstr(out, "【合同续约】"));
	free(out);
	out = render_named(c->messages[KIND_RENEWAL][CH_WEBHOOK].subject);
	assert_string_equal(out, "续约 customer.name");
	free(out);
	out = render_named(c->messages[KIND_FOLLOWUP][CH_INAPP].subject);
	assert_string_equal(out, "回访 customer.name");
	free(out);
	out = render_named(c->messages[KIND_FOLLOWUP][CH_INAPP].body);
	assert_non_null(strstr(out, "需要回访"));
	free(out);
	conf_free(c);
}

static void
test_body_file_limits(void **state)
{
	char tmpl[PATH_MAX], conf[PATH_MAX * 2], *errors = NULL, *big;
	struct crmd_conf *c;
	FILE *fp;

	/* Exactly 64 KiB loads, an absolute path works ... */
	snprintf(tmpl, sizeof(tmpl), "%s/big.tmpl", tmpdir);
	assert_non_null(big = malloc(64 * 1024 + 2));
	memset(big, 'x', 64 * 1024 + 1);
	big[64 * 1024] = '\0';
	assert_non_null(fp = fopen(tmpl, "w"));
	fputs(big, fp);
	assert_int_equal(fclose(fp), 0);
	snprintf(conf, sizeof(conf), "templates = { custom = { email = "
	    "{ body_file = \"%s\"; }; }; };\n", tmpl);
	c = load_ok("big.conf", conf);
	free(render_named(c->messages[KIND_CUSTOM][CH_EMAIL].body));
	conf_free(c);

	/* ... one byte more does not. */
	assert_non_null(fp = fopen(tmpl, "a"));
	fputc('x', fp);
	assert_int_equal(fclose(fp), 0);
	assert_null(conf_load(write_conf("big.conf", conf), &errors));
	assert_non_null(strstr(errors, "big.conf:1: 'templates.custom.email."
	    "body_file': \""));
	assert_non_null(strstr(errors, "/big.tmpl\" must be a regular file "
	    "of at most 64 KiB\n"));
	free(errors);

	/* A directory is not a template. */
	snprintf(conf, sizeof(conf), "templates = { custom = { email = "
	    "{ body_file = \"%s\"; }; }; };\n", tmpdir);
	assert_null(conf_load(write_conf("dir.conf", conf), &errors));
	assert_non_null(strstr(errors, "must be a regular file"));
	free(errors);
	free(big);
}

/* Every new key is reloadable: none is reported as needing a restart. */
static void
test_reminder_keys_reload(void **state)
{
	struct crmd_conf *a, *b;

	a = load_ok("rr1.conf", "");
	b = load_ok("rr2.conf", "working_hours = { days = [\"mon\"]; "
	    "holidays = [\"2026-10-01\"]; immediate = [\"sms\"]; };\n"
	    "renewal = { days_before = 7; };\ncatchup = { max_age = \"1h\"; };\n"
	    "reminders = { custom = [\"email\"]; };\n"
	    "templates = { digest = { sms = { body = \"{digest.counts}\"; }; };"
	    " };\n");
	assert_null(conf_restart_only_changes(a, b));
	conf_free(a);
	conf_free(b);
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
		cmocka_unit_test(test_reminder_defaults),
		cmocka_unit_test(test_reminder_values),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_body_file_limits),
		cmocka_unit_test(test_reminder_keys_reload),
	};

	unsetenv("TZDIR");
	return cmocka_run_group_tests(tests, setup, teardown);
}
