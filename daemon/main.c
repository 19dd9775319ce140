/*
 * crmd entry point: options, config check (-n), daemonising, then
 * crmd_run().
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "crmd.h"
#include "log.h"
#include "store.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: crmd [-dFhnv] [-f file]\n"
	    "  -d       stay in the foreground and log debug messages\n"
	    "  -F       stay in the foreground (under systemd)\n"
	    "  -f file  configuration file (default %s)\n"
	    "  -n       check the configuration and database, then exit\n"
	    "  -v       print the version and exit\n"
	    "  -h       print this help\n", CRMD_DEFAULT_CONF);
}

static void
print_errors(const char *errors)
{
	fputs(errors ? errors : "invalid configuration\n", stderr);
	if (errors && *errors && errors[strlen(errors) - 1] != '\n')
		fputc('\n', stderr);
}

/*
 * -n: the config parses and validates, and the database opens with a
 * schema this binary understands.  Nothing is created or migrated.
 */
static int
check_only(const struct crmd_conf *conf)
{
	struct store *s;
	char *err = NULL;
	int version;

	if (access(conf->database, F_OK) == -1) {
		printf("%s: configuration OK; database %s does not exist yet "
		    "(crmd creates it)\n", conf->path, conf->database);
		return 0;
	}
	if ((s = store_open(conf->database, conf->busy_timeout_ms,
	    &err)) == NULL || store_schema_version(s, &version, &err) == -1) {
		fprintf(stderr, "%s\n", err ? err : "cannot open database");
		free(err);
		store_close(s);
		return 1;
	}
	store_close(s);
	if (version > store_latest_version()) {
		fprintf(stderr, "%s: schema version %d is newer than this crmd "
		    "supports (%d); upgrade crmd\n", conf->database, version,
		    store_latest_version());
		return 1;
	}
	printf("%s: configuration OK; database %s schema version %d%s\n",
	    conf->path, conf->database, version,
	    version < store_latest_version() ? " (crmd will migrate it)" : "");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct crmd crmd;
	const char *path = CRMD_DEFAULT_CONF;
	int ch, foreground = 0, check = 0, rc;
	char *errors = NULL;

	memset(&crmd, 0, sizeof(crmd));
	while ((ch = getopt(argc, argv, "dFf:hnv")) != -1) {
		switch (ch) {
		case 'd': crmd.debug = 1; foreground = 1; break;
		case 'F': foreground = 1; break;
		case 'f': path = optarg; break;
		case 'n': check = 1; break;
		case 'v': printf("crmd %s\n", CRMD_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}

	log_init(LOG_TO_STDERR, crmd.debug);
	if ((crmd.conf = conf_load(path, &errors)) == NULL) {
		print_errors(errors);
		free(errors);
		return 1;
	}
	/* Reloads re-read this path, possibly after daemon() chdir'd to /. */
	if ((crmd.conf_path = realpath(path, NULL)) == NULL)
		fatal("%s", path);
	if (check) {
		rc = check_only(crmd.conf);
		conf_free(crmd.conf);
		free(crmd.conf_path);
		return rc;
	}

	crmd.foreground = foreground;
	if (crmd.conf->log_target == CONF_LOG_SYSLOG || !foreground)
		log_init(LOG_TO_SYSLOG, crmd.debug);
	/* Before the database opens: SQLite handles must not cross fork(). */
	if (!foreground && daemon(0, 0) == -1)
		fatal("daemon");

	rc = crmd_run(&crmd);
	conf_free(crmd.conf);
	free(crmd.conf_path);
	return rc;
}
