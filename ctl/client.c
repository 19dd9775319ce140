/*
 * One exchange with crmd: connect to the Unix socket, write one request
 * line, read one reply line.  Every step shares one deadline, and the
 * reply is bounded, so a wedged or hostile peer cannot hang crmctl or make
 * it allocate without limit.  The reply is checked (JSON object, protocol
 * version, status, data or error) before anyone looks inside it.
 */
#include "crmctl.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "protocol.h"

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Milliseconds left before deadline, for poll(); 0 once it has passed. */
static int
remaining(int64_t deadline)
{
	int64_t left = deadline - mono_ms();

	if (left <= 0)
		return 0;
	return left > 60 * 60 * 1000 ? 60 * 60 * 1000 : (int)left;
}

/* Waits for events on fd; 0 when ready, -1 with errno (ETIMEDOUT). */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, remaining(deadline));
	} while (n == -1 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

/*
 * A Unix-socket connect() fails with EAGAIN when the listener's backlog is
 * full; that is worth retrying until the deadline.
 */
static int
connect_retry(int fd, const struct sockaddr_un *sun, int64_t deadline)
{
	const struct timespec pause = { 0, 20 * 1000 * 1000 };
	socklen_t len = sizeof(int);
	int soerr = 0;

	for (;;) {
		if (connect(fd, (const struct sockaddr *)sun,
		    sizeof(*sun)) == 0)
			return 0;
		if (errno == EINPROGRESS)
			break;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (remaining(deadline) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	if (wait_fd(fd, POLLOUT, deadline) == -1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return -1;
	errno = soerr;
	return soerr == 0 ? 0 : -1;
}

static int
connect_unix(const char *path, int64_t deadline, int *error_no)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_no = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1 || connect_retry(fd, &sun, deadline) == -1) {
		*error_no = errno;
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* The request line, newline included; malloc'd, NULL if out of memory. */
char *
request_encode(const char *cmd, json_t *args, size_t *len)
{
	json_t *req;
	char *line, *s;

	/* "o" steals the reference: give it one of its own. */
	req = json_pack("{s:i, s:s, s:o}", "v", CRMD_PROTO_VERSION,
	    "cmd", cmd, "args", args != NULL ? json_incref(args) :
	    json_object());
	if (req == NULL)
		return NULL;
	s = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	if (s == NULL || asprintf(&line, "%s\n", s) == -1)
		line = NULL;
	free(s);
	if (line != NULL)
		*len = strlen(line);
	return line;
}

static int
send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		if (wait_fd(fd, POLLOUT, deadline) == -1)
			return -1;
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Grows *buf by one recv(); returns bytes read, 0 at EOF, -1 on error. */
static ssize_t
recv_some(int fd, char **buf, size_t *len, size_t *cap, size_t max)
{
	ssize_t n;

	if (*cap - *len < 4096) {
		size_t ncap = *cap == 0 ? 8192 : *cap * 2;
		char *p;

		if (ncap > max + 1)
			ncap = max + 1;
		if ((p = realloc(*buf, ncap)) == NULL)
			return -1;
		*buf = p;
		*cap = ncap;
	}
	do {
		n = recv(fd, *buf + *len, *cap - *len, 0);
	} while (n == -1 && errno == EINTR);
	if (n > 0)
		*len += (size_t)n;
	return n;
}

/* Reads up to the first newline; *line is malloc'd, without the newline. */
static int
read_line(int fd, int64_t deadline, size_t max, char **line, size_t *linelen,
    char *err, size_t errlen)
{
	size_t len = 0, cap = 0, scanned = 0;
	char *buf = NULL, *nl = NULL;
	ssize_t n;

	for (;;) {
		if (len > scanned &&
		    (nl = memchr(buf + scanned, '\n', len - scanned)) != NULL)
			break;
		scanned = len;
		if (len > max) {
			free(buf);
			return fail(err, errlen, "reply from crmd is larger "
			    "than %zu bytes", max);
		}
		n = -1;
		if (wait_fd(fd, POLLIN, deadline) == 0 &&
		    (n = recv_some(fd, &buf, &len, &cap, max)) == -1 &&
		    errno == EAGAIN)
			continue;
		if (n == -1) {
			free(buf);
			return fail(err, errlen, "no reply from crmd: %s",
			    errno == ETIMEDOUT ? "timed out (see --timeout)" :
			    strerror(errno));
		}
		if (n == 0) {
			free(buf);
			return fail(err, errlen, "crmd closed the connection "
			    "without replying");
		}
	}
	*nl = '\0';
	*line = buf;
	*linelen = (size_t)(nl - buf);
	return 0;
}

static int
reply_check(json_t *root, struct reply *r, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, "v");
	json_t *status = json_object_get(root, "status");
	json_t *error = json_object_get(root, "error");

	if (!json_is_integer(v))
		return fail(err, errlen, "reply from crmd has no protocol "
		    "version");
	if (json_integer_value(v) != CRMD_PROTO_VERSION)
		return fail(err, errlen, "crmd speaks protocol version %"
		    JSON_INTEGER_FORMAT ", this crmctl speaks %d: install "
		    "matching versions", json_integer_value(v),
		    CRMD_PROTO_VERSION);
	if (!json_is_integer(status) || json_integer_value(status) < 100 ||
	    json_integer_value(status) > 599)
		return fail(err, errlen, "reply from crmd has no valid status");
	r->status = (int)json_integer_value(status);
	if (r->status == CRMD_OK) {
		if ((r->data = json_object_get(root, "data")) == NULL)
			return fail(err, errlen, "reply from crmd has no data");
	} else
		r->error = json_is_string(error) ? json_string_value(error) :
		    crmd_result_str(r->status);
	return 0;
}

/* Parses and checks one reply line into r (which then owns the JSON). */
int
reply_decode(const char *line, size_t len, struct reply *r, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	memset(r, 0, sizeof(*r));
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return fail(err, errlen, "reply from crmd is not JSON: %s",
		    jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "reply from crmd is not a JSON "
		    "object");
	}
	if (reply_check(root, r, err, errlen) == -1) {
		json_decref(root);
		memset(r, 0, sizeof(*r));
		return -1;
	}
	r->root = root;
	return 0;
}

void
reply_free(struct reply *r)
{
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

static enum client_fail
exchange(int fd, int64_t deadline, size_t max_reply, const char *cmd,
    json_t *args, struct reply *r, char *err, size_t errlen)
{
	char *req, *line = NULL;
	size_t reqlen, linelen = 0;
	int64_t start;
	int rv;

	if ((req = request_encode(cmd, args, &reqlen)) == NULL) {
		fail(err, errlen, "cannot encode the request");
		return CLIENT_EXCHANGE;
	}
	start = mono_us();
	rv = send_all(fd, req, reqlen, deadline);
	free(req);
	/* crmd may answer (503: too many connections) and hang up before
	 * reading our request: its reply is still worth reading. */
	if (rv == -1 && (errno == EPIPE || errno == ECONNRESET) &&
	    read_line(fd, deadline, max_reply, &line, &linelen, err,
	    errlen) == 0 && linelen > 0)
		rv = 0;
	else if (rv == -1) {
		free(line);
		fail(err, errlen, "cannot send to crmd: %s", errno ==
		    ETIMEDOUT ? "timed out (see --timeout)" : strerror(errno));
		return CLIENT_EXCHANGE;
	}
	if (line == NULL && read_line(fd, deadline, max_reply, &line,
	    &linelen, err, errlen) == -1)
		return CLIENT_EXCHANGE;
	rv = reply_decode(line, linelen, r, err, errlen);
	free(line);
	if (rv == -1)
		return CLIENT_EXCHANGE;
	r->rtt_ms = (double)(mono_us() - start) / 1000.0;
	return CLIENT_OK;
}

/*
 * Sends cmd with args (may be NULL) to the crmd at path and reads its
 * reply into r.  On CLIENT_CONNECT, r->rtt_ms is unset and err holds the
 * reason; errno is left as connect() set it, for the caller's hint.
 */
enum client_fail
client_call(const char *path, int64_t timeout_s, size_t max_reply,
    const char *cmd, json_t *args, struct reply *r, char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + timeout_s * 1000;
	enum client_fail rv;
	int fd, error_no = 0;

	memset(r, 0, sizeof(*r));
	if ((fd = connect_unix(path, deadline, &error_no)) == -1) {
		fail(err, errlen, "cannot connect to crmd at %s: %s", path,
		    strerror(error_no));
		errno = error_no;
		return CLIENT_CONNECT;
	}
	rv = exchange(fd, deadline, max_reply, cmd, args, r, err, errlen);
	close(fd);
	return rv;
}
