/*
 * Sends the cases of a corpus file through mail_build() and a blocking
 * curl_easy_perform() (fine in a test, never in the daemon), one fresh
 * easy handle (so one SMTP session) per case.
 *
 * usage: test_mail_send URL CASES RESULTS
 * CASES has one case a line, tab-separated hex fields:
 *   key from_addr from_name to_addr to_name subject text html
 * where "-" means absent.  RESULTS gets "key\tsent",
 * "key\trefused\tREASON" or "key\tfailed\tCURL ERROR".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"

#define NFIELDS	8

/* Decodes one hex field in place; "-" is absent. */
static struct mail_str
unhex(char *s)
{
	struct mail_str	 m = { NULL, 0 };
	size_t		 i, n = strlen(s);
	unsigned	 v;

	if (strcmp(s, "-") == 0)
		return m;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			abort();
		s[i] = (char)v;
	}
	m.ptr = s;
	m.len = n / 2;
	return m;
}

static void
send_one(const char *url, char **f, FILE *out)
{
	struct mail_msg		 m = { 0 };
	struct mail_built	*mb;
	const char		*why;
	CURL			*easy;
	CURLcode		 rc;

	m.idempotency_key = unhex(f[0]);
	m.from_addr = unhex(f[1]);
	m.from_name = unhex(f[2]);
	m.to_addr = unhex(f[3]);
	m.to_name = unhex(f[4]);
	m.subject = unhex(f[5]);
	m.text = unhex(f[6]);
	m.html = unhex(f[7]);
	m.date = 1772528400;	/* 2026-03-03 09:00:00 UTC */
	if ((easy = curl_easy_init()) == NULL)
		abort();
	if ((mb = mail_build(easy, &m, &why)) == NULL) {
		fprintf(out, "%.*s\trefused\t%s\n", (int)m.idempotency_key.len,
		    m.idempotency_key.ptr, why);
		curl_easy_cleanup(easy);
		return;
	}
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT, 20L);
	rc = curl_easy_perform(easy);
	curl_easy_cleanup(easy);	/* sends QUIT */
	mail_built_free(mb);
	if (rc == CURLE_OK)
		fprintf(out, "%.*s\tsent\n", (int)m.idempotency_key.len,
		    m.idempotency_key.ptr);
	else
		fprintf(out, "%.*s\tfailed\t%s\n", (int)m.idempotency_key.len,
		    m.idempotency_key.ptr, curl_easy_strerror(rc));
}

int
main(int argc, char **argv)
{
	FILE	*in, *out;
	char	*line = NULL, *f[NFIELDS], *rest;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 i;

	if (argc != 4 || (in = fopen(argv[2], "r")) == NULL ||
	    (out = fopen(argv[3], "w")) == NULL) {
		fprintf(stderr, "usage: test_mail_send URL CASES RESULTS\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	while ((n = getline(&line, &cap, in)) > 0) {
		line[strcspn(line, "\n")] = '\0';
		rest = line;
		for (i = 0; i < NFIELDS; i++)
			if ((f[i] = strsep(&rest, "\t")) == NULL)
				abort();
		send_one(argv[1], f, out);
	}
	free(line);
	fclose(in);
	fclose(out);
	curl_global_cleanup();
	return 0;
}
