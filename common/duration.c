/* Parsing and printing of human durations ("24h", "30m", "1d12h"). */
#include "duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int64_t
unit_seconds(char u)
{
	switch (u) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	case 'w': return 7 * 86400;
	default:  return 0;
	}
}

int
duration_parse(const char *s, int64_t *secs)
{
	const int64_t limit = INT64_C(100) * 365 * 86400;	/* a century */
	int64_t total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		int64_t n = 0, mult;

		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (*s++ - '0');
			if (n > limit)
				return -1;
		}
		if (*s == '\0')
			mult = 1;		/* bare number: seconds */
		else if ((mult = unit_seconds(*s++)) == 0)
			return -1;
		total += n * mult;
		if (total > limit)
			return -1;
	}
	*secs = total;
	return 0;
}

char *
duration_format(int64_t secs, char *buf, unsigned long len)
{
	static const struct { char u; int64_t s; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t used = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (secs <= 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		int64_t n = secs / units[i].s;

		if (n == 0)
			continue;
		secs -= n * units[i].s;
		int w = snprintf(buf + used, len - used, "%lld%c",
		    (long long)n, units[i].u);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
	return buf;
}
