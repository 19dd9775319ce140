/*
 * conf_load(): what a loaded config holds.  The golden corpus in bad/
 * covers the error messages; these tests cover the values: defaults,
 * relative paths, resolved groups, and what a reload must not change,
 * and for delivery the secrets, whose files need modes git cannot keep.
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
#include <fcntl.h>
#include <unistd.h>

#include "conf.h"
#include "gateway.h"
#include "rules.h"
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

/* Writes a secret file with exactly mode; returns its (static) path. */
static const char *
write_secret(const char *name, mode_t mode, const char *text)
{
	static char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	assert_int_not_equal(fd = open(path, O_WRONLY | O_CREAT | O_EXCL,
	    0600), -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
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

/* -- delivery ---------------------------------------------------------- */

static void
assert_pace(const struct conf_pace *p, double rate, int burst, int conc,
    int64_t connect_ms, int64_t timeout_ms)
{
	assert_true(p->rate == rate);
	assert_int_equal(p->burst, burst);
	assert_int_equal(p->concurrency, conc);
	assert_int_equal(p->connect_timeout_ms, connect_ms);
	assert_int_equal(p->timeout_ms, timeout_ms);
}

/* No delivery keys: no channel, Postfix's retry schedule, 21:00-08:00. */
static void
test_delivery_defaults(void **state)
{
	struct crmd_conf *c = load_ok("ddefaults.conf", "");
	const struct conf_delivery *d = &c->delivery;

	assert_int_equal(d->email.configured, 0);
	assert_int_equal(d->sms.http.configured, 0);
	assert_int_equal(d->webhook.configured, 0);
	assert_int_equal(d->sms.has_national, 0);
	assert_null(d->sms.preset);
	assert_null(d->email.url);
	assert_null(d->email.password);
	assert_null(d->sms.http.gw.url);
	assert_int_equal(d->email.starttls, STARTTLS_TRY);
	assert_int_equal(d->sms.http.gw.format, GW_FORM);
	assert_int_equal(d->webhook.gw.format, GW_JSON);
	assert_pace(&d->email.pace, 0, 1, 4, 10000, 60000);
	assert_pace(&d->sms.http.pace, 0, 1, 4, 10000, 60000);
	assert_pace(&d->webhook.pace, 0, 1, 4, 10000, 60000);
	assert_int_equal(d->outbox.backoff_min, 300);
	assert_int_equal(d->outbox.backoff_max, 4000);
	assert_int_equal(d->outbox.lifetime, 5 * 86400);
	assert_int_equal(d->outbox.lease, 60 + 60);
	assert_int_equal(d->quiet_start, 21 * 60);
	assert_int_equal(d->quiet_end, 8 * 60);
	conf_free(c);
}

static void
test_delivery_email(void **state)
{
	char pw[PATH_MAX], ca[PATH_MAX], text[3 * PATH_MAX];
	struct crmd_conf *c;
	const struct conf_email *e;

	snprintf(pw, sizeof(pw), "%s", write_secret("smtp.pass", 0600,
	    "s3cret 密码\n"));
	snprintf(ca, sizeof(ca), "%s", write_conf("ca.pem",
	    "-----BEGIN CERTIFICATE-----\n"));
	snprintf(text, sizeof(text), "channels = { email = {\n"
	    "  url = \"smtps://smtp.example.com:465\";\n"
	    "  from = \"客户管理系统 <crm@example.com>\";\n"
	    "  username = \"crm@example.com\";\n"
	    "  password_file = \"%s\";\n"
	    "  starttls = \"required\";\n"
	    "  cafile = \"%s\";\n"
	    "  rate = 2.5;\n"
	    "  timeout = \"2m\";\n"
	    "}; };\n", pw, ca);
	c = load_ok("email.conf", text);
	e = &c->delivery.email;
	assert_int_equal(e->configured, 1);
	assert_string_equal(e->url, "smtps://smtp.example.com:465");
	assert_string_equal(e->from_name, "客户管理系统");
	assert_string_equal(e->from_addr, "crm@example.com");
	assert_string_equal(e->username, "crm@example.com");
	assert_string_equal(e->password, "s3cret 密码");
	assert_int_equal(e->starttls, STARTTLS_REQUIRED);
	assert_string_equal(e->cafile, ca);
	/* burst defaults to the rate, rounded up. */
	assert_pace(&e->pace, 2.5, 3, 4, 10000, 120000);
	/* The lease outlasts the longest configured transfer. */
	assert_int_equal(c->delivery.outbox.lease, 120 + 60);
	assert_int_equal(c->delivery.sms.http.configured, 0);
	conf_free(c);
}

/* The sender's display name: optional, quoted or not, Chinese intact. */
static void
test_delivery_from(void **state)
{
	static const struct { const char *in, *name, *addr; } ok[] = {
		{ "crm@example.com", NULL, "crm@example.com" },
		{ "<crm@example.com>", NULL, "crm@example.com" },
		{ "  张三   <zhang@example.com> ", "张三", "zhang@example.com" },
		{ "\\\"销售部 · 华东\\\" <sales@example.com>", "销售部 · 华东",
		  "sales@example.com" },
	};
	char text[512], *errors = NULL;
	struct crmd_conf *c;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "channels = { email = { url = "
		    "\"smtp://127.0.0.1\"; from = \"%s\"; }; };\n", ok[i].in);
		c = load_ok("from.conf", text);
		if (ok[i].name == NULL)
			assert_null(c->delivery.email.from_name);
		else
			assert_string_equal(c->delivery.email.from_name,
			    ok[i].name);
		assert_string_equal(c->delivery.email.from_addr, ok[i].addr);
		conf_free(c);
	}
	/* A CR in the name would start a header of its own. */
	assert_null(conf_load(write_conf("from.conf", "channels = { email = "
	    "{ url = \"smtp://127.0.0.1\"; from = \"张\\r\\n三 "
	    "<a@example.com>\"; }; };\n"), &errors));
	assert_non_null(strstr(errors, "from.conf:1: 'channels.email.from': "
	    "\"张??三 <a@example.com>\" is not an address (the name must be "
	    "one line of UTF-8 text)"));
	free(errors);
}

static void
test_delivery_twilio(void **state)
{
	char text[PATH_MAX + 512], *err = NULL, *norm = NULL;
	const struct gw_conf *g;
	struct gw_msg m = { "+8613800138000", "您好 & 再见", NULL, "key-1" };
	struct gw_request req;
	struct crmd_conf *c;
	const char *why;

	snprintf(text, sizeof(text), "channels = { sms = {\n"
	    "  preset = \"twilio\";\n"
	    "  account = \"AC0123456789abcdef\";\n"
	    "  from = \"+15005550006\";\n"
	    "  token_file = \"%s\";\n"
	    "  national = { regex = \"1[3-9][0-9]{9}\"; country = \"86\"; };\n"
	    "  concurrency = 2;\n"
	    "}; };\n", write_secret("twilio.token", 0400, "tw-token\n"));
	c = load_ok("twilio.conf", text);
	g = &c->delivery.sms.http.gw;
	assert_int_equal(c->delivery.sms.http.configured, 1);
	assert_string_equal(c->delivery.sms.preset, "twilio");
	assert_string_equal(g->url, "https://api.twilio.com/2010-04-01/"
	    "Accounts/AC0123456789abcdef/Messages.json");
	assert_string_equal(g->method, "POST");
	assert_int_equal(g->format, GW_FORM);
	assert_string_equal(g->auth_user, "AC0123456789abcdef");
	assert_string_equal(g->auth_secret, "tw-token");
	assert_string_equal(g->json_field, "status");
	assert_int_equal(g->njson_ok, 5);
	assert_int_equal(c->delivery.sms.http.pace.concurrency, 2);

	/* The expanded body carries To, From and Body, form-encoded. */
	assert_int_equal(gw_build(g, &m, &req, &err), 0);
	assert_string_equal(req.body, "To=%2B8613800138000&From=%2B15005550006"
	    "&Body=%E6%82%A8%E5%A5%BD+%26+%E5%86%8D%E8%A7%81");
	gw_request_free(&req);

	/* A national number gets the country code. */
	assert_int_equal(c->delivery.sms.has_national, 1);
	assert_int_equal(phone_validate("138 0013 8000",
	    &c->delivery.sms.national, &norm, &why), 0);
	assert_string_equal(norm, "+8613800138000");
	free(norm);
	conf_free(c);
}

static void
test_delivery_http(void **state)
{
	char text[PATH_MAX + 2048];
	const struct gw_conf *g, *w;
	struct crmd_conf *c;

	snprintf(text, sizeof(text), "channels = {\n"
	    "  sms = {\n"
	    "    url = \"https://sms.example.cn/v1/send\";\n"
	    "    method = \"PUT\";\n"
	    "    headers = [ \"X-Api-Key: 4f1c\", \"Accept: */*\" ];\n"
	    "    format = \"json\";\n"
	    "    body = \"{{\\\"to\\\":\\\"{to}\\\","
	    "\\\"text\\\":\\\"{text}\\\"}}\";\n"
	    "    sent_codes = [ 202 ];\n"
	    "    retry_codes = [ 409, 423 ];\n"
	    "    dead_codes = [ 500 ];\n"
	    "    json_field = \"data.status\";\n"
	    "    json_ok = [ \"OK\", \"0\" ];\n"
	    "    json_retry = [ \"BUSY\" ];\n"
	    "    username = \"crm\";\n"
	    "    password_file = \"%s\";\n"
	    "    rate = 0.5;\n"
	    "    timeout = \"90s\";\n"
	    "  };\n"
	    "  webhook = {\n"
	    "    url = \"https://oapi.dingtalk.com/robot/send?"
	    "access_token=x\";\n"
	    "    json_field = \"errcode\";\n"
	    "    json_ok = [ \"0\" ];\n"
	    "    burst = 10;\n"
	    "  };\n"
	    "};\n"
	    "quiet_hours = { start = \"22:30\"; end = \"24:00\"; };\n",
	    write_secret("sms.pass", 0600, "gw-pass"));
	c = load_ok("http.conf", text);
	g = &c->delivery.sms.http.gw;
	assert_int_equal(c->delivery.sms.http.configured, 1);
	assert_null(c->delivery.sms.preset);
	assert_string_equal(g->url, "https://sms.example.cn/v1/send");
	assert_string_equal(g->method, "PUT");
	assert_int_equal(g->nheaders, 2);
	assert_string_equal(g->headers[0], "X-Api-Key: 4f1c");
	assert_string_equal(g->headers[1], "Accept: */*");
	assert_int_equal(g->format, GW_JSON);
	assert_non_null(g->body);
	assert_int_equal(g->sent.n, 1);
	assert_int_equal(g->sent.code[0], 202);
	assert_int_equal(g->retry.n, 2);
	assert_int_equal(g->retry.code[1], 423);
	assert_int_equal(g->dead.code[0], 500);
	assert_string_equal(g->json_field, "data.status");
	assert_int_equal(g->njson_ok, 2);
	assert_string_equal(g->json_ok[1], "0");
	assert_int_equal(g->njson_retry, 1);
	assert_string_equal(g->json_retry[0], "BUSY");
	assert_string_equal(g->auth_user, "crm");
	assert_string_equal(g->auth_secret, "gw-pass");
	assert_pace(&c->delivery.sms.http.pace, 0.5, 1, 4, 10000, 90000);

	/* The webhook's body is the per-kind template's JSON as it is. */
	w = &c->delivery.webhook.gw;
	assert_int_equal(c->delivery.webhook.configured, 1);
	assert_null(w->body);
	assert_int_equal(w->format, GW_JSON);
	assert_null(w->method);
	assert_string_equal(w->json_field, "errcode");
	assert_pace(&c->delivery.webhook.pace, 0, 10, 4, 10000, 60000);
	assert_int_equal(c->delivery.email.configured, 0);
	assert_int_equal(c->delivery.outbox.lease, 90 + 60);
	assert_int_equal(c->delivery.quiet_start, 22 * 60 + 30);
	assert_int_equal(c->delivery.quiet_end, 24 * 60);
	conf_free(c);
}

/*
 * A secret file others can read is refused, whichever key names it; the
 * message names the file and its mode and never what is in it.
 */
static void
test_delivery_secret_refused(void **state)
{
	static const char *const sentinel = "SENTINEL-b1f2e3d4-密码";
	static const struct {
		const char	*head;	/* the channel, up to line 2 */
		const char	*key;	/* on line 2, naming the file */
		const char	*name;	/* as errors call it */
	} cases[] = {
		{ "channels = { email = { url = \"smtp://127.0.0.1\"; "
		  "from = \"crm@example.com\"; username = \"u\";\n",
		  "password_file", "channels.email.password_file" },
		{ "channels = { sms = { url = \"https://x.example.com/\"; "
		  "body = \"t={text}\"; username = \"u\";\n",
		  "password_file", "channels.sms.password_file" },
		{ "channels = { sms = { preset = \"twilio\"; "
		  "account = \"AC1\"; from = \"+15005550006\";\n", "token_file",
		  "channels.sms.token_file" },
	};
	static const mode_t modes[] = { 0644, 0640, 0604 };
	char path[PATH_MAX], text[2 * PATH_MAX], want[2 * PATH_MAX];
	char *errors = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s", write_secret("open.pass",
		    modes[i], sentinel));
		snprintf(text, sizeof(text), "%s%s = \"%s\"; }; };\n",
		    cases[i].head, cases[i].key, path);
		assert_null(conf_load(write_conf("open.conf", text), &errors));
		snprintf(want, sizeof(want), "open.conf:2: '%s': %s: "
		    "readable by group or others (mode %04o); run chmod 600 on "
		    "it\n", cases[i].name, path, (unsigned)modes[i]);
		assert_non_null(strstr(errors, want));
		assert_null(strstr(errors, "SENTINEL"));
		free(errors);
	}
}

/* systemd credentials are named, not pathed, and exempt from the mode. */
static void
test_delivery_credential(void **state)
{
	struct crmd_conf *c;

	write_secret("crmd_smtp.pass", 0640, "from-systemd\n");
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	c = load_ok("cred.conf", "channels = { email = { url = "
	    "\"smtp://127.0.0.1:587\"; from = \"crm@example.com\";\n"
	    "username = \"crm\"; password_file = \"crmd_smtp.pass\"; }; };\n");
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_string_equal(c->delivery.email.password, "from-systemd");
	conf_free(c);
}

static void
test_delivery_lease(void **state)
{
	static const char *const sms = "channels = { sms = { url = "
	    "\"https://x.example.com/\"; body = \"t={text}\"; "
	    "timeout = \"2m\"; }; };\n";
	char text[512], *errors = NULL, *p;
	struct crmd_conf *c;

	/* Longer than the longest transfer, by as little as 3 s: room to
	 * start and end it a second before the lease. */
	snprintf(text, sizeof(text), "outbox = { lease = \"123s\"; };\n%s",
	    sms);
	c = load_ok("lease.conf", text);
	assert_int_equal(c->delivery.outbox.lease, 123);
	conf_free(c);

	/* Less is too short: the row could be claimed mid-transfer, or the
	 * sender could never start one in time. */
	snprintf(text, sizeof(text), "outbox = { lease = \"122s\"; };\n%s",
	    sms);
	assert_null(conf_load(write_conf("lease.conf", text), &errors));
	/* The only error, at the lease's line (tmpdir/lease.conf:1). */
	assert_non_null(p = strstr(errors, "/lease.conf:"));
	assert_string_equal(p, "/lease.conf:1: 'outbox.lease' (2m2s) must "
	    "be at least 3s longer than every channel's timeout, and "
	    "channels.sms.timeout is 2m: a message still being sent when its "
	    "lease ends would be sent twice\n");
	free(errors);

	/* With no channel there is nothing to outlast. */
	c = load_ok("lease.conf", "outbox = { lease = \"10s\"; };\n");
	assert_int_equal(c->delivery.outbox.lease, 10);
	conf_free(c);
}

/* Every delivery key is reloadable. */
static void
test_delivery_reload(void **state)
{
	struct crmd_conf *a, *b;

	a = load_ok("dr1.conf", "");
	b = load_ok("dr2.conf", "channels = {\n"
	    "  email = { url = \"smtp://127.0.0.1\"; from = \"a@example.com\";"
	    " rate = 5; };\n"
	    "  webhook = { url = \"https://x.example.com/\"; };\n"
	    "};\n"
	    "outbox = { backoff_min = \"1s\"; backoff_max = \"2s\"; "
	    "lifetime = \"1m\"; lease = \"2m\"; };\n"
	    "quiet_hours = { start = \"20:00\"; end = \"09:00\"; };\n");
	assert_null(conf_restart_only_changes(a, b));
	conf_free(a);
	conf_free(b);
}

/* -- automation: rules, rules_interval, stale, assign ------------------ */

static void
test_rules_defaults(void **state)
{
	struct crmd_conf *c = load_ok("rd.conf", "");

	assert_int_equal(c->rules.interval, 600);
	assert_int_equal(c->rules.ntag_rules, 0);
	assert_int_equal(c->rules.nevent_rules, 0);
	assert_int_equal(c->rules.nstale, 0);
	assert_int_equal(c->rules.nassign, 0);
	conf_free(c);
}

static void
test_rules_tagging(const struct conf_rules *r)
{
	const struct conf_tag_rule *t;

	assert_int_equal(r->ntag_rules, 3);
	t = &r->tag_rules[0];
	assert_string_equal(t->name, "高频复购");
	assert_string_equal(t->when_text, "orders_90d >= 3");
	assert_non_null(t->when);
	assert_int_equal(t->nadd, 1);
	assert_string_equal(t->add[0], "高频复购");
	assert_int_equal(t->nremove, 0);
	assert_int_equal(t->line, 5);
	t = &r->tag_rules[1];
	assert_string_equal(t->name, "高价值客户");
	assert_int_equal(t->nadd, 2);
	assert_string_equal(t->add[1], "VIP");
	assert_int_equal(t->nremove, 1);
	assert_string_equal(t->remove[0], "流失风险");
	/* The compiled condition reads exactly the facts it names. */
	assert_int_equal(rule_fact_count(t->when), 1);
	assert_string_equal(rule_fact_name(t->when, 0), "revenue_365d");
	t = &r->tag_rules[2];
	assert_int_equal(t->nadd, 0);
	assert_int_equal(t->nremove, 1);
}

static void
test_rules_event(const struct conf_rules *r)
{
	const struct conf_event_rule *e;

	assert_int_equal(r->nevent_rules, 5);
	e = &r->event_rules[0];
	assert_string_equal(e->name, "高意向回电");
	assert_int_equal(e->on, EV_TAG_ADDED);
	assert_string_equal(e->on_arg, "高意向");
	assert_null(e->when);
	assert_null(e->when_text);
	assert_true(e->has_remind);
	assert_int_equal(e->remind_kind, KIND_CALLBACK);
	assert_int_equal(e->remind_within, 24 * 3600);
	assert_int_equal(e->remind_channels, CH_BIT(CH_INAPP) | CH_BIT(CH_SMS));
	assert_string_equal(e->remind_note, "24小时内回电");
	assert_false(e->has_notify);
	e = &r->event_rules[1];
	assert_int_equal(e->on, EV_STATUS_CHANGED);
	assert_string_equal(e->on_arg, "intent");	/* 意向, stored value */
	assert_non_null(e->when);
	assert_true(e->has_notify);
	assert_int_equal(e->notify_channels, CH_BIT(CH_INAPP) | CH_BIT(CH_EMAIL));
	assert_string_equal(e->notify_text, "{customer.name} 进入意向阶段");
	e = &r->event_rules[2];
	assert_int_equal(e->on, EV_CUSTOMER_CREATED);
	assert_null(e->on_arg);
	assert_int_equal(e->notify_channels, CH_BIT(CH_INAPP));
	assert_null(e->notify_text);
	e = &r->event_rules[3];
	assert_int_equal(e->on, EV_FOLLOWUP);
	assert_int_equal(e->remind_kind, KIND_FOLLOWUP);
	assert_int_equal(e->remind_channels, 0);	/* the kind's default */
	assert_null(e->remind_note);
	e = &r->event_rules[4];
	assert_int_equal(e->on, EV_TAG_REMOVED);
	assert_string_equal(e->on_arg, "VIP");
}

static void
test_rules_stale_assign(const struct conf_rules *r)
{
	assert_int_equal(r->nstale, 2);
	assert_string_equal(r->stale[0].status, "potential");	/* 潜在 */
	assert_int_equal(r->stale[0].days, 30);
	assert_int_equal(r->stale[0].escalate_after, 0);
	assert_int_equal(r->stale[0].channels, CH_BIT(CH_INAPP));
	assert_string_equal(r->stale[1].status, "intent");
	assert_int_equal(r->stale[1].days, 7);
	assert_int_equal(r->stale[1].escalate_after, 2 * 86400);
	assert_int_equal(r->stale[1].channels,
	    CH_BIT(CH_INAPP) | CH_BIT(CH_EMAIL));

	assert_int_equal(r->nassign, 3);
	assert_string_equal(r->assign[0].when_text, "region = '华东'");
	assert_int_equal(r->assign[0].nusers, 2);
	assert_int_equal(r->assign[0].users[0], 1);
	assert_int_equal(r->assign[0].users[1], 2);
	assert_int_equal(r->assign[0].method, ASSIGN_ROUND_ROBIN);
	assert_int_equal(r->assign[1].method, ASSIGN_LEAST_LOADED);
	assert_null(r->assign[2].when);
	assert_int_equal(r->assign[2].users[0], 5);
}

/* good/rules.conf, the golden good file, holds what these check. */
static void
test_rules_values(void **state)
{
	struct crmd_conf *c;
	char *errors = NULL;

	c = conf_load(CONF_GOOD_DIR "/rules.conf", &errors);
	if (c == NULL)
		fail_msg("%s", errors);
	assert_int_equal(c->rules.interval, 15 * 60);
	test_rules_tagging(&c->rules);
	test_rules_event(&c->rules);
	test_rules_stale_assign(&c->rules);
	conf_free(c);
}

/* A condition error's column counts characters, and a condition on
 * several lines adds its line offset; all errors are reported. */
static void
test_rules_error_position(void **state)
{
	char *errors = NULL, *p;

	assert_null(conf_load(write_conf("rp.conf",
	    "rules = (\n"
	    "  { name = \"a\"; when = \"region = '华东' and\n"
	    "  orders_90d >= 'x'\"; add = [\"t\"]; },\n"
	    "  { name = \"b\"; when = \"区域 = 1\"; add = [\"t\"]; }\n"
	    ");\n"), &errors));
	assert_non_null(p = strstr(errors, "/rp.conf:"));
	assert_memory_equal(p, "/rp.conf:3:17: rule \"a\": orders_90d is a "
	    "number: write the value without quotes\n", 79);
	assert_non_null(p = strstr(p + 1, "/rp.conf:"));
	/* Chinese counts one column a character. */
	assert_memory_equal(p, "/rp.conf:4:1: rule \"b\": unknown field "
	    "'区域'", 45);
	free(errors);
}

/* Rules are reloadable: nothing about them is restart-only. */
static void
test_rules_reload(void **state)
{
	struct crmd_conf *a, *b;

	a = load_ok("rr1.conf", "");
	b = load_ok("rr2.conf", "rules_interval = \"1h\";\n"
	    "rules = ( { name = \"x\"; when = \"f >= 3\"; add = [\"x\"]; } );\n"
	    "stale = ( { status = \"won\"; days = 90; } );\n"
	    "assign = ( { users = [ 1 ]; } );\n");
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
		cmocka_unit_test(test_delivery_defaults),
		cmocka_unit_test(test_delivery_email),
		cmocka_unit_test(test_delivery_from),
		cmocka_unit_test(test_delivery_twilio),
		cmocka_unit_test(test_delivery_http),
		cmocka_unit_test(test_delivery_secret_refused),
		cmocka_unit_test(test_delivery_credential),
		cmocka_unit_test(test_delivery_lease),
		cmocka_unit_test(test_delivery_reload),
		cmocka_unit_test(test_rules_defaults),
		cmocka_unit_test(test_rules_values),
		cmocka_unit_test(test_rules_error_position),
		cmocka_unit_test(test_rules_reload),
	};

	unsetenv("TZDIR");
	unsetenv("CREDENTIALS_DIRECTORY");
	return cmocka_run_group_tests(tests, setup, teardown);
}
