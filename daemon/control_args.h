/*
 * Checking a control command's JSON arguments against a table of specs:
 * every argument known and well-typed, every required one present, with
 * one error message per mistake.  Shared by the command modules.
 */
#ifndef CRMD_CONTROL_ARGS_H
#define CRMD_CONTROL_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct cmd_reply;

#define ARGS_LIST_MAX	10000	/* ARG_COUNT's upper bound */

enum arg_type {
	ARG_ID,		/* integer >= 1 */
	ARG_COUNT,	/* integer 1..ARGS_LIST_MAX */
	ARG_CURSOR,	/* integer >= 0 */
	ARG_TRUE,	/* the JSON value true */
	ARG_TEXT,	/* string without NUL, at most max bytes */
};

/* A table ends with a NULL name. */
struct arg_spec {
	const char	*name;
	enum arg_type	 type;
	int		 required;
	size_t		 max;		/* ARG_TEXT */
};

/* 0, or -1 with the 400 reply set.  JSON null counts as absent. */
int		 args_check(const char *cmd, const struct arg_spec *,
		    json_t *args, struct cmd_reply *);

/* After args_check: the value, or 0 / NULL when absent. */
int64_t		 arg_int(json_t *args, const char *name);
const char	*arg_text(json_t *args, const char *name);
int		 arg_given(json_t *args, const char *name);

#endif
