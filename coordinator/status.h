/*
 * status.h - the job's status (status.c) as `snapmark status`, the HTTP
 * API and the catalog's saved end ("final_status") show it.
 */
#ifndef COORD_STATUS_H
#define COORD_STATUS_H

#include "coordinator/coord.h"

/* A JobStatus and the storage it points into; every string is borrowed
 * from the coordinator's state, so it is only valid until the state
 * changes. */
struct coord_status {
	Snapmark__JobStatus st;
	Snapmark__WorkerStatus *ws, **wsp;
	Snapmark__TaskMetrics *tm, **tmp;
	uint64_t pending[COORD_MAX_PENDING];
};

/* coord_status_fill fills s (zeroed by it) from c, with the running tasks'
 * latest counts. SM_ENOMEM (s still to be freed) or SM_OK. */
int coord_status_fill(struct coord *c, struct coord_status *s);

/* coord_status_free frees what coord_status_fill allocated. */
void coord_status_free(struct coord *c, struct coord_status *s);

/* coord_save_end stores the current status as the job's final one (and
 * "final_state"), logging a failure. */
void coord_save_end(struct coord *c);

#endif
