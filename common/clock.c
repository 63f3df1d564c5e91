/*
 * clock.c - monotonic and wall clocks.
 */
#define _POSIX_C_SOURCE 200809L
#include "common/clock.h"

#include <time.h>

uint64_t
sm_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

uint64_t
sm_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

uint64_t
sm_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void
sm_sleep_us(uint64_t us)
{
	struct timespec ts = { .tv_sec = (time_t) (us / 1000000u),
		.tv_nsec = (long) (us % 1000000u) * 1000 };
	while (nanosleep(&ts, &ts) != 0) {
	}
}
