/*
 * The outbox commands and test-send: their command lines as the parser
 * takes them, the requests crmctl sends for them (a fake crmd records
 * them and answers from a script), what they print, and their exit codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmd_outbox.h"
#include "crmctl.h"

#define ARGV(...)	((char *[]){ "crmctl", __VA_ARGS__, NULL })
#define ARGC(...)	((int)(sizeof((char *[]){ "crmctl", __VA_ARGS__ }) / \
			    sizeof(char *)))
#define RUN(r, ...)	run((r), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))
#define MAXCALLS	16

/* The fake crmd: replies in order (the last one repeats), requests kept. */
struct fake {
	const char	*replies[MAXCALLS];
	int		 ncalls;
	char		*cmds[MAXCALLS];
	char		*args[MAXCALLS];	/* compact JSON, sorted keys */
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
	int i = f->ncalls < MAXCALLS ? f->ncalls : MAXCALLS - 1;
	const char *reply = f->replies[i];

	for (int j = i; reply == NULL && j > 0; j--)
		reply = f->replies[j - 1];
	assert_non_null(reply);
	if (f->ncalls < MAXCALLS) {
		f->cmds[i] = strdup(cmd);
		f->args[i] = args ? json_dumps(args, JSON_COMPACT |
		    JSON_SORT_KEYS) : strdup("null");
	}
	f->ncalls++;
	memset(r, 0, sizeof(*r));
	assert_int_equal(reply_decode(reply, strlen(reply), r, err, errlen),
	    0);
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

	for (int i = 0; i < MAXCALLS; i++) {
		free(r->fake.cmds[i]);
		free(r->fake.args[i]);
	}
	fclose(r->out);
	fclose(r->err);
	free(r->outbuf);
	free(r->errbuf);
	settings_free(&r->settings);
	free(r);
	return 0;
}

/* Parses argv as crmctl would, then runs the command; -1 for a parse
 * error (its message is then in errbuf). */
static int
run(struct run *r, int argc, char **argv)
{
	struct invocation inv;
	char err[256];
	int rv;

	if (parse_argv(argc, argv, &inv, err, sizeof(err)) == -1) {
		fprintf(r->err, "%s\n", err);
		fflush(r->err);
		return -1;
	}
	r->settings.format = inv.json ? OUT_JSON : OUT_TABLE;
	rv = cmd_run(&r->ctx, inv.cmd, &inv.args);
	fflush(r->out);
	fflush(r->err);
	return rv;
}

#define OK(data)	"{\"v\":1,\"status\":200,\"data\":" data "}"

/* ---- parsing ---- */

static void
test_parse_options(void **state)
{
	struct invocation inv;
	char err[256];

	assert_int_equal(parse_argv(ARGC("outbox", "list", "--state", "dead",
	    "--channel", "sms", "-l", "5"), ARGV("outbox", "list", "--state",
	    "dead", "--channel", "sms", "-l", "5"), &inv, err, sizeof(err)), 0);
	assert_string_equal(inv.cmd->name, "outbox list");
	assert_string_equal(inv.args.value['S'], "dead");
	assert_string_equal(inv.args.value['C'], "sms");
	assert_string_equal(inv.args.value['l'], "5");

	assert_int_equal(parse_argv(ARGC("outbox", "purge", "--sent",
	    "--older-than", "30d"), ARGV("outbox", "purge", "--sent",
	    "--older-than", "30d"), &inv, err, sizeof(err)), 0);
	assert_true(inv.args.set['T']);
	assert_string_equal(inv.args.value['o'], "30d");

	assert_int_equal(parse_argv(ARGC("outbox", "retry", "--dead"),
	    ARGV("outbox", "retry", "--dead"), &inv, err, sizeof(err)), 0);
	assert_true(inv.args.set['D']);
	assert_int_equal(inv.args.argc, 0);

	/* --dead is retry's, --sent purge's, --wait test-send's. */
	assert_int_equal(parse_argv(ARGC("outbox", "purge", "--dead"),
	    ARGV("outbox", "purge", "--dead"), &inv, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown option --dead");
	assert_int_equal(parse_argv(ARGC("outbox", "retry", "--sent=1"),
	    ARGV("outbox", "retry", "--sent=1"), &inv, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown option --sent");
	assert_int_equal(parse_argv(ARGC("outbox", "show"), ARGV("outbox",
	    "show"), &inv, err, sizeof(err)), -1);
	assert_string_equal(err, "outbox show: missing argument");
	assert_int_equal(parse_argv(ARGC("test-send", "--wait", "5s", "email",
	    "li@example.com"), ARGV("test-send", "--wait", "5s", "email",
	    "li@example.com"), &inv, err, sizeof(err)), 0);
	assert_string_equal(inv.args.value['w'], "5s");
	assert_int_equal(inv.args.argc, 2);
	assert_string_equal(cmd_option_name('o'), "older-than");
}

static void
test_usage_errors_send_nothing(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = OK("[]");
	assert_int_equal(RUN(r, "outbox", "purge", "--older-than", "30d"),
	    EXIT_USAGE);
	assert_non_null(strstr(r->errbuf, "only sent messages are ever "
	    "purged: add --sent"));
	assert_int_equal(RUN(r, "outbox", "purge", "--sent"), EXIT_USAGE);
	assert_int_equal(RUN(r, "outbox", "retry"), EXIT_USAGE);
	assert_int_equal(RUN(r, "outbox", "retry", "--dead", "4"), EXIT_USAGE);
	assert_int_equal(RUN(r, "outbox", "retry", "4x"), EXIT_USAGE);
	assert_int_equal(RUN(r, "outbox", "show", "0"), EXIT_USAGE);
	assert_int_equal(RUN(r, "outbox", "list", "--limit", "-1"), EXIT_USAGE);
	assert_int_equal(RUN(r, "test-send", "email"), EXIT_USAGE);
	assert_int_equal(RUN(r, "test-send", "sms", "+86138", "--wait", "x"),
	    EXIT_USAGE);
	assert_int_equal(RUN(r, "test-send", "sms", "+86138", "-w"),
	    EXIT_USAGE);
	assert_int_equal(RUN(r, "test-send", "webhook", "a", "b"), EXIT_USAGE);
	assert_int_equal(r->fake.ncalls, 0);
}

/* ---- list, show ---- */

#define LONG_SUBJECT "【回访提醒】上海明远科技有限公司的年度合同续约报价需要今天确认"

static void
test_list_table(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = OK("[{\"id\":12,\"channel\":\"email\","
	    "\"recipient\":\"li@example.com\",\"state\":\"queued\","
	    "\"attempts\":0,\"next_attempt\":\"2026-03-03 09:00:00\","
	    "\"subject\":\"" LONG_SUBJECT "\"},"
	    "{\"id\":3,\"channel\":\"sms\",\"recipient\":\"+8613800000001\","
	    "\"state\":\"dead\",\"attempts\":3,"
	    "\"next_attempt\":\"2026-03-01 10:00:00\",\"subject\":\"短信\\u001b[2J\"},"
	    "{\"id\":2,\"channel\":\"webhook\",\"recipient\":\"webhook\","
	    "\"state\":\"sent\",\"attempts\":1,"
	    "\"next_attempt\":\"2026-03-01 10:00:00\",\"subject\":\"\"}]");
	assert_int_equal(RUN(r, "outbox", "list", "--state", "queued",
	    "--limit", "3"), EXIT_OK);
	assert_string_equal(r->fake.cmds[0], "outbox.list");
	assert_string_equal(r->fake.args[0], "{\"limit\":3,\"state\":\"queued\"}");
	assert_string_equal(r->outbuf,
	    "ID  CHANNEL  RECIPIENT       STATE   ATTEMPTS  NEXT ATTEMPT         SUBJECT\n"
	    "12  email    li@example.com  queued         0  2026-03-03 09:00:00  "
	    "【回访提醒】上海明远科技有限公司的年度…\n"
	    " 3  sms      +8613800000001  dead           3  -                    短信\\x1b[2J\n"
	    " 2  webhook  webhook         sent           1  -\n");
	assert_string_equal(r->errbuf, "");
}

static void
test_list_json_is_crmds_array(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = OK("[{\"id\":1,\"subject\":\"回访\"}]");
	assert_int_equal(RUN(r, "--json", "outbox", "list", "--channel", "sms"),
	    EXIT_OK);
	assert_string_equal(r->fake.args[0], "{\"channel\":\"sms\"}");
	assert_string_equal(r->outbuf, "[\n  {\n    \"id\": 1,\n"
	    "    \"subject\": \"回访\"\n  }\n]\n");
}

static void
test_show_key_values(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = OK("{\"id\":7,\"channel\":\"email\","
	    "\"audience\":\"customer\",\"recipient\":\"wang@example.com\","
	    "\"recipient_name\":\"王经理\",\"html\":null,"
	    "\"state\":\"dead\",\"attempts\":2,"
	    "\"next_attempt\":\"2026-03-01 10:00:00\",\"lease\":null,"
	    "\"last_error\":\"550 no such user\",\"created\":\"2026-03-01 09:59:00\","
	    "\"sent\":null,\"idempotency_key\":\"reminder:3:email\","
	    "\"reminder_id\":3,\"customer_id\":null,\"subject\":\"合同续约\","
	    "\"body\":\"第一行\\n第二行\"}");
	assert_int_equal(RUN(r, "outbox", "show", "7"), EXIT_OK);
	assert_string_equal(r->fake.cmds[0], "outbox.show");
	assert_string_equal(r->fake.args[0], "{\"id\":7}");
	assert_string_equal(r->outbuf,
	    "id               7\n"
	    "channel          email\n"
	    "audience         customer\n"
	    "recipient        wang@example.com\n"
	    "recipient name   王经理\n"
	    "state            dead\n"
	    "attempts         2\n"
	    "next attempt     2026-03-01 10:00:00\n"
	    "lease until      -\n"
	    "last error       550 no such user\n"
	    "created          2026-03-01 09:59:00\n"
	    "sent             -\n"
	    "idempotency key  reminder:3:email\n"
	    "reminder         3\n"
	    "customer         -\n"
	    "subject          合同续约\n"
	    "body             第一行\\n第二行\n"
	    "html             -\n");
}

static void
test_errors_say_what_crmd_said(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = "{\"v\":1,\"status\":409,\"error\":\"outbox "
	    "message 5 was sent at 2026-03-01 10:00:00; a sent message is "
	    "never sent again\"}";
	assert_int_equal(RUN(r, "outbox", "retry", "5"), EXIT_DAEMON);
	assert_string_equal(r->fake.args[0], "{\"id\":5}");
	assert_string_equal(r->outbuf, "");
	assert_string_equal(r->errbuf, "crmctl: conflict: outbox message 5 "
	    "was sent at 2026-03-01 10:00:00; a sent message is never sent "
	    "again\n");
}

/* ---- bulk: retry --dead, purge ---- */

static void
test_retry_dead_goes_window_by_window(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = OK("{\"retried\":1000,\"after\":1000,\"done\":false}");
	r->fake.replies[1] = OK("{\"retried\":0,\"after\":2000,\"done\":false}");
	r->fake.replies[2] = OK("{\"retried\":7,\"after\":2345,\"done\":true}");
	assert_int_equal(RUN(r, "outbox", "retry", "--dead"), EXIT_OK);
	assert_int_equal(r->fake.ncalls, 3);
	assert_string_equal(r->fake.args[0], "{\"after\":0,\"dead\":true}");
	assert_string_equal(r->fake.args[1], "{\"after\":1000,\"dead\":true}");
	assert_string_equal(r->fake.args[2], "{\"after\":2000,\"dead\":true}");
	assert_string_equal(r->outbuf, "1007 dead messages queued again\n");
}

static void
test_purge_totals_and_json(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = OK("{\"deleted\":999,\"before_at\":1772000000,"
	    "\"before\":\"2026-02-25 14:13:20\",\"after\":1000,\"done\":false}");
	r->fake.replies[1] = OK("{\"deleted\":2,\"before_at\":1772000001,"
	    "\"before\":\"2026-02-25 14:13:21\",\"after\":1200,\"done\":true}");
	assert_int_equal(RUN(r, "--json", "outbox", "purge", "--sent",
	    "--older-than", "30d"), EXIT_OK);
	assert_string_equal(r->fake.args[0],
	    "{\"after\":0,\"older_than\":\"30d\",\"sent\":true}");
	assert_string_equal(r->fake.args[1],
	    "{\"after\":1000,\"older_than\":\"30d\",\"sent\":true}");
	assert_string_equal(r->outbuf, "{\n  \"deleted\": 1001,\n"
	    "  \"before_at\": 1772000000,\n"
	    "  \"before\": \"2026-02-25 14:13:20\"\n}\n");
}

static void
test_purge_failure_part_way_says_what_was_done(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = OK("{\"deleted\":1000,\"before_at\":1,"
	    "\"before\":\"x\",\"after\":1000,\"done\":false}");
	r->fake.replies[1] = "{\"v\":1,\"status\":503,\"error\":\"database "
	    "busy, try again\"}";
	assert_int_equal(RUN(r, "outbox", "purge", "--sent", "--older-than",
	    "1d"), EXIT_DAEMON);
	assert_int_equal(r->fake.ncalls, 2);
	assert_string_equal(r->outbuf, "");
	assert_non_null(strstr(r->errbuf, "database busy, try again"));
	assert_non_null(strstr(r->errbuf, "1000 sent messages were purged "
	    "before the error; run the command again to go on"));
}

/* A reply that does not move on ends the loop rather than spinning. */
static void
test_bulk_stops_when_crmd_does_not_move_on(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = OK("{\"retried\":0,\"after\":0,\"done\":false}");
	assert_int_equal(RUN(r, "outbox", "retry", "--dead"), EXIT_OK);
	assert_int_equal(r->fake.ncalls, 1);
}

/* ---- test-send ---- */

#define ROW(state, extra) OK("{\"id\":41,\"channel\":\"email\"," \
	"\"recipient\":\"li@example.com\",\"state\":\"" state "\"," \
	"\"attempts\":" extra "}")

static void
test_test_send_waits_until_sent(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = ROW("queued", "0");
	r->fake.replies[1] = ROW("sending", "1");
	r->fake.replies[2] = ROW("sent", "1,\"sent\":\"2026-03-01 10:00:01\","
	    "\"last_error\":null");
	assert_int_equal(RUN(r, "test-send", "email", "li@example.com",
	    "--wait", "1m"), EXIT_OK);
	assert_string_equal(r->fake.cmds[0], "outbox.test");
	assert_string_equal(r->fake.args[0],
	    "{\"channel\":\"email\",\"recipient\":\"li@example.com\"}");
	assert_string_equal(r->fake.cmds[1], "outbox.show");
	assert_string_equal(r->fake.args[1], "{\"id\":41}");
	assert_int_equal(r->fake.ncalls, 3);
	assert_string_equal(r->outbuf,
	    "test email queued as outbox 41 to li@example.com\n"
	    "sent at 2026-03-01 10:00:01 (attempt 1)\n");
	assert_string_equal(r->errbuf, "");
}

static void
test_test_send_dead_exits_1_with_the_reason(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = ROW("queued", "0");
	r->fake.replies[1] = ROW("dead", "1,\"sent\":null,"
	    "\"last_error\":\"550 5.1.1 no such user\"");
	assert_int_equal(RUN(r, "test-send", "email", "li@example.com"),
	    EXIT_DAEMON);
	assert_string_equal(r->outbuf,
	    "test email queued as outbox 41 to li@example.com\n");
	assert_string_equal(r->errbuf, "crmctl: test email 41 is dead after 1 "
	    "attempt: 550 5.1.1 no such user\n"
	    "  check channels.email in crmd.conf (url, from, username, "
	    "password_file, starttls) and the mail server's log; crmctl "
	    "outbox show 41 has the details\n");
}

static void
test_test_send_timeout_says_what_to_check(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = ROW("queued", "0");
	r->fake.replies[1] = ROW("queued", "2,\"sent\":null,"
	    "\"last_error\":\"connection refused\"");
	assert_int_equal(RUN(r, "--json", "test-send", "--wait", "1s", "email",
	    "li@example.com"), EXIT_DAEMON);
	assert_true(r->fake.ncalls >= 3);	/* polled, every 200 ms */
	assert_non_null(strstr(r->outbuf, "\"outcome\": \"timeout\""));
	assert_non_null(strstr(r->errbuf, "crmctl: test email 41 is still "
	    "queued after 1s (2 attempts, last error: connection refused)"));
	assert_non_null(strstr(r->errbuf, "journalctl -u crmd"));
}

static void
test_test_send_without_waiting(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = OK("{\"id\":9,\"channel\":\"webhook\","
	    "\"recipient\":\"webhook\",\"state\":\"queued\"}");
	assert_int_equal(RUN(r, "test-send", "webhook", "--wait", "0"),
	    EXIT_OK);
	assert_int_equal(r->fake.ncalls, 1);
	assert_string_equal(r->fake.args[0], "{\"channel\":\"webhook\"}");
	assert_string_equal(r->outbuf, "test webhook queued as outbox 9 to "
	    "webhook\n");
}

static void
test_test_send_refused_by_crmd(void **state)
{
	struct run *r = *state;

	r->fake.replies[0] = "{\"v\":1,\"status\":422,\"error\":\"channel "
	    "'sms' is not configured: add channels.sms to crmd.conf\"}";
	assert_int_equal(RUN(r, "test-send", "sms", "+8613800138000"),
	    EXIT_DAEMON);
	assert_int_equal(r->fake.ncalls, 1);
	assert_string_equal(r->outbuf, "");
	assert_non_null(strstr(r->errbuf, "channel 'sms' is not configured"));
}

/* ---- truncation ---- */

static void
test_truncate_by_display_width(void **state)
{
	char *s;

	assert_string_equal(s = text_truncate("short", 10), "short");
	free(s);
	assert_string_equal(s = text_truncate("0123456789", 10), "0123456789");
	free(s);
	assert_string_equal(s = text_truncate("0123456789A", 10), "012345678…");
	free(s);
	/* A wide character that would cross the edge is left out whole. */
	assert_string_equal(s = text_truncate("ab合同续约报价", 8), "ab合同…");
	free(s);
	assert_int_equal(text_width(s = text_truncate(LONG_SUBJECT, 40)), 39);
	free(s);
	/* A combining mark stays with its letter. */
	assert_string_equal(s = text_truncate("abcde\xcc\x81" "fghijk", 7),
	    "abcde\xcc\x81" "f…");
	free(s);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_options),
		T(test_usage_errors_send_nothing),
		T(test_list_table),
		T(test_list_json_is_crmds_array),
		T(test_show_key_values),
		T(test_errors_say_what_crmd_said),
		T(test_retry_dead_goes_window_by_window),
		T(test_purge_totals_and_json),
		T(test_purge_failure_part_way_says_what_was_done),
		T(test_bulk_stops_when_crmd_does_not_move_on),
		T(test_test_send_waits_until_sent),
		T(test_test_send_dead_exits_1_with_the_reason),
		T(test_test_send_timeout_says_what_to_check),
		T(test_test_send_without_waiting),
		T(test_test_send_refused_by_crmd),
		cmocka_unit_test(test_truncate_by_display_width),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
