/*
 * Building one email for libcurl's SMTP upload, safely.
 *
 * Everything a customer or a salesperson typed (names, subjects, bodies)
 * reaches the wire only through this module.  The guarantees:
 *
 *  - every address is checked before libcurl sees it: an addr-spec with a
 *    dot-atom local part and a host-name domain, ASCII only, no CR, LF,
 *    NUL, '<', '>' or space (libcurl 7.88 passes CR/LF in envelope
 *    addresses through as extra SMTP commands);
 *  - names and subjects are RFC 2047 encoded-words (UTF-8, base64) unless
 *    they are short plain atoms, so CR or LF never starts a header;
 *  - bodies are normalised to CRLF, and sent 7bit only when they are
 *    ASCII with no line over 998 octets; anything else is base64, whose
 *    lines are 76 octets, so no line on the wire ever exceeds 998;
 *  - the message is assembled by libcurl's MIME API with CURLOPT_CRLF off;
 *    libcurl itself dot-stuffs the upload ("\r\n." -> "\r\n.."), so this
 *    module never does (tests/mail checks that on the wire).
 *
 * Strings are counted (struct mail_str) so that a NUL inside a database
 * value is seen, not silently truncated: it makes an address invalid and
 * becomes U+FFFD in text.  Invalid UTF-8 becomes U+FFFD too (one per
 * maximal ill-formed subsequence, as Unicode and Python's "replace" do).
 */
#ifndef CRMD_MAIL_H
#define CRMD_MAIL_H

#include <stddef.h>
#include <time.h>

#include <curl/curl.h>

/* A counted byte string; ptr == NULL means "absent". */
struct mail_str {
	const char	*ptr;
	size_t		 len;
};

/* A C string as a mail_str (NULL stays absent). */
struct mail_str	mail_cstr(const char *);

struct mail_msg {
	struct mail_str	 from_addr;	/* required */
	struct mail_str	 from_name;	/* optional display name */
	struct mail_str	 to_addr;	/* required, the one recipient */
	struct mail_str	 to_name;	/* optional */
	struct mail_str	 subject;	/* absent = empty */
	struct mail_str	 text;		/* required UTF-8 body (may be "") */
	struct mail_str	 html;		/* optional HTML alternative */
	struct mail_str	 idempotency_key; /* required; becomes Message-ID */
	time_t		 date;		/* Date: header, written in UTC */
};

/* Longest line (without CRLF) RFC 5322 allows. */
#define MAIL_MAX_LINE	998

/*
 * Checks one address (an addr-spec, without angle brackets).  Returns 0,
 * or -1 with *why set to a static reason such as "address contains CR".
 */
int	mail_validate_address(struct mail_str addr, const char **why);

struct mail_built;

/*
 * Validates msg and sets on easy: CURLOPT_MAIL_FROM, CURLOPT_MAIL_RCPT,
 * CURLOPT_HTTPHEADER (From, To, Subject, Date, Message-ID), CURLOPT_MIMEPOST
 * (a text/plain part, or multipart/alternative text + HTML), CURLOPT_UPLOAD
 * and CURLOPT_CRLF 0.  The URL, TLS and auth options are the caller's.
 *
 * Returns the objects those options point to, to be released with
 * mail_built_free() once the transfer is over (not before: libcurl reads
 * them during the transfer).  Returns NULL with *why set to a static
 * reason: a permanent failure (the message should go dead) unless the
 * reason is "out of memory".
 */
struct mail_built *mail_build(CURL *easy, const struct mail_msg *msg,
	    const char **why);
/* Frees what mail_build() allocated.  Does not touch the easy handle:
 * the next mail_build() on it replaces every option it set. */
void	mail_built_free(struct mail_built *);

/* ---- Building blocks, exposed for the tests ---- */

/*
 * Header text: invalid UTF-8 and NUL or other controls become U+FFFD,
 * CR, LF, CRLF and TAB become one space each.  Returns a malloc'd,
 * NUL-terminated string (length in *lenp), or NULL if out of memory.
 */
char	*mail_clean_header_text(struct mail_str, size_t *lenp);

/*
 * Body text: invalid UTF-8 and NUL become U+FFFD, and CRLF, lone CR and
 * lone LF all become CRLF.  *flags gets MAIL_BODY_8BIT if any octet is
 * over 0x7f and MAIL_BODY_LONG if a line exceeds MAIL_MAX_LINE octets.
 * Returns malloc'd text (length in *lenp), or NULL if out of memory.
 */
#define MAIL_BODY_8BIT	0x1
#define MAIL_BODY_LONG	0x2
char	*mail_normalize_body(struct mail_str, size_t *lenp, unsigned *flags);

/*
 * One unstructured header ("Subject: ...") with its value cleaned as
 * above.  A short value of plain printable ASCII is written as is;
 * anything else as RFC 2047 "=?UTF-8?B?...?=" words, each at most 75
 * characters and whole UTF-8 characters, folded with CRLF SP so lines
 * stay within 78 characters.  Returns a malloc'd header without its
 * final CRLF, or NULL if out of memory.
 */
char	*mail_header_unstructured(const char *name, struct mail_str value);

/*
 * An address header ("From: name <addr>") with the display name cleaned
 * as above, trimmed, its runs of spaces squeezed to one, and written as
 * atoms or encoded-words.  addr must have passed
 * mail_validate_address().  Same return convention.
 */
char	*mail_header_mailbox(const char *name, struct mail_str display,
	    struct mail_str addr);

/*
 * "<key@crmd>": the key with every octet outside RFC 5322 atext (and '%',
 * and any '.' that would start, end or double) written as %XX, so
 * distinct keys give distinct ids.  NULL with *why if the key is empty
 * or longer than 200 octets, or out of memory.
 */
char	*mail_message_id(struct mail_str key, const char **why);

/* "Tue, 03 Mar 2026 09:00:00 +0000" into buf (at least 32 octets). */
void	mail_format_date(time_t, char *buf, size_t size);

#endif
