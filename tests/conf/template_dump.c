/*
 * template_dump: prints crmd's built-in templates as the Markdown of the
 * "Built-in texts" section of docs/templates.md.  The test
 * template.docs compares the two, so the documentation cannot drift from
 * template_defaults.c.  After changing a default, regenerate it with
 *   build/tests/conf/template_dump
 * and paste the output between the markers in docs/templates.md.
 */
#include <stdio.h>
#include <string.h>

#include "kinds.h"
#include "template.h"

static void
dump(int k, int c)
{
	const char *subj = tmpl_default_subject(k, c);
	const char *body = tmpl_default_body(k, c);
	size_t n = strlen(body);

	printf("%s:\n\n```\n", channel_name(c));
	if (subj != NULL)
		printf("subject: %s\n\n", subj);
	printf("%s%s```\n\n", body, n > 0 && body[n - 1] == '\n' ? "" : "\n");
}

int
main(void)
{
	for (int k = 0; k < KIND_MAX; k++) {
		printf("### `%s` (%s)\n\n", kind_name(k), kind_label(k));
		for (int c = 0; c < CH_MAX; c++)
			dump(k, c);
	}
	return 0;
}
