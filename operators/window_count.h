/*
 * window_count.h - the `window_count` operator (docs/JOBFILE.md,
 * "window_count"): records counted per key in tumbling windows of event
 * or processing time, each window emitted once when it closes.
 */
#ifndef SM_OPERATORS_WINDOW_COUNT_H
#define SM_OPERATORS_WINDOW_COUNT_H

#include "snapmark/snapmark.h"

const struct snapmark_operator *sm_window_count_operator(void);

#endif
