/*
 * Secrets read from files.  The checks are the ones an admin forgets:
 * a secret file must be a small regular file that only its owner can
 * reach.  Error messages name the file and say what to do; they never
 * quote what is inside.
 */
#include "secret.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_MAX	(64 * 1024)

__attribute__((format(printf, 2, 3)))
static void
seterr(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) == -1)
		*err = NULL;
	va_end(ap);
}

/* Turns ref into a file name: a path as is, a credential name joined. */
static char *
secret_path(const char *ref, char **err)
{
	const char *dir;
	char *path;

	if (ref[0] == '/')
		return strdup(ref);
	if (ref[0] == '\0') {
		seterr(err, "empty secret reference: give an absolute path "
		    "or a credential name");
		return NULL;
	}
	if (strchr(ref, '/') != NULL || strcmp(ref, ".") == 0 ||
	    strcmp(ref, "..") == 0) {
		seterr(err, "credential name '%s' must not contain '/' or be "
		    "'.' or '..'; use an absolute path for a file", ref);
		return NULL;
	}
	if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL || *dir == '\0') {
		seterr(err, "credential '%s': $CREDENTIALS_DIRECTORY is not "
		    "set; pass it with LoadCredential= in the systemd unit, "
		    "or give an absolute path", ref);
		return NULL;
	}
	if (asprintf(&path, "%s/%s", dir, ref) == -1)
		return NULL;
	return path;
}

/*
 * Refuses what is not a small regular file private to its owner.  A
 * systemd credential is exempt from the mode rule: systemd copies it into
 * a private per-service mount and may grant crmd access with an ACL that
 * stat() shows as group bits, though nobody else can reach it.
 */
static int
check_file(int fd, const char *path, int credential, char **err)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		seterr(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, "%s: not a regular file", path);
		return -1;
	}
	if (!credential && (st.st_mode & 077)) {
		seterr(err, "%s: %s by group or others (mode %04o); run "
		    "chmod 600 on it", path, (st.st_mode & 044) ?
		    "readable" : "accessible", (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_size > SECRET_MAX) {
		seterr(err, "%s: larger than %d KiB; is this the right file?",
		    path, SECRET_MAX / 1024);
		return -1;
	}
	return 0;
}

/* Reads at most SECRET_MAX bytes; a file that grew since fstat fails. */
static char *
read_all(int fd, const char *path, size_t *lenp, char **err)
{
	char *buf;
	size_t len = 0;
	ssize_t n = 0;

	if ((buf = malloc(SECRET_MAX + 2)) == NULL) {
		seterr(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while (len <= SECRET_MAX) {
		n = read(fd, buf + len, SECRET_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n == -1 || len > SECRET_MAX) {
		if (n == -1)
			seterr(err, "%s: %s", path, strerror(errno));
		else
			seterr(err, "%s: larger than %d KiB; is this the "
			    "right file?", path, SECRET_MAX / 1024);
		explicit_bzero(buf, len);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* Editors add a final newline that is never part of a password. */
static int
trim_and_check(char *buf, size_t len, const char *path, char **err)
{
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
	}
	if (len == 0) {
		seterr(err, "%s: is empty", path);
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		seterr(err, "%s: contains a NUL byte", path);
		return -1;
	}
	return 0;
}

char *
secret_read(const char *ref, char **err)
{
	char *path, *buf = NULL;
	size_t len = 0;
	int fd;

	*err = NULL;
	if ((path = secret_path(ref, err)) == NULL) {
		if (*err == NULL)
			seterr(err, "%s: %s", ref, strerror(errno));
		return NULL;
	}
	/* O_NONBLOCK: a FIFO must be refused, not waited on. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		seterr(err, "%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	if (check_file(fd, path, ref[0] != '/', err) == 0 &&
	    (buf = read_all(fd, path, &len, err)) != NULL &&
	    trim_and_check(buf, len, path, err) == -1) {
		explicit_bzero(buf, len);
		free(buf);
		buf = NULL;
	}
	close(fd);
	free(path);
	return buf;
}

void
secret_free(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}
