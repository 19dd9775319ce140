/*
 * The control protocol between crmd and crmctl: the one piece of code both
 * binaries share.  Framing is newline-delimited JSON over a Unix stream
 * socket; docs/protocol.md describes the messages.
 *
 * Bump CRMD_PROTO_VERSION whenever a message shape changes incompatibly.
 */
#ifndef CRMD_PROTOCOL_H
#define CRMD_PROTOCOL_H

#define CRMD_PROTO_VERSION	1

#define CRMD_DEFAULT_SOCKET	"/run/crmd/crmd.sock"

/* Largest request line crmd accepts, newline included. */
#define CRMD_MAX_REQUEST	(64 * 1024)

/* Result codes carried in every reply as "status". */
enum crmd_result {
	CRMD_OK			= 200,
	CRMD_BAD_REQUEST	= 400,	/* malformed JSON or arguments */
	CRMD_FORBIDDEN		= 403,	/* peer not authorised */
	CRMD_UNKNOWN_COMMAND	= 404,
	CRMD_CONFLICT		= 409,	/* valid request, refused by state */
	CRMD_TOO_LARGE		= 413,
	CRMD_CONFIG_INVALID	= 422,	/* reload refused, old config kept */
	CRMD_INTERNAL		= 500,
	CRMD_UNAVAILABLE	= 503,	/* database busy, try again */
	CRMD_BAD_VERSION	= 505,
};

static inline const char *
crmd_result_str(int code)
{
	switch (code) {
	case CRMD_OK:			return "ok";
	case CRMD_BAD_REQUEST:		return "bad request";
	case CRMD_FORBIDDEN:		return "not authorised";
	case CRMD_UNKNOWN_COMMAND:	return "unknown command";
	case CRMD_CONFLICT:		return "conflict";
	case CRMD_TOO_LARGE:		return "request too large";
	case CRMD_CONFIG_INVALID:	return "configuration invalid";
	case CRMD_INTERNAL:		return "internal error";
	case CRMD_UNAVAILABLE:		return "temporarily unavailable";
	case CRMD_BAD_VERSION:		return "protocol version not supported";
	default:			return "unknown result";
	}
}

#endif
