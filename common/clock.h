/*
 * clock.h - the two clocks snapmark uses.
 *
 * Durations (alignment, snapshot, checkpoint latency, timeouts) come from the
 * monotonic clock in microseconds; trigger times shown to users come from the
 * wall clock in milliseconds.
 */
#ifndef SM_CLOCK_H
#define SM_CLOCK_H

#include <stdint.h>

/* sm_now_us returns monotonic time in microseconds. */
uint64_t sm_now_us(void);

/* sm_wall_ms returns wall-clock time in milliseconds since 1970. */
uint64_t sm_wall_ms(void);

/* sm_wall_us returns wall-clock time in microseconds since 1970. */
uint64_t sm_wall_us(void);

/* sm_sleep_us sleeps for at least us microseconds. */
void sm_sleep_us(uint64_t us);

#endif
