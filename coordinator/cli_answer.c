/*
 * cli_answer.c - one CLI request, one reply (cli_answer.h).
 *
 * Every checkpoint record a reply lists owns its memory, whether it was
 * built from a checkpoint in flight (coord_pending_record) or unpacked
 * from the catalog, and is freed the one way, with
 * snapmark__checkpoint_record__free_unpacked.
 */
#include "coordinator/cli_answer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "coordinator/checkpointer.h"
#include "coordinator/coord.h"
#include "coordinator/explain.h"
#include "coordinator/inflight.h"
#include "coordinator/recovery.h"
#include "coordinator/status.h"

/* Checkpoint p as a PENDING record (NULL if memory ran out). */
static Snapmark__CheckpointRecord *
answer_pending_record(struct coord *c, struct coord_pending *p)
{
	Snapmark__CheckpointRecord *r = NULL;
	if (coord_pending_record(p,
	        SNAPMARK__CHECKPOINT_RECORD__STATUS__PENDING, NULL,
	        coord_now_us(c), c->task_names, &r) != SM_OK)
		return NULL;
	r->has_duration_us = 0;
	return r;
}

/* Checkpoint id, in flight or from the catalog, into *out; for explain,
 * one in flight names the tasks that have not acknowledged yet. */
static int
answer_one_record(struct coord *c, uint64_t id, int explain,
    Snapmark__CheckpointRecord **out)
{
	struct coord_pending *p = coord_find_pending(c, id);
	if (p == NULL)
		return coord_catalog_get(c->cat, id, out);
	Snapmark__CheckpointRecord *r = answer_pending_record(c, p);
	if (r == NULL)
		return SM_ENOMEM;
	if (explain && r->n_missing == 0) {
		/* in flight: who has not acknowledged yet */
		Snapmark__ExplainTask **missing = calloc(
		    (size_t) p->n_tasks + 1, sizeof(*missing));
		size_t n = 0;
		for (int i = 0; missing != NULL && i < p->n_tasks; i++)
			if (!p->acks[i].acked &&
			    coord_explain_missing(c, i, &missing[n]) == SM_OK)
				n++;
		r->has_duration_us = 1;
		r->n_missing = n;
		r->missing = missing; /* the record owns them now */
	}
	*out = r;
	return SM_OK;
}

/* coord_cancel: `snapmark cancel`. Every task stops without a further
 * checkpoint; what sinks published stays as of the latest completed
 * checkpoint (their uncommitted files are never published). */
static void
answer_cancel(struct coord *c)
{
	uint64_t latest = 0;
	coord_catalog_latest(c->cat, &latest);
	coord_stop_epoch(c, "the job was canceled");
	c->state = COORD_CANCELED;
	/* Durable before the CLI hears it: a restarted coordinator stays
	 * CANCELED instead of running the job again. */
	int rv = coord_catalog_put_text(c->cat, "final_state", "CANCELED");
	if (rv != SM_OK)
		sm_warn("cannot record the cancel in the catalog: %s",
		    sm_strerror(rv));
	sm_info("job '%s' canceled in epoch %" PRIu64 ": every task stopped "
	        "without a checkpoint; the output stays as of checkpoint "
	        "%" PRIu64,
	    c->job.name, c->epoch, latest);
}

/* checkpoints --limit N: the newest N, in flight ones included (0: all,
 * up to COORD_CLI_MAX_LIST; an older CLI sends none and gets 100). */
static Snapmark__CheckpointRecord **
answer_list(struct coord *c, const Snapmark__CliRequest *req, size_t *n_out)
{
	Snapmark__CheckpointRecord **cat = NULL, **recs;
	size_t n_catalog = 0, n_recs = 0;
	size_t limit = req->has_limit ? req->limit : 100;
	if (limit == 0 || limit > COORD_CLI_MAX_LIST)
		limit = COORD_CLI_MAX_LIST;
	size_t n_fly = (size_t) c->n_pending < limit ? (size_t) c->n_pending
	                                             : limit;
	if (limit > n_fly)
		coord_catalog_list(c->cat, limit - n_fly, 0, &cat, &n_catalog);
	recs = calloc(n_fly + n_catalog + 1, sizeof(*recs));
	if (recs != NULL) {
		/* In-flight ones are the newest. */
		for (int i = c->n_pending - 1;
		     i >= c->n_pending - (int) n_fly; i--) {
			Snapmark__CheckpointRecord *r =
			    answer_pending_record(c, c->pending[i]);
			if (r != NULL)
				recs[n_recs++] = r;
		}
	}
	for (size_t i = 0; i < n_catalog; i++) {
		if (recs != NULL)
			recs[n_recs++] = cat[i];
		else
			snapmark__checkpoint_record__free_unpacked(cat[i],
			    NULL);
	}
	free(cat);
	*n_out = n_recs;
	return recs;
}

/* trigger / savepoint [--dir D] [--stop] */
static void
answer_trigger(struct coord *c, const Snapmark__CliRequest *req,
    Snapmark__CliReply *rep, char *err, size_t errlen)
{
	uint64_t id;
	int sp = req->command == SNAPMARK__CLI_REQUEST__COMMAND__SAVEPOINT;
	const char *dir = sp ? (req->dir != NULL ? req->dir : "") : NULL;
	/* "" from the CLI is an empty --dir, refused; no --dir at all is
	 * the default RUN/savepoints/savepoint-ID. */
	c->savepoint_error[0] = '\0';
	int rv = sp && req->dir != NULL && req->dir[0] == '\0'
	    ? SM_EINVAL
	    : coord_trigger(c, 1, 0, dir, sp && req->has_stop && req->stop,
	          &id);
	if (rv == SM_OK) {
		rep->has_checkpoint_id = 1;
		rep->checkpoint_id = id;
		return;
	}
	rep->ok = 0;
	rep->error = err;
	if (sp && rv == SM_EINVAL)
		snprintf(err, errlen, "cannot take a savepoint: %s",
		    c->savepoint_error[0] != '\0'
		        ? c->savepoint_error
		        : "the savepoint directory is empty");
	else if (rv == SM_EAGAIN && c->state != COORD_RUNNING)
		snprintf(err, errlen,
		    "cannot trigger a checkpoint: the job is %s",
		    coord_state_name(c->state));
	else
		snprintf(err, errlen, "cannot trigger a checkpoint: %s",
		    sm_strerror(rv));
}

void
coord_cli_answer(void *arg, const uint8_t *body, size_t body_len,
    uint8_t **out, size_t *out_len)
{
	struct coord *c = arg;
	Snapmark__CliReply rep = SNAPMARK__CLI_REPLY__INIT;
	struct coord_status status;
	int have_status = 0;
	Snapmark__CheckpointRecord **recs = NULL, *one = NULL;
	Snapmark__Explanation *expl = NULL;
	size_t n_recs = 0;
	char err[600];

	Snapmark__CliRequest *req =
	    snapmark__cli_request__unpack(NULL, body_len, body);
	rep.ok = 1;
	if (req == NULL) {
		sm_warn("cli: malformed request of %zu bytes", body_len);
		rep.ok = 0;
		rep.error = "malformed request";
	} else if (req->command == SNAPMARK__CLI_REQUEST__COMMAND__STATUS) {
		have_status = 1;
		if (coord_status_fill(c, &status) != SM_OK) {
			rep.ok = 0;
			rep.error = "out of memory building the status";
		} else {
			rep.status = &status.st;
		}
	} else if (req->command ==
	    SNAPMARK__CLI_REQUEST__COMMAND__CHECKPOINTS) {
		recs = answer_list(c, req, &n_recs);
		rep.n_checkpoints = n_recs;
		rep.checkpoints = recs;
	} else if (req->command == SNAPMARK__CLI_REQUEST__COMMAND__SHOW ||
	    req->command == SNAPMARK__CLI_REQUEST__COMMAND__EXPLAIN) {
		int explain =
		    req->command == SNAPMARK__CLI_REQUEST__COMMAND__EXPLAIN;
		if (answer_one_record(c, req->checkpoint_id, explain, &one) !=
		    SM_OK) {
			one = NULL;
			snprintf(err, sizeof(err), "no checkpoint %" PRIu64,
			    req->checkpoint_id);
			rep.ok = 0;
			rep.error = err;
		} else if (!explain) {
			rep.n_checkpoints = 1;
			rep.checkpoints = &one;
		} else if (coord_explain(one, &expl) != SM_OK) {
			rep.ok = 0;
			rep.error = "out of memory explaining the checkpoint";
		} else {
			rep.explanation = expl;
		}
	} else if (req->command == SNAPMARK__CLI_REQUEST__COMMAND__TRIGGER ||
	    req->command == SNAPMARK__CLI_REQUEST__COMMAND__SAVEPOINT) {
		answer_trigger(c, req, &rep, err, sizeof(err));
	} else if (req->command == SNAPMARK__CLI_REQUEST__COMMAND__CANCEL) {
		if (coord_job_ended(c) || c->state == COORD_FINISHING) {
			snprintf(err, sizeof(err),
			    "cannot cancel: the job is %s%s",
			    coord_state_name(c->state),
			    c->state == COORD_FINISHING
			        ? " (its final checkpoint is committed)"
			        : "");
			rep.ok = 0;
			rep.error = err;
		} else {
			answer_cancel(c);
		}
	} else {
		rep.ok = 0;
		rep.error = "unknown command";
	}

	size_t len = snapmark__cli_reply__get_packed_size(&rep);
	*out_len = len;
	if ((*out = malloc(len > 0 ? len : 1)) != NULL)
		snapmark__cli_reply__pack(&rep, *out);

	if (have_status)
		coord_status_free(c, &status);
	for (size_t i = 0; i < n_recs; i++)
		snapmark__checkpoint_record__free_unpacked(recs[i], NULL);
	free(recs);
	if (one != NULL)
		snapmark__checkpoint_record__free_unpacked(one, NULL);
	coord_explain_free(expl);
	if (req != NULL)
		snapmark__cli_request__free_unpacked(req, NULL);
}
