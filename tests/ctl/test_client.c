/*
 * The client's side of the protocol: request encoding, reply checking,
 * and one real exchange each with a forked peer on a private socket that
 * misbehaves in one chosen way.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "crmctl.h"
#include "protocol.h"

static void
test_request_encode(void **state)
{
	json_t *args = json_pack("{s:s}", "name", "张三"), *j;
	size_t len;
	char *line;

	line = request_encode("status", NULL, &len);
	assert_string_equal(line, "{\"v\":1,\"cmd\":\"status\",\"args\":{}}\n");
	assert_int_equal(len, strlen(line));
	free(line);

	line = request_encode("rule test", args, &len);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));	/* one line */
	assert_non_null(j = json_loads(line, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(j, "cmd")),
	    "rule test");
	assert_true(json_equal(json_object_get(j, "args"), args));
	json_decref(j);
	free(line);
	assert_int_equal(args->refcount, 1);	/* not stolen */
	json_decref(args);
}

static void
test_reply_decode_ok_and_error(void **state)
{
	const char ok[] = "{\"v\":1,\"status\":200,\"data\":{\"pid\":5}}";
	const char bad[] = "{\"v\":1,\"status\":403,\"error\":\"no\"}";
	const char bare[] = "{\"v\":1,\"status\":505}";
	struct reply r;
	char err[256];

	assert_int_equal(reply_decode(ok, strlen(ok), &r, err, sizeof(err)), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.data, "pid")), 5);
	reply_free(&r);
	assert_int_equal(reply_decode(bad, strlen(bad), &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.status, 403);
	assert_string_equal(r.error, "no");
	reply_free(&r);
	assert_int_equal(reply_decode(bare, strlen(bare), &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.error, "protocol version not supported");
	reply_free(&r);
}

static void
test_reply_decode_rejects(void **state)
{
	static const struct { const char *line, *why; } cases[] = {
		{ "not json", "not JSON" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"status\":200,\"data\":{}}", "no protocol version" },
		{ "{\"v\":2,\"status\":200,\"data\":{}}",
		    "crmd speaks protocol version 2, this crmctl speaks 1" },
		{ "{\"v\":1,\"status\":\"200\",\"data\":{}}", "no valid status" },
		{ "{\"v\":1,\"status\":99999}", "no valid status" },
		{ "{\"v\":1,\"status\":200}", "has no data" },
		{ "{\"v\":1,\"v\":1,\"status\":200,\"data\":{}}", "not JSON" },
	};
	struct reply r;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(reply_decode(cases[i].line,
		    strlen(cases[i].line), &r, err, sizeof(err)), -1);
		assert_non_null(strstr(err, cases[i].why));
		assert_null(r.root);
	}
}

/* A peer that reads one line and then sends reply (or nothing). */
struct peer {
	char	 dir[64];
	char	 path[96];
	pid_t	 pid;
};

static void
peer_start(struct peer *p, const char *reply, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];
	int s, c;

	snprintf(p->dir, sizeof(p->dir), "/tmp/crmctl-client.XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->path, sizeof(p->path), "%s/s", p->dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p->path);
	assert_int_not_equal(s = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(s, 1), 0);
	if ((p->pid = fork()) == 0) {
		if ((c = accept(s, NULL, NULL)) == -1)
			_exit(1);
		if (read(c, buf, sizeof(buf)) <= 0)
			_exit(1);
		if (reply != NULL)
			(void)!write(c, reply, len);
		else
			pause();		/* never answers */
		_exit(0);
	}
	assert_true(p->pid > 0);
	close(s);
}

static void
peer_stop(struct peer *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	unlink(p->path);
	rmdir(p->dir);
}

static enum client_fail
call_peer(const char *reply, size_t len, size_t max, int64_t timeout,
    struct reply *r, char *err, size_t errlen)
{
	struct peer p;
	enum client_fail f;

	peer_start(&p, reply, len);
	f = client_call(p.path, timeout, max, "ping", NULL, r, err, errlen);
	peer_stop(&p);
	return f;
}

static void
test_exchange_ok(void **state)
{
	const char line[] = "{\"v\":1,\"status\":200,\"data\":{\"pong\":true,"
	    "\"pid\":9}}\n";
	struct reply r;
	char err[256];

	assert_int_equal(call_peer(line, strlen(line), CTL_MAX_REPLY, 10, &r,
	    err, sizeof(err)), CLIENT_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.data, "pid")), 9);
	assert_true(r.rtt_ms >= 0);
	reply_free(&r);
}

static void
test_exchange_reply_too_large(void **state)
{
	size_t len = 70000;
	char *big = malloc(len);
	struct reply r;
	char err[256];

	memset(big, 'x', len);		/* no newline: would never end */
	assert_int_equal(call_peer(big, len, 65536, 10, &r, err,
	    sizeof(err)), CLIENT_EXCHANGE);
	assert_string_equal(err, "reply from crmd is larger than 65536 bytes");
	assert_null(r.root);
	free(big);
}

static void
test_exchange_peer_closes(void **state)
{
	struct reply r;
	char err[256];

	assert_int_equal(call_peer("{\"v\":1", 6, CTL_MAX_REPLY, 10, &r, err,
	    sizeof(err)), CLIENT_EXCHANGE);
	assert_string_equal(err, "crmd closed the connection without replying");
}

static void
test_exchange_times_out(void **state)
{
	struct reply r;
	char err[256];

	assert_int_equal(call_peer(NULL, 0, CTL_MAX_REPLY, 1, &r, err,
	    sizeof(err)), CLIENT_EXCHANGE);
	assert_string_equal(err, "no reply from crmd: timed out (see --timeout)");
}

static void
test_connect_fails(void **state)
{
	struct reply r;
	char err[256];

	assert_int_equal(client_call("/nonexistent/crmd.sock", 5,
	    CTL_MAX_REPLY, "ping", NULL, &r, err, sizeof(err)), CLIENT_CONNECT);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "cannot connect to crmd at "
	    "/nonexistent/crmd.sock: No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_encode),
		cmocka_unit_test(test_reply_decode_ok_and_error),
		cmocka_unit_test(test_reply_decode_rejects),
		cmocka_unit_test(test_exchange_ok),
		cmocka_unit_test(test_exchange_reply_too_large),
		cmocka_unit_test(test_exchange_peer_closes),
		cmocka_unit_test(test_exchange_times_out),
		cmocka_unit_test(test_connect_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
