/*
 * The bare libcurl multi harness of the delivery benchmark: the same sends
 * crmd makes, with nothing around them.  No database, no event library:
 * a fixed number of easy handles, each re-added to one multi handle as
 * soon as its transfer ends, so the multi handle's connection cache
 * reuses one connection per handle, exactly as crmd's channels are meant
 * to.  What it measures is what libcurl itself can do.
 *
 *   curl_harness [-n COUNT] [-p PARALLEL] [-c CAFILE] \
 *       smtp URL FROM TO MESSAGE_FILE
 *   curl_harness [-n COUNT] [-p PARALLEL] [-c CAFILE] \
 *       smtpmime URL FROM TO HEADER_FILE TEXT_FILE
 *   curl_harness [-n COUNT] [-p PARALLEL] [-c CAFILE] [-H HEADER]... \
 *       http URL BODY_FILE
 *
 * smtp uploads MESSAGE_FILE (a whole RFC 5322 message with CRLF line
 * ends, e.g. one crmd sent) COUNT times from FROM to TO: no message is
 * built.  smtpmime builds each message as crmd must, with libcurl's MIME
 * API: the header lines of HEADER_FILE (one a line: From, To, Subject,
 * Date, Message-ID) and TEXT_FILE as a UTF-8 text part that libcurl
 * encodes in base64, so crmd divided by it is the cost of crmd's own
 * work around the sends: the outbox, the event loop, the rendering.
 * http POSTs BODY_FILE with the given headers.  Prints one JSON object: messages,
 * ok, failed, seconds (first transfer started to last one done), per_s,
 * connects (new connections over the run) and the first error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

enum mode { MODE_SMTP, MODE_SMTP_MIME, MODE_HTTP };

struct job {
	enum mode		 mode;
	const char		*url;
	const char		*from;
	const char		*to;
	const char		*cafile;
	char			*data;		/* message or body */
	size_t			 len;
	struct curl_slist	*headers;	/* http: -H; smtp: unused */
	struct curl_slist	*rcpt;		/* smtp: TO */
	char			*hdrs;		/* smtpmime: header lines */
	long			 count;
	long			 parallel;
};

/* One easy handle and where its upload has got to. */
struct xfer {
	CURL			*easy;
	const struct job	*job;
	size_t			 off;
	curl_mime		*mime;		/* smtpmime: this message's */
	struct curl_slist	*msg_hdrs;
};

struct tally {
	long		 started;
	long		 ok;
	long		 failed;
	long		 connects;
	char		 first_error[256];
};

static void
usage(void)
{
	fprintf(stderr, "usage: curl_harness [-n count] [-p parallel] "
	    "[-c cafile] smtp URL FROM TO MESSAGE_FILE\n"
	    "       curl_harness [-n count] [-p parallel] [-c cafile] "
	    "smtpmime URL FROM TO HEADER_FILE TEXT_FILE\n"
	    "       curl_harness [-n count] [-p parallel] [-c cafile] "
	    "[-H header]... http URL BODY_FILE\n");
	exit(2);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
read_file(const char *path, size_t *lenp)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "curl_harness: %s: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap)) == NULL) {
				fclose(f);
				return NULL;
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*lenp = len;
	return buf;
}

/* The SMTP upload: the message from x->off on. */
static size_t
upload_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nitems, left = x->job->len - x->off;

	if (n > left)
		n = left;
	memcpy(buf, x->job->data + x->off, n);
	x->off += n;
	return n;
}

/* Replies are read and dropped, as crmd drops all but their status. */
static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

static int
setup(struct xfer *x)
{
	const struct job *j = x->job;
	CURL *e = x->easy;
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_URL, j->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard) !=
	    CURLE_OK;
	if (j->cafile != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, j->cafile) !=
		    CURLE_OK;
	if (j->mode == MODE_SMTP_MIME) {
		bad |= curl_easy_setopt(e, CURLOPT_MAIL_FROM, j->from) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK;
	} else if (j->mode == MODE_SMTP) {
		bad |= curl_easy_setopt(e, CURLOPT_MAIL_FROM, j->from) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_READFUNCTION,
		    upload_read) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_READDATA, x) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)j->len) != CURLE_OK;
	} else {
		/* HTTP/1.1 keep-alive in clear, HTTP/2 only over TLS, as
		 * crmd (curlev_easy_defaults). */
		bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
		    (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->data) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)j->len) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

/* smtpmime: this message, built afresh as crmd builds each one. */
static int
build(struct xfer *x)
{
	const struct job *j = x->job;
	curl_mimepart *part;
	char *line, *save = NULL, *copy;

	curl_mime_free(x->mime);
	curl_slist_free_all(x->msg_hdrs);
	x->msg_hdrs = NULL;
	if ((copy = strdup(j->hdrs)) == NULL)
		return -1;
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		x->msg_hdrs = curl_slist_append(x->msg_hdrs, line);
	free(copy);
	if ((x->mime = curl_mime_init(x->easy)) == NULL ||
	    (part = curl_mime_addpart(x->mime)) == NULL ||
	    curl_mime_data(part, j->data, j->len) != CURLE_OK ||
	    curl_mime_type(part, "text/plain; charset=UTF-8") != CURLE_OK ||
	    curl_mime_encoder(part, "base64") != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->msg_hdrs) !=
	    CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_MIMEPOST, x->mime) != CURLE_OK)
		return -1;
	return 0;
}

/* Starts x's next transfer, if any are left. */
static void
start(CURLM *multi, struct xfer *x, struct tally *t)
{
	if (t->started >= x->job->count)
		return;
	x->off = 0;
	if (x->job->mode == MODE_SMTP_MIME && build(x) == -1) {
		fprintf(stderr, "curl_harness: cannot build a message\n");
		exit(1);
	}
	if (curl_multi_add_handle(multi, x->easy) != CURLM_OK) {
		fprintf(stderr, "curl_harness: curl_multi_add_handle failed\n");
		exit(1);
	}
	t->started++;
}

static void
finish(CURLM *multi, CURL *e, CURLcode res, struct tally *t)
{
	struct xfer *x;
	long code = 0, connects = 0;
	int good;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
	t->connects += connects;
	good = res == CURLE_OK && (x->job->mode != MODE_HTTP ||
	    (code >= 200 && code < 300));
	if (good)
		t->ok++;
	else if (t->failed++ == 0)
		snprintf(t->first_error, sizeof(t->first_error),
		    "%s (response %ld)", curl_easy_strerror(res), code);
	curl_multi_remove_handle(multi, e);
	start(multi, x, t);
}

static int
run(struct job *j, struct tally *t, double *secs)
{
	CURLM *multi;
	CURLMsg *m;
	struct xfer *xs;
	double t0;
	long i;
	int running = 1, left;

	if ((multi = curl_multi_init()) == NULL ||
	    (xs = calloc((size_t)j->parallel, sizeof(*xs))) == NULL)
		return -1;
	/* One connection per handle, kept between transfers. */
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, j->parallel);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, j->parallel);
	for (i = 0; i < j->parallel; i++) {
		xs[i].job = j;
		if ((xs[i].easy = curl_easy_init()) == NULL ||
		    setup(&xs[i]) == -1)
			return -1;
	}
	t0 = now_s();
	for (i = 0; i < j->parallel; i++)
		start(multi, &xs[i], t);
	while (running > 0 || t->ok + t->failed < j->count) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			return -1;
		while ((m = curl_multi_info_read(multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE)
				finish(multi, m->easy_handle, m->data.result,
				    t);
		if (t->ok + t->failed >= j->count)
			break;
		if (curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK)
			return -1;
	}
	*secs = now_s() - t0;
	for (i = 0; i < j->parallel; i++) {
		curl_multi_remove_handle(multi, xs[i].easy);
		curl_easy_cleanup(xs[i].easy);
		curl_mime_free(xs[i].mime);
		curl_slist_free_all(xs[i].msg_hdrs);
	}
	free(xs);
	curl_multi_cleanup(multi);
	return 0;
}

/* The error text as a JSON string body: only printable ASCII kept. */
static void
json_text(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
			putchar(*s);
}

static long
number(const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	struct job j = { .count = 10000, .parallel = 8 };
	struct tally t = { 0 };
	double secs = 0;
	const char *file;
	size_t hlen = 0;
	int ch;

	while ((ch = getopt(argc, argv, "c:H:n:p:")) != -1) {
		switch (ch) {
		case 'c':
			j.cafile = optarg;
			break;
		case 'H':
			j.headers = curl_slist_append(j.headers, optarg);
			break;
		case 'n':
			j.count = number(optarg, 1);
			break;
		case 'p':
			j.parallel = number(optarg, 1);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 5 && strcmp(argv[0], "smtp") == 0) {
		j.mode = MODE_SMTP;
		j.from = argv[2];
		j.to = argv[3];
		j.rcpt = curl_slist_append(NULL, j.to);
		file = argv[4];
	} else if (argc == 6 && strcmp(argv[0], "smtpmime") == 0) {
		j.mode = MODE_SMTP_MIME;
		j.from = argv[2];
		j.to = argv[3];
		j.rcpt = curl_slist_append(NULL, j.to);
		if ((j.hdrs = read_file(argv[4], &hlen)) == NULL)
			return 1;
		j.hdrs[hlen < 1 ? 0 : hlen - (j.hdrs[hlen - 1] == '\n')] = '\0';
		file = argv[5];
	} else if (argc == 3 && strcmp(argv[0], "http") == 0) {
		j.mode = MODE_HTTP;
		file = argv[2];
	} else
		usage();
	j.url = argv[1];
	if (j.parallel > j.count)
		j.parallel = j.count;
	if ((j.data = read_file(file, &j.len)) == NULL)
		return 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    run(&j, &t, &secs) == -1) {
		fprintf(stderr, "curl_harness: libcurl setup failed\n");
		return 1;
	}
	printf("{\"mode\": \"%s\", \"messages\": %ld, \"bytes\": %zu, "
	    "\"parallel\": %ld, \"ok\": %ld, \"failed\": %ld, "
	    "\"seconds\": %.6f, \"per_s\": %.1f, \"connects\": %ld, "
	    "\"curl\": \"%s\", \"first_error\": \"",
	    j.mode == MODE_SMTP ? "smtp" : j.mode == MODE_SMTP_MIME ?
	    "smtpmime" : "http", j.count, j.len,
	    j.parallel, t.ok, t.failed, secs, secs > 0 ? t.ok / secs : 0.0,
	    t.connects, curl_version_info(CURLVERSION_NOW)->version);
	json_text(t.first_error);
	printf("\"}\n");
	curl_slist_free_all(j.headers);
	curl_slist_free_all(j.rcpt);
	free(j.data);
	free(j.hdrs);
	curl_global_cleanup();
	return t.failed > 0 ? 1 : 0;
}
