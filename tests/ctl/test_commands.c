/*
 * Command handlers against a fake transport: what each command prints,
 * for people and as JSON, and which exit code each reply becomes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "crmctl.h"

/* What the fake crmd answers, and what it was asked. */
struct fake {
	enum client_fail fail;
	int		 error_no;
	const char	*reply;
	char		 cmd[32];
};

struct run {
	struct settings	 settings;
	struct fake	 fake;
	FILE		*out, *err;
	char		*outbuf, *errbuf;
	size_t		 outlen, errlen;
	struct ctx	 ctx;
};

static enum client_fail
fake_call(struct ctx *ctx, const char *cmd, json_t *args, struct reply *r,
    char *err, size_t errlen)
{
	struct fake *f = ctx->call_arg;

	snprintf(f->cmd, sizeof(f->cmd), "%s", cmd);
	memset(r, 0, sizeof(*r));
	if (f->fail != CLIENT_OK) {
		snprintf(err, errlen, "cannot connect to crmd at %s: %s",
		    ctx->settings->socket, strerror(f->error_no));
		errno = f->error_no;
		return f->fail;
	}
	assert_int_equal(reply_decode(f->reply, strlen(f->reply), r, err,
	    errlen), 0);
	r->rtt_ms = 1.25;
	return CLIENT_OK;
}

static int
setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));

	settings_init(&r->settings);
	r->settings.socket = strdup("/run/crmd/crmd.sock");
	r->out = open_memstream(&r->outbuf, &r->outlen);
	r->err = open_memstream(&r->errbuf, &r->errlen);
	r->ctx = (struct ctx){ &r->settings, r->out, r->err, fake_call,
	    &r->fake };
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct run *r = *state;

	fclose(r->out);
	fclose(r->err);
	free(r->outbuf);
	free(r->errbuf);
	settings_free(&r->settings);
	free(r);
	return 0;
}

/* Starts the captured output afresh. */
static void
reopen(struct run *r)
{
	fclose(r->out);
	fclose(r->err);
	free(r->outbuf);
	free(r->errbuf);
	r->out = r->ctx.out = open_memstream(&r->outbuf, &r->outlen);
	r->err = r->ctx.err = open_memstream(&r->errbuf, &r->errlen);
}

/* Runs argv-style words as a command; output lands in outbuf/errbuf. */
static int
run_cmd(struct run *r, const char *name)
{
	char *word = (char *)name;
	struct args args = { 0 };
	int used;

	const struct cmd_entry *cmd = cmd_find(1, &word, &used);
	assert_non_null(cmd);
	int rv = cmd_run(&r->ctx, cmd, &args);
	fflush(r->out);
	fflush(r->err);
	return rv;
}

#define STATUS_REPLY "{\"v\":1,\"status\":200,\"data\":{" \
	"\"version\":\"0.1.0\",\"protocol\":1,\"pid\":4242," \
	"\"uptime_s\":93784,\"started_at\":1714550000," \
	"\"config\":\"/etc/crmd/crmd.conf\",\"last_reload_at\":1714560000," \
	"\"database\":\"/var/lib/crmd/客户.db\",\"schema_version\":7," \
	"\"timezone\":\"Asia/Shanghai\",\"customers\":1234," \
	"\"reminders_pending\":5,\"outbox\":{\"queued\":1,\"sending\":0," \
	"\"sent\":99,\"dead\":2},\"scheduler\":{\"fired\":40,\"late\":3," \
	"\"missed\":1,\"escalated\":2,\"digests\":6,\"wakeups\":90," \
	"\"next_event\":1714600000,\"fire_latency_ms\":{\"p50\":0.4," \
	"\"p99\":1.2,\"max\":3.0,\"count\":37}},\"delivery\":{" \
	"\"in_flight\":4,\"sent\":95,\"retried\":7,\"dead\":2}}}"

static void
test_status_human(void **state)
{
	struct run *r = *state;

	setenv("TZ", "UTC", 1);
	tzset();
	r->fake.reply = STATUS_REPLY;
	assert_int_equal(run_cmd(r, "status"), EXIT_OK);
	assert_string_equal(r->fake.cmd, "status");
	assert_string_equal(r->outbuf,
	    "version            0.1.0\n"
	    "pid                4242\n"
	    "uptime             1d2h3m4s\n"
	    "database           /var/lib/crmd/客户.db\n"
	    "schema version     7\n"
	    "config             /etc/crmd/crmd.conf\n"
	    "last reload        2024-05-01 10:40:00 (23h16m24s ago)\n"
	    "timezone           Asia/Shanghai\n"
	    "customers          1234\n"
	    "pending reminders  5\n"
	    "outbox queued      1\n"
	    "outbox sending     0\n"
	    "outbox sent        99\n"
	    "outbox dead        2\n"
	    "reminders fired    40\n"
	    "fired late         3\n"
	    "missed             1\n"
	    "escalated          2\n"
	    "digests            6\n"
	    "next event         2024-05-01 21:46:40\n"
	    "sending now        4\n"
	    "delivered          95\n"
	    "retried            7\n"
	    "given up           2\n");
	assert_int_equal(r->errlen, 0);
}

static void
test_status_human_older_daemon(void **state)
{
	struct run *r = *state;

	r->fake.reply = "{\"v\":1,\"status\":200,\"data\":{\"version\":\"0.0.9\","
	    "\"last_reload_at\":null}}";
	assert_int_equal(run_cmd(r, "status"), EXIT_OK);
	assert_non_null(strstr(r->outbuf, "version            0.0.9\n"));
	assert_non_null(strstr(r->outbuf, "uptime             -\n"));
	assert_non_null(strstr(r->outbuf, "last reload        never\n"));
	assert_non_null(strstr(r->outbuf, "outbox dead        -\n"));
	assert_non_null(strstr(r->outbuf, "delivered          -\n"));
}

static void
test_status_json_is_data_as_is(void **state)
{
	struct run *r = *state;
	static const char *keys[] = { "version", "pid", "uptime_s",
	    "database", "schema_version", "config", "last_reload_at",
	    "customers", "reminders_pending", "outbox" };
	json_t *j, *reply;

	r->settings.format = OUT_JSON;
	r->fake.reply = STATUS_REPLY;
	assert_int_equal(run_cmd(r, "status"), EXIT_OK);
	assert_non_null(j = json_loads(r->outbuf, 0, NULL));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_non_null(json_object_get(j, keys[i]));
	reply = json_loads(STATUS_REPLY, 0, NULL);
	assert_true(json_equal(j, json_object_get(reply, "data")));
	json_decref(reply);
	json_decref(j);
}

static void
test_ping(void **state)
{
	struct run *r = *state;
	json_t *j;

	r->fake.reply = "{\"v\":1,\"status\":200,\"data\":{\"pong\":true,"
	    "\"pid\":77}}";
	assert_int_equal(run_cmd(r, "ping"), EXIT_OK);
	assert_string_equal(r->outbuf, "pong from crmd pid 77 in 1.2 ms\n");

	reopen(r);
	r->settings.format = OUT_JSON;
	assert_int_equal(run_cmd(r, "ping"), EXIT_OK);
	assert_non_null(j = json_loads(r->outbuf, 0, NULL));
	assert_true(json_is_true(json_object_get(j, "pong")));
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 77);
	assert_true(json_real_value(json_object_get(j, "rtt_ms")) == 1.25);
	assert_int_equal(json_object_size(j), 3);
	json_decref(j);
}

static void
test_reload_ok_with_restart_keys(void **state)
{
	struct run *r = *state;

	r->fake.reply = "{\"v\":1,\"status\":200,\"data\":{\"reloaded\":true,"
	    "\"restart_needed\":[\"control.socket\",\"database.path\"]}}";
	assert_int_equal(run_cmd(r, "reload"), EXIT_OK);
	assert_string_equal(r->outbuf, "reloaded\n"
	    "restart crmd to apply: control.socket, database.path\n");

	r->fake.reply = "{\"v\":1,\"status\":200,\"data\":{\"reloaded\":true,"
	    "\"restart_needed\":[]}}";
	reopen(r);
	assert_int_equal(run_cmd(r, "reload"), EXIT_OK);
	assert_string_equal(r->outbuf, "reloaded\n");
}

static void
test_reload_refused_prints_config_errors(void **state)
{
	struct run *r = *state;

	r->fake.reply = "{\"v\":1,\"status\":422,\"error\":"
	    "\"/etc/crmd/crmd.conf:12: unknown key \\\"foo\\\"\\n"
	    "/etc/crmd/crmd.conf:14: bad duration \\u001b[31m\"}";
	assert_int_equal(run_cmd(r, "reload"), EXIT_DAEMON);
	assert_int_equal(r->outlen, 0);
	assert_string_equal(r->errbuf,
	    "crmctl: reload refused; crmd keeps running with its previous "
	    "configuration:\n"
	    "  /etc/crmd/crmd.conf:12: unknown key \"foo\"\n"
	    "  /etc/crmd/crmd.conf:14: bad duration \\x1b[31m\n"
	    "  fix the file and run crmctl reload again\n");
}

static void
test_reload_refused_json(void **state)
{
	struct run *r = *state;
	json_t *j;

	r->settings.format = OUT_JSON;
	r->fake.reply = "{\"v\":1,\"status\":422,\"error\":\"config invalid\","
	    "\"errors\":[\"a.conf:1: x\",\"a.conf:2: y\"]}";
	assert_int_equal(run_cmd(r, "reload"), EXIT_DAEMON);
	assert_non_null(j = json_loads(r->outbuf, 0, NULL));
	assert_true(json_is_false(json_object_get(j, "reloaded")));
	assert_int_equal(json_array_size(json_object_get(j, "errors")), 2);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(j, "errors"), 1)), "a.conf:2: y");
	json_decref(j);
}

static void
test_forbidden(void **state)
{
	struct run *r = *state;

	r->fake.reply = "{\"v\":1,\"status\":403,\"error\":\"uid 1000 is not "
	    "in group crmd-admin\"}";
	assert_int_equal(run_cmd(r, "reload"), EXIT_DAEMON);
	assert_int_equal(r->outlen, 0);
	assert_string_equal(r->errbuf, "crmctl: not authorised: uid 1000 is "
	    "not in group crmd-admin (ask an admin to add you to the crmd "
	    "read or admin group)\n");
}

static void
test_busy_without_error_text(void **state)
{
	struct run *r = *state;

	r->fake.reply = "{\"v\":1,\"status\":503}";
	assert_int_equal(run_cmd(r, "status"), EXIT_DAEMON);
	assert_string_equal(r->errbuf, "crmctl: temporarily unavailable (try "
	    "again in a moment)\n");
}

/* crmd's own words say what to do: no second hint. */
static void
test_busy_with_advice(void **state)
{
	struct run *r = *state;

	r->fake.reply = "{\"v\":1,\"status\":503,\"error\":\"rule.test: crmd"
	    " is busy with other rule tests; try again in a moment\"}";
	assert_int_equal(run_cmd(r, "status"), EXIT_DAEMON);
	assert_string_equal(r->errbuf, "crmctl: temporarily unavailable: "
	    "rule.test: crmd is busy with other rule tests; try again in a "
	    "moment\n");
}

static void
test_cannot_connect(void **state)
{
	struct run *r = *state;

	r->fake.fail = CLIENT_CONNECT;
	r->fake.error_no = ENOENT;
	assert_int_equal(run_cmd(r, "status"), EXIT_CONNECT);
	assert_int_equal(r->outlen, 0);
	assert_string_equal(r->errbuf, "crmctl: cannot connect to crmd at "
	    "/run/crmd/crmd.sock: No such file or directory\n"
	    "  is crmd running? (systemctl status crmd) \xe2\x80\x94 or pass "
	    "-s SOCKET / set socket= in ~/.config/crmctl.ini\n");
}

static void
test_help_lists_every_command(void **state)
{
	struct run *r = *state;
	const char *line;
	json_t *j;

	assert_int_equal(run_cmd(r, "help"), EXIT_OK);
	assert_non_null(line = strstr(r->outbuf, "\nCOMMAND          ARGUMENTS "));
	assert_true(strstr(line, "  ACCESS     DESCRIPTION\n") <
	    strchr(line + 1, '\n'));
	assert_non_null(line = strstr(r->outbuf, "\nreload  "));
	assert_true(strstr(line, "  admin  ") < strchr(line + 1, '\n'));
	assert_non_null(line = strstr(r->outbuf, "\nstatus  "));
	assert_true(strstr(line, "  read-only  ") < strchr(line + 1, '\n'));
	assert_non_null(line = strstr(r->outbuf, "\nreminder add  "));
	assert_true(strstr(line, "  --customer ID --at TIME ") <
	    strchr(line + 1, '\n'));
	assert_true(strstr(line, "  admin  ") < strchr(line + 1, '\n'));
	assert_non_null(strstr(r->outbuf, "exit: 0 ok, 1 crmd reported"));

	reopen(r);
	r->settings.format = OUT_JSON;
	assert_int_equal(run_cmd(r, "help"), EXIT_OK);
	assert_non_null(j = json_loads(r->outbuf, 0, NULL));
	assert_int_equal(json_array_size(j), cmd_count);
	for (size_t i = 0; i < cmd_count; i++) {
		json_t *e = json_array_get(j, i);

		assert_string_equal(json_string_value(json_object_get(e,
		    "name")), cmd_table[i].name);
		assert_string_equal(json_string_value(json_object_get(e,
		    "access")), cmd_access_str(cmd_table[i].access));
		assert_non_null(json_object_get(e, "usage"));
		assert_non_null(json_object_get(e, "summary"));
	}
	json_decref(j);
	assert_string_equal(r->fake.cmd, "");	/* help never calls crmd */
}

static void
test_help_one_command(void **state)
{
	struct run *r = *state;
	char *argv[] = { "reload" };
	struct args args = { .argc = 1, .argv = argv };
	char *help = "help";
	int used;

	assert_int_equal(cmd_run(&r->ctx, cmd_find(1, &help, &used), &args),
	    EXIT_OK);
	fflush(r->out);
	assert_string_equal(r->outbuf,
	    "usage: crmctl [-j] [-s SOCKET] [-t DURATION] reload\n"
	    "re-read crmd.conf; on error crmd keeps the old one\n"
	    "access: admin (members of crmd's admin group)\n");

	argv[0] = "nosuch";
	assert_int_equal(cmd_run(&r->ctx, cmd_find(1, &help, &used), &args),
	    EXIT_USAGE);
	fflush(r->err);
	assert_non_null(strstr(r->errbuf, "unknown command \"nosuch\""));
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_status_human),
		T(test_status_human_older_daemon),
		T(test_status_json_is_data_as_is),
		T(test_ping),
		T(test_reload_ok_with_restart_keys),
		T(test_reload_refused_prints_config_errors),
		T(test_reload_refused_json),
		T(test_forbidden),
		T(test_busy_with_advice),
		T(test_busy_without_error_text),
		T(test_cannot_connect),
		T(test_help_lists_every_command),
		T(test_help_one_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
