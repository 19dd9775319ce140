/*
 * secret_read(): files an admin might point it at, good and bad.  Every
 * refusal must name the file and say why, and never include the secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"

static char	tmpdir[] = "/tmp/test_secret.XXXXXX";

/* Creates NAME in the private directory with exactly mode and content. */
static const char *
make_file(const char *name, mode_t mode, const char *data, size_t len)
{
	static char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	assert_int_not_equal(fd = open(path, O_WRONLY | O_CREAT | O_EXCL,
	    0600), -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

/* Expects a refusal whose message is exactly "PATH: why". */
static void
expect_refused(const char *ref, const char *want)
{
	char *err = NULL;

	assert_null(secret_read(ref, &err));
	assert_non_null(err);
	assert_string_equal(err, want);
	free(err);
}

static void
test_absolute_path(void **state)
{
	const char *p = make_file("plain", 0600, "hunter2", 7);
	char *err = NULL, *s;

	assert_non_null(s = secret_read(p, &err));
	assert_null(err);
	assert_string_equal(s, "hunter2");
	secret_free(s);
}

static void
test_trailing_newline(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "pw\n", "pw" },
		{ "pw\r\n", "pw" },
		{ "pw\n\n", "pw\n" },		/* only one newline goes */
		{ "pw\r", "pw\r" },		/* a lone CR is content */
		{ "密码 with spaces \n", "密码 with spaces " },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = make_file("nl", 0400, cases[i].in,
		    strlen(cases[i].in));
		char *err = NULL, *s;

		assert_non_null(s = secret_read(p, &err));
		assert_string_equal(s, cases[i].out);
		secret_free(s);
	}
}

static void
test_group_readable(void **state)
{
	const char *p = make_file("shared", 0640, "topsecret", 9);
	char want[PATH_MAX + 100], *err = NULL;

	snprintf(want, sizeof(want), "%s: readable by group or others "
	    "(mode 0640); run chmod 600 on it", p);
	expect_refused(p, want);

	/* Any bit for group or others counts, not only read. */
	p = make_file("writable", 0602, "topsecret", 9);
	assert_null(secret_read(p, &err));
	assert_non_null(strstr(err, "(mode 0602); run chmod 600 on it"));
	assert_null(strstr(err, "topsecret"));
	free(err);
}

static void
test_directory(void **state)
{
	char want[PATH_MAX + 64];

	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	expect_refused(tmpdir, want);
}

static void
test_missing(void **state)
{
	char path[PATH_MAX], want[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/absent", tmpdir);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	expect_refused(path, want);
}

static void
test_too_large(void **state)
{
	size_t len = 64 * 1024 + 1;
	char *big = malloc(len), want[PATH_MAX + 64], *err = NULL, *s;
	const char *p;

	assert_non_null(big);
	memset(big, 'x', len);
	p = make_file("big", 0600, big, len);
	snprintf(want, sizeof(want), "%s: larger than 64 KiB; is this the "
	    "right file?", p);
	expect_refused(p, want);

	/* Exactly 64 KiB is still fine. */
	p = make_file("max", 0600, big, len - 1);
	assert_non_null(s = secret_read(p, &err));
	assert_int_equal(strlen(s), len - 1);
	secret_free(s);
	free(big);
}

static void
test_empty(void **state)
{
	const char *p = make_file("empty", 0600, "\n", 1);
	char want[PATH_MAX + 32];

	snprintf(want, sizeof(want), "%s: is empty", p);
	expect_refused(p, want);
}

static void
test_credential(void **state)
{
	char *err = NULL, *s, want[PATH_MAX + 64];

	make_file("smtp.pass", 0400, "s3cret\n", 7);
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	assert_non_null(s = secret_read("smtp.pass", &err));
	assert_null(err);
	assert_string_equal(s, "s3cret");
	secret_free(s);

	snprintf(want, sizeof(want), "%s/nope: No such file or directory",
	    tmpdir);
	expect_refused("nope", want);

	/* systemd may grant access by ACL, which stat() shows as 0440. */
	make_file("acl.pass", 0440, "token", 5);
	assert_non_null(s = secret_read("acl.pass", &err));
	assert_string_equal(s, "token");
	secret_free(s);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void
test_no_credentials_directory(void **state)
{
	unsetenv("CREDENTIALS_DIRECTORY");
	expect_refused("smtp.pass", "credential 'smtp.pass': "
	    "$CREDENTIALS_DIRECTORY is not set; pass it with LoadCredential= "
	    "in the systemd unit, or give an absolute path");
}

static void
test_bad_credential_name(void **state)
{
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	expect_refused("sub/smtp.pass", "credential name 'sub/smtp.pass' "
	    "must not contain '/' or be '.' or '..'; use an absolute path "
	    "for a file");
	expect_refused("..", "credential name '..' must not contain '/' or "
	    "be '.' or '..'; use an absolute path for a file");
	expect_refused("", "empty secret reference: give an absolute path "
	    "or a credential name");
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void
test_free_null(void **state)
{
	secret_free(NULL);	/* must not crash, like free(NULL) */
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
		cmocka_unit_test(test_absolute_path),
		cmocka_unit_test(test_trailing_newline),
		cmocka_unit_test(test_group_readable),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_credential),
		cmocka_unit_test(test_no_credentials_directory),
		cmocka_unit_test(test_bad_credential_name),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
