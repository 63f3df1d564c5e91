/*
 * watermark.h - a task's event time: the watermark of each of its inputs
 * and the task's own, the minimum over them (docs/ARCHITECTURE.md,
 * "Channels"; the SDK's decision 7).
 *
 * A watermark W on an input promises that no record with an event time
 * before W follows there. An input has none (SNAPMARK_NO_TIME) until its
 * first WATERMARK frame, an input that ended counts as +infinity
 * (INT64_MAX), and an input's watermark never goes back (a smaller one is
 * ignored). The task's watermark is the minimum over its inputs, so it
 * advances only when the slowest input does.
 *
 * Pure state, no I/O, so it is unit-tested on its own.
 */
#ifndef SM_WATERMARK_H
#define SM_WATERMARK_H

#include <stdint.h>

/* The watermark of an input that ended: nothing follows at all. */
#define SM_WATERMARK_END INT64_MAX

struct sm_watermarks {
	int n;
	int64_t *of_input; /* owned; n entries */
	int64_t min;       /* the minimum over of_input */
};

/* sm_watermark_min is the minimum of in[0 .. n): SM_WATERMARK_END when
 * n == 0 (no input holds time back). */
int64_t sm_watermark_min(const int64_t *in, int n);

/* sm_watermarks_init: n inputs, none with a watermark yet (SM_ENOMEM);
 * sm_watermarks_fini frees (safe on a zeroed struct). */
int sm_watermarks_init(struct sm_watermarks *w, int n);
void sm_watermarks_fini(struct sm_watermarks *w);

/* sm_watermarks_update: input's watermark is now wm (ignored unless it is
 * later than the input's). Returns 1 and sets *min when the minimum over
 * the inputs advanced, else 0. */
int sm_watermarks_update(struct sm_watermarks *w, int input, int64_t wm,
    int64_t *min);

/* sm_watermarks_end: input ended (its watermark becomes SM_WATERMARK_END);
 * returns as sm_watermarks_update. */
int sm_watermarks_end(struct sm_watermarks *w, int input, int64_t *min);

#endif
