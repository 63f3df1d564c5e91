/*
 * watermark.c - the minimum watermark over a task's inputs (watermark.h).
 */
#include "worker/watermark.h"

#include <stdlib.h>

#include "common/error.h"
#include "snapmark/snapmark.h"

int64_t
sm_watermark_min(const int64_t *in, int n)
{
	int64_t m = SM_WATERMARK_END;
	for (int i = 0; i < n; i++)
		if (in[i] < m)
			m = in[i];
	return m;
}

int
sm_watermarks_init(struct sm_watermarks *w, int n)
{
	w->n = n > 0 ? n : 0;
	w->of_input = calloc((size_t) (w->n > 0 ? w->n : 1), sizeof(int64_t));
	if (w->of_input == NULL)
		return SM_ENOMEM;
	for (int i = 0; i < w->n; i++)
		w->of_input[i] = SNAPMARK_NO_TIME;
	w->min = sm_watermark_min(w->of_input, w->n);
	return SM_OK;
}

void
sm_watermarks_fini(struct sm_watermarks *w)
{
	free(w->of_input);
	w->of_input = NULL;
	w->n = 0;
}

int
sm_watermarks_update(struct sm_watermarks *w, int input, int64_t wm,
    int64_t *min)
{
	if (input < 0 || input >= w->n || wm <= w->of_input[input])
		return 0;
	int64_t was = w->of_input[input];
	w->of_input[input] = wm;
	/* Only the input(s) holding the minimum can move it. */
	if (was != w->min)
		return 0;
	int64_t m = sm_watermark_min(w->of_input, w->n);
	if (m <= w->min)
		return 0;
	w->min = m;
	*min = m;
	return 1;
}

int
sm_watermarks_end(struct sm_watermarks *w, int input, int64_t *min)
{
	return sm_watermarks_update(w, input, SM_WATERMARK_END, min);
}
