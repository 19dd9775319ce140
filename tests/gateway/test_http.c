/*
 * gateway.h against a real HTTP server (Python's http.server on
 * loopback, echo_server.py): what gw_build() makes, sent as it is by
 * libcurl, is decoded by the standard library to exactly the values put
 * in, with the Idempotency-Key and basic auth; and gw_classify() reads the
 * server's real replies (200, 400, 429 with Retry-After, 500) and a
 * refused connection.  Blocking libcurl is fine here: this is a test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>

#include "gateway.h"

static FILE	*server;
static int	 port;
static CURL	*curl;

struct buf {
	char	*p;
	size_t	 n;
};

struct reply {
	long		 status;
	struct buf	 body;
	char		 retry_after[64];
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *q = realloc(b->p, b->n + size * n + 1);

	assert_non_null(q);
	memcpy(q + b->n, p, size * n);
	b->p = q;
	b->n += size * n;
	b->p[b->n] = '\0';
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;

	if (len > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
		snprintf(r->retry_after, sizeof(r->retry_after), "%.*s",
		    (int)(len - 15), p + 13);	/* without CRLF */
	return len;
}

/* Sends req as it is; the reply in *r (free r->body.p). */
static void
send_request(const struct gw_request *req, struct reply *r)
{
	struct curl_slist *h = NULL;
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < req->nheaders; i++)
		h = curl_slist_append(h, req->headers[i]);
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_USERNAME, req->auth_user);
	curl_easy_setopt(curl, CURLOPT_PASSWORD, req->auth_secret);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
}

static int
setup(void **state)
{
	char line[32];

	server = popen(PYTHON " " ECHO_SERVER, "r");
	if (server == NULL || fgets(line, sizeof(line), server) == NULL)
		return -1;
	port = atoi(line);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	return port > 0 && curl != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/quit", port);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &(struct buf){ 0 });
	curl_easy_perform(curl);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return pclose(server) == 0 ? 0 : -1;
}

static struct gw_conf
conf(enum gw_format f, const char *body, const char *path)
{
	struct gw_conf c = { .format = f };
	char *err = NULL;
	int line;

	assert_true(asprintf(&c.url, "http://127.0.0.1:%d%s", port, path) > 0);
	c.body = gw_body_compile(body, &err, &line);
	assert_non_null(c.body);
	assert_int_equal(gw_conf_check(&c, &err), 0);
	return c;
}

static const char *const hostile[] = {
	"a&b=c+d%20e", "quote \" ' \\", "line1\nline2\r\n", "张三 回访",
	"emoji 😀👍🏽", "To=+1&Body=x", "{to}", "",
};

static json_t *
echoed(const struct reply *r)
{
	json_t *j = json_loadb(r->body.p, r->body.n, 0, NULL);

	assert_non_null(j);
	return j;
}

static const char *
str(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(o, a), b);

	assert_non_null(v);
	return json_string_value(v);
}

static void
test_form_decoded_by_python(void **state)
{
	struct gw_conf c = conf(GW_FORM, "To={to}&Body={text}",
	    "/reply/201");
	size_t i;

	c.auth_user = strdup("ACuser");
	c.auth_secret = strdup("sentinel-pw");
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct gw_msg m = { "+8613800138000", hostile[i], NULL,
		    "rem.9.sms" };
		struct gw_request req;
		struct reply r;
		char *err = NULL, *reason;
		int64_t at;
		json_t *j;

		assert_int_equal(gw_build(&c, &m, &req, &err), 0);
		send_request(&req, &r);
		assert_int_equal(r.status, 201);
		j = echoed(&r);
		assert_string_equal(str(j, "form", "Body"), hostile[i]);
		assert_string_equal(str(j, "form", "To"), "+8613800138000");
		assert_int_equal(json_object_size(json_object_get(j, "form")),
		    2);
		assert_string_equal(str(j, "headers", "idempotency-key"),
		    "rem.9.sms");
		/* base64("ACuser:sentinel-pw") */
		assert_string_equal(str(j, "headers", "authorization"),
		    "Basic QUN1c2VyOnNlbnRpbmVsLXB3");
		assert_int_equal(gw_classify(&c, r.status, NULL, r.body.p,
		    r.body.n, 0, &at, &reason), GW_SENT);
		json_decref(j);
		free(r.body.p);
		gw_request_free(&req);
	}
	gw_conf_free(&c);
}

static void
test_json_decoded_by_python(void **state)
{
	struct gw_conf c = conf(GW_JSON, "{{\"msgtype\":\"text\",\"text\":"
	    "{{\"content\":\"{text}\"}}}}", "/reply/200");
	size_t i;

	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct gw_msg m = { "", hostile[i], NULL, "k.webhook" };
		struct gw_request req;
		struct reply r;
		char *err = NULL;
		json_t *j;

		assert_int_equal(gw_build(&c, &m, &req, &err), 0);
		send_request(&req, &r);
		assert_int_equal(r.status, 200);
		j = echoed(&r);
		assert_string_equal(str(json_object_get(j, "json"), "text",
		    "content"), hostile[i]);
		assert_string_equal(str(j, "headers", "idempotency-key"),
		    "k.webhook");
		json_decref(j);
		free(r.body.p);
		gw_request_free(&req);
	}
	gw_conf_free(&c);
}

/* The server's real replies, through gw_classify(). */
static void
test_real_replies(void **state)
{
	static const struct {
		const char	*path;
		enum gw_verdict	 v;
		int64_t		 delay;		/* -1: no Retry-After */
		const char	*reason;
	} table[] = {
		{ "/reply/200?body=ok", GW_SENT, -1, NULL },
		{ "/reply/400?body=bad%20number%0D%0AX:%20y", GW_DEAD, -1,
		  "HTTP 400: bad number X: y" },
		{ "/reply/429?ra=120&body=slow", GW_RETRY, 120,
		  "HTTP 429: slow" },
		{ "/reply/503?body=busy&"
		  "ra=Sun,%2001%20Mar%202026%2000:05:00%20GMT",
		  GW_RETRY, 300, "HTTP 503: busy" },
		{ "/reply/500?body=oops", GW_RETRY, -1, "HTTP 500: oops" },
	};
	const int64_t now = INT64_C(1772323200);
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct gw_conf c = conf(GW_FORM, "b={text}", table[i].path);
		struct gw_msg m = { "", "x", NULL, "k" };
		struct gw_request req;
		struct reply r;
		char *err = NULL, *reason;
		int64_t at;

		assert_int_equal(gw_build(&c, &m, &req, &err), 0);
		send_request(&req, &r);
		assert_int_equal(gw_classify(&c, r.status, *r.retry_after ?
		    r.retry_after : NULL, r.body.p, r.body.n, now, &at,
		    &reason), table[i].v);
		assert_int_equal(at, table[i].delay < 0 ? 0 :
		    now + table[i].delay);
		if (table[i].reason == NULL)
			assert_null(reason);
		else
			assert_string_equal(reason, table[i].reason);
		free(reason);
		free(r.body.p);
		gw_request_free(&req);
		gw_conf_free(&c);
	}
}

/* A port nobody listens on: no reply, status 0, tried again. */
static void
test_refused(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct gw_conf c = { .format = GW_JSON };
	struct gw_msg m = { "", "{}", NULL, "k" };
	struct gw_request req;
	struct reply r;
	char *err = NULL, *reason;
	int64_t at;
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);	/* bound, never listening: now closed */
	assert_true(asprintf(&c.url, "http://127.0.0.1:%d/x",
	    ntohs(sa.sin_port)) > 0);
	assert_int_equal(gw_build(&c, &m, &req, &err), 0);
	send_request(&req, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(gw_classify(&c, r.status, NULL, NULL, 0, 0, &at,
	    &reason), GW_RETRY);
	assert_string_equal(reason, "no reply from the gateway");
	free(reason);
	free(r.body.p);
	gw_request_free(&req);
	gw_conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_decoded_by_python),
		cmocka_unit_test(test_json_decoded_by_python),
		cmocka_unit_test(test_real_replies),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
