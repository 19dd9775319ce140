/* Control command arguments (control_args.h). */
#include "control_args.h"

#include <string.h>

#include "control_cmds.h"
#include "protocol.h"

static int
arg_ok(const char *cmd, const struct arg_spec *a, json_t *v,
    struct cmd_reply *r)
{
	json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;

	switch (a->type) {
	case ARG_ID:
	case ARG_CURSOR:
		if (i >= (a->type == ARG_ID))
			return 0;
		reply_error(r, CRMD_BAD_REQUEST, "%s: '%s' must be %s", cmd,
		    a->name, a->type == ARG_ID ? "a positive integer id" :
		    "an integer id, 0 or more");
		return -1;
	case ARG_COUNT:
		if (i >= 1 && i <= ARGS_LIST_MAX)
			return 0;
		reply_error(r, CRMD_BAD_REQUEST, "%s: '%s' must be an integer "
		    "from 1 to %d", cmd, a->name, ARGS_LIST_MAX);
		return -1;
	case ARG_TRUE:
		if (json_is_true(v))
			return 0;
		reply_error(r, CRMD_BAD_REQUEST, "%s: '%s' must be true", cmd,
		    a->name);
		return -1;
	case ARG_TEXT:
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v)) {
			reply_error(r, CRMD_BAD_REQUEST, "%s: '%s' must be a "
			    "string", cmd, a->name);
			return -1;
		}
		if (json_string_length(v) <= a->max)
			return 0;
		reply_error(r, CRMD_BAD_REQUEST, "%s: '%s' is longer than %zu "
		    "bytes", cmd, a->name, a->max);
		return -1;
	}
	return -1;
}

int
args_check(const char *cmd, const struct arg_spec *spec, json_t *args,
    struct cmd_reply *r)
{
	const struct arg_spec *a;
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v) {
		for (a = spec; a->name != NULL; a++)
			if (strcmp(a->name, key) == 0)
				break;
		if (a->name == NULL) {
			reply_error(r, CRMD_BAD_REQUEST, "%s: unknown argument "
			    "'%.64s'", cmd, key);
			return -1;
		}
		if (!json_is_null(v) && arg_ok(cmd, a, v, r) == -1)
			return -1;
	}
	for (a = spec; a->name != NULL; a++) {
		v = json_object_get(args, a->name);
		if (a->required && (v == NULL || json_is_null(v))) {
			reply_error(r, CRMD_BAD_REQUEST, "%s: missing argument "
			    "'%s'", cmd, a->name);
			return -1;
		}
	}
	return 0;
}

int64_t
arg_int(json_t *args, const char *name)
{
	json_t *v = json_object_get(args, name);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

const char *
arg_text(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

int
arg_given(json_t *args, const char *name)
{
	json_t *v = json_object_get(args, name);

	return v != NULL && !json_is_null(v);
}
