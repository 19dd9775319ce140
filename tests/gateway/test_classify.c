/*
 * gateway.h, replies: the status table (2xx sent, 408/429/5xx and no
 * reply retried, other 4xx dead), Retry-After in seconds and as an
 * HTTP-date, per-gateway overrides, a JSON success field (DingTalk's
 * errcode), and reasons that keep the server's text but never its
 * controls or the configured secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gateway.h"

#define NOW	INT64_C(1772323200)	/* 2026-03-01 00:00:00 UTC */

static enum gw_verdict
classify(const struct gw_conf *c, long status, const char *ra,
    const char *body, int64_t *at, char **reason)
{
	return gw_classify(c, status, ra, body, body ? strlen(body) : 0, NOW,
	    at, reason);
}

static void
test_status_table(void **state)
{
	static const struct {
		long		 status;
		enum gw_verdict	 v;
	} table[] = {
		{ 200, GW_SENT }, { 201, GW_SENT }, { 202, GW_SENT },
		{ 204, GW_SENT },
		{ 400, GW_DEAD }, { 401, GW_DEAD }, { 403, GW_DEAD },
		{ 404, GW_DEAD }, { 409, GW_DEAD }, { 410, GW_DEAD },
		{ 422, GW_DEAD },
		{ 408, GW_RETRY }, { 429, GW_RETRY },
		{ 500, GW_RETRY }, { 502, GW_RETRY }, { 503, GW_RETRY },
		{ 504, GW_RETRY },
		{ 0, GW_RETRY },	/* refused, reset, timed out */
		{ 301, GW_RETRY }, { 100, GW_RETRY },
	};
	struct gw_conf c = { 0 };
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		int64_t at = -1;
		char *reason = NULL;
		enum gw_verdict v = classify(&c, table[i].status, NULL,
		    "server says no", &at, &reason);

		if (v != table[i].v)
			fail_msg("HTTP %ld: verdict %d, want %d",
			    table[i].status, v, table[i].v);
		assert_int_equal(at, 0);
		if (v == GW_SENT)
			assert_null(reason);
		else
			assert_non_null(strstr(reason, "server says no"));
		free(reason);
	}
}

static void
test_reasons(void **state)
{
	struct gw_conf c = { 0 };
	char *reason;
	int64_t at;

	classify(&c, 404, NULL, "Not Found", &at, &reason);
	assert_string_equal(reason, "HTTP 404: Not Found");
	free(reason);
	classify(&c, 500, NULL, NULL, &at, &reason);
	assert_string_equal(reason, "HTTP 500");
	free(reason);
	classify(&c, 0, NULL, NULL, &at, &reason);
	assert_string_equal(reason, "no reply from the gateway");
	free(reason);
}

static void
test_retry_after_seconds(void **state)
{
	struct gw_conf c = { 0 };
	char *reason;
	int64_t at;

	assert_int_equal(classify(&c, 429, "120", "slow down", &at, &reason),
	    GW_RETRY);
	assert_int_equal(at, NOW + 120);
	assert_string_equal(reason, "HTTP 429: slow down");
	free(reason);
	assert_int_equal(classify(&c, 503, " 30 ", NULL, &at, &reason),
	    GW_RETRY);
	assert_int_equal(at, NOW + 30);
	free(reason);
	assert_int_equal(classify(&c, 503, "0", NULL, &at, &reason),
	    GW_RETRY);
	assert_int_equal(at, NOW);
	free(reason);
	/* Malformed: ignored, the caller's backoff decides. */
	assert_int_equal(classify(&c, 503, "-5", NULL, &at, &reason),
	    GW_RETRY);
	assert_int_equal(at, 0);
	free(reason);
	assert_int_equal(classify(&c, 503, "soon", NULL, &at, &reason),
	    GW_RETRY);
	assert_int_equal(at, 0);
	free(reason);
	/* Only a retry is delayed: Retry-After on a 400 changes nothing. */
	assert_int_equal(classify(&c, 400, "60", NULL, &at, &reason),
	    GW_DEAD);
	assert_int_equal(at, 0);
	free(reason);
	/* Absurd values are clamped, not overflowed. */
	assert_int_equal(gw_retry_after("99999999999999999999", NOW, &at), 0);
	assert_true(at > NOW && at <= NOW + 400 * 86400);
}

static void
test_retry_after_date(void **state)
{
	struct gw_conf c = { 0 };
	char *reason;
	int64_t at;

	/* The three HTTP-date forms, each 2026-03-01 00:05:00 UTC. */
	assert_int_equal(classify(&c, 429, "Sun, 01 Mar 2026 00:05:00 GMT",
	    NULL, &at, &reason), GW_RETRY);
	assert_int_equal(at, NOW + 300);
	free(reason);
	assert_int_equal(gw_retry_after("Sunday, 01-Mar-26 00:05:00 GMT",
	    NOW, &at), 0);
	assert_int_equal(at, NOW + 300);
	assert_int_equal(gw_retry_after("Sun Mar  1 00:05:00 2026", NOW, &at),
	    0);
	assert_int_equal(at, NOW + 300);
	/* A date already past means now. */
	assert_int_equal(gw_retry_after("Sat, 28 Feb 2026 23:00:00 GMT", NOW,
	    &at), 0);
	assert_int_equal(at, NOW);
	assert_int_equal(gw_retry_after("Sun, 01 Foo 2026 00:05:00 GMT", NOW,
	    &at), -1);
	assert_int_equal(gw_retry_after("Sun, 01 Mar 2026 25:05:00 GMT", NOW,
	    &at), -1);
	assert_int_equal(gw_retry_after("Sun, 01 Mar 2026 00:05:00 GMT x",
	    NOW, &at), -1);
}

static void
test_overrides(void **state)
{
	struct gw_conf c = { .sent = { { 409 }, 1 }, .dead = { { 503 }, 1 },
	    .retry = { { 400, 418 }, 2 } };
	char *reason;
	int64_t at;

	/* 409 on a repeated Idempotency-Key: already sent. */
	assert_int_equal(classify(&c, 409, NULL, "duplicate", &at, &reason),
	    GW_SENT);
	assert_null(reason);
	assert_int_equal(classify(&c, 503, "10", NULL, &at, &reason),
	    GW_DEAD);
	assert_int_equal(at, 0);
	free(reason);
	assert_int_equal(classify(&c, 418, NULL, NULL, &at, &reason),
	    GW_RETRY);
	free(reason);
	assert_int_equal(classify(&c, 404, NULL, NULL, &at, &reason),
	    GW_DEAD);
	free(reason);
}

/* DingTalk robots answer 200 and say in errcode what happened. */
static void
test_json_field(void **state)
{
	struct gw_conf c = { .json_field = (char *)"errcode",
	    .json_ok = { (char *)"0" }, .njson_ok = 1,
	    .json_retry = { (char *)"130101" }, .njson_retry = 1 };
	char *reason;
	int64_t at;

	assert_int_equal(classify(&c, 200, NULL,
	    "{\"errcode\":0,\"errmsg\":\"ok\"}", &at, &reason), GW_SENT);
	assert_null(reason);
	assert_int_equal(classify(&c, 200, NULL,
	    "{\"errcode\":310000,\"errmsg\":\"keywords not in content\"}",
	    &at, &reason), GW_DEAD);
	assert_string_equal(reason, "HTTP 200, errcode 310000: "
	    "{\"errcode\":310000,\"errmsg\":\"keywords not in content\"}");
	free(reason);
	assert_int_equal(classify(&c, 200, "60",
	    "{\"errcode\":130101,\"errmsg\":\"send too fast\"}", &at,
	    &reason), GW_RETRY);
	assert_int_equal(at, NOW + 60);
	free(reason);
	/* Not JSON, or no such field: the gateway answered, so not resent. */
	assert_int_equal(classify(&c, 200, NULL, "<html>ok</html>", &at,
	    &reason), GW_DEAD);
	assert_non_null(strstr(reason, "no JSON field errcode"));
	free(reason);
	assert_int_equal(classify(&c, 200, NULL, "{\"errmsg\":\"ok\"}", &at,
	    &reason), GW_DEAD);
	free(reason);
	/* An override is final: 409 for a repeated key is not parsed. */
	c.sent = (struct gw_codes){ { 409 }, 1 };
	assert_int_equal(classify(&c, 409, NULL, "duplicate", &at, &reason),
	    GW_SENT);
	assert_null(reason);
	/* A 5xx is a retry whatever its body says. */
	assert_int_equal(classify(&c, 502, NULL, "{\"errcode\":0}", &at,
	    &reason), GW_RETRY);
	free(reason);
}

static void
test_json_path(void **state)
{
	struct gw_conf c = { .json_field = (char *)"data.status",
	    .json_ok = { (char *)"queued", (char *)"true" }, .njson_ok = 2 };
	char *reason;
	int64_t at;

	assert_int_equal(classify(&c, 201, NULL,
	    "{\"data\":{\"status\":\"queued\"}}", &at, &reason), GW_SENT);
	assert_int_equal(classify(&c, 201, NULL,
	    "{\"data\":{\"status\":true}}", &at, &reason), GW_SENT);
	assert_int_equal(classify(&c, 201, NULL,
	    "{\"data\":{\"status\":\"failed\"}}", &at, &reason), GW_DEAD);
	assert_non_null(strstr(reason, "data.status failed"));
	free(reason);
	assert_int_equal(classify(&c, 201, NULL, "{\"data\":\"queued\"}", &at,
	    &reason), GW_DEAD);
	free(reason);
}

/* A gateway echoing the request: the secret is masked in every encoding
 * it may come back in (basic auth at each alignment, percent, base64). */
static void
test_secret_echo(void **state)
{
	struct gw_conf c = { .auth_secret = (char *)"S3nt/inel+pw d" };
	static const char *const echoes[] = {
		"Basic QUMxOlMzbnQvaW5lbCtwdyBk",
		"Basic QUMxMjpTM250L2luZWwrcHcgZA==",
		"Basic QUMxMjM6UzNudC9pbmVsK3B3IGQ=",
		"S3nt%2Finel%2Bpw%20d",
		"S3nt%2finel%2bpw%20d",
		"S3nt%2Finel%2Bpw+d",
		"UzNudC9pbmVsK3B3IGQ=",
	};
	char *reason;
	int64_t at;

	for (size_t i = 0; i < sizeof(echoes) / sizeof(echoes[0]); i++) {
		char body[256];

		snprintf(body, sizeof(body), "{\"authorization\": \"%s\"}",
		    echoes[i]);
		assert_int_equal(gw_classify(&c, 401, NULL, body, strlen(body),
		    NOW, &at, &reason), GW_DEAD);
		/* Whatever is left of the echo is too short to be the secret's. */
		assert_null(strstr(reason, echoes[i] + (i < 3 ? 6 : 0)));
		assert_non_null(strstr(reason, "***"));
		free(reason);
	}
}

static void
test_sanitised(void **state)
{
	struct gw_conf c = { .auth_secret = (char *)"s3cr3t-token" };
	static const char body[] = "bad\r\nX-Injected: yes\x1b[31m\x7f"
	    "\xc2\x85 token s3cr3t-token 张三\xff\xfe end";
	char big[2000], *reason;
	int64_t at;
	size_t i;

	assert_int_equal(gw_classify(&c, 400, NULL, body, sizeof(body) - 1,
	    NOW, &at, &reason), GW_DEAD);
	assert_string_equal(reason, "HTTP 400: bad X-Injected: yes [31m "
	    "token *** 张三?? end");
	free(reason);

	/* A NUL inside the body ends nothing. */
	assert_int_equal(gw_classify(&c, 400, NULL, "a\0b", 3, NOW, &at,
	    &reason), GW_DEAD);
	assert_string_equal(reason, "HTTP 400: a b");
	free(reason);

	/* Long bodies are cut on a character boundary. */
	for (i = 0; i + 3 <= sizeof(big) - 1; i += 3)
		memcpy(big + i, "张", 3);
	big[i] = '\0';
	classify(&c, 422, NULL, big, &at, &reason);
	assert_true(strlen(reason) < 300);
	assert_non_null(strstr(reason, "..."));
	assert_non_null(strstr(reason, "张张"));
	for (i = 0; reason[i] != '\0'; i++)	/* no half character */
		if ((unsigned char)reason[i] >= 0xe0)
			assert_true(reason[i + 1] != '\0' &&
			    reason[i + 2] != '\0' &&
			    ((unsigned char)reason[i + 1] & 0xc0) == 0x80 &&
			    ((unsigned char)reason[i + 2] & 0xc0) == 0x80);
	free(reason);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_retry_after_seconds),
		cmocka_unit_test(test_retry_after_date),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_json_field),
		cmocka_unit_test(test_json_path),
		cmocka_unit_test(test_sanitised),
		cmocka_unit_test(test_secret_echo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
