/*
 * Clock readings as integers, for deadlines and latencies: the monotonic
 * clock for durations a wall-clock step cannot bend, the wall clock where
 * an instant is compared with times stored in the database (leases, due
 * times).  One place for what each file used to write for itself.
 */
#ifndef CRMD_CLOCK_H
#define CRMD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CLOCK_MONOTONIC in microseconds, milliseconds, seconds. */
static inline int64_t
mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

static inline int64_t
mono_ms(void)
{
	return clock_us(CLOCK_MONOTONIC) / 1000;
}

static inline double
mono_s(void)
{
	return (double)clock_us(CLOCK_MONOTONIC) / 1e6;
}

/* CLOCK_REALTIME in microseconds and milliseconds. */
static inline int64_t
wall_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

static inline int64_t
wall_ms(void)
{
	return clock_us(CLOCK_REALTIME) / 1000;
}

#endif
