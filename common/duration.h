/* Duration strings shared by the config and crmctl: "30s", "5m", "2h", "1d". */
#ifndef CRMD_DURATION_H
#define CRMD_DURATION_H

#include <stdint.h>

/*
 * Parses a duration such as "90s", "5m", "2h", "1d" or a combination like
 * "1h30m" into seconds.  A bare number is seconds.  Returns 0, or -1 for
 * anything else (empty, negative, unknown unit, overflow).
 */
int	duration_parse(const char *s, int64_t *secs);

/* Formats secs compactly ("1d2h", "45s") into buf; returns buf. */
char   *duration_format(int64_t secs, char *buf, unsigned long len);

#endif
