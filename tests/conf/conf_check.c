/*
 * conf_check FILE: loads FILE with conf_load() and prints the errors, one
 * a line, to stdout; exits 1 when there were any.  The golden corpus in
 * bad/ compares this output with NAME.err.
 */
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"

int
main(int argc, char *argv[])
{
	struct crmd_conf *c;
	char *errors;

	if (argc != 2) {
		fprintf(stderr, "usage: conf_check file\n");
		return 2;
	}
	if ((c = conf_load(argv[1], &errors)) == NULL) {
		fputs(errors != NULL ? errors : "(no error text)\n", stdout);
		free(errors);
		return 1;
	}
	conf_free(c);
	return 0;
}
