/*
 * crmctl: ask crmd what it is doing and tell it what to do.  main() only
 * wires the pieces together: parse the command line, read crmctl.ini,
 * run the command, turn the outcome into an exit code.
 */
#include "crmctl.h"

#include <stdlib.h>
#include <string.h>

#include "protocol.h"

/* Prints "FILE:LINE: message" lines, each cleaned, after "crmctl: ". */
static void
print_errors(const char *errors)
{
	const char *p = errors;
	size_t n;

	while (p != NULL && *p != '\0') {
		n = strcspn(p, "\n");
		out_errorx(stderr, "%.*s", (int)n, p);
		p += n;
		p += strspn(p, "\n");
	}
}

/* System ini, then the user's; every error in both is reported. */
static int
load_settings(struct settings *s)
{
	char *user, *errors;
	int rv = 0;

	if (settings_load_file(s, CRMCTL_SYSTEM_INI, &errors) == -1) {
		print_errors(errors ? errors : "out of memory");
		free(errors);
		rv = -1;
	}
	if ((user = settings_user_path()) == NULL)
		return rv;
	if (settings_load_file(s, user, &errors) == -1) {
		print_errors(errors ? errors : "out of memory");
		free(errors);
		rv = -1;
	}
	free(user);
	return rv;
}

static int
run(const struct invocation *inv, struct settings *s)
{
	struct ctx ctx = {
		.settings = s,
		.out = stdout,
		.err = stderr,
		.call = ctx_socket_call,
	};
	int rv;

	if (inv->help)
		rv = cmd_help(&ctx, inv->cmd);
	else
		rv = cmd_run(&ctx, inv->cmd, &inv->args);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		out_errorx(stderr, "cannot write the output");
		if (rv == EXIT_OK)
			rv = EXIT_DAEMON;
	}
	return rv;
}

int
main(int argc, char **argv)
{
	struct invocation inv;
	struct settings s;
	char err[256];
	int rv;

	if (parse_argv(argc, argv, &inv, err, sizeof(err)) == -1) {
		out_errorx(stderr, "%s", err);
		cmd_print_usage(stderr, inv.cmd);
		return EXIT_USAGE;
	}
	if (inv.version) {
		printf("crmctl %s (protocol %d)\n", CRMD_VERSION,
		    CRMD_PROTO_VERSION);
		return EXIT_OK;
	}
	settings_init(&s);
	if (load_settings(&s) == -1) {
		settings_free(&s);
		return EXIT_USAGE;
	}
	if (settings_apply(&s, &inv, getenv("CRMCTL_SOCKET")) == -1) {
		out_errorx(stderr, "out of memory");
		settings_free(&s);
		return EXIT_DAEMON;
	}
	rv = run(&inv, &s);
	settings_free(&s);
	return rv;
}
